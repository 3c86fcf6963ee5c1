"""The editor's file for one issue: ``content/issues/<last day>.md``, curation in a plain file.

The file is named for the window's last local day (``2026-11-20.md``, in
``editorial.dir``). Its front matter shapes the issue, every key optional;
posts are named by their url or their post id::

    subject: "Bus lanes, rents and a choir"   # the Subject header (the title in the body stays)
    preheader: "Why the London Road lanes run all day"
    pin: [https://example.org/a]              # to the top of their section, in this order
    exclude: [https://example.org/c]          # out of this issue, listed as "excluded by the editor"
    include: [https://example.org/d]          # in, even if outside the window or excluded by a rule
    theme: {https://example.org/e: "Energy & Climate"}
    note: {https://example.org/a: "The one to read this week."}

The Markdown body is the intro note. The file is the source of truth: the
preview's desk writes it (atomically) and git can review it. What it names
that matches nothing is reported with file and line, never ignored in silence.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from digest.config import Edition, Installation, Publication, Scope
from digest.models import Editorial, Excluded, ExclusionKind, Post, Problem, Window, last_day
from digest.models.errors import SourceError
from digest.sources.base import clean_text, html_to_text, visible_text

KEYS = ("subject", "preheader", "pin", "exclude", "include", "theme", "note")
LISTS = ("pin", "exclude", "include")
MAPPINGS = ("theme", "note")
MAX_FILE = 256 * 1024
_FENCE = re.compile(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_BLOCK = re.compile(r"</(?:p|li|blockquote|h[1-6])>|<br\s*/?>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Ref:
    """A post named in the file (its url or id), and the line that names it."""

    text: str
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueFile:
    """What one issue file says; an absent file says nothing (``exists`` False)."""

    path: Path
    label: str  # the path as messages show it: relative to the project root
    exists: bool = False
    subject: str | None = None
    preheader: str | None = None
    pin: tuple[Ref, ...] = ()
    exclude: tuple[Ref, ...] = ()
    include: tuple[Ref, ...] = ()
    theme: tuple[tuple[Ref, str], ...] = ()
    note: tuple[tuple[Ref, str], ...] = ()
    intro: str = ""  # the Markdown body, as written
    problems: tuple[Problem, ...] = ()

    def where(self, line: int) -> str:
        return f"{self.label}:{line}"


def issue_file_path(newsletter: Publication, window: Window, edition: Edition | None = None) -> Path:
    """Where the issue file of ``window``'s issue of ``edition`` (None: the first) lives: the editorial folder, named
    for the window's last local day, and for the edition unless it is the first (a weekly and a monthly can end on the
    same day: one file would edit both issues; the first's name stays, so an install made before editions keeps its
    files)."""
    folded = newsletter.folded_edition(edition) if edition is not None else None
    day = f"{last_day(window, newsletter.timezone):%Y-%m-%d}"
    return newsletter.editorial_dir / (f"{day}-{folded}.md" if folded else f"{day}.md")


def read_issue_file(path: Path, settings: Scope) -> IssueFile:
    """The issue file at ``path``, or an empty one if there is none. Never raises for bad content:
    every problem is in ``problems`` with its line, and the rest of the file still counts."""
    label = _label(path, settings.install)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return IssueFile(path=path, label=label)
    except OSError as exc:
        return IssueFile(path=path, label=label, problems=(Problem(where=label, message=f"cannot read: {exc.strerror or exc}"),))
    if len(raw) > MAX_FILE:
        return IssueFile(path=path, label=label, exists=True, problems=(Problem(where=label, message=f"larger than {MAX_FILE:,} bytes"),))
    try:
        text = visible_text(raw.decode("utf-8").lstrip("\ufeff"), keep="\t\n\r")
    except UnicodeDecodeError as exc:
        return IssueFile(path=path, label=label, exists=True, problems=(Problem(where=label, message=f"not UTF-8: {exc.reason}"),))
    match = _FENCE.match(text)
    front, body = (match.group(1), text[match.end() :]) if match else ("", text)
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    if front.strip():
        try:
            values = _front_matter(front, label, problems)
        except SourceError as exc:
            problems.append(Problem(where=exc.where, message=exc.message))
    return IssueFile(path=path, label=label, exists=True, intro=body.strip(), problems=tuple(problems), **values)


def _label(path: Path, install: Installation) -> str:
    try:
        return str(path.relative_to(install.root))
    except ValueError:
        return str(path)


def _front_matter(front: str, label: str, problems: list[Problem]) -> dict[str, Any]:
    from digest.sources.markdown import refuse_yaml_references, yaml_error

    refuse_yaml_references(front, label)
    try:
        root = yaml.compose(front, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise yaml_error(exc, label) from exc
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise SourceError(f"{label}:2", "front matter must be a mapping of keys to values")
    values: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key, line = str(key_node.value), key_node.start_mark.line + 2
        where = f"{label}:{line}"
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else f" (known: {', '.join(KEYS)})"
            problems.append(Problem(where=where, message=f"unknown key {key!r}{hint}; ignored"))
        elif key in ("subject", "preheader"):
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag != "tag:yaml.org,2002:null":
                values[key] = clean_text(str(value_node.value)) or None
            elif not (isinstance(value_node, yaml.ScalarNode) and value_node.tag == "tag:yaml.org,2002:null"):
                problems.append(Problem(where=where, message=f"{key} must be text; ignored"))
        elif key in LISTS:
            values[key] = tuple(_refs(value_node, key, label, problems))
        else:
            values[key] = tuple(_pairs(value_node, key, label, problems))
    return values


def _refs(node: yaml.Node, key: str, label: str, problems: list[Problem]) -> list[Ref]:
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    refs = []
    for item in items:
        if isinstance(item, yaml.ScalarNode) and str(item.value).strip():
            refs.append(Ref(str(item.value).strip(), item.start_mark.line + 2))
        elif not (isinstance(item, yaml.ScalarNode) and item.tag == "tag:yaml.org,2002:null"):
            problems.append(Problem(where=f"{label}:{item.start_mark.line + 2}", message=f"{key}: each entry must be a post's url or id"))
    return refs


def _pairs(node: yaml.Node, key: str, label: str, problems: list[Problem]) -> list[tuple[Ref, str]]:
    if not isinstance(node, yaml.MappingNode):
        if not (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
            problems.append(Problem(where=f"{label}:{node.start_mark.line + 2}", message=f"{key} must map post urls or ids to text"))
        return []
    pairs = []
    for ref_node, text_node in node.value:
        line = ref_node.start_mark.line + 2
        if not isinstance(ref_node, yaml.ScalarNode) or not isinstance(text_node, yaml.ScalarNode):
            problems.append(Problem(where=f"{label}:{line}", message=f"{key}: each entry maps a post's url or id to text"))
            continue
        text = clean_text(str(text_node.value))
        if text:
            pairs.append((Ref(str(ref_node.value).strip(), line), text))
    return pairs


# -- applying the file ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Curation:
    """What the file does to one issue's selection: the posts in and out, and how to place them."""

    selected: tuple[Post, ...]
    excluded: tuple[Excluded, ...]
    themes: Mapping[str, str] = field(default_factory=dict)  # post id → theme, set by the editor
    pinned: tuple[str, ...] = ()  # post ids, in the editor's order
    included: tuple[str, ...] = ()  # post ids the editor put in: each stands alone, never folded into another's story
    editorial: Editorial | None = None
    problems: tuple[Problem, ...] = ()


def url_key(url: str) -> str:
    """How a url names a post: as :func:`digest.sources.base.post_id` keys it (case, trailing slash ignored)."""
    return url.strip().rstrip("/").lower()


def curate(
    issue_file: IssueFile,
    selected: Sequence[Post],
    excluded: Sequence[Excluded],
    theme_names: Sequence[str],
    render_intro: Callable[[str], str],
    theme_keys: Mapping[str, str] | None = None,
) -> Curation:
    """Apply the issue file to a selection; the editor's word beats every rule, and each change is recorded.
    ``theme_keys`` (key → name): a theme may be named by its key too, as in a post's own ``theme``."""
    if not issue_file.exists:
        return Curation(selected=tuple(selected), excluded=tuple(excluded), problems=issue_file.problems)
    desk = _Curator(issue_file, selected, excluded)
    included = desk.include()
    desk.exclude()
    themes = desk.themes(theme_names, theme_keys or {})
    pinned = desk.pins()
    notes = desk.notes()
    intro_html = render_intro(issue_file.intro) if issue_file.intro else ""
    if issue_file.subject:
        desk.changes.append(f'subject "{issue_file.subject}"')
    if issue_file.preheader:
        desk.changes.append(f'preheader "{issue_file.preheader}"')
    if intro_html:
        desk.changes.append("an intro note")
    editorial = Editorial(
        file=issue_file.label,
        subject=issue_file.subject,
        preheader=issue_file.preheader,
        intro_html=intro_html,
        intro_text=intro_text(intro_html),
        notes=MappingProxyType(notes),
        changes=tuple(desk.changes),
    )
    kept = [post for post in selected if post.id in desk.chosen]
    brought_in = [post for post_id, post in desk.chosen.items() if post_id not in {post.id for post in kept}]
    return Curation(
        selected=(*kept, *brought_in),
        excluded=tuple(desk.left.values()),
        themes=MappingProxyType(themes),
        pinned=tuple(pinned),
        included=tuple(included),
        editorial=editorial,
        problems=tuple(desk.problems),
    )


class _Curator:
    """One issue file applied to one selection, key by key: what is in (``chosen``), what is out and why
    (``left``), each change for people, each problem with its file and line."""

    def __init__(self, issue_file: IssueFile, selected: Sequence[Post], excluded: Sequence[Excluded]) -> None:
        self.file = issue_file
        self.problems = list(issue_file.problems)
        self.changes: list[str] = []
        self.chosen = {post.id: post for post in selected}
        self.left = {item.post.id: item for item in excluded}
        self.lookup: dict[str, str] = {}
        for post in [*selected, *(item.post for item in excluded)]:
            self.lookup[post.id] = post.id
            if post.url:
                self.lookup[url_key(post.url)] = post.id

    def find(self, ref: Ref, key: str) -> str | None:
        post_id = self.lookup.get(ref.text) or self.lookup.get(url_key(ref.text))
        if post_id is None:
            self.problem(ref, f"{key}: {ref.text} matches no post near this issue's window")
        return post_id

    def problem(self, ref: Ref, message: str) -> None:
        self.problems.append(Problem(where=self.file.where(ref.line), message=message))

    def title(self, post_id: str) -> str:
        post = self.chosen.get(post_id) or self.left[post_id].post
        return f'"{post.title}"'

    def include(self) -> list[str]:
        included: list[str] = []
        for ref in self.file.include:
            post_id = self.find(ref, "include")
            if post_id is None:
                continue
            included.append(post_id)
            # Already in, it stays as it is: a post left out under the same id (another source's copy of its
            # address) never takes the place of the one chosen.
            if post_id in self.left and post_id not in self.chosen:
                item = self.left.pop(post_id)
                self.chosen[post_id] = item.post
                self.changes.append(f"included {self.title(post_id)} (left out before: {item.reason})")
            # Already in: the include still keeps it apart from another outlet's post on the same story (digest.issue.stories).
        return included

    def exclude(self) -> None:
        for ref in self.file.exclude:
            post_id = self.find(ref, "exclude")
            if post_id is None:
                continue
            if post_id in self.chosen:
                post = self.chosen.pop(post_id)
                self.left[post_id] = Excluded(post=post, kind=ExclusionKind.EDITOR, reason="excluded by the editor")
                self.changes.append(f'excluded "{post.title}"')
            elif self.left[post_id].kind is not ExclusionKind.EDITOR:
                self.problem(ref, f"exclude: {self.title(post_id)} is out already ({self.left[post_id].reason})")

    def themes(self, theme_names: Sequence[str], theme_keys: Mapping[str, str]) -> dict[str, str]:
        known = {**{key: name for key, name in theme_keys.items()}, **{name.casefold(): name for name in theme_names}}
        themes: dict[str, str] = {}
        for ref, wanted in self.file.theme:
            post_id = self.find(ref, "theme")
            name = known.get(wanted.casefold())
            if name is None:
                self.problem(ref, f"theme: unknown theme {wanted!r} (themes: {', '.join(theme_names)}); ignored")
            elif post_id is not None and post_id in self.chosen:
                themes[post_id] = name
                self.changes.append(f"put {self.title(post_id)} in {name}")
        return themes

    def pins(self) -> list[str]:
        pinned: list[str] = []
        for ref in self.file.pin:
            post_id = self.find(ref, "pin")
            if post_id is not None and post_id in self.chosen and post_id not in pinned:
                pinned.append(post_id)
                self.changes.append(f"pinned {self.title(post_id)}")
            elif post_id is not None and post_id not in self.chosen:
                self.problem(ref, f"pin: {self.title(post_id)} is not in the issue")
        return pinned

    def notes(self) -> dict[str, str]:
        notes: dict[str, str] = {}
        for ref, text in self.file.note:
            post_id = self.find(ref, "note")
            if post_id is not None and post_id in self.chosen:
                notes[post_id] = text
                self.changes.append(f"a note on {self.title(post_id)}")
            elif post_id is not None:
                self.problem(ref, f"note: {self.title(post_id)} is not in the issue")
        return notes


def intro_text(intro_html: str) -> str:
    """The intro's plain text, a paragraph per block, for the text part."""
    blocks = (html_to_text(block) for block in _BLOCK.split(intro_html))
    return "\n\n".join(block for block in blocks if block)


# -- writing the file (the preview's desk) ---------------------------------------------------


def write_issue_file(path: Path, content: IssueFile | None = None, **changes: Any) -> None:
    """Write the issue file atomically (temp file + rename: never half-written), from ``content`` with ``changes``."""
    current = replace(content, **changes) if content is not None else IssueFile(path=path, label=str(path), **changes)
    front: dict[str, Any] = {}
    if current.subject:
        front["subject"] = current.subject
    if current.preheader:
        front["preheader"] = current.preheader
    for key in LISTS:
        refs = getattr(current, key)
        if refs:
            front[key] = [ref.text for ref in refs]
    for key in MAPPINGS:
        pairs = getattr(current, key)
        if pairs:
            front[key] = {ref.text: text for ref, text in pairs}
    text = ""
    if front:
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000) + "---\n"
    elif current.intro.strip().startswith("---"):
        # An intro that opens with a Markdown rule would be read back as the file's front matter (a subject,
        # an exclude list): an empty front matter first keeps it intro text.
        text = "---\n---\n"
    if current.intro:
        text += ("\n" if text else "") + current.intro.strip() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
