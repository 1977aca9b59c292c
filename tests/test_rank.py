"""The ranker with the fake embedder: filters before top-k, boosts, determinism, explanations."""
from __future__ import annotations

import pytest

from matcher import Language, Requirement
from matcher.errors import NotFound
from matcher.index.store import IndexStore
from matcher.rank import Matcher, fuse, minmax

from .conftest import MENDE, PARIS, candidate, posting

B = Requirement("licence", "B", True)


@pytest.fixture
def store(tmp_path, settings, embedder):
    s = IndexStore.open(tmp_path / "idx", settings, embedder, create=True)
    ps = [posting("as-1", "Aide-soignant EHPAD", "aide-soignant diplômé soins d'hygiène EHPAD Mende"),
          posting("as-2", "Aide-soignant à domicile", "aide-soignant soins à domicile, permis B obligatoire",
                  reqs=(B,)),
          posting("as-3", "Aide-soignant Paris", "aide-soignant hôpital", place=PARIS),
          posting("ide-1", "Infirmier", "infirmier diplômé d'état soins techniques"),
          posting("cook-1", "Cuisinier", "cuisinier collectivité restauration"),
          posting("ro-1", "Médiateur santé", "médiateur santé, roumain un plus",
                  reqs=(Requirement("language", "ro", False),))]
    s.add("postings", ps)
    s.add("cvs", [candidate("cv-as", "aide-soignante EHPAD soins hygiène"),
                  candidate("cv-cook", "cuisinier restauration collective", licences=("B",))])
    return s


def test_filters_apply_before_top_k(store, settings, embedder):
    cv = candidate("q", "aide-soignante diplômée, soins EHPAD, domicile", mobility="region")
    got = Matcher(store, settings, embedder).match(cv, k=3)
    ids = [m.posting_id for m in got]
    assert len(got) == 3                       # k results although 2 of the 6 postings are blocked
    assert "as-2" not in ids and "as-3" not in ids
    assert ids[0] == "as-1"
    assert all(not m.blocked for m in got)


def test_include_blocked_lists_them_after(store, settings, embedder):
    cv = candidate("q", "aide-soignante soins")
    got = Matcher(store, settings, embedder).match(cv, k=10, include_blocked=True)
    assert len(got) == 6
    flags = [bool(m.blocked) for m in got]
    assert flags == sorted(flags)              # every unblocked one first
    blocked = {m.posting_id: m.blocked for m in got if m.blocked}
    assert blocked == {"as-2": ("licence",), "as-3": ("location",)}


def test_ignore_filter(store, settings, embedder):
    cv = candidate("q", "aide-soignante soins à domicile")
    got = Matcher(store, settings.without_filters("licence"), embedder).match(cv, k=10)
    assert "as-2" in [m.posting_id for m in got]


def test_desired_language_is_a_boost(store, settings, embedder):
    base = candidate("q", "médiateur santé")
    speaker = candidate("q", "médiateur santé", languages=(Language("ro", "C2"),))
    m = Matcher(store, settings, embedder)
    s0 = {x.posting_id: x for x in m.match(base, k=10)}["ro-1"]
    s1 = {x.posting_id: x for x in m.match(speaker, k=10)}["ro-1"]
    assert s1.score == pytest.approx(s0.score + settings.boost_desired)
    assert any(r.kind == "language" and not r.required and r.ok for r in s1.reasons)


def test_same_input_same_output(store, settings, embedder):
    cv = candidate("q", "aide-soignante soins infirmier")
    m = Matcher(store, settings, embedder)
    a = [(x.posting_id, x.score) for x in m.match(cv, k=6)]
    b = [(x.posting_id, x.score) for x in Matcher(store, settings, embedder).match(cv, k=6)]
    assert a == b


def test_reasons_carry_evidence_and_parts(store, settings, embedder):
    cv = candidate("q", "aide-soignante")
    m = Matcher(store, settings, embedder).explain(cv, "as-2")
    assert m.blocked == ("licence",)
    assert {"lexical", "dense", "fused", "boost"} <= set(m.parts)
    kinds = [r.kind for r in m.reasons]
    assert "location" in kinds and "contract" in kinds and "licence" in kinds
    with pytest.raises(NotFound):
        Matcher(store, settings, embedder).explain(cv, "nope")


def test_candidates_reverse_direction(store, settings, embedder):
    got = Matcher(store, settings, embedder).candidates("as-1", k=2)
    assert [m.cv_id for m in got][0] == "cv-as"
    blocked = Matcher(store, settings, embedder).candidates("as-2", k=2, include_blocked=True)
    assert {m.cv_id: bool(m.blocked) for m in blocked} == {"cv-cook": False, "cv-as": True}


def test_fusion_is_a_weighted_minmax_sum(settings):
    import numpy as np
    lex, dense = np.array([0.0, 5.0, 10.0]), np.array([0.2, 0.6, 0.4])
    parts = fuse(lex, None, dense, settings.with_(w_title=0.0))
    expected = (0.7 * np.array([0, 0.5, 1]) + 0.3 * np.array([0, 1, 0.5])) / 1.0
    assert np.allclose(parts["fused"], expected)
    assert list(minmax(np.array([3.0, 3.0]))) == [1.0, 1.0]


def _rome_store(tmp_path, settings, embedder, with_codes: bool):
    from dataclasses import replace
    ps = [posting("p-as", "Poste en EHPAD", "soins hygiène confort résidents EHPAD"),
          posting("p-ide", "Poste en EHPAD", "soins hygiène confort résidents EHPAD"),
          posting("p-cook", "Poste en EHPAD", "cuisine collectivité EHPAD")]
    codes = {"p-as": ("J1501",), "p-ide": ("J1506",), "p-cook": ("G1602",)}
    if with_codes:
        ps = [replace(p, rome=codes[p.id]) for p in ps]
    s = IndexStore.open(tmp_path / f"idx-{with_codes}", settings, embedder, create=True)
    s.add("postings", ps)
    return s


def test_rome_weight_zero_leaves_scores_unchanged(tmp_path, settings, embedder):
    from dataclasses import replace
    cv = replace(candidate("q", "soins hygiène confort EHPAD"), rome=("J1501",))
    settings = settings.with_(w_rome=0.0, w_rome_domain=0.0)
    plain = Matcher(_rome_store(tmp_path, settings, embedder, False), settings, embedder).match(cv, k=3)
    coded = Matcher(_rome_store(tmp_path, settings, embedder, True), settings, embedder).match(cv, k=3)
    assert [(m.posting_id, m.score) for m in plain] == [(m.posting_id, m.score) for m in coded]
    assert all(m.parts["rome"] == 0.0 for m in coded)
    assert not any(r.kind == "occupation" for m in coded for r in m.reasons)


def test_rome_match_raises_the_right_posting(tmp_path, settings, embedder):
    from dataclasses import replace
    store = _rome_store(tmp_path, settings, embedder, True)
    cv = replace(candidate("q", "soins hygiène confort EHPAD"), rome=("J1501",))
    base = {m.posting_id: m for m in Matcher(store, settings.with_(w_rome=0.0, w_rome_domain=0.0), embedder)
            .match(cv, k=3)}
    assert base["p-as"].score == base["p-ide"].score           # same text: only the id breaks the tie
    s = settings.with_(w_rome=0.1, w_rome_domain=0.04)
    got = Matcher(store, s, embedder).match(cv, k=3)
    by_id = {m.posting_id: m for m in got}
    assert got[0].posting_id == "p-as"
    assert by_id["p-as"].score == pytest.approx(base["p-as"].score + 0.1)
    assert by_id["p-ide"].score == pytest.approx(base["p-ide"].score + 0.04)   # same domain J15
    assert by_id["p-cook"].score == pytest.approx(base["p-cook"].score)
    assert by_id["p-as"].parts["rome"] == pytest.approx(0.1)
    why = [r for r in by_id["p-as"].reasons if r.kind == "occupation"]
    assert len(why) == 1 and why[0].ok and "same occupation (ROME J1501" in why[0].detail
    assert any("ROME J15" in r.detail for r in by_id["p-ide"].reasons if r.kind == "occupation")
