"""Parsing: documents (PDF, DOCX, TXT) to text, and text to `Posting` / `Candidate` with extracted fields."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

from ..config import Settings
from ..domain import Candidate, Posting
from ..errors import ParseError
from .text import C0_CONTROLS

__all__ = ["parse_cv", "parse_posting_file", "load_postings", "load_cvs", "DOC_SUFFIXES"]

DOC_SUFFIXES = (".pdf", ".docx", ".txt", ".md")
_CONTROL = re.compile(f"[{C0_CONTROLS}]")


def parse_cv(path: str | Path, settings: Settings | None = None, cv_id: str | None = None) -> Candidate:
    """Read a CV file (PDF, DOCX, TXT) and extract its fields. Protected attributes are masked first."""
    from .cv import extract_candidate
    from .documents import read_text
    from .mask import mask_protected
    path = Path(path)
    text = read_text(path, settings)
    return extract_candidate(cv_id or path.stem, mask_protected(text))


def parse_posting_file(path: str | Path, settings: Settings | None = None) -> Posting:
    """A posting from a document file: the id is the file stem, the title its first non-empty line."""
    from .documents import read_text
    from .posting import extract_posting
    path = Path(path)
    text = read_text(path, settings)
    title = next((line.strip(" #\t") for line in text.splitlines() if line.strip()), path.stem)
    return extract_posting(path.stem, title, text, source=path.name)


def _jsonl_postings(path: Path, errors: list[ParseError]) -> Iterable[Posting]:
    from .posting import extract_posting
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        errors.append(ParseError(str(path), f"cannot read: {type(e).__name__}"))
        return
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            errors.append(ParseError(where, "not valid JSON"))
            continue
        if not isinstance(rec, dict) or not str(rec.get("id", "")).strip():
            errors.append(ParseError(where, "posting without an id"))
            continue
        text = rec.get("text")
        if not isinstance(text, str) or not text.strip():
            errors.append(ParseError(where, f"posting {rec['id']} has no text"))
            continue
        if _CONTROL.search(str(rec["id"])):
            errors.append(ParseError(where, "posting id with control characters"))
            continue
        yield extract_posting(str(rec["id"]), _CONTROL.sub("", str(rec.get("title") or "")), _CONTROL.sub("", text),
                              source=_CONTROL.sub("", str(rec.get("source") or "")))


def load_postings(paths: Iterable[str | Path], settings: Settings | None = None
                  ) -> tuple[list[Posting], list[ParseError]]:
    """Postings from JSONL files and folders of documents. Bad records are returned as errors, not raised."""
    postings: list[Posting] = []
    errors: list[ParseError] = []
    for path in map(Path, paths):
        if not path.exists():
            errors.append(ParseError(str(path), "file not found"))
        elif path.is_dir():
            for f in sorted(p for p in path.iterdir() if p.suffix.lower() in DOC_SUFFIXES + (".jsonl",)):
                if f.suffix.lower() == ".jsonl":
                    postings.extend(_jsonl_postings(f, errors))
                    continue
                try:
                    postings.append(parse_posting_file(f, settings))
                except ParseError as e:
                    errors.append(e)
        elif path.suffix.lower() == ".jsonl":
            postings.extend(_jsonl_postings(path, errors))
        else:
            try:
                postings.append(parse_posting_file(path, settings))
            except ParseError as e:
                errors.append(e)
    return postings, errors


def load_cvs(paths: Iterable[str | Path], settings: Settings | None = None,
             progress=None) -> tuple[list[Candidate], list[ParseError]]:
    """CVs from files, folders of files, or a JSONL of {"id", "file"} records (files relative to the JSONL)."""
    jobs: list[tuple[str, Path]] = []
    errors: list[ParseError] = []
    for path in map(Path, paths):
        if not path.exists():
            errors.append(ParseError(str(path), "file not found"))
        elif path.is_dir():
            jobs.extend((f.stem, f) for f in sorted(path.iterdir()) if f.suffix.lower() in DOC_SUFFIXES)
        elif path.suffix.lower() == ".jsonl":
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    jobs.append((str(rec["id"]), _resolve(path.parent, rec.get("file") or rec.get("cv"))))
                except (json.JSONDecodeError, KeyError, TypeError):
                    errors.append(ParseError(f"{path}:{n}", "expected a JSON object with 'id' and 'file'"))
        else:
            jobs.append((path.stem, path))
    from .cv import extract_candidate
    from .documents import read_texts
    from .mask import mask_protected
    cvs: list[Candidate] = []
    for start in range(0, len(jobs), 16):  # one isolated worker serves a whole batch of PDFs
        batch = jobs[start:start + 16]
        for (cv_id, _), text in zip(batch, read_texts([f for _, f in batch], settings)):
            if isinstance(text, ParseError):
                errors.append(text)
            else:
                cvs.append(extract_candidate(cv_id, mask_protected(text)))
        if progress:
            progress(len(batch))
    return cvs, errors


def _resolve(base: Path, f) -> Path:
    if not f:
        raise KeyError("file")
    p = Path(f)
    if p.is_absolute() or (base / p).exists():
        return p if p.is_absolute() else base / p
    return base / "cvs" / p.name if (base / "cvs" / p.name).exists() else base / p
