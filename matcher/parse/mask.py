"""Mask protected attributes in CV text (age, birth date, gender, nationality, origin, marital status).

Masked text keeps its length (each masked character becomes a space) so that evidence offsets stay valid.
Ranking never sees what is masked: it happens before extraction, embedding and lexical indexing.
`mask_identity` also blanks the person's name, e-mail addresses, phone numbers and links, which carry
gender and origin (a first name, a +40 prefix); it is applied to what a CV contributes to embedding and
lexical search (`index.store.query_text`), not before extraction, which reads the e-mail to find the name.
"""
from __future__ import annotations

import re

__all__ = ["mask_protected", "mask_identity", "PROTECTED_PATTERNS"]

_I = re.IGNORECASE | re.MULTILINE

# A label line ("Nationalité : roumaine") is masked up to the end of its line or the next separator.
_LABELS = (r"nationalit[ée]s?|citizenship|nationality|date\s+(?:et\s+lieu\s+)?de\s+naissance|date\s+of\s+birth"
           r"|birth\s*date|lieu\s+de\s+naissance|place\s+of\s+birth|n[ée]+\(?e?\)?\s+le|born(?:\s+on)?|[âa]ge"
           r"|situation\s+(?:familiale|maritale|de\s+famille)|[ée]tat\s+civil|marital\s+status|sexe|genre|gender"
           r"|civilit[ée]|origine|origin")

_NUMBER = r"(?:\d+|une?|deux|trois|quatre|cinq|six)"
# "à Craiova (Roumanie)" after a birth date: a birthplace tells an origin.
_BIRTHPLACE = r"(?:\s*\(\s*\d{2}\s*ans\s*\))?(?:\s+à\s+[^\n,;|–—(]+(?:\([^)\n]*\))?)?"

PROTECTED_PATTERNS: tuple[re.Pattern, ...] = (
    re.compile(rf"^[ \t•\-\*]*(?:{_LABELS})\s*[:：]\s*[^\n|•]*", _I),
    re.compile(r"\bn[ée]e?\s*(?:\(e\)\s*)?le\s+\d{1,2}[\s/.\-]+(?:\d{1,2}|[a-zéû]+)[\s/.\-]+\d{2,4}"
               + _BIRTHPLACE, _I),
    re.compile(r"\bn[ée]e?\s*(?:\(e\)\s*)?en\s+(?:19|20)\d{2}\b" + _BIRTHPLACE, _I),
    # "Nationalité : roumaine" after a separator, "nationalité française" without a colon, "de nationalité X"
    re.compile(r"\b(?:de\s+)?nationalit[ée]s?\s*[:：]?[ \t]*[a-zà-öø-ÿ\-]+(?:[ \t]*(?:et|/)[ \t]*[a-zà-öø-ÿ\-]+)?", _I),
    re.compile(r"\b(?:âg[ée]e?|aged?)\s+(?:de\s+)?\d{2}\s*(?:ans|years?)\b", _I),
    re.compile(r"^\s*\d{2}\s*(?:ans|years?\s+old)\s*$", _I),
    re.compile(r"\b\d{2}\s*(?:ans|years?\s+old)\s*(?=[,;|]|$)", _I),
    re.compile(r"\b(?:madame|monsieur|mademoiselle|mme|mlle|mr|mrs|ms|miss)\b\.?", _I),
    re.compile(r"\bM\.(?=[ \t]*[A-ZÀ-Ý])"),  # "M. Julien Moreau" (case-sensitive: not "m." of metres)
    re.compile(r"\((?:f|h|f/h|h/f|m/f|f/m)\)", _I),
    re.compile(r"\b(?:mari[ée]e?|c[ée]libataire|pacs[ée]e?|divorc[ée]e?|veuf|veuve|en\s+couple|married|single|divorced"
               r"|widowed)\b(?:\s*,?\s*(?:et\s+|avec\s+)?" + _NUMBER + r"\s+enfants?)?", _I),
    re.compile(r"\b\d+\s+enfants?\b|\bsans\s+enfants?\b|\b\d+\s+children\b", _I),
    re.compile(r"\b(?:et\s+)?(?:p[èe]re|m[èe]re)\s+de\s+(?:famille|" + _NUMBER + r"\s+enfants?)\b", _I),
    re.compile(r"\b(?:r?roms?|tsiganes?|gitans?|gitanes?|manouches?|yénich(?:e|s)?"
               r"|(?:(?:des|les|aux)\s+)?gens\s+du\s+voyage)\b", _I),
)


def mask_protected(text: str) -> str:
    """`text` with every protected-attribute mention replaced by spaces of the same length. The person's name
    goes too: a civility and a first name carry gender and origin, and the name must be found in the original
    text (once the civility or a part of the name is blanked, `mask_identity` could no longer tell which
    words are the name), so every word of it is blanked wherever it appears."""
    chars = list(text)
    for pattern in PROTECTED_PATTERNS:
        for m in pattern.finditer(text):
            for i in range(m.start(), m.end()):
                if chars[i] != "\n":
                    chars[i] = " "
    names = _name_words(text)
    if names:
        for m in _WORD.finditer(text):
            if _fold(m.group()) in names:
                for i in range(m.start(), m.end()):
                    chars[i] = " "
    return "".join(chars)


# ---------------------------------------------------------------------------- identity (for ranking only)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_LINK = re.compile(r"\b(?:https?://|www\.)\S+|\b(?:linkedin|github|viadeo)\.com/\S+", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d \t.\-()]{7,20}\d(?!\w)")
_CIVILITY_NAME = re.compile(r"\b(?:madame|monsieur|mademoiselle|mme|mlle|m\.)[ \t]+"
                            r"(?P<name>(?-i:[A-ZÀ-Ý][\w'’\-]+(?:[ \t]+[A-ZÀ-Ý][\w'’\-]+){0,3}))", re.IGNORECASE)
_NAME_LABEL = re.compile(r"^[ \t•\-\*]*(?:nom(?:[ \t]+(?:et|&)[ \t]+pr[ée]noms?)?|pr[ée]noms?|nom[ \t]+de[ \t]+famille"
                         r"|name|first[ \t]+name|last[ \t]+name|surname)[ \t]*[:：][ \t]*(?P<name>[^\n]{1,60})$",
                         re.IGNORECASE | re.MULTILINE)
_WORD = re.compile(r"[^\W\d_][\w'’\-]*")


def _fold(word: str) -> str:
    import unicodedata
    w = unicodedata.normalize("NFKD", word.replace("’", "'"))
    return "".join(c for c in w if not unicodedata.combining(c)).lower()


def _is_phone(s: str) -> bool:
    digits = sum(c.isdigit() for c in s)
    return 9 <= digits <= 15 and (s[0] in "+0" or s.startswith("00"))


def _name_words(text: str) -> set[str]:
    """Folded words of the person's name: after a civility, in a Nom/Prénom field, or a header line that looks
    like a name (2-4 capitalised words with one in capitals, or two words of the e-mail address)."""
    email_parts = {_fold(p) for m in _EMAIL.finditer(text)
                   for p in re.split(r"[._\-+\d]+", m.group().split("@")[0]) if len(p) > 1}
    words: set[str] = set()
    for m in _CIVILITY_NAME.finditer(text):
        words.update(_fold(w) for w in _WORD.findall(m.group("name")))
    for m in _NAME_LABEL.finditer(text):
        found = _WORD.findall(m.group("name"))
        if len(found) <= 4:
            words.update(_fold(w) for w in found)
    # The name line: among the first 5 lines when one word is in capitals ("Claire MOREAU"); among the first 12
    # when two of its words make the e-mail address (stronger evidence, so a wider window).
    header = [line for line in text.splitlines() if line.strip()][:12]
    for n, line in enumerate(header):
        if "@" in line or any(c.isdigit() for c in line) or ":" in line:
            continue
        found = _WORD.findall(line)
        if not 2 <= len(found) <= 4 or not all(w[0].isupper() for w in found):
            continue
        caps = sum(w.isupper() and len(w) > 1 for w in found)
        if (n < 5 and caps and caps < len(found)) or sum(_fold(w) in email_parts for w in found) >= 2:
            words.update(_fold(w) for w in found)
    return words


def mask_identity(text: str) -> str:
    """`text` with the person's name, e-mail addresses, phone numbers and links replaced by spaces."""
    chars = list(text)

    def blank(start: int, end: int) -> None:
        for i in range(start, end):
            if chars[i] != "\n":
                chars[i] = " "
    names = _name_words(text)
    for pattern in (_EMAIL, _LINK):
        for m in pattern.finditer(text):
            blank(m.start(), m.end())
    for m in _PHONE.finditer(text):
        if _is_phone(m.group()):
            blank(m.start(), m.end())
    if names:
        for m in _WORD.finditer(text):
            if _fold(m.group()) in names:
                blank(m.start(), m.end())
    return "".join(chars)
