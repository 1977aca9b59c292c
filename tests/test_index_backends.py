"""One shared suite for every vector backend, and approximate search checked against exact search."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.errors import ConfigError
from matcher.index import make_vector_index

BACKENDS = ["exact", "faiss", "faiss-hnsw"]


def data(n: int = 500, d: int = 32, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    xb = rng.standard_normal((n, d)).astype(np.float32)
    xb /= np.linalg.norm(xb, axis=1, keepdims=True)
    return [f"id{i:05d}" for i in range(n)], xb


@pytest.mark.parametrize("backend", BACKENDS)
def test_add_search_finds_itself(backend):
    ids, xb = data()
    index = make_vector_index(backend, 32)
    index.add(ids, xb)
    assert len(index) == 500
    D, I = index.search(xb[:5], 1)
    assert [i[0] for i in I] == ids[:5]
    assert np.allclose(D[:, 0], 1.0, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_replace_and_remove(backend):
    ids, xb = data(50)
    index = make_vector_index(backend, 32)
    index.add(ids, xb)
    index.add([ids[0]], xb[1:2])                 # replacing id0 by id1's vector
    assert len(index) == 50
    assert np.allclose(index.vectors([ids[0]]), xb[1])
    assert index.remove([ids[0], "missing"]) == 1
    assert ids[0] not in index.ids and len(index) == 49
    _, I = index.search(xb[1:2], 2)
    assert ids[0] not in I[0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("share", [0.5, 0.1, 0.01])
def test_filtered_search_returns_k_when_k_pass(backend, share):
    ids, xb = data(1000)
    index = make_vector_index(backend, 32)
    index.add(ids, xb)
    rng = np.random.default_rng(1)
    allowed = set(rng.choice(ids, size=int(1000 * share), replace=False).tolist())
    _, I = index.search(xb[:3], 10, allowed=allowed)
    for row in I:
        assert len(row) == min(10, len(allowed))
        assert set(row) <= allowed


@pytest.mark.parametrize("share", [1.0, 0.5, 0.1, 0.01])
def test_approximate_recall_against_exact(share):
    """faiss-hnsw recall@10 >= 0.95 against exact search, unfiltered and under filters."""
    ids, xb = data(3000, 32, seed=2)
    xq = xb[:50] + 0.1 * np.random.default_rng(3).standard_normal((50, 32)).astype(np.float32)
    exact, approx = make_vector_index("exact", 32), make_vector_index("faiss-hnsw", 32)
    exact.add(ids, xb)
    approx.add(ids, xb)
    allowed = None if share == 1.0 else set(np.random.default_rng(4).choice(ids, int(3000 * share), replace=False).tolist())
    _, Ie = exact.search(xq, 10, allowed)
    _, Ia = approx.search(xq, 10, allowed)
    recall = np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(Ia, Ie)])
    assert recall >= 0.95


def test_exact_faiss_identical_on_fixed_data():
    ids, xb = data(300)
    a, b = make_vector_index("exact", 32), make_vector_index("faiss", 32)
    a.add(ids, xb)
    b.add(ids, xb)
    Da, Ia = a.search(xb[:20], 10)
    Db, Ib = b.search(xb[:20], 10)
    assert Ia == Ib
    assert np.allclose(Da, Db, atol=1e-5)


def test_ties_are_broken_by_id():
    index = make_vector_index("faiss", 2)
    v = np.array([[1.0, 0.0]] * 4, dtype=np.float32)
    index.add(["d", "b", "c", "a"], v)
    _, I = index.search(v[:1], 3)
    assert I[0] == ["a", "b", "c"]


def test_unknown_backend():
    with pytest.raises(ConfigError, match="valid"):
        make_vector_index("annoy", 8)



# ---------------------------------------------------------------- approximate FAISS indexes (issue 6, part 3)

APPROXIMATE = ["faiss-ivf", "faiss-hnsw"]


def test_ivf_passes_the_shared_suite():
    test_add_search_finds_itself("faiss-ivf")
    test_replace_and_remove("faiss-ivf")
    for share in (0.5, 0.1, 0.01):
        test_filtered_search_returns_k_when_k_pass("faiss-ivf", share)


def clustered(n: int, d: int = 64, seed: int = 0, clusters: int = 50) -> tuple[list[str], np.ndarray, np.ndarray]:
    """ids, xb (n, d) and xq (40, d) from one seeded Gaussian mixture, normalised: harder than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype(np.float32)

    def draw(m: int) -> np.ndarray:
        x = centres[rng.integers(0, clusters, m)] + 0.6 * rng.standard_normal((m, d)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    return [f"id{i:06d}" for i in range(n)], draw(n), draw(40)


@pytest.fixture(scope="module")
def corpus20k():
    """Seeded 20k clustered vectors, in exact numpy search and in each approximate backend."""
    ids, xb, xq = clustered(20_000)
    exact = make_vector_index("exact", 64)
    exact.add(ids, xb)
    approx = {}
    for backend in APPROXIMATE:
        approx[backend] = make_vector_index(backend, 64)
        approx[backend].add(ids, xb)
        approx[backend].build()
    return ids, xq, exact, approx


def spy_exact(monkeypatch) -> list[int]:
    """Record the number of queries each exact fallback answers."""
    from matcher.index import faiss as faiss_backend
    calls: list[int] = []
    real = faiss_backend.FaissIndex._exact
    monkeypatch.setattr(faiss_backend.FaissIndex, "_exact",
                        lambda self, q, *a: calls.append(len(q)) or real(self, q, *a))
    return calls


@pytest.mark.parametrize("backend", APPROXIMATE)
@pytest.mark.parametrize("share", [1.0, 0.5, 0.1, 0.03, 0.01])
def test_approximate_recall_at_chosen_parameters(corpus20k, backend, share, monkeypatch):
    """recall@10 >= 0.95 against exact search. HNSW: at or above SELECTIVE the graph walk answers, below it exact
    search does. IVF: the probe widens as the filter narrows, up to every list (exact)."""
    from matcher.index.faiss import SCAN_PER_K, SELECTIVE, nlist_for
    ids, xq, exact, approx = corpus20k
    fallbacks = spy_exact(monkeypatch)
    rng = np.random.default_rng(5)
    allowed = None if share == 1.0 else set(rng.choice(ids, int(len(ids) * share), replace=False).tolist())
    _, Ie = exact.search(xq, 10, allowed)
    _, Ia = approx[backend].search(xq, 10, allowed)
    recall = np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(Ia, Ie)])
    assert recall >= 0.95
    if backend == "faiss-hnsw" and share < SELECTIVE:
        assert fallbacks == [len(xq)] and recall == 1.0
    else:
        assert sum(fallbacks) <= 2        # the approximate search answered (almost) every query itself
    if backend == "faiss-ivf" and SCAN_PER_K * 10 / (share * len(ids) / nlist_for(len(ids))) >= nlist_for(len(ids)):
        assert recall == 1.0              # every list probed


@pytest.mark.parametrize("backend", ["faiss"] + APPROXIMATE)
@pytest.mark.parametrize("n_allowed", [1, 9, 10, 11, 39, 41, 150, 1000])
def test_selective_filters_return_min_k_allowed(backend, n_allowed):
    """Below and above SELECTIVE (40 of 2000 ids), as ids or as an IdMask, unknown ids ignored."""
    from matcher.index.base import IdMask
    ids, xb, xq = clustered(2000, seed=1)
    index, exact = make_vector_index(backend, 64), make_vector_index("exact", 64)
    index.add(ids, xb)
    exact.add(ids, xb)
    rows = np.random.default_rng(n_allowed).choice(len(ids), n_allowed, replace=False)
    allowed = {ids[r] for r in rows}
    mask = np.zeros(len(ids), dtype=bool)
    mask[rows] = True
    _, Ie = exact.search(xq, 10, allowed)
    for form in (allowed | {"not-an-id"}, sorted(allowed), IdMask(index.ids, mask)):
        D, I = index.search(xq, 10, form)
        assert all(len(row) == min(10, n_allowed) and set(row) <= allowed for row in I)
        assert D.shape == (len(xq), min(10, n_allowed))
        if n_allowed < 0.02 * len(ids) or backend == "faiss":
            assert I == Ie                # exact paths give exactly the exact backend's answer


@pytest.mark.parametrize("backend", APPROXIMATE)
def test_short_approximate_search_falls_back_to_exact(backend, monkeypatch):
    """A filter just above SELECTIVE that a starved search cannot satisfy (far from every query) still gives k."""
    from matcher.index import faiss as faiss_backend
    ids, xb, xq = clustered(4000, seed=2)
    index = make_vector_index(backend, 64)
    index.add(ids, xb)
    for name, value in (("EF_SEARCH", 16), ("EF_MAX", 16), ("NPROBE_MIN", 1), ("SCAN_PER_K", 0.01)):
        monkeypatch.setattr(faiss_backend, name, value)
    far = np.argsort(xb @ xq.mean(axis=0))[: int(0.03 * len(ids))]   # the 3% least like the queries
    allowed = {ids[r] for r in far}
    fallbacks = spy_exact(monkeypatch)
    _, I = index.search(xq, 10, allowed)
    assert fallbacks and sum(fallbacks) <= len(xq)
    assert all(len(row) == 10 and set(row) <= allowed for row in I)


def test_id_mask_is_a_collection_of_ids():
    from matcher.index.base import IdMask
    m = IdMask(["a", "b", "c"], np.array([True, False, True]))
    assert len(m) == 2 and list(m) == ["a", "c"] and "c" in m and "b" not in m and "z" not in m
    assert m.aligned(["a", "b", "c"]) and not m.aligned(["a", "c", "b"]) and not m.aligned(["a"])
    with pytest.raises(ValueError):
        IdMask(["a"], np.array([True, False]))
    ids, xb = data(100)
    exact = make_vector_index("exact", 32)
    exact.add(ids, xb)
    mask = np.zeros(100, dtype=bool)
    mask[::7] = True
    _, I = exact.search(xb[:2], 5, IdMask(ids, mask))   # a backend that knows nothing of masks iterates it
    assert all(set(row) <= set(ids[::7]) and len(row) == 5 for row in I)


@pytest.mark.parametrize("backend", ["faiss"] + APPROXIMATE)
def test_index_serialisation_round_trip(backend, tmp_path):
    ids, xb, xq = clustered(2000, seed=3)
    a, b = make_vector_index(backend, 64), make_vector_index(backend, 64)
    a.add(ids, xb)
    b.add(ids, xb)
    with open(tmp_path / "g.faiss", "wb") as f:
        a.save(f)
    with open(tmp_path / "g.faiss", "rb") as f:
        assert b.load(f)
    assert b.search(xq, 10)[1] == a.search(xq, 10)[1]
    swapped = make_vector_index(backend, 64)
    swapped.add(ids[1:] + ids[:1], np.vstack([xb[1:], xb[:1]]))      # same vectors, other rows: refused
    others = [swapped] + [make_vector_index(o, 64) for o in ["faiss"] + APPROXIMATE if o != backend]
    for other in others:
        if len(other) == 0:
            other.add(ids, xb)
        with open(tmp_path / "g.faiss", "rb") as f:
            assert not other.load(f)


@pytest.mark.parametrize("backend", ["faiss", "faiss-hnsw"])
def test_flat_and_hnsw_hold_one_copy_of_the_vectors(backend, tmp_path):
    """Once built (or loaded), the float32 matrix is a view of FAISS's own vectors, not a second copy; the view
    keeps FAISS's memory alive after the index is rebuilt or dropped, and adds and removes still work."""
    import gc
    ids, xb = data(600)
    index = make_vector_index(backend, 32)
    index.add(ids, xb)
    index.search(xb[:1], 3)
    view = index._xb
    assert not view.flags.owndata and view.base.owner is index._index and np.array_equal(view, xb)
    index.add(["extra"], xb[:1])
    index.remove(ids[:10])
    assert index.search(xb[10:12], 1)[1] == [[ids[10]], [ids[11]]]
    assert np.array_equal(index.vectors(ids[10:13]), xb[10:13])
    with open(tmp_path / "g.faiss", "wb") as f:
        index.save(f)
    again = make_vector_index(backend, 32)
    again.add(ids[10:] + ["extra"], np.vstack([xb[10:], xb[:1]]))
    with open(tmp_path / "g.faiss", "rb") as f:
        assert again.load(f)
    assert not again._xb.flags.owndata and again.search(xb[20:21], 1)[1] == [[ids[20]]]
    del index, again
    gc.collect()
    assert np.array_equal(view, xb)        # FAISS's memory lives as long as the view


# ---------------------------------------------------------------- configuration and store (issue 6, part 4)

def test_settings_vector_backend_is_validated(monkeypatch):
    from matcher.config import VECTOR_BACKENDS, Settings
    from matcher.index import BACKENDS as INDEX_BACKENDS
    assert tuple(INDEX_BACKENDS) == VECTOR_BACKENDS and Settings().vector_backend == "faiss"
    assert Settings(vector_backend="faiss-hnsw").vector_backend == "faiss-hnsw"
    with pytest.raises(ConfigError, match="faiss-hnsw"):
        Settings(vector_backend="annoy")
    monkeypatch.setenv("MATCHER_BACKEND", "exact")
    assert Settings.from_env().vector_backend == "exact"
    assert Settings.from_env(vector_backend="faiss-ivf").vector_backend == "faiss-ivf"
    monkeypatch.setenv("MATCHER_BACKEND", "hnsw")
    with pytest.raises(ConfigError, match="valid"):
        Settings.from_env()


WORDS = ["aide-soignant", "infirmier", "éducateur", "maçon", "cuisinier", "secrétaire", "animateur", "assistant",
         "social", "nuit", "EHPAD", "foyer", "collectivité", "médical", "chantier", "école"]
WORDS += [f"mot{j}" for j in range(200 - len(WORDS))]


def _words(rng: np.random.Generator, m: int) -> str:
    return " ".join(rng.choice(WORDS, m, replace=False).tolist())


def _store_postings(n: int):
    """Seeded postings of 30 words out of 200, so that scores seldom tie (ties make top-10s differ by luck)."""
    from .conftest import posting
    rng = np.random.default_rng(0)
    return [posting(f"p{i:04d}", _words(rng, 3), _words(rng, 30)) for i in range(n)]


@pytest.mark.parametrize("backend", APPROXIMATE)
def test_store_snapshot_approximate_matches_flat(backend, tmp_path, monkeypatch):
    from matcher.config import Settings
    from matcher.embed import HashingEmbedder
    from matcher.index import faiss as faiss_backend
    from matcher.index.store import IndexStore
    emb = HashingEmbedder()
    approx = Settings(model="fake-hashing", vector_backend=backend)
    store = IndexStore.open(tmp_path / "i", approx, emb, create=True)
    store.add("postings", _store_postings(400))
    assert (tmp_path / "i" / "cache" / f"postings-g1-{backend}.faiss").is_file()   # built once, at write time
    snap = store.snapshot()
    flat = store.snapshot(backend="faiss")                  # the override still works, cached separately
    assert snap.postings.vectors.kind == backend[6:] and flat.postings.vectors.kind == "flat"
    rng = np.random.default_rng(1)
    xq = emb.embed([_words(rng, 12) for _ in range(8)])
    for filt in (None, set(snap.postings.ids[::3])):
        Da, Ia = snap.postings.vectors.search(xq, 10, filt)
        Df, If = flat.postings.vectors.search(xq, 10, filt)
        assert np.allclose(Da, Df, atol=1e-5)
        for a, f, da, df in zip(Ia, If, Da, Df):
            assert _tie_free(a, da) == _tie_free(f, df)
    # A new reader adopts the cached index instead of building one.
    monkeypatch.setattr(faiss_backend.FaissIndex, "build", lambda self: pytest.fail("index rebuilt"))
    again = IndexStore.open(tmp_path / "i", approx, emb).snapshot()
    assert again.postings.vectors.search(xq, 10)[1] == snap.postings.vectors.search(xq, 10)[1]


def _tie_free(ids, scores, tol: float = 1e-5) -> list:
    """A top-k as its groups of tied ids (consecutive scores within tol), in order, without the group tied with
    the k-th score: HNSW and flat compute inner products with different float paths, so exact ties may come out
    in either order or either side of the cut."""
    groups: list[set] = []
    prev = None
    for i, d in zip(ids, scores):
        if prev is None or abs(float(d) - prev) > tol:
            groups.append(set())
        groups[-1].add(i)
        prev = float(d)
    return groups[:-1]


def test_store_default_flat_writes_no_index_file(tmp_path, settings, embedder):
    from matcher.index.store import IndexStore
    store = IndexStore.open(tmp_path / "i", settings, embedder, create=True)
    store.add("postings", _store_postings(30))
    assert store.snapshot().postings.vectors.kind == "flat"
    assert sorted(p.suffix for p in (tmp_path / "i" / "cache").iterdir()) == [".npz", ".npz"]


def test_ivf_reuses_centroids_of_an_earlier_build_and_keeps_recall():
    """A new generation's IVF takes the earlier generation's lists (no k-means) while they fit the corpus size;
    its filtered and unfiltered top-10 still agree with exact search."""
    from matcher.index.faiss import nlist_fits, nlist_for
    rng = np.random.default_rng(3)   # clustered, as embeddings are (IVF on uniform noise is poor either way)
    centers = rng.standard_normal((60, 32)).astype(np.float32)
    xb = centers[rng.integers(0, 60, 4000)] + 0.35 * rng.standard_normal((4000, 32)).astype(np.float32)
    xb /= np.linalg.norm(xb, axis=1, keepdims=True)
    ids = [f"id{i:05d}" for i in range(4000)]
    first = make_vector_index("faiss-ivf", 32)
    first.add(ids[:3600], xb[:3600])
    first.build()
    assert not first.reused_centroids
    cent = first.centroids()
    assert cent.shape == (nlist_for(3600), 32)
    second = make_vector_index("faiss-ivf", 32)
    second.add(ids, xb)                      # +11 %: the lists still fit
    assert nlist_fits(len(cent), 4000)
    second.build(centroids=cent)
    assert second.reused_centroids and second._index.nlist == len(cent)
    fresh = make_vector_index("faiss-ivf", 32)
    fresh.add(ids, xb)
    fresh.build()
    exact = make_vector_index("faiss", 32)
    exact.add(ids, xb)
    xq = xb[rng.choice(4000, 40, replace=False)] + 0.05 * rng.standard_normal((40, 32)).astype(np.float32)
    allowed = set(ids[::10])
    for flt in (None, allowed):
        _, want = exact.search(xq, 10, flt)
        recall = {}
        for name, index in (("reused", second), ("fresh", fresh)):
            _, got = index.search(xq, 10, flt)
            recall[name] = np.mean([len(set(g) & set(w)) / 10 for g, w in zip(got, want)])
        assert recall["reused"] >= 0.95 and recall["reused"] >= recall["fresh"] - 0.02, (flt is None, recall)
    # grown far beyond what the lists were trained for: trained afresh
    big_ids, big_xb = data(8000, 32, seed=4)
    third = make_vector_index("faiss-ivf", 32)
    third.add(big_ids, big_xb)
    assert not nlist_fits(len(cent), 8000)
    third.build(centroids=cent)
    assert not third.reused_centroids and third._index.nlist == nlist_for(8000)


def test_store_reuses_ivf_lists_across_generations_but_not_after_an_erasure(tmp_path):
    import random
    from dataclasses import replace

    from matcher.config import Settings
    from matcher.embed import HashingEmbedder
    from matcher.index.store import IndexStore
    from .conftest import candidate
    s = Settings(model="fake-hashing:32", vector_backend="faiss-ivf")
    emb = HashingEmbedder(32, "fake-hashing:32")
    rng = random.Random(0)
    words = "soins aide cuisine chantier permis accueil vente paie stock nuit ehpad domicile".split()
    cvs = [replace(candidate(f"c{i:04d}", " ".join(rng.choices(words, k=20)))) for i in range(880)]
    store = IndexStore.open(tmp_path / "ix", s, emb, create=True)
    store.add("cvs", cvs[:800])
    assert not store.snapshot().cvs.vectors.reused_centroids          # first generation: k-means
    store.add("cvs", cvs[800:])
    assert store.snapshot().cvs.vectors.reused_centroids              # +10 %: the previous lists
    assert list((tmp_path / "ix" / "cache").glob("cvs-g*-faiss-ivf.centroids.npy"))
    store.remove("cvs", ["c0001"], erase=True)
    assert not store.snapshot().cvs.vectors.reused_centroids          # after an erasure: trained afresh
    gens = {p.name.split("-g")[1].split("-")[0] for p in (tmp_path / "ix" / "cache").glob("cvs-g*")}
    assert gens == {str(store.generation())}                           # nothing of the older generations left
