"""Where the time goes: the search service called in-process (no HTTP, no concurrency).

Requests run sequentially through ``app.search_api.service.search_json`` (the response body
as the endpoint makes it):

1. the first requests of the mix in order, from empty caches, as a freshly started worker
   sees them: how often the embedded backend's caches (search/caches.py) answer;
2. per kind, *warm* (the requests were seen before: the caches answer) and *cold* (every
   cache emptied before each request: a query never seen before, or any query right after a
   write to the index) service times;
3. the slowest kind by warm mean once more under cProfile for its hottest functions.

Every kind has a time budget, so a pathological query cannot stall the benchmark.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

from app.core.db import build_engine
from app.indexing.engine import SearchEngine
from app.search_api import service
from bench.common import CacheRow, HotFunction, Profile
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
    first_pass: int = 1000,
) -> Profile:
    """Cache hit rates over the first ``first_pass`` requests from empty caches; warm and cold
    service time per kind (``per_kind`` requests or ``budget_s`` seconds per kind and
    temperature, at least one); then cProfile over the slowest kind by warm mean."""
    engine = build_engine(database_url)
    search = SearchEngine(settings=settings_for(database_url, index_path), engine=engine)

    def backend_call(name: str) -> object:
        method = getattr(search.backend, name, None)  # only the embedded backend has caches
        return method() if method is not None else None

    def one(request: BenchRequest, *, cold: bool = False) -> float:
        if cold:
            backend_call("clear_caches")
        started = time.perf_counter()
        service.search_json(engine=search, params=search_params(request.params))
        return (time.perf_counter() - started) * 1000

    def within_budget(
        chosen: list[BenchRequest], *, cold: bool = False
    ) -> list[tuple[float, BenchRequest]]:
        done: list[tuple[float, BenchRequest]] = []
        started = time.perf_counter()
        for request in chosen:
            done.append((one(request, cold=cold), request))
            if time.perf_counter() - started > budget_s:
                break
        return done

    def summary(done: list[tuple[float, BenchRequest]]) -> tuple[int, float, float, float]:
        times = [ms for ms, _ in done]
        return len(times), percentile(times, 50), percentile(times, 95), sum(times) / len(times)

    try:
        by_kind: dict[str, list[BenchRequest]] = {}
        for request in requests:
            chosen = by_kind.setdefault(request.kind, [])
            if len(chosen) < per_kind:
                chosen.append(request)
        search.backend.warm_up()  # columns and vocabulary, as the server does at startup
        backend_call("clear_caches")
        backend_call("reset_cache_counters")
        started = time.perf_counter()
        passed = 0
        for request in requests[:first_pass]:
            one(request)
            passed += 1
            if time.perf_counter() - started > budget_s * len(by_kind):
                break
        first_pass_s = time.perf_counter() - started
        stats = backend_call("cache_stats")
        caches = {
            name: CacheRow(c.entries, c.bytes, c.max_bytes, c.hits, c.misses)
            for name, c in (stats.items() if isinstance(stats, dict) else ())
        }
        service_ms: dict[str, tuple[int, float, float, float]] = {}
        cold_ms: dict[str, tuple[int, float, float, float]] = {}
        timed: list[tuple[float, str, str]] = []
        for kind, chosen in by_kind.items():
            within_budget(chosen)  # seen once: from here on the caches answer
            done = within_budget(chosen)
            service_ms[kind] = summary(done)
            timed += [(ms, kind, urlencode(r.params)) for ms, r in done]
            cold_ms[kind] = summary(within_budget(chosen, cold=True))
        slowest = max(service_ms, key=lambda k: service_ms[k][3])
        within_budget(by_kind[slowest])  # warm again (the cold runs emptied the caches)
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
        cold_ms=cold_ms,
        first_pass=passed,
        first_pass_s=first_pass_s,
        caches=caches,
    )
