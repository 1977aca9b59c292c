"""Exceptions: one base `MatcherError`, a subclass per kind of failure a user can act on."""
from __future__ import annotations

__all__ = ["MatcherError", "ParseError", "IndexMissing", "IndexMismatch", "IndexCorrupt",
           "IndexLocked", "ConfigError", "NotFound"]


class MatcherError(Exception):
    """Base of every error the library raises on purpose. Messages never contain CV text."""


class ParseError(MatcherError):
    """A document could not be read. `reason` is a short phrase a person understands."""

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class IndexMissing(MatcherError):
    """No index at the given location."""


class IndexMismatch(MatcherError):
    """The index was built with another model, dimension or normalisation than asked for."""


class IndexCorrupt(MatcherError):
    """Vectors, metadata and lexical index disagree, or a file cannot be read."""


class IndexLocked(MatcherError):
    """Another writer holds the index lock."""


class ConfigError(MatcherError):
    """A setting or option has a value that cannot be used."""


class NotFound(MatcherError):
    """An id that is not in the index."""
