"""Embedded search backend: SQLite FTS5 in its own file, mirroring Meilisearch's rules.

* FTS5 over the ``search_terms`` field (stems, compound parts, lay words of the themes)
  finds the matching rowids; filters, facets, geo and name order come from in-memory numpy
  columns (search/columns.py) that follow the file through a per-version change log;
* ranking happens in Python in Meilisearch's rule order: words (matching strategy "last"),
  typo, attribute, sort, exactness, then shorter documents first — over every match, or over
  ``CANDIDATE_CAP`` candidates (name matches first) when a round has more;
* typo tolerance as in Meilisearch: one typo from 5 letters, two from 9, a typo in the first
  letter counts double, a transposition counts as one (optimal string alignment distance
  against the index vocabulary); prefix search on the last query word;
* the query never reaches FTS5 as syntax: it is cut into ``[0-9a-z]`` words first and every
  term is quoted, so quotes, ``*``, ``NEAR(``, ``AND``, ``-`` and emoji are plain text;
* filters are a typed tree over whitelisted fields; geo: bounding box and haversine over the
  columns; documents without coordinates never match a radius and sort last by distance;
* rebuilds write a new generation of tables and switch to it in one transaction;
* per process, exact LRU caches (search/caches.py) keep FTS5 matches, candidates' ranking
  data, page documents and highlights under the index version they were read at; a search
  reads everything in one snapshot, and any write (a new version) empties them.

Known differences from Meilisearch (see tests/search/test_backend_contract.py): no proximity
rule; candidate sets are capped at ``CANDIDATE_CAP`` per matching round (pre-selected by name
match and length, not by every ranking rule).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import json
import logging
import math
import sqlite3
import sys
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic_core import from_json
from rapidfuzz import process
from rapidfuzz.distance import OSA

from search.analysis import Analyzer, QueryWord, fold, stem, tokenize
from search.backend import Document, SearchBackend
from search.caches import CacheStats, IndexCaches, Tag, dict_bytes
from search.columns import CHANGE_LOG_VERSIONS, Codes, Columns, Floats, Ids, Mask, rowids_from
from search.highlight import mark_words
from search.settings import (
    ARRAY_FIELDS,
    MAX_TOTAL_HITS,
    SCALAR_FIELDS,
    SEARCHABLE_ATTRIBUTES,
    TYPO_ONE,
    TYPO_TWO,
)
from search.types import (
    Hit,
    IndexStats,
    SearchQuery,
    SearchResult,
    SearchUnavailableError,
    SortOrder,
)

logger = logging.getLogger(__name__)
CANDIDATE_CAP = 100  # candidates ranked in Python per matching round (above: pre-selected)
POSITIONS = 10_000  # positions per attribute in a term's rank code
INDEX_FORMAT = "4"  # bump when the tables change; an index of another format starts empty
COMPOUND_HEAD_MIN = 4  # shortest query word matched as the head of a compound
LONG_WORD_PREFIX = 8  # words this long also match longer compounds that start with them
MATCHES_CACHE_BYTES = 24 * 1024 * 1024  # FTS5 expression -> matching rowids, per process
RANKINGS_CACHE_BYTES = 48 * 1024 * 1024  # rowid -> parsed ranking data, per process
DOCUMENTS_CACHE_BYTES = 24 * 1024 * 1024  # rowid -> parsed stored document, per process
HIGHLIGHTS_CACHE_BYTES = 8 * 1024 * 1024  # (matching terms, rowid) -> highlighted fields
RESULTS_CACHE_BYTES = 16 * 1024 * 1024  # the whole query -> its result (page, total, facets)
PARSED_BYTES_PER_CHAR = 2  # a parsed document or ranking per character of its JSON (about)
_SCALAR_COLUMNS = {f: f for f in SCALAR_FIELDS}
V = TypeVar("V")


def typo_budget(word: str) -> int:
    if len(word) >= TYPO_TWO:
        return 2
    if len(word) >= TYPO_ONE:
        return 1
    return 0


@dataclass(frozen=True)
class _Alternative:
    term: str
    typos: int
    prefix: bool = False


@dataclass
class _WordMatch:
    """The alternatives of one query word: single terms, or all parts of a compound.

    ``exact`` maps every term that counts as this word (the word, its stem, typo variants,
    and the vocabulary terms its prefixes expand to) to the typos it costs.
    """

    word: QueryWord
    alternatives: list[_Alternative]
    parts: tuple[str, ...]
    exact: dict[str, int] = dataclass_field(default_factory=dict)

    def fts(self) -> str:
        options = [f'"{a.term}"{"*" if a.prefix else ""}' for a in self.alternatives]
        if self.parts:
            options.append("(" + " AND ".join(f'"{p}"' for p in self.parts) + ")")
        return "(" + " OR ".join(options) + ")"

    def rank(self, codes: dict[str, int]) -> tuple[int, int] | None:
        """(typos, attribute code) of this word's best match in a document, or None.

        A code is ``attribute index * POSITIONS + position`` of a term's first occurrence.
        """
        best: tuple[int, int] | None = None
        if len(self.exact) <= len(codes):
            for term, typos in self.exact.items():
                code = codes.get(term)
                if code is not None and (best is None or (typos, code) < best):
                    best = (typos, code)
        else:
            for term, code in codes.items():
                typos_or_none = self.exact.get(term)
                if typos_or_none is not None and (best is None or (typos_or_none, code) < best):
                    best = (typos_or_none, code)
        if self.parts and all(p in codes for p in self.parts):
            candidate = (0, max(codes[p] for p in self.parts))
            if best is None or candidate < best:
                best = candidate
        return best


class _Vocabulary:
    """The index's terms, with a reversed sorted copy to find compounds by their head."""

    def __init__(self, terms: list[str]) -> None:
        self.terms = terms
        self.known = frozenset(terms)
        self._reversed = sorted(t[::-1] for t in terms)
        self._sorted = sorted(terms)

    def with_terms(self, terms: Iterable[str]) -> _Vocabulary:
        """This vocabulary plus ``terms`` (terms of removed documents stay: they only cost an
        alternative that matches nothing)."""
        new = sorted(set(terms) - self.known)
        if not new:
            return self
        return _Vocabulary(self.terms + new)

    def starting_with(self, prefix: str, limit: int = 500) -> list[str]:
        start = bisect.bisect_left(self._sorted, prefix)
        found: list[str] = []
        for term in self._sorted[start : start + limit]:
            if not term.startswith(prefix):
                break
            found.append(term)
        return found

    def ending_with(self, head: str, limit: int = 20) -> list[str]:
        key = head[::-1]
        start = bisect.bisect_left(self._reversed, key)
        found: list[str] = []
        for rev in self._reversed[start : start + 200]:
            if not rev.startswith(key):
                break
            if len(rev) >= len(key) + COMPOUND_HEAD_MIN - 1:  # a real modifier before the head
                found.append(rev[::-1])
            if len(found) >= limit:
                break
        return found


class EmbeddedBackend(SearchBackend):
    name = "embedded"

    def __init__(
        self,
        *,
        path: Path | str,
        analyzer: Analyzer | None = None,
        matches_cache_bytes: int = MATCHES_CACHE_BYTES,
        rankings_cache_bytes: int = RANKINGS_CACHE_BYTES,
        documents_cache_bytes: int = DOCUMENTS_CACHE_BYTES,
        highlights_cache_bytes: int = HIGHLIGHTS_CACHE_BYTES,
        results_cache_bytes: int = RESULTS_CACHE_BYTES,
    ) -> None:
        self.path = Path(path)
        # exact caches, keyed by the index version they were computed at (search/caches.py)
        self._matches: IndexCaches[str, Ids] = IndexCaches(matches_cache_bytes, _array_bytes)
        self._rankings: IndexCaches[int, _Ranking] = IndexCaches(
            rankings_cache_bytes, _ranking_bytes
        )
        self._documents: IndexCaches[int, Document] = IndexCaches(
            documents_cache_bytes, _document_bytes
        )
        self._highlights: IndexCaches[tuple[Hashable, int], dict[str, str]] = IndexCaches(
            highlights_cache_bytes, _document_bytes
        )
        # A query asked again at the same index version (a theme tile, a common need, the next
        # resident with the same words) is answered without ranking or counting facets again.
        # Callers only read a result: its hits and documents are shared.
        self._results: IndexCaches[SearchQuery, SearchResult] = IndexCaches(
            results_cache_bytes, _result_bytes
        )
        self.analyzer = analyzer or Analyzer()
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._state_lock = threading.Lock()
        self._state_cache: _State | None = None
        self._settings_cache: tuple[str, dict[str, Any]] = ("", {})
        self._stop_words: frozenset[str] = frozenset()

    # --- connections and generations ---------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection to the index file (opened once per thread and path)."""
        conn = self._open()
        try:
            yield conn
        except sqlite3.DatabaseError as exc:
            self._discard()
            raise SearchUnavailableError(f"zoekindex {self.path}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        cached: tuple[Path, sqlite3.Connection] | None = getattr(self._local, "conn", None)
        if cached is not None and cached[0] == self.path:
            return cached[1]
        self._discard()
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=5, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
        except (sqlite3.Error, OSError) as exc:
            raise SearchUnavailableError(f"zoekindex {self.path} niet bereikbaar: {exc}") from exc
        self._local.conn = (self.path, conn)
        return conn

    def close(self) -> None:
        """Close this thread's connection (the last one to close checkpoints the WAL)."""
        self._discard()

    def _discard(self) -> None:
        cached: tuple[Path, sqlite3.Connection] | None = getattr(self._local, "conn", None)
        if cached is not None:
            self._local.conn = None
            with contextlib.suppress(sqlite3.Error):
                cached[1].close()

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _generation(self, conn: sqlite3.Connection) -> int:
        active = self._meta(conn, "active")
        if active is not None and self._meta(conn, "format") != INDEX_FORMAT:
            # Written by another version of this backend: start empty; a reindex refills it.
            logger.warning(
                "search index %s has an old format; it starts empty (run: sociale-kaart search reindex)",
                self.path,
            )
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                self._drop_tables(conn, int(active))
                conn.execute("DELETE FROM meta WHERE key IN ('active', 'version')")
                conn.execute("COMMIT")
            active = None
        if active is None:
            with self._write_lock:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    active = self._meta(conn, "active")
                    if active is None:
                        self._create_tables(conn, 1)
                        self._set_meta(conn, "active", "1")
                        self._set_meta(conn, "format", INDEX_FORMAT)
                        self._set_meta(conn, "version", "0")
                        active = "1"
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        return int(active)

    @staticmethod
    def _create_tables(conn: sqlite3.Connection, g: int) -> None:
        conn.execute(
            f"""CREATE TABLE IF NOT EXISTS docs_{g} (
                rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL,
                name_sort TEXT NOT NULL, municipality TEXT, access TEXT, cost TEXT,
                organization TEXT, place TEXT, admission_status TEXT,
                age_min REAL, age_max REAL, lat REAL, lng REAL, terms TEXT NOT NULL,
                name_words INTEGER NOT NULL, term_count INTEGER NOT NULL,
                geo_rank INTEGER NOT NULL)"""
        )
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS changes_{g} (version INTEGER NOT NULL, rowid INTEGER NOT NULL)"
        )
        conn.execute(f"CREATE INDEX IF NOT EXISTS changes_{g}_version ON changes_{g}(version)")
        conn.execute(f"CREATE INDEX IF NOT EXISTS docs_{g}_name ON docs_{g}(name_sort)")
        conn.execute(f"CREATE INDEX IF NOT EXISTS docs_{g}_geo ON docs_{g}(lat, lng)")
        for column in ("municipality", "access", "cost", "organization", "place"):
            conn.execute(f"CREATE INDEX IF NOT EXISTS docs_{g}_{column} ON docs_{g}({column})")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS vals_{g} (doc INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL)"
        )
        conn.execute(f"CREATE INDEX IF NOT EXISTS vals_{g}_fv ON vals_{g}(field, value, doc)")
        conn.execute(f"CREATE INDEX IF NOT EXISTS vals_{g}_doc ON vals_{g}(doc)")
        conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS fts_{g} USING fts5(name_terms, all_terms, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS vocab_{g} USING fts5vocab(fts_{g}, 'row')"
        )

    @staticmethod
    def _drop_tables(conn: sqlite3.Connection, g: int) -> None:
        for table in (f"vocab_{g}", f"fts_{g}", f"vals_{g}", f"changes_{g}", f"docs_{g}"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def _bump(self, conn: sqlite3.Connection) -> None:
        self._set_meta(conn, "version", str(int(self._meta(conn, "version", "0") or 0) + 1))

    # --- SearchBackend: writing ----------------------------------------------------------

    def apply_settings(self, settings: dict[str, Any]) -> None:
        raw = json.dumps(settings, sort_keys=True)
        with self._connect() as conn:
            self._generation(conn)
            if self._meta(conn, "settings") != raw:
                with self._write_lock:
                    conn.execute("BEGIN IMMEDIATE")
                    self._set_meta(conn, "settings", raw)
                    self._bump(conn)  # other settings answer differently: kept answers go
                    conn.execute("COMMIT")
        self._stop_words = frozenset(settings.get("stopWords", ()))

    def _settings(self, conn: sqlite3.Connection) -> dict[str, Any]:
        raw = self._meta(conn, "settings") or ""
        if raw != self._settings_cache[0]:
            settings: dict[str, Any] = json.loads(raw) if raw else {}
            self._settings_cache = (raw, settings)
            self._stop_words = frozenset(settings.get("stopWords", ()))
        return self._settings_cache[1]

    def _row(self, doc: Document) -> tuple[tuple[Any, ...], list[tuple[str, str]], tuple[str, str]]:
        if "id" not in doc:
            raise ValueError("document without id")
        geo = doc.get("_geo")
        lat = lng = None
        if geo is not None:
            lat, lng = float(geo["lat"]), float(geo["lng"])
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise ValueError(f"document {doc['id']}: _geo out of range")
        # term -> attribute index * POSITIONS + first position (attribute and wordPosition rules)
        codes: dict[str, int] = {}
        for index, attribute in enumerate(SEARCHABLE_ATTRIBUTES):
            text = str(doc.get(attribute) or "")
            words = text.split() if attribute == "search_terms" else self.analyzer.terms(text)
            for position, term in enumerate(words):
                codes.setdefault(term, index * POSITIONS + min(position, POSITIONS - 1))
        name_words = tokenize(str(doc.get("name") or ""))
        row = (
            str(doc["id"]),
            json.dumps(doc, ensure_ascii=False),
            str(doc.get("name_sort") or fold(str(doc.get("name") or ""))),
            *(
                doc.get(c)
                for c in (
                    "municipality",
                    "access",
                    "cost",
                    "organization",
                    "place",
                    "admission_status",
                )
            ),
            doc.get("age_min"),
            doc.get("age_max"),
            lat,
            lng,
            json.dumps({"c": codes, "n": name_words}, separators=(",", ":")),
            len(name_words),
            len(codes),
            int(doc.get("geo_precision_rank") or 0),
        )
        values = [(f, str(v)) for f in sorted(ARRAY_FIELDS) for v in doc.get(f) or ()]
        fts_text = (" ".join(self.analyzer.terms(str(doc.get("name") or ""))), " ".join(codes))
        return row, values, fts_text

    def _write(
        self,
        conn: sqlite3.Connection,
        g: int,
        documents: Sequence[Document],
        version: int | None = None,
    ) -> None:
        """Write documents; with a ``version``, log the rowids touched (see search/columns.py)."""
        prepared = [self._row(d) for d in documents]  # validate everything before writing
        for row, values, fts_text in prepared:
            self._remove(conn, g, [row[0]], version)
            cursor = conn.execute(
                f"""INSERT INTO docs_{g}(id, doc, name_sort, municipality, access, cost, organization,
                    place, admission_status, age_min, age_max, lat, lng, terms, name_words,
                    term_count, geo_rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                row,
            )
            rowid = cursor.lastrowid
            if version is not None:
                self._log_change(conn, g, version, rowid)
            conn.executemany(
                f"INSERT INTO vals_{g}(doc, field, value) VALUES (?, ?, ?)",
                [(rowid, f, v) for f, v in values],
            )
            conn.execute(
                f"INSERT INTO fts_{g}(rowid, name_terms, all_terms) VALUES (?, ?, ?)",
                (rowid, *fts_text),
            )

    @staticmethod
    def _log_change(conn: sqlite3.Connection, g: int, version: int, rowid: int | None) -> None:
        conn.execute(f"INSERT INTO changes_{g}(version, rowid) VALUES (?, ?)", (version, rowid))

    def _remove(
        self, conn: sqlite3.Connection, g: int, ids: Sequence[str], version: int | None = None
    ) -> None:
        for doc_id in ids:
            found = conn.execute(f"SELECT rowid FROM docs_{g} WHERE id = ?", (doc_id,)).fetchone()
            if found:
                rowid = found[0]
                if version is not None:
                    self._log_change(conn, g, version, rowid)
                conn.execute(f"DELETE FROM fts_{g} WHERE rowid = ?", (rowid,))
                conn.execute(f"DELETE FROM vals_{g} WHERE doc = ?", (rowid,))
                conn.execute(f"DELETE FROM docs_{g} WHERE rowid = ?", (rowid,))

    def _transaction(self, work: Any) -> None:
        with self._write_lock, self._connect() as conn:
            g = self._generation(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = int(self._meta(conn, "version", "0") or 0) + 1
                work(conn, g, version)
                self._set_meta(conn, "version", str(version))
                conn.execute(
                    f"DELETE FROM changes_{g} WHERE version <= ?", (version - CHANGE_LOG_VERSIONS,)
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def upsert(self, documents: Sequence[Document]) -> None:
        if documents:
            self._transaction(lambda conn, g, v: self._write(conn, g, documents, v))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._transaction(lambda conn, g, v: self._remove(conn, g, ids, v))

    def rebuild(self, settings: dict[str, Any], batches: Iterable[Sequence[Document]]) -> int:
        with self._connect() as conn:
            old = self._generation(conn)
            new = old + 1
            with self._write_lock:
                self._drop_tables(conn, new)
                self._create_tables(conn, new)
        count = 0
        for batch in batches:
            with self._write_lock, self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    self._write(conn, new, batch)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            count += len(batch)
        with self._write_lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            self._set_meta(conn, "settings", json.dumps(settings, sort_keys=True))
            self._set_meta(conn, "active", str(new))
            self._bump(conn)
            conn.execute("COMMIT")
            self._drop_tables(conn, old)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file alone is the index again
        self._stop_words = frozenset(settings.get("stopWords", ()))
        return count

    # --- SearchBackend: reading ----------------------------------------------------------

    def version_tag(self) -> Hashable:
        """(generation, version) of the index file: one read of its meta table."""
        with self._connect() as conn:
            rows = dict(
                conn.execute("SELECT key, value FROM meta WHERE key IN ('active', 'version')")
            )
        return (rows.get("active"), rows.get("version"))

    def health(self) -> bool:
        try:
            with self._connect() as conn:
                self._generation(conn)
            return True
        except SearchUnavailableError:
            return False

    def warm_up(self) -> None:
        """Load the in-memory columns and vocabulary (about 2 s at 100,000 documents)."""
        with self._connect() as conn:
            self._settings(conn)
            g = self._generation(conn)
            self._state(conn, g, self._version(conn))

    @staticmethod
    def _freeze() -> None:
        """Move everything allocated so far out of the cyclic garbage collector's sight.

        The columns and vocabulary hold hundreds of thousands of references: at 100,000
        documents a full collection took ~100–150 ms, a pause for every request in flight, every
        few hundred requests. They live until the next full load and are then freed by
        reference counting; ``gc.freeze()`` after start-up is what long-running servers do
        with their long-lived objects. A collection first: garbage in reference cycles at that
        moment would otherwise be frozen with them and never freed (a full load also happens
        after every rebuild, not only at start-up)."""
        gc.collect()
        gc.freeze()

    def stats(self) -> IndexStats:
        with self._connect() as conn:
            g = self._generation(conn)
            (n,) = conn.execute(f"SELECT COUNT(*) FROM docs_{g}").fetchone()
        return IndexStats(documents=int(n))

    def _version(self, conn: sqlite3.Connection) -> int:
        return int(self._meta(conn, "version", "0") or 0)

    def _state(self, conn: sqlite3.Connection, g: int, version: int) -> _State:
        """Columns and vocabulary at the index's ``version`` (refreshed incrementally)."""
        state = self._state_cache
        if state is not None and state.columns.generation == g and state.columns.version == version:
            return state
        with self._state_lock:
            state = self._state_cache
            if state is None or state.columns.generation != g:
                state = self._load_state(conn, g, version)
                self._freeze()
            elif state.columns.version < version:  # never back to an older snapshot's version
                columns = state.columns.refresh(conn, g, version)
                if columns.version == version and columns is not state.columns:
                    vocabulary = self._refreshed_vocabulary(conn, g, state, columns)
                    state = _State(columns, vocabulary)
                    if columns.loaded_fully:
                        self._freeze()
            self._state_cache = state
            return state

    @staticmethod
    def _load_state(conn: sqlite3.Connection, g: int, version: int) -> _State:
        return _State(Columns.load(conn, g, version), EmbeddedBackend._full_vocabulary(conn, g))

    @staticmethod
    def _refreshed_vocabulary(
        conn: sqlite3.Connection, g: int, old: _State, columns: Columns
    ) -> _Vocabulary:
        if columns.loaded_fully:
            return EmbeddedBackend._full_vocabulary(conn, g)
        added: set[str] = set()
        for (terms_json,) in conn.execute(
            f"""SELECT terms FROM docs_{g} WHERE rowid IN
                (SELECT rowid FROM changes_{g} WHERE version > ? AND version <= ?)""",
            (old.columns.version, columns.version),
        ):
            added.update(json.loads(terms_json)["c"])
        return old.vocabulary.with_terms(added)

    @staticmethod
    def _full_vocabulary(conn: sqlite3.Connection, g: int) -> _Vocabulary:
        return _Vocabulary([str(r[0]) for r in conn.execute(f"SELECT term FROM vocab_{g}")])

    def _word_matches(self, words: list[QueryWord], vocab: _Vocabulary) -> list[_WordMatch]:
        matches = []
        vocabulary, vocab_set = vocab.terms, vocab.known
        for w in words:
            alternatives: dict[str, _Alternative] = {}

            def add(
                term: str,
                typos: int,
                prefix: bool = False,
                alternatives: dict[str, _Alternative] = alternatives,
            ) -> None:
                key = term + ("*" if prefix else "")
                if key not in alternatives or alternatives[key].typos > typos:
                    alternatives[key] = _Alternative(term, typos, prefix)

            add(w.stem, 0)
            add(w.original, 0)
            if w.is_last or len(w.original) >= LONG_WORD_PREFIX:
                # prefix on the last word (search as you type); long words also match as the
                # start of a longer compound ("arbeidstraining" → arbeidstrainingscentrum)
                add(w.original, 0, prefix=True)
                add(w.stem, 0, prefix=True)
            budget = typo_budget(w.original)
            if budget and w.stem not in vocab_set and w.original not in vocab_set:
                for source in {w.stem, w.original}:
                    for term, distance, _ in process.extract(
                        source, vocabulary, scorer=OSA.distance, score_cutoff=budget, limit=12
                    ):
                        typos = int(distance) + (1 if term[:1] != source[:1] else 0)
                        if 0 < typos <= budget:
                            add(term, typos)
            # Dutch compounds are head-final: "taxi" also finds "regiotaxi" (as a typo, so
            # the word itself ranks first).
            if len(w.original) >= COMPOUND_HEAD_MIN:
                for term in vocab.ending_with(w.original):
                    add(term, 1)
            matches.append(
                _WordMatch(word=w, alternatives=list(alternatives.values()), parts=w.parts)
            )
        # Consecutive words may be one word split in two ("zwem les", "kring loop"): like
        # Meilisearch, also try them concatenated, as a prefix ("kringloop" → kringloopwinkel).
        by_position = {m.word.position: m for m in matches}
        for position, first in by_position.items():
            second = by_position.get(position + 1)
            if second is not None:
                joined = _Alternative(first.word.original + second.word.original, 0, prefix=True)
                first.alternatives.append(joined)
                second.alternatives.append(joined)
        for m in matches:
            for alt in m.alternatives:
                expanded = vocab.starting_with(alt.term) if alt.prefix else [alt.term]
                for term in expanded:
                    if m.exact.get(term, alt.typos + 1) > alt.typos:
                        m.exact[term] = alt.typos
        return matches

    def search(self, query: SearchQuery) -> SearchResult:
        with self._connect() as conn:
            g = self._generation(conn)
            # One read transaction: the version, the change log, FTS5 and the rows all come
            # from the same snapshot, so what the caches keep under a version is that version.
            conn.execute("BEGIN")
            try:
                return self._search(conn, g, query)
            finally:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("COMMIT")

    def _search(self, conn: sqlite3.Connection, g: int, query: SearchQuery) -> SearchResult:
        self._settings(conn)
        version = self._version(conn)
        tag = (g, version)
        for cache in self._caches():
            cache.advance(tag)
        answered = self._results.get(tag, query)
        if answered is not None:
            return answered
        result = self._answer(conn, g, version, tag, query)
        self._results.put(tag, query, result)
        return result

    def _answer(
        self, conn: sqlite3.Connection, g: int, version: int, tag: Tag, query: SearchQuery
    ) -> SearchResult:
        state = self._state(conn, g, version)
        columns = state.columns
        mask = columns.mask(query.filter)
        distances: Floats | None = None
        if query.geo_radius is not None:
            mask, distances = columns.within(mask, query.geo_radius)
        elif query.point is not None:
            distances = np.full(columns.size, np.nan)
            everything = np.flatnonzero(columns.alive)
            distances[everything] = columns.distances(everything, query.point.lat, query.point.lng)
        words = [
            w for w in self.analyzer.query(query.text) if w.original not in self._stop_words
        ] or (self.analyzer.query(query.text))
        if words:
            return self._text_search(conn, tag, state, query, words, mask, distances)
        return self._browse(conn, tag, columns, query, mask, distances)

    def _caches(self) -> tuple[IndexCaches[Any, Any], ...]:
        return (self._matches, self._rankings, self._documents, self._highlights, self._results)

    def clear_caches(self) -> None:
        """Empty the caches (benchmarks: the cold case)."""
        for cache in self._caches():
            cache.clear()

    def cache_stats(self) -> dict[str, CacheStats]:
        return {
            "matches": self._matches.lru.stats(),
            "rankings": self._rankings.lru.stats(),
            "documents": self._documents.lru.stats(),
            "highlights": self._highlights.lru.stats(),
            "results": self._results.lru.stats(),
        }

    def reset_cache_counters(self) -> None:
        for cache in self._caches():
            cache.lru.reset_counters()

    # searching -----------------------------------------------------------------------------

    def _matching(
        self, conn: sqlite3.Connection, tag: Tag, expression: str, mask: Mask, size: int
    ) -> Ids:
        """Rowids (ascending) that match the FTS5 expression and pass the mask."""
        ids = self._matches.get(tag, expression)
        if ids is None:
            g = tag[0]
            (found,) = conn.execute(
                f"SELECT group_concat(rowid) FROM fts_{g} WHERE fts_{g} MATCH ?", (expression,)
            ).fetchone()
            ids = rowids_from(found)
            ids.setflags(write=False)  # shared by every search that finds it in the cache
            self._matches.put(tag, expression, ids)
        ids = ids[ids < size]  # written after this search's snapshot of the columns
        return ids[mask[ids]]

    @staticmethod
    def _pick(ids: Ids, proxy: Codes, cap: int) -> Ids:
        """At most ``cap`` of these documents, lowest ``proxy`` first (shorter names or
        texts: what bm25 and the exactness rule favour), for ranking in Python."""
        if ids.size <= cap:
            return ids
        chosen = np.argpartition(proxy[ids], cap - 1)[:cap]
        return np.sort(ids[chosen])

    def _text_search(
        self,
        conn: sqlite3.Connection,
        tag: Tag,
        state: _State,
        query: SearchQuery,
        words: list[QueryWord],
        mask: Mask,
        distances: Floats | None,
    ) -> SearchResult:
        columns = state.columns
        matches = self._word_matches(words, state.vocabulary)
        wanted = min(query.page * query.per_page, MAX_TOTAL_HITS)
        cap = max(CANDIDATE_CAP, wanted)
        ranked: list[tuple[tuple[Any, ...], int, float | None, list[_WordMatch]]] = []
        seen = np.zeros(columns.size, dtype=np.bool_)
        loosest = np.empty(0, dtype=np.int64)
        for level in range(len(matches), 0, -1):  # matching strategy "last"
            used = matches[:level]
            expression = " AND ".join(m.fts() for m in used)
            loosest = self._matching(conn, tag, expression, mask, columns.size)
            fresh = loosest[~seen[loosest]]
            if fresh.size > cap:
                # Too many to rank them all: documents whose name matches first (the attribute
                # rule ranks them first), then the others, each by a cheap proxy.
                named = self._matching(
                    conn, tag, f"name_terms : ({expression})", mask & ~seen, columns.size
                )
                candidates = self._pick(named, columns.name_words, cap)
                if candidates.size + len(ranked) < wanted:
                    in_name = np.zeros(columns.size, dtype=np.bool_)
                    in_name[named] = True
                    others = fresh[~in_name[fresh]]
                    candidates = np.concatenate(
                        [candidates, self._pick(others, columns.term_count, cap)]
                    )
            else:
                candidates = fresh
            seen[candidates] = True
            for rowid, (codes, name_words) in self._rankings_of(conn, tag, candidates):
                distance = _distance(distances, rowid)
                typos = attribute = position = 0
                for m in used:
                    found = m.rank(codes)
                    if found is None:  # matched only through a prefix beyond the expansion
                        attribute += len(SEARCHABLE_ATTRIBUTES)
                        continue
                    typos += found[0]
                    attribute += found[1] // POSITIONS
                    position += found[1] % POSITIONS
                exact = sum(1 for m in used if m.word.original in name_words)
                name_sort, doc_id = columns.names.get(rowid, ("", ""))
                if query.sort is SortOrder.name:
                    sort_key: Any = (name_sort, doc_id)
                elif query.sort is SortOrder.distance:
                    # equal distance (to the metre): the more precise point first
                    sort_key = (
                        round(distance) if distance is not None else math.inf,
                        int(columns.geo_rank[rowid]),
                    )
                else:
                    sort_key = 0
                key = (
                    -level,
                    typos,
                    attribute,
                    position,
                    sort_key,
                    -exact,
                    int(columns.term_count[rowid]),
                    name_sort,
                    doc_id,
                )
                ranked.append((key, rowid, distance, used))
            if len(ranked) >= wanted:
                break
        ranked.sort(key=lambda item: item[0])
        # Totals and facets count every match of the loosest round used.
        facets = columns.facets(query.facets, loosest) if query.facets else {}
        start = (query.page - 1) * query.per_page
        page = ranked[start : min(start + query.per_page, wanted)]
        docs = self._documents_of(conn, tag, np.array([r[1] for r in page], dtype=np.int64))
        highlighters: dict[int, Callable[[int, Document], dict[str, str]]] = {}
        hits = []
        for _key, rowid, distance, used in page:
            document = docs.get(rowid)
            if document is None:  # deleted after this search's snapshot
                continue
            highlight = highlighters.get(id(used))
            if highlight is None:
                highlight = highlighters[id(used)] = self._highlighter(tag, used)
            hits.append(
                Hit(
                    id=document["id"],
                    document=document,
                    distance_m=distance,
                    highlight=highlight(rowid, document),
                )
            )
        return SearchResult(hits=hits, total=min(int(loosest.size), MAX_TOTAL_HITS), facets=facets)

    def _rankings_of(
        self, conn: sqlite3.Connection, tag: Tag, ids: Ids
    ) -> list[tuple[int, _Ranking]]:
        """(rowid, ranking data) of these documents: from the cache, the rest from the file."""
        return list(self._cached(conn, tag, ids, self._rankings, "terms", _parse_ranking).items())

    def _documents_of(self, conn: sqlite3.Connection, tag: Tag, ids: Ids) -> dict[int, Document]:
        """rowid → stored document of these rowids (cached; shared: never change one)."""
        return self._cached(conn, tag, ids, self._documents, "doc", _parse_document)

    def _cached(
        self,
        conn: sqlite3.Connection,
        tag: Tag,
        ids: Ids,
        cache: IndexCaches[int, V],
        column: str,
        parse: Callable[[str], V],
    ) -> dict[int, V]:
        """rowid → ``parse(column)`` of these documents: from the cache, the rest from the file
        (then cached)."""
        found: dict[int, V] = {}
        missing: list[int] = []
        rowids = ids.tolist()
        for rowid, cached in zip(rowids, cache.get_many(tag, rowids), strict=True):
            if cached is None:
                missing.append(rowid)
            else:
                found[rowid] = cached
        if missing:
            for rowid, text in self._rows(
                conn, tag[0], column, np.asarray(missing, dtype=np.int64)
            ):
                value = parse(text)
                # what the parsed value takes, from its stored text: measured at 1.5-2.6×
                # the JSON for documents and rankings (100k directory); counting the objects
                # themselves cost more than parsing them
                cache.put(tag, rowid, value, PARSED_BYTES_PER_CHAR * len(text) + 64)
                found[rowid] = value
        return found

    @staticmethod
    def _rows(conn: sqlite3.Connection, g: int, column: str, ids: Ids) -> list[tuple[int, str]]:
        """(rowid, ``column``) of these documents."""
        if not ids.size:
            return []
        return [
            (int(r), str(v))
            for r, v in conn.execute(
                f"SELECT rowid, {column} FROM docs_{g} WHERE rowid IN (SELECT value FROM json_each(?))",
                [json.dumps(ids.tolist())],
            )
        ]

    def _browse(
        self,
        conn: sqlite3.Connection,
        tag: Tag,
        columns: Columns,
        query: SearchQuery,
        mask: Mask,
        distances: Floats | None,
    ) -> SearchResult:
        """No text: every document that passes the filters, by name or by distance."""
        ids = np.flatnonzero(mask)
        start = (query.page - 1) * query.per_page
        end = min(start + query.per_page, MAX_TOTAL_HITS)
        rank = columns.name_rank()[ids]
        if query.sort is SortOrder.distance and distances is not None:
            near = np.round(np.nan_to_num(distances[ids], nan=np.inf))
            order = np.lexsort((rank, columns.geo_rank[ids], near))[:end]
        elif end < ids.size:
            chosen = np.argpartition(rank, end - 1)[:end]
            order = chosen[np.argsort(rank[chosen], kind="stable")]
        else:
            order = np.argsort(rank, kind="stable")
        page = ids[order[start:end]]
        docs = self._documents_of(conn, tag, page)
        hits = []
        for rowid in page.tolist():
            document = docs.get(rowid)
            if document is not None:
                hits.append(
                    Hit(
                        id=document["id"],
                        document=document,
                        distance_m=_distance(distances, rowid),
                        highlight={},
                    )
                )
        facets = columns.facets(query.facets, ids) if query.facets else {}
        return SearchResult(hits=hits, total=min(int(ids.size), MAX_TOTAL_HITS), facets=facets)

    # highlights ----------------------------------------------------------------------------

    def _highlighter(
        self, tag: Tag, used: list[_WordMatch]
    ) -> Callable[[int, Document], dict[str, str]]:
        """Highlights of the documents ranked in one matching round (one memo of verdicts
        per word for all of them; cached per document and set of matching terms)."""
        exact = frozenset(
            {a.term for m in used for a in m.alternatives if not a.prefix}
            | {p for m in used for p in m.parts}
        )
        prefixes = tuple(sorted({a.term for m in used for a in m.alternatives if a.prefix}))
        originals = frozenset(m.word.original for m in used)
        signature = (originals, exact, prefixes)

        def matches(folded: str, stemmed: str) -> bool:
            return (
                folded in originals
                or stemmed in exact
                or folded in exact
                or any(folded.startswith(p) for p in prefixes)
            )

        memo: dict[str, bool] = {}

        def highlight(rowid: int, document: Document) -> dict[str, str]:
            cached = self._highlights.get(tag, (signature, rowid))
            if cached is None:
                cached = {
                    field: mark_words(str(document.get(field) or ""), matches, memo)
                    for field in ("name", "summary")
                }
                self._highlights.put(tag, (signature, rowid), cached)
            return cached

        return highlight


# term -> rank code; the words of the name. Only strings and ints inside: the garbage
# collector does not track these dictionaries (nor, after a first look, the tuples).
_Ranking = tuple[dict[str, int], tuple[str, ...]]


def _parse_ranking(terms_json: str) -> _Ranking:
    """The stored ``terms`` column; the terms are interned (shared with the vocabulary and
    between documents, which keeps the rankings cache small)."""
    stored = from_json(terms_json)  # pydantic-core (Rust): 2× json.loads here
    intern = sys.intern
    return {intern(t): c for t, c in stored["c"].items()}, tuple(stored["n"])


def _parse_document(doc_json: str) -> Document:
    """A stored document (pydantic-core's parser: 1.4× json.loads on these)."""
    document: Document = from_json(doc_json)
    return document


def _array_bytes(ids: Ids) -> int:
    return int(ids.nbytes) + 112  # the buffer and the array object


def _ranking_bytes(ranking: _Ranking) -> int:
    return dict_bytes(ranking[0]) + sys.getsizeof(ranking[1]) + 56  # + the tuple


def _result_bytes(result: SearchResult) -> int:
    """The result's own objects: hits (their documents are counted by the documents cache),
    highlights and facet counts."""
    size = 200 + sum(
        120 + sum(sys.getsizeof(v) for v in hit.highlight.values()) for hit in result.hits
    )
    return size + sum(dict_bytes(counts) for counts in result.facets.values())


def _document_bytes(document: Document) -> int:
    """The dictionary and its values, one level down (lists of slugs, short strings)."""
    return sys.getsizeof(document) + sum(sys.getsizeof(v) for v in document.values())


@dataclass(frozen=True)
class _State:
    columns: Columns
    vocabulary: _Vocabulary


def _distance(distances: Floats | None, rowid: int) -> float | None:
    if distances is None:
        return None
    value = float(distances[rowid])
    return None if math.isnan(value) else value


def stem_terms(text: str) -> list[str]:
    """Stems of the words of ``text`` (used by tests and the suggest endpoint)."""
    return [stem(w) for w in tokenize(text)]
