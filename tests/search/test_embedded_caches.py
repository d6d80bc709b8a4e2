"""The embedded backend's exact caches (search/caches.py): FTS5 matches and ranking data.

A cached answer may only ever be the answer of the index at the version it was computed at:
a write, a delete or a rebuild — by this backend object or by another one on the same file
(another server process) — is visible at the next search, and the caches stay within their
byte bounds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.indexing.service import current_settings
from search.caches import LRU, IndexCaches
from search.embedded import EmbeddedBackend
from search.types import SearchQuery
from tests.search.test_backend_contract import doc
from tests.search.test_embedded_columns import ANALYZER, backend_at, services


def ids_of(backend: EmbeddedBackend, text: str) -> list[str]:
    return [h.id for h in backend.search(SearchQuery(text=text, per_page=100)).hits]


def test_a_repeated_search_is_answered_from_the_caches(tmp_path: Path) -> None:
    backend = backend_at(tmp_path / "i.db")
    backend.upsert(services(5))
    first = backend.search(SearchQuery(text="hulp", per_page=2))
    backend.reset_cache_counters()
    again = backend.search(SearchQuery(text="hulp", per_page=2))
    assert again == first  # the same query: the whole result from the results cache
    stats = backend.cache_stats()
    assert (stats["results"].hits, stats["results"].misses) == (1, 0)
    assert stats["matches"].hits + stats["matches"].misses == 0  # nothing ranked again

    backend.reset_cache_counters()
    second_page = backend.search(SearchQuery(text="hulp", per_page=2, page=2))
    assert second_page.total == first.total == 5
    assert {h.id for h in second_page.hits}.isdisjoint({h.id for h in first.hits})
    stats = backend.cache_stats()
    assert stats["results"].misses == 1  # another page: ranked, from the lower caches
    assert stats["matches"].hits >= 1
    assert stats["matches"].misses == 0
    assert stats["rankings"].hits == 5
    assert stats["rankings"].misses == 0


def test_a_cached_result_never_outlives_a_write(tmp_path: Path) -> None:
    backend, other = backend_at(tmp_path / "i.db"), backend_at(tmp_path / "i.db")
    backend.upsert(services(3))
    query = SearchQuery(text="hulp", facets=("themes",))
    before = other.search(query)
    assert before.total == 3
    assert other.search(query) is before  # cached
    backend.delete(["s001"])  # another process writes
    after = other.search(query)
    assert after.total == 2
    assert sum(after.facets["themes"].values()) < sum(before.facets["themes"].values())
    assert "s001" not in {h.id for h in after.hits}


def test_writes_and_deletes_by_another_process_are_seen_at_the_next_search(
    tmp_path: Path,
) -> None:
    writer, reader = backend_at(tmp_path / "i.db"), backend_at(tmp_path / "i.db")
    writer.upsert(services(3))
    assert sorted(ids_of(reader, "hulp")) == ["s000", "s001", "s002"]
    assert ids_of(reader, "zwemles") == []  # cached: no match

    zwemles = doc(
        "nieuw",
        "Zwemles voor kinderen",
        description="Zwemmen leren in het zwembad.",
        themes=["sport-cultuur-en-vrije-tijd"],
        groups=["kinderen"],
        analyzer=ANALYZER,
    )
    writer.upsert([zwemles])
    assert ids_of(reader, "zwemles") == ["nieuw"]

    writer.delete(["s001"])
    assert sorted(ids_of(reader, "hulp")) == ["s000", "s002"]

    # an update changes a document's ranking data: the cached terms must not survive it
    writer.upsert([{**services(1)[0], "name": "Zwemles op zaterdag"}])
    result = reader.search(SearchQuery(text="zwemles", per_page=10))
    assert {h.id for h in result.hits} == {"nieuw", "s000"}
    assert (
        next(h for h in result.hits if h.id == "s000")
        .highlight["name"]
        .startswith("<mark>Zwemles</mark>")
    )
    writer.delete(["nieuw"])
    assert ids_of(reader, "zwemles") == ["s000"]


def test_a_write_empties_the_caches_of_the_old_version(tmp_path: Path) -> None:
    backend = backend_at(tmp_path / "i.db")
    backend.upsert(services(4))
    backend.search(SearchQuery(text="hulp"))
    assert backend.cache_stats()["matches"].entries > 0
    backend.upsert(services(1))  # same document again: still a new version
    backend.search(SearchQuery(text="advies"))
    stats = backend.cache_stats()
    assert stats["matches"].clears >= 1
    assert stats["rankings"].entries == 4  # only this search's candidates


def test_a_rebuild_is_seen_through_the_caches(tmp_path: Path) -> None:
    backend = backend_at(tmp_path / "i.db")
    other = backend_at(tmp_path / "i.db")
    backend.upsert(services(3))
    assert len(ids_of(other, "hulp")) == 3
    backend.rebuild(current_settings(), [services(2)])
    assert sorted(ids_of(other, "hulp")) == ["s000", "s001"]
    assert sorted(ids_of(backend, "hulp")) == ["s000", "s001"]


def test_an_older_snapshot_never_fills_or_reads_a_newer_cache() -> None:
    cache: IndexCaches[str, int] = IndexCaches(1000, lambda _v: 10)
    cache.advance((1, 5))
    cache.put((1, 5), "hulp", 1)
    cache.advance((1, 4))  # a slower search of an older snapshot: the cache stays at 5
    assert cache.get((1, 4), "hulp") is None
    cache.put((1, 4), "hulp", 2)
    assert cache.get((1, 5), "hulp") == 1
    cache.advance((1, 6))
    assert cache.get((1, 6), "hulp") is None
    assert cache.get((1, 5), "hulp") is None  # emptied
    cache.advance((2, 6))  # a rebuild that kept the version number (never happens): emptied
    cache.put((2, 6), "x", 3)
    assert cache.get((1, 6), "x") is None


def test_the_lru_stays_within_its_byte_bound() -> None:
    lru: LRU[int, np.ndarray] = LRU(10_000, lambda a: int(a.nbytes))
    for i in range(100):
        lru.put(i, np.zeros(100, dtype=np.int64))  # 800 bytes each
        assert lru.stats().bytes <= 10_000
    assert lru.stats().entries == 12
    assert lru.get(99) is not None
    assert lru.get(0) is None
    lru.get(88)  # used: survives the next insertions
    for i in range(100, 111):
        lru.put(i, np.zeros(100, dtype=np.int64))
    assert lru.get(88) is not None
    assert lru.get(89) is None
    lru.put(-1, np.zeros(2000, dtype=np.int64))  # larger than the whole bound: not kept
    assert lru.get(-1) is None
    assert lru.stats().bytes <= 10_000


def test_the_backend_caches_stay_within_their_bounds(tmp_path: Path) -> None:
    backend = EmbeddedBackend(
        path=tmp_path / "i.db",
        analyzer=ANALYZER,
        matches_cache_bytes=2_000,
        rankings_cache_bytes=3_000,
    )
    backend.apply_settings(current_settings())
    backend.upsert(services(30))
    for text in ("hulp", "advies", "buurt", "dienst", "hulp advies", "advies buurt"):
        assert backend.search(SearchQuery(text=text)).total == 30
    stats = backend.cache_stats()
    assert 0 < stats["matches"].bytes <= 2_000
    assert 0 < stats["rankings"].bytes <= 3_000
    assert stats["rankings"].entries < 30
