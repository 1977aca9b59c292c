"""Paired significance tests between two systems' per-query values: randomisation test and t-test."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Significance", "randomisation_test", "t_test", "compare_to_baseline",
           "N_RESAMPLES", "SEED"]

N_RESAMPLES = 10_000
SEED = 42


@dataclass(frozen=True)
class Significance:
    """Outcome of one paired test of system b against system a (diff = b - a, per query)."""
    test: str                 # "randomisation" | "t-test"
    n_queries: int            # common queries the test used
    mean_a: float
    mean_b: float
    mean_diff: float          # mean_b - mean_a
    statistic: float          # |mean diff| for randomisation, t for the t-test
    p_value: float            # two-sided
    n_resamples: int | None = None
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _paired(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[list[float], list[float]]:
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("the two systems have no query in common")
    return [float(a[q]) for q in common], [float(b[q]) for q in common]


def randomisation_test(a: Mapping[str, float], b: Mapping[str, float],
                       n_resamples: int = N_RESAMPLES, seed: int = SEED) -> Significance:
    """Paired two-sided randomisation (sign-flip permutation) test on the queries both systems have.

    Args: a, b, {query_id: value} per system; n_resamples, random sign assignments; seed, for numpy's
    default_rng, so that the same inputs always give the same p.
    Returns a Significance with p = (1 + #{resamples with |mean diff| >= observed}) / (1 + n_resamples),
    so p is never 0 and identical systems get p = 1."""
    import numpy as np

    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, not {n_resamples}")
    xa, xb = _paired(a, b)
    diff = np.asarray(xb) - np.asarray(xa)
    observed = abs(diff.mean())
    rng = np.random.default_rng(seed)
    # Tolerance so that a resample equal to the observed value up to float rounding counts as extreme.
    tol = 1e-12 * max(1.0, observed)
    hits, left = 0, n_resamples
    while left:   # chunks bound the memory of the sign matrix on large query sets
        m = min(left, 1000)
        signs = rng.choice((-1.0, 1.0), size=(m, diff.size))
        hits += int(np.count_nonzero(np.abs(signs @ diff) / diff.size >= observed - tol))
        left -= m
    return Significance("randomisation", diff.size, float(np.mean(xa)), float(np.mean(xb)),
                        float(diff.mean()), float(observed), (hits + 1) / (n_resamples + 1),
                        n_resamples, seed)


def t_test(a: Mapping[str, float], b: Mapping[str, float]) -> Significance:
    """Paired two-sided Student t-test (scipy.stats.ttest_rel) on the queries both systems have.

    Returns a Significance. Degenerate cases, where the t statistic is undefined: every difference 0
    gives p = 1; every difference equal and non-zero gives t = ±inf and p = 0.
    Raises ValueError with fewer than 2 common queries."""
    from scipy import stats

    xa, xb = _paired(a, b)
    if len(xa) < 2:
        raise ValueError("a paired t-test needs at least 2 common queries")
    mean_a, mean_b = sum(xa) / len(xa), sum(xb) / len(xb)
    if all(x == y for x, y in zip(xa, xb)):
        return Significance("t-test", len(xa), mean_a, mean_b, 0.0, 0.0, 1.0)
    diffs = [y - x for x, y in zip(xa, xb)]
    mean_diff = sum(diffs) / len(diffs)
    if max(diffs) - min(diffs) <= 1e-12 * max(abs(d) for d in diffs):
        # Equal non-zero differences: no variance, t is infinite (scipy would warn and lose precision).
        return Significance("t-test", len(xa), mean_a, mean_b, mean_diff, math.copysign(math.inf, mean_diff), 0.0)
    res = stats.ttest_rel(xb, xa)
    return Significance("t-test", len(xa), mean_a, mean_b, mean_diff, float(res.statistic), float(res.pvalue))


def compare_to_baseline(per_query: Mapping[str, Mapping[str, Mapping[str, float]]], baseline: str,
                        metrics: list[str] | None = None, n_resamples: int = N_RESAMPLES,
                        seed: int = SEED) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Both tests of every configuration against `baseline`, as JSON-ready dicts.

    Args: per_query, {config: {metric: {query_id: value}}} (evaluate(..., per_query=True)[1] per config);
    baseline, the reference config; metrics, which ones (default: all the baseline has).
    Returns {config: {metric: {"randomisation": {...}, "t-test": {...}}}} for every config but the baseline."""
    if baseline not in per_query:
        raise ValueError(f"baseline {baseline!r} not among the configurations: {', '.join(per_query)}")
    metrics = list(metrics or per_query[baseline])
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for name, values in per_query.items():
        if name == baseline:
            continue
        out[name] = {}
        for metric in metrics:
            if metric not in values or metric not in per_query[baseline]:
                continue
            a, b = per_query[baseline][metric], values[metric]
            tests = {"randomisation": randomisation_test(a, b, n_resamples, seed).to_dict()}
            if len(set(a) & set(b)) >= 2:
                tests["t-test"] = t_test(a, b).to_dict()
            out[name][metric] = tests
    return out
