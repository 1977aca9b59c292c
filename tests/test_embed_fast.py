"""The numpy forward pass gives the same vectors as sentence-transformers (real model: marked slow)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matcher.embed import SentenceTransformerEmbedder, resolve_model_path
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
