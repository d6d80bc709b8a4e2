"""What the benchmark's processes share, without importing the application.

The orchestrator (bench/run.py) never imports ``app`` or ``search``: everything that does
runs in a child process on a snapshot of the code (see bench/snapshot.py), so the numbers
belong to one version of the code even while the working tree is being edited.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

# --- PC4 centroids ----------------------------------------------------------------------

PC4_COLUMNS = {"postcode", "woonplaats", "gemeente", "latitude", "longitude", "soort"}


@dataclass(frozen=True)
class Pc4:
    postcode: str
    woonplaats: str
    gemeente: str
    lat: float
    lon: float
    has_addresses: bool  # "Adres" or "Adres + Postbus"; postbus-only areas have no residents


def read_pc4(path: Path) -> list[Pc4]:
    """The rows with a gemeente and coordinates (a handful of 2014 rows have no gemeente)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = PC4_COLUMNS - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: columns missing: {', '.join(sorted(missing))}")
        rows: list[Pc4] = []
        for row in reader:
            gemeente = (row["gemeente"] or "").strip()
            if not gemeente or not row["latitude"] or not row["longitude"]:
                continue
            rows.append(
                Pc4(
                    postcode=row["postcode"].strip(),
                    woonplaats=(row["woonplaats"] or gemeente).strip(),
                    gemeente=gemeente,
                    lat=float(row["latitude"]),
                    lon=float(row["longitude"]),
                    has_addresses="adres" in (row["soort"] or "").lower(),
                )
            )
    if not rows:
        raise ValueError(f"{path}: no usable rows")
    return rows


# --- results passed between processes -------------------------------------------------------


@dataclass(frozen=True)
class DatasetInfo:
    """The generated directory, as far as the query mix and the report need it."""

    municipalities: list[tuple[str, int]]  # (slug, number of services)
    centroids: list[Pc4]
    themes: list[str]
    target_groups: list[str]
    costs: list[str]
    counts: dict[str, int]  # rows per table
    seconds: float
    peak_rss_kib: int


@dataclass(frozen=True)
class BuildResult:
    documents: int
    seconds: float
    peak_rss_kib: int

    @property
    def docs_per_s(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class HotFunction:
    name: str  # file:line(function)
    calls: int
    own_s: float
    cumulative_s: float


@dataclass(frozen=True)
class Profile:
    service_ms: dict[str, tuple[int, float, float, float]]  # kind -> (n, p50, p95, mean)
    profiled_kind: str
    profiled_requests: int
    profiled_total_s: float
    hot: list[HotFunction]  # by own time
    project: list[HotFunction]  # app/ and search/ functions by cumulative time
    slowest: list[tuple[float, str, str]]  # (ms, kind, query string), slowest first
    budget_s: float  # per kind; a kind stops early when it is used up
    # caches cleared before every request: what a never-seen query, or any query right after a
    # write to the index, costs; kind -> (n, p50, p95, mean)
    cold_ms: dict[str, tuple[int, float, float, float]] = field(default_factory=dict)
    # the first ``first_pass`` requests of the mix in order, from empty caches (a fresh worker)
    first_pass: int = 0
    first_pass_s: float = 0.0
    caches: dict[str, CacheRow] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheRow:
    """One cache of the embedded backend after the first pass (``search.caches.CacheStats``;
    a copy: the benchmark's own process never imports the code under test)."""

    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0
