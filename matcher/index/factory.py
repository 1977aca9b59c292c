"""The one place that picks the index store from a location: a directory (SQLite + FAISS) or a postgresql:// URL."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Union

from ..config import Settings
from ..embed import Embedder

if TYPE_CHECKING:
    from .pgvector import PgStore
    from .store import IndexStore

__all__ = ["open_index", "index_exists", "is_postgres_url", "Location"]

Location = Union[str, Path]
SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: object) -> bool:
    """Whether an index location names a PostgreSQL database rather than a directory."""
    return isinstance(location, str) and location.startswith(SCHEMES)


def open_index(location: Location, settings: Settings, embedder: Embedder | None = None,
               create: bool = False) -> "IndexStore | PgStore":
    """Open the index at `location`: a postgresql:// URL selects PostgreSQL + pgvector (matcher.index.pgvector),
    anything else is a directory (matcher.index.store). With `create`, make it if missing."""
    if is_postgres_url(location):
        from .pgvector import PgStore
        return PgStore.open(str(location), settings, embedder, create=create)
    from .store import IndexStore
    return IndexStore.open(Path(location), settings, embedder, create=create)


def index_exists(location: Location) -> bool:
    """Whether an index exists at `location` (for PostgreSQL: its schema, when the server answers)."""
    if is_postgres_url(location):
        from .pgvector import PgStore
        return PgStore.exists(str(location))
    from .store import IndexStore
    return IndexStore.exists(Path(location))
