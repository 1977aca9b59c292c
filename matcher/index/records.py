"""JSON round-trip of Posting and Candidate for the metadata store (text is stored apart)."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..domain import Candidate, Language, Place, Posting, Requirement, Span
from ..parse.cv import cv_rome
from ..parse.extract.rome import rome_codes

__all__ = ["posting_to_json", "posting_from_json", "candidate_to_json", "candidate_from_json"]


def _span(d: dict | None) -> Span | None:
    return Span(**d) if d else None


def _evidence(items: list) -> tuple[tuple[str, Span], ...]:
    return tuple((name, Span(**s)) for name, s in items or [])


def _rome(d: dict, title: str | None) -> tuple[str, ...]:
    """The stored ROME codes of a posting. Records written before the field existed get them from their title
    (pure, ~0.5 ms), so an older index ranks without re-embedding; CVs likewise, from their job title (and their
    first line when the text is given)."""
    if "rome" in d:
        return tuple(d["rome"] or ())
    return rome_codes(title)


def _place(d: dict | None) -> Place | None:
    return Place(**d) if d else None


def _dump(obj: Any) -> str:
    d = dataclasses.asdict(obj)
    d.pop("text", None)
    return json.dumps(d, ensure_ascii=False, sort_keys=True)


def posting_to_json(p: Posting) -> str:
    return _dump(p)


def posting_from_json(s: str, text: str = "") -> Posting:
    d = json.loads(s)
    return Posting(
        id=d["id"], title=d.get("title", ""), text=text, source=d.get("source", ""),
        location=_place(d.get("location")), contract=d.get("contract"), contract_months=d.get("contract_months"),
        requirements=tuple(Requirement(kind=r["kind"], value=r["value"], required=r["required"], level=r.get("level"),
                                       evidence=_span(r.get("evidence"))) for r in d.get("requirements") or []),
        remote=d.get("remote", "unknown"), salary=d.get("salary"), occupation=d.get("occupation"),
        skills=tuple(d.get("skills") or ()), diplomas=tuple(d.get("diplomas") or ()),
        evidence=_evidence(d.get("evidence")), rome=_rome(d, d.get("title") or ""))


def candidate_to_json(c: Candidate) -> str:
    return _dump(c)


def candidate_from_json(s: str, text: str = "") -> Candidate:
    d = json.loads(s)
    return Candidate(
        id=d["id"], text=text, location=_place(d.get("location")), mobility=d.get("mobility", "region"),
        contracts_wanted=tuple(d.get("contracts_wanted") or ()), licences=tuple(d.get("licences") or ()),
        languages=tuple(Language(lang=x["lang"], level=x.get("level"), evidence=_span(x.get("evidence")))
                        for x in d.get("languages") or []),
        writing_lang=d.get("writing_lang", "fr"), years_experience=d.get("years_experience"),
        skills=tuple(d.get("skills") or ()), occupation=d.get("occupation"), diplomas=tuple(d.get("diplomas") or ()),
        evidence=_evidence(d.get("evidence")),
        rome=tuple(d["rome"] or ()) if "rome" in d else cv_rome(text, d.get("occupation")))
