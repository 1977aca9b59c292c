"""Accuracy of the extracted hard-filter fields against a set's `truth`: P/R/F1 for lists, accuracy for scalars."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FieldScore", "extraction_accuracy", "FIELDS"]


@dataclass(frozen=True)
class FieldScore:
    """Score of one field over a set of documents.

    List fields: tp/fp/fn are summed over items of every document (micro average) and give
    precision/recall/f1; `accuracy` is the share of documents whose whole list is right.
    Scalar fields: `accuracy` only (correct documents / documents); tp/fp/fn and P/R/F1 are None."""
    field: str
    kind: str                       # "list" | "scalar"
    n: int                          # documents scored (those in gold)
    accuracy: float
    tp: int | None = None
    fp: int | None = None
    fn: int | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _scalar(v: Any) -> str | None:
    return None if v is None or v == "" else str(v).strip().casefold()


def _department(truth: Mapping[str, Any]) -> str | None:
    d = _scalar((truth.get("location") or {}).get("department"))
    # "1" and "01" name the same department; Corsica keeps its letters ("2a").
    return d.zfill(2) if d and d.isdigit() else d


def _mobility(truth: Mapping[str, Any]) -> str | None:
    m = _scalar(truth.get("mobility"))
    if m is None:
        return None
    m = re.sub(r"[\s\"']", "", m)
    if m.startswith("list:"):
        codes = sorted(c.zfill(2) if c.isdigit() else c for c in m[5:].strip("[]").split(",") if c)
        return "list:[" + ",".join(codes) + "]"
    if m.startswith("radius_km:"):
        try:
            return f"radius_km:{float(m[10:]):g}"
        except ValueError:
            return m
    return m


def _items(key: str, with_level: bool = False) -> Callable[[Mapping[str, Any]], set[str]]:
    def get(truth: Mapping[str, Any]) -> set[str]:
        out = set()
        for x in truth.get(key) or []:
            if isinstance(x, Mapping):   # a language: {"lang": "ro", "level": "B2"}
                lang = str(x.get("lang", "")).strip().lower()
                out.add(f"{lang}:{str(x.get('level') or '?').strip().upper()}" if with_level else lang)
            else:
                out.add(str(x).strip().casefold())
        return out
    return get


# Hard-filter fields per side: (name, "scalar" | "list", getter from a truth dict).
FIELDS: dict[str, tuple[tuple[str, str, Callable[[Mapping[str, Any]], Any]], ...]] = {
    "posting": (
        ("contract", "scalar", lambda t: _scalar(t.get("contract"))),
        ("location.department", "scalar", _department),
        ("licences_required", "list", _items("licences_required")),
        ("languages_required", "list", _items("languages_required")),
        ("languages_required+level", "list", _items("languages_required", with_level=True)),
    ),
    "cv": (
        ("location.department", "scalar", _department),
        ("mobility", "scalar", _mobility),
        ("contracts_wanted", "list", _items("contracts_wanted")),
        ("licences", "list", _items("licences")),
        ("languages", "list", _items("languages")),
        ("languages+level", "list", _items("languages", with_level=True)),
    ),
}


def extraction_accuracy(predicted: Mapping[str, Mapping[str, Any]], gold: Mapping[str, Mapping[str, Any]],
                        side: str) -> dict[str, FieldScore]:
    """Score extracted `truth` dicts against gold ones, field by field.

    Args:
        predicted: {id: truth dict} as extracted (e.g. Posting.truth() / Candidate.truth()).
        gold: {id: truth dict} from the labelled set; its ids are the documents scored (a missing
            prediction counts as empty).
        side: "posting" or "cv", which selects the fields (see FIELDS).
    Returns {field: FieldScore}. Comparison is case-insensitive; languages compare by ISO code
    ("languages") and by code plus CEFR level ("…+level"). With no item predicted, precision is 1;
    with no item in gold, recall is 1 (nothing to miss)."""
    if side not in FIELDS:
        raise ValueError(f"unknown side {side!r}; valid: {', '.join(FIELDS)}")
    out: dict[str, FieldScore] = {}
    ids = sorted(gold)
    for name, kind, get in FIELDS[side]:
        if kind == "scalar":
            correct = sum(get(predicted.get(i) or {}) == get(gold[i]) for i in ids)
            out[name] = FieldScore(name, kind, len(ids), correct / len(ids) if ids else float("nan"))
            continue
        tp = fp = fn = exact = 0
        for i in ids:
            p, g = get(predicted.get(i) or {}), get(gold[i])
            tp, fp, fn, exact = tp + len(p & g), fp + len(p - g), fn + len(g - p), exact + (p == g)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[name] = FieldScore(name, kind, len(ids), exact / len(ids) if ids else float("nan"),
                               tp, fp, fn, precision, recall, f1)
    return out
