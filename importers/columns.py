"""The one column specification of the CSV/Excel format: import, template and export.

One row is one voorziening; the organisation columns are repeated on every row of that
organisation. Headers are matched case-, space-, dash- and accent-insensitively, and the
aliases below (English/HSDS names and Dutch variants) are accepted too. docs/import-export.md
lists every column (a test keeps it in step with this module).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz, process

from app.taxonomy.service import TaxonomyKey

LIST_SEPARATOR = ";"


class Group(StrEnum):
    service = "voorziening"
    location = "locatie"
    organization = "organisatie"
    professional = "professionals"


@dataclass(frozen=True)
class Column:
    name: str  # the canonical Dutch header
    field: str  # the API field it fills (service, organisation or location)
    group: Group
    description: str  # plain Dutch (B1), for the template's Uitleg sheet and the docs
    example: str = ""
    aliases: tuple[str, ...] = ()
    required: bool = False
    multiple: bool = False  # several values, separated by ';'
    taxonomy: TaxonomyKey | None = None

    @property
    def professional(self) -> bool:
        """Only for professionals and the redactie: never in public exports."""
        return self.group is Group.professional

    @property
    def notation(self) -> str:
        if self.multiple:
            return "meer waarden met ; ertussen"
        return ""


def _c(
    name: str,
    field: str,
    group: Group,
    description: str,
    example: str = "",
    *aliases: str,
    required: bool = False,
    multiple: bool = False,
    taxonomy: TaxonomyKey | None = None,
) -> Column:
    return Column(name, field, group, description, example, aliases, required, multiple, taxonomy)


SVC, LOC, ORG, PRO = Group.service, Group.location, Group.organization, Group.professional

COLUMNS: tuple[Column, ...] = (
    _c(
        "voorziening_id",
        "id",
        SVC,
        "Het vaste nummer (UUID) van de voorziening, zoals de export het schrijft. "
        "Laat leeg bij een nieuwe voorziening.",
        "0b6a3d2e-5c1f-4a8e-9d7b-2f4e6a8c0d13",
        "id",
        "service_id",
        "uuid",
    ),
    _c(
        "voorziening_slug",
        "slug",
        SVC,
        "Korte code van de voorziening in de web-adressen (kleine letters en streepjes). "
        "Leeg: wordt gemaakt uit de naam.",
        "uve-financieel-cafe",
        "slug",
        "service_slug",
        "code",
    ),
    _c(
        "naam",
        "name",
        SVC,
        "Naam van de voorziening.",
        "Financieel Café",
        "name",
        "service_name",
        "voorziening",
        "naam_voorziening",
        "voorzieningnaam",
        required=True,
    ),
    _c(
        "alternatieve_naam",
        "alternate_name",
        SVC,
        "Andere naam waaronder mensen de voorziening kennen.",
        "Geldcafé",
        "alternate_name",
        "andere_naam",
        "ook_bekend_als",
    ),
    _c(
        "beschrijving",
        "description",
        SVC,
        "Wat de voorziening doet, in eenvoudige taal.",
        "Hulp bij geldzaken, zonder afspraak.",
        "description",
        "omschrijving",
        "toelichting",
    ),
    _c(
        "website",
        "url",
        SVC,
        "Webpagina van de voorziening (begint met https://).",
        "https://www.uithoornvoorelkaar.nu/financieel-cafe",
        "url",
        "service_url",
        "webadres",
        "internet",
    ),
    _c(
        "email",
        "email",
        SVC,
        "E-mailadres van de voorziening.",
        "info@voorbeeld.nl",
        "e_mail",
        "emailadres",
        "e_mailadres",
        "mail",
    ),
    _c(
        "telefoon",
        "phones",
        SVC,
        "Telefoonnummer(s) van de voorziening.",
        "0297 123 456",
        "phone",
        "phones",
        "telefoonnummer",
        "telefoonnummers",
        "tel",
        multiple=True,
    ),
    _c(
        "themas",
        "themes",
        SVC,
        "Thema's (hulpvragen) waar de voorziening bij helpt: code of naam uit de lijst.",
        "geld-en-schulden; informatie-en-advies",
        "themes",
        "thema",
        "hulpvraag",
        "hulpvragen",
        "categorie",
        multiple=True,
        taxonomy=TaxonomyKey.themes,
    ),
    _c(
        "doelgroepen",
        "target_groups",
        SVC,
        "Voor wie de voorziening is: code of naam uit de lijst.",
        "iedereen",
        "target_groups",
        "doelgroep",
        "voor_wie",
        multiple=True,
        taxonomy=TaxonomyKey.target_groups,
    ),
    _c(
        "toegang",
        "access",
        SVC,
        "Hoe iemand bij de voorziening komt: één code of naam uit de lijst.",
        "vrij-toegankelijk",
        "access",
        "access_route",
        "toegankelijkheid",
        taxonomy=TaxonomyKey.access_routes,
    ),
    _c(
        "kosten",
        "cost",
        SVC,
        "Wat het kost: één code of naam uit de lijst.",
        "gratis",
        "cost",
        "costs",
        "prijs",
        taxonomy=TaxonomyKey.costs,
    ),
    _c(
        "kosten_toelichting",
        "fees_description",
        SVC,
        "Uitleg over de kosten.",
        "€ 2,50 per keer, koffie inbegrepen",
        "fees_description",
        "fees",
        "toelichting_kosten",
    ),
    _c(
        "leeftijd_min",
        "minimum_age",
        SVC,
        "Vanaf welke leeftijd (hele jaren). Leeg: geen grens.",
        "18",
        "minimum_age",
        "min_leeftijd",
        "minimumleeftijd",
        "leeftijd_vanaf",
        "vanaf_leeftijd",
    ),
    _c(
        "leeftijd_max",
        "maximum_age",
        SVC,
        "Tot en met welke leeftijd (hele jaren). Leeg: geen grens.",
        "",
        "maximum_age",
        "max_leeftijd",
        "maximumleeftijd",
        "leeftijd_tot",
        "tot_leeftijd",
    ),
    _c(
        "voorwaarden",
        "eligibility_description",
        SVC,
        "Voor wie wel en niet, andere voorwaarden.",
        "Voor inwoners van Uithoorn en De Kwakel.",
        "eligibility_description",
        "eligibility",
    ),
    _c(
        "aanmelden",
        "application_process",
        SVC,
        "Hoe meld je je aan.",
        "Loop binnen of bel vooraf.",
        "application_process",
        "aanmelding",
        "hoe_aanmelden",
    ),
    _c(
        "talen",
        "languages",
        SVC,
        "Talen waarin hulp gegeven wordt, als taalcode. Leeg bij een nieuwe voorziening: nl.",
        "nl; en",
        "languages",
        "taal",
        multiple=True,
    ),
    _c(
        "werkgebied",
        "service_area",
        SVC,
        "Voor welk gebied: 'gemeente' (standaard), 'kern: naam; naam', 'wijk: naam; naam' "
        "of 'regio: naam'.",
        "wijk: Thamerdal; Oude Dorp",
        "service_area",
        "gebied",
    ),
    _c(
        "locatie_naam",
        "location.name",
        LOC,
        "Naam van het gebouw of de plek waar de voorziening is.",
        "Gezondheidscentrum Waterlinie",
        "location_name",
        "locatie",
        "gebouw",
    ),
    _c(
        "adres",
        "location.address_1",
        LOC,
        "Straat en huisnummer.",
        "Koningin Máximalaan 30",
        "address",
        "address_1",
        "straat_en_huisnummer",
        "straat",
    ),
    _c("postcode", "location.postal_code", LOC, "Postcode.", "1421 AB", "postal_code"),
    _c(
        "plaats",
        "location.city",
        LOC,
        "Plaats (kern) van het adres.",
        "Uithoorn",
        "city",
        "woonplaats",
        "kern",
    ),
    _c(
        "wijk",
        "location.neighbourhood",
        LOC,
        "Wijk van de locatie. Leeg: wordt bepaald uit het adres.",
        "Thamerdal",
        "neighbourhood",
    ),
    _c(
        "openingstijden",
        "schedules",
        SVC,
        "Wanneer: openingstijden of vaste momenten, in gewone woorden.",
        "Elke dinsdag 10.00-12.00 uur",
        "schedule",
        "schedules",
        "tijden",
        "wanneer",
        multiple=True,
    ),
    _c(
        "bronnen",
        "sources",
        SVC,
        "Waar de gegevens vandaan komen: web-adres met datum tussen haakjes.",
        "https://www.meerbode.nl/financieel-cafe (2024-06); https://www.uithoorn.nl",
        "sources",
        "bron",
        multiple=True,
    ),
    _c(
        "gecontroleerd_op",
        "assured_date",
        SVC,
        "Datum waarop de gegevens voor het laatst zijn gecontroleerd (jjjj-mm-dd).",
        "2025-03-01",
        "assured_date",
        "laatst_gecontroleerd",
        "controledatum",
    ),
    _c(
        "organisatie_slug",
        "slug",
        ORG,
        "Korte code van de organisatie. Leeg: de organisatie wordt gezocht op naam "
        "(of gemaakt uit de naam).",
        "uithoorn-voor-elkaar",
        "organization_slug",
        "organisatie_code",
    ),
    _c(
        "organisatie_naam",
        "name",
        ORG,
        "Naam van de organisatie (aanbieder). Verplicht, tenzij organisatie_slug is ingevuld.",
        "Uithoorn voor Elkaar",
        "organization_name",
        "organization",
        "organisatie",
        "aanbieder",
        required=True,
    ),
    _c(
        "organisatie_beschrijving",
        "description",
        ORG,
        "Wat de organisatie doet.",
        "",
        "organization_description",
    ),
    _c(
        "organisatie_website",
        "website",
        ORG,
        "Website van de organisatie.",
        "https://www.uithoornvoorelkaar.nu",
        "organization_url",
        "organization_website",
    ),
    _c(
        "organisatie_email",
        "email",
        ORG,
        "E-mailadres van de organisatie.",
        "info@uithoornvoorelkaar.nu",
        "organization_email",
        "organisatie_e_mail",
    ),
    _c(
        "organisatie_telefoon",
        "phones",
        ORG,
        "Telefoonnummer(s) van de organisatie.",
        "0297 303 044",
        "organization_phone",
        multiple=True,
    ),
    _c(
        "organisatie_soort",
        "kind",
        ORG,
        "Soort organisatie: gemeente, welzijnsorganisatie, zorgaanbieder, stichting, "
        "vereniging, vrijwilligersorganisatie, bibliotheek, bedrijf of overig.",
        "welzijnsorganisatie",
        "organization_kind",
        "soort",
        "soort_organisatie",
    ),
    _c(
        "kvk_nummer",
        "identifiers",
        ORG,
        "KvK-nummer van de organisatie (8 cijfers).",
        "41216593",
        "kvk",
        "kvk_number",
        "kvknummer",
    ),
    _c(
        "telefoon_professionals",
        "professional_phone",
        PRO,
        "Alleen voor professionals: direct nummer voor verwijzers.",
        "06 12345678",
        "professional_phone",
        "telefoon_verwijzers",
    ),
    _c(
        "verwijsprocedure",
        "referral_procedure",
        PRO,
        "Alleen voor professionals: hoe verwijs je iemand door.",
        "Mail het verwijsformulier naar ...",
        "referral_procedure",
        "verwijzen",
    ),
    _c(
        "interne_opmerkingen",
        "internal_remarks",
        PRO,
        "Alleen voor de redactie: interne opmerkingen.",
        "",
        "internal_remarks",
        "opmerkingen_redactie",
    ),
)

HEADER: tuple[str, ...] = tuple(c.name for c in COLUMNS)
PUBLIC_HEADER: tuple[str, ...] = tuple(c.name for c in COLUMNS if not c.professional)
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}


def header_key(text: str) -> str:
    """'Leeftijd min', 'leeftijd-min', 'LEEFTIJD_MIN' and 'Thema’s' → one key."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"['’`]", "", plain)
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


_KEYS: dict[str, Column] = {}
for _column in COLUMNS:
    for _name in (_column.name, *_column.aliases):
        _KEYS.setdefault(header_key(_name), _column)


def find_column(header: str) -> Column | None:
    """The column a header of a file means, or None."""
    return _KEYS.get(header_key(header))


def closest_header(header: str) -> str | None:
    """The canonical header closest to an unknown one (for 'bedoelde je ...?')."""
    match = process.extractOne(header_key(header), list(_KEYS), scorer=fuzz.ratio, score_cutoff=70)
    return _KEYS[match[0]].name if match else None
