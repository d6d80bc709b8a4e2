"""Great-circle distance shared by the backends."""

from __future__ import annotations

import math

from search.types import GeoPoint

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG), as Meilisearch uses


def haversine_m(point: GeoPoint, lat: float, lng: float) -> float:
    p1, p2 = math.radians(point.lat), math.radians(lat)
    dp, dl = p2 - p1, math.radians(lng - point.lng)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
