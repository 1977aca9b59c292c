"""Internal mobility: the staff register, current roles, gaps checked exactly, blocked roles, the reverse direction."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher import Place, Posting, Requirement
from matcher.cli import app
from matcher.index.store import IndexStore, document_text
from matcher.lexical import BM25Index, analyze
from matcher.mobility import (Gap, is_current_role, load_register, missing_terms, rank_register,
                              rank_staff)
from matcher.rank import Matcher

from .conftest import FLORAC, MENDE, NIMES, candidate

REGISTER = Path(__file__).parent / "data" / "register"
MARVEJOLS = Place(city="Marvejols", department="48", region="Occitanie", lat=44.5543, lon=3.2904)
MONTPELLIER = Place(city="Montpellier", department="34", region="Occitanie", lat=43.6109, lon=3.8772)
B = Requirement("licence", "B", True)
EN_B2 = Requirement("language", "en", True, "B2")


def _p(pid: str, title: str, text: str, place: Place, contract: str = "CDI", reqs=(), skills=()) -> Posting:
    return Posting(id=pid, title=title, text=text, location=place, contract=contract, requirements=reqs,
                   skills=skills, remote="none")


POSTINGS = [
    _p("as-ehpad-mende", "Aide-soignant EHPAD (H/F)",
       "Aide-soignant en EHPAD : soins d'hygiène et de confort, transmissions ciblées.", MENDE,
       skills=("soins d'hygiène", "transmissions ciblées")),
    _p("as-domicile-florac", "Aide-soignant à domicile",
       "Soins d'hygiène à domicile auprès de personnes âgées. Permis B obligatoire.", FLORAC, reqs=(B,),
       skills=("soins d'hygiène",)),
    _p("as-nuit-nimes", "Aide-soignant de nuit",
       "Aide-soignant de nuit en service de médecine : soins d'hygiène, surveillance.", NIMES,
       skills=("soins d'hygiène",)),
    _p("as-remplacement", "Aide-soignant remplacement été",
       "Remplacement d'été en EHPAD, soins d'hygiène et aide aux repas.", MENDE, contract="CDD",
       skills=("soins d'hygiène",)),
    _p("as-accueil-en", "Aide-soignant accueil touristes",
       "Accueil et soins d'hygiène pour une clientèle internationale ; anglais B2 exigé.", MENDE, reqs=(EN_B2,),
       skills=("soins d'hygiène",)),
    _p("ide-mende", "Infirmier en EHPAD",
       "Infirmier diplômé d'État : pansements complexes, préparation des traitements, soins d'hygiène.", MENDE,
       skills=("pansements complexes", "préparation des traitements", "soins d'hygiène")),
    _p("cuisine-marvejols", "Cuisinier H/F", "Cuisinier en cuisine centrale : production de repas, HACCP.",
       MARVEJOLS, skills=("HACCP",)),
    _p("second-cuisine", "Second de cuisine",
       "Second de cuisine en restauration collective : HACCP, gestion des stocks, encadrement d'équipe.", MENDE,
       contract="CDD", skills=("HACCP", "gestion des stocks", "encadrement d'équipe")),
    # no extracted skills: its gaps are its distinctive words absent from the CV
    _p("secretariat-montpellier", "Secrétaire médicale",
       "Secrétaire médicale en cabinet de radiologie : accueil, planification des examens, cotation des actes, "
       "facturation.", MONTPELLIER),
]


@pytest.fixture
def store(tmp_path, settings, embedder):
    s = IndexStore.open(tmp_path / "idx", settings, embedder, create=True)
    s.add("postings", POSTINGS)
    return s


@pytest.fixture
def register(settings):
    return load_register(REGISTER / "register.jsonl", settings)


def _gaps(*pairs: tuple[str, str]) -> tuple[Gap, ...]:
    return tuple(Gap(k, d) for k, d in pairs)


def test_register_jsonl_with_roles_and_overrides(register):
    assert register.errors == []
    by_id = {s.id: s for s in register.staff}
    assert list(by_id) == ["emp-001", "emp-002", "emp-003"]
    assert by_id["emp-001"].current_role == "as-ehpad-mende"
    assert by_id["emp-002"].current_role == "Cuisinière"
    # extracted from the CV text ...
    assert by_id["emp-002"].parsed.contracts_wanted == ("CDI", "CDD")
    assert by_id["emp-003"].parsed.mobility == "department"
    # ... and overridden by the register
    assert by_id["emp-002"].candidate.contracts_wanted == ("CDI",)
    assert by_id["emp-003"].candidate.mobility == "region"
    assert by_id["emp-001"].candidate.location.department == "48"


def test_register_folder_uses_file_stems(settings):
    reg = load_register(REGISTER, settings)
    assert [s.id for s in reg.staff] == ["bastien-roux", "chloe-pradier", "ines-valat"]
    assert all(s.current_role is None for s in reg.staff)


def test_bad_register_records_are_reported(tmp_path, settings):
    (tmp_path / "a.txt").write_text((REGISTER / "ines-valat.txt").read_text(encoding="utf-8"), encoding="utf-8")
    lines = [{"id": "ok", "cv": "a.txt"}, {"id": "no-cv"}, {"id": "bad-contract", "cv": "a.txt",
             "contracts_wanted": ["CDX"]}, {"id": "bad-mob", "cv": "a.txt", "mobility": "radius_km:far"},
             {"id": "missing", "cv": "nope.txt"}, {"id": "ok", "cv": "a.txt"}]
    reg_file = tmp_path / "r.jsonl"
    reg_file.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n", encoding="utf-8")
    reg = load_register(reg_file, settings)
    assert [s.id for s in reg.staff] == ["ok"]
    reasons = [e.reason for e in reg.errors]
    assert reasons[0] == "a staff record needs an 'id' and a 'cv' file"
    assert reasons[1].startswith("unknown contract 'CDX'")
    assert reasons[2] == "mobility 'radius_km:far': the radius must be a number of km, e.g. radius_km:30"
    assert reasons[3] == "file not found"
    assert reasons[4] == "staff id 'ok' appears twice"
    assert reasons[5] == "not valid JSON"


def test_current_role_by_id_or_title():
    cook = POSTINGS[6]
    assert is_current_role("cuisine-marvejols", cook)
    assert is_current_role("Cuisinière", cook) and is_current_role("cuisinier", cook)
    assert not is_current_role("Second de cuisine", cook)
    assert not is_current_role(None, cook)


def test_missing_terms_for_a_posting_without_skills():
    docs = [_p("a", "Secrétaire médicale", "Secrétaire médicale au cabinet Durand : planification des examens, "
               "cotation des actes. Durand recrute.", MENDE),
            _p("b", "Agent d'accueil", "Accueil, planification des rendez-vous, cotation. Contact : Durand.", MENDE),
            _p("c", "Cuisinière", "Cuisine de collectivité, cotation des stocks.", MENDE)]
    lexical = BM25Index.build([d.id for d in docs], [analyze(document_text(d)) for d in docs])
    cv = candidate("cv", "Secrétaire d'accueil. Cuisinier de collectivité.")
    # title words first; then body words another posting uses, by BM25 weight; never a capitalised name
    # ("Durand"), a one-off word ("cabinet", "examens"), a place ("Mende") or a word the CV has
    assert missing_terms(docs[0], cv, lexical) == ["médicale", "planification", "cotation"]
    assert missing_terms(docs[2], cv, lexical) == ["cotation"]   # "Cuisinière" is the CV's "Cuisinier"


def test_gaps_are_exact_and_blocked_roles_come_last(store, settings, embedder, register):
    results = {r.staff_id: r for r in rank_register(store, settings, embedder, register, k=20, include_blocked=True)}
    ines = results["emp-001"]
    assert ines.excluded == ("as-ehpad-mende",)               # her current role, by id
    got = {m.posting_id: (m.blocked, m.gaps) for m in ines.matches}
    assert got == {
        "ide-mende": ((), _gaps(("skill", "not in the CV: pansements complexes"),
                                ("skill", "not in the CV: préparation des traitements"))),
        "cuisine-marvejols": ((), _gaps(("skill", "not in the CV: HACCP"))),
        "as-domicile-florac": (("licence",), _gaps(("licence", "requires licence B: missing"))),
        "as-accueil-en": (("language",), _gaps(("language", "requires language en B2: missing"))),
        "as-nuit-nimes": (("location",), _gaps(("location", "Nîmes (30) is outside department 48"))),
        "as-remplacement": (("contract",), _gaps(("contract", "CDD not wanted (wants CDI)"))),
        "second-cuisine": (("contract",), _gaps(("contract", "CDD not wanted (wants CDI)"),
                                                ("skill", "not in the CV: HACCP"),
                                                ("skill", "not in the CV: gestion des stocks"),
                                                ("skill", "not in the CV: encadrement d'équipe"))),
        "secretariat-montpellier": (("location",), _gaps(
            ("location", "Montpellier (34) is outside department 48"), ("skill", "not in the CV: médicale"),
            ("skill", "not in the CV: secrétaire"),       # no skills extracted: title words first,
            ("skill", "not in the CV: accueil"))),        # then body words another posting also uses
    }
    flags = [bool(m.blocked) for m in ines.matches]
    assert flags == sorted(flags) and flags.count(False) == 2  # every unblocked role first


def test_without_include_blocked_only_open_roles(store, settings, embedder, register):
    results = {r.staff_id: r for r in rank_register(store, settings, embedder, register, k=20)}
    assert [m.posting_id for m in results["emp-001"].matches] == ["ide-mende", "cuisine-marvejols"]
    assert all(not m.blocked for r in results.values() for m in r.matches)


def test_scores_are_those_of_match(store, settings, embedder, register):
    ines = register.staff[0]
    results = rank_register(store, settings, embedder, register, k=3)
    direct = Matcher(store, settings, embedder).match(ines.candidate, k=3)
    assert [(m.posting_id, m.score) for m in results[0].matches] == \
        [(m.posting_id, m.score) for m in direct if m.posting_id != "as-ehpad-mende"]


def test_current_role_by_title_and_overrides(store, settings, embedder, register):
    results = {r.staff_id: r for r in rank_register(store, settings, embedder, register, k=20, include_blocked=True)}
    bastien = results["emp-002"]
    assert bastien.excluded == ("cuisine-marvejols",)         # "Cuisinière" is the cook's posting
    assert "cuisine-marvejols" not in [m.posting_id for m in bastien.matches]
    second = next(m for m in bastien.matches if m.posting_id == "second-cuisine")
    assert second.blocked == ("contract",)                    # the register says CDI only; the CV said CDI or CDD
    chloe = results["emp-003"]                                # mobility overridden to the region
    secretariat = chloe.matches[0]
    assert secretariat.posting_id == "secretariat-montpellier" and not secretariat.blocked
    assert secretariat.gaps == ()  # her CV has the title's words; the body's are used by no other posting
    # the same CV without the override keeps its department mobility
    plain = rank_register(store, settings, embedder, load_register(REGISTER, settings), k=20, include_blocked=True)
    m = next(m for m in plain[1].matches if m.posting_id == "secretariat-montpellier")
    assert m.blocked == ("location",) and m.gaps[0] == Gap("location", "Montpellier (34) is outside department 30")


def test_register_cvs_are_indexed_once(store, settings, embedder, register):
    rank_register(store, settings, embedder, register, k=2)
    snap = store.snapshot()
    assert snap.cvs.ids == ["emp-001", "emp-002", "emp-003"]
    assert snap.cvs.records["emp-002"].contracts_wanted == ("CDI", "CDD")  # overrides stay in the register
    gen = store.generation()
    rank_register(store, settings, embedder, register, k=2)
    assert store.generation() == gen                           # unchanged CVs: nothing re-added


def test_staff_for_a_posting(store, settings, embedder, register):
    got = rank_staff(store, settings, embedder, register, "as-nuit-nimes", k=10, include_blocked=True)
    assert [(m.staff_id, m.blocked) for m in got][-1] == ("emp-001", ("location",))
    assert {m.staff_id for m in got if not m.blocked} == {"emp-002", "emp-003"}
    assert got[-1].gaps[0] == Gap("location", "Nîmes (30) is outside department 48")
    assert all(g == Gap("skill", "not in the CV: soins d'hygiène") for m in got[:2] for g in m.gaps)
    open_only = rank_staff(store, settings, embedder, register, "as-nuit-nimes", k=10)
    assert [m.staff_id for m in open_only] == [m.staff_id for m in got[:2]]
    # a person is not proposed for the role they hold
    holders = rank_staff(store, settings, embedder, register, "as-ehpad-mende", k=10, include_blocked=True)
    assert "emp-001" not in [m.staff_id for m in holders]


def _env(tmp_path):
    return {"MATCHER_MODEL": "fake-hashing", "MATCHER_INDEX": str(tmp_path / "unused")}


def test_cli_mobility_json_csv_and_table(store, tmp_path):
    runner = CliRunner()
    reg = str(REGISTER / "register.jsonl")
    r = runner.invoke(app, ["mobility", reg, "--index", str(store.path), "--json", "--include-blocked"],
                      env=_env(tmp_path))
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [d["staff_id"] for d in data] == ["emp-001", "emp-002", "emp-003"]
    first = data[0]["matches"][0]
    assert {"posting_id", "score", "gaps"} <= set(first)
    kinds = {g["kind"] for d in data for m in d["matches"] for g in m["gaps"]}
    assert kinds == {"licence", "language", "location", "contract", "skill"}
    r = runner.invoke(app, ["mobility", reg, "--index", str(store.path), "--csv", "--top", "2"], env=_env(tmp_path))
    assert r.exit_code == 0, r.output
    rows = r.stdout.strip().splitlines()
    assert rows[0] == "staff_id,rank,posting_id,title,score,blocked,gaps"
    assert rows[1].startswith("emp-001,1,ide-mende,Infirmier en EHPAD,")
    assert rows[1].endswith("skill: not in the CV: pansements complexes; "
                            "skill: not in the CV: préparation des traitements")
    r = runner.invoke(app, ["mobility", reg, "--index", str(store.path)], env=_env(tmp_path))
    assert r.exit_code == 0 and "emp-001" in r.stdout and "as-ehpad-mende left out" in r.stdout


def test_cli_candidates_with_register(store, tmp_path):
    r = CliRunner().invoke(app, ["candidates", "as-nuit-nimes", "--register", str(REGISTER / "register.jsonl"),
                                 "--index", str(store.path), "--json", "--include-blocked"], env=_env(tmp_path))
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data[-1]["staff_id"] == "emp-001" and data[-1]["blocked"] == ["location"]
    assert data[-1]["gaps"][0] == {"kind": "location", "detail": "Nîmes (30) is outside department 48"}
    r = CliRunner().invoke(app, ["candidates", "nope", "--register", str(REGISTER), "--index", str(store.path)],
                           env=_env(tmp_path))
    assert r.exit_code == 1 and "no posting with id 'nope'" in r.output


def test_staff_scores_are_those_of_candidates_on_a_staff_only_index(tmp_path, store, settings, embedder, register):
    only = IndexStore.open(tmp_path / "staff-only", settings, embedder, create=True)
    only.add("postings", POSTINGS)
    only.add("cvs", [s.candidate for s in register.staff])
    direct = Matcher(only, settings, embedder).candidates("as-nuit-nimes", k=10, include_blocked=True)
    got = rank_staff(store, settings, embedder, register, "as-nuit-nimes", k=10, include_blocked=True)
    assert [(m.staff_id, m.score, m.blocked) for m in got] == [(m.cv_id, m.score, m.blocked) for m in direct]
