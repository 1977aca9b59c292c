"""Remote work, salary text, experience years and skill lists."""
from __future__ import annotations

import pytest

from matcher.parse.extract.experience import cv_years_experience, number_of, posting_experience_years
from matcher.parse.extract.remote import posting_remote
from matcher.parse.extract.salary import posting_salary
from matcher.parse.extract.skills import cv_skills, list_blocks, posting_skills


@pytest.mark.parametrize("text, title, remote", [
    ("Télétravail partiel possible.", "Chargé de projet", "partial"),
    ("Poste 100% télétravail.", "Développeur", "full"),
    ("Full remote, partout en France.", "Data engineer", "full"),
    ("Accord de télétravail de 2 jours par semaine (1 jour en présentiel obligatoire).", "Juriste", "partial"),
    ("Pas de télétravail possible.", "Comptable", "none"),
    ("Travail en équipe de jour.", "Aide-soignant (H/F)", "none"),
    ("Accueil des enfants de 3 à 6 ans.", "Animateur périscolaire", "none"),
    ("Gestion du courrier et des agendas.", "Secrétaire médicale", "unknown"),
    ("Accueil du public et gestion administrative.", "Agent administratif et d'accueil", "none"),
    ("Pilotage des projets.", "Coordinateur de projets", "unknown"),
])
def test_posting_remote(text: str, title: str, remote: str) -> None:
    assert posting_remote(text, title)[0] == remote


@pytest.mark.parametrize("text, salary", [
    ("Titre\nSalaire : Mensuel de 2043,00 Euros à 2100,00 Euros sur 12 mois\n\nTexte",
     "Mensuel de 2043,00 Euros à 2100,00 Euros sur 12 mois"),
    ("Conditions\nSalaire brut mensuel de 3 175 euros\nMutuelle", "Salaire brut mensuel de 3 175 euros"),
    ("Rémunération : selon convention collective 66", "selon convention collective 66"),
    ("Aucune information sur la paie.", None),
])
def test_posting_salary(text: str, salary: str | None) -> None:
    got, span = posting_salary(text)
    assert got == salary
    if span is not None:
        assert text[span.start:span.end] == span.text


@pytest.mark.parametrize("text, years", [
    ("Expérience : 2 ans", 2.0), ("Expérience : Débutant accepté", 0.0), ("Expérience : 6 mois", 0.5),
    ("Rien ici", None),
])
def test_posting_experience(text: str, years: float | None) -> None:
    assert posting_experience_years(text)[0] == years


@pytest.mark.parametrize("text, occupation, years", [
    ("Depuis 2016 — Aide-soignante, EHPAD\n2014 – 2016 — Aide-soignante (intérim)\n"
     "2008 – 2013 — Agent de service hospitalier", "Aide-soignante", 11),
    ("Infirmière\nCHU – Lyon (69) | 2002 – 2006\nInfirmière coordinatrice\nEHPAD – Mende (48) | Depuis 2016",
     "Infirmière", 13),
    ("Maçon depuis 22 ans, dont 5 comme chef d'équipe.", "Maçon", 22),
    ("Vingt ans d'expérience en gestion de programmes.", "Coordinateur de programmes", 20),
    ("2021 – 2024 Stages infirmiers\nDepuis 2024 — Infirmier, clinique", "Infirmier", 1),
    ("Étudiante en BUT, bénévole 2023 – 2025 auprès de familles.", "Étudiante BUT Carrières sociales", 0),
    ("2014 — Diplôme d'État d'aide-soignant", "Aide-soignant", None),
])
def test_cv_years(text: str, occupation: str, years: float | None) -> None:
    assert cv_years_experience(text, occupation, ref_year=2025) == years


@pytest.mark.parametrize("word, n", [("12", 12), ("quinze", 15), ("dix-sept", 17), ("vingt", 20), ("chat", None)])
def test_number_of(word: str, n: float | None) -> None:
    assert number_of(word) == n


def test_list_blocks_and_skills() -> None:
    text = ("Compétences :\n- Accueillir le public (exigé)\n- Gérer un planning\n\n"
            "Langues :\n- Anglais (souhaité)\n")
    items = list_blocks(text, "langues?")
    assert [(i.text, i.marker) for i in items] == [("Anglais", "souhaité")]
    assert text[items[0].span.start:items[0].span.end] == "Anglais"
    assert posting_skills(text) == ("Accueillir le public", "Gérer un planning")


def test_cv_skills() -> None:
    text = "COMPÉTENCES\n\nSoins d'hygiène – Prévention des chutes – Transmissions\n\nLANGUES\nFrançais"
    assert cv_skills(text) == ("Soins d'hygiène", "Prévention des chutes", "Transmissions")
