"""Grid-search ranking settings on a labelled set, with a 2-fold split of its queries against over-fitting.

    python scripts/tune.py ../shared/data/labelled/dev_fr [--grid small|full] [--seed 0]

The set is indexed once (real model). Every setting of the grid is scored on all queries; then, for each
half of the queries (a seeded random split), the best setting on that half is scored on the other half.
The held-out figure is the honest one: the shipped defaults were chosen on all of dev_fr.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.config import Settings  # noqa: E402
from matcher.embed import make_embedder  # noqa: E402
from matcher.evaluate.metrics import evaluate  # noqa: E402
from matcher.evaluate.sets import load_set  # noqa: E402
from matcher.index.store import IndexStore  # noqa: E402
from matcher.parse import load_cvs  # noqa: E402
from matcher.parse.posting import extract_posting  # noqa: E402
from matcher.rank import Matcher  # noqa: E402

GRIDS = {
    "small": {"bm25_k1": [1.2, 5.0], "w_dense": [0.0, 0.3], "w_title": [0.0, 0.2], "w_occupation": [0.0, 0.3],
              "diploma_penalty": [0.0, 0.1], "w_rome": [0.0, 0.2], "w_rome_domain": [0.0, 0.05]},
    "full": {"stemming": [False, True], "bm25_k1": [1.2, 3.0, 5.0, 8.0], "w_dense": [0.0, 0.2, 0.3, 0.4],
             "w_title": [0.0, 0.2, 0.5], "w_occupation": [0.0, 0.2, 0.3, 0.5], "diploma_penalty": [0.0, 0.1, 0.2],
             "w_rome": [0.0, 0.05, 0.1, 0.2, 0.3], "w_rome_domain": [0.0, 0.02, 0.05]},
    # the ROME occupation-code signal alone, every other setting at its default
    "rome": {"w_rome": [0.0, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3], "w_rome_domain": [0.0, 0.02, 0.05, 0.1]},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("set_dir")
    ap.add_argument("--grid", choices=sorted(GRIDS), default="small")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    ls = load_set(a.set_dir)
    base = Settings()
    emb = make_embedder(base.model, base.max_seq_length, base.batch_size)
    postings = [extract_posting(str(r["id"]), str(r.get("title") or ""), r["text"]) for r in ls.postings]
    cvs = []
    for r in ls.cvs:
        got, _ = load_cvs([r["file"]], base)
        cvs += [replace(c, id=str(r["id"])) for c in got]
    store = IndexStore.open(Path(tempfile.mkdtemp(prefix="matcher-tune-")) / "index", base, emb, create=True)
    store.add("postings", postings)
    store.add("cvs", cvs)
    grid = GRIDS[a.grid]
    rows = []
    for values in itertools.product(*grid.values()):
        changes = dict(zip(grid, values))
        if changes.get("w_dense") == 0.0 and "w_lexical" not in changes:
            changes["w_lexical"] = 1.0
        else:
            changes["w_lexical"] = 1.0 - changes.get("w_dense", base.w_dense)
        s = base.with_(**changes)
        m = Matcher(store, s, emb)
        run = {c.id: {x.posting_id: x.score for x in m.match(c, k=100)} for c in cvs}
        _, pq = evaluate(ls.qrels, run, ["ndcg@10", "map"], per_query=True)
        rows.append((changes, pq))
    queries = sorted(ls.qrels)
    random.Random(a.seed).shuffle(queries)
    folds = [set(queries[: len(queries) // 2]), set(queries[len(queries) // 2:])]

    def mean(pq, metric, qs):
        vals = [v for q, v in pq[metric].items() if q in qs]
        return sum(vals) / len(vals) if vals else float("nan")

    everything = set(queries)
    rows.sort(key=lambda r: -mean(r[1], "ndcg@10", everything))
    print("best settings on all queries (nDCG@10, MAP):")
    for changes, pq in rows[:10]:
        print(f"  {mean(pq, 'ndcg@10', everything):.4f} {mean(pq, 'map', everything):.4f}  {changes}")
    default = {k: getattr(base, k) for k in grid}
    dflt = next((r for r in rows if all(r[0][k] == default[k] for k in grid)), None)
    if dflt is None:     # every grid holds the defaults; a hand-edited one may not
        dflt = (default, {m: {} for m in ("ndcg@10", "map")})
    print(f"default settings on all queries: {mean(dflt[1], 'ndcg@10', everything):.4f} "
          f"{mean(dflt[1], 'map', everything):.4f}  {default}")
    held = []
    for i, (train, test) in enumerate(((folds[0], folds[1]), (folds[1], folds[0]))):
        best = max(rows, key=lambda r: mean(r[1], "ndcg@10", train))
        held.append({"fold": i, "chosen_on_train": best[0],
                     "train_ndcg@10": round(mean(best[1], "ndcg@10", train), 4),
                     "test_ndcg@10": round(mean(best[1], "ndcg@10", test), 4),
                     "test_map": round(mean(best[1], "map", test), 4),
                     "default_test_ndcg@10": round(mean(dflt[1], "ndcg@10", test), 4)})
    print("2-fold: settings chosen on one half, scored on the other:")
    for h in held:
        print("  ", json.dumps(h, ensure_ascii=False))
    print(json.dumps({"held_out_ndcg@10": round(sum(h["test_ndcg@10"] for h in held) / 2, 4),
                      "held_out_map": round(sum(h["test_map"] for h in held) / 2, 4)}))


if __name__ == "__main__":
    main()
