"""Full backup of every table, and its restore into an empty database (docs/operations.md,
"Back-up en herstel").

The backup does not depend on the database: a backup of SQLite restores into PostgreSQL and
the other way round. One zip file holds

* ``manifest.json``: the format and its version, the Alembic revision of the database, when
  the backup was made (UTC), the version of the software, and per table its row count and
  columns (in the order a restore inserts them);
* ``<table>.ndjson`` per table: one JSON object per row (column name -> value), in primary
  key order.

Values are written by their column type so that they come back exactly: datetimes, dates and
times as ISO 8601 (datetimes with their UTC offset), UUIDs as text, bytes as base64, decimals
as text, floats as JSON numbers (the shortest text that reads back to the same double). A JSON
column is either ``null`` (SQL NULL) or a list with one element, the JSON value itself, so
that a JSON ``null`` stays distinct from SQL NULL.

Encrypted columns (the ``*_enc`` personal data of referrals) are copied as they are: the
ciphertext. Reading them after a restore needs the same ``FIELD_ENCRYPTION_KEYS``.

Rows are read and written in batches (``yield_per``): a large database never sits in memory.
The backup reads one snapshot (PostgreSQL: a REPEATABLE READ, read-only transaction; SQLite:
one read transaction on the WAL), so it is consistent while the application runs.

A restore only goes into an **empty** database at the **same** Alembic revision, in one
transaction (all or nothing), with Core inserts: the audit listener (``app/audit``) records
writes through ORM sessions only, so a restore adds no audit events of its own. Tables go in
foreign-key order; self-referencing (or cyclic) foreign keys are filled in by a second pass.
On PostgreSQL the sequences of integer primary keys are set to the highest restored id.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.schema import sort_tables_and_constraints

import app.models  # noqa: F401  (every table registered on the metadata)
from app.core.db import read_only
from app.core.models import metadata

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
FORMAT = "sociale-kaart-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH_SIZE = 1000

Progress = Callable[[int, int], None]
"""Called after every batch with (rows done, rows in total)."""


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message is for the operator (Dutch)."""


@dataclass(frozen=True)
class Manifest:
    format_version: int
    revision: str
    created_at: datetime
    app_version: str
    tables: dict[str, int]
    columns: dict[str, list[str]] = field(repr=False)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass(frozen=True)
class BackupReport:
    path: Path
    manifest: Manifest

    @property
    def rows(self) -> int:
        return self.manifest.rows


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    tables: dict[str, int]
    sequences: list[str]
    """PostgreSQL sequences set to the highest restored id (empty on SQLite)."""

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


# --- tables ---------------------------------------------------------------------------------


def _sort(
    tables: Iterable[sa.Table],
) -> list[tuple[sa.Table | None, list[sa.ForeignKeyConstraint]]]:
    """Tables in foreign-key order; the last entry (None, [...]) holds constraints of cycles."""
    return list(sort_tables_and_constraints(tables))  # type: ignore[no-untyped-call]


def backup_tables() -> list[sa.Table]:
    """Every table of the application, parents before the tables that refer to them.

    ``alembic_version`` is not on the metadata: the revision goes into the manifest."""
    return [table for table, _ in _sort(metadata.tables.values()) if table is not None]


def _deferred_columns(tables: list[sa.Table]) -> dict[str, list[sa.Column[Any]]]:
    """Per table the foreign-key columns that cannot be filled in on insert: they refer to
    the table itself (a row's parent may come later) or are part of a cycle of tables. They
    are inserted empty and set by a second pass (an UPDATE: the append-only tables,
    audit_event and admission_record, refuse one, but they have no such keys)."""
    cyclic: set[sa.ForeignKeyConstraint] = set()
    for table, constraints in _sort(tables):
        if table is None:
            cyclic.update(constraints)
    deferred: dict[str, list[sa.Column[Any]]] = {}
    for table in tables:
        for constraint in table.foreign_key_constraints:
            if constraint.referred_table is table or constraint in cyclic:
                deferred.setdefault(table.name, []).extend(constraint.columns)
    for name, columns in deferred.items():
        for column in columns:
            if not column.nullable:  # pragma: no cover - a modelling error, not an input
                raise BackupError(
                    f"{name}.{column.name} verwijst in een kring maar mag niet leeg zijn"
                )
    return deferred


# --- values ---------------------------------------------------------------------------------


class Kind(StrEnum):
    plain = "plain"
    json = "json"
    datetime = "datetime"
    date = "date"
    time = "time"
    uuid = "uuid"
    bytes = "bytes"
    decimal = "decimal"
    float = "float"


def column_kind(column: sa.Column[Any]) -> Kind:
    """How a column's values are written: decided by its type, never by the value."""
    column_type: Any = column.type
    while isinstance(column_type, sa.types.TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, sa.JSON):
        return Kind.json
    if isinstance(column_type, sa.DateTime):
        return Kind.datetime
    if isinstance(column_type, sa.Date):
        return Kind.date
    if isinstance(column_type, sa.Time):
        return Kind.time
    if isinstance(column_type, sa.Uuid):
        return Kind.uuid if column_type.as_uuid else Kind.plain
    if isinstance(column_type, sa.LargeBinary):
        return Kind.bytes
    if isinstance(column_type, sa.Float):  # before Numeric: Float is a Numeric
        return Kind.decimal if column_type.asdecimal else Kind.float
    if isinstance(column_type, sa.Numeric):
        return Kind.decimal if column_type.asdecimal else Kind.float
    return Kind.plain


_ENCODERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.datetime: lambda v: v.isoformat(),
    Kind.date: lambda v: v.isoformat(),
    Kind.time: lambda v: v.isoformat(),
    Kind.uuid: str,
    Kind.bytes: lambda v: base64.b64encode(bytes(v)).decode("ascii"),
    Kind.decimal: str,
    Kind.float: float,
}
_DECODERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.datetime: datetime.fromisoformat,
    Kind.date: date.fromisoformat,
    Kind.time: time.fromisoformat,
    Kind.uuid: uuid.UUID,
    Kind.bytes: base64.b64decode,
    Kind.decimal: Decimal,
    Kind.float: float,
}
_PLAIN = (bool, int, float, str)


def encode_value(kind: Kind, value: Any, *, sql_null: bool = False) -> Any:
    """A column value as JSON (``sql_null``: for JSON columns, whether the column is SQL NULL
    rather than a JSON ``null``)."""
    if kind is Kind.json:
        return None if sql_null else [value]
    if value is None:
        return None
    if kind is Kind.plain:
        if not isinstance(value, _PLAIN):
            raise BackupError(f"Waarde van type {type(value).__name__} kan niet in een back-up")
        return value
    return _ENCODERS[kind](value)


def decode_value(kind: Kind, value: Any) -> Any:
    """The inverse of ``encode_value``, as a parameter for an insert."""
    if kind is Kind.json:
        if value is None:
            return sa.null()  # SQL NULL
        if not isinstance(value, list) or len(value) != 1:
            raise ValueError("JSON-kolom zonder [waarde]")
        return sa.JSON.NULL if value[0] is None else value[0]
    if value is None:
        return None
    if kind is Kind.plain:
        return value
    return _DECODERS[kind](value)


@dataclass(frozen=True)
class _Codec:
    """Encodes and decodes the rows of one table."""

    table: sa.Table
    kinds: dict[str, Kind]
    typed: tuple[tuple[str, Kind], ...]  # the columns whose values are not plain JSON

    @classmethod
    def of(cls, table: sa.Table) -> _Codec:
        kinds = {column.name: column_kind(column) for column in table.columns}
        typed = tuple((name, kind) for name, kind in kinds.items() if kind is not Kind.plain)
        return cls(table, kinds, typed)

    @property
    def json_columns(self) -> list[str]:
        return [name for name, kind in self.kinds.items() if kind is Kind.json]

    def select(self) -> sa.Select[Any]:
        nulls = [self.table.c[name].is_(None) for name in self.json_columns]
        return sa.select(*self.table.columns, *nulls).order_by(*self.table.primary_key.columns)

    def encode(self, row: sa.Row[Any]) -> dict[str, Any]:
        width = len(self.kinds)
        sql_null = dict(zip(self.json_columns, row[width:], strict=True))
        return {
            name: encode_value(kind, row[index], sql_null=bool(sql_null.get(name)))
            for index, (name, kind) in enumerate(self.kinds.items())
        }

    def decode(self, data: dict[str, Any]) -> dict[str, Any]:
        """Decode a row read from the backup, in place."""
        for name, kind in self.typed:
            data[name] = decode_value(kind, data[name])
        return data


# --- database -------------------------------------------------------------------------------


def database_revision(conn: Connection) -> str | None:
    """The Alembic revision of the database (None: never migrated)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    version = sa.table("alembic_version", sa.column("version_num", sa.String))
    revisions = sorted(conn.execute(sa.select(version.c.version_num)).scalars())
    return ",".join(revisions) or None


@lru_cache(maxsize=1)
def code_revision() -> str:
    """The Alembic head of this software version: the schema its tables describe."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ",".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def app_version() -> str:
    try:
        return package_metadata.version("sociale-kaart")
    except package_metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "onbekend"


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only view of the whole database, however long the backup takes."""
    with read_only(engine).connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        # SQLite: BEGIN DEFERRED (no write lock: the server keeps writing); the WAL keeps the
        # snapshot of the first read
        with conn.begin():
            yield conn


def _count(conn: Connection, table: sa.Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


# --- backup ---------------------------------------------------------------------------------


def create_backup(*, engine: Engine, path: Path, progress: Progress | None = None) -> BackupReport:
    """Write a backup of every table to ``path`` (a zip file; replaced if it exists).

    The file appears only when it is complete: it is written next to it as ``.partial``
    first. Raises ``BackupError`` when the database was never migrated."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    tables = backup_tables()
    try:
        with _snapshot(engine) as conn:
            revision = database_revision(conn)
            if revision is None:
                raise BackupError(
                    "De database heeft geen migratieversie (tabel alembic_version ontbreekt "
                    "of is leeg). Is dit de database van de sociale kaart?"
                )
            if revision != code_revision():
                raise BackupError(
                    f"De database is op versie {revision}; deze software hoort bij versie "
                    f"{code_revision()}. Maak de back-up met de software die bij de database "
                    "hoort, of migreer de database eerst ('sociale-kaart db upgrade')."
                )
            created_at = datetime.now(UTC)
            counts = {table.name: _count(conn, table) for table in tables}
            total = sum(counts.values())
            done = 0
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for table in tables:
                    codec = _Codec.of(table)
                    written = 0
                    with archive.open(f"{table.name}.ndjson", "w", force_zip64=True) as member:
                        result = conn.execute(
                            codec.select().execution_options(yield_per=BATCH_SIZE)
                        )
                        for batch in result.partitions():
                            lines = (
                                json.dumps(codec.encode(row), ensure_ascii=False) + "\n"
                                for row in batch
                            )
                            member.write("".join(lines).encode("utf-8"))
                            written += len(batch)
                            done += len(batch)
                            if progress is not None:
                                progress(done, total)
                    if written != counts[table.name]:  # pragma: no cover - the snapshot holds
                        raise BackupError(f"Tabel {table.name} veranderde tijdens de back-up")
                manifest = Manifest(
                    format_version=FORMAT_VERSION,
                    revision=revision,
                    created_at=created_at,
                    app_version=app_version(),
                    tables=counts,
                    columns={table.name: [c.name for c in table.columns] for table in tables},
                )
                archive.writestr(MANIFEST, _manifest_json(manifest))
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(path=path, manifest=manifest)


def _manifest_json(manifest: Manifest) -> str:
    return json.dumps(
        {
            "format": FORMAT,
            "format_version": manifest.format_version,
            "alembic_revision": manifest.revision,
            "created_at": manifest.created_at.isoformat(),
            "app_version": manifest.app_version,
            "rows": manifest.rows,
            "tables": {
                name: {"rows": count, "columns": manifest.columns[name]}
                for name, count in manifest.tables.items()
            },
        },
        indent=2,
        ensure_ascii=False,
    )


# --- reading a backup -----------------------------------------------------------------------

_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError, OSError)


def _damaged(path: Path, exc: BaseException) -> BackupError:
    return BackupError(
        f"{path} is geen bruikbare back-up: het bestand is beschadigd of onvolledig ({exc}). "
        "Er is niets hersteld."
    )


@contextmanager
def _open(path: Path) -> Iterator[zipfile.ZipFile]:
    if not path.is_file():
        raise BackupError(f"Het bestand {path} bestaat niet.")
    try:
        archive = zipfile.ZipFile(path)
    except _DAMAGED as exc:
        raise _damaged(path, exc) from exc
    with archive:
        yield archive


def _parse_manifest(path: Path, archive: zipfile.ZipFile) -> Manifest:
    try:
        data = json.loads(archive.read(MANIFEST).decode("utf-8"))
    except KeyError as exc:
        raise BackupError(
            f"{path} is geen back-up van de sociale kaart: {MANIFEST} ontbreekt."
        ) from exc
    except (*_DAMAGED, ValueError) as exc:
        raise _damaged(path, exc) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError(f"{path} is geen back-up van de sociale kaart.")
    if data.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"Deze back-up heeft formaatversie {data.get('format_version')}; deze software "
            f"kan versie {FORMAT_VERSION} herstellen."
        )
    try:
        tables = data["tables"]
        return Manifest(
            format_version=FORMAT_VERSION,
            revision=str(data["alembic_revision"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            app_version=str(data["app_version"]),
            tables={str(name): int(info["rows"]) for name, info in tables.items()},
            columns={str(name): [str(c) for c in info["columns"]] for name, info in tables.items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _damaged(path, exc) from exc


def read_manifest(*, path: Path) -> Manifest:
    """The manifest of a backup (checks that the file is a readable backup)."""
    path = Path(path)
    with _open(path) as archive:
        return _parse_manifest(path, archive)


def _check_contents(path: Path, archive: zipfile.ZipFile, manifest: Manifest) -> None:
    """The backup holds exactly the tables and columns of this software version."""
    if manifest.revision != code_revision():
        raise BackupError(
            f"De back-up is van databaseversie {manifest.revision}; deze software hoort bij "
            f"versie {code_revision()}. Herstel met de softwareversie van de back-up "
            f"({manifest.app_version}) in een lege database op versie {manifest.revision} en "
            "migreer daarna ('sociale-kaart db upgrade'). Er is niets hersteld."
        )
    expected = {table.name: [c.name for c in table.columns] for table in backup_tables()}
    if set(manifest.tables) != set(expected):
        missing = sorted(set(expected) - set(manifest.tables))
        unknown = sorted(set(manifest.tables) - set(expected))
        raise BackupError(
            "De tabellen in de back-up passen niet bij deze versie van de software "
            f"(ontbreken: {', '.join(missing) or 'geen'}; onbekend: {', '.join(unknown) or 'geen'}). "
            f"Herstel met de softwareversie waarmee de back-up is gemaakt ({manifest.app_version})."
        )
    for name, columns in expected.items():
        if set(manifest.columns.get(name, [])) != set(columns):
            raise BackupError(
                f"De kolommen van tabel {name} in de back-up passen niet bij deze versie van "
                f"de software. Herstel met softwareversie {manifest.app_version}."
            )
    members = set(archive.namelist())
    absent = sorted(name for name in expected if f"{name}.ndjson" not in members)
    if absent:
        raise _damaged(path, ValueError(f"ontbreekt: {', '.join(absent)}"))


def _read_rows(archive: zipfile.ZipFile, codec: _Codec) -> Iterator[list[dict[str, Any]]]:
    """The rows of one table in batches, checked against its columns."""
    name = f"{codec.table.name}.ndjson"
    columns = set(codec.kinds)
    batch: list[dict[str, Any]] = []
    with archive.open(name) as raw:
        for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), start=1):
            try:
                data = json.loads(line)
                if not isinstance(data, dict) or data.keys() != columns:
                    raise ValueError("andere kolommen dan verwacht")
                batch.append(codec.decode(data))
            except (ValueError, TypeError) as exc:
                raise BackupError(
                    f"Regel {number} van {name} is onleesbaar ({exc}). Er is niets hersteld."
                ) from exc
            if len(batch) == BATCH_SIZE:
                yield batch
                batch = []
    if batch:
        yield batch


# --- restore --------------------------------------------------------------------------------


def restore_backup(
    *, engine: Engine, path: Path, progress: Progress | None = None
) -> RestoreReport:
    """Restore a backup into an empty database at the backup's Alembic revision.

    One transaction: when anything fails, nothing is written. Raises ``BackupError`` (Dutch
    message) when the file is not a usable backup, the database is not empty or at another
    revision, or the rows do not fit."""
    path = Path(path)
    with _open(path) as archive:
        manifest = _parse_manifest(path, archive)
        _check_contents(path, archive, manifest)
        try:
            with engine.begin() as conn:
                _check_target(conn, manifest)
                tables = _insert_all(conn, archive, manifest, progress)
                sequences = _reset_sequences(conn) if conn.dialect.name == "postgresql" else []
        except _DAMAGED as exc:
            raise _damaged(path, exc) from exc
        except (DBAPIError, StatementError) as exc:
            reason = getattr(exc, "orig", None) or exc
            raise BackupError(
                f"De gegevens uit de back-up passen niet in deze database ({reason}). "
                "Er is niets hersteld."
            ) from exc
    return RestoreReport(manifest=manifest, tables=tables, sequences=sequences)


def _check_target(conn: Connection, manifest: Manifest) -> None:
    revision = database_revision(conn)
    if revision is None:
        raise BackupError(
            "De database is nog niet gemigreerd. Maak eerst de lege tabellen aan met "
            f"'alembic upgrade {manifest.revision}' en herstel dan opnieuw."
        )
    if revision != manifest.revision:
        raise BackupError(
            f"De back-up is van databaseversie {manifest.revision}; deze database is op versie "
            f"{revision}. Herstel in een lege database op versie {manifest.revision} "
            f"('alembic upgrade {manifest.revision}'); migreer daarna pas verder. "
            "Er is niets hersteld."
        )
    occupied = [
        table.name
        for table in backup_tables()
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
    ]
    if occupied:
        raise BackupError(
            "De database is niet leeg (gegevens in: "
            f"{', '.join(occupied)}). Herstel alleen in een lege database: maak een nieuwe "
            f"aan met 'alembic upgrade {manifest.revision}' (let op: 'sociale-kaart db upgrade' "
            "laadt ook de taxonomie, gebruik dan --skip-taxonomy). Er is niets veranderd."
        )


def _insert_all(
    conn: Connection,
    archive: zipfile.ZipFile,
    manifest: Manifest,
    progress: Progress | None,
) -> dict[str, int]:
    tables = backup_tables()
    deferred = _deferred_columns(tables)
    total = manifest.rows
    done = 0
    inserted: dict[str, int] = {}
    for table in tables:
        codec = _Codec.of(table)
        later = [column.name for column in deferred.get(table.name, [])]
        count = 0
        for batch in _read_rows(archive, codec):
            for row in batch:
                row.update(dict.fromkeys(later))
            conn.execute(table.insert(), batch)
            count += len(batch)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        if count != manifest.tables[table.name]:
            raise BackupError(
                f"Tabel {table.name}: {count} rijen in de back-up, het manifest noemt er "
                f"{manifest.tables[table.name]}. De back-up is onvolledig of beschadigd. Er is niets "
                "hersteld."
            )
        inserted[table.name] = count
    for table in tables:
        if table.name in deferred:
            _fill_deferred(conn, archive, table, deferred[table.name])
    return inserted


def _fill_deferred(
    conn: Connection, archive: zipfile.ZipFile, table: sa.Table, columns: list[sa.Column[Any]]
) -> None:
    """Second pass: set the foreign keys that were inserted empty (e.g. a term's parent)."""
    codec = _Codec.of(table)
    keys = list(table.primary_key.columns)
    statement = (
        table.update()
        .where(*(key == sa.bindparam(f"key_{i}") for i, key in enumerate(keys)))
        .values({column.name: sa.bindparam(f"set_{column.name}") for column in columns})
    )
    for batch in _read_rows(archive, codec):
        params = [
            {f"key_{i}": row[key.name] for i, key in enumerate(keys)}
            | {f"set_{column.name}": row[column.name] for column in columns}
            for row in batch
            if any(row[column.name] is not None for column in columns)
        ]
        if params:
            conn.execute(statement, params)


def _reset_sequences(conn: Connection) -> list[str]:
    """PostgreSQL: the next generated id follows the highest restored one."""
    reset = []
    for table in backup_tables():
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = conn.execute(
            sa.select(sa.func.pg_get_serial_sequence(table.name, column.name))
        ).scalar()
        if sequence is None:
            continue
        highest = conn.execute(sa.select(sa.func.max(column))).scalar()
        conn.execute(sa.select(sa.func.setval(sequence, highest or 1, highest is not None)))
        reset.append(str(sequence))
    return reset
