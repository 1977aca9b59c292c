"""The on-disk index: SQLite holds records, texts and vectors (the truth); FAISS and BM25 are derived caches.

Layout of an index directory:
    index.sqlite            meta (model, dim, normalisation, generation, content hash), docs, changes
    cache/<kind>-g<N>-<analyzer>.npz   vectors and BM25 matrices of generation N, written atomically
    .lock                   held by the one writer

Every write is one SQLite transaction (synchronous=FULL): a reader sees the previous generation or the new
one, never a mix. A cache is named by its generation, so a stale cache is never used; a missing one is
rebuilt from SQLite. Hence vectors, metadata and lexical index cannot disagree.
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence, Union

import numpy as np

from ..config import Settings
from ..domain import Candidate, Posting
from ..embed import Embedder, truncated
from ..errors import IndexCorrupt, IndexLocked, IndexMismatch, IndexMissing, MatcherError, NotFound
from ..lexical import BM25Index, analyze
from ..parse.mask import mask_identity
from .base import VectorIndex, make_vector_index
from .records import candidate_from_json, candidate_to_json, posting_from_json, posting_to_json

__all__ = ["IndexStore", "Snapshot", "Collection", "AddResult", "KINDS", "document_text", "query_text"]

KINDS = ("postings", "cvs")
SCHEMA_VERSION = "1"
Item = Union[Posting, Candidate]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, fields TEXT NOT NULL, text TEXT NOT NULL,
    vector BLOB NOT NULL, generation INTEGER NOT NULL, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS changes (
    generation INTEGER NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, op TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_gen ON changes (generation);
"""


def document_text(p: Posting) -> str:
    """What a posting contributes to the embedding and to lexical search."""
    return f"{p.title}\n{p.text}"


def query_text(c: Candidate) -> str:
    """What a CV contributes to the embedding and to lexical search: its (masked) text without the person's
    name, e-mail, phone or links, which carry gender and origin (see parse.mask.mask_identity)."""
    return mask_identity(c.text)


def new_meta(embedder: Embedder, settings: Settings, **extra: str) -> dict[str, str]:
    """The metadata a new index starts with (every store): what its vectors were made with, generation 0."""
    return {"schema": SCHEMA_VERSION, "model": embedder.name, "dim": str(embedder.dim),
            "normalized": "1" if embedder.normalized else "0", "generation": "0",
            "posting_tokens": str(settings.posting_tokens), "content_hash": index_hash([]), **extra}


def index_hash(rows: Iterable[tuple[str, str, str]]) -> str:
    """The content hash of an index: sha256 over its (kind, id, document hash) rows, ordered by kind then id."""
    h = hashlib.sha256()
    for kind, i, dh in rows:
        h.update(f"{kind}\0{i}\0{dh}\n".encode())
    return h.hexdigest()


def add_batch(kind: str, items: Sequence[Item], embedder: Embedder | None) -> list[Item]:
    """The documents of an add, checked (known kind, an embedder) and with the last version of a repeated id."""
    if kind not in KINDS:
        raise MatcherError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    if embedder is None:
        raise MatcherError("adding documents needs an embedder")
    for it in items:   # PostgreSQL text cannot hold NUL: refused on every backend, before anything is written
        title = getattr(it, "title", "") or ""
        if "\x00" in it.id or "\x00" in it.text or "\x00" in title:
            raise MatcherError(f"{kind} {it.id!r}: contains NUL characters (\\x00); the loaders strip them, "
                               "remove them before adding")
    return list({it.id: it for it in items}.values())


def changed_items(kind: str, items: list[Item], old: dict[str, str]
                  ) -> tuple[dict[str, str], list[Item], AddResult]:
    """Content hashes of `items`, those whose hash differs from `old` (id -> stored hash), and the AddResult
    listing the unchanged ones: every store embeds and writes only the first list."""
    hashes = {it.id: _content_hash(kind, it) for it in items}
    todo = [it for it in items if old.get(it.id) != hashes[it.id]]
    return hashes, todo, AddResult(unchanged=sorted(it.id for it in items if old.get(it.id) == hashes[it.id]))


def _content_hash(kind: str, item: Item) -> str:
    body = document_text(item) if kind == "postings" else query_text(item)  # type: ignore[arg-type]
    fields = posting_to_json(item) if kind == "postings" else candidate_to_json(item)  # type: ignore[arg-type]
    return hashlib.sha256(f"{kind}\0{body}\0{fields}".encode()).hexdigest()


def fsync_dir(path: Path) -> None:
    """fsync a directory so that a rename inside it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[object], None]) -> None:
    """Write through `write(fileobj)` to a temp file, fsync, rename over `path`, fsync the directory."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@dataclass
class Collection:
    """One kind of document at one generation: records, vectors and lexical indexes, aligned by id."""
    kind: str
    ids: list[str]
    records: dict[str, Item]
    vectors: VectorIndex
    lexical: BM25Index
    titles: BM25Index | None = None   # postings: their titles; CVs: their job titles (occupation)
    # The hard filters for a query item (a CV for postings, a posting for CVs) as a condition the vector index
    # searches with (PostgreSQL: a SQL WHERE clause); None where the index takes ids only (FAISS, numpy).
    condition: Callable[[Item, tuple[str, ...]], object] | None = None
    _groups: dict = field(default_factory=dict, repr=False)
    _rows: dict[str, int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def rows(self) -> dict[str, int]:
        """id -> row in `ids` (built once per snapshot)."""
        if self._rows is None:
            self._rows = {i: r for r, i in enumerate(self.ids)}
        return self._rows

    def groups(self, key: Callable[[Item], object]) -> tuple[np.ndarray, list[str]]:
        """Rows grouped by `key(record)`, computed once per snapshot and key function: the group number of each
        row (shape (len(ids),)) and the first id of each group, groups numbered in id order."""
        if key not in self._groups:
            number: dict = {}
            heads: list[str] = []
            of_row = np.empty(len(self.ids), dtype=np.int64)
            for r, i in enumerate(self.ids):
                g = number.setdefault(key(self.records[i]), len(number))
                if g == len(heads):
                    heads.append(i)
                of_row[r] = g
            of_row.flags.writeable = False
            self._groups[key] = (of_row, heads)
        return self._groups[key]


@dataclass
class Snapshot:
    """A consistent read-only view of the index at one generation."""
    generation: int
    model: str
    dim: int
    stem: bool
    postings: Collection
    cvs: Collection
    content_hash: str = ""

    def collection(self, kind: str) -> Collection:
        return self.postings if kind == "postings" else self.cvs


@dataclass
class AddResult:
    """What an add changed: ids added, updated (content changed), unchanged (skipped), and the generation."""
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    generation: int = 0


class IndexStore:
    """An index directory. Open with `IndexStore.open(path, settings, embedder)`; write with `add`/`remove`."""

    def __init__(self, path: Path, settings: Settings, embedder: Embedder | None):
        self.path = Path(path)
        self.settings = settings
        self.embedder = embedder
        self._snapshots: dict[tuple[int, bool, str], Snapshot] = {}
        self._centroid_source: int | None = None   # generation whose IVF centroids a rebuild may reuse

    # ---------------------------------------------------------------- opening
    @property
    def db_path(self) -> Path:
        return self.path / "index.sqlite"

    @classmethod
    def exists(cls, path: Path) -> bool:
        return (Path(path) / "index.sqlite").is_file()

    @classmethod
    def open(cls, path: Path | str, settings: Settings, embedder: Embedder | None = None,
             create: bool = False) -> "IndexStore":
        """Open the index at `path`; with `create`, make it if missing. Refuses another model (IndexMismatch)."""
        path = Path(path)
        store = cls(path, settings, embedder)
        if not store.db_path.is_file():
            if not create:
                raise IndexMissing(f"no index at {path} (build one with: matcher index add FILE --index {path})")
            if embedder is None:
                raise MatcherError("creating an index needs an embedder")
            store._create()
        store._check_model()
        return store

    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            # WAL mode is set once at creation and persists in the file: asking again on every connection
            # needs a lock, which a stopped writer may hold ("locking protocol").
            con.execute("PRAGMA synchronous=FULL")
            con.execute("PRAGMA secure_delete=ON")
            return con
        except sqlite3.DatabaseError as e:
            raise self._read_error("open", e) from e

    def _create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with self._writer():
            if self.db_path.is_file():
                return
            tmp = self.path / ".index.sqlite.new"
            if tmp.exists():
                tmp.unlink()
            con = sqlite3.connect(tmp, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            meta = new_meta(self.embedder, self.settings)  # type: ignore[arg-type]
            con.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
            con.close()
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.db_path)  # the index appears complete or not at all
            fsync_dir(self.path)

    def meta(self) -> dict[str, str]:
        con = self._connect()
        try:
            return dict(con.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as e:
            raise self._read_error("read", e) from e
        finally:
            con.close()

    def _read_error(self, verb: str, e: sqlite3.DatabaseError) -> MatcherError:
        """SQLite says "disk I/O error" when the disk is full; tell that apart from a damaged index."""
        import shutil
        try:
            free = shutil.disk_usage(self.path).free
        except OSError:
            free = None
        if free is not None and free < (1 << 20):
            return MatcherError(f"cannot {verb} {self.db_path}: the disk is full ({free} bytes free); "
                                "the index on disk is unchanged, free some space and retry")
        return IndexCorrupt(f"cannot {verb} {self.db_path}: {e}")

    def _check_model(self) -> None:
        meta = self.meta()
        if self.embedder is None:
            return
        built, asked = meta.get("model"), self.embedder.name
        if built != asked:
            raise IndexMismatch(f"index at {self.path} was built with model {built!r}, not {asked!r}; "
                                f"use --model {built} or another --index")
        if int(meta.get("dim", 0)) != self.embedder.dim:
            raise IndexMismatch(f"index at {self.path} has dimension {meta.get('dim')}, "
                                f"the model gives {self.embedder.dim}")
        if meta.get("normalized") != ("1" if self.embedder.normalized else "0"):
            raise IndexMismatch(f"index at {self.path} was built with normalized={meta.get('normalized')}")
        built_tokens = meta.get("posting_tokens", "256")  # indexes made before the setting embedded 256
        if built_tokens != str(self.settings.posting_tokens):
            raise IndexMismatch(f"index at {self.path} embedded postings at {built_tokens} tokens, the settings "
                                f"ask for {self.settings.posting_tokens}; rebuild it or use another --index")

    # ---------------------------------------------------------------- writing
    def _writer(self):
        from filelock import FileLock, Timeout
        self.path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path / ".lock"))

        class _Held:
            def __enter__(self_inner):
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    raise IndexLocked(f"another process is writing to the index at {self.path}; "
                                      "try again when it has finished") from None
                return self_inner

            def __exit__(self_inner, *exc):
                lock.release()
                return False
        return _Held()

    def add(self, kind: str, items: Sequence[Item], progress: Callable[[int], None] | None = None,
            on_total: Callable[[int], None] | None = None) -> AddResult:
        """Add or update documents by id, embedding only new or changed ones, in one transaction."""
        items = add_batch(kind, items, self.embedder)
        with self._writer():
            con = self._connect()
            try:
                old = dict(con.execute("SELECT id, hash FROM docs WHERE kind=?", (kind,)).fetchall())
                hashes, todo, result = changed_items(kind, items, old)
                if on_total:
                    on_total(len(todo))
                if not todo:
                    result.generation = int(self.meta()["generation"])
                    return result
                texts = [document_text(it) if kind == "postings" else query_text(it) for it in todo]  # type: ignore[arg-type]
                xb = self._embed(kind, texts, progress)
                con.execute("BEGIN IMMEDIATE")
                gen = int(con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0]) + 1
                to_json = posting_to_json if kind == "postings" else candidate_to_json
                rows = [(kind, it.id, hashes[it.id], to_json(it), it.text, xb[i].astype(np.float32).tobytes(), gen)  # type: ignore[arg-type]
                        for i, it in enumerate(todo)]
                con.executemany("INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                con.executemany("INSERT INTO changes VALUES (?, ?, ?, ?)",
                                [(gen, kind, it.id, "update" if it.id in old else "add") for it in todo])
                self._bump(con, gen)
                con.execute("COMMIT")
            except sqlite3.OperationalError as e:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise MatcherError(f"could not write the index at {self.path}: {e}; "
                                   "the previous version is intact") from e
            finally:
                con.close()
            result.added = sorted(it.id for it in todo if it.id not in old)
            result.updated = sorted(it.id for it in todo if it.id in old)
            result.generation = gen
            self._after_write(gen)
            return result

    def _embed(self, kind: str, texts: list[str], progress) -> np.ndarray:
        if kind == "cvs":
            return _embed_long(self.embedder, texts, progress)  # type: ignore[arg-type]
        return posting_embedder(self.embedder, self.settings).embed(texts, progress=progress)  # type: ignore[arg-type]

    def remove(self, kind: str, ids: Iterable[str], erase: bool = False) -> list[str]:
        """Remove documents by id; returns the ids that were present. `erase` also wipes their traces (and then
        also returns ids whose earlier, interrupted erasure this call completed)."""
        ids = list(dict.fromkeys(ids))
        with self._writer():
            con = self._connect()
            committed, wipe_failed = False, None
            # An erasure is recorded (as a hash of kind and id, not the id) in the transaction that deletes the
            # rows, and cleared once every trace is wiped: a re-run after an interrupted wipe finishes it and
            # reports the id as erased.
            tokens = {i: hashlib.sha256(f"{kind}\0{i}".encode()).hexdigest() for i in ids}
            try:
                con.execute("BEGIN IMMEDIATE")
                if erase:
                    con.execute("CREATE TABLE IF NOT EXISTS erasures (token TEXT PRIMARY KEY)")
                present = [i for i in ids if con.execute(
                    "SELECT 1 FROM docs WHERE kind=? AND id=?", (kind, i)).fetchone()]
                pending = [i for i in ids if erase and i not in present and con.execute(
                    "SELECT 1 FROM erasures WHERE token=?", (tokens[i],)).fetchone()]
                gen = int(con.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0])
                if not present:
                    con.execute("ROLLBACK")
                    if not erase:
                        return []
                    # Nothing to remove, but an erasure interrupted after its commit (disk full) left traces
                    # in free pages and old caches: the same command wipes them.
                else:
                    gen += 1
                    con.executemany("DELETE FROM docs WHERE kind=? AND id=?", [(kind, i) for i in present])
                    if erase:
                        con.executemany("DELETE FROM changes WHERE kind=? AND id=?", [(kind, i) for i in present])
                        for table, col in self._person_tables(con):
                            con.executemany(f"DELETE FROM {table} WHERE {col}=?", [(i,) for i in present])
                        con.executemany("INSERT OR IGNORE INTO erasures VALUES (?)", [(tokens[i],) for i in present])
                    else:
                        con.executemany("INSERT INTO changes VALUES (?, ?, ?, 'remove')",
                                        [(gen, kind, i) for i in present])
                    self._bump(con, gen)
                    con.execute("COMMIT")
                committed = True
                if erase:
                    con.execute("VACUUM")
                    busy = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    if busy:  # a reader still holds old pages, which keep the erased data in index.sqlite
                        raise sqlite3.OperationalError("another process is reading the index")
                    if con.execute("SELECT 1 FROM sqlite_master WHERE name='erasures'").fetchone() and \
                            con.execute("SELECT 1 FROM erasures LIMIT 1").fetchone():
                        con.execute("DELETE FROM erasures")    # every trace is gone: the records go too
                        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError as e:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                if not committed:
                    raise MatcherError(f"could not write the index at {self.path}: {e}; "
                                       "the previous version is intact") from e
                wipe_failed = e
            finally:
                con.close()
            self._after_write(gen, keep_previous=not erase)
            if wipe_failed is not None:
                raise MatcherError(f"removed {len(present) or len(pending)} {kind} from the index at {self.path}, but "
                                   f"could not wipe every trace ({wipe_failed}); run the same command again once the "
                                   "disk has space and no other process is reading the index") from wipe_failed
            return present + pending

    @staticmethod
    def _person_tables(con: sqlite3.Connection) -> list[tuple[str, str]]:
        """Tables other than docs that hold a `cv_id` column (e.g. stored rerank results)."""
        out = []
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({name})")]
            if "cv_id" in cols:
                out.append((name, "cv_id"))
        return out

    def _bump(self, con: sqlite3.Connection, gen: int) -> None:
        digest = index_hash(con.execute("SELECT kind, id, hash FROM docs ORDER BY kind, id"))
        con.execute("UPDATE meta SET value=? WHERE key='generation'", (str(gen),))
        con.execute("UPDATE meta SET value=? WHERE key='content_hash'", (digest,))

    def _after_write(self, gen: int, keep_previous: bool = True) -> None:
        """Write the new generation's caches and drop older ones (all older ones after an erasure)."""
        self._snapshots.clear()
        # IVF lists of the previous generation are reused for this one, but never after an erasure: centroids are
        # averages of vectors, and nothing derived from an erased CV may stay.
        self._centroid_source = gen - 1 if keep_previous else None
        try:
            self.snapshot()
        except MatcherError:
            pass
        finally:
            self._centroid_source = None
        cache = self.path / "cache"
        if cache.is_dir():
            for f in cache.iterdir():
                g = _cache_generation(f.name)
                if g is None or g < gen - (1 if keep_previous else 0):
                    try:
                        f.unlink()
                    except FileNotFoundError:
                        pass

    # ---------------------------------------------------------------- reading
    def generation(self) -> int:
        return int(self.meta()["generation"])

    def text(self, kind: str, doc_id: str) -> str:
        con = self._connect()
        try:
            row = con.execute("SELECT text FROM docs WHERE kind=? AND id=?", (kind, doc_id)).fetchone()
        finally:
            con.close()
        if row is None:
            raise NotFound(f"no {kind[:-1]} with id {doc_id!r} in the index at {self.path}")
        return row[0]

    def snapshot(self, stem: bool | None = None, backend: str | None = None) -> Snapshot:
        """A consistent view of the current generation (cached in memory per generation), with its vectors in
        `backend` (default: settings.vector_backend)."""
        stem = self.settings.stemming if stem is None else stem
        backend = self.settings.vector_backend if backend is None else backend
        con = self._connect()
        try:
            con.execute("BEGIN")
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            gen = int(meta["generation"])
            key = (gen, stem, backend)
            if key in self._snapshots:
                con.execute("COMMIT")
                return self._snapshots[key]
            dim = int(meta["dim"])
            cols = {kind: self._load_collection(con, kind, gen, dim, stem, backend) for kind in KINDS}
            con.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise IndexCorrupt(f"cannot read the index at {self.path}: {e}") from e
        finally:
            con.close()
        snap = Snapshot(gen, meta["model"], dim, stem, cols["postings"], cols["cvs"], meta.get("content_hash", ""))
        self._snapshots = {k: v for k, v in self._snapshots.items() if k[0] == gen}
        self._snapshots[key] = snap
        return snap

    def _load_collection(self, con, kind: str, gen: int, dim: int, stem: bool, backend: str) -> Collection:
        from_json = posting_from_json if kind == "postings" else candidate_from_json
        rows = con.execute("SELECT id, fields FROM docs WHERE kind=? ORDER BY id", (kind,)).fetchall()
        ids = [r[0] for r in rows]
        records = {i: from_json(f) for i, f in rows}
        cache = self.path / "cache" / f"{kind}-g{gen}-{'stem' if stem else 'plain'}.npz"
        arrays = None
        if cache.is_file():
            try:
                with np.load(cache, allow_pickle=False) as z:
                    arrays = {k: z[k] for k in z.files}
                if list(arrays["ids"]) != ids:
                    arrays = None  # written for another state of this generation: never trust it
            except Exception:  # noqa: BLE001 - a torn or foreign cache (e.g. BadZipFile) is rebuilt, never fatal
                arrays = None
        if arrays is None:
            arrays = self._build_arrays(con, kind, ids, dim, stem)
            try:
                cache.parent.mkdir(exist_ok=True)
                atomic_write(cache, lambda f: np.savez(f, **arrays))
            except OSError:
                pass  # a cache we cannot write (disk full, read-only) is rebuilt next time
        xb = arrays["xb"].reshape(len(ids), dim)
        if len(xb) != len(ids):
            raise IndexCorrupt(f"index at {self.path}: {len(xb)} vectors for {len(ids)} {kind}")
        vindex = make_vector_index(backend, dim)
        if ids:
            vindex.add(ids, xb)
            if backend in ("faiss-ivf", "faiss-hnsw"):
                self._load_faiss_cache(vindex, kind, gen, backend)
        lexical = _bm25_from(arrays, "lex", ids, self.settings)
        titles = _bm25_from(arrays, "title", ids, self.settings)
        return Collection(kind, ids, records, vindex, lexical, titles)

    def _load_faiss_cache(self, vindex, kind: str, gen: int, backend: str) -> None:
        """Approximate FAISS backends: adopt the index cached for this generation, else build it (at 1M vectors,
        IVF ~1 min, HNSW 4-6 min) and cache it. The file is trusted only if it holds exactly these vectors in this
        order (FaissIndex.load)."""
        cache = self.path / "cache" / f"{kind}-g{gen}-{backend}.faiss"
        if cache.is_file():
            try:
                with open(cache, "rb") as f:
                    if vindex.load(f):
                        return
            except Exception:  # noqa: BLE001 - a torn or foreign cache is rebuilt, never fatal
                pass
        centroids = None
        if backend == "faiss-ivf" and self._centroid_source is not None:
            try:   # the lists of the generation just replaced: assigning 1M vectors to them skips k-means (~3x)
                centroids = np.load(self.path / "cache" / f"{kind}-g{self._centroid_source}-{backend}.centroids.npy",
                                    allow_pickle=False)
            except (OSError, ValueError):
                centroids = None
        vindex.build(centroids=centroids) if centroids is not None else vindex.build()
        try:
            cache.parent.mkdir(exist_ok=True)
            atomic_write(cache, vindex.save)
            kept = vindex.centroids() if backend == "faiss-ivf" else None
            if kept is not None:
                atomic_write(cache.with_suffix(".centroids.npy"), lambda f: np.save(f, kept))
        except OSError:
            pass  # a cache we cannot write (disk full, read-only) is rebuilt next time

    def _build_arrays(self, con, kind: str, ids: list[str], dim: int, stem: bool) -> dict[str, np.ndarray]:
        xb = np.zeros((len(ids), dim), dtype=np.float32)
        lex_docs, title_docs = [], []
        from_json = posting_from_json if kind == "postings" else candidate_from_json
        for n, (i, vec, text, fields) in enumerate(con.execute(
                "SELECT id, vector, text, fields FROM docs WHERE kind=? ORDER BY id", (kind,))):
            if len(vec) != dim * 4:
                raise IndexCorrupt(f"index at {self.path}: {kind} vectors do not have dimension {dim} "
                                   f"(one has {len(vec)} bytes); rebuild the index")
            xb[n] = np.frombuffer(vec, dtype=np.float32)
            item = from_json(fields, text)
            if kind == "postings":
                lex_docs.append(analyze(document_text(item), stem=stem))  # type: ignore[arg-type]
                # Titles are always stemmed: masculine and feminine job titles must meet.
                title_docs.append(analyze(item.title, stem=True))  # type: ignore[union-attr]
            else:
                lex_docs.append(analyze(query_text(item), stem=stem))  # type: ignore[arg-type]
                title_docs.append(analyze(item.occupation or "", stem=True))  # type: ignore[union-attr]
        arrays: dict[str, np.ndarray] = {"ids": np.asarray(ids, dtype=str), "xb": xb}
        arrays.update(_bm25_arrays(BM25Index.build(ids, lex_docs), "lex"))
        arrays.update(_bm25_arrays(BM25Index.build(ids, title_docs), "title"))
        return arrays

    def check(self) -> list[str]:
        """Problems found when comparing vectors, metadata and lexical data (empty when consistent)."""
        problems = []
        con = self._connect()
        try:
            integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                problems.append(f"SQLite integrity check: {integrity}")
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            dim = int(meta.get("dim", 0))
            for kind, n, bad in con.execute(
                    "SELECT kind, COUNT(*), SUM(LENGTH(vector) != ?) FROM docs GROUP BY kind", (dim * 4,)):
                if bad:
                    problems.append(f"{bad} {kind} vectors do not have dimension {dim}")
        finally:
            con.close()
        return problems + snapshot_problems(self.snapshot())

    def info(self) -> dict:
        """Generation, counts, model and consistency problems (empty list when all agree)."""
        return info_report(str(self.path), self.meta(), self.check(), self.snapshot())

    def changes_since(self, generation: int, kind: str = "postings") -> list[tuple[int, str, str]]:
        """(generation, id, op) of every change of `kind` after `generation`, oldest first."""
        con = self._connect()
        try:
            return con.execute("SELECT generation, id, op FROM changes WHERE kind=? AND generation>? "
                               "ORDER BY generation, id", (kind, generation)).fetchall()
        finally:
            con.close()

    def connect(self) -> sqlite3.Connection:
        """A connection to the metadata database, for layers above that store results beside the index."""
        return self._connect()

    @property
    def location(self) -> Path:
        """Where the index is, as open_index takes it."""
        return self.path

    def exclusive(self, name: str, busy: str):
        """A context held by one process at a time (the file lock .<name>.lock); raises IndexLocked(busy) when
        another process holds it."""
        from filelock import FileLock, Timeout
        lock = FileLock(str(self.path / f".{name}.lock"))

        class _Held:
            def __enter__(self_inner):
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    raise IndexLocked(busy) from None
                return self_inner

            def __exit__(self_inner, *exc):
                lock.release()
                return False
        return _Held()


def snapshot_problems(snap: Snapshot) -> list[str]:
    """Disagreements between a snapshot's metadata, vectors and lexical index (every backend)."""
    problems = []
    for col in (snap.postings, snap.cvs):
        if not (len(col.ids) == len(col.records) == len(col.vectors) == len(col.lexical)):
            problems.append(f"{col.kind}: {len(col.records)} records, {len(col.vectors)} vectors, "
                            f"{len(col.lexical)} lexical entries")
        if col.vectors.ids != col.ids or col.lexical.ids != col.ids:
            problems.append(f"{col.kind}: vector/lexical ids do not match the metadata")
    return problems


def info_report(path: str, meta: dict[str, str], problems: list[str], snap: Snapshot, **extra) -> dict:
    """What `matcher index info` reports, for every backend."""
    return {"path": path, "generation": snap.generation, "postings": len(snap.postings), "cvs": len(snap.cvs),
            "model": meta.get("model"), "dim": int(meta.get("dim", 0)), "normalized": meta.get("normalized") == "1",
            "content_hash": meta.get("content_hash"), "consistent": not problems, "problems": problems, **extra}


def _cache_generation(name: str) -> int | None:
    try:
        return int(name.split("-g", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def _bm25_arrays(index: BM25Index, prefix: str) -> dict[str, np.ndarray]:
    tf = index.tf
    return {f"{prefix}_data": tf.data, f"{prefix}_indices": tf.indices, f"{prefix}_indptr": tf.indptr,
            f"{prefix}_shape": np.asarray(tf.shape, dtype=np.int64), f"{prefix}_len": index.doc_len,
            f"{prefix}_vocab": np.asarray(list(index.vocab), dtype=str)}


def _bm25_from(arrays: dict[str, np.ndarray], prefix: str, ids: list[str], settings: Settings) -> BM25Index:
    from scipy.sparse import csc_matrix
    shape = tuple(int(x) for x in arrays[f"{prefix}_shape"])
    tf = csc_matrix((arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]), shape=shape)
    vocab = {t: j for j, t in enumerate(arrays[f"{prefix}_vocab"].tolist())}
    return BM25Index(list(ids), vocab, tf, arrays[f"{prefix}_len"], settings.bm25_k1, settings.bm25_b)


def posting_embedder(embedder: Embedder, settings: Settings) -> Embedder:
    """The embedder postings go through: truncated to settings.posting_tokens tokens, in every path that
    embeds a posting (index add, a posting file given to `candidates`), so their vectors agree."""
    return truncated(embedder, settings.posting_tokens)


def _embed_long(embedder: Embedder, texts: list[str], progress, words: int = 160) -> np.ndarray:
    """Embed long texts (CVs) as the normalised mean of their ~`words`-word chunks."""
    chunks, owner = [], []
    for i, text in enumerate(texts):
        w = text.split()
        parts = [" ".join(w[s:s + words]) for s in range(0, max(len(w), 1), words)] or [""]
        chunks.extend(parts)
        owner.extend([i] * len(parts))
    xc = embedder.embed(chunks)
    out = np.zeros((len(texts), xc.shape[1]), dtype=np.float32)
    np.add.at(out, np.asarray(owner), xc)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.where(norms > 0, norms, 1.0)
    if progress:
        progress(len(texts))
    return out


_QUERY_CACHE: "OrderedDict[tuple[str, str], np.ndarray]" = OrderedDict()


def embed_query(embedder: Embedder, candidate: Candidate) -> np.ndarray:
    """The query vector of a CV, computed the same way as stored CV vectors.

    The last 64 query vectors are kept (by model and text hash): a CV asked again (mobility, --explain,
    repeated searches) is not embedded twice."""
    text = query_text(candidate)
    key = (embedder.name, hashlib.sha256(text.encode()).hexdigest())
    if key in _QUERY_CACHE:
        _QUERY_CACHE.move_to_end(key)
        return _QUERY_CACHE[key]
    vec = _embed_long(embedder, [text], None)[0]
    _QUERY_CACHE[key] = vec
    while len(_QUERY_CACHE) > 64:
        _QUERY_CACHE.popitem(last=False)
    return vec


__all__.append("embed_query")
