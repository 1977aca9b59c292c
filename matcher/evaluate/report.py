"""Render evaluation results as a terminal table, a JSON file or a self-contained HTML page with plots."""
from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

__all__ = ["format_table", "write_json", "write_html", "render_html", "to_jsonable", "RESULTS_DOC"]

# Shown first, in this order, when present; other metrics follow in the order they first appear.
_METRIC_ORDER = ("ndcg@10", "ndcg@5", "map", "mrr", "p@5", "recall@10", "recall@50")
_TESTS = ("randomisation", "t-test")

RESULTS_DOC = """
The results structure (plain dicts, JSON-ready; only "default" and "configs" are required):
    {"default": NAME,                                   # the configuration the product ships
     "baseline": NAME,                                  # optional: what significance compares to (else default)
     "title": str, "meta": {key: value},                # optional header lines
     "configs": {NAME: {"ndcg@10": x, "map": x, ...}},  # mean per metric
     "per_query": {NAME: {metric: {query_id: x}}},      # evaluate(..., per_query=True)[1]
     "significance": {NAME: {metric: {"randomisation": {...}, "t-test": {...}}}},  # compare_to_baseline
     "extraction": {"posting" | "cv": {field: FieldScore or its dict}},
     "sections": {title: [{column: value, ...}, ...]}}  # free-form extra tables
"""


def to_jsonable(x: Any) -> Any:
    """A copy of `x` that json.dumps accepts: dataclasses become dicts, paths strings, NaN/inf None."""
    if is_dataclass(x) and not isinstance(x, type):
        return to_jsonable(asdict(x))
    if isinstance(x, Mapping):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if hasattr(x, "item") and callable(x.item):   # numpy scalar
        return to_jsonable(x.item())
    return x


def _check(results: Mapping[str, Any]) -> dict[str, Any]:
    configs = results.get("configs")
    if not isinstance(configs, Mapping) or not configs:
        raise ValueError("results need a non-empty \"configs\": {name: {metric: value}} "
                         "(see matcher.evaluate.report.RESULTS_DOC)")
    for key in ("default", "baseline"):
        if (key == "default" or key in results) and results.get(key) not in configs:
            raise ValueError(f"results \"{key}\" ({results.get(key)!r}) must name one of the configs: "
                             f"{', '.join(configs)}")
    return to_jsonable(results)


def _metrics(configs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    seen = [m for c in configs.values() for m in c]
    first = [m for m in _METRIC_ORDER if m in seen]
    return first + [m for m in dict.fromkeys(seen) if m not in first]


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "-"
        # p-values can be tiny; 4 decimals would print them as 0.0000.
        return f"{v:.4f}" if v == 0 or abs(v) >= 1e-3 else f"{v:.1e}"
    return str(v)


def _tables(results: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(title, headers, rows) of every table, shared by the text and HTML renderings."""
    default, configs = results["default"], results["configs"]
    metrics = _metrics(configs)
    out = [(f"Metrics (* = default, {default})", ["config", *metrics],
            [[("* " if name == default else "  ") + name, *(configs[name].get(m) for m in metrics)]
             for name in configs])]
    sig = results.get("significance") or {}
    rows = []
    for name, by_metric in sig.items():
        for metric, tests in by_metric.items():
            first = next((tests[t] for t in _TESTS if t in tests), {})
            rows.append([name, metric, first.get("n_queries"), first.get("mean_diff"),
                         *((tests.get(t) or {}).get("p_value") for t in _TESTS)])
    if rows:
        n = next((t.get("n_resamples") for m in sig.values() for ts in m.values()
                  for t in ts.values() if t.get("n_resamples")), None)
        baseline = results.get("baseline") or default
        out.append((f"Significance vs {baseline} (paired, two-sided; randomisation n={n})",
                    ["config", "metric", "queries", "diff", "p randomisation", "p t-test"], rows))
    for side, fields in (results.get("extraction") or {}).items():
        out.append((f"Extraction accuracy ({side})", ["field", "kind", "n", "precision", "recall", "f1", "accuracy"],
                    [[f, s.get("kind"), s.get("n"), s.get("precision"), s.get("recall"), s.get("f1"),
                      s.get("accuracy")] for f, s in fields.items()]))
    for title, table in (results.get("sections") or {}).items():
        table = list(table or [])
        headers = list(dict.fromkeys(k for row in table for k in row))
        out.append((str(title), headers, [[row.get(h) for h in headers] for row in table]))
    return out


def format_table(results: Mapping[str, Any]) -> str:
    """Plain-text tables of the results (metrics, significance, extraction, extra sections).

    Args: results, the structure described in RESULTS_DOC. Returns the text; nothing is printed."""
    data = _check(results)
    blocks = []
    if data.get("title"):
        blocks.append(str(data["title"]))
    if data.get("meta"):
        blocks.append("\n".join(f"{k}: {_cell(v)}" for k, v in data["meta"].items()))
    for title, headers, rows in _tables(data):
        cells = [headers] + [[_cell(v) for v in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
        # Left-align text columns, right-align numbers so that decimals line up.
        numeric = [bool(rows) and all(isinstance(row[i], (int, float)) or row[i] is None for row in rows)
                   for i in range(len(headers))]
        lines = [title]
        for j, r in enumerate(cells):
            lines.append("  ".join(c.rjust(w) if numeric[i] else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(r, widths))).rstrip())
            if j == 0:
                lines.append("  ".join("-" * w for w in widths))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def write_json(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write the results as indented JSON (NaN written as null). Returns the path."""
    path = Path(path)
    path.write_text(json.dumps(_check(results), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)   # the Agg canvas, explicitly: no GUI backend and no pyplot global state
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _bar_chart(data: dict[str, Any]) -> str:
    from matplotlib.figure import Figure

    configs = data["configs"]
    metrics = _metrics(configs)
    fig = Figure(figsize=(max(6.0, 1.2 * len(metrics) + 2), 4))
    ax = fig.subplots()
    width = 0.8 / len(configs)
    for j, name in enumerate(configs):
        values = [configs[name].get(m) for m in metrics]
        ax.bar([i + j * width for i in range(len(metrics))],
               [v if isinstance(v, (int, float)) else 0.0 for v in values], width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(metrics))], metrics)
    ax.set_ylim(0, 1)
    ax.set_title("Metrics by configuration")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)


def _per_query_plot(data: dict[str, Any], metric: str) -> str | None:
    from matplotlib.figure import Figure

    series = {name: m[metric] for name, m in (data.get("per_query") or {}).items() if m.get(metric)}
    if not series:
        return None
    ref = series.get(data["default"]) or next(iter(series.values()))
    # Queries sorted by the default configuration's value, so that its line falls monotonically.
    queries = sorted({q for s in series.values() for q in s}, key=lambda q: (-(ref.get(q) or 0.0), q))
    fig = Figure(figsize=(max(6.0, 0.25 * len(queries) + 2), 4))
    ax = fig.subplots()
    x = list(range(len(queries)))
    for name, values in series.items():
        ax.plot(x, [values.get(q, float("nan")) for q in queries], marker="o", markersize=3,
                linewidth=1, label=name)
    if len(queries) <= 40:
        ax.set_xticks(x, queries, rotation=90, fontsize="x-small")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per query (sorted by {data['default']})")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)


def render_html(results: Mapping[str, Any], per_query_metric: str = "ndcg@10") -> str:
    """A self-contained HTML page: tables plus two PNG plots embedded as base64.

    Args: results (RESULTS_DOC); per_query_metric, the metric plotted per query.
    Returns the HTML text. The per-query plot is left out (with a note) when no per-query values exist."""
    data = _check(results)
    e = html.escape
    title = str(data.get("title") or "Evaluation report")
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:.2em .6em}td.n{text-align:right}"
             "tr.default{font-weight:bold}img{max-width:100%}</style></head><body>",
             f"<h1>{e(title)}</h1>"]
    if data.get("meta"):
        parts.append("<ul>" + "".join(f"<li>{e(str(k))}: {e(_cell(v))}</li>" for k, v in data["meta"].items())
                     + "</ul>")
    tables = _tables(data)
    for i, (heading, headers, rows) in enumerate(tables):
        parts.append(f"<h2>{e(heading)}</h2><table><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr>")
        for row in rows:
            cls = " class=\"default\"" if i == 0 and str(row[0]).startswith("*") else ""
            parts.append(f"<tr{cls}>" + "".join(
                f"<td{' class=n' if isinstance(v, (int, float)) else ''}>{e(_cell(v))}</td>" for v in row) + "</tr>")
        parts.append("</table>")
        if i == 0:
            parts.append(f"<img src=\"data:image/png;base64,{_bar_chart(data)}\" alt=\"metrics by configuration\">")
            plot = _per_query_plot(data, per_query_metric)
            parts.append(f"<h2>{e(per_query_metric)} per query</h2>")
            parts.append(f"<img src=\"data:image/png;base64,{plot}\" alt=\"{e(per_query_metric)} per query\">"
                         if plot else f"<p>No per-query {e(per_query_metric)} values in these results.</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(results: Mapping[str, Any], path: str | Path, per_query_metric: str = "ndcg@10") -> Path:
    """Write `render_html(results)` to `path`. Returns the path."""
    path = Path(path)
    path.write_text(render_html(results, per_query_metric), encoding="utf-8")
    return path
