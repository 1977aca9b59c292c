"""Salary: the salary or pay sentence of a posting, kept as written."""
from __future__ import annotations

import re

from ...domain import Span

__all__ = ["posting_salary"]

_HEADER = re.compile(r"^[ \t]*(?:salaire|r[ée]mun[ée]ration|salary|gratification)(?:\s+(?:brut|net|annuel|"
                     r"mensuel|horaire|indicati(?:f|ve)|propos[ée]e?))*\s*:\s*(?P<v>\S[^\n]{0,150})$",
                     re.IGNORECASE | re.MULTILINE)
_FREE = re.compile(r"(?:salaire|r[ée]mun[ée]ration|gratification)[^\n.]{0,40}?"
                   r"(?:\d[\d  .,]*\s*(?:k\s*)?(?:€|euros?|eur\b)|selon\s+(?:profil|exp[ée]rience|"
                   r"convention|grille|ccn|la\s+grille)[^\n.]{0,60}|smic[^\n.]{0,40}|[àa]\s+n[ée]gocier)"
                   r"[^\n.]{0,60}", re.IGNORECASE)
_AMOUNT = re.compile(r"\d[\d  .,]*\s*(?:k\s*)?(?:€|euros?)", re.IGNORECASE)


def posting_salary(text: str) -> tuple[str | None, Span | None]:
    """The salary text ("Mensuel de 2043,00 Euros à 2100,00 Euros sur 12 mois") and its span."""
    m = _HEADER.search(text)
    if m:
        v = m.group("v").strip()
        return v, Span(m.start("v"), m.start("v") + len(v), v)
    m = _FREE.search(text)
    if m:
        v = m.group(0).strip()
        return v, Span(m.start(), m.start() + len(v), v)
    m = _AMOUNT.search(text)
    if m and re.search(r"brut|net|mensuel|annuel|/\s*mois|par\s+mois|/\s*an\b|de l'heure|horaire",
                       text[max(0, m.start() - 40):m.end() + 40], re.IGNORECASE):
        s, e = max(0, m.start() - 40), min(len(text), m.end() + 40)
        ls = text.rfind("\n", 0, m.start()) + 1
        le = text.find("\n", m.end())
        le = len(text) if le < 0 else le
        s, e = max(s, ls), min(e, le)
        v = text[s:e].strip()
        s = text.index(v, s)
        return v, Span(s, s + len(v), v)
    return None, None
