"""Service contracts: one customer's units, a period in order, and never two contracts of the
same kind over one unit at the same time."""

from __future__ import annotations

import datetime

import pytest

from medservice.core.errors import InvalidInputError
from medservice.installed_base.choices import ContractKind, SlaTier
from medservice.installed_base.models import ServiceContract
from medservice.installed_base.services import contract_create, contract_update
from tests.installed_base.factories import ContractFactory, DeviceFactory

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def units(hospital_a):
    return [DeviceFactory(organization=hospital_a) for _ in range(2)]


def create(actor, organization, devices, **data):
    return contract_create(
        actor=actor,
        data={
            "kind": ContractKind.FULL_SERVICE,
            "organization": organization,
            "devices": devices,
            "starts_on": D(2026, 1, 1),
            "ends_on": D(2026, 12, 31),
            **data,
        },
    )


def test_a_contract_is_numbered_and_covers_its_units(manager, hospital_a, units):
    contract = create(manager, hospital_a, units, sla_tier=SlaTier.PREMIUM, price=36000)
    assert contract.number == f"SC-{datetime.date.today().year}-000001"
    assert set(contract.devices.all()) == set(units)
    assert contract.retain_until == D(2028, 12, 31)  # R-ISO: the end + 2 years


def test_an_overlapping_contract_of_the_same_kind_is_refused_naming_the_other(
    manager, hospital_a, units
):
    first = create(manager, hospital_a, units[:1], number="SC-2026-KD01")
    with pytest.raises(InvalidInputError) as error:
        create(manager, hospital_a, units, starts_on=D(2026, 12, 31), ends_on=D(2027, 12, 30))
    (message,) = error.value.fields["devices"]
    assert message == (
        f"{units[0]} is already in contract SC-2026-KD01 of the same kind "
        "(2026-01-01 to 2026-12-31), which overlaps this period."
    )
    assert ServiceContract.objects.get() == first


def test_adjacent_periods_and_other_kinds_do_not_overlap(manager, hospital_a, units):
    create(manager, hospital_a, units)
    create(manager, hospital_a, units, starts_on=D(2027, 1, 1), ends_on=D(2027, 12, 31))
    create(manager, hospital_a, units, kind=ContractKind.PM_ONLY)
    assert ServiceContract.objects.count() == 3


def test_the_units_must_belong_to_the_contracts_customer(manager, hospital_a, hospital_b, units):
    stranger = DeviceFactory(organization=hospital_b)
    with pytest.raises(InvalidInputError) as error:
        create(manager, hospital_a, [*units, stranger])
    assert error.value.fields == {
        "devices": [f"{stranger} belongs to another organisation than the contract's customer."]
    }


def test_a_contract_cannot_end_before_it_starts(manager, hospital_a, units):
    with pytest.raises(InvalidInputError) as error:
        create(manager, hospital_a, units, starts_on=D(2026, 6, 1), ends_on=D(2026, 5, 31))
    assert error.value.fields == {
        "ends_on": ["The contract ends on 2026-05-31, before it starts on 2026-06-01."]
    }


def test_an_update_is_checked_again_but_not_against_itself(manager, hospital_a, units):
    contract = create(manager, hospital_a, units)
    other = ContractFactory(
        organization=hospital_a,
        kind=ContractKind.FULL_SERVICE,
        starts_on=D(2027, 1, 1),
        ends_on=D(2027, 12, 31),
        devices=[units[1]],
    )
    contract = contract_update(
        actor=manager, instance=contract, data={"ends_on": D(2026, 12, 31), "price": 1}
    )
    with pytest.raises(InvalidInputError) as error:
        contract_update(actor=manager, instance=contract, data={"ends_on": D(2027, 3, 31)})
    assert other.number in error.value.fields["devices"][0]


def test_the_api_creates_and_refuses_with_the_error_body(api, manager, hospital_a, units):
    client = api.as_user(manager)
    payload = {
        "kind": "pm_only",
        "organization": hospital_a.pk,
        "devices": [unit.pk for unit in units],
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "sla_tier": "priority",
    }
    created = client.post("/api/v1/contracts/", payload, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["number"].startswith("SC-")
    assert sorted(created.json()["devices"]) == sorted(unit.pk for unit in units)
    refused = client.post("/api/v1/contracts/", payload, format="json")
    assert refused.status_code == 400
    assert created.json()["number"] in refused.json()["error"]["fields"]["devices"][0]


def test_the_api_offers_only_units_the_user_may_see(
    api, distributor_engineer, hospital_b, hospital_a
):
    from medservice.core.registry import RESOURCES
    from medservice.core.testing import grant_all_permissions

    grant_all_permissions(distributor_engineer, RESOURCES["contracts"])
    hospital_a.served_by.add(distributor_engineer.organization)
    hidden = DeviceFactory(organization=hospital_b)
    response = api.as_user(distributor_engineer).post(
        "/api/v1/contracts/",
        {
            "kind": "pm_only",
            "organization": hospital_a.pk,
            "devices": [hidden.pk],
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "devices" in response.json()["error"]["fields"]


def test_the_contract_form_names_the_problem(client, manager, hospital_a, units):
    client.force_login(manager)
    response = client.post(
        "/installed-base/contracts/new/",
        {
            "kind": "full_service",
            "organization": hospital_a.pk,
            "devices": "\n".join(unit.serial_number for unit in units),
            "starts_on": "2026-06-01",
            "ends_on": "2026-05-31",
            "sla_tier": "standard",
            "price": "0",
            "renewal_reminder_days": "60",
        },
    )
    assert response.status_code == 400
    assert "The contract ends on 2026-05-31, before it starts on 2026-06-01." in (
        response.content.decode()
    )
    assert not ServiceContract.objects.exists()


def test_a_contract_nearing_its_end_is_reminded_once_per_end_date(manager, hospital_a, units):
    from medservice.core.models import Notification
    from medservice.installed_base.services import contract_renewal_reminders_send
    from tests.factories import UserFactory

    salesperson = UserFactory()
    hospital_a.salesperson = salesperson
    hospital_a.save()
    contract = create(manager, hospital_a, units, ends_on=D(2026, 12, 31))
    create(manager, hospital_a, units, kind=ContractKind.PM_ONLY, ends_on=D(2027, 6, 30))
    assert contract_renewal_reminders_send(on=D(2026, 10, 31)) == 0  # 61 days before: not yet
    assert contract_renewal_reminders_send(on=D(2026, 11, 1)) == 1  # 60 days before
    assert contract_renewal_reminders_send(on=D(2026, 11, 2)) == 0
    notes = Notification.objects.order_by("recipient_id")
    assert {note.recipient for note in notes} == {manager, salesperson}
    assert notes[0].subject == f"Contract {contract.number} of {hospital_a.name} ends in 60 days"
    assert notes[0].link == f"/installed-base/contracts/{contract.pk}/"
    # Extended to a new end: reminded again when that one nears.
    contract_update(actor=manager, instance=contract, data={"ends_on": D(2027, 3, 31)})
    assert contract_renewal_reminders_send(on=D(2026, 11, 3)) == 0
    assert contract_renewal_reminders_send(on=D(2027, 1, 29)) == 0
    assert contract_renewal_reminders_send(on=D(2027, 1, 30)) == 1


def test_a_unit_under_contract_does_not_change_hands(manager, hospital_a, hospital_b, units):
    from medservice.installed_base.services import device_update

    contract = create(manager, hospital_a, units, ends_on=D(2099, 12, 31))
    with pytest.raises(InvalidInputError) as error:
        device_update(actor=manager, instance=units[0], data={"organization": hospital_b})
    assert contract.number in error.value.fields["organization"][0]
    # Its other data still changes.
    assert (
        device_update(actor=manager, instance=units[0], data={"location": "ICU"}).location == "ICU"
    )


def test_the_contract_form_takes_serial_numbers_and_lists_no_other_units(
    client, manager, hospital_a, hospital_b, units
):
    from tests.installed_base.factories import DeviceFactory

    elsewhere = DeviceFactory(organization=hospital_b, serial_number="KM8-2603-99999")
    client.force_login(manager)
    page = client.get("/installed-base/contracts/new/").content.decode()
    assert all(unit.serial_number not in page for unit in [*units, elsewhere])
    form = {
        "kind": "full_service",
        "organization": hospital_a.pk,
        "starts_on": "2026-06-01",
        "ends_on": "2027-05-31",
        "sla_tier": "standard",
        "price": "0",
        "renewal_reminder_days": "60",
    }
    refused = client.post(
        "/installed-base/contracts/new/",
        {**form, "devices": f"{units[0].serial_number}, {elsewhere.serial_number}"},
    )
    assert refused.status_code == 400
    assert f"has no unit with the serial number {elsewhere.serial_number}." in (
        refused.content.decode()
    )
    assert not ServiceContract.objects.exists()
    saved = client.post(
        "/installed-base/contracts/new/",
        {**form, "devices": "\n".join(unit.serial_number for unit in units)},
    )
    assert saved.status_code == 302
    contract = ServiceContract.objects.get()
    assert set(contract.devices.all()) == set(units)
    edit = client.get(f"/installed-base/contracts/{contract.pk}/edit/").content.decode()
    assert all(unit.serial_number in edit for unit in units)
