"""The one error tree of digest.

::

    DigestError
    ├── ConfigError    (also ValueError)    a config file or environment value is wrong
    ├── SourceError    (also ValueError)    a source or one of its items cannot be read
    │   └── SourceUnavailableError          a whole source yielded nothing (missing, unreachable, no match)
    ├── RenderError    (also RuntimeError)  a template or the MJML/inline step failed
    ├── DeliveryError  (also OSError)       a message could not be handed over
    ├── StoreError     (also RuntimeError)  the database cannot be opened, migrated or trusted
    ├── RefusedError   (also RuntimeError)  a send or build that would hurt the list: the message names the fix
    └── ReviewError    (also LookupError)   a review decision names a report or an address it cannot apply to

Each also subclasses the built-in it resembles, so callers that only know the
standard library still catch it. Messages are built from typed fields, so the
CLI can print them as they are and tests can check the fields.
"""

from __future__ import annotations

from collections.abc import Sequence


class DigestError(Exception):
    """Root of every error digest raises on purpose."""


class ConfigError(DigestError, ValueError):
    """One or more problems in the configuration, all reported at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class SourceError(DigestError, ValueError):
    """A source, or one item in it, could not be read.

    ``where`` is a path (with ``:line`` when known) or a URL.
    """

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


class SourceUnavailableError(SourceError):
    """A whole source yielded nothing: missing, unreachable, an HTTP error, or no file matched.

    Unlike a bad item among good ones, this fails the run (exit 1) even
    without --strict; the other sources are still read.
    """


class RenderError(DigestError, RuntimeError):
    """A template, the MJML compile or the inline step failed."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


class DeliveryError(DigestError, OSError):
    """A message could not be handed to its backend."""


class StoreError(DigestError, RuntimeError):
    """The database cannot be opened or migrated, or a row the ledger needs is missing."""


class RefusedError(DigestError, RuntimeError):
    """An operation refused on purpose (an overlapping send, a rebuild of a sent issue, error-level checks).

    The message says why and names the command that does what was probably meant.
    """


class ReviewError(DigestError, LookupError):
    """A decision on an unattributed bounce or complaint that cannot be carried out: the report is not waiting
    for review, or the address is not one it names, or names nobody on the list. The message names the fix."""
