"""Tools and reference instruments (维修工具/计量器具): handed to engineers and back, calibrated on
a cycle, locked for measurements when the calibration is not valid, and reminded of before it
falls due."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from medservice.core.errors import InvalidInputError, InvalidTransitionError, PermissionDeniedError
from medservice.core.models import AuditEvent, Notification
from medservice.core.testing import grant_all_permissions
from medservice.inventory.choices import CalibrationResult, InstrumentKind, InstrumentStatus
from medservice.inventory.instruments import (
    CalibrationExpiredError,
    calibration_reminders_send,
    instrument_calibration_record,
    instrument_check_in,
    instrument_check_out,
    instrument_create,
    instrument_measurement_check,
    instrument_update,
)
from medservice.inventory.models import Instrument, InstrumentCheckout
from tests.inventory.factories import InstrumentFactory

# A day in the past (calibrations cannot be recorded ahead), the reminders' "today".
TODAY = datetime.date(2026, 6, 1)


def days(count: int) -> datetime.timedelta:
    return datetime.timedelta(days=count)


@pytest.fixture
def meter(db):
    """A safety analyser calibrated yearly; never calibrated yet."""
    return InstrumentFactory(
        number="M-001",
        name="电气安全分析仪",
        kind=InstrumentKind.MEASURING,
        calibration_interval_days=365,
    )


@pytest.fixture
def screwdriver(db):
    return InstrumentFactory(number="T-001", name="扭力螺丝刀", kind=InstrumentKind.TOOL)


def calibrate(actor, instrument, *, on=None, valid_days=365, result=CalibrationResult.PASSED):
    on = on or timezone.localdate()
    return instrument_calibration_record(
        actor=actor,
        instrument=instrument,
        calibrated_on=on,
        valid_until=on + days(valid_days),
        performed_by="省计量院",
        certificate_number="JL-2026-001",
        result=result,
    )


# --- Check-out and check-in -------------------------------------------------------------------


def test_a_tool_is_checked_out_to_an_engineer_and_back(keeper, engineer, screwdriver):
    due = timezone.localdate() + days(7)
    tool = instrument_check_out(
        actor=keeper, instrument=screwdriver, holder=engineer, due_back_on=due
    )
    assert tool.status == InstrumentStatus.CHECKED_OUT
    assert tool.holder == engineer
    checkout = InstrumentCheckout.objects.get(instrument=tool)
    assert checkout.due_back_on == due
    assert checkout.checked_in_at is None

    with pytest.raises(InvalidTransitionError):
        instrument_check_out(actor=keeper, instrument=tool, holder=keeper)

    tool = instrument_check_in(actor=keeper, instrument=tool, condition_note="刀头磨损")
    assert tool.status == InstrumentStatus.AVAILABLE
    assert tool.holder is None
    checkout.refresh_from_db()
    assert checkout.checked_in_at is not None
    assert checkout.condition_note == "刀头磨损"
    with pytest.raises(InvalidTransitionError):
        instrument_check_in(actor=keeper, instrument=tool)
    assert AuditEvent.objects.filter(
        object_type="inventory.instrument", object_id=str(tool.pk), detail="check-out"
    ).exists()


def test_an_engineer_may_not_hand_out_instruments(engineer, screwdriver):
    with pytest.raises(PermissionDeniedError):
        instrument_check_out(actor=engineer, instrument=screwdriver, holder=engineer)


def test_retired_or_at_calibration_instruments_are_not_handed_out(keeper, engineer, screwdriver):
    for status in (InstrumentStatus.RETIRED, InstrumentStatus.IN_CALIBRATION):
        Instrument.objects.filter(pk=screwdriver.pk).update(status=status)
        with pytest.raises(InvalidTransitionError):
            instrument_check_out(actor=keeper, instrument=screwdriver, holder=engineer)
    assert not InstrumentCheckout.objects.exists()


def test_a_measuring_instrument_out_of_calibration_is_not_handed_out(keeper, engineer, meter):
    with pytest.raises(CalibrationExpiredError):
        instrument_check_out(actor=keeper, instrument=meter, holder=engineer)

    calibrate(keeper, meter, on=timezone.localdate() - days(400))
    with pytest.raises(CalibrationExpiredError) as refused:
        instrument_check_out(actor=keeper, instrument=meter, holder=engineer)
    assert refused.value.code == "calibration_expired"
    assert refused.value.status == 409

    calibrate(keeper, meter)
    meter = instrument_check_out(actor=keeper, instrument=meter, holder=engineer)
    assert meter.status == InstrumentStatus.CHECKED_OUT


# --- Calibration and the measurement lock ----------------------------------------------------


def test_the_measurement_lock(keeper, meter, screwdriver):
    # Never calibrated.
    with pytest.raises(CalibrationExpiredError, match="never been calibrated"):
        instrument_measurement_check(meter)
    # A plain tool is never locked.
    assert instrument_measurement_check(screwdriver) is None

    calibration = calibrate(keeper, meter, on=TODAY - days(10), valid_days=365)
    meter.refresh_from_db()
    assert meter.calibration_due_on == calibration.valid_until == TODAY + days(355)
    assert instrument_measurement_check(meter, on=TODAY) is None
    # Valid on its last day, refused the day after.
    assert instrument_measurement_check(meter, on=meter.calibration_due_on) is None
    with pytest.raises(CalibrationExpiredError, match="expired"):
        instrument_measurement_check(meter, on=meter.calibration_due_on + days(1))


def test_a_failed_calibration_takes_the_instrument_out_of_use(keeper, engineer, meter):
    calibrate(keeper, meter, on=TODAY - days(30))
    meter.refresh_from_db()
    due = meter.calibration_due_on

    calibrate(keeper, meter, on=TODAY - days(1), result=CalibrationResult.FAILED)
    meter.refresh_from_db()
    assert meter.status == InstrumentStatus.IN_CALIBRATION
    assert meter.calibration_due_on == due  # a failure grants no validity
    with pytest.raises(CalibrationExpiredError, match="failed"):
        instrument_measurement_check(meter, on=TODAY)
    with pytest.raises(InvalidTransitionError):
        instrument_check_out(actor=keeper, instrument=meter, holder=engineer)

    # Adjusted and recalibrated: back in use with a new due date.
    calibrate(keeper, meter, on=timezone.localdate())
    meter.refresh_from_db()
    assert meter.status == InstrumentStatus.AVAILABLE
    assert meter.calibration_due_on == timezone.localdate() + days(365)
    assert instrument_measurement_check(meter) is None


def test_bad_calibrations_are_refused_with_the_fields_named(keeper, engineer, meter):
    with pytest.raises(InvalidInputError) as refused:
        instrument_calibration_record(
            actor=keeper,
            instrument=meter,
            calibrated_on=TODAY,
            valid_until=TODAY - days(1),
            performed_by="",
            result="maybe",
        )
    assert {"valid_until", "performed_by", "result"} <= set(refused.value.fields)
    calibrate(keeper, meter)
    instrument_check_out(actor=keeper, instrument=meter, holder=engineer)
    with pytest.raises(InvalidTransitionError):
        calibrate(keeper, meter)  # check it in first
    with pytest.raises(PermissionDeniedError):
        calibrate(engineer, meter)


def test_the_registry_keeps_checked_out_for_check_outs(keeper, engineer, screwdriver):
    created = instrument_create(
        actor=keeper,
        data={"number": "M-9", "name": "温度计", "kind": InstrumentKind.MEASURING},
    )
    assert created.status == InstrumentStatus.AVAILABLE
    with pytest.raises(InvalidInputError):
        instrument_update(
            actor=keeper, instance=created, data={"status": InstrumentStatus.CHECKED_OUT}
        )
    retired = instrument_update(
        actor=keeper, instance=created, data={"status": InstrumentStatus.RETIRED}
    )
    assert retired.status == InstrumentStatus.RETIRED
    with pytest.raises(PermissionDeniedError):
        instrument_create(actor=engineer, data={"number": "X", "name": "x"})


# --- Reminders ------------------------------------------------------------------------------


@pytest.fixture
def due_meter(keeper, engineer, meter):
    """Calibrated so that it falls due on TODAY + 30, and held by the engineer."""
    instrument_calibration_record(
        actor=keeper,
        instrument=meter,
        calibrated_on=TODAY - days(1),
        valid_until=TODAY + days(30),
        performed_by="省计量院",
        result=CalibrationResult.PASSED,
    )
    # Handed out back then (its calibration was valid on TODAY, which is in the past now).
    InstrumentCheckout.objects.create(
        instrument=meter, holder=engineer, checked_out_at=timezone.now()
    )
    Instrument.objects.filter(pk=meter.pk).update(
        status=InstrumentStatus.CHECKED_OUT, holder=engineer
    )
    meter.refresh_from_db()
    return meter


def _reminders(user):
    return list(
        Notification.objects.filter(recipient=user, link__contains="/instruments/").order_by("pk")
    )


def test_reminders_go_once_per_threshold(keeper, engineer, due_meter):
    assert calibration_reminders_send(on=TODAY - days(1)) == 0  # 31 days left: not yet

    assert calibration_reminders_send(on=TODAY) == 1  # 30 days left
    assert len(_reminders(engineer)) == 1
    assert len(_reminders(keeper)) == 1
    assert "M-001" in _reminders(keeper)[0].subject
    assert calibration_reminders_send(on=TODAY) == 0  # a second run sends nothing
    assert calibration_reminders_send(on=TODAY + days(10)) == 0

    assert calibration_reminders_send(on=TODAY + days(23)) == 1  # 7 days left
    assert calibration_reminders_send(on=TODAY + days(24)) == 0
    assert calibration_reminders_send(on=TODAY + days(30)) == 1  # the day it lapses
    assert calibration_reminders_send(on=TODAY + days(31)) == 0
    assert len(_reminders(engineer)) == 3
    assert len(_reminders(keeper)) == 3


def test_a_renewed_due_date_warns_again(keeper, engineer, due_meter):
    assert calibration_reminders_send(on=TODAY) == 1
    # Checked in, recalibrated: a new due date one year on.
    instrument_check_in(actor=keeper, instrument=due_meter)
    instrument_calibration_record(
        actor=keeper,
        instrument=due_meter,
        calibrated_on=TODAY,
        valid_until=TODAY + days(60),
        performed_by="省计量院",
        result=CalibrationResult.PASSED,
    )
    assert calibration_reminders_send(on=TODAY) == 0
    assert calibration_reminders_send(on=TODAY + days(30)) == 1
    # Only the keeper now: the instrument is back in the store.
    assert len(_reminders(keeper)) == 2
    assert len(_reminders(engineer)) == 1


def test_a_late_start_sends_one_reminder_not_all(keeper, due_meter):
    # The job did not run for weeks: one reminder, for the tightest threshold reached.
    assert calibration_reminders_send(on=TODAY + days(25)) == 1
    assert len(_reminders(keeper)) == 1
    assert calibration_reminders_send(on=TODAY + days(26)) == 0


def test_the_periodic_job_is_registered():
    from medservice.core.scheduler import JOBS

    assert "inventory.calibration-reminders" in JOBS


# --- Pages and API --------------------------------------------------------------------------


def test_the_instrument_page_checks_out_and_in(client, keeper, engineer, screwdriver):
    client.force_login(keeper)
    page = client.get(reverse("inventory:instruments-detail", args=[screwdriver.pk]))
    assert page.status_code == 200
    assert reverse("inventory:instrument-check-out", args=[screwdriver.pk]) in page.content.decode()

    answer = client.post(
        reverse("inventory:instrument-check-out", args=[screwdriver.pk]),
        {"holder": engineer.pk, "due_back_on": (timezone.localdate() + days(3)).isoformat()},
    )
    assert answer.status_code == 302
    screwdriver.refresh_from_db()
    assert screwdriver.holder == engineer

    again = client.post(
        reverse("inventory:instrument-check-out", args=[screwdriver.pk]), {"holder": engineer.pk}
    )
    assert again.status_code == 409

    answer = client.post(
        reverse("inventory:instrument-check-in", args=[screwdriver.pk]), {"condition_note": "好"}
    )
    assert answer.status_code == 302
    screwdriver.refresh_from_db()
    assert screwdriver.status == InstrumentStatus.AVAILABLE


def test_the_instrument_page_records_a_calibration(client, keeper, meter, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(keeper)
    page = client.get(reverse("inventory:instruments-detail", args=[meter.pk]))
    assert "never been calibrated" in page.content.decode()
    answer = client.post(
        reverse("inventory:instrument-calibrate", args=[meter.pk]),
        {
            "calibrated_on": timezone.localdate().isoformat(),
            "valid_until": (timezone.localdate() - days(1)).isoformat(),
            "performed_by": "省计量院",
            "result": "passed",
        },
    )
    assert answer.status_code == 400
    assert "cannot expire before" in answer.content.decode()
    answer = client.post(
        reverse("inventory:instrument-calibrate", args=[meter.pk]),
        {
            "calibrated_on": timezone.localdate().isoformat(),
            "valid_until": (timezone.localdate() + days(365)).isoformat(),
            "performed_by": "省计量院",
            "certificate_number": "JL-1",
            "result": "passed",
            "certificate": SimpleUploadedFile("cert.pdf", b"%PDF-1.4 test", "application/pdf"),
        },
    )
    assert answer.status_code == 302
    meter.refresh_from_db()
    assert meter.calibration_due_on == timezone.localdate() + days(365)
    page = client.get(reverse("inventory:instruments-detail", args=[meter.pk]))
    assert "JL-1" in page.content.decode()
    calibration = meter.calibrations.get()
    certificate = client.get(reverse("inventory:instrument-certificate", args=[calibration.pk]))
    assert certificate.status_code == 200
    assert b"".join(certificate.streaming_content) == b"%PDF-1.4 test"


def test_the_instrument_actions_through_the_api(api, keeper, engineer, meter):
    as_keeper = api.as_user(keeper)
    refused = as_keeper.post(
        f"/api/v1/instruments/{meter.pk}/check-out/", {"holder": engineer.pk}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "calibration_expired"

    bad = as_keeper.post(
        f"/api/v1/instruments/{meter.pk}/calibrate/",
        {"calibrated_on": "2026-01-01", "performed_by": "x", "result": "passed"},
        format="json",
    )
    assert bad.status_code == 400
    assert "valid_until" in bad.json()["error"]["fields"]

    today = timezone.localdate()
    calibrated = as_keeper.post(
        f"/api/v1/instruments/{meter.pk}/calibrate/",
        {
            "calibrated_on": today.isoformat(),
            "valid_until": (today + days(365)).isoformat(),
            "performed_by": "省计量院",
            "certificate_number": "JL-2",
            "result": "passed",
        },
        format="json",
    )
    assert calibrated.status_code == 201, calibrated.json()
    listed = as_keeper.get(f"/api/v1/instruments/{meter.pk}/calibrations/").json()
    assert [row["certificate_number"] for row in listed["results"]] == ["JL-2"]

    out = as_keeper.post(
        f"/api/v1/instruments/{meter.pk}/check-out/", {"holder": engineer.pk}, format="json"
    )
    assert out.status_code == 200, out.json()
    assert out.json()["status"] == "checked_out"
    assert out.json()["holder"] == engineer.pk
    twice = as_keeper.post(
        f"/api/v1/instruments/{meter.pk}/check-out/", {"holder": engineer.pk}, format="json"
    )
    assert twice.status_code == 409
    back = as_keeper.post(f"/api/v1/instruments/{meter.pk}/check-in/", {}, format="json")
    assert back.status_code == 200
    assert back.json()["status"] == "available"

    created = as_keeper.post(
        "/api/v1/instruments/",
        {
            "number": "T-900",
            "name": "压力表",
            "kind": "measuring",
            "calibration_interval_days": 180,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()


def test_instruments_are_out_of_scope_for_a_customer(api, client, keeper, customer_a, meter):
    from medservice.inventory.views_instruments import instruments

    grant_all_permissions(customer_a, instruments)
    as_customer = api.as_user(customer_a)
    assert as_customer.get(f"/api/v1/instruments/{meter.pk}/").status_code == 404
    assert as_customer.get(f"/api/v1/instruments/{meter.pk}/calibrations/").status_code == 404
    assert (
        as_customer.post(
            f"/api/v1/instruments/{meter.pk}/check-out/", {"holder": customer_a.pk}, format="json"
        ).status_code
        == 404
    )
    assert as_customer.get("/api/v1/instruments/").json()["count"] == 0
    client.force_login(customer_a)
    assert client.get(reverse("inventory:instruments-detail", args=[meter.pk])).status_code == 404
    assert (
        client.post(
            reverse("inventory:instrument-check-out", args=[meter.pk]), {"holder": customer_a.pk}
        ).status_code
        == 404
    )
    meter.refresh_from_db()
    assert meter.status == InstrumentStatus.AVAILABLE


def test_a_distributor_engineer_sees_only_what_they_hold(
    api, keeper, distributor_engineer, screwdriver, meter
):
    instrument_check_out(actor=keeper, instrument=screwdriver, holder=distributor_engineer)
    listed = api.as_user(distributor_engineer).get("/api/v1/instruments/").json()
    assert [row["number"] for row in listed["results"]] == ["T-001"]


def test_the_registry_pages_render(client, keeper, engineer, meter, screwdriver):
    client.force_login(keeper)
    listed = client.get(reverse("inventory:instruments-list"), {"kind": "measuring"})
    assert listed.status_code == 200
    assert "M-001" in listed.content.decode()
    assert client.get(reverse("inventory:instruments-create")).status_code == 200
    edit = client.get(reverse("inventory:instruments-edit", args=[meter.pk]))
    assert edit.status_code == 200
    answer = client.post(
        reverse("inventory:instruments-edit", args=[meter.pk]),
        {
            "number": "M-001",
            "name": "电气安全分析仪",
            "kind": "measuring",
            "status": "retired",
            "calibration_interval_days": 365,
            "version": meter.version,
        },
    )
    assert answer.status_code == 302
    meter.refresh_from_db()
    assert meter.status == InstrumentStatus.RETIRED
    client.force_login(engineer)
    assert client.get(reverse("inventory:instruments-list")).status_code == 200
    page = client.get(reverse("inventory:instruments-detail", args=[screwdriver.pk]))
    assert page.status_code == 200
    assert reverse("inventory:instrument-check-out", args=[screwdriver.pk]) not in (
        page.content.decode()
    )
