"""Library entry points behind each CLI command: one call per command, results as plain objects."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from .config import Settings
from .domain import Candidate, Match, Posting
from .embed import make_embedder
from .errors import ConfigError, IndexMissing, ParseError
from .index import index_exists, open_index
from .index.store import AddResult, IndexStore
from .rank import Matcher

__all__ = ["PROJECT_ROOT", "default_index_dir", "open_store", "add_paths", "match_cv", "explain_cv",
           "rank_candidates", "parse_file", "forget_cvs", "index_info", "Overrides", "AddReport", "MatchReport"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
Progress = Callable[[str, int | None], Callable[[int], None]]  # (label, total) -> advance(n)


def default_index_dir() -> Path:
    """indexes/default of the project checkout (or of the working directory for an installed package)."""
    root = PROJECT_ROOT if (PROJECT_ROOT / "corpus").is_dir() else Path.cwd()
    return root / "indexes" / "default"


def default_corpus() -> Path | None:
    corpus = PROJECT_ROOT / "corpus"
    return corpus if corpus.is_dir() else None


@dataclass(frozen=True)
class Overrides:
    """Command-line corrections to what was extracted from a CV."""
    location: str | None = None          # a city name or a department code
    mobility: str | None = None
    contracts: tuple[str, ...] | None = None
    licences: tuple[str, ...] | None = None


@dataclass
class AddReport:
    result: AddResult
    errors: list[ParseError] = field(default_factory=list)
    kind: str = "postings"


@dataclass
class MatchReport:
    candidate: Candidate
    matches: list[Match]
    index: Path | str
    built_index: bool = False


def _noop(label: str, total: int | None) -> Callable[[int], None]:
    return lambda n: None


def open_store(index: Path | str | None, settings: Settings, need_model: bool = True,
               progress: Progress = _noop) -> tuple[IndexStore, bool]:
    """Open an index (a directory or a postgresql:// URL); the default one is built from corpus/ on first use.
    Returns (store, built_now)."""
    embedder = make_embedder(settings.model, settings.max_seq_length, settings.batch_size) if need_model else None
    if index is not None:
        return open_index(index, settings, embedder), False
    path = default_index_dir()
    if index_exists(path):
        return open_index(path, settings, embedder), False
    corpus = default_corpus()
    if corpus is None:
        raise IndexMissing(f"no index at {path} and no corpus/ to build it from; use --index DIR")
    if embedder is None:
        embedder = make_embedder(settings.model, settings.max_seq_length, settings.batch_size)
    store = open_index(path, settings, embedder, create=True)
    _add(store, [corpus / "postings"], "postings", settings, progress)
    if (corpus / "cvs").is_dir():
        _add(store, [corpus / "cvs"], "cvs", settings, progress)
    return store, True


def _add(store: IndexStore, paths: Sequence[Path | str], kind: str, settings: Settings,
         progress: Progress) -> AddReport:
    from .parse import load_cvs, load_postings
    if kind == "postings":
        items, errors = load_postings(paths, settings)
    else:
        items, errors = load_cvs(paths, settings)
    advance: list[Callable[[int], None]] = []
    result = store.add(kind, items, progress=lambda n: advance[0](n) if advance else None,
                       on_total=lambda total: advance.append(progress(f"embedding {kind}", total)))
    return AddReport(result, errors, kind)


def add_paths(paths: Sequence[Path | str], index: Path | str | None, kind: str, settings: Settings,
              progress: Progress = _noop) -> AddReport:
    """`matcher index add`: add postings or CVs from JSONL files or folders; bad files are reported, not fatal."""
    if kind not in ("postings", "cvs"):
        raise ConfigError(f"--kind must be postings or cvs, not {kind!r}")
    embedder = make_embedder(settings.model, settings.max_seq_length, settings.batch_size)
    if settings.engine == "ray":  # the same vectors, embedded on a Ray Data actor pool (fails early without Ray)
        from .scale import RayEmbedder
        embedder = RayEmbedder(embedder, settings.workers)
    store = open_index(index if index is not None else default_index_dir(), settings, embedder, create=True)
    return _add(store, paths, kind, settings, progress)


def _apply(candidate: Candidate, o: Overrides) -> Candidate:
    changes: dict = {}
    if o.location:
        from .parse.gazetteer import department_place, find_city
        loc = department_place(o.location) if o.location.isdigit() or o.location.upper() in ("2A", "2B") \
            else find_city(o.location)
        if loc is None:
            raise ConfigError(f"unknown place {o.location!r} (give a French city or a department code)")
        changes["location"] = loc
    if o.mobility:
        from .filters import parse_mobility
        if parse_mobility(o.mobility)[0] not in ("department", "region", "france", "list", "radius_km"):
            raise ConfigError(f"unknown mobility {o.mobility!r}; valid: department, region, france, "
                              "list:48,30, radius_km:N")
        changes["mobility"] = o.mobility
    if o.contracts is not None:
        changes["contracts_wanted"] = o.contracts
    if o.licences is not None:
        changes["licences"] = o.licences
    return replace(candidate, **changes) if changes else candidate


def match_cv(cv_path: Path | str, settings: Settings, k: int = 10, index: Path | str | None = None,
             overrides: Overrides = Overrides(), include_blocked: bool = False,
             progress: Progress = _noop) -> MatchReport:
    """`match CV_FILE`: parse the CV, rank the indexed postings, explain each result."""
    from .parse import parse_cv
    candidate = _apply(parse_cv(cv_path, settings), overrides)
    store, built = open_store(index, settings, progress=progress)
    matches = Matcher(store, settings, store.embedder).match(candidate, k=k, include_blocked=include_blocked)
    return MatchReport(candidate, matches, store.path, built)


def explain_cv(cv_path: Path | str, posting_id: str, settings: Settings, index: Path | str | None = None,
               overrides: Overrides = Overrides(), progress: Progress = _noop) -> MatchReport:
    """`match CV_FILE --explain POSTING_ID`: one posting's full score breakdown and reasons."""
    from .parse import parse_cv
    candidate = _apply(parse_cv(cv_path, settings), overrides)
    store, built = open_store(index, settings, progress=progress)
    m = Matcher(store, settings, store.embedder).explain(candidate, posting_id)
    return MatchReport(candidate, [m], store.path, built)


def _posting_or_id(posting: str, settings: Settings) -> Posting | str:
    """A posting file (one posting: .txt/.md/.pdf/.docx or a one-line .jsonl) parsed, else the id as given."""
    p = Path(posting)
    if not (p.suffix and p.exists()):
        return posting
    from .parse import load_postings, parse_posting_file
    if p.suffix.lower() != ".jsonl":
        return parse_posting_file(p, settings)
    items, errors = load_postings([p], settings)
    if errors:
        raise errors[0]
    if len(items) != 1:
        raise ConfigError(f"{p} holds {len(items)} postings; give one posting (or an indexed id)")
    return items[0]


def rank_candidates(posting: str, settings: Settings, k: int = 10, index: Path | str | None = None,
                    include_blocked: bool = False, progress: Progress = _noop) -> list[Match]:
    """`matcher candidates POSTING`: indexed CVs ranked for an indexed posting id or a posting file."""
    store, _ = open_store(index, settings, progress=progress)
    target = _posting_or_id(posting, settings)
    return Matcher(store, settings, store.embedder).candidates(target, k=k, include_blocked=include_blocked)


def parse_file(path: Path | str, kind: str, settings: Settings) -> dict:
    """`matcher parse FILE`: the extracted fields keyed like the contract's truth objects."""
    from .parse import load_postings, parse_cv, parse_posting_file
    p = Path(path)
    if kind == "cv":
        return parse_cv(p, settings).truth()
    if kind != "posting":
        raise ConfigError(f"--kind must be posting or cv, not {kind!r}")
    if p.suffix.lower() == ".jsonl":
        items, errors = load_postings([p], settings)
        if errors and not items:
            raise errors[0]
        return {it.id: it.truth() for it in items} if len(items) > 1 else items[0].truth()
    return parse_posting_file(p, settings).truth()


def forget_cvs(cv_ids: Sequence[str], settings: Settings, index: Path | str | None = None) -> list[str]:
    """`matcher forget CV_ID...`: erase CVs everywhere in the index, in one erasure (on PostgreSQL one rewrite of
    the tables for the whole batch). Returns the ids that were there."""
    store = open_index(index if index else default_index_dir(), settings, None)
    return store.remove("cvs", list(cv_ids), erase=True)


def index_info(settings: Settings, index: Path | str | None = None) -> dict:
    """`matcher index info`: generation, counts, model and consistency of an index."""
    store = open_index(index if index else default_index_dir(), settings, None)
    return store.info()


def remove_ids(ids: Sequence[str], kind: str, settings: Settings, index: Path | str | None = None) -> list[str]:
    """`matcher index remove`: remove postings (closed jobs) or CVs by id."""
    if kind not in ("postings", "cvs"):
        raise ConfigError(f"--kind must be postings or cvs, not {kind!r}")
    store = open_index(index if index else default_index_dir(), settings, None)
    return store.remove(kind, ids)


__all__.append("remove_ids")


def check_cv_readable(path: Path | str) -> None:
    """Raise ParseError early for a missing CV, before any model is loaded."""
    p = Path(path)
    if not p.exists():
        raise ParseError(str(p), "file not found")
    if not p.is_file():
        raise ParseError(str(p), "not a file")


__all__.append("check_cv_readable")


# ---------------------------------------------------------------------------- mobility and rerank (issue 4)
@dataclass
class MobilityReport:
    """`matcher mobility`: one StaffResult per member of staff, and the register entries that could not be read."""
    results: list
    errors: list[ParseError]
    index: Path | str
    built_index: bool = False


def mobility_report(register: Path | str, settings: Settings, k: int = 10, index: Path | str | None = None,
                    include_blocked: bool = False, progress: Progress = _noop) -> MobilityReport:
    """`matcher mobility REGISTER`: rank the open postings for every member of staff, with their gaps."""
    from .mobility import load_register, rank_register
    reg = load_register(register, settings)
    store, built = open_store(index, settings, progress=progress)
    advance = progress("ranking staff", len(reg.staff))
    results = rank_register(store, settings, store.embedder, reg, k=k,  # type: ignore[arg-type]
                            include_blocked=include_blocked, progress=advance)
    return MobilityReport(results, reg.errors, store.path, built)


def rank_register_candidates(posting: str, register: Path | str, settings: Settings, k: int = 10,
                             index: Path | str | None = None, include_blocked: bool = False,
                             progress: Progress = _noop) -> tuple[list, list[ParseError]]:
    """`matcher candidates POSTING --register REGISTER`: the staff who fit a posting, with their gaps.

    Returns (RoleMatch list, register errors). POSTING is an indexed id or a posting file."""
    from .mobility import load_register, rank_staff
    reg = load_register(register, settings)
    store, _ = open_store(index, settings, progress=progress)
    target = _posting_or_id(posting, settings)
    matches = rank_staff(store, settings, store.embedder, reg, target, k=k,  # type: ignore[arg-type]
                         include_blocked=include_blocked)
    return matches, reg.errors


def rerank_index(settings: Settings, k: int = 10, index: Path | str | None = None, progress: Progress = _noop):
    """`matcher rerank`: score every indexed CV against the postings added or changed since the last run.

    No model is loaded: the vectors are in the index. Returns a matcher.rerank.RerankReport."""
    from .rerank import rerank
    store, _ = open_store(index, settings, need_model=False, progress=progress)
    return rerank(store, settings, None, k=k, progress=progress)


__all__ += ["MobilityReport", "mobility_report", "rank_register_candidates", "rerank_index"]
