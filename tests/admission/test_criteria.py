"""Criteria as configuration: the shipped YAML, validation errors, versioning and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, select

from app.admission.criteria import (
    CriteriaError,
    Criterion,
    active_criteria,
    criteria_of,
    get_active,
    list_versions,
    load_criteria,
    parse_document,
    read_criteria_file,
    shipped_criteria_path,
)
from app.admission.models import CriteriaVersion
from app.admission.readability import analyse
from app.core.errors import NotFound, Unprocessable
from app.municipalities.models import Municipality
from app.municipalities.service import shipped_municipality_path

SHIPPED = shipped_criteria_path("uithoorn")


def shipped_raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    return raw


def errors_of(raw: dict[str, Any]) -> str:
    with pytest.raises(CriteriaError) as info:
        parse_document(raw, where="test.yaml")
    return str(info.value)


# --- the shipped file -----------------------------------------------------------------------------


def test_the_shipped_uithoorn_criteria() -> None:
    document = read_criteria_file(SHIPPED)
    assert document.municipality == "uithoorn"
    assert [(c.id, c.slug) for c in document.criteria] == [
        ("T1", "werkgebied"),
        ("T2", "sociaal-domein"),
        ("T3", "bereikbaar"),
        ("T4", "herkenbaar"),
        ("T5", "klachtenregeling"),
        ("T6", "privacy"),
        ("T7", "integriteit"),
        ("T8", "neutraal"),
        ("T9", "begrijpelijk"),
        ("T10", "actueel"),
    ]
    by_id = {c.id: c for c in document.criteria}
    assert by_id["T8"].check.type == "reviewer"
    assert by_id["T9"].severity == "warning"
    assert by_id["T5"].check.link_required
    assert by_id["T7"].applies_to is not None
    assert set(by_id["T7"].applies_to.target_groups) == {
        "kinderen",
        "jongeren",
        "ouderen",
        "mensen-met-dementie",
        "mensen-met-een-beperking",
    }


def test_the_criteria_texts_themselves_are_plain_language() -> None:
    for criterion in read_criteria_file(SHIPPED).criteria:
        for text in (criterion.text, criterion.explanation, criterion.next_step):
            result = analyse(text)
            assert result.ok, (criterion.id, text, result.suggestions)


# --- validation -----------------------------------------------------------------------------------


def test_an_unknown_key_is_an_error() -> None:
    raw = shipped_raw()
    raw["criteria"][0]["severiteit"] = "blocking"
    message = errors_of(raw)
    assert "test.yaml is geen geldig criteriabestand" in message
    assert "criteria.0.severiteit: Dit veld bestaat niet." in message


def test_an_unknown_check_is_an_error() -> None:
    raw = shipped_raw()
    raw["criteria"][2]["check"]["name"] = "bestaat-niet"
    message = errors_of(raw)
    assert "criteria.2.check: Onbekende check 'bestaat-niet'. Kies uit: werkgebied" in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"on_fail": None}, "geef bij severity 'blocking' ook on_fail"),
        ({"severity": "fatal"}, "criteria.0.severity: Kies een van deze waarden"),
        ({"on_fail": "weg"}, "criteria.0.on_fail: Kies een van deze waarden"),
        ({"id": "t1"}, "criteria.0.id"),
        ({"slug": "Werk Gebied"}, "criteria.0.slug: Gebruik alleen kleine letters"),
        ({"applies_to": {"kinds": ["kerk"]}}, "criteria.0.applies_to.kinds.0"),
        ({"applies_to": {"leeftijd": [65]}}, "criteria.0.applies_to.leeftijd: Dit veld bestaat"),
        ({"check": {"type": "automatic"}}, "Geef bij type 'automatic' de naam van de check"),
        ({"check": {"type": "reviewer", "name": "werkgebied"}}, "horen alleen bij type"),
        ({"check": {"type": "reviewer", "link_required": True}}, "'link_required' hoort alleen"),
        (
            {"check": {"type": "automatic", "name": "actueel", "params": {"maanden": 3}}},
            "Instellingen (params) van check 'actueel': maanden: Dit veld bestaat niet.",
        ),
        ({"text": ""}, "criteria.0.text: De tekst is te kort"),
        ({"next_step": None}, "criteria.0.next_step"),
    ],
)
def test_invalid_criteria_are_explained(change: dict[str, Any], expected: str) -> None:
    raw = shipped_raw()
    criterion = raw["criteria"][0]
    for key, value in change.items():
        if value is None:
            criterion.pop(key, None)
        else:
            criterion[key] = value
    assert expected in errors_of(raw)


def test_the_readability_check_can_never_block() -> None:
    raw = shipped_raw()
    t9 = raw["criteria"][8]
    t9["severity"], t9["on_fail"] = "blocking", "afgewezen"
    assert "geeft alleen tips en mag nooit blokkeren" in errors_of(raw)


def test_a_warning_has_no_on_fail() -> None:
    raw = shipped_raw()
    raw["criteria"][8]["on_fail"] = "aanvullen"
    assert "heeft geen on_fail" in errors_of(raw)


def test_ids_and_slugs_are_unique() -> None:
    raw = shipped_raw()
    raw["criteria"][1]["id"] = "T1"
    assert "Elke id mag maar één keer voorkomen: T1." in errors_of(raw)


def test_broken_yaml(tmp_path: Path) -> None:
    path = tmp_path / "kapot.yaml"
    path.write_text("criteria: [\n", encoding="utf-8")
    with pytest.raises(CriteriaError, match="Geen geldige YAML"):
        read_criteria_file(path)


def test_applies_to_without_conditions_means_everyone() -> None:
    raw = shipped_raw()["criteria"][0]
    raw["applies_to"] = {"kinds": []}
    assert Criterion.model_validate(raw).applies_to is None


# --- versioning -----------------------------------------------------------------------------------


def test_the_shipped_criteria_are_loaded_lazily(db: Session, uithoorn: Municipality) -> None:
    assert get_active(db, uithoorn.id) is None  # the test database has none of its own
    version = active_criteria(db, uithoorn.id)
    assert (version.version, version.is_active, version.source) == (1, True, "yaml:uithoorn.yaml")
    assert [c.id for c in criteria_of(version)][-1] == "T10"
    assert active_criteria(db, uithoorn.id).id == version.id  # no second load


def test_same_content_makes_no_new_version(db: Session, uithoorn: Municipality) -> None:
    first = active_criteria(db, uithoorn.id)
    again = load_criteria(
        session=db,
        municipality=uithoorn,
        criteria=read_criteria_file(SHIPPED).criteria,
        source="yaml:uithoorn.yaml",
    )
    assert not again.created
    assert again.version.id == first.id
    assert len(list_versions(db, uithoorn.id)) == 1


def test_changed_content_makes_a_new_active_version(db: Session, uithoorn: Municipality) -> None:
    first = active_criteria(db, uithoorn.id)
    criteria = criteria_of(first)
    criteria[2].text = "Inwoners kunnen u bellen of mailen."
    result = load_criteria(
        session=db, municipality=uithoorn, criteria=criteria, source="api", note="T3 korter"
    )
    assert result.created
    versions = list_versions(db, uithoorn.id)
    assert [(v.version, v.is_active) for v in versions] == [(2, True), (1, False)]
    assert active_criteria(db, uithoorn.id).id == result.version.id
    assert criteria_of(versions[0])[2].text == "Inwoners kunnen u bellen of mailen."
    assert criteria_of(versions[1])[2].text != criteria[2].text  # history is kept as it was
    assert versions[0].note == "T3 korter"

    back = load_criteria(
        session=db,
        municipality=uithoorn,
        criteria=read_criteria_file(SHIPPED).criteria,
        source="yaml:uithoorn.yaml",
    )
    assert back.created
    assert back.version.version == 3


def test_unknown_taxonomy_slugs_are_refused(db: Session, uithoorn: Municipality) -> None:
    criteria = read_criteria_file(SHIPPED).criteria
    assert criteria[6].applies_to is not None
    criteria[6].applies_to.target_groups.append("marsmannetjes")
    with pytest.raises(Unprocessable) as info:
        load_criteria(session=db, municipality=uithoorn, criteria=criteria, source="test")
    assert info.value.errors[0].field == "criteria.6.applies_to.target_groups"
    assert "'marsmannetjes' bestaat niet" in info.value.errors[0].message


def test_a_municipality_without_criteria_or_shipped_file(db: Session) -> None:
    other = Municipality(code="GM0437", slug="ouder-amstel", name="Ouder-Amstel")
    db.add(other)
    db.flush()
    with pytest.raises(NotFound, match="Ouder-Amstel"):
        active_criteria(db, other.id)
    assert (
        db.exec(select(CriteriaVersion).where(CriteriaVersion.municipality_id == other.id)).all()
        == []
    )


# --- the command line -----------------------------------------------------------------------------


def test_cli_load_criteria(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    assert run_cli("municipality", "load", shipped_municipality_path("uithoorn")).exit_code == 0

    first = run_cli("admission", "load-criteria")
    assert first.exit_code == 0, first.output
    assert "versie 1 (nieuw en actief), 10 criteria" in first.output

    again = run_cli("admission", "load-criteria", "--municipality", "uithoorn")
    assert again.exit_code == 0, again.output
    assert "versie 1 (ongewijzigd, al actief)" in again.output

    raw = shipped_raw()
    raw["criteria"] = raw["criteria"][:3]
    changed = tmp_path / "kort.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = run_cli("admission", "load-criteria", changed)
    assert result.exit_code == 0, result.output
    assert "versie 2 (nieuw en actief), 3 criteria" in result.output

    raw["criteria"][0]["check"]["name"] = "onbekend"
    broken = tmp_path / "fout.yaml"
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = run_cli("admission", "load-criteria", broken)
    assert result.exit_code == 1
    assert "Onbekende check 'onbekend'" in result.output

    missing = run_cli("admission", "load-criteria", "--municipality", "nergens")
    assert missing.exit_code == 1
    assert "geen meegeleverd criteriabestand" in missing.output
