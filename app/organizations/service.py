"""Organizations: public reads and admin writes. Functions flush, never commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.policy import require_manage, require_municipality
from app.accounts.principal import principal_of
from app.contacts.models import Contact, Phone
from app.contacts.schemas import ContactPublic, PhonePublic
from app.core.children import load_owned, replace_given, replace_owned
from app.core.errors import Conflict, Forbidden
from app.core.lookup import ensure_slug_free, get_by_slug, unique_slug
from app.core.models import utcnow
from app.core.pagination import PageParams
from app.core.schemas import Ref
from app.core.visibility import organization_is_public, service_is_public
from app.indexing.service import enqueue_organization
from app.municipalities.models import Municipality
from app.municipalities.service import resolve_municipality
from app.organizations.models import Organization, OrganizationIdentifier
from app.organizations.schemas import (
    IdentifierPublic,
    OrganizationCreate,
    OrganizationDetail,
    OrganizationPage,
    OrganizationServiceItem,
    OrganizationSummary,
    OrganizationUpdate,
)
from app.services.models import Service

NOUN = "organisatie"


def _public_service_counts(session: Session, org_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not org_ids:
        return {}
    rows = session.exec(
        select(Service.organization_id, func.count())
        .where(col(Service.organization_id).in_(list(org_ids)), service_is_public())
        .group_by(col(Service.organization_id))
    )
    return dict(rows.all())


def _municipality_refs(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Ref]:
    rows = session.exec(select(Municipality).where(col(Municipality.id).in_(list(ids))))
    return {m.id: Ref(slug=m.slug, name=m.name) for m in rows}


def _summaries(session: Session, orgs: Sequence[Organization]) -> list[OrganizationSummary]:
    counts = _public_service_counts(session, [o.id for o in orgs])
    municipalities = _municipality_refs(session, {o.municipality_id for o in orgs})
    return [
        OrganizationSummary(
            id=o.id,
            slug=o.slug,
            name=o.name,
            kind=o.kind,
            website=o.website,
            municipality=municipalities[o.municipality_id],
            admission_status=o.admission_status,
            service_count=counts.get(o.id, 0),
            updated_at=o.updated_at,
        )
        for o in orgs
    ]


def list_public(
    *, session: Session, page: PageParams, municipality: str | None = None
) -> OrganizationPage:
    where = [organization_is_public()]
    if municipality is not None:
        where.append(
            col(Organization.municipality_id).in_(
                select(Municipality.id).where(Municipality.slug == municipality)
            )
        )
    total = session.exec(select(func.count()).select_from(Organization).where(*where)).one()
    orgs = session.exec(
        select(Organization)
        .where(*where)
        .order_by(func.lower(Organization.name), col(Organization.id))
        .offset(page.offset)
        .limit(page.per_page)
    ).all()
    return OrganizationPage(
        items=_summaries(session, orgs), total=total, page=page.page, per_page=page.per_page
    )


def detail(
    *, session: Session, org: Organization, public_services_only: bool = True
) -> OrganizationDetail:
    (summary,) = _summaries(session, [org])
    services_q = (
        select(Service).where(Service.organization_id == org.id).order_by(func.lower(Service.name))
    )
    if public_services_only:
        services_q = services_q.where(service_is_public())
    identifiers = session.exec(
        select(OrganizationIdentifier)
        .where(OrganizationIdentifier.organization_id == org.id)
        .order_by(col(OrganizationIdentifier.identifier_type))
    )
    phones = load_owned(
        session=session, model=Phone, owner_field="organization_id", owner_ids=[org.id]
    )
    contacts = load_owned(
        session=session, model=Contact, owner_field="organization_id", owner_ids=[org.id]
    )
    return OrganizationDetail(
        **summary.model_dump(),
        alternate_name=org.alternate_name,
        description=org.description,
        email=org.email,
        identifiers=[
            IdentifierPublic(type=i.identifier_type, identifier=i.identifier) for i in identifiers
        ],
        phones=[PhonePublic.model_validate(p) for p in phones[org.id]],
        contacts=[ContactPublic.model_validate(c) for c in contacts[org.id]],
        services=[
            OrganizationServiceItem(id=s.id, slug=s.slug, name=s.name)
            for s in session.exec(services_q)
        ],
        created_at=org.created_at,
        version=org.version,
    )


def get_public(*, session: Session, slug: str, municipality: str | None) -> Organization:
    return get_by_slug(
        session=session,
        model=Organization,
        slug=slug,
        municipality=municipality,
        noun=NOUN,
        extra_where=(organization_is_public(),),
    )


def get_any(*, session: Session, slug: str, municipality: str | None) -> Organization:
    return get_by_slug(
        session=session, model=Organization, slug=slug, municipality=municipality, noun=NOUN
    )


def _write_children(
    session: Session, org: Organization, data: OrganizationCreate | OrganizationUpdate
) -> None:
    if data.identifiers is not None:
        replace_owned(
            session=session,
            model=OrganizationIdentifier,
            owner_field="organization_id",
            owner_id=org.id,
            items=[],  # clear; identifiers are stored with their scheme below
        )
        for ident in data.identifiers:
            session.add(
                OrganizationIdentifier(
                    organization_id=org.id,
                    identifier_type=ident.type.value,
                    identifier=ident.identifier,
                    identifier_scheme="NL-KVK" if ident.type.value == "kvk" else "NL-AGB",
                )
            )
    replace_given(
        session=session,
        owner_field="organization_id",
        owner_id=org.id,
        children={Phone: data.phones, Contact: data.contacts},
    )


_SCALARS = ("alternate_name", "description", "website", "email")


def create(
    *,
    session: Session,
    data: OrganizationCreate,
    authorized: bool = False,
    organization_id: uuid.UUID | None = None,
) -> Organization:
    """``authorized``: the caller (the submission flow) has already checked the principal.
    ``organization_id``: keep a source's stable id (HSDS import); default a new one."""
    municipality = resolve_municipality(
        session=session, slug=data.municipality, field="body.municipality"
    )
    if not authorized:
        require_municipality(principal_of(session), municipality.id)
    if data.slug is not None:
        ensure_slug_free(
            session=session,
            model=Organization,
            municipality_id=municipality.id,
            slug=data.slug,
            noun=NOUN,
        )
        slug = data.slug
    else:
        slug = unique_slug(
            session=session, model=Organization, municipality_id=municipality.id, name=data.name
        )
    org = Organization(
        id=organization_id or uuid.uuid4(),
        municipality_id=municipality.id,
        slug=slug,
        name=data.name,
        kind=data.kind.value,
        admission_status=data.admission_status.value,
        **{k: getattr(data, k) for k in _SCALARS},
    )
    session.add(org)
    session.flush()
    _write_children(session, org, data)
    session.flush()
    return org


def update(
    *, session: Session, org: Organization, data: OrganizationUpdate, authorized: bool = False
) -> Organization:
    """``authorized``: the caller (the submission flow) has already checked the principal."""
    principal = principal_of(session)
    if not authorized:
        require_manage(principal, municipality_id=org.municipality_id, organization_id=org.id)
    changes = data.model_dump(exclude_unset=True, exclude={"identifiers", "phones", "contacts"})
    if not authorized and principal.role is Role.provider and "admission_status" in changes:
        raise Forbidden(
            "De toelatingsstatus wordt door de redactie bepaald; aanbieders kunnen die niet zetten."
        )
    if "slug" in changes and changes["slug"] != org.slug:
        ensure_slug_free(
            session=session,
            model=Organization,
            municipality_id=org.municipality_id,
            slug=changes["slug"],
            noun=NOUN,
            exclude_id=org.id,
        )
    for key, value in changes.items():
        setattr(org, key, value.value if hasattr(value, "value") else value)
    _write_children(session, org, data)
    org.updated_at = utcnow()
    session.add(org)
    session.flush()
    enqueue_organization(session=session, organization_id=org.id)
    return org


def delete(*, session: Session, org: Organization) -> None:
    require_municipality(principal_of(session), org.municipality_id)
    in_use = session.exec(
        select(func.count()).select_from(Service).where(Service.organization_id == org.id)
    ).one()
    if in_use:
        raise Conflict(
            f"Deze organisatie heeft nog {in_use} voorziening(en). Verwijder of verplaats die eerst."
        )
    session.delete(org)
    session.flush()
