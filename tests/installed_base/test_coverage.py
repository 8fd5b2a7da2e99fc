"""coverage(device, on, exclusion): per cost category, covered by the warranty, by a contract,
or charged at cost price (the procedures' 最低成本价) — and why."""

from __future__ import annotations

import datetime

import pytest

from medservice.installed_base.choices import ContractKind, CostCategory, Exclusion
from medservice.installed_base.services import CoverageAnswer, coverage
from tests.installed_base.factories import ContractFactory, DeviceFactory, DeviceModelFactory

D = datetime.date
PARTS, LABOUR, TRAVEL, PM = (
    CostCategory.PARTS,
    CostCategory.LABOUR,
    CostCategory.TRAVEL,
    CostCategory.PM,
)
ACCEPTED = D(2026, 3, 10)
FIRST_DAY, LAST_DAY, DAY_AFTER = ACCEPTED, D(2027, 3, 9), D(2027, 3, 10)


@pytest.fixture
def unit(db):
    """Accepted on 10 March 2026 with 12 months: covered 2026-03-10 to 2027-03-09."""
    return DeviceFactory(
        device_model=DeviceModelFactory(warranty_months=12),
        installed_on=D(2026, 3, 5),
        accepted_on=ACCEPTED,
        warranty_ends_on=LAST_DAY,
    )


def covered(answers: dict) -> set:
    return {category for category, answer in answers.items() if answer.covered}


@pytest.mark.parametrize("day", [FIRST_DAY, D(2026, 9, 1), LAST_DAY])
def test_parts_labour_and_travel_are_covered_by_the_warranty_from_the_first_to_the_last_day(
    unit, day
):
    answers = coverage(unit, on=day)
    for category in (PARTS, LABOUR, TRAVEL):
        assert answers[category] == CoverageAnswer(
            True, "warranty", "Covered by the warranty until 2027-03-09."
        )


@pytest.mark.parametrize("day", [FIRST_DAY, LAST_DAY])
def test_preventive_maintenance_is_not_a_warranty_service(unit, day):
    answer = coverage(unit, on=day)[PM]
    assert not answer.covered and answer.by is None
    assert answer.reason == (
        "Not covered: preventive maintenance is not part of the warranty and no contract "
        "in force includes it; charged at cost price."
    )


def test_nothing_is_covered_the_day_after_the_warranty_ends(unit):
    answers = coverage(unit, on=DAY_AFTER)
    assert covered(answers) == set()
    assert answers[PARTS].reason == (
        "Not covered: the warranty ended on 2027-03-09 and no contract in force includes it; "
        "charged at cost price."
    )


def test_nothing_is_covered_before_the_warranty_starts(unit):
    answers = coverage(unit, on=ACCEPTED - datetime.timedelta(days=1))
    assert covered(answers) == set()
    assert "the warranty starts on 2026-03-10" in answers[LABOUR].reason


def test_a_unit_without_a_warranty_on_record_is_charged(db):
    unit = DeviceFactory(installed_on=None, accepted_on=None, warranty_ends_on=None)
    answers = coverage(unit, on=D(2026, 5, 1))
    assert covered(answers) == set()
    assert "no warranty on record" in answers[PARTS].reason


@pytest.mark.parametrize("exclusion", list(Exclusion))
@pytest.mark.parametrize("day", [FIRST_DAY, LAST_DAY])
def test_an_exclusion_voids_the_warranty_and_names_itself(unit, exclusion, day):
    answers = coverage(unit, on=day, exclusion=exclusion)
    for category in (PARTS, LABOUR, TRAVEL):
        answer = answers[category]
        assert (answer.covered, answer.by) == (False, None)
        assert answer.reason == (
            f"Not covered ({exclusion.label}): excluded from the warranty and from every "
            "contract; charged at cost price."
        )


@pytest.mark.parametrize("exclusion", list(Exclusion))
def test_an_exclusion_voids_contracts_too_but_not_their_pm(unit, exclusion):
    contract = ContractFactory(
        kind=ContractKind.FULL_SERVICE,
        organization=unit.organization,
        starts_on=D(2027, 1, 1),
        ends_on=D(2027, 12, 31),
        devices=[unit],
    )
    answers = coverage(unit, on=D(2027, 6, 1), exclusion=exclusion.value)
    assert covered(answers) == {PM}
    assert answers[PM].by == contract.number
    assert str(exclusion.label) in answers[PARTS].reason


CONTRACT_COVERS = {
    ContractKind.FULL_SERVICE: {PARTS, LABOUR, TRAVEL, PM},
    ContractKind.WARRANTY_EXTENSION: {PARTS, LABOUR, TRAVEL},
    ContractKind.PARTS_ONLY: {PARTS},
    ContractKind.LABOUR_ONLY: {LABOUR, TRAVEL},
    ContractKind.PM_ONLY: {PM},
}


@pytest.mark.parametrize("kind", list(ContractKind))
def test_each_contract_kind_covers_its_categories_after_the_warranty(unit, kind):
    contract = ContractFactory(
        kind=kind,
        organization=unit.organization,
        starts_on=DAY_AFTER,
        ends_on=D(2028, 3, 9),
        devices=[unit],
    )
    answers = coverage(unit, on=DAY_AFTER)
    assert covered(answers) == CONTRACT_COVERS[kind]
    for category in CONTRACT_COVERS[kind]:
        assert answers[category].by == contract.number
        assert answers[category].reason.startswith(f"Covered by contract {contract.number} (")
        assert "until 2028-03-09" in answers[category].reason
    for category in set(CostCategory) - CONTRACT_COVERS[kind]:
        assert answers[category].by is None
        assert "charged at cost price" in answers[category].reason


@pytest.mark.parametrize("kind", list(ContractKind))
def test_the_warranty_answers_first_while_it_runs(unit, kind):
    ContractFactory(
        kind=kind,
        organization=unit.organization,
        starts_on=FIRST_DAY,
        ends_on=LAST_DAY,
        devices=[unit],
    )
    answers = coverage(unit, on=LAST_DAY)
    assert {answers[category].by for category in (PARTS, LABOUR, TRAVEL)} == {"warranty"}
    assert answers[PM].covered is (PM in CONTRACT_COVERS[kind])


def test_a_contract_covers_from_its_first_to_its_last_day_only(unit):
    ContractFactory(
        kind=ContractKind.PM_ONLY,
        organization=unit.organization,
        starts_on=D(2026, 6, 1),
        ends_on=D(2026, 11, 30),
        devices=[unit],
    )
    assert coverage(unit, on=D(2026, 5, 31))[PM].covered is False
    assert coverage(unit, on=D(2026, 6, 1))[PM].covered is True
    assert coverage(unit, on=D(2026, 11, 30))[PM].covered is True
    assert coverage(unit, on=D(2026, 12, 1))[PM].covered is False


def test_a_contract_over_other_units_does_not_cover_this_one(unit):
    other = DeviceFactory(organization=unit.organization)
    ContractFactory(kind=ContractKind.PM_ONLY, organization=unit.organization, devices=[other])
    assert coverage(unit, on=D(2026, 6, 1))[PM].covered is False


def test_coverage_reads_in_a_fixed_number_of_queries(unit, django_assert_num_queries):
    for number in range(3):
        ContractFactory(
            kind=ContractKind.PARTS_ONLY if number else ContractKind.PM_ONLY,
            organization=unit.organization,
            starts_on=D(2026 + number, 1, 1),
            ends_on=D(2026 + number, 12, 31),
            devices=[unit],
        )
    with django_assert_num_queries(1):
        coverage(unit, on=D(2026, 6, 1))


@pytest.mark.django_db
def test_coverage_through_the_api(api, agent, unit):
    ContractFactory(
        kind=ContractKind.PM_ONLY, organization=unit.organization, devices=[unit], number="SC-1"
    )
    response = api.as_user(agent).get(f"/api/v1/devices/{unit.pk}/coverage/", {"on": "2026-06-01"})
    assert response.status_code == 200
    body = response.json()
    assert (body["on"], body["warranty_starts_on"], body["warranty_ends_on"]) == (
        "2026-06-01",
        "2026-03-10",
        "2027-03-09",
    )
    assert body["coverage"]["parts"] == {
        "covered": True,
        "by": "warranty",
        "reason": "Covered by the warranty until 2027-03-09.",
    }
    assert body["coverage"]["pm"]["by"] == "SC-1"
    excluded = api.as_user(agent).get(
        f"/api/v1/devices/{unit.pk}/coverage/", {"on": "2026-06-01", "exclusion": "misuse"}
    )
    assert excluded.json()["coverage"]["labour"]["covered"] is False
    assert "Misuse or human damage" in excluded.json()["coverage"]["labour"]["reason"]


@pytest.mark.django_db
def test_a_bad_coverage_question_is_a_named_400(api, agent, unit):
    response = api.as_user(agent).get(
        f"/api/v1/devices/{unit.pk}/coverage/", {"on": "2026-02-30", "exclusion": "boredom"}
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"on", "exclusion"}


@pytest.mark.django_db
def test_the_device_page_shows_the_warranty_and_todays_coverage(client, agent, today):
    unit = DeviceFactory(
        accepted_on=today - datetime.timedelta(days=10),
        installed_on=today - datetime.timedelta(days=12),
        warranty_ends_on=today + datetime.timedelta(days=355),
    )
    client.force_login(agent)
    page = client.get(f"/installed-base/devices/{unit.pk}/").content.decode()
    assert f"Coverage on {today.isoformat()}" in page
    assert f"Covered by the warranty until {unit.warranty_ends_on.isoformat()}." in page
    assert "preventive maintenance is not part of the warranty" in page
