"""Experience: years a posting asks for, and a CV author's years in the target occupation (best effort)."""
from __future__ import annotations

import datetime as _dt
import re

from ...domain import Span
from ..gazetteer import fold

__all__ = ["posting_experience_years", "cv_years_experience", "number_of"]

_NUM_WORDS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
    "dix sept": 17, "dix huit": 18, "dix neuf": 19, "vingt": 20, "vingt cinq": 25, "trente": 30,
    "quarante": 40, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20,
}
_NUM = r"(?:\d{1,2}(?:[.,]5)?|" + "|".join(sorted((k.replace(" ", "[- ]") for k in _NUM_WORDS),
                                                  key=len, reverse=True)) + r")"


def number_of(word: str) -> float | None:
    """12 for "12", 15 for "quinze", 17 for "dix-sept"; None when not a number."""
    w = fold(word).replace("-", " ")
    if re.fullmatch(r"\d{1,2}(?:[.,]5)?", word.strip()):
        return float(word.strip().replace(",", "."))
    return float(_NUM_WORDS[w]) if w in _NUM_WORDS else None


_POSTING_EXP = re.compile(r"^[ \t]*exp[ée]rience\s*:\s*(?P<v>[^\n]+)$", re.IGNORECASE | re.MULTILINE)


def posting_experience_years(text: str) -> tuple[float | None, Span | None]:
    """Years of experience a posting asks for ("Expérience : 2 ans" -> 2, "Débutant accepté" -> 0)."""
    m = _POSTING_EXP.search(text)
    if not m:
        return None, None
    v = m.group("v").strip()
    span = Span(m.start("v"), m.start("v") + len(v), v)
    if re.search(r"d[ée]butant", v, re.IGNORECASE):
        return 0.0, span
    nm = re.search(rf"(?P<n>{_NUM})\s*(?P<u>ans?|mois)", v, re.IGNORECASE)
    if nm:
        n = number_of(nm.group("n")) or 0.0
        return (n / 12 if nm.group("u").lower().startswith("mois") else n), span
    return None, span


# "2014 – 2016", "Depuis 2016", "2019 – aujourd'hui", "sept. 2021 – juin 2023", "Étés 2022 – 2025"
_RANGE = re.compile(
    r"(?:(?P<since>depuis|since)\s+(?:[a-zéû]{3,9}\.?\s+)?(?P<s1>(?:19|20)\d\d))|"
    r"(?P<s2>(?:19|20)\d\d)\s*(?:[-–—]|à|au|to)\s*(?:[a-zéû]{3,9}\.?\s+)?"
    r"(?P<e2>(?:19|20)\d\d|aujourd['’]hui|pr[ée]sent|present|now|ce\s+jour|maintenant|en\s+cours|actuel)",
    re.IGNORECASE)
_EXPLICIT = re.compile(
    rf"(?:(?:depuis|since)\s+(?:plus\s+de\s+|près\s+de\s+|over\s+)?(?P<a>{_NUM})\s+(?:ans|années|saisons|years))|"
    rf"(?:(?P<b>{_NUM})\s+(?:ans|années|years|saisons)\s+(?:d['’]exp[ée]rience|of\s+experience|comme|en\s+tant\s+que|"
    rf"d['’]exercice|de\s+pratique))", re.IGNORECASE)
_STOP = {"de", "du", "des", "la", "le", "les", "en", "et", "d", "l", "a", "au", "aux", "diplome", "diplomee",
         "etat", "d etat", "h", "f", "senior", "junior", "confirme", "confirmee", "mission", "missions",
         "interim", "temps", "partiel", "remplacement", "cdd", "cdi"}


def _stems(s: str) -> list[str]:
    """Crude stems of the meaningful words of a job title, in order (feminine forms fold onto masculine)."""
    out: list[str] = []
    for w in fold(s).split():
        if w in _STOP or len(w) < 3:
            continue
        if w[:6] not in out:
            out.append(w[:6])
    return out


# Head words too general to identify an occupation on their own ("Aide" in "Aide-soignant").
_GENERIC = {"aide", "agent", "assist", "respon", "charge", "consei", "techni", "employ", "chef", "direct",
            "operat", "ouvrie", "interv", "coordi", "gestio", "adjoin", "person", "travai"}


def _same_occupation(occ: list[str], entry: list[str]) -> bool:
    if not occ:
        return False
    if occ[0] not in _GENERIC and occ[0] in entry:
        return True
    return len(set(occ) & set(entry)) >= min(2, len(occ))


def cv_years_experience(text: str, occupation: str | None, ref_year: int | None = None) -> float | None:
    """Years in the target occupation: the date ranges of experience entries whose title matches the
    occupation, else an explicit "N ans d'expérience"/"depuis N ans", else 0 for a student, else all
    experience date ranges."""
    year = ref_year or _dt.date.today().year
    occ = _stems(occupation or "")
    matched: list[tuple[int, int]] = []
    every: list[tuple[int, int]] = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        for m in _RANGE.finditer(line):
            if m.group("s1"):
                start, end = int(m.group("s1")), year
            else:
                start = int(m.group("s2"))
                e = m.group("e2")
                end = int(e) if e[:2].isdigit() else year
            if not (1950 <= start <= year and start <= end <= year + 1):
                continue
            if len(line) > 100 and m.start() > 40:
                continue      # a date inside a sentence ("the series has run since 1958"), not an entry
            entry = _entry_text(lines, i, m)
            if entry is None or _TRAINING.search(entry):
                continue
            every.append((start, end))
            if _same_occupation(occ, _stems(entry)):
                matched.append((start, end))
    explicit = None
    m = _EXPLICIT.search(text)
    if m:
        explicit = number_of(m.group("a") or m.group("b"))
    if matched:
        years = float(_union_years(matched))
        return max(years, explicit) if explicit is not None else years
    if explicit is not None:
        return explicit
    if occupation and re.search(r"\b(?:[ée]tudiante?|stagiaire|student|intern)\b", occupation, re.IGNORECASE):
        return 0.0
    if every:
        total = _union_years(every)
        return float(total) if total <= 50 else None
    return None


_DATE_WORDS = re.compile(r"(?:depuis|since|de|du|from|le|en|janv|f[ée]vr|mars|avr|mai|juin|juil|ao[ûu]t|sept|oct|"
                         r"nov|d[ée]c|[ée]t[ée]s?|hivers?|saisons?|aujourd['’]hui|pr[ée]sent|present|now|\d+)\.?",
                         re.IGNORECASE)


def _entry_text(lines: list[str], i: int, m: re.Match) -> str | None:
    """Text of the experience entry a date range belongs to, across the common CV layouts:
    "2014 – 2016 — Title, Employer"; "Title" + "Employer – City | Depuis 2016"; "Depuis 2019" + "Title"."""
    line = lines[i]
    rest = (line[:m.start()] + " " + line[m.end():]).strip()
    rest_words = _DATE_WORDS.sub(" ", rest)
    if len(re.findall(r"[A-Za-zÀ-ÿ]{3,}", rest_words)) >= 1:
        if "|" in line[:m.start()] and i > 0 and lines[i - 1].strip():
            return lines[i - 1] + " " + rest
        return rest
    for j in range(i + 1, min(i + 3, len(lines))):
        nxt = lines[j].strip()
        if not nxt:
            continue
        if _RANGE.search(nxt) or re.fullmatch(r"(?:19|20)\d\d", nxt):
            return None      # a column of dates (table layouts): the titles are elsewhere
        return nxt
    return None


_TRAINING = re.compile(r"dipl[ôo]me|baccalaur|\bbac\b|\bbts\b|\bdut\b|\bbut\b|\blicence\b|\bmaster\b|\bcap\b|"
                       r"\bbep\b|^\s*formation|universit|\biut\b|[ée]cole|lyc[ée]e|\bifsi\b|\bifas\b|\birts\b|"
                       r"titre\s+professionnel|^\s*bafa|^\s*bafd|bpjeps|certificat|\bstages?\b|\bstagiaire|"
                       r"erasmus|semestre", re.IGNORECASE)


def _union_years(ranges: list[tuple[int, int]]) -> int:
    """Total years covered by possibly overlapping [start, end] year ranges."""
    ranges.sort()
    total = 0
    cur_s, cur_e = ranges[0]
    for s, e in ranges[1:]:
        if s <= cur_e:
            cur_e = max(cur_e, e)
        else:
            total += cur_e - cur_s
            cur_s, cur_e = s, e
    return total + (cur_e - cur_s)
