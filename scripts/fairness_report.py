"""Counterfactual fairness report: score deltas and top-k order changes per protected attribute.

    python scripts/fairness_report.py POSTINGS_JSONL CV_DIR [--model MODEL] [--out fairness.json]

CV_DIR holds CV templates with ${placeholders} (see tests/data/fairness/ and matcher/evaluate/fairness.py).
The postings are indexed in a temporary directory with the real model by default (--model fake-hashing
for a quick run). Prints one row per attribute and writes the full JSON; exits 1 when a strict
counterfactual moves a score by more than ε or changes a top-k order.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.config import DEFAULT_MODEL, Settings  # noqa: E402
from matcher.embed import make_embedder  # noqa: E402
from matcher.evaluate.fairness import EPSILON, counterfactual_deltas, load_templates  # noqa: E402
from matcher.index.store import IndexStore  # noqa: E402
from matcher.parse import load_postings  # noqa: E402
from matcher.rank import Matcher  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("postings", type=Path, help="a postings JSONL file")
    ap.add_argument("cv_dir", type=Path, help="a folder of .txt CV templates")
    ap.add_argument("--model", default=DEFAULT_MODEL, help=f"embedding model (default {DEFAULT_MODEL})")
    ap.add_argument("--out", type=Path, default=Path("fairness.json"), help="where to write the JSON report")
    ap.add_argument("--top", "-k", type=int, default=10, help="the top-k whose order is compared")
    ap.add_argument("--epsilon", type=float, default=EPSILON, help=f"largest allowed score delta ({EPSILON})")
    args = ap.parse_args(argv)

    settings = Settings(model=args.model)
    embedder = make_embedder(settings.model, settings.max_seq_length, settings.batch_size)
    postings, errors = load_postings([args.postings], settings)
    for e in errors:
        print(f"skipped {e}", file=sys.stderr)
    if not postings:
        print(f"error: no posting could be read from {args.postings}", file=sys.stderr)
        return 2
    templates = load_templates(args.cv_dir)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fairness-index-") as tmp:
        store = IndexStore.open(Path(tmp) / "index", settings, embedder, create=True)
        store.add("postings", postings)
        report = counterfactual_deltas(Matcher(store, settings, embedder), postings, templates,
                                       k=args.top, epsilon=args.epsilon)
    elapsed = time.monotonic() - started

    print(f"{len(templates)} CVs × {len(postings)} postings ({report.compared} compared, excluded as asking "
          f"for Romanian/Romani: {', '.join(report.excluded) or 'none'}), model {args.model}, "
          f"ε = {report.epsilon}, top-{report.k}, {elapsed:.0f} s")
    head = f"{'attribute':<14}{'strict':<8}{'pairs':>6}{'max Δ':>10}{'mean Δ':>10}{'order chg':>11}{'> ε':>5}"
    print(head)
    print("-" * len(head))
    for attr, row in report.summary().items():
        print(f"{attr:<14}{'yes' if row['strict'] else 'no':<8}{row['pairs']:>6}{row['max_delta']:>10.4f}"
              f"{row['mean_delta']:>10.4f}{row['order_changes']:>11}{row['above_epsilon']:>5}")
    worst = sorted(report.pairs, key=lambda p: -p.max_delta)[:5]
    if worst and worst[0].max_delta > 0:
        print("largest deltas:")
        for p in worst:
            if p.max_delta > 0:
                print(f"  {p.max_delta:.4f}  {p.cv_id}: {p.name} (on {p.worst_posting})"
                      f"{'' if p.strict else '  [not strict: also adds an activity]'}")
    out = {"postings": str(args.postings), "cv_dir": str(args.cv_dir), "model": args.model,
           "seconds": round(elapsed, 1), **report.to_dict()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"{'OK' if report.ok() else 'FAILED'}: strict counterfactuals within ε and no top-{report.k} order "
          f"change{'' if report.ok() else ' (see above)'}; JSON written to {args.out}")
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
