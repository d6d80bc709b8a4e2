"""Postcode centroids (PC4 and PC6) for "bij mij in de buurt"."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class PostcodeCentroid(SQLModel, table=True):
    __tablename__ = "postcode_centroid"

    postcode: str = Field(
        primary_key=True, max_length=6, description="1422 of 1422AB (zonder spatie)"
    )
    latitude: float
    longitude: float
    place_name: str | None = Field(default=None, max_length=200)
    municipality_name: str | None = Field(default=None, max_length=200)
