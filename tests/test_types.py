from __future__ import annotations

import pytest
from pydantic_core import PydanticCustomError

from app.core.types import check_partial_date, normalize_phone, normalize_postcode, slugify


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0297-513111", "0297 513 111"),
        ("020-5127250", "020 512 7250"),
        ("+31 297 513 111", "0297 513 111"),
        ("0031297513111", "0297 513 111"),
        ("06-12345678", "06 12345678"),
        ("0800-2000", "0800 2000"),
        ("085-9022810", "085 902 2810"),
        ("112", "112"),
        ("113", "113"),
        ("14 0297", "140297"),
        ("+32 2 501 21 11", "+32 2 501 21 11"),
    ],
)
def test_phone_numbers_are_normalised(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "0297-51311", "abc", "", "+31", "06-1234"])
def test_invalid_phone_numbers(raw: str) -> None:
    with pytest.raises(PydanticCustomError, match="geen geldig telefoonnummer"):
        normalize_phone(raw)


@pytest.mark.parametrize(("raw", "expected"), [("1422AB", "1422 AB"), (" 1424 ab ", "1424 AB")])
def test_postcodes(raw: str, expected: str) -> None:
    assert normalize_postcode(raw) == expected


@pytest.mark.parametrize(
    "raw", ["1422", "0422 AB", "1422 SA", "1422 SD", "1422 SS", "14222 AB", "AB 1422"]
)
def test_invalid_postcodes(raw: str) -> None:
    with pytest.raises(PydanticCustomError):
        normalize_postcode(raw)


def test_slugify() -> None:
    assert slugify("Financieel Café") == "financieel-cafe"
    assert slugify("  Ouder-kind café — De Kwakel!  ") == "ouder-kind-cafe-de-kwakel"
    assert slugify("😀") == ""
    assert len(slugify("a" * 300)) == 100


@pytest.mark.parametrize("value", ["2024", "2024-06", "2024-06-30"])
def test_partial_dates(value: str) -> None:
    assert check_partial_date(value) == value


@pytest.mark.parametrize("value", ["24", "2024-13", "2024-02-30", "2024/06", "juni 2024"])
def test_invalid_partial_dates(value: str) -> None:
    with pytest.raises(PydanticCustomError):
        check_partial_date(value)


def test_a_bad_email_is_explained_in_dutch() -> None:
    from pydantic import TypeAdapter, ValidationError

    from app.core.errors import dutch_message
    from app.core.types import Email

    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Email).validate_python("geen-adres")
    assert dutch_message(dict(caught.value.errors()[0])).startswith(
        "Dit is geen geldig e-mailadres"
    )
