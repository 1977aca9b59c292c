"""Paired significance tests on hand-made per-query values."""
from __future__ import annotations

import pytest

from matcher.evaluate import compare_to_baseline, randomisation_test, t_test

A = {f"q{i}": v for i, v in enumerate([0.2, 0.5, 0.9, 0.4, 0.7, 0.3, 0.6, 0.8, 0.1, 0.5,
                                        0.4, 0.6, 0.2, 0.9, 0.7, 0.3, 0.5, 0.6, 0.4, 0.8])}
# Better on every query, by varying amounts (a constant shift would make the t statistic infinite).
B = {q: v + 0.1 + 0.01 * i for i, (q, v) in enumerate(A.items())}


def test_identical_systems_give_p_1():
    assert randomisation_test(A, A).p_value == 1.0
    assert t_test(A, A).p_value == 1.0
    assert randomisation_test(A, dict(A)).mean_diff == 0.0


def test_clearly_better_system_gives_small_p():
    r = randomisation_test(A, B)
    # All 20 differences positive: exact p = 2 / 2**20, so no resample reaches the observed value.
    assert r.p_value == pytest.approx(1 / 10_001)
    assert r.n_queries == 20 and r.n_resamples == 10_000
    assert r.mean_diff == pytest.approx(0.1 + 0.01 * 19 / 2)
    t = t_test(A, B)
    assert t.p_value < 1e-6 and t.statistic > 0
    assert t_test(B, A).statistic < 0


def test_randomisation_is_seeded_and_close_to_the_exact_p():
    a = {"x": 0.0, "y": 0.0, "z": 0.0}
    b = {"x": 1.0, "y": 1.0, "z": 1.0}
    # 8 equally likely sign patterns, 2 as extreme as the observed one: exact two-sided p = 1/4.
    first = randomisation_test(a, b)
    assert first.p_value == pytest.approx(0.25, abs=0.02)
    assert randomisation_test(a, b) == first
    assert randomisation_test(a, b, seed=1).seed == 1


def test_only_common_queries_are_used():
    a = {"q1": 0.1, "q2": 0.2, "only_a": 1.0}
    b = {"q1": 0.1, "q2": 0.2, "only_b": 0.0}
    assert randomisation_test(a, b).n_queries == 2
    assert randomisation_test(a, b).p_value == 1.0
    with pytest.raises(ValueError, match="no query in common"):
        randomisation_test({"a": 1.0}, {"b": 1.0})
    with pytest.raises(ValueError, match="at least 2"):
        t_test({"a": 1.0}, {"a": 0.0})


def test_compare_to_baseline():
    per_query = {"base": {"ndcg@10": A, "map": A}, "new": {"ndcg@10": B, "map": A}}
    out = compare_to_baseline(per_query, "base", n_resamples=2000)
    assert set(out) == {"new"}
    assert out["new"]["ndcg@10"]["randomisation"]["p_value"] == pytest.approx(1 / 2001)
    assert out["new"]["map"]["t-test"]["p_value"] == 1.0
    with pytest.raises(ValueError, match="baseline"):
        compare_to_baseline(per_query, "nope")


def test_t_test_with_equal_nonzero_differences_is_infinitely_significant():
    t = t_test({"a": 0.1, "b": 0.5}, {"a": 0.3, "b": 0.7})
    assert t.p_value == 0.0 and t.statistic == float("inf") and t.mean_diff == pytest.approx(0.2)
