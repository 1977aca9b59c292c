"""The Ray engine (matcher.scale) against the serial path: same vectors, same rerank results, clear errors.

One local Ray (2 CPUs, no dashboard, no usage statistics) is started for the module. Tests that need Ray
are skipped only when it is not installed (`pip install 'matcher[scale]'`)."""
from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import matcher.rerank as rr
from matcher.cli import app
from matcher.config import Settings
from matcher.embed import HashingEmbedder
from matcher.errors import ConfigError, IndexMismatch, MatcherError
from matcher.index.store import IndexStore
from matcher.rerank import rerank

from .test_rerank import build, make_cvs, make_postings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "corpus" / "postings" / "seeds.jsonl"
TABLES = ("rerank_runs", "rerank_topk", "rerank_best", "rerank_entered")
runner = CliRunner()


@pytest.fixture(scope="module")
def ray_local():
    """A local Ray for the whole module, stopped afterwards (unless something else had started one)."""
    ray = pytest.importorskip("ray", reason="pip install 'matcher[scale]'")
    pytest.importorskip("ray.data", reason="pip install 'matcher[scale]'")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        mp.delenv("RAY_ADDRESS", raising=False)
        started = not ray.is_initialized()
        if started:
            ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
        yield ray
        if started:
            ray.shutdown()


def rows(path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(Path(path) / "index.sqlite")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def vectors(path: Path, kind: str) -> list[tuple[str, bytes]]:
    return rows(path, f"SELECT id, vector FROM docs WHERE kind='{kind}' ORDER BY id")


def results(path: Path) -> dict[str, list[tuple]]:
    """Every stored rerank table but the run's timestamps."""
    out = {t: rows(path, f"SELECT * FROM {t} ORDER BY 1, 2, 3") for t in TABLES}
    out["rerank_runs"] = [r[:7] for r in out["rerank_runs"]]
    return out


def full(report) -> tuple:
    """A RerankReport with unrounded scores (to_dict rounds them to 6 decimals)."""
    return (report.generation, report.index_generation, report.k, report.scored_postings, report.removed_postings,
            sorted(report.entered, key=lambda e: (e.cv_id, e.rank)), report.best, report.cvs_processed,
            report.nothing_new, report.resumed)


# ---------------------------------------------------------------------------- without Ray
def test_without_ray_the_ray_engine_is_a_config_error(tmp_path, monkeypatch, settings, embedder):
    monkeypatch.setitem(sys.modules, "ray", None)        # `import ray` now raises ImportError
    from matcher.scale import RayEmbedder
    with pytest.raises(ConfigError, match=re.escape("pip install 'matcher[scale]'")):
        RayEmbedder(embedder)
    store = build(tmp_path / "idx", settings, embedder, n_postings=4, n_cvs=3)
    with pytest.raises(ConfigError, match="Ray Data"):
        rerank(store, settings.with_(engine="ray"), embedder, k=3)
    assert rows(store.path, "SELECT name FROM sqlite_master WHERE name='rerank_runs'") == []  # nothing written
    r = runner.invoke(app, ["index", "add", str(SEEDS), "--index", str(tmp_path / "new"), "--engine", "ray"],
                      env={"MATCHER_MODEL": "fake-hashing"})
    assert r.exit_code == 1
    assert "error: --engine ray needs Ray Data, which is not installed: pip install 'matcher[scale]'" in r.output
    assert not (tmp_path / "new").exists()               # refused before anything was read or created


def test_unknown_engine_and_workers(tmp_path):
    r = runner.invoke(app, ["rerank", "--index", str(tmp_path), "--engine", "spark"])
    assert r.exit_code == 1 and "unknown engine 'spark'; valid: serial, ray" in r.output
    with pytest.raises(ConfigError, match="workers"):
        Settings(workers=-1)
    assert Settings.from_env().engine == "serial"        # serial unless asked


def test_ray_is_imported_only_when_asked():
    code = ("import sys, matcher, matcher.cli, matcher.service, matcher.rerank, matcher.scale\n"
            "from matcher.cli import match_app\n"
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_changed_index_is_refused_by_the_workers(tmp_path, settings, embedder):
    store = build(tmp_path / "idx", settings, embedder, n_postings=4, n_cvs=3)
    gen = store.generation()
    score = rr._scorer_worker(IndexStore, store.path, settings, gen, ["p000"], 3)
    topk, best = score(["c000", "c001"])
    assert {r[0] for r in topk} <= {"c000", "c001"} and all(b[0] == "p000" for b in best)
    store.add("postings", make_postings(random.Random(1), 50, 1))
    with pytest.raises(IndexMismatch, match=f"changed during the rerank \\(generation {gen}, now {gen + 1}\\)"):
        rr._scorer_worker(IndexStore, store.path, settings, gen, ["p000"], 3)


def test_a_dead_cluster_left_in_ray_tmp_is_not_joined(tmp_path):
    """Without RAY_ADDRESS matcher starts its own local Ray, even when a killed `ray start --head` left its
    address in <ray tmp>/ray_current_cluster (plain ray.init() would try to join it and fail)."""
    pytest.importorskip("ray.data", reason="pip install 'matcher[scale]'")
    with ray_tmp() as (base, env):
        (base / "ray").mkdir()
        (base / "ray" / "ray_current_cluster").write_text("127.0.0.1:9")   # nothing listens there
        code = ("import ray, matcher.scale as s\n"
                "print(s._start(ray) >= 1, ray.get_runtime_context().get_node_id() is not None)\n"
                "ray.shutdown()")
        try:   # ray.init() waits for the dead cluster for minutes; a local start takes seconds
            run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail("Ray did not start in 120 s: it waited for the dead cluster")
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.split() == ["True", "True"]


@contextmanager
def ray_tmp():
    """(a short temporary directory for Ray's files, this process's environment without RAY_ADDRESS, with
    RAY_TMPDIR set to it): processes started with it see no Ray of this machine but their own."""
    base = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))   # Ray's socket paths must stay short
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_TMPDIR=str(base), RAY_USAGE_STATS_ENABLED="0")
    try:
        yield base, env
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------------------- with Ray
def _fail_at_start():
    raise IndexMismatch("the index moved")


def _make_inverse():
    return lambda x: 1 / x


def _call_actor(make_worker, items: list) -> list[tuple]:
    """What an actor of map_actors returns for one batch, without Ray."""
    import pickle

    from matcher.scale import _Actor, _threads
    actor = type("_Actor", (_Actor,), {"make_worker": staticmethod(make_worker), "threads": _threads()})()
    out = actor({"pos": np.arange(len(items)), "item": [pickle.dumps(x) for x in items]})
    return [pickle.loads(r) for r in out["result"]]


def test_worker_errors_come_back_as_results():
    (ok, err), = _call_actor(_fail_at_start, [1])
    assert not ok and type(err) is IndexMismatch and str(err) == "the index moved"
    (ok1, one), (ok0, zero) = _call_actor(_make_inverse, [4, 0])
    assert (ok1, one) == (True, 0.25)
    assert not ok0 and str(zero) == "a Ray worker failed: ZeroDivisionError: division by zero"


def test_what_a_worker_raises_is_sent_back_as_a_matcher_error():
    from matcher.errors import ParseError
    from matcher.scale import _portable
    assert _portable(e := IndexMismatch("moved")) is e
    assert str(_portable(ZeroDivisionError("division by zero"))) == \
        "a Ray worker failed: ZeroDivisionError: division by zero"
    back = _portable(ParseError("cv.pdf", "encrypted"))  # its __init__ does not take its message back
    assert type(back) is MatcherError and str(back) == "cv.pdf: encrypted"


def test_ray_embedder_gives_the_serial_vectors(ray_local):
    from matcher.scale import RayEmbedder
    serial = HashingEmbedder(dim=48, name="fake-hashing:48")
    rng = random.Random(3)
    words = "aide soignant infirmier cuisinier ehpad soins nuit équipe permis chantier".split()
    texts = [" ".join(rng.choices(words, k=rng.randint(0, 40))) for _ in range(300)]   # 3 pieces of 128
    ray_embedder = RayEmbedder(serial, workers=2)
    assert (ray_embedder.name, ray_embedder.dim, ray_embedder.normalized) == ("fake-hashing:48", 48, True)
    done: list[int] = []
    xb = ray_embedder.embed(texts, progress=done.append)
    assert xb.dtype == np.float32 and xb.shape == (300, 48)
    assert np.array_equal(xb, serial.embed(texts))
    assert sorted(done) == [44, 128, 128]
    assert ray_embedder.embed([]).shape == (0, 48)


def _write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """60 postings, and 40 CVs of 400-700 words: 3-5 chunks of 160 words each, more than one piece of 128."""
    rng = random.Random(11)
    postings = tmp_path / "postings.jsonl"
    postings.write_text("".join(json.dumps({"id": p.id, "title": p.title, "text": p.text, "source": "test"},
                                           ensure_ascii=False) + "\n" for p in make_postings(rng, 0, 60)),
                        encoding="utf-8")
    cvs = tmp_path / "cvs"
    cvs.mkdir()
    for c in make_cvs(rng, 0, 40):
        words = (c.text + " ").split() * rng.randint(10, 17)
        (cvs / f"{c.id}.txt").write_text("Mende\n" + " ".join(words) + "\nPermis B\n", encoding="utf-8")
    return postings, cvs


def test_cli_index_add_and_rerank_with_ray_equal_serial(ray_local, tmp_path, monkeypatch):
    monkeypatch.setenv("MATCHER_MODEL", "fake-hashing")
    first, cvs = _write_inputs(tmp_path)
    serial, ray = tmp_path / "serial", tmp_path / "ray"
    for idx, engine in ((serial, []), (ray, ["--engine", "ray"])):
        # postings serially in both (test_ray_embedder_gives_the_serial_vectors has them), CVs by each engine
        r = runner.invoke(app, ["index", "add", str(first), "--index", str(idx), "--json"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["index", "add", str(cvs), "--kind", "cvs", "--index", str(idx), "--json", *engine])
        assert r.exit_code == 0, r.output
    assert len(vectors(serial, "postings")) == 60 and len(vectors(serial, "cvs")) == 40
    assert vectors(ray, "cvs") == vectors(serial, "cvs")     # the same float32 bytes
    assert rows(ray, "SELECT * FROM meta ORDER BY key") == rows(serial, "SELECT * FROM meta ORDER BY key")

    outputs = []
    for idx, env in ((serial, {}), (ray, {"MATCHER_ENGINE": "ray", "MATCHER_WORKERS": "2"})):
        r = runner.invoke(app, ["rerank", "--index", str(idx), "--top", "4", "--json"], env=env)
        assert r.exit_code == 0, r.output
        outputs.append(json.loads(r.stdout))
    assert outputs[0] == outputs[1] and len(outputs[0]["entered"]) > 40
    assert results(ray) == results(serial)


@pytest.mark.slow
def test_ray_address_names_the_cluster_used(tmp_path, monkeypatch):
    """With RAY_ADDRESS, `--engine ray` runs on that cluster (here a head started by another process, with token
    authentication, as a shared cluster would have) and gives the serial results; no local Ray is started."""
    pytest.importorskip("ray.data", reason="pip install 'matcher[scale]'")
    import secrets
    monkeypatch.setenv("MATCHER_MODEL", "fake-hashing")
    postings, cvs = _write_inputs(tmp_path)
    serial, ray_idx = tmp_path / "serial", tmp_path / "ray"
    for idx in (serial, ray_idx):
        for path, kind in ((postings, "postings"), (cvs, "cvs")):
            r = runner.invoke(app, ["index", "add", str(path), "--kind", kind, "--index", str(idx), "--json"])
            assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["rerank", "--index", str(serial), "--top", "4", "--json"])
    assert r.exit_code == 0, r.output
    want = json.loads(r.stdout)

    with ray_tmp() as (base, env):
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), MATCHER_MODEL="fake-hashing")
        head = subprocess.Popen([sys.executable, "-c", (
            "import logging, sys, ray\n"
            "ray.init(address='local', num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)\n"
            "print(ray.get_runtime_context().gcs_address, flush=True)\n"
            "sys.stdin.read()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        try:
            address = head.stdout.readline().strip()
            assert address, "the head did not start"
            run = subprocess.run([sys.executable, "-m", "matcher", "rerank", "--index", str(ray_idx), "--top", "4",
                                  "--json", "--engine", "ray"], capture_output=True, text=True, timeout=300,
                                 env={**env, "RAY_ADDRESS": address})
            assert run.returncode == 0, run.stderr[-2000:]
            assert json.loads(run.stdout) == want
            assert results(ray_idx) == results(serial)
            sessions = [p.name for p in (base / "ray").iterdir() if p.name.startswith("session_2")]
            assert len(sessions) == 1, sessions          # the head's: the command started no Ray of its own
        finally:
            head.stdin.close()
            head.wait(timeout=60)


def _rerank_both(serial: IndexStore, ray: IndexStore, settings: Settings, k: int = 5) -> tuple:
    a = rerank(serial, settings, None, k=k)
    b = rerank(ray, settings.with_(engine="ray", workers=2), None, k=k)
    assert full(b) == full(a)
    assert results(ray.path) == results(serial.path)
    return a


def test_rerank_with_ray_equals_serial_over_runs(ray_local, tmp_path, settings, embedder, monkeypatch):
    monkeypatch.setattr(rr, "BATCH_CVS", 5)          # 6 batches of CVs, spread over 2 actors
    serial = build(tmp_path / "serial", settings, embedder, n_cvs=28)
    shutil.copytree(serial.path, tmp_path / "ray")
    ray = IndexStore.open(tmp_path / "ray", settings, embedder)

    first = _rerank_both(serial, ray, settings)
    assert first.cvs_processed == 28 and len(first.entered) == len(results(serial.path)["rerank_topk"]) > 28
    # new and changed postings: every CV is re-scored, the new postings get best-CV lists
    for store in (serial, ray):
        p7 = replace(store.snapshot().postings.records["p007"], text="cuisinier restauration collective équipe nuit")
        store.add("postings", make_postings(random.Random(8), 100, 6) + [p7])
    second = _rerank_both(serial, ray, settings)
    assert second.generation == 2 and len(second.scored_postings) == 7 and second.best


@pytest.mark.slow
def test_real_model_vectors_are_bitwise_the_serial_ones(ray_local):
    """all-MiniLM-L6-v2 as `index add` embeds postings (truncated to 160 tokens): 40 texts of uneven length, some
    past 160 tokens, in pieces of 16 (batch_size 4), the last one of 8 (below the numpy-twin limit, which a fresh
    serial embedder does not use for it); then 10 texts, which the numpy twin embeds (its BLAS products differ
    by ~2.5e-8 with another thread count: the actor must take the caller's)."""
    from matcher.embed import SentenceTransformerEmbedder, truncated
    from matcher.scale import RayEmbedder
    lines = [ln.strip() for r in SEEDS.read_text(encoding="utf-8").splitlines()
             for ln in json.loads(r)["text"].splitlines() if len(ln.split()) >= 3]
    texts = [" ".join(lines[i:i + (40 if i % 9 == 0 else 1 + i % 5)]) for i in range(40)]
    assert len(texts[0].split()) > 200   # > 160 tokens: a Ray path that did not truncate would differ
    serial = truncated(SentenceTransformerEmbedder(batch_size=4), 160).embed(texts)
    xb = RayEmbedder(SentenceTransformerEmbedder(batch_size=4), workers=1).limited(160).embed(texts)  # 1 model load
    assert np.array_equal(xb, serial), float(np.abs(xb - serial).max())
    few = SentenceTransformerEmbedder(batch_size=4).embed(texts[1:11])
    assert np.array_equal(RayEmbedder(SentenceTransformerEmbedder(batch_size=4)).embed(texts[1:11]), few)


def test_rerank_with_ray_on_postgresql_equals_serial(ray_local, pg_server, settings, embedder):
    """The actors reopen a PostgreSQL index by its URL (with credentials), not by its redacted path."""
    import uuid

    import psycopg

    from matcher.index import open_index
    schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    urls = [f"{pg_server.get_uri()}&schema={schema}" for schema in schemas]
    try:
        for url in urls:
            rng = random.Random(7)
            store = open_index(url, settings, embedder, create=True)
            store.add("postings", make_postings(rng, 0, 30))
            store.add("cvs", make_cvs(rng, 0, 24))
        a = rerank(open_index(urls[0], settings, None), settings, None, k=4)
        b = rerank(open_index(urls[1], settings, None), settings.with_(engine="ray"), None, k=4)
        assert full(b) == full(a) and len(a.entered) > 24
    finally:
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as con:
            for schema in schemas:
                con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
