"""Cross-encoder re-ranking of the engine's top results (off unless `Settings.cross_encoder` is set).

The engine ranks as usual (filters, BM25 + dense, structured signals). Then the first `rerank_top` allowed
results are scored by a cross-encoder reading (CV text, posting text) together, and re-ordered by

    fused = (1 - w_cross) · minmax(engine score) + w_cross · minmax(cross-encoder score)

over those results only. Blocked results and results beyond `rerank_top` keep their place: re-ranking only
permutes the head of the allowed results. The new score is mapped back onto the head's engine score range
[lo, hi], so scores stay decreasing along the list and the results below the head keep theirs; `parts`
gains `cross` (the model's score) and `engine` (the score before re-ranking); reasons are unchanged.

torch and sentence-transformers are imported only when a real model scores its first pairs.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from .domain import Match
from .errors import ConfigError
from .lexical import analyze
from .rank import minmax

__all__ = ["CrossScorer", "OverlapCrossEncoder", "SentenceCrossEncoder", "FAKE", "load_cross_encoder",
           "rerank"]

FAKE = "fake-overlap"        # Settings.cross_encoder value selecting the deterministic test fake
_MIN_SPAN = 1e-6             # score range given to the head when all its engine scores are equal


class CrossScorer(Protocol):
    """Scores (CV text, posting text) pairs; higher = better fit. Must be deterministic for equal input."""
    name: str

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray: ...


class OverlapCrossEncoder:
    """Deterministic fake for tests: the share of the posting's analysed words found in the CV."""

    name = FAKE

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        out = np.zeros(len(pairs), dtype=np.float64)
        for n, (cv, posting) in enumerate(pairs):
            p = set(analyze(posting))
            out[n] = len(p & set(analyze(cv))) / len(p) if p else 0.0
        return out


class SentenceCrossEncoder:
    """A sentence-transformers `CrossEncoder` saved in a folder (one output), loaded on first use, CPU only.
    max_length None: the token limit the model was saved with (its training limit)."""

    def __init__(self, path: str | Path, max_length: int | None = None, batch_size: int = 16):
        self.name = str(path)
        self.max_length = max_length
        self.batch_size = batch_size
        self._model = None

    def _load(self):
        if self._model is None:
            from sentence_transformers import CrossEncoder
            try:
                self._model = CrossEncoder(self.name, num_labels=1, max_length=self.max_length, device="cpu")
            except (OSError, ValueError) as e:
                raise ConfigError(f"cross-encoder {self.name}: cannot be loaded ({type(e).__name__})") from None
        return self._model

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float64)
        got = self._load().predict([list(p) for p in pairs], batch_size=self.batch_size,
                                   show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(got, dtype=np.float64).reshape(len(pairs))


_LOADED: dict[tuple[str, int | None], CrossScorer] = {}


def load_cross_encoder(name: str, max_length: int | None = None) -> CrossScorer:
    """The scorer for `Settings.cross_encoder`: FAKE, or the folder of a trained CrossEncoder (kept loaded)."""
    if name == FAKE:
        return OverlapCrossEncoder()
    path = Path(name)
    if not (path / "config.json").is_file():
        raise ConfigError(f"cross-encoder {name}: not a folder holding a saved model (config.json missing)")
    key = (str(path.resolve()), max_length)
    if key not in _LOADED:
        _LOADED[key] = SentenceCrossEncoder(path, max_length=max_length)
    return _LOADED[key]


def rerank(results: list[Match], pair: Callable[[Match], tuple[str, str]], scorer: CrossScorer,
           top: int, w: float) -> list[Match]:
    """Re-order the first `top` allowed results of `results` (best first, allowed before blocked) by the
    fused engine and cross-encoder score; the rest keep their place. `pair(m)` gives (CV text, posting text)."""
    n = 0
    while n < len(results) and n < top and not results[n].blocked:
        n += 1
    if n == 0:
        return list(results)
    head = results[:n]
    engine = np.asarray([m.score for m in head], dtype=np.float64)
    cross = np.round(np.asarray(scorer.score([pair(m) for m in head]), dtype=np.float64), 9)
    if cross.shape != (n,) or not np.all(np.isfinite(cross)):
        raise ConfigError(f"cross-encoder {scorer.name}: returned {cross.shape} scores for {n} pairs, or non-finite ones")
    fused = (1.0 - w) * minmax(engine) + w * minmax(cross)
    lo, hi = float(engine.min()), float(engine.max())
    span = hi - lo if hi > lo else _MIN_SPAN
    scored = []
    for m, f, c in zip(head, fused, cross):
        parts = {**m.parts, "engine": m.score, "cross": float(c)}
        scored.append(replace(m, score=round(lo + float(f) * span, 9), parts=parts))
    scored.sort(key=lambda m: (-m.score, m.cv_id if m.cv_id is not None else m.posting_id))
    return scored + list(results[n:])
