"""Optimistic locking: ETag on reads and writes, If-Match required, stale writes refused."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY

API = "/api/v1"
KEY = {"Authorization": f"Bearer {ADMIN_KEY}"}


def create(client: TestClient) -> dict[str, str]:
    """An organisation, a location and a service; their URLs."""
    org = client.post(
        f"{API}/organizations",
        json={
            "municipality": "uithoorn",
            "name": "Stichting Versie",
            "admission_status": "toegelaten",
        },
        headers=KEY,
    )
    assert org.status_code == 201, org.text
    assert org.headers["ETag"] == '"1"'
    location = client.post(
        f"{API}/locations", json={"municipality": "uithoorn", "name": "Huis"}, headers=KEY
    )
    service = client.post(
        f"{API}/services",
        json={
            "municipality": "uithoorn",
            "organization": org.json()["slug"],
            "name": "Koffie",
            "admission_status": "toegelaten",
        },
        headers=KEY,
    )
    return {
        "organization": f"{API}/organizations/{org.json()['slug']}",
        "location": f"{API}/locations/{location.json()['id']}",
        "service": f"{API}/services/{service.json()['slug']}",
    }


@pytest.mark.parametrize("kind", ["organization", "location", "service"])
def test_stale_and_missing_if_match_are_refused(client: TestClient, kind: str) -> None:
    url = create(client)[kind]
    read = client.get(url, headers=KEY)
    etag = read.headers["ETag"]
    assert read.json()["version"] == int(etag.strip('"'))
    body: dict[str, Any] = {"name": "Nieuwe naam"} if kind != "location" else {"name": "Ander huis"}

    missing = client.patch(url, json=body, headers=KEY)
    assert missing.status_code == 428
    assert missing.headers["content-type"] == "application/problem+json"

    first = client.patch(url, json=body, headers={**KEY, "If-Match": etag})
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] != etag
    assert first.json()["version"] == int(first.headers["ETag"].strip('"'))

    # someone else's edit came in between: the second editor still has the old ETag
    stale = client.patch(url, json={"name": "Te laat"}, headers={**KEY, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == first.headers["ETag"]
    assert client.get(url, headers=KEY).json()["name"] in ("Nieuwe naam", "Ander huis")

    assert client.delete(url, headers={**KEY, "If-Match": etag}).status_code == 412
    assert client.delete(url, headers=KEY).status_code == 428
