"""Hard filters: pure predicates (posting, candidate) -> rejection reason, or None when the pair passes."""
from __future__ import annotations

import math
import re
from typing import Callable

from .domain import Candidate, Place, Posting, cefr_rank
from .errors import ConfigError

__all__ = ["location", "contract", "licence", "language", "FILTERS", "rejections", "haversine_km",
           "parse_mobility", "LICENCE_IMPLIES"]

# Holding the licence on the left implies holding those on the right (French licence ladder).
LICENCE_IMPLIES = {
    "BE": {"B"}, "C1": {"B"}, "C": {"B", "C1"}, "C1E": {"B", "BE", "C1"}, "CE": {"B", "BE", "C", "C1", "C1E"},
    "D1": {"B"}, "D": {"B", "D1"}, "D1E": {"B", "BE", "D1"}, "DE": {"B", "BE", "D", "D1", "D1E"},
    "A": {"A1", "A2", "AM"}, "A2": {"A1", "AM"}, "A1": {"AM"},
}


def haversine_km(a: Place, b: Place) -> float:
    """Great-circle distance in km between two places with coordinates."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))  # type: ignore[arg-type]
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def parse_mobility(mobility: str) -> tuple[str, object]:
    """('department'|'region'|'france', None), ('list', [codes]) or ('radius_km', km)."""
    mobility = (mobility or "region").strip()
    if mobility.startswith("list:"):
        codes = [c.strip().strip("'\"") for c in re.split(r"[,\s]+", mobility[5:].strip("[] "))]
        return "list", [c for c in codes if c]
    if mobility.startswith("radius_km:"):
        try:
            km = float(mobility.split(":", 1)[1])
        except ValueError:
            km = -1.0
        if not km >= 0:
            raise ConfigError(f"mobility {mobility!r}: the radius must be a number of km, e.g. radius_km:30")
        return "radius_km", km
    return mobility, None


def location(posting: Posting, candidate: Candidate) -> str | None:
    """The posting's place must lie inside the candidate's mobility area; full-remote postings pass."""
    if posting.remote == "full":
        return None
    p, c = posting.location, candidate.location
    if p is None or c is None or not (p.city or p.department or p.region or p.country):
        return None  # nothing to compare: an unknown place never rejects
    if p.country and p.country.upper() not in ("FR", "FRANCE"):
        return f"the job is abroad ({p.country}); mobility is {candidate.mobility}"
    kind, arg = parse_mobility(candidate.mobility)
    where = p.label() or p.region or ""
    if kind == "france":
        return None
    if kind == "department":
        if p.department and c.department and p.department != c.department:
            return f"{where} is outside department {c.department}"
        return None
    if kind == "list":
        if p.department and p.department not in arg:  # type: ignore[operator]
            return f"{where} is outside departments {', '.join(arg)}"  # type: ignore[arg-type]
        return None
    if kind == "radius_km":
        if not p.city:
            return f"the job names only {where or 'a region'}, which a {arg:g} km radius cannot contain"
        if None in (p.lat, p.lon, c.lat, c.lon):
            return None
        d = haversine_km(p, c)
        if d > arg:  # type: ignore[operator]
            return f"{where} is {d:.0f} km from {c.city or 'home'}, beyond {arg:g} km"
        return None
    # default and "region"
    if p.region and c.region and p.region != c.region:
        return f"{where} is outside region {c.region}"
    return None


def contract(posting: Posting, candidate: Candidate) -> str | None:
    """The posting's contract type must be one the candidate wants (none stated = any)."""
    if candidate.contracts_wanted and posting.contract and posting.contract not in candidate.contracts_wanted:
        return f"{posting.contract} not wanted (wants {', '.join(candidate.contracts_wanted)})"
    return None


def _held(licences: tuple[str, ...]) -> set[str]:
    held = set(licences)
    for lic in licences:
        held |= LICENCE_IMPLIES.get(lic, set())
    return held


def licence(posting: Posting, candidate: Candidate) -> str | None:
    """Every licence the posting requires must be held; silence in the CV means not held."""
    held = _held(candidate.licences)
    missing = [r.value for r in posting.requirements_of("licence", True) if r.value not in held]
    if missing:
        return f"requires licence {', '.join(missing)}, not held"
    return None


def language(posting: Posting, candidate: Candidate) -> str | None:
    """Every language the posting requires must be declared at the required level or above."""
    for r in posting.requirements_of("language", True):
        need = cefr_rank(r.level, default=1)
        have = candidate.language_level(r.value)
        if have < need:
            level = f" {r.level}" if r.level else ""
            return f"requires {r.value}{level}, " + ("not declared" if have == 0 else "level too low")
    return None


FILTERS: dict[str, Callable[[Posting, Candidate], str | None]] = {
    "location": location, "contract": contract, "licence": licence, "language": language,
}


def rejections(posting: Posting, candidate: Candidate, kinds: tuple[str, ...] = tuple(FILTERS)) -> dict[str, str]:
    """{kind: reason} for every filter in `kinds` that rejects the pair (empty when it passes)."""
    out = {}
    for kind in kinds:
        reason = FILTERS[kind](posting, candidate)
        if reason:
            out[kind] = reason
    return out
