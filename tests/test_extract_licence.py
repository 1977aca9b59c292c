"""Driving-licence extraction: required vs desired in postings, held vs not held in CVs, and the traps."""
from __future__ import annotations

import pytest

from matcher.parse.extract.licence import held_licences, posting_licences


def _req(text: str) -> set[tuple[str, bool]]:
    return {(r.value, r.required) for r in posting_licences(text)}


@pytest.mark.parametrize("text, expected", [
    ("Permis B obligatoire", {("B", True)}),
    ("Le permis B est indispensable.", {("B", True)}),
    ("Permis B exigé", {("B", True)}),
    ("Vous devez posséder le permis B.", {("B", True)}),
    ("Impérativement titulaire du permis B.", {("B", True)}),
    ("Prérequis :\n* Permis B\n* Ponctualité", {("B", True)}),
    ("Condition obligatoire : avoir 2 ans de permis B.", {("B", True)}),
    ("Permis :\n- B - Véhicule léger (exigé)", {("B", True)}),
    ("Permis :\n- B - Véhicule léger (souhaité)", {("B", False)}),
    ("Permis :\n- B - Véhicule léger (exigé)\n- C - Poids lourd (souhaité)", {("B", True), ("C", False)}),
    ("permis B souhaité", {("B", False)}),
    ("Le permis B serait un plus.", {("B", False)}),
    ("Permis B apprécié.", {("B", False)}),
    ("Idéalement, permis B.", {("B", False)}),
    ("Permis C exigé (permis CE apprécié)", {("C", True), ("CE", False)}),
    ("Vous êtes titulaire du permis B et idéalement du permis C.", {("B", True), ("C", False)}),
    ("Vous détenez le permis D et idéalement une première expérience.", {("D", True)}),
    ("Permis et véhicule sont indispensables pour vos déplacements.", {("B", True)}),
    ("Devant posséder son permis et son propre véhicule.", {("B", True)}),
    ("Permis poids lourd obligatoire.", {("C", True)}),
    ("Permis EB requis.", {("BE", True)}),
    ("Le permis C n'est pas exigé.", set()),
    ("Valid driving licence required.", {("B", True)}),
])
def test_posting_licences(text: str, expected: set[tuple[str, bool]]) -> None:
    assert _req(text) == expected


@pytest.mark.parametrize("text", [
    "Ce projet a permis de renforcer le rôle du plaidoyer.",
    "Accompagnement lors d'une permission de sortie.",
    "Convention de stage obligatoire.",
    "Un moyen de locomotion est nécessaire pour se déplacer entre les domiciles.",
    "Indemnité kilométrique versée.",
    "Mise à disposition d'un véhicule de service.",
    "Nous finançons votre permis : aide au permis B.",
    "Possibilité de passer le permis D en interne.",
    "Titulaire du permis de construire.",
    "Titulaire d'un titre de séjour et d'un permis de travail.",
    "Être titulaire du SSIAP1 est fortement conseillé.",
])
def test_not_licences(text: str) -> None:
    assert posting_licences(text) == []


def test_evidence_points_into_text() -> None:
    text = "Profil recherché\nPermis B obligatoire\nAutonomie"
    (req,) = posting_licences(text)
    assert req.evidence is not None
    assert text[req.evidence.start:req.evidence.end] == req.evidence.text
    assert "Permis B" in req.evidence.text


@pytest.mark.parametrize("text, expected", [
    ("Permis de conduire : Permis B et véhicule personnel", ["B"]),
    ("Permis B : en cours (code obtenu)", []),
    ("Permis de conduire : non", []),
    ("Permis : non", []),
    ("Pas de permis de conduire", []),
    ("Permis B : non", []),
    ("Permis de conduire : Permis\nB et C – CACES R482 catégorie\nA", ["B", "C"]),
    ("Permis AM (scooter) – pas de permis B", ["AM"]),
    ("Permis de conduire\n\nPermis B", ["B"]),
    ("Aide-soignante en EHPAD, sorties en minibus.", []),
    ("Permis de conduire", []),
    ("Permis AM", ["AM"]),
    ("Titulaire du permis B, véhiculée.", ["B"]),
    ("Driving licence: B", ["B"]),
])
def test_cv_held_licences(text: str, expected: list[str]) -> None:
    assert [code for code, _ in held_licences(text)] == expected
