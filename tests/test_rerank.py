"""Batch re-ranking: brute force agreement, incrementality, idempotence, kill-and-resume, removal, forget, CLI."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher import Language, Requirement
from matcher.cli import app
from matcher.index.store import IndexStore
from matcher.rank import Matcher
from matcher.rerank import rerank, stored_results

from .conftest import FLORAC, MENDE, NIMES, PARIS, candidate, posting

WORDS = ("aide soignant infirmier cuisinier ehpad soins hygiène domicile restauration collective secrétaire "
         "médical accueil patients maçon chantier électricien tableau chauffeur livraison permis agent entretien "
         "espaces verts comptable paie gestion stock vente magasin nuit équipe").split()
PLACES = (MENDE, FLORAC, NIMES, PARIS)
K = 5
TABLES = ("rerank_topk", "rerank_best", "rerank_entered", "rerank_pending", "rerank_pending_best", "rerank_progress")


def make_postings(rng: random.Random, start: int, n: int):
    out = []
    for i in range(start, start + n):
        r = rng.random()
        reqs = ((Requirement("licence", "B", True),) if r < 0.2 else (Requirement("language", "en", True, "B2"),)
                if r < 0.3 else (Requirement("language", "ro", False),) if r < 0.45 else ())
        p = posting(f"p{i:03d}", " ".join(rng.choices(WORDS, k=3)), " ".join(rng.choices(WORDS, k=30)),
                    place=rng.choice(PLACES), contract=rng.choice(["CDI", "CDD", None]), reqs=reqs)
        out.append(replace(p, diplomas=rng.choice([(), (), ("AS",), ("IDE", "AS")])))
    return out


def make_cvs(rng: random.Random, start: int, n: int):
    return [replace(candidate(f"c{i:03d}", " ".join(rng.choices(WORDS, k=40)), place=rng.choice(PLACES),
                              mobility=rng.choice(["region", "department", "france", "radius_km:50"]),
                              contracts=rng.choice([(), ("CDI",), ("CDD", "CDI")]), licences=rng.choice([(), ("B",)]),
                              languages=rng.choice([(), (Language("en", "C1"),), (Language("ro", None),)])),
                    occupation=rng.choice([None, " ".join(rng.choices(WORDS, k=2))]),
                    diplomas=rng.choice([(), ("AS",), ("IDE",)]))
            for i in range(start, start + n)]


def build(path: Path, settings, embedder, n_postings: int = 30, n_cvs: int = 24, seed: int = 7) -> IndexStore:
    rng = random.Random(seed)
    store = IndexStore.open(path, settings, embedder, create=True)
    store.add("postings", make_postings(rng, 0, n_postings))
    store.add("cvs", make_cvs(rng, 0, n_cvs))
    return store


def brute_topk(store, settings, embedder, k: int = K) -> dict[str, list[tuple[str, float]]]:
    """Every CV's top-k by Matcher.match, the CV read back from the index."""
    snap = store.snapshot(stem=settings.stemming)
    m = Matcher(store, settings, embedder)
    out = {}
    for cid in snap.cvs.ids:
        cv = replace(snap.cvs.records[cid], text=store.text("cvs", cid))
        out[cid] = [(x.posting_id, x.score) for x in m.match(cv, k=k)]
    return out


def brute_best(store, settings, embedder, posting_ids, k: int = K) -> dict[str, list[tuple[str, float]]]:
    """Per posting, the k CVs that score it highest in their own Matcher.match ranking."""
    snap = store.snapshot(stem=settings.stemming)
    m = Matcher(store, settings, embedder)
    scores: dict[str, list[tuple[float, str]]] = {p: [] for p in posting_ids}
    for cid in snap.cvs.ids:
        cv = replace(snap.cvs.records[cid], text=store.text("cvs", cid))
        for x in m.match(cv, k=len(snap.postings)):
            if x.posting_id in scores:
                scores[x.posting_id].append((x.score, cid))
    return {p: [(c, s) for s, c in sorted(v, key=lambda t: (-t[0], t[1]))[:k]] for p, v in scores.items()}


def assert_same_ranking(stored: dict, brute: dict) -> None:
    for cid, expected in brute.items():
        got = [(p, s) for p, _, s in stored.get(cid, [])]
        assert [p for p, _ in got] == [p for p, _ in expected], cid
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-9), cid


def rows(store: IndexStore, sql: str, *args):
    con = sqlite3.connect(store.db_path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


@pytest.fixture
def store(tmp_path, settings, embedder):
    return build(tmp_path / "idx", settings, embedder)


@pytest.mark.parametrize("stemming", [True, False])
def test_first_run_matches_brute_force(tmp_path, settings, embedder, stemming):
    settings = settings.with_(stemming=stemming)
    store = build(tmp_path / "idx", settings, embedder)
    report = rerank(store, settings, embedder, k=K)
    assert report.generation == 1 and report.scored_postings == store.snapshot().postings.ids
    brute = brute_topk(store, settings, embedder)
    assert_same_ranking(stored_results(store), brute)
    # on a first run every top-k entry is new
    assert sorted((e.cv_id, e.posting_id) for e in report.entered) == \
        sorted((c, p) for c, lst in brute.items() for p, _ in lst)


@pytest.mark.parametrize("pool", [200, 4])  # 4: the union-of-top-pool path of Matcher._pool
def test_added_postings_checked_against_brute_force(tmp_path, settings, embedder, pool):
    settings = settings.with_(pool=pool)
    store = build(tmp_path / "idx", settings, embedder)
    rerank(store, settings, embedder, k=K)
    before = brute_topk(store, settings, embedder)
    rng = random.Random(99)
    new = make_postings(rng, 100, 12)
    changed = replace(store.snapshot().postings.records["p004"], text="cuisinier restauration collective équipe")
    store.add("postings", new + [changed])
    report = rerank(store, settings, embedder, k=K)
    assert report.generation == 2
    assert report.scored_postings == sorted(["p004"] + [p.id for p in new])
    after = brute_topk(store, settings, embedder)
    assert_same_ranking(stored_results(store), after)
    # entered = in the CV's top-k now, not before, with the rank and score Matcher gives
    expected = sorted((cid, pid, n, s) for cid, lst in after.items()
                      for n, (pid, s) in enumerate(lst, 1) if pid not in {p for p, _ in before[cid]})
    got = sorted((e.cv_id, e.posting_id, e.rank, e.score) for e in report.entered)
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    assert [g[3] for g in got] == pytest.approx([e[3] for e in expected], abs=1e-9)
    # per new posting, its best CVs
    best = brute_best(store, settings, embedder, report.scored_postings)
    for pid, lst in best.items():
        mine = [(b.cv_id, b.score) for b in report.best if b.posting_id == pid]
        assert [c for c, _ in mine] == [c for c, _ in lst], pid
        assert [s for _, s in mine] == pytest.approx([s for _, s in lst], abs=1e-9)


def test_second_run_does_nothing(store, settings, embedder):
    first = rerank(store, settings, embedder, k=K)
    topk = rows(store, "SELECT * FROM rerank_topk ORDER BY cv_id, posting_id")
    again = rerank(store, settings, embedder, k=K)
    assert again.nothing_new and again.to_dict() == {"generation": first.generation, "scored_postings": [],
                                                     "entered": [], "best": [], "removed_postings": []}
    assert rows(store, "SELECT * FROM rerank_topk ORDER BY cv_id, posting_id") == topk
    assert rows(store, "SELECT generation, status FROM rerank_runs") == [(1, "done")]


def test_only_new_cvs_are_processed(store, settings, embedder):
    rerank(store, settings, embedder, k=K)
    store.add("cvs", make_cvs(random.Random(5), 500, 1))
    report = rerank(store, settings, embedder, k=K)
    assert report.generation == 2 and report.cvs_processed == 1 and report.scored_postings == []
    brute = brute_topk(store, settings, embedder)
    assert [(e.posting_id, e.rank) for e in report.entered] == [(p, n) for n, (p, _) in enumerate(brute["c500"], 1)]
    assert_same_ranking(stored_results(store), brute)


def test_removed_posting_leaves_the_results(store, settings, embedder):
    rerank(store, settings, embedder, k=K)
    closed = rows(store, "SELECT posting_id, COUNT(*) n FROM rerank_topk GROUP BY posting_id ORDER BY n DESC")[0][0]
    store.remove("postings", [closed])
    assert all(closed not in [p for p, _, _ in lst] for lst in stored_results(store).values())  # hidden at once
    report = rerank(store, settings, embedder, k=K)
    assert report.removed_postings == [closed]
    for table in ("rerank_topk", "rerank_best", "rerank_entered"):
        assert rows(store, f"SELECT COUNT(*) FROM {table} WHERE posting_id=?", closed) == [(0,)]
    assert_same_ranking(stored_results(store), brute_topk(store, settings, embedder))


def test_forget_erases_a_cvs_results(store, settings, embedder):
    from matcher.service import forget_cvs
    rerank(store, settings, embedder, k=K)
    assert rows(store, "SELECT COUNT(*) FROM rerank_topk WHERE cv_id='c003'")[0][0] > 0
    assert forget_cvs(["c003"], settings, index=store.path) == ["c003"]
    for table in TABLES:
        assert rows(store, f"SELECT COUNT(*) FROM {table} WHERE cv_id='c003'") == [(0,)]
    assert rerank(store, settings, embedder, k=K).nothing_new  # an erased CV leaves no change to process


_KILLABLE = textwrap.dedent("""
    import sys, time
    import matcher.rerank as rr
    from matcher.cli import app
    rr.BATCH_CVS = 3                       # many small committed batches ...
    write = rr._write_batch
    def slow(*args):                       # ... each followed by a pause, so the kill lands mid-run
        write(*args)
        time.sleep(0.25)
    rr._write_batch = slow
    app(["rerank", "--index", sys.argv[1], "--top", "5", "--json"])
""")


def test_kill_and_resume(tmp_path, settings, embedder):
    store = build(tmp_path / "idx", settings, embedder, n_cvs=30)
    shutil.copytree(store.path, tmp_path / "ref")
    env = {**os.environ, "MATCHER_MODEL": "fake-hashing"}
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE, str(store.path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        done = 0
        while done < 9 and time.monotonic() < deadline:   # three batches committed
            time.sleep(0.05)
            try:
                done = rows(store, "SELECT COUNT(*) FROM rerank_progress")[0][0]
            except sqlite3.OperationalError:
                pass                                      # tables not created yet
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 9 <= done < 30
    assert rows(store, "SELECT generation, status FROM rerank_runs") == [(1, "running")]
    assert rows(store, "SELECT COUNT(*) FROM rerank_topk") == [(0,)]   # nothing published by the killed run

    resumed = rerank(IndexStore.open(store.path, settings, embedder), settings, embedder, k=K)
    reference = rerank(IndexStore.open(tmp_path / "ref", settings, embedder), settings, embedder, k=K)
    assert resumed.resumed and not reference.resumed
    assert resumed.to_dict() == reference.to_dict()
    assert resumed.generation == 1
    for table in ("rerank_topk", "rerank_best", "rerank_entered"):
        mine = rows(store, f"SELECT * FROM {table} ORDER BY 1, 2, 3")
        assert mine == rows(IndexStore.open(tmp_path / "ref", settings, embedder),
                            f"SELECT * FROM {table} ORDER BY 1, 2, 3")
    # exactly one result row per (CV, posting), and nothing left pending
    assert rows(store, "SELECT cv_id, posting_id FROM rerank_topk GROUP BY cv_id, posting_id HAVING COUNT(*) > 1") == []
    expected = sum(len(v) for v in brute_topk(store, settings, embedder).values())
    assert rows(store, "SELECT COUNT(*) FROM rerank_topk") == [(expected,)]
    for table in ("rerank_pending", "rerank_pending_best", "rerank_progress"):
        assert rows(store, f"SELECT COUNT(*) FROM {table}") == [(0,)]
    assert rows(store, "SELECT generation, status FROM rerank_runs") == [(1, "done")]
    assert_same_ranking(stored_results(store), brute_topk(store, settings, embedder))


def test_cli_rerank_json_csv_and_summary(store, tmp_path):
    env = {"MATCHER_MODEL": "fake-hashing"}
    runner = CliRunner()
    r = runner.invoke(app, ["rerank", "--index", str(store.path), "--top", "3", "--json"], env=env)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["generation"] == 1 and len(data["scored_postings"]) == 30
    assert set(data["entered"][0]) == {"cv_id", "posting_id", "rank", "score"}
    r = runner.invoke(app, ["rerank", "--index", str(store.path), "--top", "3", "--json"], env=env)
    assert json.loads(r.stdout) == {"generation": 1, "scored_postings": [], "entered": [], "best": [],
                                    "removed_postings": []}
    r = runner.invoke(app, ["rerank", "--index", str(store.path), "--top", "3"], env=env)
    assert r.exit_code == 0 and r.stdout.startswith("nothing new since rerank generation 1")
    store.add("postings", make_postings(random.Random(3), 200, 2))
    r = runner.invoke(app, ["rerank", "--index", str(store.path), "--top", "3", "--csv"], env=env)
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "kind,generation,cv_id,posting_id,rank,score"
    assert {ln.split(",")[0] for ln in lines[1:]} == {"entered", "best"}
    assert all(ln.split(",")[1] == "2" for ln in lines[1:])
    store.add("postings", make_postings(random.Random(4), 300, 1))
    r = runner.invoke(app, ["rerank", "--index", str(store.path), "--top", "3"], env=env)
    assert r.exit_code == 0 and r.stdout.startswith("rerank generation 3: 1 new or changed postings scored")
    assert "best CVs for the new postings:" in r.stdout


def test_rome_signal_matches_brute_force(tmp_path, settings, embedder):
    settings = settings.with_(w_rome=0.1, w_rome_domain=0.04)
    rng = random.Random(3)
    codes = [(), ("J1501",), ("J1506", "J1505"), ("G1602",)]
    store = IndexStore.open(tmp_path / "idx", settings, embedder, create=True)
    store.add("postings", [replace(p, rome=rng.choice(codes)) for p in make_postings(rng, 0, 30)])
    store.add("cvs", [replace(c, rome=rng.choice(codes)) for c in make_cvs(rng, 0, 24)])
    rerank(store, settings, embedder, k=K)
    assert_same_ranking(stored_results(store), brute_topk(store, settings, embedder))
