"""Contract type (CDI, CDD, Stage, Alternance, Intérim, …) and duration of postings; contracts a CV asks for."""
from __future__ import annotations

import re

from ...domain import Span

__all__ = ["contract_of_label", "posting_contract", "cv_contracts", "duration_months"]

# (contract, pattern) in priority order: the more specific labels first ("CDI intérimaire" is a CDI,
# "CDD insertion" a CDD, "contrat d'engagement éducatif" is filed as a CDD by France Travail).
_RULES: list[tuple[str, str]] = [
    ("CDI", r"cdi\s+int[ée]rimaire|contrat\s+[àa]\s+dur[ée]e\s+ind[ée]termin[ée]e|\bcdi\b"),
    ("Alternance", r"\balternance\b|\balternant(?:e|s|es)?\b|\bapprentissage\b|\bapprenti(?:e|s|es)?\b|"
                   r"contrat\s+(?:de\s+)?professionnalisation|contrat\s+pro\b"),
    ("CDD", r"contrat\s+[àa]\s+dur[ée]e\s+d[ée]termin[ée]e|\bcdd\b|contrat\s+d['’]engagement\s+[ée]ducatif|"
            r"\bcee\b|\bcdd\s+insertion|contrat\s+aid[ée]|\bpec\b|parcours\s+emploi\s+comp[ée]tences|"
            r"\bremplacement\b"),
    ("Intérim", r"\bint[ée]rim(?:aire)?\b|mission\s+int[ée]rimaire|\btravail\s+temporaire\b"),
    ("Saisonnier", r"\bsaisonni(?:er|[eè]re)s?\b|contrat\s+travail\s+saisonnier|\bemploi\s+saisonnier"),
    ("Stage", r"\bstages?\b|\bstagiaires?\b|\binternship\b|convention\s+de\s+stage"),
    ("Freelance", r"\bfreelance\b|\bfree-lance\b|profession\s+lib[ée]rale|\bind[ée]pendant\b|\bportage\b|"
                  r"\blib[ée]ral\b|auto-?entrepreneur|micro-?entrepr"),
    ("Bénévolat", r"\bb[ée]n[ée]volat\b|\bb[ée]n[ée]voles?\b"),
    ("Autre", r"\bfranchise\b|profession\s+commerciale|reprise\s+d['’]entreprise|service\s+civique|"
              r"\bvolontariat\b|\bvacations?\b|\bvacataire\b|\bint[ée]rim\s+long"),
]
_COMPILED = [(c, re.compile(p, re.IGNORECASE)) for c, p in _RULES]


def contract_of_label(label: str) -> str | None:
    """Contract type of a short label such as "Contrat à durée déterminée - 6 Mois" or "CDD - 12 Mois"."""
    low = label.strip()
    if re.search(r"cdi\s+int[ée]rimaire", low, re.IGNORECASE):
        return "CDI"
    if re.search(r"cdd\s+insertion|engagement\s+[ée]ducatif", low, re.IGNORECASE):
        return "CDD"
    if re.search(r"saisonnier", low, re.IGNORECASE):
        return "Saisonnier"
    if re.search(r"int[ée]rim", low, re.IGNORECASE):
        return "Intérim"
    for contract, rx in _COMPILED:
        if rx.search(low):
            return contract
    return None


_DURATION = re.compile(
    r"(?P<n>\d+(?:[.,]\d+)?|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|dix-huit|"
    r"vingt-quatre)\s*(?P<unit>mois|ans?|ann[ée]es?|semaines?|jours?(?:\(s\))?|months?|weeks?|days?)\b",
    re.IGNORECASE)
_WORD_NUM = {"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
             "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "dix-huit": 18, "vingt-quatre": 24}


def duration_months(phrase: str) -> float | None:
    """Months of a duration phrase ("6 mois" -> 6, "2 ans" -> 24, "15 Jour(s)" -> 0.5); None if absent."""
    m = _DURATION.search(phrase)
    if not m:
        return None
    raw = m.group("n").lower()
    n = float(raw.replace(",", ".")) if raw[0].isdigit() else float(_WORD_NUM[raw])
    unit = m.group("unit").lower()
    if unit.startswith(("an", "ann")):
        return n * 12
    if unit.startswith(("semaine", "week")):
        return round(n / 4.33, 2)
    if unit.startswith(("jour", "day")):
        return round(n / 30, 2)
    return n


_HEADER = re.compile(r"^[ \t]*(?:type\s+de\s+contrat|contrat|type\s+de\s+poste|nature\s+du\s+contrat|"
                     r"statut\s+du\s+contrat|contract(?:\s+type)?)\s*:?\s*(?:\n\s*)?(?P<v>[^\n]{2,80})$",
                     re.IGNORECASE | re.MULTILINE)
_TITLE_ALT = re.compile(r"\b(?:alternance|alternant(?:e|\(e\))?|apprenti(?:e|\(e\))?|apprentissage|"
                        r"contrat\s+pro(?:fessionnalisation)?)\b", re.IGNORECASE)
_TEXT_ALT = re.compile(r"contrat\s+(?:d['’]|en\s+|de\s+)?apprentissage|contrat\s+de\s+professionnalisation|"
                       r"(?:poste|contrat|recrutement|formation|emploi)\s+en\s+alternance|en\s+apprentissage",
                       re.IGNORECASE)
_TEXT_MENTION = re.compile(
    r"\b(?P<c>cdi|cdd|stage|int[ée]rim|saisonnier|alternance|apprentissage|b[ée]n[ée]volat|freelance)\b"
    r"|contrat\s+[àa]\s+dur[ée]e\s+(?P<ind>ind)?[ée]termin[ée]e|contrat\s+d['’]engagement\s+[ée]ducatif",
    re.IGNORECASE)


def posting_contract(text: str, title: str = "") -> tuple[str | None, float | None, Span | None]:
    """(contract, months, evidence) of a posting.

    A "Type de contrat :" header wins; a CDD that the title or text says is an apprenticeship is
    "Alternance". Otherwise the title, then the first contract word of the text decide.
    """
    for m in _HEADER.finditer(text):
        value = m.group("v").strip()
        contract = contract_of_label(value)
        if contract is None:
            continue
        months = duration_months(value) if contract in ("CDD", "Stage", "Intérim", "Saisonnier", "Alternance") \
            else None
        span = Span(m.start("v"), m.start("v") + len(value), value)
        if contract in ("CDD", "Autre") and (_TITLE_ALT.search(title) or _TEXT_ALT.search(text)):
            contract = "Alternance"
        if months is None and contract in ("CDD", "Stage"):
            months = _months_near(text, contract)
        return contract, months, span
    tc = contract_of_label(title) if title else None
    if tc in ("Stage", "Alternance", "Intérim", "Saisonnier", "CDI", "CDD", "Bénévolat", "Freelance"):
        span = None
        mm = _TEXT_MENTION.search(text)
        if mm and contract_of_label(mm.group(0)) == tc:
            span = Span(mm.start(), mm.end(), mm.group(0))
        return tc, _months_near(text, tc) if tc in ("CDD", "Stage") else None, span
    for mm in _TEXT_MENTION.finditer(text):
        word = mm.group(0)
        if re.match(r"stage", word, re.IGNORECASE) and _stage_is_other(text, mm.start(), mm.end()):
            continue
        if mm.group("c") and mm.group("c").lower() == "alternance" and not _TEXT_ALT.search(text):
            continue
        if re.fullmatch(r"b[ée]n[ée]volat", word, re.IGNORECASE):
            continue              # NGOs talk about volunteering; a volunteer post says so in its title
        contract = contract_of_label(word)
        if contract:
            months = _months_near(text, contract, mm.start()) if contract in ("CDD", "Stage") else None
            return contract, months, Span(mm.start(), mm.end(), word)
    return None, None, None


def _stage_is_other(text: str, s: int, e: int) -> bool:
    """"stage" as a training course or a stage of a process, not an internship offer."""
    around = text[max(0, s - 30):e + 40].lower()
    return bool(re.search(r"stages?\s+(?:de\s+formation|pratique|d['’]immersion|en\s+entreprise\s+pour)|"
                          r"maître\s+de\s+stage|accueil\s+de\s+stagiaires|tuteur|tutrice", around))


def _months_near(text: str, contract: str, pos: int | None = None) -> float | None:
    """Duration written next to the contract word ("CDD de 6 mois", "Stage de 6 mois", "CDD 12 mois")."""
    word = {"CDD": r"cdd|contrat\s+[àa]\s+dur[ée]e\s+d[ée]termin[ée]e", "Stage": r"stage"}[contract]
    rx = re.compile(rf"(?:{word})\s*(?:[-–:]\s*|de\s+|d['’]une\s+dur[ée]e\s+de\s+|d['’]un\s+|d['’]une\s+|"
                    rf"renouvelable\s+de\s+|\(\s*)?(?P<d>\d+(?:[.,]\d+)?\s*(?:mois|ans?|semaines?|jours?)|"
                    rf"(?:un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|dix-huit)\s+"
                    rf"(?:mois|ans?|semaines?))", re.IGNORECASE)
    m = rx.search(text, pos or 0) or (rx.search(text) if pos else None)
    return duration_months(m.group("d")) if m else None


# --- CV side ------------------------------------------------------------------------------------

_CV_LABEL = re.compile(
    r"(?:contrats?\s+(?:recherch[ée]s?|souhait[ée]s?|vis[ée]s?)|type\s+de\s+contrat(?:\s+recherch[ée])?|"
    r"disponible(?:\s+\w+)?\s+pour|je\s+(?:re)?cherche|recherche|en\s+recherche\s+d['’]|souhaite\s+(?:un|une)|"
    r"ouverte?s?\s+(?:à|a)\s+(?:un|une|des)|"
    r"looking\s+for|seeking)",
    re.IGNORECASE)
_CV_CONTRACT = re.compile(
    r"\b(?:cdi|cdd|int[ée]rim(?:aire)?|stages?|alternance|apprentissage|saisonni(?:er|[eè]re)|"
    r"emploi\s+saisonnier|freelance|b[ée]n[ée]volat|contrat\s+d['’]engagement\s+[ée]ducatif|"
    r"contrat\s+de\s+professionnalisation|internship|permanent|fixed[- ]term)\b",
    re.IGNORECASE)


def cv_contracts(text: str) -> tuple[tuple[str, ...], Span | None]:
    """Contracts a CV asks for, from "Contrat recherché : …" or "je recherche un CDI"; () means any."""
    found: list[str] = []
    first: Span | None = None
    for m in _CV_LABEL.finditer(text):
        window_end = _sentence_end(text, m.end())
        window = text[m.end():window_end]
        got = []
        for cm in _CV_CONTRACT.finditer(window):
            word = cm.group(0).lower()
            if word in ("permanent",):
                c = "CDI"
            elif word.startswith("fixed"):
                c = "CDD"
            elif word == "internship":
                c = "Stage"
            else:
                c = contract_of_label(word)
            if c == "Stage" and re.search(r"convention\s+de\s+stage", window[max(0, cm.start() - 15):cm.end()],
                                          re.IGNORECASE) and got:
                continue
            if c and c not in got:
                got.append(c)
        if got:
            for c in got:
                if c not in found:
                    found.append(c)
            if first is None:
                first = Span(m.start(), window_end, text[m.start():window_end])
            if re.match(r"\s*contrats?\s+(?:recherch|souhait|vis)|\s*type\s+de\s+contrat", m.group(0), re.IGNORECASE):
                return tuple(found), first     # an explicit "Contrat recherché" line is the whole answer
    return tuple(found), first


def _sentence_end(text: str, pos: int, limit: int = 160) -> int:
    """End of the sentence starting at pos: a '.', or a blank line after some content, within `limit`."""
    end = min(len(text), pos + limit)
    seen_content = False
    i = pos
    while i < end:
        ch = text[i]
        if ch == "." and not (i + 1 < len(text) and text[i + 1].isdigit()):
            return i
        if ch == "\n":
            if seen_content and i + 1 < len(text) and text[i + 1] == "\n":
                return i
        elif not ch.isspace() and ch != ":":
            seen_content = True
        i += 1
    return end
