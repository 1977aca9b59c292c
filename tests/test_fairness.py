"""Fairness: protected attributes are masked, and counterfactual CVs get the same scores and the same top-10."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from matcher.config import Settings
from matcher.embed import HashingEmbedder, make_embedder
from matcher.evaluate.fairness import (
    COUNTERFACTUALS,
    EPSILON,
    FairnessReport,
    asks_for_languages,
    candidate_from_text,
    counterfactual_deltas,
    fill,
    load_templates,
)
from matcher.index.store import IndexStore, query_text
from matcher.parse import load_postings
from matcher.parse.mask import mask_identity, mask_protected
from matcher.rank import Matcher

DATA = Path(__file__).parent / "data" / "fairness"
ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------------------------ masking
@pytest.mark.parametrize("text, hidden", [
    ("Nationalité : roumaine", ["roumaine"]),
    ("Née le 14/02/1991 (34 ans) – Nationalité : française", ["Née", "1991", "34", "française"]),
    ("34 ans, nationalité française, permis B", ["34 ans", "française"]),
    ("Nationalité française", ["française"]),
    ("de nationalité bulgare et roumaine", ["bulgare", "roumaine"]),
    ("Nationalités : française / roumaine", ["française", "roumaine"]),
    ("Née en 1991 à Craiova (Roumanie)", ["1991", "Craiova", "Roumanie"]),
    ("Né le 3 mars 1966 à Casablanca, permis B", ["1966", "Casablanca"]),
    ("Date de naissance : 14/02/1991", ["14/02/1991"]),
    ("Lieu de naissance : Bucarest (Roumanie)", ["Bucarest"]),
    ("Âge : 59 ans", ["59"]),
    ("Madame Claire Moreau", ["Madame"]),
    ("M. Julien Moreau", ["M."]),
    ("Civilité : Monsieur", ["Monsieur"]),
    ("Mariée, deux enfants", ["Mariée", "deux enfants"]),
    ("Divorcée, un enfant", ["Divorcée", "enfant"]),
    ("Marié et père de deux enfants", ["Marié", "père", "enfants"]),
    ("Situation familiale : pacsée, 3 enfants", ["pacsée", "3 enfants"]),
    ("Célibataire", ["Célibataire"]),
    ("Bénévole auprès des familles roms du quartier", ["roms"]),
    ("Médiation auprès des Rroms", ["Rroms"]),
    ("Bénévole sur l'aire d'accueil des gens du voyage", ["des gens du voyage"]),
    ("Association tsigane, Montreuil", ["tsigane"]),
    ("Origine : Roumanie", ["Roumanie"]),
])
def test_mask_protected_hides(text: str, hidden: list[str]) -> None:
    masked = mask_protected(text)
    assert len(masked) == len(text)
    for h in hidden:
        assert h not in masked, (text, masked)


@pytest.mark.parametrize("text", [
    "Roumain : langue maternelle",
    "Romani : courant",
    "Langues : roumain (C2), romani (B2), français (C1)",
    "Français : langue maternelle",
    "Maîtrise de la langue française",
    "Aide-soignante diplômée d'État",
    "Éducatrice spécialisée",
    "Diplôme d'État d'éducateur spécialisé",
    "Médiatrice en santé auprès des familles du quartier",
    "15 ans d'expérience en EHPAD",
    "Accompagnement des familles et des enfants",
    "Mobilité : France entière",
    "Permis B, véhicule personnel",
    "Travail de nuit, échafaudages de 12 m. de haut",
    "Aide à domicile auprès des pères de famille isolés",
])
def test_mask_protected_keeps(text: str) -> None:
    assert mask_protected(text) == text


@pytest.mark.parametrize("text, hidden, kept", [
    ("Claire MOREAU\nAide-soignante", ["Claire", "MOREAU"], ["Aide-soignante"]),
    ("Ionela Stoica\nMédiatrice en santé\nionela.stoica@example.com", ["Ionela", "Stoica", "@"], ["Médiatrice"]),
    ("Nom : Stoica\nPrénom : Ionela", ["Stoica", "Ionela"], ["Nom"]),
    ("Monsieur Florin Dumitru\nMédiateur", ["Florin", "Dumitru"], ["Médiateur"]),
    ("Tél. 06 12 48 00 00 – +40 721 234 567", ["06 12", "+40", "721"], ["Tél."]),
    ("+33 (0)6 12 34 56 78 / 0612345678", ["+33", "0612345678"], []),
    ("linkedin.com/in/claire-moreau", ["claire", "moreau"], []),
    ("Aide-soignante diplômée d'État\naide.soignante48@example.org", ["@example"], ["Aide-soignante diplômée d'État"]),
    ("2014-2018  Aide-soignante, 48000 Mende", [], ["2014-2018", "48000 Mende"]),
    ("Secrétaire médicale\nCabinet Martin", [], ["Secrétaire médicale", "Cabinet Martin"]),
])
def test_mask_identity(text: str, hidden: list[str], kept: list[str]) -> None:
    masked = mask_identity(text)
    assert len(masked) == len(text)
    for h in hidden:
        assert h not in masked, (text, masked)
    for k in kept:
        assert k in masked, (text, masked)


def test_every_template_hides_every_protected_value() -> None:
    """What ranking reads of a CV holds none of the values any counterfactual changes."""
    templates = load_templates(DATA)
    for cv_id, template in templates.items():
        for cf in COUNTERFACTUALS:
            if not cf.strict:
                continue
            for values in ({**cf.base}, {**cf.base, **cf.variant}):
                text = query_text(candidate_from_text(cv_id, fill(template, values)))
                for key in ("first_name", "birth_date", "birth_year", "age", "nationality"):
                    if key in values:
                        assert values[key] not in text, (cv_id, cf.name, key)
                for word in ("Madame", "Monsieur", "Née", "Mariée", "Marié", "roms", "rroms", "gens du voyage"):
                    assert f" {word} " not in f" {text} ", (cv_id, cf.name, word)


def test_only_the_romani_posting_asks_for_romanian_or_romani(settings: Settings) -> None:
    postings, errors = load_postings([DATA / "postings.jsonl"], settings)
    assert not errors and len(postings) == 13
    assert [p.id for p in postings if asks_for_languages(p)] == ["fp-04"]


# ------------------------------------------------------------------------------------------ counterfactuals
def _matcher(settings: Settings, embedder, tmp_path: Path) -> tuple[Matcher, list]:
    postings, _ = load_postings([DATA / "postings.jsonl"], settings)
    store = IndexStore.open(tmp_path / "idx", settings, embedder, create=True)
    store.add("postings", postings)
    return Matcher(store, settings, embedder), postings


def _report(settings: Settings, embedder, tmp_path: Path) -> FairnessReport:
    matcher, postings = _matcher(settings, embedder, tmp_path)
    return counterfactual_deltas(matcher, postings, load_templates(DATA))


def _assert_fair(report: FairnessReport) -> None:
    assert report.excluded == ["fp-04"] and report.compared == 12
    strict = [p for p in report.pairs if p.strict]
    assert len(strict) == 4 * sum(cf.strict for cf in COUNTERFACTUALS)
    for p in strict:
        assert p.max_delta <= EPSILON, p
        assert not p.order_changed, p
        assert not p.blocked_changed, p
        assert len(p.top_base) == 10
    assert report.ok()
    # The measure is not blind: adding a volunteering line (not strict) does move scores.
    assert max(p.max_delta for p in report.pairs if not p.strict) > EPSILON


def test_counterfactuals_keep_scores_and_top10_fake_embedder(tmp_path: Path, settings: Settings) -> None:
    report = _report(settings, HashingEmbedder(), tmp_path)
    _assert_fair(report)
    summary = report.summary()
    assert set(summary) == {"gender", "first_name", "age", "nationality", "marital", "roma", "roma_vs_none"}
    for attr in ("gender", "first_name", "age", "nationality", "marital", "roma"):
        assert summary[attr]["max_delta"] <= EPSILON and summary[attr]["order_changes"] == 0


def test_counterfactuals_on_real_cv_files_fake_embedder(tmp_path: Path, settings: Settings) -> None:
    """The repo's own CV files (TXT, PDF, DOCX; no placeholders) become templates with the protected lines
    inserted: the strict counterfactuals keep every score and the top-10."""
    templates = load_templates(ROOT / "corpus" / "cvs")
    assert set(templates) == {"cv-coordinatrice-ong", "cv-mediateur-sante", "cv-travailleuse-sociale"}
    for t in templates.values():
        assert "${nationality}" in t and "${roma}" in t and "${first_name}" in t
        assert "Nationalité roumaine" in fill(t, {"nationality": "roumaine"})
    matcher, postings = _matcher(settings, HashingEmbedder(), tmp_path)
    report = counterfactual_deltas(matcher, postings, templates)
    strict = [p for p in report.pairs if p.strict]
    assert len(strict) == 3 * sum(cf.strict for cf in COUNTERFACTUALS)
    for p in strict:
        assert p.max_delta <= EPSILON and not p.order_changed and not p.blocked_changed, p
    assert max(p.max_delta for p in report.pairs if not p.strict) > EPSILON   # not blind


def _language_boosts(matcher: Matcher, candidate) -> dict[str, set[str]]:
    """{posting id: languages that earned a desired-requirement boost}."""
    return {m.posting_id: {r.detail.split()[2].rstrip(":") for r in m.reasons if r.kind == "language" and r.ok and not r.required}
            for m in matcher.match(candidate, k=13, include_blocked=True)}


def test_languages_count_only_where_the_posting_asks(tmp_path: Path, settings: Settings) -> None:
    """Romanian/Romani earn the desired-language boost on fp-04 only; a Romanian nationality earns nothing."""
    matcher, _ = _matcher(settings, HashingEmbedder(), tmp_path)
    templates = load_templates(DATA)
    mediatrice = candidate_from_text("m", fill(templates["cv-mediatrice-sante"], {}))
    assert {lang.lang for lang in mediatrice.languages} >= {"ro", "rom"}
    boosts = _language_boosts(matcher, mediatrice)
    assert boosts["fp-04"] == {"ro", "rom"} and boosts["fp-13"] == {"en"}
    assert not any(langs for pid, langs in boosts.items() if pid not in ("fp-04", "fp-13"))
    aide = candidate_from_text("a", fill(templates["cv-aide-soignante"], {"nationality": "roumaine"}))
    assert not {"ro", "rom"} & {lang.lang for lang in aide.languages}
    assert _language_boosts(matcher, aide)["fp-04"] == set()


@pytest.mark.slow
def test_counterfactuals_keep_scores_and_top10_real_model(tmp_path: Path) -> None:
    settings = Settings()
    report = _report(settings, make_embedder(settings.model), tmp_path)
    _assert_fair(report)


def test_fairness_report_script(tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("fairness_report", ROOT / "scripts" / "fairness_report.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "fairness.json"
    code = script.main([str(DATA / "postings.jsonl"), str(DATA), "--model", "fake-hashing", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "roma_vs_none" in printed and printed.rstrip().splitlines()[-1].startswith("OK:")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["ok"] and data["excluded_postings"] == ["fp-04"] and data["summary"]["nationality"]["max_delta"] == 0
