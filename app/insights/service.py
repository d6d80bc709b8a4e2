"""The monitor sociaal domein: anonymous counts per month for the redactie and beleid.

Referrals (per theme, service, referrer kind, mode and outcome) come from the referral rows,
which keep no personal data after retention; searches from the search tallies; supply from
the public listings (per theme × wijk, to show gaps). Nothing here identifies a person.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from app.accounts.policy import require_municipality
from app.accounts.principal import principal_of
from app.core.errors import BadRequest, NotFound
from app.core.models import utcnow
from app.core.visibility import service_is_public
from app.insights.models import SearchTally, ZeroResultQuery
from app.insights.schemas import (
    Count,
    ReferralInsights,
    ReferralMonth,
    SearchInsights,
    SearchMonth,
    SupplyInsights,
)
from app.municipalities.models import Municipality, Neighbourhood, Place
from app.referrals.models import CLOSED, Referral, ReferralStatus
from app.services.models import Service, ServiceArea, ServiceTerm
from app.taxonomy.models import Taxonomy, TaxonomyTerm

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
TOP_ZERO_RESULT_TEXTS = 25


@dataclass(frozen=True)
class Period:
    start: date  # first day of the first month
    end: date  # first day of the last month

    def months(self) -> list[date]:
        out, current = [], self.start
        while current <= self.end:
            out.append(current)
            current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
        return out


def parse_period(raw_from: str | None, raw_to: str | None) -> Period:
    """``from``/``to`` as YYYY-MM; default the last 12 months up to this one."""

    def month(raw: str, name: str) -> date:
        match = _MONTH.match(raw.strip())
        if not match:
            raise BadRequest(f"Geef {name} als jaar-maand, bijvoorbeeld 2026-01.")
        return date(int(match.group(1)), int(match.group(2)), 1)

    today = utcnow().date().replace(day=1)
    end = month(raw_to, "to") if raw_to else today
    start = (
        month(raw_from, "from")
        if raw_from
        else date(end.year - 1 + (end.month // 12), end.month % 12 + 1, 1)
    )
    if start > end:
        raise BadRequest("'from' ligt na 'to'.")
    if (end.year - start.year) * 12 + end.month - start.month > 120:
        raise BadRequest("Vraag hoogstens tien jaar tegelijk op.")
    return Period(start, end)


def municipality_for(session: Session, slug: str) -> Municipality:
    municipality = session.exec(select(Municipality).where(Municipality.slug == slug)).first()
    if municipality is None:
        raise NotFound(f"Gemeente '{slug}' bestaat niet.")
    require_municipality(principal_of(session), municipality.id)
    return municipality


def _label(month: date) -> str:
    return f"{month:%Y-%m}"


def _counts(counter: Counter[str]) -> list[Count]:
    return [
        Count(key=k, count=n) for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


# --- referrals --------------------------------------------------------------------------------


def referral_insights(
    *, session: Session, municipality: Municipality, period: Period
) -> ReferralInsights:
    rows = session.exec(
        select(Referral).where(
            Referral.municipality_id == municipality.id,
            col(Referral.month) >= period.start,
            col(Referral.month) <= period.end,
        )
    ).all()
    by_month: dict[date, list[Referral]] = defaultdict(list)
    for row in rows:
        by_month[row.month].append(row)
    months = []
    for month in period.months():
        group = by_month.get(month, [])
        outcomes: Counter[str] = Counter(
            r.status for r in group if ReferralStatus(r.status) in CLOSED
        )
        months.append(
            ReferralMonth(
                month=_label(month),
                total=len(group),
                by_mode=_counts(Counter(r.mode for r in group)),
                by_referrer_kind=_counts(Counter(r.referrer_kind for r in group)),
                by_theme=_counts(Counter(t for r in group for t in r.themes)),
                by_service=_counts(Counter(r.service_name for r in group)),
                by_status=_counts(Counter(r.status for r in group)),
                by_outcome=_counts(outcomes),
                recepts_used=sum(1 for r in group if r.used_at is not None),
            )
        )
    return ReferralInsights(municipality=municipality.slug, months=months)


# --- searches ---------------------------------------------------------------------------------


def search_insights(
    *, session: Session, municipality: Municipality, period: Period
) -> SearchInsights:
    tallies = session.exec(
        select(SearchTally).where(
            SearchTally.municipality == municipality.slug,
            col(SearchTally.month) >= period.start,
            col(SearchTally.month) <= period.end,
        )
    ).all()
    zero_rows = session.exec(
        select(ZeroResultQuery).where(
            ZeroResultQuery.municipality == municipality.slug,
            col(ZeroResultQuery.month) >= period.start,
            col(ZeroResultQuery.month) <= period.end,
        )
    ).all()
    by_month: dict[date, list[SearchTally]] = defaultdict(list)
    for tally in tallies:
        by_month[tally.month].append(tally)
    months = []
    for month in period.months():
        rows = by_month.get(month, [])
        totals = [t for t in rows if t.theme == ""]
        searches = sum(t.count for t in totals)
        zero = sum(t.count for t in totals if t.zero_results)
        areas: Counter[str] = Counter()
        for t in totals:
            if t.area:
                areas[t.area] += t.count
        themes: Counter[str] = Counter()
        for t in rows:
            if t.theme:
                themes[t.theme] += t.count
        texts: Counter[str] = Counter({z.text: z.count for z in zero_rows if z.month == month})
        months.append(
            SearchMonth(
                month=_label(month),
                searches=searches,
                zero_results=zero,
                zero_result_share=round(zero / searches, 4) if searches else 0.0,
                by_theme=_counts(themes),
                by_area=_counts(areas),
                zero_result_texts=_counts(texts)[:TOP_ZERO_RESULT_TEXTS],
            )
        )
    return SearchInsights(municipality=municipality.slug, months=months)


# --- supply -----------------------------------------------------------------------------------


def supply_insights(*, session: Session, municipality: Municipality) -> SupplyInsights:
    """Public services per theme × wijk (a service counts in every wijk its werkgebied
    covers: the whole gemeente, its kernen, or named wijken)."""
    wijken = session.exec(
        select(Neighbourhood).where(Neighbourhood.municipality_id == municipality.id)
    ).all()
    places = {
        p.id for p in session.exec(select(Place).where(Place.municipality_id == municipality.id))
    }
    by_place: dict[object, list[str]] = defaultdict(list)
    for w in wijken:
        by_place[w.place_id].append(w.slug)
    all_wijken = sorted(w.slug for w in wijken)
    wijk_slug = {w.id: w.slug for w in wijken}
    services = session.exec(
        select(Service.id).where(Service.municipality_id == municipality.id, service_is_public())
    ).all()
    covered: dict[object, set[str]] = defaultdict(set)
    for area in session.exec(select(ServiceArea).where(col(ServiceArea.service_id).in_(services))):
        if area.extent_type == "municipality":
            covered[area.service_id] |= set(all_wijken)
        elif area.extent_type == "place" and area.place_id in places:
            covered[area.service_id] |= set(by_place.get(area.place_id, []))
        elif area.extent_type == "neighbourhood" and area.neighbourhood_id in wijk_slug:
            covered[area.service_id].add(wijk_slug[area.neighbourhood_id])
    links = session.exec(
        select(TaxonomyTerm.slug, ServiceTerm.service_id)
        .join(ServiceTerm, col(ServiceTerm.taxonomy_term_id) == col(TaxonomyTerm.id))
        .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
        .where(Taxonomy.slug == "themes", col(ServiceTerm.service_id).in_(services))
    ).all()
    theme_slugs = list(
        session.exec(
            select(TaxonomyTerm.slug)
            .join(Taxonomy, col(Taxonomy.id) == col(TaxonomyTerm.taxonomy_id))
            .where(Taxonomy.slug == "themes")
            .order_by(col(TaxonomyTerm.position), col(TaxonomyTerm.slug))
        ).all()
    )
    matrix: dict[str, dict[str, int]] = {t: dict.fromkeys(all_wijken, 0) for t in theme_slugs}
    for theme, service_id in links:
        for wijk in covered.get(service_id, ()):
            matrix.setdefault(theme, dict.fromkeys(all_wijken, 0))[wijk] += 1
    gaps = [
        {"theme": theme, "area": wijk}
        for theme, row in matrix.items()
        for wijk, n in row.items()
        if n == 0
    ]
    return SupplyInsights(
        municipality=municipality.slug, areas=all_wijken, themes=matrix, gaps=gaps
    )


# --- CSV --------------------------------------------------------------------------------------


CSV_HEADER = ["onderdeel", "maand", "indeling", "waarde", "aantal"]


def csv_rows(
    referrals: ReferralInsights, searches: SearchInsights, supply: SupplyInsights
) -> Iterator[list[str]]:
    yield CSV_HEADER
    for m in referrals.months:
        yield ["verwijzingen", m.month, "totaal", "", str(m.total)]
        for dimension, counts in (
            ("vorm", m.by_mode),
            ("verwijzer", m.by_referrer_kind),
            ("thema", m.by_theme),
            ("voorziening", m.by_service),
            ("status", m.by_status),
            ("uitkomst", m.by_outcome),
        ):
            for c in counts:
                yield ["verwijzingen", m.month, dimension, c.key, str(c.count)]
        yield ["verwijzingen", m.month, "recept gebruikt", "", str(m.recepts_used)]
    for s in searches.months:
        yield ["zoekvragen", s.month, "totaal", "", str(s.searches)]
        yield ["zoekvragen", s.month, "zonder resultaat", "", str(s.zero_results)]
        for dimension, counts in (("thema", s.by_theme), ("gebied", s.by_area)):
            for c in counts:
                yield ["zoekvragen", s.month, dimension, c.key, str(c.count)]
        for c in s.zero_result_texts:
            yield ["zoekvragen", s.month, "zonder resultaat: tekst", c.key, str(c.count)]
    for theme, row in supply.themes.items():
        for wijk, n in row.items():
            yield ["aanbod", "", f"thema {theme}", wijk, str(n)]


def to_csv(rows: Iterator[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    return "\ufeff" + buffer.getvalue()
