"""Meilisearch backend: the production engine behind the shared ``SearchBackend`` interface.

Rules this module enforces (see shared/design/search.md):

* indexes are always created with ``primaryKey = "id"``; settings are applied before any
  document (``upsert``/``delete`` refuse to run against an index that does not exist, so a
  document write can never create an index implicitly, without settings);
* every write returns a task; we wait for it (``task_timeout_s``) and raise
  ``IndexTaskFailedError`` when it ``failed`` or was ``canceled`` — Meilisearch never reports
  a failed task on the write itself;
* ``_geo`` is validated before a batch is sent (one bad ``_geo`` fails the whole batch in
  Meilisearch): ``{"lat": -90..90, "lng": -180..180}``, numbers, nothing else. A bad value
  raises ``ValueError`` naming the document id; ``_geo: None`` is dropped (no coordinates);
* filters are the typed tree of ``search.types``, translated here; field names must be
  known filterable attributes (``search.settings``), every string value is double-quoted
  with ``\\`` and ``"`` escaped, numbers are formatted by us. Empty ``And`` is always true,
  empty ``Or``/``In`` never true (as in the embedded backend); a filter that can never match
  is answered without a request. ``Exists`` means "present and not null" (scalars) or
  "present and not empty" (arrays), matching the embedded backend rather than bare
  ``EXISTS``, which is also true for ``null`` and ``[]``;
* connection errors, timeouts and API errors become ``SearchUnavailableError``.

Query text. Meilisearch has no Dutch stemmer, so documents carry ``search_terms`` (stems,
compound parts, lay words; see ``search.analysis``). The query is analysed with the same
``Analyzer`` (pass the one built from the taxonomy vocabulary; the default ``Analyzer()``
stems but splits no compounds) and ``q`` is rebuilt from it, up to Meilisearch's 10 words:

    stems of every word (in the analyser's order: need words first), then stems of
    compound parts, then the words as typed, the word typed last at the very end

Matching strategy ``last`` drops terms from the end and never drops the first one. Stems
come first because every document that mentions a query word in any inflection carries its
stem in ``search_terms``: relaxing the query ends on the stems of what the user typed, like
the embedded backend. Compound parts and the original words only refine ranking (documents
matching more of them rank higher through the ``words`` rule), and the last typed word is
always the last term, so Meilisearch's prefix search applies to it as the user types.
Stop words are dropped, and only ``[0-9a-z]`` words survive analysis, so phrase quotes and
``-`` negation in user text never become Meilisearch syntax. Variant spellings are sent as
``synonyms`` in the settings. Known difference: the embedded backend also accepts a
compound word when all its parts occur; here the parts only add ranking signal.

``rebuild`` builds ``<uid>_new`` (settings, then batches), swaps it with the live index
(created empty first if missing, so the swap works) and deletes the old one. A failure
before the swap deletes ``<uid>_new`` and leaves the live index untouched; a leftover
``<uid>_new`` from an interrupted rebuild is deleted at the start of the next one.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import meilisearch
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchError,
    MeilisearchTimeoutError,
)
from meilisearch.models.task import TaskInfo

from search.analysis import Analyzer
from search.backend import Document, SearchBackend
from search.geo import haversine_m
from search.highlight import POST, PRE, from_sentinels
from search.settings import ARRAY_FIELDS, FILTERABLE_ATTRIBUTES, INDEX_UID, NUMERIC_FIELDS
from search.types import (
    And,
    Eq,
    Exists,
    Filter,
    GeoPoint,
    GeoRadius,
    Hit,
    In,
    IndexStats,
    Not,
    Or,
    Range,
    Scalar,
    SearchQuery,
    SearchResult,
    SearchUnavailableError,
    SortOrder,
)

logger = logging.getLogger(__name__)

PRIMARY_KEY = "id"
HIGHLIGHT_FIELDS = ("name", "summary")
MATCHING_STRATEGY = "last"
MAX_QUERY_TERMS = 10  # Meilisearch only considers the first ten words of q
# Field names that may appear in filters and facets: the filterable attributes, minus _geo
# (geo filtering goes through GeoRadius, never through the filter tree).
FILTER_FIELDS = frozenset(FILTERABLE_ATTRIBUTES) - {"_geo"}
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INDEX_UID = re.compile(r"^[A-Za-z0-9_-]{1,400}$")
_DOCUMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,511}$")
# Keys Meilisearch adds to a hit; everything else is the stored document (including _geo).
_HIT_META = frozenset(
    {"_formatted", "_geoDistance", "_matchesPosition", "_rankingScore", "_rankingScoreDetails"}
)


class IndexTaskFailedError(SearchUnavailableError):
    """A Meilisearch task ended ``failed`` (or ``canceled``)."""

    def __init__(self, message: str, *, task_uid: int, code: str | None = None) -> None:
        super().__init__(message)
        self.task_uid = task_uid
        self.code = code


# --- filters ---------------------------------------------------------------------------------


def quote(value: str) -> str:
    """A Meilisearch filter string literal: double quotes, ``\\`` and ``"`` escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(value: float) -> str:
    """A number as filter text (``30``, ``17.5``); never NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _literal(value: Scalar) -> str:
    if isinstance(value, bool):
        return quote("true" if value else "false")
    if isinstance(value, int | float):
        return quote(number(value))
    if isinstance(value, str):
        return quote(value)
    raise ValueError(f"unsupported filter value: {value!r}")


def _field(name: str, fields: frozenset[str]) -> str:
    if name not in fields or not _FIELD_NAME.match(name):
        raise ValueError(f"unknown filter field: {name!r} (filterable: {sorted(fields)})")
    return name


# A translated node: (text, grouped) or a constant (True: no constraint, False: no match).
_Node = tuple[str, bool] | bool


def _translate(node: Filter, fields: frozenset[str]) -> _Node:
    if isinstance(node, And | Or):
        identity = isinstance(node, And)  # And(): True, Or(): False
        parts: list[tuple[str, bool]] = []
        for item in node.items:
            sub = _translate(item, fields)
            if sub is identity:
                continue
            if sub is (not identity):
                return not identity
            assert not isinstance(sub, bool)
            parts.append(sub)
        if not parts:
            return identity
        if len(parts) == 1:
            return parts[0]
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(text for text, _ in parts) + ")", True
    if isinstance(node, Not):
        sub = _translate(node.item, fields)
        if isinstance(sub, bool):
            return not sub
        text, grouped = sub
        return (f"NOT {text}" if grouped else f"NOT ({text})"), False
    if isinstance(node, Eq):
        return f"{_field(node.field, fields)} = {_literal(node.value)}", False
    if isinstance(node, In):
        name = _field(node.field, fields)
        if not node.values:
            return False
        return f"{name} IN [{', '.join(_literal(v) for v in node.values)}]", False
    if isinstance(node, Exists):
        name = _field(node.field, fields)
        absent = "EMPTY" if name in ARRAY_FIELDS else "NULL"
        return f"({name} EXISTS AND {name} IS NOT {absent})", True
    if isinstance(node, Range):
        name = _field(node.field, fields)
        if name not in NUMERIC_FIELDS:
            raise ValueError(f"range filter on a non-numeric field: {name!r}")
        bounds = []
        if node.gte is not None:
            bounds.append(f"{name} >= {number(node.gte)}")
        if node.lte is not None:
            bounds.append(f"{name} <= {number(node.lte)}")
        if not bounds:
            return True
        if len(bounds) == 1:
            return bounds[0], False
        return "(" + " AND ".join(bounds) + ")", True
    raise ValueError(f"unknown filter node: {node!r}")


def translate_filter(node: Filter, fields: frozenset[str] = FILTER_FIELDS) -> str | bool:
    """Meilisearch filter text for a filter tree, or a constant (True: all, False: none)."""
    result = _translate(node, fields)
    return result if isinstance(result, bool) else result[0]


def _check_point(point: GeoPoint) -> None:
    for name, value, limit in (("lat", point.lat, 90.0), ("lng", point.lng, 180.0)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"geo point {name} is not a number: {value!r}")
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise ValueError(f"geo point {name} out of range: {value!r}")


def geo_radius_filter(radius: GeoRadius) -> str:
    _check_point(radius.center)
    number(radius.radius_m)  # finite number
    if radius.radius_m < 0:
        raise ValueError(f"negative geo radius: {radius.radius_m!r}")
    c = radius.center
    return f"_geoRadius({number(c.lat)}, {number(c.lng)}, {number(radius.radius_m)})"


def sort_for(query: SearchQuery) -> list[str] | None:
    if query.sort is SortOrder.relevance:
        return None
    if query.sort is SortOrder.name:
        return ["name_sort:asc"]
    point = query.point
    if point is None:
        raise ValueError("sorting by distance needs a geo point or radius")
    _check_point(point)
    # equal distance: an exact address before a centroid (docs/search.md, "Distance")
    return [
        f"_geoPoint({number(point.lat)}, {number(point.lng)}):asc",
        "geo_precision_rank:asc",
    ]


# --- documents --------------------------------------------------------------------------------


def checked_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document as it will be sent; ``ValueError`` (naming its id) when Meilisearch
    would fail the whole batch because of it."""
    doc_id = document.get(PRIMARY_KEY)
    if not isinstance(doc_id, str) or not _DOCUMENT_ID.match(doc_id):
        raise ValueError(f"document id {doc_id!r} is not a valid Meilisearch document id")
    out = dict(document)
    if "_geo" not in out:
        return out
    geo = out["_geo"]
    if geo is None:
        del out["_geo"]
        return out
    if not isinstance(geo, Mapping) or set(geo) != {"lat", "lng"}:
        raise ValueError(f"document {doc_id}: _geo must be {{'lat': …, 'lng': …}}, got {geo!r}")
    coords: dict[str, float] = {}
    for name, limit in (("lat", 90.0), ("lng", 180.0)):
        value = geo[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"document {doc_id}: _geo.{name} is not a number: {value!r}")
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise ValueError(f"document {doc_id}: _geo.{name} out of range: {value!r}")
        coords[name] = float(value)
    out["_geo"] = coords
    return out


# --- the backend ------------------------------------------------------------------------------


class MeilisearchBackend(SearchBackend):
    name = "meilisearch"

    def __init__(
        self,
        *,
        url: str,
        api_key: str | None,
        index_uid: str = INDEX_UID,
        timeout_s: float = 5.0,
        client: meilisearch.Client | None = None,
        analyzer: Analyzer | None = None,
        task_timeout_s: float = 60.0,
    ) -> None:
        if not _INDEX_UID.match(index_uid):
            raise ValueError(f"invalid Meilisearch index uid: {index_uid!r}")
        self.url = url
        self.index_uid = index_uid
        self.analyzer = analyzer or Analyzer()
        self.task_timeout_s = task_timeout_s
        # The client's timeout is whole seconds; it bounds every HTTP call (health included).
        self.client = client or meilisearch.Client(
            url, api_key, timeout=max(1, math.ceil(timeout_s))
        )
        self._index_ready = False

    # --- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _engine(self, action: str) -> Iterator[None]:
        try:
            yield
        except SearchUnavailableError:
            raise
        except MeilisearchApiError as exc:
            raise SearchUnavailableError(
                f"Meilisearch refused {action} on index {self.index_uid!r}: {exc.message}"
                f" (code {exc.code}, HTTP {exc.status_code})"
            ) from exc
        except MeilisearchTimeoutError as exc:
            raise SearchUnavailableError(
                f"Meilisearch at {self.url} timed out during {action}: {exc.message}"
            ) from exc
        except MeilisearchCommunicationError as exc:
            raise SearchUnavailableError(
                f"cannot reach Meilisearch at {self.url} ({action}): {exc.message}"
            ) from exc
        except MeilisearchError as exc:
            raise SearchUnavailableError(f"Meilisearch error during {action}: {exc}") from exc
        except OSError as exc:  # requests.RequestException is an OSError
            raise SearchUnavailableError(
                f"cannot reach Meilisearch at {self.url} ({action}): {exc}"
            ) from exc

    def _wait(self, task: TaskInfo, action: str) -> None:
        done = self.client.wait_for_task(
            task.task_uid, timeout_in_ms=int(self.task_timeout_s * 1000), interval_in_ms=50
        )
        if done.status == "succeeded":
            return
        error = done.error or {}
        code = error.get("code")
        detail = error.get("message") or "no error message"
        raise IndexTaskFailedError(
            f"Meilisearch task {done.uid} ({done.type}, {action}) {done.status}: {detail}"
            + (f" [{code}]" if code else ""),
            task_uid=done.uid,
            code=code,
        )

    def _index_info(self, uid: str) -> dict[str, Any] | None:
        """The index's description, or None when it does not exist."""
        try:
            info: dict[str, Any] = self.client.get_raw_index(uid)
        except MeilisearchApiError as exc:
            if exc.code == "index_not_found" or exc.status_code == 404:
                return None
            raise
        return info

    def _create_index(self, uid: str) -> None:
        self._wait(self.client.create_index(uid, {"primaryKey": PRIMARY_KEY}), f"create {uid}")

    def _ensure_index(self, uid: str) -> None:
        info = self._index_info(uid)
        if info is None:
            self._create_index(uid)
            return
        primary_key = info.get("primaryKey")
        if primary_key not in (None, PRIMARY_KEY):
            raise SearchUnavailableError(
                f"Meilisearch index {uid!r} has primary key {primary_key!r}, expected "
                f"{PRIMARY_KEY!r}: delete the index and rebuild"
            )

    def _require_index(self) -> None:
        if self._index_ready:
            return
        if self._index_info(self.index_uid) is None:
            raise SearchUnavailableError(
                f"Meilisearch index {self.index_uid!r} does not exist: apply settings "
                "(or rebuild) before writing documents"
            )
        self._index_ready = True

    def _delete_index(self, uid: str) -> None:
        self._wait(self.client.delete_index(uid), f"delete {uid}")

    def _add(self, uid: str, documents: Sequence[Document]) -> None:
        payload = [checked_document(d) for d in documents]  # raises before sending
        if not payload:
            return
        with self._engine(f"adding documents to {uid}"):
            task = self.client.index(uid).add_documents(payload, primary_key=PRIMARY_KEY)
            self._wait(task, f"add {len(payload)} documents")

    # --- SearchBackend: writing -----------------------------------------------------------

    def apply_settings(self, settings: dict[str, Any]) -> None:
        with self._engine("applying settings"):
            self._ensure_index(self.index_uid)
            self._wait(self.client.index(self.index_uid).update_settings(settings), "settings")
        self._index_ready = True

    def upsert(self, documents: Sequence[Document]) -> None:
        payload = [checked_document(d) for d in documents]  # raises before anything is sent
        if not payload:
            return
        with self._engine("checking the index"):
            self._require_index()
        self._add(self.index_uid, payload)

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._engine("deleting documents"):
            self._require_index()
            paths = self.client.config.paths
            path = f"{paths.index}/{self.index_uid}/{paths.document}/delete-batch"
            task = TaskInfo(**self.client.http.post(path, [str(i) for i in ids]))
            self._wait(task, f"delete {len(ids)} documents")

    def rebuild(self, settings: dict[str, Any], batches: Iterable[Sequence[Document]]) -> int:
        new = f"{self.index_uid}_new"
        with self._engine("rebuilding"):
            if self._index_info(new) is not None:  # leftover of an interrupted rebuild
                self._delete_index(new)
            self._create_index(new)
        ids: set[str] = set()
        try:
            with self._engine("rebuilding"):
                self._wait(self.client.index(new).update_settings(settings), "settings")
            for batch in batches:
                self._add(new, batch)
                ids.update(str(d[PRIMARY_KEY]) for d in batch)
            with self._engine("swapping indexes"):
                if self._index_info(self.index_uid) is None:
                    self._create_index(self.index_uid)
                self._wait(self.client.swap_indexes([{"indexes": [self.index_uid, new]}]), "swap")
        except BaseException:
            try:
                with self._engine("cleaning up"):
                    self._delete_index(new)
            except SearchUnavailableError as cleanup:
                logger.warning("rebuild failed and %s could not be deleted: %s", new, cleanup)
            raise
        self._index_ready = True
        try:
            with self._engine("deleting the old index"):
                self._delete_index(new)
        except SearchUnavailableError as exc:
            # The live index is rebuilt; the next rebuild removes the leftover first.
            logger.warning("rebuild done, but the old index %s was not deleted: %s", new, exc)
        return len(ids)

    def delete_index(self) -> None:
        """Delete the live index (tests, decommissioning); a missing index is fine."""
        with self._engine("deleting the index"):
            if self._index_info(self.index_uid) is not None:
                self._delete_index(self.index_uid)
        self._index_ready = False

    # --- SearchBackend: reading -----------------------------------------------------------

    def query_text(self, text: str) -> str:
        """``q`` for Meilisearch: stems, then compound parts, then the words as typed."""
        words = self.analyzer.query(text)
        if not words:
            return ""
        terms = [w.stem for w in words]  # in the analyser's order (need words first)
        terms += [p for w in words for p in w.parts]
        terms += [w.original for w in words]
        last = next((w.original for w in words if w.is_last), words[-1].original)
        unique = [t for t in dict.fromkeys(terms) if t != last]
        return " ".join([*unique[: MAX_QUERY_TERMS - 1], last])

    def search_request(self, query: SearchQuery) -> dict[str, Any] | None:
        """The search body (None: the filter can never match, nothing to ask)."""
        if query.page < 1 or query.per_page < 0:
            raise ValueError(f"invalid page {query.page} / per_page {query.per_page}")
        for facet in query.facets:
            _field(facet, FILTER_FIELDS)
        clauses: list[str] = []
        if query.filter is not None:
            translated = translate_filter(query.filter)
            if translated is False:
                return None
            if isinstance(translated, str):
                clauses.append(translated)
        if query.geo_radius is not None:
            clauses.append(geo_radius_filter(query.geo_radius))
        if query.geo_point is not None:
            _check_point(query.geo_point)
        body: dict[str, Any] = {
            "q": self.query_text(query.text),
            "page": query.page,
            "hitsPerPage": query.per_page,
            "matchingStrategy": MATCHING_STRATEGY,
            "attributesToHighlight": list(HIGHLIGHT_FIELDS),
            "highlightPreTag": PRE,
            "highlightPostTag": POST,
        }
        if clauses:
            body["filter"] = " AND ".join(clauses)
        sort = sort_for(query)
        if sort:
            body["sort"] = sort
        if query.facets:
            body["facets"] = list(query.facets)
        return body

    def search(self, query: SearchQuery) -> SearchResult:
        body = self.search_request(query)
        if body is None:
            return SearchResult(hits=[], total=0, facets={f: {} for f in query.facets})
        q = body.pop("q")
        with self._engine("search"):
            raw = self.client.index(self.index_uid).search(q, body)
        return self._result(raw, query)

    @staticmethod
    def _result(raw: Mapping[str, Any], query: SearchQuery) -> SearchResult:
        point = query.point
        hits: list[Hit] = []
        for raw_hit in raw.get("hits", []):
            document = {k: v for k, v in raw_hit.items() if k not in _HIT_META}
            distance: float | None = None
            if point is not None:
                geo_distance = raw_hit.get("_geoDistance")
                geo = document.get("_geo")
                if isinstance(geo_distance, int | float):
                    distance = float(geo_distance)
                elif isinstance(geo, Mapping) and geo.get("lat") is not None:
                    distance = haversine_m(point, float(geo["lat"]), float(geo["lng"]))
            formatted = raw_hit.get("_formatted") or {}
            highlight: dict[str, str] = {}
            for field in HIGHLIGHT_FIELDS:
                value = formatted.get(field)
                if not isinstance(value, str):
                    value = str(document.get(field) or "")
                highlight[field] = from_sentinels(value)
            hits.append(
                Hit(
                    id=str(document[PRIMARY_KEY]),
                    document=document,
                    distance_m=distance,
                    highlight=highlight,
                )
            )
        distribution = raw.get("facetDistribution") or {}
        facets = {
            f: {str(k): int(v) for k, v in (distribution.get(f) or {}).items()}
            for f in query.facets
        }
        total = raw.get("totalHits")
        return SearchResult(
            hits=hits, total=int(total) if total is not None else len(hits), facets=facets
        )

    def health(self) -> bool:
        try:
            return bool(self.client.is_healthy())
        except Exception:  # health never raises: any failure means "not healthy"
            return False

    def stats(self) -> IndexStats:
        with self._engine("stats"):
            try:
                stats = self.client.index(self.index_uid).get_stats()
            except MeilisearchApiError as exc:
                if exc.code == "index_not_found":
                    return IndexStats(documents=0)  # nothing indexed yet
                raise
        return IndexStats(documents=int(stats.number_of_documents))
