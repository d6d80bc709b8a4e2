"""The audit trail: one event per written row, in the transaction of the write itself.

How it works (SQLAlchemy session events on ``sqlmodel.Session``, installed once):

* ``before_flush``: updates and deletes. The old values are still there: attribute history
  (``inspect(obj).attrs[x].history``) has them for loaded attributes; an attribute that was
  expired or never loaded is read from the database row, which the flush has not touched yet.
* ``after_flush``: creates (now with their generated primary keys), then every event of this
  flush is inserted with one Core INSERT on the flush's own connection: it commits or rolls
  back with the write.
* ``do_orm_execute``: ORM bulk ``delete(Model)`` / ``update(Model)`` statements (the
  "replace owned children" helper uses them) bypass the flush; their rows are read before
  (and for an update, after) the statement runs.

Who: ``principal_of(session)`` — a user id or an API key id, never an IP address.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import InstanceState, Mapper, ORMExecuteState, UOWTransaction
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, func, select

from app.accounts.principal import principal_of
from app.audit.models import AuditEvent
from app.audit.schemas import AuditEventPage, AuditEventRead
from app.core.models import utcnow
from app.core.pagination import PageParams
from app.municipalities.models import Municipality

# Noise (queues, caches, rate limiting) and secrets (refresh tokens) are not audited.
NOT_AUDITED: frozenset[str] = frozenset(
    {
        "audit_event",
        "search_outbox",
        "geocode_job",
        "geocode_cache",
        "notification_outbox",
        "login_failure",
        "refresh_token",
        "postcode_centroid",
    }
)
# Their values never enter the trail: a change shows as "***". ``message``: residents' free
# text (service_feedback) may hold personal data; the append-only trail must not keep it.
# ``note``: the redactie's note on that feedback, erased with it after the retention period
# (app/privacy/retention.py); also masks the note of a criteria version (kept in its row).
SECRET_COLUMNS: frozenset[str] = frozenset(
    {
        "password_hash",
        "token_hash",
        "key_hash",
        "message",
        "note",
        # Referral personal data (encrypted, erased after retention): never copied to audit.
        "note_enc",
        "contact_name_enc",
        "contact_phone_enc",
        "contact_email_enc",
        "outcome_enc",
    }
)
MASK = "***"
# A change of only these is bookkeeping, not an event (``last_used_at`` changes on every
# request with an API key, ``last_login_at`` on every login).
BOOKKEEPING_COLUMNS: frozenset[str] = frozenset(
    {"updated_at", "version", "last_used_at", "last_login_at"}
)

_PENDING_KEY = "audit_pending"
_RESOURCE_ID_MAX = 100


class Action(enum.StrEnum):
    create = "create"
    update = "update"
    delete = "delete"


@dataclass(frozen=True)
class _Change:
    action: Action
    resource_type: str
    resource_id: str
    municipality_id: uuid.UUID | None
    changes: dict[str, list[Any]]


# --- values ---------------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """A value as JSON: ids, dates, decimals and enums as text; lists and dicts as they are."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _shown(key: str, value: Any) -> Any:
    if key in SECRET_COLUMNS:
        return None if value is None else MASK
    return json_safe(value)


def _pair(key: str, old: Any, new: Any) -> list[Any]:
    return [_shown(key, old), _shown(key, new)]


# --- rows -----------------------------------------------------------------------------------


def _table(mapper: Mapper[Any]) -> sa.Table:
    return cast(sa.Table, mapper.local_table)


def audited(mapper: Mapper[Any]) -> bool:
    table = mapper.local_table
    return isinstance(table, sa.Table) and table.name not in NOT_AUDITED


def _columns(mapper: Mapper[Any]) -> list[tuple[str, sa.Column[Any]]]:
    """(attribute key, column) of every column attribute of the mapped table."""
    pairs = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if isinstance(column, sa.Column) and column.table is mapper.local_table:
            pairs.append((prop.key, column))
    return pairs


def _resource_id(values: Sequence[Any]) -> str:
    return ":".join(str(v) for v in values)[:_RESOURCE_ID_MAX]


def _municipality_of(mapper: Mapper[Any], values: Mapping[str, Any]) -> uuid.UUID | None:
    if _table(mapper).name == "municipality":  # its own events belong to it
        found = values.get("id")
    else:
        found = values.get("municipality_id")
    return found if isinstance(found, uuid.UUID) else None


def _connection(session: OrmSession) -> sa.Connection:
    return session.connection(bind_arguments={"mapper": sa.inspect(AuditEvent)})


def _database_row(session: OrmSession, state: InstanceState[Any]) -> dict[str, Any] | None:
    """The row of this instance as the database has it now (attribute keys), or None."""
    mapper = state.mapper
    identity = state.key[1] if state.key is not None else None
    if identity is None:
        identity = tuple(mapper.primary_key_from_instance(state.obj()))
    if any(v is None for v in identity):
        return None
    columns = _columns(mapper)
    where = [pk == v for pk, v in zip(mapper.primary_key, identity, strict=True)]
    found = (
        _connection(session)
        .execute(sa.select(*(c for _k, c in columns)).where(*where))
        .mappings()
        .first()
    )
    if found is None:
        return None
    return {key: found[column] for key, column in columns}


def _current_values(session: OrmSession, state: InstanceState[Any]) -> dict[str, Any]:
    """Every column value of the instance, without loading through the ORM."""
    loaded = state.dict
    keys = [key for key, _c in _columns(state.mapper)]
    values = {key: loaded[key] for key in keys if key in loaded}
    if len(values) < len(keys):  # expired or deferred: the database still has them
        row = _database_row(session, state) or {}
        values = {key: values[key] if key in values else row.get(key) for key in keys}
    return values


def _created(session: OrmSession, state: InstanceState[Any]) -> _Change:
    mapper = state.mapper
    values = _current_values(session, state)
    return _Change(
        action=Action.create,
        resource_type=_table(mapper).name,
        resource_id=_resource_id(mapper.primary_key_from_instance(state.obj())),
        municipality_id=_municipality_of(mapper, values),
        changes={k: _pair(k, None, v) for k, v in values.items() if v is not None},
    )


def _deleted(session: OrmSession, state: InstanceState[Any]) -> _Change:
    mapper = state.mapper
    values = _current_values(session, state)
    # The row as it was loaded, not any unflushed edits made before the delete.
    for key, _column in _columns(mapper):
        history = state.attrs[key].history
        if history.deleted:
            values[key] = history.deleted[0]
    identity = (
        state.key[1] if state.key is not None else mapper.primary_key_from_instance(state.obj())
    )
    return _Change(
        action=Action.delete,
        resource_type=_table(mapper).name,
        resource_id=_resource_id(identity),
        municipality_id=_municipality_of(mapper, values),
        changes={k: _pair(k, v, None) for k, v in values.items() if v is not None},
    )


def _diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    changed = {k: _pair(k, old.get(k), v) for k, v in new.items() if old.get(k) != v}
    return changed if set(changed) - BOOKKEEPING_COLUMNS else {}


def _updated(session: OrmSession, state: InstanceState[Any]) -> _Change | None:
    mapper = state.mapper
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    unknown_old: list[str] = []
    for key, _column in _columns(mapper):
        history = state.attrs[key].history
        if not history.added and not history.deleted:
            continue  # unchanged or never loaded
        new[key] = history.added[0] if history.added else None
        if history.deleted:
            old[key] = history.deleted[0]
        else:
            unknown_old.append(key)  # set while expired: the database has the old value
    if unknown_old:
        row = _database_row(session, state) or {}
        old.update({key: row.get(key) for key in unknown_old})
    changes = _diff(old, new)
    if not changes:
        return None
    identity = (
        state.key[1] if state.key is not None else mapper.primary_key_from_instance(state.obj())
    )
    return _Change(
        action=Action.update,
        resource_type=_table(mapper).name,
        resource_id=_resource_id(identity),
        municipality_id=_municipality_of(mapper, {**_loaded(state), **new}),
        changes=changes,
    )


def _loaded(state: InstanceState[Any]) -> dict[str, Any]:
    return {key: state.dict[key] for key, _c in _columns(state.mapper) if key in state.dict}


def _states(objects: Iterable[Any]) -> list[InstanceState[Any]]:
    states: list[InstanceState[Any]] = [sa.inspect(obj) for obj in objects]
    return [s for s in states if audited(s.mapper)]


def _record(session: OrmSession, changes: Sequence[_Change]) -> None:
    if not changes:
        return
    principal = principal_of(cast(Session, session))
    occurred_at = utcnow()
    _connection(session).execute(
        sa.insert(_table(sa.inspect(AuditEvent))),
        [
            {
                "occurred_at": occurred_at,
                "actor_type": principal.kind.value,
                "actor_id": principal.id,
                "action": c.action.value,
                "resource_type": c.resource_type,
                "resource_id": c.resource_id,
                "municipality_id": c.municipality_id,
                "changes": c.changes,
            }
            for c in changes
        ],
    )


# --- session events -------------------------------------------------------------------------


def _before_flush(session: OrmSession, _flush_context: UOWTransaction, _instances: Any) -> None:
    pending: list[_Change] = [_deleted(session, s) for s in _states(session.deleted)]
    for state in _states(session.dirty):
        change = _updated(session, state)
        if change is not None:
            pending.append(change)
    session.info[_PENDING_KEY] = pending


def _after_flush(session: OrmSession, _flush_context: UOWTransaction) -> None:
    pending: list[_Change] = session.info.pop(_PENDING_KEY, [])
    created = [_created(session, s) for s in _states(session.new)]
    _record(session, [*created, *pending])


def _rows_where(
    session: OrmSession, mapper: Mapper[Any], where: sa.ColumnElement[bool] | None
) -> list[dict[str, Any]]:
    columns = _columns(mapper)
    query = sa.select(*(c for _k, c in columns))
    if where is not None:
        query = query.where(where)
    rows = _connection(session).execute(query).mappings().all()
    return [{key: row[column] for key, column in columns} for row in rows]


def _pk_of(mapper: Mapper[Any], values: Mapping[str, Any]) -> tuple[Any, ...]:
    keys = {column.name: key for key, column in _columns(mapper)}
    return tuple(values[keys[pk.name]] for pk in mapper.primary_key)


def _pk_filter(mapper: Mapper[Any], pks: Sequence[tuple[Any, ...]]) -> sa.ColumnElement[bool]:
    if len(mapper.primary_key) == 1:
        return mapper.primary_key[0].in_([pk[0] for pk in pks])
    return sa.tuple_(*mapper.primary_key).in_(pks)


def _bulk_target(state: ORMExecuteState) -> Mapper[Any] | None:
    if not (state.is_update or state.is_delete):
        return None
    mapper = state.bind_mapper
    if mapper is None or not audited(mapper):
        return None
    if isinstance(state.parameters, list) and len(state.parameters) > 1:
        return None  # bulk UPDATE by primary key: not used by this application
    return mapper


def _do_orm_execute(state: ORMExecuteState) -> Any:
    mapper = _bulk_target(state)
    if mapper is None:
        return None
    session = state.session
    if session.autoflush:
        session.flush()  # what the statement would do itself: it must see pending rows
    where = getattr(state.statement, "whereclause", None)
    before = _rows_where(session, mapper, where)
    if not before:
        return None
    result = state.invoke_statement()
    table = _table(mapper).name
    changes: list[_Change] = []
    if state.is_delete:
        changes = [
            _Change(
                action=Action.delete,
                resource_type=table,
                resource_id=_resource_id(_pk_of(mapper, row)),
                municipality_id=_municipality_of(mapper, row),
                changes={k: _pair(k, v, None) for k, v in row.items() if v is not None},
            )
            for row in before
        ]
    else:
        after = {
            _pk_of(mapper, row): row
            for row in _rows_where(
                session, mapper, _pk_filter(mapper, [_pk_of(mapper, r) for r in before])
            )
        }
        for row in before:
            pk = _pk_of(mapper, row)
            new = after.get(pk)
            diff = _diff(row, new) if new is not None else {}
            if diff:
                changes.append(
                    _Change(
                        action=Action.update,
                        resource_type=table,
                        resource_id=_resource_id(pk),
                        municipality_id=_municipality_of(mapper, new or row),
                        changes=diff,
                    )
                )
    _record(session, changes)
    return result


_LISTENERS: tuple[tuple[str, Any], ...] = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("do_orm_execute", _do_orm_execute),
)


def install_audit() -> None:
    """Audit every ``sqlmodel.Session`` (idempotent: each listener is registered once)."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


# --- reading --------------------------------------------------------------------------------


def list_events(
    *,
    session: Session,
    page: PageParams,
    resource_type: str | None = None,
    resource_id: str | None = None,
    actor_id: uuid.UUID | None = None,
    municipality: str | None = None,
    within: Collection[uuid.UUID] | None = None,
) -> AuditEventPage:
    """Events newest first. ``within``: only these municipalities' events (an editor's
    reach); ``None``: all."""
    where: list[Any] = []
    if within is not None:
        where.append(col(AuditEvent.municipality_id).in_(list(within)))
    if resource_type is not None:
        where.append(col(AuditEvent.resource_type) == resource_type)
    if resource_id is not None:
        where.append(col(AuditEvent.resource_id) == resource_id)
    if actor_id is not None:
        where.append(col(AuditEvent.actor_id) == actor_id)
    if municipality is not None:
        where.append(
            col(AuditEvent.municipality_id).in_(
                select(Municipality.id).where(Municipality.slug == municipality)
            )
        )
    total = session.exec(select(func.count()).select_from(AuditEvent).where(*where)).one()
    events = session.exec(
        select(AuditEvent)
        .where(*where)
        .order_by(col(AuditEvent.occurred_at).desc(), col(AuditEvent.id).desc())
        .offset(page.offset)
        .limit(page.per_page)
    ).all()
    return AuditEventPage(
        items=[AuditEventRead.model_validate(e) for e in events],
        total=total,
        page=page.page,
        per_page=page.per_page,
    )


install_audit()
