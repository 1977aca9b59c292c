"""Vector indexes (FAISS, exact) and the on-disk store that keeps vectors, metadata and lexical data together."""
from .base import BACKENDS, VectorIndex, make_vector_index

__all__ = ["VectorIndex", "make_vector_index", "BACKENDS"]
