"""Languages: what a posting requires or desires (ISO 639 + CEFR), what a CV declares, and the CV's own language."""
from __future__ import annotations

import re
import unicodedata

from ...domain import CEFR_LEVELS, Language, Requirement, Span
from .licence import clause_bounds, merge_requirements, requirement_strength
from .skills import list_blocks

__all__ = ["posting_languages", "cv_languages", "detect_writing_lang", "level_of", "fold_same_length",
           "LANGUAGE_NAMES"]

# ISO 639 code -> folded names (nouns, and the feminine adjectives used after "langue").
# Romani (rom) is a language; "Roms"/"Rroms" naming a people never appears here on purpose.
LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    "fr": ("francais", "francaise", "french"),
    "en": ("anglais", "anglaise", "english"),
    "es": ("espagnol", "espagnole", "castillan", "spanish"),
    "de": ("allemand", "allemande", "german"),
    "it": ("italien", "italienne", "italian"),
    "pt": ("portugais", "portugaise", "portuguese"),
    "ar": ("arabe dialectal", "arabe litteraire", "arabe classique", "arabe maghrebin", "arabe", "arabic",
           "darija"),
    "ro": ("roumain", "roumaine", "romanian", "moldave"),
    "rom": ("romani", "rromani", "romanes", "romani chib"),
    "ru": ("russe", "russian"),
    "zh": ("chinois", "chinoise", "mandarin", "cantonais", "chinese"),
    "ja": ("japonais", "japonaise", "japanese"),
    "nl": ("neerlandais", "neerlandaise", "flamand", "dutch"),
    "pl": ("polonais", "polonaise", "polish"),
    "tr": ("turc", "turque", "turkish"),
    "uk": ("ukrainien", "ukrainienne", "ukrainian"),
    "bg": ("bulgare", "bulgarian"),
    "hu": ("hongrois", "hongroise", "hungarian"),
    "el": ("grec", "grecque", "greek"),
    "he": ("hebreu", "hebrew"),
    "fa": ("persan", "farsi", "persian"),
    "prs": ("dari",),
    "ps": ("pachto", "pachtou", "pashto"),
    "ta": ("tamoul", "tamil"),
    "wo": ("wolof",),
    "bm": ("bambara",),
    "ln": ("lingala",),
    "sw": ("swahili",),
    "ff": ("peul", "pular", "fulfulde"),
    "snk": ("soninke",),
    "kab": ("kabyle",),
    "ber": ("berbere", "tamazight", "amazigh"),
    "ur": ("ourdou", "urdu"),
    "hi": ("hindi",),
    "bn": ("bengali",),
    "sq": ("albanais", "albanaise", "albanian"),
    "sr": ("serbe", "serbian"),
    "hr": ("croate", "croatian"),
    "cs": ("tcheque", "czech"),
    "vi": ("vietnamien", "vietnamienne", "vietnamese"),
    "ko": ("coreen", "coreenne", "korean"),
    "ca": ("catalan", "catalane"),
    "oc": ("occitan", "occitane"),
    "eu": ("basque",),
    "ti": ("tigrinya", "tigrigna"),
    "am": ("amharique", "amharic"),
    "so": ("somali",),
    "ka": ("georgien", "georgienne"),
    "hy": ("armenien", "armenienne"),
    "sv": ("suedois", "suedoise", "swedish"),
    "fsl": ("langue des signes francaise", "lsf"),
}
_NAME_TO_CODE = {name: code for code, names in LANGUAGE_NAMES.items() for name in names}
_NAMES_RX = "|".join(sorted((re.escape(n) for n in _NAME_TO_CODE), key=len, reverse=True))
# "langue rom"/"langue rrom" is Romani; the bare word "rom(s)" is not matched.
_LANG = re.compile(rf"\b(?P<name>{_NAMES_RX}|(?<=langue )r?rom)\b(?!['’-])")

# --- length-preserving folding (spans found in the folded text index the original) ------------

_ACCENTS = "àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ’"
_PLAIN = "aaaaaaceeeeiiiinooooouuuuyyoa'"
_TABLE = str.maketrans(_ACCENTS + _ACCENTS.upper(), _PLAIN + _PLAIN)


def fold_same_length(text: str) -> str:
    """Lower-case, accent-free copy of `text` with exactly the same length (so offsets carry over)."""
    low = text.lower()
    if len(low) != len(text):      # a few characters ("İ") grow when lower-cased
        low = "".join(c.lower()[:1] or c for c in text)
    out = low.translate(_TABLE)
    if out.isascii():
        return out
    return "".join(c if ord(c) < 128 else (unicodedata.normalize("NFD", c)[:1] or c) for c in out)


# --- levels -----------------------------------------------------------------------------------

_LEVEL = re.compile(
    r"\b(?:(?P<cefr>[abc][12])|(?P<c2>langue\s+maternelle|bilingue|nati(?:f|ve)|native\s+speaker|"
    r"mother\s+tongue)|(?P<c1>courante?s?|couramment|fluent|fluently|fluency|parfaite?\s+ma[iî]trise)|"
    r"(?P<b2>op[ée]rationnel(?:le)?|professionnel(?:le)?|bon\s+niveau|upper[- ]intermediate)|"
    r"(?P<b1>interm[ée]diaire|intermediate)|(?P<a2>notions?|scolaire|basique|bases|basic)|"
    r"(?P<a1>d[ée]butant|beginner))\b")


def level_of(phrase: str) -> str | None:
    """CEFR level of a level phrase: "courant" -> C1, "langue maternelle" -> C2, "B2" -> B2."""
    m = _LEVEL.search(fold_same_length(phrase))
    return _level_from_match(m) if m else None


def _level_from_match(m: re.Match) -> str | None:
    if m.group("cefr"):
        return m.group("cefr").upper()
    for lv in ("c2", "c1", "b2", "b1", "a2", "a1"):
        if m.group(lv):
            return lv.upper()
    return None


# Words right after a language name that show it is about the language ("anglais courant", "anglais : B2").
_AFTER_CUE = re.compile(
    r"[ \t]*(?:\(|:|-|–|,)?[ \t]*(?:[abc][12]\b|langue\s+maternelle|maternelle|bilingue|nati(?:f|ve)|courante?s?|"
    r"couramment|lu\b|ecrit|parle|oral|interm|op[ée]rationnel|professionnel|technique|notions?|scolaire|"
    r"debutant|fluent|exig|souhait|obligatoire|indispensable|requis|imperati|apprecie|un\s+plus|un\s+atout|"
    r"(?:serait|est|sera|constitue|represente)\s+(?:un|une)\s+(?:plus|atout|avantage|reel|vrai|veritable)|"
    r"necessaire|minimum|niveau|toeic|toefl|ielts|delf|dalf|"
    r"(?:fortement\s+|vivement\s+)?recommande|"
    r"\(?\s*(?:exige|souhaite)\)?|required|mandatory|a\s+plus|preferred|is\s+a\s+(?:plus|must))")
# Phrases right before a language name ("maîtrise de l'anglais", "la langue roumaine", "parler arabe").
_BEFORE_CUE = re.compile(
    r"(?:\blangues?|\blinguistiques?|\bparl(?:er|e|ee|es|ant|ez|ons|ent)|\bpratiqu(?:e|er|ez|ant)|"
    r"\bmaitris\w*|\bconnaissances?|\bniveau|\bbilingue|\bcourante?s?|\bnotions?|\bbases?|\bmaniement|"
    r"\bexpression|\bcomprehension|\brediger|\bredaction|\binterpret\w*|\btraduct\w*|\bspeak\w*|"
    r"\bfluen\w*|\bproficien\w*|\bcommand|\bknowledge|\btoeic|\bcertification|\bcompetences?)"
    r"(?:\s+(?:de|du|des|d'|l'|le|la|en|a|in|of|the|ecrite?s?|orales?|et|bonne|tres|parfaite|excellente|"
    r"courante|solide|professionnelle|minimum|d'un|d'une|un|une|langue))*\s*$")
_COORD = re.compile(r"\s*(?:,|\bet\b|\bou\b|/|&|\band\b|\bor\b)\s*(?:(?:le|l'|du|de\s+l'|en|la\s+langue)\s*)?$")
_LANG_HEADING = re.compile(r"^\s*(?:langues?(?:\s+(?:parl[ée]es|[ée]trang[eè]res|vivantes))?|languages?)"
                           r"\s*(?::|$)", re.IGNORECASE)


def _in_languages_section(text: str, start: int) -> bool:
    """True when `start` sits on a "Langues : …" line or in the short list below a "Langues" heading."""
    line_start = text.rfind("\n", 0, start) + 1
    if _LANG_HEADING.match(text[line_start:start + 1]):
        return True
    lines = text[:line_start].split("\n")[:-1]
    for i, line in enumerate(reversed(lines[-8:])):
        s = line.strip()
        if _LANG_HEADING.match(s) and len(s) < 40:
            return True
        if not s:
            if i > 1:
                return False
            continue
        # Another language line in the same list keeps the section going.
        if not _LANG.search(fold_same_length(s)):
            return False
    return False


def _occurrences(text: str, folded: str) -> list[tuple[str, int, int]]:
    """Language names that are really about a language (not "système de santé français"): with a cue
    before or after, in a "Langues" section, or coordinated with such a name ("anglais et espagnol
    souhaités")."""
    raw: list[list] = []
    for m in _LANG.finditer(folded):
        code = _NAME_TO_CODE.get(m.group("name"), "rom")
        s, e = m.start(), m.end()
        ok = bool(_AFTER_CUE.match(folded, e) or _BEFORE_CUE.search(folded, max(0, s - 60), s)
                  or _in_languages_section(text, s))
        raw.append([code, s, e, ok])
    for _ in range(2):      # acceptance spreads along coordinations, both ways
        for a, b in zip(raw, raw[1:], strict=False):
            if a[3] != b[3] and b[1] - a[2] < 20 and _COORD.match(folded[a[2]:b[1]]):
                a[3] = b[3] = True
    return [(code, s, e) for code, s, e, ok in raw if ok]


def _level_near(folded: str, s: int, e: int, others: list[tuple[str, int, int]]) -> str | None:
    """The level written nearest after (else before) the mention, within its clause."""
    left, right = clause_bounds(folded, s, e)
    nxt = min((o[1] for o in others if o[1] > e), default=right)
    stop = min(right, e + 60, nxt if nxt > e + 1 else right)
    m = _LEVEL.search(folded, e, stop)
    if m:
        return _level_from_match(m)
    prv = left
    for o in sorted(others, key=lambda o: o[1]):
        if o[2] <= s and not _COORD.match(folded[o[2]:s]):
            prv = max(prv, o[2])
    m_best = None
    for m in _LEVEL.finditer(folded, max(left, s - 40, prv), s):
        # A level written right after another language is that language's ("anglais courant / allemand").
        if any(o[2] <= m.start() and not folded[o[2]:m.start()].strip(" :(-") for o in others):
            continue
        m_best = m
    return _level_from_match(m_best) if m_best else None


_OTHER_LANGS = re.compile(r"\b(?:une|d['’]|les|des)\s*(?:autres?|seconde|deuxi[eè]me|troisi[eè]me)\s+langues?\b|"
                          r"\b(?:other|second|third)\s+languages?\b")
_TEACHER = re.compile(r"\b(?:professeure?s?|enseignante?s?|format(?:eur|rice)s?|profs?|teachers?|tuteur|"
                      r"tutrice|interpretes?|traducteur|traductrice)\b[^\n]{0,40}?\b(?:d'|de\s+|en\s+)"
                      r"(?:langue\s+)?(?P<name>" + _NAMES_RX + r")\b")


def posting_languages(text: str, title: str = "") -> list[Requirement]:
    """Languages a posting requires or desires, with CEFR level when written.

    A France Travail "Langues :" block is authoritative; otherwise language names count only where the
    text is about the language ("anglais courant", "maîtrise de l'anglais", "Langues : …"). Teaching or
    interpreting a language (from the title) requires it at C1.
    """
    reqs: list[Requirement] = []
    block = list_blocks(text, r"langues?")
    for item in block:
        fm = _LANG.search(fold_same_length(item.text))
        if not fm:
            continue
        code = _NAME_TO_CODE.get(fm.group("name"), "rom")
        reqs.append(Requirement("language", code, item.marker != "souhaité", level_of(item.text), item.span))
    if not block:
        folded = fold_same_length(text)
        occ = _occurrences(text, folded)
        spans = [(s, e) for _, s, e in occ]
        blockers = [(m.start(), m.end()) for m in _OTHER_LANGS.finditer(folded)]
        for code, s, e in occ:
            required = requirement_strength(text, s, e, spans, blockers)
            if required is None:
                continue
            level = _level_near(folded, s, e, occ)
            reqs.append(Requirement("language", code, required, level, Span(s, e, text[s:e])))
    if title:
        tm = _TEACHER.search(fold_same_length(title))
        if tm:
            code = _NAME_TO_CODE[tm.group("name")]
            if code != "fr" and not any(r.value == code and r.required for r in reqs):
                reqs = [r for r in reqs if r.value != code]
                reqs.append(Requirement("language", code, True, "C1", None))
    return merge_requirements(reqs)


# --- CV side ------------------------------------------------------------------------------------

_CV_ENTRY = re.compile(rf"\b(?P<name>{_NAMES_RX})\b[ \t]*(?:\(|:|-|–)[ \t]*"
                       rf"(?P<level>[^;\n•]{{0,40}}(?:\n[^;\n•:]{{0,20}})?)")


def cv_languages(text: str, writing_lang: str = "fr") -> list[Language]:
    """Languages a CV declares, in order, with levels; the writing language is C2 unless stated."""
    folded = fold_same_length(text)
    found: dict[str, Language] = {}

    def add(code: str, level: str | None, s: int, e: int) -> None:
        old = found.get(code)
        if old is None:
            found[code] = Language(code, level, Span(s, e, text[s:e]))
        elif level and (old.level is None or CEFR_LEVELS.index(level) > CEFR_LEVELS.index(old.level)):
            found[code] = Language(code, level, old.evidence)

    occ = _occurrences(text, folded)
    for code, s, e in occ:
        level = None
        em = _CV_ENTRY.match(folded, s)
        if em:
            lm = _LEVEL.search(em.group("level"))
            level = _level_from_match(lm) if lm else None
        if level is None:
            level = _level_near(folded, s, e, occ)
        add(code, level, s, e)
    if writing_lang and writing_lang not in found:
        found = {writing_lang: Language(writing_lang, "C2", None), **found}
    elif writing_lang and found[writing_lang].level is None:
        found[writing_lang] = Language(writing_lang, "C2", found[writing_lang].evidence)
    return list(found.values())


_FR_WORDS = re.compile(r"\b(?:le|la|les|des|du|et|en|pour|avec|dans|sur|une|au|aux|est|depuis|ans)\b")
_EN_WORDS = re.compile(r"\b(?:the|and|of|to|in|for|with|on|at|is|years|from|as|by)\b")


def detect_writing_lang(text: str) -> str:
    """"fr" or "en", from function-word counts."""
    folded = fold_same_length(text[:20000])
    fr = len(_FR_WORDS.findall(folded))
    en = len(_EN_WORDS.findall(folded))
    return "en" if en > fr * 1.2 else "fr"
