"""TREC qrels and run files: round trips, the format on disk, malformed lines."""
from __future__ import annotations

import pytest

from matcher.errors import ParseError
from matcher.evaluate import evaluate, read_qrels, read_run, write_qrels, write_run


def test_qrels_round_trip(tmp_path):
    qrels = {"cv-2": {"p1": 0, "p2": 3}, "cv-1": {"ft-48-X": 2, "seed-000": 1}}
    path = tmp_path / "qrels.tsv"
    write_qrels(qrels, path)
    assert path.read_text().splitlines()[0] == "cv-1\t0\tft-48-X\t2"
    assert read_qrels(path) == qrels


def test_run_round_trip_keeps_exact_scores_and_ranks_ties_by_doc_id(tmp_path):
    run = {"q1": {"b": 0.5, "a": 0.5, "c": 0.1 + 0.2, "d": -1e-9}, "q2": {"x": 1}}
    path = tmp_path / "run.txt"
    write_run(run, path, tag="bm25")
    lines = path.read_text().splitlines()
    assert lines[0] == "q1 Q0 a 1 0.5 bm25"
    assert lines[1] == "q1 Q0 b 2 0.5 bm25"
    assert lines[2].startswith("q1 Q0 c 3 0.30000000000000004 ")
    back = read_run(path)
    assert back == run
    qrels = {"q1": {"b": 2, "c": 3}, "q2": {"x": 1}}
    assert evaluate(qrels, back, ["ndcg@10", "mrr"]) == evaluate(qrels, run, ["ndcg@10", "mrr"])


def test_reads_space_or_tab_separated_and_skips_blank_lines(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("q1 0 d1 2\n\nq1\t0\td2\t0\nq2 0 d1 1.0\n")
    assert read_qrels(path) == {"q1": {"d1": 2, "d2": 0}, "q2": {"d1": 1}}


@pytest.mark.parametrize("text, message", [
    ("q1 0 d1\n", "line 1: expected 4 fields"),
    ("q1 0 d1 2\nq1 0 d2 x\n", "line 2: grade"),
    ("q1 0 d1 1.5\n", "not an integer"),
    ("q1 0 d1 2\nq1 0 d1 3\n", "judged twice"),
])
def test_malformed_qrels(tmp_path, text, message):
    path = tmp_path / "q.txt"
    path.write_text(text)
    with pytest.raises(ParseError, match=message):
        read_qrels(path)


@pytest.mark.parametrize("text, message", [
    ("q1 Q0 d1 1 0.5\n", "expected 6 fields"),
    ("q1 Q0 d1 first 0.5 t\n", "bad rank or score"),
    ("q1 Q0 d1 1 nan t\n", "NaN"),
    ("q1 Q0 d1 1 0.5 t\nq1 Q0 d1 2 0.4 t\n", "twice"),
])
def test_malformed_run(tmp_path, text, message):
    path = tmp_path / "r.txt"
    path.write_text(text)
    with pytest.raises(ParseError, match=message):
        read_run(path)


def test_missing_file_is_a_parse_error(tmp_path):
    with pytest.raises(ParseError, match="cannot read"):
        read_qrels(tmp_path / "absent.tsv")


def test_ids_with_spaces_cannot_be_written(tmp_path):
    with pytest.raises(ValueError, match="whitespace"):
        write_run({"q 1": {"d": 1.0}}, tmp_path / "r.txt")
    with pytest.raises(ValueError, match="whitespace"):
        write_qrels({"q": {"d 1": 1}}, tmp_path / "q.txt")
    with pytest.raises(ValueError, match="whitespace"):
        write_run({"q": {"d": 1.0}}, tmp_path / "r.txt", tag="my run")
