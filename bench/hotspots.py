"""Where the time goes: the search service called in-process (no HTTP, no concurrency).

Each kind of the mix runs sequentially through ``app.search_api.service.search`` plus the
response's JSON serialisation, as the endpoint does, to give the *service time* per request;
then the slowest kind (by mean) runs once more under cProfile for its hottest functions.
Every kind has a time budget, so a pathological query cannot stall the benchmark.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

from sqlmodel import Session

from app.core.db import build_engine
from app.indexing.engine import SearchEngine
from app.search_api import service
from bench.common import HotFunction, Profile
from bench.indexing import settings_for
from bench.load import BenchRequest, percentile
from search.types import SortOrder

# the code under test (a snapshot): where the ``app`` package was imported from
CODE_ROOT = Path(service.__file__).resolve().parents[2]
LIST_PARAMS = ("theme", "target_group", "access", "cost")


def search_params(params: Sequence[tuple[str, str]]) -> service.SearchParams:
    """The endpoint's parameters from a request's query string."""
    result = service.SearchParams()
    for key, value in params:
        if key in LIST_PARAMS:
            getattr(result, key).append(value)
        elif key == "lat":
            result.lat = float(value)
        elif key == "lon":
            result.lon = float(value)
        elif key == "radius_km":
            result.radius_km = float(value)
        elif key == "age":
            result.age = int(value)
        elif key == "sort":
            result.sort = SortOrder(value)
        elif key == "q":
            result.q = value
        elif key == "municipality":
            result.municipality = value
        else:
            raise ValueError(f"unknown search parameter {key}")
    return result


def _name(filename: str, line: int, function: str) -> str:
    if filename == "~":  # a built-in
        return function
    path = Path(filename)
    if "site-packages" in path.parts:
        shown = "/".join(path.parts[path.parts.index("site-packages") + 1 :])
    else:
        try:
            shown = str(path.resolve().relative_to(CODE_ROOT))
        except ValueError:
            shown = path.name if filename.startswith(("/", ".")) else filename
    return f"{shown}:{line}({function})" if line else f"{shown}({function})"


def profile(
    *,
    database_url: str,
    index_path: str,
    requests: Sequence[BenchRequest],
    per_kind: int,
    budget_s: float,
    top: int = 12,
) -> Profile:
    """Service time per kind (``per_kind`` requests or ``budget_s`` seconds per kind, at
    least one), then cProfile over the slowest kind by mean (same limits)."""
    engine = build_engine(database_url)
    search = SearchEngine(settings=settings_for(database_url, index_path), engine=engine)

    def one(request: BenchRequest) -> float:
        started = time.perf_counter()
        with Session(engine, expire_on_commit=False) as session:
            params = search_params(request.params)
            service.search(session=session, engine=search, params=params).model_dump_json()
        return (time.perf_counter() - started) * 1000

    def within_budget(chosen: list[BenchRequest]) -> list[tuple[float, BenchRequest]]:
        done: list[tuple[float, BenchRequest]] = []
        started = time.perf_counter()
        for request in chosen:
            done.append((one(request), request))
            if time.perf_counter() - started > budget_s:
                break
        return done

    try:
        by_kind: dict[str, list[BenchRequest]] = {}
        for request in requests:
            chosen = by_kind.setdefault(request.kind, [])
            if len(chosen) < per_kind:
                chosen.append(request)
        one(next(iter(by_kind.values()))[0])  # warm: analyzer, vocabulary, page cache
        service_ms: dict[str, tuple[int, float, float, float]] = {}
        timed: list[tuple[float, str, str]] = []
        for kind, chosen in by_kind.items():
            done = within_budget(chosen)
            times = [ms for ms, _ in done]
            service_ms[kind] = (
                len(times),
                percentile(times, 50),
                percentile(times, 95),
                sum(times) / len(times),
            )
            timed += [(ms, kind, urlencode(r.params)) for ms, r in done]
        slowest = max(service_ms, key=lambda k: service_ms[k][3])
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        profiled = within_budget(by_kind[slowest])
        profiler.disable()
        total = time.perf_counter() - started
    finally:
        engine.dispose()
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        _primitive, calls, own, cumulative, _callers = entry
        rows.append(HotFunction(_name(filename, line, function), int(calls), own, cumulative))
    rows.sort(key=lambda r: r.own_s, reverse=True)
    project = sorted(
        (r for r in rows if r.name.startswith(("app/", "search/"))),
        key=lambda r: r.cumulative_s,
        reverse=True,
    )
    return Profile(
        service_ms=service_ms,
        profiled_kind=slowest,
        profiled_requests=len(profiled),
        profiled_total_s=total,
        hot=rows[:top],
        project=project[:top],
        slowest=sorted(timed, reverse=True)[:8],
        budget_s=budget_s,
    )
