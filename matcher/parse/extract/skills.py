"""Skill phrases from "Compétences :" style lists, and the list-block reader other extractors share."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ...domain import Span

__all__ = ["BlockItem", "list_blocks", "posting_skills", "cv_skills", "clean_item"]


@dataclass(frozen=True)
class BlockItem:
    """One "- item (exigé)" line of a list block; `marker` is "exigé", "souhaité" or None."""
    text: str
    span: Span
    marker: str | None


_BULLET = r"[-•*·▪►◦‣–—]|\(cid:127\)|\d{1,2}[.)]"
_ITEM = re.compile(rf"^[ \t]*(?:{_BULLET})[ \t]*(?P<body>\S.*?)[ \t]*$", re.MULTILINE)
_MARKER = re.compile(r"\s*\((?P<m>exig[ée]e?s?|souhait[ée]e?s?)\)\s*$", re.IGNORECASE)


def list_blocks(text: str, heading: str) -> list[BlockItem]:
    """Items of every "<heading> :" list (France Travail renders Permis/Langues/Compétences this way).

    `heading` is a regular expression matched against a whole line (case-insensitive); the block runs
    over the bullet lines that follow it, up to the first line that is not a bullet.
    """
    out: list[BlockItem] = []
    head = re.compile(rf"^[ \t]*(?:{heading})[ \t]*:?[ \t]*$", re.IGNORECASE | re.MULTILINE)
    for m in head.finditer(text):
        pos = m.end() + 1
        blank_ok = True      # one blank line may separate the heading from its first item
        while pos < len(text):
            eol = text.find("\n", pos)
            eol = len(text) if eol < 0 else eol
            line = text[pos:eol]
            if not line.strip():
                if not blank_ok:
                    break
                blank_ok = False
                pos = eol + 1
                continue
            im = _ITEM.match(line)
            if im is None:
                break
            blank_ok = False
            body, bstart = im.group("body"), pos + im.start("body")
            mk = _MARKER.search(body)
            marker = None
            if mk:
                marker = "exigé" if mk.group("m").lower().startswith("exig") else "souhaité"
                body = body[: mk.start()]
            out.append(BlockItem(body, Span(bstart, bstart + len(body), body), marker))
            pos = eol + 1
    return out


def clean_item(s: str) -> str:
    """A skill phrase without bullets, trailing punctuation or doubled spaces."""
    s = re.sub(r"\s+", " ", s).strip(" .;,:-–—•")
    return s


_POSTING_HEADINGS = r"comp[ée]tences?(?:\(s\))?(?: du poste| requises| attendues| techniques| cl[ée]s)?|savoir[- ]faire"


def posting_skills(text: str) -> tuple[str, ...]:
    """Skill phrases listed under the posting's "Compétences"/"Savoir-faire" headings, in order."""
    seen: dict[str, None] = {}
    for item in list_blocks(text, _POSTING_HEADINGS):
        s = clean_item(item.text)
        if 2 < len(s) < 160:
            seen.setdefault(s, None)
    return tuple(seen)


_CV_HEAD = re.compile(r"^[ \t]*(comp[ée]tences?(?: professionnelles| cl[ée]s| techniques)?|savoir[- ]faire|skills)"
                      r"[ \t]*:?[ \t]*$", re.IGNORECASE | re.MULTILINE)
_HEADINGLIKE = re.compile(r"^[ \t]*[A-ZÉÈÀ][A-ZÉÈÀÇÔÎ '’&-]{3,}[ \t]*$")


def cv_skills(text: str) -> tuple[str, ...]:
    """Skill phrases of a CV's "Compétences"/"Savoir-faire" section: bullets, or "–"/","-separated lines."""
    seen: dict[str, None] = {}
    for m in _CV_HEAD.finditer(text):
        lines = text[m.end():].split("\n")
        taken = 0
        started = False
        for line in lines[1:25]:
            if not line.strip():
                if started and taken >= 3:
                    break
                continue
            if _HEADINGLIKE.match(line) or re.match(r"^\s*(Langues|Permis|Mobilit|Formation|Exp[ée]rience|"
                                                     r"Dipl[ôo]mes|Loisirs|Centres|Informations|Disponibilit|"
                                                     r"Contrat)", line):
                break
            started = True
            parts = re.split(r"\s[–—-]\s|,\s|\s;\s|(?:\(cid:127\)|•)", line)
            for p in parts:
                s = clean_item(p)
                if 2 < len(s) < 80:
                    seen.setdefault(s, None)
                    taken += 1
    return tuple(seen)
