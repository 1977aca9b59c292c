"""Job titles to ROME occupation codes (France Travail's Répertoire opérationnel des métiers et des emplois).

`rome_codes(title)` matches a job title or target occupation against the ~11,100 ROME appellations and the
532 code labels bundled in `matcher/data/rome_fr.tsv.gz` (built by `scripts/build_rome.py`; Licence
Ouverte, see `matcher/data/ATTRIBUTION.md`). Purely lexical and deterministic:

1. the title is cleaned of "(H/F)" markers and inclusive endings ("Aide-soignant(e)", "Agent·e",
   "Technicien.ne", "Animateur(trice)"), folded (case, accents) and cut into words;
2. each word is reduced to a gender- and number-free key ("infirmière"/"infirmiers" -> "infirmier",
   "médiatrice" -> "mediateur", "vendeuse" -> "vendeur", "chargée" -> "charg"), so both halves of an
   appellation's "Infirmier / Infirmière" form give the same key;
3. words that no appellation uses ("TAF", "2024", a town) are dropped, and a hyphenated pair known only
   joined is joined ("socio-culturel"); every appellation is scored by the idf-weighted cosine of its key set
   with the title's, the title's words weighing less the further they are from its head (first) word;
4. an appellation with exactly the title's words puts its code first (score 1.0); otherwise a code scores
   0.8 x its best appellation + 0.2 x the share of appellations holding all the title's words that are its
   own (relative to the code with most), so a bare "Infirmier" goes to the code with most nurse appellations
   (J1506) rather than to the one whose single appellation happens to be shortest. Ties go by code.
"""
from __future__ import annotations

import gzip
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["DATA_FILE", "MIN_SCORE", "rome_codes", "rome_scores", "rome_label", "rome_domain", "title_keys"]

DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "rome_fr.tsv.gz"
MIN_SCORE = 0.5          # below this the best code is a guess: no code is assigned
_DECAY = 0.85            # weight of each further word of the title relative to the one before
_EXACT = 0.999           # an appellation with exactly the title's words: its code comes first
_BREADTH = 0.2           # otherwise, share of the score given to how many of a code's appellations hold the title
_TIE = 0.02              # codes within this of the best one are kept too (up to `limit`)

_MARKERS = re.compile(r"[\(\[]\s*(?:h|f|m|x)(?:\s*[/-]\s*(?:h|f|m|x)){1,2}\s*[\)\]]"
                      r"|\b(?:h|f|m)\s*/\s*(?:h|f|m)(?:\s*/\s*x)?\b", re.IGNORECASE)
# Inclusive endings glued to a word: "(e)", "(trice)", ".e", "·ne", "-e", "/e".
_ENDINGS = r"(?:e|es|ne|nes|se|ses|trice|rice|euse|ère|ere|ière|iere|le|ve|fe)"
_INCLUSIVE = re.compile(rf"(?<=[^\W\d_])(?:\s*\(\s*{_ENDINGS}\s*\)|[.·•‧⋅]{_ENDINGS}\b"
                        rf"|-(?:e|es|ne)\b|/{_ENDINGS}\b)", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a au aux avec d de des du en et l la le les par pour sur un une dans chez ou h f x hf fh
    cdi cdd diplome diplomee etat""".split())     # "diplômé d'État" says nothing of the occupation
# Feminine (and a few other) endings to their masculine form, tried longest first.
_GENDER = (("trice", "teur"), ("ienne", "ien"), ("euse", "eur"), ("iere", "ier"), ("onne", "on"),
           ("elle", "el"), ("ette", "et"), ("enne", "en"), ("esse", ""), ("ere", "er"), ("ive", "if"))
# Unambiguous abbreviations of social and health job titles, expanded before matching.
_ABBREVIATIONS = {
    "ide": "infirmier", "ash": "agent de service hospitalier", "aes": "accompagnant educatif et social",
    "amp": "aide medico psychologique", "eje": "educateur de jeunes enfants", "cesf":
    "conseiller en economie sociale et familiale", "tisf": "technicien de l intervention sociale et familiale",
    "advf": "assistant de vie aux familles", "avs": "auxiliaire de vie sociale", "rh": "ressources humaines",
}


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae"))
    return "".join(c for c in s if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=65536)
def _key(word: str) -> str:
    """A folded word without number and gender: both forms of a job title meet."""
    w = word
    if len(w) > 4 and w[-1] in "sx" and not w.endswith("ss"):
        w = w[:-1]
    if len(w) > 5:
        for fem, masc in _GENDER:
            if w.endswith(fem) and len(w) - len(fem) >= 3:
                w = w[: -len(fem)] + masc
                break
    if len(w) > 4:
        w = w.rstrip("e") or w
    return w


def title_keys(text: str) -> tuple[str, ...]:
    """The keys of a title's words, in order, without stop words, markers or inclusive endings."""
    return _keys(_fold(_INCLUSIVE.sub("", _MARKERS.sub(" ", text))))


def _keys(folded: str) -> tuple[str, ...]:
    out: list[str] = []
    for w in _WORD.findall(folded):
        for x in _ABBREVIATIONS.get(w, w).split():
            if x not in _STOP and (len(x) > 1) and not x.isdigit():
                out.append(_key(x))
    return tuple(out)


@dataclass(frozen=True)
class _Table:
    labels: dict[str, str]                        # code -> nomenclature label
    entries: list[tuple[str, frozenset[str], float]]  # (code, key set, norm) per appellation
    postings: dict[str, list[int]]                # key -> entries holding it
    idf: dict[str, float]


@lru_cache(maxsize=1)
def _table() -> _Table:
    labels: dict[str, str] = {}
    rows: list[tuple[str, frozenset[str]]] = []
    with gzip.open(DATA_FILE, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    # the bundled labels carry no "(H/F)" markers or inclusive endings: fold them all in one pass
    for line, folded in zip(lines, _fold("\n".join(lines)).split("\n"), strict=True):
        kind, code, label = line.split("\t")
        if kind == "N":
            labels[code] = label
        keys = frozenset(_keys(folded.split("\t", 2)[2]))
        if keys:
            rows.append((code, keys))
    df: dict[str, int] = defaultdict(int)
    for _, keys in rows:
        for k in keys:
            df[k] += 1
    n = len(rows)
    idf = {k: math.log(1.0 + n / d) for k, d in df.items()}
    entries, postings = [], defaultdict(list)
    for i, (code, keys) in enumerate(rows):
        entries.append((code, keys, math.sqrt(sum(idf[k] ** 2 for k in keys))))
        for k in keys:
            postings[k].append(i)
    return _Table(labels, entries, dict(postings), idf)


def rome_scores(title: str) -> list[tuple[str, float]]:
    """Every ROME code that shares a word with `title`, best first, with its score in (0, 1]."""
    return list(_scores(title))


@lru_cache(maxsize=4096)    # many postings share a title
def _scores(title: str) -> tuple[tuple[str, float], ...]:
    tab = _table()
    keys = list(title_keys(title))
    for n in range(len(keys) - 2, -1, -1):    # "socio-culturel" -> "socioculturel" when only that is known
        joined = _key(keys[n] + keys[n + 1])
        if joined in tab.idf and (keys[n] not in tab.idf or keys[n + 1] not in tab.idf):
            keys[n: n + 2] = [joined]
    q: dict[str, float] = {}
    for k in keys:
        if k in tab.idf and k not in q:
            q[k] = tab.idf[k] * _DECAY ** len(q)   # the head noun comes first in French job titles
    if not q:
        return ()
    qnorm = math.sqrt(sum(w * w for w in q.values()))
    dots: dict[int, float] = defaultdict(float)
    for k, qw in q.items():
        w = qw * tab.idf[k]
        for i in tab.postings[k]:
            dots[i] += w
    best: dict[str, float] = {}
    full: dict[str, int] = defaultdict(int)   # appellations holding every word of the title
    for i, dot in dots.items():
        code, _, norm = tab.entries[i]
        cos = dot / (qnorm * norm)
        if dot >= qnorm * qnorm * (1 - 1e-9):
            full[code] += 1
        if cos > best.get(code, 0.0):
            best[code] = cos
    most = max(full.values(), default=0)
    score = {c: b if b >= _EXACT or not most else (1 - _BREADTH) * b + _BREADTH * full[c] / most
             for c, b in best.items()}
    ranked = sorted(score, key=lambda c: (-round(score[c], 6), c))
    return tuple((c, round(score[c], 6)) for c in ranked)


def rome_codes(title: str | None, limit: int = 3, min_score: float = MIN_SCORE) -> tuple[str, ...]:
    """The ROME code(s) of a job title: the best one when it scores at least `min_score`, and the codes within
    a small tie margin of it (up to `limit`); empty when the title matches no appellation well enough."""
    if not title:
        return ()
    scored = _scores(title)
    if not scored or scored[0][1] < min_score:
        return ()
    top = scored[0][1]
    return tuple(c for c, s in scored[:limit] if s >= top - _TIE)


def rome_label(code: str) -> str:
    """The nomenclature label of a ROME code ("" when unknown)."""
    return _table().labels.get(code, "")


def rome_domain(code: str) -> str:
    """The professional domain of a code: its first three characters ("J1501" -> "J15")."""
    return code[:3]
