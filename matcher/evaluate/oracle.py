"""Hard-filter verdicts from a labelled set's truth fields (CONTRACT.md semantics), independent of the engine."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..domain import cefr_rank

__all__ = ["truth_failures", "haversine_km"]


def haversine_km(a: Mapping[str, Any], b: Mapping[str, Any]) -> float | None:
    """Great-circle distance in km between two places with "lat"/"lon"; None when a coordinate is missing."""
    if any(p.get(k) is None for p in (a, b) for k in ("lat", "lon")):
        return None
    la1, lo1, la2, lo2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def _location_ok(cv: Mapping[str, Any], post: Mapping[str, Any]) -> bool:
    place, home = post.get("location") or {}, cv.get("location") or {}
    if post.get("remote") == "full" or not place or not home:
        return True          # full-remote passes; an unknown place cannot be judged outside the area
    mobility = str(cv.get("mobility") or "region").strip()
    if mobility == "france":
        return True
    if mobility == "department":
        return not place.get("department") or place.get("department") == home.get("department")
    if mobility == "region":
        return not place.get("region") or place.get("region") == home.get("region")
    if mobility.startswith("list:"):
        allowed = {c.strip().strip("'\"") for c in mobility[5:].strip("[]").split(",")}
        return not place.get("department") or place["department"] in allowed
    if mobility.startswith("radius_km:"):
        d = haversine_km(home, place)
        # A place known only by its department cannot be shown to lie within a radius (dev_fr's rule).
        return d is not None and d <= float(mobility.split(":", 1)[1])
    raise ValueError(f"unknown mobility {mobility!r}")


def truth_failures(cv: Mapping[str, Any], post: Mapping[str, Any], cv_lang: str = "fr") -> list[str]:
    """The hard filters a (CV truth, posting truth) pair fails: a sublist of location, contract, licence, language.

    Args: cv, a CV's "truth"; post, a posting's "truth"; cv_lang, the language the CV is written in
    (it counts as C2). Returns [] when every hard requirement is met. A declared language without a
    level counts as B2, a required one without a level as A1 (as score.py)."""
    fails = []
    if not _location_ok(cv, post):
        fails.append("location")
    wanted = cv.get("contracts_wanted") or []
    if wanted and post.get("contract") and post["contract"] not in wanted:
        fails.append("contract")
    held = set(cv.get("licences") or [])
    if any(x not in held for x in post.get("licences_required") or []):
        fails.append("licence")
    levels: dict[str, int] = {}
    for x in cv.get("languages") or []:
        levels[x["lang"]] = max(levels.get(x["lang"], 0), cefr_rank(x.get("level"), default=4))
    levels[cv_lang] = 6
    required = post.get("languages_required") or []
    if any(levels.get(r["lang"], 0) < cefr_rank(r.get("level"), default=1) for r in required):
        fails.append("language")
    return fails
