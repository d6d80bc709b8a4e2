"""One regression test per fuzzing finding (tests/fuzz/test_fuzz.py), each failing without its fix."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.fuzz.test_fuzz import headers_for

API = "/api/v1"


@pytest.mark.usefixtures("sqlite_only")
def test_get_referral_documents_the_400_for_an_invalid_id(
    demo_client: TestClient, demo_db: Session
) -> None:
    """Finding 1: GET /referrals/{referral_id} answered 400 for a non-UUID id, but documented
    only 200/401/403/404/422 — the 400 is now added to every operation with path or query
    parameters (app/core/openapi.py)."""
    response = demo_client.get(
        f"{API}/referrals/not-a-uuid", headers=headers_for("professional", demo_db)
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    spec = demo_client.get(f"{API}/openapi.json").json()
    assert "400" in spec["paths"]["/referrals/{referral_id}"]["get"]["responses"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if any(p["in"] in ("path", "query") for p in operation.get("parameters", [])):
                assert "400" in operation["responses"], (method, path)
