"""Import every table so SQLModel.metadata is complete (Alembic and tests use this)."""

from app.accounts.models import (
    ApiKey,
    Invitation,
    LoginFailure,
    OrganizationMember,
    PasswordReset,
    RefreshToken,
    UserAccount,
    UserMunicipality,
)
from app.admission.models import CriteriaVersion
from app.admission.submission_models import AdmissionRecord, Submission
from app.audit.models import AuditEvent
from app.contacts.models import Contact, Phone
from app.feedback.models import ServiceFeedback
from app.geo.models import GeocodeCache, GeocodeJob, PostcodeCentroid
from app.indexing.models import SearchOutbox
from app.insights.models import SearchTally, ZeroResultQuery
from app.locations.models import Address, Location
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.notifications.models import Notification
from app.organizations.models import Organization, OrganizationIdentifier
from app.referrals.models import Referral, ReferralEvent
from app.schedules.models import Schedule
from app.services.models import Service as Service
from app.services.models import ServiceArea, ServiceAtLocation, ServiceSource, ServiceTerm
from app.taxonomy.models import Taxonomy, TaxonomyTerm

__all__ = [
    "Address",
    "AdmissionRecord",
    "ApiKey",
    "AuditEvent",
    "Contact",
    "CriteriaVersion",
    "GeocodeCache",
    "GeocodeJob",
    "Invitation",
    "Location",
    "LoginFailure",
    "Municipality",
    "Neighbourhood",
    "Notification",
    "Organization",
    "OrganizationIdentifier",
    "OrganizationMember",
    "PasswordReset",
    "Phone",
    "Place",
    "PostcodeCentroid",
    "Referral",
    "ReferralEvent",
    "RefreshToken",
    "Schedule",
    "SearchOutbox",
    "SearchTally",
    "Service",
    "ServiceArea",
    "ServiceAtLocation",
    "ServiceFeedback",
    "ServiceSource",
    "ServiceTerm",
    "Submission",
    "Taxonomy",
    "TaxonomyTerm",
    "UserAccount",
    "UserMunicipality",
    "ZeroResultQuery",
]
