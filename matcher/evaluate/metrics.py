"""Ranking metrics over plain `{query_id: {doc_id: ...}}` dicts, computed with ranx."""
from __future__ import annotations

import math
import numbers
import re
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal, overload

__all__ = ["evaluate", "rank_docs", "parse_metric", "METRIC_FORMS", "RELEVANT_GRADE"]

# Threshold for the binary metrics (map, mrr, p@k, recall@k): grade 1 ("partial") is not relevant.
RELEVANT_GRADE = 2
METRIC_FORMS = ("ndcg@K", "ndcg", "map", "map@K", "mrr", "mrr@K", "p@K", "recall@K")
_NAME = re.compile(r"^(ndcg|map|mrr|p|recall)(?:@([1-9][0-9]*))?$")
_NEEDS_K = ("p", "recall")

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


def parse_metric(name: str) -> tuple[str, int]:
    """Split a metric name into (family, k); k = 0 means the whole ranking.

    Raises ValueError, listing the valid forms, when the name is not one of METRIC_FORMS."""
    m = _NAME.match(name) if isinstance(name, str) else None
    if m is None or (m.group(1) in _NEEDS_K and m.group(2) is None):
        raise ValueError(f"unknown metric {name!r}; valid: {', '.join(METRIC_FORMS)} (K a positive integer)")
    return m.group(1), int(m.group(2) or 0)


def rank_docs(scores: Mapping[str, float]) -> list[str]:
    """Doc ids by decreasing score; equal scores are ordered by doc_id (ascending string order).

    Args: scores, {doc_id: score} for one query. Returns the ranked doc ids.
    Raises ValueError on a NaN score (it has no place in an order)."""
    for doc_id, score in scores.items():
        if score != score:   # NaN, whatever its float type
            raise ValueError(f"score of {doc_id!r} is NaN")
    return sorted(scores, key=lambda d: (-scores[d], d))


def _check_qrels(qrels: Qrels) -> None:
    for qid, judged in qrels.items():
        for doc_id, grade in judged.items():
            if isinstance(grade, bool) or not isinstance(grade, numbers.Real) or not float(grade).is_integer() \
                    or grade < 0:
                raise ValueError(f"qrels[{qid!r}][{doc_id!r}] = {grade!r}: grades must be integers >= 0")


@overload
def evaluate(qrels: Qrels, run: Run, metrics: str | Iterable[str],
             per_query: Literal[False] = ...) -> dict[str, float]: ...
@overload
def evaluate(qrels: Qrels, run: Run, metrics: str | Iterable[str],
             per_query: Literal[True]) -> tuple[dict[str, float], dict[str, dict[str, float]]]: ...


def evaluate(qrels: Qrels, run: Run, metrics: str | Iterable[str], per_query: bool = False) -> Any:
    """Mean of each metric over the judged queries, like `ranx.evaluate` but with explicit conventions.

    Args:
        qrels: {query_id: {doc_id: grade}}, integer grades 0-3 (0 = judged not relevant).
        run: {query_id: {doc_id: score}}, higher score = better.
        metrics: names from METRIC_FORMS, e.g. ["ndcg@10", "map", "mrr", "p@5", "recall@50"].
        per_query: also return {metric: {query_id: value}}.

    Returns:
        {metric: mean}, or ({metric: mean}, {metric: {query_id: value}}) when per_query is True.

    Conventions (the same as shared/tools/score.py):
        - nDCG uses linear gain, grade / log2(rank + 1), and the ideal ranking of the query's qrels grades.
        - map, mrr, p@K and recall@K count a document as relevant when its grade >= RELEVANT_GRADE (2);
          map divides by the number of relevant documents, p@K by K even when the run is shorter.
        - Order: decreasing score, equal scores by doc_id (see `rank_docs`); that order is what is scored.
        - A query with nothing relevant for a metric (no grade > 0 for nDCG, no grade >= 2 for the
          others) has no value for that metric: it is left out of the mean and out of the per-query
          dict (score.py's `None`). A mean over no query is NaN.
        - Queries of the run that have no qrels are ignored; judged queries missing from the run score 0.
        - Unjudged documents count as not relevant.
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)   # one name, as ranx allows
    if not metrics:
        raise ValueError(f"no metric asked; valid: {', '.join(METRIC_FORMS)}")
    specs = {name: parse_metric(name) for name in metrics}
    _check_qrels(qrels)

    graded: dict[str, list[tuple[str, int]]] = {}   # grade > 0, for nDCG
    binary: dict[str, list[str]] = {}                # grade >= 2, for the other metrics
    for qid, judged in qrels.items():
        gains = [(d, int(g)) for d, g in judged.items() if g > 0]
        if gains:
            graded[qid] = gains
        relevant = [d for d, g in judged.items() if g >= RELEVANT_GRADE]
        if relevant:
            binary[qid] = relevant
    ranked = {qid: rank_docs(run.get(qid, {})) for qid in qrels}

    values: dict[str, dict[str, float]] = {}
    arrays: dict[str, tuple[list[str], Any, Any]] = {}
    for name, (family, k) in specs.items():
        kind = "graded" if family == "ndcg" else "binary"
        judged_q = graded if kind == "graded" else binary
        if kind not in arrays:
            arrays[kind] = _to_ranx(judged_q, ranked, kind)
        qids, ranx_qrels, ranx_run = arrays[kind]
        scores = _ranx_metric(family, ranx_qrels, ranx_run, k) if qids else []
        per_q = {qid: 0.0 for qid in judged_q if not ranked[qid]}   # empty ranking: nothing found
        per_q.update({qid: float(v) for qid, v in zip(qids, scores)})
        values[name] = {qid: per_q[qid] for qid in sorted(per_q)}

    means = {name: (sum(v.values()) / len(v) if v else math.nan) for name, v in values.items()}
    return (means, values) if per_query else means


def _to_ranx(judged: Mapping[str, list], ranked: Mapping[str, list[str]], kind: str) -> tuple[list[str], Any, Any]:
    """Numba typed lists of [[doc_number, value]] rows, for the judged queries that have a ranking.

    Doc ids are numbered per query here (ranx would hash them itself), and the run's scores are
    replaced by n, n-1, ..., 1 so that ranx's own sort cannot reorder ties."""
    import numpy as np
    from numba.typed import List as TypedList

    qids = [qid for qid in judged if ranked[qid]]
    q_rows, r_rows = [], []
    for qid in qids:
        docs = ranked[qid]
        number = {d: i for i, d in enumerate(docs)}
        items = judged[qid] if kind == "graded" else [(d, 1) for d in judged[qid]]
        for d, _ in items:
            number.setdefault(d, len(number))
        # ranx computes the ideal DCG from the qrels rows in the order given: best grade first.
        items = sorted(items, key=lambda x: (-x[1], x[0]))
        q_rows.append(np.array([[number[d], g] for d, g in items], dtype=np.float64))
        n = len(docs)
        r_rows.append(np.array([[number[d], n - i] for i, d in enumerate(docs)], dtype=np.float64))
    return qids, TypedList(q_rows), TypedList(r_rows)


def _ranx_metric(family: str, qrels: Any, run: Any, k: int) -> Any:
    """Per-query values of one ranx metric (low-level API: ranx.evaluate mishandles one metric without mean)."""
    from ranx import metrics as rm

    fn = {"ndcg": rm.ndcg, "map": rm.average_precision, "mrr": rm.reciprocal_rank,
          "p": rm.precision, "recall": rm.recall}[family]
    with warnings.catch_warnings():
        # numba warns about its own uint64 -> int64 loop index in ranx's prange loops; harmless here.
        warnings.filterwarnings("ignore", message=".*unsafe cast from uint64 to int64.*")
        return fn(qrels, run, k)
