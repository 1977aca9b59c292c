"""French-aware lexical analysis (accents, stop words, Snowball stemming) and a BM25 index on sparse matrices."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

__all__ = ["analyze", "BM25Index", "STOP_WORDS"]

# French and English function words, plus artefacts of PDF extraction ("cid" from "(cid:127)" bullets)
# and posting boilerplate that says nothing about the job ("h/f").
STOP_WORDS = frozenset("""
a au aux avec ce ces cet cette dans de des du elle en et eux il ils je la le les leur leurs lui ma mais me
meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un
une vos votre vous c d j l m n s t y ete etre avoir est sont sera etes suis ai as avons avez ont
ceci cela celle celui ci comme dont donc elles entre lors sans sous tres tout tous toute toutes plus moins
aussi ainsi afin chez si sera seront peut peuvent doit doivent leurs vers via selon
the of and or to in for on with at by from an is are be as this that it its your our we you will
cid h f hf fh www http https com fr org
""".split())

_TOKEN = re.compile(r"[a-z0-9]+")


def _fold(text: str) -> str:
    """Lower-case and strip accents (é -> e, œ -> oe)."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=4)
def _stemmer(language: str):
    import Stemmer  # PyStemmer: Snowball stemmers in C
    return Stemmer.Stemmer(language)


def analyze(text: str, stem: bool = True, language: str = "french") -> list[str]:
    """Tokens of `text`: folded, stop words and 1-letter tokens removed, optionally Snowball-stemmed."""
    tokens = [t for t in _TOKEN.findall(_fold(text)) if len(t) > 1 and t not in STOP_WORDS]
    if stem and tokens:
        tokens = _stemmer(language).stemWords(tokens)
    return tokens


@dataclass
class BM25Index:
    """Okapi BM25 over a fixed document set. Rebuilt in memory from token lists (cheap); scores are exact."""
    ids: list[str]
    vocab: dict[str, int]
    tf: "object"            # scipy.sparse.csc_matrix (n_docs, n_terms), raw term frequencies
    doc_len: np.ndarray
    k1: float = 1.2
    b: float = 0.75
    _doc_norm: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(cls, ids: Sequence[str], docs: Iterable[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> "BM25Index":
        """Index token lists; `ids[i]` names `docs[i]`."""
        from scipy.sparse import csr_matrix
        vocab: dict[str, int] = {}
        indptr, indices, data = [0], [], []
        for tokens in docs:
            counts: dict[int, int] = {}
            for tok in tokens:
                j = vocab.setdefault(tok, len(vocab))
                counts[j] = counts.get(j, 0) + 1
            indices.extend(counts.keys())
            data.extend(counts.values())
            indptr.append(len(indices))
        tf = csr_matrix((np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int64),
                         np.asarray(indptr, dtype=np.int64)), shape=(len(ids), max(len(vocab), 1)))
        doc_len = np.asarray(tf.sum(axis=1)).ravel().astype(np.float32)
        return cls(list(ids), vocab, tf.tocsc(), doc_len, k1, b)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: Sequence[str], k1: float | None = None, b: float | None = None,
               query_tf: bool = False) -> np.ndarray:
        """BM25 score of every document for the query tokens, shape (n_docs,).

        Each distinct query term counts once unless `query_tf`, which weights it by its count in the query."""
        k1 = self.k1 if k1 is None else k1
        b = self.b if b is None else b
        n = len(self.ids)
        out = np.zeros(n, dtype=np.float64)
        if n == 0:
            return out
        qcounts: dict[int, int] = {}
        for tok in query:
            j = self.vocab.get(tok)
            if j is not None:
                qcounts[j] = qcounts.get(j, 0) + 1
        if not qcounts:
            return out
        avgdl = float(self.doc_len.mean()) or 1.0
        norm = k1 * (1.0 - b + b * self.doc_len / avgdl)
        tf = self.tf
        for j, qc in qcounts.items():
            start, end = tf.indptr[j], tf.indptr[j + 1]
            rows = tf.indices[start:end]
            f = tf.data[start:end].astype(np.float64)
            df = end - start
            idf = np.log1p((n - df + 0.5) / (df + 0.5))
            w = idf * (qc if query_tf else 1.0)
            out[rows] += w * f * (k1 + 1.0) / (f + norm[rows])
        return out

    def cosine(self, query: Sequence[str]) -> np.ndarray:
        """Cosine of idf-weighted binary term vectors between the query and every document, shape (n_docs,).

        Suited to short texts such as job titles, where term counts carry no signal."""
        n = len(self.ids)
        out = np.zeros(n, dtype=np.float64)
        terms = {self.vocab[t] for t in query if t in self.vocab}
        if n == 0 or not terms:
            return out
        tf = self.tf
        df = np.diff(tf.indptr).astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        if self._doc_norm is None:
            binary = tf.copy()
            binary.data = np.ones_like(binary.data)
            self._doc_norm = np.sqrt(np.asarray(binary.multiply(idf[None, :] ** 2).sum(axis=1)).ravel())
        q_norm = float(np.sqrt(sum(idf[j] ** 2 for j in terms)))
        for j in terms:
            rows = tf.indices[tf.indptr[j]:tf.indptr[j + 1]]
            out[rows] += idf[j] ** 2
        norm = self._doc_norm * q_norm
        return np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)
