"""Plain-text and Markdown files to text: UTF-8 (BOM stripped), else cp1252, else latin-1; binaries refused."""
from __future__ import annotations

import codecs
import os
from pathlib import Path

from ..errors import ParseError

__all__ = ["read_plain_text", "decode_text", "human_size"]

MAX_CONTROL_RATIO = 0.05   # share of C0 control bytes (other than whitespace) above which it is binary
# Formats that are mostly printable bytes (a PDF with ASCII85 streams) yet not text to match on.
_BINARY_MAGIC = (b"%PDF-", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x7fELF",
                 b"{\\rtf")
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r\x0c\x1a\x1b")  # SUB, ESC: DOS/ANSI
# C0 controls but tab, newline, carriage return and form feed, and DEL (NUL among them): a regex character
# class body, for the parsers that remove them from text (PDF, JSONL postings)
C0_CONTROLS = "\x00-\x08\x0b\x0e-\x1f\x7f"


def read_plain_text(path: str | Path, max_bytes: int) -> str:
    """The decoded text of a .txt/.md file; ParseError if it is binary, too large or blank."""
    path = str(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                raise ParseError(path, f"too large ({human_size(size)}, limit {human_size(max_bytes)})")
            data = f.read(max_bytes + 1)   # never more than the cap, even if the file grows meanwhile
    except OSError:
        raise ParseError(path, "file not found") from None
    if len(data) > max_bytes:
        raise ParseError(path, f"too large (over the limit of {human_size(max_bytes)})")
    if not data:
        raise ParseError(path, "empty file")
    text = decode_text(data)
    if text is None:
        raise ParseError(path, "binary file, not text")
    if not text.strip():
        raise ParseError(path, "no text")
    return text


def decode_text(data: bytes) -> str | None:
    """`data` decoded with newlines normalised to \\n; None when it looks binary."""
    text: str | None = None
    # UTF-16/32 text is full of NUL bytes, so a BOM must be honoured before the binary check.
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                return None
            break
    if text is None:
        if b"\x00" in data or data.startswith(_BINARY_MAGIC):
            return None
        controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
        if controls > MAX_CONTROL_RATIO * len(data):
            return None
        for codec in ("utf-8-sig", "cp1252"):
            try:
                text = data.decode(codec)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = data.decode("latin-1")       # cannot fail: every byte is a character
    if "\x00" in text:
        return None
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def human_size(n: int) -> str:
    """`n` bytes for messages: '20 MB', '2.5 MB', '977 KB', '12 bytes'."""
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + " " + unit
    return f"{n} bytes"
