"""Postcode centroids: load from CSV, look up.

CSV format (UTF-8, header row, comma-separated; extra columns are ignored):
``postcode`` (``1422`` for PC4 or ``1422AB`` / ``1422 AB`` for PC6), ``latitude``, ``longitude``
(WGS84 decimal degrees), optional ``woonplaats`` and ``gemeente``. The CBS/PDOK PC4 and PC6
centroid files and the 2014 PC4 list used in the tests have this shape.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from app.core.config import GeocoderName, Settings
from app.geo.geocoding import Geocoder
from app.geo.models import PostcodeCentroid

_PC = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})?\s*$")
# The Netherlands, generously (incl. the Caribbean parts is out of scope for PC4/PC6).
_NL_LAT = (50.5, 53.8)
_NL_LNG = (3.0, 7.5)


@dataclass
class PostcodeReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def normalise_postcode(value: str) -> str | None:
    match = _PC.match(value)
    if not match:
        return None
    return match.group(1) + (match.group(2) or "").upper()


def import_postcodes(
    *, session: Session, path: Path, progress: Callable[[int], None] | None = None
) -> PostcodeReport:
    report = PostcodeReport()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"postcode", "latitude", "longitude"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"kolommen ontbreken: {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            code = normalise_postcode(row.get("postcode") or "")
            try:
                lat, lng = float(row["latitude"]), float(row["longitude"])
            except (TypeError, ValueError):
                report.errors.append((line, "latitude/longitude is geen getal"))
                continue
            if code is None:
                report.errors.append((line, f"ongeldige postcode {row.get('postcode')!r}"))
                continue
            if not (_NL_LAT[0] <= lat <= _NL_LAT[1] and _NL_LNG[0] <= lng <= _NL_LNG[1]):
                report.errors.append((line, f"{code}: coördinaten liggen buiten Nederland"))
                continue
            existing = session.get(PostcodeCentroid, code)
            values = {
                "latitude": lat,
                "longitude": lng,
                "place_name": (row.get("woonplaats") or None),
                "municipality_name": (row.get("gemeente") or None),
            }
            if existing is None:
                session.add(PostcodeCentroid.model_validate({"postcode": code, **values}))
                report.created += 1
            elif any(getattr(existing, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(existing, k, v)
                report.updated += 1
            if progress:
                progress(1)
    session.flush()
    return report


def build_geocoder(settings: Settings) -> Geocoder | None:
    """The configured online geocoder, or None for the offline chain only."""
    if settings.geocoder is GeocoderName.pdok:
        from app.geo.pdok import PdokGeocoder

        return PdokGeocoder(
            base_url=settings.pdok_url,
            timeout_s=settings.pdok_timeout_s,
            min_interval_s=settings.pdok_min_interval_s,
        )
    return None
