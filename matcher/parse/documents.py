"""Read any CV or posting file (PDF, DOCX, TXT, MD) as plain text, safely; PDFs are parsed in a child process."""
from __future__ import annotations

import json
import os
import selectors
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from ..config import Settings
from ..errors import ConfigError, ParseError
from .text import human_size, read_plain_text

__all__ = ["read_text", "read_texts", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".pdf", ".docx", ".txt", ".md")
MAX_TEXT_CHARS = 5_000_000      # ~1000 pages; far beyond any CV or posting, so more means a hostile file
FILES_PER_WORKER = 100          # restart the PDF worker now and then: pdfminer caches grow with fonts seen
_SNIFF_BYTES = 1024             # "%PDF-" may start anywhere in the first 1024 bytes
_EXIT_OUT_OF_MEMORY = 3         # matcher.parse._pdfworker.EXIT_OUT_OF_MEMORY (not imported: keep this light)
_WORKER_SCRIPT = str(Path(__file__).resolve().with_name("_pdfworker.py"))

# Signatures of files commonly renamed to .pdf by mistake, to say what the file is instead.
_LOOKS_LIKE = ((b"PK\x03\x04", "a ZIP or Office file"), (b"\xd0\xcf\x11\xe0", "an old Office file"),
               (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"{\\rtf", "an RTF file"),
               (b"<", "an HTML or XML file"))


def read_text(path: str | os.PathLike[str], settings: Settings | None = None) -> str:
    """The plain text of one document; ParseError(path, reason) if it cannot be read."""
    settings = _checked(settings)
    with _PdfPool(settings) as pool:
        return _read_one(path, settings, pool)


def read_texts(paths: Iterable[str | os.PathLike[str]],
               settings: Settings | None = None) -> list[str | ParseError]:
    """The text of each document, in order; a file that cannot be read gives its ParseError in its place.

    PDFs share one worker process, restarted after a timeout, a crash or running out of memory.
    """
    settings = _checked(settings)
    results: list[str | ParseError] = []
    with _PdfPool(settings) as pool:
        for path in paths:
            try:
                results.append(_read_one(path, settings, pool))
            except ParseError as e:
                results.append(e)
    return results


def _checked(settings: Settings | None) -> Settings:
    """`settings` (or the defaults) once the parse limits are known to be usable."""
    settings = settings if settings is not None else Settings()
    if not (settings.parse_timeout_s > 0 and settings.parse_memory_mb > 0 and settings.parse_max_bytes > 0):
        raise ConfigError("parse_timeout_s, parse_memory_mb and parse_max_bytes must be > 0")
    return settings


def _read_one(path: str | os.PathLike[str], settings: Settings, pool: _PdfPool) -> str:
    """Checks common to every format, then the reader for the suffix."""
    shown = os.fspath(path)
    p = Path(shown)
    try:
        st = os.stat(p)
    except PermissionError:
        raise ParseError(shown, "not readable (permission denied)") from None
    except (OSError, ValueError):        # ValueError: a NUL in the path
        raise ParseError(shown, "file not found") from None
    if stat.S_ISDIR(st.st_mode):
        raise ParseError(shown, "not a file (a directory)")
    if not stat.S_ISREG(st.st_mode):     # FIFOs and devices would block or never end
        raise ParseError(shown, "not a file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ParseError(shown, f"unsupported format {suffix}" if suffix
                         else "unsupported format (no file extension)")
    if st.st_size == 0:
        raise ParseError(shown, "empty file")
    limit = settings.parse_max_bytes
    if st.st_size > limit:
        raise ParseError(shown, f"too large ({human_size(st.st_size)}, limit {human_size(limit)})")
    try:
        with open(p, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except PermissionError:
        raise ParseError(shown, "not readable (permission denied)") from None
    except OSError:
        raise ParseError(shown, "not readable") from None
    if suffix == ".pdf":
        if b"%PDF-" not in head:
            what = next((name for magic, name in _LOOKS_LIKE if head.lstrip().startswith(magic)), None)
            raise ParseError(shown, f"not a PDF ({what})" if what else "not a PDF (no %PDF header)")
        return pool.extract(shown, os.path.abspath(p))
    try:
        if suffix == ".docx":
            from .docx import read_docx  # lazy: pulls in python-docx and lxml

            return read_docx(p, limit)
        return read_plain_text(p, limit)
    except ParseError as e:
        raise ParseError(shown, e.reason) from None
    except Exception as e:  # noqa: BLE001 - last line of defence: one bad file must not stop a batch
        raise ParseError(shown, f"unreadable ({type(e).__name__})") from None


class _PdfPool:
    """At most one live PDF worker, started on first use, replaced after a failure; closed on exit."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._worker: _PdfWorker | None = None

    def __enter__(self) -> _PdfPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker, if any."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def extract(self, shown: str, abspath: str) -> str:
        """The text of one PDF, or ParseError(shown, reason)."""
        s = self._settings
        if self._worker is not None and self._worker.files_done >= FILES_PER_WORKER:
            self.close()
        if self._worker is None:
            try:
                self._worker = _PdfWorker(s.parse_memory_mb, MAX_TEXT_CHARS)
            except OSError:
                raise ParseError(shown, "PDF reader unavailable (could not start a process)") from None
        outcome, value = self._worker.request(abspath, s.parse_timeout_s)
        if outcome == "ok":
            return value
        if outcome == "error":
            raise ParseError(shown, value)
        self.close()                      # timeout, out of memory or crash: never reuse that process
        if outcome == "timeout":
            raise ParseError(shown, f"timed out after {s.parse_timeout_s:g} s")
        if outcome == "oom":
            raise ParseError(shown, f"out of memory (limit {s.parse_memory_mb} MB)")
        if outcome == "too_much_text":
            raise ParseError(shown, f"too large (over {human_size(MAX_TEXT_CHARS)} of text)")
        if outcome == "start":
            raise ParseError(shown, "PDF reader unavailable (the worker process failed to start; "
                                    f"memory limit {s.parse_memory_mb} MB)")
        raise ParseError(shown, "malformed PDF (the parser crashed)")


class _PdfWorker:
    """One `python _pdfworker.py` child, talking JSON lines over pipes.

    The script is run by path, not with -m: it then finds this very copy of `matcher` whatever the
    caller's sys.path, and skips the package __init__ modules (see _pdfworker._bare_packages).
    """

    def __init__(self, memory_mb: int, max_chars: int) -> None:
        self._max_reply = 4 * max_chars + 4096        # UTF-8 JSON of max_chars characters, at most
        self.files_done = 0
        self._ready = False
        self._buf = bytearray()
        self._proc = subprocess.Popen(
            [sys.executable, _WORKER_SCRIPT, str(memory_mb), str(max_chars)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            bufsize=0, close_fds=True)
        if self._proc.stdin is None or self._proc.stdout is None:   # cannot happen with PIPE
            self.stop()
            raise OSError("no pipes to the PDF worker")
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        self._selector = selectors.DefaultSelector()   # epoll: no FD_SETSIZE limit, unlike select()
        self._selector.register(self._stdout, selectors.EVENT_READ)

    def request(self, abspath: str, timeout: float) -> tuple[str, str]:
        """("ok", text), ("error", reason), or (failure, "") with failure in timeout/oom/crash/start/too_much_text."""
        deadline = time.monotonic() + timeout
        self.files_done += 1
        try:
            # Written before the worker is ready: the pipe holds it, so start-up and request overlap.
            self._stdin.write(json.dumps({"path": abspath}).encode("utf-8") + b"\n")
        except OSError:                 # the worker is already dead
            return ("crash" if self._ready else "start"), ""
        if not self._ready:
            line = self._read_line(deadline)
            if line == b'{"ready": true}':
                self._ready = True
            elif line is None:
                return "timeout", ""
            else:                       # died importing pdfminer: memory cap too low, broken install...
                return "start", ""
        line = self._read_line(deadline)
        if line is None:
            return "timeout", ""
        if line == b"<too long>":
            return "too_much_text", ""
        if line == b"<eof>":
            return self._death(), ""
        try:
            reply = json.loads(line.decode("utf-8", "replace"))
            if reply.get("ok"):
                return "ok", str(reply["text"])
            if reply.get("oom"):
                return "oom", ""
            return "error", str(reply["reason"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return "crash", ""

    def _read_line(self, deadline: float) -> bytes | None:
        """The next line from the worker without its newline; b"<eof>", b"<too long>", or None on timeout."""
        while True:
            newline = self._buf.find(b"\n")
            if newline >= 0:
                line = bytes(self._buf[:newline])
                del self._buf[:newline + 1]
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not self._selector.select(remaining):
                continue
            chunk = os.read(self._stdout.fileno(), 1 << 20)
            if not chunk:
                return b"<eof>"
            self._buf += chunk
            if len(self._buf) > self._max_reply:
                return b"<too long>"

    def _death(self) -> str:
        """Why the worker ended without answering: "oom" or "crash"."""
        try:
            code = self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "crash"
        # A SIGKILL we did not send is most likely the kernel's OOM killer.
        return "oom" if code in (_EXIT_OUT_OF_MEMORY, -signal.SIGKILL) else "crash"

    def stop(self) -> None:
        """Kill the worker (it holds no state worth a graceful exit) and reap it."""
        if getattr(self, "_selector", None) is not None:
            self._selector.close()
        try:
            self._proc.kill()
        except OSError:
            pass
        for pipe in (self._proc.stdin, self._proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
