"""What every use case of an issue works on: one configuration, and its database opened on first use."""

from __future__ import annotations

from collections.abc import Callable

from digest.config import Scope
from digest.issue.slots import make_trigger
from digest.store import Store


class NewsletterCore:
    """One configuration and one database, for the use cases built on it (:class:`digest.app.issues.Newsletter`).

    The store is opened on first use (``store`` may be a Store or a function
    that opens one), so a build of an explicit window needs no database.
    """

    def __init__(self, settings: Scope, store: Store | Callable[[], Store], edition: str | None = None) -> None:
        self.settings = settings
        # The edition its issues are of (None: the newsletter's default); an unknown name: ConfigError listing them.
        self.edition = settings.newsletter.edition(edition)
        self._store = store if isinstance(store, Store) else None
        self._open = store if not isinstance(store, Store) else None
        self.trigger = make_trigger(settings.newsletter, self.edition)

    @property
    def store(self) -> Store:
        if self._store is None:
            assert self._open is not None
            self._store = self._open()
        return self._store
