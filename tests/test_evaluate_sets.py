"""Labelled sets: both layouts, malformed sets, the hard-filter oracle, and the project's own mini_fr set."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from matcher.errors import ParseError
from matcher.evaluate import detect_layout, load_set, truth_failures

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "eval" / "mini_fr"
SHARED = ROOT.parent / "shared" / "data" / "labelled"


# --- mini_fr: the set CI runs end to end ----------------------------------------------------------

@pytest.fixture(scope="module")
def mini():
    return load_set(MINI)


def test_mini_fr_follows_the_contract(mini):
    assert mini.layout == "contract" and mini.name == "mini_fr"
    assert (len(mini.postings), len(mini.cvs)) == (16, 8)
    for cv in mini.cvs:
        assert Path(cv["file"]).is_absolute() and Path(cv["file"]).is_file()
        assert {"location", "mobility", "contracts_wanted", "licences", "languages"} <= set(cv["truth"])
    for p in mini.postings:
        assert {"location", "contract", "licences_required", "languages_required", "remote"} <= set(p["truth"])
    # every pair judged, grades 0-3, every CV with something relevant
    assert set(mini.qrels) == {c["id"] for c in mini.cvs}
    for cv_id, judged in mini.qrels.items():
        assert set(judged) == {p["id"] for p in mini.postings}
        assert set(judged.values()) <= {0, 1, 2, 3}
        assert max(judged.values()) >= 2, cv_id
    assert {c["file"].rsplit(".", 1)[1] for c in mini.cvs} == {"pdf", "txt"}


def test_mini_fr_grades_respect_hard_filters_and_rationales(mini):
    for cv in mini.cvs:
        for p in mini.postings:
            grade = mini.qrels[cv["id"]][p["id"]]
            fails = truth_failures(cv["truth"], p["truth"])
            r = mini.rationales.get((cv["id"], p["id"]))
            if fails:
                assert grade == 0, (cv["id"], p["id"], fails)
                assert mini.blocked(cv["id"], p["id"]) is True
            if grade >= 1:
                assert r is not None and r.grade == grade and not r.hard_filter
            if r is not None and r.hard_filter:
                assert grade == 0 and fails
    assert mini.blocked("mini-cv03", "mini-p04") is True       # nurse without the required licence
    assert mini.blocked("mini-cv06", "mini-p05") is False      # 27 km inside a 40 km radius
    assert mini.blocked("mini-cv06", "distractor-x") is None   # a posting added from outside the set


def _load_script(name: str, here: Path):
    spec = importlib.util.spec_from_file_location(f"mini_fr_{name}", MINI / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.HERE = here
    return module


def test_mini_fr_files_are_what_the_scripts_write(tmp_path):
    pytest.importorskip("reportlab")
    from pdfminer.high_level import extract_text

    _load_script("make_cvs", tmp_path).main()
    _load_script("make_set", tmp_path).main()
    for name in ("cvs.jsonl", "postings.jsonl", "qrels.tsv", "rationales.tsv"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (MINI / name).read_text(encoding="utf-8"), name
    for made in (tmp_path / "cvs").iterdir():
        kept = MINI / "cvs" / made.name
        if made.suffix == ".pdf":   # compare text, not bytes: another reportlab version may lay bytes out otherwise
            assert extract_text(str(made)) == extract_text(str(kept)), made.name
        else:
            assert made.read_text(encoding="utf-8") == kept.read_text(encoding="utf-8"), made.name
    assert sorted(p.name for p in (tmp_path / "cvs").iterdir()) == sorted(p.name for p in (MINI / "cvs").iterdir())


def test_mini_fr_pdfs_extract_with_accents(mini):
    from pdfminer.high_level import extract_text

    text = extract_text(mini.cv("mini-cv03")["file"])
    assert "Infirmière diplômée d'État" in text and "Permis B : en cours" in text


# --- the two layouts on the shared data (skipped when shared/ is not beside the repository) -----------

@pytest.mark.skipif(not (SHARED / "dev_fr").is_dir(), reason="shared/data not beside the repository")
def test_dev_fr():
    s = load_set(SHARED / "dev_fr")
    assert (s.layout, len(s.postings), len(s.cvs)) == ("contract", 84, 30)
    assert sum(len(j) for j in s.qrels.values()) == 2520
    assert len(s.rationales) == 324 and sum(r.hard_filter for r in s.rationales.values()) == 138
    assert all(Path(c["file"]).is_file() for c in s.cvs)


@pytest.mark.skipif(not (SHARED / "vanetik_en").is_dir(), reason="shared/data not beside the repository")
def test_vanetik_en():
    s = load_set(SHARED / "vanetik_en")
    assert s.layout == "vanetik"
    assert [p["id"] for p in s.postings] == ["vac1", "vac2", "vac3", "vac4", "vac5"]
    assert s.posting("vac2")["title"] == "Remote Software Developer"
    assert len(s.posting("vac1")["text"]) > 1000
    assert [c["id"] for c in s.cvs][:3] == ["cv1", "cv2", "cv3"] and len(s.cvs) == 30
    assert s.cv("cv1")["file"].endswith("/CV/1.docx")
    assert s.qrels["cv1"] == {"vac1": 2, "vac2": 3, "vac3": 0, "vac4": 1, "vac5": 0}
    assert s.blocked("cv1", "vac1") is None                       # no truth, no rationales: unknown
    assert len(load_set(SHARED / "vanetik_en", qrels_name="qrels_annotator2.tsv").cvs) == 20


def _vanetik_like(root: Path, with_tsv: bool) -> Path:
    (root / "CV").mkdir(parents=True)
    for n in (1, 2):
        (root / "CV" / f"{n}.docx").write_bytes(b"")
    (root / "5_vacancies.csv").write_text('id,job_description,job_title,uid\n'
                                          '8,"Build things,\nwith care",Dev A,u1\n37,Test things,Dev B,u2\n')
    if with_tsv:   # vac1 deliberately maps to the second CSV row
        (root / "vacancies.tsv").write_text("vacancy_id\tcsv_row\tcsv_id\tuid\tjob_title\n"
                                            "vac1\t2\t37\tu2\tDev B\nvac2\t1\t8\tu1\tDev A\n")
    (root / "qrels.tsv").write_text("cv2 0 vac1 3\ncv1 0 vac2 1\n")
    return root


@pytest.mark.parametrize("with_tsv", [True, False])
def test_vanetik_layout_made_here(tmp_path, with_tsv):
    s = load_set(_vanetik_like(tmp_path / "v", with_tsv))
    assert [c["id"] for c in s.cvs] == ["cv1", "cv2"]
    first = s.posting("vac1")
    expected = ("Dev B", "Test things") if with_tsv else ("Dev A", "Build things,\nwith care")
    assert (first["title"], first["text"]) == expected


# --- malformed sets -------------------------------------------------------------------------------

def _contract_set(root: Path, qrels: str = "cv1\t0\tp1\t2\n", cv_file: str = "cvs/cv1.txt") -> Path:
    (root / "cvs").mkdir(parents=True)
    (root / "cvs" / "cv1.txt").write_text("CV")
    (root / "postings.jsonl").write_text(json.dumps({"id": "p1", "title": "T", "text": "x", "truth": {}}) + "\n")
    (root / "cvs.jsonl").write_text(json.dumps({"id": "cv1", "file": cv_file, "truth": {}}) + "\n")
    (root / "qrels.tsv").write_text(qrels)
    return root


def test_contract_set_made_here(tmp_path):
    s = load_set(_contract_set(tmp_path / "s", cv_file="cv1.txt"))   # a file name relative to cvs/ also works
    assert s.qrels == {"cv1": {"p1": 2}} and s.rationales == {}
    assert s.cv("cv1")["file"] == str((tmp_path / "s" / "cvs" / "cv1.txt").resolve())
    assert s.blocked("cv1", "p1") is None
    with pytest.raises(KeyError):
        s.posting("nope")


@pytest.mark.parametrize("qrels, cv_file, message", [
    ("cv1\t0\tp9\t2\n", "cvs/cv1.txt", "unknown ids"),
    ("cv9\t0\tp1\t2\n", "cvs/cv1.txt", "unknown ids"),
    ("cv1\t0\tp1\n", "cvs/cv1.txt", "expected 4 fields"),
    ("cv1\t0\tp1\t2\n", "cvs/absent.pdf", "not found"),
])
def test_malformed_contract_sets(tmp_path, qrels, cv_file, message):
    with pytest.raises(ParseError, match=message):
        load_set(_contract_set(tmp_path / "s", qrels, cv_file))


def test_bad_jsonl_and_unknown_layout(tmp_path):
    root = _contract_set(tmp_path / "s")
    (root / "postings.jsonl").write_text('{"id": "p1"}\n{oops\n')
    with pytest.raises(ParseError, match="line 2: invalid JSON"):
        load_set(root)
    with pytest.raises(ParseError, match="not a labelled set"):
        detect_layout(tmp_path)


# --- hard-filter oracle (contract semantics) ------------------------------------------------------------

HOME = {"city": "Montpellier", "department": "34", "region": "Occitanie", "lat": 43.6108, "lon": 3.8767}
NIMES = {"city": "Nîmes", "department": "30", "region": "Occitanie", "lat": 43.8367, "lon": 4.3601}
EN_C1 = {"lang": "en", "level": "C1"}
PARIS = {"city": "Paris", "department": "75", "region": "Île-de-France", "lat": 48.8566, "lon": 2.3522}


@pytest.mark.parametrize("cv, post, expected", [
    ({"location": HOME}, {"location": NIMES}, []),                                   # default mobility: region
    ({"location": HOME}, {"location": PARIS}, ["location"]),
    ({"location": HOME}, {"location": PARIS, "remote": "full"}, []),
    ({"location": HOME, "mobility": "department"}, {"location": NIMES}, ["location"]),
    ({"location": HOME, "mobility": "list:[30, 34]"}, {"location": NIMES}, []),
    ({"location": HOME, "mobility": "radius_km:40"}, {"location": NIMES}, ["location"]),   # ~46 km
    ({"location": HOME, "mobility": "radius_km:50"}, {"location": NIMES}, []),
    ({"location": HOME, "mobility": "radius_km:500"}, {"location": {"department": "30"}}, ["location"]),
    ({"location": HOME, "mobility": "france"}, {"location": PARIS}, []),
    ({"contracts_wanted": ["CDI"]}, {"contract": "CDD"}, ["contract"]),
    ({"contracts_wanted": []}, {"contract": "Stage"}, []),
    ({"licences": []}, {"licences_required": ["B"], "licences_desired": ["C"]}, ["licence"]),
    ({"licences": ["B"]}, {"licences_required": ["B"]}, []),
    ({"languages": [{"lang": "en", "level": "B2"}]}, {"languages_required": [EN_C1]}, ["language"]),
    ({"languages": [{"lang": "en", "level": "C2"}]}, {"languages_required": [EN_C1]}, []),
    ({"languages": [{"lang": "en"}]}, {"languages_required": [EN_C1]}, ["language"]),   # no level = B2
    ({"languages": [{"lang": "fr", "level": "B1"}]}, {"languages_required": [{"lang": "fr", "level": "C1"}]}, []),
    ({"languages": []}, {"languages_desired": [{"lang": "ro"}]}, []),
])
def test_truth_failures(cv, post, expected):
    assert truth_failures(cv, post, cv_lang="fr") == expected
