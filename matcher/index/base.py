"""VectorIndex protocol shared by every backend, and the factory that picks one by name."""
from __future__ import annotations

from collections.abc import Collection as AbcCollection
from typing import Collection, Iterator, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from ..config import VECTOR_BACKENDS
from ..errors import ConfigError

__all__ = ["VectorIndex", "IdMask", "Filtered", "make_vector_index", "BACKENDS"]

BACKENDS = VECTOR_BACKENDS  # defined in config, so that Settings can check a name without importing the index
TIE_ROWS = 16               # approximate searches break ties at the k-th score by id among k + TIE_ROWS rows


@runtime_checkable
class VectorIndex(Protocol):
    """Inner-product search over L2-normalised vectors, addressed by string ids.

    xb: database vectors (n, dim) float32; xq: query vectors (nq, dim); D, I: scores and ids, best first."""
    dim: int

    def __len__(self) -> int: ...

    @property
    def ids(self) -> list[str]: ...

    def add(self, ids: Sequence[str], xb: np.ndarray) -> None:
        """Add vectors; an id already present is replaced."""

    def remove(self, ids: Collection[str]) -> int:
        """Remove ids that are present; returns how many were removed."""

    def search(self, xq: np.ndarray, k: int, allowed: Collection[str] | None = None
               ) -> tuple[np.ndarray, list[list[str]]]:
        """Top-k by inner product, restricted to `allowed` ids when given. Always k results when k pass."""

    def scores(self, xq: np.ndarray, ids: Sequence[str]) -> np.ndarray:
        """Exact inner products of one query (dim,) with the given ids, shape (len(ids),)."""

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of `ids`, shape (len(ids), dim)."""


class IdMask(AbcCollection):
    """A filter as a boolean mask over an id list: the ids[r] with mask[r] true, mask shape (len(ids),).

    It is a Collection[str], so every backend accepts it as `allowed`. A backend whose ids are `ids`, in that
    order, uses the mask directly instead of looking up each id: at 1M postings, looking up 500k string ids
    costs more than the search itself (see scripts/bench_vectors.py)."""

    __slots__ = ("ids", "mask", "_count", "_pos")

    def __init__(self, ids: Sequence[str], mask: np.ndarray, positions: Mapping[str, int] | None = None):
        """`positions` (id -> row in `ids`), when the caller already has it, spares building it for `in` tests."""
        mask = np.array(mask, dtype=bool)  # a copy, read-only: the count below must stay true
        if mask.shape != (len(ids),):
            raise ValueError(f"mask has shape {mask.shape}, expected ({len(ids)},)")
        mask.flags.writeable = False
        self.ids = ids
        self.mask = mask
        self._count = int(np.count_nonzero(mask))
        self._pos: Mapping[str, int] | None = positions

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        return (self.ids[r] for r in np.flatnonzero(self.mask).tolist())

    def __contains__(self, doc_id: object) -> bool:
        if self._pos is None:
            self._pos = {i: r for r, i in enumerate(self.ids)}
        r = self._pos.get(doc_id)  # type: ignore[call-overload]
        return r is not None and bool(self.mask[r])

    def aligned(self, ids: Sequence[str]) -> bool:
        """Whether the mask indexes exactly `ids`, in order (~1 ms at 1M ids when they are the same objects)."""
        if self.ids is ids:
            return True
        if len(self.ids) != len(ids):
            return False
        mine = self.ids if isinstance(self.ids, list) else list(self.ids)
        return mine == (ids if isinstance(ids, list) else list(ids))


class Filtered(AbcCollection):
    """A filter given two ways: the exact allowed ids, and a backend-native `condition` (for PostgreSQL, a SQL
    WHERE clause) that selects the same ids, or a superset of them.

    It is a Collection[str] of the ids, so a backend that knows nothing of conditions (FAISS, numpy) uses the ids;
    the PostgreSQL backend searches with the condition and keeps only results among the ids."""

    __slots__ = ("ids", "condition", "_set")

    def __init__(self, ids: Collection[str], condition: object):
        self.ids = ids
        self.condition = condition
        self._set: set[str] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __contains__(self, doc_id: object) -> bool:
        if isinstance(self.ids, IdMask):
            return doc_id in self.ids
        if self._set is None:
            self._set = set(self.ids)
        return doc_id in self._set


def make_vector_index(backend: str, dim: int) -> VectorIndex:
    """A new, empty index of the named backend: faiss (exact, default), exact (numpy), faiss-ivf and faiss-hnsw
    (approximate, for very large corpora)."""
    if backend == "exact":
        from .exact import ExactIndex
        return ExactIndex(dim)
    if backend in ("faiss", "faiss-ivf", "faiss-hnsw"):
        try:
            from .faiss import FaissIndex
        except ImportError as e:  # pragma: no cover
            raise ConfigError("the faiss backend needs faiss-cpu: pip install faiss-cpu") from e
        return FaissIndex(dim, kind={"faiss": "flat", "faiss-ivf": "ivf", "faiss-hnsw": "hnsw"}[backend])
    raise ConfigError(f"unknown vector backend {backend!r}; valid: {', '.join(BACKENDS)}")
