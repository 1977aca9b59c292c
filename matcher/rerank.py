"""Batch re-ranking after new postings: every indexed CV against what changed, results stored beside the index.

What a stored score is
    The score of (CV, posting) is exactly the score `Matcher.match` gives that posting for that CV on the
    index at the run's generation: BM25 (body and title) and dense similarity min-max normalised over the
    CV's candidate pool (the postings that pass its hard filters, narrowed to the union of the lexical and
    dense top-`Settings.pool` when more pass), weighted, plus the signals added after fusion (job-title
    similarity, desired-requirement boost, missing-diploma penalty), rounded to 9 decimals. Adding a
    posting changes BM25's idf and every CV's min and max, so the normalisation constants come from the
    full current posting set: each run computes the raw scores of the CVs it processes against every
    posting (sparse and dense matrix products, in batches of CVs), then fuses; only the new or changed
    postings get best-CV lists, and only the CVs' top-k are stored.

What a run does (one numbered generation of results)
    * It looks at the index's `changes` since the index generation of the last completed run. New or
      changed postings are "scored postings"; removed ones are purged from every stored result.
    * When postings changed (or k did), every CV is processed; when only CVs changed, only those are.
    * Per CV it stores the top-k (`rerank_topk`) and reports the postings that ENTERED it (not in the
      CV's previous top-k); per scored posting it stores and reports its best k CVs (`rerank_best`).
    * Nothing changed: nothing is done and the generation is unchanged.

Resuming
    CVs are processed in batches; each batch's rows and a per-CV progress marker are committed together
    into pending tables. A killed run is resumed by the next one (same plan, same generation number),
    skipping CVs already done. Results are published and the generation advanced in one final
    transaction, and every table is keyed so that a (CV, posting) pair holds exactly one row.

Every table holding per-CV rows has a `cv_id` column, so that `forget` (IndexStore.remove with erase)
wipes a person's results too.
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Hashable, Iterator, Sequence

import numpy as np

from .config import Settings
from .domain import Candidate, Posting
from .embed import Embedder
from .errors import ConfigError, IndexMismatch
from .filters import FILTERS
from .index.store import IndexStore, Snapshot
from .lexical import BM25Index, analyze
from .rank import Matcher, fuse

__all__ = ["rerank", "RerankReport", "Entered", "Best", "stored_results", "BATCH_CVS"]

BATCH_CVS = 256     # CVs per committed batch: the most work a killed run can lose

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rerank_runs (
    generation INTEGER PRIMARY KEY, index_generation INTEGER NOT NULL, since_generation INTEGER NOT NULL,
    k INTEGER NOT NULL, status TEXT NOT NULL, scored TEXT NOT NULL, removed TEXT NOT NULL,
    started REAL NOT NULL, finished REAL);
CREATE TABLE IF NOT EXISTS rerank_progress (
    generation INTEGER NOT NULL, cv_id TEXT NOT NULL, PRIMARY KEY (generation, cv_id));
CREATE TABLE IF NOT EXISTS rerank_pending (
    generation INTEGER NOT NULL, cv_id TEXT NOT NULL, posting_id TEXT NOT NULL, rank INTEGER NOT NULL,
    score REAL NOT NULL, PRIMARY KEY (generation, cv_id, posting_id));
CREATE TABLE IF NOT EXISTS rerank_pending_best (
    generation INTEGER NOT NULL, posting_id TEXT NOT NULL, cv_id TEXT NOT NULL, score REAL NOT NULL,
    PRIMARY KEY (generation, posting_id, cv_id));
CREATE TABLE IF NOT EXISTS rerank_topk (
    cv_id TEXT NOT NULL, posting_id TEXT NOT NULL, rank INTEGER NOT NULL, score REAL NOT NULL,
    generation INTEGER NOT NULL, PRIMARY KEY (cv_id, posting_id));
CREATE TABLE IF NOT EXISTS rerank_best (
    posting_id TEXT NOT NULL, cv_id TEXT NOT NULL, rank INTEGER NOT NULL, score REAL NOT NULL,
    generation INTEGER NOT NULL, PRIMARY KEY (posting_id, cv_id));
CREATE TABLE IF NOT EXISTS rerank_entered (
    generation INTEGER NOT NULL, cv_id TEXT NOT NULL, posting_id TEXT NOT NULL, rank INTEGER NOT NULL,
    score REAL NOT NULL, PRIMARY KEY (generation, cv_id, posting_id));
"""
_PENDING = ("rerank_progress", "rerank_pending", "rerank_pending_best")

Progress = Callable[[str, int], Callable[[int], None]]  # (label, total) -> advance(n)


@dataclass(frozen=True)
class Entered:
    """A posting that entered a CV's top-k in this run, at `rank` (1-based)."""
    cv_id: str
    posting_id: str
    rank: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"cv_id": self.cv_id, "posting_id": self.posting_id, "rank": self.rank, "score": round(self.score, 6)}


@dataclass(frozen=True)
class Best:
    """One of the best CVs for a scored posting, at `rank` (1-based)."""
    posting_id: str
    cv_id: str
    rank: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"posting_id": self.posting_id, "cv_id": self.cv_id, "rank": self.rank, "score": round(self.score, 6)}


@dataclass
class RerankReport:
    """What a run changed. `nothing_new` runs keep the previous generation and have empty lists."""
    generation: int
    index_generation: int
    k: int
    scored_postings: list[str] = field(default_factory=list)
    removed_postings: list[str] = field(default_factory=list)
    entered: list[Entered] = field(default_factory=list)
    best: list[Best] = field(default_factory=list)
    cvs_processed: int = 0
    nothing_new: bool = False
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The `--json` object: generation, scored_postings, entered, plus best and removed_postings."""
        return {"generation": self.generation, "scored_postings": list(self.scored_postings),
                "entered": [e.to_dict() for e in self.entered], "best": [b.to_dict() for b in self.best],
                "removed_postings": list(self.removed_postings)}


# ---------------------------------------------------------------------------- the run
@dataclass
class _Plan:
    scored: list[str]          # postings added or changed, still in the index
    removed: list[str]         # postings gone from the index
    cv_ids: list[str]          # CVs to process
    removed_cvs: list[str]     # CVs gone from the index (their rows are dropped)
    best_ids: list[str]        # postings whose best-CV lists this run (re)computes
    full: bool                 # every CV processed (postings or k changed)


def rerank(store: IndexStore, settings: Settings, embedder: Embedder | None = None, k: int = 10,
           progress: Progress | None = None) -> RerankReport:
    """Score the indexed CVs against the postings added or changed since the last run; store and report.

    Args: the index, the settings Matcher uses, the embedder (optional: stored vectors are used; when given
    it must be the index's model), k (the top-k kept per CV and per posting), progress (label, total) ->
    advance(n). Returns a RerankReport. Idempotent; a killed run is completed by the next call.
    With `settings.engine == "ray"` the batches of CVs are scored on a Ray Data actor pool (matcher.scale),
    with the same results."""
    if k < 1:
        raise ConfigError("k must be at least 1")
    if settings.engine == "ray":  # before any state is written: a missing Ray is a ConfigError saying what to install
        from .scale import require_ray
        require_ray()
    if embedder is not None:
        built = store.meta().get("model")
        if built != embedder.name:
            raise IndexMismatch(f"index at {store.path} was built with model {built!r}, not {embedder.name!r}")
    with store.exclusive("rerank", f"another rerank is running on the index at {store.path}"):
        return _run(store, settings, k, progress)


def _run(store: IndexStore, settings: Settings, k: int, progress: Progress | None) -> RerankReport:
    con = store.connect()
    try:
        con.executescript(_SCHEMA)
        snap = store.snapshot(stem=settings.stemming)
        last = con.execute("SELECT generation, index_generation, k FROM rerank_runs WHERE status='done' "
                           "ORDER BY generation DESC LIMIT 1").fetchone()
        done_gen, since, last_k = last if last else (0, 0, None)
        plan = _plan(store, snap, since, k, last_k, first=last is None)
        if plan is None:
            return RerankReport(done_gen, snap.generation, k, nothing_new=True)
        gen = done_gen + 1
        running = con.execute("SELECT index_generation, since_generation, k FROM rerank_runs "
                              "WHERE generation=? AND status='running'", (gen,)).fetchone()
        resumed = running == (snap.generation, since, k)
        con.execute("BEGIN IMMEDIATE")
        if not resumed:  # a run killed on another state of the index starts again, under the same number
            for table in _PENDING:
                con.execute(f"DELETE FROM {table} WHERE generation>=?", (gen,))
            con.execute("DELETE FROM rerank_runs WHERE generation>=?", (gen,))
            con.execute("INSERT INTO rerank_runs VALUES (?, ?, ?, ?, 'running', ?, ?, ?, NULL)",
                        (gen, snap.generation, since, k, json.dumps(plan.scored), json.dumps(plan.removed),
                         time.time()))
        con.execute("COMMIT")
        done = {r[0] for r in con.execute("SELECT cv_id FROM rerank_progress WHERE generation=?", (gen,))}
        todo = [c for c in plan.cv_ids if c not in done]
        advance = progress("reranking CVs", len(plan.cv_ids)) if progress and plan.cv_ids else (lambda n: None)
        advance(len(plan.cv_ids) - len(todo))
        if todo:
            batches = [todo[start:start + BATCH_CVS] for start in range(0, len(todo), BATCH_CVS)]
            for batch, (topk, best) in _scored(store, snap, settings, plan.best_ids, batches, k):
                _write_batch(con, gen, batch, topk, best)
                advance(len(batch))
        _publish(con, gen, plan, k)
        report = _report(con, gen, snap.generation, k, plan)
        report.resumed = resumed
        return report
    finally:
        if con.in_transaction:
            con.execute("ROLLBACK")
        con.close()


def _scored(store: IndexStore, snap: Snapshot, settings: Settings, best_ids: list[str], batches: list[list[str]],
            k: int) -> Iterator[tuple[list[str], tuple[list[tuple], list[tuple]]]]:
    """(batch, _Scorer.score(batch, k)) for every batch of CV ids: here, or with `settings.engine == "ray"` on a
    Ray Data actor pool (matcher.scale), each actor building the scorer once; batches then come back in
    completion order, which the stored rows do not depend on."""
    if settings.engine == "ray":
        from .scale import map_actors
        location = getattr(store, "location", store.path)   # a PostgreSQL store's path is its redacted URL
        make = partial(_scorer_worker, type(store), location, settings, snap.generation, best_ids, k)
        for n, result in map_actors(make, batches, settings.workers):
            yield batches[n], result
        return
    scorer = _scorer(store, snap, settings, best_ids)
    for batch in batches:
        yield batch, scorer.score(batch, k)


def _scorer(store: IndexStore, snap: Snapshot, settings: Settings, best_ids: Sequence[str]) -> "_Scorer":
    stemmed = snap.cvs.lexical if snap.stem else store.snapshot(stem=True).cvs.lexical
    return _Scorer(snap, settings, best_ids, stemmed)


def _scorer_worker(store_type: type, location: Any, settings: Settings, generation: int, best_ids: list[str],
                   k: int) -> Callable[[list[str]], tuple[list[tuple], list[tuple]]]:
    """In a Ray actor: open the index, check it is still at the run's generation, build the scorer once."""
    store = store_type.open(location, settings, None)
    snap = store.snapshot(stem=settings.stemming)
    if snap.generation != generation:
        raise IndexMismatch(f"the index at {store.path} changed during the rerank (generation {generation}, now "
                            f"{snap.generation}); run rerank again")
    return partial(_Scorer.score, _scorer(store, snap, settings, best_ids), k=k)


def _plan(store: IndexStore, snap: Snapshot, since: int, k: int, last_k: int | None, first: bool) -> _Plan | None:
    """What a run must do, from the index's changes after generation `since` (up to the snapshot's)."""
    def last_ops(kind: str) -> dict[str, str]:
        ops: dict[str, str] = {}
        for g, i, op in store.changes_since(since, kind):
            if g <= snap.generation:
                ops[i] = op
        return ops
    p_ops, c_ops = last_ops("postings"), last_ops("cvs")
    postings, cvs = snap.postings.records, snap.cvs.records
    if first:
        scored = list(snap.postings.ids)
    else:
        scored = sorted(i for i, op in p_ops.items() if op != "remove" and i in postings)
    removed = sorted(i for i in p_ops if i not in postings)
    removed_cvs = sorted(i for i in c_ops if i not in cvs)
    changed_cvs = sorted(i for i, op in c_ops.items() if op != "remove" and i in cvs)
    if first and not postings and not cvs:
        return None
    full = first or bool(p_ops) or k != last_k
    if not full and not c_ops:
        return None
    if full:
        return _Plan(scored, removed, list(snap.cvs.ids), removed_cvs, scored, True)
    # only CVs changed: their rows are recomputed and merged into every posting's best list
    return _Plan([], [], changed_cvs, removed_cvs, list(snap.postings.ids), False)


def _write_batch(con, gen: int, batch: Sequence[str], topk: list[tuple], best: list[tuple]) -> None:
    """One batch's results and progress markers, committed together (so a kill loses at most a batch)."""
    con.execute("BEGIN IMMEDIATE")
    con.executemany("INSERT OR REPLACE INTO rerank_pending VALUES (?, ?, ?, ?, ?)", [(gen, *r) for r in topk])
    con.executemany("INSERT OR REPLACE INTO rerank_pending_best VALUES (?, ?, ?, ?)", [(gen, *r) for r in best])
    con.executemany("INSERT OR REPLACE INTO rerank_progress VALUES (?, ?)", [(gen, c) for c in batch])
    con.execute("COMMIT")


def _publish(con, gen: int, plan: _Plan, k: int) -> None:
    """Move the pending results into place, record what entered, advance the generation: one transaction."""
    con.execute("BEGIN IMMEDIATE")
    for pid in plan.removed:
        for table in ("rerank_topk", "rerank_best", "rerank_entered"):
            con.execute(f"DELETE FROM {table} WHERE posting_id=?", (pid,))
    for cid in plan.removed_cvs:
        for table in ("rerank_topk", "rerank_best", "rerank_entered"):
            con.execute(f"DELETE FROM {table} WHERE cv_id=?", (cid,))
    con.execute("INSERT OR REPLACE INTO rerank_entered SELECT p.generation, p.cv_id, p.posting_id, p.rank, p.score "
                "FROM rerank_pending p WHERE p.generation=? AND NOT EXISTS (SELECT 1 FROM rerank_topk t "
                "WHERE t.cv_id=p.cv_id AND t.posting_id=p.posting_id)", (gen,))
    con.execute("DELETE FROM rerank_topk WHERE cv_id IN (SELECT cv_id FROM rerank_progress WHERE generation=?)", (gen,))
    con.execute("INSERT INTO rerank_topk SELECT cv_id, posting_id, rank, score, generation FROM rerank_pending "
                "WHERE generation=?", (gen,))
    # best lists: replaced for scored postings (every CV was processed), merged for CV-only runs
    if plan.full:
        con.executemany("DELETE FROM rerank_best WHERE posting_id=?", [(p,) for p in plan.best_ids])
    else:
        con.execute("DELETE FROM rerank_best WHERE cv_id IN (SELECT cv_id FROM rerank_progress WHERE generation=?)",
                    (gen,))
    rows: dict[str, list[tuple[float, str, int]]] = defaultdict(list)
    for pid, cid, score in con.execute("SELECT posting_id, cv_id, score FROM rerank_pending_best WHERE generation=?",
                                       (gen,)):
        rows[pid].append((score, cid, gen))
    if not plan.full and rows:
        marks = ",".join("?" * len(rows))
        for pid, cid, score, g in con.execute(f"SELECT posting_id, cv_id, score, generation FROM rerank_best "
                                              f"WHERE posting_id IN ({marks})", list(rows)):
            rows[pid].append((score, cid, g))
        con.execute(f"DELETE FROM rerank_best WHERE posting_id IN ({marks})", list(rows))
    out = []
    for pid, items in rows.items():
        items.sort(key=lambda t: (-t[0], t[1]))
        out.extend((pid, cid, n, score, g) for n, (score, cid, g) in enumerate(items[:k], 1))
    con.executemany("INSERT INTO rerank_best VALUES (?, ?, ?, ?, ?)", out)
    for table in _PENDING:
        con.execute(f"DELETE FROM {table} WHERE generation=?", (gen,))
    con.execute("UPDATE rerank_runs SET status='done', finished=? WHERE generation=?", (time.time(), gen))
    con.execute("COMMIT")


def _report(con, gen: int, index_gen: int, k: int, plan: _Plan) -> RerankReport:
    entered = [Entered(*r) for r in con.execute(
        "SELECT cv_id, posting_id, rank, score FROM rerank_entered WHERE generation=? ORDER BY cv_id, rank", (gen,))]
    best: list[Best] = []
    for pid in plan.scored:
        best.extend(Best(pid, cid, rank, score) for cid, rank, score in con.execute(
            "SELECT cv_id, rank, score FROM rerank_best WHERE posting_id=? ORDER BY rank", (pid,)))
    return RerankReport(gen, index_gen, k, list(plan.scored), list(plan.removed), entered, best, len(plan.cv_ids))


def stored_results(store: IndexStore) -> dict[str, list[tuple[str, int, float]]]:
    """Each CV's stored top-k as (posting_id, rank, score), best first; postings closed since are left out."""
    con = store.connect()
    try:
        con.executescript(_SCHEMA)
        rows = con.execute("SELECT cv_id, posting_id, rank, score FROM rerank_topk ORDER BY cv_id, rank").fetchall()
    finally:
        con.close()
    present = set(store.snapshot().postings.ids)
    out: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    for cid, pid, rank, score in rows:
        if pid in present:
            out[cid].append((pid, rank, score))
    return dict(out)


# ---------------------------------------------------------------------------- vectorised scoring
def _bm25_weights(index: BM25Index, s: Settings) -> Any:
    """(n_terms, n_docs) CSR of each term's BM25 contribution to each document, as BM25Index.scores adds it."""
    from scipy.sparse import csc_matrix
    tf = index.tf.tocsc()  # (n_docs, n_terms)
    n = len(index.ids)
    k1, b = s.bm25_k1, s.bm25_b
    avgdl = float(index.doc_len.mean()) or 1.0 if n else 1.0
    norm = k1 * (1.0 - b + b * index.doc_len / avgdl)  # same dtype path as BM25Index.scores
    df = np.diff(tf.indptr)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    f = tf.data.astype(np.float64)
    cols = np.repeat(np.arange(tf.shape[1]), df)
    w = idf[cols] * f * (k1 + 1.0) / (f + norm[tf.indices])
    return csc_matrix((w, tf.indices, tf.indptr), shape=tf.shape).T.tocsr()


def _presence(cvs: BM25Index, vocab: dict[str, int]) -> Any:
    """(n_cvs, len(vocab)) CSR with 1 where the CV holds the term: each distinct query term counts once."""
    from scipy.sparse import csr_matrix
    m = np.full(max(len(cvs.vocab), 1), -1, dtype=np.int64)
    for term, j in cvs.vocab.items():
        m[j] = vocab.get(term, -1)
    tf = cvs.tf.tocsr()
    tf.sum_duplicates()
    rows = np.repeat(np.arange(tf.shape[0]), np.diff(tf.indptr))
    cols = m[tf.indices]
    keep = cols >= 0
    return csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])),
                      shape=(len(cvs.ids), max(len(vocab), 1)))


# The fields each hard filter (and Matcher.adjust) reads: pairs are evaluated once per distinct
# (CV profile, posting profile) with the functions themselves, then broadcast. A kind not listed here is
# evaluated per pair, which is correct but slow.
def _posting_profile(kind: str, p: Posting) -> Hashable:
    if kind == "location":
        return (p.remote == "full", p.location)
    if kind == "contract":
        return p.contract
    if kind == "licence":
        return tuple(r.value for r in p.requirements_of("licence", True))
    if kind == "language":
        return tuple((r.value, r.level) for r in p.requirements_of("language", True))
    if kind == "adjust":
        return (tuple((r.kind, r.value, r.level) for r in p.requirements if not r.required), p.diplomas)
    if kind == "rome":
        return p.rome
    return p.id


def _cv_profile(kind: str, c: Candidate) -> Hashable:
    if kind == "location":
        return (c.location, c.mobility)
    if kind == "contract":
        return c.contracts_wanted
    if kind == "licence":
        return c.licences
    if kind in ("language", "adjust"):
        langs = tuple((x.lang, x.level) for x in c.languages)
        return (c.writing_lang, langs) if kind == "language" else (c.licences, c.writing_lang, langs, c.diplomas)
    if kind == "rome":
        return c.rome
    return c.id


def _rejects(predicate: Callable[[Posting, Candidate], str | None]) -> Callable[[Posting, Candidate], bool]:
    return lambda p, c: predicate(p, c) is not None


def _distinct(items: list, key: Callable[[Any], Hashable]) -> tuple[np.ndarray, list]:
    """(index of each item's profile, one representative item per profile), profiles in first-seen order."""
    keys: dict[Hashable, int] = {}
    reps: list = []
    index = np.empty(len(items), dtype=np.int64)
    for n, item in enumerate(items):
        k = key(item)
        if k not in keys:
            keys[k] = len(reps)
            reps.append(item)
        index[n] = keys[k]
    return index, reps


class _Profiles:
    """A (CV, posting) function tabulated over distinct profiles: value[cv_key[c], posting_key[p]]."""

    def __init__(self, kind: str, postings: list[Posting], cvs: list[Candidate], fn: Callable, dtype):
        self.p_index, p_reps = _distinct(postings, lambda p: _posting_profile(kind, p))
        self.c_index, c_reps = _distinct(cvs, lambda c: _cv_profile(kind, c))
        table = np.array([[fn(p, c) for p in p_reps] for c in c_reps], dtype=dtype)
        self.table = table.reshape((len(c_reps), len(p_reps)) + table.shape[2:])

    def rows(self, cv_rows: np.ndarray) -> np.ndarray:
        """(len(cv_rows), n_postings, ...) values."""
        return self.table[self.c_index[cv_rows]][:, self.p_index]


def _binary_idf2(index: BM25Index) -> tuple[Any, np.ndarray]:
    """For BM25Index.cosine: the (n_terms, n_docs) binary term matrix and each term's idf squared."""
    tf = index.tf.tocsc()
    n = len(index.ids)
    df = np.diff(tf.indptr).astype(np.float64)
    idf = np.log1p((n - df + 0.5) / (df + 0.5))
    binary = tf.copy()
    binary.data = np.ones_like(binary.data)
    return binary.T.tocsr(), idf ** 2


class _Scorer:
    """Matcher.match's scores for many CVs at once over one snapshot (see the module docstring).

    Mirrors Matcher._rank term by term: BM25 of the CV's tokens over posting bodies, BM25 of its stemmed
    tokens over posting titles, dense inner products, min-max fusion (rank.fuse itself), then the
    structured signals added after fusion: job-title cosine, desired-requirement boost, diploma penalty
    (Matcher.adjust itself). tests/test_rerank.py checks every score against Matcher.match."""

    def __init__(self, snap: Snapshot, settings: Settings, best_ids: Sequence[str], stemmed_cvs: BM25Index):
        s = self.settings = settings
        P, C = snap.postings, snap.cvs
        self.pids = list(P.ids)
        self.cv_row = {c: n for n, c in enumerate(C.ids)}
        postings = [P.records[i] for i in P.ids]
        cvs = [C.records[i] for i in C.ids]
        self.W = _bm25_weights(P.lexical, s)
        self.Q = _presence(C.lexical, P.lexical.vocab)
        self.Wt = self.Qt = self.O = None
        if P.titles is not None:
            # titles are matched with stemmed query tokens whatever the body analysis
            self.Wt = _bm25_weights(P.titles, s)
            self.Qt = _presence(stemmed_cvs, P.titles.vocab)
            if s.w_occupation > 0:
                self.T, idf2 = _binary_idf2(P.titles)
                self.t_norm = np.sqrt(np.asarray(self.T.T.multiply(idf2[None, :]).sum(axis=1)).ravel())
                occ = BM25Index.build(list(C.ids), [analyze(c.occupation or "", stem=True) for c in cvs])
                O = _presence(occ, P.titles.vocab)
                O.data = idf2[O.indices]
                self.O, self.o_norm = O, np.sqrt(np.asarray(O.sum(axis=1)).ravel())
        self.dense = s.w_dense > 0  # Matcher with an embedder: the vectors are already in the index
        if self.dense:
            self.xb = P.vectors.vectors(self.pids).astype(np.float32)
            self.xq = C.vectors.vectors(list(C.ids)).astype(np.float32)
        self.filters = [_Profiles(kind, postings, cvs, _rejects(FILTERS[kind]), bool) for kind in s.filters]
        matcher = Matcher(None, s)  # type: ignore[arg-type]  # adjust reads only the settings
        self.adjust = _Profiles("adjust", postings, cvs,
                                lambda p, c: (lambda d: (d["boost"], d["diploma"]))(matcher.adjust(p, c)), np.float64)
        # the ROME part reads only the two code tuples: a table of its own over few distinct profiles
        self.rome = _Profiles("rome", postings, cvs, lambda p, c: matcher.adjust(p, c)["rome"], np.float64)
        col = {p: n for n, p in enumerate(self.pids)}
        self.best_cols = np.asarray([col[p] for p in best_ids], dtype=np.int64)
        self.best_pos = np.full(len(self.pids), -1, dtype=np.int64)
        self.best_pos[self.best_cols] = np.arange(len(self.best_cols))

    def _occupation(self, rows: np.ndarray) -> np.ndarray:
        """BM25Index.cosine of each CV's job title with every posting title, times w_occupation."""
        num = np.asarray((self.O[rows] @ self.T).todense())
        norm = self.o_norm[rows][:, None] * self.t_norm[None, :]
        return self.settings.w_occupation * np.divide(num, norm, out=np.zeros_like(num), where=norm > 0)

    def score(self, cv_ids: Sequence[str], k: int) -> tuple[list[tuple], list[tuple]]:
        """Top-k rows (cv_id, posting_id, rank, score) of each CV, and (posting_id, cv_id, score) of the
        batch's k best CVs for every best-list posting."""
        s = self.settings
        n_post = len(self.pids)
        if n_post == 0:
            return [], []
        rows = np.asarray([self.cv_row[c] for c in cv_ids], dtype=np.int64)
        lex = np.asarray((self.Q[rows] @ self.W).todense())
        # dense scores of the whole batch, used only to choose pools (values are recomputed per pool below)
        wide = self.xq[rows] @ self.xb.T if self.dense and n_post > s.pool else None
        title = np.asarray((self.Qt[rows] @ self.Wt).todense()) if self.Qt is not None else None
        occupation = self._occupation(rows) if self.O is not None else np.zeros((len(rows), n_post))
        blocked = np.zeros((len(rows), n_post), dtype=bool)
        for prof in self.filters:
            blocked |= prof.rows(rows)
        adjust = self.adjust.rows(rows)
        rome = self.rome.rows(rows)
        nb = len(self.best_cols)
        best_scores = np.full((len(rows), nb), -np.inf)
        topk: list[tuple] = []
        for i, cid in enumerate(cv_ids):
            allowed = np.flatnonzero(~blocked[i])
            if len(allowed) == 0:
                continue
            q = self.xq[rows[i]] if self.dense else None
            pool = self._pool(allowed, lex[i], wide[i] if wide is not None else None, q)
            # the dense scores of exactly the pool's rows, as ExactIndex.scores computes them: a product over
            # more rows (or a matrix-matrix product) rounds differently in float32 and could swap near ties
            dense = self.xb[pool] @ q if q is not None else None
            parts = fuse(lex[i, pool], title[i, pool] if title is not None else None, dense, s)
            # same operations in the same order as Matcher._rank, so the sums agree to the last bit
            total = parts["fused"] + occupation[i, pool] + adjust[i, pool, 0] + rome[i, pool] - adjust[i, pool, 1]
            order = np.lexsort((pool, -np.round(total, 9)))[:k]  # Matcher: (-round(score, 9), id)
            topk.extend((cid, self.pids[pool[j]], n, round(float(total[j]), 9))
                        for n, j in enumerate(order.tolist(), 1))
            if nb:
                pos = self.best_pos[pool]
                hit = pos >= 0
                best_scores[i, pos[hit]] = total[hit]
        best: list[tuple] = []
        if nb:
            # per posting, the batch's k best CVs by (-score, cv_id); batch rows are in cv_id order
            key = -np.round(best_scores.T, 9)
            order = np.lexsort((np.broadcast_to(np.arange(len(rows)), key.shape), key), axis=-1)[:, :k]
            for j, col in enumerate(order):
                pid = self.pids[self.best_cols[j]]
                for r in col.tolist():
                    v = best_scores[r, j]
                    if np.isfinite(v):
                        best.append((pid, cv_ids[r], round(float(v), 9)))
        return topk, best

    def _pool(self, allowed: np.ndarray, lex: np.ndarray, wide: np.ndarray | None,
              q: np.ndarray | None) -> np.ndarray:
        """Matcher._pool: every allowed posting when few; else the union of the lexical and dense top-pool,
        ties broken by id.

        `wide` comes from a matrix product, whose float32 rounding differs from the index's search by about
        1e-7: postings within 1e-5 of the n-th score are re-scored in float64 (rounded to 1e-12), so that
        exact ties (duplicate postings) are still broken by id, as the search does."""
        n = self.settings.pool
        if len(allowed) <= n:
            return allowed
        top = allowed[np.argsort(-lex[allowed], kind="stable")[:n]]
        if wide is not None and q is not None:
            d = wide[allowed].astype(np.float64)
            nth = -np.partition(-d, n - 1)[n - 1]
            near = np.flatnonzero(np.abs(d - nth) <= 1e-5)
            d[near] = np.round(self.xb[allowed[near]].astype(np.float64) @ q.astype(np.float64), 12)
            top = np.union1d(top, allowed[np.lexsort((allowed, -d))[:n]])
        return np.sort(top)
