"""The command line through typer's CliRunner, with the fake embedder (MATCHER_MODEL=fake-hashing)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app, match_app

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus" / "postings" / "seeds.jsonl"
CVS = ROOT / "corpus" / "cvs"
runner = CliRunner()


@pytest.fixture
def index(tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHER_MODEL", "fake-hashing")
    idx = tmp_path / "idx"
    r = runner.invoke(app, ["index", "add", str(SEEDS), "--index", str(idx)])
    assert r.exit_code == 0, r.output
    assert "5 added" in r.output
    r = runner.invoke(app, ["index", "add", str(CVS), "--kind", "cvs", "--index", str(idx)])
    assert r.exit_code == 0, r.output
    return idx


def test_match_json_contract(index):
    r = runner.invoke(match_app, [str(CVS / "cv-coordinatrice-ong.txt"), "--index", str(index), "--top", "3",
                                  "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert 1 <= len(out) <= 3
    for m in out:
        assert {"posting_id", "score", "title", "reasons"} <= set(m)
    assert [m["score"] for m in out] == sorted((m["score"] for m in out), reverse=True)
    assert out[0]["posting_id"] == "seed-000"      # the coordinator ad for the coordinator CV


def test_match_table_and_explain(index):
    cv = str(CVS / "cv-mediateur-sante.pdf")
    r = runner.invoke(match_app, [cv, "--index", str(index)])
    assert r.exit_code == 0, r.output
    assert "rank" in r.output and "seed-004" in r.output
    r = runner.invoke(match_app, [cv, "--index", str(index), "--explain", "seed-004"])
    assert r.exit_code == 0, r.output
    assert "seed-004" in r.output and "desires language rom" in r.output and "score" in r.output


def test_filter_overrides(index):
    cv = str(CVS / "cv-coordinatrice-ong.txt")
    wide = json.loads(runner.invoke(match_app, [cv, "--index", str(index), "--json", "--mobility", "france",
                                                "--contract", "any"]).stdout)
    cdd = json.loads(runner.invoke(match_app, [cv, "--index", str(index), "--json", "--mobility", "france",
                                               "--contract", "CDD"]).stdout)
    assert len(cdd) < len(wide) and all(m["contract"] == "CDD" for m in cdd)
    ignored = json.loads(runner.invoke(match_app, [cv, "--index", str(index), "--json", "--contract", "CDD",
                                                   "--ignore-filter", "contract"]).stdout)
    assert len(ignored) > len(cdd)
    r = runner.invoke(match_app, [cv, "--index", str(index), "--ignore-filter", "salary"])
    assert r.exit_code == 1 and "unknown filter" in r.output


def test_bad_inputs_are_one_line_errors(index, tmp_path):
    r = runner.invoke(match_app, [str(tmp_path / "nope.pdf"), "--index", str(index)])
    assert r.exit_code == 1 and "file not found" in r.output
    fake = tmp_path / "cv.pdf"
    fake.write_bytes(b"PK\x03\x04 not a pdf at all")
    r = runner.invoke(match_app, [str(fake), "--index", str(index)])
    assert r.exit_code == 1 and "not a PDF" in r.output and len(r.output.strip().splitlines()) == 1
    r = runner.invoke(match_app, [str(CVS / "cv-coordinatrice-ong.txt"), "--index", str(tmp_path / "none")])
    assert r.exit_code == 1 and "no index" in r.output


def test_index_add_skips_bad_records_and_goes_on(index, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok-1", "title": "Aide-soignant", "text": "Aide-soignant en EHPAD, CDI"}\n'
                   '{"id": "no-text", "title": "x"}\nnot json\n', encoding="utf-8")
    r = runner.invoke(app, ["index", "add", str(bad), "--index", str(index)])
    assert r.exit_code == 0
    assert "1 added" in r.stdout and "no-text" in r.output and "not valid JSON" in r.output
    info = json.loads(runner.invoke(app, ["index", "info", "--index", str(index), "--json"]).stdout)
    assert info["postings"] == 6 and info["cvs"] == 3 and info["consistent"]


def test_candidates_parse_remove_forget(index):
    r = runner.invoke(app, ["candidates", "seed-004", "--index", str(index), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out and {"cv_id", "score"} <= set(out[0])
    r = runner.invoke(app, ["parse", str(CVS / "cv-mediateur-sante.pdf"), "--json"])
    fields = json.loads(r.stdout)
    assert fields["licences"] == [] and {x["lang"] for x in fields["languages"]} >= {"ro", "rom"}
    r = runner.invoke(app, ["parse", str(SEEDS), "--kind", "posting", "--json"])
    seeds = json.loads(r.stdout)
    assert seeds["seed-000"]["licences_required"] == ["B"]
    assert {x["lang"] for x in seeds["seed-004"]["languages_desired"]} == {"ro", "rom"}
    assert seeds["seed-004"]["languages_required"] == []
    assert runner.invoke(app, ["index", "remove", "seed-003", "--index", str(index)]).exit_code == 0
    assert runner.invoke(app, ["forget", "cv-mediateur-sante", "--index", str(index)]).exit_code == 0
    r = runner.invoke(app, ["forget", "cv-mediateur-sante", "--index", str(index)])
    assert r.exit_code == 1 and "no CV" in r.output
    info = json.loads(runner.invoke(app, ["index", "info", "--index", str(index), "--json"]).stdout)
    assert (info["postings"], info["cvs"]) == (4, 2)


def test_eval_on_the_bundled_mini_set(monkeypatch, tmp_path):
    monkeypatch.setenv("MATCHER_MODEL", "fake-hashing")
    r = runner.invoke(app, ["eval", str(ROOT / "eval" / "mini_fr"), "--json", "--report", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["default"] == "hybrid+filters" and out["default"] in out["configs"]
    assert {"tfidf", "bm25", "dense", "hybrid"} <= set(out["configs"])
    for metrics in out["configs"].values():
        assert {"ndcg@10", "map", "mrr", "p@5", "recall@10"} <= set(metrics)
    # hard filters never hurt on a set whose zeros include every filter failure
    assert out["configs"]["hybrid+filters"]["ndcg@10"] >= out["configs"]["hybrid"]["ndcg@10"]
    assert (tmp_path / "rep" / "report.html").stat().st_size > 1000
    assert list((tmp_path / "rep" / "runs").glob("*.run"))


def test_help_is_instant_and_imports_no_heavy_library():
    code = ("import sys; from matcher.cli import app, match_app; "
            "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'transformers') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    r = runner.invoke(match_app, ["--help"])
    assert r.exit_code == 0 and "Examples" in r.output


@pytest.mark.slow
def test_fresh_default_index_with_the_real_model(tmp_path, monkeypatch):
    """`match corpus/cvs/...` with no prior step builds the default index, then reuses it (real model)."""
    import matcher.service as service
    monkeypatch.delenv("MATCHER_MODEL", raising=False)
    monkeypatch.setattr(service, "default_index_dir", lambda: tmp_path / "default")
    cv = str(CVS / "cv-mediateur-sante.pdf")
    r = runner.invoke(match_app, [cv, "--json"])
    assert r.exit_code == 0, r.output
    first = json.loads(r.stdout)
    assert "built the index" in r.output
    again = runner.invoke(match_app, [cv, "--json"])
    assert "built the index" not in again.output
    assert json.loads(again.stdout) == first            # same input, same order and scores
    ids = [m["posting_id"] for m in first]
    assert ids[0] == "seed-004"                          # internship, Romanian and Romani desired
    assert all(m["contract"] in ("Stage", "CDD") for m in first)   # the CV wants a stage or a CDD


@pytest.mark.parametrize("mobility, message", [
    ("radius_km:far", "error: mobility 'radius_km:far': the radius must be a number of km, e.g. radius_km:30"),
    ("radius_km:-5", "error: mobility 'radius_km:-5': the radius must be a number of km, e.g. radius_km:30"),
    ("everywhere", "error: unknown mobility 'everywhere'; valid: department, region, france, list:48,30, "
                   "radius_km:N"),
])
def test_bad_mobility_option_is_one_clear_line(index, mobility, message):
    r = runner.invoke(match_app, [str(CVS / "cv-coordinatrice-ong.txt"), "--index", str(index),
                                  "--mobility", mobility])
    assert r.exit_code == 1
    assert r.stderr.strip() == message and "Traceback" not in r.output


def test_forget_takes_several_ids_in_one_erasure(index):
    r = runner.invoke(app, ["forget", "cv-mediateur-sante", "nobody", "cv-coordinatrice-ong", "--index", str(index)])
    assert r.exit_code == 1
    assert r.stdout.splitlines() == ["erased cv-mediateur-sante", "erased cv-coordinatrice-ong"]
    assert r.stderr.strip() == "error: no CV with id 'nobody' in the index"
    info = json.loads(runner.invoke(app, ["index", "info", "--index", str(index), "--json"]).stdout)
    assert info["cvs"] == 1 and info["consistent"]


def test_forget_an_unknown_cv_on_a_fresh_index_says_so(index):
    r = runner.invoke(app, ["forget", "nobody", "--index", str(index)])
    assert r.exit_code == 1 and r.stderr.strip() == "error: no CV with id 'nobody' in the index"
    r = runner.invoke(app, ["index", "info", "--index", str(index), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["consistent"]
