"""Tests of matcher.parse.documents: formats, edge cases, isolation of the PDF parser, limits and silence."""
from __future__ import annotations

import importlib.util
import io
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from matcher.config import Settings
from matcher.errors import ConfigError, ParseError
from matcher.parse.documents import read_text, read_texts

DATA = Path(__file__).parent / "data" / "documents"
EDGE_CASES = Path("/work/shared/data/cvs/edge_cases/pdf_edge_cases")

_spec = importlib.util.spec_from_file_location("make_fixtures", DATA / "make_fixtures.py")
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)
MARKER = fixtures.MARKER

# Small limits keep the bad cases fast: the bomb fails at 256 MB in ~0.5 s instead of ~4 s at 1024 MB.
FAST = Settings(parse_timeout_s=10, parse_memory_mb=256)
QUICK_TIMEOUT = Settings(parse_timeout_s=1, parse_memory_mb=256)


def _assert_clean_error(err: ParseError, path: Path | str, prefix: str) -> None:
    """The error names the file and a reason with the expected start, and quotes no document text."""
    assert isinstance(err, ParseError)
    assert err.path == str(path)
    assert err.reason.startswith(prefix), err.reason
    assert str(err) == f"{path}: {err.reason}"
    for words in [MARKER, "Camille", "Python", "Zorg", "Lyon"]:
        assert words not in err.reason
    assert MARKER not in repr(err.args)


def _reason(path: Path | str, settings: Settings = FAST) -> ParseError:
    with pytest.raises(ParseError) as info:
        read_text(path, settings)
    return info.value


# -- good files ---------------------------------------------------------------------------------

def test_text_pdf_gives_every_line() -> None:
    text = read_text(DATA / "cv_text.pdf", FAST)
    for line in fixtures.CV_LINES:
        assert line in text
    assert "\x0c" not in text and "(cid:" not in text


def test_two_column_pdf_keeps_each_column_together() -> None:
    text = read_text(DATA / "cv_two_columns.pdf", FAST)
    lines = [line for line in text.splitlines() if line.strip()]
    for column in (fixtures.LEFT_COLUMN, fixtures.RIGHT_COLUMN):
        wanted = [x for x in column if x]
        positions = [lines.index(x) for x in wanted]
        # In order and contiguous: the two columns are not interleaved line by line.
        assert positions == list(range(positions[0], positions[0] + len(wanted)))


def test_pdf_with_owner_password_only_opens() -> None:
    assert fixtures.CV_LINES[1] in read_text(DATA / "owner_password_only.pdf", FAST)


def test_pdf_with_cyclic_page_tree_reads_the_page_once() -> None:
    text = read_text(DATA / "cyclic_pages.pdf", FAST)
    assert text.count(MARKER) == 1


def test_docx_paragraphs_tables_and_header_in_document_order() -> None:
    text = read_text(DATA / "cv_table.docx", FAST)
    order = [f"Camille {MARKER}", "Profil", "Développeuse Python confirmée.", "Compétences\tPython, SQL, Docker",
             "Langues", "Anglais C1", "Espagnol B2", "Permis B, véhiculée", "Centres d'intérêt : escalade."]
    positions = [text.index(x) for x in order]
    assert positions == sorted(positions)
    assert text.count("Permis B, véhiculée") == 1      # a merged cell is read once, not once per column


def test_cp1252_text_is_decoded() -> None:
    text = read_text(DATA / "cv_cp1252.txt", FAST)
    assert "Disponibilité \u2014 \u2018immédiate\u2019" in text
    assert fixtures.CV_LINES[1] in text and "\r" not in text


def test_markdown_with_bom() -> None:
    text = read_text(DATA / "cv_bom.md", FAST)
    assert text.startswith(f"# Camille {MARKER}")


def test_utf16_text_with_bom_is_not_binary(tmp_path: Path) -> None:
    p = tmp_path / "cv.txt"
    p.write_bytes("Expérience : cinq ans".encode("utf-16"))
    assert read_text(p, FAST) == "Expérience : cinq ans"


def test_suffix_is_case_insensitive_and_pathlike_or_str(tmp_path: Path) -> None:
    p = tmp_path / "CV.PDF"
    p.write_bytes((DATA / "cv_text.pdf").read_bytes())
    assert read_text(str(p), FAST) == read_text(p, FAST)


# -- bad files ------------------------------------------------------------------------------------

BAD_FILES = [
    ("image_only.pdf", "no text layer (scanned image?)", FAST),
    ("empty_page.pdf", "no text layer (scanned image?)", FAST),
    ("encrypted.pdf", "encrypted (password-protected)", FAST),
    ("unsupported_encryption.pdf", "encrypted with an unsupported method", FAST),
    ("empty.pdf", "empty file", FAST),
    ("excel_renamed.pdf", "not a PDF", FAST),
    ("deep_pages.pdf", "malformed PDF", FAST),
    ("flate_bomb.pdf", "out of memory (limit 256 MB)", FAST),
    ("slow.pdf", "timed out after 1 s", QUICK_TIMEOUT),
    ("cyclic_refs.pdf", "timed out after 1 s", QUICK_TIMEOUT),
    ("malformed.docx", "malformed DOCX", FAST),
    ("encrypted.docx", "encrypted (password-protected)", FAST),
    ("binary.txt", "binary file, not text", FAST),
]


@pytest.mark.parametrize(("name", "prefix", "limits"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_gives_one_clean_parse_error(name: str, prefix: str, limits: Settings) -> None:
    path = DATA / name
    _assert_clean_error(_reason(path, limits), path, prefix)


def test_generic_failures(tmp_path: Path) -> None:
    _assert_clean_error(_reason(tmp_path / "missing.pdf"), tmp_path / "missing.pdf", "file not found")
    _assert_clean_error(_reason(tmp_path), tmp_path, "not a file")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)                                    # reading it would block for ever
    _assert_clean_error(_reason(fifo), fifo, "not a file")
    odd = tmp_path / "cv.xyz"
    odd.write_text("Camille")
    _assert_clean_error(_reason(odd), odd, "unsupported format .xyz")
    bare = tmp_path / "README"
    bare.write_text("Camille")
    _assert_clean_error(_reason(bare), bare, "unsupported format")
    big = tmp_path / "big.txt"
    big.write_text("Camille " * 300)
    _assert_clean_error(_reason(big, FAST.with_(parse_max_bytes=1000)), big, "too large (2.3 KB, limit 1000 bytes)")
    blank = tmp_path / "blank.md"
    blank.write_text("  \n\t\n")
    _assert_clean_error(_reason(blank), blank, "no text")
    text_as_pdf = tmp_path / "cv.pdf"
    text_as_pdf.write_text(f"Camille {MARKER}, Lyon")
    _assert_clean_error(_reason(text_as_pdf), text_as_pdf, "not a PDF")
    garbage_pdf = tmp_path / "broken.pdf"
    garbage_pdf.write_bytes(b"%PDF-1.4\n" + MARKER.encode() + b" 1 0 obj << /Type /Catalog" + b"\x00\xff" * 50)
    _assert_clean_error(_reason(garbage_pdf), garbage_pdf, "malformed PDF")
    text_as_docx = tmp_path / "cv.docx"
    text_as_docx.write_text(f"Camille {MARKER}")
    _assert_clean_error(_reason(text_as_docx), text_as_docx, "malformed DOCX")
    pdf_as_txt = tmp_path / "cv.txt"
    pdf_as_txt.write_bytes((DATA / "image_only.pdf").read_bytes())
    _assert_clean_error(_reason(pdf_as_txt), pdf_as_txt, "binary file, not text")


def test_blank_docx_has_no_text(tmp_path: Path) -> None:
    import docx

    p = tmp_path / "blank.docx"
    d = docx.Document()
    d.add_paragraph("   ")
    d.save(str(p))
    _assert_clean_error(_reason(p), p, "no text")


def test_docx_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    p = tmp_path / "bomb.docx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w") as member:   # 64 MiB of zeros: ~64 KiB on disk
            for _ in range(64):
                member.write(b"\0" * (1 << 20))
    assert p.stat().st_size < 200_000
    err = _reason(p, FAST.with_(parse_max_bytes=1 << 20))
    _assert_clean_error(err, p, "too large (64 MB uncompressed, limit 5 MB)")


def test_bad_settings_are_a_config_error() -> None:
    with pytest.raises(ConfigError):
        read_text(DATA / "cv_text.pdf", Settings(parse_timeout_s=0))


# -- batches, isolation, resources ------------------------------------------------------------------

def test_batch_goes_on_after_failures(tmp_path: Path) -> None:
    names = ["cv_text.pdf", "flate_bomb.pdf", "cv_table.docx", "slow.pdf", "encrypted.pdf", "cv_text.pdf",
             "image_only.pdf", "cv_cp1252.txt", "excel_renamed.pdf", "cv_two_columns.pdf"]
    paths: list[Path | str] = [DATA / n for n in names]
    paths.insert(3, str(tmp_path / "gone.pdf"))
    results = read_texts(paths, QUICK_TIMEOUT)
    assert len(results) == len(paths)
    kinds = [r.reason.split(" (")[0] if isinstance(r, ParseError) else "text" for r in results]
    assert kinds == ["text", "out of memory", "text", "file not found", "timed out after 1 s",
                     "encrypted", "text", "no text layer", "text", "not a PDF", "text"]
    assert results[0] == results[6]                   # same file, restarted worker, same text
    for path, r in zip(paths, results, strict=True):
        if isinstance(r, ParseError):
            assert r.path == str(path)
            assert MARKER not in str(r)


def test_batch_accepts_any_iterable() -> None:
    assert read_texts(iter([]), FAST) == []
    assert read_texts((p for p in [DATA / "cv_bom.md"]), FAST)[0].startswith("# Camille")


def test_parent_memory_stays_flat_while_the_child_blows_up() -> None:
    read_text(DATA / "cv_text.pdf", FAST)             # warm up the parent's own imports
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss      # KiB on Linux
    for _ in range(3):
        _assert_clean_error(_reason(DATA / "flate_bomb.pdf"), DATA / "flate_bomb.pdf", "out of memory")
    # With the default 1024 MB cap too: the 2 GiB bomb must still be stopped.
    err = _reason(DATA / "flate_bomb.pdf", Settings())
    _assert_clean_error(err, DATA / "flate_bomb.pdf", "out of memory (limit 1024 MB)")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50, grown_mb


def _pdf_workers() -> list[int]:
    """Pids of this process's PDF worker children (Linux /proc)."""
    pids = []
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                if b"_pdfworker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(int(pid))
            except OSError:
                pass
    return pids


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_worker_crash_is_a_parse_error_and_no_worker_is_left_behind() -> None:
    def crash_worker_soon() -> None:
        time.sleep(0.8)                 # past the worker's start-up (~0.1 s), well inside slow.pdf (> 10 s)
        for _ in range(100):
            time.sleep(0.05)
            for pid in _pdf_workers():
                os.kill(pid, signal.SIGSEGV)
                return

    killer = threading.Thread(target=crash_worker_soon)
    killer.start()
    err = _reason(DATA / "slow.pdf", Settings(parse_timeout_s=20))
    killer.join()
    _assert_clean_error(err, DATA / "slow.pdf", "malformed PDF (the parser crashed)")
    assert _pdf_workers() == []


def test_implausible_amount_of_text_is_refused() -> None:
    # pdf.extract_text called directly (in a subprocess, to keep pdfminer out of this one) with a tiny cap.
    code = ("import sys; from matcher.errors import ParseError; from matcher.parse import pdf\n"
            "try:\n    pdf.extract_text(sys.argv[1], max_chars=50)\n"
            "except ParseError as e:\n    print(e.reason)\n")
    out = subprocess.run([sys.executable, "-c", code, str(DATA / "cv_text.pdf")], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent).stdout
    assert re.fullmatch(r"too large \(\d+ bytes of text, limit 50 bytes\)\n", out), out


def test_library_writes_nothing_to_stdout_or_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    names = ["cv_text.pdf", "cv_two_columns.pdf", "image_only.pdf", "encrypted.pdf", "deep_pages.pdf",
             "unsupported_encryption.pdf", "owner_password_only.pdf", "cyclic_pages.pdf", "cv_table.docx",
             "malformed.docx", "binary.txt", "flate_bomb.pdf"]
    read_texts([DATA / n for n in names], FAST)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_importing_documents_does_not_import_parsers() -> None:
    code = ("import sys, matcher.parse.documents; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pdfminer', 'docx', 'lxml'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent).stdout
    assert out.strip() == "[]"


def test_pdf_overhead_is_small() -> None:
    # Generous bounds (measured ~0.1 s cold, ~5 ms per file in a batch): they catch a worker that starts
    # importing heavy modules, not jitter.
    start = time.perf_counter()
    read_text(DATA / "cv_text.pdf")
    cold = time.perf_counter() - start
    start = time.perf_counter()
    read_texts([DATA / "cv_text.pdf"] * 20)
    batch = (time.perf_counter() - start) / 20
    assert cold < 1.5, cold
    assert batch < 0.25, batch


# -- fuzzing -----------------------------------------------------------------------------------------

SEEDS = {name: (DATA / name).read_bytes() for name in
         ["cv_text.pdf", "cyclic_pages.pdf", "unsupported_encryption.pdf", "cv_table.docx", "cv_cp1252.txt"]}


@st.composite
def _documents(draw: st.DrawFn) -> tuple[bytes, str]:
    """Random bytes, random bytes behind a PDF header, or a fixture with a few random mutations."""
    kind = draw(st.sampled_from(["random", "pdf-header", "mutated", "mutated", "mutated"]))
    if kind == "random":
        return draw(st.binary(max_size=2000)), draw(st.sampled_from([".pdf", ".docx", ".txt"]))
    if kind == "pdf-header":
        return b"%PDF-1.4\n" + draw(st.binary(max_size=2000)), ".pdf"
    name = draw(st.sampled_from(sorted(SEEDS)))
    own = Path(name).suffix
    suffix = draw(st.sampled_from([own, own, own, ".pdf", ".docx", ".txt"]))   # mostly the real type
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "flip", "flip", "insert", "delete", "cut"]))
        at = draw(st.integers(0, len(data) - 1)) if data else 0
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 256))]
        elif op == "cut":
            del data[max(at, 1):]
    return bytes(data), suffix


@hyp_settings(max_examples=50, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_documents())
def test_fuzz_read_text_returns_text_or_parse_error(doc: tuple[bytes, str]) -> None:
    data, suffix = doc
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            result = read_text(path, Settings(parse_timeout_s=5, parse_memory_mb=256))
        except ParseError as e:
            assert e.path == str(path)
            assert e.reason and "\n" not in e.reason
        else:
            assert isinstance(result, str) and result.strip()


# -- the shared corpus of real-world broken PDFs (optional) ---------------------------------------------

EXPECTED_EDGE_REASONS = {
    "core__pdf__password.pdf": "encrypted (password-protected)",
    "core__pdf__locked.pdf": "encrypted with an unsupported method",
    "editors__upload__empty.pdf": "empty file",
    "editors__upload__excel.pdf": "not a PDF",
    "rest__emptyDoc.pdf": "no text layer (scanned image?)",
}


def test_shared_pdf_edge_cases() -> None:
    if not EDGE_CASES.is_dir():
        pytest.skip(f"{EDGE_CASES} not present")
    paths = sorted(EDGE_CASES.glob("*.pdf"))
    results = read_texts(paths)
    assert len(results) == len(paths)
    seen = set()
    for path, result in zip(paths, results, strict=True):
        assert isinstance(result, (str, ParseError))
        expected = EXPECTED_EDGE_REASONS.get(path.name)
        if expected:
            seen.add(path.name)
            assert isinstance(result, ParseError), path.name
            assert result.reason.startswith(expected), (path.name, result.reason)
        if isinstance(result, str):
            assert result.strip()
    assert seen == set(EXPECTED_EDGE_REASONS)


def test_fixtures_generator_is_importable_and_consistent() -> None:
    # The committed fixtures are the generator's output (the slow bomb excepted, checked by its size).
    for name in ["cv_text.pdf", "cv_table.docx", "cv_cp1252.txt", "deep_pages.pdf", "slow.pdf"]:
        assert (DATA / name).read_bytes() == fixtures.FIXTURES[name](), name
    assert (DATA / "flate_bomb.pdf").stat().st_size < 10_000
    assert io.BytesIO(fixtures.build_pdf([b"<< /Type /Catalog >>"])).read(5) == b"%PDF-"
