"""Train a cross-encoder for re-ranking the engine's top 50, and measure it on held-out CVs.

    python scripts/train_cross_encoder.py kfold ../shared/data/labelled/dev_fr [--out models] [--epochs 2]

No pretrained cross-encoder is available offline, so the model starts from the bundled all-MiniLM-L6-v2
weights (`CrossEncoder(path, num_labels=1)`: the encoder is pretrained, the one-output head is new).

kfold: the set's CVs are split in two halves (seeded). For each fold the model is trained on the pairs of
one half only (target = graded label / 3; pairs = the default engine's top `--top` allowed postings for
each training CV plus that CV's other graded-relevant pairs), w_cross is chosen on that same half (in-sample
for the model, so optimistic), and the held-out half is ranked by the default engine and by the default
engine + re-ranking, scored with nDCG@10 and MAP. Texts are the engine's own: query_text(CV) and
document_text(posting), the pair truncated to 256 tokens. Models are saved under --out (git-ignored), the
figures printed and written to --out/<name>-kfold.json.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.config import Settings  # noqa: E402
from matcher.embed import make_embedder, resolve_model_path  # noqa: E402
from matcher.evaluate.metrics import evaluate  # noqa: E402
from matcher.evaluate.sets import load_set  # noqa: E402
from matcher.index.store import IndexStore, document_text, query_text  # noqa: E402
from matcher.parse import load_cvs  # noqa: E402
from matcher.parse.posting import extract_posting  # noqa: E402
from matcher.rank import Matcher  # noqa: E402

DEPTH = 100
W_GRID = [0.1, 0.2, 0.3, 0.5, 0.7, 1.0]


class CachedScorer:
    """Wraps a CrossScorer: each (CV, posting) pair is scored once; records the time of every real call."""

    def __init__(self, inner):
        self.inner, self.name, self.cache, self.calls = inner, inner.name, {}, []

    def score(self, pairs):
        import numpy as np
        todo = [p for p in dict.fromkeys(pairs) if p not in self.cache]
        if todo:
            t = time.perf_counter()
            got = self.inner.score(todo)
            self.calls.append((len(todo), time.perf_counter() - t))
            self.cache.update(zip(todo, (float(x) for x in got)))
        return np.asarray([self.cache[p] for p in pairs])


def load_data(set_dir: str, base: Settings):
    ls = load_set(set_dir)
    postings = [extract_posting(str(r["id"]), str(r.get("title") or ""), r["text"], str(r.get("source") or ""))
                for r in ls.postings]
    cvs = []
    for r in ls.cvs:
        got, _ = load_cvs([r["file"]], base)
        cvs += [replace(c, id=str(r["id"])) for c in got]
    return ls, postings, cvs


def train(pairs: list[tuple[str, str, float]], out: Path, epochs: int, batch: int, lr: float, seed: int,
          max_minutes: float, max_length: int = 256, freeze: int = 0) -> dict:
    """Fine-tune CrossEncoder(MiniLM, num_labels=1) with BCE on soft targets; a plain torch loop, CPU.
    freeze: the embeddings and this many lower layers are not trained (faster backward pass)."""
    import torch
    from sentence_transformers import CrossEncoder
    torch.manual_seed(seed)
    ce = CrossEncoder(resolve_model_path("all-MiniLM-L6-v2"), num_labels=1, max_length=max_length, device="cpu")
    model, tok = ce.model, ce.tokenizer
    if freeze:
        for mod in [model.bert.embeddings, *model.bert.encoder.layer[:freeze]]:
            for prm in mod.parameters():
                prm.requires_grad_(False)
    model.train()
    opt = torch.optim.AdamW([prm for prm in model.parameters() if prm.requires_grad], lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(pairs) / batch)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(   # linear warm-up over 10 % of the steps, then linear decay
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(seed)
    t0, step, losses, stopped = time.perf_counter(), 0, [], False
    for epoch in range(epochs):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        for b in range(0, len(order), batch):
            rows = [pairs[i] for i in order[b:b + batch]]
            enc = tok([r[0] for r in rows], [r[1] for r in rows], truncation="longest_first",
                      max_length=max_length, padding=True, return_tensors="pt")
            logits = model(**enc).logits.view(-1)
            loss = loss_fn(logits, torch.tensor([r[2] for r in rows], dtype=torch.float32))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            losses.append(float(loss.detach()))
            if step % 10 == 0:
                print(f"  epoch {epoch} step {step}/{steps} loss {statistics.mean(losses[-10:]):.4f} "
                      f"{time.perf_counter() - t0:.0f}s", flush=True)
            if time.perf_counter() - t0 > max_minutes * 60:
                stopped = True
                break
        if stopped:
            print(f"  stopped at the time limit ({max_minutes} min), step {step}/{steps}", flush=True)
            break
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    ce.save(str(out))
    return {"pairs": len(pairs), "max_length": max_length, "frozen_layers": freeze, "steps": step, "planned_steps": steps, "epochs": epochs, "batch": batch,
            "lr": lr, "seconds": round(time.perf_counter() - t0, 1), "stopped_at_limit": stopped,
            "final_loss10": round(statistics.mean(losses[-10:]), 4) if losses else None}


def mean_on(qrels, run, qs, metrics=("ndcg@10", "map")) -> dict:
    q = {k: v for k, v in qrels.items() if k in qs}
    r = {k: v for k, v in run.items() if k in qs}
    return {m: round(v, 4) for m, v in evaluate(q, r, list(metrics)).items()}


def kfold(a) -> None:
    from matcher.crossrank import SentenceCrossEncoder
    base = Settings()
    ls, postings, cvs = load_data(a.set_dir, base)
    emb = make_embedder(base.model, base.max_seq_length, base.batch_size)
    store = IndexStore.open(Path(tempfile.mkdtemp(prefix="matcher-ce-")) / "index", base, emb, create=True)
    store.add("postings", postings)
    store.add("cvs", cvs)
    by_id = {p.id: p for p in postings}
    default = Matcher(store, base, emb)
    ranked = {c.id: default.match(c, k=DEPTH) for c in cvs}
    run_default = {cid: {m.posting_id: m.score for m in got} for cid, got in ranked.items()}
    ids = sorted(c.id for c in cvs if c.id in ls.qrels)
    random.Random(a.seed).shuffle(ids)
    halves = [set(ids[: len(ids) // 2]), set(ids[len(ids) // 2:])]
    cv_by_id = {c.id: c for c in cvs}
    report = {"set": a.set_dir, "seed": a.seed, "top": a.top, "folds": []}
    for fold, (tr, te) in enumerate(((halves[0], halves[1]), (halves[1], halves[0]))):
        pairs = []
        for cid in sorted(tr):
            c = cv_by_id[cid]
            take = [m.posting_id for m in ranked[cid] if not m.blocked][: a.top]
            take += sorted(pid for pid, g in ls.qrels[cid].items() if g > 0 and pid not in take and pid in by_id)
            pairs += [(query_text(c), document_text(by_id[pid]), ls.qrels[cid].get(pid, 0) / 3.0) for pid in take]
        out = Path(a.out) / f"{a.name}-fold{fold}"
        print(f"fold {fold}: training on {len(tr)} CVs, {len(pairs)} pairs -> {out}", flush=True)
        info = train(pairs, out, a.epochs, a.batch, a.lr, a.seed, a.max_minutes, a.max_length, a.freeze)
        scorer = CachedScorer(SentenceCrossEncoder(out))

        def run_with(w, qs):
            m = Matcher(store, base.with_(cross_encoder=str(out), w_cross=w, rerank_top=a.top), emb, cross=scorer)
            return {cid: {x.posting_id: x.score for x in m.match(cv_by_id[cid], k=DEPTH)} for cid in sorted(qs)}

        sweep = {w: mean_on(ls.qrels, run_with(w, tr), tr) for w in W_GRID}
        best = max(W_GRID, key=lambda w: (sweep[w]["ndcg@10"], -w))
        n_calls_before = len(scorer.calls)
        test = {w: mean_on(ls.qrels, run_with(w, te), te) for w in W_GRID}
        row = {"fold": fold, "train_cvs": sorted(tr), "test_cvs": sorted(te), "training": info,
               "train_default": mean_on(ls.qrels, run_default, tr), "train_sweep": sweep, "chosen_w": best,
               "test_default": mean_on(ls.qrels, run_default, te), "test_cross": test[best],
               "test_all_w (not used for the choice)": test,
               "query_calls_s": [(n, round(s, 3)) for n, s in scorer.calls[n_calls_before:]]}
        report["folds"].append(row)
        print(json.dumps({k: v for k, v in row.items() if k not in ("train_cvs", "test_cvs")}), flush=True)
    f = report["folds"]
    report["mean"] = {
        "default": {m: round(statistics.mean(r["test_default"][m] for r in f), 4) for m in ("ndcg@10", "map")},
        "cross": {m: round(statistics.mean(r["test_cross"][m] for r in f), 4) for m in ("ndcg@10", "map")}}
    times = [s for r in f for n, s in r["query_calls_s"] if n == a.top]
    report["seconds_per_query_of_%d_pairs" % a.top] = {
        "median": round(statistics.median(times), 2), "max": round(max(times), 2), "n": len(times)} if times else None
    print(json.dumps({"mean": report["mean"], "timing": report["seconds_per_query_of_%d_pairs" % a.top]}))
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / f"{a.name}-kfold.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))


def bench(a) -> None:
    """Query-time cost: one CV against `--pairs` postings of the set, scored in one call, repeated."""
    from matcher.crossrank import SentenceCrossEncoder
    base = Settings()
    ls = load_set(a.set_dir)
    postings = [extract_posting(str(r["id"]), str(r.get("title") or ""), r["text"]) for r in ls.postings]
    got, _ = load_cvs([ls.cvs[0]["file"]], base)
    pairs = [(query_text(got[0]), document_text(p)) for p in postings[: a.pairs]]
    t = time.perf_counter()
    scorer = SentenceCrossEncoder(a.model)
    first = scorer.score(pairs)
    cold = time.perf_counter() - t
    times, cpu = [], []
    for _ in range(a.repeat):
        t, c = time.perf_counter(), time.process_time()
        again = scorer.score(pairs)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    import os
    print(json.dumps({"pairs": len(pairs), "cold_s (import + load + first call)": round(cold, 2),
                      "warm_s": [round(x, 2) for x in times], "warm_median_s": round(statistics.median(times), 2),
                      "warm_median_cpu_s (all threads)": round(statistics.median(cpu), 2),
                      "max_abs_diff_between_calls": float(abs(first - again).max()),
                      "load_average": os.getloadavg()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    k = sub.add_parser("kfold", help="2-fold by CV on a labelled set: train, choose w_cross, score held out")
    k.add_argument("set_dir")
    k.add_argument("--out", default=str(ROOT / "models"))
    k.add_argument("--name", default="ce-devfr")
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--top", type=int, default=50, help="engine results re-ranked (and trained on) per CV")
    k.add_argument("--epochs", type=int, default=2)
    k.add_argument("--batch", type=int, default=16)
    k.add_argument("--lr", type=float, default=3e-5)
    k.add_argument("--max-minutes", type=float, default=15.0, help="training time limit per model")
    k.add_argument("--max-length", type=int, default=256, help="tokens per (CV, posting) pair, both truncated")
    k.add_argument("--freeze", type=int, default=0, help="lower BERT layers (and embeddings) kept frozen")
    b = sub.add_parser("bench", help="time the scoring of one CV against --pairs postings (query-time cost)")
    b.add_argument("set_dir")
    b.add_argument("model", help="a folder written by kfold")
    b.add_argument("--pairs", type=int, default=50)
    b.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    if a.mode == "kfold":
        kfold(a)
    else:
        bench(a)


if __name__ == "__main__":
    main()
