"""Search documents: one flat JSON object per public service, the same for every backend."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlmodel import Session, col, select

from app.core.visibility import service_is_public
from app.geo.geocoding import NO_PRECISION_RANK, GeoPrecision
from app.locations.models import Location
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.organizations.models import Organization
from app.services.models import ExtentType, Service, ServiceArea, ServiceAtLocation, ServiceTerm
from app.taxonomy.models import Taxonomy, TaxonomyTerm
from app.taxonomy.service import TaxonomyKey, read_taxonomy_file
from search.analysis import Analyzer, fold, tokenize

SUMMARY_MAX = 200


def summary_of(description: str | None) -> str:
    """The first sentences of a description, at most ~200 characters, cut at a word."""
    if not description:
        return ""
    text = " ".join(description.split())
    if len(text) <= SUMMARY_MAX:
        return text
    sentences = re.split(r"(?<=[.!?])\s+", text)
    summary = ""
    for sentence in sentences:
        if len(summary) + len(sentence) + 1 > SUMMARY_MAX:
            break
        summary = f"{summary} {sentence}".strip()
    if not summary:
        summary = text[:SUMMARY_MAX].rsplit(" ", 1)[0] + " …"
    return summary


@lru_cache(maxsize=1)
def taxonomy_variants() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(group) for group in read_taxonomy_file().variants)


def build_analyzer(session: Session) -> Analyzer:
    """Analyzer with the taxonomy's vocabulary (labels, lay words, variants) and, for the
    compound dictionary, the words of the public services' names and descriptions."""
    vocabulary: list[str] = []
    for term in session.exec(select(TaxonomyTerm)):
        vocabulary.append(term.label)
        vocabulary.extend(term.words)
    corpus: set[str] = set()
    texts = session.exec(
        select(Service.name, Service.description, Organization.name)
        .join(Organization, col(Organization.id) == col(Service.organization_id))
        .where(service_is_public())
    )
    for name, description, org_name in texts:
        corpus.update(tokenize(f"{name} {description or ''} {org_name}"))
    return Analyzer(vocabulary=vocabulary, variants=taxonomy_variants(), corpus=corpus)


class DocumentBuilder:
    """Builds documents in batches with a fixed number of queries per batch."""

    def __init__(self, session: Session, analyzer: Analyzer | None = None) -> None:
        self.session = session
        self.analyzer = analyzer or build_analyzer(session)
        self._areas_cache: dict[uuid.UUID, tuple[list[str], list[str]]] = {}
        terms = session.exec(
            select(TaxonomyTerm, Taxonomy.slug).join(
                Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id)
            )
        ).all()
        self.terms: dict[uuid.UUID, tuple[str, TaxonomyTerm]] = {t.id: (tax, t) for t, tax in terms}

    def _municipality_areas(self, municipality_id: uuid.UUID) -> tuple[list[str], list[str]]:
        """(wijk slugs, kern slugs) of a municipality."""
        if municipality_id not in self._areas_cache:
            wijken = self.session.exec(
                select(Neighbourhood.slug).where(Neighbourhood.municipality_id == municipality_id)
            ).all()
            kernen = self.session.exec(
                select(Place.slug).where(Place.municipality_id == municipality_id)
            ).all()
            self._areas_cache[municipality_id] = (sorted(wijken), sorted(kernen))
        return self._areas_cache[municipality_id]

    def build(self, service_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any] | None]:
        """Documents for public services; ``None`` for ids that are not (or no longer) public."""
        result: dict[uuid.UUID, dict[str, Any] | None] = dict.fromkeys(service_ids)
        if not service_ids:
            return result
        ids = list(service_ids)
        services = self.session.exec(
            select(Service).where(col(Service.id).in_(ids), service_is_public())
        ).all()
        if not services:
            return result
        public_ids = [s.id for s in services]
        orgs = {
            o.id: o
            for o in self.session.exec(
                select(Organization).where(
                    col(Organization.id).in_({s.organization_id for s in services})
                )
            )
        }
        municipalities = {
            m.id: m
            for m in self.session.exec(
                select(Municipality).where(
                    col(Municipality.id).in_({s.municipality_id for s in services})
                )
            )
        }
        links: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for service_id, term_id in self.session.exec(
            select(ServiceTerm.service_id, ServiceTerm.taxonomy_term_id).where(
                col(ServiceTerm.service_id).in_(public_ids)
            )
        ):
            links[service_id].append(term_id)
        areas: dict[uuid.UUID, list[ServiceArea]] = defaultdict(list)
        for area in self.session.exec(
            select(ServiceArea).where(col(ServiceArea.service_id).in_(public_ids))
        ):
            areas[area.service_id].append(area)
        locations: dict[uuid.UUID, list[Location]] = defaultdict(list)
        for service_id, location in self.session.exec(
            select(ServiceAtLocation.service_id, Location)
            .join(Location, col(Location.id) == col(ServiceAtLocation.location_id))
            .where(col(ServiceAtLocation.service_id).in_(public_ids))
            .order_by(col(Location.name))
        ):
            locations[service_id].append(location)
        place_ids = {a.place_id for v in areas.values() for a in v if a.place_id}
        place_ids |= {loc.place_id for v in locations.values() for loc in v if loc.place_id}
        wijk_ids = {a.neighbourhood_id for v in areas.values() for a in v if a.neighbourhood_id}
        wijk_ids |= {
            loc.neighbourhood_id for v in locations.values() for loc in v if loc.neighbourhood_id
        }
        places = {
            p.id: p for p in self.session.exec(select(Place).where(col(Place.id).in_(place_ids)))
        }
        wijken = {
            n.id: n
            for n in self.session.exec(
                select(Neighbourhood).where(col(Neighbourhood.id).in_(wijk_ids))
            )
        }
        wijken_of_place: dict[uuid.UUID, list[str]] = defaultdict(list)
        if place_ids:
            for n in self.session.exec(
                select(Neighbourhood).where(col(Neighbourhood.place_id).in_(place_ids))
            ):
                wijken_of_place[n.place_id].append(n.slug)  # type: ignore[index]

        for s in services:
            org = orgs[s.organization_id]
            by_taxonomy: dict[str, list[TaxonomyTerm]] = defaultdict(list)
            for term_id in links[s.id]:
                taxonomy, term = self.terms[term_id]
                by_taxonomy[taxonomy].append(term)
            for terms in by_taxonomy.values():
                terms.sort(key=lambda t: t.position)
            themes = by_taxonomy[TaxonomyKey.themes.value]
            groups = by_taxonomy[TaxonomyKey.target_groups.value]
            access = by_taxonomy[TaxonomyKey.access_routes.value]
            cost = by_taxonomy[TaxonomyKey.costs.value]

            covered_wijken: set[str] = set()
            covered_kernen: set[str] = set()
            for area in areas[s.id]:
                if area.extent_type in (ExtentType.municipality.value, ExtentType.region.value):
                    all_wijken, all_kernen = self._municipality_areas(
                        area.municipality_id or s.municipality_id
                    )
                    covered_wijken.update(all_wijken)
                    covered_kernen.update(all_kernen)
                elif area.extent_type == ExtentType.place.value and area.place_id in places:
                    covered_kernen.add(places[area.place_id].slug)
                    covered_wijken.update(wijken_of_place[area.place_id])
                elif area.neighbourhood_id in wijken:
                    wijk = wijken[area.neighbourhood_id]
                    covered_wijken.add(wijk.slug)
            located = locations[s.id]
            place = next(
                (places[loc.place_id].slug for loc in located if loc.place_id in places), None
            )
            location_wijk = next(
                (
                    wijken[loc.neighbourhood_id].slug
                    for loc in located
                    if loc.neighbourhood_id in wijken
                ),
                None,
            )
            if place:
                covered_kernen.add(place)
            if location_wijk:
                covered_wijken.add(location_wijk)
            # the most precise point of the service's locations (an address beats a centroid)
            point = min(
                (loc for loc in located if loc.latitude is not None),
                key=lambda loc: _precision(loc.geo_precision).rank,
                default=None,
            )

            theme_labels = "; ".join(t.label for t in themes)
            lay_words = " ".join(w for t in themes for w in t.words)  # primary theme first
            doc: dict[str, Any] = {
                "id": str(s.id),
                "slug": s.slug,
                "name": s.name,
                "summary": summary_of(s.description),
                "description": s.description or "",
                "organization": org.slug,
                "organization_name": org.name,
                "municipality": municipalities[s.municipality_id].slug,
                "themes": [t.slug for t in themes],
                "theme_labels": theme_labels,
                "theme_words": lay_words,
                "target_groups": [t.slug for t in groups],
                "access": access[0].slug if access else None,
                "cost": cost[0].slug if cost else None,
                "minimum_age": s.minimum_age,
                "maximum_age": s.maximum_age,
                "age_min": s.minimum_age if s.minimum_age is not None else 0,
                "age_max": s.maximum_age if s.maximum_age is not None else 120,
                "neighbourhoods": sorted(covered_wijken),
                "places": sorted(covered_kernen),
                "place": place,
                "location_neighbourhood": location_wijk,
                "admission_status": s.admission_status,
                "name_sort": fold(s.name),
                "search_terms": self.analyzer.document_terms(
                    s.name,
                    s.description or "",
                    org.name,
                    theme_labels,
                    " ".join(t.label for t in groups),
                    lay_words,
                ),
            }
            if point is not None:
                precision = _precision(point.geo_precision)
                doc["_geo"] = {"lat": point.latitude, "lng": point.longitude}
                doc["geo_precision"] = precision.value
                doc["geo_precision_rank"] = precision.rank
            else:
                doc["geo_precision"] = None
                doc["geo_precision_rank"] = NO_PRECISION_RANK
            result[s.id] = doc
        return result


def _precision(value: str | None) -> GeoPrecision:
    """A location's precision; coordinates from before precision was recorded are manual."""
    return GeoPrecision(value) if value else GeoPrecision.manual
