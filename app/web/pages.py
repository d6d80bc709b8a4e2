"""What the pages show, computed from API answers: filters, facets, pagination, Dutch
formatting. No database access here — only the public API (app/web/client.py)."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from markupsafe import Markup, escape

from app.feedback.models import FeedbackCategory
from app.web.client import PublicApi, QueryValue

PER_PAGE = 10
MONTHS = [
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
]  # fmt: skip
SORTS = {"relevantie": "relevance", "afstand": "distance", "naam": "name"}
TAXONOMIES = {
    "thema": ("themes", "theme", "Waarbij"),
    "doelgroep": ("target-groups", "target_group", "Voor wie"),
    "kosten": ("costs", "cost", "Kosten"),
    "toegang": ("access-routes", "access", "Hoe kom je erbij"),
}


# Professional mode: quick filters (``snel``) on what the search API filters, and the views.
class QuickFilter(NamedTuple):
    api_name: str  # the search API's parameter
    slugs: tuple[str, ...]  # its values that pass
    chip: str  # short, on the chip that removes it
    label: str  # the checkbox's label


QUICK_FILTERS = {
    "zonder-verwijzing": QuickFilter(
        "access",
        ("vrij-toegankelijk", "aanmelden"),
        "Zonder verwijzing",
        "Zonder verwijzing of indicatie (zo binnenlopen of zelf aanmelden)",
    ),
    "gratis": QuickFilter("cost", ("gratis",), "Gratis", "Alleen gratis"),
}
VIEWS = ("lijst", "compact")


class TermCache:
    """Term labels and areas change rarely: kept per process for a few minutes."""

    def __init__(self, api: PublicApi, *, ttl_s: float = 300.0) -> None:
        self.api = api
        self.ttl_s = ttl_s
        self._values: dict[str, tuple[float, Any]] = {}

    async def _cached(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        hit = self._values.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        value = await load()
        self._values[key] = (now, value)
        return value

    async def terms(self, taxonomy: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._cached(
            taxonomy, lambda: self.api.terms(taxonomy)
        )
        return result

    async def labels(self, taxonomy: str) -> dict[str, str]:
        return {t["slug"]: t["label"] for t in await self.terms(taxonomy)}

    async def areas(self, municipality: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._cached(
            f"areas:{municipality}", lambda: self.api.neighbourhoods(municipality)
        )
        return result


@dataclass
class SearchForm:
    """The results page's query string (Dutch names), validated loosely: the API decides."""

    q: str = ""
    terms: dict[str, list[str]] = field(default_factory=dict)  # page name -> slugs
    age: int | None = None
    area: str = ""  # "kern:uithoorn" or "wijk:thamerdal"
    postcode: str = ""
    radius_km: float | None = None
    sort: str = "relevantie"
    page: int = 1
    quick: list[str] = field(default_factory=list)  # QUICK_FILTERS keys
    view: str = "lijst"
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_query(cls, query: Mapping[str, Sequence[str]]) -> SearchForm:
        def one(name: str) -> str:
            values = query.get(name) or [""]
            return values[-1].strip()[:500]

        form = cls(q=one("q"), area=one("gebied"), postcode=one("postcode")[:8])
        form.terms = {name: [v for v in query.get(name, []) if v][:20] for name in TAXONOMIES}
        age = one("leeftijd")
        if age:
            if age.isdigit() and int(age) <= 120:
                form.age = int(age)
            else:
                form.problems.append("Vul bij leeftijd een getal in, bijvoorbeeld 70.")
        radius = one("afstand")
        if radius:
            try:
                form.radius_km = min(max(float(radius.replace(",", ".")), 0.5), 50.0)
            except ValueError:
                form.problems.append("Kies een afstand in kilometers.")
        sort = one("sorteer")
        form.sort = sort if sort in SORTS else ("afstand" if form.postcode else "relevantie")
        page = one("pagina")
        form.page = int(page) if page.isdigit() and 0 < int(page) <= 1000 else 1
        form.quick = [q for q in QUICK_FILTERS if q in query.get("snel", [])]
        for quick in form.quick:
            api_name, slugs, chip, _label = QUICK_FILTERS[quick]
            page_name = next(n for n, (_t, a, _l) in TAXONOMIES.items() if a == api_name)
            chosen = form.terms.get(page_name, [])
            if chosen and not set(chosen) & set(slugs):
                form.problems.append(
                    f"Het filter '{chip}' past niet bij wat u koos bij "
                    f"'{TAXONOMIES[page_name][2]}'. Haal een van de twee weg."
                )
        form.view = one("weergave") if one("weergave") in VIEWS else "lijst"
        return form

    @property
    def empty(self) -> bool:
        return not (
            self.q or any(self.terms.values()) or self.age is not None or self.area or self.postcode
        )

    def api_params(self, municipality: str) -> dict[str, QueryValue]:
        params: dict[str, QueryValue] = {
            "q": self.q,
            "municipality": municipality,
            "age": self.age,
            "page": self.page,
            "per_page": PER_PAGE,
        }
        for name, (_taxonomy, api_name, _label) in TAXONOMIES.items():
            params[api_name] = self.terms.get(name, [])
        for quick in self.quick:
            api_name, slugs, _chip, _label = QUICK_FILTERS[quick]
            chosen = params[api_name]
            assert isinstance(chosen, list)
            # Within the terms already chosen (from_query refused an empty overlap).
            params[api_name] = [s for s in chosen if s in slugs] if chosen else list(slugs)
        kind, _, slug = self.area.partition(":")
        if kind == "kern" and slug:
            params["place"] = slug
        elif kind == "wijk" and slug:
            params["neighbourhood"] = slug
        if self.postcode:
            params["postcode"] = self.postcode
            params["radius_km"] = self.radius_km
        sort = SORTS[self.sort]
        params["sort"] = "relevance" if sort == "distance" and not self.postcode else sort
        return params

    def query_items(self, **changes: Any) -> list[tuple[str, str]]:
        """This search as query-string pairs, with some values changed (links)."""
        values: dict[str, Any] = {
            "q": self.q,
            **{name: list(slugs) for name, slugs in self.terms.items()},
            "leeftijd": self.age,
            "gebied": self.area,
            "postcode": self.postcode,
            "afstand": self.radius_km,
            "sorteer": self.sort if self.sort != "relevantie" else None,
            "pagina": self.page if self.page > 1 else None,
            "snel": list(self.quick),
            "weergave": self.view if self.view != "lijst" else None,
        }
        values.update(changes)
        items: list[tuple[str, str]] = []
        for key, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                if item not in (None, ""):
                    items.append((key, _plain_number(item)))
        return items

    def url(self, **changes: Any) -> str:
        return "/zoeken?" + urlencode(self.query_items(**changes))

    def without(self, name: str, value: str | None = None) -> str:
        """The link that removes one filter (a chip's "x")."""
        if name in TAXONOMIES and value is not None:
            rest = [v for v in self.terms.get(name, []) if v != value]
            return self.url(**{name: rest, "pagina": None})
        return self.url(**{name: None, "pagina": None})


def marked(text: str | None) -> Markup:
    """The API's highlight (HTML, escaped, with <mark>) made safe again: everything is
    escaped here, then only <mark> and </mark> come back — another deployment's API
    (``WEB_API_URL``) cannot put markup in our pages."""
    plain = html.unescape(text or "")
    escaped = str(escape(plain))
    # Safe: every character came through escape(); only the two fixed tags are restored.
    return Markup(escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>"))  # noqa: S704


def area_names(areas: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """ "kern:uithoorn" / "wijk:thamerdal" -> the area's name."""
    return {f"{a['kind']}:{a['slug']}": str(a["name"]) for a in areas}


def _plain_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class PageLink:
    number: int
    url: str
    current: bool


def pagination(form: SearchForm, total: int) -> list[PageLink]:
    pages = max(1, math.ceil(total / PER_PAGE))
    if pages == 1:
        return []
    wanted = {1, pages, form.page - 1, form.page, form.page + 1}
    return [
        PageLink(n, form.url(pagina=n if n > 1 else None), n == form.page)
        for n in sorted(wanted)
        if 1 <= n <= pages
    ]


def dutch_date(value: str | None) -> str:
    """ "2024-11-01" -> "1 november 2024"; a partial "2024-11" -> "november 2024"."""
    if not value:
        return ""
    try:
        parsed = date.fromisoformat(value[:10])
    except ValueError:
        parts = value.split("-")
        if len(parts) == 2 and parts[1].isdigit() and 1 <= int(parts[1]) <= 12:
            return f"{MONTHS[int(parts[1]) - 1]} {parts[0]}"
        return value
    return f"{parsed.day} {MONTHS[parsed.month - 1]} {parsed.year}"


def age_text(minimum: int | None, maximum: int | None) -> str:
    if minimum is None and maximum is None:
        return "Alle leeftijden"
    if minimum is not None and maximum is not None:
        return f"{minimum} tot en met {maximum} jaar"
    if minimum is not None:
        return f"Vanaf {minimum} jaar"
    return f"Tot en met {maximum} jaar"


def distance_text(item: Mapping[str, Any]) -> str:
    km = item.get("distance_km")
    if km is None:
        return ""
    shown = f"{km:.1f}".replace(".", ",") + " km"
    return f"ongeveer {shown}" if item.get("distance_approximate") else shown


def map_url(location: Mapping[str, Any]) -> str | None:
    """A link (never an embedded map: no third-party requests) to OpenStreetMap."""
    lat, lon = location.get("latitude"), location.get("longitude")
    if lat is None or lon is None or location.get("geo_precision") not in ("adres", "handmatig"):
        address = location.get("address") or {}
        text = " ".join(
            str(p)
            for p in (address.get("address_1"), address.get("postal_code"), address.get("city"))
            if p
        )
        if not text or not address.get("address_1"):
            return None
        return "https://www.openstreetmap.org/search?" + urlencode({"query": text})
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"
    )


DAYS = {
    "MO": "maandag",
    "TU": "dinsdag",
    "WE": "woensdag",
    "TH": "donderdag",
    "FR": "vrijdag",
    "SA": "zaterdag",
    "SU": "zondag",
}


def schedule_text(schedule: Mapping[str, Any]) -> str:
    """A schedule in words: its description, else its RFC 5545 fields."""
    if schedule.get("description"):
        return str(schedule["description"])
    parts = []
    byday = schedule.get("byday") or ""
    days = [DAYS.get(d[-2:], d) for d in byday.split(",") if d]
    if days:
        parts.append(
            "elke " + " en ".join(days) if schedule.get("freq") == "WEEKLY" else ", ".join(days)
        )
    opens, closes = schedule.get("opens_at"), schedule.get("closes_at")
    if opens and closes:
        parts.append(f"{opens[:5]} tot {closes[:5]} uur".replace(":", "."))
    return " ".join(parts).capitalize() or "Tijden: zie de website of bel"


# --- professional mode, forms and accounts ------------------------------------------------------

ROLE_LABELS = {
    "professional": "professional",
    "provider": "aanbieder",
    "editor": "redactie",
    "admin": "beheerder",
}
FEEDBACK_LABELS: dict[str, tuple[str, str]] = {
    FeedbackCategory.contact: (
        "Contactgegevens",
        "Het telefoonnummer, e-mailadres, de website of het adres klopt niet.",
    ),
    FeedbackCategory.times: ("Tijden", "De openingstijden of de data kloppen niet."),
    FeedbackCategory.description: (
        "Beschrijving",
        "De uitleg over wat het is of voor wie, klopt niet of is niet duidelijk.",
    ),
    FeedbackCategory.gone: ("Bestaat niet meer", "Deze hulp of activiteit is er niet meer."),
    FeedbackCategory.other: ("Iets anders", "Vertel hieronder wat er niet klopt."),
}


def first_phone(owner: Mapping[str, Any]) -> str | None:
    """The first phone number of a service, location or organisation (API shape)."""
    phones = owner.get("phones") or []
    return str(phones[0]["number"]) if phones else None


def service_phone(service: Mapping[str, Any]) -> tuple[str, bool] | None:
    """(number, professionals only) for a listing: the direct line for professionals when
    the API gave it, else the listing's own number, else its first location's."""
    direct = (service.get("professional") or {}).get("professional_phone")
    if direct:
        return str(direct), True
    for owner in (service, *(service.get("locations") or [])):
        number = first_phone(owner)
        if number:
            return number, False
    return None


def local_path(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path on this site (``/zoeken?q=x``), else ``default``: a login
    link's ``volgende`` can never send someone to another website."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in value):
        return default
    return value


@dataclass
class FormState:
    """A submitted form as the page shows it again: values and Dutch errors per field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # field name -> message
    problem: str = ""  # about the whole form (no single field)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.problem)
