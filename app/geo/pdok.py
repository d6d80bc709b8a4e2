"""Geocoder adapter for the PDOK Locatieserver v3.1 (``/free`` and ``/lookup``).

Only the address text is sent. ``centroide_ll`` is WKT ``POINT(lon lat)``: LONGITUDE FIRST;
coordinates outside the Netherlands make a doc unusable (this also catches swapped axes).

Matching: a doc is used only when it really is the asked address — same postcode (without a
postcode: same woonplaats or gemeente), same house number and same street (case, accents,
dots and spaces ignored). PDOK's ranking
alone never decides; when no doc passes the answer is ``None`` (not found).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Self

import httpx

from app.geo.geocoding import AddressQuery, GeocoderError, GeocodeResult

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.pdok.nl/bzk/locatieserver/search/v3_1"
USER_AGENT = "sociale-kaart geocoder (+https://github.com/sociale-kaart/sociale-kaart)"
FIELDS = (
    "id weergavenaam type score centroide_ll postcode woonplaatsnaam gemeentecode gemeentenaam"
    " wijkcode wijknaam buurtcode buurtnaam straatnaam huisnummer huisletter"
    " huisnummertoevoeging huis_nlt"
)
ROWS = 5
RETRY_AFTER_CAP_S = 30.0

# The Netherlands (European part), generously.
_NL_LAT = (50.5, 53.8)
_NL_LON = (3.0, 7.5)
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_POINT = re.compile(rf"^\s*POINT\s*\(\s*({_NUMBER})\s+({_NUMBER})\s*\)\s*$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class LatLon(NamedTuple):
    latitude: float
    longitude: float


def parse_centroid(value: object) -> LatLon | None:
    """``"POINT(lon lat)"`` (longitude first!) → LatLon, or None when unusable.

    Unusable: not a 2-D WKT point, not finite, or outside the Netherlands."""
    if not isinstance(value, str):
        return None
    match = _POINT.match(value)
    if not match:
        return None
    lon, lat = float(match.group(1)), float(match.group(2))
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (_NL_LAT[0] <= lat <= _NL_LAT[1] and _NL_LON[0] <= lon <= _NL_LON[1]):
        return None
    return LatLon(latitude=lat, longitude=lon)


class StreetAddress(NamedTuple):
    street: str
    number: int | None
    suffix: str  # house letter and/or addition, normalised ("" when none)


def split_address_line(address_1: str) -> StreetAddress:
    """``"Dorpsstraat 5a"`` → ("Dorpsstraat", 5, "a"); without a number: (line, None, "").

    The house number is the first number after the street name; a number at the very start
    is part of the street ("2e Hugo de Grootstraat 5" → street "2e Hugo de Grootstraat", 5).
    """
    text = " ".join(address_1.split())
    for match in _DIGITS.finditer(text):
        if match.start() == 0:
            continue
        return StreetAddress(
            street=text[: match.start()].strip(),
            number=int(match.group()),
            suffix=_norm_suffix(text[match.end() :]),
        )
    return StreetAddress(street=text, number=None, suffix="")


def _norm_suffix(value: str) -> str:
    return re.sub(r"[\s\-/]+", "", value).casefold()


def _fold(value: str) -> str:
    """Case-, accent-, dot- and space-insensitive form for comparing names."""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\s.]+", "", stripped).casefold()


def _norm_postcode(value: str) -> str:
    return "".join(value.split()).upper()


def _text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _house_number(doc: Mapping[str, Any]) -> int | None:
    value = doc.get("huisnummer")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


class PdokGeocoder:
    """Geocoder backed by the PDOK Locatieserver; implements ``Geocoder``."""

    name = "pdok"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        min_interval_s: float = 0.2,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if retries < 0 or backoff_s < 0 or min_interval_s < 0:
            raise ValueError("retries, backoff_s and min_interval_s must not be negative")
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.min_interval_s = min_interval_s
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._next_slot = -math.inf
        self._client = httpx.Client(
            timeout=timeout_s,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
        )

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- Geocoder --------------------------------------------------------------------------

    def geocode(self, address: AddressQuery) -> GeocodeResult | None:
        """The address, or None when PDOK has no doc that is this address.

        Raises GeocoderError when PDOK cannot answer (after retries) or answers nonsense."""
        line = " ".join(address.address_1.split())
        postcode = _norm_postcode(address.postal_code or "")
        city = " ".join((address.city or "").split())
        municipality = " ".join((address.municipality_name or "").split())
        if not line or not (postcode or city or municipality):
            # A street without a place matches all over the country: refuse to guess.
            logger.debug("PDOK: address without street or place, not geocoded")
            return None
        # q is the address and nothing else; the gemeente only when it is the sole place.
        place = city or ("" if postcode else municipality)
        written_postcode = " ".join((address.postal_code or "").split())
        query = " ".join(part for part in (line, written_postcode, place) if part)

        docs = self._search("free", {"q": query, "fq": "type:adres", "rows": str(ROWS)})
        for candidate in self._candidates(docs, address, postcode, city, municipality):
            doc: dict[str, Any] | None = candidate
            if "centroide_ll" not in candidate:
                doc = self._lookup(candidate)  # /free left it out: ask for this one doc
            if doc is None:
                continue
            point = parse_centroid(doc.get("centroide_ll"))
            if point is None:
                continue  # present but unusable (garbage or outside the Netherlands)
            return _to_result(doc, point)
        return None

    # -- matching --------------------------------------------------------------------------

    def _candidates(
        self,
        docs: list[dict[str, Any]],
        address: AddressQuery,
        postcode: str,
        city: str,
        municipality: str,
    ) -> list[dict[str, Any]]:
        """Docs that are this address, best first (exact house letter/addition, then PDOK order)."""
        wanted = split_address_line(address.address_1)
        passing: list[tuple[int, dict[str, Any]]] = []
        for doc in docs:
            if doc.get("type", "adres") != "adres":
                continue
            if postcode:
                doc_postcode = _norm_postcode(_text(doc, "postcode") or "")
                # A bare PC4 ("1423") only fixes the area: compare those four digits.
                if postcode.isdigit() and len(postcode) == 4:
                    doc_postcode = doc_postcode[:4]
                if doc_postcode != postcode:
                    continue
            elif city:
                places = {
                    _fold(_text(doc, "woonplaatsnaam") or ""),
                    _fold(_text(doc, "gemeentenaam") or ""),
                }
                if _fold(city) not in places:
                    continue
            elif _fold(_text(doc, "gemeentenaam") or "") != _fold(municipality):
                continue
            number = _house_number(doc)
            if wanted.number is not None and number is not None and number != wanted.number:
                continue
            street = _text(doc, "straatnaam")
            if street is not None and _fold(street) != _fold(wanted.street):
                continue
            doc_suffix = _norm_suffix(
                (_text(doc, "huisletter") or "") + (_text(doc, "huisnummertoevoeging") or "")
            )
            passing.append((0 if doc_suffix == wanted.suffix else 1, doc))
        passing.sort(key=lambda item: item[0])  # stable: PDOK order within a rank
        return [doc for _, doc in passing]

    def _lookup(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        doc_id = _text(doc, "id")
        if doc_id is None:
            return None
        found = self._search("lookup", {"id": doc_id})
        if not found:
            return None
        return {**doc, **found[0]}

    # -- HTTP ------------------------------------------------------------------------------

    def _search(self, endpoint: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """GET ``{base_url}/{endpoint}`` and return ``response.docs``."""
        response = self._get(endpoint, {**params, "fl": FIELDS})
        try:
            payload = response.json()
        except ValueError as exc:
            raise GeocoderError(f"PDOK /{endpoint}: response is not valid JSON") from exc
        body = payload.get("response") if isinstance(payload, dict) else None
        if not isinstance(body, dict):
            raise GeocoderError(f"PDOK /{endpoint}: unexpected response (no 'response' object)")
        num_found = body.get("numFound")
        docs = body.get("docs")
        if isinstance(num_found, bool) or not isinstance(num_found, int) or num_found < 0:
            raise GeocoderError(f"PDOK /{endpoint}: unexpected response (numFound)")
        if not isinstance(docs, list) or not all(isinstance(doc, dict) for doc in docs):
            raise GeocoderError(f"PDOK /{endpoint}: unexpected response (docs)")
        if num_found == 0:
            return []
        return docs

    def _get(self, endpoint: str, params: dict[str, str]) -> httpx.Response:
        url = f"{self.base_url}/{endpoint}"
        attempts = self.retries + 1
        problem = ""
        delay = 0.0
        for attempt in range(attempts):
            if attempt:
                self._sleep(delay)
            self._throttle()
            try:
                response = self._client.get(url, params=params)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                problem = f"{type(exc).__name__}"
                delay = self.backoff_s * 2**attempt
                logger.warning(
                    "PDOK /%s: %s (attempt %d of %d)", endpoint, problem, attempt + 1, attempts
                )
                continue
            except httpx.HTTPError as exc:
                raise GeocoderError(f"PDOK /{endpoint}: request failed: {exc}") from exc
            status = response.status_code
            if status in _RETRYABLE_STATUS:
                problem = f"HTTP {status}"
                delay = self.backoff_s * 2**attempt
                retry_after = _retry_after(response) if status in (429, 503) else None
                if retry_after is not None:
                    delay = max(delay, retry_after)
                logger.warning(
                    "PDOK /%s: %s (attempt %d of %d)", endpoint, problem, attempt + 1, attempts
                )
                continue
            if not response.is_success:
                raise GeocoderError(
                    f"PDOK /{endpoint}: HTTP {status} (request rejected, not retried)"
                )
            return response
        raise GeocoderError(
            f"PDOK Locatieserver unreachable: /{endpoint} failed {attempts} times, last: {problem}"
        )

    def _throttle(self) -> None:
        """At most one request per ``min_interval_s`` across threads: reserve a slot, wait."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.min_interval_s
        wait = slot - now
        if wait > 0:
            self._sleep(wait)


def _retry_after(response: httpx.Response) -> float | None:
    """A numeric ``Retry-After`` (seconds), capped; HTTP dates and garbage are ignored."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, RETRY_AFTER_CAP_S)


def _to_result(doc: Mapping[str, Any], point: LatLon) -> GeocodeResult:
    postcode = _text(doc, "postcode")
    return GeocodeResult(
        latitude=point.latitude,
        longitude=point.longitude,
        display_name=_text(doc, "weergavenaam") or "",
        postal_code=_norm_postcode(postcode) if postcode else None,
        city=_text(doc, "woonplaatsnaam"),
        municipality_code=_text(doc, "gemeentecode"),
        municipality_name=_text(doc, "gemeentenaam"),
        neighbourhood_code=_text(doc, "wijkcode"),
        neighbourhood_name=_text(doc, "wijknaam"),
        district_code=_text(doc, "buurtcode"),
        district_name=_text(doc, "buurtnaam"),
    )
