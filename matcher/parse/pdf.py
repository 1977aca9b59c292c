"""PDF to plain text with pdfminer.six: the only module of the project that imports pdfminer."""
from __future__ import annotations

import logging
import re
import unicodedata
import warnings
from pathlib import Path

from pdfminer.high_level import extract_text as _pdfminer_extract_text
from pdfminer.layout import LAParams
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

from ..errors import ParseError
from .text import C0_CONTROLS, human_size

__all__ = ["extract_text", "clean_text", "LAPARAMS", "MIN_TEXT_CHARS", "PDF_HEADER_WINDOW"]

# Run this only in the isolated worker (matcher.parse._pdfworker): a hostile PDF can exhaust memory or
# loop for ever inside pdfminer. matcher.parse.documents.read_text is the safe entry point.

# Layout analysis tuned for CVs, which are often two-column (sidebar + main column):
# - char_margin 2.0 (the default) keeps a line from jumping the gutter between columns, which is
#   usually several character widths wide;
# - line_margin 0.5 groups the lines of one column into a box, so a column comes out as one block;
# - boxes_flow 0.5 orders boxes column by column rather than strictly top-to-bottom (which would
#   interleave the lines of the two columns);
# - all_texts False: text inside figures (logos, charts) is noise for matching.
LAPARAMS = LAParams(line_overlap=0.5, char_margin=2.0, line_margin=0.5, word_margin=0.1,
                    boxes_flow=0.5, detect_vertical=False, all_texts=False)

MIN_TEXT_CHARS = 20            # fewer visible characters than this: treat as a scan without OCR
MAX_GARBAGE_RATIO = 0.5        # above this share of unmappable glyphs the text is unusable
PDF_HEADER_WINDOW = 1024       # the spec lets "%PDF-" start anywhere in the first 1024 bytes

_CID = re.compile(r"\(cid:\d+\)")                 # glyphs pdfminer could not map to Unicode
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(f"[{C0_CONTROLS}\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi",
                            "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"})

# pdfminer logs through "pdfminer.*" loggers; without a handler Python's last-resort handler would print
# warnings to stderr, and a library must stay silent.
logging.getLogger("pdfminer").addHandler(logging.NullHandler())


def extract_text(path: str | Path, max_chars: int = 5_000_000) -> str:
    """The text of the PDF at `path`, cleaned; ParseError when there is none or the file is unusable.

    MemoryError is deliberately not caught: the worker reports it as "out of memory".
    """
    path = str(path)
    try:
        with open(path, "rb") as f:
            head = f.read(PDF_HEADER_WINDOW)
    except OSError:
        raise ParseError(path, "file not found") from None
    if b"%PDF-" not in head:
        raise ParseError(path, "not a PDF (no %PDF header)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = _pdfminer_extract_text(path, laparams=LAPARAMS)
    except MemoryError:
        raise
    except PDFPasswordIncorrect:
        raise ParseError(path, "encrypted (password-protected)") from None
    except PDFEncryptionError:
        raise ParseError(path, "encrypted with an unsupported method") from None
    except RecursionError:
        raise ParseError(path, "malformed PDF (structure nested too deeply)") from None
    except Exception as e:  # noqa: BLE001 - pdfminer raises anything from KeyError to AssertionError
        # Only the exception's class: its message may quote document bytes (personal data).
        raise ParseError(path, f"malformed PDF ({type(e).__name__})") from None
    text, garbage = clean_text(raw)
    visible = sum(1 for c in text if not c.isspace())
    if visible < MIN_TEXT_CHARS or garbage > MAX_GARBAGE_RATIO * (visible + garbage):
        raise ParseError(path, "no text layer (scanned image?)")
    if len(text) > max_chars:
        raise ParseError(path, f"too large ({human_size(len(text))} of text, limit {human_size(max_chars)})")
    return text


def clean_text(raw: str) -> tuple[str, int]:
    """(usable text, number of garbage glyphs removed) from pdfminer's raw output."""
    garbage = len(_CID.findall(raw))
    text = _CID.sub("", raw)
    garbage += sum(1 for c in text if c == "\ufffd" or unicodedata.category(c) in ("Co", "Cs", "Cn"))
    text = text.translate(_LIGATURES)
    text = _SURROGATE.sub("", text)
    text = text.replace("\ufffd", "")
    text = "".join(c for c in text if unicodedata.category(c) not in ("Co", "Cn"))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0c", "\n\n")  # \f ends a page
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip(), garbage

