"""API shapes of admission: criteria, versions, the flowchart and the evaluation report."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import Field, model_validator

from app.admission.criteria import Criterion, check_unique
from app.core.schemas import InputModel, OutputModel, Ref
from app.core.types import LongText, Slug


class CriterionStatus(StrEnum):
    passed = "passed"  # voldaan
    failed = "failed"  # niet voldaan (the criterion's on_fail decides the outcome)
    missing = "missing"  # something is missing the provider can add (always: aanvullen)
    needs_review = "needs_review"  # waiting for the editor (redactie)
    warning = "warning"  # advice only (severity warning): never blocks
    not_applicable = "not_applicable"  # the criterion's applies_to does not match


class Outcome(StrEnum):
    """The overall result; the values are those of AdmissionStatus."""

    toegelaten = "toegelaten"
    ingediend = "ingediend"  # complete; waiting for the editor
    aanvullen = "aanvullen"
    afgewezen = "afgewezen"


class Attestation(InputModel):
    """The provider's declaration for an attestation criterion (T5, T6, T7)."""

    attested: bool
    link: str | None = Field(
        default=None, max_length=2000, description="Webadres, zoals van de klachtenregeling."
    )


class Decision(InputModel):
    """The editor's decision on a criterion: confirms or overrides it, with a reason."""

    passed: bool
    reason: LongText | None = None


class CriterionResult(OutputModel):
    id: str
    slug: str
    name: str
    status: CriterionStatus
    blocking: bool
    on_fail: Outcome | None = Field(description="Uitkomst als dit criterium niet voldaan is.")
    check: str = Field(description="automatic, attestation of reviewer")
    reviewer_confirms: bool = Field(description="De redactie bevestigt dit nog.")
    finding: str = Field(description="Wat we zagen, in gewone taal.")
    explanation: str = Field(description="Waarom deze eis er is.")
    next_step: str | None = Field(description="Wat u nu kunt doen (leeg als het in orde is).")
    suggestions: list[str] = Field(
        default_factory=list, description="Concrete tips (zoals bij T9)."
    )
    services: list[str] = Field(
        default_factory=list, description="Slugs van de voorzieningen waar het om gaat."
    )


class Report(OutputModel):
    """The evaluation of an organisation and its services against one criteria version."""

    municipality: str = Field(description="Slug van de gemeente.")
    criteria_version: int
    criteria_version_id: uuid.UUID
    organization: Ref
    services: list[Ref]
    outcome: Outcome
    summary: str = Field(description="De uitkomst in één of twee zinnen, voor de aanbieder.")
    results: list[CriterionResult]
    evaluated_at: datetime

    def result(self, criterion_id: str) -> CriterionResult:
        for r in self.results:
            if r.id == criterion_id:
                return r
        raise KeyError(criterion_id)

    @property
    def to_fix(self) -> list[CriterionResult]:
        """Blocking criteria the provider must act on (failed or missing)."""
        return [
            r
            for r in self.results
            if r.blocking and r.status in (CriterionStatus.failed, CriterionStatus.missing)
        ]

    @property
    def open_for_reviewer(self) -> list[CriterionResult]:
        return [r for r in self.results if r.status is CriterionStatus.needs_review]


# --- API ------------------------------------------------------------------------------------------


class CriteriaRead(OutputModel):
    municipality: Ref
    version: int = Field(description="Nummer van de actieve versie.")
    version_id: uuid.UUID
    criteria: list[Criterion]


class FlowchartRead(OutputModel):
    municipality: str
    version: int = Field(description="De criteriaversie waaruit het schema is gemaakt.")
    mermaid: str = Field(description="Mermaid-tekst (flowchart TD).")


class CriteriaVersionCreate(InputModel):
    municipality: Slug = Field(examples=["uithoorn"])
    criteria: list[Criterion] = Field(min_length=1, max_length=50)
    note: str | None = Field(default=None, max_length=1000, description="Waarom deze wijziging.")

    @model_validator(mode="after")
    def _unique(self) -> CriteriaVersionCreate:
        check_unique(self.criteria)
        return self


class CriteriaVersionRead(OutputModel):
    id: uuid.UUID
    municipality: str
    version: int
    is_active: bool
    source: str = Field(description="yaml:<bestand> of api")
    note: str | None
    created_at: datetime
    created_by_id: uuid.UUID | None
    criteria: list[Criterion]


class CriteriaVersionCreated(CriteriaVersionRead):
    created: bool = Field(
        description="false: de criteria waren gelijk aan de actieve versie; er is niets veranderd."
    )


class CriteriaVersionList(OutputModel):
    items: list[CriteriaVersionRead]
