"""Personal data: canary strings never reach logs, errors or temp files; `matcher forget` erases a CV everywhere."""
from __future__ import annotations

import io
import logging
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from matcher.config import Settings
from matcher.embed import HashingEmbedder
from matcher.errors import MatcherError, NotFound
from matcher.index.store import IndexStore, embed_query
from matcher.parse import load_cvs, parse_cv
from matcher.rank import Matcher

POSTINGS = Path(__file__).parent / "data" / "fairness" / "postings.jsonl"
CV_ID = "cand-0042"
# Name, e-mail, phone, and a word of the CV's body (the body is personal data too).
NAME, SURNAME = "Zorglubienne", "Quetzalcoatlova"
EMAIL, PHONE = "zorglubienne.quetzal@canari-mail.example", "07 31 41 59 26"
BODY_WORD = "xylophanothérapie"
NEEDLES = ("zorglub", "quetzalcoatl", "canari-mail", PHONE, PHONE.replace(" ", ""), "xylophanoth")
CV_TEXT = f"""{NAME} {SURNAME.upper()}
Aide-soignante diplômée d'État
7 rue des Canaris, 48000 Mende – {EMAIL} – {PHONE}
Mobilité : France entière. Recherche un CDI.

EXPÉRIENCE
2018-2025  Aide-soignante, EHPAD Les Genêts, Mende
- Soins d'hygiène et de confort, aide aux repas, transmissions écrites
- Ateliers de {BODY_WORD} pour les résidents
2014-2018  Aide-soignante, centre hospitalier de Rodez

FORMATION
Diplôme d'État d'aide-soignant, 2014

Références : {NAME} {SURNAME}, {EMAIL}
"""
OTHERS = {"cand-0001": "Julien Martin\nInfirmier diplômé d'État\nSoins techniques en médecine, Nîmes\nCDI",
          "cand-0002": "Sophie Bernard\nSecrétaire médicale\nAccueil des patients, rendez-vous, Lyon\nCDI"}


# ------------------------------------------------------------------------------------------ helpers
def _encodings(needle: str) -> list[bytes]:
    n = needle.lower()
    return [n.encode("utf-8"), n.encode("utf-16-le"), n.encode("utf-32-le")]


def _traces(data: bytes, needles: tuple[str, ...] = NEEDLES) -> list[str]:
    """The needles found in `data` as UTF-8, UTF-16 or UTF-32 (numpy strings), case-insensitively, also inside
    ZIP members (the .npz caches)."""
    low = data.lower()
    found = [n for n in needles if any(e in low for e in _encodings(n))]
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for member in z.namelist():
                    found += _traces(z.read(member), needles)
        except zipfile.BadZipFile:
            pass
    return sorted(set(found))


def _files_with_traces(root: Path, needles: tuple[str, ...] = NEEDLES) -> dict[str, list[str]]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            hits = _traces(path.read_bytes(), needles)
            if hits:
                out[str(path.relative_to(root))] = hits
    return out


def _write_inputs(tmp_path: Path) -> dict[str, Path]:
    """The canary CV, two other CVs, and bad files that all carry the canary."""
    cvs = tmp_path / "cvs"
    cvs.mkdir()
    (cvs / f"{CV_ID}.txt").write_text(CV_TEXT, encoding="utf-8")
    for cid, text in OTHERS.items():
        (cvs / f"{cid}.txt").write_text(text, encoding="utf-8")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bad.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Length 999 >> stream\nBT (" + CV_TEXT.encode() +
                                  b") Tj ET\nendstream endobj\n" + b"\x00garbage" * 20)
    (bad / "truncated.pdf").write_bytes(_canary_pdf()[:-400])
    with zipfile.ZipFile(bad / "broken.docx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f"<w:document><w:body><w:p>{CV_TEXT}</w:body>")
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02" * 50 + CV_TEXT.encode() + b"\x00" * 100)
    (tmp_path / "bad_cvs.jsonl").write_text(f'{{"id": "x", "name": "{NAME}", "mail": "{EMAIL}"}}\n'
                                            f'{{"id": "y", {NAME} not json\n', encoding="utf-8")
    (tmp_path / "bad_postings.jsonl").write_text(f'{{"title": "{NAME}", "text": "{EMAIL}"}}\n'
                                                 f'{{"id": "p1", "text": ""}}\n{NAME} {EMAIL}\n', encoding="utf-8")
    return {"cvs": cvs, "cv": cvs / f"{CV_ID}.txt", "bad": bad}


def _canary_pdf() -> bytes:
    from reportlab.pdfgen import canvas
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1, pageCompression=0)
    y = 800
    for line in CV_TEXT.splitlines():
        c.drawString(60, y, line)
        y -= 14
    c.showPage()
    c.save()
    return buf.getvalue()


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "MATCHER_MODEL": "fake-hashing", "TMPDIR": str(tmp)}


def _matcher(tmp_path: Path, *args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    tmp = tmp_path / "tmpdir"
    tmp.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "matcher", *args], env=_env(tmp), capture_output=True, text=True,
                          timeout=120, cwd=cwd or tmp_path, **kw)


def _build_index(tmp_path: Path, inputs: dict[str, Path]) -> Path:
    """Postings, the three CVs and stored rerank results, built in-process as the CLI would."""
    from matcher.parse import load_postings
    from matcher.rerank import rerank
    settings = Settings(model="fake-hashing")
    index = tmp_path / "idx"
    store = IndexStore.open(index, settings, HashingEmbedder(), create=True)
    store.add("postings", load_postings([POSTINGS], settings)[0])
    cvs, errors = load_cvs([inputs["cvs"]], settings)
    assert not errors and len(cvs) == 3
    store.add("cvs", cvs)
    assert rerank(store, settings).cvs_processed == 3
    return index


def _cli(*args: str) -> tuple[int, str, str]:
    """A command run in-process (CliRunner): exit code, stdout, stderr (logging and warnings included)."""
    from typer.testing import CliRunner

    from matcher.cli import app
    result = CliRunner().invoke(app, list(args), env={"MATCHER_MODEL": "fake-hashing"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------------------------------ logs, errors, temp files
def test_no_canary_in_output_errors_or_temp_files(tmp_path: Path) -> None:
    inputs = _write_inputs(tmp_path)
    index = _build_index(tmp_path, inputs)
    cv, bad = str(inputs["cv"]), inputs["bad"]
    idx = ["--index", str(index)]
    commands: list[tuple[list[str], int, bool]] = [       # (args, exit code, stdout may show the CV's own fields)
        (["index", "add", str(inputs["cvs"]), str(bad), "--kind", "cvs", *idx], 0, False),
        (["index", "add", str(tmp_path / "bad_cvs.jsonl"), "--kind", "cvs", *idx], 1, False),
        (["index", "add", str(tmp_path / "bad_postings.jsonl"), *idx], 1, False),
        (["match", cv, *idx], 0, False),
        (["match", cv, *idx, "--json", "--include-blocked"], 0, False),
        (["match", cv, *idx, "--explain", "fp-01"], 0, False),
        (["candidates", "fp-01", *idx, "--json"], 0, False),
        (["candidates", "fp-01", *idx], 0, False),
        (["rerank", *idx, "--json"], 0, False),
        (["index", "info", *idx, "--json"], 0, False),
        (["parse", cv, "--json"], 0, True),               # prints what was read from the user's own file
        (["match", str(bad / "bad.pdf"), *idx], 1, False),
        (["match", str(bad / "truncated.pdf"), *idx], 1, False),
        (["match", str(bad / "broken.docx"), *idx], 1, False),
        (["match", str(bad / "binary.txt"), *idx], 1, False),
        (["parse", str(bad / "bad.pdf")], 1, False),
        (["match", cv, "--index", str(tmp_path / "nowhere")], 1, False),
        (["match", cv, *idx, "--model", "fake-hashing:32"], 1, False),
        (["match", cv, *idx, "--explain", "no-such-posting"], 1, False),
        (["match", cv, *idx, "--location", "Xyzzyville"], 1, False),
        (["forget", "nobody", *idx], 1, False),
    ]
    for args, code, own_fields in commands:
        exit_code, out, err = _cli(*args)
        assert exit_code == code, (args, out, err)
        assert _traces(err.encode()) == [], (args, err)
        if not own_fields:
            assert _traces(out.encode()) == [], (args, out)
        if code:
            assert "Traceback" not in err and err.startswith("error: "), (args, err)

    from filelock import FileLock
    with FileLock(str(index / ".lock")):
        for args in (["index", "add", str(inputs["cvs"]), "--kind", "cvs", *idx], ["forget", CV_ID, *idx]):
            exit_code, out, err = _cli(*args)
            assert exit_code == 1 and "another process is writing" in err
            assert _traces(out.encode() + err.encode()) == [], err

    # As separate processes (the PDF worker included): nothing in their output, nothing left in TMPDIR or
    # in the working directory.
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for args, code in ((["index", "add", str(inputs["cvs"]), str(bad), "--kind", "cvs", *idx], 0),
                       (["match", cv, *idx, "--json"], 0), (["match", str(bad / "truncated.pdf"), *idx], 1)):
        run = _matcher(tmp_path, *args, cwd=cwd)
        assert run.returncode == code, run.stderr
        assert _traces(run.stdout.encode() + run.stderr.encode()) == [], (args, run.stdout, run.stderr)
    assert [p.name for p in (tmp_path / "tmpdir").iterdir()] == []
    assert [p.name for p in cwd.iterdir()] == []


def test_library_logs_warnings_and_temp_files_hold_no_canary(tmp_path: Path, caplog) -> None:
    inputs = _write_inputs(tmp_path)
    pdf = tmp_path / f"{CV_ID}.pdf"
    pdf.write_bytes(_canary_pdf())
    settings = Settings(model="fake-hashing", parse_timeout_s=10)
    tmpdir = Path(tempfile.gettempdir())
    before = {p: p.stat().st_mtime_ns for p in tmpdir.iterdir() if p.is_file()}
    with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from matcher.parse.documents import read_text
        assert NAME in read_text(pdf, settings)               # the PDF really carries the canary...
        assert NAME not in parse_cv(pdf, settings).text       # ...which the parsed CV no longer holds
        cvs, errors = load_cvs([inputs["cvs"], inputs["bad"], pdf], settings)
        assert len(cvs) == 4 and len(errors) == 4
        for e in errors:
            assert _traces(str(e).encode()) == [] and _traces(repr(e.args).encode()) == []
        store = IndexStore.open(tmp_path / "idx", settings, HashingEmbedder(), create=True)
        from matcher.parse import load_postings
        store.add("postings", load_postings([POSTINGS], settings)[0])
        store.add("cvs", cvs)
        Matcher(store, settings, HashingEmbedder()).match(cvs[0], k=5)
        Matcher(store, settings, HashingEmbedder()).candidates("fp-01", k=5)
        with pytest.raises(MatcherError) as info:
            IndexStore.open(tmp_path / "idx", settings, HashingEmbedder(dim=32))
        assert _traces(str(info.value).encode()) == []
        assert store.remove("cvs", [CV_ID], erase=True) == [CV_ID]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert _traces(logged.encode()) == [], logged
    assert _traces("\n".join(str(w.message) for w in caught).encode()) == []
    after = [p for p in tmpdir.iterdir() if p.is_file() and before.get(p) != p.stat().st_mtime_ns]
    leaked = {str(p): _traces(p.read_bytes()) for p in after if os.access(p, os.R_OK)}
    assert not {p: h for p, h in leaked.items() if h}, leaked


# ------------------------------------------------------------------------------------------ forget
def _rerank_rows(index: Path, cv_id: str) -> dict[str, int]:
    con = sqlite3.connect(index / "index.sqlite")
    try:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = {}
        for t in tables:
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({t})")]
            for col in ("cv_id", "id"):
                if col in cols:
                    out[t] = out.get(t, 0) + con.execute(f"SELECT COUNT(*) FROM {t} WHERE {col}=?", (cv_id,)).fetchone()[0]
        return out
    finally:
        con.close()


def test_forget_erases_a_cv_everywhere(tmp_path: Path) -> None:
    inputs = _write_inputs(tmp_path)
    index = _build_index(tmp_path, inputs)
    settings = Settings(model="fake-hashing")
    # Before: the canary is on disk (the detector works, UTF-32 numpy strings included) and in every table.
    before = _files_with_traces(index, NEEDLES + (CV_ID,))
    assert "index.sqlite" in before and any(f.startswith("cache") for f in before), before
    rows = _rerank_rows(index, CV_ID)
    assert rows["docs"] == 1 and rows["changes"] == 1 and rows.get("rerank_topk", 0) > 0, rows
    store = IndexStore.open(index, settings, HashingEmbedder())
    snap = store.snapshot()
    vec = snap.cvs.vectors.vectors([CV_ID])[0]
    assert snap.cvs.vectors.search(vec[None, :], 1)[1][0][0] == CV_ID
    token = "xylophanotherap"
    assert any(t.startswith(token) for t in snap.cvs.lexical.vocab)

    run = _matcher(tmp_path, "forget", CV_ID, "--index", str(index))
    assert (run.returncode, run.stdout.strip(), run.stderr) == (0, f"erased {CV_ID}", "")

    # Vectors: the CV's vector no longer matches itself, nor anything nearly identical.
    store = IndexStore.open(index, settings, HashingEmbedder())
    snap = store.snapshot()
    assert CV_ID not in snap.cvs.ids and CV_ID not in snap.cvs.vectors.ids
    _, ids = snap.cvs.vectors.search(vec[None, :], 5)
    assert CV_ID not in ids[0]
    xb = snap.cvs.vectors.vectors(snap.cvs.ids)
    assert float(np.max(xb @ vec)) < 0.99
    again = embed_query(HashingEmbedder(), parse_cv(inputs["cv"], settings, cv_id=CV_ID))
    assert np.allclose(again, vec, atol=1e-6)                   # the same CV would give the same vector...
    assert CV_ID not in snap.cvs.vectors.search(again[None, :], 5)[1][0]   # ...and finds nothing of it
    # Metadata, lexical index, stored rerank results.
    with pytest.raises(NotFound):
        store.text("cvs", CV_ID)
    assert not any(t.startswith(token) for t in snap.cvs.lexical.vocab)
    assert CV_ID not in snap.cvs.lexical.ids
    assert not any(_rerank_rows(index, CV_ID).values()), _rerank_rows(index, CV_ID)
    from matcher.rerank import stored_results
    assert CV_ID not in stored_results(store) and set(stored_results(store)) == set(OTHERS)
    # No file under the index directory (SQLite, WAL, SHM, caches, locks) holds any trace.
    assert _files_with_traces(index, NEEDLES + (CV_ID,)) == {}
    # The CLI agrees, and a second forget says it is not there.
    info = _matcher(tmp_path, "index", "info", "--index", str(index), "--json")
    assert info.returncode == 0 and '"cvs": 2' in info.stdout and '"consistent": true' in info.stdout
    cands = _matcher(tmp_path, "candidates", "fp-01", "--index", str(index), "--json")
    assert cands.returncode == 0 and CV_ID not in cands.stdout
    rerun = _matcher(tmp_path, "rerank", "--index", str(index), "--json")
    assert rerun.returncode == 0 and CV_ID not in rerun.stdout
    assert _files_with_traces(index, NEEDLES + (CV_ID,)) == {}
    second = _matcher(tmp_path, "forget", CV_ID, "--index", str(index))
    assert second.returncode == 1 and second.stderr.strip() == f"error: no CV with id '{CV_ID}' in the index"


def test_forget_on_a_full_disk_says_what_happened_and_can_be_rerun(tmp_path: Path) -> None:
    inputs = _write_inputs(tmp_path)
    index = _build_index(tmp_path, inputs)
    limit = (index / "index.sqlite").stat().st_size + 4096    # the removal fits; the VACUUM copy does not

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    run = _matcher(tmp_path, "forget", CV_ID, "--index", str(index), preexec_fn=full_disk)
    assert run.returncode == 1
    assert run.stderr.startswith(f"error: removed 1 cvs from the index at {index}, but could not wipe every trace")
    assert "(disk I/O error); run the same command again once the disk has space" in run.stderr
    assert "previous version is intact" not in run.stderr
    assert _rerank_rows(index, CV_ID)["docs"] == 0
    rerun = _matcher(tmp_path, "forget", CV_ID, "--index", str(index))   # finishes the wipe and says so
    assert rerun.returncode == 0 and rerun.stdout.strip() == f"erased {CV_ID}", rerun.stderr
    assert _files_with_traces(index, NEEDLES + (CV_ID,)) == {}
    third = _matcher(tmp_path, "forget", CV_ID, "--index", str(index))    # now there is nothing left to erase
    assert third.returncode == 1 and "no CV with id" in third.stderr
    info = _matcher(tmp_path, "index", "info", "--index", str(index), "--json")
    assert info.returncode == 0 and '"cvs": 2' in info.stdout


@pytest.mark.slow
def test_forget_while_a_reader_holds_old_pages_says_so(tmp_path: Path) -> None:
    """A reader's open transaction stops the checkpoint (after SQLite's 30 s busy wait): forget must not claim
    success while index.sqlite still holds the CV, and the same command wipes it once the reader is gone."""
    inputs = _write_inputs(tmp_path)
    index = _build_index(tmp_path, inputs)
    reader = sqlite3.connect(index / "index.sqlite")
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM docs").fetchone()
    run = _matcher(tmp_path, "forget", CV_ID, "--index", str(index))
    assert run.returncode == 1 and "(another process is reading the index)" in run.stderr, run.stderr
    reader.close()
    rerun = _matcher(tmp_path, "forget", CV_ID, "--index", str(index))
    assert rerun.returncode == 0 and rerun.stdout.strip() == f"erased {CV_ID}", rerun.stderr
    assert _files_with_traces(index, NEEDLES + (CV_ID,)) == {}
