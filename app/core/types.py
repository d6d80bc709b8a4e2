"""Validated value types shared by the API schemas and the importers.

Validators raise ``PydanticCustomError`` with an ``nl_`` type so the error handler passes
their Dutch message through unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated

import phonenumbers
from phonenumbers import shortnumberinfo
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BeforeValidator,
    EmailStr,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 100
_SLUG_RE = re.compile(SLUG_PATTERN)
_POSTCODE_RE = re.compile(r"^\s*([1-9][0-9]{3})\s?([A-Za-z]{2})\s*$")
_FORBIDDEN_POSTCODE_LETTERS = {"SA", "SD", "SS"}
_PARTIAL_DATE_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")
# Short numbers in use that libphonenumber's metadata lacks: 113 (zelfmoordpreventie).
_EXTRA_SHORT_NUMBERS = frozenset({"113"})
# Gemeente numbers: 14 followed by the area code without its 0 (14 0297 -> "140297").
_GEMEENTE_NUMBER_RE = re.compile(r"^14\d{2,4}$")


def slugify(text: str, *, max_length: int = SLUG_MAX) -> str:
    """Lower-case ASCII words joined by dashes: "Financieel Café" -> "financieel-cafe"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-")


def _check_slug(value: str) -> str:
    if not _SLUG_RE.match(value) or len(value) > SLUG_MAX:
        raise PydanticCustomError(
            "nl_slug",
            "Gebruik alleen kleine letters, cijfers en streepjes (bijvoorbeeld 'financieel-cafe').",
        )
    return value


def normalize_phone(value: str) -> str:
    """A Dutch phone number in national notation ("0297 513 111"); short numbers as digits."""
    raw = value.strip()
    digits = re.sub(r"[\s\-().]", "", raw)
    if re.fullmatch(r"\d{3,6}", digits):
        if digits in _EXTRA_SHORT_NUMBERS or _GEMEENTE_NUMBER_RE.match(digits):
            return digits
        short = phonenumbers.PhoneNumber(country_code=31, national_number=int(digits))
        if shortnumberinfo.is_valid_short_number_for_region(short, "NL"):
            return digits
    try:
        parsed = phonenumbers.parse(raw, "NL")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise PydanticCustomError(
            "nl_phone",
            "Dit is geen geldig telefoonnummer. Gebruik bijvoorbeeld 0297 513 111 of +31 297 513 111.",
        )
    if parsed.country_code == 31:
        return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def normalize_postcode(value: str) -> str:
    match = _POSTCODE_RE.match(value)
    if not match or match.group(2).upper() in _FORBIDDEN_POSTCODE_LETTERS:
        raise PydanticCustomError(
            "nl_postcode",
            "Dit is geen geldige postcode. Gebruik vier cijfers en twee letters, zoals 1422 AB.",
        )
    return f"{match.group(1)} {match.group(2).upper()}"


def check_partial_date(value: str) -> str:
    """A source date with the precision it is known in: 2024, 2024-06 or 2024-06-01."""
    if not _PARTIAL_DATE_RE.match(value):
        raise PydanticCustomError(
            "nl_partial_date", "Gebruik een datum als JJJJ, JJJJ-MM of JJJJ-MM-DD."
        )
    if len(value) == 10:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("nl_partial_date", "Deze datum bestaat niet.") from None
    return value


def partial_date_floor(value: str) -> date:
    """The first day a partial date can mean: "2024-06" -> 2024-06-01."""
    parts = [int(p) for p in value.split("-")]
    return date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


def _check_language(value: str) -> str:
    if not _LANGUAGE_RE.match(value):
        raise PydanticCustomError(
            "nl_language", "Gebruik een taalcode volgens ISO 639, zoals 'nl' of 'en'."
        )
    return value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def _check_url(value: str) -> str:
    try:
        url = _HTTP_URL.validate_python(value)
    except ValidationError:
        raise PydanticCustomError(
            "nl_url", "Vul een geldig webadres in, bijvoorbeeld https://www.voorbeeld.nl."
        ) from None
    if not url.host or "." not in url.host.strip("."):
        raise PydanticCustomError("nl_url", "Het webadres mist een geldige domeinnaam.")
    return str(url)


Slug = Annotated[
    str, Field(max_length=SLUG_MAX, examples=["financieel-cafe"]), AfterValidator(_check_slug)
]
DutchPhone = Annotated[
    str, Field(max_length=40, examples=["0297 513 111"]), AfterValidator(normalize_phone)
]
Postcode = Annotated[
    str, Field(max_length=10, examples=["1422 AB"]), AfterValidator(normalize_postcode)
]
PartialDate = Annotated[
    str, Field(max_length=10, examples=["2024-06"]), AfterValidator(check_partial_date)
]
LanguageCode = Annotated[str, Field(max_length=3, examples=["nl"]), AfterValidator(_check_language)]
WebUrl = Annotated[
    str,
    Field(
        max_length=2000,
        examples=["https://www.uithoornvoorelkaar.nu"],
        json_schema_extra={"format": "uri"},
    ),
    AfterValidator(_check_url),
]
Email = Annotated[EmailStr, Field(max_length=254)]
Name = Annotated[str, BeforeValidator(_strip), StringConstraints(min_length=1, max_length=200)]
AddressLine = Annotated[str, BeforeValidator(_strip), StringConstraints(max_length=200)]
ShortText = Annotated[str, BeforeValidator(_strip), StringConstraints(max_length=500)]
LongText = Annotated[str, BeforeValidator(_strip), StringConstraints(max_length=5000)]
Age = Annotated[int, Field(ge=0, le=120)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
