"""The evaluation engine against the shipped Uithoorn criteria: every criterion's pass and
fail path, and the outcome rules (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.admission.criteria import Criterion, active_criteria, criteria_of, load_criteria
from app.admission.engine import CHECKS, evaluate, months_before
from app.admission.schemas import CriterionStatus, Outcome, Report
from app.municipalities.models import Municipality
from app.organizations.models import Organization
from app.services.models import Service
from tests.admission.conftest import MakeOrg, MakeService

ATTESTED: dict[str, Any] = {
    "T5": {"attested": True, "link": "https://www.voorbeeld.nl/klachten"},
    "T6": {"attested": True, "link": "https://www.voorbeeld.nl/privacy"},
    "T7": {"attested": True, "link": None},
}
APPROVED: dict[str, Any] = {"T8": {"passed": True, "reason": "Geen reclame of werving."}}


def report_for(
    db: Session,
    org: Organization,
    services: Sequence[Service],
    *,
    attestations: Mapping[str, Any] | None = None,
    decisions: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> Report:
    version = active_criteria(db, org.municipality_id)
    return evaluate(
        db,
        org,
        services,
        version,
        attestations=ATTESTED if attestations is None else attestations,
        decisions=APPROVED if decisions is None else decisions,
        today=today,
    )


def status(report: Report, criterion: str) -> CriterionStatus:
    return report.result(criterion).status


# --- the whole picture ------------------------------------------------------------------------


def test_a_complete_application_is_admitted(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org()
    report = report_for(db, org, [make_service(org)])
    assert report.outcome is Outcome.toegelaten, report.model_dump()
    assert [r.id for r in report.results] == [f"T{i}" for i in range(1, 11)]
    assert status(report, "T7") is CriterionStatus.not_applicable  # "iedereen"
    passed = {r.id for r in report.results if r.status is CriterionStatus.passed}
    assert passed == {"T1", "T2", "T3", "T4", "T5", "T6", "T8", "T9", "T10"}
    assert all(r.next_step is None for r in report.results)
    assert report.criteria_version == 1
    assert report.municipality == "uithoorn"
    assert "voldoet" in report.summary


def test_without_the_editor_the_application_waits(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org()
    report = report_for(db, org, [make_service(org)], decisions={})
    assert report.outcome is Outcome.ingediend
    t8 = report.result("T8")
    assert t8.status is CriterionStatus.needs_review
    assert t8.next_step is not None
    assert "niets te doen" in t8.next_step
    assert [r.id for r in report.open_for_reviewer] == ["T8"]
    assert "redactie" in report.summary


# --- T1 werkgebied ----------------------------------------------------------------------------


def test_t1_passes_with_a_service_area_or_a_location_in_the_municipality(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org()
    by_area = make_service(org, area="municipality")
    by_location = make_service(org, area=None, location_city="De Kwakel")
    assert status(report_for(db, org, [by_area, by_location]), "T1") is CriterionStatus.passed


def test_t1_fails_outside_the_municipality_and_rejects(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(address={"address_1": "Stadsplein 1", "city": "Amstelveen"})
    service = make_service(org, area=None, location_city="Amstelveen")
    report = report_for(db, org, [service])
    t1 = report.result("T1")
    assert t1.status is CriterionStatus.failed
    assert t1.services == [service.slug]
    assert "niet in Uithoorn" in t1.finding
    assert t1.next_step is not None
    assert "Uithoorn" in t1.next_step
    assert report.outcome is Outcome.afgewezen


def test_t1_without_any_place_is_missing_so_the_provider_can_add_it(
    db: Session, make_org: MakeOrg, make_service: MakeService, uithoorn: Municipality
) -> None:
    org = make_org(located=False)
    service = make_service(org, area=None)
    report = report_for(db, org, [service])
    assert status(report, "T1") is CriterionStatus.missing
    assert report.outcome is Outcome.aanvullen  # missing is always fixable


def test_t1_a_region_goes_to_the_editor(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(address={"address_1": "Stadsplein 1", "city": "Amstelveen"})
    service = make_service(org, area=None, region="Amstelland")
    report = report_for(db, org, [service])
    assert status(report, "T1") is CriterionStatus.needs_review
    assert report.outcome is Outcome.ingediend


# --- T2 sociaal domein ------------------------------------------------------------------------


def test_t2_needs_a_theme(db: Session, make_org: MakeOrg, make_service: MakeService) -> None:
    org = make_org()
    ok, without = make_service(org), make_service(org, name="Zonder thema", themes=[])
    assert status(report_for(db, org, [ok]), "T2") is CriterionStatus.passed
    report = report_for(db, org, [ok, without])
    t2 = report.result("T2")
    assert t2.status is CriterionStatus.missing
    assert t2.services == [without.slug]
    assert "'Zonder thema'" in t2.finding
    assert report.outcome is Outcome.aanvullen
    assert report.result("T2").reviewer_confirms


def test_t2_fails_outside_the_configured_themes(
    db: Session, make_org: MakeOrg, make_service: MakeService, uithoorn: Municipality
) -> None:
    criteria = criteria_of(active_criteria(db, uithoorn.id))
    criteria[1].check.params["themes"] = ["geld-en-schulden"]
    load_criteria(session=db, municipality=uithoorn, criteria=criteria, source="test")
    org = make_org()
    report = report_for(db, org, [make_service(org)])
    assert status(report, "T2") is CriterionStatus.failed
    assert report.outcome is Outcome.afgewezen


# --- T3 bereikbaar ----------------------------------------------------------------------------


def test_t3_passes_with_one_valid_channel_and_an_address(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(email=None, website=None)
    service = make_service(org, phone="0297 513 111")
    assert status(report_for(db, org, [service]), "T3") is CriterionStatus.passed


def test_t3_without_any_channel_is_missing(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(email=None, website=None)
    report = report_for(db, org, [make_service(org)])
    t3 = report.result("T3")
    assert t3.status is CriterionStatus.missing
    assert "geen telefoonnummer, e-mailadres of website" in t3.finding
    assert report.outcome is Outcome.aanvullen


def test_t3_an_invalid_phone_number_fails(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(email=None, website=None)
    report = report_for(db, org, [make_service(org, phone="12")])
    t3 = report.result("T3")
    assert t3.status is CriterionStatus.failed
    assert any("'12'" in s for s in t3.suggestions)
    assert report.outcome is Outcome.aanvullen  # T3's on_fail


def test_t3_needs_an_address(db: Session, make_org: MakeOrg, make_service: MakeService) -> None:
    org = make_org(address={"city": "Uithoorn"})  # a place, no street
    t3 = report_for(db, org, [make_service(org)]).result("T3")
    assert t3.status is CriterionStatus.missing
    assert "adres" in t3.finding


# --- T4 herkenbaar ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "kvk", "agb", "expected"),
    [
        ("stichting", "12345678", None, CriterionStatus.passed),
        ("zorgaanbieder", "12345678", "01234567", CriterionStatus.passed),
        ("stichting", None, None, CriterionStatus.missing),
        ("stichting", "1234", None, CriterionStatus.failed),
        ("zorgaanbieder", "12345678", None, CriterionStatus.missing),  # AGB for zorgaanbieders
        ("zorgaanbieder", "12345678", "12AB", CriterionStatus.failed),
        ("vrijwilligersorganisatie", None, None, CriterionStatus.not_applicable),
    ],
)
def test_t4_registration(
    db: Session,
    make_org: MakeOrg,
    make_service: MakeService,
    kind: str,
    kvk: str | None,
    agb: str | None,
    expected: CriterionStatus,
) -> None:
    org = make_org(kind=kind, kvk=kvk, agb=agb)
    report = report_for(db, org, [make_service(org)])
    assert status(report, "T4") is expected, report.result("T4")
    if expected in (CriterionStatus.failed, CriterionStatus.missing):
        assert report.outcome is Outcome.aanvullen
        assert report.result("T4").next_step


# --- T5, T6, T7: attestations -----------------------------------------------------------------


def test_t5_t6_attestations_missing_then_given(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(kind="zorgaanbieder", agb="01234567")
    services = [make_service(org)]
    report = report_for(db, org, services, attestations={})
    assert status(report, "T5") is CriterionStatus.missing
    assert status(report, "T6") is CriterionStatus.missing
    assert report.outcome is Outcome.aanvullen
    assert {r.id for r in report.to_fix} == {"T5", "T6"}

    no_link = {"T5": {"attested": True}, "T6": {"attested": True, "link": "geen link"}}
    report = report_for(db, org, services, attestations=no_link)
    assert "link ontbreekt" in report.result("T5").finding
    assert "geen geldig webadres" in report.result("T6").finding
    assert report.outcome is Outcome.aanvullen

    report = report_for(db, org, services, attestations={"T5": {"attested": False}})
    assert "nog niet is" in report.result("T5").finding

    report = report_for(db, org, services)
    assert status(report, "T5") is CriterionStatus.passed
    assert status(report, "T6") is CriterionStatus.passed
    assert report.outcome is Outcome.toegelaten


def test_t5_t6_do_not_apply_to_a_vereniging(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(kind="vereniging")
    report = report_for(db, org, [make_service(org)], attestations={})
    assert status(report, "T5") is CriterionStatus.not_applicable
    assert status(report, "T6") is CriterionStatus.not_applicable
    assert report.outcome is Outcome.toegelaten


@pytest.mark.parametrize("group", ["kinderen", "ouderen", "mensen-met-dementie"])
def test_t7_vulnerable_groups_need_an_attestation(
    db: Session, make_org: MakeOrg, make_service: MakeService, group: str
) -> None:
    org = make_org(kind="vrijwilligersorganisatie", kvk=None)
    services = [make_service(org, target_groups=[group])]
    report = report_for(db, org, services, attestations={})
    t7 = report.result("T7")
    assert t7.status is CriterionStatus.missing
    assert t7.next_step is not None
    assert "VOG" in t7.next_step
    assert report.outcome is Outcome.aanvullen

    report = report_for(db, org, services, attestations={"T7": {"attested": True}})
    assert status(report, "T7") is CriterionStatus.passed
    assert report.outcome is Outcome.toegelaten


def test_t7_does_not_apply_to_other_groups(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(kind="vrijwilligersorganisatie", kvk=None)
    report = report_for(
        db, org, [make_service(org, target_groups=["mantelzorgers"])], attestations={}
    )
    assert status(report, "T7") is CriterionStatus.not_applicable
    assert report.outcome is Outcome.toegelaten


# --- T8 neutraal: the editor --------------------------------------------------------------------


def test_t8_needs_review_then_the_editor_decides(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org()
    services = [make_service(org)]
    assert status(report_for(db, org, services, decisions={}), "T8") is CriterionStatus.needs_review
    rejected = report_for(
        db, org, services, decisions={"T8": {"passed": False, "reason": "Werft leden."}}
    )
    assert status(rejected, "T8") is CriterionStatus.failed
    assert "Werft leden." in rejected.result("T8").finding
    assert rejected.outcome is Outcome.afgewezen
    assert "T8 neutraal" in rejected.summary


def test_the_editor_may_override_an_automatic_criterion(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(kind="zorgaanbieder")  # no AGB code: T4 missing
    services = [make_service(org)]
    decisions = {**APPROVED, "T4": {"passed": True, "reason": "SKJ-registratie gezien."}}
    report = report_for(db, org, services, decisions=decisions)
    assert status(report, "T4") is CriterionStatus.passed
    assert "SKJ" in report.result("T4").finding
    assert report.outcome is Outcome.toegelaten


# --- T9 begrijpelijk: tips only ---------------------------------------------------------------


def test_t9_gives_suggestions_and_never_blocks(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org()
    jargon = (
        "Na een indicatie via het sociaal domein bieden wij een maatwerkvoorziening gericht op "
        "participatie en zelfredzaamheid, waarbij de casemanager het hulpverleningstraject "
        "integraal coördineert met alle betrokken ketenpartners in de regio Amstelland."
    )
    service = make_service(org, description=jargon)
    report = report_for(db, org, [service])
    t9 = report.result("T9")
    assert t9.status is CriterionStatus.warning
    assert not t9.blocking
    assert t9.services == [service.slug]
    tips = "\n".join(t9.suggestions)
    assert "'toestemming' in plaats van 'indicatie'" in tips
    assert "'hulp die bij u past' in plaats van 'maatwerkvoorziening'" in tips
    assert "'meedoen' in plaats van 'participatie'" in tips
    assert "zinnen zijn gemiddeld" in tips
    assert report.outcome is Outcome.toegelaten  # a warning never blocks


def test_t9_passes_plain_language(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org()
    assert status(report_for(db, org, [make_service(org)]), "T9") is CriterionStatus.passed


def test_t9_warns_about_a_missing_description(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org()
    report = report_for(db, org, [make_service(org, description=None)])
    assert status(report, "T9") is CriterionStatus.warning
    assert report.outcome is Outcome.toegelaten


# --- T10 actueel ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assured", "expected"),
    [
        (timedelta(days=0), CriterionStatus.passed),
        (timedelta(days=300), CriterionStatus.passed),
        (timedelta(days=400), CriterionStatus.failed),
        (None, CriterionStatus.failed),
    ],
)
def test_t10_freshness(
    db: Session,
    make_org: MakeOrg,
    make_service: MakeService,
    assured: timedelta | None,
    expected: CriterionStatus,
) -> None:
    today = date(2026, 6, 15)
    org = make_org()
    service = make_service(org, assured_date=None if assured is None else today - assured)
    report = report_for(db, org, [service], today=today)
    t10 = report.result("T10")
    assert t10.status is expected
    if expected is CriterionStatus.failed:
        assert t10.next_step is not None
        assert t10.next_step.startswith("Bevestig dat de gegevens kloppen")
        assert report.outcome is Outcome.aanvullen
        assert ("nog nooit" if assured is None else "laatst bevestigd") in t10.finding


def test_months_before() -> None:
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 12) == date(2025, 1, 15)
    assert months_before(date(2024, 2, 29), 12) == date(2023, 2, 28)


# --- outcome rules ----------------------------------------------------------------------------


def test_rejection_wins_over_what_can_be_added(
    db: Session, make_org: MakeOrg, make_service: MakeService
) -> None:
    org = make_org(kvk="123", email=None, website=None, address={"city": "Amstelveen"})
    service = make_service(org, area=None, location_city="Amstelveen", assured_date=None)
    report = report_for(db, org, [service], attestations={})
    assert report.outcome is Outcome.afgewezen
    assert {r.id for r in report.to_fix} >= {"T1", "T3", "T4", "T5", "T6", "T10"}
    assert "T1 werkgebied" in report.summary


def test_an_organisation_without_services(db: Session, make_org: MakeOrg) -> None:
    report = report_for(db, make_org(), [])
    assert status(report, "T1") is CriterionStatus.passed  # its own address
    assert status(report, "T2") is CriterionStatus.missing
    assert report.outcome is Outcome.aanvullen


def test_a_new_criterion_is_evaluated_without_code_changes(
    db: Session, make_org: MakeOrg, make_service: MakeService, uithoorn: Municipality
) -> None:
    criteria = criteria_of(active_criteria(db, uithoorn.id))
    criteria.append(
        Criterion.model_validate(
            {
                "id": "T11",
                "slug": "huisregels",
                "name": "Huisregels",
                "text": "U heeft huisregels.",
                "applies_to": {"themes": ["eenzaamheid-en-ontmoeting"]},
                "check": {"type": "attestation"},
                "severity": "blocking",
                "on_fail": "aanvullen",
                "explanation": "Zo weet iedereen wat kan.",
                "next_step": "Bevestig dat u huisregels heeft.",
            }
        )
    )
    load_criteria(session=db, municipality=uithoorn, criteria=criteria, source="test")
    org = make_org()
    report = report_for(db, org, [make_service(org)])
    assert report.criteria_version == 2
    assert status(report, "T11") is CriterionStatus.missing
    assert report.outcome is Outcome.aanvullen


def test_criteria_of_another_municipality_are_refused(
    db: Session, make_org: MakeOrg, uithoorn: Municipality
) -> None:
    other = Municipality(code="GM0437", slug="ouder-amstel", name="Ouder-Amstel")
    db.add(other)
    db.flush()
    version = load_criteria(
        session=db,
        municipality=other,
        criteria=criteria_of(active_criteria(db, uithoorn.id)),
        source="test",
    ).version
    with pytest.raises(ValueError, match="andere gemeente"):
        evaluate(db, make_org(), [], version)


def test_the_registry_is_fixed() -> None:
    assert set(CHECKS) == {
        "werkgebied",
        "sociaal-domein",
        "bereikbaar",
        "registratie",
        "begrijpelijk",
        "actueel",
    }
    assert [name for name, spec in CHECKS.items() if spec.advisory] == ["begrijpelijk"]
