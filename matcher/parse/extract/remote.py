"""Remote work: "none | partial | full | unknown" from what the posting says, or from the kind of job."""
from __future__ import annotations

import re

from ...domain import Span
from .licence import clause_bounds

__all__ = ["posting_remote", "ONSITE_TITLE", "OFFICE_TITLE"]

_FULL = re.compile(
    r"100\s*%\s*(?:en\s+)?(?:t[ée]l[ée]travail|remote|[àa]\s+distance)|full[- ]?remote|fully\s+remote|"
    r"t[ée]l[ée]travail\s+(?:complet|total|int[ée]gral|[àa]\s+100\s*%|[àa]\s+temps\s+(?:plein|complet))|"
    r"(?:enti[èe]rement|totalement|exclusivement)\s+(?:en\s+)?(?:t[ée]l[ée]travail|[àa]\s+distance|remote)|"
    r"poste\s+(?:[àa]\s+pourvoir\s+)?(?:100\s*%\s*)?en\s+t[ée]l[ée]travail\s+(?:complet|total)|"
    r"remote[- ]first|full\s+t[ée]l[ée]travail",
    re.IGNORECASE)
_NONE = re.compile(
    r"pas\s+(?:de|du)\s+t[ée]l[ée]travail|t[ée]l[ée]travail\s+(?:non\s+(?:possible|autoris[ée]|envisageable)|"
    r"impossible|exclu)|(?:100\s*%|uniquement|exclusivement|enti[èe]rement)\s+(?:en\s+)?pr[ée]sentiel|"
    r"pr[ée]sentiel\s+(?:uniquement|obligatoire|exclusivement|[àa]\s+100\s*%)|"
    r"(?:no|without)\s+remote|on[- ]site\s+only|sur\s+site\s+uniquement",
    re.IGNORECASE)
_PARTIAL = re.compile(
    r"t[ée]l[ée][- ]?travail(?:l[ée]s?)?|travail\s+[àa]\s+distance|\bhybride\b|\bhybrid\b|\bremote\b|"
    r"home\s*office|\bflex\s*office", re.IGNORECASE)

_NEGATED = re.compile(r"\b(?:pas|aucun|sans|ni)\s+(?:de\s+|du\s+|d['’])?"
                      r"(?:t[ée]l[ée]|travail\s+[àa]\s+distance|remote)|"
                      r"t[ée]l[ée][- ]?travail\w*\s+(?:n['’]est\s+pas|non|impossible|exclu|pas)|\bno\s+remote",
                      re.IGNORECASE)

# Jobs that are done where the people, the site or the machine are (care, education, trades…).
ONSITE_TITLE = re.compile(
    r"aide[- ]soignant|soignant|infirmi|auxiliaire|aide\s+[àa]\s+domicile|aide\s+m[ée]dico|\bamp\b|\baes\b|"
    r"accompagnant|[ée]ducat|moniteur|animat|assistant(?:e)?\s+(?:de\s+vie|de\s+convivialit|maternel|familial|"
    r"de\s+service\s+social|social)|agent(?:e)?\s+(?:de\s+soins|de\s+service|d['’]entretien|de\s+propret|"
    r"d['’]accueil|de\s+s[ée]curit|de\s+pr[ée]vention|polyvalent)|\bash\b|\baccueil\b|"
    r"cuisin|serveu|commis|plongeu|barman|boulang|p[âa]tissi|boucher|ma[çc]on|plombier|[ée]lectricien|"
    r"couvreur|charpentier|menuisier|peintre|carreleur|chauffeur|conducteur|livreur|ouvrier|op[ée]rat(?:eur|rice)|"
    r"chaudronnier|soudeur|m[ée]canicien|magasinier|cariste|manutention|vendeu|caissi|h[ôo]te(?:sse)?\s+d['’]accueil|"
    r"r[ée]ceptionniste|psycholog|cadre\s+de\s+sant|m[ée]decin|kin[ée]|ergoth|orthophon|sage[- ]femme|"
    r"puéricult|pu[ée]ricult|professeur|enseignant|intervenant|travailleu(?:r|se)\s+social|tisf|"
    r"direct(?:eur|rice)\s+(?:de\s+|d['’])?(?:centre|accueil|s[ée]jour)|responsable\s+de\s+groupe|surveillant|veilleur|"
    r"jardinier|paysagiste|agricole|[ée]leveur|viticul|b[ûu]cheron|scierie|chef\s+d['’][ée]quipe|"
    r"coiffeu|esth[ée]tic|entretien|nettoyage|m[ée]nage|lingere|blanchisserie",
    re.IGNORECASE)
# Office work: silence about remote work means unknown, whatever other word the title has.
OFFICE_TITLE = re.compile(r"coordinat|coordonnat|secr[ée]tai|administrati(?:f|ve)|\brh\b|ressources\s+humaines|"
                          r"conseill|format(?:eur|rice)|charg[ée]|comptab|juriste|d[ée]velopp|data|ing[ée]nieur|"
                          r"analyste|chef\s+de\s+projet|assistant(?:e)?\s+(?:rh|de\s+direction|de\s+gestion)|"
                          r"gestionnaire|paie|num[ée]rique|communication|marketing|commercial",
                          re.IGNORECASE)


def posting_remote(text: str, title: str = "") -> tuple[str, Span | None]:
    """(remote, evidence): full / partial / none from the text; else none for on-site jobs, else unknown."""
    m = _FULL.search(text)
    if m:
        return "full", Span(m.start(), m.end(), m.group(0))
    for m in _PARTIAL.finditer(text):
        left, right = clause_bounds(text, m.start(), m.end())
        if not _NEGATED.search(text, left, right):
            return "partial", Span(m.start(), m.end(), m.group(0))
    m = _NONE.search(text)
    if m:
        return "none", Span(m.start(), m.end(), m.group(0))
    if title and ONSITE_TITLE.search(title):
        # Reception work is on site even when the title also says "administratif".
        if not OFFICE_TITLE.search(title) or re.search(r"accueil", title, re.IGNORECASE):
            return "none", None
    return "unknown", None
