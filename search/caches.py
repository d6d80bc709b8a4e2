"""Exact per-process caches of the embedded backend, invalidated by the index's version.

Two caches sit between a search and the SQLite file (search/embedded.py):

* **matches**: FTS5 expression → every rowid that matches it (a read-only numpy array, before
  filters), so a word or matching round that was searched before skips FTS5 entirely;
* **rankings**: rowid → the parsed ranking data of that document (term → attribute and
  position, the words of its name), so a candidate is not fetched and decoded again.

Both are *exact*, not approximate: every entry was computed from the index at one version, and
the caches only answer for that version. Every write to the index bumps its version (and a
rebuild its generation); the first search that sees a newer version empties both caches before
it uses them. A search whose read snapshot is *older* than the caches' version (a write landed
between two searches on different threads) neither reads nor fills them.

Both are LRU and bounded by an estimate of the bytes they hold (numpy buffers exactly, Python
dictionaries by ``sys.getsizeof`` of the containers; the term strings are interned and shared
with the vocabulary, so they are not counted per entry).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class CacheStats:
    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int
    clears: int

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


class LRU(Generic[K, V]):
    """A thread-safe least-recently-used map bounded by the (estimated) bytes of its values."""

    def __init__(self, max_bytes: int, cost: Callable[[V], int]) -> None:
        self.max_bytes = max_bytes
        self._cost = cost
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = self.clears = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[0]

    def get_many(self, keys: list[K]) -> list[V | None]:
        """``get`` of each key, under one lock."""
        found: list[V | None] = []
        with self._lock:
            entries = self._entries
            for key in keys:
                entry = entries.get(key)
                if entry is None:
                    found.append(None)
                else:
                    entries.move_to_end(key)
                    found.append(entry[0])
            hits = sum(1 for f in found if f is not None)
            self.hits += hits
            self.misses += len(keys) - hits
        return found

    def put(self, key: K, value: V, cost: int | None = None) -> None:
        """``cost``: the value's bytes when the caller knows them cheaper than ``cost()``."""
        cost = self._cost(value) if cost is None else cost
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, cost)
            self._bytes += cost
            while self._bytes > self.max_bytes:
                _key, (_value, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            if self._entries:
                self.clears += 1
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                len(self._entries), self._bytes, self.max_bytes, self.hits, self.misses, self.clears
            )

    def reset_counters(self) -> None:
        with self._lock:
            self.hits = self.misses = self.clears = 0


def dict_bytes(value: dict[str, int]) -> int:
    """The container of a term → code map (keys interned and shared; small ints are cached)."""
    return sys.getsizeof(value)


Tag = tuple[int, int]  # (generation, version) of the index a value was computed from


class IndexCaches(Generic[K, V]):
    """One LRU whose keys carry the (generation, version) they were computed at.

    A lookup with another tag never finds an entry of an older one, so an entry can only
    answer for the exact state of the index it came from, even when a slower search of an
    older snapshot stores something after a newer one has moved on. When a search sees a newer
    version than the cache's, the cache is emptied (the old entries can never be used again).
    """

    def __init__(self, max_bytes: int, cost: Callable[[V], int]) -> None:
        self.lru: LRU[tuple[int, int, K], V] = LRU(max_bytes, cost)
        self._tag: Tag = (-1, -1)
        self._lock = threading.Lock()

    def advance(self, tag: Tag) -> None:
        """The index is at ``tag`` for this search: empty the cache when that is newer."""
        if tag == self._tag:
            return
        with self._lock:
            if tag[1] > self._tag[1] or (tag[1] == self._tag[1] and tag[0] != self._tag[0]):
                self._tag = tag
                self.lru.clear()

    def get(self, tag: Tag, key: K) -> V | None:
        return self.lru.get((tag[0], tag[1], key))

    def get_many(self, tag: Tag, keys: list[K]) -> list[V | None]:
        g, version = tag
        return self.lru.get_many([(g, version, key) for key in keys])

    def put(self, tag: Tag, key: K, value: V, cost: int | None = None) -> None:
        if tag == self._tag:  # an older snapshot's value would only take room
            self.lru.put((tag[0], tag[1], key), value, cost)

    def clear(self) -> None:
        self.lru.clear()
