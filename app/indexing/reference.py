"""What a search's filters are checked against — taxonomy slugs, gemeenten, wijken, kernen and
postcode centroids — kept in memory per process, so that a search costs no database round trip.

Exact for this process: any commit in this process (of an ORM session or a Core statement)
that wrote one of these tables makes the next search load them again (``written_generation``).
What another process writes (another uvicorn worker, the command line) is seen after at most
``max_age_s`` (SEARCH_REFERENCE_MAX_AGE_S, 60 s by default): a new wijk may answer "bestaat
niet" in the other worker for up to that long. The tables change a few times a year.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel import Session, col, select

from app.geo.models import PostcodeCentroid
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from search.types import GeoPoint

WATCHED_TABLES = frozenset(
    {"taxonomy", "taxonomy_term", "municipality", "neighbourhood", "place", "postcode_centroid"}
)
POSTCODES_KEPT = 4096  # per snapshot: the postcodes searched most recently
_WRITTEN = "reference_written"

_lock = threading.Lock()
_written = 0  # bumped by every commit in this process that wrote a watched table


def written_generation() -> int:
    return _written


def _bump() -> None:
    global _written
    with _lock:
        _written += 1


def _after_execute(conn: Connection, clause: Any, *_args: Any) -> None:
    if isinstance(clause, UpdateBase):
        table = getattr(clause, "table", None)
        if getattr(table, "name", None) in WATCHED_TABLES:
            conn.info[_WRITTEN] = True
            _bump()  # and again at the commit: a load in between must not be kept


def _after_commit(conn: Connection) -> None:
    if conn.info.pop(_WRITTEN, False):
        _bump()


def _after_rollback(conn: Connection) -> None:
    if conn.info.pop(_WRITTEN, False):
        _bump()  # a load between the write and the rollback must not be kept either


def _after_savepoint_rollback(conn: Connection, *_args: Any) -> None:
    if conn.info.get(_WRITTEN):
        _bump()


def install_reference_tracking() -> None:
    """Listen to every engine's writes of the watched tables (idempotent)."""
    for name, listener in (
        ("after_execute", _after_execute),
        ("commit", _after_commit),
        ("rollback", _after_rollback),
        ("rollback_savepoint", _after_savepoint_rollback),
    ):
        if not event.contains(Engine, name, listener):
            event.listen(Engine, name, listener)


@dataclass
class Snapshot:
    serial: int  # unique per load in this process: part of the search answer cache's key
    written: int  # written_generation() when the load began
    loaded_at: float
    taxonomy_slugs: dict[str, list[str]]  # taxonomy slug → its term slugs, in display order
    municipalities: dict[str, uuid.UUID]  # slug → id
    neighbourhoods: dict[str, frozenset[uuid.UUID]]  # slug → the gemeenten that have one
    places: dict[str, frozenset[uuid.UUID]]
    postcodes: OrderedDict[str, GeoPoint | None] = field(default_factory=OrderedDict)


class SearchReference:
    """The snapshot of the reference tables a search checks its filters against."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        *,
        max_age_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        install_reference_tracking()
        self.sessions = sessions
        self.max_age_s = max_age_s
        self.clock = clock
        self._serials = itertools.count(1)
        self._snapshot: Snapshot | None = None
        self._load_lock = threading.Lock()
        self._postcode_lock = threading.Lock()

    def _fresh(self, snapshot: Snapshot | None) -> bool:
        return (
            snapshot is not None
            and snapshot.written == written_generation()
            and self.clock() - snapshot.loaded_at < self.max_age_s
        )

    def peek(self) -> Snapshot | None:
        """The snapshot if it is still fresh, without loading (for the event loop)."""
        snapshot = self._snapshot
        return snapshot if self._fresh(snapshot) else None

    def current(self) -> Snapshot:
        """The fresh snapshot, loaded from the database when needed."""
        snapshot = self._snapshot
        if snapshot is not None and self._fresh(snapshot):
            return snapshot
        with self._load_lock:
            snapshot = self._snapshot
            if snapshot is None or not self._fresh(snapshot):
                snapshot = self._load()
                self._snapshot = snapshot
            return snapshot

    def invalidate(self) -> None:
        self._snapshot = None

    def _load(self) -> Snapshot:
        written = written_generation()
        loaded_at = self.clock()
        taxonomy_slugs: dict[str, list[str]] = {}
        neighbourhoods: dict[str, set[uuid.UUID]] = {}
        places: dict[str, set[uuid.UUID]] = {}
        with self.sessions() as session:
            connection = session.connection()
            terms = connection.execute(
                select(Taxonomy.slug, TaxonomyTerm.slug)
                .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
                .order_by(col(TaxonomyTerm.position), col(TaxonomyTerm.slug))
            )
            for taxonomy_slug, term_slug in terms:
                taxonomy_slugs.setdefault(taxonomy_slug, []).append(term_slug)
            municipalities: dict[str, uuid.UUID] = {}
            for slug, id_ in connection.execute(select(Municipality.slug, Municipality.id)):
                municipalities[slug] = id_
            for model, found in ((Neighbourhood, neighbourhoods), (Place, places)):
                for slug, municipality_id in connection.execute(
                    select(model.slug, model.municipality_id)
                ):
                    found.setdefault(slug, set()).add(municipality_id)
        return Snapshot(
            serial=next(self._serials),
            written=written,
            loaded_at=loaded_at,
            taxonomy_slugs=taxonomy_slugs,
            municipalities=municipalities,
            neighbourhoods={slug: frozenset(ids) for slug, ids in neighbourhoods.items()},
            places={slug: frozenset(ids) for slug, ids in places.items()},
        )

    def postcode(self, snapshot: Snapshot, code: str) -> GeoPoint | None:
        """The centroid of a PC4 or PC6 code (normalised: ``1422`` / ``1422AB``), or None."""
        with self._postcode_lock:
            if code in snapshot.postcodes:
                snapshot.postcodes.move_to_end(code)
                return snapshot.postcodes[code]
        with self.sessions() as session:
            row = session.get(PostcodeCentroid, code)
            point = GeoPoint(lat=row.latitude, lng=row.longitude) if row is not None else None
        with self._postcode_lock:
            snapshot.postcodes[code] = point
            while len(snapshot.postcodes) > POSTCODES_KEPT:
                snapshot.postcodes.popitem(last=False)
        return point
