"""Services (voorzieningen): public reads and admin writes. Functions flush, never commit."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete as sa_delete
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.policy import require_manage, sees_professional_fields
from app.accounts.principal import principal_of
from app.contacts.models import Contact, Phone
from app.contacts.schemas import ContactPublic, PhonePublic
from app.core.children import load_owned, replace_given
from app.core.errors import FieldError, Forbidden, Unprocessable
from app.core.lookup import ensure_slug_free, get_by_slug, unique_slug
from app.core.models import AdmissionStatus, utcnow
from app.core.pagination import PageParams
from app.core.schemas import Ref, TermRef
from app.core.visibility import service_is_public
from app.indexing.service import enqueue
from app.locations import service as locations_service
from app.locations.models import Location
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.municipalities.service import resolve_municipality, resolve_neighbourhoods, resolve_place
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationRef
from app.schedules.models import Schedule
from app.schedules.schemas import SchedulePublic
from app.services.models import (
    ExtentType,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceSource,
    ServiceTerm,
)
from app.services.schemas import (
    ServiceAreaIn,
    ServiceAreaPublic,
    ServiceCreate,
    ServiceDetail,
    ServicePage,
    ServiceProfessional,
    ServiceSummary,
    ServiceUpdate,
    SourceIn,
    SourcePublic,
)
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from app.taxonomy.service import TaxonomyKey, resolve_terms

NOUN = "voorziening"


# --- reading ---------------------------------------------------------------------------


def _terms_for(
    session: Session, service_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, list[TermRef]]]:
    grouped: dict[uuid.UUID, dict[str, list[TermRef]]] = defaultdict(lambda: defaultdict(list))
    if not service_ids:
        return grouped
    rows = session.exec(
        select(ServiceTerm.service_id, Taxonomy.slug, TaxonomyTerm)
        .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTerm.taxonomy_term_id))
        .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
        .where(col(ServiceTerm.service_id).in_(list(service_ids)))
        .order_by(col(TaxonomyTerm.position), col(TaxonomyTerm.slug))
    )
    for service_id, taxonomy_slug, term in rows:
        grouped[service_id][taxonomy_slug].append(TermRef(slug=term.slug, label=term.label))
    return grouped


def summaries(*, session: Session, services: Sequence[Service]) -> list[ServiceSummary]:
    if not services:
        return []
    ids = [s.id for s in services]
    terms = _terms_for(session, ids)
    orgs = {
        o.id: o
        for o in session.exec(
            select(Organization).where(
                col(Organization.id).in_({s.organization_id for s in services})
            )
        )
    }
    municipalities = {
        m.id: Ref(slug=m.slug, name=m.name)
        for m in session.exec(
            select(Municipality).where(
                col(Municipality.id).in_({s.municipality_id for s in services})
            )
        )
    }
    result = []
    for s in services:
        t = terms[s.id]
        org = orgs[s.organization_id]
        access = t.get(TaxonomyKey.access_routes.value, [])
        cost = t.get(TaxonomyKey.costs.value, [])
        result.append(
            ServiceSummary(
                id=s.id,
                slug=s.slug,
                name=s.name,
                description=s.description,
                organization=OrganizationRef(id=org.id, slug=org.slug, name=org.name),
                municipality=municipalities[s.municipality_id],
                themes=t.get(TaxonomyKey.themes.value, []),
                target_groups=t.get(TaxonomyKey.target_groups.value, []),
                access=access[0] if access else None,
                cost=cost[0] if cost else None,
                minimum_age=s.minimum_age,
                maximum_age=s.maximum_age,
                admission_status=s.admission_status,
                assured_date=s.assured_date,
                updated_at=s.updated_at,
            )
        )
    return result


def _service_area(session: Session, service_id: uuid.UUID) -> ServiceAreaPublic | None:
    rows = list(session.exec(select(ServiceArea).where(ServiceArea.service_id == service_id)))
    if not rows:
        return None
    first = rows[0]
    municipality = (
        session.get(Municipality, first.municipality_id) if first.municipality_id else None
    )
    place_ids = [r.place_id for r in rows if r.place_id]
    wijk_ids = [r.neighbourhood_id for r in rows if r.neighbourhood_id]
    places = session.exec(
        select(Place).where(col(Place.id).in_(place_ids)).order_by(col(Place.name))
    ).all()
    wijken = session.exec(
        select(Neighbourhood)
        .where(col(Neighbourhood.id).in_(wijk_ids))
        .order_by(col(Neighbourhood.name))
    ).all()
    return ServiceAreaPublic(
        extent_type=first.extent_type,
        municipality=Ref(slug=municipality.slug, name=municipality.name) if municipality else None,
        places=[Ref(slug=p.slug, name=p.name) for p in places],
        neighbourhoods=[Ref(slug=n.slug, name=n.name) for n in wijken],
        name=first.name,
        description=first.description,
    )


def detail(*, session: Session, service: Service) -> ServiceDetail:
    (summary,) = summaries(session=session, services=[service])
    locations = session.exec(
        select(Location)
        .join(ServiceAtLocation, col(ServiceAtLocation.location_id) == col(Location.id))
        .where(ServiceAtLocation.service_id == service.id)
        .order_by(col(Location.name))
    ).all()
    owner = [service.id]
    phones = load_owned(session=session, model=Phone, owner_field="service_id", owner_ids=owner)
    contacts = load_owned(session=session, model=Contact, owner_field="service_id", owner_ids=owner)
    schedules = load_owned(
        session=session, model=Schedule, owner_field="service_id", owner_ids=owner
    )
    sources = load_owned(
        session=session, model=ServiceSource, owner_field="service_id", owner_ids=owner
    )
    return ServiceDetail(
        **summary.model_dump(),
        alternate_name=service.alternate_name,
        url=service.url,
        email=service.email,
        eligibility_description=service.eligibility_description,
        application_process=service.application_process,
        fees_description=service.fees_description,
        languages=list(service.languages),
        service_area=_service_area(session, service.id),
        locations=locations_service.present(session=session, locations=locations),
        phones=[PhonePublic.model_validate(p) for p in phones[service.id]],
        contacts=[ContactPublic.model_validate(c) for c in contacts[service.id]],
        schedules=[SchedulePublic.model_validate(s) for s in schedules[service.id]],
        sources=[SourcePublic(url=s.url, date=s.source_date) for s in sources[service.id]],
        created_at=service.created_at,
        version=service.version,
        professional=ServiceProfessional(
            professional_phone=service.professional_phone,
            referral_procedure=service.referral_procedure,
            internal_remarks=service.internal_remarks,
        )
        if sees_professional_fields(principal_of(session))
        else None,
    )


def list_public(
    *, session: Session, page: PageParams, municipality: str | None = None
) -> ServicePage:
    statement = select(Service).where(service_is_public())
    if municipality is not None:
        statement = statement.join(
            Municipality, col(Municipality.id) == col(Service.municipality_id)
        ).where(Municipality.slug == municipality)
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    rows = session.exec(
        statement.order_by(func.lower(Service.name), col(Service.id))
        .offset(page.offset)
        .limit(page.per_page)
    ).all()
    return ServicePage(
        items=summaries(session=session, services=rows),
        total=total,
        page=page.page,
        per_page=page.per_page,
    )


def get_public(*, session: Session, slug: str, municipality: str | None) -> Service:
    return get_by_slug(
        session=session,
        model=Service,
        slug=slug,
        municipality=municipality,
        noun=NOUN,
        extra_where=(service_is_public(),),
    )


def get_any(*, session: Session, slug: str, municipality: str | None) -> Service:
    return get_by_slug(
        session=session, model=Service, slug=slug, municipality=municipality, noun=NOUN
    )


# --- writing ---------------------------------------------------------------------------


def _set_terms(session: Session, service: Service, data: ServiceCreate | ServiceUpdate) -> None:
    fields = data.model_fields_set
    plan: list[tuple[TaxonomyKey, list[str] | None, str]] = []
    if "themes" in fields:
        plan.append((TaxonomyKey.themes, data.themes or [], "body.themes"))
    if "target_groups" in fields:
        plan.append((TaxonomyKey.target_groups, data.target_groups or [], "body.target_groups"))
    if "access" in fields:
        plan.append(
            (TaxonomyKey.access_routes, [data.access] if data.access else [], "body.access")
        )
    if "cost" in fields:
        plan.append((TaxonomyKey.costs, [data.cost] if data.cost else [], "body.cost"))
    for key, slugs, field in plan:
        terms = resolve_terms(session=session, taxonomy=key, slugs=slugs or [], field=field)
        taxonomy_term_ids = (
            select(TaxonomyTerm.id)
            .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
            .where(Taxonomy.slug == key.value)
        )
        session.execute(
            sa_delete(ServiceTerm).where(
                col(ServiceTerm.service_id) == service.id,
                col(ServiceTerm.taxonomy_term_id).in_(taxonomy_term_ids),
            )
        )
        for term in terms:
            session.add(ServiceTerm(service_id=service.id, taxonomy_term_id=term.id))


def _set_service_area(session: Session, service: Service, area: ServiceAreaIn) -> None:
    session.execute(sa_delete(ServiceArea).where(col(ServiceArea.service_id) == service.id))
    mid = service.municipality_id

    def row(**target: uuid.UUID | str | None) -> ServiceArea:
        return ServiceArea.model_validate(
            {
                "service_id": service.id,
                "extent_type": area.extent_type.value,
                "description": area.description,
                "municipality_id": mid,
                **target,
            }
        )

    if area.extent_type is ExtentType.municipality:
        session.add(row())
    elif area.extent_type is ExtentType.place:
        for i, slug in enumerate(dict.fromkeys(area.places)):
            place = resolve_place(
                session=session,
                municipality_id=mid,
                slug=slug,
                field=f"body.service_area.places.{i}",
            )
            session.add(row(place_id=place.id))
    elif area.extent_type is ExtentType.neighbourhood:
        for wijk in resolve_neighbourhoods(
            session=session,
            municipality_id=mid,
            slugs=area.neighbourhoods,
            field="body.service_area.neighbourhoods",
        ):
            session.add(row(neighbourhood_id=wijk.id))
    else:
        session.add(row(name=area.name))


def _set_locations(session: Session, service: Service, location_ids: list[uuid.UUID]) -> None:
    wanted = list(dict.fromkeys(location_ids))
    found = (
        {loc.id: loc for loc in session.exec(select(Location).where(col(Location.id).in_(wanted)))}
        if wanted
        else {}
    )
    errors = [
        FieldError(field=f"body.locations.{i}", message=f"Locatie {lid} bestaat niet.")
        for i, lid in enumerate(wanted)
        if lid not in found
    ] + [
        FieldError(
            field=f"body.locations.{i}", message="Deze locatie hoort bij een andere gemeente."
        )
        for i, lid in enumerate(wanted)
        if lid in found and found[lid].municipality_id != service.municipality_id
    ]
    if errors:
        raise Unprocessable("Een of meer locaties kunnen niet gekoppeld worden.", errors=errors)
    session.execute(
        sa_delete(ServiceAtLocation).where(col(ServiceAtLocation.service_id) == service.id)
    )
    for lid in wanted:
        session.add(ServiceAtLocation(service_id=service.id, location_id=lid))


def _set_sources(session: Session, service: Service, sources: list[SourceIn]) -> None:
    session.execute(sa_delete(ServiceSource).where(col(ServiceSource.service_id) == service.id))
    for position, source in enumerate(sources):
        session.add(
            ServiceSource(
                service_id=service.id, url=source.url, source_date=source.date, position=position
            )
        )


def _resolve_organization(session: Session, municipality_id: uuid.UUID, slug: str) -> Organization:
    org = session.exec(
        select(Organization).where(
            Organization.municipality_id == municipality_id, Organization.slug == slug
        )
    ).first()
    if org is None:
        raise Unprocessable(
            f"Organisatie '{slug}' bestaat niet in deze gemeente.",
            errors=[
                FieldError(
                    field="body.organization", message=f"'{slug}' bestaat niet in deze gemeente."
                )
            ],
        )
    return org


_SCALARS = (
    "alternate_name",
    "description",
    "url",
    "email",
    "minimum_age",
    "maximum_age",
    "eligibility_description",
    "application_process",
    "fees_description",
    "assured_date",
    "professional_phone",
    "referral_procedure",
    "internal_remarks",
)


def _write_related(session: Session, service: Service, data: ServiceCreate | ServiceUpdate) -> None:
    _set_terms(session, service, data)
    if data.service_area is not None:
        _set_service_area(session, service, data.service_area)
    if data.locations is not None:
        _set_locations(session, service, data.locations)
    if data.sources is not None:
        _set_sources(session, service, data.sources)
    replace_given(
        session=session,
        owner_field="service_id",
        owner_id=service.id,
        children={Phone: data.phones, Contact: data.contacts, Schedule: data.schedules},
    )
    session.flush()


def _check_write(
    session: Session,
    service: Service | None,
    org_id: uuid.UUID,
    data: ServiceCreate | ServiceUpdate,
) -> None:
    """Who may write this service: managers of its organisation (providers) or of its
    municipality (redactie, beheer); only redactie and beheer set the admission status or
    internal remarks."""
    principal = principal_of(session)
    municipality_id = service.municipality_id if service else None
    if service is not None:
        require_manage(
            principal,
            municipality_id=service.municipality_id,
            organization_id=service.organization_id,
        )
    require_manage(
        principal,
        municipality_id=municipality_id or _municipality_of_org(session, org_id),
        organization_id=org_id,
    )
    if principal.role is Role.provider:
        fields = data.model_fields_set
        if "internal_remarks" in fields:
            raise Forbidden("Interne opmerkingen zijn alleen voor de redactie.")
        wanted = data.admission_status
        if (
            "admission_status" in fields
            and wanted is not None
            and wanted is not AdmissionStatus.concept
        ):
            raise Forbidden(
                "De toelatingsstatus wordt door de redactie bepaald; aanbieders kunnen die niet zetten."
            )


def _municipality_of_org(session: Session, org_id: uuid.UUID) -> uuid.UUID:
    org = session.get(Organization, org_id)
    assert org is not None
    return org.municipality_id


def create(
    *,
    session: Session,
    data: ServiceCreate,
    authorized: bool = False,
    service_id: uuid.UUID | None = None,
) -> Service:
    """``authorized``: the caller (the submission flow) has already checked the principal.
    ``service_id``: keep a source's stable id (HSDS import); default a new one."""
    municipality = resolve_municipality(
        session=session, slug=data.municipality, field="body.municipality"
    )
    org = _resolve_organization(session, municipality.id, data.organization)
    if not authorized:
        _check_write(session, None, org.id, data)
    if data.slug is not None:
        ensure_slug_free(
            session=session,
            model=Service,
            municipality_id=municipality.id,
            slug=data.slug,
            noun=NOUN,
        )
        slug = data.slug
    else:
        slug = unique_slug(
            session=session, model=Service, municipality_id=municipality.id, name=data.name
        )
    service = Service(
        id=service_id or uuid.uuid4(),
        municipality_id=municipality.id,
        organization_id=org.id,
        slug=slug,
        name=data.name,
        admission_status=data.admission_status.value,
        languages=list(data.languages) if data.languages is not None else ["nl"],
        **{k: getattr(data, k) for k in _SCALARS},
    )
    session.add(service)
    session.flush()
    if data.service_area is None:
        data.service_area = ServiceAreaIn()
    _write_related(session, service, data)
    enqueue(session=session, service_ids=[service.id])
    return service


def update(
    *, session: Session, service: Service, data: ServiceUpdate, authorized: bool = False
) -> Service:
    """``authorized``: the caller (the submission flow) has already checked the principal."""
    new_org = (
        _resolve_organization(session, service.municipality_id, data.organization).id
        if data.organization is not None
        else service.organization_id
    )
    if not authorized:
        _check_write(session, service, new_org, data)
    changes = data.model_dump(
        exclude_unset=True,
        include={*_SCALARS, "slug", "name", "admission_status", "languages"},
    )
    new_min = changes.get("minimum_age", service.minimum_age)
    new_max = changes.get("maximum_age", service.maximum_age)
    if new_min is not None and new_max is not None and new_min > new_max:
        raise Unprocessable(
            "De minimumleeftijd is hoger dan de maximumleeftijd.",
            errors=[
                FieldError(
                    field="body.minimum_age",
                    message="De minimumleeftijd is hoger dan de maximumleeftijd.",
                )
            ],
        )
    if "slug" in changes and changes["slug"] != service.slug:
        ensure_slug_free(
            session=session,
            model=Service,
            municipality_id=service.municipality_id,
            slug=changes["slug"],
            noun=NOUN,
            exclude_id=service.id,
        )
    if data.organization is not None:
        service.organization_id = _resolve_organization(
            session, service.municipality_id, data.organization
        ).id
    if "languages" in changes:
        changes["languages"] = list(changes["languages"] or [])
    for key, value in changes.items():
        setattr(service, key, value.value if hasattr(value, "value") else value)
    _write_related(session, service, data)
    service.updated_at = utcnow()
    session.add(service)
    session.flush()
    enqueue(session=session, service_ids=[service.id])
    return service


def delete(*, session: Session, service: Service) -> None:
    require_manage(
        principal_of(session),
        municipality_id=service.municipality_id,
        organization_id=service.organization_id,
    )
    enqueue(session=session, service_ids=[service.id])
    session.delete(service)
    session.flush()
