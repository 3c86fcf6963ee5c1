"""The editor's desk in the preview: each button is one change to the issue file, nothing else.

The file (:mod:`digest.issue.editorial`) stays the only state: an action reads it,
changes one thing, and writes it back atomically (:func:`edit_issue_file`).
The preview's endpoints check the page's token, call it and send the browser
back to the page, which then shows the new build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from digest.config import Edition, Publication, Scope
from digest.issue.editorial import IssueFile, Ref, issue_file_path, read_issue_file, url_key, write_issue_file
from digest.issue.language import language_notes
from digest.models import Digest, Post, Window
from digest.models.errors import DeskError

POST_ACTIONS = ("exclude", "include", "pin", "unpin", "up", "down", "theme", "note")
MAX_TEXT = 2000  # a subject, a preheader or a note; the intro may be longer
MAX_INTRO = 20_000


class DeskForm(StrEnum):
    """The desk's two forms: the issue's subject, preheader and intro; one action on one post."""

    ISSUE = "issue"
    POST = "post"


@dataclass(frozen=True, slots=True)
class DeskView:
    """What the desk's forms show: the issue file's current values."""

    file: str  # the file, as the editor would name it
    subject: str
    preheader: str
    intro: str
    pinned: frozenset[str]  # the refs of the pinned posts


def desk_view(settings: Scope, window: Window, edition: Edition | None = None) -> DeskView:
    """The issue file of ``window``'s issue of ``edition`` (None: the first) as the desk's forms show it."""
    current = read_issue_file(issue_file_path(settings.newsletter, window, edition), settings)
    return DeskView(
        file=current.label,
        subject=current.subject or "",
        preheader=current.preheader or "",
        intro=current.intro,
        pinned=frozenset(ref.text for ref in current.pin),
    )


def language_flags(newsletter: Publication, digest: Digest) -> Mapping[str, str]:
    """Post id → what the desk says beside each post of ``digest`` not in the newsletter's language, in the words
    the build's problems use ("in French; the model reads English")."""
    return language_notes(digest.posts, newsletter)


def edit_issue_file(
    settings: Scope, window: Window, digest: Digest, form: DeskForm, fields: Mapping[str, str], edition: Edition | None = None
) -> Path:
    """Make one change to the issue file of ``window``'s issue of ``edition`` (None: the first; ``digest`` is that
    issue as built now); the file written. Raises DeskError for a change the desk refuses."""
    path = issue_file_path(settings.newsletter, window, edition)
    current = read_issue_file(path, settings)
    if form is DeskForm.ISSUE:
        changes = issue_changes(fields.get("subject", ""), fields.get("preheader", ""), fields.get("intro", ""))
    else:
        changes = post_changes(
            current, digest, fields.get("action", ""), fields.get("post", ""), fields.get("value", ""), settings.newsletter.theme_names
        )
    write_issue_file(path, current, **changes)
    return path


def ref_of(post: Post) -> str:
    """How the desk names a post in the file: its url (readable in a diff), else its id."""
    return post.url or post.id


def _same(a: str, b: str) -> bool:
    return a == b or url_key(a) == url_key(b)


def _without(refs: Sequence[Ref], ref: str) -> tuple[Ref, ...]:
    return tuple(item for item in refs if not _same(item.text, ref))


def _has(refs: Sequence[Ref], ref: str) -> bool:
    return any(_same(item.text, ref) for item in refs)


def _set(pairs: Sequence[tuple[Ref, str]], ref: str, value: str) -> tuple[tuple[Ref, str], ...]:
    kept = tuple(pair for pair in pairs if not _same(pair[0].text, ref))
    return (*kept, (Ref(ref, 0), value)) if value else kept


def issue_changes(subject: str, preheader: str, intro: str) -> dict[str, Any]:
    """The file's changes for the issue form: subject, preheader and intro note (empty: back to the default)."""
    if len(subject) > MAX_TEXT or len(preheader) > MAX_TEXT or len(intro) > MAX_INTRO:
        raise DeskError("too long: a subject or preheader is at most 2,000 characters, the intro 20,000")
    return {
        "subject": " ".join(subject.split()) or None,
        "preheader": " ".join(preheader.split()) or None,
        "intro": intro.replace("\r\n", "\n").strip(),
    }


def post_changes(current: IssueFile, digest: Digest, action: str, ref: str, value: str, themes: Sequence[str]) -> dict[str, Any]:
    """The file's changes for one action on the post ``ref`` of ``digest``."""
    if action not in POST_ACTIONS:
        raise DeskError(f"unknown action {action!r}")
    if len(value) > MAX_TEXT:
        raise DeskError("too long: a note is at most 2,000 characters")
    in_issue = {ref_of(post): post for post in digest.posts}
    left_out = {ref_of(item.post): item.post for item in digest.excluded}
    if ref not in in_issue and ref not in left_out:
        raise DeskError(f"{ref} is not a post of this issue (reload the page)")
    if action == "exclude":
        return {"include": _without(current.include, ref), "exclude": (*_without(current.exclude, ref), Ref(ref, 0))}
    if action == "include":
        if _has(current.exclude, ref):  # out by the editor's own hand: taking that back is enough
            return {"exclude": _without(current.exclude, ref)}
        return {"include": (*_without(current.include, ref), Ref(ref, 0))}
    if ref not in in_issue:
        raise DeskError(f"{ref} is not in the issue: include it first")
    if action == "pin":
        return {"pin": (*_without(current.pin, ref), Ref(ref, 0))}
    if action == "unpin":
        return {"pin": _without(current.pin, ref)}
    if action in ("up", "down"):
        return {"pin": _moved(current.pin, ref, action, _sections(digest))}
    if action == "theme":
        if value and value not in themes:
            raise DeskError(f"unknown theme {value!r}")
        return {"theme": _set(current.theme, ref, value)}
    return {"note": _set(current.note, ref, " ".join(value.split()))}


def _sections(digest: Digest) -> Mapping[str, str]:
    return {ref_of(post): section.theme for section in digest.sections for post in section.posts}


def _moved(pins: Sequence[Ref], ref: str, direction: str, section_of: Mapping[str, str]) -> tuple[Ref, ...]:
    """The pin list with ``ref`` one place up or down among the pins of its section.

    Up on a post that is not pinned pins it (it goes above every unpinned
    post of its section); down on the last pin of a section unpins it.
    """
    order = [pin for pin in pins if pin.text in section_of or any(_same(pin.text, known) for known in section_of)]
    index = next((n for n, pin in enumerate(order) if _same(pin.text, ref)), None)
    if index is None:
        return (*pins, Ref(ref, 0)) if direction == "up" else tuple(pins)
    section = section_of.get(ref)
    peers = [n for n, pin in enumerate(order) if section_of.get(pin.text) == section]
    position = peers.index(index)
    if direction == "up" and position > 0:
        other = peers[position - 1]
    elif direction == "down" and position < len(peers) - 1:
        other = peers[position + 1]
    elif direction == "down":
        return tuple(pin for pin in pins if not _same(pin.text, ref))
    else:
        return tuple(pins)
    order[index], order[other] = order[other], order[index]
    rest = [pin for pin in pins if pin not in order]
    return (*order, *rest)
