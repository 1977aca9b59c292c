"""FAISS backend: exact inner product (IndexFlatIP) by default, HNSW as the approximate option."""
from __future__ import annotations

from typing import Collection, Sequence

import numpy as np

from .exact import ExactIndex, top_k

__all__ = ["FaissIndex"]

# Below this share of the collection passing the filter, HNSW's filtered graph walk can miss neighbours:
# search the allowed ids exactly instead (they are few).
SELECTIVE = 0.2


class FaissIndex(ExactIndex):
    """Vectors in a FAISS index; the row <-> id map and a float32 copy live beside it.

    Flat search is exact. With hnsw=True, unfiltered and broad-filter searches go through HNSW
    (M=32, efSearch=max(64, 4k)), and selective filters fall back to exact search on the allowed ids, so a
    filtered search never returns fewer than k results when k ids pass."""

    def __init__(self, dim: int, hnsw: bool = False):
        super().__init__(dim)
        import faiss  # lazy: keeps `match --help` instant
        self._faiss = faiss
        self.hnsw = hnsw
        self._index = None

    def _built(self):
        if self._index is None:
            faiss = self._faiss
            index = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT) if self.hnsw \
                else faiss.IndexFlatIP(self.dim)
            if len(self._xb):
                index.add(self._xb)
            self._index = index
        return self._index

    def add(self, ids: Sequence[str], xb: np.ndarray) -> None:
        super().add(ids, xb)
        self._index = None  # rebuilt lazily: flat build is a copy, HNSW is rebuilt on the next search

    def remove(self, ids: Collection[str]) -> int:
        n = super().remove(ids)
        if n:
            self._index = None
        return n

    def search(self, xq: np.ndarray, k: int, allowed: Collection[str] | None = None
               ) -> tuple[np.ndarray, list[list[str]]]:
        xq = np.ascontiguousarray(np.asarray(xq, dtype=np.float32).reshape(-1, self.dim))
        n = len(self._ids)
        if n == 0 or k <= 0:
            return np.zeros((len(xq), 0), dtype=np.float32), [[] for _ in xq]
        if allowed is not None:
            allowed = set(allowed)
            if self.hnsw and len(allowed) < SELECTIVE * n:
                return super().search(xq, k, allowed)
        faiss = self._faiss
        index = self._built()
        params = None
        if allowed is not None:
            rows = np.asarray(sorted(self._row[i] for i in allowed if i in self._row), dtype=np.int64)
            if len(rows) == 0:
                return np.zeros((len(xq), 0), dtype=np.float32), [[] for _ in xq]
            sel = faiss.IDSelectorBatch(rows)
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(64, 4 * k)) if self.hnsw \
                else faiss.SearchParameters(sel=sel)
            budget = len(rows)
        else:
            if self.hnsw:
                params = faiss.SearchParametersHNSW(efSearch=max(64, 4 * k))
            budget = n
        kk = min(n, k + 16)  # a few extra rows so ties at the k-th score are broken by id, not by row
        D, I = index.search(xq, kk, params=params)
        outD, outI = [], []
        for q, d, i in zip(xq, D, I):
            rows_q = [r for r in i.tolist() if r >= 0]
            if self.hnsw and len(rows_q) < min(k, budget):
                d2, i2 = super().search(q[None, :], k, allowed)  # graph walk came up short: exact fallback
                outD.append(d2[0])
                outI.append(i2[0])
                continue
            ids = [self._ids[r] for r in rows_q]
            dd, ii = top_k(np.asarray(d[: len(rows_q)], dtype=np.float32), ids, k)
            outD.append(dd)
            outI.append(ii)
        width = max((len(d) for d in outD), default=0)
        return np.array([np.pad(d, (0, width - len(d)), constant_values=-np.inf) for d in outD],
                        dtype=np.float32).reshape(len(outD), width), outI

    def to_bytes(self) -> bytes:
        """The FAISS index serialised (flat: the vectors themselves)."""
        return self._faiss.serialize_index(self._built()).tobytes()
