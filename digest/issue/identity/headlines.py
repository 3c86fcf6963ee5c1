"""The wording of a headline: outcomes (verdicts), kinds of one thing, and the last resort, a word swapped in one
headline pattern or a different subject in one frame."""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher
from functools import lru_cache

from digest.issue.identity.marks import Marks
from digest.issue.identity.names import _title_case
from digest.issue.identity.numbers import _LARGE, _SMALL
from digest.issue.identity.vocabulary import _MONTHS, _NOT_NAMES, _WEEKDAYS, _words

# Verdicts, each axis with its two sides. Those read anywhere in a post are hard to say otherwise; those read in
# headlines only are words with other senses in running text ("a close vote", "the cut-off", "falls to").
_VERDICTS_ANYWHERE = {
    "decision": (
        r"approved|approves|approve|granted|grants|backed|backs|go-ahead|green light|given the nod|agreed|wins approval",
        r"rejected|rejects|reject|refused|refuses|turned down|turns down|thrown out|throws out|blocked|blocks|vetoed|scrapped|scraps",
    ),
    "inspection": (
        r"outstanding|rated good|judged good|good rating|rated (?:[\w'’]+ ){1,5}?as good",
        r"inadequate|requires improvement|told to improve|special measures|failing|rated (?:[\w'’]+ ){1,5}?as inadequate",
    ),
    # a record broken, or one that stood: "sets new Horseshoe record" / "her record from last year stood"
    "record": (
        r"(?:breaks?|broke|smash(?:es|ed)?|sets?|setting) (?:a |the |her |his |their |its )?(?:new )?(?:[\w'’-]+ ){0,2}?record"
        r"|record-breaking|new (?:[\w'’-]+ ){0,2}?record",
        r"record (?:[\w'’]+ ){0,3}?(?:stood|survived|remains intact|still stands|held firm)|(?:missed|failed to break|just short of) (?:the |her |his |a )?record",
    ),
    # a case's stage: a charge and a hearing to come, or the court's end of it (one case, two stories a month apart)
    "case": (
        r"arrested|charged|remanded|(?:due|to appear|will appear|appeared) (?:at|in|before) (?:[\w'’]+ ){0,3}?court",
        r"jailed|sentenced|convicted|found guilty|fined|spared jail|acquitted|cleared of",
    ),
}
_VERDICTS_IN_HEADLINES = {
    # a plan put forward, or decided on: "Plans for 30 homes submitted" / "Housing plan approved"
    "stage": (
        r"submitted|lodged|applies|applied|proposed|proposes|unveiled|on show|on display|consultation|exhibition",
        r"approved|refused|rejected|granted|go-ahead|green light|turned down|thrown out|given permission|backed",
    ),
    "opening": (
        r"(?:re)?open(?:s|ed|ing|ings)?(?!-)",
        r"close(?:s|d)?(?! to\b)|closing|closures?|shut(?:s|ting)?",
    ),
    "result": (r"wins?|won|victory", r"loses|lose|lost|defeat(?:ed)?"),
    # a service kept or ended: "Rural bus route saved" / "Rural bus route to be withdrawn"
    "future": (r"saved|secured|rescued|reprieved?|spared", r"axed|axes|withdrawn|withdraws|scrapped|scraps|to end|to go"),
    "change": (
        r"rises?|rising|risen|rose|increases?|increased|hikes?|higher",
        r"falls?|falling|fell|drops?|dropped|(?<!power )cuts?|lower(?:ed)?|decreases?|decreased|reduced|cheaper",
    ),
}
_SAID = {
    "decision": ("approved", "rejected"),
    "inspection": ("rated well", "told to improve"),
    "case": ("charged", "sentenced"),
    "record": ("a record broken", "a record that stood"),
    "stage": ("proposed", "decided"),
    "opening": ("opens", "closes"),
    "result": ("wins", "loses"),
    "future": ("saved", "axed"),
    "change": ("rises", "falls"),
}
# Kinds of one thing, each kind with its synonyms (a writers' festival and a book festival are one kind): two
# headlines naming kinds of one sort, none in common, name two events.
_SIBLINGS = {
    sort: {word: kinds.split("/")[0] for kinds in table.split() for word in kinds.split("/")}
    for sort, table in {
        "music": "jazz folk rock blues classical opera pop country soul reggae punk choral",
        "festival": "music/jazz/folk/rock/blues/opera books/writers/writers'/book/literary/literature/poetry film/films/cinema "
        "food drink/beer/cider/wine comedy science dance",
        "utility": "gas water electricity/power sewage/sewer broadband",
        "sport": "football rugby cricket tennis hockey netball basketball golf athletics swimming cycling boxing darts bowls rowing",
        "transport": "bus/buses tram/trams train/trains/rail ferry/ferries",
        "wildlife": "otter/otters beaver/beavers seal/seals badger/badgers fox/foxes owl/owls swan/swans heron/herons "
        "kingfisher/kingfishers dolphin/dolphins whale/whales hedgehog/hedgehogs deer eagle/eagles osprey/ospreys",
        "scanner": "mri ct x-ray/xray pet ultrasound",
    }.items()
}
# Which sorts a headline's word must sit beside to count: "festival" for festival kinds (a food bank is no food
# festival), "main", "supply", "bill"… for utilities; music and sports genres, and transport, stand alone.
_SORT_CONTEXT = {
    "festival": re.compile(r"\bfestivals?\b", re.IGNORECASE),
    "scanner": re.compile(r"\b(?:scanners?|scans?)\b", re.IGNORECASE),
    "utility": re.compile(r"\b(?:mains?|supply|supplies|bills?|pipes?|leak|leaks|burst|outage|cut|prices?|meters?|works)\b", re.IGNORECASE),
}
# Headlines alike in at least this share of their words (difflib's ratio, in order) are written to one pattern; one
# event's two headlines, in other words, ran up to 0.33 (bench/data/stories.txt, story-pairs.txt), two events' from
# 0.43 up.
SWAPPED_ALIKE = 0.5
# Headlines alike in at least this share of their words whose subjects (their first telling words) differ, each one
# the other post never uses, tell of two things: one event's two headlines with such subjects were alike in at most
# 0.2 of their words ("Spaniel rescued…" / "Dog owner thanks…"), two events' from 0.31 ("Gas main repair shuts…" /
# "Water main work closes…", "Moorland Buses cuts…" / "Dalesway Coaches axes…").
SUBJECT_ALIKE = 0.3
_TITLE_WORD = re.compile(r"[\w£€$][\w'’.,£€$%-]*[\w%]|[\w£€$%]")
_ENDINGS = ("ings", "ing", "ers", "ies", "ed", "es", "s", "er")
_NOT_SWAPPED = frozenset(
    {*_NOT_NAMES, *_WEEKDAYS, *(f"{day}s" for day in _WEEKDAYS), *_MONTHS, *_SMALL, *_LARGE, "weekend"}
    | _words("is are be been being was were will has have had as after over this that these his her it into up out off")
    | _words("more than but not no its their all every")
    # a headline's verbs that say what news it is, not which event: one outlet's "returns" is another's "comes"
    | _words("comes come returns return announces announced reveals revealed names named unveils unveiled launches launched")
    | _words("gets get sees see set sets marks hosts holds plans says calls takes welcomes celebrates")
)


def _verdicts(title: str, text: str) -> frozenset[str]:
    """Each axis's sides ``text`` takes ("decision+"); where the headline takes one side, that side alone: "Revised
    plan approved" whose text says the first plan was rejected is an approval."""
    found = set()
    for where, axes in ((text, _VERDICTS_ANYWHERE), (title, _VERDICTS_IN_HEADLINES)):
        for axis, sides in axes.items():
            said = {side for side, words in zip("+-", sides, strict=True) if _says(words, where)}
            headline = {side for side, words in zip("+-", sides, strict=True) if _says(words, title)}
            found |= {axis + side for side in (headline if len(headline) == 1 else said)}
    return frozenset(found)


def _says(words: str, text: str) -> bool:
    """Whether ``text`` says one of ``words`` as a word, not as a name: a capitalised word within a sentence in lower
    case is a name's ("Fell Street" says no fall, "Close Lane" no closing)."""
    cased = _title_case(text)
    for match in re.finditer(r"\b(?:" + words + r")\b", text, re.IGNORECASE):
        before = text[: match.start()].rstrip()
        if cased or match.group()[0].islower() or not before or before[-1] in ".!?:;\"'‘“(":
            return True
    return False


def _kinds(title: str) -> frozenset[str]:
    found = set()
    for sort, kinds in _SIBLINGS.items():
        context = _SORT_CONTEXT.get(sort)
        if context is not None and not context.search(title):
            continue
        for word, kind in kinds.items():
            if re.search(r"\b" + re.escape(word) + r"(?![\w-])", title, re.IGNORECASE):
                found.add(f"{sort}:{kind}")
    return frozenset(found)


def _words_swapped(a: Marks, b: Marks) -> list[str]:
    """Two headlines written to one pattern with a word put in another's place, each word one the other post never
    uses: "Quiz night at the Ship Inn…" / "Comedy night at the Ship Inn…", "GAA club…" / "rugby club…", "Man
    rescued…" / "Woman rescued…". Written blind, pairs of two events were mostly told so, and the word swapped is
    what tells them apart, whatever kind of word it is, so no table of siblings can list them all. One event told by
    two outlets is told in other words, not in one pattern (the headlines alike in less than
    :data:`SWAPPED_ALIKE` of their words), or its swapped word is in the other's text ("Lido…" / "…pool", the text
    saying "lido"). Figures, days and verdicts have rules of their own; a swap of one verdict for its synonym
    ("approved" / "backed") is none."""
    words_a, words_b = [_stem(word) for word in a.title_words], [_stem(word) for word in b.title_words]
    matcher = SequenceMatcher(None, words_a, words_b, autojunk=False)
    if matcher.ratio() < SWAPPED_ALIKE:
        return []
    found = []
    for op, a_from, a_to, b_from, b_to in matcher.get_opcodes():
        if op != "replace":
            continue
        these = _unsaid(a.title_words[a_from:a_to], b.stems)
        those = _unsaid(b.title_words[b_from:b_to], a.stems)
        if these and those and not _same_verdict(" ".join(these), " ".join(those)) and not _kinds_agree(these, those):
            found.append(f"different word: {' '.join(these)} / {' '.join(those)}")
    return found


def _subjects_differ(a: Marks, b: Marks) -> list[str]:
    """Two headlines in one frame about different things: each one's subject, its first telling word, is a word the
    other post never uses ("Jazz quartet to headline the Corn Exchange" / "Folk evening returns to the Corn
    Exchange"; "Otters spotted…" / "Beavers released…"). Less alike than a swap in one pattern
    (:data:`SUBJECT_ALIKE`), so only the subject is asked; one event told in other words rarely shares a frame, and
    when it does its subject is named in the other's text."""
    words_a, words_b = [_stem(word) for word in a.title_words], [_stem(word) for word in b.title_words]
    if SequenceMatcher(None, words_a, words_b, autojunk=False).ratio() < SUBJECT_ALIKE:
        return []
    this, that = _subject(a.title_words), _subject(b.title_words)
    if this is None or that is None or _stem(this) == _stem(that) or _a_name(this, a) or _a_name(that, b):
        return []
    if _unsaid([this], b.stems) and _unsaid([that], a.stems) and not _same_verdict(this, that) and not _kinds_agree([this], [that]):
        return [f"different subject: {this} / {that}"]
    return []


def _subject(words: Iterable[str]) -> str | None:
    """A headline's first telling word (no little word, number, day or generic verb): most often what it is about."""
    return next((word for word in words if word not in _NOT_SWAPPED and not any(character.isdigit() for character in word)), None)


def _a_name(word: str, marks: Marks) -> bool:
    """Whether a headline's word is a proper name of its post: a headline opening with its town ("Kettlesgill church
    roof appeal…") says where, not what, and one outlet naming the town where the other names none is the headline
    names' question (no conflict), not a subject's."""
    return re.sub(r"['’]s$", "", word) in marks.names | marks.headline_names


def _unsaid(words: Iterable[str], stems: frozenset[str]) -> list[str]:
    """The words that tell something (no little word, number, day or month) whose stem, or a hyphenated part's, is
    none of ``stems``."""
    return [
        word
        for word in words
        if word not in _NOT_SWAPPED
        and not any(character.isdigit() for character in word)
        and _stem(word) not in stems
        and not any(_stem(part) in stems for part in re.split(r"[-'’]", word) if part)
    ]


def _same_verdict(these: str, those: str) -> bool:
    found = _verdicts(these, these)
    return bool(found) and found == _verdicts(those, those)


def _kinds_agree(these: list[str], those: list[str]) -> bool:
    """Whether the two swaps name one kind of a sort (writers / book: a festival's synonyms)."""
    kinds = {kind for sort in _SIBLINGS.values() for word, kind in sort.items() if word in these}
    return bool(kinds) and kinds == {kind for sort in _SIBLINGS.values() for word, kind in sort.items() if word in those}


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    """A word without its possessive and up to two endings ("openings" and "opened" are "open"): crude, but one
    word's forms meet, and that is all a swapped word is asked."""
    word = re.sub(r"['’]s?$", "", word.lower())
    for _ in range(2):
        for ending in _ENDINGS:
            if len(word) > len(ending) + 2 and word.endswith(ending):
                word = word[: -len(ending)]
                break
    return word


def _of_sort(kinds: frozenset[str], sort: str) -> frozenset[str]:
    return frozenset(kind.partition(":")[2] for kind in kinds if kind.partition(":")[0] == sort)


def _side(verdicts: frozenset[str], axis: str) -> str | None:
    """The one side a post takes on ``axis``; None when it takes none, or both (then it says nothing clear)."""
    sides = {verdict[-1] for verdict in verdicts if verdict[:-1] == axis}
    return sides.pop() if len(sides) == 1 else None


def _phrases_differ(a: Marks, b: Marks) -> list[str]:
    """Two headlines naming one thing by different modifiers: "gas main" / "water main", "car fire" / "van fire",
    "Bridgend food bank" / "Oxenthwaite food bank". Two words side by side in a headline, the second (the thing)
    shared and the first not, each first word one the other post never uses: one event told twice names its thing in
    the other's words somewhere ("barn fire" / "straw stack fire", the text saying "barn")."""
    found = []
    for x, head in _phrases(a.title_words):
        for y, other in _phrases(b.title_words):
            if _plain(head) != _plain(other) or _stem(x) == _stem(y):
                continue
            these, those = _unsaid([x], b.stems), _unsaid([y], a.stems)
            if these and those and not _same_verdict(x, y) and not _kinds_agree(these, those):
                found.append(f"different thing: {x} {head} / {y} {other}")
    # and one place's two things: "Fordley Staithe bakery" / "Fordley Staithe butcher", the shared word a name
    for name, x in _phrases(a.title_words):
        for same, y in _phrases(b.title_words):
            if name != same or not (_a_name(name, a) and _a_name(name, b)) or _plain(x) == _plain(y):
                continue
            these, those = _unsaid([x], b.stems), _unsaid([y], a.stems)
            if these and those and not _same_verdict(x, y) and not _kinds_agree(these, those):
                found.append(f"different thing: {name} {x} / {same} {y}")
    return sorted(set(found))[:1]


def _plain(word: str) -> str:
    """A word without its possessive or plural ending: "mains" and "main's" are "main", "parking" stays itself."""
    word = re.sub(r"['’]s?$", "", word.lower())
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


# Words that praise or size a thing without telling which it is: "record crowds" and "bumper crowds" are one crowd.
_PRAISE = _words("record bumper huge big bigger biggest major massive top best great new old first last final latest special annual local")


def _phrases(words: tuple[str, ...]) -> list[tuple[str, str]]:
    """A headline's pairs of telling words side by side ("gas", "main"): no little word, figure or generic verb, and
    no first word in -s ("wins pub", "drivers vote": a verb, or a plural that is the subject, not a modifier; "gas",
    "bus" and "grass" are modifiers)."""
    telling = [bool(_unsaid([word], frozenset())) and len(word) > 2 and word not in _PRAISE for word in words]
    return [
        (words[n], words[n + 1])
        for n in range(len(words) - 1)
        if telling[n] and telling[n + 1] and not re.search(r"(?<![sua])s$", words[n])
    ]
