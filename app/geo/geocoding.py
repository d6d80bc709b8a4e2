"""Geocoding: the interface every geocoder implements, and what it returns.

Only addresses of organisations' locations are ever geocoded — never a resident's address,
name or any other personal data. Adapters (``app/geo/pdok.py``) do the HTTP; the offline
fallback chain and the cache live in ``app/geo/locate.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class GeoPrecision(StrEnum):
    """How exact a location's coordinates are, best first."""

    manual = "handmatig"  # set by an editor or provider: treated as exact
    address = "adres"  # the address itself (PDOK)
    pc6 = "pc6"  # centroid of the 6-position postcode (a street or part of it)
    pc4 = "pc4"  # centroid of the 4-digit postcode area
    place = "kern"  # centroid of the kern (village or town)

    @property
    def rank(self) -> int:
        """0 for exact; higher is coarser (used to break distance ties)."""
        return _RANK[self]

    @property
    def approximate(self) -> bool:
        """Coarser than an address: consumers say "ongeveer"."""
        return self.rank > 0


_RANK = {
    GeoPrecision.manual: 0,
    GeoPrecision.address: 0,
    GeoPrecision.pc6: 1,
    GeoPrecision.pc4: 2,
    GeoPrecision.place: 3,
}
NO_PRECISION_RANK = 9  # a document without coordinates


@dataclass(frozen=True)
class AddressQuery:
    """An organisation's address as stored (HSDS address fields)."""

    address_1: str  # street and house number, e.g. "Laan van Meerwijk 16"
    postal_code: str | None = None  # "1423 AB" or "1423AB"
    city: str | None = None
    municipality_name: str | None = None

    def key(self) -> str:
        """Cache key: the same address is never asked twice (case and spacing ignored)."""
        street = " ".join(self.address_1.casefold().split())
        postcode = "".join((self.postal_code or "").upper().split())
        city = " ".join((self.city or "").casefold().split())
        return f"{street}|{postcode}|{city}"


@dataclass(frozen=True)
class GeocodeResult:
    """An address found by a geocoder (WGS84)."""

    latitude: float
    longitude: float
    display_name: str
    postal_code: str | None = None  # "1423AB"
    city: str | None = None  # woonplaatsnaam
    municipality_code: str | None = None  # CBS code without prefix, e.g. "0451"
    municipality_name: str | None = None
    neighbourhood_code: str | None = None  # CBS wijkcode, e.g. "WK045101"
    neighbourhood_name: str | None = None
    district_code: str | None = None  # CBS buurtcode, e.g. "BU04510101"
    district_name: str | None = None


class GeocoderError(RuntimeError):
    """The geocoder could not answer (network, timeout, server error): try again later.

    Not raised for an address that simply is not found (that is ``None``)."""


class Geocoder(Protocol):
    name: str

    def geocode(self, address: AddressQuery) -> GeocodeResult | None:
        """The address, or None when it does not exist; GeocoderError when unreachable."""
        ...
