"""End to end: extract_posting and extract_candidate on short ads and CVs written for these tests."""
from __future__ import annotations

import time

from matcher.parse.cv import cv_occupation, extract_candidate
from matcher.parse.posting import clean_title, extract_posting

FT_AD = """Aide-soignant de nuit (H/F)
Lieu de travail : 48 - MENDE
Type de contrat : Contrat à durée déterminée - 6 Mois
Expérience : 1 an
Salaire : Horaire de 12,00 Euros sur 12 mois

Le service de soins recrute un aide-soignant pour l'équipe de nuit.
Permis B obligatoire pour les déplacements entre les sites.
Une pratique de l'anglais serait un plus.

Compétences :
- Réaliser des soins d'hygiène (exigé)
- Surveiller l'état de santé
"""

NGO_AD = """Stagiaire appui plaidoyer (F/H)
Stage de 6 mois à pourvoir dès mars, basé à Saint-Denis.
Le programme intervient auprès des communautés Roms vivant en bidonvilles.
Convention de stage obligatoire.
La pratique de la langue roumaine ou romani est un plus.
Télétravail partiel possible.
"""


def test_france_travail_ad() -> None:
    p = extract_posting("t1", "Aide-soignant de nuit (H/F)", FT_AD, "test")
    t = p.truth()
    assert t["location"]["city"] == "Mende" and t["location"]["department"] == "48"
    assert t["location"]["region"] == "Occitanie" and abs(t["location"]["lat"] - 44.52) < 0.05
    assert (p.contract, p.contract_months) == ("CDD", 6)
    assert t["licences_required"] == ["B"] and t["licences_desired"] == []
    assert t["languages_required"] == [] and t["languages_desired"] == [{"lang": "en"}]
    assert p.remote == "none"
    assert p.salary == "Horaire de 12,00 Euros sur 12 mois"
    assert p.skills == ("Réaliser des soins d'hygiène", "Surveiller l'état de santé")
    assert p.occupation == "Aide-soignant de nuit"
    for name in ("location", "contract", "salary"):
        span = p.span(name)
        assert span is not None and FT_AD[span.start:span.end] == span.text
    for r in p.requirements:
        assert r.evidence is not None and FT_AD[r.evidence.start:r.evidence.end] == r.evidence.text


def test_ngo_ad_traps() -> None:
    p = extract_posting("t2", "Stagiaire appui plaidoyer (F/H)", NGO_AD)
    t = p.truth()
    assert (p.contract, p.contract_months) == ("Stage", 6)
    assert t["location"]["department"] == "93"
    assert t["licences_required"] == [] and t["licences_desired"] == []
    assert t["languages_required"] == []
    assert sorted(x["lang"] for x in t["languages_desired"]) == ["ro", "rom"]
    assert p.remote == "partial"
    assert p.span("remote").text.lower().startswith("télétravail")


def test_posting_with_nothing() -> None:
    p = extract_posting("t3", "", "")
    assert p.location is None and p.contract is None and p.requirements == () and p.remote == "unknown"


def test_clean_title() -> None:
    assert clean_title("Secrétaire (H/F)") == "Secrétaire"
    assert clean_title("Data Analyst F/H - Lyon") == "Data Analyst - Lyon"


CV_ONE_COL = """Camille Durand
Aide-soignante diplômée d'État

3 rue du Pont, 48100 Marvejols · 06 39 98 00 00 · camille.durand@example.org

Aide-soignante depuis plus de huit ans en EHPAD.

EXPÉRIENCE PROFESSIONNELLE
Depuis 2017 — Aide-soignante, EHPAD (Marvejols (48))
2012 – 2016 — Vendeuse, Supermarché (Mende (48))

LANGUES
• Français : langue maternelle
• Roumain : langue maternelle
• Anglais : notions

INFORMATIONS COMPLÉMENTAIRES
Permis de conduire : Permis B et C
Mobilité : 30 km autour de Marvejols.
Contrat recherché : Recherche un CDI.
"""

CV_SIDEBAR = """CONTACT
8 avenue Foch, 48000
Mende
06 39 98 00 01
alex.roux@example.org

LANGUES
Français
Espagnol : intermédiaire

DISPONIBILITÉ
Permis de conduire :
Permis B : en cours
Mobilité : Mobile sur toute la
France.

Alex Roux
Animateur – étudiant

Animateur depuis 2022.
"""


def test_cv_one_column() -> None:
    c = extract_candidate("c1", CV_ONE_COL, ref_year=2025)
    assert (c.location.city, c.location.department, c.location.region) == ("Marvejols", "48", "Occitanie")
    assert c.mobility == "radius_km:30"
    assert c.contracts_wanted == ("CDI",)
    assert c.licences == ("B", "C")
    assert [(x.lang, x.level) for x in c.languages] == [("fr", "C2"), ("ro", "C2"), ("en", "A2")]
    assert c.writing_lang == "fr"
    assert c.occupation == "Aide-soignante diplômée d'État"
    assert c.years_experience == 8
    span = c.span("location")
    assert span is not None and CV_ONE_COL[span.start:span.end] == span.text


def test_cv_sidebar_first() -> None:
    c = extract_candidate("c2", CV_SIDEBAR, ref_year=2025)
    assert c.location.city == "Mende"
    assert c.mobility == "france"
    assert c.contracts_wanted == ()
    assert c.licences == ()
    assert [(x.lang, x.level) for x in c.languages] == [("fr", "C2"), ("es", "B1")]
    assert c.occupation == "Animateur"
    assert c.years_experience == 3


def test_cv_silent_defaults() -> None:
    c = extract_candidate("c3", "JEAN MARTIN\nCuisinier\n12 rue Haute, 30000 Nîmes\n")
    assert c.mobility == "region" and c.contracts_wanted == () and c.licences == ()
    assert c.location.department == "30"
    assert [(x.lang, x.level) for x in c.languages] == [("fr", "C2")]


def test_cv_occupation_label() -> None:
    assert cv_occupation("INFORMATIONS\nPOSTE VISÉ Moniteur-éducateur\nPROFIL")[0] == "Moniteur-éducateur"
    assert cv_occupation("POSTE VISÉ\n\nCoordinateur de programmes – santé\n")[0] == "Coordinateur de programmes"


def test_extraction_is_fast() -> None:
    extract_posting("warm", "x", FT_AD)
    t0 = time.perf_counter()
    for i in range(200):
        extract_posting(str(i), "Aide-soignant de nuit (H/F)", FT_AD)
        extract_posting(str(i), "Stagiaire", NGO_AD)
    assert time.perf_counter() - t0 < 2.0
