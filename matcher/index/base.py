"""VectorIndex protocol shared by every backend, and the factory that picks one by name."""
from __future__ import annotations

from typing import Collection, Protocol, Sequence, runtime_checkable

import numpy as np

from ..errors import ConfigError

__all__ = ["VectorIndex", "make_vector_index", "BACKENDS"]

BACKENDS = ("faiss", "exact", "faiss-hnsw")


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


def make_vector_index(backend: str, dim: int) -> VectorIndex:
    """A new, empty index of the named backend: faiss (exact, default), exact (numpy), faiss-hnsw (approximate)."""
    if backend == "exact":
        from .exact import ExactIndex
        return ExactIndex(dim)
    if backend in ("faiss", "faiss-hnsw"):
        try:
            from .faiss import FaissIndex
        except ImportError as e:  # pragma: no cover
            raise ConfigError("the faiss backend needs faiss-cpu: pip install faiss-cpu") from e
        return FaissIndex(dim, hnsw=backend == "faiss-hnsw")
    raise ConfigError(f"unknown vector backend {backend!r}; valid: {', '.join(BACKENDS)}")
