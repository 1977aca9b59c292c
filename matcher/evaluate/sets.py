"""Load a labelled CV -> posting set (the CONTRACT.md layout, or the Vanetik & Kogan layout) into one shape."""
from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import ParseError
from .oracle import truth_failures
from .trec import read_qrels

__all__ = ["LabelledSet", "Rationale", "load_set", "detect_layout"]


@dataclass(frozen=True)
class Rationale:
    """One line of rationales.tsv: why a pair got its grade; `hard_filter` when a hard filter forced 0."""
    cv_id: str
    posting_id: str
    grade: int
    reason: str
    hard_filter: bool


@dataclass(frozen=True)
class LabelledSet:
    """A labelled set in memory. Queries are CVs, documents are postings.

    postings: records with at least "id", "title", "text" (contract schema; "truth" may be {}).
    cvs: records with at least "id" and "file" (an absolute path), "truth" (may be {}).
    qrels: {cv_id: {posting_id: grade}}.
    rationales: {(cv_id, posting_id): Rationale}, empty when the set has no rationales.tsv.
    layout: "contract" (CONTRACT.md) or "vanetik" (CV/ folder + vacancies CSV)."""
    name: str
    root: Path
    layout: str
    postings: tuple[dict[str, Any], ...]
    cvs: tuple[dict[str, Any], ...]
    qrels: dict[str, dict[str, int]]
    rationales: dict[tuple[str, str], Rationale] = field(default_factory=dict)

    @cached_property
    def _by_id(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        return {p["id"]: p for p in self.postings}, {c["id"]: c for c in self.cvs}

    def posting(self, posting_id: str) -> dict[str, Any]:
        """The posting record with this id (KeyError when absent)."""
        return self._by_id[0][posting_id]

    def cv(self, cv_id: str) -> dict[str, Any]:
        """The CV record with this id (KeyError when absent)."""
        return self._by_id[1][cv_id]

    def blocked(self, cv_id: str, posting_id: str) -> bool | None:
        """Whether a hard filter rules the pair out: rationales.tsv's verdict when it lists the pair,
        else the truth fields' verdict (`truth_failures`); None when either side is not in the set
        (e.g. an added distractor) or has no truth."""
        r = self.rationales.get((cv_id, posting_id))
        if r is not None:
            return r.hard_filter
        cv, post = self._by_id[1].get(cv_id), self._by_id[0].get(posting_id)
        if not cv or not post or not cv.get("truth") or not post.get("truth"):
            return None
        return bool(truth_failures(cv["truth"], post["truth"], cv.get("lang", "fr")))


def detect_layout(set_dir: str | Path) -> str:
    """"contract" when the folder has postings.jsonl, "vanetik" when it has CV/ and a vacancies file.

    Raises ParseError when it is neither."""
    root = Path(set_dir)
    if (root / "postings.jsonl").is_file():
        return "contract"
    if (root / "CV").is_dir() and ((root / "vacancies.tsv").is_file() or (root / "5_vacancies.csv").is_file()):
        return "vanetik"
    raise ParseError(str(root), "not a labelled set: expected postings.jsonl (CONTRACT.md layout) "
                                "or CV/ with vacancies.tsv or 5_vacancies.csv (Vanetik layout)")


def load_set(set_dir: str | Path, qrels_name: str = "qrels.tsv") -> LabelledSet:
    """Load the labelled set in `set_dir`, whichever of the two layouts it has.

    Args: set_dir, the set's folder; qrels_name, the qrels file inside it (e.g. qrels_annotator2.tsv).
    Returns a LabelledSet whose CV records carry absolute file paths.
    Raises ParseError when a file is missing or malformed, or when qrels name unknown ids."""
    root = Path(set_dir).resolve()
    layout = detect_layout(root)
    if layout == "contract":
        postings, cvs, qrels, rationales = _load_contract(root, qrels_name)
    else:
        postings, cvs, qrels, rationales = _load_vanetik(root, qrels_name)
    _check_ids(root, postings, cvs, qrels)
    return LabelledSet(name=root.name, root=root, layout=layout, postings=tuple(postings),
                       cvs=tuple(cvs), qrels=qrels, rationales=rationales)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise ParseError(str(path), "missing")
    out = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ParseError(str(path), f"line {no}: invalid JSON ({e.msg})") from e
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise ParseError(str(path), f"line {no}: a record must be an object with a string \"id\"")
        out.append(record)
    return out


def _read_rationales(path: Path) -> dict[tuple[str, str], Rationale]:
    out: dict[tuple[str, str], Rationale] = {}
    if not path.is_file():
        return out
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if not line.strip() or parts[0] == "cv_id":   # blank or header line
            continue
        if len(parts) < 4 or not parts[2].strip().isdigit():
            raise ParseError(str(path), f"line {no}: expected cv_id, posting_id, grade, reason")
        reason = "\t".join(parts[3:])
        out[(parts[0], parts[1])] = Rationale(parts[0], parts[1], int(parts[2]), reason,
                                              reason.lower().startswith("hard filter"))
    return out


def _load_contract(root: Path, qrels_name: str) -> tuple[list, list, dict, dict]:
    postings = _read_jsonl(root / "postings.jsonl")
    cvs = []
    for record in _read_jsonl(root / "cvs.jsonl"):
        name = record.get("file")
        if not isinstance(name, str) or not name:
            raise ParseError(str(root / "cvs.jsonl"), f"CV {record['id']} has no \"file\"")
        # "file" is relative to the set (cvs/x.pdf) in CONTRACT.md; score.py also accepts it relative to cvs/.
        found = next((p for p in (Path(name), root / name, root / "cvs" / name) if p.is_file()), None)
        if found is None:
            raise ParseError(str(root / "cvs.jsonl"), f"CV {record['id']}: file {name} not found")
        cvs.append({**record, "file": str(found.resolve())})
    qrels_path = root / qrels_name
    if not qrels_path.is_file():
        raise ParseError(str(qrels_path), "missing")
    return postings, cvs, read_qrels(qrels_path), _read_rationales(root / "rationales.tsv")


def _load_vanetik(root: Path, qrels_name: str) -> tuple[list, list, dict, dict]:
    csv_path = root / "5_vacancies.csv"
    if not csv_path.is_file():
        raise ParseError(str(csv_path), "missing")
    with csv_path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"id", "job_title", "job_description"} <= set(rows[0]):
        raise ParseError(str(csv_path), "expected columns id, job_title, job_description")
    by_csv_id = {r["id"]: r for r in rows}
    # vacancies.tsv names vac1..vacN by CSV id; without it, vacN is the N-th CSV row (the README's rule).
    order = [(f"vac{i}", r["id"]) for i, r in enumerate(rows, 1)]
    tsv = root / "vacancies.tsv"
    if tsv.is_file():
        with tsv.open(encoding="utf-8", newline="") as f:
            order = [(r["vacancy_id"], r["csv_id"]) for r in csv.DictReader(f, delimiter="\t")]
    postings = []
    for vac_id, csv_id in order:
        if csv_id not in by_csv_id:
            raise ParseError(str(tsv), f"{vac_id}: CSV id {csv_id} not in {csv_path.name}")
        r = by_csv_id[csv_id]
        postings.append({"id": vac_id, "title": r["job_title"].strip(), "text": r["job_description"].strip(),
                         "source": "vanetik", "lang": "en", "truth": {}, "meta": {"csv_id": csv_id}})
    qrels_path = root / qrels_name
    if not qrels_path.is_file():
        raise ParseError(str(qrels_path), "missing")
    qrels = read_qrels(qrels_path)
    cvs = []
    # Only judged CVs are queries: the unlabelled ones (31-65) cannot be scored.
    for cv_id in sorted(qrels, key=_natural):
        m = re.fullmatch(r"cv(\d+)", cv_id)
        path = root / "CV" / f"{m.group(1)}.docx" if m else None
        if path is None or not path.is_file():
            raise ParseError(str(qrels_path), f"query {cv_id} has no file CV/<n>.docx")
        cvs.append({"id": cv_id, "file": str(path.resolve()), "lang": "en", "truth": {}, "notes": ""})
    return postings, cvs, qrels, {}


def _natural(s: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s))


def _check_ids(root: Path, postings: list, cvs: list, qrels: dict) -> None:
    for kind, records in (("posting", postings), ("CV", cvs)):
        dup = sorted(i for i, n in Counter(r["id"] for r in records).items() if n > 1)
        if dup:
            raise ParseError(str(root), f"duplicate {kind} ids: {', '.join(dup[:5])}")
    posting_ids, cv_ids = {p["id"] for p in postings}, {c["id"] for c in cvs}
    unknown_q = sorted(set(qrels) - cv_ids)
    unknown_d = sorted({d for judged in qrels.values() for d in judged} - posting_ids)
    if unknown_q or unknown_d:
        raise ParseError(str(root), f"qrels name unknown ids: CVs {unknown_q[:5]}, postings {unknown_d[:5]}")
