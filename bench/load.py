"""The query mix and the load generator (a minimal HTTP/1.1 client, against 127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

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
    client_cpu_s: float = 0.0  # CPU seconds of the load client (this process) in the level
    repeated: int = 0  # requests whose query string was sent before in the run

    @property
    def client_cpu_ms_per_request(self) -> float:
        return self.client_cpu_s * 1000 / len(self.samples) if self.samples else math.nan

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


class HttpError(Exception):
    """No usable HTTP response (connection refused or closed, timeout, malformed answer)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


class Connection:
    """A minimal HTTP/1.1 client connection for GET requests to 127.0.0.1.

    The load client shares the machine's two cores with the server, so what it spends per
    request is taken from the server: httpx spent ~2 ms of CPU per request here (about half of
    what the server spends), these few lines ~0.3 ms. Only what the benchmark needs:
    ``Content-Length`` or chunked bodies, keep-alive or ``Connection: close``.
    """

    def __init__(self, host: str, port: int, *, keep_alive: bool) -> None:
        self.host, self.port, self.keep_alive = host, port, keep_alive
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, target: str) -> Response:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        close = b"" if self.keep_alive else b"Connection: close\r\n"
        writer.write(
            b"GET "
            + target.encode("ascii")
            + b" HTTP/1.1\r\nHost: "
            + f"{self.host}:{self.port}".encode()
            + b"\r\nAccept: application/json\r\n"
            + close
            + b"\r\n"
        )
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                body = await self._chunked(reader)
            else:
                body = await reader.read()  # until the server closes
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
            IndexError,
        ) as exc:
            await self.close()
            raise HttpError(f"malformed or cut-off response: {exc}") from exc
        if not self.keep_alive or headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, body)

    @staticmethod
    async def _chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def total_of(body: bytes) -> int:
    """The response's ``"total"`` without decoding its items (a quote inside a JSON string is
    escaped, so the last ``"total":`` is the field)."""
    at = body.rindex(b'"total":') + len(b'"total":')
    end = at
    while end < len(body) and body[end : end + 1].isdigit():
        end += 1
    return int(body[at:end])


async def _run(
    base_url: str,
    requests: Sequence[BenchRequest],
    concurrency: int,
    time_cap_s: float,
    keep_alive: bool,
) -> LevelResult:
    result = LevelResult(concurrency=concurrency, planned=len(requests))
    pending = iter(requests)
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    started = time.perf_counter()
    deadline = started + time_cap_s

    async def worker() -> None:
        connection = Connection(host, port, keep_alive=keep_alive)
        try:
            for request in pending:  # one shared iterator: each request runs once
                if time.perf_counter() > deadline:
                    result.capped = True
                    return
                query = urlencode(request.params)
                t0 = time.perf_counter()
                try:
                    response = await asyncio.wait_for(
                        connection.get(f"{SEARCH_PATH}?{query}"), CLIENT_TIMEOUT_S
                    )
                except (OSError, HttpError, TimeoutError) as exc:
                    await connection.close()
                    elapsed = time.perf_counter() - t0
                    error = f"{type(exc).__name__}: {exc}".strip(": ")
                    result.samples.append(Sample(request.kind, query, elapsed, 0, None, error))
                    continue
                elapsed = time.perf_counter() - t0  # the body is read by then
                if response.status == 200:
                    total = total_of(response.body)
                    result.samples.append(Sample(request.kind, query, elapsed, 200, total))
                else:
                    detail = response.body[:300].decode("utf-8", "replace")
                    result.samples.append(
                        Sample(request.kind, query, elapsed, response.status, None, detail)
                    )
        finally:
            await connection.close()

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
    before = _own_cpu_s()
    result = asyncio.run(_run(base_url, requests, concurrency, time_cap_s, keep_alive))
    result.client_cpu_s = _own_cpu_s() - before
    return result


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def count_repeats(requests: Sequence[BenchRequest], sent: set[str]) -> int:
    """How many of these requests repeat a query string of ``sent`` or of an earlier one of
    them (then adds them to ``sent``): what a server's answer cache can answer at best."""
    repeated = 0
    for request in requests:
        query = urlencode(request.params)
        repeated += query in sent
        sent.add(query)
    return repeated
