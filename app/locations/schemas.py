from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from app.contacts.schemas import PhoneIn, PhonePublic
from app.core.schemas import InputModel, OutputModel, Ref, UpdateModel
from app.core.types import (
    AddressLine,
    Latitude,
    Longitude,
    LongText,
    Name,
    Postcode,
    ShortText,
    Slug,
    WebUrl,
)
from app.geo.geocoding import GeoPrecision
from app.locations.models import LocationType, NeighbourhoodSource
from app.schedules.schemas import ScheduleIn, SchedulePublic

# European Netherlands with a small margin (south, west, north, east); a pin outside it is a
# typo, swapped coordinates or "null island" (0, 0) — never a listing of a Dutch municipality.
NETHERLANDS_BOUNDS = (50.7, 3.2, 53.7, 7.3)


class AddressIn(InputModel):
    address_1: AddressLine | None = Field(default=None, examples=["Koningin Máximalaan 30"])
    address_2: AddressLine | None = None
    postal_code: Postcode | None = None
    city: Name | None = Field(default=None, examples=["Uithoorn"])
    country: str = Field(default="NL", pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def _not_empty(self) -> AddressIn:
        if not (self.address_1 or self.postal_code or self.city):
            raise PydanticCustomError(
                "nl_address_empty", "Vul minstens een straat, postcode of plaats in."
            )
        return self


class AddressPublic(OutputModel):
    address_1: str | None
    address_2: str | None
    postal_code: str | None
    city: str | None
    country: str


class LocationWrite(InputModel):
    organization: Slug | None = Field(default=None, description="Organisatie in dezelfde gemeente.")
    name: Name | None = None
    location_type: LocationType | None = None
    description: LongText | None = None
    url: WebUrl | None = None
    address: AddressIn | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    place: Slug | None = Field(default=None, description="Kern, bijvoorbeeld de-kwakel.")
    neighbourhood: Slug | None = Field(default=None, description="Wijk, bijvoorbeeld thamerdal.")
    accessibility: ShortText | None = None
    transportation: ShortText | None = None
    phones: list[PhoneIn] | None = Field(default=None, max_length=10)
    schedules: list[ScheduleIn] | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _coordinates_pair(self) -> LocationWrite:
        lat_set = "latitude" in self.model_fields_set
        lon_set = "longitude" in self.model_fields_set
        if lat_set != lon_set or (self.latitude is None) != (self.longitude is None):
            raise PydanticCustomError(
                "nl_coordinates", "Geef latitude en longitude samen op (of laat beide weg)."
            )
        if self.latitude is not None and self.longitude is not None:
            south, west, north, east = NETHERLANDS_BOUNDS
            if not (south <= self.latitude <= north and west <= self.longitude <= east):
                raise PydanticCustomError(
                    "nl_outside_netherlands",
                    "Deze coördinaten liggen niet in Nederland (latitude 50,7-53,7, longitude "
                    "3,2-7,3). Zijn latitude en longitude misschien verwisseld?",
                )
        return self


class LocationCreate(LocationWrite):
    municipality: Slug = Field(examples=["uithoorn"])
    location_type: LocationType = LocationType.physical

    @model_validator(mode="after")
    def _findable(self) -> LocationCreate:
        if self.location_type is LocationType.physical and not (
            self.name or self.address or self.place or self.latitude is not None
        ):
            raise PydanticCustomError(
                "nl_location_empty",
                "Een fysieke locatie heeft een naam, adres, kern of coördinaten nodig.",
            )
        if self.location_type is LocationType.virtual and not self.url:
            raise PydanticCustomError("nl_virtual_url", "Een online locatie heeft een url nodig.")
        return self


class LocationUpdate(LocationWrite, UpdateModel):
    required_fields = ("location_type",)


class LocationPublic(OutputModel):
    id: uuid.UUID
    name: str | None
    location_type: str
    description: str | None
    url: str | None
    address: AddressPublic | None
    latitude: float | None
    longitude: float | None
    geo_precision: GeoPrecision | None = Field(
        description="Hoe precies de coördinaten zijn: handmatig of adres (exact), pc6, pc4 of "
        "kern (ongeveer); null zonder coördinaten."
    )
    municipality: Ref
    place: Ref | None
    neighbourhood: Ref | None
    neighbourhood_source: NeighbourhoodSource | None = Field(
        description="Herkomst van de wijk: handmatig, bron (import), pdok, postcode of grens."
    )
    organization: Ref | None
    accessibility: str | None
    transportation: str | None
    phones: list[PhonePublic]
    schedules: list[SchedulePublic]
    updated_at: datetime
    version: int = Field(description="Versie voor If-Match (ook als ETag-header)")
