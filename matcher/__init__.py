"""matcher: search and matching between job postings and CVs (French-aware, hard filters, explanations)."""
from .config import Settings
from .domain import Candidate, Language, Match, Place, Posting, Reason, Requirement, Span
from .errors import (ConfigError, IndexCorrupt, IndexLocked, IndexMismatch, IndexMissing, MatcherError,
                     NotFound, ParseError)

__all__ = [
    "Settings", "Candidate", "Language", "Match", "Place", "Posting", "Reason", "Requirement", "Span",
    "MatcherError", "ParseError", "IndexMissing", "IndexMismatch", "IndexCorrupt", "IndexLocked",
    "ConfigError", "NotFound",
]
__version__ = "0.1.0"
