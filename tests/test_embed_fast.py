"""The numpy forward pass gives the same vectors as sentence-transformers (real model: marked slow)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matcher.embed import SentenceTransformerEmbedder, resolve_model_path, truncated
from matcher.embed_fast import NumpyBertEmbedder, _erf, supports

ROOT = Path(__file__).resolve().parent.parent


def test_erf_matches_math():
    import math
    x = np.linspace(-6, 6, 2001)
    assert np.abs(_erf(x) - np.array([math.erf(v) for v in x])).max() < 2e-7


def test_bundled_model_is_supported_and_foreign_folders_are_not(tmp_path):
    assert supports(resolve_model_path("all-MiniLM-L6-v2"))
    assert not supports(str(tmp_path))


@pytest.mark.slow
def test_numpy_and_sentence_transformers_agree():
    texts = [json.loads(line)["text"] for line in open(ROOT / "corpus/postings/seeds.jsonl", encoding="utf-8")]
    texts += ["Aide-soignante, 10 ans en EHPAD.", "x", ""]
    fast = NumpyBertEmbedder("all-MiniLM-L6-v2", resolve_model_path("all-MiniLM-L6-v2"), 256, batch_size=3)
    st = SentenceTransformerEmbedder(fast=False)
    a, b = fast.embed(texts), st.embed(texts)
    assert a.shape == b.shape == (len(texts), 384)
    assert np.abs(a - b).max() < 1e-5


@pytest.mark.slow
def test_posting_truncation_agrees_between_paths_and_cuts_long_texts():
    """A posting view truncates at 160 tokens in the numpy path (small batches) and the torch path alike;
    a long text and its first tokens give the same vector, the full text another one."""
    texts = [json.loads(line)["text"] for line in open(ROOT / "corpus/postings/seeds.jsonl", encoding="utf-8")]
    st = SentenceTransformerEmbedder()
    view = truncated(st, 160)
    small = view.embed(texts)                       # numpy path (<= FAST_LIMIT texts, model not loaded)
    bulk = truncated(SentenceTransformerEmbedder(fast=False), 160).embed(texts)  # torch path
    assert np.abs(small - bulk).max() < 1e-5
    full = SentenceTransformerEmbedder(fast=False).embed(texts)
    assert float((full * bulk).sum(1).min()) < 0.999     # the seeds are longer than 160 tokens
    assert view.name == st.name and view.dim == 384 and view.normalized


def test_truncated_leaves_embedders_without_token_limit_alone():
    from matcher.embed import HashingEmbedder
    fake = HashingEmbedder(16)
    assert truncated(fake, 160) is fake
