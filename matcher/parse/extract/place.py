"""Places: the workplace of a posting ("48 - MENDE", region, country) and where a CV's author lives."""
from __future__ import annotations

import re
from functools import lru_cache

from ...domain import Place, Span
from ..gazetteer import (
    department_name,
    departments,
    departments_of,
    display_name,
    find_city,
    find_country,
    find_department,
    find_region,
    fold,
    postcode_department,
    region_of,
)

__all__ = ["place_of_label", "posting_place", "cv_place"]

_POSTCODE_LABEL = re.compile(r"^\s*(?P<pc>\d{5})\s+(?P<city>[^\d,()]{2,60}?)\s*(?:\(\d{2,3}\))?\s*$")
_DEPT_LABEL = re.compile(r"^\s*(?P<code>\d{2,3}|2[AB])\s*[-–]\s*(?P<name>.+?)\s*$", re.IGNORECASE)


def place_of_label(label: str) -> Place | None:
    """Place of a workplace label: "48 - MENDE", "75 - PARIS 09", "30 - Gard", "Île-de-France", "Espagne"."""
    label = label.strip().strip(".")
    if not label:
        return None
    m = _POSTCODE_LABEL.match(label)           # "48000 Mende", "75011 Paris"
    if m:
        dept = postcode_department(m.group("pc"))
        place = find_city(m.group("city"), dept) if dept else None
        if place is not None:
            return Place(place.city, place.department, place.region, place.lat, place.lon, postcode=m.group("pc"))
    m = _DEPT_LABEL.match(label)
    if m:
        code = m.group("code").upper()
        if region_of(code) is None:
            return None
        name = m.group("name")
        dname = department_name(code) or ""
        if fold(name) in (fold(dname), fold(f"departement {dname}")) and fold(name) != "paris":
            return Place(department=code, region=region_of(code))
        place = find_city(name, code)
        if place is not None:
            return place
        city = display_name(re.sub(r"\s*\((?:dept|d[ée]p)\.?\)\s*$|\s+\d{2,3}$", "", name, flags=re.IGNORECASE))
        return Place(city=city, department=code, region=region_of(code))
    region = find_region(label)
    if region:
        return Place(region=region)
    country = find_country(label)
    if country == "FR":
        return None
    if country:
        return Place(country=country)
    code = find_department(label)
    if code == "75":        # Paris is a city as much as a department
        return find_city("Paris", "75")
    if code:
        return Place(department=code, region=region_of(code))
    # "Nantes, Pays de la Loire, France", "Saint-Denis (93)"
    parts = [p.strip() for p in re.split(r",|\(|\)", label) if p.strip()]
    dept = None
    for p in parts[1:]:
        if re.fullmatch(r"\d{2,3}|2[AB]", p):
            dept = p
    # The first part that names a city exactly ("Hôpital, Bordeaux" is Bordeaux, not L'Hôpital), else the
    # first one that names a city at all.
    found = [(part, find_city(part, dept)) for part in parts[:3]]
    for part, place in found:
        if place is not None and place.city and fold(place.city) == fold(part):
            return place
    for part, place in found[:1]:
        if place is not None:
            return place
    return None


_LABELS = re.compile(
    r"^[ \t]*(?:lieu\s+de\s+travail|lieu\s+du\s+poste|lieu|localisation|location|ville|adresse\s+du\s+poste|"
    r"poste\s+bas[ée]\s+[àa]|lieu\s+d['’]affectation|affectation|work\s+location)[ \t]*:?[ \t]*(?:\n[ \t]*){0,2}"
    r"(?P<v>[^\n]{2,80})$", re.IGNORECASE | re.MULTILINE)
_BASED = re.compile(r"\b(?:bas[ée]e?s?|situ[ée]e?s?|implant[ée]e?s?|localis[ée]e?s?)\s+(?:[àa]|sur)\s+"
                    r"(?P<v>(?:L[ea]s?\s|Saint[- ]|Sainte[- ]|St[- ])?[A-ZÉÈÎÔÂ][\w'’\-]+(?:[- ](?:sur|en|de|du|des|"
                    r"la|le|les|lès|l['’])?[- ]?[A-ZÉÈÎÔÂ][\w'’\-]+)*)")
_TITLE_PLACE = re.compile(r"\s[–—-]\s(?P<v>[A-ZÉÈÎÔÂ][^–—\-()\n]{1,40}(?:-[A-ZÉÈÎÔÂ][^–—\-()\n]*)*)\s*$")
_CITY_REGION_LINE = re.compile(r"^[ \t]*(?P<v>[A-ZÉÈÎÔÂ][\w'’\- ]{1,40}),\s*[^,\n]{3,40},\s*France\s*$",
                               re.MULTILINE)


def posting_place(text: str, title: str = "") -> tuple[Place | None, Span | None]:
    """(place, evidence) of a posting: a "Lieu de travail :" style field, the title's "– City", or
    "basé(e) à City" in the text."""
    for m in _LABELS.finditer(text):
        value = m.group("v").strip()
        place = place_of_label(value)
        if place is not None:
            return place, Span(m.start("v"), m.start("v") + len(value), value)
        # "Lieu de travail : France" names no place on purpose.
        if find_country(value) == "FR":
            return None, Span(m.start("v"), m.start("v") + len(value), value)
    m = _CITY_REGION_LINE.search(text)
    if m:
        place = find_city(m.group("v"))
        if place is not None:
            return place, Span(m.start("v"), m.end("v"), m.group("v"))
    if title:
        tm = _TITLE_PLACE.search(title)
        if tm:
            place = place_of_label(tm.group("v"))
            if place is not None:
                s = text.find(tm.group("v"))
                return place, (Span(s, s + len(tm.group("v")), tm.group("v")) if s >= 0 else None)
    for m in _BASED.finditer(text):
        place = find_city(m.group("v"))
        if place is not None:
            return place, Span(m.start("v"), m.end("v"), m.group("v"))
    m = _DEMONYM.search(text)
    if m:
        city, dept = _DEMONYMS[fold(m.group("adj"))[:6]]
        return find_city(city, dept), Span(m.start(), m.end(), m.group(0))
    return None, None


# "sur le territoire parisien", "agglomération lyonnaise": the big cities' adjectives.
_DEMONYMS = {"parisi": ("Paris", "75"), "lyonna": ("Lyon", "69"), "marsei": ("Marseille", "13"),
             "toulou": ("Toulouse", "31"), "nantai": ("Nantes", "44"), "bordel": ("Bordeaux", "33"),
             "lilloi": ("Lille", "59"), "montpe": ("Montpellier", "34"), "nicois": ("Nice", "06"),
             "strasb": ("Strasbourg", "67"), "rennai": ("Rennes", "35"), "grenob": ("Grenoble", "38")}
_DEMONYM = re.compile(r"\b(?:territoire|agglom[ée]ration|m[ée]tropole|ville|secteur|bassin)\s+"
                      r"(?P<adj>parisien(?:ne)?|lyonnaise?|marseillaise?|toulousaine?|nantaise?|bordelaise?|"
                      r"lilloise?|montpelli[ée]raine?|ni[çc]oise?|strasbourgeoise?|rennaise?|grenobloise?)\b",
                      re.IGNORECASE)


_POSTCODE_CITY = re.compile(r"\b(?P<pc>(?:0[1-9]|[1-8]\d|9[0-5]|2[AB])\d{3}|97[1-6]\d{2})[ \t]*\n?[ \t]*"
                            r"(?P<city>[A-Za-zÀ-ÿŒœ][A-Za-zÀ-ÿŒœ'’\- ]{1,50})")
_CITY_DEPT = re.compile(r"(?P<city>(?:L[ea]s?\s|Saint[- ]|Sainte[- ]|St[- ])?[A-ZÉÈÎÔÂ][\w'’\-]+"
                        r"(?:[ -][\w'’\-]+){0,4})\s*\((?P<d>\d{2,3}|2[AB])\)")


def cv_place(text: str) -> tuple[Place | None, Span | None]:
    """(place, evidence) of a CV's author: "48000 Mende" (postcode + city) first, else "City (48)" in the
    contact area."""
    for m in _POSTCODE_CITY.finditer(text):
        dept = postcode_department(m.group("pc"))
        if dept is None:
            continue
        words = re.split(r"(?<=\w)\s+", m.group("city").strip())
        for n in range(min(len(words), 6), 0, -1):
            cand = " ".join(words[:n])
            place = find_city(cand, dept)
            if place is not None and place.city and fold(place.city).split()[0] == fold(cand).split()[0]:
                start, end = m.start("pc"), m.start("city") + len(cand)
                return (Place(place.city, place.department, place.region, place.lat, place.lon,
                              postcode=m.group("pc")), Span(start, end, text[start:end]))
    head = text[:800]
    for m in _CITY_DEPT.finditer(head):
        place = find_city(m.group("city"), m.group("d"))
        if place is not None:
            return place, Span(m.start(), m.end(), m.group(0))
    return None, None


# --- CV mobility --------------------------------------------------------------------------------

_MOBILITY_LABEL = re.compile(r"\bmobilit[ée](?:\s+g[ée]ographique)?\s*:?|\bzone\s+de\s+recherche\s*:?|"
                             r"\bmobile\s+(?=sur|dans|partout|en\s|toute|france)|\bp[ée]rim[èe]tre\s*:",
                             re.IGNORECASE)
_FRANCE = re.compile(r"toute\s+la\s+france|france\s+enti[èe]re|partout\s+en\s+france|\bnational(?:e)?\b|"
                     r"tout\s+le\s+territoire|l['’]ensemble\s+du\s+territoire|anywhere\s+in\s+france",
                     re.IGNORECASE)
_RADIUS = re.compile(r"(?P<n>\d{1,3})\s*km\b", re.IGNORECASE)
# Department names that are also common words: only taken when capitalised and not qualifying a
# following name ("Nord Lozère" is a part of Lozère, not the Nord department).
_RISKY = {"nord", "ain", "lot", "cher", "var", "orne", "gers", "tarn", "aude", "eure", "indre", "vienne",
          "somme", "marne", "meuse", "manche", "loire", "paris", "jura", "doubs", "oise", "yonne", "creuse",
          "rhone", "savoie", "vendee"}


@lru_cache(maxsize=1)
def _dept_index() -> tuple[re.Pattern[str], dict[str, str]]:
    """A regex over folded department names (longest first) and the name -> code table."""
    names = sorted(((fold(name), code) for code, name, _ in departments()), key=lambda x: -len(x[0]))
    return re.compile(r"\b(" + "|".join(re.escape(n) for n, _ in names) + r")\b"), dict(names)


_REGION_RX = re.compile(r"\b(auvergne rhone alpes|bourgogne franche comte|bretagne|centre val de loire|corse|"
                        r"grand est|hauts de france|ile de france|normandie|nouvelle aquitaine|occitanie|"
                        r"pays de la loire|provence alpes cote d azur|paca|guadeloupe|martinique|guyane|"
                        r"la reunion|mayotte)\b")
_RADIUS_ANYWHERE = re.compile(r"(?:rayon\s+de|jusqu['’][àa]|dans\s+un\s+p[ée]rim[èe]tre\s+de)\s+(\d{1,3})\s*km",
                              re.IGNORECASE)


def _window_end(text: str, pos: int, limit: int = 220) -> int:
    """End of the sentence that starts at pos (a '.', or a blank line once some words were read)."""
    end = min(len(text), pos + limit)
    content = False
    for i in range(pos, end):
        ch = text[i]
        if ch == "." and not (i + 1 < len(text) and text[i + 1].isdigit()):
            return i
        if ch == "\n" and content and i + 1 < len(text) and text[i + 1] == "\n":
            return i
        if ch.isalnum():
            content = True
    return end


def cv_mobility(text: str, home: Place | None) -> tuple[str, Span | None]:
    """Mobility in the contract's strings: department | region | france | list:[48,30] | radius_km:N.

    Read from the "Mobilité" sentence (the first one that names an area, so that "aide à la mobilité"
    in a job description does not hide it), else a "rayon de N km" anywhere; "region" when the CV is
    silent.
    """
    first: Span | None = None
    for m in _MOBILITY_LABEL.finditer(text):
        end = _window_end(text, m.end())
        if end - m.end() < 3:
            continue
        span = Span(m.start(), end, text[m.start():end])
        first = first or span
        value = _mobility_of(span.text, home)
        if value is not None:
            return value, span
    rm = _RADIUS_ANYWHERE.search(text)
    if rm:
        return f"radius_km:{int(rm.group(1))}", Span(rm.start(), rm.end(), rm.group(0))
    return "region", first


def _mobility_of(window: str, home: Place | None) -> str | None:
    """The mobility a "Mobilité …" sentence states, or None when it names no area."""
    if _FRANCE.search(window):
        return "france"
    rm = _RADIUS.search(window)
    if rm:
        return f"radius_km:{int(rm.group('n'))}"
    folded = fold(window)
    regions: list[str] = []
    for m in _REGION_RX.finditer(folded):
        r = find_region(m.group(1))
        if r and r not in regions:
            regions.append(r)
    rest = _REGION_RX.sub(" ", folded)
    dept_rx, dept_codes = _dept_index()
    depts: list[str] = []
    for m in dept_rx.finditer(rest):
        name = m.group(1)
        if name in _RISKY and not _capitalised_standalone(window, name):
            continue
        if dept_codes[name] not in depts:
            depts.append(dept_codes[name])
    codes_rx = r"\((\d{2}|2[AB]|97[1-6])\)"
    if re.search(r"d[ée]partements?|\bdept", window, re.IGNORECASE):
        codes_rx = r"\b(\d{2}|2[AB]|97[1-6])\b(?!\s*km)"
    for m in re.finditer(codes_rx, window):
        if region_of(m.group(1)) and m.group(1) not in depts:
            depts.append(m.group(1))
    home_dept = home.department if home else None
    home_region = home.region if home else None
    if not regions and not depts:
        if re.search(r"\br[ée]gion\b", window, re.IGNORECASE):
            return "region"
        if re.search(r"\bd[ée]partement\b", window, re.IGNORECASE):
            return "department"
        return None
    if not regions and depts == [home_dept]:
        return "department"
    if regions == [home_region] and not depts:
        return "region"
    codes: list[str] = []
    for r in regions:
        codes.extend(departments_of(r))
    codes.extend(d for d in depts if d not in codes)
    return f"list:[{','.join(codes)}]"


def _capitalised_standalone(window: str, folded_name: str) -> bool:
    """True when a risky department name is written capitalised and not as a qualifier ("Nord Lozère")."""
    for m in re.finditer(r"\b([A-ZÉ][\wéèêëîïôûüç'’\-]+)\b", window):
        if fold(m.group(1)) == folded_name:
            after = window[m.end():m.end() + 20]
            if re.match(r"\s+[A-ZÉ]", after) and not re.match(r"\s+(?:Et|Ou)\b", after):
                continue
            return True
    return False
