"""Posting extraction: a job ad's text to a `Posting` with place, contract, requirements, remote, salary, skills."""
from __future__ import annotations

import re

from ..domain import Posting, Span
from .extract.contract import posting_contract
from .extract.diploma import posting_diplomas
from .extract.language import posting_languages
from .extract.licence import posting_licences
from .extract.place import posting_place
from .extract.remote import posting_remote
from .extract.rome import rome_codes
from .extract.salary import posting_salary
from .extract.skills import posting_skills

__all__ = ["extract_posting", "clean_title"]

_TITLE_NOISE = re.compile(r"\s*[\(\[]\s*(?:h\s*/\s*f|f\s*/\s*h|h\s*/\s*f\s*/\s*x|m\s*/\s*f|f\s*/\s*m)\s*[\)\]]"
                          r"|\s*\b(?:h/f|f/h)\b", re.IGNORECASE)


def clean_title(title: str) -> str:
    """The job title without "(H/F)" markers and surrounding spaces."""
    t = _TITLE_NOISE.sub("", title)
    return re.sub(r"\s{2,}", " ", t).strip(" -–—")


def extract_posting(id: str, title: str, text: str, source: str = "") -> Posting:
    """Extract the structured fields of a posting. Evidence spans index into `text`."""
    evidence: list[tuple[str, Span]] = []
    place, pspan = posting_place(text, title)
    if pspan is not None and place is not None:
        evidence.append(("location", pspan))
    contract, months, cspan = posting_contract(text, title)
    if cspan is not None:
        evidence.append(("contract", cspan))
    requirements = tuple(posting_licences(text)) + tuple(posting_languages(text, title))
    remote, rspan = posting_remote(text, title)
    if rspan is not None:
        evidence.append(("remote", rspan))
    salary, sspan = posting_salary(text)
    if sspan is not None:
        evidence.append(("salary", sspan))
    diplomas, dspan = posting_diplomas(title, text)
    if dspan is not None:
        evidence.append(("diploma", dspan))
    return Posting(
        id=id, title=title, text=text, source=source, location=place, contract=contract,
        contract_months=months if contract in ("CDD", "Stage", "Intérim", "Saisonnier", "Alternance") else None,
        requirements=requirements, remote=remote, salary=salary, occupation=clean_title(title) or None,
        skills=posting_skills(text), diplomas=diplomas, evidence=tuple(evidence), rome=rome_codes(title),
    )
