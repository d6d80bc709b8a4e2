"""Submissions (aanmeldingen) and the reviewer's decisions, kept append-only where it matters.

A submission is a provider's request to list a new organisation with its voorzieningen, or to
change an admitted listing. New listings are stored right away as rows that are not public
(status ``ingediend``/``aanvullen``); a change to an admitted listing is kept as a ``payload``
and applied only when it is admitted, so the admitted version stays public until then. Every
evaluation and every decision is a row of its own (who, when, criteria version, per-criterion
results, reasons) and is never updated.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from app.core.models import IdMixin, UTCDateTime, enum_check, utcnow


class SubmissionKind(StrEnum):
    new = "nieuw"
    change = "wijziging"


class SubmissionStatus(StrEnum):
    submitted = "ingediend"  # complete: waiting for a reviewer
    incomplete = "aanvullen"  # the provider must add something
    admitted = "toegelaten"
    rejected = "afgewezen"
    withdrawn = "ingetrokken"


class Submission(IdMixin, table=True):
    __tablename__ = "submission"
    __table_args__ = (
        enum_check("kind", SubmissionKind, "kind"),
        enum_check("status", SubmissionStatus, "status"),
    )

    municipality_id: uuid.UUID = Field(
        foreign_key="municipality.id", ondelete="CASCADE", index=True
    )
    organization_id: uuid.UUID = Field(
        foreign_key="organization.id", ondelete="CASCADE", index=True
    )
    kind: str = Field(max_length=20)
    status: str = Field(max_length=20, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    content_hash: str = Field(max_length=64, description="Idempotent resubmits")
    attestations: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    criteria_version_id: uuid.UUID | None = Field(
        default=None, foreign_key="criteria_version.id", ondelete="SET NULL"
    )
    report: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    submitted_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_account.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AdmissionRecord(IdMixin, table=True):
    """One evaluation or decision: append-only (the database refuses UPDATE and DELETE)."""

    __tablename__ = "admission_record"

    submission_id: uuid.UUID = Field(foreign_key="submission.id", ondelete="RESTRICT", index=True)
    kind: str = Field(max_length=20, description="evaluation or decision")
    outcome: str = Field(max_length=20)
    actor_type: str = Field(max_length=20)
    actor_id: uuid.UUID | None = None
    criteria_version_id: uuid.UUID | None = None
    results: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    overrides: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
