"""Benchmark of `matcher rerank`: time to re-rank C indexed CVs after N new postings, embeddings already computed.

    python scripts/bench_rerank.py                                  # 2.5k/5k/10k CVs x 125/250/500 postings
    python scripts/bench_rerank.py --cvs 10000 --new 500 --base 1000   # 1000 postings reranked before

Postings are real ones (../shared/data/postings/france_travail.jsonl by default, extracted as `index add`
does); CVs are synthetic (sentences of other postings, random place, mobility, contracts, licences and
languages) so that any size can be built. Vectors come from the fake hashing embedder at the model's
dimension: rerank never embeds, it reads stored vectors, so its time does not depend on the model.
Each cell times a fresh process-like open of the index (snapshot loaded from its cache) plus the run.
Prints a table, the growth ratios and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.config import Settings  # noqa: E402
from matcher.domain import Candidate, Language, Posting  # noqa: E402
from matcher.embed import HashingEmbedder  # noqa: E402
from matcher.index.store import IndexStore  # noqa: E402
from matcher.parse import load_postings  # noqa: E402
from matcher.rerank import rerank  # noqa: E402

DEFAULT_POSTINGS = ROOT.parent / "shared" / "data" / "postings" / "france_travail.jsonl"


def synthetic_cvs(n: int, postings: list[Posting], rng: random.Random) -> list[Candidate]:
    """CVs made of sentences from random postings, with fields drawn like a regional job-seeker population."""
    sentences = [s.strip() for p in postings for s in re.split(r"(?<=[.!?\n])\s+", p.text) if len(s.split()) > 4]
    places = [p.location for p in postings if p.location is not None and p.location.city]
    mobilities = ["region", "department", "france", "radius_km:30", "radius_km:60", "list:[48,30,34]"]
    contracts = [(), ("CDI",), ("CDI", "CDD"), ("CDD", "Intérim"), ("Alternance",)]
    licences = [(), ("B",), ("B",), ("B", "C"), ("B", "CE")]
    langs = [(), (Language("en", "B2"),), (Language("en", "C1"), Language("es", "B1")), (Language("ro", None),)]
    out = []
    for i in range(n):
        words, parts = 0, []
        while words < 220:
            s = rng.choice(sentences)
            parts.append(s)
            words += len(s.split())
        out.append(Candidate(id=f"cv-{i:05d}", text="\n".join(parts), location=rng.choice(places),
                             mobility=rng.choice(mobilities), contracts_wanted=rng.choice(contracts),
                             licences=rng.choice(licences), languages=rng.choice(langs)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--postings", type=Path, default=DEFAULT_POSTINGS, help="a JSONL of postings")
    ap.add_argument("--cvs", default="2500,5000,10000", help="CV counts, comma-separated")
    ap.add_argument("--new", default="125,250,500", help="new posting counts, comma-separated")
    ap.add_argument("--base", type=int, default=0, help="postings indexed and reranked before the new ones")
    ap.add_argument("--dim", type=int, default=384, help="vector dimension (all-MiniLM-L6-v2: 384)")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cv_counts = [int(x) for x in a.cvs.split(",")]
    new_counts = [int(x) for x in a.new.split(",")]
    name = f"fake-hashing:{a.dim}"
    settings = Settings(model=name)
    embedder = HashingEmbedder(dim=a.dim, name=name)
    rng = random.Random(a.seed)
    postings, errors = load_postings([a.postings], settings)
    need = a.base + max(new_counts)
    if len(postings) < need:
        raise SystemExit(f"{a.postings} holds {len(postings)} postings; --base + max(--new) needs {need}")
    rng.shuffle(postings)
    base, fresh = postings[: a.base], postings[a.base: need]
    work = Path(tempfile.mkdtemp(prefix="matcher-bench-rerank-"))
    rows = []
    try:
        for n_cvs in cv_counts:
            seed_dir = work / f"seed-{n_cvs}"
            store = IndexStore.open(seed_dir, settings, embedder, create=True)
            if base:
                store.add("postings", base)
            store.add("cvs", synthetic_cvs(n_cvs, postings, random.Random(a.seed + n_cvs)))
            if base:
                rerank(store, settings, None, k=a.k)  # the earlier runs: not timed
            for n_new in new_counts:
                cell = work / f"run-{n_cvs}-{n_new}"
                shutil.copytree(seed_dir, cell)
                IndexStore.open(cell, settings, embedder).add("postings", fresh[:n_new])
                t = time.perf_counter()
                report = rerank(IndexStore.open(cell, settings, None), settings, None, k=a.k)
                secs = time.perf_counter() - t
                rows.append({"cvs": n_cvs, "new": n_new, "base": a.base, "seconds": round(secs, 2),
                             "entered": len(report.entered), "scored": len(report.scored_postings)})
                print(f"{n_cvs:>6} CVs x {n_new:>4} new postings (+{a.base} old): {secs:7.2f} s  "
                      f"({len(report.entered)} entries entered a top-{a.k})", flush=True)
                shutil.rmtree(cell, ignore_errors=True)
            shutil.rmtree(seed_dir, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    by = {(r["cvs"], r["new"]): r["seconds"] for r in rows}
    c_hi, n_hi = max(cv_counts), max(new_counts)
    print(f"cores available: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}")
    for c in cv_counts[:-1]:
        print(f"growth with CVs at {n_hi} new: x{by[(c_hi, n_hi)] / by[(c, n_hi)]:.2f} time for x{c_hi / c:.1f} CVs")
    for n in new_counts[:-1]:
        print(f"growth with postings at {c_hi} CVs: x{by[(c_hi, n_hi)] / by[(c_hi, n)]:.2f} time "
              f"for x{n_hi / n:.1f} postings")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
