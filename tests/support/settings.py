"""The tests' way to change the settings: ``overridden(scope, name=..., database_url=...)`` routes each field to the
part that owns it (the installation or the newsletter), so a test names a field, not where it lives, while the
values built are the real two parts."""

from __future__ import annotations

import dataclasses
from typing import Any

from digest.config import Scope
from digest.config.schema import INSTALLATION_FIELDS, PUBLICATION_FIELDS


def overridden(scope: Scope, **overrides: Any) -> Scope:
    """``scope`` with ``overrides`` set, each in its part; a name neither part has is a TypeError, as replace's is."""
    unknown = set(overrides) - INSTALLATION_FIELDS - PUBLICATION_FIELDS
    if unknown:
        raise TypeError(f"no setting called {', '.join(sorted(unknown))}")
    install = {key: value for key, value in overrides.items() if key in INSTALLATION_FIELDS}
    newsletter = {key: value for key, value in overrides.items() if key in PUBLICATION_FIELDS}
    return Scope(dataclasses.replace(scope.install, **install), dataclasses.replace(scope.newsletter, **newsletter))
