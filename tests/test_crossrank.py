"""Cross-encoder re-ranking (matcher/crossrank.py) with a deterministic fake scorer; one real-model check."""
from __future__ import annotations

import numpy as np
import pytest

from matcher import Requirement, Settings
from matcher.crossrank import FAKE, OverlapCrossEncoder, load_cross_encoder, rerank
from matcher.domain import Match
from matcher.errors import ConfigError
from matcher.evaluate.harness import CROSS_CONFIG, DEFAULT_CONFIG, configurations
from matcher.index.store import IndexStore
from matcher.rank import Matcher

from .conftest import PARIS, candidate, posting

B = Requirement("licence", "B", True)


class Prefers:
    """Scores 1 for postings whose text contains `word`, else 0; counts the pairs it saw."""
    name = "prefers"

    def __init__(self, word: str):
        self.word, self.seen = word, 0

    def score(self, pairs):
        self.seen += len(pairs)
        return np.asarray([1.0 if self.word in p else 0.0 for _, p in pairs])


class Hashy:
    """An arbitrary but deterministic order, unrelated to the engine's."""
    name = "hashy"

    def score(self, pairs):
        return np.asarray([sum(map(ord, p)) % 97 / 97 for _, p in pairs])


@pytest.fixture
def store(tmp_path, settings, embedder):
    s = IndexStore.open(tmp_path / "idx", settings, embedder, create=True)
    ps = [posting(f"as-{n}", f"Aide-soignant {n}", "aide-soignant soins " + "hygiène " * n + f"unit{n}")
          for n in range(8)]
    ps += [posting("cook-1", "Cuisinier", "cuisinier collectivité restauration, soins des plats"),
           posting("blk-1", "Aide-soignant Paris", "aide-soignant soins hygiène", place=PARIS),
           posting("blk-2", "Aide-soignant permis", "aide-soignant soins, permis B obligatoire", reqs=(B,))]
    s.add("postings", ps)
    s.add("cvs", [candidate("cv-as", "aide-soignante soins hygiène"),
                  candidate("cv-cook", "cuisinier restauration collective", licences=("B",))])
    return s


CV = candidate("q", "aide-soignante diplômée, soins d'hygiène, EHPAD")


def _ids(ms):
    return [m.posting_id for m in ms]


def test_off_by_default_and_the_engine_is_unchanged(store, settings, embedder):
    assert Settings().cross_encoder is None
    scorer = Prefers("Cuisinier")
    plain = Matcher(store, settings, embedder).match(CV, k=10, include_blocked=True)
    with_scorer = Matcher(store, settings, embedder, cross=scorer).match(CV, k=10, include_blocked=True)
    assert [(m.posting_id, m.score, m.parts) for m in plain] == [(m.posting_id, m.score, m.parts) for m in with_scorer]
    assert scorer.seen == 0 and all("cross" not in m.parts for m in plain)


def test_only_the_top_allowed_results_are_permuted(store, settings, embedder):
    engine = Matcher(store, settings, embedder).match(CV, k=20, include_blocked=True)
    s = settings.with_(cross_encoder=FAKE, rerank_top=4, w_cross=1.0)
    got = Matcher(store, s, embedder, cross=Hashy()).match(CV, k=20, include_blocked=True)
    assert set(_ids(got[:4])) == set(_ids(engine[:4]))
    assert _ids(got[:4]) != _ids(engine[:4])                  # the fake's order differs from the engine's
    assert [(m.posting_id, m.score) for m in got[4:]] == [(m.posting_id, m.score) for m in engine[4:]]
    assert [m.score for m in got] == sorted((m.score for m in got if not m.blocked), reverse=True) + \
        [m.score for m in got if m.blocked]                   # scores still decrease along the allowed list
    assert all("cross" in m.parts and "engine" in m.parts for m in got[:4])
    assert all("cross" not in m.parts for m in got[4:])


def test_blocked_results_stay_after_the_allowed_ones(store, settings, embedder):
    s = settings.with_(cross_encoder=FAKE, rerank_top=50, w_cross=1.0)
    got = Matcher(store, s, embedder, cross=Prefers("Paris")).match(CV, k=20, include_blocked=True)
    flags = [bool(m.blocked) for m in got]
    assert flags == sorted(flags) and sum(flags) == 2
    assert {m.posting_id for m in got if m.blocked} == {"blk-1", "blk-2"}
    assert all("cross" not in m.parts for m in got if m.blocked)
    assert "blk-1" not in _ids(Matcher(store, s, embedder, cross=Prefers("Paris")).match(CV, k=20))


def test_weight_zero_gives_the_engine_order_and_scores(store, settings, embedder):
    engine = Matcher(store, settings, embedder).match(CV, k=20, include_blocked=True)
    s = settings.with_(cross_encoder=FAKE, w_cross=0.0)
    got = Matcher(store, s, embedder, cross=Prefers("Cuisinier")).match(CV, k=20, include_blocked=True)
    assert [(m.posting_id, m.score) for m in got] == [(m.posting_id, m.score) for m in engine]


def test_a_preferred_posting_moves_up_and_keeps_its_reasons(store, settings, embedder):
    engine = Matcher(store, settings, embedder).match(CV, k=20)
    s = settings.with_(cross_encoder=FAKE, w_cross=0.6)
    got = Matcher(store, s, embedder, cross=Prefers("Cuisinier")).match(CV, k=20)
    assert _ids(engine).index("cook-1") > 0 and _ids(got)[0] == "cook-1"
    before = {m.posting_id: m for m in engine}["cook-1"]
    after = got[0]
    assert after.reasons == before.reasons and after.blocked == before.blocked
    assert after.parts["cross"] == 1.0 and after.parts["engine"] == before.score
    assert {k: v for k, v in after.parts.items() if k not in ("cross", "engine")} == before.parts


def test_top_k_is_taken_after_re_ranking(store, settings, embedder):
    s = settings.with_(cross_encoder=FAKE, w_cross=0.6)
    top1 = Matcher(store, s, embedder, cross=Prefers("Cuisinier")).match(CV, k=1)
    assert _ids(top1) == ["cook-1"]                            # ranked beyond k=1 by the engine, re-ranked in


def test_deterministic_with_the_fake(store, settings, embedder):
    s = settings.with_(cross_encoder=FAKE, w_cross=0.5)
    runs = [[(m.posting_id, m.score, tuple(sorted(m.parts.items())))
             for m in Matcher(store, s, embedder).match(CV, k=20, include_blocked=True)] for _ in range(2)]
    assert runs[0] == runs[1]
    assert any(p[0] == "cross" for p in runs[0][0][2])


def test_candidates_are_re_ranked_too(store, settings, embedder):
    s = settings.with_(cross_encoder=FAKE, w_cross=1.0)
    got = Matcher(store, s, embedder, cross=Prefers("x")).candidates("cook-1", k=5)
    assert got and all(m.cv_id and "cross" in m.parts for m in got)
    scorer = OverlapCrossEncoder()
    got = Matcher(store, s, embedder, cross=scorer).candidates("cook-1", k=5)
    assert got[0].cv_id == "cv-cook"


def test_rerank_handles_ties_and_an_empty_head():
    ms = [Match(posting_id=i, score=0.5) for i in ("b", "a", "c")]
    got = rerank(ms, lambda m: ("cv", m.posting_id), Prefers("c"), top=50, w=0.5)
    assert _ids(got)[0] == "c" and all(m.score >= 0.5 for m in got)
    blocked = [Match(posting_id="z", score=1.0, blocked=("location",))]
    assert rerank(blocked, lambda m: ("cv", "z"), Prefers("z"), top=50, w=1.0) == blocked


def test_settings_and_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MATCHER_CROSS_ENCODER", FAKE)
    assert Settings.from_env().cross_encoder == FAKE
    monkeypatch.delenv("MATCHER_CROSS_ENCODER")
    assert Settings.from_env().cross_encoder is None
    for bad in ({"w_cross": 1.5}, {"w_cross": -0.1}, {"rerank_top": 0}):
        with pytest.raises(ConfigError):
            Settings(**bad)
    with pytest.raises(ConfigError, match="not a folder"):
        load_cross_encoder(str(tmp_path / "nope"))


def test_eval_configurations_gain_the_cross_config_only_when_set():
    base = Settings(model="fake-hashing")
    assert CROSS_CONFIG not in configurations(base)
    got = configurations(base.with_(cross_encoder=FAKE))
    assert got[CROSS_CONFIG].cross_encoder == FAKE
    assert all(s is None or s.cross_encoder is None for name, s in got.items() if name != CROSS_CONFIG)
    assert got[DEFAULT_CONFIG] == base


@pytest.mark.slow
def test_a_cross_encoder_from_the_bundled_minilm_scores_deterministically(tmp_path):
    torch = pytest.importorskip("torch")
    from sentence_transformers import CrossEncoder

    from matcher.embed import resolve_model_path
    torch.manual_seed(0)   # the one-output head is new, randomly initialised
    CrossEncoder(resolve_model_path("all-MiniLM-L6-v2"), num_labels=1, max_length=128).save(str(tmp_path / "ce"))
    scorer = load_cross_encoder(str(tmp_path / "ce"))
    pairs = [("aide-soignante EHPAD soins", "Aide-soignant de nuit, soins d'hygiène"),
             ("cuisinier restauration", "Infirmier diplômé d'État"), ("a", "b")]
    a = scorer.score(pairs)
    b = scorer.score(pairs[::-1])[::-1]
    assert a.shape == (3,) and np.all(np.isfinite(a))
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert scorer is load_cross_encoder(str(tmp_path / "ce"))   # kept loaded
