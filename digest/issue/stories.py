"""One story, many outlets: posts about the same story are shown once, with "Also in" links to the rest.

Two posts tell the same story when their canonical URLs are equal (scheme,
``www.``, ``utm_*`` and click ids, fragments, trailing slashes and AMP paths
dropped) or their titles are alike: rapidfuzz's token-set similarity of at
least :data:`SIMILAR` (word order and case ignored). Token-set similarity
calls a title that is a subset of another identical, so titles shorter than
:data:`MIN_WORDS` words are compared by URL only: "Bus lanes" would match
every story about bus lanes. Titles whose numbers differ are different
stories, however alike the words ("Council meeting, 17 November" and "…18").

The earliest post of a story is shown; the others are listed as excluded
("same story as …") so the counts still add up, and each appears under it as
"Also in". An editor who ``include``s a post keeps it apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rapidfuzz import fuzz

from digest.models import AlsoIn, Excluded, ExclusionKind, Post

SIMILAR = 90
MIN_WORDS = 4
_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|mc_cid|mc_eid|amp)$", re.IGNORECASE)
_AMP_PATH = re.compile(r"(/amp/?$|/amp/|\.amp$|\.amp\.html$)", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d+")


def canonical_url(url: str) -> str:
    """``url`` without what differs between copies of one page: scheme, www., tracking parameters, AMP, slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("amp.")
    path = _AMP_PATH.sub("/", parts.path).rstrip("/")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)))
    return urlunsplit(("", host, path, query, ""))


@dataclass(frozen=True, slots=True)
class Stories:
    """The posts to show (each with its Also in), and the ones folded into them."""

    shown: tuple[Post, ...]
    folded: tuple[Excluded, ...]


def fold_stories(posts: Sequence[Post], keep_apart: Iterable[str] = ()) -> Stories:
    """Fold each story's posts into its earliest one; ``keep_apart`` (post ids) are never folded."""
    ordered = sorted(posts, key=lambda p: (p.published, p.title, p.id))
    lead_of = _leads(ordered, set(keep_apart))
    posts_by_id = {post.id: post for post in posts}
    also: dict[str, list[AlsoIn]] = {}
    folded: list[Excluded] = []
    for post in ordered:
        lead = lead_of[post.id]
        if lead == post.id:
            continue
        first = posts_by_id[lead]
        also.setdefault(lead, []).append(AlsoIn(outlet=post.outlet or post.author or "another source", url=post.url, title=post.title))
        where = f" ({first.outlet})" if first.outlet else ""
        folded.append(
            Excluded(post=post, kind=ExclusionKind.SAME_STORY, reason=f'same story as "{first.title}"{where}: listed under it as Also in')
        )
    shown = tuple(replace(post, also=tuple(also[post.id])) if post.id in also else post for post in posts if lead_of[post.id] == post.id)
    return Stories(shown=shown, folded=tuple(folded))


def _leads(ordered: Sequence[Post], apart: set[str]) -> dict[str, str]:
    """Post id → the id of its story's shown post (itself when it leads): the same canonical URL, or a title
    alike enough to an earlier lead's; a post kept apart leads its own story."""
    lead_of: dict[str, str] = {}
    leads: list[Post] = []
    by_url: dict[str, str] = {}
    for post in ordered:
        lead = None
        if post.id not in apart:
            key = canonical_url(post.url) if post.url else None
            lead = by_url.get(key) if key else None
            if lead is None and len(_WORD.findall(post.title)) >= MIN_WORDS:
                lead = next((other.id for other in leads if _alike(other, post) and other.id not in apart), None)
        if lead is None:
            leads.append(post)
            lead = post.id
        lead_of[post.id] = lead
        if post.url:
            by_url.setdefault(canonical_url(post.url), lead)
    return lead_of


def _alike(a: Post, b: Post) -> bool:
    if len(_WORD.findall(a.title)) < MIN_WORDS:
        return False
    if set(_NUMBER.findall(a.title)) != set(_NUMBER.findall(b.title)):  # "Council meeting, 17 November" vs "…18 November"
        return False
    return fuzz.token_set_ratio(a.title, b.title, processor=str.lower, score_cutoff=SIMILAR) >= SIMILAR
