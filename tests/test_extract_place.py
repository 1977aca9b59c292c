"""Gazetteer look-ups, posting workplaces and CV places/mobility."""
from __future__ import annotations

import pytest

from matcher.domain import Place
from matcher.parse.extract.place import cv_mobility, cv_place, place_of_label, posting_place
from matcher.parse.gazetteer import (
    department_place,
    departments_of,
    find_city,
    find_country,
    find_department,
    find_region,
    fold,
    postcode_department,
    region_of,
)


def test_mende() -> None:
    p = find_city("Mende")
    assert (p.city, p.department, p.region) == ("Mende", "48", "Occitanie")
    assert abs(p.lat - 44.52) < 0.02 and abs(p.lon - 3.50) < 0.02


@pytest.mark.parametrize("name, department, city, dept, region", [
    ("PARIS 09", "75", "Paris", "75", "Île-de-France"),
    ("Paris 9e arrondissement", None, "Paris", "75", "Île-de-France"),
    ("LYON 03", "69", "Lyon", "69", "Auvergne-Rhône-Alpes"),
    ("Marseille 1er", None, "Marseille", "13", "Provence-Alpes-Côte d'Azur"),
    ("Saint-Denis", None, "Saint-Denis", "93", "Île-de-France"),
    ("ST DENIS", "93", "Saint-Denis", "93", "Île-de-France"),
    ("Saint-Denis", "974", "Saint-Denis", "974", "La Réunion"),
    ("st chely d'apcher", "48", "Saint-Chély-d'Apcher", "48", "Occitanie"),
    ("NIMES", "30", "Nîmes", "30", "Occitanie"),
    ("Montreuil", "93", "Montreuil", "93", "Île-de-France"),
    ("Le Mans", None, "Le Mans", "72", "Pays de la Loire"),
    ("Mans", "72", "Le Mans", "72", "Pays de la Loire"),
])
def test_find_city(name: str, department: str | None, city: str, dept: str, region: str) -> None:
    p = find_city(name, department)
    assert p is not None
    assert (p.city, p.department, p.region) == (city, dept, region)
    assert p.lat is not None and p.lon is not None


@pytest.mark.parametrize("name, department", [("Xyzzyville", None), ("", None), ("Mende", "75")])
def test_find_city_none(name: str, department: str | None) -> None:
    assert find_city(name, department) is None


def test_department_place_and_regions() -> None:
    p = department_place("48")
    assert (p.city, p.department, p.region) == (None, "48", "Occitanie")
    assert abs(p.lat - 44.52) < 0.05
    assert region_of("75") == "Île-de-France"
    assert region_of("2A") == "Corse"
    assert region_of("974") == "La Réunion"
    assert region_of("99") is None
    assert find_department("Haute-Loire") == "43"
    assert find_department("lozere") == "48"
    assert find_region("ile de france") == "Île-de-France"
    assert find_region("Région Occitanie") == "Occitanie"
    assert len(departments_of("Occitanie")) == 13
    assert postcode_department("48000") == "48"
    assert postcode_department("20100") == "2A"
    assert postcode_department("97400") == "974"
    assert fold("Saint-Chély-d’Apcher") == fold("ST CHELY D APCHER")


@pytest.mark.parametrize("name, iso", [
    ("Espagne", "ES"), ("Luxembourg", "LU"), ("Suisse", "CH"), ("Belgique", "BE"), ("Germany", "DE"),
    ("France", "FR"), ("Atlantide", None),
])
def test_find_country(name: str, iso: str | None) -> None:
    assert find_country(name) == iso


@pytest.mark.parametrize("label, expected", [
    ("48 - MENDE", ("Mende", "48", "Occitanie", None)),
    ("75 - PARIS 09", ("Paris", "75", "Île-de-France", None)),
    ("30 - Gard", (None, "30", "Occitanie", None)),
    ("48 - Lozère", (None, "48", "Occitanie", None)),
    ("Île-de-France", (None, None, "Île-de-France", None)),
    ("Espagne", (None, None, None, "ES")),
    ("48 - FLORAC TROIS RIVIERES", ("Florac Trois Rivières", "48", "Occitanie", None)),
    ("48000 Mende", ("Mende", "48", "Occitanie", None)),
    ("33000 Bordeaux (33)", ("Bordeaux", "33", "Nouvelle-Aquitaine", None)),
    ("Hôpital, Bordeaux", ("Bordeaux", "33", "Nouvelle-Aquitaine", None)),     # not the commune L'Hôpital
    ("L'Hôpital, Moselle", ("L'Hôpital", "57", "Grand Est", None)),
    ("Nantes, Pays de la Loire, France", ("Nantes", "44", "Pays de la Loire", None)),
])
def test_place_of_label(label: str, expected: tuple) -> None:
    p = place_of_label(label)
    assert (p.city, p.department, p.region, p.country) == expected


def test_unknown_postcode_label_is_no_place() -> None:
    assert place_of_label("99999 Nowhere") is None


def test_department_only_label_has_no_coordinates() -> None:
    p = place_of_label("48 - Lozère")
    assert p.lat is None and p.lon is None


def test_posting_place() -> None:
    text = "Éducateur\nLieu de travail : 48 - MENDE\nType de contrat : CDI\n\nTexte"
    place, span = posting_place(text)
    assert place.city == "Mende"
    assert text[span.start:span.end] == "48 - MENDE"
    assert posting_place("Lieu de travail : France\n\nTexte")[0] is None
    assert posting_place("Texte.", title="Coordinateur général (H/F) – Saint-Denis")[0].department == "93"
    assert posting_place("Intervention sur le territoire parisien.")[0].city == "Paris"
    assert posting_place("Le poste est basé à Nantes.")[0].department == "44"


@pytest.mark.parametrize("text, city, dept", [
    ("Claire Fabre\n12 chemin des Prés, 48000 Mende\n06 39 98 00 00", "Mende", "48"),
    ("CONTACT\n4 rue des Pénitents, 48200\nSaint-Chély-d’Apcher\n06 39 98 00 00", "Saint-Chély-d'Apcher", "48"),
    ("42 rue Oberkampf, 75011 Paris · 06 39 98 00 00", "Paris", "75"),
    ("18 rue de Paris, 93100 Montreuil\n06 39 98 00 00", "Montreuil", "93"),
    ("Le Bourg, 48400 Florac Trois Rivières\n06", "Florac Trois Rivières", "48"),
])
def test_cv_place(text: str, city: str, dept: str) -> None:
    place, span = cv_place(text)
    assert (place.city, place.department) == (city, dept)
    assert text[span.start:span.end] == span.text


MENDE = Place("Mende", "48", "Occitanie", 44.52, 3.50)
NIMES = Place("Nîmes", "30", "Occitanie", 43.84, 4.36)


@pytest.mark.parametrize("text, home, mobility", [
    ("Mobilité : 30 km autour de Mende.", MENDE, "radius_km:30"),
    ("Mobile sur toute la France.", MENDE, "france"),
    ("Mobilité\n\nFrance entière.", MENDE, "france"),
    ("Mobilité : Lozère.", MENDE, "department"),
    ("Mobilité : Département de la Lozère.", MENDE, "department"),
    ("Mobilité : Région Occitanie.", MENDE, "region"),
    ("Mobilité : Lozère, Cantal et Haute-Loire.", MENDE, "list:[48,15,43]"),
    ("Mobilité : Hérault ou Lozère.", MENDE, "list:[34,48]"),
    ("Mobilité : Je me déplace en\nbus : postes à\nMende et dans un rayon de\n10 km maximum.", MENDE,
     "radius_km:10"),
    ("Mobilité : Toute la région Occitanie, ou la Loire-Atlantique.", NIMES,
     "list:[09,11,12,30,31,32,34,46,48,65,66,81,82,44]"),
    ("Mobilité : Nord Lozère.", MENDE, "department"),
    ("Aide-soignante, EHPAD de Mende.", MENDE, "region"),
    ("Jusqu'à 40 km de Florac.", MENDE, "radius_km:40"),
    ("Aide à la mobilité des résidents.\n\nMobilité : 30 km autour de Mende.", MENDE, "radius_km:30"),
    ("Mobilité : Lozère uniquement.", MENDE, "department"),
    ("Mobilité : Gard (30) et Hérault (34).", NIMES, "list:[30,34]"),
])
def test_cv_mobility(text: str, home: Place, mobility: str) -> None:
    assert cv_mobility(text, home)[0] == mobility
