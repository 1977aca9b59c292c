"""Build matcher/data/rome_fr.tsv.gz from the staged ROME v3 files (dev-time only).

    python scripts/build_rome.py [--src ../shared/data/taxonomy/rome_v3] [--out matcher/data/rome_fr.tsv.gz]

Reads `ROME_nomenclature.csv` (code;label) and `ROME_label.csv` (code;appellation), both `;`-separated UTF-8
with a BOM, and writes one gzipped tab-separated file: `N<TAB>code<TAB>label` for each of the 532 codes, then
`A<TAB>code<TAB>appellation` for each appellation, sorted, so the build is reproducible (gzip mtime 0).
Source : France Travail (ex-Pôle emploi), ROME, Licence Ouverte (see matcher/data/ATTRIBUTION.md).
The EUPL-licensed `lemmas_job_masc_fem.csv` of the same folder is not used.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_CODE = re.compile(r"[A-N]\d{4}")


def _rows(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)  # header
        out = []
        for row in reader:
            if len(row) < 2:
                continue
            code, label = row[0].strip(), " ".join(";".join(row[1:]).split())
            if not _CODE.fullmatch(code) or not label:
                raise SystemExit(f"{path}: unexpected row {row!r}")
            out.append((code, label))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default=str(ROOT.parent / "shared/data/taxonomy/rome_v3"))
    ap.add_argument("--out", default=str(ROOT / "matcher/data/rome_fr.tsv.gz"))
    a = ap.parse_args()
    src = Path(a.src)
    codes = sorted(set(_rows(src / "ROME_nomenclature.csv")))
    labels = sorted(set(_rows(src / "ROME_label.csv")))
    known = {c for c, _ in codes}
    unknown = sorted({c for c, _ in labels} - known)
    if unknown:
        raise SystemExit(f"appellations with codes missing from the nomenclature: {unknown[:5]}")
    buf = io.StringIO()
    for code, label in codes:
        buf.write(f"N\t{code}\t{label}\n")
    for code, label in labels:
        buf.write(f"A\t{code}\t{label}\n")
    out = Path(a.out)
    with open(out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(buf.getvalue().encode("utf-8"))
    print(f"{out}: {len(codes)} codes, {len(labels)} appellations, {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
