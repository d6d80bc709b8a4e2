"""``make eval``: relevance of every backend on the judged Uithoorn query set.

Builds a throw-away database from the migrations, imports the Uithoorn demo data, indexes it
in each backend (embedded always; Meilisearch when ``MEILI_URL`` is set) and runs every judged
query through the same code path as ``GET /api/v1/search``. Prints nDCG@10, recall@10 and the
zero-result count per backend (and per kind of query).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlmodel import Session

from app.cli import alembic_config
from app.core.config import Environment, SearchBackendName, Settings
from app.core.db import build_engine
from app.indexing.engine import SearchEngine
from app.search_api.service import SearchParams, build_query
from app.taxonomy.service import load_taxonomy
from importers.uithoorn import UithoornImporter
from search.eval.metrics import (
    DEFAULT_QUERIES_PATH,
    EvalReport,
    JudgedQuery,
    evaluate,
    format_table,
    load_queries,
)

DEMO = Path(__file__).resolve().parents[2] / "importers" / "data" / "uithoorn.json"


def params_for(query: JudgedQuery, k: int) -> SearchParams:
    f = query.filters

    def as_list(key: str) -> list[str]:
        value = f.get(key)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    age = f.get("age")
    return SearchParams(
        q=query.query,
        theme=as_list("theme"),
        target_group=as_list("target_group"),
        access=as_list("access"),
        cost=as_list("cost"),
        age=int(age) if isinstance(age, int) else None,
        neighbourhood=str(f["neighbourhood"]) if "neighbourhood" in f else None,
        place=str(f["place"]) if "place" in f else None,
        per_page=k,
    )


def run(backends: list[str], queries_path: Path, k: int = 10) -> dict[str, EvalReport]:
    queries = load_queries(queries_path)
    reports: dict[str, EvalReport] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/eval.db"
        config = alembic_config(url)
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        engine = build_engine(url)
        with Session(engine) as session:
            load_taxonomy(session=session)
            # admitted, as `sociale-kaart demo` and the tests import it (not held for review)
            report = UithoornImporter(session=session, admit=True).run(UithoornImporter.read(DEMO))
            if report.failed:
                raise SystemExit(f"demo import failed: {report.problems}")
            session.commit()
        for name in backends:
            settings = Settings(
                environment=Environment.development,
                database_url=url,
                search_backend=SearchBackendName(name),
                search_index_path=f"{tmp}/{name}-index.db",
                meili_url=os.environ.get("MEILI_URL"),
                meili_index=f"eval_{os.getpid()}",
            )
            search_engine = SearchEngine(settings=settings, engine=engine)
            search_engine.reindex()

            def ranked(
                query: JudgedQuery, search_engine: SearchEngine = search_engine
            ) -> list[str]:
                params = params_for(query, k)
                result = search_engine.search(build_query(search_engine.reference, params))
                return [hit.document["slug"] for hit in result.hits]

            reports[name] = evaluate(queries, ranked, k=k)
        engine.dispose()
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES_PATH)
    parser.add_argument("--details", action="store_true", help="print every query's scores")
    args = parser.parse_args(argv)
    backends = ["embedded"]
    if os.environ.get("MEILI_URL"):
        backends.append("meilisearch")
    else:
        print("MEILI_URL not set: Meilisearch not evaluated (embedded only).")
    reports = run(backends, args.queries)
    print(format_table(reports))
    if args.details:
        for name, report in reports.items():
            print(f"\n## {name}: per query")
            for row in report.rows:
                print(
                    f"{row.id:6} {row.kind:12} nDCG={row.ndcg:.3f} recall={row.recall:.3f} n={row.n_results}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
