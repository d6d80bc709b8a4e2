"""Evaluate an organisation and its services against a version of the toelatingscriteria.

``evaluate`` gives one result per criterion — ``passed``, ``failed``, ``missing``,
``needs_review``, ``warning`` or ``not_applicable`` — with a Dutch finding, the criterion's
explanation and what to do next, and an overall outcome:

* ``afgewezen``: a blocking criterion failed whose ``on_fail`` is ``afgewezen``;
* ``aanvullen``: otherwise, a blocking criterion failed (``on_fail: aanvullen``) or is
  ``missing`` (data or an attestation the provider can add: always fixable);
* ``ingediend``: otherwise, a blocking criterion waits for the editor (``needs_review``);
* ``toegelaten``: every applicable blocking criterion passed.

Warnings (severity ``warning``, such as T9) never change the outcome.

Automatic checks come from the fixed registry :data:`CHECKS`; a criterion names one in its
``check.name`` and may set its ``params``. Attestations and editor decisions are passed in:
``attestations={"T5": {"attested": True, "link": "https://…"}}`` and
``decisions={"T8": {"passed": True, "reason": "…"}}`` (a decision confirms or overrides any
criterion; the caller records who decided).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError
from sqlmodel import Session, col, or_, select

from app.admission.criteria import (
    AppliesTo,
    CheckType,
    Criterion,
    Severity,
    criteria_of,
)
from app.admission.models import CriteriaVersion
from app.admission.readability import analyse
from app.admission.schemas import (
    Attestation,
    CriterionResult,
    CriterionStatus,
    Decision,
    Outcome,
    Report,
)
from app.contacts.models import Contact, Phone
from app.core.models import utcnow
from app.core.schemas import Ref
from app.core.types import Slug, WebUrl, normalize_phone
from app.locations.models import Address, Location, LocationType
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.organizations.models import Organization, OrganizationIdentifier, OrganizationKind
from app.services.models import ExtentType, Service, ServiceArea, ServiceAtLocation, ServiceTerm
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from app.taxonomy.service import TaxonomyKey

# --- the data an evaluation looks at -------------------------------------------------------------


@dataclass
class Subject:
    """An organisation and its services with everything the checks read (loaded once)."""

    municipality: Municipality
    organization: Organization
    services: list[Service]
    today: date
    place_ids: set[uuid.UUID] = field(default_factory=set)
    neighbourhood_ids: set[uuid.UUID] = field(default_factory=set)
    local_names: set[str] = field(default_factory=set)  # kernen and the municipality, casefolded
    themes: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    target_groups: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    areas: dict[uuid.UUID, list[ServiceArea]] = field(default_factory=dict)
    locations: dict[uuid.UUID, list[Location]] = field(default_factory=dict)  # per service
    org_locations: list[Location] = field(default_factory=list)
    addresses: dict[uuid.UUID, Address] = field(default_factory=dict)  # per location id
    phones: dict[uuid.UUID, list[str]] = field(default_factory=dict)  # per owner id
    emails: dict[uuid.UUID, list[str]] = field(default_factory=dict)  # contacts, per owner id
    identifiers: dict[str, str] = field(default_factory=dict)

    @property
    def all_target_groups(self) -> set[str]:
        return {g for groups in self.target_groups.values() for g in groups}

    @property
    def all_themes(self) -> set[str]:
        return {t for themes in self.themes.values() for t in themes}


def load_subject(
    session: Session, organization: Organization, services: Sequence[Service], today: date
) -> Subject:
    municipality = session.get(Municipality, organization.municipality_id)
    if municipality is None:  # pragma: no cover - the foreign key guarantees it
        raise ValueError("organisation without municipality")
    subject = Subject(
        municipality=municipality, organization=organization, services=list(services), today=today
    )
    places = session.exec(select(Place).where(Place.municipality_id == municipality.id)).all()
    subject.place_ids = {p.id for p in places}
    subject.neighbourhood_ids = set(
        session.exec(
            select(Neighbourhood.id).where(Neighbourhood.municipality_id == municipality.id)
        )
    )
    subject.local_names = {p.name.casefold() for p in places} | {municipality.name.casefold()}
    service_ids = [s.id for s in services]
    for s in services:
        subject.themes[s.id] = []
        subject.target_groups[s.id] = []
        subject.areas[s.id] = []
        subject.locations[s.id] = []
    if service_ids:
        for service_id, taxonomy, slug in session.exec(
            select(ServiceTerm.service_id, Taxonomy.slug, TaxonomyTerm.slug)
            .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTerm.taxonomy_term_id))
            .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
            .where(col(ServiceTerm.service_id).in_(service_ids))
            .order_by(col(TaxonomyTerm.position), col(TaxonomyTerm.slug))
        ):
            if taxonomy == TaxonomyKey.themes.value:
                subject.themes[service_id].append(slug)
            elif taxonomy == TaxonomyKey.target_groups.value:
                subject.target_groups[service_id].append(slug)
        for area in session.exec(
            select(ServiceArea).where(col(ServiceArea.service_id).in_(service_ids))
        ):
            subject.areas[area.service_id].append(area)
        for service_id, location in session.exec(
            select(ServiceAtLocation.service_id, Location)
            .join(Location, col(Location.id) == col(ServiceAtLocation.location_id))
            .where(col(ServiceAtLocation.service_id).in_(service_ids))
        ):
            subject.locations[service_id].append(location)
    subject.org_locations = list(
        session.exec(select(Location).where(Location.organization_id == organization.id))
    )
    location_ids = {loc.id for loc in subject.org_locations} | {
        loc.id for locs in subject.locations.values() for loc in locs
    }
    if location_ids:
        for address in session.exec(
            select(Address).where(col(Address.location_id).in_(list(location_ids)))
        ):
            subject.addresses[address.location_id] = address
    phone_owners = [col(Phone.organization_id) == organization.id]
    contact_owners = [col(Contact.organization_id) == organization.id]
    if service_ids:
        phone_owners.append(col(Phone.service_id).in_(service_ids))
        contact_owners.append(col(Contact.service_id).in_(service_ids))
    if location_ids:
        phone_owners.append(col(Phone.location_id).in_(list(location_ids)))
    for phone in session.exec(select(Phone).where(or_(*phone_owners))):
        owner = phone.organization_id or phone.service_id or phone.location_id
        if owner is not None:
            subject.phones.setdefault(owner, []).append(phone.number)
    for contact in session.exec(select(Contact).where(or_(*contact_owners))):
        owner_id = contact.organization_id or contact.service_id
        if contact.email and owner_id is not None:
            subject.emails.setdefault(owner_id, []).append(contact.email)
    for kind, identifier in session.exec(
        select(OrganizationIdentifier.identifier_type, OrganizationIdentifier.identifier).where(
            OrganizationIdentifier.organization_id == organization.id
        )
    ):
        subject.identifiers[kind] = identifier
    return subject


# --- the check registry ---------------------------------------------------------------------------


@dataclass
class CheckResult:
    status: CriterionStatus  # passed, failed, missing or needs_review
    finding: str
    next_step: str | None = None  # more specific than the criterion's next_step
    suggestions: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


CheckFn = Callable[[Subject, Any], CheckResult]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    description: str
    params: type[BaseModel]
    run: CheckFn
    advisory: bool = False  # gives tips only: may only be used with severity "warning"


def _names(services: Sequence[Service]) -> str:
    names = [f"'{s.name}'" for s in services]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " en " + names[-1]


# T1 werkgebied -----------------------------------------------------------------------------------


def _location_in(subject: Subject, location: Location) -> bool | None:
    """Is this location in the municipality? None: we cannot tell (no place or address)."""
    if location.location_type == LocationType.virtual.value:
        return None
    if (
        location.place_id in subject.place_ids
        or location.neighbourhood_id in subject.neighbourhood_ids
    ):
        return True
    address = subject.addresses.get(location.id)
    if address is not None and address.city:
        return address.city.strip().casefold() in subject.local_names
    if location.place_id is not None or location.neighbourhood_id is not None:
        return False
    return None


def _area_covers(subject: Subject, area: ServiceArea) -> bool | None:
    """Does this werkgebied cover the municipality? None: a region, the editor decides."""
    if area.extent_type == ExtentType.municipality.value:
        return area.municipality_id == subject.municipality.id
    if area.extent_type == ExtentType.place.value:
        return area.place_id in subject.place_ids
    if area.extent_type == ExtentType.neighbourhood.value:
        return area.neighbourhood_id in subject.neighbourhood_ids
    return None


def check_werkgebied(subject: Subject, _params: NoParams) -> CheckResult:
    here = subject.municipality.name
    org_evidence = [_location_in(subject, loc) for loc in subject.org_locations]
    if not subject.services:
        if True in org_evidence:
            return CheckResult(
                CriterionStatus.passed, f"Uw organisatie heeft een locatie in {here}."
            )
        if False in org_evidence:
            return CheckResult(
                CriterionStatus.failed, f"De locaties van uw organisatie liggen niet in {here}."
            )
        return CheckResult(CriterionStatus.missing, "We weten nog niet waar u uw aanbod geeft.")
    outside: list[Service] = []
    unknown: list[Service] = []
    regions: list[tuple[Service, str]] = []
    for service in subject.services:
        evidence = [_area_covers(subject, a) for a in subject.areas[service.id]]
        evidence += [_location_in(subject, loc) for loc in subject.locations[service.id]]
        if True in evidence:
            continue
        region_names = [
            a.name or "regio"
            for a in subject.areas[service.id]
            if a.extent_type == ExtentType.region.value
        ]
        if region_names:
            regions.append((service, ", ".join(region_names)))
        elif False in evidence:
            outside.append(service)
        elif True in org_evidence:
            continue  # no own location or area: the organisation's location in the municipality
        else:
            unknown.append(service)
    if outside:
        return CheckResult(
            CriterionStatus.failed,
            f"{_names(outside)}: de locatie en het werkgebied liggen niet in {here}.",
            services=[s.slug for s in outside],
        )
    if unknown:
        return CheckResult(
            CriterionStatus.missing,
            f"{_names(unknown)}: er is geen locatie of werkgebied ingevuld.",
            services=[s.slug for s in unknown],
        )
    if regions:
        names = "; ".join(f"'{s.name}': {region}" for s, region in regions)
        return CheckResult(
            CriterionStatus.needs_review,
            f"Het werkgebied is een regio ({names}). De redactie kijkt of {here} daarbij hoort.",
            next_step="U hoeft niets te doen. De redactie kijkt hiernaar.",
            services=[s.slug for s, _ in regions],
        )
    return CheckResult(CriterionStatus.passed, f"Uw aanbod is er voor inwoners van {here}.")


# T2 sociaal domein -------------------------------------------------------------------------------


class SocialDomainParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    themes: list[Slug] = Field(
        default_factory=list, description="Toegestane thema's; leeg: elk thema uit de taxonomie."
    )


def check_sociaal_domein(subject: Subject, params: SocialDomainParams) -> CheckResult:
    if not subject.services:
        return CheckResult(
            CriterionStatus.missing,
            "Er is nog geen voorziening.",
            next_step="Voeg minstens één voorziening toe, met een thema.",
        )
    without = [s for s in subject.services if not subject.themes[s.id]]
    if without:
        return CheckResult(
            CriterionStatus.missing,
            f"{_names(without)}: er is geen thema gekozen.",
            next_step="Kies bij elke voorziening minstens één thema.",
            services=[s.slug for s in without],
        )
    if params.themes:
        allowed = set(params.themes)
        outside = [s for s in subject.services if not allowed & set(subject.themes[s.id])]
        if outside:
            return CheckResult(
                CriterionStatus.failed,
                f"{_names(outside)}: de thema's vallen buiten de sociale kaart.",
                services=[s.slug for s in outside],
            )
    return CheckResult(CriterionStatus.passed, "Elke voorziening heeft een thema.")


# T3 bereikbaar -----------------------------------------------------------------------------------

_URL: TypeAdapter[str] = TypeAdapter(WebUrl)


def _valid_phone(number: str) -> bool:
    try:
        normalize_phone(number)
    except PydanticCustomError:
        return False
    return True


def _valid_email(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _valid_url(url: str) -> bool:
    try:
        _URL.validate_python(url)
    except ValidationError:
        return False
    return True


class ReachableParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    require_address: bool = Field(default=True, description="Ook een (post)adres is verplicht.")


def _has_address(address: Address | None) -> bool:
    return (
        address is not None
        and bool(address.address_1)
        and bool(address.postal_code or address.city)
    )


def check_bereikbaar(subject: Subject, params: ReachableParams) -> CheckResult:
    org = subject.organization
    groups: list[tuple[Service | None, list[Location]]] = [
        (s, subject.locations[s.id]) for s in subject.services
    ] or [(None, [])]
    no_channel: list[str] = []
    invalid_only: list[str] = []
    no_address: list[str] = []
    invalid_values: list[str] = []
    concerned: list[str] = []
    for service, locations in groups:
        all_locations = [*locations, *subject.org_locations]
        phones = [*subject.phones.get(org.id, [])]
        emails = [*([org.email] if org.email else []), *subject.emails.get(org.id, [])]
        urls = [org.website] if org.website else []
        if service is not None:
            phones += subject.phones.get(service.id, [])
            emails += [service.email] if service.email else []
            emails += subject.emails.get(service.id, [])
            urls += [service.url] if service.url else []
        for loc in all_locations:
            phones += subject.phones.get(loc.id, [])
        valid = [p for p in phones if _valid_phone(p)] + [e for e in emails if _valid_email(e)]
        valid += [u for u in urls if _valid_url(u)]
        invalid = [p for p in phones if not _valid_phone(p)] + [
            e for e in emails if not _valid_email(e)
        ]
        invalid += [u for u in urls if not _valid_url(u)]
        label = f"'{service.name}'" if service is not None else "Uw organisatie"
        if not valid:
            (invalid_only if invalid else no_channel).append(label)
        invalid_values += [v for v in invalid if v not in invalid_values]
        if params.require_address and not any(
            _has_address(subject.addresses.get(loc.id)) for loc in all_locations
        ):
            no_address.append(label)
        if service is not None and (not valid or label in no_address):
            concerned.append(service.slug)
    suggestions = [f"'{v}' lijkt niet te kloppen. Controleer het." for v in invalid_values]
    problems: list[str] = []
    if invalid_only:
        problems.append(
            f"{', '.join(invalid_only)}: het telefoonnummer, e-mailadres of webadres klopt niet."
        )
    if no_channel:
        problems.append(
            f"{', '.join(no_channel)}: er is geen telefoonnummer, e-mailadres of website."
        )
    if no_address:
        problems.append(
            f"{', '.join(no_address)}: er is geen adres of postadres (straat en plaats)."
        )
    if invalid_only:
        return CheckResult(
            CriterionStatus.failed, " ".join(problems), suggestions=suggestions, services=concerned
        )
    if problems:
        return CheckResult(
            CriterionStatus.missing, " ".join(problems), suggestions=suggestions, services=concerned
        )
    return CheckResult(
        CriterionStatus.passed,
        "Inwoners kunnen u bereiken, en er is een adres.",
        suggestions=suggestions,
    )


# T4 registratie ----------------------------------------------------------------------------------

_EIGHT_DIGITS = re.compile(r"^\d{8}$")


class RegistrationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kvk_required: bool = Field(default=True, description="Een KvK-nummer is verplicht.")
    agb_required_for: list[OrganizationKind] = Field(
        default_factory=list, description="Soorten organisaties die ook een AGB-code nodig hebben."
    )


def check_registratie(subject: Subject, params: RegistrationParams) -> CheckResult:
    ids = {k: re.sub(r"[\s.]", "", v) for k, v in subject.identifiers.items()}
    wrong: list[str] = []
    missing: list[str] = []
    if "kvk" in ids and not _EIGHT_DIGITS.match(ids["kvk"]):
        wrong.append(f"Het KvK-nummer '{subject.identifiers['kvk']}' heeft geen 8 cijfers.")
    elif "kvk" not in ids and params.kvk_required:
        missing.append("Er is geen KvK-nummer ingevuld.")
    if "agb" in ids and not _EIGHT_DIGITS.match(ids["agb"]):
        wrong.append(f"De AGB-code '{subject.identifiers['agb']}' heeft geen 8 cijfers.")
    elif "agb" not in ids and subject.organization.kind in {
        k.value for k in params.agb_required_for
    }:
        missing.append("Er is geen AGB-code ingevuld.")
    if wrong:
        return CheckResult(
            CriterionStatus.failed,
            " ".join(wrong + missing),
            next_step="Controleer het nummer: een KvK-nummer en een AGB-code hebben elk 8 cijfers.",
        )
    if missing:
        return CheckResult(CriterionStatus.missing, " ".join(missing))
    found = ", ".join(f"{k.upper()} {v}" for k, v in sorted(ids.items()))
    return CheckResult(CriterionStatus.passed, f"Uw organisatie is ingeschreven ({found}).")


# T9 begrijpelijk ---------------------------------------------------------------------------------


class ReadabilityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_average_sentence_words: float = Field(default=15, gt=0)
    max_sentence_words: int = Field(default=25, gt=0)
    max_long_word_share: float = Field(default=0.15, gt=0, le=1)


def check_begrijpelijk(subject: Subject, params: ReadabilityParams) -> CheckResult:
    texts: list[tuple[str, str | None, str | None]] = [
        ("uw organisatie", None, subject.organization.description)
    ]
    texts += [(f"'{s.name}'", s.slug, s.description) for s in subject.services]
    suggestions: list[str] = []
    concerned: list[str] = []
    for label, slug, text in texts:
        if not text or not text.strip():
            if slug is not None:
                suggestions.append(f"{label}: schrijf een korte beschrijving in eenvoudige taal.")
                concerned.append(slug)
            continue
        result = analyse(
            text,
            max_average_sentence_words=params.max_average_sentence_words,
            max_sentence_words=params.max_sentence_words,
            max_long_word_share=params.max_long_word_share,
        )
        if not result.ok:
            suggestions += [f"{label}: {tip}" for tip in result.suggestions]
            if slug is not None:
                concerned.append(slug)
    if suggestions:
        return CheckResult(
            CriterionStatus.failed,
            "Sommige teksten zijn nog niet in eenvoudige taal (B1). "
            "Dit is een tip, geen afwijzing.",
            suggestions=suggestions,
            services=concerned,
        )
    return CheckResult(CriterionStatus.passed, "De teksten zijn in eenvoudige taal.")


# T10 actueel -------------------------------------------------------------------------------------


class FreshnessParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_age_months: int = Field(default=12, ge=1, le=120)


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def check_actueel(subject: Subject, params: FreshnessParams) -> CheckResult:
    if not subject.services:
        return CheckResult(
            CriterionStatus.missing,
            "Er is nog geen voorziening om te controleren.",
            next_step="Voeg minstens één voorziening toe.",
        )
    limit = months_before(subject.today, params.max_age_months)
    never = [s for s in subject.services if s.assured_date is None]
    old = [s for s in subject.services if s.assured_date is not None and s.assured_date < limit]
    if never or old:
        parts = []
        if never:
            parts.append(f"{_names(never)}: nog nooit bevestigd.")
        if old:
            parts.append(
                "; ".join(f"'{s.name}': laatst bevestigd op {s.assured_date:%d-%m-%Y}" for s in old)
                + f" (langer dan {params.max_age_months} maanden geleden)."
            )
        return CheckResult(
            CriterionStatus.failed, " ".join(parts), services=[s.slug for s in never + old]
        )
    return CheckResult(
        CriterionStatus.passed,
        f"De gegevens zijn in de afgelopen {params.max_age_months} maanden bevestigd.",
    )


CHECKS: dict[str, CheckSpec] = {
    spec.name: spec
    for spec in (
        CheckSpec(
            "werkgebied",
            "Een locatie in de gemeente, of een werkgebied dat de gemeente omvat (T1).",
            NoParams,
            check_werkgebied,
        ),
        CheckSpec(
            "sociaal-domein",
            "Elke voorziening heeft minstens één thema (eventueel uit params.themes) (T2).",
            SocialDomainParams,
            check_sociaal_domein,
        ),
        CheckSpec(
            "bereikbaar",
            "Een geldig telefoonnummer, e-mailadres of webadres en een (post)adres (T3).",
            ReachableParams,
            check_bereikbaar,
        ),
        CheckSpec(
            "registratie",
            "KvK-nummer (8 cijfers); AGB-code (8 cijfers) voor params.agb_required_for (T4).",
            RegistrationParams,
            check_registratie,
        ),
        CheckSpec(
            "begrijpelijk",
            "Leesbaarheid (B1): zinslengte, lange woorden, jargon; alleen tips (T9).",
            ReadabilityParams,
            check_begrijpelijk,
            advisory=True,
        ),
        CheckSpec(
            "actueel",
            "assured_date niet ouder dan params.max_age_months (standaard 12) (T10).",
            FreshnessParams,
            check_actueel,
        ),
    )
}


# --- evaluation -----------------------------------------------------------------------------------


def applies(criterion: Criterion, subject: Subject) -> bool:
    condition: AppliesTo | None = criterion.applies_to
    if condition is None:
        return True
    if condition.kinds and subject.organization.kind not in {k.value for k in condition.kinds}:
        return False
    if condition.target_groups and not set(condition.target_groups) & subject.all_target_groups:
        return False
    return not (condition.themes and not set(condition.themes) & subject.all_themes)


def _attestation(criterion: Criterion, given: Attestation | None) -> CheckResult:
    if given is None:
        return CheckResult(CriterionStatus.missing, "U heeft dit nog niet bevestigd.")
    if not given.attested:
        return CheckResult(CriterionStatus.missing, "U heeft aangegeven dat dit er nog niet is.")
    link = (given.link or "").strip()
    if link and not _valid_url(link):
        return CheckResult(
            CriterionStatus.missing,
            f"De link '{link}' is geen geldig webadres.",
            next_step="Vul een webadres in dat begint met https://.",
        )
    if criterion.check.link_required and not link:
        return CheckResult(
            CriterionStatus.missing,
            "U heeft dit bevestigd, maar de link ontbreekt.",
            next_step="Vul de link (het webadres) in waar inwoners dit kunnen lezen.",
        )
    return CheckResult(
        CriterionStatus.passed, "U heeft dit bevestigd" + (f" ({link})." if link else ".")
    )


def _apply_decision(result: CheckResult, decision: Decision) -> CheckResult:
    if decision.passed:
        reason = f" {decision.reason}" if decision.reason else ""
        return CheckResult(CriterionStatus.passed, f"De redactie heeft dit goedgekeurd.{reason}")
    reason = decision.reason or "De redactie heeft dit afgekeurd."
    return CheckResult(CriterionStatus.failed, f"De redactie: {reason}", services=result.services)


def _outcome(results: Sequence[CriterionResult]) -> Outcome:
    blocking = [r for r in results if r.blocking]
    if any(r.status is CriterionStatus.failed and r.on_fail is Outcome.afgewezen for r in blocking):
        return Outcome.afgewezen
    if any(r.status in (CriterionStatus.failed, CriterionStatus.missing) for r in blocking):
        return Outcome.aanvullen
    if any(r.status is CriterionStatus.needs_review for r in blocking):
        return Outcome.ingediend
    return Outcome.toegelaten


def _summary(outcome: Outcome, results: Sequence[CriterionResult]) -> str:
    def names(*statuses: CriterionStatus, on_fail: Outcome | None = None) -> str:
        return ", ".join(
            f"{r.id} {r.name.lower()}"
            for r in results
            if r.blocking and r.status in statuses and (on_fail is None or r.on_fail is on_fail)
        )

    if outcome is Outcome.afgewezen:
        return (
            "Uw aanbod past niet op de sociale kaart: "
            f"{names(CriterionStatus.failed, on_fail=Outcome.afgewezen)}. Lees de uitleg per punt."
        )
    if outcome is Outcome.aanvullen:
        return (
            "Er ontbreekt nog iets. Vul dit aan: "
            f"{names(CriterionStatus.failed, CriterionStatus.missing)}."
        )
    if outcome is Outcome.ingediend:
        return (
            "Uw aanmelding is compleet. De redactie kijkt nog naar: "
            f"{names(CriterionStatus.needs_review)}."
        )
    return "Uw aanbod voldoet aan alle eisen. Het kan op de sociale kaart."


def _as_model(value: Any, model: type[Attestation] | type[Decision]) -> Any:
    return value if isinstance(value, model) else model.model_validate(value)


def evaluate(
    session: Session,
    organization: Organization,
    services: Sequence[Service],
    criteria_version: CriteriaVersion,
    *,
    attestations: Mapping[str, Attestation | Mapping[str, Any]] | None = None,
    decisions: Mapping[str, Decision | Mapping[str, Any]] | None = None,
    today: date | None = None,
) -> Report:
    """Evaluate an organisation and (some of) its services against one criteria version.

    ``attestations``: per criterion id ``{"attested": bool, "link": str | None}``;
    ``decisions``: per criterion id ``{"passed": bool, "reason": str | None}`` (the editor).
    Reads only; never writes.
    """
    if criteria_version.municipality_id != organization.municipality_id:
        raise ValueError("de criteria horen bij een andere gemeente dan de organisatie")
    given = {k: _as_model(v, Attestation) for k, v in (attestations or {}).items()}
    decided = {k: _as_model(v, Decision) for k, v in (decisions or {}).items()}
    subject = load_subject(session, organization, services, today or date.today())
    results: list[CriterionResult] = []
    for criterion in criteria_of(criteria_version):
        on_fail = Outcome(criterion.on_fail.value) if criterion.on_fail is not None else None
        if not applies(criterion, subject):
            results.append(
                _result(
                    criterion,
                    on_fail,
                    CheckResult(CriterionStatus.not_applicable, "Dit geldt niet voor u."),
                )
            )
            continue
        if criterion.check.type is CheckType.automatic:
            spec = CHECKS[criterion.check.name or ""]
            outcome = spec.run(subject, spec.params.model_validate(criterion.check.params))
        elif criterion.check.type is CheckType.attestation:
            outcome = _attestation(criterion, given.get(criterion.id))
        else:
            outcome = CheckResult(
                CriterionStatus.needs_review,
                "De redactie beoordeelt dit.",
            )
        decision = decided.get(criterion.id)
        if decision is not None:
            outcome = _apply_decision(outcome, decision)
        if criterion.severity is Severity.warning and outcome.status is not CriterionStatus.passed:
            outcome.status = CriterionStatus.warning
        results.append(_result(criterion, on_fail, outcome))
    overall = _outcome(results)
    municipality = subject.municipality
    return Report(
        municipality=municipality.slug,
        criteria_version=criteria_version.version,
        criteria_version_id=criteria_version.id,
        organization=Ref(slug=organization.slug, name=organization.name),
        services=[Ref(slug=s.slug, name=s.name) for s in services],
        outcome=overall,
        summary=_summary(overall, results),
        results=results,
        evaluated_at=utcnow(),
    )


def _result(criterion: Criterion, on_fail: Outcome | None, outcome: CheckResult) -> CriterionResult:
    settled = outcome.status in (CriterionStatus.passed, CriterionStatus.not_applicable)
    return CriterionResult(
        id=criterion.id,
        slug=criterion.slug,
        name=criterion.name,
        status=outcome.status,
        blocking=criterion.severity is Severity.blocking,
        on_fail=on_fail,
        check=criterion.check.type.value,
        reviewer_confirms=criterion.check.reviewer_confirms,
        finding=outcome.finding,
        explanation=criterion.explanation,
        next_step=None if settled else (outcome.next_step or criterion.next_step),
        suggestions=outcome.suggestions,
        services=outcome.services,
    )
