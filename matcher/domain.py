"""Frozen domain types: Posting (document side), Candidate (query side), Requirement, Match."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONTRACTS", "CEFR_LEVELS", "REMOTE", "Span", "Place", "Requirement", "Language",
    "Posting", "Candidate", "Reason", "Match", "cefr_rank",
]

CONTRACTS = ("CDI", "CDD", "Stage", "Alternance", "Intérim", "Saisonnier", "Freelance", "Bénévolat", "Autre")
CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
REMOTE = ("none", "partial", "full", "unknown")


def cefr_rank(level: str | None, default: int = 0) -> int:
    """1 for A1 … 6 for C2; `default` when the level is missing or unknown."""
    if not level:
        return default
    level = level.upper()
    return CEFR_LEVELS.index(level) + 1 if level in CEFR_LEVELS else default


@dataclass(frozen=True)
class Span:
    """Evidence: the characters [start, end) of the source text, and that text."""
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Place:
    """A French (or foreign) place; any field may be unknown."""
    city: str | None = None
    department: str | None = None
    region: str | None = None
    lat: float | None = None
    lon: float | None = None
    country: str | None = None
    postcode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def label(self) -> str:
        if self.city and self.department:
            return f"{self.city} ({self.department})"
        return self.city or self.department or self.region or self.country or ""


@dataclass(frozen=True)
class Requirement:
    """A licence or language a posting asks for; `required=False` means desired (a boost)."""
    kind: str                      # "licence" | "language"
    value: str                     # licence code ("B") or ISO 639 code ("ro", "rom")
    required: bool = True
    level: str | None = None       # CEFR level for languages
    evidence: Span | None = None


@dataclass(frozen=True)
class Language:
    """A language a candidate declares, with its CEFR level when known."""
    lang: str
    level: str | None = None
    evidence: Span | None = None


@dataclass(frozen=True)
class Posting:
    """A job posting with its extracted structured fields."""
    id: str
    title: str
    text: str
    source: str = ""
    location: Place | None = None
    contract: str | None = None
    contract_months: float | None = None
    requirements: tuple[Requirement, ...] = ()
    remote: str = "unknown"
    salary: str | None = None
    occupation: str | None = None
    skills: tuple[str, ...] = ()
    diplomas: tuple[str, ...] = ()                 # regulated diplomas accepted (any one suffices)
    evidence: tuple[tuple[str, Span], ...] = ()   # (field name, span) for location, contract, remote, salary…
    rome: tuple[str, ...] = ()                     # ROME occupation code(s) of the title, best first

    def span(self, name: str) -> Span | None:
        return next((s for n, s in self.evidence if n == name), None)

    def requirements_of(self, kind: str, required: bool) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.kind == kind and r.required == required)

    def truth(self) -> dict[str, Any]:
        """The extracted fields keyed like the contract's posting `truth` object."""
        def langs(required: bool) -> list[dict[str, str]]:
            out = []
            for r in self.requirements_of("language", required):
                out.append({"lang": r.value, **({"level": r.level} if r.level else {})})
            return out
        out: dict[str, Any] = {}
        if self.location is not None:
            out["location"] = self.location.to_dict()
        if self.contract:
            out["contract"] = self.contract
        if self.contract_months is not None:
            out["contract_months"] = self.contract_months
        out["licences_required"] = [r.value for r in self.requirements_of("licence", True)]
        out["licences_desired"] = [r.value for r in self.requirements_of("licence", False)]
        out["languages_required"] = langs(True)
        out["languages_desired"] = langs(False)
        out["remote"] = self.remote
        if self.salary:
            out["salary"] = self.salary
        if self.rome:
            out["rome"] = list(self.rome)
        return out


@dataclass(frozen=True)
class Candidate:
    """A CV with its extracted structured fields. Protected attributes are never stored here."""
    id: str
    text: str
    location: Place | None = None
    mobility: str = "region"       # department | region | france | list:[codes] | radius_km:N
    contracts_wanted: tuple[str, ...] = ()
    licences: tuple[str, ...] = ()
    languages: tuple[Language, ...] = ()
    writing_lang: str = "fr"
    years_experience: float | None = None
    skills: tuple[str, ...] = ()
    occupation: str | None = None
    diplomas: tuple[str, ...] = ()                 # regulated diplomas held
    evidence: tuple[tuple[str, Span], ...] = ()
    rome: tuple[str, ...] = ()                     # ROME occupation code(s) of the target job title, best first

    def span(self, name: str) -> Span | None:
        return next((s for n, s in self.evidence if n == name), None)

    def language_level(self, lang: str) -> int:
        """CEFR rank held in `lang` (0 when absent). The CV's writing language counts as fluent (C2)."""
        if lang == self.writing_lang:
            return 6
        return max((cefr_rank(x.level, default=4) for x in self.languages if x.lang == lang), default=0)

    def truth(self) -> dict[str, Any]:
        """The extracted fields keyed like the contract's CV `truth` object."""
        out: dict[str, Any] = {
            "location": self.location.to_dict() if self.location else {},
            "mobility": self.mobility,
            "contracts_wanted": list(self.contracts_wanted),
            "licences": list(self.licences),
            "languages": [{"lang": x.lang, **({"level": x.level} if x.level else {})} for x in self.languages],
        }
        if self.occupation:
            out["occupation"] = self.occupation
        if self.years_experience is not None:
            out["years_experience"] = self.years_experience
        if self.skills:
            out["skills"] = list(self.skills)
        if self.rome:
            out["rome"] = list(self.rome)
        return out


@dataclass(frozen=True)
class Reason:
    """One line of explanation: a filter or requirement and whether it is met, with the text behind it."""
    kind: str                      # location | contract | licence | language | skill | similarity
    ok: bool
    detail: str
    evidence: str | None = None    # the posting's text span that states the requirement
    required: bool = True


@dataclass(frozen=True)
class Match:
    """One ranked result. `parts` is the score breakdown; `reasons` say why."""
    posting_id: str
    score: float
    title: str = ""
    place: str = ""
    contract: str | None = None
    cv_id: str | None = None
    parts: dict[str, float] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()
    blocked: tuple[str, ...] = ()  # kinds of hard filter that failed (empty when the match passes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "posting_id": self.posting_id, "cv_id": self.cv_id, "score": round(self.score, 6),
            "title": self.title, "place": self.place, "contract": self.contract,
            "parts": {k: round(v, 6) for k, v in self.parts.items()},
            "blocked": list(self.blocked),
            "reasons": [{"kind": r.kind, "ok": r.ok, "required": r.required, "detail": r.detail,
                         "evidence": r.evidence} for r in self.reasons],
        }
