"""Vector indexes (FAISS, exact, pgvector) and the stores that keep vectors, metadata and lexical data together."""
from .base import BACKENDS, Filtered, IdMask, VectorIndex, make_vector_index
from .factory import index_exists, is_postgres_url, open_index

__all__ = ["VectorIndex", "IdMask", "Filtered", "make_vector_index", "BACKENDS", "open_index", "index_exists", "is_postgres_url"]
