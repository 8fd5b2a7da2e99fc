"""Repair tools and measuring / reference instruments (维修工具 / 计量器具): the registry, handing
them to engineers and back, calibrations, the calibration lock and the reminders before a
calibration falls due.

A failed calibration puts the instrument "at calibration" (InstrumentStatus.IN_CALIBRATION):
it is out of use until a passing calibration is recorded (after adjustment or repair), which
makes it available again. Retiring it for good is a separate, deliberate edit of its status,
so a failed verification never silently writes an instrument off.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import DomainError, InvalidTransitionError
from medservice.inventory.choices import CalibrationResult, InstrumentKind, InstrumentStatus
from medservice.inventory.models import Instrument, InstrumentCalibration, InstrumentCheckout
from medservice.inventory.services import Problems, require_permission

# Days before the calibration due date when the holder and the warehouse are reminded; 0 is
# the due date itself (the last day the calibration is valid).
CALIBRATION_REMINDER_DAYS = (30, 7, 0)

# Statuses a person may set by editing the instrument; "checked out" only comes from a
# check-out, so the holder and the checkout record always agree.
EDITABLE_STATUSES = frozenset(
    {InstrumentStatus.AVAILABLE, InstrumentStatus.IN_CALIBRATION, InstrumentStatus.RETIRED}
)


class CalibrationExpiredError(DomainError):
    """A measuring instrument is past its calibration, never calibrated, or failed its last
    calibration: no measurement may be recorded with it and it is not handed out."""

    code = "calibration_expired"
    status = 409


def _today(on: datetime.date | None) -> datetime.date:
    return on or timezone.localdate()


def latest_calibration(instrument: Instrument) -> InstrumentCalibration | None:
    """The most recent calibration by date (the one that decides whether it may be used)."""
    return instrument.calibrations.order_by("-calibrated_on", "-pk").first()


def calibration_refusal(instrument: Instrument, *, on: datetime.date | None = None) -> str:
    """Why measurements with this instrument are refused on `on`, or "" when they may be
    recorded. Only measuring instruments are locked; a plain tool never is."""
    if instrument.kind != InstrumentKind.MEASURING:
        return ""
    day = _today(on)
    if instrument.status == InstrumentStatus.RETIRED:
        return _("%(instrument)s is retired.") % {"instrument": instrument}
    latest = latest_calibration(instrument)
    if latest is None:
        return _("%(instrument)s has never been calibrated.") % {"instrument": instrument}
    if latest.result == CalibrationResult.FAILED:
        return _("%(instrument)s failed its last calibration on %(date)s.") % {
            "instrument": instrument,
            "date": latest.calibrated_on.isoformat(),
        }
    due = instrument.calibration_due_on
    if due is None or due < day:
        return _("The calibration of %(instrument)s expired on %(date)s.") % {
            "instrument": instrument,
            "date": due.isoformat() if due else "—",
        }
    return ""


def instrument_measurement_check(
    instrument: Instrument, *, on: datetime.date | None = None
) -> None:
    """Refuse a measurement taken with `instrument` when it is a measuring instrument past its
    calibration due date, never calibrated, or failed (work orders call this wherever a
    measured value is recorded). Raises CalibrationExpiredError; returns None when valid."""
    refusal = calibration_refusal(instrument, on=on)
    if refusal:
        raise CalibrationExpiredError(refusal)


# --- Registry ---------------------------------------------------------------------------------


def _instrument_problems(data: dict[str, Any], instance: Instrument | None) -> Problems:
    problems = Problems()
    status = data.get("status")
    if status is not None and instance is not None and status != instance.status:
        if instance.status == InstrumentStatus.CHECKED_OUT:
            problems.add("status", _("Check the instrument in before changing its status."))
        elif status not in EDITABLE_STATUSES:
            problems.add("status", _("An instrument is checked out by a check-out only."))
    elif status is not None and instance is None and status not in EDITABLE_STATUSES:
        problems.add("status", _("An instrument is checked out by a check-out only."))
    return problems


def instrument_create(
    *, actor: Any, model: type[Instrument] = Instrument, data: dict[str, Any]
) -> Instrument:
    """Add a tool or instrument to the registry."""
    from medservice.core.services import record_create

    require_permission(actor, "inventory.add_instrument")
    data = {key: value for key, value in data.items() if key != "version"}
    _instrument_problems(data, None).raise_if_any(_("The instrument was not saved."))
    return record_create(actor=actor, model=Instrument, data=data)


def instrument_update(
    *,
    actor: Any,
    instance: Instrument,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> Instrument:
    """Change a tool's or instrument's registry entry (retire it, or send it to calibration)."""
    from medservice.core.services import record_update

    require_permission(actor, "inventory.change_instrument")
    data = {key: value for key, value in data.items() if key != "version"}
    _instrument_problems(data, instance).raise_if_any(_("The instrument was not saved."))
    return record_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )


# --- Check-out and check-in -------------------------------------------------------------------


def instrument_check_out(
    *,
    actor: Any,
    instrument: Instrument,
    holder: Any,
    due_back_on: datetime.date | None = None,
) -> Instrument:
    """Hand the instrument to `holder`. Refused when it is retired, at calibration or already
    out, and for a measuring instrument on a calibration cycle whose calibration is not valid
    today (an engineer must not leave with an instrument that may not be used)."""
    require_permission(actor, "inventory.checkout_instrument",
                       _("You may not check tools and instruments out."))  # fmt: skip
    problems = Problems()
    if holder is None or not getattr(holder, "is_active", False):
        problems.add("holder", _("Choose an active user to hand it to."))
    today = timezone.localdate()
    if due_back_on is not None and due_back_on < today:
        problems.add("due_back_on", _("The return date cannot be in the past."))
    problems.raise_if_any(_("The instrument was not checked out."))
    with transaction.atomic():
        locked = Instrument.objects.select_for_update().get(pk=instrument.pk)
        if locked.status == InstrumentStatus.RETIRED:
            raise InvalidTransitionError(_("%(instrument)s is retired.") % {"instrument": locked})
        if locked.status == InstrumentStatus.IN_CALIBRATION:
            raise InvalidTransitionError(
                _("%(instrument)s is at calibration.") % {"instrument": locked}
            )
        if locked.status == InstrumentStatus.CHECKED_OUT:
            raise InvalidTransitionError(
                _("%(instrument)s is already checked out to %(holder)s.")
                % {"instrument": locked, "holder": locked.holder}
            )
        if locked.kind == InstrumentKind.MEASURING and locked.calibration_interval_days:
            instrument_measurement_check(locked, on=today)
        with audit_context(actor=actor, action="check-out"):
            InstrumentCheckout.objects.create(
                instrument=locked,
                holder=holder,
                checked_out_at=timezone.now(),
                due_back_on=due_back_on,
            )
            locked.status, locked.holder = InstrumentStatus.CHECKED_OUT, holder
            locked.save()
    return locked


def instrument_check_in(
    *, actor: Any, instrument: Instrument, condition_note: str = ""
) -> Instrument:
    """Take the instrument back from its holder, noting its condition."""
    require_permission(actor, "inventory.checkout_instrument",
                       _("You may not check tools and instruments in."))  # fmt: skip
    with transaction.atomic():
        locked = Instrument.objects.select_for_update().get(pk=instrument.pk)
        checkout = (
            InstrumentCheckout.objects.select_for_update()
            .filter(instrument=locked, checked_in_at__isnull=True)
            .first()
        )
        if locked.status != InstrumentStatus.CHECKED_OUT or checkout is None:
            raise InvalidTransitionError(
                _("%(instrument)s is not checked out.") % {"instrument": locked}
            )
        with audit_context(actor=actor, action="check-in"):
            checkout.checked_in_at = timezone.now()
            checkout.condition_note = (condition_note or "").strip()[:200]
            checkout.save()
            locked.status, locked.holder = InstrumentStatus.AVAILABLE, None
            locked.save()
    return locked


# --- Calibration ------------------------------------------------------------------------------


def instrument_calibration_record(
    *,
    actor: Any,
    instrument: Instrument,
    calibrated_on: datetime.date,
    valid_until: datetime.date,
    performed_by: str,
    certificate_number: str = "",
    result: str = CalibrationResult.PASSED,
    certificate: Any = None,
) -> InstrumentCalibration:
    """Record a calibration or verification with its certificate. A pass that is the latest
    calibration sets the next due date (valid until) and makes an instrument at calibration
    available again; a failure takes the instrument out of use (at calibration)."""
    require_permission(actor, "inventory.add_instrumentcalibration",
                       _("You may not record calibrations."))  # fmt: skip
    problems = Problems()
    performed_by = (performed_by or "").strip()
    if not performed_by:
        problems.add("performed_by", _("Name the laboratory or person who calibrated it."))
    if result not in CalibrationResult.values:
        problems.add("result", _("Choose passed or failed."))
    if calibrated_on is None:
        problems.add("calibrated_on", _("Give the date of the calibration."))
    elif calibrated_on > timezone.localdate():
        problems.add("calibrated_on", _("A calibration cannot be recorded before it is done."))
    if valid_until is None:
        problems.add("valid_until", _("Give the date until which the calibration is valid."))
    elif calibrated_on is not None and valid_until < calibrated_on:
        problems.add("valid_until", _("A calibration cannot expire before it was done."))
    problems.raise_if_any(_("The calibration was not recorded."))
    with transaction.atomic():
        locked = Instrument.objects.select_for_update().get(pk=instrument.pk)
        if locked.status == InstrumentStatus.RETIRED:
            raise InvalidTransitionError(_("%(instrument)s is retired.") % {"instrument": locked})
        if locked.status == InstrumentStatus.CHECKED_OUT:
            raise InvalidTransitionError(
                _("%(instrument)s is checked out to %(holder)s: check it in before recording "
                  "its calibration.") % {"instrument": locked, "holder": locked.holder}
            )  # fmt: skip
        previous = latest_calibration(locked)
        is_latest = previous is None or calibrated_on >= previous.calibrated_on
        with audit_context(actor=actor, action="calibrate"):
            calibration = InstrumentCalibration(
                instrument=locked,
                calibrated_on=calibrated_on,
                valid_until=valid_until,
                performed_by=performed_by,
                certificate_number=(certificate_number or "").strip(),
                result=result,
                recorded_by=actor,
            )
            if certificate:
                # issue 12 security: a certificate is checked like any evidence upload.
                from medservice.core.attachments import attachment_check

                attachment_check(certificate, field="certificate")
                calibration.certificate = certificate
            calibration.full_clean()
            calibration.save()
            if is_latest:
                if result == CalibrationResult.PASSED:
                    locked.calibration_due_on = valid_until
                    if locked.status == InstrumentStatus.IN_CALIBRATION:
                        locked.status = InstrumentStatus.AVAILABLE
                else:
                    locked.status = InstrumentStatus.IN_CALIBRATION
                locked.save()
    return calibration


# --- Reminders --------------------------------------------------------------------------------


def warehouse_keepers() -> list[Any]:
    """The warehouse keepers, who keep the instruments and send them to calibration."""
    from medservice.accounts.choices import Role
    from medservice.accounts.models import User

    return list(
        User.objects.filter(is_active=True, groups__name=str(Role.WAREHOUSE_KEEPER))
        .distinct()
        .order_by("pk")
    )


def _remind_once(instrument: Instrument, *, on: datetime.date, keepers: list[Any]) -> bool:
    """Send one reminder for the tightest threshold reached and not yet sent for this due
    date; thresholds passed in the meantime are marked as sent so they never follow. A
    renewed due date starts afresh. The unique warning row makes a second scheduler run (or
    two schedulers at once) send nothing."""
    from medservice.catalog.services import expiry_warn_once

    due_on = instrument.calibration_due_on
    recipients = list(keepers)
    holder = instrument.holder
    if (
        holder is not None
        and holder.is_active
        and all(person.pk != holder.pk for person in recipients)
    ):
        recipients.insert(0, holder)
    if not recipients:
        # Nobody to tell yet: keep the reminder due, so the first keeper still gets it.
        return False
    days_left = (due_on - on).days
    return expiry_warn_once(
        instrument,
        expires_on=due_on,
        on=on,
        recipients=recipients,
        template="instrument_calibration_due",
        context={
            "instrument": instrument,
            "due_on": due_on,
            "lapsed": days_left <= 0,
            "holder": instrument.holder,
        },
        link=reverse("inventory:instruments-detail", kwargs={"pk": instrument.pk}),
        thresholds=CALIBRATION_REMINDER_DAYS,
    )


def calibration_reminders_send(*, on: datetime.date | None = None) -> int:
    """Remind the holder and the warehouse keepers 30 and 7 days before an instrument's
    calibration falls due and on the due date, once per threshold and due date; returns how
    many instruments were reminded of. Idempotent: safe to run twice or on two machines."""
    from medservice.inventory.selectors import instruments_calibration_due

    day = _today(on)
    keepers = warehouse_keepers()
    reminded = 0
    instruments = instruments_calibration_due(
        within_days=max(CALIBRATION_REMINDER_DAYS), on=day
    ).select_related("holder")
    for instrument in instruments:
        reminded += _remind_once(instrument, on=day, keepers=keepers)
    return reminded
