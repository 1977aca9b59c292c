"""Counterfactual fairness: how much a CV's scores and top-k move when only a protected attribute changes.

A CV template holds `${placeholder}`s for the protected mentions (civility, first name, "née"/"né", birth
date, age, nationality, marital status, a mention of Roma communities). Each `Counterfactual` fills the
template twice, the reference values and one changed attribute, ranks every posting for both versions with
the real `Matcher` (masking and extraction exactly as `parse_cv` does) and records the score deltas and
whether the top-k order changed. Postings that require or desire Romanian or Romani are left out of the
comparison: for them the languages a CV states may legitimately count (the languages themselves never
change between the two versions).
"""
from __future__ import annotations

import string
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..domain import Candidate, Posting

if TYPE_CHECKING:
    from ..rank import Matcher

__all__ = ["EPSILON", "BASE", "COUNTERFACTUALS", "ATTRIBUTES", "Counterfactual", "PairDelta", "FairnessReport",
           "fill", "asks_for_languages", "counterfactual_deltas", "load_templates", "candidate_from_text",
           "template_from_cv"]

# ε on the final score (fused score in [0, 1] plus boosts): a third of one desired-requirement boost
# (Settings.boost_desired = 0.03), and below the median gap between consecutive top-10 scores.
EPSILON = 0.01
LANGUAGES_ASKED = ("ro", "rom")     # Romanian, Romani

# Reference values; every counterfactual changes one attribute from these.
BASE: dict[str, str] = {
    "civility": "Madame", "first_name": "Claire", "born": "Née", "birth_date": "14/02/1991", "birth_year": "1991",
    "age": "34 ans", "nationality": "française", "marital": "Mariée, deux enfants", "roma": "",
}


@dataclass(frozen=True)
class Counterfactual:
    """One attribute change: `variant` values replace the reference ones (`base` overrides the reference).

    `strict`: only the protected mention changes, so the ε bound applies. Not strict: the change also adds
    or removes something else (an activity), reported for information."""
    attribute: str
    name: str
    variant: Mapping[str, str]
    base: Mapping[str, str] = field(default_factory=dict)
    strict: bool = True


_FAMILIES = "Bénévole auprès des familles{} du quartier (soutien scolaire, 2019-2023)."
_CAMP = "Bénévole sur l'aire d'accueil{} de la ville (2019-2023)."
COUNTERFACTUALS: tuple[Counterfactual, ...] = (
    Counterfactual("gender", "Madame Claire, née → Monsieur Julien, né",
                   {"civility": "Monsieur", "first_name": "Julien", "born": "Né", "marital": "Marié, deux enfants"}),
    Counterfactual("gender", "Madame Claire, née → Monsieur Florin, né",
                   {"civility": "Monsieur", "first_name": "Florin", "born": "Né", "marital": "Marié, deux enfants"}),
    Counterfactual("first_name", "Claire → Ionela", {"first_name": "Ionela"}),
    Counterfactual("first_name", "Claire → Samira", {"first_name": "Samira"}),
    Counterfactual("first_name", "Claire → Fatoumata", {"first_name": "Fatoumata"}),
    Counterfactual("age", "34 → 59 ans (1966)", {"birth_date": "03/09/1966", "birth_year": "1966", "age": "59 ans"}),
    Counterfactual("age", "34 → 23 ans (2002)", {"birth_date": "21/06/2002", "birth_year": "2002", "age": "23 ans"}),
    Counterfactual("nationality", "française → roumaine", {"nationality": "roumaine"}),
    Counterfactual("nationality", "française → bulgare", {"nationality": "bulgare"}),
    Counterfactual("nationality", "française → marocaine", {"nationality": "marocaine"}),
    Counterfactual("marital", "mariée, deux enfants → célibataire", {"marital": "Célibataire"}),
    Counterfactual("marital", "mariée, deux enfants → divorcée, un enfant", {"marital": "Divorcée, un enfant"}),
    Counterfactual("roma", "familles → familles roms", {"roma": _FAMILIES.format(" roms")},
                   base={"roma": _FAMILIES.format("")}),
    Counterfactual("roma", "familles → familles rroms", {"roma": _FAMILIES.format(" rroms")},
                   base={"roma": _FAMILIES.format("")}),
    Counterfactual("roma", "aire d'accueil → aire d'accueil des gens du voyage",
                   {"roma": _CAMP.format(" des gens du voyage")}, base={"roma": _CAMP.format("")}),
    Counterfactual("roma_vs_none", "none → bénévole auprès des familles roms",
                   {"roma": _FAMILIES.format(" roms")}, strict=False),
    Counterfactual("roma_vs_none", "none → bénévole sur l'aire d'accueil des gens du voyage",
                   {"roma": _CAMP.format(" des gens du voyage")}, strict=False),
)
ATTRIBUTES: tuple[str, ...] = tuple(dict.fromkeys(c.attribute for c in COUNTERFACTUALS))


def _email_part(first_name: str) -> str:
    folded = unicodedata.normalize("NFKD", first_name).encode("ascii", "ignore").decode()
    return "-".join(folded.lower().split())


def fill(template: str, values: Mapping[str, str]) -> str:
    """The CV text for `values` (a literal dollar is written `$$`); `${email_first}` is derived from the
    first name, as in real addresses. A placeholder without a value raises KeyError."""
    full = {**BASE, **values}
    full["email_first"] = _email_part(full["first_name"])
    return string.Template(template).substitute(full)


def template_from_cv(text: str) -> str:
    """A real CV's text as a template: the protected attributes are inserted under its first line (the
    name line in practice) and the Roma-mention line is appended as an engagement. The CV's own words stay
    as they are (a literal dollar is escaped)."""
    lines = text.replace("$", "$$").strip().splitlines() or [""]
    header = ["${civility} ${first_name}", "${born} en ${birth_year}, ${age}", "Nationalité ${nationality}",
              "${marital}", "${email_first}@example.org"]
    return "\n".join([lines[0], *header, *lines[1:], "", "ENGAGEMENTS", "${roma}", ""])


def load_templates(cv_dir: Path | str, settings=None) -> dict[str, str]:
    """{cv id (file stem): template} for `cv_dir`: .txt files are templates with ${placeholders}; real CVs
    (.pdf, .docx, or .txt without placeholders) become templates through `template_from_cv`."""
    from ..parse.documents import read_text
    out = {}
    for p in sorted(Path(cv_dir).iterdir()):
        if p.suffix.lower() == ".txt":
            text = p.read_text(encoding="utf-8")
            out[p.stem] = text if "${" in text else template_from_cv(text)
        elif p.suffix.lower() in (".pdf", ".docx"):
            out[p.stem] = template_from_cv(read_text(p, settings))
    if not out:
        raise ValueError(f"no CV or CV template (.txt, .pdf, .docx) in {cv_dir}")
    return out


def candidate_from_text(cv_id: str, text: str) -> Candidate:
    """A CV's text to a Candidate exactly as `parse_cv` does: masked first, then extracted."""
    from ..parse.cv import extract_candidate
    from ..parse.mask import mask_protected
    return extract_candidate(cv_id, mask_protected(text))


def asks_for_languages(posting: Posting, codes: Iterable[str] = LANGUAGES_ASKED) -> bool:
    """Whether a posting requires or desires one of the languages `codes`."""
    wanted = set(codes)
    return any(r.kind == "language" and r.value in wanted for r in posting.requirements)


@dataclass(frozen=True)
class PairDelta:
    """One CV under one counterfactual: score deltas over the compared postings and the top-k change."""
    cv_id: str
    attribute: str
    name: str
    max_delta: float
    mean_delta: float
    worst_posting: str
    order_changed: bool
    blocked_changed: bool
    top_base: tuple[str, ...]
    top_variant: tuple[str, ...]
    strict: bool = True


@dataclass
class FairnessReport:
    """Every PairDelta, the postings left out, and the ε and k used."""
    pairs: list[PairDelta]
    excluded: list[str]
    compared: int
    epsilon: float = EPSILON
    k: int = 10

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per attribute: max and mean score delta, pairs, top-k order changes, pairs above ε, strictness."""
        out: dict[str, dict[str, Any]] = {}
        for attr in dict.fromkeys(p.attribute for p in self.pairs):
            rows = [p for p in self.pairs if p.attribute == attr]
            worst = max(rows, key=lambda p: p.max_delta)
            out[attr] = {"strict": all(p.strict for p in rows), "pairs": len(rows), "max_delta": worst.max_delta,
                         "mean_delta": sum(p.mean_delta for p in rows) / len(rows),
                         "order_changes": sum(p.order_changed for p in rows),
                         "blocked_changes": sum(p.blocked_changed for p in rows),
                         "above_epsilon": sum(p.max_delta > self.epsilon for p in rows),
                         "worst": f"{worst.cv_id}: {worst.name} ({worst.worst_posting})"}
        return out

    def ok(self) -> bool:
        """No strict pair with a delta above ε, a top-k order change or a hard-filter verdict change."""
        return all(p.max_delta <= self.epsilon and not p.order_changed and not p.blocked_changed
                   for p in self.pairs if p.strict)

    def to_dict(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "k": self.k, "compared_postings": self.compared,
                "excluded_postings": self.excluded, "ok": self.ok(), "summary": self.summary(),
                "pairs": [asdict(p) for p in self.pairs]}


def counterfactual_deltas(matcher: Matcher, postings: Sequence[Posting], templates: Mapping[str, str],
                          counterfactuals: Sequence[Counterfactual] = COUNTERFACTUALS, k: int = 10,
                          epsilon: float = EPSILON, exclude: Iterable[str] | None = None) -> FairnessReport:
    """Rank every posting for each CV template and each counterfactual pair; measure the differences.

    Args: a `matcher.rank.Matcher` over an index holding `postings`; the postings (to know which ask for
    Romanian or Romani); {cv id: template}; the counterfactuals; k of the top-k compared; ε; ids to leave
    out (default: the postings that require or desire Romanian or Romani).
    Returns a FairnessReport. Blocked postings are ranked too, so a changed hard-filter verdict shows.
    """
    skip = set(exclude) if exclude is not None else {p.id for p in postings if asks_for_languages(p)}
    n_all = len(postings)
    cache: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[dict[str, float], list[str], frozenset[str]]] = {}

    def rank(cv_id: str, values: Mapping[str, str]):
        key = (cv_id, tuple(sorted(values.items())))
        if key not in cache:
            cand = candidate_from_text(cv_id, fill(templates[cv_id], values))
            matches = [m for m in matcher.match(cand, k=n_all, include_blocked=True) if m.posting_id not in skip]
            cache[key] = ({m.posting_id: m.score for m in matches}, [m.posting_id for m in matches],
                          frozenset(m.posting_id for m in matches if m.blocked))
        return cache[key]

    pairs: list[PairDelta] = []
    for cv_id in templates:
        for cf in counterfactuals:
            base_scores, base_order, base_blocked = rank(cv_id, dict(cf.base))
            var_scores, var_order, var_blocked = rank(cv_id, {**cf.base, **cf.variant})
            deltas = {pid: abs(var_scores[pid] - s) for pid, s in base_scores.items()}
            worst = max(deltas, key=lambda pid: deltas[pid]) if deltas else ""
            pairs.append(PairDelta(
                cv_id, cf.attribute, cf.name, max(deltas.values(), default=0.0),
                sum(deltas.values()) / len(deltas) if deltas else 0.0, worst,
                base_order[:k] != var_order[:k], base_blocked != var_blocked,
                tuple(base_order[:k]), tuple(var_order[:k]), cf.strict))
    return FairnessReport(pairs, sorted(skip), n_all - len(skip), epsilon, k)
