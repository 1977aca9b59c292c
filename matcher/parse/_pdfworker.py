"""Child process for PDF extraction: JSON requests on stdin, answers on stdout, under a memory cap.

Started by matcher.parse.documents as `python <this file> MEMORY_MB MAX_CHARS`.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import types
import warnings
from typing import BinaryIO

__all__ = ["main", "EXIT_OUT_OF_MEMORY", "EXIT_USAGE"]

_HERE = os.path.dirname(os.path.realpath(__file__))
if __name__ == "__main__" and sys.path and os.path.realpath(sys.path[0] or os.curdir) == _HERE:
    # Started as a script: Python put this folder first on sys.path, where our docx.py, pdf.py and
    # text.py would shadow same-named top-level modules.
    del sys.path[0]

# Protocol (one line each way, UTF-8 JSON):
#   once, after start-up      {"ready": true}
#   request  {"path": "/abs/file.pdf"}
#   reply    {"ok": true, "text": "..."} | {"ok": false, "reason": "..."} | {"ok": false, "oom": true}
# The parent (matcher.parse.documents) enforces the wall-clock timeout and kills this process on expiry.
EXIT_OUT_OF_MEMORY = 3
EXIT_USAGE = 2


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space (so a decompression bomb ends in MemoryError) and disable core dumps."""
    try:
        import resource
    except ImportError:  # not POSIX: no cap possible, the timeout still applies
        return
    limits = [(resource.RLIMIT_CORE, 0)]
    if memory_mb > 0:
        limits.append((resource.RLIMIT_AS, memory_mb * 1024 * 1024))
    for res, value in limits:
        try:
            _soft, hard = resource.getrlimit(res)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            # Lower the hard limit too: nothing in this process may raise it again.
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            pass


def _bare_packages() -> None:
    """Make `matcher` and `matcher.parse` importable without running their __init__ modules.

    Those may import heavy things (models, numpy...) that this process never needs; skipping them keeps the
    start of a worker around 0.1 s. Only matcher.errors, matcher.parse.text and matcher.parse.pdf load here.
    """
    root = os.path.dirname(_HERE)
    for name, folder in (("matcher", root), ("matcher.parse", _HERE)):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [folder]
            package.__package__ = name
            sys.modules[name] = package


def _silence() -> BinaryIO:
    """Keep a private handle on the real stdout for replies; send fd 1 and 2 to /dev/null.

    A stray print or C-level message from a parser must neither reach the user nor corrupt the protocol.
    """
    reply_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    return os.fdopen(reply_fd, "wb")


def _answer(path: str, max_chars: int) -> bytes:
    """The reply line for one request."""
    from matcher.errors import ParseError
    from matcher.parse import pdf

    try:
        try:
            reply: dict = {"ok": True, "text": pdf.extract_text(path, max_chars=max_chars)}
        except ParseError as e:
            reply = {"ok": False, "reason": e.reason}
        except MemoryError:
            reply = {"ok": False, "oom": True}
        except Exception as e:  # noqa: BLE001 - anything pdf.py did not foresee is still a bad PDF
            reply = {"ok": False, "reason": f"malformed PDF ({type(e).__name__})"}
        return json.dumps(reply, ensure_ascii=False).encode("utf-8", "replace") + b"\n"
    except MemoryError:
        return b'{"ok": false, "oom": true}\n'


def main(argv: list[str]) -> int:
    """Serve requests until stdin closes. argv: [memory_mb, max_chars]."""
    try:
        memory_mb, max_chars = int(argv[0]), int(argv[1])
    except (IndexError, ValueError):
        return EXIT_USAGE
    _limit_memory(memory_mb)
    out = _silence()
    _bare_packages()
    try:
        from matcher.parse import pdf  # noqa: F401 - import now, so the first request is not slower
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    try:
        out.write(b'{"ready": true}\n')
        out.flush()
    except OSError:
        return 0
    for line in sys.stdin.buffer:
        try:
            path = json.loads(line)["path"]
        except (ValueError, KeyError, TypeError):
            return EXIT_USAGE
        try:
            out.write(_answer(str(path), max_chars))
            out.flush()
        except MemoryError:
            return EXIT_OUT_OF_MEMORY
        except OSError:  # the parent went away
            return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
