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
