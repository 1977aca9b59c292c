"""PostgreSQL + pgvector backend: the same index as IndexStore, in a database schema named by a postgresql:// URL.

Selected wherever an index location is accepted (`--index postgresql://user@host/db?schema=NAME`; the schema
defaults to `matcher`), through matcher.index.open_index. Needs psycopg 3 and a server with pgvector >= 0.8
(`pip install 'matcher[pg]'`).

Schema (one per index):
    meta (key, value)                     model, dim, normalisation, generation, content hash (as IndexStore)
    postings, cvs                         id (COLLATE "C", so SQL order is Python order), hash, fields (the
                                          record's JSON), text, embedding vector(dim), generation, and typed
                                          hard-filter columns derived from the record at write time:
      postings: remote_full, has_place, abroad, city, department, region, lat, lon, contract,
                req_licences text[], req_languages text[] ('en:4' = English at B2 or above)
      cvs:      has_location, city, department, region, lat, lon, mobility_kind, mobility_list text[],
                mobility_km, contracts_wanted text[], held_licences text[] (implied licences included),
                language_levels text[] ('en:1'..'en:4' for a B2)
      btree indexes on department, region, contract, mobility_kind; GIN on every text[]; HNSW
      (vector_ip_ops) on embedding
    changes (generation, kind, id, op)    as IndexStore, for rerank
    lexical_cache (kind, generation, analyzer, data)   the BM25 matrices of a generation (npz bytes)

Hard filters are SQL WHERE clauses (`postings_where`, `cvs_where`) that select exactly the pairs the pure
predicates of matcher.filters pass; tests/test_backends_shared.py checks it on a table of postings x CVs. Language
levels are expressed as tokens ('en:1'..'en:6'), so every filter is in SQL; the one case SQL does not decide is a
CV whose mobility cannot be parsed ('radius_km:abc'), which the SQL passes and the Python predicate then judges.

What runs where: the ranker (matcher.rank) computes verdicts with the Python predicates (per distinct profile, as
with every backend: they also give the reasons), BM25 in Python over the cached matrices (the same BM25 as the
default, so scores agree), fusion and explanations in Python. The dense retrieval runs in PostgreSQL: the
ranker passes the WHERE clause with the allowed ids (matcher.index.base.Filtered) and PgVectors searches

    SELECT id, embedding <#> q FROM postings WHERE <filters> ORDER BY embedding <#> q LIMIT k

with the HNSW index and iterative scans (`hnsw.iterative_scan = relaxed_order`), so a selective filter still
returns k rows; it searches exactly instead (ORDER BY an expression the index does not serve: a bitmap or sequential scan and a sort) when the
collection is small or the filter passes few rows (see EXACT_RATIO). Dense scores used in fusion are computed in
numpy from the stored float32 vectors, as the FAISS backends do, so results equal those of the default index.

Writers: documents are embedded first, then written in one transaction that locks the generation row (`SELECT ...
FOR UPDATE`), so concurrent writers serialise at commit and never lose a generation. A snapshot reads the records
and lexical data of one generation in one REPEATABLE READ transaction; its vectors are read when searched (a bulk
load, >= BULK rows and more than the table holds, rebuilds the HNSW index in its transaction: searches wait for it).
`remove(..., erase=True)`
(`matcher forget`) DELETEs the rows, their change log, the CV lexical caches and every row of a table with a
`cv_id` column (stored rerank results), then runs VACUUM FULL on those tables, which rewrites them (and their
indexes, the HNSW graph included) into new files: nothing of the CV remains in the database's tables. What
PostgreSQL keeps outside them is not managed by matcher: the write-ahead log until its segments are recycled,
WAL archives and replicas, backups, freed disk blocks.
"""
from __future__ import annotations

import io
import math
import re
import struct
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Collection as AbcCollection, Iterable, Iterator, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from ..config import Settings
from ..domain import Candidate, Posting, cefr_rank
from ..embed import Embedder
from ..errors import ConfigError, IndexCorrupt, IndexLocked, IndexMissing, MatcherError, NotFound
from ..filters import _held, parse_mobility
from ..lexical import BM25Index, analyze
from .base import TIE_ROWS, Filtered, make_vector_index
from .exact import top_k
from .factory import is_postgres_url
from .records import candidate_from_json, candidate_to_json, posting_from_json, posting_to_json
from .store import (KINDS, AddResult, Collection, IndexStore, Item, Snapshot, _bm25_arrays,
                    _bm25_from, add_batch, changed_items, document_text, index_hash, info_report, new_meta, query_text,
                    snapshot_problems)

__all__ = ["PgStore", "PgVectors", "Where", "postings_where", "cvs_where", "is_postgres_url", "redact_url",
           "search_session", "graph_memory_mb", "memory_advice"]


# Search parameters, measured with scripts/bench_vectors.py (--backends pgvector) on seeded clustered 384-d vectors.
HNSW_M = 32                 # a denser graph than pgvector's defaults (16, 64): at 100k, same run, recall@10 0.999 vs
EF_CONSTRUCTION = 128       # 0.983, p95 unfiltered 5.6 vs 10.9 ms, 10 % filter 14.6 vs 15.7-20.9 ms; build 66 vs 45 s
EF_SEARCH = 100             # candidates kept per HNSW step at 100k rows and below (at least 2 * rows asked); more on
EF_AT_1M = 200              # larger tables (ef_for). At 1M (m 32), recall@10 unfiltered / 50 % / 10 % filter:
                            # ef 100 0.959 / 0.955 / 0.993, ef 200 0.995 / 0.995 / 0.996 (p95 24 / 25 / 40 ms)
MAX_SCAN_TUPLES = 50_000    # iterative scans stop after this many visited rows; then exact search
# A filter passing m of n rows is searched exactly (a bitmap scan of the filter's index and a sort) when
# m <= EXACT_ROWS or m * m <= exact_ratio(n) * n (exact_search); else HNSW with iterative scans, whose cost grows as
# 1/share and little with n. Exact costs ~1.0 us a row at 100k but ~1.5 at 1M (the table no longer fits the CPU
# caches), so the two meet at a smaller m^2 / n on larger tables: exact_ratio is EXACT_RATIO up to 100k rows, then
# falls as n^-1/4, to 225 at 1M. The switch: 2k rows at 10k, 6.3k (6.3 %) at 100k, 15k (1.5 %) at 1M. Measured
# with shared_buffers holding the table and k + MARGIN rows (sweeps on the bench table, 60 queries,
# p50 / p95 ms, exact vs HNSW, k = 10): 100k 4 % 4.0 / 6.5 vs 7.0 / 14.4, 5 % 5.0 / 7.0 vs 5.2 / 10.3, 6 % 6.1 / 7.4
# vs 4.4 / 9.3, 8 % 9.7 / 10.6 vs 3.6 / 7.6, 10 % 12.0 / 14.0 vs 2.8 / 5.8; 1M 1 % 14.0 / 16.2 vs 17.4 / 31.6,
# 1.5 % 22.7 / 24.6 vs 10.5 / 23.8, 2 % 30.7 / 31.6 vs 8.6 / 21.0, 3 % 47.6 / 51.2 vs 6.6 / 16.4. (With k + 16
# rows HNSW cost ~1.7x more and the switch was m * m <= 400 n at every size; 600 n with PostgreSQL's default 128 MB
# of shared_buffers.) For the ranker's pool of 200 the evidence is mixed: on the bench table exact won at 10 % (9.5
# vs 22.0 ms p50) and lost at 20 % (23.6 vs 18.1), but on a 100k postings table of the store (wider rows) a 16 %
# filter took ~26 ms exact vs ~5 ms HNSW: the rule does not scale with k.
EXACT_ROWS = 2_000
EXACT_RATIO = 400
MARGIN = 2                  # HNSW: rows fetched beyond k, at least (k // 10 up to TIE_ROWS: extra_rows). Relaxed order
                            # returns rows nearly sorted; re-sorting a few more recovers part of the recall strict order
                            # gives. Every row asked costs the iterative scan (rows visited grow as rows asked / share):
                            # at 100k, 10 % filter, p95 6.1 ms (recall 0.993) for k + 2 against 10.3 ms (0.996) for
                            # k + 16, the former fixed margin (/tmp grid, ef 100). When the last row fetched ties the
                            # k-th score, the search fetches k + TIE_ROWS rows, so ties are broken by id among as many
                            # rows as the FAISS backends (exact search orders by score, then id, in SQL). Deeper would
                            # be unbounded: `bench.py --big 100000 --pg` indexes 57 copies of 1,766 vectors, where
                            # fetching until the tie ended took the ranker's match (pool 200) from 25.0 to 35.1 ms
                            # (same session, the old code first). A second query for k + TIE_ROWS gave 29.2 ms, and
                            # k // 10 extra rows for large k (which cost ~10 % more rows, and seldom need that second
                            # query) 23.2 ms, against 23.1 for the old code in the same session.
BULK = 1_000                # an add of at least this many rows, and more than the table holds, rebuilds HNSW
# Memory. pgvector builds the HNSW graph in maintenance_work_mem and, once it no longer fits, goes on inserting on
# disk, far slower (20k rows, same server: 11 s in memory, 57-66 s when it spills after 7.6k). Its graph takes 2,761-2,764
# bytes a row at 384-d, m 32 (its "no longer fits after N tuples" notice at 10 and 20 MB), i.e. the vector plus
# ~1.2 KB of links: graph_memory_mb allows dim * 4 + m * 32 + 256 bytes a row, +10 %. A bulk build asks for that,
# up to MAX_BUILD_MEMORY_MB (the 1M x 384 graph: ~2.9 GB), and never less than the server's own setting.
# Serving: searches are fast only when the table and the graph are in shared_buffers (scripts/bench_vectors.py,
# 10 % filter p95: at 100k 15 ms with PostgreSQL's default 128 MB vs 9 ms with 2 GB; at 1M 40 vs 18 ms with 8 GB,
# pg_prewarm'ed). `matcher index info` reports both sizes and says when shared_buffers is smaller.
MAX_BUILD_MEMORY_MB = 4096

_PERSONAL = {"cvs": ("id", "fields", "text"), "changes": ("id",), "lexical_cache": ("data",)}


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _split_schema(url: str) -> tuple[str, str]:
    """(URL for libpq without our `schema` parameter, schema name)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), "matcher")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise ConfigError(f"schema {schema!r} in {redact_url(url)}: use lower-case letters, digits and _")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


# ---------------------------------------------------------------------------- hard-filter columns and conditions
def _s(x: str | None) -> str | None:
    return x or None   # '' is as unknown as None for the predicates (they test truthiness)


def _posting_columns(p: Posting) -> tuple:
    """remote_full, has_place, abroad, city, department, region, lat, lon, contract, req_licences, req_languages."""
    loc = p.location
    has_place = loc is not None and bool(loc.city or loc.department or loc.region or loc.country)
    abroad = bool(loc is not None and loc.country and loc.country.upper() not in ("FR", "FRANCE"))
    return (p.remote == "full", has_place, abroad, _s(loc and loc.city), _s(loc and loc.department),
            _s(loc and loc.region), loc.lat if loc else None, loc.lon if loc else None, _s(p.contract),
            sorted({r.value for r in p.requirements_of("licence", True)}),
            sorted({f"{r.value}:{cefr_rank(r.level, default=1)}" for r in p.requirements_of("language", True)}))


def _language_tokens(c: Candidate) -> list[str]:
    """'lang:r' for every level r the CV holds or exceeds in each language (Candidate.language_level)."""
    held: dict[str, int] = {}
    if c.writing_lang:
        held[c.writing_lang] = 6
    for x in c.languages:
        held[x.lang] = max(held.get(x.lang, 0), cefr_rank(x.level, default=4))
    return sorted(f"{lang}:{r}" for lang, top in held.items() for r in range(1, top + 1))


def _mobility(c: Candidate) -> tuple[str, list[str], float | None]:
    try:
        kind, arg = parse_mobility(c.mobility)
    except ConfigError:
        return "invalid", [], None      # the Python predicate judges it (it raises, as on every backend)
    if kind == "list":
        return kind, list(arg), None    # type: ignore[call-overload]
    if kind == "radius_km":
        return kind, [], float(arg)     # type: ignore[arg-type]
    return (kind if kind in ("france", "department") else "region"), [], None


def _cv_columns(c: Candidate) -> tuple:
    """has_location, city, department, region, lat, lon, mobility_kind, mobility_list, mobility_km,
    contracts_wanted, held_licences, language_levels."""
    loc = c.location
    kind, codes, km = _mobility(c)
    return (loc is not None, _s(loc and loc.city), _s(loc and loc.department), _s(loc and loc.region),
            loc.lat if loc else None, loc.lon if loc else None, kind, codes, km, sorted(set(c.contracts_wanted)),
            sorted(_held(c.licences)), _language_tokens(c))


_POSTING_COLS = ("remote_full", "has_place", "abroad", "city", "department", "region", "lat", "lon", "contract",
                 "req_licences", "req_languages")
_CV_COLS = ("has_location", "city", "department", "region", "lat", "lon", "mobility_kind", "mobility_list",
            "mobility_km", "contracts_wanted", "held_licences", "language_levels")


@dataclass(frozen=True)
class Where:
    """A SQL boolean expression over one table's columns, with its %s parameters."""
    sql: str
    params: tuple = ()

    @staticmethod
    def all(parts: Iterable["Where"]) -> "Where":
        parts = [p for p in parts if p.sql != "TRUE"]
        if not parts:
            return Where("TRUE")
        return Where(" AND ".join(f"({p.sql})" for p in parts), tuple(x for p in parts for x in p.params))


def _haversine(lat_a: str, lon_a: str, lat_b: str, lon_b: str) -> str:
    """matcher.filters.haversine_km in SQL, operation for operation (a = posting, b = CV), in radians."""
    return (f"12742.0::float8 * asin(sqrt(power(sin(({lat_b} - {lat_a}) / 2), 2) + cos({lat_a}) * cos({lat_b}) "
            f"* power(sin(({lon_b} - {lon_a}) / 2), 2)))")


def postings_where(c: Candidate, kinds: Sequence[str]) -> Where:
    """The postings that pass the hard filters `kinds` for the CV `c` (matcher.filters), as SQL."""
    out = []
    if "location" in kinds and c.location is not None:
        cl = c.location
        kind, codes, km = _mobility(c)
        if kind == "invalid":
            area = Where("TRUE")
        elif kind == "france":
            area = Where("TRUE")
        elif kind == "department":
            area = Where("department IS NULL OR department = %s", (cl.department,)) if cl.department else Where("TRUE")
        elif kind == "list":
            area = Where("department IS NULL OR department = ANY(%s::text[])", (codes,))
        elif kind == "radius_km":
            if cl.lat is None or cl.lon is None:
                area = Where("city IS NOT NULL")
            else:
                d = _haversine("radians(lat)", "radians(lon)", "%s::float8", "%s::float8")
                area = Where(f"city IS NOT NULL AND (lat IS NULL OR lon IS NULL OR {d} <= %s::float8)",
                             (math.radians(cl.lat), math.radians(cl.lat), math.radians(cl.lon), km))
        else:
            area = Where("region IS NULL OR region = %s", (cl.region,)) if cl.region else Where("TRUE")
        if kind != "invalid":
            out.append(Where(f"remote_full OR NOT has_place OR (NOT abroad AND ({area.sql}))", area.params))
    if "contract" in kinds and c.contracts_wanted:
        out.append(Where("contract IS NULL OR contract = ANY(%s::text[])", (sorted(set(c.contracts_wanted)),)))
    if "licence" in kinds:
        out.append(Where("req_licences <@ %s::text[]", (sorted(_held(c.licences)),)))
    if "language" in kinds:
        out.append(Where("req_languages <@ %s::text[]", (_language_tokens(c),)))
    return Where.all(out)


def cvs_where(p: Posting, kinds: Sequence[str]) -> Where:
    """The CVs that pass the hard filters `kinds` for the posting `p` (matcher.filters), as SQL."""
    out = []
    remote, has_place, abroad, city, dep, region, lat, lon, contract, licences, languages = _posting_columns(p)
    if "location" in kinds and not remote and has_place:
        if abroad:
            out.append(Where("NOT has_location"))
        else:
            radius = Where("FALSE") if not city else Where("TRUE") if lat is None or lon is None else Where(
                "lat IS NULL OR lon IS NULL OR "
                + _haversine("%s::float8", "%s::float8", "radians(lat)", "radians(lon)") + " <= mobility_km",
                (math.radians(lat), math.radians(lat), math.radians(lon)))
            arms = [Where("mobility_kind IN ('france', 'invalid')"),
                    Where("mobility_kind = 'department' AND (department IS NULL OR department = %s)", (dep,))
                    if dep else Where("mobility_kind = 'department'"),
                    Where("mobility_kind = 'list' AND %s = ANY(mobility_list)", (dep,))
                    if dep else Where("mobility_kind = 'list'"),
                    Where(f"mobility_kind = 'radius_km' AND ({radius.sql})", radius.params),
                    Where("mobility_kind = 'region' AND (region IS NULL OR region = %s)", (region,))
                    if region else Where("mobility_kind = 'region'")]
            out.append(Where("NOT has_location OR " + " OR ".join(f"({a.sql})" for a in arms),
                             tuple(x for a in arms for x in a.params)))
    if "contract" in kinds and contract:
        out.append(Where("contracts_wanted = '{}' OR contracts_wanted @> ARRAY[%s]::text[]", (contract,)))
    if "licence" in kinds and licences:
        out.append(Where("held_licences @> %s::text[]", (licences,)))
    if "language" in kinds and languages:
        out.append(Where("language_levels @> %s::text[]", (languages,)))
    return Where.all(out)


def _condition(kind: str) -> Callable[[Item, Sequence[str]], Where]:
    if kind == "postings":
        return lambda c, kinds: postings_where(c, kinds)   # type: ignore[arg-type]
    return lambda p, kinds: cvs_where(p, kinds)            # type: ignore[arg-type]


# ---------------------------------------------------------------------------- connections
def _psycopg():
    try:
        import psycopg
    except ImportError as e:
        raise ConfigError("the postgresql backend needs psycopg: pip install 'matcher[pg]'") from e
    return psycopg


def _register_vector(con) -> None:
    """Binary dumper (numpy float32 -> vector) and loader (vector -> numpy float32) for pgvector's type."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format
    from psycopg.types import TypeInfo
    info = TypeInfo.fetch(con, "vector")
    if info is None:
        raise ConfigError("pgvector is not installed in this database (CREATE EXTENSION vector)")

    class VectorDumper(Dumper):
        format = Format.BINARY
        oid = info.oid

        def dump(self, obj):
            a = np.asarray(obj, dtype=">f4").ravel()
            return struct.pack(">HH", a.size, 0) + a.tobytes()

    class VectorLoader(Loader):
        format = Format.BINARY

        def load(self, data):
            dim = struct.unpack_from(">H", data)[0]
            return np.frombuffer(data, dtype=">f4", count=dim, offset=4).astype(np.float32)

    con.adapters.register_dumper(np.ndarray, VectorDumper)
    con.adapters.register_loader(info.oid, VectorLoader)


# ---------------------------------------------------------------------------- vectors
class PgVectors:
    """The vectors of one table at one snapshot, searched in PostgreSQL (VectorIndex protocol, read-only).

    `ids` are the snapshot's ids: a search returns only those. `allowed` may be a Filtered whose condition is a
    Where over the table (the ranker's hard filters), or any collection of ids (then `id = ANY(...)`).
    Vectors are read when asked, not copied at the snapshot: a document removed since raises NotFound (run the
    command again); one updated since is scored with its new vector."""

    def __init__(self, connect: Callable[[], object], table: str, dim: int, ids: list[str]):
        self._connect = connect
        self.table = table
        self.dim = dim
        self._ids = ids
        self._row = {i: r for r, i in enumerate(ids)}

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def add(self, ids: Sequence[str], xb: np.ndarray) -> None:
        raise MatcherError("a snapshot's vectors are read-only; add documents through the index store")

    def remove(self, ids: AbcCollection[str]) -> int:
        raise MatcherError("a snapshot's vectors are read-only; remove documents through the index store")

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        con = self._connect()
        rows = con.execute(f"SELECT id, embedding FROM {self.table} WHERE id = ANY(%s::text[])",  # type: ignore[attr-defined]
                           (list(ids),), binary=True).fetchall()
        got = dict(rows)
        missing = [i for i in ids if i not in got]
        if missing:
            raise NotFound(f"{len(missing)} {self.table} left the index while it was read; run the command again")
        return np.stack([got[i] for i in ids]).astype(np.float32, copy=False)

    def scores(self, xq: np.ndarray, ids: Sequence[str]) -> np.ndarray:
        # numpy on the stored float32 vectors, as ExactIndex.scores: identical to the FAISS backends' fusion input
        return self.vectors(ids) @ np.asarray(xq, dtype=np.float32).reshape(self.dim)

    def search(self, xq: np.ndarray, k: int, allowed: AbcCollection[str] | None = None
               ) -> tuple[np.ndarray, list[list[str]]]:
        xq = np.asarray(xq, dtype=np.float32).reshape(-1, self.dim)
        n = len(self._ids)
        if allowed is None:
            where, budget, keep = Where("TRUE"), n, None
        elif isinstance(allowed, Filtered) and isinstance(allowed.condition, Where):
            where, budget, keep = allowed.condition, len(allowed), allowed
        else:
            known = [i for i in allowed if i in self._row]
            where, budget, keep = Where("id = ANY(%s::text[])", (known,)), len(known), set(known)
        if budget == 0 or k <= 0 or n == 0:
            return np.zeros((len(xq), 0), dtype=np.float32), [[] for _ in xq]
        exact = exact_search(budget, n)
        D, I = [], []
        for q in xq:
            found = self._query(q, k, where, keep, exact)
            if not exact and len(found) < min(k, budget):    # the scan gave up: exact search over the filter
                found = self._query(q, k, where, keep, True)
            d, i = top_k(np.asarray([s for _, s in found], dtype=np.float32), [x for x, _ in found], k)
            D.append(d)
            I.append(i)
        width = max((len(d) for d in D), default=0)
        return np.array([np.pad(d, (0, width - len(d)), constant_values=-np.inf) for d in D],
                        dtype=np.float32).reshape(len(D), width), I

    def _query(self, q: np.ndarray, k: int, where: Where, keep, exact: bool) -> list[tuple[str, float]]:
        """(id, inner product) of the best rows passing `where`, among the snapshot's ids and `keep`: at least k of
        them unless fewer pass (exact: in score then id order; HNSW: k + extra_rows(k), or k + TIE_ROWS when the
        k-th score ties the last row, so that top_k breaks ties by id).

        One statement per query: the HNSW settings are the session's (search_session; ef_search is set again only
        when the table size or k asks for another value), and exact search orders by an expression the HNSW index
        does not serve, so the planner sorts the filtered rows, by score then id. Round trips weighed on a selective
        query."""
        con = self._connect()
        want = k if exact else k + extra_rows(k)
        limit = want
        order = "(embedding <#> %s) + 0, id" if exact else "embedding <#> %s"
        sql = f"SELECT id, (embedding <#> %s) * -1 FROM {self.table} WHERE {where.sql} ORDER BY {order} LIMIT %s"
        while True:
            if not exact:
                _use_ef(con, min(1000, max(ef_for(len(self._ids)), 2 * limit)))
            rows = con.execute(sql, (q, *where.params, q, limit), binary=True).fetchall()  # type: ignore[attr-defined]
            found = [(i, float(s)) for i, s in rows if i in self._row and (keep is None or i in keep)]
            if len(rows) < limit:
                return found     # every row that passes
            if len(found) < want:
                limit *= 4       # rows outside the snapshot or `keep` were dropped: deeper
            elif not exact and limit < k + TIE_ROWS and _tied_past(found, rows, k):
                limit = k + TIE_ROWS
            else:
                return found


def exact_ratio(n: int) -> float:
    """The m^2 / n below which a filter passing m of n rows is searched exactly (see EXACT_RATIO)."""
    return EXACT_RATIO * min(1.0, (100_000 / max(n, 1)) ** 0.25)


def exact_search(m: int, n: int) -> bool:
    """Whether a search over m of n rows is exact (a scan of the filtered rows) rather than HNSW."""
    return m <= EXACT_ROWS or m * m <= exact_ratio(n) * n


def extra_rows(k: int) -> int:
    """Rows an HNSW search fetches beyond k (see MARGIN)."""
    return min(TIE_ROWS, max(MARGIN, k // 10))


def _tied_past(found: list[tuple[str, float]], rows: list, k: int) -> bool:
    """Whether rows an HNSW scan has not returned yet may tie the k-th best score found: the lowest score fetched
    equals it. (Exact search needs no such check: SQL orders it by score, then id, as top_k does.)"""
    kth = sorted((s for _, s in found), reverse=True)[k - 1]
    return min(float(s) for _, s in rows) >= kth


def ef_for(n: int) -> int:
    """hnsw.ef_search for a table of n rows: EF_SEARCH up to 100k, then growing as sqrt(n) to EF_AT_1M at 1M."""
    return min(1000, max(EF_SEARCH, round(EF_AT_1M * math.sqrt(n / 1_000_000))))


_SESSION_EF: "weakref.WeakKeyDictionary[object, int]" = weakref.WeakKeyDictionary()


def graph_memory_mb(n: int, dim: int) -> int:
    """MB of maintenance_work_mem in which pgvector builds the HNSW graph of n dim-d vectors (see MAX_BUILD_MEMORY_MB)."""
    return max(64, math.ceil(n * (dim * 4 + HNSW_M * 32 + 256) * 1.1 / 2**20))


def memory_advice(shared_buffers_mb: int, tables_mb: int) -> list[str]:
    """What to change when the tables searched (with their indexes) do not fit in shared_buffers; [] when they do."""
    if tables_mb <= shared_buffers_mb:
        return []
    return [f"shared_buffers is {shared_buffers_mb} MB and the tables searched take {tables_mb} MB: searches may "
            f"read pages from the OS (~2x slower at 1M rows); set shared_buffers to at least {math.ceil(tables_mb * 1.1)} MB "
            "(postgresql.conf, then restart the server) and load the tables with pg_prewarm"]


def _build_memory(con, n: int, dim: int, local: bool = True) -> None:
    """SET [LOCAL] maintenance_work_mem for building the graph of n rows in memory, never below the server's setting
    (LOCAL: for the transaction; else for the session, which the caller RESETs: VACUUM cannot run in a transaction)."""
    want = min(graph_memory_mb(n, dim), MAX_BUILD_MEMORY_MB)
    have = con.execute("SELECT pg_size_bytes(current_setting('maintenance_work_mem'))").fetchone()[0] // 2**20
    if want > have:
        con.execute(f"SET {'LOCAL ' if local else ''}maintenance_work_mem = '{int(want)}MB'")


def _use_ef(con, ef: int) -> None:
    """Set the session's hnsw.ef_search when it differs from what this connection last had (one round trip)."""
    if _SESSION_EF.get(con) != ef:
        con.execute(f"SET hnsw.ef_search = {int(ef)}")
        _SESSION_EF[con] = ef


def search_session(con) -> None:
    """The session settings every search connection uses: HNSW with iterative scans (a selective filter still
    returns k rows), bounded; no JIT (it compiles a plan in ~100 ms, more than any of these queries takes); and a
    plan made for each query's own parameters. psycopg prepares a statement after 5 runs and PostgreSQL then
    switches to a generic plan, which cannot see how selective the filter is: at 100k postings the ranker's query
    went from ~27 to ~175 ms a match after its 10th run, with a bitmap scan and sort instead of HNSW."""
    con.execute(f"SET jit = off; SET plan_cache_mode = force_custom_plan; SET hnsw.ef_search = {EF_SEARCH}; "
                f"SET hnsw.iterative_scan = relaxed_order; SET hnsw.max_scan_tuples = {MAX_SCAN_TUPLES}")
    _SESSION_EF[con] = EF_SEARCH


# ---------------------------------------------------------------------------- the store
_SCHEMA = """
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE postings (
    id text COLLATE "C" PRIMARY KEY, hash text NOT NULL, fields text NOT NULL, text text NOT NULL,
    embedding vector({dim}) NOT NULL, generation bigint NOT NULL,
    remote_full boolean NOT NULL, has_place boolean NOT NULL, abroad boolean NOT NULL,
    city text, department text, region text, lat double precision, lon double precision, contract text,
    req_licences text[] NOT NULL, req_languages text[] NOT NULL);
CREATE TABLE cvs (
    id text COLLATE "C" PRIMARY KEY, hash text NOT NULL, fields text NOT NULL, text text NOT NULL,
    embedding vector({dim}) NOT NULL, generation bigint NOT NULL,
    has_location boolean NOT NULL, city text, department text, region text, lat double precision,
    lon double precision, mobility_kind text NOT NULL, mobility_list text[] NOT NULL, mobility_km double precision,
    contracts_wanted text[] NOT NULL, held_licences text[] NOT NULL, language_levels text[] NOT NULL);
CREATE TABLE changes (generation bigint NOT NULL, kind text NOT NULL, id text COLLATE "C" NOT NULL,
                      op text NOT NULL);
CREATE INDEX changes_gen ON changes (generation);
CREATE TABLE lexical_cache (kind text NOT NULL, generation bigint NOT NULL, analyzer text NOT NULL,
                            data bytea NOT NULL, PRIMARY KEY (kind, generation, analyzer));
CREATE INDEX postings_department ON postings (department);
CREATE INDEX postings_region ON postings (region);
CREATE INDEX postings_contract ON postings (contract);
CREATE INDEX postings_latlon ON postings (lat, lon);
CREATE INDEX postings_licences ON postings USING gin (req_licences);
CREATE INDEX postings_languages ON postings USING gin (req_languages);
CREATE INDEX cvs_department ON cvs (department);
CREATE INDEX cvs_region ON cvs (region);
CREATE INDEX cvs_mobility ON cvs (mobility_kind);
CREATE INDEX cvs_contracts ON cvs USING gin (contracts_wanted);
CREATE INDEX cvs_licences ON cvs USING gin (held_licences);
CREATE INDEX cvs_languages ON cvs USING gin (language_levels);
"""


def _hnsw_sql(kind: str) -> str:
    return (f"CREATE INDEX IF NOT EXISTS {kind}_hnsw ON {kind} USING hnsw (embedding vector_ip_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {EF_CONSTRUCTION})")


class PgStore:
    """An index in a PostgreSQL schema. Open with `PgStore.open(url, settings, embedder)`; same interface as
    IndexStore (add, remove, snapshot, text, meta, check, info, changes_since, generation, connect)."""

    def __init__(self, url: str, settings: Settings, embedder: Embedder | None):
        self.location = url                      # with any password: only for reopening, never printed
        self.path = redact_url(url)              # what messages name
        self._conninfo, self.schema = _split_schema(url)
        self.settings = settings
        self.embedder = embedder
        self._con = None
        self._snapshots: dict[tuple[int, bool, str], Snapshot] = {}

    # ---------------------------------------------------------------- opening
    def _new_connection(self):
        psycopg = _psycopg()
        try:
            con = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as e:
            raise IndexMissing(f"cannot connect to {self.path}: {_first_line(e)}") from None
        con.execute(f'SET search_path TO "{self.schema}", public')
        search_session(con)
        try:
            _register_vector(con)
        except ConfigError:
            pass   # a database without pgvector yet: _create installs it and registers again
        return con

    def _conn(self):
        if self._con is None or self._con.closed:
            self._con = self._new_connection()
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @classmethod
    def exists(cls, url: str) -> bool:
        store = cls(url, Settings(), None)
        try:
            return store._has_schema()
        except IndexMissing:
            return False
        finally:
            store.close()

    def _has_schema(self) -> bool:
        row = self._conn().execute("SELECT to_regclass(%s)", (f'"{self.schema}".meta',)).fetchone()
        return row[0] is not None

    @classmethod
    def open(cls, url: str, settings: Settings, embedder: Embedder | None = None, create: bool = False) -> "PgStore":
        """Open the index in the URL's schema; with `create`, make it if missing. Refuses another model."""
        store = cls(url, settings, embedder)
        if not store._has_schema():
            if not create:
                raise IndexMissing(f"no index at {store.path} (build one with: matcher index add FILE "
                                   f"--index {store.path})")
            if embedder is None:
                raise MatcherError("creating an index needs an embedder")
            store._create()
        store._check_model()
        return store

    def _create(self) -> None:
        con = self._conn()
        psycopg = _psycopg()
        with con.transaction():
            # one creator at a time; a second one finds the schema made
            con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"matcher-create:{self.schema}",))
            try:
                con.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.Error as e:
                raise ConfigError(f"{self.path}: pgvector is not available ({_first_line(e)})") from None
            if self._has_schema():
                return
            emb = self.embedder
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            con.execute(_SCHEMA.format(dim=int(emb.dim)))  # type: ignore[union-attr]
            for kind in KINDS:   # vectors stay in the row: exact search reads them without a TOAST lookup each
                con.execute(f"ALTER TABLE {kind} ALTER COLUMN embedding SET STORAGE PLAIN")
            for kind in KINDS:
                con.execute(_hnsw_sql(kind))
            # Personal data never goes into planner statistics (pg_statistic keeps sampled values).
            for table, cols in _PERSONAL.items():
                con.execute(f"ALTER TABLE {table} " + ", ".join(f"ALTER COLUMN {c} SET STATISTICS 0" for c in cols))
            meta = new_meta(emb, self.settings, backend="pgvector")  # type: ignore[arg-type]
            with con.cursor() as cur:
                cur.executemany("INSERT INTO meta VALUES (%s, %s)", sorted(meta.items()))
        _register_vector(con)

    def meta(self) -> dict[str, str]:
        psycopg = _psycopg()
        try:
            return dict(self._conn().execute("SELECT key, value FROM meta").fetchall())
        except psycopg.Error as e:
            raise IndexCorrupt(f"cannot read {self.path}: {_first_line(e)}") from None

    def _check_model(self) -> None:
        IndexStore._check_model(self)  # type: ignore[arg-type]  # the same checks as the default store, same words

    # ---------------------------------------------------------------- writing
    @contextmanager
    def _write(self) -> Iterator[tuple[object, int]]:
        """A write transaction holding the generation row: (connection, current generation)."""
        psycopg = _psycopg()
        con = self._conn()
        try:
            with con.transaction():
                con.execute("SET LOCAL lock_timeout = '60s'")
                gen = int(con.execute("SELECT value FROM meta WHERE key = 'generation' FOR UPDATE").fetchone()[0])
                yield con, gen
        except psycopg.errors.LockNotAvailable:
            raise IndexLocked(f"another process has been writing to the index at {self.path} for a minute; "
                              "try again when it has finished") from None
        except psycopg.Error as e:
            raise MatcherError(f"could not write the index at {self.path}: {_first_line(e)}; "
                               "the previous version is intact") from None

    def add(self, kind: str, items: Sequence[Item], progress: Callable[[int], None] | None = None,
            on_total: Callable[[int], None] | None = None) -> AddResult:
        """Add or update documents by id, embedding only new or changed ones, in one transaction."""
        items = add_batch(kind, items, self.embedder)
        con = self._conn()
        hashes, todo, result = changed_items(kind, items, dict(con.execute(f"SELECT id, hash FROM {kind}").fetchall()))
        if on_total:
            on_total(len(todo))
        if not todo:
            result.generation = self.generation()
            return result
        texts = [document_text(it) if kind == "postings" else query_text(it) for it in todo]  # type: ignore[arg-type]
        xb = IndexStore._embed(self, kind, texts, progress)  # type: ignore[arg-type]  # the default store's path
        cols = _POSTING_COLS if kind == "postings" else _CV_COLS
        derive = _posting_columns if kind == "postings" else _cv_columns
        to_json = posting_to_json if kind == "postings" else candidate_to_json
        names = ("id", "hash", "fields", "text", "embedding", "generation") + cols
        update = ", ".join(f"{n} = EXCLUDED.{n}" for n in names[1:])
        with self._write() as (con, gen):
            gen += 1
            # the rows now present (another writer may have committed since `old` was read)
            present = {r[0] for r in con.execute(f"SELECT id FROM {kind} WHERE id = ANY(%s::text[])",  # type: ignore[attr-defined]
                                                 ([it.id for it in todo],))}
            count = con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0]  # type: ignore[attr-defined]
            bulk = len(todo) >= BULK and len(todo) > count
            if bulk:   # building the graph once is faster than inserting into it row by row
                con.execute(f"DROP INDEX IF EXISTS {kind}_hnsw")  # type: ignore[attr-defined]
            # COPY (binary) into a staging table, then one upsert: ~10x faster than row-by-row INSERTs
            con.execute(f"CREATE TEMP TABLE stage (LIKE {kind}) ON COMMIT DROP")  # type: ignore[attr-defined]
            types = self._types(con, kind, names)
            with con.cursor() as cur:  # type: ignore[attr-defined]
                with cur.copy(f"COPY stage ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(types)
                    for n, it in enumerate(todo):
                        copy.write_row((it.id, hashes[it.id], to_json(it), it.text, xb[n], gen) + derive(it))  # type: ignore[arg-type]
                cur.execute(f"INSERT INTO {kind} SELECT * FROM stage ON CONFLICT (id) DO UPDATE SET {update}")
                cur.executemany("INSERT INTO changes VALUES (%s, %s, %s, %s)",
                                [(gen, kind, it.id, "update" if it.id in present else "add") for it in todo])
            if bulk:
                _build_memory(con, count + len(todo), int(xb.shape[1]))
                con.execute(_hnsw_sql(kind))  # type: ignore[attr-defined]
            self._bump(con, gen)
        result.added = sorted(it.id for it in todo if it.id not in present)
        result.updated = sorted(it.id for it in todo if it.id in present)
        result.generation = gen
        self._after_write(gen)
        return result

    @staticmethod
    def _types(con, kind: str, names: Sequence[str]) -> list[int]:
        """The type oids of `names` in table `kind`, in that order (binary COPY needs them)."""
        oids = dict(con.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
                                "AND attnum > 0", (kind,)).fetchall())
        return [int(oids[n]) for n in names]

    def remove(self, kind: str, ids: Iterable[str], erase: bool = False) -> list[str]:
        """Remove documents by id; returns the ids that were present. `erase` also wipes their traces."""
        if kind not in KINDS:
            raise MatcherError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
        ids = list(dict.fromkeys(ids))
        with self._write() as (con, gen):
            present = sorted(r[0] for r in con.execute(  # type: ignore[attr-defined]
                f"DELETE FROM {kind} WHERE id = ANY(%s::text[]) RETURNING id", (ids,)))
            if present:
                gen += 1
                if erase:
                    con.execute("DELETE FROM changes WHERE kind = %s AND id = ANY(%s::text[])", (kind, present))  # type: ignore[attr-defined]
                    for table in self._person_tables(con):
                        con.execute(f"DELETE FROM {table} WHERE cv_id = ANY(%s::text[])", (present,))  # type: ignore[attr-defined]
                else:
                    with con.cursor() as cur:  # type: ignore[attr-defined]
                        cur.executemany("INSERT INTO changes VALUES (%s, %s, %s, 'remove')",
                                        [(gen, kind, i) for i in present])
                self._bump(con, gen)
            if erase:   # every lexical cache of this kind holds the erased words: rebuilt below
                con.execute("DELETE FROM lexical_cache WHERE kind = %s", (kind,))  # type: ignore[attr-defined]
        if not present and not erase:
            return []
        if erase:
            self._wipe(kind, present)
        self._after_write(gen, keep_previous=not erase)
        return present

    def _wipe(self, kind: str, present: list[str]) -> None:
        """Rewrite the tables that held the erased rows, so that their bytes leave the database's files."""
        psycopg = _psycopg()
        con = self._conn()
        try:
            con.execute("SET lock_timeout = '30s'")
            # VACUUM FULL rebuilds the table's HNSW graph too: in memory, as a bulk add does (40k CVs: 99 s spilling
            # to disk at the default 64 MB, see scripts/bench_forget.py)
            _build_memory(con, con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0],
                          int(self.meta().get("dim", 0)) or 1, local=False)
            for table in [kind, "changes", "lexical_cache"] + self._person_tables(con):
                con.execute(f"VACUUM (FULL) {table}")
        except psycopg.Error as e:
            raise MatcherError(f"removed {len(present)} {kind} from the index at {self.path}, but could not wipe "
                               f"every trace ({_first_line(e)}); run the same command again once no other process "
                               "holds the index's tables") from None
        finally:
            con.execute("RESET lock_timeout")
            con.execute("RESET maintenance_work_mem")

    def _person_tables(self, con) -> list[str]:
        """Tables of this index other than cvs that hold a `cv_id` column (e.g. stored rerank results)."""
        return [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = %s AND column_name = 'cv_id' "
            "ORDER BY table_name", (self.schema,))]

    def _bump(self, con, gen: int) -> None:
        con.execute("UPDATE meta SET value = %s WHERE key = 'generation'", (str(gen),))
        con.execute("UPDATE meta SET value = %s WHERE key = 'content_hash'", (self._index_hash(con),))

    @staticmethod
    def _index_hash(con) -> str:
        """index_hash over both tables, in the order of IndexStore's "ORDER BY kind, id"."""
        return index_hash((kind, i, dh) for kind in sorted(KINDS)
                          for i, dh in con.execute(f"SELECT id, hash FROM {kind} ORDER BY id").fetchall())

    def _after_write(self, gen: int, keep_previous: bool = True) -> None:
        """Build the new generation's lexical caches now (readers then find them) and drop older ones."""
        self._snapshots.clear()
        try:
            self.snapshot()
        except MatcherError:
            pass
        self._conn().execute("DELETE FROM lexical_cache WHERE generation < %s",
                             (gen - (1 if keep_previous else 0),))

    # ---------------------------------------------------------------- reading
    def generation(self) -> int:
        return int(self.meta()["generation"])

    def text(self, kind: str, doc_id: str) -> str:
        if kind not in KINDS:
            raise MatcherError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
        row = self._conn().execute(f"SELECT text FROM {kind} WHERE id = %s", (doc_id,)).fetchone()
        if row is None:
            raise NotFound(f"no {kind[:-1]} with id {doc_id!r} in the index at {self.path}")
        return row[0]

    def snapshot(self, stem: bool | None = None, backend: str | None = None) -> Snapshot:
        """A consistent view of the current generation (cached per generation). Vectors stay in PostgreSQL
        (PgVectors) unless `backend` names an in-memory one (faiss, exact...), which loads them."""
        psycopg = _psycopg()
        stem = self.settings.stemming if stem is None else stem
        backend = backend or "pgvector"
        con = self._conn()
        try:
            with con.transaction():
                con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
                gen = int(meta["generation"])
                key = (gen, stem, backend)
                if key in self._snapshots:
                    return self._snapshots[key]
                dim = int(meta["dim"])
                cols = {kind: self._load_collection(con, kind, gen, dim, stem, backend) for kind in KINDS}
        except psycopg.Error as e:
            raise IndexCorrupt(f"cannot read the index at {self.path}: {_first_line(e)}") from None
        snap = Snapshot(gen, meta["model"], dim, stem, cols["postings"], cols["cvs"], meta.get("content_hash", ""))
        self._snapshots = {k: v for k, v in self._snapshots.items() if k[0] == gen}
        self._snapshots[key] = snap
        return snap

    def _load_collection(self, con, kind: str, gen: int, dim: int, stem: bool, backend: str) -> Collection:
        from_json = posting_from_json if kind == "postings" else candidate_from_json
        rows = con.execute(f"SELECT id, fields FROM {kind} ORDER BY id").fetchall()
        ids = [r[0] for r in rows]
        records = {i: from_json(f) for i, f in rows}
        analyzer = "stem" if stem else "plain"
        arrays = None
        row = con.execute("SELECT data FROM lexical_cache WHERE kind = %s AND generation = %s AND analyzer = %s",
                          (kind, gen, analyzer)).fetchone()
        if row is not None:
            with np.load(io.BytesIO(row[0]), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            if list(arrays["ids"]) != ids:
                arrays = None   # written for another state of this generation: never trust it
        if arrays is None:
            arrays = self._lexical_arrays(con, kind, ids, stem)
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            con.execute("INSERT INTO lexical_cache VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (kind, gen, analyzer, buf.getvalue()))
        if backend == "pgvector":
            vectors = PgVectors(self._conn, kind, dim, ids)
        else:
            vectors = make_vector_index(backend, dim)
            if ids:
                vectors.add(ids, np.stack([v for _, v in con.execute(
                    f"SELECT id, embedding FROM {kind} ORDER BY id", binary=True)]))
        lexical, titles = (_bm25_from(arrays, name, ids, self.settings) for name in ("lex", "title"))
        return Collection(kind, ids, records, vectors, lexical, titles, condition=_condition(kind))  # type: ignore[arg-type]

    @staticmethod
    def _lexical_arrays(con, kind: str, ids: list[str], stem: bool) -> dict[str, np.ndarray]:
        """BM25 matrices of body and title, analysed exactly as IndexStore does."""
        from_json = posting_from_json if kind == "postings" else candidate_from_json
        lex_docs, title_docs = [], []
        for i, text, fields in con.execute(f"SELECT id, text, fields FROM {kind} ORDER BY id"):
            item = from_json(fields, text)
            if kind == "postings":
                lex_docs.append(analyze(document_text(item), stem=stem))  # type: ignore[arg-type]
                title_docs.append(analyze(item.title, stem=True))  # type: ignore[union-attr]
            else:
                lex_docs.append(analyze(query_text(item), stem=stem))  # type: ignore[arg-type]
                title_docs.append(analyze(item.occupation or "", stem=True))  # type: ignore[union-attr]
        arrays: dict[str, np.ndarray] = {"ids": np.asarray(ids, dtype=str)}
        arrays.update(_bm25_arrays(BM25Index.build(ids, lex_docs), "lex"))
        arrays.update(_bm25_arrays(BM25Index.build(ids, title_docs), "title"))
        return arrays

    def check(self) -> list[str]:
        """Problems found when comparing vectors, metadata and lexical data (empty when consistent)."""
        problems = []
        con = self._conn()
        meta = self.meta()
        if self._index_hash(con) != meta.get("content_hash"):
            problems.append("the content hash does not match the documents")
        for kind in KINDS:
            n, dims = con.execute(f"SELECT count(*), count(*) FILTER (WHERE vector_dims(embedding) <> %s) FROM {kind}",
                                  (int(meta.get("dim", 0)),)).fetchone()
            if dims:
                problems.append(f"{dims} {kind} vectors do not have dimension {meta.get('dim')}")
            valid = con.execute("SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
                                (f'"{self.schema}".{kind}_hnsw',)).fetchone()
            if not valid or not valid[0]:
                problems.append(f"{kind}: the HNSW index is missing or invalid")
        return problems + snapshot_problems(self.snapshot())

    def info(self) -> dict:
        """Generation, counts, model and consistency problems (empty list when all agree), and the memory the
        server gives to searches (`memory`)."""
        return info_report(self.path, self.meta(), self.check(), self.snapshot(), backend="pgvector",
                           memory=self.memory())

    def memory(self) -> dict:
        """shared_buffers and each table's size with its indexes (MB), and `advice`: what to raise when the tables
        searched do not fit in shared_buffers (searches then read pages from the OS; see the Memory note above
        MAX_BUILD_MEMORY_MB)."""
        con = self._conn()
        buffers = con.execute("SELECT pg_size_bytes(current_setting('shared_buffers'))").fetchone()[0] // 2**20
        sizes = {kind: con.execute("SELECT pg_total_relation_size(%s)", (f'"{self.schema}".{kind}',)).fetchone()[0]
                 // 2**20 for kind in KINDS}
        return {"shared_buffers_mb": int(buffers), **{f"{kind}_mb": int(v) for kind, v in sizes.items()},
                "advice": memory_advice(int(buffers), sum(sizes.values()))}

    def changes_since(self, generation: int, kind: str = "postings") -> list[tuple[int, str, str]]:
        """(generation, id, op) of every change of `kind` after `generation`, oldest first."""
        return [tuple(r) for r in self._conn().execute(  # type: ignore[misc]
            "SELECT generation, id, op FROM changes WHERE kind = %s AND generation > %s ORDER BY generation, id",
            (kind, generation))]

    def connect(self) -> "SqliteDialect":
        """A connection for layers above that store results beside the index (rerank): it takes the SQLite
        statements they use (see SqliteDialect)."""
        return SqliteDialect(self._new_connection(), self.schema)

    @contextmanager
    def exclusive(self, name: str, busy: str) -> Iterator[None]:
        """Held by one process at a time (a session advisory lock); raises IndexLocked(busy) when taken."""
        con = self._new_connection()
        try:
            key = f"matcher-{name}:{self.schema}"
            if not con.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()[0]:
                raise IndexLocked(busy)
            yield
        finally:
            con.close()   # ends the session, which releases the lock


def _first_line(e: Exception) -> str:
    """The first line of a driver error: the server's message, without connection details or row data."""
    diag = getattr(e, "diag", None)
    msg = getattr(diag, "message_primary", None) or (str(e).splitlines() or [type(e).__name__])[0]
    return re.sub(r"password=\S+", "password=***", msg)


# ---------------------------------------------------------------------------- rerank's SQL on PostgreSQL
class SqliteDialect:
    """A psycopg connection (autocommit) that runs the SQLite statements of matcher.rerank: `?` placeholders,
    `INSERT OR REPLACE` (ON CONFLICT on the primary key), `BEGIN IMMEDIATE`, REAL as double precision,
    executescript. Nothing else is translated: a new statement there must be checked here (tests/
    test_backends_shared.py runs rerank on both backends and compares the results)."""

    def __init__(self, con, schema: str):
        self._con = con
        self._schema = schema
        self._columns: dict[str, list[str]] = {}

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus
        return self._con.info.transaction_status != TransactionStatus.IDLE

    def _sql(self, sql: str) -> str:
        sql = sql.strip()
        if re.fullmatch(r"BEGIN( IMMEDIATE| EXCLUSIVE| DEFERRED)?", sql, re.I):
            return "BEGIN"
        sql = re.sub(r"\bREAL\b", "DOUBLE PRECISION", sql)
        m = re.match(r"INSERT OR REPLACE INTO (\w+)", sql, re.I)
        if m:
            table = m.group(1)
            cols = self._table_columns(table)
            sql = (f"INSERT INTO {table}" + sql[m.end():] + f" ON CONFLICT ON CONSTRAINT {table}_pkey DO UPDATE SET ("
                   + ", ".join(cols) + ") = ROW(" + ", ".join(f"EXCLUDED.{c}" for c in cols) + ")")
        return sql.replace("?", "%s")

    def _table_columns(self, table: str) -> list[str]:
        if table not in self._columns:
            self._columns[table] = [r[0] for r in self._con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                "ORDER BY ordinal_position", (self._schema, table))]
        return self._columns[table]

    def execute(self, sql: str, params: Sequence = ()):
        return self._con.execute(self._sql(sql), tuple(params) or None)

    def executemany(self, sql: str, rows: Iterable[Sequence]):
        rows = [tuple(r) for r in rows]
        with self._con.cursor() as cur:
            if rows:
                cur.executemany(self._sql(sql), rows)
        return None

    def executescript(self, script: str) -> None:
        for stmt in script.split(";"):
            if stmt.strip():
                self._con.execute(self._sql(stmt))

    def close(self) -> None:
        self._con.close()
