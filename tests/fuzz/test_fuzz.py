"""Property-based fuzzing of /api/v1 and /hsds with schemathesis (issue 9): anonymous and per
role, against the committed OpenAPI documents, in-process on the demo data (SQLite).

Checks per response: no 5xx, a documented status code, the documented content type, headers and body
schema, and every 4xx is application/problem+json. ``FUZZ_EXAMPLES`` sets the examples per
operation (default in tests/fuzz/harness.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import Role
from app.accounts.security import create_access_token
from app.accounts.service import create_user
from app.municipalities.models import Municipality
from app.organizations.models import Organization
from tests.conftest import SECRET_KEY
from tests.fuzz.harness import fuzz

ROLES = ["anonymous", *(role.value for role in Role)]


def headers_for(run: str, db: Session) -> dict[str, str]:
    """A real account per role (referrals, audit events and reviews point at users)."""
    if run == "anonymous":
        return {}
    role = Role(run)
    municipality = db.exec(select(Municipality.id).where(Municipality.slug == "uithoorn")).one()
    organizations = (
        [db.exec(select(Organization.id).order_by(Organization.slug)).first()]
        if role == Role.provider
        else []
    )
    user = create_user(
        session=db,
        email=f"fuzz-{run}@example.org",
        display_name=f"Fuzz {run}",
        role=role,
        municipality_ids=[municipality],
        organization_ids=[o for o in organizations if o is not None],
    )
    db.commit()
    token, _ = create_access_token(
        secret_key=SECRET_KEY,
        user_id=user.id,
        role=role.value,
        municipality_ids=[municipality],
        organization_ids=[o for o in organizations if o is not None],
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize("run", ROLES)
def test_api_v1(run: str, demo_client: TestClient, demo_db: Session) -> None:
    stats = fuzz(demo_client, "api", run, headers_for(run, demo_db))
    assert not stats.failures, "\n\n".join(stats.failures)


@pytest.mark.usefixtures("sqlite_only")
def test_hsds(demo_client: TestClient) -> None:
    stats = fuzz(demo_client, "hsds", "anonymous", {})
    assert not stats.failures, "\n\n".join(stats.failures)
