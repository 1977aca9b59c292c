"""Metrics: hand-computed cases, then cross-checks against sklearn, score.py's formulas and ir-measures."""
from __future__ import annotations

import math
import random

import pytest

from matcher.evaluate import evaluate, parse_metric, rank_docs

L = math.log2


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-12, abs=1e-12)


# --- hand-computed cases ------------------------------------------------------------------------

def test_graded_ndcg_uses_linear_gain_and_ideal_from_qrels():
    qrels = {"q": {"a": 3, "b": 2, "c": 1, "d": 0}}
    run = {"q": {"c": 0.9, "a": 0.8, "d": 0.7, "b": 0.6}}          # ranking: c a d b
    got = evaluate(qrels, run, ["ndcg@2", "ndcg@5", "ndcg@10"])
    idcg = 3 / L(2) + 2 / L(3) + 1 / L(4)
    assert got["ndcg@5"] == approx((1 / L(2) + 3 / L(3) + 0 / L(4) + 2 / L(5)) / idcg)
    assert got["ndcg@10"] == got["ndcg@5"]
    assert got["ndcg@2"] == approx((1 / L(2) + 3 / L(3)) / (3 / L(2) + 2 / L(3)))


def test_ndcg_ideal_counts_relevant_documents_the_run_missed():
    qrels = {"q": {"a": 2, "b": 3}}
    run = {"q": {"a": 1.0, "x": 0.5}}                               # b never retrieved, x unjudged
    assert evaluate(qrels, run, ["ndcg@5"])["ndcg@5"] == approx((2 / L(2)) / (3 / L(2) + 2 / L(3)))


def test_map_does_not_count_grade_1_as_relevant():
    qrels = {"q": {"a": 2, "b": 1, "c": 3, "d": 0}}
    run = {"q": {"a": 4.0, "b": 3.0, "d": 2.0, "c": 1.0}}            # relevant (>= 2) at ranks 1 and 4
    got = evaluate(qrels, run, ["map", "map@2"])
    assert got["map"] == approx((1 / 1 + 2 / 4) / 2)
    assert got["map@2"] == approx((1 / 1) / 2)                      # divided by all relevant docs


def test_mrr_first_document_with_grade_2_or_more():
    qrels = {"q1": {"a": 1, "b": 1, "c": 2}, "q2": {"x": 3}}
    run = {"q1": {"a": 3.0, "b": 2.0, "c": 1.0}, "q2": {"x": 1.0, "y": 0.5}}
    got = evaluate(qrels, run, ["mrr"])
    assert got["mrr"] == approx((1 / 3 + 1 / 1) / 2)


def test_precision_at_5_divides_by_5_when_the_run_is_shorter():
    qrels = {"q": {"a": 2, "b": 3, "c": 0, "d": 2}}
    run = {"q": {"a": 0.3, "c": 0.2, "b": 0.1}}                     # 3 docs, 2 relevant
    assert evaluate(qrels, run, ["p@5"])["p@5"] == approx(2 / 5)


def test_recall_at_50_beyond_the_run_length():
    qrels = {"q": {"a": 2, "b": 3, "c": 2, "d": 2, "e": 1}}
    run = {"q": {"a": 0.3, "e": 0.2, "b": 0.1}}                     # finds 2 of the 4 relevant
    got = evaluate(qrels, run, ["recall@10", "recall@50", "recall@1"])
    assert got["recall@50"] == approx(2 / 4)
    assert got["recall@10"] == approx(2 / 4)
    assert got["recall@1"] == approx(1 / 4)


def test_queries_without_relevant_documents_are_left_out_of_the_mean():
    qrels = {
        "full": {"a": 2},                    # relevant for every metric
        "partial": {"a": 1, "b": 0},         # only a grade 1: counts for nDCG, not for the others
        "none": {"a": 0, "b": 0},            # nothing relevant: no value at all
    }
    run = {q: {"a": 1.0, "b": 0.5} for q in qrels}
    means, per_query = evaluate(qrels, run, ["ndcg@10", "map", "mrr", "p@5", "recall@10"], per_query=True)
    assert per_query["ndcg@10"] == {"full": 1.0, "partial": 1.0}
    for m in ("map", "mrr", "p@5", "recall@10"):
        assert set(per_query[m]) == {"full"}
    assert means["map"] == 1.0                                     # not (1 + 0 + 0) / 3
    assert means["p@5"] == approx(1 / 5)


def test_mean_over_no_query_is_nan():
    means = evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["map", "ndcg@5"])
    assert math.isnan(means["map"])
    assert means["ndcg@5"] == 1.0


def test_judged_query_missing_from_run_scores_zero_and_unjudged_run_query_is_ignored():
    qrels = {"q1": {"a": 2}, "q2": {"b": 3}}
    run = {"q1": {"a": 1.0}, "other": {"z": 1.0}}                   # q2 absent
    means, per_query = evaluate(qrels, run, ["ndcg@10", "mrr"], per_query=True)
    assert per_query["ndcg@10"] == {"q1": 1.0, "q2": 0.0}
    assert means["mrr"] == approx((1 + 0) / 2)


def test_ties_are_broken_by_doc_id_whatever_the_insertion_order():
    qrels = {"q": {"b": 2, "a": 0, "c": 0}}
    for run_q in ({"b": 1.0, "a": 1.0, "c": 1.0}, {"c": 1.0, "a": 1.0, "b": 1.0}):
        got = evaluate(qrels, {"q": run_q}, ["mrr", "ndcg@10"])
        assert got["mrr"] == approx(1 / 2)                          # order a, b, c
        assert got["ndcg@10"] == approx((2 / L(3)) / (2 / L(2)))
    assert rank_docs({"z": 2.0, "b": 1.0, "a": 1.0, "y": 3}) == ["y", "z", "a", "b"]


def test_ties_only_among_equal_scores():
    qrels = {"q": {"a": 0, "b": 0, "c": 3}}
    run = {"q": {"a": 0.5, "b": 0.5, "c": 0.9}}                     # c first despite its id
    assert evaluate(qrels, run, ["mrr"])["mrr"] == 1.0


@pytest.mark.parametrize("name", ["ndcg@0", "p", "recall", "precision@5", "NDCG10", "map@", "ndcg@-1", ""])
def test_unknown_metric_raises_listing_valid_ones(name):
    with pytest.raises(ValueError, match=r"valid: ndcg@K.*recall@K"):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["map", name])


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="integers"):
        evaluate({"q": {"a": 1.5}}, {"q": {"a": 1.0}}, ["map"])
    with pytest.raises(ValueError, match="integers"):
        evaluate({"q": {"a": -1}}, {"q": {"a": 1.0}}, ["map"])
    with pytest.raises(ValueError, match="NaN"):
        evaluate({"q": {"a": 1}}, {"q": {"a": float("nan")}}, ["map"])
    with pytest.raises(ValueError, match="integers"):
        evaluate({"q": {"a": float("inf")}}, {"q": {"a": 1.0}}, ["map"])
    with pytest.raises(ValueError, match="no metric"):
        evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, [])


def test_numpy_grades_and_scores_are_accepted():
    np = pytest.importorskip("numpy")
    qrels = {"q": {"a": np.int64(2), "b": np.int64(0)}}
    run = {"q": {"a": np.float32(0.1), "b": np.float32(0.9)}}
    assert evaluate(qrels, run, ["mrr"])["mrr"] == approx(1 / 2)


def test_parse_metric():
    assert evaluate({"q": {"a": 2}}, {"q": {"a": 1.0}}, "mrr") == {"mrr": 1.0}   # a single name, as in ranx
    assert parse_metric("ndcg@10") == ("ndcg", 10)
    assert parse_metric("map") == ("map", 0)
    assert parse_metric("recall@50") == ("recall", 50)


# --- cross-checks on seeded random data ------------------------------------------------------------

def _random_case(seed: int, n_queries: int = 25, n_docs: int = 30, full_run: bool = False):
    rng = random.Random(seed)
    qrels, run = {}, {}
    for i in range(n_queries):
        docs = [f"d{j:02d}" for j in range(n_docs)]
        qrels[f"q{i}"] = {d: rng.choice([0, 0, 0, 0, 1, 1, 2, 3]) for d in docs}
        # Distinct scores, so that every implementation sees the same order whatever its tie rule.
        pool = docs if full_run else rng.sample(docs + [f"u{j}" for j in range(10)], rng.randint(3, 35))
        scores = rng.sample(range(1000), len(pool))
        run[f"q{i}"] = {d: s / 1000 for d, s in zip(pool, scores)}
    return qrels, run


def test_ndcg_agrees_with_sklearn():
    np = pytest.importorskip("numpy")
    from sklearn.metrics import ndcg_score

    qrels, run = _random_case(7, full_run=True)   # sklearn needs every judged doc scored
    _, per_query = evaluate(qrels, run, ["ndcg@5", "ndcg@10"], per_query=True)
    assert len(per_query["ndcg@10"]) == 25
    for qid, judged in qrels.items():
        docs = sorted(judged)
        y_true = np.asarray([[judged[d] for d in docs]], dtype=float)
        y_score = np.asarray([[run[qid][d] for d in docs]])
        for k in (5, 10):
            assert per_query[f"ndcg@{k}"][qid] == pytest.approx(ndcg_score(y_true, y_score, k=k), abs=1e-12)


# score.py's formulas, copied so that the test does not depend on the shared tree.
def _score_py_ndcg(ranked, rel, k):
    dcg = sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in rel.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else None


def _score_py_avg_prec(ranked, rel, thr):
    relevant = {d for d, g in rel.items() if g >= thr}
    if not relevant:
        return None
    hits, s = 0, 0.0
    for i, d in enumerate(ranked):
        if d in relevant:
            hits += 1
            s += hits / (i + 1)
    return s / len(relevant)


def _score_py_mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else float("nan")


@pytest.mark.parametrize("seed", [1, 2])
def test_agrees_with_score_py_formulas(seed):
    qrels, run = _random_case(seed)
    qrels["empty"] = {"d00": 0, "d01": 1}                # no grade >= 2: None for MAP in score.py
    run["empty"] = {"d01": 0.5}
    ranked = {q: sorted(run.get(q, {}), key=lambda d: -run[q][d]) for q in qrels}
    means, per_query = evaluate(qrels, run, ["ndcg@10", "map"], per_query=True)
    assert means["ndcg@10"] == pytest.approx(_score_py_mean(_score_py_ndcg(ranked[q], qrels[q], 10) for q in qrels))
    assert means["map"] == pytest.approx(_score_py_mean(_score_py_avg_prec(ranked[q], qrels[q], 2) for q in qrels))
    for q in qrels:
        expected = _score_py_avg_prec(ranked[q], qrels[q], 2)
        assert per_query["map"].get(q) == (None if expected is None else pytest.approx(expected))


def test_agrees_with_ir_measures():
    ir_measures = pytest.importorskip("ir_measures")
    from ir_measures import AP, P, R, RR, nDCG

    qrels, run = _random_case(3)
    names = {"ndcg@10": nDCG @ 10, "ndcg@5": nDCG @ 5, "map": AP(rel=2), "mrr": RR(rel=2),
             "p@5": P(rel=2) @ 5, "recall@50": R(rel=2) @ 50}
    _, ours = evaluate(qrels, run, list(names), per_query=True)
    theirs: dict = {}
    for m in ir_measures.iter_calc(list(names.values()), qrels, run):
        theirs.setdefault(str(m.measure), {})[m.query_id] = m.value
    for name, measure in names.items():
        assert ours[name], name
        for qid, value in ours[name].items():   # ours leaves out queries with nothing relevant
            assert value == pytest.approx(theirs[str(measure)][qid], abs=1e-9), (name, qid)
