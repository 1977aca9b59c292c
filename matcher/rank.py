"""The ranker: filter first, then retrieve (BM25 + dense), fuse by weighted min-max, boost, explain."""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from .config import FILTER_KINDS, Settings
from .domain import Candidate, Match, Posting, Reason
from .embed import Embedder
from .errors import NotFound
from .filters import FILTERS, _held, parse_mobility
from .index.base import Filtered, IdMask
from .index.store import Collection, IndexStore, document_text, embed_query, posting_embedder, query_text
from .lexical import analyze
from .parse.extract.diploma import DIPLOMAS
from .parse.extract.rome import rome_domain, rome_label

__all__ = ["Matcher", "fuse", "minmax", "skill_gaps", "rome_match"]


def minmax(x: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] over the candidate set; a constant vector maps to 1 when positive, else 0."""
    if len(x) == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    if hi > lo:
        return (x - lo) / (hi - lo)
    return np.ones_like(x) if hi > 0 else np.zeros_like(x)


def fuse(lexical: np.ndarray, title: np.ndarray | None, dense: np.ndarray | None, s: Settings) -> dict[str, np.ndarray]:
    """Weighted sum of min-max normalised scores: w_lex·(bm25 + w_title·title)/(1 + w_title) + w_dense·dense."""
    lex = minmax(lexical)
    if title is not None and s.w_title > 0:
        lex = (lex + s.w_title * minmax(title)) / (1.0 + s.w_title)
    parts = {"lexical": lex}
    total = s.w_lexical * lex
    if dense is not None and s.w_dense > 0:
        parts["dense"] = minmax(dense)
        total = total + s.w_dense * parts["dense"]
    parts["fused"] = total / (s.w_lexical + (s.w_dense if dense is not None and s.w_dense > 0 else 0.0))
    return parts


@dataclass
class _Query:
    tokens: list[str]              # body analysis (stemmed or not, as the snapshot)
    title_tokens: list[str]        # stemmed, matched against titles
    occupation: list[str]          # the query's own job title, stemmed
    vector: np.ndarray | None


def _query(text: str, occupation: str | None, stem: bool, vector: np.ndarray | None) -> _Query:
    tokens = analyze(text, stem=stem)
    return _Query(tokens, tokens if stem else analyze(text, stem=True),
                  analyze(occupation or "", stem=True), vector)


class Matcher:
    """Ranks postings for a CV (`match`) and CVs for a posting (`candidates`) over one index snapshot."""

    def __init__(self, store: IndexStore, settings: Settings, embedder: Embedder | None = None, cross=None):
        self.store = store
        self.settings = settings
        self.embedder = embedder
        self.cross = cross         # a crossrank.CrossScorer; loaded from settings.cross_encoder when None

    # ------------------------------------------------------------------ public API
    def match(self, candidate: Candidate, k: int = 10, include_blocked: bool = False) -> list[Match]:
        """The k best postings for a CV; hard filters apply before top-k. Blocked ones follow only on request."""
        snap = self.store.snapshot(stem=self.settings.stemming)
        q = _query(query_text(candidate), candidate.occupation, snap.stem,
                   embed_query(self.embedder, candidate) if self._dense() else None)
        got = self._rank(snap.postings, q, self._depth(k), include_blocked,
                          where=self._condition(snap.postings, candidate),
                          verdict=lambda pid: self._verdicts(snap.postings.records[pid], candidate),  # type: ignore[arg-type]
                          adjust=lambda pid: self.adjust(snap.postings.records[pid], candidate),  # type: ignore[arg-type]
                          make=lambda pid, score, parts, blocked: self._explain(
                              _with_text(snap.postings.records[pid], self.store.text("postings", pid)),  # type: ignore[arg-type]
                              candidate, score, parts, blocked))
        return self._cross(got, k, lambda m: (query_text(candidate), document_text(_with_text(
            snap.postings.records[m.posting_id], self.store.text("postings", m.posting_id)))))  # type: ignore[arg-type]

    def candidates(self, posting: Posting | str, k: int = 10, include_blocked: bool = False) -> list[Match]:
        """The k best indexed CVs for a posting (an indexed posting id or a Posting)."""
        snap = self.store.snapshot(stem=self.settings.stemming)
        if isinstance(posting, str):
            if posting not in snap.postings.records:
                raise NotFound(f"no posting with id {posting!r} in the index at {self.store.path}")
            vec = snap.postings.vectors.vectors([posting])[0] if self._dense() else None
            posting = _with_text(snap.postings.records[posting], self.store.text("postings", posting))  # type: ignore[arg-type]
        else:
            vec = (posting_embedder(self.embedder, self.settings).embed([document_text(posting)])[0]  # type: ignore[arg-type]
                   if self._dense() else None)
        q = _query(document_text(posting), posting.title, snap.stem, vec)
        got = self._rank(snap.cvs, q, self._depth(k), include_blocked,
                          where=self._condition(snap.cvs, posting),  # type: ignore[arg-type]
                          verdict=lambda cid: self._verdicts(posting, snap.cvs.records[cid]),  # type: ignore[arg-type]
                          adjust=lambda cid: self.adjust(posting, snap.cvs.records[cid]),  # type: ignore[arg-type]
                          make=lambda cid, score, parts, blocked: _as_cv_match(self._explain(
                              posting, _with_text(snap.cvs.records[cid], self.store.text("cvs", cid)),  # type: ignore[arg-type]
                              score, parts, blocked), cid))
        return self._cross(got, k, lambda m: (query_text(_with_text(  # type: ignore[arg-type]
            snap.cvs.records[m.cv_id], self.store.text("cvs", m.cv_id))), document_text(posting)))  # type: ignore[arg-type]

    def explain(self, candidate: Candidate, posting_id: str) -> Match:
        """The full explanation of one posting for a CV, blocked or not, scored as within the whole index."""
        snap = self.store.snapshot(stem=self.settings.stemming)
        if posting_id not in snap.postings.records:
            raise NotFound(f"no posting with id {posting_id!r} in the index at {self.store.path}")
        for m in self.match(candidate, k=len(snap.postings), include_blocked=True):
            if m.posting_id == posting_id:
                return m
        raise NotFound(posting_id)  # pragma: no cover - every indexed posting is ranked

    # ------------------------------------------------------------------ internals
    def _depth(self, k: int) -> int:
        return max(k, self.settings.rerank_top) if self.settings.cross_encoder and k > 0 else k

    def _cross(self, got: list[Match], k: int, pair) -> list[Match]:
        """Re-order the top `rerank_top` allowed results by the cross-encoder when one is set (crossrank.py)."""
        if not self.settings.cross_encoder or not got:
            return got
        from .crossrank import load_cross_encoder, rerank
        self.cross = self.cross or load_cross_encoder(self.settings.cross_encoder)
        return rerank(got, pair, self.cross, self.settings.rerank_top, self.settings.w_cross)[:k]

    def _dense(self) -> bool:
        return self.embedder is not None and self.settings.w_dense > 0

    def _condition(self, col: Collection, query: Posting | Candidate) -> object | None:
        """The backend's own form of the hard filters for `query` (PostgreSQL: a WHERE clause), if it has one."""
        return col.condition(query, self.settings.filters) if col.condition is not None else None

    def _verdicts(self, posting: Posting, candidate: Candidate) -> dict[str, str]:
        out = {}
        for kind in self.settings.filters:
            reason = FILTERS[kind](posting, candidate)
            if reason:
                out[kind] = reason
        return out

    def _rank(self, col: Collection, q: _Query, k: int, include_blocked: bool, verdict, adjust, make,
              where: object | None = None) -> list[Match]:
        s = self.settings
        if not col.ids or k <= 0:
            return []
        # Filters are pure functions of a few fields: evaluate them once per distinct profile of those fields,
        # and keep the outcome as a boolean mask over rows (no per-id Python work: at 100k+ documents it dominated).
        group_of, heads = col.groups(_profile)
        whys = [verdict(h) for h in heads]
        blocked = np.fromiter((bool(w) for w in whys), dtype=bool, count=len(whys))[group_of]
        allowed = ~blocked
        masks = [allowed] + ([blocked] if include_blocked else [])
        out: list[Match] = []
        lex_all = col.lexical.scores(q.tokens, k1=s.bm25_k1, b=s.bm25_b)
        title_all = col.titles.scores(q.title_tokens, k1=s.bm25_k1, b=s.bm25_b) if col.titles is not None else None
        occ_all = col.titles.cosine(q.occupation) if col.titles is not None and s.w_occupation > 0 else None
        row = col.rows
        for mask in masks:
            if len(out) >= k or not mask.any():
                continue
            # the allowed rows are searched with the backend's filter condition; the blocked ones by their ids
            pool = self._pool(col, q, mask, lex_all, where if mask is allowed else None)
            rows = [row[i] for i in pool]
            dense = col.vectors.scores(q.vector, pool) if q.vector is not None else None
            parts = fuse(lex_all[rows], title_all[rows] if title_all is not None else None, dense, s)
            scored = []
            for n, i in enumerate(pool):
                p = {name: float(v[n]) for name, v in parts.items()}
                # Structured signals are added after fusion: job-title similarity, desired requirements
                # held (boost) and a missing regulated diploma (penalty).
                p["occupation"] = s.w_occupation * float(occ_all[row[i]]) if occ_all is not None else 0.0
                p.update(adjust(i))
                total = p["fused"] + p["occupation"] + p["boost"] + p["rome"] - p["diploma"]
                scored.append((round(total, 9), i, p))
            scored.sort(key=lambda t: (-t[0], t[1]))  # rounding keeps the order stable across BLAS runs
            for score, i, p in scored[: k - len(out)]:
                out.append(make(i, score, p, tuple(whys[group_of[row[i]]])))
        return out

    def _pool(self, col: Collection, q: _Query, mask: np.ndarray, lex_all: np.ndarray,
              where: object | None = None) -> list[str]:
        """The ids of the rows in `mask`: all of them when few; else the union of their lexical and dense
        top-`pool`. The vector index gets the rows as an IdMask over its own ids (no per-id lookups)."""
        n = self.settings.pool
        rows = np.flatnonzero(mask)
        if len(rows) <= n:
            return [col.ids[r] for r in rows.tolist()]
        top = rows[np.argsort(-lex_all[rows], kind="stable")[:n]]
        pool = {col.ids[r] for r in top.tolist()}
        if q.vector is not None:
            allowed = IdMask(col.ids, mask, positions=col.rows)
            _, ids = col.vectors.search(q.vector[None, :], n, allowed=allowed if where is None else Filtered(allowed, where))
            pool.update(ids[0])
        return sorted(pool)

    def adjust(self, posting: Posting, candidate: Candidate) -> dict[str, float]:
        """boost: boost_desired per desired licence or language held; diploma: the missing-diploma penalty;
        rome: w_rome when the CV's and the posting's ROME codes meet, w_rome_domain when only their domains do."""
        held = _held(candidate.licences)
        n = 0
        for r in posting.requirements:
            if not r.required:
                n += (r.value in held) if r.kind == "licence" else candidate.language_level(r.value) >= _need(r)
        missing = bool(posting.diplomas) and not set(posting.diplomas) & set(candidate.diplomas)
        same = rome_match(posting, candidate)
        rome = (self.settings.w_rome if same[0] == "code" else self.settings.w_rome_domain) if same else 0.0
        return {"boost": n * self.settings.boost_desired, "diploma": self.settings.diploma_penalty * missing,
                "rome": rome}

    def _explain(self, posting: Posting, candidate: Candidate, fused: float, parts: dict[str, float],
                 blocked: tuple[str, ...]) -> Match:
        reasons: list[Reason] = []
        verdicts = {kind: FILTERS[kind](posting, candidate) for kind in FILTER_KINDS}
        for kind in FILTER_KINDS:
            if kind in ("licence", "language"):
                continue  # stated per requirement below, with the posting's words
            why = verdicts[kind]
            ignored = kind not in self.settings.filters
            span = posting.span(kind if kind != "location" else "location")
            detail = why or _pass_detail(kind, posting, candidate)
            if ignored and why:
                detail += " (filter ignored)"
            reasons.append(Reason(kind, why is None, detail, span.text if span else None))
        held = _held(candidate.licences)
        for r in posting.requirements:
            have = (r.value in held) if r.kind == "licence" else candidate.language_level(r.value) >= _need(r)
            what = f"{'licence' if r.kind == 'licence' else 'language'} {r.value}" + (f" {r.level}" if r.level else "")
            if r.required:
                detail = f"requires {what}: " + ("held" if have else "missing")
            else:
                detail = f"desires {what}: " + ("held (boost)" if have else "not held (no penalty)")
            reasons.append(Reason(r.kind, have, detail, r.evidence.text if r.evidence else None, r.required))
        if posting.diplomas:
            have = sorted(set(posting.diplomas) & set(candidate.diplomas))
            span = posting.span("diploma")
            names = " or ".join(DIPLOMAS[d][0] for d in posting.diplomas if d in DIPLOMAS)
            detail = f"asks for {names}: " + ("held" if have else "not found in the CV (score lowered)")
            reasons.append(Reason("diploma", bool(have), detail, span.text if span else None, required=False))
        same = rome_match(posting, candidate)
        if same and parts.get("rome", 0.0) > 0:
            what = "occupation" if same[0] == "code" else "occupational field"
            label = rome_label(same[1]) if same[0] == "code" else ""
            reasons.append(Reason("occupation", True, f"same {what} (ROME {same[1]}{': ' + label if label else ''})",
                                  required=False))
        for gap in skill_gaps(posting, candidate)[:3]:
            reasons.append(Reason("skill", False, f"not in the CV: {gap}", gap, required=False))
        return Match(posting_id=posting.id, score=fused, title=posting.title,
                     place=posting.location.label() if posting.location else "", contract=posting.contract,
                     parts=parts, reasons=tuple(reasons), blocked=blocked)


def _profile(item: Posting | Candidate) -> tuple:
    """The fields the hard filters read; items with equal profiles get equal verdicts."""
    if isinstance(item, Posting):
        return ("p", item.location, item.remote, item.contract,
                tuple((r.kind, r.value, r.level) for r in item.requirements if r.required))
    return ("c", item.location, item.mobility, item.contracts_wanted, item.licences,
            tuple((x.lang, x.level) for x in item.languages), item.writing_lang)


def _need(r) -> int:
    from .domain import cefr_rank
    return cefr_rank(r.level, default=1)


def _pass_detail(kind: str, posting: Posting, candidate: Candidate) -> str:
    if kind == "location":
        where = posting.location.label() if posting.location else "place not stated"
        if posting.remote == "full":
            return f"full remote ({where})"
        mob, arg = parse_mobility(candidate.mobility)
        area = {"department": f"department {candidate.location.department if candidate.location else '?'}",
                "region": f"region {candidate.location.region if candidate.location else '?'}",
                "france": "France", "list": f"departments {', '.join(arg) if isinstance(arg, list) else ''}",
                "radius_km": f"{arg:g} km" if isinstance(arg, float) else ""}.get(mob, mob)
        return f"{where} within mobility ({area})"
    if kind == "contract":
        wanted = ", ".join(candidate.contracts_wanted) or "any"
        return f"{posting.contract or 'contract not stated'} (wants {wanted})"
    return "ok"


def rome_match(posting: Posting, candidate: Candidate) -> tuple[str, str] | None:
    """("code", "J1501") when the posting and the CV share a ROME code, ("domain", "J15") when they share only
    a 3-character domain, else None. The first shared one in the posting's order (best first)."""
    if not posting.rome or not candidate.rome:
        return None
    held = set(candidate.rome)
    for code in posting.rome:
        if code in held:
            return ("code", code)
    domains = {rome_domain(c) for c in candidate.rome}
    for code in posting.rome:
        if rome_domain(code) in domains:
            return ("domain", rome_domain(code))
    return None


def skill_gaps(posting: Posting, candidate: Candidate) -> list[str]:
    """The posting's skill phrases whose content words mostly do not appear in the CV."""
    if not posting.skills:
        return []
    cv_tokens = set(analyze(candidate.text))
    gaps = []
    for skill in posting.skills:
        toks = set(analyze(skill))
        if toks and len(toks & cv_tokens) / len(toks) < 0.5:
            gaps.append(skill)
    return gaps


def _with_text(p: Posting, text: str) -> Posting:
    from dataclasses import replace
    return replace(p, text=text)


def _as_cv_match(m: Match, cv_id: str) -> Match:
    from dataclasses import replace
    return replace(m, cv_id=cv_id)
