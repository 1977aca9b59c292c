"""Hard filters, table-driven: each case is (posting, candidate, expected rejection or None)."""
from __future__ import annotations

import pytest

from matcher import Language, Place, Requirement
from matcher.filters import contract, haversine_km, language, licence, location, parse_mobility, rejections

from .conftest import FLORAC, MENDE, NIMES, PARIS, candidate, posting

B = Requirement("licence", "B", required=True)
B_DESIRED = Requirement("licence", "B", required=False)
FR_C1 = Requirement("language", "fr", required=True, level="C1")
EN = Requirement("language", "en", required=True)
RO_DESIRED = Requirement("language", "ro", required=False)
DEPT_ONLY = Place(department="48", region="Occitanie")


@pytest.mark.parametrize("place, remote, mobility, cv_place, rejected", [
    (MENDE, "none", "region", MENDE, False),
    (NIMES, "none", "region", MENDE, False),           # same region
    (PARIS, "none", "region", MENDE, True),
    (NIMES, "none", "department", MENDE, True),
    (FLORAC, "none", "department", MENDE, False),
    (NIMES, "none", "list:[48,30]", MENDE, False),
    (PARIS, "none", "list:[48, 30]", MENDE, True),
    (PARIS, "none", "france", MENDE, False),
    (Place(country="ES"), "none", "france", MENDE, True),
    (FLORAC, "none", "radius_km:30", MENDE, False),    # ~22 km
    (FLORAC, "none", "radius_km:10", MENDE, True),
    (DEPT_ONLY, "none", "radius_km:50", MENDE, True),  # a department-only place fails any radius
    (DEPT_ONLY, "none", "department", MENDE, False),
    (PARIS, "full", "department", MENDE, False),       # full remote passes
    (None, "none", "department", MENDE, False),        # unknown place never rejects
    (PARIS, "none", "department", None, False),
])
def test_location(place, remote, mobility, cv_place, rejected):
    p = posting("p", "job", place=place, remote=remote)
    c = candidate(place=cv_place, mobility=mobility)
    assert (location(p, c) is not None) == rejected


@pytest.mark.parametrize("offered, wanted, rejected", [
    ("CDI", (), False), ("CDI", ("CDI",), False), ("CDD", ("CDI",), True),
    ("Stage", ("CDI", "CDD"), True), (None, ("CDI",), False), ("Intérim", ("CDD", "Intérim"), False),
])
def test_contract(offered, wanted, rejected):
    assert (contract(posting("p", "job", contract=offered), candidate(contracts=wanted)) is not None) == rejected


@pytest.mark.parametrize("reqs, held, rejected", [
    ((), (), False), ((B,), (), True), ((B,), ("B",), False), ((B_DESIRED,), (), False),
    ((B,), ("AM",), True), ((B,), ("C",), False),      # holding C implies B
    ((Requirement("licence", "C", True),), ("B",), True),
])
def test_licence(reqs, held, rejected):
    assert (licence(posting("p", "job", reqs=reqs), candidate(licences=held)) is not None) == rejected


@pytest.mark.parametrize("reqs, langs, rejected", [
    ((FR_C1,), (), False),                                  # the CV's writing language counts as C2
    ((EN,), (), True),
    ((EN,), (Language("en", "A2"),), False),               # no level asked: any declared level
    ((Requirement("language", "en", True, "C1"),), (Language("en", "B2"),), True),
    ((Requirement("language", "en", True, "C1"),), (Language("en", "C2"),), False),
    ((RO_DESIRED,), (), False),                             # desired is a boost, never a filter
    ((Requirement("language", "rom", True),), (Language("ro", "C2"),), True),  # Romani is not Romanian
])
def test_language(reqs, langs, rejected):
    assert (language(posting("p", "job", reqs=reqs), candidate(languages=langs)) is not None) == rejected


def test_rejections_lists_every_failing_kind_with_a_reason():
    p = posting("p", "job", place=PARIS, contract="CDD", reqs=(B,))
    c = candidate(mobility="department", contracts=("CDI",))
    out = rejections(p, c)
    assert set(out) == {"location", "contract", "licence"}
    assert "licence B" in out["licence"] and "CDD" in out["contract"]
    assert rejections(p, c, kinds=("language",)) == {}


def test_parse_mobility_and_distance():
    assert parse_mobility("list:[48,30]") == ("list", ["48", "30"])
    assert parse_mobility("radius_km:25") == ("radius_km", 25.0)
    assert parse_mobility("") == ("region", None)
    assert 20 < haversine_km(MENDE, FLORAC) < 24
