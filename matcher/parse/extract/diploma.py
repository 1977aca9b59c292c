"""Regulated French social and health diplomas: which a posting asks for, which a CV holds.

These professions can only be exercised with their State diploma (or an equivalent the ad accepts), so a
posting for one of them is a poor match for a CV without it. This is a ranking signal, not a hard filter:
the data contract's hard filters are location, contract, licence and language only.
"""
from __future__ import annotations

import re
import unicodedata

from ...domain import Span

__all__ = ["DIPLOMAS", "posting_diplomas", "cv_diplomas", "diplomas_in"]

# code -> (label, pattern on folded text). AES absorbed AMP and AVS in 2016, so they share one code.
DIPLOMAS: dict[str, tuple[str, str]] = {
    "IDE": ("DE d'infirmier", r"\binfirmi(?:er|ere)s?\b(?!\s+(?:coordinat|de\s+bloc))|\bdei\b|\bide\b"),
    "AS": ("DE d'aide-soignant", r"\baides?[- ]soignant(?:e|es|s)?\b|\bdeas\b"),
    "AES": ("DE d'accompagnant éducatif et social (ex-AMP, AVS)",
            r"\baccompagnant(?:e|es|s)?\s+educati(?:f|ve|fs|ves)\s+et\s+socia|\bdeaes\b|\baes\b|\bamp\b"
            r"|\baides?[- ]medico[- ]psycholog|\bavs\b|\bauxiliaires?\s+de\s+vie\s+sociale\b|\bdeavs\b"),
    "ES": ("DE d'éducateur spécialisé", r"\beducat(?:eur|rice)s?\s*(?:\(\w+\)\s*)?specialise|\bdees\b"),
    "ME": ("DE de moniteur-éducateur", r"\bmoniteur(?:s)?[- ]educat|\bmonitrice(?:s)?[- ]educat|\bdeme\b"),
    "ASS": ("DE d'assistant de service social",
            r"\bassistant(?:e|es|s)?\s+(?:de\s+service\s+social|sociale?s?)\b|\bdeass\b"),
    "EJE": ("DE d'éducateur de jeunes enfants", r"\beducat(?:eur|rice)s?\s*(?:\(\w+\)\s*)?de\s+jeunes\s+enfants"
                                                r"|\bdeeje\b|\beje\b"),
    "AP": ("DE d'auxiliaire de puériculture", r"\bauxiliaires?\s+de\s+puericulture|\bdeap\b"),
    "PSY": ("titre de psychologue", r"\bpsychologue|\bmaster\b[^\n.]{0,30}\bpsychologie"),
    "CESF": ("DE de conseiller en économie sociale et familiale",
             r"\bcesf\b|\bdecesf\b|\beconomie\s+sociale\s+et\s+familiale"),
    "TISF": ("DE de technicien de l'intervention sociale et familiale",
             r"\btisf\b|\bdetisf\b|\bintervention\s+sociale\s+et\s+familiale"),
}
_PATTERNS = {code: re.compile(p) for code, (_, p) in DIPLOMAS.items()}

# A sentence of the ad that states who may apply.
_PROFILE = re.compile(r"(?i:\b(?:titulaire|dipl[oô]m|exig|requis|obligatoire|indispensable|accept|ouvert\s+aux"
                      r"|[ée]quivalent|peu(?:ven)?t\s+postuler))|\bD\.?E\.?\b(?!-)")
# Words saying other diplomas are welcome too.
_ALTERNATIVE = re.compile(r"accept|peu(?:ven)?t\s+postuler|ouvert\s+aux|egalement|bienvenu")
_NO_DIPLOMA = re.compile(r"\bsans\s+dipl[oô]me|\bpas\s+de\s+dipl[oô]me\s+(?:requis|exig)",
                         re.IGNORECASE)
# CV lines that state a diploma the person holds, and those that say it is not (yet) held.
_HELD_LINE = re.compile(r"\bdipl[oô]m|\bdiploma|\btitulaire|\bobtenu|\bcertifica|\bmaster\b|\blicence\b|\bde\s+d|"
                        r"\b(?:deas|deaes|deass|dees|deme|deeje|deap|decesf|detisf|dei)\b", re.IGNORECASE)
_NOT_HELD = re.compile(r"\ben\s+cours\b|\bnon\s+reconnu|\bpr[ée]paration\b|\bpr[ée]pare\b|\bstage\b|\bstagiaire\b|\bmodule\b|"
                       r"\bvae\b|\bformation\s+(?:d'|de\s+)?(?:pr[ée]paratoire|continue)", re.IGNORECASE)


def _fold(text: str) -> str:
    text = text.lower().replace("’", "'")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def diplomas_in(text: str) -> set[str]:
    """Codes of the regulated diplomas named in `text`."""
    t = _fold(text)
    return {code for code, rx in _PATTERNS.items() if rx.search(t)}


def posting_diplomas(title: str, text: str) -> tuple[tuple[str, ...], Span | None]:
    """The regulated diplomas a posting accepts (any one suffices), and the text that says so.

    The posting's own occupation comes from its title; the alternatives it accepts come from profile
    sentences naming other diplomas ("AES, AMP ou AS acceptés"). An ad open to applicants without a
    diploma asks for none."""
    required = diplomas_in(title)
    if not required:
        return (), None
    evidence = None
    for m in re.finditer(r"[^\n.;!?]+", text):
        sentence = m.group(0)
        if _NO_DIPLOMA.search(_fold(sentence)):
            return (), Span(m.start(), m.end(), sentence.strip())
        if _PROFILE.search(sentence):
            named = diplomas_in(sentence)
            # Other diplomas count as accepted alternatives only in a sentence about the posting's own.
            if named & required or (named and _ALTERNATIVE.search(_fold(sentence))):
                if evidence is None:
                    evidence = Span(m.start(), m.end(), sentence.strip())
                required |= named
    return tuple(sorted(required)), evidence


def cv_diplomas(text: str, occupation: str | None = None) -> tuple[str, ...]:
    """Regulated diplomas a CV states as held: in its job title line, or on lines that name a diploma,
    unless the line says it is in progress or only a placement."""
    held = diplomas_in(occupation) if occupation and not _NOT_HELD.search(occupation) else set()
    for line in text.splitlines():
        if _HELD_LINE.search(line) and not _NOT_HELD.search(line):
            held |= diplomas_in(line)
    return tuple(sorted(held))
