"""Exact inner-product search with numpy: the reference every other backend is tested against."""
from __future__ import annotations

from typing import Collection, Sequence

import numpy as np

__all__ = ["ExactIndex", "top_k"]


def top_k(scores: np.ndarray, ids: Sequence[str], k: int) -> tuple[np.ndarray, list[str]]:
    """The k best (score, id) pairs, ties broken by id so that results are deterministic."""
    if len(ids) == 0 or k <= 0:
        return np.zeros(0, dtype=np.float32), []
    order = sorted(range(len(ids)), key=lambda i: (-float(scores[i]), ids[i]))[:k] if len(ids) <= 4 * k else None
    if order is None:
        part = np.argpartition(-scores, min(k, len(ids) - 1))[: min(len(ids), 2 * k + 8)]
        # widen to every id tied with the k-th score, then sort exactly
        kth = np.sort(scores[part])[::-1][min(k, len(part)) - 1]
        cand = np.nonzero(scores >= kth)[0]
        order = sorted(cand.tolist(), key=lambda i: (-float(scores[i]), ids[i]))[:k]
    return scores[order].astype(np.float32), [ids[i] for i in order]


class ExactIndex:
    """Brute-force index: a (n, dim) matrix and a row per id."""

    def __init__(self, dim: int):
        self.dim = dim
        self._xb = np.zeros((0, dim), dtype=np.float32)
        self._ids: list[str] = []
        self._row: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def add(self, ids: Sequence[str], xb: np.ndarray) -> None:
        xb = np.ascontiguousarray(xb, dtype=np.float32).reshape(len(ids), self.dim)
        self.remove([i for i in ids if i in self._row])
        self._xb = np.vstack([self._xb, xb])
        for i in ids:
            self._row[i] = len(self._ids)
            self._ids.append(i)

    def remove(self, ids: Collection[str]) -> int:
        drop = {self._row[i] for i in ids if i in self._row}
        if not drop:
            return 0
        keep = [r for r in range(len(self._ids)) if r not in drop]
        self._xb = self._xb[keep]
        self._ids = [self._ids[r] for r in keep]
        self._row = {i: r for r, i in enumerate(self._ids)}
        return len(drop)

    def search(self, xq: np.ndarray, k: int, allowed: Collection[str] | None = None
               ) -> tuple[np.ndarray, list[list[str]]]:
        xq = np.asarray(xq, dtype=np.float32).reshape(-1, self.dim)
        if allowed is None:
            rows, ids = np.arange(len(self._ids)), self._ids
        else:
            ids = sorted(i for i in set(allowed) if i in self._row)
            rows = np.asarray([self._row[i] for i in ids], dtype=np.int64)
        xb = self._xb[rows] if len(rows) else np.zeros((0, self.dim), dtype=np.float32)
        D, I = [], []
        for q in xq:
            d, i = top_k(xb @ q, ids, k)
            D.append(d)
            I.append(i)
        width = max((len(d) for d in D), default=0)
        return np.array([np.pad(d, (0, width - len(d)), constant_values=-np.inf) for d in D],
                        dtype=np.float32).reshape(len(D), width), I

    def scores(self, xq: np.ndarray, ids: Sequence[str]) -> np.ndarray:
        return self.vectors(ids) @ np.asarray(xq, dtype=np.float32).reshape(self.dim)

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        return self._xb[[self._row[i] for i in ids]] if ids else np.zeros((0, self.dim), dtype=np.float32)
