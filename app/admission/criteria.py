"""Toelatingscriteria as configuration: the schema, the shipped YAML, loading and versions.

A municipality's criteria are one ordered list (``app/admission/data/<gemeente>.yaml`` or the
API). Every load that changes the content adds a new :class:`CriteriaVersion` and makes it the
active one; loading the same content again changes nothing (idempotent). Nothing is ever
edited in place: evaluations refer to the version they used.

The test database has no criteria of its own: :func:`active_criteria` loads the shipped file
of a municipality the first time its criteria are needed (see docs/admission.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.accounts.models import UserAccount
from app.accounts.principal import PrincipalKind, principal_of
from app.admission.models import CriteriaVersion
from app.core.errors import FieldError, NotFound, Unprocessable, field_errors
from app.core.types import Slug
from app.municipalities.models import Municipality
from app.organizations.models import OrganizationKind
from app.taxonomy.service import TaxonomyKey, slugs_by_taxonomy

SOURCE_MAX = 40  # CriteriaVersion.source


class CheckType(StrEnum):
    automatic = "automatic"  # a named check of the registry in app/admission/engine.py
    attestation = "attestation"  # the provider declares it (optionally with a link)
    reviewer = "reviewer"  # the editor (redactie) decides


class Severity(StrEnum):
    blocking = "blocking"  # must pass before admission
    warning = "warning"  # advice only: never blocks


class OnFail(StrEnum):
    aanvullen = "aanvullen"  # the provider can fix it
    afgewezen = "afgewezen"  # it cannot be fixed: rejection


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AppliesTo(_Strict):
    """When a criterion applies. Every given list is a condition (all must hold); within a
    list one match is enough. Absent or empty: the criterion applies to everyone."""

    kinds: list[OrganizationKind] = Field(
        default_factory=list, description="Soort organisatie (Organization.kind)."
    )
    target_groups: list[Slug] = Field(
        default_factory=list, description="Een voorziening is voor een van deze doelgroepen."
    )
    themes: list[Slug] = Field(
        default_factory=list, description="Een voorziening heeft een van deze thema's."
    )

    @property
    def everyone(self) -> bool:
        return not (self.kinds or self.target_groups or self.themes)


class CheckConfig(_Strict):
    type: CheckType
    name: str | None = Field(
        default=None, description="Bij type automatic: de naam van de check (zie engine.py)."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Bij type automatic: instellingen van de check."
    )
    link_required: bool = Field(
        default=False, description="Bij type attestation: een link (webadres) is verplicht."
    )
    reviewer_confirms: bool = Field(
        default=False,
        description="De redactie bevestigt de uitkomst nog bij haar beoordeling.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> CheckConfig:
        from app.admission.engine import CHECKS  # the registry lives with the checks

        if self.type is CheckType.automatic:
            if self.name is None:
                raise ValueError(
                    "Geef bij type 'automatic' de naam van de check. "
                    f"Kies uit: {', '.join(CHECKS)}."
                )
            spec = CHECKS.get(self.name)
            if spec is None:
                raise ValueError(f"Onbekende check '{self.name}'. Kies uit: {', '.join(CHECKS)}.")
            try:
                self.params = spec.params.model_validate(self.params).model_dump(mode="json")
            except ValidationError as exc:
                problems = "; ".join(f"{e.field}: {e.message}" for e in field_errors(exc.errors()))
                raise ValueError(
                    f"Instellingen (params) van check '{self.name}': {problems}"
                ) from None
        else:
            if self.name is not None or self.params:
                raise ValueError(
                    f"'name' en 'params' horen alleen bij type 'automatic', niet bij '{self.type}'."
                )
        if self.link_required and self.type is not CheckType.attestation:
            raise ValueError("'link_required' hoort alleen bij type 'attestation'.")
        return self


class Criterion(_Strict):
    """One toelatingscriterium, as in app/admission/data/<gemeente>.yaml."""

    id: str = Field(
        pattern=r"^[A-Z][A-Z0-9]{0,9}$", max_length=10, examples=["T1"], description="Vaste code."
    )
    slug: Slug = Field(examples=["werkgebied"])
    name: str = Field(min_length=1, max_length=100, examples=["Werkgebied"])
    text: str = Field(min_length=1, max_length=2000, description="De eis, voor aanbieders (B1).")
    applies_to: AppliesTo | None = Field(default=None, description="Leeg: geldt voor iedereen.")
    check: CheckConfig
    severity: Severity
    on_fail: OnFail | None = Field(
        default=None, description="Bij severity blocking: aanvullen of afgewezen."
    )
    explanation: str = Field(
        min_length=1, max_length=2000, description="Waarom deze eis er is (voor de aanbieder)."
    )
    next_step: str = Field(
        min_length=1, max_length=2000, description="Wat de aanbieder kan doen als het niet lukt."
    )

    @model_validator(mode="after")
    def _severity(self) -> Criterion:
        from app.admission.engine import CHECKS

        if self.severity is Severity.blocking and self.on_fail is None:
            raise ValueError(
                f"{self.id}: geef bij severity 'blocking' ook on_fail (aanvullen of afgewezen)."
            )
        if self.severity is Severity.warning and self.on_fail is not None:
            raise ValueError(
                f"{self.id}: een waarschuwing (severity 'warning') heeft geen on_fail."
            )
        spec = CHECKS.get(self.check.name or "")
        if spec is not None and spec.advisory and self.severity is not Severity.warning:
            raise ValueError(
                f"{self.id}: check '{spec.name}' geeft alleen tips en mag nooit blokkeren; "
                "gebruik severity 'warning'."
            )
        if self.applies_to is not None and self.applies_to.everyone:
            self.applies_to = None
        return self

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.blocking


def check_unique(criteria: Sequence[Criterion]) -> None:
    for attribute in ("id", "slug"):
        values = [getattr(c, attribute) for c in criteria]
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise ValueError(f"Elke {attribute} mag maar één keer voorkomen: {', '.join(twice)}.")


class CriteriaDocument(_Strict):
    """A criteria file: one municipality's criteria, in the order they are checked."""

    municipality: Slug
    criteria: list[Criterion] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique(self) -> CriteriaDocument:
        check_unique(self.criteria)
        return self


class CriteriaError(ValueError):
    """A criteria file that is not valid; ``errors`` names every problem."""

    def __init__(self, where: str, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  - {e.field or '(bestand)'}: {e.message}" for e in self.errors)
        super().__init__(f"{where} is geen geldig criteriabestand:\n{lines}")


# --- reading --------------------------------------------------------------------------------------


def shipped_criteria_path(municipality_slug: str) -> Path:
    return Path(str(resources.files("app.admission").joinpath(f"data/{municipality_slug}.yaml")))


def parse_document(raw: Any, *, where: str = "de criteria") -> CriteriaDocument:
    try:
        return CriteriaDocument.model_validate(raw)
    except ValidationError as exc:
        raise CriteriaError(where, field_errors(exc.errors())) from None


def read_criteria_file(path: Path) -> CriteriaDocument:
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CriteriaError(
            str(path), [FieldError(field="", message=f"Geen geldige YAML: {exc}")]
        ) from None
    return parse_document(raw, where=str(path))


def criteria_of(version: CriteriaVersion) -> list[Criterion]:
    """The criteria of a stored version, validated (in order)."""
    return [Criterion.model_validate(c) for c in version.criteria]


def canonical(criteria: Sequence[Criterion]) -> list[dict[str, Any]]:
    """The stored form: every field, JSON types; equal content gives an equal value."""
    return [c.model_dump(mode="json") for c in criteria]


def check_taxonomy(session: Session, criteria: Sequence[Criterion], *, field: str) -> None:
    """Theme and target-group slugs in the criteria must exist (422 naming each one)."""
    known = slugs_by_taxonomy(
        session=session, taxonomies=(TaxonomyKey.themes, TaxonomyKey.target_groups)
    )
    errors: list[FieldError] = []
    for i, criterion in enumerate(criteria):
        wanted: list[tuple[str, TaxonomyKey, list[str]]] = []
        if criterion.applies_to is not None:
            wanted.append(("applies_to.themes", TaxonomyKey.themes, criterion.applies_to.themes))
            wanted.append(
                (
                    "applies_to.target_groups",
                    TaxonomyKey.target_groups,
                    criterion.applies_to.target_groups,
                )
            )
        wanted.append(
            (
                "check.params.themes",
                TaxonomyKey.themes,
                list(criterion.check.params.get("themes") or []),
            )
        )
        for where, taxonomy, slugs in wanted:
            for slug in slugs:
                if slug not in known[taxonomy]:
                    errors.append(
                        FieldError(
                            field=f"{field}.{i}.{where}",
                            message=f"'{slug}' bestaat niet. "
                            f"Kies uit: {', '.join(known[taxonomy])}.",
                        )
                    )
    if errors:
        raise Unprocessable(
            "De criteria noemen thema's of doelgroepen die niet bestaan.", errors=errors
        )


# --- versions -------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    version: CriteriaVersion
    created: bool  # False: the content equals the active version (nothing changed)


def get_active(session: Session, municipality_id: uuid.UUID) -> CriteriaVersion | None:
    return session.exec(
        select(CriteriaVersion)
        .where(CriteriaVersion.municipality_id == municipality_id, col(CriteriaVersion.is_active))
        .order_by(col(CriteriaVersion.version).desc())
    ).first()


def list_versions(session: Session, municipality_id: uuid.UUID) -> list[CriteriaVersion]:
    return list(
        session.exec(
            select(CriteriaVersion)
            .where(CriteriaVersion.municipality_id == municipality_id)
            .order_by(col(CriteriaVersion.version).desc())
        )
    )


def _user_id(session: Session) -> uuid.UUID | None:
    """The acting user's account (None for API keys, the admin key and the system)."""
    principal = principal_of(session)
    if principal.kind is not PrincipalKind.user or principal.id is None:
        return None
    return principal.id if session.get(UserAccount, principal.id) is not None else None


def load_criteria(
    *,
    session: Session,
    municipality: Municipality,
    criteria: Sequence[Criterion],
    source: str,
    note: str | None = None,
    check_terms: bool = True,
) -> LoadResult:
    """Add the criteria as the new active version, unless they equal the active one.

    Flushes, never commits. ``source``: ``yaml:<file>`` or ``api``.
    """
    check_unique(criteria)
    if check_terms:
        check_taxonomy(session, criteria, field="criteria")
    content = canonical(criteria)
    active = get_active(session, municipality.id)
    if active is not None and canonical(criteria_of(active)) == content:
        return LoadResult(version=active, created=False)
    latest = session.exec(
        select(func.max(CriteriaVersion.version)).where(
            CriteriaVersion.municipality_id == municipality.id
        )
    ).one()
    for row in session.exec(
        select(CriteriaVersion).where(
            CriteriaVersion.municipality_id == municipality.id, col(CriteriaVersion.is_active)
        )
    ):
        row.is_active = False
        session.add(row)
    version = CriteriaVersion(
        municipality_id=municipality.id,
        version=(latest or 0) + 1,
        is_active=True,
        criteria=content,
        source=source[:SOURCE_MAX],
        note=note,
        created_by_id=_user_id(session),
    )
    session.add(version)
    session.flush()
    return LoadResult(version=version, created=True)


def load_criteria_file(
    *, session: Session, path: Path | None = None, municipality_slug: str | None = None
) -> LoadResult:
    """The CLI: load a criteria file (default: the shipped file of the municipality, Uithoorn).

    ``municipality_slug`` overrides the file's ``municipality`` (a template for another
    gemeente). Raises :class:`CriteriaError`, ``NotFound`` or ``Unprocessable``.
    """
    if path is None:
        path = shipped_criteria_path(municipality_slug or "uithoorn")
        if not path.exists():
            raise NotFound(f"Er is geen meegeleverd criteriabestand voor '{municipality_slug}'.")
    document = read_criteria_file(path)
    slug = municipality_slug or document.municipality
    municipality = session.exec(select(Municipality).where(Municipality.slug == slug)).first()
    if municipality is None:
        raise NotFound(f"Gemeente '{slug}' bestaat niet. Laad eerst de gemeente.")
    return load_criteria(
        session=session,
        municipality=municipality,
        criteria=document.criteria,
        source=f"yaml:{path.name}",
    )


def active_criteria(session: Session, municipality_id: uuid.UUID) -> CriteriaVersion:
    """The active criteria version of a municipality.

    Without any version yet, the municipality's shipped file (``data/<slug>.yaml``) is loaded
    as version 1 — so a fresh database (and the test database) has the Uithoorn criteria
    without a separate step. A concurrent first load is resolved in a savepoint. Raises
    ``NotFound`` when there is neither a version nor a shipped file.
    """
    active = get_active(session, municipality_id)
    if active is not None:
        return active
    municipality = session.get(Municipality, municipality_id)
    if municipality is None:
        raise NotFound("Deze gemeente bestaat niet.")
    path = shipped_criteria_path(municipality.slug)
    if not path.exists():
        raise NotFound(
            f"Voor gemeente {municipality.name} zijn nog geen toelatingscriteria vastgelegd."
        )
    document = read_criteria_file(path)
    try:
        with session.begin_nested():
            result = load_criteria(
                session=session,
                municipality=municipality,
                criteria=document.criteria,
                source=f"yaml:{path.name}",
                check_terms=False,
            )
    except IntegrityError:  # another request loaded it at the same moment
        found = get_active(session, municipality_id)
        if found is None:
            raise
        return found
    return result.version
