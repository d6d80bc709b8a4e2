"""Relevance metrics over the judged query set (``search/eval/queries.yaml``).

The design ("Relevance is measured") asks for nDCG@10, recall@10 and the zero-result rate per
backend on every change. This module loads and validates the judged queries, computes the metrics
for one ranked list, runs a whole query set through a search callable and formats a comparison
table with one column per backend. It depends on the standard library and PyYAML only; wiring a
backend into a ``search`` callable is the caller's business.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import yaml

DEFAULT_QUERIES_PATH = Path(__file__).with_name("queries.yaml")

ROLES: tuple[str, ...] = ("inwoner", "huisarts", "loket")
KINDS: tuple[str, ...] = ("lay", "misspelling", "compound", "sentence", "professional", "filter")
GRADES: frozenset[int] = frozenset({1, 2, 3})

#: Filter keys whose value is a list of taxonomy slugs (OR within the list).
LIST_FILTER_KEYS: tuple[str, ...] = ("theme", "target_group", "access", "cost")
#: Filter keys whose value is a single municipality slug.
SLUG_FILTER_KEYS: tuple[str, ...] = ("neighbourhood", "place")
FILTER_KEYS: tuple[str, ...] = (*LIST_FILTER_KEYS, "age", *SLUG_FILTER_KEYS)

#: A filter value: a list of slugs, one slug, or an age in years.
FilterValue: TypeAlias = list[str] | str | int

_QUERY_KEYS_REQUIRED = frozenset({"id", "query", "role", "kind", "relevant"})
_QUERY_KEYS_ALLOWED = _QUERY_KEYS_REQUIRED | {"filters"}
_MAX_AGE = 130


class QuerySetError(ValueError):
    """The judged query file is malformed; the message says where and why."""


@dataclass(frozen=True)
class JudgedQuery:
    """One judged query: what a user typed, who they are, filters, and graded relevant ids."""

    id: str
    query: str
    role: str
    kind: str
    filters: dict[str, FilterValue]
    relevant: dict[str, int]


# --------------------------------------------------------------------------- loading


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate mapping keys (PyYAML silently keeps the last one,
    which would hide a slug judged twice with different grades)."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise QuerySetError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_slug(value: object) -> bool:
    return isinstance(value, str) and value != "" and value == value.strip()


def _parse_filters(raw: object, where: str) -> dict[str, FilterValue]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise QuerySetError(f"{where}: 'filters' must be a mapping, got {type(raw).__name__}")
    filters: dict[str, FilterValue] = {}
    for key, value in raw.items():
        if key not in FILTER_KEYS:
            raise QuerySetError(
                f"{where}: unknown filter key {key!r} (allowed: {', '.join(FILTER_KEYS)})"
            )
        if key in LIST_FILTER_KEYS:
            if not isinstance(value, list) or not value or not all(_is_slug(v) for v in value):
                raise QuerySetError(
                    f"{where}: filter {key!r} must be a non-empty list of slugs, got {value!r}"
                )
            filters[key] = [str(v) for v in value]
        elif key == "age":
            if not _is_int(value) or not 0 <= value <= _MAX_AGE:
                raise QuerySetError(
                    f"{where}: filter 'age' must be an integer 0-{_MAX_AGE}, got {value!r}"
                )
            filters[key] = int(value)
        else:
            if not _is_slug(value):
                raise QuerySetError(f"{where}: filter {key!r} must be one slug, got {value!r}")
            filters[key] = str(value)
    return filters


def _parse_relevant(raw: object, where: str) -> dict[str, int]:
    if not isinstance(raw, Mapping) or not raw:
        raise QuerySetError(f"{where}: 'relevant' must be a non-empty mapping of id -> grade")
    relevant: dict[str, int] = {}
    for slug, grade in raw.items():
        if not _is_slug(slug):
            raise QuerySetError(f"{where}: judged id {slug!r} is not a slug")
        if not _is_int(grade) or grade not in GRADES:
            raise QuerySetError(
                f"{where}: grade for {slug!r} must be one of {sorted(GRADES)}, got {grade!r}"
            )
        relevant[str(slug)] = int(grade)
    return relevant


def _parse_query(raw: object, index: int, source: str) -> JudgedQuery:
    where = f"{source}: queries[{index}]"
    if not isinstance(raw, Mapping):
        raise QuerySetError(f"{where}: each query must be a mapping, got {type(raw).__name__}")
    if isinstance(raw.get("id"), str):
        where = f"{where} (id {raw['id']!r})"
    missing = _QUERY_KEYS_REQUIRED - raw.keys()
    if missing:
        raise QuerySetError(f"{where}: missing key(s) {', '.join(sorted(missing))}")
    unknown = set(raw.keys()) - _QUERY_KEYS_ALLOWED
    if unknown:
        raise QuerySetError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")

    query_id, text, role, kind = raw["id"], raw["query"], raw["role"], raw["kind"]
    if not _is_slug(query_id):
        raise QuerySetError(f"{where}: 'id' must be a non-empty string, got {query_id!r}")
    if not isinstance(text, str):
        raise QuerySetError(f"{where}: 'query' must be a string (use \"\" for none)")
    if role not in ROLES:
        raise QuerySetError(f"{where}: 'role' must be one of {', '.join(ROLES)}, got {role!r}")
    if kind not in KINDS:
        raise QuerySetError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    filters = _parse_filters(raw.get("filters"), where)
    if text.strip() == "" and not filters:
        raise QuerySetError(f"{where}: an empty query needs at least one filter")
    return JudgedQuery(
        id=str(query_id),
        query=text,
        role=str(role),
        kind=str(kind),
        filters=filters,
        relevant=_parse_relevant(raw["relevant"], where),
    )


def load_queries(path: str | os.PathLike[str] = DEFAULT_QUERIES_PATH) -> list[JudgedQuery]:
    """Load and validate a judged query file.

    Raises :class:`QuerySetError` (a ``ValueError``) naming the file, the entry and the problem for
    anything malformed: missing or unknown keys, unknown role/kind/filter key, wrongly typed filter
    values, grades outside 1-3, duplicate keys in a mapping, or duplicate query ids.
    """
    source = Path(path)
    try:
        # _UniqueKeyLoader is a SafeLoader subclass: no arbitrary objects are constructed.
        data = yaml.load(source.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise QuerySetError(f"{source}: not valid YAML: {exc}") from exc
    except QuerySetError as exc:
        raise QuerySetError(f"{source}: {exc}") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("queries"), list):
        raise QuerySetError(f"{source}: expected a mapping with a 'queries' list")

    queries = [_parse_query(raw, i, str(source)) for i, raw in enumerate(data["queries"])]
    seen: set[str] = set()
    for q in queries:
        if q.id in seen:
            raise QuerySetError(f"{source}: duplicate query id {q.id!r}")
        seen.add(q.id)
    return queries


# --------------------------------------------------------------------------- metrics


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def _top_k_unique(ranked: Sequence[str], k: int) -> list[str]:
    """The first ``k`` distinct ids: a backend cannot earn gain twice for one service."""
    seen: set[str] = set()
    top: list[str] = []
    for doc_id in ranked:
        if doc_id in seen:
            continue
        seen.add(doc_id)
        top.append(doc_id)
        if len(top) == k:
            break
    return top


def _gain(grade: int) -> float:
    return float(2**grade - 1) if grade > 0 else 0.0


def _discount(rank0: int) -> float:
    return math.log2(rank0 + 2)


def ndcg_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of ``ranked`` at cut-off ``k``.

    Gain of a result with grade ``g`` is ``2**g - 1`` (unjudged ids and grades <= 0 gain nothing),
    discounted by ``log2(rank + 1)`` with ranks starting at 1. The ideal DCG ranks the judged grades
    best first. Repeated ids count once (at their first position). When no judged item has a
    positive grade there is nothing to find and the result is 0.0.
    """
    _check_k(k)
    ideal_grades = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    ideal = sum(_gain(g) / _discount(i) for i, g in enumerate(ideal_grades))
    if ideal == 0.0:
        return 0.0
    dcg = sum(
        _gain(relevant.get(doc_id, 0)) / _discount(i)
        for i, doc_id in enumerate(_top_k_unique(ranked, k))
    )
    return dcg / ideal


def recall_at_k(ranked: Sequence[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """Fraction of the relevant judged items found in the first ``k`` (distinct) results.

    "Relevant" here means grade >= 2 (clearly useful or exactly what is asked): grade-1 items are
    nice to have and do not count against recall. If no judged item has grade >= 2, all items with
    grade >= 1 count instead. With nothing relevant at all the result is 0.0.
    Note that when more than ``k`` items are relevant, 1.0 is out of reach by construction.
    """
    _check_k(k)
    target = {doc_id for doc_id, g in relevant.items() if g >= 2}
    if not target:
        target = {doc_id for doc_id, g in relevant.items() if g >= 1}
    if not target:
        return 0.0
    found = target.intersection(_top_k_unique(ranked, k))
    return len(found) / len(target)


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class QueryRow:
    """The metrics of one query for one backend."""

    id: str
    kind: str
    ndcg: float
    recall: float
    n_results: int
    zero_result: bool


@dataclass(frozen=True)
class KindSummary:
    """Aggregates over the queries of one kind."""

    count: int
    mean_ndcg: float
    mean_recall: float
    zero_results: int


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def _summarise(rows: Sequence[QueryRow]) -> KindSummary:
    return KindSummary(
        count=len(rows),
        mean_ndcg=_mean(r.ndcg for r in rows),
        mean_recall=_mean(r.recall for r in rows),
        zero_results=sum(r.zero_result for r in rows),
    )


@dataclass(frozen=True)
class EvalReport:
    """Per-query rows and aggregates of one backend over a judged query set."""

    k: int
    rows: tuple[QueryRow, ...]
    mean_ndcg: float
    mean_recall: float
    zero_results: int
    per_kind: dict[str, KindSummary] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def zero_result_rate(self) -> float:
        return self.zero_results / len(self.rows) if self.rows else 0.0

    @classmethod
    def from_rows(cls, rows: Sequence[QueryRow], k: int = 10) -> EvalReport:
        overall = _summarise(rows)
        kinds = [kind for kind in KINDS if any(r.kind == kind for r in rows)]
        kinds += sorted({r.kind for r in rows} - set(KINDS))
        return cls(
            k=k,
            rows=tuple(rows),
            mean_ndcg=overall.mean_ndcg,
            mean_recall=overall.mean_recall,
            zero_results=overall.zero_results,
            per_kind={kind: _summarise([r for r in rows if r.kind == kind]) for kind in kinds},
        )


def evaluate(
    queries: Sequence[JudgedQuery],
    search: Callable[[JudgedQuery], Sequence[str]],
    k: int = 10,
) -> EvalReport:
    """Run every query through ``search`` (which returns ranked service ids) and score it.

    ``n_results`` is the length of the full list ``search`` returned (not cut at ``k``); a query
    with no results at all is a zero-result query.
    """
    _check_k(k)
    rows: list[QueryRow] = []
    for q in queries:
        ranked = list(search(q))
        rows.append(
            QueryRow(
                id=q.id,
                kind=q.kind,
                ndcg=ndcg_at_k(ranked, q.relevant, k),
                recall=recall_at_k(ranked, q.relevant, k),
                n_results=len(ranked),
                zero_result=not ranked,
            )
        )
    return EvalReport.from_rows(rows, k)


# --------------------------------------------------------------------------- reporting


def _markdown_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "| "
        + " | ".join("-" * w if i == 0 else "-" * (w - 1) + ":" for i, w in enumerate(widths))
        + " |"
    )
    return "\n".join([line(header), rule, *(line(row) for row in body)])


def format_table(reports: Mapping[str, EvalReport]) -> str:
    """A plain-text (markdown) table of the aggregates, one column per backend name.

    Rows: number of queries, mean nDCG@k, mean recall@k, zero-result queries (count and rate),
    then nDCG@k and recall@k per query kind (``n/a`` where a backend has no query of that kind).
    """
    if not reports:
        raise ValueError("format_table needs at least one report")
    ks = {r.k for r in reports.values()}
    at = f"@{ks.pop()}" if len(ks) == 1 else "@k"
    names = list(reports)
    values = list(reports.values())

    def row(label: str, cell: Callable[[EvalReport], str]) -> list[str]:
        return [label, *(cell(r) for r in values)]

    body = [
        row("queries", lambda r: str(r.count)),
        row(f"nDCG{at}", lambda r: f"{r.mean_ndcg:.3f}"),
        row(f"recall{at}", lambda r: f"{r.mean_recall:.3f}"),
        row("zero results", lambda r: f"{r.zero_results} ({r.zero_result_rate:.1%})"),
    ]
    kinds = [kind for kind in KINDS if any(kind in r.per_kind for r in values)]
    kinds += sorted({kind for r in values for kind in r.per_kind} - set(KINDS))

    def kind_cell(kind: str, metric: str) -> Callable[[EvalReport], str]:
        def cell(r: EvalReport) -> str:
            summary = r.per_kind.get(kind)
            if summary is None:
                return "n/a"
            value = summary.mean_ndcg if metric == "ndcg" else summary.mean_recall
            return f"{value:.3f}"

        return cell

    for kind in kinds:
        n = max(r.per_kind[kind].count for r in values if kind in r.per_kind)
        body.append(row(f"nDCG{at} {kind} (n={n})", kind_cell(kind, "ndcg")))
        body.append(row(f"recall{at} {kind} (n={n})", kind_cell(kind, "recall")))
    return _markdown_table(["metric", *names], body)
