"""What every source shares: the Source protocol and the register of the classes that read each kind, post ids,
sanitising and excerpts."""

from __future__ import annotations

import contextlib
import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar, Protocol, TypeVar
from urllib.parse import urlsplit

import nh3

from digest.config import Installation, Scope, SourceKind, SourceSpec
from digest.models import Fetch, Image, Post, Problem, Window
from digest.models.errors import SourceError, SourceUnavailableError
from digest.models.text import clean_text, visible_text

__all__ = ["clean_text", "visible_text"]  # with the rest: what sources share; the text rules live in digest.models.text

# What post HTML may keep: text formatting and links, nothing that runs or loads.
ALLOWED_TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "cite", "code", "em", "i", "li", "ol", "p", "q", "s", "small", "strong", "sub", "sup", "u", "ul"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_SPACE = re.compile(r"\s+")
_BLOCK_END = re.compile(r"</(p|li|blockquote|ul|ol)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
# nh3's output is normalised (attributes quoted, tags balanced), so a pattern is enough here.
_DEAD_LINK = re.compile(r"<a(?![^>]*\shref=)[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_PARAGRAPH = re.compile(r"<p\b[^>]*>.*?</p>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Gathered:
    """What one source produced: the posts it could read and the problems it met."""

    posts: tuple[Post, ...] = ()
    problems: tuple[Problem, ...] = ()
    distant: int = 0  # posts read but left out as outside the ``near`` window asked for: counted only
    # Each fetch of a feed or URL source: what happened and the entries seen (Markdown folders keep their index instead).
    fetches: tuple[Fetch, ...] = ()
    # Posts that are not news, by id, with why (an old post reissued under a new GUID): decided by the app layer,
    # which remembers the entries each source showed before; the selection leaves them out with that reason.
    not_new: Mapping[str, str] = field(default_factory=dict)


class Source(Protocol):
    """Anything that yields posts. ``gather`` never raises for a bad item: it reports it.

    Given ``near``, a source may leave out (and count in ``distant``) the posts
    published outside it; one that cannot do that cheaply returns them all.
    ``kind`` is the class's entry in :mod:`digest.config.kinds`: its name and the file endings it reads.
    """

    kind: ClassVar[SourceKind]
    spec: SourceSpec

    def __init__(self, spec: SourceSpec, settings: Scope) -> None: ...

    def gather(self, near: Window | None = None) -> Gathered: ...


S = TypeVar("S", bound=type[Source])

# The class that reads each kind, by the kind's name: filled in as each kind's module is imported (``@registered``),
# which digest.sources.open_source does for the one kind it opens.
READERS: dict[str, type[Source]] = {}


def registered(cls: S) -> S:
    """Registers ``cls`` as the reader of its ``kind`` (the class decorated: ``@registered``)."""
    READERS[cls.kind.name] = cls
    return cls


def problem_of(exc: SourceError) -> Problem:
    """The problem an error reports; a whole source that yielded nothing is marked as such."""
    return Problem(where=exc.where, message=exc.message, source_failed=isinstance(exc, SourceUnavailableError))


def sanitise_html(fragment: str) -> str:
    """Post HTML made safe for the email: no scripts, handlers, styles or odd URL schemes.

    A link that goes nowhere a reader can follow is unwrapped to its text at
    the source: a removed URL (``javascript:``, which feedparser empties to
    ``href=""``), an empty one, a relative one (no base resolved it: it would
    point at the reader's mail client) or one of another scheme. Left for
    the send, such a link failed the checks and held the whole issue back.
    """
    cleaned = nh3.clean(
        visible_text(fragment, keep="\t\n\r"),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        attribute_filter=_followable,
        link_rel="noopener noreferrer",
    ).strip()
    return _DEAD_LINK.sub(r"\1", cleaned)


def _followable(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: an ``href`` is kept only when it is an absolute http(s) URL or a mailto address."""
    if tag != "a" or attribute != "href":
        return value
    parts = urlsplit(value.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return value
    if parts.scheme == "mailto" and "@" in parts.path:
        return value
    return None


def html_to_text(fragment: str) -> str:
    """The readable text of an HTML fragment, on one line."""
    spaced = _BLOCK_END.sub(" ", fragment)
    return clean_text(html.unescape(_TAG.sub("", spaced)))


def image_of(url: object, alt: object = None, width: object = None, height: object = None) -> Image | None:
    """An Image when ``url`` is an absolute https URL (anything else loads from the wrong place, or insecurely),
    with its size in pixels when the source gives both (the email then keeps its shape and never enlarges it)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or any(ch in url for ch in " \"'<>\\"):
        return None
    w, h = _pixels(width), _pixels(height)
    return Image(
        url=url, alt=clean_text(alt) if isinstance(alt, str) else None, width=w if w and h else None, height=h if w and h else None
    )


def _pixels(value: object) -> int | None:
    """A size attribute as whole pixels (``240``, ``"240"``, ``"240px"``); None when it is anything else."""
    text = str(value).strip().removesuffix("px") if isinstance(value, (str, int)) else ""
    return int(text) if text.isdigit() and 0 < int(text) <= 10_000 else None


_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""\b(src|alt|width|height)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def first_image(fragment: str) -> Image | None:
    """The first usable ``<img>`` of raw (unsanitised) post HTML: its src and alt, nothing else of it."""
    for tag in _IMG.findall(fragment):
        attrs = {name.lower(): html.unescape(a or b or c) for name, a, b, c in _ATTR.findall(tag)}
        image = image_of(attrs.get("src"), attrs.get("alt"), attrs.get("width"), attrs.get("height"))
        if image is not None:
            return image
    return None


def truncate_words(text: str, words: int) -> str:
    parts = text.split(" ")
    if len(parts) <= words:
        return text
    return " ".join(parts[:words]).rstrip(",;:.–-") + " …"


def make_excerpt(fragment_html: str, words: int) -> tuple[str, str]:
    """(html, text) of an excerpt: the first paragraph, cut to ``words`` words.

    Takes sanitised HTML. When the paragraph must be cut, the HTML becomes the
    escaped cut text: cutting markup safely is not worth its complexity here.
    """
    match = _PARAGRAPH.search(fragment_html)
    first = match.group(0) if match else fragment_html
    text = html_to_text(first)
    cut = truncate_words(text, words)
    if cut != text or not match:
        return (f"<p>{html.escape(cut, quote=False)}</p>" if cut else "", cut)
    return first, text


def post_id(*, url: str | None, source: str, title: str, published: date | datetime) -> str:
    """A stable id: from the url when there is one, else from source, title and date."""
    if url:
        key = "url:" + url.strip().rstrip("/").lower()
    else:
        day = published.date() if isinstance(published, datetime) else published
        key = f"item:{source}|{clean_text(title).casefold()}|{day.isoformat()}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def source_label(spec: SourceSpec, install: Installation, path: str | None = None) -> str:
    """How a post's source is named: kind and a root-relative path (or the URL)."""
    where = path if path is not None else spec.location
    if not spec.is_url:
        with contextlib.suppress(ValueError):  # outside the root: keep the path as given
            where = str(install.resolve(where).relative_to(install.root))
    return f"{spec.kind}:{where}"
