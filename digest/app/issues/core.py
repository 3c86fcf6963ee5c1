"""What every use case of an issue works on: one configuration, and its database opened on first use."""

from __future__ import annotations

from collections.abc import Callable

from digest.app.hints import edition_args
from digest.config import Scope
from digest.issue.slots import make_trigger
from digest.models import Window, issue_id
from digest.store import Store, database_exists


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
        """The store for this edition: its issues, schedule runs and readers (the rest is the newsletter's)."""
        if self._store is None:
            assert self._open is not None
            self._store = self._open()
        if self._store.edition != self.edition.name:
            self._store = self._store.of_edition(self.edition.name)
        return self._store

    def edition_args(self) -> list[str]:
        """``--edition NAME`` for a hint about this edition's issues; none for the first (the commands' default)."""
        return edition_args(self.settings.newsletter, self.edition.name)

    def issue_id_of(self, window: Window) -> str:
        """The id of this newsletter's issue of ``window``: the stored one's, if an issue of exactly this window is
        stored (one frozen before ids held the newsletter's slug keeps its id), else the one the window and the slug
        make. No database is made to ask (a build of an explicit window needs none)."""
        if self._store is not None or database_exists(self.settings.install.database_url):
            stored = self.store.issues.of_window(window.start, window.end)
            if stored is not None:
                return stored.id
        newsletter = self.settings.newsletter
        return issue_id(window, newsletter.timezone, newsletter.slug, newsletter.folded_edition(self.edition))
