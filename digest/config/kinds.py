"""The kinds of source, as data: each kind's name, the file endings it reads, whether it reads URLs and whether its
posts are the newsletter's own. The one table of them, which everything that names a kind reads:

- the config's ``[[sources]] kind`` and a command line's ``kind:location`` (:mod:`digest.config.sourcing`), where an
  unknown kind is a config error naming the known ones;
- the guess from a location's form and ending (:func:`detect_kind`), for a source given without a kind;
- which posts no other source may stand in for (:data:`FIRST_PARTY_KINDS`, read by the stories);
- the factory (:func:`digest.sources.open_source`): the class that reads a kind is in ``digest.sources.<name>`` and
  registers itself against its entry here, so opening a source imports only that kind's module.

It is data in the settings layer, not a registry the reading classes fill in, because the config validates kinds
and sits below ``sources/`` in the layers: it may not import the classes (nor should reading a config import the
Markdown stack). A new kind is an entry here and a module of that name in ``sources/`` with a class registered for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from digest.config.schema import is_url
from digest.models.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceKind:
    """One kind of source. ``endings``: lower case, with the dot; a folder is searched for files with the first,
    and a location ending in any of them is guessed to be this kind. ``guessed``: what a location none of the
    endings names is read as (exactly one kind for paths, folders and globs, one that reads URLs for URLs)."""

    name: str
    endings: tuple[str, ...]
    urls: bool = False
    first_party: bool = False  # the newsletter's own posts (its files, its archives), not anyone's feed
    guessed: Literal["paths", "urls"] | None = None

    @property
    def folder_ending(self) -> str:
        """What a folder given as this kind's location is searched for."""
        return self.endings[0]


MARKDOWN = SourceKind(name="markdown", endings=(".md",), first_party=True, guessed="paths")
FEED = SourceKind(name="feed", endings=(".xml", ".rss", ".atom", ".rdf"), urls=True, guessed="urls")
ARCHIVE = SourceKind(name="archive", endings=(".txt",), urls=True, first_party=True)

# In the order the messages list them.
SOURCE_KINDS: tuple[SourceKind, ...] = (MARKDOWN, FEED, ARCHIVE)
KIND_NAMES: tuple[str, ...] = tuple(kind.name for kind in SOURCE_KINDS)
# The newsletter's own posts, which no other source's post may stand in for: a feed is anyone's words, and one
# claiming our post's address must not put its title and excerpt on our link.
FIRST_PARTY_KINDS: tuple[str, ...] = tuple(kind.name for kind in SOURCE_KINDS if kind.first_party)


def kind_problem(name: str) -> str | None:
    """Why ``name`` is not a kind of source, naming the known ones; None when it is one."""
    return None if name in KIND_NAMES else f'must be one of {", ".join(KIND_NAMES)}, got "{name}"'


def source_kind(name: str) -> SourceKind:
    """The kind named ``name``; raises ConfigError naming the known ones (a spec built in code, not read from a file)."""
    for kind in SOURCE_KINDS:
        if kind.name == name:
            return kind
    raise ConfigError([f"source kind {kind_problem(name)}"])


def detect_kind(location: str) -> str:
    """The name of the kind a location most likely is, from its form and file ending: among the kinds that read it
    (a URL: those that read URLs), the one whose ending it has, else the one guessed for its form."""
    url = is_url(location)
    lowered = location.lower().split("?", 1)[0]
    readers = [kind for kind in SOURCE_KINDS if kind.urls or not url]
    for kind in readers:
        if lowered.endswith(kind.endings):
            return kind.name
    form = "urls" if url else "paths"
    return next(kind.name for kind in readers if kind.guessed == form)
