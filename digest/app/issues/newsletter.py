"""The use cases of one newsletter's issues as one object: what the CLI, the scheduler, the preview and the
public app hold."""

from __future__ import annotations

from digest.app.hints import scope_hint
from digest.app.issues.plan import Planning
from digest.app.issues.send import Sending
from digest.app.issues.target import Targeting
from digest.config import Scope
from digest.store import Store


class Newsletter(Targeting, Planning, Sending):
    """The use cases over one configuration and one database: name the issue (:class:`Targeting`), build it
    (:class:`~digest.app.issues.build.Building`), freeze it (:class:`~digest.app.issues.freeze.Freezing`), plan
    a send (:class:`Planning`) and send it (:class:`Sending`), each in a module of its own.

    The store is opened on first use (``store`` may be a Store or a function
    that opens one), so a build of an explicit window needs no database.
    """

    def hint(self, *args: str) -> str:
        """A ``digest`` command line that does what a message says, for this configuration."""
        return scope_hint(self.settings, *args)


def of_issue(settings: Scope, store: Store, issue_id: str) -> Newsletter:
    """The use cases about the stored issue ``issue_id``, of whichever edition it is (an id names its edition: the API's
    sends, issue pages and approvals reach a monthly's issue as the weekly's); the first edition's when none has it."""
    return Newsletter(settings, store, store.issues.edition_of(issue_id))
