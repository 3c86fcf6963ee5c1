"""The editor's preview as a use case: the issue a query means, built now, with the sample copy a
subscriber would get and the store's word on it (frozen? sent?), or the failure to show instead.

:mod:`digest.web.preview` serves it (pages, the desk's forms, live reload); this module decides what
there is to show and does what the desk's buttons ask, through :mod:`digest.app.issues` and
:mod:`digest.app.desk`.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from digest.app.issues import Drift, Newsletter, Target, WindowRequest, drift_between
from digest.app.report import Report, report
from digest.app.session import open_store
from digest.app.subscribers import address_of
from digest.config import Scope, load_config
from digest.models import Digest, OnStep, RenderedIssue, StoredIssue
from digest.models.errors import ConfigError, DigestError, RenderError, WindowError
from digest.render.templates import template_dirs
from digest.send.delivery import compile_issue
from digest.store import Store, database_exists

SAMPLE = ("reader@example.org", "Sample Reader")


@dataclass(frozen=True, slots=True)
class Listed:
    """A newsletter as the preview's switcher names it."""

    slug: str
    name: str


def newsletters_of(config: Path | None) -> tuple[Listed, ...]:
    """The install's newsletters, the first first; none when the config cannot be read (the page says why)."""
    try:
        whole = load_config(config)
    except ConfigError:
        return ()
    return tuple(Listed(newsletter.slug, newsletter.name) for newsletter in whole.newsletters)


@dataclass(frozen=True, slots=True)
class PreviewBuild:
    settings: Scope
    newsletter: Newsletter
    target: Target
    digest: Digest
    rendered: RenderedIssue
    issue: StoredIssue  # the build in the form a send would freeze
    sample: bytes  # the whole message as the sample recipient would get it
    frozen: StoredIssue | None  # the stored copy of this issue, which sends use instead of a build
    drift: Drift | None  # how the stored copy differs from this build

    @property
    def locked(self) -> bool:
        """An issue with deliveries can never change: its desk is locked."""
        return self.frozen is not None and self.newsletter.store.ledger.has_started(self.frozen.id)


@dataclass(frozen=True, slots=True)
class Failure:
    where: str
    message: str
    query: bool = False  # the address's query is wrong (a 400), not a file the editor can fix and save

    @property
    def status(self) -> int:
        """The HTTP status that says whose it is: 400 for the asker's query or form, 500 for the files or the database."""
        return 400 if self.query else 500

    @property
    def page_status(self) -> int:
        """The status of the preview's own pages (the page, the email frame): they show a file's error and reload
        once the editor saves the fix, so that is a 200; a wrong query stays a 400."""
        return 400 if self.query else 200


class Workbench:
    """One configuration (re-read on every build: the editor may be editing it), the newsletter of it shown (its
    slug; None: the only one) and its stores."""

    def __init__(self, config: Path | None, newsletter: str | None = None, edition: str | None = None) -> None:
        self.config = config
        self.newsletter = newsletter
        self.edition = edition  # the edition whose issues it shows; None: the newsletter's default
        self.lock = threading.Lock()
        # By database URL and newsletter (a store is opened for one newsletter's scope): the config may change while
        # the preview runs.
        self.stores: dict[tuple[str, str], Store] = {}

    def settings(self) -> Scope | Failure:
        try:
            return load_config(self.config).scope(self.newsletter)
        except ConfigError as exc:
            return Failure(where=str(self.config or "config"), message="; ".join(exc.problems))

    def store(self, settings: Scope) -> Store:
        with self.lock:
            key = (settings.install.database_url, settings.newsletter.slug)
            if key not in self.stores:
                self.stores[key] = open_store(settings)  # upgraded with the config's theme keys
            return self.stores[key]

    def build(self, request: WindowRequest, on_step: OnStep | None = None) -> PreviewBuild | Failure:
        """The issue ``request`` means, built now, with a sample copy; or what stopped it, and where."""
        settings = self.settings()
        if isinstance(settings, Failure):
            return settings
        now = datetime.now(UTC)
        try:
            newsletter = Newsletter(settings, lambda: self.store(settings), self.edition)
            target = newsletter.target(request, now)
        except WindowError as exc:
            # No file is involved: the address's query is what is wrong.
            return Failure(where="the query", message=str(exc), query=True)
        except DigestError as exc:
            return Failure(where="database", message=str(exc))
        try:
            built = newsletter.build(target.window, now, on_step=on_step)
            # The sample copy needs a key to sign its links; a preview-only one when none is set.
            keyed = dataclasses.replace(settings.install, secret_key="preview-only")  # noqa: S106 (signs nothing real)
            signing = settings if settings.install.secret_key else Scope(keyed, settings.newsletter)
            sample = compile_issue(built.issue, signing, date=now).render(0, *SAMPLE)
        except RenderError as exc:
            return Failure(where=exc.where, message=exc.message)
        except DigestError as exc:
            return Failure(where="build", message=str(exc))
        return PreviewBuild(settings, newsletter, target, built.digest, built.rendered, built.issue, sample, None, None)

    def readers(self) -> tuple[Scope, Report | None] | Failure:
        """The Readers page's figures: the report of the latest sent issue (None: nothing sent, or no database yet)."""
        settings = self.settings()
        if isinstance(settings, Failure):
            return settings
        if not database_exists(settings.install.database_url):
            return settings, None
        try:
            return settings, report(
                self.store(settings), datetime.now(UTC).astimezone(settings.newsletter.timezone).date(), key_of=settings.newsletter.key_of
            )
        except DigestError as exc:
            return Failure(where="database", message=str(exc))

    @staticmethod
    def stored_state(result: PreviewBuild | Failure) -> PreviewBuild | Failure:
        """The build with the store's current word on it: a send in another process may have frozen
        the issue since it was built, and no watched file tells the preview so."""
        if isinstance(result, Failure):
            return result
        try:
            frozen = result.newsletter.store.issues.load(result.target.issue_id)
        except DigestError as exc:
            return Failure(where="database", message=str(exc))
        drift = drift_between(frozen, result.digest, result.rendered) if frozen is not None else None
        return dataclasses.replace(result, frozen=frozen, drift=drift or None)

    def watched(self) -> list[Path]:
        """The folders and files whose changes rebuild the issue."""
        settings = self.settings()
        paths: list[Path] = []
        if self.config is not None:
            paths.append(Path(self.config))
        elif Path("config/digest.toml").is_file():
            paths.append(Path("config/digest.toml"))
        if not isinstance(settings, Failure):
            if settings.newsletter.source is not None:  # an added newsletter's own file, config/newsletters/SLUG.toml
                paths.append(settings.newsletter.source)
            paths += template_dirs(settings)
            paths.append(settings.newsletter.editorial_dir)  # the editor's issue files, edited by hand as well as by the desk
            for spec in settings.newsletter.sources:
                if not spec.is_url:
                    location = settings.install.resolve(spec.location)
                    while any(ch in str(location) for ch in "*?[") and location != location.parent:
                        location = location.parent
                    paths.append(location)
        return sorted({p.resolve() for p in paths if p.exists()})


def send_test_copy(built: PreviewBuild, typed_address: str) -> tuple[str, str]:
    """One ``[TEST]`` copy of the build to an address the editor typed: (the address, the server's reply).
    Raises AddressError for one that will not work, DigestError for a failed send."""
    address = address_of(typed_address)
    return address, str(built.newsletter.send_test(built.issue, address, datetime.now(UTC)))


def approval_line(built: PreviewBuild) -> str | None:
    """The approval line of the desk (None when approval is not required)."""
    if not built.settings.newsletter.schedule.approval_required:
        return None
    from digest.app.approval import approval_state

    return approval_state(built.newsletter, built.target).reason
