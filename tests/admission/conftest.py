"""Builders for admission tests: organisations and services written straight to the test
database (the ``db`` session shares the rolled-back transaction of ``client``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Protocol

import pytest
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.security import create_access_token
from app.contacts.models import Phone
from app.locations.models import Address, Location, LocationType
from app.municipalities.models import Municipality, Place
from app.organizations.models import Organization, OrganizationIdentifier
from app.services.models import Service, ServiceArea, ServiceAtLocation, ServiceTerm
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from tests.conftest import SECRET_KEY

API = "/api/v1"
PLAIN = (
    "Elke dinsdag drinken we samen koffie in de buurtkamer. U bent welkom. "
    "Er is altijd iemand om mee te praten."
)


def token_for(
    role: Role,
    *,
    municipality_ids: list[uuid.UUID],
    organization_ids: list[uuid.UUID] | None = None,
) -> dict[str, str]:
    token, _ = create_access_token(
        secret_key=SECRET_KEY,
        user_id=uuid.uuid4(),
        role=role.value,
        municipality_ids=municipality_ids,
        organization_ids=organization_ids or [],
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def uithoorn(db: Session) -> Municipality:
    return db.exec(select(Municipality).where(Municipality.slug == "uithoorn")).one()


def term_ids(db: Session, taxonomy: str, slugs: list[str]) -> list[uuid.UUID]:
    rows = db.exec(
        select(TaxonomyTerm.id)
        .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
        .where(Taxonomy.slug == taxonomy, col(TaxonomyTerm.slug).in_(slugs))
    ).all()
    assert len(rows) == len(slugs), slugs
    return list(rows)


class MakeOrg(Protocol):
    def __call__(
        self,
        *,
        kind: str = ...,
        kvk: str | None = ...,
        agb: str | None = ...,
        email: str | None = ...,
        website: str | None = ...,
        description: str | None = ...,
        address: dict[str, Any] | None = ...,
        located: bool = ...,
    ) -> Organization: ...


class MakeService(Protocol):
    def __call__(
        self,
        org: Organization,
        *,
        name: str = ...,
        themes: list[str] = ...,
        target_groups: list[str] = ...,
        area: str | None = ...,
        region: str | None = ...,
        location_city: str | None = ...,
        description: str | None = ...,
        assured_date: date | None = ...,
        phone: str | None = ...,
    ) -> Service: ...


@pytest.fixture
def make_org(db: Session, uithoorn: Municipality) -> MakeOrg:
    """An organisation with (by default) a KvK number, e-mail, website and an address in
    Uithoorn: T3 and T4 pass."""
    counter = iter(range(1, 1000))

    def make(
        *,
        kind: str = "welzijnsorganisatie",
        kvk: str | None = "12345678",
        agb: str | None = None,
        email: str | None = "info@voorbeeld.nl",
        website: str | None = "https://www.voorbeeld.nl",
        description: str | None = PLAIN,
        address: dict[str, Any] | None = None,
        located: bool = True,
    ) -> Organization:
        n = next(counter)
        org = Organization(
            municipality_id=uithoorn.id,
            slug=f"organisatie-{n}-{uuid.uuid4().hex[:6]}",
            name=f"Organisatie {n}",
            kind=kind,
            email=email,
            website=website,
            description=description,
        )
        db.add(org)
        db.flush()
        for kind_, value in (("kvk", kvk), ("agb", agb)):
            if value is not None:
                db.add(
                    OrganizationIdentifier(
                        organization_id=org.id, identifier_type=kind_, identifier=value
                    )
                )
        if not located:
            db.flush()
            return org
        place = db.exec(
            select(Place).where(Place.municipality_id == uithoorn.id, Place.slug == "uithoorn")
        ).one()
        location = Location(
            municipality_id=uithoorn.id,
            organization_id=org.id,
            name="Kantoor",
            place_id=place.id,
        )
        db.add(location)
        db.flush()
        db.add(
            Address(
                location_id=location.id,
                **(
                    address
                    or {"address_1": "Dorpsstraat 1", "postal_code": "1421 AB", "city": "Uithoorn"}
                ),
            )
        )
        db.flush()
        return org

    return make


@pytest.fixture
def make_service(db: Session, uithoorn: Municipality) -> MakeService:
    """A service with a theme, for everyone, covering Uithoorn, confirmed today."""

    def make(
        org: Organization,
        *,
        name: str = "Koffieochtend",
        themes: list[str] = ["eenzaamheid-en-ontmoeting"],  # noqa: B006
        target_groups: list[str] = ["iedereen"],  # noqa: B006
        area: str | None = "municipality",
        region: str | None = None,
        location_city: str | None = None,
        description: str | None = PLAIN,
        assured_date: date | None = date.today(),
        phone: str | None = None,
    ) -> Service:
        service = Service(
            municipality_id=uithoorn.id,
            organization_id=org.id,
            slug=f"{org.slug}-{uuid.uuid4().hex[:6]}",
            name=name,
            description=description,
            assured_date=assured_date,
        )
        db.add(service)
        db.flush()
        for term_id in term_ids(db, "themes", themes) + term_ids(
            db, "target-groups", target_groups
        ):
            db.add(ServiceTerm(service_id=service.id, taxonomy_term_id=term_id))
        if area == "municipality":
            db.add(
                ServiceArea(
                    service_id=service.id, extent_type="municipality", municipality_id=uithoorn.id
                )
            )
        if region is not None:
            db.add(ServiceArea(service_id=service.id, extent_type="region", name=region))
        if location_city is not None:
            location = Location(
                municipality_id=uithoorn.id,
                name=f"Locatie in {location_city}",
                location_type=LocationType.physical.value,
            )
            db.add(location)
            db.flush()
            db.add(Address(location_id=location.id, address_1="Laan 2", city=location_city))
            db.add(ServiceAtLocation(service_id=service.id, location_id=location.id))
        if phone is not None:
            db.add(Phone(service_id=service.id, number=phone))
        db.flush()
        return service

    return make
