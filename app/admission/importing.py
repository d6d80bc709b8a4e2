"""Imports go through admission too.

Every organisation an import created or changed is evaluated against the active criteria:

* all criteria pass, or only the redactie's own criteria (``reviewer``) are open → admitted,
  the import standing in for the reviewer (a trusted, curated source; recorded as such);
* otherwise, without ``admit``: a submission in the review queue with its report; a new
  organisation stays hidden (``ingediend``/``aanvullen``), a changed admitted one stays public;
* with ``admit`` (the curated demo data): admitted too, each open criterion overridden with
  the reason "trusted import" — the gaps stay visible to editors in the records and reports.

The returned counts feed the importer's summary: per outcome and per criterion.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.principal import principal_of
from app.admission.criteria import active_criteria
from app.admission.engine import evaluate
from app.admission.submission_models import (
    AdmissionRecord,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from app.admission.submissions import OPEN
from app.core.models import AdmissionStatus, utcnow
from app.indexing.service import enqueue
from app.organizations.models import Organization
from app.services.models import Service

TRUSTED = "trusted import"
CONFIRMED = "Geïmporteerd uit de gecureerde bron van de gemeente; de import bevestigt dit."
_OPEN_STATUSES = ("failed", "missing", "needs_review")


def admit_imported(
    *,
    session: Session,
    municipality_id: uuid.UUID,
    organizations: Mapping[str, str],
    admit: bool,
) -> Counter[tuple[str, str]]:
    """Evaluate these organisations (slug → "nieuw"/"bijgewerkt"); counts for the summary."""
    counts: Counter[tuple[str, str]] = Counter()
    if not organizations:
        return counts
    version = active_criteria(session, municipality_id)
    principal = principal_of(session)
    for slug, how in sorted(organizations.items()):
        organization = session.exec(
            select(Organization).where(
                Organization.municipality_id == municipality_id, Organization.slug == slug
            )
        ).first()
        if organization is None:
            continue
        services = list(
            session.exec(
                select(Service)
                .where(Service.organization_id == organization.id)
                .order_by(col(Service.slug))
            )
        )
        report = evaluate(session, organization, services, version)
        open_results = [
            r for r in report.results if r.blocking and r.status.value in _OPEN_STATUSES
        ]
        only_review = all(r.status.value == "needs_review" for r in open_results)
        decisions: dict[str, dict[str, Any]]
        if only_review:
            decisions = {r.id: {"passed": True, "reason": CONFIRMED} for r in open_results}
            outcome = "toegelaten"
        elif admit:
            decisions = {r.id: {"passed": True, "reason": TRUSTED} for r in open_results}
            outcome = "toegelaten (overruled)"
        else:
            decisions = {}
            outcome = "beoordelen"
        final = evaluate(session, organization, services, version, decisions=decisions)
        for r in open_results:
            label = (
                "bevestigd door import"
                if r.status.value == "needs_review"
                else ("overruled" if admit else "te beoordelen")
            )
            counts[(f"toelating {r.id}", label)] += 1
        counts[("toelating", outcome)] += 1

        admitted = outcome != "beoordelen"
        submission = session.exec(
            select(Submission).where(
                Submission.organization_id == organization.id, col(Submission.status).in_(OPEN)
            )
        ).first()
        if submission is None:
            submission = Submission(
                municipality_id=municipality_id,
                organization_id=organization.id,
                kind=(SubmissionKind.new if how == "nieuw" else SubmissionKind.change).value,
                status=SubmissionStatus.submitted.value,
                payload={},
                content_hash=hashlib.sha256(
                    f"import:{organization.id}:{utcnow().isoformat()}".encode()
                ).hexdigest(),
                attestations={},
            )
        submission.criteria_version_id = version.id
        submission.report = final.model_dump(mode="json")
        submission.status = (
            SubmissionStatus.admitted
            if admitted
            else SubmissionStatus.incomplete
            if report.outcome.value == "aanvullen"
            else SubmissionStatus.submitted
        ).value
        submission.updated_at = utcnow()
        session.add(submission)
        session.flush()
        session.add(
            AdmissionRecord(
                submission_id=submission.id,
                kind="decision" if admitted else "evaluation",
                outcome=submission.status,
                actor_type=principal.kind.value,
                actor_id=principal.id,
                criteria_version_id=version.id,
                results=[r.model_dump(mode="json") for r in final.results],
                overrides={k: str(v["reason"]) for k, v in decisions.items()},
                reason="import",
            )
        )
        if admitted:
            status = AdmissionStatus.toegelaten.value
        elif how == "nieuw":
            status = (
                AdmissionStatus.aanvullen.value
                if submission.status == SubmissionStatus.incomplete.value
                else AdmissionStatus.ingediend.value
            )
        else:
            status = organization.admission_status  # a changed admitted listing stays public
        if how == "nieuw" or admitted:
            organization.admission_status = status
            session.add(organization)
            for service in services:
                service.admission_status = status
                session.add(service)
        session.flush()
        enqueue(session=session, service_ids=[s.id for s in services])
    return counts
