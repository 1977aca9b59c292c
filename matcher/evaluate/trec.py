"""Read and write qrels (`qid 0 docid grade`) and runs (`qid Q0 docid rank score tag`) in TREC format."""
from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from ..errors import ParseError
from .metrics import rank_docs

__all__ = ["read_qrels", "write_qrels", "read_run", "write_run"]


def _fields(path: Path, n: int) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-blank line; ParseError when a line has not `n` fields."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ParseError(str(path), f"cannot read: {e}") from e
    rows = []
    for no, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != n:
            raise ParseError(str(path), f"line {no}: expected {n} fields, found {len(parts)}")
        rows.append((no, parts))
    return rows


def _check_ids(*ids: str) -> None:
    for x in ids:
        if not x or any(c.isspace() for c in x):
            raise ValueError(f"id {x!r} cannot be written in a TREC file (empty or contains whitespace)")


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read a TREC qrels file: whitespace-separated `query_id iteration doc_id grade` lines.

    Returns {query_id: {doc_id: grade}}. Raises ParseError on a malformed line, a non-integer grade or
    a pair judged twice with different grades."""
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    for no, (qid, _, doc_id, grade) in _fields(path, 4):
        try:
            value = float(grade)
        except ValueError:
            value = math.nan
        if not value.is_integer() or value < 0:
            raise ParseError(str(path), f"line {no}: grade {grade!r} is not an integer >= 0")
        judged = qrels.setdefault(qid, {})
        if doc_id in judged and judged[doc_id] != int(value):
            raise ParseError(str(path), f"line {no}: ({qid}, {doc_id}) judged twice with different grades")
        judged[doc_id] = int(value)
    return qrels


def write_qrels(qrels: Mapping[str, Mapping[str, int]], path: str | Path) -> None:
    """Write {query_id: {doc_id: grade}} as tab-separated TREC qrels (`qid 0 docid grade`), sorted by ids."""
    lines = []
    for qid in sorted(qrels):
        for doc_id in sorted(qrels[qid]):
            _check_ids(qid, doc_id)
            lines.append(f"{qid}\t0\t{doc_id}\t{int(qrels[qid][doc_id])}\n")
    Path(path).write_text("".join(lines), encoding="utf-8")


def read_run(path: str | Path) -> dict[str, dict[str, float]]:
    """Read a TREC run file: `query_id Q0 doc_id rank score tag` lines.

    Returns {query_id: {doc_id: score}}; the rank column is checked for being an integer but the score
    decides the order (as in trec_eval; `evaluate` breaks ties by doc_id). Raises ParseError on a
    malformed line or a repeated doc."""
    path = Path(path)
    run: dict[str, dict[str, float]] = {}
    for no, (qid, _, doc_id, rank, score, _tag) in _fields(path, 6):
        try:
            int(rank)
            value = float(score)
        except ValueError as e:
            raise ParseError(str(path), f"line {no}: bad rank or score ({e})") from e
        if math.isnan(value):
            raise ParseError(str(path), f"line {no}: score is NaN")
        scores = run.setdefault(qid, {})
        if doc_id in scores:
            raise ParseError(str(path), f"line {no}: {doc_id} appears twice for query {qid}")
        scores[doc_id] = value
    return run


def write_run(run: Mapping[str, Mapping[str, float]], path: str | Path, tag: str = "matcher") -> None:
    """Write {query_id: {doc_id: score}} as a TREC run, ranks from 1 in `rank_docs` order.

    Scores are written with repr() so that reading the file back gives the same floats."""
    _check_ids(tag)
    lines = []
    for qid in sorted(run):
        for rank, doc_id in enumerate(rank_docs(run[qid]), 1):
            _check_ids(qid, doc_id)
            lines.append(f"{qid} Q0 {doc_id} {rank} {float(run[qid][doc_id])!r} {tag}\n")
    Path(path).write_text("".join(lines), encoding="utf-8")
