"""What the public may see: only admitted listings (and those due for re-verification)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from app.core.models import PUBLIC_STATUSES
from app.organizations.models import Organization
from app.services.models import Service

PUBLIC_VALUES = [s.value for s in PUBLIC_STATUSES]


def organization_is_public() -> Any:
    return col(Organization.admission_status).in_(PUBLIC_VALUES)


def service_is_public() -> Any:
    """A service is public when it and its organization are admitted (no join needed)."""
    public_orgs = select(Organization.id).where(organization_is_public())
    return col(Service.admission_status).in_(PUBLIC_VALUES) & col(Service.organization_id).in_(
        public_orgs
    )
