"""CV extraction: a CV's text to a `Candidate` with place, mobility, contracts, licences, languages, experience."""
from __future__ import annotations

import re

from ..domain import Candidate, Span
from .extract.contract import cv_contracts
from .extract.diploma import cv_diplomas
from .extract.experience import cv_years_experience
from .extract.language import cv_languages, detect_writing_lang
from .extract.licence import held_licences
from .extract.place import cv_mobility, cv_place
from .extract.rome import rome_codes
from .extract.skills import cv_skills
from .gazetteer import fold

__all__ = ["extract_candidate", "cv_occupation", "cv_rome"]

_TARGET_LABEL = re.compile(r"^[ \t]*(?:poste\s+(?:vis[ée]|recherch[ée]|souhait[ée])|objectif(?:\s+professionnel)?|"
                           r"m[ée]tier\s+(?:vis[ée]|recherch[ée])|target\s+(?:position|role))\s*:?[ \t]*(?P<v>[^\n]*)$",
                           re.IGNORECASE | re.MULTILINE)
_EMAIL = re.compile(r"\b(?P<local>[A-Za-z][\w.\-]{1,40})@[\w\-]+(?:\.[\w\-]*)*")
_HEADINGS = re.compile(r"^(?:contact|coordonn[ée]es|informations?(?:\s+personnelles)?|personnelles|profil|"
                       r"comp[ée]tences|langues|disponibilit[ée]|exp[ée]rience|formation|curriculum\s+vitae|cv|"
                       r"r[ée]sum[ée])\b", re.IGNORECASE)


# Contact details, dates and addresses that sit under a name in many layouts.
_NOT_A_TITLE = re.compile(r"@|https?:|www\.|\b(?:19|20)\d\d\b|\d{5}|\d{2}[ .]\d{2}[ .]\d{2}|[·|]|,\s*[A-Z]{2}\b|"
                          r"^(?:street|rue|avenue|last\s+updated)\b", re.IGNORECASE)


def _clean_occupation(line: str) -> str:
    line = re.split(r"\s+[–—|·]\s+|\s+-\s+", line)[0]
    return line.strip(" :,.-–")


def cv_occupation(text: str) -> tuple[str | None, Span | None]:
    """Target job title: a "Poste visé" field, else the line under the person's name (found from the
    e-mail's local part), else the first title-like line."""
    m = _TARGET_LABEL.search(text)
    if m:
        v = m.group("v").strip()
        start = m.start("v")
        if not v:
            nxt = re.search(r"\S[^\n]*", text[m.end():])
            if nxt:
                v, start = nxt.group(0).strip(), m.end() + nxt.start()
        if v:
            occ = _clean_occupation(v)
            return occ, Span(start, start + len(occ), occ)
    lines = text.split("\n")
    em = _EMAIL.search(text)
    if em:
        parts = [fold(p) for p in re.split(r"[._\-]+", em.group("local")) if len(p) > 1]
        pos = 0
        for i, line in enumerate(lines):
            words = fold(line).split()
            if parts and "@" not in line and len(words) <= 6 and all(p in words for p in parts):
                for j in range(i + 1, min(i + 4, len(lines))):
                    cand = lines[j].strip()
                    if cand and not _HEADINGS.match(cand) and not _NOT_A_TITLE.search(cand):
                        occ = _clean_occupation(cand)
                        s = text.find(cand, pos)
                        return occ, Span(s, s + len(occ), occ)
            pos += len(line) + 1
    return None, None


_HEADLINE_MIN = 0.7   # the first line must read as a job title (ROME score) to stand in for a missing one


def cv_rome(text: str, occupation: str | None) -> tuple[str, ...]:
    """ROME codes of the target job title; without one, of the CV's first line when it reads as a job title
    (many CVs open with it once the name above is masked: "Aide-soignante diplômée d'État")."""
    codes = rome_codes(occupation)
    if codes:
        return codes
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if not first or _HEADINGS.match(first) or _NOT_A_TITLE.search(first):
        return ()
    return rome_codes(_clean_occupation(first), min_score=_HEADLINE_MIN)


def extract_candidate(id: str, text: str, ref_year: int | None = None) -> Candidate:
    """Extract the structured fields of a CV. `ref_year` dates "depuis 2016" (default: this year)."""
    evidence: list[tuple[str, Span]] = []
    writing_lang = detect_writing_lang(text)
    place, pspan = cv_place(text)
    if pspan is not None:
        evidence.append(("location", pspan))
    mobility, mspan = cv_mobility(text, place)
    if mspan is not None:
        evidence.append(("mobility", mspan))
    contracts, cspan = cv_contracts(text)
    if cspan is not None:
        evidence.append(("contracts_wanted", cspan))
    licences = held_licences(text)
    for _, span in licences:
        evidence.append(("licence", span))
    occupation, ospan = cv_occupation(text)
    if ospan is not None:
        evidence.append(("occupation", ospan))
    return Candidate(
        id=id, text=text, location=place, mobility=mobility, contracts_wanted=contracts,
        licences=tuple(code for code, _ in licences), languages=tuple(cv_languages(text, writing_lang)),
        writing_lang=writing_lang, years_experience=cv_years_experience(text, occupation, ref_year),
        skills=cv_skills(text), occupation=occupation, diplomas=cv_diplomas(text, occupation),
        evidence=tuple(evidence), rome=cv_rome(text, occupation),
    )
