"""Generate the document fixtures of tests/test_documents.py into this folder (run: python make_fixtures.py)."""
from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

__all__ = ["MARKER", "CV_LINES", "build_pdf", "flate_bomb", "write_all", "FIXTURES"]

HERE = Path(__file__).resolve().parent

# Every fixture with text carries MARKER, so the tests can check that no error message leaks document
# text. The people and places below are invented.
MARKER = "Zorglubium"
CV_LINES = [
    f"Camille {MARKER}",
    "Développeuse Python confirmée, Lyon",
    "Expérience : 6 ans en traitement de données et API REST",
    "Compétences : Python, SQL, Docker, Kubernetes",
    "Langues : français (langue maternelle), anglais C1",
    "Permis B",
]
LEFT_COLUMN = ["COMPETENCES", "Python avance", "SQL Postgres", "Docker Compose", "", "LANGUES", "Anglais C1",
               "Espagnol B2", "", "PERMIS", "Permis B"]
RIGHT_COLUMN = ["EXPERIENCE", f"Ingenieure donnees chez {MARKER} SA", "Conception de pipelines ETL",
                "Mise en production de modeles", "", "FORMATION", "Master informatique Lyon 1",
                "Licence mathematiques Grenoble", "", "CENTRES D'INTERET", "Escalade et photographie", "Lecture"]


# -- reportlab-made PDFs ---------------------------------------------------------------------------

def _canvas(buf: io.BytesIO, **kw: object):
    from reportlab.pdfgen import canvas

    # invariant=1: no timestamp or random id, so regenerating gives identical bytes.
    return canvas.Canvas(buf, invariant=1, **kw)


def text_pdf() -> bytes:
    """A one-page, one-column CV with a text layer."""
    buf = io.BytesIO()
    c = _canvas(buf)
    c.setFont("Helvetica", 12)
    y = 780
    for line in CV_LINES:
        c.drawString(72, y, line)
        y -= 15
    c.showPage()
    c.save()
    return buf.getvalue()


def two_column_pdf() -> bytes:
    """A CV laid out as a sidebar and a main column, the usual trap for reading order."""
    buf = io.BytesIO()
    c = _canvas(buf)
    c.setFont("Helvetica", 10)
    c.drawString(50, 800, "Camille - Data engineer - Lyon")
    # 13 pt leading for 10 pt type, a blank line between sections: as CV templates do.
    for x, column in ((50, LEFT_COLUMN), (200, RIGHT_COLUMN)):
        for i, line in enumerate(column):
            if line:
                c.drawString(x, 760 - 13 * i, line)
    c.showPage()
    c.save()
    return buf.getvalue()


def image_only_pdf() -> bytes:
    """A 'scanned' CV: the text is pixels in an image, there is no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    img = Image.new("L", (600, 200), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(CV_LINES[:4]):
        draw.text((10, 10 + 25 * i), line.encode("ascii", "replace").decode(), fill=0)
    buf = io.BytesIO()
    c = _canvas(buf)
    c.drawImage(ImageReader(img), 50, 500, width=500, height=170)
    c.showPage()
    c.save()
    return buf.getvalue()


def encrypted_pdf(user_password: str = "s3cret") -> bytes:
    """The text CV encrypted with RC4-128; with an empty user password it opens without one."""
    from reportlab.lib.pdfencrypt import StandardEncryption

    buf = io.BytesIO()
    enc = StandardEncryption(user_password, ownerPassword="owner-pw", canCopy=0, strength=128)
    c = _canvas(buf, encrypt=enc)
    y = 780
    for line in CV_LINES:
        c.drawString(72, y, line)
        y -= 20
    c.showPage()
    c.save()
    return buf.getvalue()


def empty_page_pdf() -> bytes:
    """A valid PDF with one blank page."""
    buf = io.BytesIO()
    c = _canvas(buf)
    c.showPage()
    c.save()
    return buf.getvalue()


def excel_renamed() -> bytes:
    """A minimal .xlsx (a zip), to be saved under a .pdf name."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in (
            ("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                    'package/2006/content-types"/>'),
            ("xl/workbook.xml", '<?xml version="1.0"?><workbook/>'),
            ("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst><si><t>{MARKER}</t></si></sst>'),
        ):
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), body)
    return buf.getvalue()


# -- hand-written PDFs for structures reportlab refuses to produce ------------------------------------

def build_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF with a correct xref table from object bodies; object n is objects[n-1], 1 is the catalog."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, trailer_extra, xref)
    return bytes(out)


def _stream(data: bytes, filters: bytes = b"") -> bytes:
    head = b"<< /Length %d%s >>" % (len(data), b" /Filter " + filters if filters else b"")
    return head + b"\nstream\n" + data + b"\nendstream"


_FONT = b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
_TEXT_OPS = ("BT /F1 12 Tf 72 720 Td (" + f"Cyclic but readable, {MARKER} developer in Lyon" + ") Tj ET").encode()


def _double_flate(payload_chunk: bytes, repeat: int) -> bytes:
    """payload_chunk * repeat, deflated twice: inflating the first layer gives a deflate stream of
    ~1/1000 of the payload, which inflates to the payload. Kilobytes on disk, gigabytes in memory."""
    inner = zlib.compressobj(9)
    parts = [inner.compress(payload_chunk) for _ in range(repeat)]
    parts.append(inner.flush())
    return zlib.compress(b"".join(parts), 9)


def flate_bomb(gib: float = 2.0) -> bytes:
    """A one-page PDF whose content stream inflates to `gib` GiB of zeros ([/FlateDecode /FlateDecode])."""
    chunk = b"\0" * (1 << 24)
    data = _double_flate(chunk, int(gib * 64))
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources " + _FONT + b" /Contents 4 0 R >>",
        _stream(data, b"[/FlateDecode /FlateDecode]"),
    ])


def slow_pdf() -> bytes:
    """A page whose content stream is 4 million no-op operators (q/Q): fine in memory, slow to interpret."""
    data = _double_flate(b"q Q\n" * (1 << 18), 16)
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources " + _FONT + b" /Contents 4 0 R >>",
        _stream(data, b"[/FlateDecode /FlateDecode]"),
    ])


def cyclic_pages_pdf() -> bytes:
    """The page tree loops back on itself (a Pages node lists the root among its kids)."""
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources " + _FONT + b" /Contents 4 0 R >>",
        _stream(_TEXT_OPS),
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 5 0 R] /Count 1 >>",
    ])


def cyclic_refs_pdf() -> bytes:
    """Two indirect objects that only refer to each other, used as the page's MediaBox and Resources."""
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox 5 0 R /Resources 6 0 R /Contents 4 0 R >>",
        _stream(_TEXT_OPS),
        b"6 0 R",
        b"5 0 R",
    ])


def deep_pages_pdf(depth: int = 2000) -> bytes:
    """A page tree nested `depth` levels deep, with the only page at the bottom."""
    first = 5                                 # objects 1..4: catalog, leaf page, its content, spare
    objects = [b"<< /Type /Catalog /Pages %d 0 R >>" % first,
               b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources " % (first + depth - 1)
               + _FONT + b" /Contents 3 0 R >>",
               _stream(_TEXT_OPS), b"null"]
    for i in range(depth):
        n = first + i
        kid = n + 1 if i < depth - 1 else 2
        parent = b" /Parent %d 0 R" % (n - 1) if i else b""
        objects.append(b"<< /Type /Pages%s /Kids [%d 0 R] /Count 1 >>" % (parent, kid))
    return build_pdf(objects)


def unsupported_encryption_pdf() -> bytes:
    """A PDF 'encrypted' with public-key (certificate) security, which pdfminer cannot open."""
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources " + _FONT + b" /Contents 4 0 R >>",
        _stream(_TEXT_OPS),
        b"<< /Filter /Adobe.PubSec /SubFilter /adbe.pkcs7.s5 /V 4 /R 4 /Length 128 >>",
    ], trailer_extra=b"/Encrypt 5 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] ")


# -- DOCX and text --------------------------------------------------------------------------------

def table_docx() -> bytes:
    """A CV as Word users make them: a header, paragraphs, and a layout table with a merged row."""
    import docx

    d = docx.Document()
    d.core_properties.author = ""
    d.sections[0].header.paragraphs[0].text = f"Camille {MARKER} - camille@example.org - Lyon"
    d.add_heading("Profil", level=1)
    d.add_paragraph("Développeuse Python confirmée.")
    table = d.add_table(rows=3, cols=2)
    table.cell(0, 0).text = "Compétences"
    table.cell(0, 1).text = "Python, SQL, Docker"
    table.cell(1, 0).text = "Langues"
    table.cell(1, 1).text = "Anglais C1"
    table.cell(1, 1).add_paragraph("Espagnol B2")
    merged = table.cell(2, 0).merge(table.cell(2, 1))
    merged.text = "Permis B, véhiculée"
    d.add_paragraph("Centres d'intérêt : escalade.")
    buf = io.BytesIO()
    d.save(buf)
    return _deterministic_zip(buf.getvalue())


def malformed_docx() -> bytes:
    """A real DOCX whose main XML part is cut in half."""
    src = zipfile.ZipFile(io.BytesIO(table_docx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                data = data[: len(data) // 2]
            zf.writestr(info, data)
    return buf.getvalue()


def fake_encrypted_docx() -> bytes:
    """The signature of a password-protected Office file: an OLE container with an EncryptedPackage."""
    return (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptionInfo".encode("utf-16-le")
            + b"\0" * 50 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 400)


def _deterministic_zip(data: bytes) -> bytes:
    """`data` rezipped with fixed timestamps (python-docx stamps the current time)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties ' \
                       b'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>'
            zf.writestr(zipfile.ZipInfo(info.filename, (2020, 1, 1, 0, 0, 0)), body, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def cp1252_txt() -> bytes:
    """A CV saved by an old Windows editor: cp1252, CRLF, a dash and curly quotes that are not UTF-8."""
    return ("\r\n".join(CV_LINES) + "\r\nDisponibilité \u2014 \u2018immédiate\u2019\r\n").encode("cp1252")


def bom_md() -> bytes:
    """Markdown in UTF-8 with a byte-order mark."""
    return ("\ufeff# " + CV_LINES[0] + "\n\n" + "\n".join(f"- {x}" for x in CV_LINES[1:]) + "\n").encode()


def binary_txt() -> bytes:
    """Bytes of a binary file with some readable text inside, named .txt."""
    return b"\x7fELF\x02\x01\x01\0\0\0" + MARKER.encode() + b"\0\0\x03\0>\0" * 20


FIXTURES: dict[str, Callable[[], bytes]] = {
    "cv_text.pdf": text_pdf,
    "cv_two_columns.pdf": two_column_pdf,
    "image_only.pdf": image_only_pdf,
    "encrypted.pdf": encrypted_pdf,
    "owner_password_only.pdf": lambda: encrypted_pdf(user_password=""),
    "unsupported_encryption.pdf": unsupported_encryption_pdf,
    "empty.pdf": lambda: b"",
    "excel_renamed.pdf": excel_renamed,
    "empty_page.pdf": empty_page_pdf,
    "flate_bomb.pdf": flate_bomb,
    "slow.pdf": slow_pdf,
    "cyclic_pages.pdf": cyclic_pages_pdf,
    "cyclic_refs.pdf": cyclic_refs_pdf,
    "deep_pages.pdf": deep_pages_pdf,
    "cv_table.docx": table_docx,
    "malformed.docx": malformed_docx,
    "encrypted.docx": fake_encrypted_docx,
    "cv_cp1252.txt": cp1252_txt,
    "cv_bom.md": bom_md,
    "binary.txt": binary_txt,
}


def write_all(folder: Path = HERE) -> list[Path]:
    """Write every fixture into `folder`; the paths written."""
    written = []
    for name, make in FIXTURES.items():
        path = folder / name
        path.write_bytes(make())
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all():
        print(f"{p.stat().st_size:>9,}  {p.name}")
