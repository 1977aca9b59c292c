"""Reports: terminal table, JSON file, self-contained HTML with two embedded PNG plots."""
from __future__ import annotations

import base64
import json
import math
import re

import pytest

from matcher.evaluate import (compare_to_baseline, evaluate, extraction_accuracy, format_table, render_html,
                              write_html, write_json)

QRELS = {"cv1": {"p1": 3, "p2": 1, "p3": 0}, "cv2": {"p1": 0, "p2": 2, "p3": 3}, "cv3": {"p3": 2, "p1": 1}}
RUNS = {
    "hybrid": {"cv1": {"p1": 0.9, "p2": 0.5, "p3": 0.1}, "cv2": {"p3": 0.8, "p2": 0.6}, "cv3": {"p3": 1.0}},
    "bm25-only": {"cv1": {"p2": 0.9, "p1": 0.5}, "cv2": {"p1": 0.8, "p2": 0.6}, "cv3": {"p1": 1.0, "p3": 0.2}},
}
METRICS = ["ndcg@10", "map", "mrr", "p@5", "recall@10"]


def _results(per_query: bool = True) -> dict:
    configs, pq = {}, {}
    for name, run in RUNS.items():
        configs[name], pq[name] = evaluate(QRELS, run, METRICS, per_query=True)
    out = {"default": "hybrid", "title": "mini <test>", "meta": {"set": "mini_fr", "queries": 3},
           "configs": configs,
           "significance": compare_to_baseline(pq, "hybrid", n_resamples=500),
           "extraction": {"posting": extraction_accuracy({"p1": {"contract": "CDI"}},
                                                         {"p1": {"contract": "CDI"}}, "posting")},
           "sections": {"Timing": [{"config": "hybrid", "seconds": 1.25}, {"config": "bm25-only", "seconds": 0.5}]}}
    if per_query:
        out["per_query"] = pq
    return out


def test_terminal_table():
    text = format_table(_results())
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("config") and "ndcg@10" in line)
    assert header.split() == ["config", *METRICS]
    assert any(line.startswith("* hybrid") for line in lines)
    assert any(line.startswith("  bm25-only") for line in lines)
    assert "Significance vs hybrid" in text and "Extraction accuracy (posting)" in text and "Timing" in text
    assert "1.2500" in text


def test_json_file(tmp_path):
    results = _results()
    results["configs"]["hybrid"]["extra"] = math.nan                 # JSON has no NaN: written as null
    path = write_json(results, tmp_path / "r.json")
    data = json.loads(path.read_text())
    assert data["default"] == "hybrid"
    assert data["configs"]["hybrid"]["extra"] is None
    assert data["configs"]["bm25-only"]["map"] == pytest.approx(results["configs"]["bm25-only"]["map"])
    assert data["extraction"]["posting"]["contract"]["accuracy"] == 1.0   # dataclasses became dicts
    assert set(data["per_query"]["hybrid"]["ndcg@10"]) == {"cv1", "cv2", "cv3"}


def test_html_is_self_contained_with_two_plots(tmp_path):
    path = write_html(_results(), tmp_path / "r.html")
    page = path.read_text()
    assert "hybrid" in page and "bm25-only" in page
    assert "mini &lt;test&gt;" in page                               # escaped
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2
    assert all(base64.b64decode(b).startswith(b"\x89PNG\r\n\x1a\n") for b in images)
    assert "http://" not in page and "https://" not in page


def test_html_without_per_query_values_has_one_plot_and_says_so():
    page = render_html(_results(per_query=False))
    assert page.count('<img src="data:image/png;base64,') == 1
    assert "No per-query ndcg@10 values" in page


def test_significance_is_titled_by_the_baseline_when_there_is_one():
    results = _results()
    results["baseline"] = "bm25-only"
    results["significance"] = compare_to_baseline(results["per_query"], "bm25-only", n_resamples=100)
    text = format_table(results)
    assert "Significance vs bm25-only" in text and "* hybrid" in text
    results["baseline"] = "nope"
    with pytest.raises(ValueError, match="baseline"):
        format_table(results)


def test_invalid_results():
    with pytest.raises(ValueError, match="configs"):
        format_table({"default": "x", "configs": {}})
    with pytest.raises(ValueError, match="default"):
        format_table({"default": "x", "configs": {"y": {"map": 0.5}}})
