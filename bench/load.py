"""The query mix and the load generator (httpx against 127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from bench.common import DatasetInfo

SEARCH_PATH = "/api/v1/search"
CLIENT_TIMEOUT_S = 120.0  # a request without an answer by then counts as an error

# What residents type: lay words and whole sentences.
LAY = (
    "geldzorgen",
    "schulden",
    "eenzaam",
    "ik ben zo alleen",
    "voedselbank",
    "mantelzorg",
    "vergeetachtig",
    "taalcafe",
    "huiswerk",
    "vervoer naar het ziekenhuis",
    "rollator",
    "somber",
    "werk zoeken",
    "kleding",
    "buurtkamer",
    "ik kan mijn rekeningen niet meer betalen",
    "mijn moeder wordt vergeetachtig",
    "koffieochtend",
    "formulieren invullen",
    "digid",
)
# ... with typing errors.
MISSPELLED = (
    "mantlezorg",
    "schuldhulpverleninng",
    "eenzaamhied",
    "voedselbnak",
    "dementei",
    "vrijwiligerswerk",
    "geldzorgne",
    "taalmaatej",
    "huiselijk gewelt",
    "opvoedign",
)
# What professionals type: two-word service terms.
PROFESSIONAL = (
    "schuldhulpverlening aanmelden",
    "dagbesteding dementie",
    "respijtzorg mantelzorgers",
    "huiselijk geweld",
    "re-integratie werkzoekenden",
    "valpreventie ouderen",
    "budgetcoach minima",
    "inburgering statushouders",
    "casemanager dementie",
    "jeugdhulp scheiding",
)
# Broad words that are usually combined with filters.
BROAD = ("hulp", "ontmoeting", "advies", "geld", "sport", "taal", "maatje", "spreekuur", "inloop")
AGES = ("8", "16", "40", "70")

# kind -> share of the mix
KINDS: dict[str, int] = {
    "text": 35,
    "text+filters": 20,
    "geo+text": 15,
    "geo": 10,
    "facets": 20,
}
KIND_HELP = {
    "text": "q only: lay words and sentences (50%), misspellings (25%), 2-word professional terms (25%)",
    "text+filters": "q (broad or lay word) + 1–3 of theme, target_group, cost=gratis, age, municipality",
    "geo+text": "q (lay or broad word) + lat/lon of a random PC4 centroid, radius_km=5, sort=distance",
    "geo": "no q; lat/lon of a random PC4 centroid, radius_km=5, sort=distance, theme in half of them",
    "facets": "no q, filters only (municipality start page, + theme, theme + target group, cost + age); facets are in every response",
}

Params = list[tuple[str, str]]


@dataclass(frozen=True)
class BenchRequest:
    kind: str
    params: Params


class QueryMix:
    """A fixed, seeded sequence of search requests over the generated directory."""

    def __init__(self, info: DatasetInfo, seed: int) -> None:
        self.info = info
        self.rng = random.Random(seed)  # noqa: S311 (a reproducible mix, not security)
        populated = [(slug, n) for slug, n in info.municipalities if n > 0]
        self.municipalities = [slug for slug, _ in populated]
        self.municipality_weights = [n for _, n in populated]

    def _municipality(self) -> str:
        return self.rng.choices(self.municipalities, weights=self.municipality_weights)[0]

    def _point(self) -> Params:
        centroid = self.rng.choice(self.info.centroids)
        return [
            ("lat", f"{centroid.lat + self.rng.uniform(-0.01, 0.01):.5f}"),
            ("lon", f"{centroid.lon + self.rng.uniform(-0.015, 0.015):.5f}"),
            ("radius_km", "5"),
            ("sort", "distance"),
        ]

    def _text(self) -> str:
        roll = self.rng.random()
        pool = LAY if roll < 0.5 else MISSPELLED if roll < 0.75 else PROFESSIONAL
        return self.rng.choice(pool)

    def _filters(self, count: int) -> Params:
        options = ["theme", "target_group", "cost", "age", "municipality"]
        params: Params = []
        for name in self.rng.sample(options, k=count):
            if name == "theme":
                params.append(("theme", self.rng.choice(self.info.themes)))
            elif name == "target_group":
                params.append(("target_group", self.rng.choice(self.info.target_groups)))
            elif name == "cost":
                params.append(("cost", "gratis"))
            elif name == "age":
                params.append(("age", self.rng.choice(AGES)))
            else:
                params.append(("municipality", self._municipality()))
        return params

    def _facets(self) -> Params:
        roll = self.rng.random()
        rng, info = self.rng, self.info
        if roll < 0.25:
            return [("municipality", self._municipality())]
        if roll < 0.60:
            return [("municipality", self._municipality()), ("theme", rng.choice(info.themes))]
        if roll < 0.75:
            return [("theme", rng.choice(info.themes))]
        if roll < 0.90:
            return [
                ("theme", rng.choice(info.themes)),
                ("target_group", rng.choice(info.target_groups)),
            ]
        return [("cost", "gratis"), ("age", rng.choice(AGES))]

    def next(self) -> BenchRequest:
        kind = self.rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        rng = self.rng
        if kind == "text":
            params: Params = [("q", self._text())]
        elif kind == "text+filters":
            q = rng.choice(BROAD) if rng.random() < 0.5 else rng.choice(LAY)
            params = [("q", q), *self._filters(rng.randint(1, 3))]
        elif kind == "geo+text":
            q = rng.choice(LAY) if rng.random() < 0.6 else rng.choice(BROAD)
            params = [("q", q), *self._point()]
        elif kind == "geo":
            params = self._point()
            if rng.random() < 0.5:
                params.append(("theme", rng.choice(self.info.themes)))
        else:
            params = self._facets()
        return BenchRequest(kind=kind, params=params)

    def take(self, count: int) -> list[BenchRequest]:
        return [self.next() for _ in range(count)]


# --- running --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: str
    query: str  # the query string, to find the slow ones again
    seconds: float
    status: int  # 0: no response (connection error, timeout)
    total: int | None  # the response's "total" (hits), for a zero-result sanity check
    error: str | None = None


@dataclass
class LevelResult:
    concurrency: int
    planned: int
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0
    capped: bool = False  # stopped by the time cap before all planned requests ran
    idle_wait_s: float = 0.0  # waited for the server to finish earlier work before the level
    worker_cpu_s: list[float] | None = None  # CPU seconds of each server worker in the level
    load_1min: float | None = None  # the machine's load average at the end of the level

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 200]

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.status != 200]

    @property
    def throughput(self) -> float:
        return len(self.samples) / self.wall_s if self.wall_s else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = math.floor(k), math.ceil(k)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def latencies_ms(samples: Sequence[Sample]) -> list[float]:
    return [s.seconds * 1000 for s in samples]


async def _run(
    base_url: str,
    requests: Sequence[BenchRequest],
    concurrency: int,
    time_cap_s: float,
    keep_alive: bool,
) -> LevelResult:
    result = LevelResult(concurrency=concurrency, planned=len(requests))
    pending = iter(requests)
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency if keep_alive else 0
    )
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=httpx.Timeout(CLIENT_TIMEOUT_S)
    ) as client:
        started = time.perf_counter()
        deadline = started + time_cap_s

        async def worker() -> None:
            for request in pending:  # one shared iterator: each request runs once
                if time.perf_counter() > deadline:
                    result.capped = True
                    return
                query = urlencode(request.params)
                t0 = time.perf_counter()
                try:
                    response = await client.get(SEARCH_PATH, params=tuple(request.params))
                except httpx.HTTPError as exc:
                    elapsed = time.perf_counter() - t0
                    result.samples.append(
                        Sample(
                            request.kind,
                            query,
                            elapsed,
                            0,
                            None,
                            f"{type(exc).__name__}: {exc}".strip(": "),
                        )
                    )
                    continue
                elapsed = time.perf_counter() - t0  # the body is read by then
                if response.status_code == 200:
                    total = int(response.json()["total"])
                    result.samples.append(Sample(request.kind, query, elapsed, 200, total))
                else:
                    detail = response.text[:300]
                    result.samples.append(
                        Sample(request.kind, query, elapsed, response.status_code, None, detail)
                    )

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.wall_s = time.perf_counter() - started
    return result


def run_level(
    base_url: str,
    requests: Sequence[BenchRequest],
    concurrency: int,
    time_cap_s: float,
    *,
    keep_alive: bool = True,
) -> LevelResult:
    """``keep_alive=False``: a new connection for every request (with several uvicorn workers
    the kernel then hands each request to whichever worker accepts first; a keep-alive
    connection stays with the worker that accepted it)."""
    return asyncio.run(_run(base_url, requests, concurrency, time_cap_s, keep_alive))
