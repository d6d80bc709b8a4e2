"""Every outbound call has a timeout (issue 9, item 4): each client is pointed at a port that
accepts the connection and then never answers, and must give up within a bounded time."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.core.config import GeocoderName
from app.geo.geocoding import AddressQuery, GeocoderError
from app.geo.service import build_geocoder
from app.notifications.service import default_smtp
from app.web.client import ApiError, PublicApi
from search.meili import MeilisearchBackend
from search.types import SearchQuery, SearchUnavailableError
from tests.conftest import make_settings

TIMEOUT_S = 0.5
BOUND_S = 3.0  # the timeout plus generous slack for a busy machine


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # the kernel accepts; nobody ever reads or answers
        yield int(listener.getsockname()[1])


def test_smtp_gives_up(silent_port: int) -> None:
    settings = make_settings().model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": silent_port, "smtp_timeout_s": TIMEOUT_S}
    )
    started = time.perf_counter()
    with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):  # no greeting
        default_smtp(settings)
    assert time.perf_counter() - started < BOUND_S


def test_pdok_gives_up(silent_port: int) -> None:
    settings = make_settings().model_copy(
        update={
            "geocoder": GeocoderName.pdok,
            "pdok_url": f"http://127.0.0.1:{silent_port}/search",
            "pdok_timeout_s": TIMEOUT_S,
            "pdok_min_interval_s": 0,
        }
    )
    geocoder = build_geocoder(settings)
    assert geocoder is not None
    geocoder.backoff_s = 0  # type: ignore[attr-defined]  # the retries, without the waiting
    address = AddressQuery(address_1="Laan van Meerwijk 16", postal_code="1422 SB", city="Uithoorn")
    started = time.perf_counter()
    with pytest.raises(GeocoderError, match="unreachable"):
        geocoder.geocode(address)
    retries = 3
    assert time.perf_counter() - started < (retries + 1) * BOUND_S


def test_meilisearch_gives_up(silent_port: int) -> None:
    backend = MeilisearchBackend(
        url=f"http://127.0.0.1:{silent_port}", api_key=None, timeout_s=TIMEOUT_S
    )
    started = time.perf_counter()
    with pytest.raises(SearchUnavailableError):
        backend.search(SearchQuery(text="schuld"))
    assert backend.health() is False
    assert time.perf_counter() - started < 2 * BOUND_S


def test_the_pages_give_up_on_a_separately_hosted_api(silent_port: int) -> None:
    api = PublicApi(base_url=f"http://127.0.0.1:{silent_port}/api/v1", timeout_s=TIMEOUT_S)

    async def ask() -> None:
        try:
            await api.get("/search", {"q": "schuld"})
        finally:
            await api.aclose()

    started = time.perf_counter()
    # in a thread of its own: another test may have left an event loop in this one
    with pytest.raises(ApiError) as raised, ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, ask()).result()
    assert raised.value.status == 503
    assert time.perf_counter() - started < BOUND_S


def test_every_timeout_setting_must_be_positive() -> None:
    for name in ("search_timeout_s", "smtp_timeout_s"):
        with pytest.raises(ValueError, match="greater than 0"):
            make_settings().model_validate({**make_settings().model_dump(), name: 0})
