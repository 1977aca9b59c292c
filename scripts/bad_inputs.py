"""Run every bad input we test through the CLI and print a Markdown table of what the user sees.

    python scripts/bad_inputs.py [--out eval/reports/bad_inputs.md]

Inputs: the fixtures of tests/data/documents (made by make_fixtures.py), plus a few made on the spot
(a missing file, a directory, a huge file, broken JSONL, bad options). Uses the fake embedder, so no
model is loaded. The README's table is this script's output.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "tests" / "data" / "documents"


def run(args: list[str], cwd: Path) -> tuple[int, str]:
    env = {**os.environ, "MATCHER_MODEL": "fake-hashing"}
    r = subprocess.run([sys.executable, "-m", "matcher", *args], capture_output=True, text=True, cwd=cwd, env=env,
                       timeout=300)
    if r.returncode == 0 and args[0] == "match":
        return 0, "(no error: the text is read and the CV ranked)"
    out = (r.stderr.strip() or r.stdout.strip()).splitlines()
    return r.returncode, (out[-1] if out else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="also write the table to this file")
    a = ap.parse_args()
    subprocess.run([sys.executable, str(DOCS / "make_fixtures.py")], check=True, capture_output=True)
    rows: list[tuple[str, str, int, str]] = []
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as tmp:
        t = Path(tmp)
        idx = t / "idx"
        seeds = ROOT / "corpus" / "postings" / "seeds.jsonl"
        run(["index", "add", str(seeds), "--index", str(idx)], t)
        cases: list[tuple[str, list[str]]] = []
        described = {
            "encrypted.pdf": "PDF with a user password", "owner_password_only.pdf": "PDF with an owner password only",
            "unsupported_encryption.pdf": "PDF with an unknown encryption filter", "empty.pdf": "0-byte .pdf",
            "empty_page.pdf": "PDF with one blank page", "image_only.pdf": "scanned PDF (image, no text layer)",
            "excel_renamed.pdf": "a spreadsheet renamed .pdf", "flate_bomb.pdf": "4 KB PDF inflating to 2 GiB",
            "cyclic_pages.pdf": "PDF whose page tree is a cycle", "cyclic_refs.pdf": "PDF with cyclic references",
            "deep_pages.pdf": "PDF with a 2,000-deep page tree", "slow.pdf": "PDF that takes too long to parse",
            "encrypted.docx": "password-protected DOCX", "malformed.docx": "broken DOCX (not a zip)",
            "binary.txt": "binary data named .txt",
        }
        for name, what in described.items():
            cases.append((what, ["match", str(DOCS / name), "--index", str(idx)]))
        missing = t / "nope.pdf"
        cases.append(("file that does not exist", ["match", str(missing), "--index", str(idx)]))
        cases.append(("a directory given as CV", ["match", str(t), "--index", str(idx)]))
        big = t / "huge.pdf"
        with open(big, "wb") as f:
            f.write(b"%PDF-1.4\n")
            f.truncate(25 * 1024 * 1024)
        cases.append(("25 MB PDF (cap 20 MB)", ["match", str(big), "--index", str(idx)]))
        odd = t / "cv.odt"
        odd.write_bytes(b"PK\x03\x04")
        cases.append(("unsupported extension (.odt)", ["match", str(odd), "--index", str(idx)]))
        bad_jsonl = t / "bad.jsonl"
        bad_jsonl.write_text('{"id": "a", "title": "T", "text": "Aide-soignant CDI"}\n{"id": \nnot json\n'
                             '{"title": "no id", "text": "x"}\n', encoding="utf-8")
        cases.append(("JSONL with broken lines and a record without id",
                      ["index", "add", str(bad_jsonl), "--index", str(t / "idx2")]))
        cases.append(("index that does not exist", ["match", str(DOCS / "cv_text.pdf"), "--index", str(t / "none")]))
        corrupt = t / "corrupt"
        corrupt.mkdir()
        (corrupt / "index.sqlite").write_bytes(b"this is not a database\n" * 100)
        cases.append(("corrupted index file", ["index", "info", "--index", str(corrupt)]))
        cases.append(("index built with another model", ["match", str(DOCS / "cv_text.pdf"), "--index", str(idx),
                                                          "--model", "other-model"]))
        cases.append(("unknown --ignore-filter", ["match", str(DOCS / "cv_text.pdf"), "--index", str(idx),
                                                  "--ignore-filter", "salary"]))
        cases.append(("bad --mobility", ["match", str(DOCS / "cv_text.pdf"), "--index", str(idx),
                                         "--mobility", "radius_km:far"]))
        cases.append(("--explain an unknown posting", ["match", str(DOCS / "cv_text.pdf"), "--index", str(idx),
                                                        "--explain", "nope"]))
        cases.append(("forget an unknown CV", ["forget", "nope", "--index", str(idx)]))
        cases.append(("candidates for an unknown posting", ["candidates", "nope", "--index", str(idx)]))
        for what, args in cases:
            code, line = run(args, t)
            shown = line.replace(str(t), "…").replace(str(DOCS), "tests/data/documents")
            rows.append((what, " ".join(args[:1]), code, shown))
    lines = ["| bad input | command | exit | what the user sees (last line of stderr) |", "|---|---|---|---|"]
    for what, cmd, code, shown in rows:
        lines.append(f"| {what} | `{cmd}` | {code} | `{shown.replace('|', '/')}` |")
    table = "\n".join(lines)
    print(table)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
