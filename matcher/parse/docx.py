"""DOCX to plain text with python-docx: headers, paragraphs, tables and text boxes in document order."""
from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ParseError
from .text import human_size

__all__ = ["read_docx", "MAX_EXPANSION", "MAX_ENTRIES"]

# Zip-bomb guard: the declared uncompressed sizes of all entries must stay under MAX_EXPANSION times the
# file-size cap (python-docx loads every part into memory). WordprocessingML compresses about 5-10x and
# images barely at all, so 5x the cap is generous for a real document. zipfile never inflates an entry
# past its declared size, so the declaration is a safe bound.
MAX_EXPANSION = 5
MAX_ENTRIES = 5000

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")   # stream name inside an encrypted Office file

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_P, _TBL, _TR, _TC, _T = _W + "p", _W + "tbl", _W + "tr", _W + "tc", _W + "t"
_TXBX = _W + "txbxContent"
_INLINE = {_W + "tab": "\t", _W + "br": "\n", _W + "cr": "\n", _W + "noBreakHyphen": "-",
           _W + "softHyphen": ""}
# Deleted revisions, field instructions and the like carry no visible text; w:t is the only text node.
_SKIP = {_MC_FALLBACK, _W + "del", _W + "instrText", _W + "delText", _W + "rPr", _W + "pPr"}


def read_docx(path: str | Path, max_bytes: int) -> str:
    """The text of a .docx file; ParseError if it is not a usable Word document or has no text."""
    path = str(path)
    _check_container(path, max_bytes)
    try:
        import docx  # python-docx, imported lazily: lxml is slow to load and most runs never see a DOCX

        document = docx.Document(path)
        parts: list[str] = []
        seen: set[str] = set()
        # Headers first: CV templates often put name, contact and city there.
        for section in document.sections:
            for header in (section.first_page_header, section.header):
                _add_unique(parts, seen, _header_footer_text(header))
        parts.append(_element_text(document.element.body))
        for section in document.sections:
            for footer in (section.first_page_footer, section.footer):
                _add_unique(parts, seen, _header_footer_text(footer))
    except MemoryError:
        raise ParseError(path, "malformed DOCX (too large to load)") from None
    except RecursionError:
        raise ParseError(path, "malformed DOCX (nested too deeply)") from None
    except Exception as e:  # noqa: BLE001 - zip, OPC, lxml and python-docx errors alike
        # Only the class name: messages can quote document content.
        raise ParseError(path, f"malformed DOCX ({type(e).__name__})") from None
    text = "\n\n".join(p for p in parts if p)
    if not text.strip():
        raise ParseError(path, "no text")
    return text


def _check_container(path: str, max_bytes: int) -> None:
    """Refuse what is not a zip, an encrypted Office file, or a zip that would inflate past the cap."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if head == _OLE_MAGIC:
                # Password-protected .docx files are OLE containers holding an "EncryptedPackage" stream;
                # any other OLE file is a legacy binary .doc (or .xls...) renamed.
                data = f.read(max_bytes)
                if _ENCRYPTED_PACKAGE in data:
                    raise ParseError(path, "encrypted (password-protected)")
                raise ParseError(path, "malformed DOCX (legacy .doc or other OLE file, not a .docx)")
    except OSError:
        raise ParseError(path, "file not found") from None
    if not head.startswith(b"PK"):
        raise ParseError(path, "malformed DOCX (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ParseError(path, "malformed DOCX (damaged zip archive)") from None
    if len(infos) > MAX_ENTRIES:
        raise ParseError(path, f"malformed DOCX (more than {MAX_ENTRIES} parts)")
    declared = sum(max(i.file_size, 0) for i in infos)
    limit = MAX_EXPANSION * max_bytes
    if declared > limit:
        raise ParseError(path, f"too large ({human_size(declared)} uncompressed, limit {human_size(limit)})")
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names:
        raise ParseError(path, "malformed DOCX (not an Office document)")


def _add_unique(parts: list[str], seen: set[str], text: str) -> None:
    """Append `text` unless blank or already there (the same header is usually linked to every section)."""
    if text.strip() and text not in seen:
        seen.add(text)
        parts.append(text)


def _header_footer_text(header_or_footer: Any) -> str:
    """The text of a section's own header or footer; '' when it has none (inherited or absent)."""
    # Checked first: reading an absent definition through python-docx would create one.
    if header_or_footer.is_linked_to_previous:
        return ""
    return _element_text(header_or_footer.part.element)


def _element_text(element: Any) -> str:
    """The block elements below `element` in order, one paragraph (or table row) a line."""
    if element is None:
        return ""
    return "\n".join(_blocks(element)).strip()


def _blocks(element: Any) -> Iterator[str]:
    """Paragraph and table-row texts below `element`, in document order."""
    for child in element.iterchildren():
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue                              # comments, processing instructions, fallbacks
        if tag == _P:
            yield from _paragraph(child)
        elif tag == _TBL:
            yield from _table(child)
        else:
            yield from _blocks(child)             # w:sdt, w:customXml, w:ins ... wrap real content


def _paragraph(p: Any) -> Iterator[str]:
    """The paragraph's own text, then the paragraphs of any text box anchored in it."""
    pieces: list[str] = []
    boxes: list[Any] = []
    _inline(p, pieces, boxes)
    line = "".join(pieces).strip()
    if line:
        yield line
    for box in boxes:
        yield from _blocks(box)


def _inline(element: Any, pieces: list[str], boxes: list[Any]) -> None:
    """Collect the run text below `element`; text boxes are set aside to become their own lines."""
    for child in element.iterchildren():
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        if tag == _T:
            pieces.append(child.text or "")
        elif tag in _INLINE:
            pieces.append(_INLINE[tag])
        elif tag == _TXBX:
            boxes.append(child)
        else:
            _inline(child, pieces, boxes)


def _table(tbl: Any) -> Iterator[str]:
    """One line per row with the cells tab-separated when every cell is a single line; else cell by cell.

    Rows and cells are read from the XML (w:tr/w:tc), so a merged cell is read once, not once per span.
    """
    for tr in tbl.iterchildren(_TR):
        cells = [list(_blocks(tc)) for tc in tr.iterchildren(_TC)]
        cells = [c for c in cells if c]
        if not cells:
            continue
        if all(len(c) == 1 for c in cells):
            yield "\t".join(c[0] for c in cells)
        else:
            for c in cells:
                yield from c
