"""Evaluation: metrics (ranx), TREC files, labelled sets, significance, extraction accuracy, reports."""
from __future__ import annotations

from .extraction import FIELDS, FieldScore, extraction_accuracy
from .metrics import METRIC_FORMS, RELEVANT_GRADE, evaluate, parse_metric, rank_docs
from .oracle import haversine_km, truth_failures
from .report import RESULTS_DOC, format_table, render_html, to_jsonable, write_html, write_json
from .sets import LabelledSet, Rationale, detect_layout, load_set
from .significance import N_RESAMPLES, SEED, Significance, compare_to_baseline, randomisation_test, t_test
from .trec import read_qrels, read_run, write_qrels, write_run

__all__ = [
    "evaluate", "rank_docs", "parse_metric", "METRIC_FORMS", "RELEVANT_GRADE",
    "read_qrels", "write_qrels", "read_run", "write_run",
    "LabelledSet", "Rationale", "load_set", "detect_layout",
    "Significance", "randomisation_test", "t_test", "compare_to_baseline", "N_RESAMPLES", "SEED",
    "FieldScore", "extraction_accuracy", "FIELDS", "truth_failures", "haversine_km",
    "format_table", "write_json", "write_html", "render_html", "to_jsonable", "RESULTS_DOC",
]
