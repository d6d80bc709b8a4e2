"""In-memory columns of the embedded index: filters, facets, geo and sort order in numpy.

FTS5 finds which documents contain the words; everything else a search needs per document
(filter fields, facet values, coordinates, name order) is held here as numpy arrays indexed by
the document's rowid, so a filter is a boolean mask, facet counts are one ``bincount`` and a
radius is one vectorised haversine — no per-row SQL, no per-row Python.

A ``Columns`` object is immutable once published: ``refresh`` returns a new object (sharing
what did not change), so searches on other threads keep a consistent view. It follows the
index file through its ``version``: writes log the rowids they touched per version
(``changes_<generation>``), and a refresh re-reads only those rows; a new generation (a
rebuild) or a long gap means one full load.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any

import numpy as np
import numpy.typing as npt

from search.geo import EARTH_RADIUS_M
from search.settings import ARRAY_FIELDS, NUMERIC_FIELDS, SCALAR_FIELDS
from search.types import And, Eq, Exists, Filter, GeoRadius, In, Not, Or, Range

Mask = npt.NDArray[np.bool_]
Ids = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Codes = npt.NDArray[np.int32]

STRING_FIELDS = tuple(sorted(SCALAR_FIELDS - NUMERIC_FIELDS))
NUMBER_FIELDS = tuple(sorted(NUMERIC_FIELDS))
DOC_COLUMNS = ("id", "name_sort", "lat", "lng", "name_words", "term_count", "geo_rank")
CHANGE_LOG_VERSIONS = 10_000  # versions of rowid changes kept for incremental refreshes
FULL_RELOAD_SHARE = 0.2  # more changed rows than this share of the index: reload everything
MASKS_KEPT = 32  # per array field and snapshot: a mask is one byte per document (100 kB at 100k)
TAIL_COMPACT_SHARE = 0.25  # array-field entries appended since the last sort, before re-sorting


def rowids_from(text: str | None) -> Ids:
    """Rowids from a ``group_concat`` string (parsed in C)."""
    if not text:
        return np.empty(0, dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",")


class _Dictionary:
    """Value ↔ code of one field; code 0 means "no value"."""

    def __init__(self, values: Sequence[str] = ()) -> None:
        self.values: list[str] = ["", *values]
        self.codes: dict[str, int] = {v: i for i, v in enumerate(self.values) if i}

    def code(self, value: str) -> int:
        found = self.codes.get(value)
        if found is None:
            found = self.codes[value] = len(self.values)
            self.values.append(value)
        return found

    def copy(self) -> _Dictionary:
        clone = _Dictionary()
        clone.values = list(self.values)
        clone.codes = dict(self.codes)
        return clone


@dataclass(frozen=True)
class _Entries:
    """(document, value) pairs of one array field: a part sorted by document, and a tail of
    pairs appended by refreshes. Code 0 marks a removed pair."""

    values: _Dictionary
    docs: Ids
    codes: Codes
    starts: Ids  # where each rowid's pairs start in the sorted part (rowid + 1: where they end)
    tail_docs: Ids
    tail_codes: Codes
    # docs_with's answers for this (immutable) snapshot: filters repeat (theme tiles, a
    # gemeente's start page), and building one walks every pair of the field
    _masks: dict[tuple[tuple[int, ...] | None, int], Mask] = dataclass_field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def build(cls, values: _Dictionary, docs: Ids, codes: Codes) -> _Entries:
        order = np.argsort(docs, kind="stable")
        docs = docs[order]
        top = int(docs[-1]) + 2 if docs.size else 1
        starts = np.searchsorted(docs, np.arange(top, dtype=np.int64), side="left")
        empty = np.empty(0, dtype=np.int64)
        return cls(values, docs, codes[order], starts, empty, np.empty(0, dtype=np.int32))

    def _ranges(self, ids: Ids) -> tuple[Ids, Ids]:
        """Start and end of these rowids' pairs in the sorted part."""
        last = self.starts.size - 1
        clipped = np.minimum(ids, last)
        start = self.starts[clipped]
        end = self.starts[np.minimum(clipped + 1, last)]
        return start, np.where(ids < last, end, start)

    def __len__(self) -> int:
        return int(self.docs.size + self.tail_docs.size)

    def changed(self, rowids: Ids, added: list[tuple[int, str]]) -> _Entries:
        """A copy without the pairs of ``rowids`` and with ``added`` (rowid, value) pairs."""
        values = self.values.copy()
        codes = self.codes.copy()
        start, end = self._ranges(rowids)
        for s, e in zip(start.tolist(), end.tolist(), strict=True):
            codes[s:e] = 0
        tail_codes = np.where(np.isin(self.tail_docs, rowids), 0, self.tail_codes).astype(np.int32)
        new_docs = np.array([r for r, _ in added], dtype=np.int64)
        new_codes = np.array([values.code(v) for _, v in added], dtype=np.int32)
        result = _Entries(
            values,
            self.docs,
            codes,
            self.starts,
            np.concatenate([self.tail_docs, new_docs]),
            np.concatenate([tail_codes, new_codes]),
        )
        if result.tail_docs.size > TAIL_COMPACT_SHARE * max(result.docs.size, 1):
            docs = np.concatenate([result.docs, result.tail_docs])
            all_codes = np.concatenate([result.codes, result.tail_codes])
            keep = all_codes != 0
            return _Entries.build(values, docs[keep], all_codes[keep])
        return result

    def docs_with(self, codes: Sequence[int] | None, size: int) -> Mask:
        """Documents with any of these codes (``None``: with any value at all); read-only,
        shared by the searches that ask the same (at most ``MASKS_KEPT`` kept)."""
        key = (None if codes is None else tuple(sorted(codes)), size)
        mask = self._masks.get(key)
        if mask is None:
            mask = self._docs_with(codes, size)
            mask.setflags(write=False)
            if len(self._masks) >= MASKS_KEPT:
                self._masks.clear()  # rare: more distinct filters than that on one snapshot
            self._masks[key] = mask
        return mask

    def _docs_with(self, codes: Sequence[int] | None, size: int) -> Mask:
        mask = np.zeros(size, dtype=np.bool_)
        for docs, entry_codes in ((self.docs, self.codes), (self.tail_docs, self.tail_codes)):
            if codes is None:
                selected = entry_codes != 0
            elif len(codes) == 1:
                selected = entry_codes == codes[0]
            else:
                selected = np.isin(entry_codes, np.asarray(codes, dtype=np.int32))
            mask[docs[selected]] = True
        return mask

    def counts(self, ids: Ids, mask: Mask) -> dict[str, int]:
        """How many of these documents (``ids``, also given as ``mask``) have each value."""
        if ids.size * 4 < self.docs.size:  # few documents: gather their own pairs
            start, end = self._ranges(ids)
            lengths = end - start
            total = int(lengths.sum())
            offsets = np.repeat(start - np.cumsum(lengths) + lengths, lengths)
            picked = self.codes[offsets + np.arange(total)]
        else:
            picked = self.codes[mask[self.docs]]
        if self.tail_docs.size:
            picked = np.concatenate([picked, self.tail_codes[mask[self.tail_docs]]])
        counted = np.bincount(picked, minlength=len(self.values.values))
        return {
            self.values.values[code]: int(counted[code])
            for code in np.flatnonzero(counted).tolist()
            if code
        }


@dataclass(frozen=True)
class Columns:
    generation: int
    version: int
    size: int  # capacity: rowids are < size
    alive: Mask
    strings: dict[str, tuple[_Dictionary, Codes]]
    numbers: dict[str, Floats]
    lat: Floats
    lng: Floats
    name_words: Codes
    term_count: Codes
    geo_rank: Codes  # precision of the point: 0 exact … 3 kern centroid (distance ties)
    arrays: dict[str, _Entries]
    names: dict[int, tuple[str, str]]  # rowid -> (name_sort, id)
    _name_rank: list[Floats | None]  # computed when first needed (sort by name)
    loaded_fully: bool = True  # False: refreshed from the change log

    # --- loading ----------------------------------------------------------------------------

    @classmethod
    def load(cls, conn: sqlite3.Connection, g: int, version: int) -> Columns:
        (top,) = conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM docs_{g}").fetchone()
        size = int(top) + 1
        columns = cls(
            generation=g,
            version=version,
            size=size,
            alive=np.zeros(size, dtype=np.bool_),
            strings={f: (_Dictionary(), np.zeros(size, dtype=np.int32)) for f in STRING_FIELDS},
            numbers={f: np.full(size, np.nan) for f in NUMBER_FIELDS},
            lat=np.full(size, np.nan),
            lng=np.full(size, np.nan),
            name_words=np.zeros(size, dtype=np.int32),
            term_count=np.zeros(size, dtype=np.int32),
            geo_rank=np.zeros(size, dtype=np.int32),
            arrays={},
            names={},
            _name_rank=[None],
        )
        columns._read_rows(conn, g, None)
        groups: dict[str, tuple[_Dictionary, list[Ids], list[int]]] = {
            f: (_Dictionary(), [], []) for f in sorted(ARRAY_FIELDS)
        }
        for field, value, docs in conn.execute(
            f"SELECT field, value, group_concat(doc) FROM vals_{g} GROUP BY field, value"
        ):
            if field in groups:
                dictionary, doc_parts, code_parts = groups[field]
                doc_parts.append(rowids_from(docs))
                code_parts.append(dictionary.code(str(value)))
        arrays: dict[str, _Entries] = {}
        for field, (dictionary, doc_parts, code_parts) in groups.items():
            docs = np.concatenate(doc_parts) if doc_parts else np.empty(0, dtype=np.int64)
            codes = np.repeat(
                np.asarray(code_parts, dtype=np.int32),
                np.asarray([p.size for p in doc_parts], dtype=np.int64),
            )
            arrays[field] = _Entries.build(dictionary, docs, codes)
        columns.arrays.update(arrays)
        return columns

    def _read_rows(self, conn: sqlite3.Connection, g: int, rowids: Ids | None) -> None:
        """(Re)fill the per-document arrays of these rowids (all when None) in place."""
        selected = ", ".join(("rowid", *DOC_COLUMNS, *STRING_FIELDS, *NUMBER_FIELDS))
        sql = f"SELECT {selected} FROM docs_{g}"
        params: list[Any] = []
        if rowids is not None:
            sql += " WHERE rowid IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(rowids.tolist()))
        rows = conn.execute(sql, params).fetchall()
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        r = np.asarray(columns[0], dtype=np.int64)
        self.alive[r] = True
        self.names.update(zip(columns[0], zip(columns[2], columns[1], strict=True), strict=True))
        self.lat[r] = _floats(columns[3])
        self.lng[r] = _floats(columns[4])
        self.name_words[r] = np.asarray([v or 0 for v in columns[5]], dtype=np.int32)
        self.term_count[r] = np.asarray([v or 0 for v in columns[6]], dtype=np.int32)
        self.geo_rank[r] = np.asarray([v or 0 for v in columns[7]], dtype=np.int32)
        base = 1 + len(DOC_COLUMNS)
        for i, f in enumerate(STRING_FIELDS):
            dictionary, codes = self.strings[f]
            column = columns[base + i]
            known = {v: dictionary.code(str(v)) for v in set(column) if v is not None}
            known[None] = 0
            codes[r] = np.asarray([known[v] for v in column], dtype=np.int32)
        for i, f in enumerate(NUMBER_FIELDS):
            self.numbers[f][r] = _floats(columns[base + len(STRING_FIELDS) + i])

    def refresh(self, conn: sqlite3.Connection, g: int, version: int) -> Columns:
        """These columns at the index's current ``version`` (self when nothing changed)."""
        if g == self.generation and version == self.version:
            return self
        if g != self.generation or version - self.version > CHANGE_LOG_VERSIONS:
            return Columns.load(conn, g, version)
        (changed_json,) = conn.execute(
            f"SELECT json_group_array(DISTINCT rowid) FROM changes_{g} WHERE version > ? AND version <= ?",
            (self.version, version),
        ).fetchone()
        changed = np.array(sorted(json.loads(changed_json)), dtype=np.int64)
        if changed.size > FULL_RELOAD_SHARE * max(int(self.alive.sum()), 1):
            return Columns.load(conn, g, version)
        (top,) = conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM docs_{g}").fetchone()
        size = max(self.size, int(top) + 1)
        grow = size - self.size

        def grown(array: Any, fill: Any) -> Any:
            return np.concatenate([array, np.full(grow, fill, dtype=array.dtype)])

        updated = replace(
            self,
            version=version,
            size=size,
            alive=grown(self.alive, False),
            strings={f: (d.copy(), grown(c, 0)) for f, (d, c) in self.strings.items()},
            numbers={f: grown(a, np.nan) for f, a in self.numbers.items()},
            lat=grown(self.lat, np.nan),
            lng=grown(self.lng, np.nan),
            name_words=grown(self.name_words, 0),
            term_count=grown(self.term_count, 0),
            geo_rank=grown(self.geo_rank, 0),
            names=dict(self.names),
            _name_rank=[None],
            loaded_fully=False,
        )
        known = changed[changed < size]
        updated.alive[known] = False
        updated.lat[known] = np.nan
        updated.lng[known] = np.nan
        for r in known.tolist():
            updated.names.pop(r, None)
        updated._read_rows(conn, g, known)
        added: dict[str, list[tuple[int, str]]] = {f: [] for f in updated.arrays}
        for doc, field, value in conn.execute(
            f"SELECT doc, field, value FROM vals_{g} WHERE doc IN (SELECT value FROM json_each(?))",
            [json.dumps(known.tolist())],
        ):
            if field in added:
                added[field].append((int(doc), str(value)))
        arrays = {f: e.changed(known, added[f]) for f, e in updated.arrays.items()}
        return replace(updated, arrays=arrays)

    # --- reading ----------------------------------------------------------------------------

    @property
    def documents(self) -> int:
        return int(self.alive.sum())

    def mask(self, node: Filter | None) -> Mask:
        """The live documents that pass this filter."""
        if node is None:
            return self.alive.copy()
        return self._mask(node) & self.alive

    def _mask(self, node: Filter) -> Mask:
        if isinstance(node, And | Or):
            if not node.items:
                return self.alive.copy() if isinstance(node, And) else self._none()
            masks = [self._mask(item) for item in node.items]
            result = masks[0].copy()
            for m in masks[1:]:
                if isinstance(node, And):
                    result &= m
                else:
                    result |= m
            return result
        if isinstance(node, Not):
            return ~self._mask(node.item) & self.alive
        field = node.field
        if field in ARRAY_FIELDS:
            entries = self.arrays[field]
            if isinstance(node, Eq | In):
                wanted = (node.value,) if isinstance(node, Eq) else node.values
                known = entries.values.codes
                entry_codes = [known[_text(v)] for v in wanted if _text(v) in known]
                return entries.docs_with(entry_codes, self.size) if entry_codes else self._none()
            if isinstance(node, Exists):
                return entries.docs_with(None, self.size)
            raise ValueError(f"filter {type(node).__name__} werkt niet op lijstveld {field}")
        if field in self.strings:
            dictionary, column = self.strings[field]
            if isinstance(node, Eq | In):
                wanted = (node.value,) if isinstance(node, Eq) else node.values
                found = [dictionary.codes[_text(v)] for v in wanted if _text(v) in dictionary.codes]
                if not found:
                    return self._none()
                if len(found) == 1:
                    return np.asarray(column == found[0])
                return np.isin(column, np.asarray(found, dtype=np.int32))
            if isinstance(node, Exists):
                return np.asarray(column != 0)
            if isinstance(node, Range):
                raise ValueError(f"bereikfilter alleen op getallen, niet op {field}")
            raise ValueError(f"onbekend filter: {node!r}")
        if field in self.numbers:
            values = self.numbers[field]
            with np.errstate(invalid="ignore"):
                if isinstance(node, Eq | In):
                    wanted = (node.value,) if isinstance(node, Eq) else node.values
                    numbers = [float(v) for v in wanted if _is_number(v)]
                    return np.isin(values, np.asarray(numbers, dtype=np.float64))
                if isinstance(node, Exists):
                    return np.asarray(~np.isnan(values))
                if isinstance(node, Range):
                    result = ~np.isnan(values)
                    if node.gte is not None:
                        result &= values >= node.gte
                    if node.lte is not None:
                        result &= values <= node.lte
                    return np.asarray(result)
            raise ValueError(f"onbekend filter: {node!r}")
        raise ValueError(f"onbekend filterveld: {field}")

    def _none(self) -> Mask:
        return np.zeros(self.size, dtype=np.bool_)

    def within(self, mask: Mask, radius: GeoRadius) -> tuple[Mask, Floats]:
        """``mask`` limited to the circle, and the distance in metres of every document in it
        (NaN elsewhere). Documents without coordinates never match a radius."""
        c, r = radius.center, radius.radius_m
        dlat = np.degrees(r / EARTH_RADIUS_M)
        dlng = np.degrees(r / (EARTH_RADIUS_M * max(np.cos(np.radians(c.lat)), 1e-6)))
        with np.errstate(invalid="ignore"):
            box = (
                mask
                & (self.lat >= c.lat - dlat)
                & (self.lat <= c.lat + dlat)
                & (self.lng >= c.lng - dlng)
                & (self.lng <= c.lng + dlng)
            )
        ids = np.flatnonzero(box)
        distances = np.full(self.size, np.nan)
        distances[ids] = self.distances(ids, c.lat, c.lng)
        inside = ids[distances[ids] <= r]
        result = np.zeros(self.size, dtype=np.bool_)
        result[inside] = True
        return result, distances

    def distances(self, ids: Ids, lat: float, lng: float) -> Floats:
        """Haversine distances in metres (NaN without coordinates), as search.geo does."""
        phi1, phi2 = np.radians(lat), np.radians(self.lat[ids])
        dphi = phi2 - phi1
        dlmb = np.radians(self.lng[ids] - lng)
        a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
        return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0))))

    def name_rank(self) -> Floats:
        """Every document's place in (name_sort, id) order."""
        rank = self._name_rank[0]
        if rank is None:
            rank = np.full(self.size, np.inf)
            ordered = sorted(self.names, key=self.names.__getitem__)
            rank[np.asarray(ordered, dtype=np.int64)] = np.arange(len(ordered), dtype=np.float64)
            self._name_rank[0] = rank
        return rank

    def facets(self, fields: Sequence[str], ids: Ids) -> dict[str, dict[str, int]]:
        """Facet counts of these documents, exact."""
        unknown = [f for f in fields if f not in self.arrays and f not in self.strings]
        if unknown:
            raise ValueError(f"onbekend facetveld: {', '.join(unknown)}")
        mask = np.zeros(self.size, dtype=np.bool_)
        mask[ids] = True
        result: dict[str, dict[str, int]] = {}
        for f in fields:
            if f in self.arrays:
                result[f] = self.arrays[f].counts(ids, mask)
            else:
                dictionary, codes = self.strings[f]
                counted = np.bincount(codes[ids], minlength=len(dictionary.values))
                result[f] = {
                    dictionary.values[c]: int(counted[c])
                    for c in np.flatnonzero(counted).tolist()
                    if c
                }
        return result


def _floats(values: Sequence[Any]) -> Floats:
    return np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _text(value: object) -> str:
    """A filter value as SQLite compared it with a TEXT column (True → "1")."""
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True
