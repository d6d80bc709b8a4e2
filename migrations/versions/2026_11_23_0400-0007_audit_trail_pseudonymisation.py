"""audit trail: pseudonymisation after the retention period (the only update allowed)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 04:00:00

The audit trail stays append-only, with one exception: once, after AUDIT_ACTOR_RETENTION_DAYS,
``actor_id`` may become NULL and personal values in ``changes`` may be masked, together with
setting ``pseudonymised_at``. Who did what to which resource, and when, cannot change; rows
can never be deleted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The one update allowed (the same rule on both databases).
_ALLOWED = (
    "OLD.pseudonymised_at IS NULL AND NEW.pseudonymised_at IS NOT NULL "
    "AND NEW.actor_id IS NULL AND NEW.id = OLD.id AND NEW.occurred_at = OLD.occurred_at "
    "AND NEW.actor_type = OLD.actor_type AND NEW.action = OLD.action "
    "AND NEW.resource_type = OLD.resource_type AND NEW.resource_id = OLD.resource_id "
    "AND {same_municipality}"
)
_APPEND_ONLY_PG = (
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$"
)
_PSEUDONYMISE_PG = (
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN IF TG_OP = 'UPDATE' AND "
    + _ALLOWED.format(
        same_municipality="NEW.municipality_id IS NOT DISTINCT FROM OLD.municipality_id"
    )
    + " THEN RETURN NEW; END IF; RAISE EXCEPTION 'audit_event is append-only'; END $$"
)
_NO_UPDATE_SQLITE = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)
_PSEUDONYMISE_SQLITE = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event WHEN NOT ("
    + _ALLOWED.format(same_municipality="NEW.municipality_id IS OLD.municipality_id")
    + ") BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)
_NO_DELETE_SQLITE = (
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
)


def upgrade() -> None:
    op.add_column(
        "audit_event",
        sa.Column("pseudonymised_at", sa.DateTime(timezone=True), nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PSEUDONYMISE_PG)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute(_PSEUDONYMISE_SQLITE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_APPEND_ONLY_PG)
        op.drop_column("audit_event", "pseudonymised_at")
    else:
        # SQLite rebuilds the table to drop a column, which drops its triggers: set them again.
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        with op.batch_alter_table("audit_event", schema=None) as batch_op:
            batch_op.drop_column("pseudonymised_at")
        op.execute(_NO_UPDATE_SQLITE)
        op.execute(_NO_DELETE_SQLITE)
