"""Figures and quantities: read from a text ("1,500", "£2.5m", "forty-eight grand", "six bells"), and whether two
posts' figures may be one told twice."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from digest.issue.identity.marks import Marks, Quantity
from digest.issue.identity.said import _shown
from digest.issue.identity.vocabulary import _MONTHS, _NOT_NAMES, _WEEKDAYS, _words

# "1,500", "1500", "2.50", "£2.50", "20mph": a figure, its thousands separators and currency aside.
_FIGURE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:(m|bn|k)\b)?")
# Number words a headline writes instead of figures ("every ten minutes", "seven-year wait"); "one" is left out,
# being as often a pronoun ("one of", "the one").
_NUMBER_WORDS = dict(
    zip(
        ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen"),
        range(2, 15),
        strict=True,
    )
) | {
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b(?:[ -](thousand|million|billion)\b)?", re.IGNORECASE)
# Figures with what they count, read from running text: "£2.5m" and "2.5 million pounds", "4.99%" and "five per
# cent", "six bells", "three hundred and fifty houses". A figure's unit is £, p, % or the word after it, so two
# posts' figures are compared only when they count one thing.
_QUANTITY_TOKEN = re.compile(
    r"[£€$]|%|(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:m|bn|k|p)?(?!\w)|(?<![\w.,])\d+(?:\.\d+)?(?:m|bn|k|p)?(?!\w)|[A-Za-z][A-Za-z'’]*"
)
_DIGITS = re.compile(r"([\d,]+(?:\.\d+)?)(m|bn|k|p)?")
_SMALL = _NUMBER_WORDS | {"one": 1, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_LARGE = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
# "Forty-eight grand": pounds, in thousands, as a chatty page writes money.
_GRAND = "grand"
_SUFFIXES = {"m": 1_000_000, "bn": 1_000_000_000, "k": 1_000}
# Money in any currency, by its sign or its name after the figure ("£2.5m", "six million euro").
_CURRENCY_WORDS = {"pound": "£", "pounds": "£", "quid": "£", "euro": "€", "euros": "€", "dollar": "$", "dollars": "$"}
# Shares of a large number as a chatty page says them: "half a million quid", "a quarter of a million pounds".
_SHARES = (("half", "a"), 0.5), (("quarter", "of", "a"), 0.25), (("a", "quarter", "of", "a"), 0.25), (("a",), 1.0)
# Words that count people at an event: a crowd of 5,000 people and one of 6,500 visitors are two counts of one
# thing (a festival's two years), and 450 runners told as 450 people agree.
_PEOPLE_COUNTED = frozenset({"people", "person", "visitor", "spectator", "fan", "attendee", "guest", "reveller", "crowd"})
# A figure said to be rounded or a bound ("about 1,500", "near-5%", "more than 40") agrees with one within a tenth.
_HEDGES = frozenset({"about", "around", "some", "nearly", "almost", "roughly", "approximately", "near", "over", "under", "circa"})
_HEDGE_PAIRS = frozenset({("up", "to"), ("more", "than"), ("less", "than"), ("fewer", "than")})
# Words after a figure that say nothing of what it counts.
_NO_UNIT = frozenset(
    {*_NOT_NAMES, *_MONTHS, *_WEEKDAYS}
    | _words("per than as is are was were will has have had after before more less times am pm but who which that and or year years old")
)


@lru_cache(maxsize=8192)  # the stories stage asks it of both titles of every pair of a window's posts
def figures(text: str) -> frozenset[str]:
    """The figures of ``text`` as numbers: "1,500" and "1500" are one; "2.50" keeps its decimals, "2.0" is "2"; "£250k"
    is 250000 and "£1.5m" 1500000."""
    found = set()
    for whole, decimals, suffix in _FIGURE.findall(text):
        if suffix:
            found.add(_number_said(float(f"{whole.replace(',', '')}.{decimals or 0}") * _SUFFIXES[suffix]))
            continue
        number = whole.replace(",", "").lstrip("0") or "0"
        fraction = decimals.rstrip("0")
        found.add(f"{number}.{fraction}" if fraction else number)
    return frozenset(found)


def _numbers(text: str) -> frozenset[str]:
    """:func:`figures`, and the numbers written as words ("ten minutes", "seven-year", "three million")."""
    return figures(text) | {str(_NUMBER_WORDS[word.lower()] * _LARGE.get(large.lower(), 1)) for word, large in _NUMBER_WORD.findall(text)}


def _number_said(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _quantities(text: str) -> frozenset[Quantity]:
    """Every figure of ``text`` with what it counts (:class:`Quantity`); a figure followed by nothing it counts is
    left out."""
    tokens = _QUANTITY_TOKEN.findall(text)
    found = set()
    at = 0
    while at < len(tokens):
        currency = tokens[at] if tokens[at] in ("£", "€", "$") else None
        value, end, suffix = _read_number(tokens, at + bool(currency))
        if value is None:
            at += 1
            continue
        before = tuple(token.lower() for token in tokens[max(0, at - 2) : at])
        hedged = bool(before) and (before[-1] in _HEDGES or before[-2:] in _HEDGE_PAIRS)
        unit, end = _unit(tokens, end, currency, suffix)
        if unit is not None:
            found.add(Quantity(unit=unit, value=value, hedged=hedged))
        at = max(end, at + 1)
    return frozenset(found)


def _read_number(tokens: list[str], at: int) -> tuple[float | None, int, str]:
    """The number written from ``tokens[at]`` ("1,500", "£2.5m", "forty-five thousand", "three hundred and fifty"),
    the index after it and its suffix ("m", "p"…); None when no number starts there."""
    lowered = [token.lower() for token in tokens[at : at + 5]]
    for words, share in _SHARES:
        if tuple(lowered[: len(words)]) == words and len(lowered) > len(words) and lowered[len(words)] in _LARGE:
            return share * _LARGE[lowered[len(words)]], at + len(words) + 1, ""
    total, current, suffix = 0.0, None, ""
    while at < len(tokens):
        word = tokens[at].lower()
        digits = _DIGITS.fullmatch(word)
        if digits and current is None and not total:
            current = float(digits.group(1).replace(",", "")) * _SUFFIXES.get(digits.group(2) or "", 1)
            suffix = digits.group(2) or ""
        elif word in _SMALL and not digits and (current is None or _adds(current, _SMALL[word])):
            current = (current or 0) + _SMALL[word]
        elif word == "hundred" and current is not None and current < 100:
            current *= 100
        elif word in _LARGE and current is not None:
            total, current = total + current * _LARGE[word], None
        elif word == _GRAND and current is not None and not suffix:
            total, current, suffix = total + current * 1_000, None, _GRAND
            at += 1
            break
        elif word == "and" and current is not None and current >= 100 and at + 1 < len(tokens) and tokens[at + 1].lower() in _SMALL:
            pass
        else:
            break
        at += 1
    if current is None and not total:
        return None, at, suffix
    return total + (current or 0), at, suffix


def _adds(current: float, word: float) -> bool:
    """Whether a number word continues a figure: "forty" then "five", "three hundred and" then "fifty"."""
    return (current % 100 == 0 and current >= 100) or (20 <= current < 100 and current % 10 == 0 and word < 10)


def _unit(tokens: list[str], at: int, currency: str | None, suffix: str) -> tuple[str | None, int]:
    """What the figure ending before ``tokens[at]`` counts (``currency``: the sign before it), and the index after
    what said so."""
    following = [token.lower() for token in tokens[at : at + 2]]
    if currency is not None:
        return currency, at
    if following[:1] and following[0] in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[following[0]], at + 1
    if suffix == _GRAND:
        return "£", at
    if suffix == "p" or following[:1] == ["pence"]:
        return "p", at + (suffix != "p")
    if suffix in ("m", "bn", "k"):
        return None, at
    if following == ["per", "cent"]:
        return "%", at + 2
    if following[:1] in (["%"], ["percent"]):
        return "%", at + 1
    if following and tokens[at][0].islower() and following[0] not in _NO_UNIT and following[0].isalpha():
        word = _head_noun(tokens, at)
        word = word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
        return ("people" if word in _PEOPLE_COUNTED else word), at
    return None, at


def _head_noun(tokens: list[str], at: int) -> str:
    """What a figure counts, its noun phrase's last word: "40 holiday lodges" and "24 lodges" count lodges. The phrase
    runs on from a word that is no plural to a plural next to it ("holiday lodges"), never to a verb ("12 jobs
    created", "3,000 people came"), three words at most."""
    word = tokens[at].lower()
    for step in range(1, 3):
        following = tokens[at + step] if at + step < len(tokens) else ""
        if word.endswith("s") or not following.isalpha() or not following.islower() or following in _NO_UNIT:
            break
        if not following.endswith("s") or following.endswith("ss"):
            break
        word = following
    return word


def _telling(figure: str) -> bool:
    """A figure that names an event's own quantity (1,500 jobs, £2.50), not one any two posts may share (four days)."""
    return "." in figure or int(figure) >= 100


def _within(these: frozenset[str], those: frozenset[str]) -> bool:
    """Whether each figure of ``these`` is one of ``those``, or that figure rounded: "near-5%" and "4.99%"."""
    return all(any(_agree(float(x), float(y), hedged=False) for y in those) for x in these)


def _agree(x: float, y: float, *, hedged: bool) -> bool:
    """Whether two figures may be one told twice: equal; one being said to be rounded, within a tenth; or one the
    other rounded to its last figure, within a hundredth ("5%" and "4.99%", "1,500" and "1,512"). Two exact figures
    a hundredth apart are not one rounded: the years 2024 and 2025, the 428 and the 431 bus."""
    if x == y:
        return True
    if hedged:
        return abs(x - y) <= 0.1 * max(abs(x), abs(y))
    return abs(x - y) <= 0.01 * max(abs(x), abs(y)) and (_rounds_to(x, y) or _rounds_to(y, x))


def _rounds_to(exact: float, rounded: float) -> bool:
    """Whether ``rounded`` is ``exact`` written to ``rounded``'s last figure: 4.99 to 5, 1,512 to 1,500."""
    digits = f"{rounded:.12g}"
    if "." in digits:
        step = 10.0 ** -len(digits.partition(".")[2])
    else:
        step = 10.0 ** (len(digits) - len(digits.rstrip("0"))) if rounded else 1.0
    return abs(exact - rounded) <= step / 2 + 1e-9


def _quantities_differ(a: Marks, b: Marks) -> list[str]:
    """Figures of one thing (£, %, bells, homes) that none of the other's agrees with, the nearest within a factor of
    three: £1.8m and £1.1m are two scanners' prices, but £45,000 raised and a £5 ticket may be one event's."""
    found = []
    for unit in sorted({q.unit for q in a.quantities} & {q.unit for q in b.quantities}):
        these = [q for q in a.quantities if q.unit == unit]
        those = [q for q in b.quantities if q.unit == unit]
        if any(_agree(x.value, y.value, hedged=x.hedged or y.hedged) for x in these for y in those):
            continue
        if any(min(x.value, y.value) * 3 >= max(x.value, y.value) > 0 for x in these for y in those):
            found.append(f"different figures: {_quantities_said(these)} / {_quantities_said(those)}")
    return found


def _quantities_said(quantities: Iterable[Quantity]) -> str:
    return ", ".join(_quantity_said(q) for q in sorted(quantities, key=lambda q: q.value))


def _quantity_said(quantity: Quantity) -> str:
    figure = _shown("figure", _number_said(quantity.value))
    if quantity.unit in ("£", "€", "$"):
        return f"{quantity.unit}{figure}"
    if quantity.unit in ("%", "p"):
        return f"{figure}{quantity.unit}"
    return f"{figure} {quantity.unit}"
