"""Submissions (aanmeldingen), their evaluation and the reviewer's decision.

* **nieuw**: the organisation, its locations and voorzieningen are written at once as rows that
  are not public (status ``ingediend``/``aanvullen``); the provider becomes a member.
* **wijziging** of an admitted listing: the changes are kept in ``payload`` and evaluated on the
  listing as it would be (inside a savepoint that is rolled back); the admitted version stays
  public until the change is admitted, then the changes are applied.

Every evaluation and decision is appended to ``admission_record``. Resubmitting the same
content is idempotent (same submission, no new evaluation).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import OrganizationMember, Role
from app.accounts.policy import can_manage, require_manage, require_municipality
from app.accounts.principal import PrincipalKind, principal_of
from app.admission.criteria import active_criteria
from app.admission.engine import evaluate
from app.admission.schemas import Report
from app.admission.submission_models import (
    AdmissionRecord,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from app.admission.submission_schemas import (
    Decision,
    ReviewItem,
    SubmissionCreate,
    SubmissionPublic,
    SubmissionUpdate,
)
from app.core.errors import Conflict, FieldError, NotFound, Unprocessable
from app.core.models import AdmissionStatus, utcnow
from app.indexing.service import enqueue
from app.locations import service as locations_service
from app.locations.models import Location
from app.locations.schemas import LocationCreate, LocationUpdate
from app.municipalities.models import Municipality
from app.municipalities.service import resolve_municipality
from app.organizations import service as organizations_service
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationCreate, OrganizationUpdate
from app.services import service as services_service
from app.services.models import Service
from app.services.schemas import ServiceCreate, ServiceUpdate

OPEN = (SubmissionStatus.submitted.value, SubmissionStatus.incomplete.value)


def _hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _services_of(session: Session, organization: Organization) -> list[Service]:
    return list(
        session.exec(
            select(Service)
            .where(Service.organization_id == organization.id)
            .order_by(col(Service.slug))
        )
    )


def _status_for(report: Report) -> SubmissionStatus:
    """``aanvullen`` when the provider must add something; otherwise a reviewer decides (also
    on what the engine would reject: rejecting is the redactie's call)."""
    if report.outcome.value == "aanvullen":
        return SubmissionStatus.incomplete
    return SubmissionStatus.submitted


def _record(
    session: Session,
    submission: Submission,
    *,
    kind: str,
    outcome: str,
    report: Report | None,
    overrides: dict[str, str] | None = None,
    reason: str | None = None,
) -> None:
    principal = principal_of(session)
    session.add(
        AdmissionRecord(
            submission_id=submission.id,
            kind=kind,
            outcome=outcome,
            actor_type=principal.kind.value,
            actor_id=principal.id,
            criteria_version_id=submission.criteria_version_id,
            results=[r.model_dump(mode="json") for r in report.results] if report else [],
            overrides=overrides or {},
            reason=reason,
        )
    )


def _evaluate(
    session: Session,
    submission: Submission,
    organization: Organization,
    decisions: dict[str, dict[str, Any]] | None = None,
) -> Report:
    """Evaluate the listing as this submission would make it."""
    version = active_criteria(session, organization.municipality_id)
    submission.criteria_version_id = version.id
    if submission.kind == SubmissionKind.change.value:
        savepoint = session.begin_nested()
        try:
            _apply_changes(session, organization, submission.payload)
            session.flush()
            report = evaluate(
                session,
                organization,
                _services_of(session, organization),
                version,
                attestations=submission.attestations,
                decisions=decisions,
            )
        finally:
            savepoint.rollback()
        session.refresh(organization)
        return report
    return evaluate(
        session,
        organization,
        _services_of(session, organization),
        version,
        attestations=submission.attestations,
        decisions=decisions,
    )


_REVIEW_ONLY = ("admission_status", "internal_remarks", "organization", "slug")


def _refuse_review_fields(payload: dict[str, Any]) -> None:
    """A submission changes the listing's content; its status and slugs are the redactie's."""
    problems = [
        FieldError(field=f"body.organization_changes.{k}", message="Dit bepaalt de redactie.")
        for k in (payload.get("organization") or {})
        if k in _REVIEW_ONLY
    ]
    problems += [
        FieldError(field=f"body.service_changes.{slug}.{k}", message="Dit bepaalt de redactie.")
        for slug, changes in (payload.get("services") or {}).items()
        for k in changes
        if k in _REVIEW_ONLY
    ]
    problems += [
        FieldError(field=f"body.location_changes.{i}.{k}", message="Dit bepaalt de redactie.")
        for i, changes in (payload.get("locations") or {}).items()
        for k in changes
        if k in _REVIEW_ONLY
    ]
    if problems:
        raise Unprocessable("Deze velden kunt u niet via een aanmelding wijzigen.", errors=problems)


def _apply_changes(session: Session, organization: Organization, payload: dict[str, Any]) -> None:
    _refuse_review_fields(payload)
    if payload.get("organization"):
        organizations_service.update(
            session=session,
            org=organization,
            data=OrganizationUpdate.model_validate(payload["organization"]),
            authorized=True,
        )
    for slug, changes in (payload.get("services") or {}).items():
        service = session.exec(
            select(Service).where(Service.organization_id == organization.id, Service.slug == slug)
        ).first()
        if service is None:
            raise Unprocessable(
                f"Voorziening '{slug}' hoort niet bij deze organisatie.",
                errors=[FieldError(field=f"body.service_changes.{slug}", message="Bestaat niet.")],
            )
        services_service.update(
            session=session,
            service=service,
            data=ServiceUpdate.model_validate(changes),
            authorized=True,
        )
    for location_id, changes in (payload.get("locations") or {}).items():
        location = session.get(Location, uuid.UUID(str(location_id)))
        if location is None or location.organization_id != organization.id:
            raise Unprocessable(
                f"Locatie {location_id} hoort niet bij deze organisatie.",
                errors=[
                    FieldError(
                        field=f"body.location_changes.{location_id}", message="Bestaat niet."
                    )
                ],
            )
        locations_service.update(
            session=session,
            location=location,
            data=LocationUpdate.model_validate(changes),
            authorized=True,
        )


def _set_listing_status(session: Session, organization: Organization, status: str) -> None:
    organization.admission_status = status
    session.add(organization)
    for service in _services_of(session, organization):
        service.admission_status = status
        if status == AdmissionStatus.toegelaten.value:
            service.assured_date = date.today()
        session.add(service)
    session.flush()
    enqueue(session=session, service_ids=[s.id for s in _services_of(session, organization)])


def _save_report(session: Session, submission: Submission, report: Report) -> None:
    submission.report = report.model_dump(mode="json")
    submission.status = _status_for(report).value
    submission.updated_at = utcnow()
    session.add(submission)
    session.flush()
    _record(session, submission, kind="evaluation", outcome=submission.status, report=report)


# --- submitting ---------------------------------------------------------------------------------


def create(*, session: Session, data: SubmissionCreate) -> tuple[Submission, bool]:
    """The submission and whether it is new (False: the same content was submitted before)."""
    principal = principal_of(session)
    municipality = resolve_municipality(
        session=session, slug=data.municipality, field="body.municipality"
    )
    body = data.model_dump(mode="json", exclude_unset=True)
    if data.listing is None:
        if data.organization is None:
            raise Unprocessable(
                "Geef een nieuwe organisatie op (organization) of een bestaande (listing).",
                errors=[FieldError(field="body.organization", message="Dit veld is verplicht.")],
            )
        return _create_new(session, municipality, data, body), True
    organization = session.exec(
        select(Organization).where(
            Organization.municipality_id == municipality.id, Organization.slug == data.listing
        )
    ).first()
    if organization is None:
        raise NotFound(f"Organisatie '{data.listing}' bestaat niet.")
    require_manage(principal, municipality_id=municipality.id, organization_id=organization.id)
    payload = {
        "organization": data.organization_changes.model_dump(mode="json", exclude_unset=True)
        if data.organization_changes
        else None,
        "services": {
            slug: changes.model_dump(mode="json", exclude_unset=True)
            for slug, changes in data.service_changes.items()
        },
        "locations": {
            str(location_id): changes.model_dump(mode="json", exclude_unset=True)
            for location_id, changes in data.location_changes.items()
        },
    }
    content = _hash({"payload": payload, "attestations": body.get("attestations") or {}})
    existing = session.exec(
        select(Submission).where(
            Submission.organization_id == organization.id,
            Submission.content_hash == content,
            col(Submission.status).in_(OPEN),
        )
    ).first()
    if existing is not None:
        return existing, False
    submission = Submission(
        municipality_id=municipality.id,
        organization_id=organization.id,
        kind=SubmissionKind.change.value,
        status=SubmissionStatus.submitted.value,
        payload=payload,
        content_hash=content,
        attestations=body.get("attestations") or {},
        submitted_by_id=principal.id if principal.kind is PrincipalKind.user else None,
    )
    session.add(submission)
    session.flush()
    _save_report(session, submission, _evaluate(session, submission, organization))
    return submission, True


def _create_new(
    session: Session, municipality: Municipality, data: SubmissionCreate, body: dict[str, Any]
) -> Submission:
    principal = principal_of(session)
    require_municipality_or_provider(principal, municipality.id)
    assert data.organization is not None
    content = _hash(body)
    existing = session.exec(
        select(Submission).where(
            Submission.municipality_id == municipality.id,
            Submission.content_hash == content,
            col(Submission.status).in_(OPEN),
        )
    ).first()
    if existing is not None:
        raise Conflict(
            "Deze aanmelding is al ingediend. Vul de bestaande aan (PATCH /submissions/{id}).",
            headers={"Location": f"submissions/{existing.id}"},
        )
    org_data = data.organization.model_dump(exclude_unset=True)
    org_data.update(municipality=municipality.slug, admission_status=AdmissionStatus.ingediend)
    # Checked above; the provider is not a member yet and the status is the flow's to set.
    organization = organizations_service.create(
        session=session, data=OrganizationCreate.model_validate(org_data), authorized=True
    )
    if principal.role is Role.provider and principal.id is not None:
        session.add(OrganizationMember(user_id=principal.id, organization_id=organization.id))
        session.flush()
    location_ids = []
    for loc in data.locations:
        values = loc.model_dump(exclude_unset=True)
        values.update(municipality=municipality.slug, organization=organization.slug)
        location_ids.append(
            locations_service.create(
                session=session, data=LocationCreate.model_validate(values), authorized=True
            ).id
        )
    for item in data.services:
        values = item.model_dump(exclude_unset=True)
        values.update(
            municipality=municipality.slug,
            organization=organization.slug,
            admission_status=AdmissionStatus.ingediend,
        )
        if location_ids and not values.get("locations"):
            values["locations"] = location_ids
        values.setdefault("assured_date", date.today())  # submitting is confirming it is current
        services_service.create(
            session=session, data=ServiceCreate.model_validate(values), authorized=True
        )
    submission = Submission(
        municipality_id=municipality.id,
        organization_id=organization.id,
        kind=SubmissionKind.new.value,
        status=SubmissionStatus.submitted.value,
        payload={},
        content_hash=content,
        attestations=body.get("attestations") or {},
        submitted_by_id=principal.id if principal.kind is PrincipalKind.user else None,
    )
    session.add(submission)
    session.flush()
    report = _evaluate(session, submission, organization)
    _save_report(session, submission, report)
    _set_listing_status(
        session,
        organization,
        AdmissionStatus.aanvullen.value
        if submission.status == SubmissionStatus.incomplete.value
        else AdmissionStatus.ingediend.value,
    )
    return submission


def require_municipality_or_provider(principal: Any, municipality_id: uuid.UUID) -> None:
    """Editors and admins submit for their municipalities; providers for a new organisation
    of any municipality they serve (their account's municipalities)."""
    if principal.role is Role.provider:
        if principal.municipality_ids and not principal.serves(municipality_id):
            require_municipality(principal, municipality_id)
        return
    require_municipality(principal, municipality_id)


def get(*, session: Session, submission_id: uuid.UUID) -> Submission:
    submission = session.get(Submission, submission_id)
    principal = principal_of(session)
    own = (
        submission is not None
        and principal.id is not None
        and (
            submission.submitted_by_id == principal.id  # also before a new token lists the org
        )
    )
    if submission is None or not (
        own
        or can_manage(
            principal,
            municipality_id=submission.municipality_id,
            organization_id=submission.organization_id,
        )
    ):
        raise NotFound("Deze aanmelding bestaat niet.")
    return submission


def amend(*, session: Session, submission: Submission, data: SubmissionUpdate) -> Submission:
    """Aanvullen en opnieuw indienen (no new evaluation when nothing changed)."""
    if submission.status not in OPEN:
        raise Conflict("Over deze aanmelding is al besloten; dien een nieuwe in.")
    organization = session.get(Organization, submission.organization_id)
    assert organization is not None
    changes = data.model_dump(mode="json", exclude_unset=True)
    attestations = {**submission.attestations, **(changes.get("attestations") or {})}
    if submission.kind == SubmissionKind.change.value:
        payload = dict(submission.payload)
        if changes.get("organization_changes"):
            payload["organization"] = {
                **(payload.get("organization") or {}),
                **changes["organization_changes"],
            }
        services = dict(payload.get("services") or {})
        for slug, values in (changes.get("service_changes") or {}).items():
            services[slug] = {**services.get(slug, {}), **values}
        payload["services"] = services
        locations = dict(payload.get("locations") or {})
        for location_id, values in (changes.get("location_changes") or {}).items():
            locations[str(location_id)] = {**locations.get(str(location_id), {}), **values}
        payload["locations"] = locations
        content = _hash({"payload": payload, "attestations": attestations})
        if content == submission.content_hash:
            return submission
        submission.payload, submission.content_hash = payload, content
    else:
        if not _has_listing_changes(changes) and attestations == submission.attestations:
            return submission  # nothing new: no new evaluation
        _apply_changes(
            session,
            organization,
            {
                "organization": changes.get("organization_changes"),
                "services": changes.get("service_changes") or {},
                "locations": changes.get("location_changes") or {},
            },
        )
        submission.content_hash = _hash({"previous": submission.content_hash, "changes": changes})
    submission.attestations = attestations
    _save_report(session, submission, _evaluate(session, submission, organization))
    if submission.kind == SubmissionKind.new.value:
        _set_listing_status(
            session,
            organization,
            AdmissionStatus.aanvullen.value
            if submission.status == SubmissionStatus.incomplete.value
            else AdmissionStatus.ingediend.value,
        )
    return submission


def _has_listing_changes(changes: dict[str, Any]) -> bool:
    return bool(
        changes.get("organization_changes")
        or changes.get("service_changes")
        or changes.get("location_changes")
    )


# --- reviewing ----------------------------------------------------------------------------------


def _open_criteria(report: dict[str, Any]) -> list[str]:
    return [
        r["id"]
        for r in report.get("results") or []
        if r.get("blocking") and r.get("status") in ("failed", "missing", "needs_review")
    ]


def review_queue(*, session: Session, status: str | None) -> list[ReviewItem]:
    principal = principal_of(session)
    statement = select(Submission, Organization).join(
        Organization, col(Organization.id) == col(Submission.organization_id)
    )
    statement = statement.where(Submission.status == (status or SubmissionStatus.submitted.value))
    if not principal.all_municipalities:
        statement = statement.where(
            col(Submission.municipality_id).in_(list(principal.municipality_ids))
        )
    rows = session.exec(statement.order_by(col(Submission.created_at), col(Submission.id)))
    return [
        ReviewItem(
            id=s.id,
            kind=s.kind,
            status=s.status,
            organization=o.slug,
            organization_name=o.name,
            outcome=(s.report or {}).get("outcome"),
            open_criteria=_open_criteria(s.report or {}),
            created_at=s.created_at,
        )
        for s, o in rows
    ]


def decide(*, session: Session, submission: Submission, data: Decision) -> Submission:
    principal = principal_of(session)
    require_municipality(principal, submission.municipality_id)
    if submission.status not in OPEN:
        raise Conflict("Over deze aanmelding is al besloten.")
    if data.decision == "afgewezen" and not (data.reason or "").strip():
        raise Unprocessable(
            "Geef bij afwijzen de reden op; de aanbieder krijgt die te zien.",
            errors=[FieldError(field="body.reason", message="Dit veld is verplicht.")],
        )
    empty = [cid for cid, reason in data.overrides.items() if not reason.strip()]
    if empty:
        raise Unprocessable(
            "Afwijken van een criterium kan alleen met een schriftelijke reden.",
            errors=[
                FieldError(field=f"body.overrides.{c}", message="Geef de reden.") for c in empty
            ],
        )
    organization = session.get(Organization, submission.organization_id)
    assert organization is not None
    decisions: dict[str, dict[str, Any]] = {c: {"passed": True} for c in data.confirmed}
    decisions.update({c: {"passed": True, "reason": r} for c, r in data.overrides.items()})
    report = _evaluate(session, submission, organization, decisions=decisions)
    if data.decision == "toegelaten":
        still_open = _open_criteria(report.model_dump(mode="json"))
        if still_open:
            raise Unprocessable(
                "Toelaten kan pas als elk criterium klopt, is bevestigd of met een reden is "
                f"overruled. Nog open: {', '.join(still_open)}.",
                errors=[
                    FieldError(field="body.confirmed", message=f"{c} is nog open.")
                    for c in still_open
                ],
            )
        if submission.kind == SubmissionKind.change.value:
            _apply_changes(session, organization, submission.payload)
            _set_listing_status(session, organization, AdmissionStatus.toegelaten.value)
        else:
            _set_listing_status(session, organization, AdmissionStatus.toegelaten.value)
        status = SubmissionStatus.admitted
    elif data.decision == "aanvullen":
        status = SubmissionStatus.incomplete
        if submission.kind == SubmissionKind.new.value:
            _set_listing_status(session, organization, AdmissionStatus.aanvullen.value)
    else:
        status = SubmissionStatus.rejected
        if submission.kind == SubmissionKind.new.value:
            _set_listing_status(session, organization, AdmissionStatus.afgewezen.value)
    submission.report = report.model_dump(mode="json")
    submission.status = status.value
    submission.updated_at = utcnow()
    session.add(submission)
    session.flush()
    _record(
        session,
        submission,
        kind="decision",
        outcome=status.value,
        report=report,
        overrides=dict(data.overrides),
        reason=data.reason,
    )
    return submission


# --- presenting ---------------------------------------------------------------------------------


def present(*, session: Session, submission: Submission) -> SubmissionPublic:
    organization = session.get(Organization, submission.organization_id)
    municipality = session.get(Municipality, submission.municipality_id)
    assert organization is not None
    assert municipality is not None
    return SubmissionPublic(
        id=submission.id,
        kind=submission.kind,
        status=submission.status,
        municipality=municipality.slug,
        organization=organization.slug,
        report=submission.report,
        changes=_diff(session, organization, submission)
        if submission.kind == SubmissionKind.change.value
        else {},
        attestations=submission.attestations,
        created_at=submission.created_at,
        updated_at=submission.updated_at,
    )


def _diff(session: Session, organization: Organization, submission: Submission) -> dict[str, Any]:
    """Per field: [current, proposed] (for the reviewer)."""
    result: dict[str, Any] = {}
    for field, new in (submission.payload.get("organization") or {}).items():
        result[f"organization.{field}"] = [_plain(getattr(organization, field, None)), new]
    services = {s.slug: s for s in _services_of(session, organization)}
    for slug, changes in (submission.payload.get("services") or {}).items():
        current = services.get(slug)
        for field, new in changes.items():
            result[f"services.{slug}.{field}"] = [
                _plain(getattr(current, field, None)) if current else None,
                new,
            ]
    for location_id, changes in (submission.payload.get("locations") or {}).items():
        location = session.get(Location, uuid.UUID(str(location_id)))
        shown = (
            locations_service.present(session=session, locations=[location])[0].model_dump(
                mode="json"
            )
            if location is not None
            else {}
        )
        for field, new in changes.items():
            result[f"locations.{location_id}.{field}"] = [shown.get(field), new]
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


__all__: Sequence[str] = ("amend", "create", "decide", "get", "present", "review_queue")
