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

IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="Index directory (default: indexes/default, "
                                                  "built from corpus/ on first use).")]
TopOpt = Annotated[int, typer.Option("--top", "-k", min=1, help="Number of results.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="sentence-transformers model name or path "
                                                 "(default: the bundled all-MiniLM-L6-v2).")]


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


def _settings(model: str | None, ignore: list[str] | None = None) -> Settings:
    s = Settings.from_env(model=model)
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
    for col in ("rank", "score", "id" if id_attr != "posting_id" else "title", "place", "contract", "why"):
        t.add_column(col, overflow="fold")
    for n, m in enumerate(matches, 1):
        name = getattr(m, id_attr) if id_attr != "posting_id" else f"{m.title} [{m.posting_id}]"
        why = _why(m) if not m.blocked else "BLOCKED: " + "; ".join(
            r.detail for r in m.reasons if not r.ok and r.required and r.kind in m.blocked)
        t.add_row(str(n), f"{m.score:.3f}", name, m.place, m.contract or "", why)
    Console().print(t)


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
) -> None:
    """Add (or update) postings or CVs by id. Only new or changed documents are embedded.

    Examples:

      matcher index add postings.jsonl --index idx/

      matcher index add cvs/ --kind cvs --index idx/
    """
    from .service import add_paths
    with _errors(), _progress() as progress:
        report = add_paths(paths, index, kind, _settings(model), progress=progress)
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
) -> None:
    """Rank the indexed CVs for a posting (the reverse of match).

    Examples:

      matcher candidates seed-000

      matcher candidates posting.txt --index idx/ --top 20 --json
    """
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
def forget_cmd(cv_id: Annotated[str, typer.Argument(help="The CV id to erase.")], index: IndexOpt = None) -> None:
    """Erase a CV everywhere in the index: vectors, metadata, lexical index, stored results.

    Example: matcher forget cvfr-01 --index idx/
    """
    from .service import forget_cv
    with _errors():
        found = forget_cv(cv_id, _settings(None), index=index)
    if not found:
        _err(f"no CV with id {cv_id!r} in the index")
        raise typer.Exit(1)
    typer.echo(f"erased {cv_id}")


# ---------------------------------------------------------------------------- eval
@app.command("eval")
def eval_cmd(
    set_dir: Annotated[Path, typer.Argument(help="A labelled set: postings.jsonl, cvs/, cvs.jsonl, qrels.tsv "
                                            "(or the Vanetik layout).")],
    direction: Annotated[str, typer.Option(help="match (CV -> postings) or candidates (posting -> CVs).")] = "match",
    distractors: Annotated[Optional[Path], typer.Option(help="A JSONL of unjudged postings added to the index.")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Write report.html, results.json and TREC runs here.")] = None,
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
                               runs_dir=report / "runs" if report else None, progress=progress)
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


def main() -> None:  # pragma: no cover
    app()
