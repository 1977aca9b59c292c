"""Internal mobility: rank open postings for every member of a staff register, with the gaps to each role."""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .config import Settings
from .domain import CONTRACTS, Candidate, Match, Posting
from .embed import Embedder
from .errors import ConfigError, NotFound, ParseError
from .filters import parse_mobility
from .index import open_index
from .index.store import Collection, IndexStore, Snapshot, document_text, query_text
from .lexical import BM25Index, analyze
from .rank import Matcher, skill_gaps

__all__ = ["GAP_KINDS", "MAX_SKILL_GAPS", "Gap", "StaffMember", "Register", "RoleMatch", "StaffResult",
           "load_register", "index_register", "rank_register", "rank_staff", "match_gaps", "missing_terms",
           "is_current_role"]

GAP_KINDS = ("licence", "language", "location", "contract", "skill")
MAX_SKILL_GAPS = 5          # a role lists at most this many skills or terms to develop


@dataclass(frozen=True)
class Gap:
    """Something a person lacks for a role: a kind from GAP_KINDS and a sentence saying what."""
    kind: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class StaffMember:
    """One register entry: the CV as extracted, the current role, and the officer's overrides."""
    id: str
    parsed: Candidate
    current_role: str | None = None
    mobility: str | None = None
    contracts_wanted: tuple[str, ...] | None = None

    @property
    def candidate(self) -> Candidate:
        """The CV with the register's overrides applied (what filters and gaps see)."""
        changes: dict[str, Any] = {}
        if self.mobility is not None:
            changes["mobility"] = self.mobility
        if self.contracts_wanted is not None:
            changes["contracts_wanted"] = self.contracts_wanted
        return replace(self.parsed, **changes) if changes else self.parsed


@dataclass
class Register:
    """A loaded staff register; CVs that could not be read are in `errors`, not fatal."""
    path: Path
    staff: list[StaffMember]
    errors: list[ParseError] = field(default_factory=list)


@dataclass(frozen=True)
class RoleMatch:
    """One (person, posting) pair of a mobility ranking, with its score and gaps."""
    staff_id: str
    posting_id: str
    score: float
    title: str = ""
    place: str = ""
    contract: str | None = None
    blocked: tuple[str, ...] = ()
    gaps: tuple[Gap, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"posting_id": self.posting_id, "staff_id": self.staff_id, "score": round(self.score, 6),
                "title": self.title, "place": self.place, "contract": self.contract,
                "blocked": list(self.blocked), "gaps": [g.to_dict() for g in self.gaps]}


@dataclass
class StaffResult:
    """The ranked roles proposed to one member of staff (their current role excluded)."""
    staff_id: str
    current_role: str | None
    excluded: tuple[str, ...]
    matches: list[RoleMatch]

    def to_dict(self) -> dict[str, Any]:
        return {"staff_id": self.staff_id, "current_role": self.current_role, "excluded": list(self.excluded),
                "matches": [{k: v for k, v in m.to_dict().items() if k != "staff_id"} for m in self.matches]}


# ---------------------------------------------------------------------------- the register
def load_register(path: Path | str, settings: Settings | None = None) -> Register:
    """A staff register: a folder of CV files (ids are file stems) or a JSONL of staff records.

    A record is {"id", "cv" (path relative to the JSONL), "current_role" (posting id or title),
    "mobility" (department | region | france | list:[..] | radius_km:N), "contracts_wanted" ([..])};
    only id and cv are required. Bad records and unreadable CVs are returned as errors."""
    from .parse import load_cvs, parse_cv
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"no staff register at {path}")
    if path.is_dir():
        cvs, errors = load_cvs([path], settings)
        return Register(path, [StaffMember(c.id, c) for c in cvs], errors)
    if path.suffix.lower() != ".jsonl":
        raise ConfigError(f"a staff register is a folder of CVs or a .jsonl file, not {path.name}")
    staff: list[StaffMember] = []
    errors: list[ParseError] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the staff register {path}: {type(e).__name__}") from e
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            rec = _record(json.loads(line), where)
        except json.JSONDecodeError:
            errors.append(ParseError(where, "not valid JSON"))
            continue
        except ParseError as e:
            errors.append(e)
            continue
        if rec["id"] in seen:
            errors.append(ParseError(where, f"staff id {rec['id']!r} appears twice"))
            continue
        seen.add(rec["id"])
        cv_path = Path(rec["cv"])
        if not cv_path.is_absolute():
            cv_path = path.parent / cv_path  # relative to the register, wherever it is run from
        try:
            parsed = parse_cv(cv_path, settings, cv_id=rec["id"])
        except ParseError as e:
            errors.append(e)
            continue
        staff.append(StaffMember(rec["id"], parsed, rec["current_role"], rec["mobility"], rec["contracts_wanted"]))
    return Register(path, staff, errors)


def _record(rec: object, where: str) -> dict[str, Any]:
    """A validated register record; ParseError(where, reason) when a field cannot be used."""
    if not isinstance(rec, dict):
        raise ParseError(where, "expected a JSON object")
    sid = str(rec.get("id") or "").strip()
    cv = rec.get("cv") or rec.get("file")
    if not sid or not isinstance(cv, str) or not cv.strip():
        raise ParseError(where, "a staff record needs an 'id' and a 'cv' file")
    role = rec.get("current_role")
    role = (str(role).strip() or None) if role is not None else None
    mobility = rec.get("mobility")
    if mobility is not None:
        mobility = str(mobility).strip()
        try:
            kind, _ = parse_mobility(mobility)
        except ConfigError as e:
            raise ParseError(where, str(e)) from None
        if kind not in ("department", "region", "france", "list", "radius_km"):
            raise ParseError(where, f"mobility {mobility!r} is not one of department, region, france, "
                                    "list:[codes], radius_km:N")
    contracts = rec.get("contracts_wanted")
    if contracts is not None:
        if isinstance(contracts, str):
            contracts = [c for c in re.split(r"[,;]", contracts)]
        if not isinstance(contracts, list):
            raise ParseError(where, "contracts_wanted must be a list")
        by_fold = {c.lower(): c for c in CONTRACTS}
        out = []
        for c in (str(x).strip() for x in contracts):
            if not c or c.lower() == "any":
                continue
            if c.lower() not in by_fold:
                raise ParseError(where, f"unknown contract {c!r}; valid: {', '.join(CONTRACTS)}")
            out.append(by_fold[c.lower()])
        contracts = tuple(dict.fromkeys(out))
    return {"id": sid, "cv": cv.strip(), "current_role": role, "mobility": mobility, "contracts_wanted": contracts}


def index_register(store: IndexStore, register: Register,
                   progress: Callable[[int], None] | None = None) -> None:
    """Put the register's CVs in the index's "cvs" collection. Unchanged ones (same id and content) are
    reused as they are; new or changed ones are embedded. Overrides are not stored: they belong to the
    register."""
    if register.staff:
        store.add("cvs", [s.parsed for s in register.staff], progress=progress)


# ---------------------------------------------------------------------------- current role
# Feminine job-title endings mapped to the masculine, which the stemmer does not unify (cuisinière/cuisinier).
_FEMININE = ((re.compile(r"ere\b"), "er"), (re.compile(r"ienne\b"), "ien"), (re.compile(r"euse\b"), "eur"),
             (re.compile(r"trice\b"), "teur"), (re.compile(r"ante\b"), "ant"))


def _masculine(text: str) -> str:
    """`text` folded (lower case, no accents) with feminine job-word endings made masculine."""
    import unicodedata
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    for rx, masculine in _FEMININE:
        folded = rx.sub(masculine, folded)
    return folded


def _title_key(text: str) -> frozenset[str]:
    return frozenset(analyze(_masculine(text)))


def is_current_role(role: str | None, posting: Posting) -> bool:
    """Whether `posting` is the role a person holds: the same id, or a title with the same words
    (accents, case, plurals, feminine endings, "H/F" and stop words aside)."""
    if not role:
        return False
    if role == posting.id:
        return True
    key = _title_key(role)
    return bool(key) and key == _title_key(posting.title)


# ---------------------------------------------------------------------------- gaps
def _place_tokens(posting: Posting) -> set[str]:
    p = posting.location
    if p is None:
        return set()
    return set(analyze(" ".join(x for x in (p.city, p.department, p.region, p.country, p.postcode) if x)))


def missing_terms(posting: Posting, candidate: Candidate, lexical: BM25Index, stem: bool = True,
                  n: int = MAX_SKILL_GAPS) -> list[str]:
    """The posting's main words absent from the CV, for a posting without extracted skills.

    Title words come first, then the body words of highest BM25 weight in the posting collection. A body
    word must also appear in another posting: a word used once in the whole collection is mostly a name,
    a typo or a one-off, not something to develop; so is a word the body only writes capitalised (names,
    acronyms). Place names, numbers and the feminine or masculine form of a word the CV has are left out.
    Words are shown as the posting writes them."""
    text = document_text(posting)
    tokens = analyze(text, stem=stem)
    if not tokens:
        return []
    cv_text = query_text(candidate)
    held = set(analyze(cv_text, stem=stem)) | set(analyze(_masculine(cv_text), stem=stem))
    skip = held | _place_tokens(posting)
    title = set(analyze(posting.title, stem=stem))
    surface = _surface_words(text, stem)
    proper = _proper_nouns(posting.text, stem)
    tf = Counter(tokens)
    n_docs = max(len(lexical), 1)
    avgdl = float(lexical.doc_len.mean()) if len(lexical) else float(len(tokens))
    k1, b = lexical.k1, lexical.b
    norm = k1 * (1.0 - b + b * len(tokens) / (avgdl or 1.0))
    indptr = lexical.tf.indptr
    scored = []
    for term, f in tf.items():
        if term in skip or not term.isalpha() or len(term) < 3:
            continue
        word = surface.get(term, term)
        if set(analyze(_masculine(word), stem=stem)) & held:
            continue
        j = lexical.vocab.get(term)
        df = int(indptr[j + 1] - indptr[j]) if j is not None else 0
        in_title = term in title
        if not in_title and (df < 2 or term in proper):
            continue
        idf = float(np.log1p((n_docs - df + 0.5) / (df + 0.5)))
        scored.append((not in_title, -idf * f * (k1 + 1.0) / (f + norm), term, word))
    scored.sort()
    return [word for *_, word in scored[:n]]


def _proper_nouns(text: str, stem: bool) -> set[str]:
    """Terms every occurrence of which in `text` starts with a capital letter."""
    capital: dict[str, bool] = {}
    for word in re.findall(r"\w+", text):
        for term in analyze(word, stem=stem):
            capital[term] = capital.get(term, True) and word[0].isupper()
    return {t for t, always in capital.items() if always}


def _surface_words(text: str, stem: bool) -> dict[str, str]:
    """term -> the first word of `text` that analyses to it, lower-cased."""
    out: dict[str, str] = {}
    for word in re.findall(r"\w+", text):
        toks = analyze(word, stem=stem)
        if len(toks) == 1:
            out.setdefault(toks[0], word.lower())
    return out


def match_gaps(match: Match, posting: Posting, candidate: Candidate, lexical: BM25Index,
               stem: bool = True) -> tuple[Gap, ...]:
    """The gaps of a ranked pair: failed filters and missing required licences/languages (read from the
    match's reasons, i.e. from matcher.filters), then skills (matcher.rank.skill_gaps) or, for a posting
    without extracted skills, its distinctive words absent from the CV. Ordered as GAP_KINDS."""
    gaps: list[Gap] = []
    for r in match.reasons:
        if r.ok:
            continue
        if r.kind in ("location", "contract") or (r.kind in ("licence", "language") and r.required):
            gaps.append(Gap(r.kind, r.detail))
    words = skill_gaps(posting, candidate) if posting.skills else missing_terms(posting, candidate, lexical, stem)
    gaps.extend(Gap("skill", f"not in the CV: {w}") for w in words[:MAX_SKILL_GAPS])
    order = {k: n for n, k in enumerate(GAP_KINDS)}
    return tuple(sorted(gaps, key=lambda g: order[g.kind]))


def _role_match(staff_id: str, m: Match, gaps: tuple[Gap, ...]) -> RoleMatch:
    return RoleMatch(staff_id=staff_id, posting_id=m.posting_id, score=m.score, title=m.title, place=m.place,
                     contract=m.contract, blocked=m.blocked, gaps=gaps)


# ---------------------------------------------------------------------------- ranking
class _Memo:
    """An embedder that remembers the vector of every text, so a CV embedded to index it is not embedded
    again as a query in the same run."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.name, self.dim, self.normalized = inner.name, inner.dim, inner.normalized
        self._seen: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if todo:
            for t, v in zip(todo, self.inner.embed(todo)):
                self._seen[t] = v
        if progress:
            progress(len(texts))
        return np.stack([self._seen[t] for t in texts]) if texts else np.zeros((0, self.dim), dtype=np.float32)


def rank_register(store: IndexStore, settings: Settings, embedder: Embedder, register: Register, k: int = 10,
                  include_blocked: bool = False, progress: Callable[[int], None] | None = None) -> list[StaffResult]:
    """For every member of staff, the k best open postings other than their current role, with gaps.

    Scores are those of `match` for the person's CV (with the register's overrides). Roles a hard filter
    rejects are listed only with `include_blocked`, after every unblocked one, the failure being a gap.
    The register's CVs are put in the index first (see index_register); `progress(n)` counts people done."""
    memo = _Memo(embedder)
    writer = open_index(store.location, settings, memo)
    index_register(writer, register)
    matcher = Matcher(writer, settings, memo)
    snap = writer.snapshot(stem=settings.stemming)
    texts: dict[str, str] = {}
    out = []
    for s in register.staff:
        excluded = tuple(pid for pid in snap.postings.ids
                         if is_current_role(s.current_role, snap.postings.records[pid]))  # type: ignore[arg-type]
        cand = s.candidate
        found = matcher.match(cand, k=k + len(excluded), include_blocked=include_blocked)
        kept = [m for m in found if m.posting_id not in excluded][:k]
        roles = []
        for m in kept:
            if m.posting_id not in texts:
                texts[m.posting_id] = writer.text("postings", m.posting_id)
            posting = replace(snap.postings.records[m.posting_id], text=texts[m.posting_id])  # type: ignore[type-var]
            gaps = match_gaps(m, posting, cand, snap.postings.lexical, snap.stem)  # type: ignore[arg-type]
            roles.append(_role_match(s.id, m, gaps))
        out.append(StaffResult(s.id, s.current_role, excluded, roles))
        if progress:
            progress(1)
    return out


class _StaffView:
    """The index seen with only the register's CVs on the CV side (postings unchanged), so that
    Matcher.candidates ranks staff exactly as it would on an index holding only them."""

    def __init__(self, store: IndexStore, snap: Snapshot, staff: list[StaffMember]):
        from .index.base import make_vector_index
        self.path = store.path
        self._store = store
        self._cands = {s.id: s.candidate for s in staff}
        ids = sorted(self._cands)
        vectors = make_vector_index("exact", snap.dim)
        if ids:
            vectors.add(ids, snap.cvs.vectors.vectors(ids))
        # built as IndexStore builds its CV collection: body tokens, and job titles (always stemmed)
        k1, b = store.settings.bm25_k1, store.settings.bm25_b
        lexical = BM25Index.build(ids, [analyze(query_text(self._cands[i]), stem=snap.stem) for i in ids], k1, b)
        titles = BM25Index.build(ids, [analyze(self._cands[i].occupation or "", stem=True) for i in ids], k1, b)
        cvs = Collection("cvs", ids, dict(self._cands), vectors, lexical, titles)  # type: ignore[arg-type]
        self._snap = replace(snap, cvs=cvs)

    def snapshot(self, stem: bool | None = None, backend: str = "faiss") -> Snapshot:
        return self._snap

    def text(self, kind: str, doc_id: str) -> str:
        if kind == "cvs":
            if doc_id not in self._cands:
                raise NotFound(f"no staff member with id {doc_id!r}")
            return self._cands[doc_id].text
        return self._store.text(kind, doc_id)


def rank_staff(store: IndexStore, settings: Settings, embedder: Embedder, register: Register,
               posting: Posting | str, k: int = 10, include_blocked: bool = False) -> list[RoleMatch]:
    """The k members of staff who best fit a posting (an indexed id or a Posting), with their gaps.

    Scores are those of `candidates` on an index whose CVs are the register's; a person whose current role
    is this posting is left out. Blocked people follow only with `include_blocked`."""
    writer = open_index(store.location, settings, embedder)
    index_register(writer, register)
    snap = writer.snapshot(stem=settings.stemming)
    if isinstance(posting, str):
        if posting not in snap.postings.records:
            raise NotFound(f"no posting with id {posting!r} in the index at {store.path}")
        target = replace(snap.postings.records[posting], text=writer.text("postings", posting))  # type: ignore[type-var]
    else:
        target = posting
    view = _StaffView(writer, snap, register.staff)
    excluded = {s.id for s in register.staff if is_current_role(s.current_role, target)}  # type: ignore[arg-type]
    found = Matcher(view, settings, embedder).candidates(  # type: ignore[arg-type]
        posting if isinstance(posting, str) else target, k=k + len(excluded), include_blocked=include_blocked)
    people = {s.id: s.candidate for s in register.staff}
    out = []
    for m in found:
        if m.cv_id in excluded:
            continue
        cid = m.cv_id or ""
        gaps = match_gaps(m, target, people[cid], snap.postings.lexical, snap.stem)  # type: ignore[arg-type]
        out.append(_role_match(cid, m, gaps))
    return out[:k]
