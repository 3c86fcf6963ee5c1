"""BERT's WordPiece tokenizer in plain Python: what the model reads of a text, without Hugging Face's ``tokenizers``.

``tokenizers`` requires huggingface_hub (a model hub's client, with httpx and
more) in every version since 0.14, for a job of a hundred lines done here step
for step as its BertNormalizer, BertPreTokenizer and WordPiece model do it:
tests/test_meaning_tokenizer.py holds the ids equal wherever it is installed.

1. Special tokens written in the text ("[CLS]") are those tokens, found first.
2. Cleaning: NUL, U+FFFD and control characters (Cc, Cf, Co, Cs; not tab, newline,
   carriage return) dropped, white space made a space, a space on each side of a
   CJK ideograph; accents stripped (NFD, non-spacing marks dropped); lower case,
   a character at a time (Σ is σ even at a word's end, as there).
3. Words: split at white space, each punctuation character (Unicode P*, ASCII's
   symbols) a word of its own.
4. WordPiece: the longest vocabulary piece starting the word, then the longest
   "##" piece continuing it, and so on; [UNK] for a word of over 100 characters
   or one with no such pieces.

Characters added to Unicode after the tables ``tokenizers`` uses (rare scripts'
punctuation and marks) may be read differently: 613 of 1.1 million code points.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

# CJK ideographs as tokenizers lists them (BERT's list, but for the range after Extension C: 0x2B920 there, not 0x2B820).
# Hangul, kana and other scripts are not in it: they are split at spaces like any other.
CJK = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)  # fmt: skip
# Rust's char::is_whitespace (Unicode's White_Space), which tokenizers uses; Python's isspace() says more.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
SPACES = re.compile(f"[{re.escape(WHITESPACE)}]+")
ASCII_SYMBOLS = frozenset(chr(n) for first, last in ((33, 47), (58, 64), (91, 96), (123, 126)) for n in range(first, last + 1))
OTHER = frozenset({"Cc", "Cf", "Co", "Cs"})  # control, format, private and surrogate characters (unassigned ones kept)
DROPPED = frozenset({0, 0xFFFD})
WORD_CACHE = 1 << 16  # distinct words kept: a year of a local newsletter's vocabulary, a few megabytes


class _Cleaning(dict[int, "str | None"]):
    """str.translate's table for step 2's first half: each character's replacement, decided when first met."""

    def __init__(self, clean: bool, chinese: bool) -> None:
        super().__init__()
        self.clean, self.chinese = clean, chinese

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        out: str | None = char
        if self.clean and (code in DROPPED or (char not in "\t\n\r" and unicodedata.category(char) in OTHER)):
            out = None
        elif self.clean and char in WHITESPACE:
            out = " "
        elif self.chinese and any(first <= code <= last for first, last in CJK):
            out = f" {char} "
        self[code] = out
        return out


class _Folding(dict[int, str]):
    """str.translate's table for step 2's second half, after NFD: marks dropped, then each character lower-cased."""

    def __init__(self, strip: bool, lower: bool) -> None:
        super().__init__()
        self.strip, self.lower = strip, lower

    def __missing__(self, code: int) -> str:
        char = chr(code)
        out = "" if self.strip and unicodedata.category(char) == "Mn" else char.lower() if self.lower else char
        self[code] = out
        return out


@lru_cache(maxsize=4096)
def is_punctuation(char: str) -> bool:
    return char in ASCII_SYMBOLS or unicodedata.category(char).startswith("P")


@dataclass(frozen=True, slots=True, kw_only=True)
class Normaliser:
    """BERT's normaliser flags (tokenizers' BertNormalizer): strip_accents None follows lowercase, as there."""

    clean_text: bool = True
    handle_chinese_chars: bool = True
    strip_accents: bool | None = None
    lowercase: bool = True


@dataclass
class WordPiece:
    """A WordPiece vocabulary with BERT's normalisation and the [CLS] … [SEP] around each text."""

    vocabulary: Mapping[str, int]
    unknown: str = "[UNK]"
    prefix: str = "##"
    max_word: int = 100  # characters: a longer word is [UNK]
    normaliser: Normaliser = field(default_factory=Normaliser)
    special: Sequence[str] = ()  # tokens found as written before the text is normalised ("[CLS]" in a post)
    start: Sequence[str] = ("[CLS]",)
    end: Sequence[str] = ("[SEP]",)
    pad: str = "[PAD]"

    def __post_init__(self) -> None:
        flags = self.normaliser
        self._strip = flags.lowercase if flags.strip_accents is None else flags.strip_accents
        self._cleaning = _Cleaning(flags.clean_text, flags.handle_chinese_chars)
        self._folding = _Folding(self._strip, flags.lowercase)
        self._unknown = self.vocabulary[self.unknown]
        self._longest = max(map(len, self.vocabulary), default=1)
        self._start = tuple(self.vocabulary[token] for token in self.start)
        self._end = tuple(self.vocabulary[token] for token in self.end)
        self._pad = self.vocabulary.get(self.pad, 0)
        by_length = sorted(self.special, key=len, reverse=True)  # the longest first: "[CLS]x" before "[CLS]"
        self._special = re.compile("|".join(map(re.escape, by_length))) if by_length else None
        self._word = lru_cache(maxsize=WORD_CACHE)(self._word_ids)

    def normalise(self, text: str) -> str:
        """Step 2: the text as BERT reads it."""
        text = text.translate(self._cleaning)
        if self._strip and not text.isascii():
            text = unicodedata.normalize("NFD", text)
        if text.isascii() and self.normaliser.lowercase:
            return text.lower()  # no marks to drop, and ASCII's lower case is a character's own
        return text.translate(self._folding)

    def ids(self, text: str, limit: int) -> list[int]:
        """The ids of ``text``, [CLS] and [SEP] included, cut to ``limit`` tokens (the text's own tokens cut)."""
        room = max(limit - len(self._start) - len(self._end), 0)
        body: list[int] = []
        for part, special in self._parts(text):
            if special:
                body.append(self.vocabulary[part])
                continue
            for chunk in SPACES.split(self.normalise(part)):
                if chunk:
                    body.extend(self._word(chunk))
            if len(body) >= room:
                break
        return [*self._start, *body[:room], *self._end]

    def encode_batch(self, texts: Iterable[str], limit: int) -> tuple[list[list[int]], list[list[int]]]:
        """Ids and attention masks of the texts, each padded to the longest of them."""
        rows = [self.ids(text, limit) for text in texts]
        width = max(map(len, rows), default=0)
        masks = [[1] * len(row) + [0] * (width - len(row)) for row in rows]
        return [row + [self._pad] * (width - len(row)) for row in rows], masks

    def _parts(self, text: str) -> Iterable[tuple[str, bool]]:
        """Step 1: the text between special tokens, and the special tokens."""
        if self._special is None:
            yield text, False
            return
        at = 0
        for found in self._special.finditer(text):
            yield text[at : found.start()], False
            yield found.group(), True
            at = found.end()
        yield text[at:], False

    def _word_ids(self, chunk: str) -> tuple[int, ...]:
        """Steps 3 and 4 for text between spaces: its words and their pieces."""
        if chunk.isalnum():  # letters and digits only, so no punctuation: one word
            return self._pieces(chunk)
        ids: list[int] = []
        at = 0
        for number, char in enumerate(chunk):
            if is_punctuation(char):
                if at < number:
                    ids += self._pieces(chunk[at:number])
                ids += self._pieces(char)
                at = number + 1
        if at < len(chunk):
            ids += self._pieces(chunk[at:])
        return tuple(ids)

    def _pieces(self, word: str) -> tuple[int, ...]:
        """Step 4: greedy longest-match-first WordPiece, [UNK] for the whole word when a part matches nothing."""
        if len(word) > self.max_word:
            return (self._unknown,)
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = min(len(word), start + self._longest)
            found = None
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                found = self.vocabulary.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self._unknown,)
            ids.append(found)
            start = end
        return tuple(ids)


def from_tokenizer_json(data: Mapping[str, object]) -> WordPiece | None:
    """The WordPiece a ``tokenizer.json`` describes, when it is BERT's kind (a WordPiece model, BERT's normaliser and
    pre-tokenizer, special tokens around the text); None for any other kind (a Unigram or BPE model, say)."""
    model, normaliser, pre = (data.get(key) or {} for key in ("model", "normalizer", "pre_tokenizer"))
    if not (isinstance(model, dict) and isinstance(normaliser, dict) and isinstance(pre, dict)):
        return None
    if (model.get("type"), normaliser.get("type"), pre.get("type")) != ("WordPiece", "BertNormalizer", "BertPreTokenizer"):
        return None
    added = [token for token in data.get("added_tokens") or () if isinstance(token, dict)]  # type: ignore[attr-defined]
    ends = _ends(data.get("post_processor"))  # and no tokens found in the normalised text or with spaces around them
    if ends is None or any(token.get(key) for token in added for key in ("normalized", "lstrip", "rstrip", "single_word")):
        return None
    return WordPiece(
        vocabulary=dict(model["vocab"]),
        unknown=str(model.get("unk_token", "[UNK]")),
        prefix=str(model.get("continuing_subword_prefix", "##")),
        max_word=int(model.get("max_input_chars_per_word", 100)),
        normaliser=Normaliser(
            clean_text=bool(normaliser.get("clean_text", True)),
            handle_chinese_chars=bool(normaliser.get("handle_chinese_chars", True)),
            strip_accents=None if normaliser.get("strip_accents") is None else bool(normaliser["strip_accents"]),
            lowercase=bool(normaliser.get("lowercase", True)),  # tokenizers' defaults where a flag is left out
        ),
        special=tuple(str(token["content"]) for token in added),
        start=ends[0],
        end=ends[1],
        pad=str(dict(data.get("padding") or {}).get("pad_token", "[PAD]")),  # type: ignore[call-overload]
    )


def _ends(processor: object) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The tokens a post-processor puts before and after a single text: BERT's, RoBERTa's or a template."""
    if not isinstance(processor, dict):
        return ((), ()) if processor is None else None
    kind = processor.get("type")
    if kind in ("BertProcessing", "RobertaProcessing"):
        return (str(processor["cls"][0]),), (str(processor["sep"][0]),)
    if kind != "TemplateProcessing":
        return None
    single = [next(iter(item.items())) for item in processor.get("single", ())]
    names = [kind for kind, _ in single]
    if names.count("Sequence") != 1:
        return None
    middle = names.index("Sequence")
    specials = [str(value["id"]) for _, value in single]
    return tuple(specials[:middle]), tuple(specials[middle + 1 :])
