"""The eval harness: index a labelled set once, rank it under several configurations, score and compare."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from ..config import Settings
from ..domain import Candidate, Posting
from ..embed import Embedder, make_embedder
from ..errors import ConfigError, ParseError
from ..filters import rejections
from ..index.store import IndexStore
from ..rank import Matcher
from .extraction import extraction_accuracy
from .metrics import evaluate
from .sets import LabelledSet, load_set
from .significance import compare_to_baseline
from .trec import write_run

__all__ = ["METRICS", "BASELINE", "DEFAULT_CONFIG", "configurations", "run_eval", "EvalOutcome"]

METRICS = ["ndcg@5", "ndcg@10", "map", "mrr", "p@5", "recall@10", "recall@50"]
BASELINE = "tfidf"
DEFAULT_CONFIG = "hybrid+filters"
CROSS_CONFIG = DEFAULT_CONFIG + "+cross"   # added when Settings.cross_encoder is set (MATCHER_CROSS_ENCODER)
DEPTH = 100


def configurations(base: Settings) -> dict[str, Settings | None]:
    """The configurations compared side by side; None marks the TF-IDF baselines (not engine settings).
    With `base.cross_encoder` set, every configuration runs without it and CROSS_CONFIG with it."""
    cross, base = base, base.with_(cross_encoder=None)
    nofilter = base.with_(filters=())
    configs: dict[str, Settings | None] = {
        "tfidf": None,
        "tfidf+filters": None,
        "bm25": nofilter.with_(w_dense=0.0, w_title=0.0),
        "bm25+filters": base.with_(w_dense=0.0, w_title=0.0),
        "dense": nofilter.with_(w_lexical=0.0, w_dense=1.0),
        "dense+filters": base.with_(w_lexical=0.0, w_dense=1.0),
        "hybrid": nofilter,
        DEFAULT_CONFIG: base,
    }
    if cross.cross_encoder:
        configs[CROSS_CONFIG] = cross
    return configs


@dataclass
class EvalOutcome:
    """Everything `matcher eval` reports: the results structure of report.RESULTS_DOC plus the runs."""
    results: dict
    runs: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


def _tfidf_runs(postings: list[Posting], cvs: list[Candidate], filtered: bool, kinds: tuple[str, ...]
                ) -> dict[str, dict[str, float]]:
    """What a user writes in an afternoon: scikit-learn TF-IDF cosine of CV text against title + text."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    vec = TfidfVectorizer(strip_accents="unicode", sublinear_tf=True, ngram_range=(1, 2), min_df=1)
    P = vec.fit_transform([f"{p.title}\n{p.text}" for p in postings])
    run: dict[str, dict[str, float]] = {}
    for c in cvs:
        s = (P @ vec.transform([c.text]).T).toarray().ravel()
        keep = [i for i, p in enumerate(postings) if not (filtered and rejections(p, c, kinds))]
        order = sorted(keep, key=lambda i: (-s[i], postings[i].id))[:DEPTH]
        run[c.id] = {postings[i].id: float(s[i]) for i in order}
    return run


def _violations(run: dict[str, dict[str, float]], ls: LabelledSet, k: int = 10) -> dict[str, float]:
    """Share of top-k results the set itself marks as breaking a hard filter."""
    from .metrics import rank_docs
    top = bad = 0
    for cv_id, scores in run.items():
        for pid in rank_docs(scores)[:k]:
            top += 1
            bad += bool(ls.blocked(cv_id, pid))
    return {"top": top, "violations": bad, "share": bad / top if top else 0.0}


def run_eval(set_dir: str | Path, settings: Settings, direction: str = "match",
             distractors: str | Path | None = None, embedder: Embedder | None = None,
             fairness: str | Path | None = None,
             runs_dir: str | Path | None = None, progress: Callable[[str, int | None], Callable[[int], None]] | None = None
             ) -> EvalOutcome:
    """Index the set (and distractors), rank every query under each configuration, score, compare.

    direction: "match" (CV -> postings, queries are CVs) or "candidates" (posting -> CVs)."""
    from ..parse import load_cvs, load_postings
    if direction not in ("match", "candidates"):
        raise ConfigError(f"--direction must be match or candidates, not {direction!r}")
    progress = progress or (lambda label, total: (lambda n: None))
    ls = load_set(set_dir)
    embedder = embedder or make_embedder(settings.model, settings.max_seq_length, settings.batch_size)
    from ..parse.posting import extract_posting
    postings = [extract_posting(str(r["id"]), str(r.get("title") or ""), r["text"], str(r.get("source") or ""))
                for r in ls.postings]
    if distractors:
        extra, errors = load_postings([distractors], settings)
        if errors:
            raise errors[0]
        postings += [p for p in extra if p.id not in {q.id for q in postings}]
    cv_files = [Path(r["file"]) for r in ls.cvs]
    tick = progress("parsing CVs", len(cv_files))
    cvs: list[Candidate] = []
    failed: list[ParseError] = []
    for r in ls.cvs:
        got, errs = load_cvs([r["file"]], settings)
        failed.extend(errs)
        cvs.extend(c.__class__(**{**c.__dict__, "id": str(r["id"])}) for c in got)
        tick(1)
    with tempfile.TemporaryDirectory(prefix="matcher-eval-") as tmp:
        store = IndexStore.open(Path(tmp) / "index", settings, embedder, create=True)
        for kind, items in (("postings", postings), ("cvs", cvs)):
            box: list = []
            store.add(kind, items, progress=lambda n: box[0](n) if box else None,
                      on_total=lambda t, kind=kind: box.append(progress(f"embedding {kind}", t)))
        fair = None
        if fairness:
            from .fairness import counterfactual_deltas, load_templates
            fair = counterfactual_deltas(Matcher(store, settings, embedder), postings, load_templates(fairness))
        runs: dict[str, dict[str, dict[str, float]]] = {}
        configs = configurations(settings)
        qrels = ls.qrels if direction == "match" else _invert(ls.qrels)
        for name, s in configs.items():
            tick = progress(f"ranking: {name}", len(cvs) if direction == "match" else len(postings))
            if s is None:
                if direction != "match":
                    continue
                runs[name] = _tfidf_runs(postings, cvs, filtered=name.endswith("+filters"),
                                         kinds=settings.filters)
                tick(len(cvs))
                continue
            m = Matcher(store, s, embedder)
            run: dict[str, dict[str, float]] = {}
            if direction == "match":
                for c in cvs:
                    run[c.id] = {x.posting_id: x.score for x in m.match(c, k=DEPTH)}
                    tick(1)
            else:
                for p in postings:
                    if p.id in qrels:
                        run[p.id] = {x.cv_id: x.score for x in m.candidates(p.id, k=DEPTH)}  # type: ignore[misc]
                    tick(1)
            runs[name] = run
    means, per_query = {}, {}
    for name, run in runs.items():
        mean, pq = evaluate(qrels, run, METRICS, per_query=True)
        means[name], per_query[name] = mean, pq
    baseline = BASELINE if BASELINE in runs else next(iter(runs))
    results: dict = {
        "default": DEFAULT_CONFIG, "baseline": baseline,
        "title": f"matcher eval: {ls.name} ({direction})",
        "meta": {"set": str(set_dir), "direction": direction, "postings": len(postings), "cvs": len(cvs),
                 "queries": len(qrels), "model": embedder.name, "unreadable_cvs": [str(e) for e in failed],
                 "distractors": str(distractors) if distractors else None},
        "configs": means, "per_query": per_query,
        "significance": compare_to_baseline(per_query, baseline, ["ndcg@10", "map"]),
    }
    if direction == "match" and ls.rationales:
        results["sections"] = {"top-10 hard-filter violations (per the set's rationales)": [
            {"config": n, **_violations(r, ls)} for n, r in runs.items()]}
    gold_p = {str(r["id"]): r.get("truth") or {} for r in ls.postings if r.get("truth")}
    gold_c = {str(r["id"]): r.get("truth") or {} for r in ls.cvs if r.get("truth")}
    extraction = {}
    if gold_p:
        extraction["posting"] = extraction_accuracy({p.id: p.truth() for p in postings}, gold_p, "posting")
    if gold_c:
        extraction["cv"] = extraction_accuracy({c.id: c.truth() for c in cvs}, gold_c, "cv")
    results["extraction"] = extraction
    if fair is not None:
        eps = fair.epsilon
        results.setdefault("sections", {})[
            f"fairness: counterfactual score changes of the default, postings not asking for ro/rom "
            f"(epsilon {eps}; strict = only the protected attribute changes)"] = [
            {"attribute": a, **{k: v for k, v in row.items() if k != "worst"}}
            for a, row in fair.summary().items()]
    if runs_dir:
        out = Path(runs_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, run in runs.items():
            write_run(run, out / f"{ls.name}.{direction}.{_safe(name)}.run", tag=_safe(name))
    return EvalOutcome(results, runs)


def _invert(qrels: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for q, docs in qrels.items():
        for d, g in docs.items():
            out.setdefault(d, {})[q] = g
    return out


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
