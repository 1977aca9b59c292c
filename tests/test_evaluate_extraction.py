"""Extraction accuracy of hard-filter fields against truth."""
from __future__ import annotations

import pytest

from matcher.evaluate import extraction_accuracy

GOLD_POSTINGS = {
    "p1": {"contract": "CDI", "location": {"department": "48"}, "licences_required": ["B"],
           "languages_required": [{"lang": "fr", "level": "C1"}]},
    "p2": {"contract": "CDD", "location": {"department": "07"}, "licences_required": [],
           "languages_required": [{"lang": "en", "level": "B2"}, {"lang": "fr", "level": "C1"}]},
    "p3": {"contract": "Stage", "location": {"department": "2A"}, "licences_required": ["B", "C"],
           "languages_required": []},
}
PRED_POSTINGS = {
    "p1": {"contract": "cdi", "location": {"department": "48"}, "licences_required": ["B"],
           "languages_required": [{"lang": "fr"}]},                         # level missed
    "p2": {"contract": "CDI", "location": {"department": "7"}, "licences_required": ["B"],  # 1 false positive
           "languages_required": [{"lang": "en", "level": "B2"}]},          # fr missed
    # p3 not predicted at all: counts as empty
    "extra": {"contract": "CDI"},                                           # not in gold: ignored
}


def test_posting_fields():
    got = extraction_accuracy(PRED_POSTINGS, GOLD_POSTINGS, "posting")
    assert got["contract"].accuracy == pytest.approx(1 / 3)               # cdi == CDI; CDI != CDD; None != Stage
    assert got["contract"].precision is None
    assert got["location.department"].accuracy == pytest.approx(2 / 3)    # "7" == "07"
    lic = got["licences_required"]
    assert (lic.tp, lic.fp, lic.fn) == (1, 1, 2)                           # micro over items
    assert lic.precision == pytest.approx(1 / 2)
    assert lic.recall == pytest.approx(1 / 3)
    assert lic.f1 == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))
    assert lic.accuracy == pytest.approx(1 / 3)                            # only p1's list is exact
    lang = got["languages_required"]
    assert (lang.tp, lang.fp, lang.fn) == (2, 0, 1)
    assert (lang.precision, lang.recall) == (1.0, pytest.approx(2 / 3))
    lvl = got["languages_required+level"]
    assert (lvl.tp, lvl.fp, lvl.fn) == (1, 1, 2)                           # "fr:?" is not "fr:C1"


def test_cv_fields():
    gold = {"c1": {"location": {"department": "48"}, "mobility": "list:[48, 30]", "contracts_wanted": ["CDI"],
                   "licences": ["B"], "languages": [{"lang": "fr", "level": "C2"}, {"lang": "ro", "level": "B2"}]},
            "c2": {"location": {"department": "75"}, "mobility": "radius_km:30", "contracts_wanted": [],
                   "licences": [], "languages": [{"lang": "fr", "level": "C2"}]}}
    pred = {"c1": {"location": {"department": "48"}, "mobility": "list:['30','48']", "contracts_wanted": ["CDI", "CDD"],
                   "licences": ["b"], "languages": [{"lang": "fr", "level": "C2"}, {"lang": "ro", "level": "B1"}]},
            "c2": {"location": {"department": "93"}, "mobility": "radius_km:30.0", "contracts_wanted": [],
                   "licences": [], "languages": [{"lang": "fr", "level": "c2"}]}}
    got = extraction_accuracy(pred, gold, "cv")
    assert got["mobility"].accuracy == 1.0                                 # same area, other spelling
    assert got["location.department"].accuracy == pytest.approx(1 / 2)
    assert (got["contracts_wanted"].tp, got["contracts_wanted"].fp, got["contracts_wanted"].fn) == (1, 1, 0)
    assert got["licences"].f1 == 1.0
    assert got["languages"].f1 == 1.0
    assert got["languages+level"].recall == pytest.approx(2 / 3)


def test_empty_predictions_and_gold():
    got = extraction_accuracy({}, {"p": {"licences_required": []}}, "posting")
    assert (got["licences_required"].precision, got["licences_required"].recall) == (1.0, 1.0)
    got = extraction_accuracy({}, {"p": {"licences_required": ["B"]}}, "posting")
    assert (got["licences_required"].precision, got["licences_required"].recall, got["licences_required"].f1) \
        == (1.0, 0.0, 0.0)


def test_unknown_side():
    with pytest.raises(ValueError, match="posting, cv"):
        extraction_accuracy({}, {}, "job")
