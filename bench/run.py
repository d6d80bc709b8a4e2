"""Search benchmark: a synthetic national-size directory, measured through real HTTP.

    python -m bench.run [--services 100000] [--requests 1000] [--workers 2] [--pc4 PATH]
                        [--out bench/RESULTS.md]

1. builds a fresh SQLite database (Alembic migrations, the shipped taxonomy) with N services
   spread over every Dutch municipality of the PC4 centroid file (see bench/dataset.py);
2. times ``SearchEngine.reindex()`` of the embedded backend in its own process;
3. starts ``uvicorn app.main:app --workers N`` on a free port of 127.0.0.1, as the Docker image
   runs it (``WEB_CONCURRENCY``, default 2: a master process and N worker processes; with
   ``--workers 1`` one process), waits until every worker has started and warms them up with
   20 requests per worker (at least 40), each on a new connection so that all workers get some;
4. sends a fixed, seeded mix of ``GET /api/v1/search`` requests at concurrency 1, 10 and 50
   and reports latency p50/p95/p99, throughput, errors, the CPU time of each worker, peak RSS
   per worker and the RSS of the whole process tree;
5. calls the search service in-process, one request at a time, for the service time per
   kind and a cProfile of the slowest kind (bench/hotspots.py);
6. prints a markdown report and writes it to bench/RESULTS.md (overwriting).

The application code is copied into the run's temporary directory first and every step runs
that snapshot (bench/snapshot.py): the tree may be edited while a run takes minutes.

Exit status: 0, or 1 when any request failed (non-200 or no response) or most searches found
nothing (an empty index), 2 on bad input.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import snapshot
from bench.common import BuildResult, DatasetInfo, Profile, read_pc4
from bench.load import (
    CLIENT_TIMEOUT_S,
    KIND_HELP,
    KINDS,
    LevelResult,
    QueryMix,
    Sample,
    count_repeats,
    latencies_ms,
    percentile,
    run_level,
)
from bench.server import Server, ServerMemory, start_server, wait_idle
from bench.snapshot import call_in_snapshot

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PC4 = PROJECT_ROOT.parent / "shared" / "data" / "geo" / "pc4-nl-2014.csv"
DEFAULT_OUT = PROJECT_ROOT / "bench" / "RESULTS.md"
TARGET_CONCURRENCY = 10
TARGET_P95_MS = 50.0
WARMUP_REQUESTS = 40  # at least; with several workers WARMUP_PER_WORKER each
WARMUP_PER_WORKER = 20
IDLE_WAIT_MAX_S = 600.0  # before a level: until the server has finished the previous one
ZERO_HITS_SUSPECT = 0.5  # more searches than this without hits: the index is not what we built


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Search latency, throughput, index build time and memory over real HTTP.",
    )
    parser.add_argument("--services", type=int, default=100_000, help="services (default 100000)")
    parser.add_argument(
        "--requests",
        type=int,
        default=1000,
        help="requests per concurrency level; concurrency 1 runs 30%% of them "
        "(default 1000: 300 / 1000 / 1000 at 1 / 10 / 50)",
    )
    parser.add_argument(
        "--concurrency",
        default="1,10,50",
        help="comma-separated concurrency levels (default 1,10,50)",
    )
    parser.add_argument(
        "--time-cap",
        type=float,
        default=180.0,
        help="seconds per level after which no new requests start (default 180)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="uvicorn worker processes (default 2, as the Docker image (WEB_CONCURRENCY)); "
        "1: a single process without --workers",
    )
    parser.add_argument("--pc4", type=Path, default=DEFAULT_PC4, help="PC4 centroid CSV")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report")
    parser.add_argument("--seed", type=int, default=1, help="seed of data and query mix")
    parser.add_argument(
        "--profile-requests",
        type=int,
        default=20,
        help="requests per kind for the in-process service time and cProfile; 0 skips (default 20)",
    )
    parser.add_argument(
        "--profile-budget",
        type=float,
        default=30.0,
        help="seconds per kind for the in-process measurement and for cProfile (default 30)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory (code snapshot, database, index, server log)",
    )
    args = parser.parse_args(argv)
    if (
        args.services < 1
        or args.requests < 1
        or args.workers < 1
        or args.time_cap <= 0
        or args.profile_requests < 0
        or args.profile_budget <= 0
    ):
        parser.error(
            "--services, --requests, --workers, --time-cap and --profile-budget must be positive, "
            "--profile-requests >= 0"
        )
    try:
        args.levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    except ValueError:
        parser.error("--concurrency: a comma-separated list of numbers, e.g. 1,10,50")
    if not args.levels or min(args.levels) < 1:
        parser.error("--concurrency: positive numbers")
    return args


def _requests_for(level: int, requests: int) -> int:
    return max(1, round(requests * 0.3)) if level == 1 else requests


def _size(path: Path) -> int:
    """A SQLite file with its -wal and -shm companions, in bytes."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            total += candidate.stat().st_size
    return total


def _mib(kib_or_bytes: float, *, from_bytes: bool = False) -> str:
    value = kib_or_bytes / (1024 * 1024) if from_bytes else kib_or_bytes / 1024
    return f"{value:,.0f} MiB"


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:,.1f}"  # NaN: no samples


def _machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory = _mib(int(line.split()[1]))
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    loop = (
        "uvloop + httptools"
        if importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools")
        else "asyncio + h11"
    )

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return [
        ("cores (`nproc`)", str(usable)),
        (
            "load average (1/5/15 min) when the report was written",
            " / ".join(f"{v:.2f}" for v in load) if load else "n/a",
        ),
        ("CPU", cpu),
        ("memory", memory),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("SQLite (stdlib sqlite3)", sqlite3.sqlite_version),
        (
            "uvicorn / FastAPI",
            f"{version('uvicorn')} ({loop}) / {version('fastapi')}",
        ),
    ]


@dataclass(frozen=True)
class Warmup:
    seconds: float
    requests: int
    worker_cpu_s: list[float] | None  # with several workers: CPU seconds of each meanwhile


@dataclass
class Run:
    args: argparse.Namespace
    info: DatasetInfo
    build: BuildResult
    db_bytes: int
    index_bytes: int
    server: Server
    warmup: Warmup
    levels: list[LevelResult]
    server_memory: ServerMemory | None
    started: datetime
    profile: Profile | None
    fingerprint: str
    fingerprint_end: str


def _zero_share(levels: Sequence[LevelResult]) -> float:
    ok = [s for level in levels for s in level.ok]
    return sum(1 for s in ok if s.total == 0) / len(ok) if ok else 0.0


def _target_level(levels: Sequence[LevelResult]) -> LevelResult | None:
    return next((lv for lv in levels if lv.concurrency == TARGET_CONCURRENCY), None)


def _shape(workers: int) -> str:
    return "one server process" if workers == 1 else f"{workers} uvicorn worker processes"


def _cpu_list(seconds: Sequence[float]) -> str:
    return " / ".join(f"{s:,.1f}" for s in seconds)


def _cpu_per_worker(before: dict[int, float], after: dict[int, float]) -> list[float]:
    """CPU seconds of each worker between two readings (a worker started meanwhile: all)."""
    return [after[pid] - before.get(pid, 0.0) for pid in sorted(after)]


def _command(args: argparse.Namespace) -> str:
    parts = [
        "python -m bench.run",
        f"--services {args.services}",
        f"--requests {args.requests}",
        f"--workers {args.workers}",
    ]
    if args.concurrency != "1,10,50":
        parts.append(f"--concurrency {args.concurrency}")
    if args.seed != 1:
        parts.append(f"--seed {args.seed}")
    return " ".join(parts)


def render(run: Run) -> str:
    args, info, build = run.args, run.info, run.build
    lines: list[str] = []
    add = lines.append
    add("# Search benchmark: embedded backend (SQLite FTS5), synthetic national directory")
    add("")
    add(
        f"Last run {run.started:%Y-%m-%d %H:%M} UTC: `{_command(args)}` — generated by "
        "`bench/run.py`, overwritten on every run."
    )
    add("")
    changed = (
        ""
        if run.fingerprint == run.fingerprint_end
        else f" (the working tree changed during the run, to `{run.fingerprint_end}`; "
        "these numbers are for the snapshot)"
    )
    add(
        f"Code under test: a snapshot taken at the start, fingerprint `{run.fingerprint}` "
        f"(sha256 of {', '.join(snapshot.CODE_DIRS)} and {', '.join(snapshot.CODE_FILES)})"
        f"{changed}."
    )
    add("")
    if _zero_share(run.levels) > ZERO_HITS_SUSPECT:
        add(
            f"**Suspect run: {_zero_share(run.levels):.0%} of all searches found nothing** — "
            "the server probably searched an empty or unreadable index; do not use these numbers."
        )
        add("")
    target = _target_level(run.levels)
    if target is not None and target.ok:
        p95 = percentile(latencies_ms(target.ok), 95)
        met = p95 < TARGET_P95_MS and not target.errors
        ratio = p95 / TARGET_P95_MS
        add(
            f"**Target (p95 < {TARGET_P95_MS:.0f} ms at concurrency {TARGET_CONCURRENCY}): "
            f"{'met' if met else 'missed'}** — p95 = {p95:,.1f} ms "
            f"({ratio:.2f}× the target), p50 = {percentile(latencies_ms(target.ok), 50):,.1f} ms, "
            f"{len(target.errors)} error(s), {info.counts.get('service', 0):,} services, "
            f"{_shape(run.server.workers)}."
        )
        add("")
    workers = run.server.workers
    add("## Latency and throughput of `GET /api/v1/search`")
    add("")
    per_worker = "" if workers == 1 else f" CPU s per worker ({workers}) |"
    add(
        "| concurrency | requests | repeats | errors | p50 ms | p95 ms | p99 ms | max ms | req/s "
        f"| server CPU ms per request |{per_worker} client CPU ms per request "
        "| load (1 min) at the end |"
    )
    add("|---:" * (12 if workers == 1 else 13) + "|")
    for level in run.levels:
        ms = latencies_ms(level.ok)
        done = f"{len(level.samples)}" + (f" of {level.planned} (time cap)" if level.capped else "")
        if level.idle_wait_s >= 2:
            done += f", after {level.idle_wait_s:,.0f} s waiting for the server to go idle"
        load = f"{level.load_1min:.1f}" if level.load_1min is not None else "n/a"
        cpu = (
            ""
            if workers == 1
            else f" {_cpu_list(level.worker_cpu_s) if level.worker_cpu_s else 'n/a'} |"
        )
        repeats = f"{level.repeated / len(level.samples):.0%}" if level.samples else "n/a"
        server_cpu = (
            f"{sum(level.worker_cpu_s) * 1000 / len(level.samples):.2f}"
            if level.worker_cpu_s and level.samples
            else "n/a"
        )
        add(
            f"| {level.concurrency} | {done} | {repeats} | {len(level.errors)} | "
            f"{_ms(percentile(ms, 50))} | {_ms(percentile(ms, 95))} | {_ms(percentile(ms, 99))} | "
            f"{_ms(max(ms) if ms else float('nan'))} | {level.throughput:,.1f} | {server_cpu} |"
            f"{cpu} {level.client_cpu_ms_per_request:.2f} | {load} |"
        )
    add("")
    add(
        f"The machine has {os.cpu_count()} cores. The load average includes the server's own "
        "busy threads (SQLite releases the GIL) and the client; it is there to recognise a run "
        "on a machine that other work kept busy, not to correct for it."
    )
    add(
        "Repeats: requests whose query string was sent before in this run (warm-up, earlier "
        "levels, earlier in the level). A worker sends the kept answer of such a request "
        "without searching again (app/search_api/answers.py) when it answered the earlier one "
        "itself and nothing was written to the index since; each worker keeps its own. The "
        "other requests are searched (the backend's caches of words and documents still help)."
    )
    if workers > 1:
        add(
            "CPU s per worker: user + system time of each worker process during the level "
            "(`/proc/<pid>/stat`). With several workers every request opens a new connection "
            "(a keep-alive connection stays with the worker that accepted it, and one worker may "
            "accept a whole burst); a worker with little CPU did little of the work."
        )
    add("")
    if target is not None:
        add(f"### Per query kind at concurrency {TARGET_CONCURRENCY}")
        add("")
        add("| kind | requests | zero hits | p50 ms | p95 ms | p99 ms | max ms | what |")
        add("|---|---:|---:|---:|---:|---:|---:|---|")
        for kind in KINDS:
            samples = [s for s in target.samples if s.kind == kind]
            ok = [s for s in samples if s.status == 200]
            ms = latencies_ms(ok)
            zero = sum(1 for s in ok if s.total == 0)
            add(
                f"| {kind} | {len(samples)} | {zero} | {_ms(percentile(ms, 50))} | "
                f"{_ms(percentile(ms, 95))} | {_ms(percentile(ms, 99))} | "
                f"{_ms(max(ms) if ms else float('nan'))} | {KIND_HELP[kind]} |"
            )
        add("")
    single = next((lv for lv in run.levels if lv.concurrency == 1 and lv.ok), None)
    if single is not None:
        add("### Slowest requests at concurrency 1 (no queueing)")
        add("")
        add("| ms | kind | hits | query string |")
        add("|---:|---|---:|---|")
        for sample in sorted(single.ok, key=lambda s: s.seconds, reverse=True)[:8]:
            add(
                f"| {sample.seconds * 1000:,.1f} | {sample.kind} | {sample.total} | `{sample.query}` |"
            )
        add("")
    errors = [(level.concurrency, s) for level in run.levels for s in level.errors]
    if errors:
        add("### Errors")
        add("")
        add("| concurrency | status | count | first example (after s) | query string |")
        add("|---:|---|---:|---|---|")
        groups: dict[tuple[int, str], list[Sample]] = {}
        for concurrency, sample in errors:
            status = str(sample.status) if sample.status else "no answer"
            groups.setdefault((concurrency, status), []).append(sample)
        for (concurrency, status), samples in groups.items():
            first = samples[0]
            detail = (first.error or "").replace("\n", " ").replace("|", "/")[:160]
            add(
                f"| {concurrency} | {status} | {len(samples)} | {detail} "
                f"({first.seconds:,.1f} s) | `{first.query}` |"
            )
        add("")
    if run.profile is not None:
        _render_profile(run, add)
    counts = info.counts
    add("## Data, index build and memory")
    add("")
    add("| what | value |")
    add("|---|---:|")
    add(
        f"| services (all public: service and organisation `toegelaten`) | {counts.get('service', 0):,} |"
    )
    add(
        f"| municipalities / kernen (places) | {counts.get('municipality', 0):,} / {counts.get('place', 0):,} |"
    )
    add(
        f"| organisations / locations | {counts.get('organization', 0):,} / {counts.get('location', 0):,} |"
    )
    add(
        f"| service_term / service_area / service_at_location rows | {counts.get('service_term', 0):,} / "
        f"{counts.get('service_area', 0):,} / {counts.get('service_at_location', 0):,} |"
    )
    add(f"| data generation (migrations, taxonomy, inserts) | {info.seconds:,.1f} s |")
    add(
        f"| **index build** (`SearchEngine.reindex()`, {build.documents:,} documents) | "
        f"**{build.seconds:,.1f} s** ({build.docs_per_s:,.0f} docs/s) |"
    )
    add(f"| database size (SQLite) | {_mib(run.db_bytes, from_bytes=True)} |")
    add(f"| search index size (SQLite FTS5 file) | {_mib(run.index_bytes, from_bytes=True)} |")
    add(f"| peak RSS, data generation process | {_mib(info.peak_rss_kib)} |")
    add(f"| peak RSS, index build process | {_mib(build.peak_rss_kib)} |")
    _render_memory(run, add)
    warmup = run.warmup
    if workers == 1:
        add(f"| server start until `/health/ready` answers 200 | {run.server.ready_s:,.1f} s |")
        add(
            f"| warm-up ({warmup.requests} sequential requests, not counted) | {warmup.seconds:,.1f} s |"
        )
    else:
        add(
            "| server start until `/health/ready` answers 200 and every worker has started "
            f"| {run.server.ready_s:,.1f} s |"
        )
        cpu = _cpu_list(warmup.worker_cpu_s) if warmup.worker_cpu_s else "n/a"
        add(
            f"| warm-up ({warmup.requests} requests, {workers} at a time, each on a new "
            f"connection; not counted; CPU s per worker {cpu}) | {warmup.seconds:,.1f} s |"
        )
    add("")
    add("## Machine")
    add("")
    add("| what | value |")
    add("|---|---|")
    for key, value in _machine():
        add(f"| {key} | {value} |")
    add("")
    add("## How this was measured")
    add("")
    municipalities = counts.get("municipality", 0)
    notes = [
        f"**Data.** Synthetic; texts, counts, links and places follow seed {args.seed} (ids are "
        f"uuid4, timestamps relative to the run): {counts.get('service', 0):,} "
        f"services over all {municipalities} municipalities of the 2014 PC4 centroid file "
        "(`../shared/data/geo/pc4-nl-2014.csv`, 4pp, MIT; read in place, not copied), in "
        "proportion to each municipality's PC4 areas with addresses; about one organisation "
        "per three services, one or two locations per organisation at a PC4 centroid of its "
        "municipality ± ~600 m; 90% of services at a location (the rest have no coordinates). "
        "Each service has 1–3 themes, 1–2 target groups, one access route, one cost class and a "
        "municipality-wide service area. Names and 2–4 sentence B1 descriptions come from "
        "templates and the taxonomy's labels and lay words. No wijken are loaded (the "
        "neighbourhood facet is empty) and no postcode table (geo queries use lat/lon).",
        "**Code.** The application (app, search, migrations, importers, alembic.ini) is "
        "copied into the run's temporary directory at the start; generation, index build, "
        "server and profile all run that snapshot, so one run measures one version even while "
        "the working tree is edited.",
        "**Index build.** `SearchEngine(...).reindex()` of the embedded backend in a separate "
        "process (spawned), on the freshly written database; the time includes building the "
        "analyzer (taxonomy plus the compound dictionary from all public texts). Peak RSS of "
        "that process is `getrusage(RUSAGE_SELF).ru_maxrss`.",
        _server_note(workers),
        "**Load.** A minimal HTTP/1.1 client on asyncio streams (`bench/load.py`) in the "
        "benchmark process against 127.0.0.1 only, with as many connections as the concurrency "
        "(keep-alive with one worker, a new connection per request with several). The client "
        "shares the same cores with the server, so its own CPU per request is in the table "
        "(httpx, used before 2026-11-23, took ~2 ms per request: half of what the server "
        "took). Latency is client-side wall time from sending the request until the "
        "whole body has been read. Percentiles (linear interpolation) are over 200 responses "
        "only, so with errors they understate the tail; an error is any non-200 status or no "
        f"answer within {CLIENT_TIMEOUT_S:.0f} s, and is reported. Throughput is completed "
        "requests divided by the wall time of the level. Every level runs a prefix of the same "
        "seeded request sequence; a level stops starting requests after "
        f"{args.time_cap:.0f} s, and starts only when the server "
        + ("process has" if workers == 1 else "processes (master and workers together) have")
        + " gone idle (a client that gives up does not stop the server's work). Before "
        f"measuring, {run.warmup.requests} requests "
        + (
            "warm the server"
            if workers == 1
            else f"({run.warmup.requests / workers:,.0f} per worker on average, {workers} at a "
            "time, each on a new connection so that the kernel spreads them over the workers) "
            "warm every worker"
        )
        + " (caches, vocabulary); the database and index were just written, so "
        "they are in the OS page cache.",
        "**Query mix** (share): "
        + "; ".join(f"{kind} {share}%: {KIND_HELP[kind]}" for kind, share in KINDS.items())
        + ". Every response carries the facets (themes, target groups, access, cost, wijken).",
        "**Zero hits** per kind are a sanity check of the synthetic data, not a relevance "
        "measure (relevance: `search/eval`). This is one run, not a median of several: "
        "repeat it before drawing conclusions from small differences.",
    ]
    for note in notes:
        add(f"- {note}")
    add("")
    return "\n".join(lines)


def _render_memory(run: Run, add: Callable[[str], None]) -> None:
    memory, workers = run.server_memory, run.server.workers
    if memory is None:
        label = "API server" if workers == 1 else "per API worker"
        add(f"| **peak RSS, {label}** | n/a (no /proc) |")
        return
    hwm, rss = max(memory.worker_hwm_kib), max(memory.worker_rss_kib)
    if workers == 1:
        add(
            f"| **peak RSS, API server** (VmHWM after all levels; VmRSS then) | "
            f"**{_mib(hwm)}** ({_mib(rss)}) |"
        )
        return
    each = ", ".join(
        f"{_mib(h)} / {_mib(r)}"
        for h, r in zip(memory.worker_hwm_kib, memory.worker_rss_kib, strict=False)
    )
    add(
        f"| API server processes (uvicorn `--workers {workers}`) | {memory.processes}: master, "
        f"{len(memory.worker_hwm_kib)} workers"
        + (", multiprocessing's resource tracker" if memory.processes > workers + 1 else "")
        + " |"
    )
    add(
        f"| **peak RSS per API worker** (VmHWM after all levels, max over the workers; "
        f"VmRSS then) | **{_mib(hwm)}** ({_mib(rss)}) |"
    )
    add(f"| each worker: VmHWM / VmRSS | {each} |")
    add(
        f"| **RSS of the whole API server** (VmRSS summed over all {memory.processes} processes "
        f"after all levels; their VmHWM summed) | **{_mib(memory.tree_rss_kib)}** "
        f"({_mib(memory.tree_hwm_kib)}) |"
    )


_REQUEST_PATH = (
    "An anonymous search whose query string the worker answered before, with no write to the "
    "index since, is sent the kept answer by a middleware (app/search_api/answers.py); any "
    "other search runs in the sync FastAPI route in Starlette's thread pool (its session and "
    "authorisation dependencies are async and do no I/O for an anonymous search)."
)


def _server_note(workers: int) -> str:
    if workers == 1:
        return (
            "**Server.** `uvicorn app.main:app --no-access-log` as a subprocess: one process, no "
            "workers, `ENVIRONMENT=development`, background drain off, the app's own access log "
            "on (to a file), `MALLOC_ARENA_MAX=2` as in the Docker image. "
            + _REQUEST_PATH
            + " All "
            "requests share one GIL — at any concurrency the server uses about one core for "
            "Python. Peak RSS is `VmHWM` of "
            "`/proc/<server pid>/status`, read after the last level."
        )
    return (
        f"**Server.** `uvicorn app.main:app --workers {workers} --no-access-log` as a "
        "subprocess, the shape of the Docker image (`--workers ${WEB_CONCURRENCY:-2}`): a "
        f"master process that only supervises and {workers} worker processes that share the "
        "listening socket — the kernel gives each new connection to the worker that accepts it "
        "first, and a keep-alive connection stays with that worker. `ENVIRONMENT=development`, "
        "background drain off, the app's own access log on (to a file), `MALLOC_ARENA_MAX=2` "
        "as in the Docker image. " + _REQUEST_PATH + " The requests of one worker share that "
        "worker's GIL — the server uses at most about "
        f"{workers} cores for Python, one per worker, and only as far as the connections are "
        "spread over the workers. Load starts once `/health/ready` answers 200 and the log "
        "shows every worker's startup complete (the health check reaches only one worker). "
        "Peak RSS per worker is `VmHWM` of `/proc/<worker pid>/status`; the whole server's RSS "
        "is `VmRSS` summed over the master and all its descendants (found by the parent pid in "
        "`/proc/*/stat`), which counts shared library pages once per process; both read after "
        "the last level."
    )


def _render_profile(run: Run, add: Callable[[str], None]) -> None:
    prof = run.profile
    assert prof is not None
    add("## Where the time goes")
    add("")
    add(
        "Service time: the same kinds of request called in-process and one at a time "
        "(`app.search_api.service.search_json`, the endpoint's response body; no HTTP, "
        "no concurrency), after the server has stopped. **Warm**: the requests were seen "
        "before, so the embedded backend's caches answer (FTS5 matches, ranking data and "
        "documents; search/caches.py). **Cold**: every cache emptied before each request — what "
        "a query that was never asked before costs, and what *every* query costs once right "
        "after a write to the index (a write empties the caches)."
    )
    add("")
    add(
        f"Up to {run.args.profile_requests} requests per kind and temperature, fewer when the "
        f"kind used up its budget of {prof.budget_s:.0f} s."
    )
    add("")
    add(
        "| kind | requests | warm p50 ms | warm p95 ms | warm mean ms "
        "| cold p50 ms | cold p95 ms | cold mean ms | cold / warm (mean) |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in KINDS:
        if kind in prof.service_ms:
            n, p50, p95, mean = prof.service_ms[kind]
            cold = prof.cold_ms.get(kind)
            cold_cells = (
                f"{_ms(cold[1])} | {_ms(cold[2])} | {_ms(cold[3])} | {cold[3] / mean:,.1f}×"
                if cold and mean
                else "– | – | – | –"
            )
            add(f"| {kind} | {n} | {_ms(p50)} | {_ms(p95)} | {_ms(mean)} | {cold_cells} |")
    weights = {k: KINDS[k] for k in prof.service_ms}
    mix_mean = sum(prof.service_ms[k][3] * w for k, w in weights.items()) / sum(weights.values())
    if prof.cold_ms:
        cold_mean = sum(prof.cold_ms[k][3] * w for k, w in weights.items() if k in prof.cold_ms)
        cold_mean /= sum(w for k, w in weights.items() if k in prof.cold_ms)
        add("")
        add(
            f"Mean of the mix: warm **{mix_mean:,.1f} ms**, cold **{cold_mean:,.1f} ms** "
            f"({cold_mean / mix_mean:,.1f}×)."
        )
    if prof.caches:
        add("")
        add(
            f"Caches over the first {prof.first_pass:,} requests of the mix in order, starting "
            f"empty (a freshly started worker; {prof.first_pass_s:,.1f} s in-process). The query "
            "mix repeats its words (about 50 texts and 9 broad words), as real searches repeat "
            "theme tiles and common needs; the load levels above run prefixes of one seeded "
            "sequence after a warm-up, so the server's caches were at least this warm:"
        )
        add("")
        add("| cache | entries | MiB held | bound MiB | hits | misses | hit rate |")
        add("|---|---:|---:|---:|---:|---:|---:|")
        for name, c in prof.caches.items():
            add(
                f"| {name} | {c.entries:,} | {c.bytes / 2**20:,.1f} | {c.max_bytes / 2**20:,.0f} "
                f"| {c.hits:,} | {c.misses:,} | {c.hit_rate:.0%} |"
            )
    add("")
    workers = run.server.workers
    several = (
        ""
        if workers == 1
        else f" The server runs {workers} such worker processes: up to {workers}× that, about "
        f"{workers * 1000 / mix_mean:,.1f} requests/s, when the connections are spread over "
        f"them and {workers} cores are free for them (the client shares the machine's "
        f"{os.cpu_count()} cores)."
    )
    add(
        f"Mean warm service time of the mix (weighted by share): **{mix_mean:,.1f} ms**, i.e. roughly "
        f"{1000 / mix_mean:,.1f} requests/s for one process that runs Python on one core at a "
        f"time (the GIL; SQLite releases it, so a little more is possible).{several} With *c* "
        "clients that each wait for their answer, latency ≈ *c* / throughput (Little's law): "
        "beyond the service rate, requests only queue."
    )
    throughputs = ", ".join(
        f"c={lv.concurrency}: {lv.throughput:,.1f}/s" for lv in run.levels if lv.samples
    )
    add(f"Measured throughput for comparison: {throughputs}.")
    per_request = [
        f"c={lv.concurrency}: {1000 * sum(lv.worker_cpu_s) / len(lv.samples):,.1f} ms"
        for lv in run.levels
        if lv.samples and lv.worker_cpu_s
    ]
    if per_request:
        add("")
        add(
            "Server CPU per request through HTTP (the workers' CPU time during the level ÷ its "
            f"requests): {', '.join(per_request)}. Compared with the service time above, the rest "
            "is the HTTP stack (uvicorn, the middlewares, FastAPI's parameters and dependencies, "
            "the thread-pool hops), the cold work each worker does the first time it sees a query "
            "(every worker has its own caches), and the worker's threads contending for its GIL."
        )
    add("")
    add(
        f"Hottest functions (own time) while running {prof.profiled_requests} `{prof.profiled_kind}` "
        f"requests, the slowest kind by warm mean, warm, under cProfile ({prof.profiled_total_s:,.1f} s including "
        "profiler overhead):"
    )
    add("")
    add("| function | calls | own s | cumulative s |")
    add("|---|---:|---:|---:|")
    for hot in prof.hot:
        name = hot.name.replace("|", "/")
        add(f"| `{name}` | {hot.calls:,} | {hot.own_s:,.3f} | {hot.cumulative_s:,.3f} |")
    add("")
    add("The project's functions in that profile by cumulative time (time spent inside them):")
    add("")
    add("| function | calls | own s | cumulative s |")
    add("|---|---:|---:|---:|")
    for hot in prof.project:
        add(f"| `{hot.name}` | {hot.calls:,} | {hot.own_s:,.3f} | {hot.cumulative_s:,.3f} |")
    add("")
    add("Slowest single requests in-process:")
    add("")
    add("| ms | kind | query string |")
    add("|---:|---|---|")
    for ms, kind, query in prof.slowest:
        add(f"| {ms:,.1f} | {kind} | `{query}` |")
    add("")


def _warm_up(server: Server, info: DatasetInfo, seed: int, sent: set[str]) -> Warmup:
    """Sequential requests on one connection; with several workers ``WARMUP_PER_WORKER`` per
    worker, as many at a time as there are workers, each on a new connection so that the
    kernel spreads them over the workers (every worker loads its caches)."""
    workers = server.workers
    count = max(WARMUP_REQUESTS, WARMUP_PER_WORKER * workers)
    requests = QueryMix(info, seed + 1000).take(count)
    count_repeats(requests, sent)
    cpu_before = server.worker_cpu_seconds()
    started = time.perf_counter()
    result = run_level(server.base_url, requests, workers, 600.0, keep_alive=workers == 1)
    seconds = time.perf_counter() - started
    if result.errors:
        sample = result.errors[0]
        raise RuntimeError(
            f"warm-up failed: {sample.kind} status {sample.status}: {sample.error}\n"
            f"{server.log_tail()}"
        )
    if all(sample.total == 0 for sample in result.samples):
        raise RuntimeError(
            "every warm-up search found nothing: the server sees an empty index (built by "
            f"another version of the code?)\n{server.log_tail()}"
        )
    cpu = _cpu_per_worker(cpu_before, server.worker_cpu_seconds()) if workers > 1 else None
    return Warmup(seconds=seconds, requests=count, worker_cpu_s=cpu)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    pc4_path: Path = args.pc4
    if not pc4_path.is_file():
        print(
            f"bench: PC4 centroid file not found: {pc4_path}\n"
            "  It is the 4pp file pc4-nl-2014.csv (columns id,postcode,woonplaats,"
            "alternatieve_schrijfwijzen,gemeente,provincie,netnummer,latitude,longitude,soort),\n"
            "  expected at ../shared/data/geo/ next to the project. Pass its location with --pc4 PATH.",
            file=sys.stderr,
        )
        return 2
    try:
        read_pc4(pc4_path)
    except (ValueError, OSError) as exc:
        print(f"bench: cannot read {pc4_path}: {exc}", file=sys.stderr)
        return 2

    started = datetime.now(UTC)
    workdir = Path(tempfile.mkdtemp(prefix="sociale-kaart-bench-"))
    code = workdir / "code"
    database = workdir / "bench.db"
    index = workdir / "search-index.db"
    database_url = f"sqlite:///{database}"
    server: Server | None = None
    try:
        fingerprint = snapshot.take(PROJECT_ROOT, code)
        print(
            f"[1/4] code snapshot {fingerprint}; generating {args.services:,} services …",
            flush=True,
        )
        info = call_in_snapshot(
            code,
            "bench.dataset:generate",
            database_url=database_url,
            pc4_path=str(pc4_path.resolve()),
            services=args.services,
            seed=args.seed,
        )
        assert isinstance(info, DatasetInfo)
        print(
            f"      {info.counts['service']:,} services, {info.counts['organization']:,} "
            f"organisations, {info.counts['municipality']} municipalities in {info.seconds:.1f} s",
            flush=True,
        )
        print("[2/4] building the search index (SearchEngine.reindex) …", flush=True)
        build = call_in_snapshot(
            code, "bench.indexing:build_index", database_url=database_url, index_path=str(index)
        )
        assert isinstance(build, BuildResult)
        print(
            f"      {build.documents:,} documents in {build.seconds:.1f} s "
            f"({build.docs_per_s:,.0f} docs/s), peak RSS {_mib(build.peak_rss_kib)}",
            flush=True,
        )
        print(f"[3/4] starting uvicorn ({_shape(args.workers)}) …", flush=True)
        server = start_server(
            code_root=code,
            database_url=database_url,
            index_path=str(index),
            workdir=workdir,
            workers=args.workers,
        )
        server.wait_ready()
        sent: set[str] = set()  # query strings sent so far: repeats can be answered from memory
        warmup = _warm_up(server, info, args.seed, sent)
        spread = (
            f" (CPU s per worker {_cpu_list(warmup.worker_cpu_s)})" if warmup.worker_cpu_s else ""
        )
        print(
            f"      ready in {server.ready_s:.1f} s at {server.base_url}, warm-up "
            f"{warmup.requests} requests in {warmup.seconds:.1f} s{spread}",
            flush=True,
        )
        print("[4/4] load …", flush=True)
        levels: list[LevelResult] = []
        for level in args.levels:
            requests = QueryMix(info, args.seed).take(_requests_for(level, args.requests))
            repeated = count_repeats(requests, sent)
            idle_wait = wait_idle(server.process.pid, max_s=IDLE_WAIT_MAX_S)
            cpu_before = server.worker_cpu_seconds()
            # Several workers: a new connection per request (like distinct residents), so the
            # kernel spreads them over the workers; keep-alive would pin a burst to one worker.
            result = run_level(
                server.base_url, requests, level, args.time_cap, keep_alive=args.workers == 1
            )
            if server.workers > 1:
                result.worker_cpu_s = _cpu_per_worker(cpu_before, server.worker_cpu_seconds())
            result.idle_wait_s = idle_wait
            result.repeated = repeated
            result.load_1min = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
            ms = latencies_ms(result.ok)
            print(
                f"      concurrency {level:>3} (after {idle_wait:.0f} s idle wait): "
                f"{len(result.samples)} requests, "
                f"{len(result.errors)} errors, p50 {_ms(percentile(ms, 50))} ms, "
                f"p95 {_ms(percentile(ms, 95))} ms, {result.throughput:.1f} req/s"
                + (
                    f", CPU s per worker {_cpu_list(result.worker_cpu_s)}"
                    if result.worker_cpu_s
                    else ""
                ),
                flush=True,
            )
            levels.append(result)
        memory = server.memory()
        server.stop()
        run = Run(
            args=args,
            info=info,
            build=build,
            db_bytes=_size(database),
            index_bytes=_size(index),
            server=server,
            warmup=warmup,
            levels=levels,
            server_memory=memory,
            started=started,
            profile=None,
            fingerprint=fingerprint,
            fingerprint_end=snapshot.fingerprint(PROJECT_ROOT),
        )
        out: Path = args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(run), encoding="utf-8")  # kept should profiling fail
        if args.profile_requests > 0:
            print(
                f"      profiling in-process (no HTTP, ≤ {args.profile_budget:.0f} s per kind) …",
                flush=True,
            )
            hot = call_in_snapshot(
                code,
                "bench.hotspots:profile",
                database_url=database_url,
                index_path=str(index),
                requests=QueryMix(info, args.seed).take(max(3000, args.requests)),
                per_kind=args.profile_requests,
                budget_s=args.profile_budget,
            )
            assert isinstance(hot, Profile)
            run.profile = hot
        report = render(run)
        print()
        print(report)
        out.write_text(report, encoding="utf-8")
        print(f"written to {out}")
        if _zero_share(levels) > ZERO_HITS_SUSPECT:
            print("bench: most searches found nothing; the run is suspect", file=sys.stderr)
            return 1
        return 1 if any(level.errors for level in levels) else 0
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"kept {workdir} (code snapshot, database, index, server.log)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
