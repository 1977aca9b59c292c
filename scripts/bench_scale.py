"""Serial against Ray (`--engine ray`, matcher.scale) for batch embedding and rerank, in one run.

    python scripts/bench_scale.py                          # 500 real postings embedded; 5000 CVs x 500 postings
    python scripts/bench_scale.py --embed 200 --cvs 2000 --new 250 --workers 2

Embedding: the first N postings of ../shared/data/postings/france_travail.jsonl (extracted as `index add` does)
with the real model, each engine from a fresh embedder, model loading included (Ray: the actor pool's start
and one model per actor; the local Ray itself is started before the clock). Rerank: as scripts/bench_rerank.py
(real postings, synthetic CVs, fake vectors at dimension 384: rerank reads stored vectors), one index copied
for each engine. Each figure is checked: the Ray vectors and rerank tables must equal the serial ones.
Prints a table, the ratios and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import numpy as np  # noqa: E402

from bench_rerank import DEFAULT_POSTINGS, synthetic_cvs  # noqa: E402
from matcher.config import Settings  # noqa: E402
from matcher.embed import HashingEmbedder, SentenceTransformerEmbedder  # noqa: E402
from matcher.index.store import IndexStore, document_text  # noqa: E402
from matcher.parse import load_postings  # noqa: E402
from matcher.rerank import rerank  # noqa: E402
from matcher.scale import RayEmbedder  # noqa: E402


def tables(path: Path) -> list:
    con = sqlite3.connect(path / "index.sqlite")
    try:
        return [con.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall()
                for t in ("rerank_topk", "rerank_best", "rerank_entered")]
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--postings", type=Path, default=DEFAULT_POSTINGS, help="a JSONL of postings")
    ap.add_argument("--embed", type=int, default=500, help="postings embedded with the real model (0: skip)")
    ap.add_argument("--cvs", type=int, default=5000, help="CVs in the rerank index (0: skip)")
    ap.add_argument("--new", type=int, default=500, help="new postings reranked against them")
    ap.add_argument("--workers", type=int, default=0, help="Ray actors (0: one per CPU)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ray-first", action="store_true", help="time Ray before serial (the machine's load drifts)")
    a = ap.parse_args()
    # as matcher.scale starts a local Ray: no usage report, workers at this process's priority (Ray's: nice 15)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_worker_niceness", "0")
    import ray
    t = time.perf_counter()
    ray.init(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    ray_start = time.perf_counter() - t
    cpus = int(ray.cluster_resources().get("CPU", 1))
    print(f"cores: {os.cpu_count()}, Ray CPUs: {cpus}, workers: {a.workers or cpus}, local Ray start "
          f"{ray_start:.1f} s (not counted below)", flush=True)
    postings, _ = load_postings([a.postings], Settings())
    out: dict = {"cores": os.cpu_count(), "workers": a.workers or cpus, "ray_start_s": round(ray_start, 2),
                 "first": "ray" if a.ray_first else "serial"}

    if a.embed:
        texts = [document_text(p) for p in postings[:a.embed]]
        runs = {"serial": SentenceTransformerEmbedder(), "ray": RayEmbedder(SentenceTransformerEmbedder(), a.workers)}
        xbs, secs = {}, {}
        for engine in sorted(runs, reverse=not a.ray_first):   # serial first unless --ray-first
            t = time.perf_counter()
            xbs[engine] = runs[engine].embed(texts)
            secs[engine] = time.perf_counter() - t
        serial, xb, t_serial, t_ray = xbs["serial"], xbs["ray"], secs["serial"], secs["ray"]
        diff = float(np.abs(xb - serial).max())
        out["embed"] = {"postings": len(texts), "serial_s": round(t_serial, 1), "ray_s": round(t_ray, 1),
                        "ray_over_serial": round(t_ray / t_serial, 2),
                        "bitwise_equal": bool(np.array_equal(xb, serial)), "max_abs_diff": diff}
        print(f"embedding {len(texts)} postings (all-MiniLM-L6-v2, 256 tokens): serial {t_serial:.1f} s, "
              f"Ray {t_ray:.1f} s, Ray/serial x{t_ray / t_serial:.2f}; bitwise equal: {np.array_equal(xb, serial)} "
              f"(max |diff| {diff:.1e})", flush=True)

    if a.cvs:
        name = "fake-hashing:384"
        settings = Settings(model=name)
        embedder = HashingEmbedder(dim=384, name=name)
        fresh = list(postings)
        random.Random(a.seed).shuffle(fresh)
        work = Path(tempfile.mkdtemp(prefix="matcher-bench-scale-"))
        try:
            seed = work / "seed"
            IndexStore.open(seed, settings, embedder, create=True).add(
                "cvs", synthetic_cvs(a.cvs, postings, random.Random(a.seed + a.cvs)))
            IndexStore.open(seed, settings, embedder).add("postings", fresh[:a.new])
            times = {}
            for engine in (("ray", "serial") if a.ray_first else ("serial", "ray")):
                shutil.copytree(seed, work / engine)
                t = time.perf_counter()
                report = rerank(IndexStore.open(work / engine, settings, None),
                                settings.with_(engine=engine, workers=a.workers), None, k=10)
                times[engine] = time.perf_counter() - t
                print(f"rerank {a.cvs} CVs x {a.new} new postings, {engine}: {times[engine]:.1f} s "
                      f"({len(report.entered)} entries entered a top-10)", flush=True)
            same = tables(work / "serial") == tables(work / "ray")
            out["rerank"] = {"cvs": a.cvs, "new": a.new, "serial_s": round(times["serial"], 1),
                             "ray_s": round(times["ray"], 1),
                             "ray_over_serial": round(times["ray"] / times["serial"], 2), "identical": same}
            print(f"rerank: Ray/serial x{times['ray'] / times['serial']:.2f}; stored results identical: {same}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
