"""Driving licences: what a posting requires or desires, what a CV holds; plus the required/desired rules."""
from __future__ import annotations

import re

from ...domain import Requirement, Span
from .skills import list_blocks

__all__ = [
    "posting_licences", "held_licences", "requirement_strength", "clause_bounds", "LICENCE_CODES",
    "merge_requirements",
]

LICENCE_CODES = ("AM", "A1", "A2", "A", "B1", "B", "BE", "C1", "C1E", "C", "CE", "D1", "D1E", "D", "DE")

# --- required / desired -------------------------------------------------------------------------

_REQUIRED = re.compile(
    r"\b(obligatoire(?:ment|s)?|exig[ée]e?s?|exigence|indispensables?|imp[ée]rati(?:f|ve|fs|ves|vement)|"
    r"requise?s?|pr[ée][- ]?requis|n[ée]cessaires?|n[ée]cessite|essentiel(?:le)?s?|incontournables?|"
    r"(?:vous\s+)?dev(?:ez|rez|ra|ant|rait)\s+(?:imp[ée]rativement\s+|obligatoirement\s+|absolument\s+)?"
    r"(?:poss[ée]der|[êe]tre\s+titulaire|avoir|justifier|ma[îi]triser)|"
    r"condition\s+(?:obligatoire|sine\s+qua\s+non|indispensable)|doit\s+[êe]tre|required|mandatory|must)\b",
    re.IGNORECASE)
_DESIRED = re.compile(
    r"(\bsouhait(?:[ée]e?s?|able)\b|\bun\s+(?:plus|\+)|\+\s*appr|\batouts?\b|\bappr[ée]ci[ée]e?s?\b|"
    r"\bappr[ée]ciable\b|\bid[ée]alement\b|\bde\s+pr[ée]f[ée]rence\b|\bpr[ée]f[ée]rable(?:ment)?\b|"
    r"\bbienvenue?s?\b|\bsi\s+possible\b|\bavantage\b|\boptionnel(?:le)?\b|\bfacultati(?:f|ve)\b|"
    r"\bvalorisable\b|\bserait\s+un\b|\brecommand[ée]e?s?\b|\bconseill[ée]e?s?\b|\bnice\s+to\s+have\b|"
    r"\ba\s+plus\b|\bpreferred\b|\bdesirable\b|\ban\s+asset\b)",
    re.IGNORECASE)
# Headings that introduce a list of nice-to-haves.
_DESIRED_HEADING = re.compile(r"^\s*(?:les\s+)?(?:\+|plus|atouts?|bonus|appr[ée]ci[ée]|souhait[ée]|"
                              r"un\s+plus|serait\s+un\s+plus|ce\s+qui\s+ferait\s+la\s+diff[ée]rence)"
                              r"[^\n]{0,40}:?\s*$", re.IGNORECASE)
_HEADING_LINE = re.compile(r"^[^\n]{2,60}:\s*$|^[A-ZÉÈÀÇ0-9 '’/&()-]{4,60}$")

def clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Start and end of the clause (sentence, bullet or line) around [start, end)."""
    left = start
    while left > 0:
        ch = text[left - 1]
        if ch in "!?;\n" or (ch == "." and _is_period(text, left - 1)):
            break
        left -= 1
    right = end
    n = len(text)
    while right < n:
        ch = text[right]
        if ch in "!?;\n" or (ch == "." and _is_period(text, right)):
            break
        right += 1
    return left, right


def _is_period(text: str, i: int) -> bool:
    """True when the '.' at i ends a sentence (not "2.5", "S.S.I.A.P", "etc." inside a phrase)."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    if before.isdigit() and after.isdigit():
        return False
    if after.isalpha() and i >= 1 and text[i - 1].isalpha() and (i < 2 or not text[i - 2].isalpha()):
        return False      # an abbreviation like "S.S.I.A.P"
    return True


_NOT_REQUIRED_AFTER = re.compile(
    r"[^.\n;]{0,30}?(?:\b(?:n['’]est|ne\s+sont|n['’]est\s+donc)\s+pas\s+(?:exig|obligatoire|n[ée]cessaire|requis|"
    r"indispensable|demand|impos)|(?:^|\s|\()non\s+(?:exig|obligatoire|requis|n[ée]cessaire|indispensable|demand))",
    re.IGNORECASE)
_NOT_REQUIRED_BEFORE = re.compile(r"(?:\bpas|\bsans|\baucun(?:e)?|\bni)\s+"
                                  r"(?:de\s+|d['’]|du\s+|besoin\s+(?:de|du|d['’])\s*)?"
                                  r"(?:l['’]|le\s+|la\s+)?$", re.IGNORECASE)
_PREFIX_MARKER = re.compile(r"id[ée]alement|de\s+pr[ée]f[ée]rence|si\s+possible|pr[ée]f[ée]rablement",
                            re.IGNORECASE)
# "anglais et espagnol", "permis B, C", "de l'anglais et de l'espagnol" (but "anglais, l'allemand est
# un plus" starts a new statement: an article right after a comma).
_COORDINATION = re.compile(r"^\s*(?:(?:,|/|&|\+)\s*(?:permis\s*)?|,?\s*(?:\bet\b|\bou\b|\band\b|\bor\b)\s*"
                           r"(?:(?:le|la|les|l['’]|du|de\s+l['’]|de\s+la|en|permis)\s*)?)$", re.IGNORECASE)


def _group(text: str, start: int, end: int, others: list[tuple[int, int]]) -> tuple[int, int]:
    """Extent of the coordination ("anglais et espagnol", "permis B, C") the mention belongs to."""
    spans = sorted(set(others) | {(start, end)})
    i = spans.index((start, end))
    g_start, g_end = start, end
    j = i
    while j > 0 and _COORDINATION.match(text[spans[j - 1][1]:spans[j][0]]):
        j -= 1
        g_start = spans[j][0]
    j = i
    while j + 1 < len(spans) and _COORDINATION.match(text[spans[j][1]:spans[j + 1][0]]):
        j += 1
        g_end = spans[j][1]
    return g_start, g_end


def requirement_strength(text: str, start: int, end: int, others: list[tuple[int, int]] | tuple = (),
                         blockers: list[tuple[int, int]] | tuple = ()) -> bool | None:
    """True (required), False (desired) or None (said not to be needed) for a mention at [start, end).

    The nearest required/desired marker of the clause decides ("Permis B souhaité", "le permis B est
    indispensable", "idéalement permis B"); a coordination shares its marker ("anglais et espagnol
    souhaités") but a marker next to another mention of `others` is that mention's ("permis D
    (permis DE apprécié)"). Without a marker, a nice-to-have heading above makes it desired; otherwise
    a stated requirement is required.
    """
    left, right = clause_bounds(text, start, end)
    g_start, g_end = _group(text, start, end, list(others))
    foreign = [(s, e) for s, e in others if e <= g_start or s >= g_end] + list(blockers)
    negated = bool(_NOT_REQUIRED_AFTER.match(text, g_end, right)) or \
        bool(_NOT_REQUIRED_BEFORE.search(text, max(left, g_start - 25), g_start))
    best: tuple[int, bool] | None = None
    for rx, value in ((_DESIRED, False), (_REQUIRED, True)):
        for m in rx.finditer(text, left, right):
            if m.start() >= g_end:
                # A marker past another mention, or right before one, qualifies that one.
                if any(g_end <= s < m.start() for s, _ in foreign):
                    continue
                if any(m.end() <= s <= min(m.end() + 25, right) for s, _ in foreign):
                    continue
                # "idéalement", "de préférence" qualify what follows them, unless they end the clause.
                if _PREFIX_MARKER.fullmatch(m.group(0)) and re.search(r"\w", text[m.end():right]):
                    continue
                dist = m.start() - g_end
            elif m.end() <= g_start:
                if any(m.end() <= s and e <= g_start for s, e in foreign):
                    continue
                dist = g_start - m.end() + 5      # a marker after the mention binds a little tighter
            else:
                continue
            if best is None or dist < best[0] or (dist == best[0] and value is False):
                best = (dist, value)
    if negated:
        return False if best is not None and best[1] is False else None
    if best is not None:
        return best[1]
    # A "(souhaité)" / "(exigé)" on the following line of a France Travail list item.
    nxt = text[right:right + 16]
    if re.match(r"\s*\(souhait", nxt, re.IGNORECASE):
        return False
    heading = _heading_above(text, left)
    if heading is not None and _DESIRED_HEADING.match(heading):
        return False
    return True


def _heading_above(text: str, pos: int, max_lines: int = 12) -> str | None:
    """The nearest heading-looking line above `pos` in the same block of lines."""
    lines = text[:pos].split("\n")
    if lines and lines[-1].strip() == "":
        lines.pop()
    for line in reversed(lines[-max_lines:]):
        if not line.strip():
            return None
        if _HEADING_LINE.match(line.strip()):
            return line
    return None


def merge_requirements(reqs: list[Requirement]) -> list[Requirement]:
    """One requirement per value: required wins over desired; the first evidence is kept."""
    out: dict[str, Requirement] = {}
    for r in reqs:
        old = out.get(r.value)
        if old is None:
            out[r.value] = r
        elif r.required and not old.required:
            out[r.value] = r
        elif old.level is None and r.level and r.required == old.required:
            out[r.value] = Requirement(old.kind, old.value, old.required, r.level, old.evidence)
    return list(out.values())


# --- licence mentions ---------------------------------------------------------------------------

_CODE = r"(?:AM|A1|A2|B1|BE|B|C1E|C1|CE|C|D1E|D1|DE|D|EB|EC|A|b|be)(?![\w'’])"
_SEP = r"\s*(?:,|/|\bet\b|\bou\b|\+|&|-|–)\s*(?:(?:le\s+)?permis\s+)?"
_CODES_AFTER = re.compile(
    rf"\s*(?:de\s+conduire\s*)?(?:\(?\s*(?:de\s+)?cat[ée]gories?\s*)?(?:[:\-–]\s*)?(?:permis\s+)?"
    rf"(?P<codes>{_CODE}(?:{_SEP}{_CODE})*)")
_KIND_AFTER = re.compile(
    r"\s*(?:de\s+conduire\s+)?(?:\(?\s*(?:de\s+)?cat[ée]gorie\s*)?"
    r"(?P<kind>VL|PL|SPL|poids[- ]lourds?|super[- ]lourds?|transports?\s+en\s+commun|moto|voiture|"
    r"auto(?:mobile)?|v[ée]hicule\s+l[ée]ger|remorque)\b", re.IGNORECASE)
_KIND_CODE = {"vl": "B", "voiture": "B", "auto": "B", "automobile": "B", "vehicule leger": "B",
              "pl": "C", "poids lourd": "C", "poids lourds": "C", "spl": "CE", "super lourd": "CE",
              "super lourds": "CE", "transport en commun": "D", "transports en commun": "D", "moto": "A",
              "remorque": "BE"}
_PERMIS = re.compile(r"\bpermis\b|\bdriv(?:ing|er['’]?s)\s+licen[cs]e\b", re.IGNORECASE)
# "a permis de", "ont permis", "il est permis": the verb, not a licence.
_VERB_BEFORE = re.compile(r"(?:\b(?:a|ont|avait|avaient|aura|auront|aurait|auraient|ai|as|avons|avez|"
                          r"été|est|sont|soit|n'est|c'est|m'a|t'a|l'a|nous\s+a|vous\s+a)\s+(?:pas\s+|déjà\s+|"
                          r"aussi\s+|notamment\s+|également\s+)?)$", re.IGNORECASE)
_OTHER_PERMIT = re.compile(r"\s*(?:de|d['’])\s*(?!conduire)\w", re.IGNORECASE)
# A licence the employer helps to obtain is a benefit, not a requirement.
_BENEFIT_BEFORE = re.compile(r"(?:aide|financement|passage|pr[ée]paration|formation|obtention|obtenir|"
                             r"passer|pr[ée]parer|financer|financ[ée]|offre|offert|prise\s+en\s+charge)\s+"
                             r"(?:[àa]\s+l['’]obtention\s+)?(?:au|du|le|son|votre|de\s+votre|d['’]un|un)\s*$",
                             re.IGNORECASE)
_BENEFIT_AFTER = re.compile(r"\s*(?:\w+\s+)?(?:offert|financ[ée]|pris\s+en\s+charge|en\s+cours\s+accept)",
                            re.IGNORECASE)
_DRIVING_CUE = re.compile(r"v[ée]hicul|voiture|\bconduire\b|\bconduite\b|d[ée]placements?|itin[ée]rant",
                          re.IGNORECASE)
_MARKER_RIGHT_AFTER = re.compile(r"\s*(?:est\s+|sont\s+|:\s*)?(?:obligatoire|exig|indispensable|requis|"
                                 r"n[ée]cessaire|imp[ée]rati|souhait|appr[ée]ci|un\s+plus|et\s+v[ée]hicule|"
                                 r"\+\s*v[ée]hicule)", re.IGNORECASE)


def _norm_code(code: str) -> str:
    code = code.upper()
    return {"EB": "BE", "EC": "CE"}.get(code, code)


def _mentions(text: str) -> list[tuple[list[str], int, int]]:
    """Licence mentions in free text: (codes, start, end)."""
    out: list[tuple[list[str], int, int]] = []
    for m in _PERMIS.finditer(text):
        s = m.start()
        if _VERB_BEFORE.search(text[max(0, s - 30):s]):
            continue
        after = text[m.end():m.end() + 80]
        cm = _CODES_AFTER.match(after)
        if cm:
            codes = [_norm_code(c) for c in re.findall(_CODE, cm.group("codes"))]
            out.append((codes, s, m.end() + cm.end()))
            continue
        km = _KIND_AFTER.match(after)
        if km:
            kind = re.sub(r"\s+", " ", km.group("kind").lower()).replace("é", "e").rstrip()
            kind = {"vehicule leger": "vehicule leger", "véhicule léger": "vehicule leger"}.get(kind, kind)
            code = _KIND_CODE.get(kind.replace("-", " "))
            if code:
                out.append(([code], s, m.end() + km.end()))
                continue
        if m.group(0)[0] in "dD":       # "driving licence" names a driving licence by itself
            out.append((["B"], s, m.end()))
            continue
        if re.match(r"\s*de\s+conduire\b", after, re.IGNORECASE):
            out.append((["B"], s, m.end() + re.match(r"\s*de\s+conduire", after, re.IGNORECASE).end()))
            continue
        if _OTHER_PERMIT.match(after):
            continue              # permis de construire / de séjour / de renforcer / d'exploitation…
        left, right = clause_bounds(text, s, m.end())
        if _MARKER_RIGHT_AFTER.match(after) or _DRIVING_CUE.search(text, left, right):
            out.append((["B"], s, m.end()))
    return out


def posting_licences(text: str) -> list[Requirement]:
    """Licences a posting requires (required=True) or desires (required=False), with evidence."""
    reqs: list[Requirement] = []
    block_codes: set[str] = set()
    for item in list_blocks(text, r"permis(?: de conduire)?"):
        cm = re.match(rf"\s*(?:permis\s+)?({_CODE})\s*(?:[-–:]|$)", item.text)
        if not cm:
            continue
        code = _norm_code(cm.group(1))
        required = item.marker != "souhaité"
        block_codes.add(code)
        reqs.append(Requirement("licence", code, required, None, item.span))
    mentions = _mentions(text)
    spans = [(s, e) for _, s, e in mentions]
    for codes, s, e in mentions:
        if _BENEFIT_BEFORE.search(text[max(0, s - 60):s]) or _BENEFIT_AFTER.match(text, e):
            continue
        if any(s < r.evidence.end and e > r.evidence.start for r in reqs if r.evidence):
            continue
        required = requirement_strength(text, s, e, spans)
        if required is None:
            continue
        span = Span(s, e, text[s:e])
        for code in codes:
            if code in block_codes:
                continue
            reqs.append(Requirement("licence", code, required, None, span))
    return merge_requirements(reqs)


# --- CV side ------------------------------------------------------------------------------------

_NOT_HELD_AFTER = re.compile(r"\s*(?:\([^)]{0,40}\)\s*)?(?::|-|–)?\s*(?:non\b|en\s+cours(?!\s+de\s+validit)|"
                             r"en\s+pr[ée]paration|"
                             r"en\s+formation|[àa]\s+passer|pr[ée]vu|bient[ôo]t|code\s+(?:obtenu|en\s+cours)|"
                             r"\(en\s+cours)", re.IGNORECASE)
_NOT_HELD_BEFORE = re.compile(r"(?:\bpas\s+(?:de|du|le)|\bsans|\baucun|\bnon\s+titulaire\s+du|\bpr[ée]pare\s+le|"
                              r"\bpasser\s+le|\bpr[ée]paration\s+du|\bformation\s+au)\s*$", re.IGNORECASE)


def held_licences(text: str) -> list[tuple[str, Span]]:
    """Licences a CV states as held; silence, "non", "en cours", "pas de permis B" are not held."""
    out: dict[str, Span] = {}
    for codes, s, e in _mentions(text):
        if not re.search(r"\b[A-E][A-E1]?\b|\bAM\b|\bb\b", text[s:e]):
            # A bare "permis de conduire" in a CV is a heading, not a licence.
            if not re.search(r"titulaire\s+du\s*$|\bj['’]ai\s+le\s*$", text[max(0, s - 25):s], re.IGNORECASE):
                continue
        if _NOT_HELD_BEFORE.search(text[max(0, s - 20):s]) or _NOT_HELD_AFTER.match(text, e):
            continue
        for code in codes:
            out.setdefault(code, Span(s, e, text[s:e]))
    return list(out.items())
