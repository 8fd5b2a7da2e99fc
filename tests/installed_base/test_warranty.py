"""Warranty: from acceptance (else installation, else delivery) for the model's months; the last
covered day is start + months - 1 day, with the end of a short month clamped."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medservice.core.errors import InvalidInputError
from medservice.core.models import AuditEvent
from medservice.installed_base.choices import DeviceStatus
from medservice.installed_base.models import Device
from medservice.installed_base.services import (
    add_months,
    delivery_create,
    device_accept,
    device_update,
    warranty_end,
)
from tests.installed_base.factories import DeviceFactory, DeviceModelFactory

D = datetime.date
days = st.dates(min_value=D(2000, 1, 1), max_value=D(2090, 12, 31))
months = st.integers(min_value=1, max_value=120)


def unit(start: D, months: int = 12, **dates: D | None) -> Device:
    """An unsaved unit accepted on `start` (or with the dates given) of a model with `months`."""
    model = DeviceModelFactory.build(warranty_months=months)
    model.pk = 1  # a unit needs its model; nothing here reads the database
    device = Device(device_model=model, accepted_on=start, **dates)
    device.device_model_id = 1
    return device


@pytest.mark.parametrize(
    ("start", "months", "last_day"),
    [
        (D(2026, 3, 10), 12, D(2027, 3, 9)),
        (D(2026, 1, 1), 1, D(2026, 1, 31)),
        (D(2026, 1, 31), 1, D(2026, 2, 27)),  # 31 Jan + 1 month = 28 Feb, minus one day
        (D(2028, 1, 31), 1, D(2028, 2, 28)),  # leap year: 29 Feb, minus one day
        (D(2024, 2, 29), 12, D(2025, 2, 27)),  # 29 Feb + 12 months = 28 Feb 2025
        (D(2026, 12, 15), 24, D(2028, 12, 14)),
        (D(2026, 3, 1), 18, D(2027, 8, 31)),
    ],
)
def test_the_last_warranty_day_is_start_plus_months_minus_one_day(start, months, last_day):
    assert warranty_end(unit(start, months)) == last_day


def test_month_arithmetic_clamps_to_the_end_of_a_shorter_month():
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2028, 1, 31), 1) == D(2028, 2, 29)
    assert add_months(D(2026, 3, 31), 1) == D(2026, 4, 30)
    assert add_months(D(2026, 11, 30), 3) == D(2027, 2, 28)
    assert add_months(D(2026, 12, 31), 0) == D(2026, 12, 31)


@given(start=days, months=months)
def test_warranty_end_properties(start, months):
    end = warranty_end(unit(start, months))
    # The day after the last day is exactly `months` calendar months after the start.
    assert end + datetime.timedelta(days=1) == add_months(start, months)
    assert start <= end
    # A month is 28 to 31 days long.
    assert 28 * months - 1 <= (end - start).days <= 31 * months - 1
    if start.day <= 28:
        # No clamping: the warranty ends the day before the same day of the month.
        assert (end + datetime.timedelta(days=1)).day == start.day


@given(first=days, second=days, months=months)
def test_a_later_start_never_ends_earlier(first, second, months):
    first, second = sorted((first, second))
    assert warranty_end(unit(first, months)) <= warranty_end(unit(second, months))


@given(start=days, shorter=months, longer=months)
def test_more_months_never_end_earlier(start, shorter, longer):
    shorter, longer = sorted((shorter, longer))
    assert warranty_end(unit(start, shorter)) <= warranty_end(unit(start, longer))


@given(start=days, months=st.integers(min_value=1, max_value=60))
def test_twelve_months_at_a_time_add_up(start, months):
    # Whole years never clamp except from 29 February.
    if (start.month, start.day) != (2, 29):
        assert add_months(start, 12 * months) == start.replace(year=start.year + months)


def test_the_warranty_starts_at_acceptance_else_installation_else_delivery(
    db, monitor, hospital_a, warehouse
):
    delivery = delivery_create(
        actor=warehouse,
        organization=hospital_a,
        delivered_on=D(2026, 1, 10),
        lines=[{"device_model": monitor, "batch_number": "2512", "serial_number": "KM8-1"}],
    )
    device = Device.objects.get(delivery_line__delivery=delivery)
    assert device.warranty_ends_on == D(2027, 1, 9)  # from the delivery date
    device = device_update(actor=warehouse, instance=device, data={"installed_on": D(2026, 1, 20)})
    assert device.warranty_ends_on == D(2027, 1, 19)  # from installation
    device = device_update(actor=warehouse, instance=device, data={"accepted_on": D(2026, 2, 3)})
    assert device.warranty_ends_on == D(2027, 2, 2)  # from acceptance


def test_a_model_without_warranty_months_has_no_warranty_end():
    assert warranty_end(unit(D(2026, 3, 1), 0)) is None
    assert warranty_end(unit(None, 12)) is None


@pytest.mark.django_db
def test_a_start_date_change_recomputes_the_warranty_in_the_same_audited_change(agent):
    device = DeviceFactory(
        device_model=DeviceModelFactory(warranty_months=12),
        installed_on=D(2026, 3, 5),
        accepted_on=D(2026, 3, 10),
        warranty_ends_on=D(2027, 3, 9),
    )
    device = device_update(
        actor=agent, instance=device, data={"accepted_on": D(2026, 4, 1)}, reason="验收单日期更正"
    )
    assert device.warranty_ends_on == D(2027, 3, 31)
    event = AuditEvent.objects.filter(object_id=str(device.pk), action="update").latest("id")
    assert event.changes["warranty_ends_on"] == ["2027-03-09", "2027-03-31"]
    assert event.changes["accepted_on"] == ["2026-03-10", "2026-04-01"]
    assert (event.actor_id, event.reason) == (agent.pk, "验收单日期更正")


@pytest.mark.django_db
def test_an_unrelated_edit_leaves_the_stored_warranty_alone(agent):
    # The catalogue's months may change later; a stored end moves only with its own inputs.
    device = DeviceFactory(accepted_on=D(2026, 3, 10), warranty_ends_on=D(2027, 3, 9))
    device.device_model.warranty_months = 36
    device.device_model.save()
    device = device_update(actor=agent, instance=device, data={"asset_number": "ZC-0001"})
    assert device.warranty_ends_on == D(2027, 3, 9)


@pytest.mark.django_db
def test_acceptance_restarts_the_warranty_and_puts_the_unit_in_service(engineer):
    device = DeviceFactory(
        device_model=DeviceModelFactory(warranty_months=24),
        installed_on=D(2026, 1, 5),
        accepted_on=None,
        warranty_ends_on=D(2028, 1, 4),
        status=DeviceStatus.INSTALLED,
    )
    device = device_accept(actor=engineer, device=device, accepted_on=D(2026, 2, 14))
    assert (device.accepted_on, device.warranty_ends_on) == (D(2026, 2, 14), D(2028, 2, 13))
    assert device.status == DeviceStatus.IN_SERVICE
    event = AuditEvent.objects.filter(object_id=str(device.pk)).latest("id")
    assert (event.action, event.detail) == ("transition", "accept")


@pytest.mark.django_db
def test_acceptance_before_installation_is_refused_by_name(engineer):
    device = DeviceFactory(installed_on=D(2026, 3, 5), accepted_on=None)
    with pytest.raises(InvalidInputError) as error:
        device_accept(actor=engineer, device=device, accepted_on=D(2026, 3, 1))
    assert "before the installation date 2026-03-05" in error.value.fields["accepted_on"][0]
    device.refresh_from_db()
    assert device.accepted_on is None


@pytest.mark.django_db
def test_acceptance_through_the_api(api, engineer):
    device = DeviceFactory(installed_on=D(2026, 3, 5), accepted_on=None, warranty_ends_on=None)
    response = api.as_user(engineer).post(
        f"/api/v1/devices/{device.pk}/accept/", {"accepted_on": "2026-03-31"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["accepted_on"], response.json()["warranty_ends_on"]) == (
        "2026-03-31",
        "2027-03-30",
    )


@pytest.mark.django_db
def test_acceptance_needs_the_change_permission(api, customer_a, hospital_a):
    device = DeviceFactory(organization=hospital_a, accepted_on=None)
    response = api.as_user(customer_a).post(
        f"/api/v1/devices/{device.pk}/accept/", {"accepted_on": "2026-03-31"}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_warranty_end_is_read_only_in_the_api(api, agent):
    device = DeviceFactory(accepted_on=D(2026, 3, 10), warranty_ends_on=D(2027, 3, 9))
    response = api.as_user(agent).patch(
        f"/api/v1/devices/{device.pk}/", {"warranty_ends_on": "2099-01-01"}, format="json"
    )
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.warranty_ends_on == D(2027, 3, 9)


def test_an_absurd_date_does_not_break_the_arithmetic():
    assert warranty_end(unit(D(9999, 6, 1), 12)) == D.max
