"""The on-disk index: incremental add/update/remove, model checks, consistency, locking, erasure."""
from __future__ import annotations

import os

import numpy as np
import pytest

from matcher.embed import HashingEmbedder
from matcher.errors import IndexLocked, IndexMismatch, IndexMissing
from matcher.index.store import IndexStore

from .conftest import candidate, posting


def postings(n: int = 6):
    titles = ["aide-soignant EHPAD", "infirmier de nuit", "éducateur spécialisé foyer", "maçon gros oeuvre",
              "cuisinier collectivité", "secrétaire médicale", "animateur périscolaire", "assistant social"]
    return [posting(f"p{i}", titles[i % len(titles)], f"{titles[i % len(titles)]} poste {i}") for i in range(n)]


def test_missing_index_is_a_clear_error(tmp_path, settings):
    with pytest.raises(IndexMissing, match="matcher index add"):
        IndexStore.open(tmp_path / "nope", settings, HashingEmbedder())


def test_incremental_add_embeds_only_new_or_changed(tmp_path, settings):
    calls = []

    class Counting(HashingEmbedder):
        def embed(self, texts, progress=None):
            calls.append(len(texts))
            return super().embed(texts, progress)

    store = IndexStore.open(tmp_path / "i", settings, Counting(), create=True)
    r1 = store.add("postings", postings(4))
    assert r1.added == ["p0", "p1", "p2", "p3"] and r1.generation == 1
    changed = postings(5)
    changed[1] = posting("p1", "infirmier de jour", "infirmier de jour, texte modifié")
    r2 = store.add("postings", changed)
    assert r2.added == ["p4"] and r2.updated == ["p1"] and len(r2.unchanged) == 3
    assert calls == [4, 2]
    r3 = store.add("postings", changed)
    assert r3.added == [] and r3.updated == [] and r3.generation == 2
    snap = store.snapshot()
    assert snap.postings.ids == ["p0", "p1", "p2", "p3", "p4"]
    assert snap.postings.records["p1"].title == "infirmier de jour"
    assert store.text("postings", "p1").startswith("infirmier de jour")
    assert [c[1:] for c in store.changes_since(1)] == [("p1", "update"), ("p4", "add")]


def test_remove_and_reopen(tmp_path, settings, embedder):
    store = IndexStore.open(tmp_path / "i", settings, embedder, create=True)
    store.add("postings", postings(4))
    assert store.remove("postings", ["p2", "zz"]) == ["p2"]
    again = IndexStore.open(tmp_path / "i", settings, embedder)
    snap = again.snapshot()
    assert snap.postings.ids == ["p0", "p1", "p3"]
    assert len(snap.postings.vectors) == len(snap.postings.lexical) == 3
    info = again.info()
    assert info["consistent"] and info["postings"] == 3 and info["generation"] == 2


def test_other_model_is_refused(tmp_path, settings, embedder):
    IndexStore.open(tmp_path / "i", settings, embedder, create=True)
    with pytest.raises(IndexMismatch, match="fake-hashing"):
        IndexStore.open(tmp_path / "i", settings, HashingEmbedder(name="other-model"))
    with pytest.raises(IndexMismatch, match="dimension"):
        IndexStore.open(tmp_path / "i", settings, HashingEmbedder(dim=32))


def test_other_posting_truncation_is_refused(tmp_path, settings, embedder):
    IndexStore.open(tmp_path / "i", settings, embedder, create=True)
    assert IndexStore.open(tmp_path / "i", settings, embedder).meta()["posting_tokens"] == str(settings.posting_tokens)
    with pytest.raises(IndexMismatch, match="tokens"):
        IndexStore.open(tmp_path / "i", settings.with_(posting_tokens=64), embedder)


def test_second_writer_is_blocked(tmp_path, settings, embedder):
    from filelock import FileLock
    store = IndexStore.open(tmp_path / "i", settings, embedder, create=True)
    with FileLock(str(tmp_path / "i" / ".lock")):
        with pytest.raises(IndexLocked, match="another process"):
            store.add("postings", postings(2))
    assert store.add("postings", postings(2)).added == ["p0", "p1"]


def test_stale_cache_is_never_used(tmp_path, settings, embedder):
    store = IndexStore.open(tmp_path / "i", settings, embedder, create=True)
    store.add("postings", postings(3))
    cache = tmp_path / "i" / "cache"
    for f in cache.iterdir():
        f.write_bytes(b"garbage")               # a torn or foreign cache file
    fresh = IndexStore.open(tmp_path / "i", settings, embedder)
    assert fresh.snapshot().postings.ids == ["p0", "p1", "p2"]
    assert fresh.check() == []


def test_forget_erases_every_trace(tmp_path, settings, embedder):
    canary = "Zorglubienne"
    store = IndexStore.open(tmp_path / "i", settings, embedder, create=True)
    store.add("postings", postings(3))
    cv = candidate("cv-canary", text=f"{canary} aide-soignante à Mende, {canary.lower()}@example.org")
    store.add("cvs", [cv, candidate("cv-other", text="infirmier")])
    vec = store.snapshot().cvs.vectors.vectors(["cv-canary"])[0]
    assert store.remove("cvs", ["cv-canary"], erase=True) == ["cv-canary"]
    snap = store.snapshot()
    assert "cv-canary" not in snap.cvs.ids
    _, I = snap.cvs.vectors.search(vec[None, :], 5)
    assert "cv-canary" not in I[0]
    for root, _, files in os.walk(tmp_path / "i"):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            assert canary.encode() not in data and canary.lower().encode() not in data, f
            assert b"cv-canary" not in data, f


def test_vectors_survive_roundtrip(tmp_path, settings, embedder):
    store = IndexStore.open(tmp_path / "i", settings, embedder, create=True)
    ps = postings(3)
    store.add("postings", ps)
    snap = IndexStore.open(tmp_path / "i", settings, embedder).snapshot()
    expected = embedder.embed([f"{p.title}\n{p.text}" for p in ps])
    assert np.allclose(snap.postings.vectors.vectors(["p0", "p1", "p2"]), expected)
