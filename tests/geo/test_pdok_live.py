"""PdokGeocoder against the real PDOK Locatieserver (needs internet).

Runs only with ``PDOK_LIVE=1``::

    PDOK_LIVE=1 .venv/bin/pytest -ra -p no:cacheprovider tests/geo/test_pdok_live.py

With ``PDOK_RECORD_DIR=/some/dir`` as well, every raw response is written there (one JSON
file per request) so the fixtures in ``fixtures/pdok`` can be re-recorded; see its README.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.geo.geocoding import AddressQuery
from app.geo.pdok import PdokGeocoder

if os.environ.get("PDOK_LIVE") != "1":
    pytest.skip(
        "PDOK_LIVE not set: live PDOK check skipped (no internet on CI)", allow_module_level=True
    )

# The gemeentehuis of Uithoorn: a public building, not anyone's home.
GEMEENTEHUIS = AddressQuery("Laan van Meerwijk 16", postal_code="1423 AB", city="Uithoorn")
EXPECTED = (52.237, 4.826)  # latitude, longitude
EXPECTED_POSTCODE = "1423AB"


class RecordingTransport(httpx.BaseTransport):
    """Passes requests on to the network and writes each response body to a directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.inner = httpx.HTTPTransport()
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        self.count += 1
        endpoint = request.url.path.rsplit("/", 1)[-1]
        label = re.sub(r"[^a-z0-9]+", "_", request.url.params.get("q", "").lower()).strip("_")
        name = f"{self.count:02d}_{endpoint}_{label or request.url.params.get('id', '')}.json"
        try:
            text = json.dumps(json.loads(body), indent=2, ensure_ascii=False) + "\n"
        except ValueError:
            text = body.decode("utf-8", "replace")
        (self.directory / name).write_text(text, encoding="utf-8")
        # ``body`` is already decoded: drop the headers that describe the wire encoding.
        headers = [
            (key, value)
            for key, value in response.headers.items()
            if key.lower() not in {"content-encoding", "content-length", "transfer-encoding"}
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def close(self) -> None:
        self.inner.close()


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@pytest.fixture
def geocoder() -> Iterator[PdokGeocoder]:
    record_dir = os.environ.get("PDOK_RECORD_DIR")
    transport: httpx.BaseTransport | None = None
    if record_dir:
        directory = Path(record_dir)
        directory.mkdir(parents=True, exist_ok=True)
        transport = RecordingTransport(directory)
    live = PdokGeocoder(timeout_s=10.0, transport=transport)
    try:
        yield live
    finally:
        live.close()


def test_gemeentehuis_uithoorn(geocoder: PdokGeocoder) -> None:
    result = geocoder.geocode(GEMEENTEHUIS)
    assert result is not None, "PDOK did not find the gemeentehuis (postcode changed?)"
    assert result.postal_code == EXPECTED_POSTCODE
    assert distance_km((result.latitude, result.longitude), EXPECTED) < 1.0
    assert result.municipality_code == "0451"
    assert result.municipality_name == "Uithoorn"


def test_nonexistent_address_is_not_found(geocoder: PdokGeocoder) -> None:
    query = AddressQuery("Laan van Meerwijk 9999", postal_code="1423 AB", city="Uithoorn")
    assert geocoder.geocode(query) is None
