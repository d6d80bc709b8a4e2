"""Embedded search backend: SQLite FTS5 in its own file, mirroring Meilisearch's rules.

* candidates come from FTS5 over the ``search_terms`` field (stems, compound parts, lay
  words of the themes), capped per query; ranking happens in Python in Meilisearch's rule
  order: words (matching strategy "last"), typo, attribute, sort, exactness, then bm25;
* typo tolerance as in Meilisearch: one typo from 5 letters, two from 9, a typo in the first
  letter counts double, a transposition counts as one (optimal string alignment distance
  against the index vocabulary); prefix search on the last query word;
* the query never reaches FTS5 as syntax: it is cut into ``[0-9a-z]`` words first and every
  term is quoted, so quotes, ``*``, ``NEAR(``, ``AND``, ``-`` and emoji are plain text;
* filters are a typed tree compiled to parameterised SQL over whitelisted columns;
* geo: bounding box in SQL, exact haversine in Python; documents without coordinates never
  match a radius and sort last by distance;
* rebuilds write a new generation of tables and switch to it in one transaction.

Known differences from Meilisearch (see tests/search/test_backend_contract.py): no proximity
rule; candidate sets are capped at ``CANDIDATE_CAP`` per matching round.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from search.analysis import Analyzer, QueryWord, fold, stem, tokenize
from search.backend import Document, SearchBackend
from search.geo import EARTH_RADIUS_M, haversine_m
from search.highlight import mark_words
from search.settings import (
    ARRAY_FIELDS,
    MAX_TOTAL_HITS,
    NUMERIC_FIELDS,
    SCALAR_FIELDS,
    SEARCHABLE_ATTRIBUTES,
    TYPO_ONE,
    TYPO_TWO,
)
from search.types import (
    And,
    Eq,
    Exists,
    Filter,
    GeoPoint,
    Hit,
    In,
    IndexStats,
    Not,
    Or,
    Range,
    SearchQuery,
    SearchResult,
    SearchUnavailableError,
    SortOrder,
)

logger = logging.getLogger(__name__)
CANDIDATE_CAP = 200  # candidates per matching round, by bm25, ranked in Python
POSITIONS = 10_000  # positions per attribute in a term's rank code
INDEX_FORMAT = "2"  # bump when the tables change; an index of another format starts empty
FACET_SAMPLE = 1000  # facets are exact up to this many matches, counted over a sample above
COMPOUND_HEAD_MIN = 4  # shortest query word matched as the head of a compound
LONG_WORD_PREFIX = 8  # words this long also match longer compounds that start with them
_SCALAR_COLUMNS = {f: f for f in SCALAR_FIELDS}


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

    def __init__(self, *, path: Path | str, analyzer: Analyzer | None = None) -> None:
        self.path = Path(path)
        self.analyzer = analyzer or Analyzer()
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._vocab_cache: tuple[tuple[int, int], _Vocabulary] | None = None
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
                age_min REAL, age_max REAL, lat REAL, lng REAL, terms TEXT NOT NULL)"""
        )
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
        for table in (f"vocab_{g}", f"fts_{g}", f"vals_{g}", f"docs_{g}"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def _bump(self, conn: sqlite3.Connection) -> None:
        self._set_meta(conn, "version", str(int(self._meta(conn, "version", "0") or 0) + 1))

    # --- SearchBackend: writing ----------------------------------------------------------

    def apply_settings(self, settings: dict[str, Any]) -> None:
        with self._connect() as conn:
            self._generation(conn)
            self._set_meta(conn, "settings", json.dumps(settings, sort_keys=True))
        self._stop_words = frozenset(settings.get("stopWords", ()))

    def _settings(self, conn: sqlite3.Connection) -> dict[str, Any]:
        raw = self._meta(conn, "settings")
        settings: dict[str, Any] = json.loads(raw) if raw else {}
        self._stop_words = frozenset(settings.get("stopWords", ()))
        return settings

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
        )
        values = [(f, str(v)) for f in sorted(ARRAY_FIELDS) for v in doc.get(f) or ()]
        fts_text = (" ".join(self.analyzer.terms(str(doc.get("name") or ""))), " ".join(codes))
        return row, values, fts_text

    def _write(self, conn: sqlite3.Connection, g: int, documents: Sequence[Document]) -> None:
        prepared = [self._row(d) for d in documents]  # validate everything before writing
        for row, values, fts_text in prepared:
            self._remove(conn, g, [row[0]])
            cursor = conn.execute(
                f"""INSERT INTO docs_{g}(id, doc, name_sort, municipality, access, cost, organization,
                    place, admission_status, age_min, age_max, lat, lng, terms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                row,
            )
            rowid = cursor.lastrowid
            conn.executemany(
                f"INSERT INTO vals_{g}(doc, field, value) VALUES (?, ?, ?)",
                [(rowid, f, v) for f, v in values],
            )
            conn.execute(
                f"INSERT INTO fts_{g}(rowid, name_terms, all_terms) VALUES (?, ?, ?)",
                (rowid, *fts_text),
            )

    @staticmethod
    def _remove(conn: sqlite3.Connection, g: int, ids: Sequence[str]) -> None:
        for doc_id in ids:
            found = conn.execute(f"SELECT rowid FROM docs_{g} WHERE id = ?", (doc_id,)).fetchone()
            if found:
                rowid = found[0]
                conn.execute(f"DELETE FROM fts_{g} WHERE rowid = ?", (rowid,))
                conn.execute(f"DELETE FROM vals_{g} WHERE doc = ?", (rowid,))
                conn.execute(f"DELETE FROM docs_{g} WHERE rowid = ?", (rowid,))

    def _transaction(self, work: Any) -> None:
        with self._write_lock, self._connect() as conn:
            g = self._generation(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                work(conn, g)
                self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def upsert(self, documents: Sequence[Document]) -> None:
        if documents:
            self._transaction(lambda conn, g: self._write(conn, g, documents))

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._transaction(lambda conn, g: self._remove(conn, g, ids))

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

    def health(self) -> bool:
        try:
            with self._connect() as conn:
                self._generation(conn)
            return True
        except SearchUnavailableError:
            return False

    def stats(self) -> IndexStats:
        with self._connect() as conn:
            g = self._generation(conn)
            (n,) = conn.execute(f"SELECT COUNT(*) FROM docs_{g}").fetchone()
        return IndexStats(documents=int(n))

    def _vocabulary(self, conn: sqlite3.Connection, g: int) -> _Vocabulary:
        key = (g, int(self._meta(conn, "version", "0") or 0))
        if self._vocab_cache is None or self._vocab_cache[0] != key:
            terms = [str(r[0]) for r in conn.execute(f"SELECT term FROM vocab_{g}")]
            self._vocab_cache = (key, _Vocabulary(terms))
        return self._vocab_cache[1]

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
            self._settings(conn)
            where, params = self._where(query.filter, g)
            point = query.point
            if query.geo_radius is not None:
                where, params = self._bbox(where, params, query)
            words = [
                w for w in self.analyzer.query(query.text) if w.original not in self._stop_words
            ] or (self.analyzer.query(query.text))
            if words:
                return self._text_search(conn, g, query, words, where, params, point)
            return self._browse(conn, g, query, where, params, point)

    # filters -------------------------------------------------------------------------------

    def _where(self, node: Filter | None, g: int) -> tuple[str, list[Any]]:
        if node is None:
            return "1", []
        if isinstance(node, And | Or):
            parts = [self._where(item, g) for item in node.items]
            if not parts:
                return ("1", []) if isinstance(node, And) else ("0", [])
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(p for p, _ in parts) + ")", [v for _, ps in parts for v in ps]
        if isinstance(node, Not):
            inner, ps = self._where(node.item, g)
            return f"NOT ({inner})", ps
        field = node.field
        if field in ARRAY_FIELDS:
            if isinstance(node, Eq):
                return f"d.rowid IN (SELECT doc FROM vals_{g} WHERE field = ? AND value = ?)", [
                    field,
                    str(node.value),
                ]
            if isinstance(node, In):
                if not node.values:
                    return "0", []
                marks = ", ".join("?" for _ in node.values)
                return (
                    f"d.rowid IN (SELECT doc FROM vals_{g} WHERE field = ? AND value IN ({marks}))",
                    [field, *(str(v) for v in node.values)],
                )
            if isinstance(node, Exists):
                return f"d.rowid IN (SELECT doc FROM vals_{g} WHERE field = ?)", [field]
            raise ValueError(f"filter {type(node).__name__} werkt niet op lijstveld {field}")
        column = _SCALAR_COLUMNS.get(field)
        if column is None:
            raise ValueError(f"onbekend filterveld: {field}")
        if isinstance(node, Eq):
            return f"d.{column} = ?", [node.value]
        if isinstance(node, In):
            if not node.values:
                return "0", []
            return f"d.{column} IN ({', '.join('?' for _ in node.values)})", list(node.values)
        if isinstance(node, Exists):
            return f"d.{column} IS NOT NULL", []
        if isinstance(node, Range):
            if field not in NUMERIC_FIELDS:
                raise ValueError(f"bereikfilter alleen op getallen, niet op {field}")
            clauses, values = [], []
            if node.gte is not None:
                clauses.append(f"d.{column} >= ?")
                values.append(node.gte)
            if node.lte is not None:
                clauses.append(f"d.{column} <= ?")
                values.append(node.lte)
            return "(" + (" AND ".join(clauses) or "1") + ")", values
        raise ValueError(f"onbekend filter: {node!r}")

    @staticmethod
    def _bbox(where: str, params: list[Any], query: SearchQuery) -> tuple[str, list[Any]]:
        assert query.geo_radius is not None
        c, r = query.geo_radius.center, query.geo_radius.radius_m
        dlat = math.degrees(r / EARTH_RADIUS_M)
        dlng = math.degrees(r / (EARTH_RADIUS_M * max(math.cos(math.radians(c.lat)), 1e-6)))
        clause = "d.lat BETWEEN ? AND ? AND d.lng BETWEEN ? AND ?"
        return f"({where}) AND {clause}", [
            *params,
            c.lat - dlat,
            c.lat + dlat,
            c.lng - dlng,
            c.lng + dlng,
        ]

    # searching -----------------------------------------------------------------------------

    def _text_search(
        self,
        conn: sqlite3.Connection,
        g: int,
        query: SearchQuery,
        words: list[QueryWord],
        where: str,
        params: list[Any],
        point: GeoPoint | None,
    ) -> SearchResult:
        matches = self._word_matches(words, self._vocabulary(conn, g))
        wanted = min(query.page * query.per_page, MAX_TOTAL_HITS)
        cap = max(CANDIDATE_CAP, wanted)
        ranked: list[tuple[tuple[Any, ...], int, str, float | None, list[_WordMatch]]] = []
        seen: set[int] = set()
        expression = ""
        for level in range(len(matches), 0, -1):  # matching strategy "last"
            used = matches[:level]
            expression = " AND ".join(m.fts() for m in used)
            # Candidates whose name matches come first (the attribute rule ranks them first);
            # only when they do not fill the page, bm25 over every match.
            rows = self._candidates(conn, g, f"name_terms : ({expression})", where, params, cap)
            if len(rows) + len(ranked) < wanted:
                rows += self._candidates(conn, g, expression, where, params, cap)
            for rowid, doc, terms_json, name_sort, lat, lng, bm25 in rows:
                if rowid in seen:
                    continue
                seen.add(rowid)
                distance = (
                    haversine_m(point, lat, lng) if point is not None and lat is not None else None
                )
                if query.geo_radius is not None and (
                    distance is None or distance > query.geo_radius.radius_m
                ):
                    continue
                stored = json.loads(terms_json)
                codes: dict[str, int] = stored["c"]
                typos = attribute = position = 0
                for m in used:
                    found = m.rank(codes)
                    if found is None:  # matched only through a prefix beyond the expansion
                        attribute += len(SEARCHABLE_ATTRIBUTES)
                        continue
                    typos += found[0]
                    attribute += found[1] // POSITIONS
                    position += found[1] % POSITIONS
                exact = sum(1 for m in used if m.word.original in stored["n"])
                if query.sort is SortOrder.name:
                    sort_key: Any = name_sort
                elif query.sort is SortOrder.distance:
                    sort_key = distance if distance is not None else math.inf
                else:
                    sort_key = 0
                key = (-level, typos, attribute, position, sort_key, -exact, bm25, name_sort)
                ranked.append((key, rowid, doc, distance, used))
            if len(ranked) >= wanted:
                break
        ranked.sort(key=lambda item: item[0])
        # Totals count every match of the loosest round used; facets too, up to FACET_SAMPLE
        # matches (with a radius: the ranked candidates within the circle).
        if query.geo_radius is None:
            total = self._count(conn, g, expression, where, params)
            sample = self._sample(
                conn,
                f"SELECT d.rowid FROM fts_{g} CROSS JOIN docs_{g} AS d ON d.rowid = fts_{g}.rowid "
                f"WHERE fts_{g} MATCH ? AND {where} LIMIT {FACET_SAMPLE}",
                [expression, *params],
            )
            facets = self._facets(conn, g, query.facets, sample)
        else:
            total = len(ranked)
            facets = self._facets(conn, g, query.facets, [r[1] for r in ranked])
        start = (query.page - 1) * query.per_page
        hits = []
        for _key, _rowid, doc, distance, used in ranked[start : start + query.per_page]:
            document = json.loads(doc)
            hits.append(
                Hit(
                    id=document["id"],
                    document=document,
                    distance_m=distance,
                    highlight=self._highlight(document, used),
                )
            )
        return SearchResult(hits=hits, total=min(int(total), MAX_TOTAL_HITS), facets=facets)

    @staticmethod
    def _candidates(
        conn: sqlite3.Connection, g: int, expression: str, where: str, params: list[Any], cap: int
    ) -> list[Any]:
        return conn.execute(
            f"""SELECT d.rowid, d.doc, d.terms, d.name_sort, d.lat, d.lng, fts_{g}.rank
                FROM fts_{g} CROSS JOIN docs_{g} AS d ON d.rowid = fts_{g}.rowid
                WHERE fts_{g} MATCH ? AND {where}
                ORDER BY fts_{g}.rank LIMIT {cap}""",
            [expression, *params],
        ).fetchall()

    @staticmethod
    def _count(
        conn: sqlite3.Connection, g: int, expression: str, where: str, params: list[Any]
    ) -> int:
        """Matches, counted up to MAX_TOTAL_HITS (like Meilisearch's maxTotalHits)."""
        (n,) = conn.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM fts_{g} CROSS JOIN docs_{g} AS d "
            f"ON d.rowid = fts_{g}.rowid WHERE fts_{g} MATCH ? AND {where} LIMIT {MAX_TOTAL_HITS})",
            [expression, *params],
        ).fetchone()
        return int(n)

    def _browse(
        self,
        conn: sqlite3.Connection,
        g: int,
        query: SearchQuery,
        where: str,
        params: list[Any],
        point: GeoPoint | None,
    ) -> SearchResult:
        """No text: every document that passes the filters, by name or by distance."""
        start = (query.page - 1) * query.per_page
        needs_python = query.geo_radius is not None or query.sort is SortOrder.distance
        if not needs_python:
            (total,) = conn.execute(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM docs_{g} AS d WHERE {where} LIMIT {MAX_TOTAL_HITS})",
                params,
            ).fetchone()
            rows = conn.execute(
                f"SELECT d.doc, d.lat, d.lng FROM docs_{g} AS d WHERE {where} ORDER BY d.name_sort, d.id LIMIT ? OFFSET ?",
                [*params, query.per_page, start],
            ).fetchall()
            sample = self._sample(
                conn,
                f"SELECT d.rowid FROM docs_{g} AS d WHERE {where} LIMIT {FACET_SAMPLE}",
                params,
            )
            facets = self._facets(conn, g, query.facets, sample)
            hits = [self._plain_hit(doc, lat, lng, point) for doc, lat, lng in rows]
            return SearchResult(hits=hits, total=int(total), facets=facets)
        candidates = []
        for rowid, name_sort, lat, lng in conn.execute(
            f"SELECT d.rowid, d.name_sort, d.lat, d.lng FROM docs_{g} AS d WHERE {where}", params
        ):
            distance = (
                haversine_m(point, lat, lng) if point is not None and lat is not None else None
            )
            if query.geo_radius is not None and (
                distance is None or distance > query.geo_radius.radius_m
            ):
                continue
            order = (
                (distance if distance is not None else math.inf)
                if query.sort is SortOrder.distance
                else 0
            )
            candidates.append(((order, name_sort), rowid))
        candidates.sort()
        page = [rowid for _, rowid in candidates[start : start + query.per_page]]
        docs = {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute(
                f"SELECT rowid, doc, lat, lng FROM docs_{g} WHERE rowid IN (SELECT value FROM json_each(?))",
                [json.dumps(page)],
            )
        }
        hits = [self._plain_hit(docs[r][0], docs[r][1], docs[r][2], point) for r in page]
        facets = self._facets(
            conn, g, query.facets, [rowid for _, rowid in candidates[:FACET_SAMPLE]]
        )
        return SearchResult(hits=hits, total=len(candidates), facets=facets)

    @staticmethod
    def _plain_hit(doc: str, lat: float | None, lng: float | None, point: GeoPoint | None) -> Hit:
        document = json.loads(doc)
        distance = (
            haversine_m(point, lat, lng)
            if point is not None and lat is not None and lng is not None
            else None
        )
        return Hit(id=document["id"], document=document, distance_m=distance, highlight={})

    # facets and highlights -------------------------------------------------------------------

    def _facets(
        self, conn: sqlite3.Connection, g: int, fields: Sequence[str], rowids: list[int]
    ) -> dict[str, dict[str, int]]:
        """Facet counts over these documents: one query for the list fields, one for the rest."""
        if not fields:
            return {}
        unknown = [f for f in fields if f not in ARRAY_FIELDS and f not in _SCALAR_COLUMNS]
        if unknown:
            raise ValueError(f"onbekend facetveld: {', '.join(unknown)}")
        result: dict[str, dict[str, int]] = {f: {} for f in fields}
        ids = json.dumps(rowids)
        arrays = [f for f in fields if f in ARRAY_FIELDS]
        if arrays:
            marks = ", ".join("?" for _ in arrays)
            for field_name, value, count in conn.execute(
                f"""SELECT field, value, COUNT(*) FROM vals_{g}
                    WHERE doc IN (SELECT value FROM json_each(?)) AND field IN ({marks})
                    GROUP BY field, value""",
                [ids, *arrays],
            ):
                result[field_name][str(value)] = int(count)
        scalars = [f for f in fields if f in _SCALAR_COLUMNS]
        if scalars:
            columns = ", ".join(f"d.{_SCALAR_COLUMNS[f]}" for f in scalars)
            counters: dict[str, Counter[str]] = {f: Counter() for f in scalars}
            for row in conn.execute(
                f"SELECT {columns} FROM docs_{g} AS d WHERE d.rowid IN (SELECT value FROM json_each(?))",
                [ids],
            ):
                for f, value in zip(scalars, row, strict=True):
                    if value is not None:
                        counters[f][str(value)] += 1
            for f in scalars:
                result[f] = dict(counters[f])
        return result

    @staticmethod
    def _sample(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[int]:
        return [int(r[0]) for r in conn.execute(sql, params)]

    @staticmethod
    def _highlight(document: Document, used: list[_WordMatch]) -> dict[str, str]:
        exact = {a.term for m in used for a in m.alternatives if not a.prefix}
        exact |= {p for m in used for p in m.parts}
        prefixes = [a.term for m in used for a in m.alternatives if a.prefix]
        originals = {m.word.original for m in used}

        def matches(folded: str, stemmed: str) -> bool:
            return (
                folded in originals
                or stemmed in exact
                or folded in exact
                or any(folded.startswith(p) for p in prefixes)
            )

        return {
            field: mark_words(str(document.get(field) or ""), matches)
            for field in ("name", "summary")
        }


def stem_terms(text: str) -> list[str]:
    """Stems of the words of ``text`` (used by tests and the suggest endpoint)."""
    return [stem(w) for w in tokenize(text)]
