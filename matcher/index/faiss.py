"""FAISS backend: exact inner product (IndexFlatIP) by default; IVF and HNSW as approximate options."""
from __future__ import annotations

import math
from itertools import repeat
from typing import BinaryIO, Collection, Sequence

import numpy as np

from .base import TIE_ROWS, IdMask
from .exact import ExactIndex, top_k

__all__ = ["FaissIndex", "KINDS", "SELECTIVE", "nlist_for", "nlist_fits"]

KINDS = ("flat", "ivf", "hnsw")

# Parameters measured with scripts/bench_vectors.py on seeded clustered 384-d vectors on 2 cores (figures below
# are at 1M vectors). Target: recall@10 against exact search >= 0.95, filtered or not.
# IVF: k-means lists, nprobe of them scanned. 4000 lists at 1M: trained and filled in ~1 min (HNSW: ~4-6 min);
# unfiltered nprobe 63 gives recall 0.9995 in ~3 ms.
TRAIN_PER_LIST = 40     # training sample per list (FAISS warns below 39)
NPROBE_MIN = 16
SCAN_PER_K = 100        # allowed vectors scanned per result wanted: a filter passing a share s probes 1/s more
#                         lists (at 1M: recall >= 0.996 at 50%, 10%, 1%; 1000/(s * n/nlist) lists)
# HNSW: graph of HNSW_M links per node. Below SELECTIVE of the ids passing a filter, the filtered walk loses
# recall (at 1%: 0.92 with efSearch 1024, some walks return fewer than k; at 2%: 0.968): the allowed rows are
# searched exactly instead (a bitmap scan: 1% of 1M in ~7 ms, 2% in ~12 ms, where the walk takes ~5 ms).
SELECTIVE = 0.02
HNSW_M = 32             # M=16 at 100k needed efSearch 256 for recall 0.95 unfiltered and fell to 0.86 at 10%
EF_CONSTRUCTION = 100   # at 1M, FAISS's default 40 capped recall near 0.96 at any efSearch; 100 reaches 0.986
#                         at efSearch 256 for a ~40% longer build
EF_SEARCH = 256         # unfiltered top-10 (at least 4k for larger k)
EF_MAX = 1024           # widest filtered walk: efSearch grows by 1/sqrt(share) up to this (p95 ~5 ms at 1M)


def nlist_for(n: int) -> int:
    """IVF lists for n vectors: ~4 sqrt(n) (4000 at 1M), with at least TRAIN_PER_LIST vectors per list."""
    return max(1, min(round(4 * math.sqrt(n)), n // TRAIN_PER_LIST))


def nlist_fits(nlist: int, n: int) -> bool:
    """Whether k-means lists trained for another size still suit n vectors: within 10 % of nlist_for(n) (the
    corpus grew or shrank by less than ~20 % since training), and never fewer than TRAIN_PER_LIST rows a list."""
    want = nlist_for(n)
    return nlist == want or (0.9 * want <= nlist <= 1.1 * want and nlist * TRAIN_PER_LIST <= n)


class FaissIndex(ExactIndex):
    """Vectors in a FAISS index; the row <-> id map and a float32 copy live beside it.

    kind="flat" is exact. kind="ivf" scans the nprobe k-means lists nearest the query, more as a filter narrows,
    up to all of them (exact). kind="hnsw" walks a graph, wider as a filter narrows; below SELECTIVE of the ids
    passing, it searches the allowed rows exactly instead. Either falls back to exact search over the allowed
    rows for a query that comes back with fewer than k: a search never returns fewer than min(k, allowed).

    `allowed` may be an IdMask over this index's ids, which skips looking up each id."""

    def __init__(self, dim: int, kind: str = "flat"):
        super().__init__(dim)
        import faiss  # lazy: keeps `match --help` instant
        self._faiss = faiss
        self.kind = kind
        if kind not in KINDS:
            raise ValueError(f"unknown FAISS index kind {kind!r}; valid: {', '.join(KINDS)}")
        self._index = None
        self._centroids: np.ndarray | None = None   # IVF: k-means centroids to reuse instead of training

    @property
    def hnsw(self) -> bool:
        return self.kind == "hnsw"

    def _built(self):
        if self._index is None:
            faiss = self._faiss
            n = len(self._xb)
            if self.kind == "hnsw":
                index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = EF_CONSTRUCTION
            elif self.kind == "ivf":
                reuse = self._centroids if self._centroids is not None and nlist_fits(len(self._centroids), n) else None
                nlist = nlist_for(n) if reuse is None else len(reuse)
                # the Python wrapper keeps the quantizer alive as long as the index (referenced_objects)
                quantizer = faiss.IndexFlatIP(self.dim)
                index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
                if reuse is not None:   # lists of an earlier generation: assign the vectors, skip k-means
                    quantizer.add(reuse)
                    index.is_trained = True
                else:
                    sample = min(n, TRAIN_PER_LIST * nlist)
                    rows = (np.sort(np.random.default_rng(0).choice(n, sample, replace=False)) if sample < n
                            else slice(None))
                    index.train(np.ascontiguousarray(self._xb[rows]) if n else np.zeros((1, self.dim), np.float32))
            else:
                index = faiss.IndexFlatIP(self.dim)
            if n:
                index.add(self._xb)
            self._adopt(index)
        return self._index

    def _adopt(self, index) -> None:
        """Use `index`; flat and HNSW: self._xb becomes a view of the vectors FAISS holds, and the numpy copy is
        freed (one copy in memory, not two: ~1.5 GB less at 1M x 384). IVF keeps its copy (its lists are not one
        array)."""
        self._index = index
        n = len(self._ids)
        if n and self.kind != "ivf":
            flat = index if self.kind == "flat" else self._faiss.downcast_index(index.storage)
            self._xb = np.asarray(_Owned(index, self._faiss.rev_swig_ptr(flat.get_xb(), n * self.dim)
                                         .reshape(n, self.dim)))

    def build(self, centroids: np.ndarray | None = None) -> None:
        """Build the FAISS index now rather than at the first search (at 1M vectors: IVF ~1 min, HNSW 4-6 min).

        IVF: `centroids` (from `centroids()` of an earlier build) are reused when their number still fits the
        corpus (nlist_fits): the vectors are assigned to those lists and k-means is skipped."""
        if centroids is not None and self.kind == "ivf":
            self._centroids = np.ascontiguousarray(centroids, dtype=np.float32).reshape(-1, self.dim)
            self._index = None
        self._built()

    @property
    def reused_centroids(self) -> bool:
        """Whether the built IVF index took its lists from `build(centroids=...)` rather than training them."""
        return (self.kind == "ivf" and self._index is not None and self._centroids is not None
                and self._index.nlist == len(self._centroids))

    def centroids(self) -> np.ndarray | None:
        """IVF: the k-means centroids of the built index (nlist, dim), for a later build to reuse; else None."""
        if self.kind != "ivf":
            return None
        index = self._built()
        q = self._faiss.downcast_index(index.quantizer)
        return self._faiss.rev_swig_ptr(q.get_xb(), index.nlist * self.dim).reshape(index.nlist, self.dim).copy()

    def add(self, ids: Sequence[str], xb: np.ndarray) -> None:
        super().add(ids, xb)
        self._index = None  # rebuilt lazily: flat build is a copy, IVF and HNSW are rebuilt on the next search

    def remove(self, ids: Collection[str]) -> int:
        n = super().remove(ids)
        if n:
            self._index = None
        return n

    def _mask(self, allowed: Collection[str]) -> np.ndarray:
        """The allowed ids as a boolean mask over rows, shape (n,); unknown ids are ignored."""
        if isinstance(allowed, IdMask) and allowed.aligned(self._ids):
            return allowed.mask
        n = len(self._ids)
        if isinstance(allowed, (set, frozenset)) and 4 * len(allowed) >= n:
            # a broad set: n membership tests in id order beat len(allowed) random dict lookups (2-5x)
            return np.fromiter(map(allowed.__contains__, self._ids), dtype=bool, count=n)
        count = len(allowed) if hasattr(allowed, "__len__") else -1
        rows = np.fromiter(map(self._row.get, allowed, repeat(-1)), dtype=np.int64, count=count)
        mask = np.zeros(len(self._ids), dtype=bool)
        mask[rows[rows >= 0]] = True
        return mask

    def search(self, xq: np.ndarray, k: int, allowed: Collection[str] | None = None
               ) -> tuple[np.ndarray, list[list[str]]]:
        xq = np.ascontiguousarray(np.asarray(xq, dtype=np.float32).reshape(-1, self.dim))
        n = len(self._ids)
        mask = None if allowed is None or n == 0 else self._mask(allowed)
        budget = n if mask is None else int(np.count_nonzero(mask))
        if budget == 0 or k <= 0:
            return np.zeros((len(xq), 0), dtype=np.float32), [[] for _ in xq]
        faiss = self._faiss
        index = self._built()
        kk = min(budget, k + TIE_ROWS)   # ties at the k-th score broken by id
        bits = None if mask is None else np.packbits(mask, bitorder="little")  # alive until the search returns
        sel = None if bits is None else faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
        if self.kind == "flat":
            D, I = index.search(xq, kk, params=None if sel is None else faiss.SearchParameters(sel=sel))
            return self._ranked(D, I, k)
        share = budget / n
        if self.kind == "ivf":
            # IVF needs no threshold: the probe widens as the filter narrows and, at nprobe = nlist (share
            # <= SCAN_PER_K * k / n: 0.1% of 1M for k=10), it is exact search over the allowed rows.
            params = faiss.SearchParametersIVF(sel=sel, nprobe=self._nprobe(index.nlist, n, k, share))
        elif share < SELECTIVE:
            return self._ranked(*self._exact(xq, kk, sel), k)
        else:
            ef = max(EF_SEARCH, 4 * k, kk)
            ef = max(ef, min(EF_MAX, math.ceil(ef / math.sqrt(share))))  # a filter drops walked nodes: walk wider
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=ef)
        D, I = index.search(xq, kk, params=params)
        short = [q for q in range(len(xq)) if np.count_nonzero(I[q] >= 0) < min(k, budget)]
        if short:  # fewer than k came back: exact search over the allowed rows for those queries
            D[short], I[short] = self._exact(xq[short], kk, sel)
        return self._ranked(D, I, k)

    @staticmethod
    def _nprobe(nlist: int, n: int, k: int, share: float) -> int:
        """Lists to scan: at least NPROBE_MIN and 1/64 of them, and enough to meet SCAN_PER_K * k allowed rows."""
        per_list = n / nlist
        return min(nlist, max(NPROBE_MIN, math.ceil(nlist / 64), math.ceil(SCAN_PER_K * k / (share * per_list))))

    def _exact(self, xq: np.ndarray, kk: int, sel) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-kk rows among those `sel` lets through (all when None): D, I of shape (nq, kk), I = -1 if none.

        FAISS's own single-threaded scan, not numpy: on 2 busy cores a multi-threaded BLAS call for one query
        waits for a scheduler slice (8 ms measured for a 3000 x 384 product that takes 0.04 ms on idle cores)."""
        faiss = self._faiss
        index = self._built()
        if self.kind == "ivf":  # every list scanned: exact
            return index.search(xq, kk, params=faiss.SearchParametersIVF(sel=sel, nprobe=index.nlist))
        flat = faiss.downcast_index(index.storage)  # HNSW: the graph's own copy of the vectors
        return flat.search(xq, kk, params=None if sel is None else faiss.SearchParameters(sel=sel))

    def _ranked(self, D: np.ndarray, I: np.ndarray, k: int) -> tuple[np.ndarray, list[list[str]]]:
        """FAISS rows -> ids: the k best of each query, ties broken by id."""
        outD, outI = [], []
        for d, i in zip(D, I):
            keep = i >= 0
            dd, ii = top_k(np.asarray(d[keep], dtype=np.float32), [self._ids[r] for r in i[keep].tolist()], k)
            outD.append(dd)
            outI.append(ii)
        width = max((len(d) for d in outD), default=0)
        return np.array([np.pad(d, (0, width - len(d)), constant_values=-np.inf) for d in outD],
                        dtype=np.float32).reshape(len(outD), width), outI

    def to_bytes(self) -> bytes:
        """The FAISS index serialised (flat: the vectors themselves)."""
        return self._faiss.serialize_index(self._built()).tobytes()

    def save(self, f: BinaryIO) -> None:
        """Write the FAISS index (HNSW: graph and vectors; IVF: lists) to a binary file, building it if needed."""
        faiss = self._faiss
        faiss.write_index(self._built(), faiss.PyCallbackIOWriter(f.write))

    def load(self, f: BinaryIO) -> bool:
        """Adopt an index written by save if it has this kind, these parameters and exactly these vectors
        in this order; returns whether it was adopted (when not, nothing changes). Raises on unreadable data."""
        faiss = self._faiss
        index = faiss.read_index(faiss.PyCallbackIOReader(f.read))
        n, d = len(self._ids), self.dim
        if index.d != d or index.ntotal != n or index.metric_type != faiss.METRIC_INNER_PRODUCT:
            return False
        if self.kind == "hnsw":
            if not isinstance(index, faiss.IndexHNSWFlat) or index.hnsw.nb_neighbors(1) != HNSW_M:
                return False
            flat = faiss.downcast_index(index.storage)
            if n and not np.array_equal(faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d), self._xb):
                return False
        elif self.kind == "ivf":
            if not isinstance(index, faiss.IndexIVFFlat) or not nlist_fits(index.nlist, n) or not _ivf_holds(
                    faiss, index, self._xb):
                return False
        else:
            if not isinstance(index, faiss.IndexFlat) or (
                    n and not np.array_equal(faiss.rev_swig_ptr(index.get_xb(), n * d).reshape(n, d), self._xb)):
                return False
        self._adopt(index)
        return True


class _Owned:
    """Memory FAISS owns, seen by numpy: an array made from it keeps this object, and so the FAISS index that
    owns the memory, alive (the array's .base), whatever happens to the FaissIndex."""

    def __init__(self, owner, view: np.ndarray):
        self.owner = owner
        self.__array_interface__ = view.__array_interface__


def _ivf_holds(faiss, index, xb: np.ndarray) -> bool:
    """Whether an IndexIVFFlat holds exactly the rows of xb (n, d), each under its row number."""
    invlists = index.invlists
    seen = 0
    d = xb.shape[1]
    for lst in range(index.nlist):
        size = invlists.list_size(lst)
        if size == 0:
            continue
        rows = faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy()
        codes = faiss.rev_swig_ptr(invlists.get_codes(lst), size * d * 4).view(np.float32).reshape(size, d)
        if rows.min() < 0 or rows.max() >= len(xb) or not np.array_equal(codes, xb[rows]):
            return False
        seen += size
    return seen == len(xb)
