"""Language extraction: ISO 639 codes, CEFR levels, required vs desired, Romanian vs Romani vs the Roma people."""
from __future__ import annotations

import pytest

from matcher.parse.extract.language import cv_languages, detect_writing_lang, level_of, posting_languages


def _req(text: str, title: str = "") -> set[tuple[str, bool, str | None]]:
    return {(r.value, r.required, r.level) for r in posting_languages(text, title)}


@pytest.mark.parametrize("text, expected", [
    ("La pratique de la langue roumaine ou romani est un plus.", {("ro", False, None), ("rom", False, None)}),
    ("Langues : français courant à l'oral comme à l'écrit indispensable",
     {("fr", True, "C1")}),
    ("français courant indispensable", {("fr", True, "C1")}),
    ("Anglais (exigé)", {("en", True, None)}),
    ("Langues :\n- Anglais (exigé)", {("en", True, None)}),
    ("Langues :\n- Allemand (souhaité)", {("de", False, None)}),
    ("Anglais B2 minimum exigé.", {("en", True, "B2")}),
    ("Maîtrise de l'anglais, l'allemand est un plus.", {("en", True, None), ("de", False, None)}),
    ("Anglais et espagnol souhaités.", {("en", False, None), ("es", False, None)}),
    ("Bon niveau d'anglais requis ; une autre langue serait un plus.", {("en", True, "B2")}),
    ("Anglais courant / allemand ou espagnol apprécié", {("en", True, "C1"), ("de", False, None),
                                                         ("es", False, None)}),
    ("Parler le roumain est indispensable.", {("ro", True, None)}),
    ("Romani : notions appréciées.", {("rom", False, "A2")}),
    ("Vous êtes bilingue français/arabe.", {("fr", True, "C2"), ("ar", True, "C2")}),
    ("Fluent English required.", {("en", True, "C1")}),
])
def test_posting_languages(text: str, expected: set) -> None:
    assert _req(text) == expected


@pytest.mark.parametrize("text", [
    "Intervention auprès des communautés Roms vivant en bidonvilles.",
    "Médiation en santé auprès des Roms et des gens du voyage.",
    "Accompagnement des familles rroms.",
    "Profil Souhaité :\n-Flexibilité et disponibilité\n-Diplômé d'État Aide-soignant(e) Français\n- Bon relationnel",
    "La méconnaissance du système de santé français est un obstacle.",
    "Cuisine traditionnelle française et italienne.",
])
def test_not_language_requirements(text: str) -> None:
    assert posting_languages(text) == []


def test_romanian_romani_and_rom_are_distinct() -> None:
    got = _req("Langues : roumain courant ; romani apprécié ; la langue rom serait un atout.")
    assert ("ro", True, "C1") in got
    assert ("rom", False, None) in got
    assert {code for code, _, _ in got} == {"ro", "rom"}


def test_teaching_a_language_requires_it() -> None:
    assert _req("Vous dispensez des cours.", title="Professeur / Professeure d'anglais") == {("en", True, "C1")}


@pytest.mark.parametrize("phrase, level", [
    ("courant", "C1"), ("bilingue", "C2"), ("langue maternelle", "C2"), ("intermédiaire", "B1"),
    ("notions", "A2"), ("scolaire", "A2"), ("B2", "B2"), ("c1", "C1"), ("rien", None),
])
def test_level_of(phrase: str, level: str | None) -> None:
    assert level_of(phrase) == level


def _cv(text: str) -> list[tuple[str, str | None]]:
    return [(x.lang, x.level) for x in cv_languages(text, "fr")]


@pytest.mark.parametrize("text, expected", [
    ("LANGUES\nRoumain : langue maternelle\nFrançais : C1 (DALF C1)\nAnglais : B2",
     [("ro", "C2"), ("fr", "C1"), ("en", "B2")]),
    ("Langues\nFrançais\nAnglais : notions", [("fr", "C2"), ("en", "A2")]),
    ("LANGUES\nFrançais\nAnglais : scolaire", [("fr", "C2"), ("en", "A2")]),
    ("Arabe dialectal : courant à l'oral", [("fr", "C2"), ("ar", "C1")]),
    ("Romani : langue maternelle ; Roumain : bilingue ; Français : C1 ; Anglais : A2",
     [("rom", "C2"), ("ro", "C2"), ("fr", "C1"), ("en", "A2")]),
    ("Roumain : langue\nmaternelle", [("fr", "C2"), ("ro", "C2")]),
    ("Espagnol : intermédiaire", [("fr", "C2"), ("es", "B1")]),
    ("Bénévole auprès de familles roms ; soutien scolaire d'enfants roms.", [("fr", "C2")]),
    ("Semestre Erasmus à Bucarest (Roumanie).", [("fr", "C2")]),
])
def test_cv_languages(text: str, expected: list) -> None:
    assert _cv(text) == expected


@pytest.mark.parametrize("text, lang", [
    ("Aide-soignante depuis dix ans dans un EHPAD de la Lozère, je recherche un poste en CDI.", "fr"),
    ("Data engineer with five years of experience in the design of pipelines and of dashboards.", "en"),
])
def test_detect_writing_lang(text: str, lang: str) -> None:
    assert detect_writing_lang(text) == lang
