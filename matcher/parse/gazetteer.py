"""Offline French gazetteer: cities, departments, regions and country names, loaded lazily from matcher/data."""
from __future__ import annotations

import gzip
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..domain import Place

__all__ = [
    "fold", "display_name", "find_city", "department_place", "region_of", "find_country", "find_department",
    "find_region", "departments", "departments_of", "department_name", "REGIONS", "postcode_department",
]

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "gazetteer_fr.tsv.gz"

REGIONS = (
    "Auvergne-Rhône-Alpes", "Bourgogne-Franche-Comté", "Bretagne", "Centre-Val de Loire", "Corse",
    "Grand Est", "Hauts-de-France", "Île-de-France", "Normandie", "Nouvelle-Aquitaine", "Occitanie",
    "Pays de la Loire", "Provence-Alpes-Côte d'Azur",
    "Guadeloupe", "Martinique", "Guyane", "La Réunion", "Mayotte",
)
# Spellings people use for regions besides the official names (folded).
_REGION_ALIASES = {
    "idf": "Île-de-France", "ile de france": "Île-de-France", "region parisienne": "Île-de-France",
    "paca": "Provence-Alpes-Côte d'Azur", "provence alpes cote d azur": "Provence-Alpes-Côte d'Azur",
    "reunion": "La Réunion", "la reunion": "La Réunion", "aura": "Auvergne-Rhône-Alpes",
    "auvergne rhone alpes": "Auvergne-Rhône-Alpes", "bfc": "Bourgogne-Franche-Comté",
    "guyane francaise": "Guyane", "centre val de loire": "Centre-Val de Loire",
    "nouvelle aquitaine": "Nouvelle-Aquitaine", "hauts de france": "Hauts-de-France",
}

_FOLD_PUNCT = re.compile(r"[^a-z0-9]+")
_SAINTE = re.compile(r"\bste\b")
_SAINT = re.compile(r"\bst\b")


def fold(s: str) -> str:
    """Lower-case, accent-free, punctuation-free form; "St"/"Ste" become "saint"/"sainte"."""
    s = unicodedata.normalize("NFKD", s.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae"))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    s = _FOLD_PUNCT.sub(" ", s).strip()
    return _SAINT.sub("saint", _SAINTE.sub("sainte", s))


@dataclass(frozen=True)
class _City:
    name: str
    dept: str
    lat: float
    lon: float
    pop: int


@dataclass(frozen=True)
class _Dept:
    code: str
    name: str
    region: str
    lat: float
    lon: float


class _Data:
    """The parsed data file: indexes by folded name."""

    def __init__(self, path: Path) -> None:
        self.cities: dict[str, list[_City]] = {}
        self.alt_cities: dict[str, list[_City]] = {}
        self.depts: dict[str, _Dept] = {}
        self.dept_by_name: dict[str, str] = {}
        self.countries: dict[str, str] = {}
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                row = line.rstrip("\n").split("\t")
                kind = row[0]
                if kind == "P":
                    city = _City(row[1], row[2], float(row[3]), float(row[4]), int(row[5]))
                    self.cities.setdefault(fold(row[1]), []).append(city)
                    for alt in filter(None, row[6].split("|")):
                        self.alt_cities.setdefault(fold(alt), []).append(city)
                elif kind == "D":
                    d = _Dept(row[1], row[2], row[3], float(row[4]), float(row[5]))
                    self.depts[d.code] = d
                    self.dept_by_name[fold(d.name)] = d.code
                elif kind == "C":
                    for name in row[2].split("|"):
                        self.countries[fold(name)] = row[1]
        for index in (self.cities, self.alt_cities):
            for cands in index.values():
                cands.sort(key=lambda c: -c.pop)


_lock = threading.Lock()
_data: _Data | None = None


def _load() -> _Data:
    global _data
    if _data is None:
        with _lock:
            if _data is None:
                _data = _Data(DATA_FILE)
    return _data


def region_of(department_code: str | None) -> str | None:
    """Region name of a department code ("48" -> "Occitanie"); None when unknown."""
    if not department_code:
        return None
    d = _load().depts.get(_norm_code(department_code))
    return d.region if d else None


def department_name(code: str) -> str | None:
    """Name of a department ("48" -> "Lozère")."""
    d = _load().depts.get(_norm_code(code))
    return d.name if d else None


def department_place(code: str) -> Place:
    """A department-only place, with the prefecture's coordinates."""
    code = _norm_code(code)
    d = _load().depts.get(code)
    if d is None:
        return Place(department=code)
    return Place(department=d.code, region=d.region, lat=d.lat, lon=d.lon)


def departments() -> tuple[tuple[str, str, str], ...]:
    """Every department as (code, name, region)."""
    return tuple((d.code, d.name, d.region) for d in _load().depts.values())


def departments_of(region: str) -> tuple[str, ...]:
    """Department codes of a region, sorted."""
    return tuple(sorted(d.code for d in _load().depts.values() if d.region == region))


def find_department(name: str) -> str | None:
    """Department code for a department name or code ("Lozère", "lozere", "48") or None."""
    s = name.strip()
    if re.fullmatch(r"0?[1-9]|[0-8]\d|9[0-5]|2[abAB]|97[1-6]", s):
        code = _norm_code(s)
        return code if code in _load().depts else None
    key = fold(s)
    key = re.sub(r"^(departement|dept|dep)( de| du| des)?( la| l)? ", "", key)
    return _load().dept_by_name.get(key)


def find_region(name: str) -> str | None:
    """Canonical region name for a region name in any case/accent spelling, or None."""
    key = fold(name)
    key = re.sub(r"^region ", "", key)
    for r in REGIONS:
        if fold(r) == key:
            return r
    return _REGION_ALIASES.get(key)


def find_country(name: str) -> str | None:
    """ISO 3166 code for a country name in French or English ("Espagne" -> "ES"); France itself -> "FR"."""
    key = fold(name)
    if key in ("france", "france metropolitaine"):
        return "FR"
    return _load().countries.get(key)


def postcode_department(postcode: str) -> str | None:
    """Department code from a French postcode ("48000" -> "48", "20000" -> "2A", "97400" -> "974")."""
    if not re.fullmatch(r"\d{5}", postcode):
        return None
    if postcode.startswith("97"):
        code = postcode[:3]
    elif postcode.startswith("20"):
        code = "2A" if int(postcode) < 20200 else "2B"
    else:
        code = postcode[:2]
    return code if code in _load().depts else None


def _norm_code(code: str) -> str:
    code = code.strip().upper()
    return code.zfill(2) if code.isdigit() and len(code) < 2 else code


# "PARIS 09", "Lyon 3e", "Marseille 1er arrondissement", "MENDE CEDEX", "Paris (Dept.)", "LES VIGNES 48"
_CITY_NOISE = re.compile(
    r"\s*(\((dept|d[ée]pt?|d[ée]partement)\.?\)|\bcedex\b.*|\b\d{1,3}\s*(e|er|eme|ème)?(\s+arr\w*)?\.?\s*$"
    r"|\bsecteur\b.*|\(\s*\d{2,3}\s*\)\s*$)", re.IGNORECASE)


def _clean_city(name: str) -> str:
    prev = None
    name = name.strip()
    while prev != name:
        prev = name
        name = _CITY_NOISE.sub("", name).strip(" ,-")
    return name


def _place(c: _City, name: str | None = None, department: str | None = None) -> Place:
    dept = department or c.dept
    return Place(city=name or c.name, department=dept, region=region_of(dept), lat=c.lat, lon=c.lon)


@lru_cache(maxsize=8192)
def find_city(name: str, department: str | None = None) -> Place | None:
    """The French city `name` (accent/case/hyphen/"St" insensitive), in `department` when given.

    Arrondissements ("PARIS 09") map to the city. Without a department, metropolitan France and the
    largest population win. None when nothing fits.
    """
    data = _load()
    cleaned = _clean_city(name)
    key = fold(cleaned)
    if not key:
        return None
    dept = _norm_code(department) if department else None
    region = region_of(dept) if dept else None
    cands, via_alt = _lookup(data, key)
    shown = _display(cleaned) if via_alt else None
    if dept:
        same = [c for c in cands if c.dept == dept]
        if same:
            return _place(same[0], name=shown)
        # Department of small towns is approximated at build time (nearest prefecture or
        # sub-prefecture of the region), so a same-region homonym is taken as this town.
        near = [c for c in cands if region and region_of(c.dept) == region]
        if near:
            return _place(near[0], name=shown, department=dept)
        # Merged communes ("Florac Trois Rivières") keep the name of their main former town.
        words = key.split()
        for n in range(len(words) - 1, 0, -1):
            head = " ".join(words[:n])
            if head in ("saint", "sainte", "le", "la", "les", "mont", "monts"):
                break
            sub = [c for c in data.cities.get(head, []) if c.dept == dept]
            if sub:
                return _place(sub[0], name=_display(cleaned), department=dept)
        return None
    if not cands:
        return None
    metro = [c for c in cands if not c.dept.startswith("97")]
    return _place((metro or cands)[0], name=shown)


def _lookup(data: _Data, key: str) -> tuple[list[_City], bool]:
    """Candidates for a folded name, and whether they came from an alternate name."""
    if key in data.cities:
        return data.cities[key], False
    if key in data.alt_cities:
        return data.alt_cities[key], True
    # Sources often drop or add the article ("Mans" for "Le Mans", "Lamentin" for "Le Lamentin").
    m = re.match(r"(le|la|les|l) (.+)", key)
    if m and m.group(2) in data.cities:
        return data.cities[m.group(2)], False
    for art in ("le", "la", "les", "l"):
        found = data.cities.get(f"{art} {key}")
        if found:
            return found, False
    return [], False


_SMALL_WORDS = {"de", "du", "des", "la", "le", "les", "et", "sur", "sous", "en", "d", "l", "lez", "lès", "aux",
                "au", "a", "à"}


def display_name(name: str) -> str:
    """Readable form of an upper-case label: "ST ANDRE DE LANCIZE" -> "Saint Andre de Lancize"."""
    if not name.isupper():
        return name
    words = []
    for i, w in enumerate(name.lower().split()):
        w = {"st": "saint", "ste": "sainte"}.get(w, w)
        words.append(w if (w in _SMALL_WORDS and i > 0) else w[:1].upper() + w[1:])
    return " ".join(words)


_display = display_name
