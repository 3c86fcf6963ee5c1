"""How a mark is said back to a reader in a conflict's or an agreement's reason: "Bridge Street", "1,500"."""

from __future__ import annotations

from collections.abc import Iterable

from digest.issue.identity.vocabulary import _NOT_NAMES

_ACRONYMS = {"fc": "FC", "afc": "AFC", "rfc": "RFC", "cic": "CIC", "plc": "plc"}


def _shown(what: str, value: str) -> str:
    """A mark as a reader writes it: "Bridge Street", "1,500", "Councillor Ayres", "14 March"."""
    if what == "figure":
        whole, dot, fraction = value.partition(".")
        return f"{int(whole):,}{dot}{fraction}"
    if what == "person":
        part, _, surname = value.partition("|")
        return f"{part.capitalize()} {surname.capitalize()}".strip() if surname else part
    if what in ("place", "body", "date", "weekday", "name"):
        return " ".join(_ACRONYMS.get(word, word if word in _NOT_NAMES else word.capitalize()) for word in value.split())
    return value


def _said(what: str, values: Iterable[str]) -> str:
    return ", ".join(sorted(_shown(what, value) for value in values))


def _figures_said(values: frozenset[str]) -> str:
    return ", ".join(_shown("figure", value) for value in sorted(values, key=float))
