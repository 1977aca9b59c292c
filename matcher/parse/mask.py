"""Mask protected attributes in CV text (age, birth date, gender, nationality, origin, marital status).

Masked text keeps its length (each masked character becomes a space) so that evidence offsets stay valid.
Ranking never sees what is masked: it happens before extraction, embedding and lexical indexing.
"""
from __future__ import annotations

import re

__all__ = ["mask_protected", "PROTECTED_PATTERNS"]

_I = re.IGNORECASE | re.MULTILINE

# A label line ("Nationalité : roumaine") is masked up to the end of its line or the next separator.
_LABELS = (r"nationalit[ée]s?|citizenship|nationality|date\s+(?:et\s+lieu\s+)?de\s+naissance|date\s+of\s+birth"
           r"|birth\s*date|lieu\s+de\s+naissance|place\s+of\s+birth|n[ée]+\(?e?\)?\s+le|born(?:\s+on)?|[âa]ge"
           r"|situation\s+(?:familiale|maritale|de\s+famille)|[ée]tat\s+civil|marital\s+status|sexe|genre|gender"
           r"|civilit[ée]|origine|origin")

PROTECTED_PATTERNS: tuple[re.Pattern, ...] = (
    re.compile(rf"^[ \t•\-\*]*(?:{_LABELS})\s*[:：]\s*[^\n|•]*", _I),
    re.compile(r"\bn[ée]e?\s*(?:\(e\)\s*)?le\s+\d{1,2}[\s/.\-]+(?:\d{1,2}|[a-zéû]+)[\s/.\-]+\d{2,4}", _I),
    re.compile(r"\b(?:âg[ée]e?|aged?)\s+(?:de\s+)?\d{2}\s*(?:ans|years?)\b", _I),
    re.compile(r"^\s*\d{2}\s*(?:ans|years?\s+old)\s*$", _I),
    re.compile(r"\b\d{2}\s*(?:ans|years?\s+old)\s*(?=[,;|]|$)", _I),
    re.compile(r"\b(?:madame|monsieur|mademoiselle|mme|mlle|mr|mrs|ms|miss)\b\.?", _I),
    re.compile(r"\((?:f|h|f/h|h/f|m/f|f/m)\)", _I),
    re.compile(r"\b(?:mari[ée]e?|c[ée]libataire|pacs[ée]e?|divorc[ée]e?|veuf|veuve|en\s+couple|married|single|divorced"
               r"|widowed)\b(?:\s*,?\s*\d+\s+enfants?)?", _I),
    re.compile(r"\b\d+\s+enfants?\b|\bsans\s+enfants?\b|\b\d+\s+children\b", _I),
    re.compile(r"\b(?:r?roms?|tsiganes?|gitans?|gitanes?|manouches?|yénich(?:e|s)?|gens\s+du\s+voyage)\b", _I),
)


def mask_protected(text: str) -> str:
    """`text` with every protected-attribute mention replaced by spaces of the same length."""
    chars = list(text)
    for pattern in PROTECTED_PATTERNS:
        for m in pattern.finditer(text):
            for i in range(m.start(), m.end()):
                if chars[i] != "\n":
                    chars[i] = " "
    return "".join(chars)
