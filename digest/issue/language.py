"""Which language each post is written in, and the posts that are not in the newsletter's (issue 32, item 7).

A post in another language is said, not changed: the build's problems and the desk name it (``"Titre": in
French; the model reads English``), so the editor knows why its placement may be poor and may leave it out.

The detector is py3langid (langid.py's naive Bayes over byte n-grams; its model ships in the wheel, so nothing
is fetched). Its probabilities are tempered by the text's length, so a title with a French street name in it
comes out unsure rather than French: that is what "unsure" rests on here. A post is given a language only on
strong evidence, because a wrong flag costs the editor's trust; a missed one costs little.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
import uuid
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import Locale

from digest.issue.meaning import post_text
from digest.models import Post, Problem

if TYPE_CHECKING:
    from digest.config import Publication

# How sure the detector must be (its tempered probability of the best language) before a text is said to be in
# it. Posts of a title and an excerpt score 0.89 and up in their own language; a short English title naming
# "Rue de la Paix" or "Châlons-en-Champagne" about 0.4 for French; a lone place name lower still.
SURE = 0.8
# Fewer letters than this is a name or a heading, not evidence of a language ("La Rochelle", "Q3 2026").
MIN_LETTERS = 15
# A sentence of at least this many words that is surely in another language makes the text mixed (a bilingual
# post), and a mixed text has no one language.
SENTENCE_WORDS = 4
# Enough of a long excerpt to tell its language; the rest costs time and says nothing more.
MAX_CHARS = 1000

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\s+/\s+|\n+")
_WORD = re.compile(r"[^\W\d_]+")


@cache
def _identifier() -> Any:
    """The detector, loaded once per process: from the unpacked copy of its model (see :func:`_unpacked`), else from
    the wheel's file, whose LZMA takes half a second of CPU to undo: each ``digest build`` or ``send`` process paid it."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    packed = MODEL_DIR / MODEL_FILE
    found = _unpacked(packed)
    if found is None:
        from py3langid.modelio import load_model  # type: ignore[import-untyped]

        found = load_model(packed)
        _keep_unpacked(packed, found)
    ptc, pc, classes, nextmove, row, output = found
    # As LanguageIdentifier.from_model_file builds it from the same six parts.
    return LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)


# A copy being written is renamed into place within a second; one left aside longer was its writer's, killed.
ASIDE_SECONDS = 3600
# Another model's copy (68 MB) is removed when this one is written and it is older than a week.
OTHER_MODEL_SECONDS = 7 * 86400
# The six parts of py3langid's model, in the order its loader returns them, as files of the unpacked copy.
_PARTS = ("ptc", "pc", "classes", "nextmove", "row", "output")


def _unpacked_dir(packed: Path) -> Path | None:
    """Where the unpacked copy of the model file ``packed`` is kept: the user's cache (``$XDG_CACHE_HOME``, else
    ``~/.cache``), named by the file's hash (3 ms): two installs of one py3langid share a copy, another model has its
    own. None without a home."""
    configured = os.environ.get("XDG_CACHE_HOME")
    try:
        root = Path(configured) if configured else Path.home() / ".cache"
    except RuntimeError:  # no home to be found (no HOME, a user without a passwd entry)
        return None
    return root / "digest" / f"langid-{hashlib.sha256(packed.read_bytes()).hexdigest()[:16]}"


def _unpacked(packed: Path) -> tuple[Any, ...] | None:
    """The model's six parts from its unpacked copy: about 15 ms (its 28 MB of weights mapped, not read, so every
    process shares them through the page cache). None when there is no copy, or one that cannot be read (removed, so
    that it is written again)."""
    import numpy as np

    where = _unpacked_dir(packed)
    if where is None or not where.is_dir():
        return None
    try:
        parts = {name: np.load(where / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _PARTS}
        return (
            parts["ptc"],
            np.array(parts["pc"]),
            parts["classes"].tolist(),
            _as_array(parts["nextmove"]),
            _as_array(parts["row"]),
            parts["output"].tolist(),
        )
    except (OSError, ValueError) as exc:  # a copy cut short or damaged: the packed file is still the truth
        log.warning("language model copy %s cannot be read (%s): unpacking it again", where, exc)
        shutil.rmtree(where, ignore_errors=True)
        return None


def _as_array(table: Any) -> array[int]:
    """A mapped table as the stdlib array the detector walks (its loader's type; a typecode per item size)."""
    found: array[int] = array(table.dtype.char)
    found.frombytes(memoryview(table).cast("B"))
    return found


def _keep_unpacked(packed: Path, parts: tuple[Any, ...]) -> None:
    """Write the unpacked copy of the model (68 MB) for the next process: whole or not at all (written aside, then
    renamed into place; another process that got there first keeps its copy), stale copies removed. A cache that
    cannot be written costs only time, so it is logged and the detector goes on from memory."""
    import numpy as np

    where = _unpacked_dir(packed)
    if where is None:
        return
    aside = where.parent / f".{where.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        aside.mkdir(parents=True)
        ptc, pc, classes, nextmove, row, output = parts
        arrays = (ptc, pc, np.array(classes), _as_numpy(nextmove), _as_numpy(row), np.array(output, dtype=np.int32))
        for name, values in zip(_PARTS, arrays, strict=True):
            np.save(aside / f"{name}.npy", values, allow_pickle=False)
        aside.rename(where)
    except OSError as exc:
        if not where.is_dir():
            log.info("language model copy %s not written (%s): each process unpacks the model", where, exc)
        shutil.rmtree(aside, ignore_errors=True)
        return
    _prune(where)


def _prune(kept: Path) -> None:
    """Remove the copies beside ``kept`` that no process is likely to read: one left aside by a process killed while
    writing it, and another model's written long ago (an install of another py3langid still in use writes its
    copy again; a recent one is left, so that two installs never take turns removing each other's)."""
    for other in kept.parent.glob("*langid-*"):
        try:
            age = time.time() - other.stat().st_mtime
            if other != kept and age > (OTHER_MODEL_SECONDS if other.name.startswith("langid-") else ASIDE_SECONDS):
                shutil.rmtree(other, ignore_errors=True)
        except OSError:  # removed meanwhile by another process pruning too
            continue


def _as_numpy(table: array[int]) -> Any:
    import numpy as np

    return np.frombuffer(table, dtype=np.dtype(table.typecode))


def _best(text: str) -> tuple[str, float]:
    language, probability = _identifier().classify(text)
    return str(language), float(probability)


@lru_cache(maxsize=8192)  # a build's problems, the desk and the multilingual model all ask of the same posts
def language_of(text: str) -> str | None:
    """The base language (ISO 639 code: "en", "fr", "cy") ``text`` is written in; None when unsure: too few
    letters, no language clearly ahead, or sentences surely in two languages. The same text always gives the
    same answer."""
    text = text[:MAX_CHARS]
    if sum(len(word) for word in _WORD.findall(text)) < MIN_LETTERS:
        return None
    language, probability = _best(text)
    if probability < SURE:
        return None
    for sentence in _SENTENCE_END.split(text):
        if len(_WORD.findall(sentence)) >= SENTENCE_WORDS:
            other, sure = _best(sentence)
            if other != language and sure >= SURE:
                return None
    return language


def base_language(tag: str) -> str:
    """The base language of a BCP 47 tag: "en-GB" → "en"."""
    return tag.replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True, slots=True)
class Foreign:
    """A post surely written in another language than the newsletter's."""

    post: Post
    language: str  # its base language, as the detector names it


def not_in_language(posts: Iterable[Post], language: str) -> tuple[Foreign, ...]:
    """The posts surely written in another language than ``language`` (a BCP 47 tag: "en-GB", "cy"), in order.
    A post whose language is unsure is never among them."""
    wanted = base_language(language)
    found = []
    for post in posts:
        detected = language_of(post_text(post))
        if detected is not None and detected != wanted:
            found.append(Foreign(post=post, language=detected))
    return tuple(found)


def language_name(code: str) -> str:
    """A language's name in English, for the editor: "fr" → "French"; a code CLDR does not name stays a code."""
    return str(Locale.parse("en").languages.get(code, code))


def language_note(language: str, newsletter: Publication) -> str:
    """What is said of a post in ``language`` (a base code) in this newsletter: the one wording, for the build's
    problems and the desk alike. When meaning places the posts and its model does not read that language, that is
    what matters (its placement is a guess); otherwise that it is not the newsletter's language."""
    said = f"in {language_name(language)}"
    if newsletter.meaning.enabled and newsletter.themes and newsletter.meaning.multilingual:
        return f"{said}; placed by the multilingual model ({Path(newsletter.meaning.multilingual).name})"
    if newsletter.meaning.enabled and newsletter.themes and not newsletter.meaning.reads(language):
        return f"{said}; the model reads {language_name('en')}"
    return f"{said}; the newsletter is in {language_name(base_language(newsletter.language))}"


def language_notes(posts: Sequence[Post], newsletter: Publication) -> dict[str, str]:
    """Post id → what is said of it, for each post not in the newsletter's language."""
    return {found.post.id: language_note(found.language, newsletter) for found in not_in_language(posts, newsletter.language)}


def language_problems(posts: Sequence[Post], newsletter: Publication) -> tuple[Problem, ...]:
    """A problem (a warning: the post stays in the issue) for each post not in the newsletter's language."""
    return tuple(
        Problem(where=found.post.source, message=f'"{found.post.title}": {language_note(found.language, newsletter)}', advisory=True)
        for found in not_in_language(posts, newsletter.language)
    )
