"""Batch work on Ray Data (the optional extra `matcher[scale]`): an actor pool for embedding and rerank.

Serial is the default (`Settings.engine == "serial"`); `engine="ray"` (`--engine ray`, `MATCHER_ENGINE=ray`)
sends the embedding of `matcher index add` (service.add_paths wraps the embedder in a RayEmbedder) and the
scoring of `rerank` here. Each actor builds its worker once (loads the model, or opens the index and builds
the scorer) and then processes many items.

Ray is imported only when this engine is used, so `match --help` and every serial command never load it.
Without `RAY_ADDRESS`, a local Ray of its own is started on this machine's CPUs (no dashboard, no usage
statistics, workers at the caller's priority rather than Ray's nice 15; not the cluster `ray start` left behind);
with it, the cluster it names is used, whose workers need matcher installed. A Ray already initialised by the
caller (`ray.init(...)`) is used as it is.

Results are identical to the serial path, to the bit (tests/test_scale_ray.py):
    * embedding: every actor call embeds exactly the texts one `encode` call of the serial path gets
      (`batch_size * 4` texts from the start, or all of them when the serial path uses the numpy twin),
      with a fresh embedder of the same model and settings, so the vectors are the same floats;
    * rerank: each actor scores whole batches of CVs with the same `_Scorer` on the same generation of the
      index; rows travel back pickled, so no float is rounded on the way;
    * threads: Ray gives an actor of one CPU one BLAS and one torch thread, and a BLAS product summed over
      another number of threads can differ in the last bit (the numpy twin did, by 2.5e-8): each actor
      takes the caller's BLAS and torch thread counts instead. On a small machine the actors then share
      the cores; `workers` (MATCHER_WORKERS) sets how many there are.
"""
from __future__ import annotations

import logging
import os
import pickle
import sys
from functools import partial
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .embed import Embedder, SentenceTransformerEmbedder
from .errors import ConfigError, MatcherError

__all__ = ["require_ray", "map_actors", "RayEmbedder"]

INSTALL = "pip install 'matcher[scale]'"


def require_ray() -> Any:
    """The `ray` module with Ray Data loaded; ConfigError saying what to install when it is missing."""
    try:
        import ray
        import ray.data  # noqa: F401 - the extra's Ray Data part (pyarrow, pandas)
    except ImportError as e:
        raise ConfigError(f"--engine ray needs Ray Data, which is not installed: {INSTALL}") from e
    return ray


def _start(ray: Any) -> int:
    """Initialise Ray when the caller has not; returns the CPUs of the cluster."""
    if not ray.is_initialized():
        local = {}
        if not os.environ.get("RAY_ADDRESS"):
            # Ray would report usage over the network, start a web dashboard and run its workers at nice 15,
            # below every other process of the machine (the serial engine runs at the caller's priority). And
            # without address="local" it would join the last cluster `ray start` left in /tmp/ray, even a dead
            # one (a killed head leaves /tmp/ray/ray_current_cluster, and ray.init then fails to connect).
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            os.environ.setdefault("RAY_worker_niceness", "0")
            local = {"address": "local", "include_dashboard": False}
        ray.init(logging_level=logging.ERROR, log_to_driver=False, **local)
    import ray.data
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False      # the CLI draws its own bar; the library never prints
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    return max(int(ray.cluster_resources().get("CPU", 1)), 1)


def _threads() -> tuple[int, int]:
    """(BLAS threads, torch threads) of this process; torch's default when it is not loaded."""
    from threadpoolctl import threadpool_info
    blas = max([i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] or [os.cpu_count() or 1])
    torch = sys.modules.get("torch")
    # torch's default, like OpenBLAS's, is OMP_NUM_THREADS or the CPU count
    return blas, (torch.get_num_threads() if torch is not None else blas)


def _use_threads(blas: int, torch_threads: int) -> None:
    """Give the BLAS and torch loaded in this process these thread counts."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=blas, user_api="blas")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(torch_threads)


class _Actor:
    """One actor of the pool: builds its worker once, then applies it to one pickled item per call.

    What a worker raises is sent back as a result rather than left to Ray, which would log and wrap it."""

    make_worker: Callable[[], Callable[[Any], Any]]   # set on a subclass by map_actors, with:
    threads: tuple[int, int]                          # the caller's (BLAS, torch) thread counts

    def __init__(self) -> None:
        self.failed: Exception | None = None
        try:
            _use_threads(*self.threads)
            self.work = type(self).make_worker()
            _use_threads(*self.threads)   # the libraries the worker loaded (torch, scipy's BLAS)
        except Exception as e:  # noqa: BLE001 - raised in the driver with the first item
            self.failed = e

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        results = []
        for item in batch["item"]:
            try:
                if self.failed is not None:
                    raise self.failed
                results.append(pickle.dumps((True, self.work(pickle.loads(item))), protocol=5))
            except Exception as e:  # noqa: BLE001
                results.append(pickle.dumps((False, _portable(e)), protocol=5))
        return {"pos": batch["pos"], "result": results}


def _portable(e: Exception) -> MatcherError:
    """The worker's error as the driver raises it: a MatcherError as it is (when it survives pickling),
    anything else as a MatcherError naming its type."""
    if isinstance(e, MatcherError):
        try:
            back = pickle.loads(pickle.dumps(e))
            if type(back) is type(e) and str(back) == str(e):
                return e
        except Exception:  # noqa: BLE001 - e.g. an __init__ taking other arguments than the message
            pass
        return MatcherError(str(e))
    return MatcherError(f"a Ray worker failed: {type(e).__name__}: {e}")


def map_actors(make_worker: Callable[[], Callable[[Any], Any]], items: Sequence[Any],
               workers: int = 0) -> Iterator[tuple[int, Any]]:
    """Apply a worker to every item on a Ray Data actor pool, the worker built once per actor.

    Args: make_worker, a picklable callable that each actor calls once and that returns the function applied
    to each item (it loads the model or opens the index); items, picklable values; workers, actors in the
    pool (0: one per CPU of the Ray cluster; never more than there are items).
    Yields (position in items, result) in completion order. What a worker raises is raised here: a
    MatcherError as it is, anything else as a MatcherError naming its type."""
    if not items:
        return
    ray = require_ray()
    cpus = _start(ray)
    size = max(1, min(workers or cpus, len(items)))
    rows = [{"pos": n, "item": pickle.dumps(item, protocol=5)} for n, item in enumerate(items)]
    # the factory and the caller's thread counts ride on a class made for this pool
    actor = type("_Actor", (_Actor,), {"make_worker": staticmethod(make_worker), "threads": _threads()})
    ds = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        actor, batch_size=1, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=size), num_cpus=1)
    for row in ds.iter_rows():
        ok, value = pickle.loads(row["result"])
        if not ok:
            raise value
        yield int(row["pos"]), value


# ---------------------------------------------------------------------------- embedding
class _Embed:
    """In an actor: one embedder, its model loaded at once (so once per actor)."""

    def __init__(self, make_embedder: Callable[[], Embedder]):
        self.embedder = make_embedder()
        _ = self.embedder.dim

    def __call__(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts)


def _same(embedder: Embedder) -> Embedder:
    return embedder


def _limit(make: Callable[[], Embedder], max_tokens: int) -> Embedder:
    """`make()` truncating texts to max_tokens tokens, as `embed.truncated` does: through its `limited` view
    when it has one, else as it is (an embedder without a token limit)."""
    embedder = make()
    limited = getattr(embedder, "limited", None)
    return limited(max_tokens) if callable(limited) else embedder


class RayEmbedder:
    """An Embedder whose `embed` runs on a Ray Data actor pool; same name, dim, normalisation and vectors.

    Args: embedder, the serial embedder to reproduce (a SentenceTransformerEmbedder is rebuilt in each actor
    from its model name and settings; any other is sent pickled, and must embed each text independently of
    the others in its call, as HashingEmbedder does); workers, actors (0: one per Ray CPU); max_tokens, texts
    truncated to this many tokens (see `limited`)."""

    def __init__(self, embedder: Embedder, workers: int = 0, max_tokens: int | None = None):
        require_ray()
        self.inner = embedder
        self.name = embedder.name
        self.normalized = embedder.normalized
        self.workers = workers
        self.max_tokens = max_tokens

    def limited(self, max_tokens: int) -> "RayEmbedder":
        """This embedder with texts truncated to `max_tokens` tokens in the actors, as `embed.truncated` makes
        the serial one (IndexStore embeds postings so); a no-op for embedders without a token limit."""
        return RayEmbedder(self.inner, self.workers, max_tokens)

    @property
    def dim(self) -> int:
        return self.inner.dim

    def _plan(self, n: int) -> tuple[int, Callable[[], Embedder]]:
        """(texts per actor call, how an actor makes its embedder) reproducing `inner.embed` on n texts."""
        e = self.inner
        step = max(int(getattr(e, "batch_size", 32)) * 4, 1)   # SentenceTransformerEmbedder's encode call
        make: Callable[[], Embedder] = partial(_same, e)
        if isinstance(e, SentenceTransformerEmbedder):
            # A fresh serial embedder sends a call of at most FAST_LIMIT texts, whole, to the numpy twin of the
            # model, and anything larger to sentence-transformers in `step`-sized encode calls: the actors
            # must do the same, whatever the size of the piece each one gets.
            fast = n <= e.FAST_LIMIT
            step = n if fast else step
            make = partial(SentenceTransformerEmbedder, e.name, max_seq_length=e.max_seq_length,
                           batch_size=e.batch_size, fast=fast)
        return step, (partial(_limit, make, self.max_tokens) if self.max_tokens else make)

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(len(texts), dim) float32 vectors, computed by the actors; `progress(n)` after each piece."""
        if len(texts) == 0:
            return self.inner.embed(texts, progress)
        step, make = self._plan(len(texts))
        pieces = [list(texts[s:s + step]) for s in range(0, len(texts), step)]
        out: np.ndarray | None = None
        for n, xb in map_actors(partial(_Embed, make), pieces, self.workers):
            if out is None:
                out = np.zeros((len(texts), xb.shape[1]), dtype=np.float32)
            out[n * step:n * step + len(xb)] = xb
            if progress:
                progress(len(xb))
        return out  # type: ignore[return-value]
