"""Relevance metrics (search/eval/metrics.py) and the integrity of the judged query set."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from search.eval.metrics import (
    FILTER_KEYS,
    KINDS,
    EvalReport,
    FilterValue,
    JudgedQuery,
    QueryRow,
    QuerySetError,
    evaluate,
    format_table,
    load_queries,
    ndcg_at_k,
    recall_at_k,
)

ROOT = Path(__file__).resolve().parents[2]
QUERIES_FILE = ROOT / "search" / "eval" / "queries.yaml"
DATASET_FILE = ROOT / "importers" / "data" / "uithoorn.json"
TAXONOMY_FILE = ROOT / "app" / "taxonomy" / "data" / "taxonomy.yaml"
MUNICIPALITY_FILE = ROOT / "app" / "municipalities" / "data" / "uithoorn.yaml"

LOG2_3 = math.log2(3)  # discount at rank 2; rank 1 is log2(2) = 1, rank 3 is log2(4) = 2


# --------------------------------------------------------------------------- nDCG


def test_ndcg_perfect_ranking_is_one() -> None:
    assert ndcg_at_k(["a", "b", "c"], {"a": 3, "b": 2, "c": 1}) == pytest.approx(1.0)


def test_ndcg_reversed_ranking() -> None:
    # DCG  = (2^1-1)/1 + (2^2-1)/log2(3) + (2^3-1)/2 = 1 + 1.8928 + 3.5 = 6.3928
    # IDCG = 7/1 + 3/log2(3) + 1/2 = 7 + 1.8928 + 0.5 = 9.3928
    assert ndcg_at_k(["c", "b", "a"], {"a": 3, "b": 2, "c": 1}) == pytest.approx(0.6806060567602009)


def test_ndcg_missing_relevant_item() -> None:
    # DCG = 7 (a at rank 1, x unjudged); IDCG = 7 + 3/log2(3) = 8.8928
    assert ndcg_at_k(["a", "x"], {"a": 3, "b": 2}) == pytest.approx(0.7871546029909718)


def test_ndcg_relevant_item_at_rank_two() -> None:
    assert ndcg_at_k(["x", "a"], {"a": 1}) == pytest.approx(1 / LOG2_3)


def test_ndcg_cut_off_at_k() -> None:
    assert ndcg_at_k(["x", "y", "a"], {"a": 3}, k=2) == 0.0
    assert ndcg_at_k(["x", "y", "a"], {"a": 3}, k=3) == pytest.approx(0.5)


def test_ndcg_ideal_is_truncated_at_k() -> None:
    assert ndcg_at_k(["a"], {"a": 3, "b": 3, "c": 3}, k=1) == pytest.approx(1.0)


def test_ndcg_duplicate_ids_gain_once() -> None:
    # second "a" is skipped, so only 7 of IDCG 7 + 7/log2(3) is earned
    assert ndcg_at_k(["a", "a"], {"a": 3, "b": 3}) == pytest.approx(0.6131471927654584)


def test_ndcg_empty_inputs() -> None:
    assert ndcg_at_k([], {"a": 3}) == 0.0
    assert ndcg_at_k(["a"], {}) == 0.0
    assert ndcg_at_k([], {}) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}) == 0.0


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be"):
        ndcg_at_k(["a"], {"a": 1}, k=0)
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k(["a"], {"a": 1}, k=0)


# --------------------------------------------------------------------------- recall


def test_recall_counts_grade_two_and_up() -> None:
    relevant = {"a": 3, "b": 2, "c": 1}
    assert recall_at_k(["a"], relevant) == pytest.approx(0.5)
    assert recall_at_k(["b", "a"], relevant) == pytest.approx(1.0)
    assert recall_at_k(["c"], relevant) == 0.0  # grade 1 is not required


def test_recall_falls_back_to_grade_one() -> None:
    assert recall_at_k(["a", "x"], {"a": 1, "b": 1}) == pytest.approx(0.5)


def test_recall_cut_off_and_duplicates() -> None:
    assert recall_at_k(["x", "a", "b"], {"a": 2, "b": 2}, k=2) == pytest.approx(0.5)
    assert recall_at_k(["a", "a", "b"], {"a": 2, "b": 2}, k=2) == pytest.approx(1.0)


def test_recall_empty_inputs() -> None:
    assert recall_at_k([], {"a": 3}) == 0.0
    assert recall_at_k(["a"], {}) == 0.0


# --------------------------------------------------------------------------- evaluate / table


def _query(qid: str, kind: str, relevant: dict[str, int], text: str = "x") -> JudgedQuery:
    return JudgedQuery(id=qid, query=text, role="inwoner", kind=kind, filters={}, relevant=relevant)


def test_evaluate_rows_and_aggregates() -> None:
    queries = [
        _query("q1", "lay", {"a": 3}),
        _query("q2", "lay", {"a": 2, "b": 2}),
        _query("q3", "filter", {"c": 2}),
    ]
    results: dict[str, list[str]] = {"q1": ["a", "z"], "q2": ["b"], "q3": []}

    def search(q: JudgedQuery) -> list[str]:
        return results[q.id]

    report = evaluate(queries, search)
    assert report.k == 10
    assert [r.id for r in report.rows] == ["q1", "q2", "q3"]
    q1, q2, q3 = report.rows
    assert q1 == QueryRow(id="q1", kind="lay", ndcg=1.0, recall=1.0, n_results=2, zero_result=False)
    # q2: DCG = 3 (b at rank 1), IDCG = 3 + 3/log2(3)
    assert q2.ndcg == pytest.approx(3 / (3 + 3 / LOG2_3))
    assert q2.recall == pytest.approx(0.5)
    assert (q3.ndcg, q3.recall, q3.n_results, q3.zero_result) == (0.0, 0.0, 0, True)

    assert report.mean_ndcg == pytest.approx((1.0 + 3 / (3 + 3 / LOG2_3)) / 3)
    assert report.mean_recall == pytest.approx(0.5)
    assert report.zero_results == 1
    assert report.zero_result_rate == pytest.approx(1 / 3)
    assert list(report.per_kind) == ["lay", "filter"]
    assert report.per_kind["lay"].count == 2
    assert report.per_kind["lay"].mean_recall == pytest.approx(0.75)
    assert report.per_kind["filter"].zero_results == 1


def test_evaluate_counts_all_results_not_only_top_k() -> None:
    report = evaluate([_query("q1", "lay", {"a": 2})], lambda _q: [str(i) for i in range(25)], k=5)
    assert report.rows[0].n_results == 25
    assert report.k == 5


def test_format_table_has_one_column_per_backend() -> None:
    queries = [_query("q1", "lay", {"a": 3}), _query("q2", "sentence", {"b": 2})]
    reports = {
        "embedded": evaluate(queries, lambda _q: ["a", "b"]),
        "meilisearch": evaluate(queries, lambda _q: []),
    }
    table = format_table(reports)
    lines = table.splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["metric", "embedded", "meilisearch"]
    assert set(lines[1]) <= {"|", "-", ":", " "}
    body = {
        row.split("|")[1].strip(): [c.strip() for c in row.split("|")[2:-1]] for row in lines[2:]
    }
    assert body["queries"] == ["2", "2"]
    assert body["nDCG@10"] == [f"{(1.0 + 1 / LOG2_3) / 2:.3f}", "0.000"]
    assert body["recall@10"] == ["1.000", "0.000"]
    assert body["zero results"] == ["0 (0.0%)", "2 (100.0%)"]
    assert "nDCG@10 lay (n=1)" in body
    assert "recall@10 sentence (n=1)" in body
    assert len({len(line) for line in lines}) == 1  # aligned plain text


def test_format_table_needs_a_report() -> None:
    with pytest.raises(ValueError, match="at least one"):
        format_table({})


def test_empty_report() -> None:
    report = EvalReport.from_rows([])
    assert (report.mean_ndcg, report.mean_recall, report.zero_result_rate) == (0.0, 0.0, 0.0)


# --------------------------------------------------------------------------- loading / validation


VALID_ENTRY = """
  - id: q01
    query: "geldzorgen"
    role: inwoner
    kind: lay
    filters: {}
    relevant:
      a: 3
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "queries.yaml"
    path.write_text("queries:\n" + body, encoding="utf-8")
    return path


def test_load_valid_file(tmp_path: Path) -> None:
    body = VALID_ENTRY + (
        "  - {id: q02, query: '', role: loket, kind: filter,"
        " filters: {theme: [wonen], age: 70, place: de-kwakel}, relevant: {b: 2}}\n"
    )
    queries = load_queries(_write(tmp_path, body))
    assert queries[0] == JudgedQuery(
        id="q01", query="geldzorgen", role="inwoner", kind="lay", filters={}, relevant={"a": 3}
    )
    assert queries[1].filters == {"theme": ["wonen"], "age": 70, "place": "de-kwakel"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (VALID_ENTRY.replace("kind: lay", "kind: typo"), "'kind' must be one of"),
        (VALID_ENTRY.replace("role: inwoner", "role: burger"), "'role' must be one of"),
        (VALID_ENTRY.replace("a: 3", "a: 4"), "grade for 'a'"),
        (VALID_ENTRY.replace("a: 3", "a: '3'"), "grade for 'a'"),
        (VALID_ENTRY.replace("a: 3", "a: 3\n      a: 2"), "duplicate key 'a'"),
        (VALID_ENTRY + VALID_ENTRY, "duplicate query id 'q01'"),
        (VALID_ENTRY.replace("filters: {}", "filters: {wijk: centrum}"), "unknown filter key"),
        (VALID_ENTRY.replace("filters: {}", "filters: {theme: wonen}"), "list of slugs"),
        (VALID_ENTRY.replace("filters: {}", "filters: {age: '70'}"), "'age' must be an integer"),
        (VALID_ENTRY.replace("filters: {}", "filters: {place: [a, b]}"), "must be one slug"),
        (VALID_ENTRY.replace('"geldzorgen"', '""'), "empty query needs at least one filter"),
        (VALID_ENTRY.replace("    relevant:\n      a: 3\n", ""), "missing key"),
        (VALID_ENTRY.replace("    relevant:\n      a: 3\n", "    relevant: {}\n"), "non-empty"),
        (VALID_ENTRY + "    note: x\n", "unknown key"),
        ("  - just a string\n", "must be a mapping"),
    ],
)
def test_load_rejects_bad_entries(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(QuerySetError, match=message):
        load_queries(_write(tmp_path, body))


def test_load_rejects_bad_top_level(tmp_path: Path) -> None:
    path = tmp_path / "queries.yaml"
    path.write_text("- id: q01\n", encoding="utf-8")
    with pytest.raises(QuerySetError, match="'queries' list"):
        load_queries(path)
    path.write_text("queries: [\n", encoding="utf-8")
    with pytest.raises(QuerySetError, match="not valid YAML"):
        load_queries(path)


# --------------------------------------------------------------------------- the judged query set

TAXONOMY_SECTIONS = {
    "theme": "themes",
    "target_group": "target_groups",
    "access": "access_routes",
    "cost": "costs",
}


def _services() -> dict[str, dict[str, Any]]:
    data = json.loads(DATASET_FILE.read_text(encoding="utf-8"))
    return {v["id"]: v for org in data["organisaties"] for v in org["voorzieningen"]}


def _taxonomy_slugs() -> dict[str, set[str]]:
    taxonomy = yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8"))
    municipality = yaml.safe_load(MUNICIPALITY_FILE.read_text(encoding="utf-8"))
    slugs = {
        key: {t["slug"] for t in taxonomy[section]} for key, section in TAXONOMY_SECTIONS.items()
    }
    slugs["place"] = {p["slug"] for p in municipality["places"]}
    slugs["neighbourhood"] = {n["slug"] for n in municipality["neighbourhoods"]}
    return slugs


def _passes(service: dict[str, Any], filters: dict[str, FilterValue]) -> bool:
    """The documented filter semantics (place/neighbourhood keep every service in this dataset)."""
    fields = {"theme": "themas", "target_group": "doelgroepen"}
    for key, value in filters.items():
        if key in fields:
            assert isinstance(value, list)
            if not set(value) & set(service[fields[key]]):
                return False
        elif key in ("access", "cost"):
            assert isinstance(value, list)
            if service["toegang" if key == "access" else "kosten"] not in value:
                return False
        elif key == "age":
            assert isinstance(value, int)
            low, high = service["leeftijd_min"], service["leeftijd_max"]
            if (low is not None and value < low) or (high is not None and value > high):
                return False
    return True


@pytest.fixture(scope="module")
def judged() -> list[JudgedQuery]:
    return load_queries(QUERIES_FILE)


def test_query_set_size_and_ids(judged: Sequence[JudgedQuery]) -> None:
    assert len(judged) >= 45
    ids = [q.id for q in judged]
    assert len(ids) == len(set(ids))


def test_query_set_covers_every_kind(judged: Sequence[JudgedQuery]) -> None:
    counts = Counter(q.kind for q in judged)
    for kind in KINDS:
        assert counts[kind] >= 5, f"only {counts[kind]} {kind} queries"


def test_judged_ids_exist_in_dataset(judged: Sequence[JudgedQuery]) -> None:
    services = _services()
    unknown = [(q.id, slug) for q in judged for slug in q.relevant if slug not in services]
    assert not unknown


def test_filters_use_allowed_keys_and_known_slugs(judged: Sequence[JudgedQuery]) -> None:
    known = _taxonomy_slugs()
    for q in judged:
        for key, value in q.filters.items():
            assert key in FILTER_KEYS, (q.id, key)
            if key == "age":
                continue
            values = value if isinstance(value, list) else [value]
            for slug in values:
                assert slug in known[key], f"{q.id}: {key}={slug!r} is not a known slug"


def test_every_query_has_a_clearly_useful_item(judged: Sequence[JudgedQuery]) -> None:
    assert [q.id for q in judged if max(q.relevant.values()) < 2] == []


def test_judged_services_pass_their_query_filters(judged: Sequence[JudgedQuery]) -> None:
    services = _services()
    for q in judged:
        for slug in q.relevant:
            assert _passes(services[slug], q.filters), f"{q.id}: {slug} fails {q.filters}"


def test_empty_filter_queries_judge_every_match(judged: Sequence[JudgedQuery]) -> None:
    services = _services()
    empty = [q for q in judged if not q.query.strip()]
    assert empty
    for q in empty:
        matches = {sid for sid, s in services.items() if _passes(s, q.filters)}
        assert set(q.relevant) == matches, q.id
        assert len(matches) <= 15, q.id
        assert set(q.relevant.values()) == {2}, q.id
