"""Measure rule-based field extraction against the shared data's truth; prints a table and one JSON line."""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matcher.parse.cv import extract_candidate  # noqa: E402
from matcher.parse.extract.rome import rome_codes  # noqa: E402
from matcher.parse.gazetteer import fold  # noqa: E402
from matcher.parse.posting import extract_posting  # noqa: E402

# The CV truth counts years of experience "as of 2025" (labelled/dev_fr/README.md).
TRUTH_YEAR = 2025


def _jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def _items_truth(rec: dict[str, Any]) -> set[tuple[str, str, str, bool]]:
    t = rec["truth"]
    out = set()
    for code in t.get("licences_required", []):
        out.add((rec["id"], "licence", code, True))
    for code in t.get("licences_desired", []):
        out.add((rec["id"], "licence", code, False))
    for x in t.get("languages_required", []):
        out.add((rec["id"], "language", x["lang"], True))
    for x in t.get("languages_desired", []):
        out.add((rec["id"], "language", x["lang"], False))
    return out


def _items_pred(pid: str, posting) -> set[tuple[str, str, str, bool]]:
    return {(pid, r.kind, r.value, r.required) for r in posting.requirements}


def requirement_scores(records: list[dict[str, Any]], field: str) -> tuple[dict[str, Any], list[str]]:
    """Micro P/R/F1 over (posting, kind, code, required) items, overall and per kind; plus error lines."""
    counts = {k: Counter() for k in ("all", "licence", "language")}
    errors: list[str] = []
    for rec in records:
        text = rec["text"] if field == "text" else rec["meta"].get(field) or ""
        pred = _items_pred(rec["id"], extract_posting(rec["id"], rec.get("title", ""), text))
        gold = _items_truth(rec)
        for item in pred | gold:
            kind = item[1]
            key = "tp" if item in pred and item in gold else ("fp" if item in pred else "fn")
            counts["all"][key] += 1
            counts[kind][key] += 1
            if key != "tp":
                errors.append(f"{key} {item[0]} {kind} {item[2]} {'required' if item[3] else 'desired'}")
    return {k: _prf(c["tp"], c["fp"], c["fn"]) for k, c in counts.items()}, errors


def _disagreeing(rec: dict[str, Any]) -> bool:
    note = rec["meta"].get("text_vs_native_note")
    return bool(note) and "consistent" not in note


def _city_key(s: str) -> str:
    """Folded city without arrondissement ("Paris 09" is Paris) or leading article ("Le Mans" = "Mans")."""
    import re
    k = fold(s)
    k = re.sub(r"^(paris|lyon|marseille) \d+( ?(e|er|eme))?( arrondissement)?$", r"\1", k)
    return re.sub(r"^(le|la|les|l) ", "", k).replace(" ", "")


def _city_eq(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return a == b
    return _city_key(a) == _city_key(b)


def _months_truth(rec: dict[str, Any]) -> float | None:
    import re
    label = rec["meta"].get("ft_contract_label") or ""
    if not label:
        m = re.search(r"Type de contrat : ([^\n]+)", rec["text"])
        label = m.group(1) if m else ""
    m = re.search(r"(\d+)\s*(Mois|Jour)", label)
    if not m:
        return None
    n = float(m.group(1))
    return n if m.group(2) == "Mois" else round(n / 30, 2)


def france_travail_scores(records: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str], float]:
    """Contract, duration and location accuracy from the source's structured fields; and the time taken."""
    c: Counter = Counter()
    errors: list[str] = []
    t0 = time.perf_counter()
    postings = [extract_posting(r["id"], r.get("title", ""), r["text"], r.get("source", "")) for r in records]
    elapsed = time.perf_counter() - t0
    for rec, p in zip(records, postings, strict=True):
        t = rec["truth"]
        if "contract" in t:
            c["contract_n"] += 1
            if p.contract == t["contract"]:
                c["contract_ok"] += 1
            else:
                errors.append(f"contract {rec['id']} got={p.contract} want={t['contract']}")
            c["contract_ft_mapping_n"] += 1
            c["contract_ft_mapping_ok"] += ("CDD" if p.contract == "Alternance" else p.contract) == t["contract"]
        months = _months_truth(rec)
        if months is not None and t.get("contract") in ("CDD", "Stage", "Intérim", "Saisonnier"):
            c["months_n"] += 1
            if p.contract_months is not None and abs(p.contract_months - months) < 0.05:
                c["months_ok"] += 1
            else:
                errors.append(f"months {rec['id']} got={p.contract_months} want={months}")
        loc = t.get("location")
        got = p.location
        if loc is None:
            c["loc_none_n"] += 1
            c["loc_none_ok"] += got is None or (not got.city and not got.department and not got.region
                                                and not got.country)
            continue
        if loc.get("department"):
            c["dept_n"] += 1
            ok = got is not None and got.department == loc["department"]
            c["dept_ok"] += ok
            if not ok:
                errors.append(f"department {rec['id']} got={got and got.department} want={loc['department']}")
        if loc.get("city"):
            c["city_n"] += 1
            ok = got is not None and _city_eq(got.city, loc["city"])
            c["city_ok"] += ok
            if not ok:
                errors.append(f"city {rec['id']} got={got and got.city} want={loc['city']}")
            if "lat" in loc:
                c["coords_n"] += 1
                if got is not None and got.lat is not None and abs(got.lat - loc["lat"]) < 0.05 \
                        and abs(got.lon - loc["lon"]) < 0.07:
                    c["coords_ok"] += 1
        elif loc.get("region") and not loc.get("department"):
            c["region_only_n"] += 1
            c["region_only_ok"] += got is not None and got.region == loc["region"] and not got.department
        if loc.get("country"):
            c["country_n"] += 1
            c["country_ok"] += got is not None and got.country == loc["country"]
    out = {k[:-2]: round(c[k[:-2] + "_ok"] / c[k], 4) for k in c if k.endswith("_n") and c[k]}
    out.update({k: c[k] for k in c if k.endswith("_n")})
    return out, errors, elapsed


def rome_accuracy(records: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """ROME codes assigned to the ads' titles against France Travail's own code (`meta.rome`): top-1 accuracy,
    3-character domain accuracy, how often the code is among the assigned ones, and how often any is assigned."""
    c: Counter = Counter()
    errors: list[str] = []
    for rec in records:
        want = rec["meta"].get("rome")
        if not want:
            continue
        got = rome_codes(rec.get("title", ""))
        c["n"] += 1
        c["top1"] += bool(got) and got[0] == want
        c["domain"] += bool(got) and got[0][:3] == want[:3]
        c["any"] += want in got
        c["assigned"] += bool(got)
        if not got or got[0] != want:
            errors.append(f"rome {rec['id']} got={','.join(got) or '-'} want={want}")
    n = c["n"] or 1
    return {k: round(c[k] / n, 4) for k in ("top1", "domain", "any", "assigned")} | {"n": c["n"]}, errors


def _langs(items: Iterable[dict[str, str]]) -> set[tuple[str, str | None]]:
    return {(x["lang"], x.get("level")) for x in items}


def dev_posting_scores(records: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Per-field accuracy against the hand-read posting truth of the dev set."""
    c: Counter = Counter()
    errors: list[str] = []
    for rec in records:
        t = rec["truth"]
        got = extract_posting(rec["id"], rec.get("title", ""), rec["text"], rec.get("source", "")).truth()
        checks = {
            "licences_required": set(got["licences_required"]) == set(t["licences_required"]),
            "licences_desired": set(got["licences_desired"]) == set(t["licences_desired"]),
            "languages_required": _langs(got["languages_required"]) == _langs(t["languages_required"]),
            "languages_desired": {x["lang"] for x in got["languages_desired"]}
            == {x["lang"] for x in t["languages_desired"]},
            "contract": got.get("contract") == t.get("contract"),
            "location_department": (got.get("location") or {}).get("department") == t["location"].get("department"),
            "location_city": _city_eq((got.get("location") or {}).get("city"), t["location"].get("city")),
            "remote": got["remote"] == t["remote"],
        }
        for k, ok in checks.items():
            c[k] += ok
            if not ok:
                gv = got.get(k.split("_")[0] if k.startswith("location") else k)
                if k.startswith("location"):
                    gv = (got.get("location") or {}).get(k.split("_")[1])
                    tv = t["location"].get(k.split("_")[1])
                else:
                    tv = t.get(k)
                errors.append(f"{k} {rec['id']} got={gv} want={tv}")
    n = len(records)
    return {k: round(v / n, 4) for k, v in c.items()} | {"n": n}, errors


def _read_cv(path: Path) -> str:
    try:
        from matcher.parse.documents import read_text
        from matcher.parse.mask import mask_protected
    except ImportError:      # the shared reader is not there yet: read directly
        return _read_cv_direct(path)
    return mask_protected(read_text(path))


def _read_cv_direct(path: Path) -> str:
    if path.suffix == ".pdf":
        from pdfminer.high_level import extract_text
        return extract_text(str(path))
    if path.suffix == ".docx":
        import docx
        d = docx.Document(str(path))
        return "\n".join(p.text for p in d.paragraphs)
    return path.read_text(encoding="utf-8")


def dev_cv_scores(set_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """Per-field accuracy against the dev set's CV truth (CV files read and masked as the product does)."""
    c: Counter = Counter()
    errors: list[str] = []
    records = _jsonl(set_dir / "cvs.jsonl")
    for rec in records:
        t = rec["truth"]
        cand = extract_candidate(rec["id"], _read_cv(set_dir / rec["file"]), ref_year=TRUTH_YEAR)
        got = cand.truth()
        loc = got.get("location") or {}
        checks = {
            "location_city": _city_eq(loc.get("city"), t["location"].get("city")),
            "location_department": loc.get("department") == t["location"].get("department"),
            "mobility": got["mobility"] == t["mobility"],
            "contracts_wanted": set(got["contracts_wanted"]) == set(t["contracts_wanted"]),
            "licences": set(got["licences"]) == set(t["licences"]),
            "languages": _langs(got["languages"]) == _langs(t["languages"]),
            "years_experience_pm2": got.get("years_experience") is not None
            and abs(got["years_experience"] - t["years_experience"]) <= 2,
        }
        for k, ok in checks.items():
            c[k] += ok
            if not ok:
                gv = {"location_city": loc.get("city"), "location_department": loc.get("department"),
                      "years_experience_pm2": got.get("years_experience")}.get(k, got.get(k))
                tv = {"location_city": t["location"].get("city"),
                      "location_department": t["location"].get("department"),
                      "years_experience_pm2": t["years_experience"]}.get(k, t.get(k))
                errors.append(f"{k} {rec['id']} got={gv} want={tv}")
    n = len(records)
    return {k: round(v / n, 4) for k, v in c.items()} | {"n": n}, errors


def main(argv: list[str] | None = None) -> int:
    """Run every measure; print the table, the errors on request, and one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", nargs="?", default="../shared/data", help="the shared data folder")
    ap.add_argument("--errors", action="store_true", help="list every error after the table")
    args = ap.parse_args(argv)
    data = Path(args.data)
    raw = _jsonl(data / "postings/france_travail_raw_truth.jsonl")
    agree = [r for r in raw if not _disagreeing(r)]
    result: dict[str, Any] = {}
    errs: dict[str, list[str]] = {}
    result["raw_text"], errs["raw_text"] = requirement_scores(raw, "text")
    result["raw_text_agreeing"], _ = requirement_scores(agree, "text")
    result["raw_description_only"], errs["raw_description_only"] = requirement_scores(raw, "description_only")
    result["raw_description_only_agreeing"], _ = requirement_scores(agree, "description_only")
    result["rome_titles"], errs["rome_titles"] = rome_accuracy(raw)
    ft = _jsonl(data / "postings/france_travail.jsonl")
    result["france_travail"], errs["france_travail"], elapsed = france_travail_scores(ft)
    result["france_travail"]["seconds_all"] = round(elapsed, 3)
    dev = data / "labelled/dev_fr"
    result["dev_postings"], errs["dev_postings"] = dev_posting_scores(_jsonl(dev / "postings.jsonl"))
    result["dev_cvs"], errs["dev_cvs"] = dev_cv_scores(dev)

    print(f"{'set':<40}{'metric':<26}{'value':>10}")
    print("-" * 76)
    for name in ("raw_text", "raw_text_agreeing", "raw_description_only", "raw_description_only_agreeing"):
        for kind in ("all", "licence", "language"):
            s = result[name][kind]
            print(f"{name + ' (' + str(len(agree if 'agreeing' in name else raw)) + ')':<40}"
                  f"{kind + ' P/R/F1':<26}{s['precision']:.3f}/{s['recall']:.3f}/{s['f1']:.3f}")
    for name in ("rome_titles", "france_travail", "dev_postings", "dev_cvs"):
        for k, v in result[name].items():
            if k.endswith("_n") or k == "n":
                continue
            print(f"{name:<40}{k:<26}{v:>10}")
        print(f"{name:<40}{'n':<26}{result[name].get('n', len(ft)):>10}")
    if args.errors:
        for name, lines in errs.items():
            for line in lines:
                print(f"ERR {name}: {line}")
    print(json.dumps(result, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
