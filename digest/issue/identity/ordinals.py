"""Ordinals and parts of the day: "its first green flag" and "its third", "in the early hours" and "at teatime"."""

from __future__ import annotations

import re

from digest.issue.identity.dates import CLOCK_SLACK
from digest.issue.identity.marks import Marks
from digest.issue.identity.vocabulary import _NOT_NAMES

_ORDINAL_WORDS = {
    word: n
    for n, word in enumerate(
        [
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
            "thirteenth",
            "fourteenth",
            "fifteenth",
            "sixteenth",
            "seventeenth",
            "eighteenth",
            "nineteenth",
            "twentieth",
        ],
        start=1,
    )
}
# "its first green flag", "the 160th show", "a third Eco-Schools green flag": an ordinal and the words after it, up
# to the one it counts (the phrase ends at a little word, a verb's -ed or -ing, or punctuation).
_ORDINAL = re.compile(r"\b(" + "|".join(_ORDINAL_WORDS) + r"|\d{1,3}(?:st|nd|rd|th))((?:[ -][A-Za-z][\w'’-]*){1,3})", re.IGNORECASE)
_PHRASE_ENDS = frozenset({*_NOT_NAMES, "since", "this", "that", "as", "is", "was", "were", "will", "has", "had", "after", "but"})
# Parts of the day, as spans of minutes after midnight (a span past midnight ends after 24 * 60).
_DAY_PARTS = {
    "early hours": (0, 6 * 60),
    "overnight": (22 * 60, 30 * 60),
    "morning": (5 * 60, 12 * 60),
    "lunchtime": (11 * 60 + 30, 14 * 60 + 30),
    "afternoon": (12 * 60, 18 * 60),
    "teatime": (16 * 60, 19 * 60),
    "rush hour": (7 * 60, 19 * 60),
    "evening": (17 * 60, 23 * 60 + 30),
    "night": (19 * 60, 30 * 60),
}
_DAY_PART = re.compile(r"\b(early hours|overnight|morning|lunchtime|afternoon|teatime|tea-time|rush hour|evening|night)\b", re.IGNORECASE)


def _ordinals(text: str) -> frozenset[tuple[str, int]]:
    """The ordinals of ``text`` with what they count, the last word of the phrase after them: "first green flag" is
    ("flag", 1), "third Eco-Schools green flag!" ("flag", 3)."""
    found = set()
    for ordinal, phrase in _ORDINAL.findall(text):
        words = []
        for word in re.findall(r"[A-Za-z][\w'’-]*", phrase):
            if word.lower() in _PHRASE_ENDS or re.search(r"(?:ed|ing)$", word):
                break
            words.append(word.lower())
        if words:
            number = _ORDINAL_WORDS.get(ordinal.lower()) or int(re.sub(r"\D", "", ordinal))
            found.add((re.sub(r"(?<=[^s])s$", "", words[-1]), number))
    return frozenset(found)


def _ordinals_differ(a: Marks, b: Marks) -> list[str]:
    """Each post counts one thing by its ordinal and none agree: a school's first green flag and its third, the 159th
    show and the 160th."""
    found = []
    for unit in sorted({unit for unit, _ in a.ordinals} & {unit for unit, _ in b.ordinals}):
        these = {n for u, n in a.ordinals if u == unit}
        those = {n for u, n in b.ordinals if u == unit}
        if not these & those:
            found.append(f"different count: {_said(these)} {unit} / {_said(those)} {unit}")
    return found


def _said(numbers: set[int]) -> str:
    return ", ".join(f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}" for n in sorted(numbers))


def _day_parts(text: str) -> frozenset[tuple[int, int]]:
    """The parts of the day ``text`` names, as spans of minutes ("in the early hours", "at teatime")."""
    return frozenset(_DAY_PARTS[part.lower().replace("tea-time", "teatime")] for part in _DAY_PART.findall(text))


def _day_parts_differ(a: Marks, b: Marks) -> list[str]:
    """Each post says when in the day it happened, by the clock or in words, and nothing of one meets the other:
    a car into a wall in the early hours and one at teatime are two crashes."""
    these = a.day_parts | {(t, t) for t in a.times}
    those = b.day_parts | {(t, t) for t in b.times}
    if not (a.day_parts or b.day_parts) or not these or not those:
        return []  # two clock times are the clock's rule
    if any(_meet(x, y) for x in these for y in those):
        return []
    return [f"different part of the day: {_spans_said(a)} / {_spans_said(b)}"]


def _meet(x: tuple[int, int], y: tuple[int, int]) -> bool:
    """Whether two spans of the day meet, round midnight too, or come within :data:`CLOCK_SLACK` of each other (an
    evening's leak made safe just after midnight)."""
    day = 24 * 60
    return any(x[0] + shift <= y[1] + CLOCK_SLACK and y[0] <= x[1] + shift + CLOCK_SLACK for shift in (-day, 0, day))


def _spans_said(marks: Marks) -> str:
    named = [part for part, span in _DAY_PARTS.items() if span in marks.day_parts]
    clocks = [f"{(t // 60) % 12 or 12}{f'.{t % 60:02d}' if t % 60 else ''}{'pm' if t >= 12 * 60 else 'am'}" for t in sorted(marks.times)]
    return ", ".join([*named, *clocks])
