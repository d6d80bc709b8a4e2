"""Write or check a committed OpenAPI document:
``python -m app.openapi_export [--check] [--app api|hsds] PATH`` (default: ``api``, /api/v1)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.core.config import Environment, Settings
from app.main import create_api_v1


def generate(app: str = "api") -> dict[str, Any]:
    # Fixed settings: the committed document must not depend on the local environment.
    settings = Settings(environment=Environment.development, database_url="sqlite://")
    from app.core.db import build_engine

    engine = build_engine("sqlite://")
    if app == "hsds":
        from app.hsds.api import create_hsds_app
        from app.indexing.engine import SearchEngine

        return create_hsds_app(
            settings, engine, SearchEngine(settings=settings, engine=engine)
        ).openapi()
    return create_api_v1(settings, engine).openapi()


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--check", action="store_true", help="fail when the file is out of date")
    parser.add_argument("--app", choices=("api", "hsds"), default="api", help="api: /api/v1")
    args = parser.parse_args(argv)
    text = render(generate(args.app))
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is out of date: run `make openapi` and commit it.", file=sys.stderr)
            return 1
        print(f"{args.path} is up to date.")
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
