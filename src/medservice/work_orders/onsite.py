"""The work itself, on site, in the workshop or at the supplier: diagnosis, parts fitted and
removed, labour and travel time, the acceptance test with reference instruments (and the
service manager's override of a failed item), the complaint screening, remote-support sessions,
the workshop receipt and return shipment, the loan unit, and repairs sent to the supplier.

Every write is atomic, goes through the workflow table (services.work_order_transition) and is
audited; refusals name the fields they are about (`results.2.instrument`, counted from 1)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import DomainError, InvalidInputError, InvalidTransitionError, Problems
from medservice.work_orders.choices import RemoteOutcome, TimeKind
from medservice.work_orders.models import (
    FileKind,
    PartUsage,
    RemoteSession,
    TestResult,
    TimeEntry,
    WorkOrder,
)
from medservice.work_orders.services import (
    customer_inform,
    file_attach,
    refuse_under_evidence_hold,
    require_text,
    staff_notify,
    submission_once,
    ticket_note,
    work_order_transition,
)

HOURS_IN_A_DAY = Decimal(24)


@dataclass
class TestState:
    """Where the model's acceptance test stands on a work order."""

    results: list[TestResult] = field(default_factory=list)
    missing: list[Any] = field(default_factory=list)  # AcceptanceTestItem without a result
    failed: list[TestResult] = field(default_factory=list)

    __test__ = False

    @property
    def passed(self) -> bool:
        return not self.missing and not self.failed


def acceptance_test_state(work_order: WorkOrder) -> TestState:
    """Each item of the device model's checklist, its latest result, what is missing and what
    failed (two queries)."""
    items = list(work_order.device.device_model.acceptance_items.order_by("position", "pk"))
    results = {
        result.item_id: result
        for result in TestResult.objects.filter(work_order=work_order).select_related(
            "item", "instrument"
        )
    }
    state = TestState()
    for item in items:
        result = results.get(item.pk)
        if result is None:
            state.missing.append(item)
            continue
        state.results.append(result)
        if not result.passed:
            state.failed.append(result)
    return state


class ReferenceInstrumentError(DomainError):
    """A measured value was taken with an instrument whose calibration is not valid on the
    day (expired, failed, never calibrated, retired): nothing was recorded."""

    code = "calibration_expired"
    status = 409


class LoanUnitError(InvalidInputError):
    """The unit offered on loan is not the company's, or is already out on loan."""

    code = "loan_unit_unavailable"


def _fresh(work_order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.select_related("device__device_model").get(pk=work_order.pk)


# --- Diagnosis ----------------------------------------------------------------------------------


def diagnosis_record(
    *,
    actor: Any,
    work_order: WorkOrder,
    symptom: str,
    fault_code: Any = None,
    root_cause: str = "",
    actions_taken: str = "",
    guidance: str = "",
    document_version: Any = None,
    submission_key: str = "",
) -> WorkOrder:
    """Record (or correct) the diagnosis: symptom, a fault code from the model's product-line
    tree, root cause, actions taken, guidance given to the user (for use errors) and the
    version of the service procedure followed, which must be the one in force today."""
    from medservice.training.documents import document_version_current

    problems = Problems()
    if not (symptom or "").strip():
        problems.add("symptom", _("Describe the symptom."))
    device_model = work_order.device.device_model
    if fault_code is not None and (
        device_model.product_line_id is None
        or fault_code.product_line_id != device_model.product_line_id
    ):
        problems.add(
            "fault_code",
            _("%(code)s is not in the fault-code tree of %(model)s.")
            % {"code": fault_code, "model": device_model},
        )
    if document_version is not None:
        current = document_version_current(document_version.document)
        if current is None or current.pk != document_version.pk:
            message = (
                _("%(version)s is not in force today: follow %(current)s.")
                % {"version": document_version, "current": current}
                if current is not None
                else _("%(version)s is not in force today.") % {"version": document_version}
            )
            problems.add("document_version", message)
    problems.raise_if_any(_("The diagnosis was not recorded."))
    with transaction.atomic():
        if not submission_once(
            user=actor, key=submission_key, action="record-diagnosis", work_order=work_order
        ):
            return _fresh(work_order)
        work_order = work_order_transition(
            work_order, "record-diagnosis", actor=actor,
            changes={
                "symptom": symptom.strip(),
                "fault_code": fault_code,
                "root_cause": (root_cause or "").strip(),
                "actions_taken": (actions_taken or "").strip(),
                "guidance": (guidance or "").strip(),
                "document_version": document_version,
            },
        )  # fmt: skip
        ticket_note(
            work_order,
            _("Diagnosis: %(symptom)s%(code)s")
            % {
                "symptom": work_order.symptom,
                "code": f" ({fault_code})" if fault_code is not None else "",
            },
            actor=actor,
        )
    return work_order


# --- Parts --------------------------------------------------------------------------------------


def _tracking_text(part: Any, text: str) -> tuple[str, str]:
    """A removed part's lot or serial as typed, as (lot number, serial number)."""
    from medservice.inventory.choices import PartTracking

    text = (text or "").strip()
    if part.tracking == PartTracking.SERIAL:
        return "", text
    if part.tracking == PartTracking.LOT:
        return text, ""
    return "", ""


def parts_record(
    *,
    actor: Any,
    work_order: WorkOrder,
    fitted: Sequence[tuple[Any, Decimal, Any]] = (),
    removed: Sequence[tuple[Any, Decimal, str]] = (),
    location: Any = None,
    submission_key: str = "",
) -> list[PartUsage]:
    """Record the parts fitted into the device (taken from the engineer's own stock unless a
    location is given) and the parts taken out (booked into the same stock as defective, for
    the return to quarantine), through the inventory ledger with the work order's number as
    the reference. Shortfalls and held or expired lots are refused by the inventory service;
    nothing is recorded then. A resubmitted phone form records nothing twice."""
    from medservice.inventory.choices import LocationKind, MovementKind
    from medservice.inventory.services import (
        Fitted,
        Removed,
        engineer_location_for,
        parts_consume,
    )

    problems = Problems()
    if not fitted and not removed:
        problems.add("fitted", _("Name at least one part fitted or removed."))
    for side, lines in (("fitted", fitted), ("removed", removed)):
        for position, (part, quantity, _lot) in enumerate(lines, start=1):
            if part is None:
                problems.add(f"{side}.{position}.part", _("Choose the part."))
            try:
                positive = quantity is not None and Decimal(quantity) > 0
            except (InvalidOperation, TypeError, ValueError):
                positive = False
            if not positive:
                problems.add(
                    f"{side}.{position}.quantity", _("The quantity must be more than zero.")
                )
    if (
        location is not None
        and location.kind == LocationKind.ENGINEER
        and location.engineer_id != getattr(actor, "pk", None)
    ):
        problems.add(
            "location",
            _("Parts are fitted from your own stock or a warehouse, not from %(location)s.")
            % {"location": location},
        )
    problems.raise_if_any(_("The parts were not recorded."))
    refuse_under_evidence_hold(work_order.device)
    with transaction.atomic():
        if not submission_once(
            user=actor, key=submission_key, action="record-parts", work_order=work_order
        ):
            return []
        work_order = work_order_transition(work_order, "record-parts", actor=actor)
        source = location or engineer_location_for(actor)
        removed_texts = [(part, (text or "").strip()) for part, _quantity, text in removed]
        movements = parts_consume(
            actor=actor,
            device=work_order.device,
            location=source,
            fitted=[
                Fitted(part=part, quantity=Decimal(quantity), lot=lot)
                for part, quantity, lot in fitted
            ],
            removed=[
                Removed(part, Decimal(quantity), *_tracking_text(part, text))
                for part, quantity, text in removed
            ],
            reference=work_order.number,
        )
        usages = []
        removed_index = 0
        for movement in movements:
            is_fitted = movement.kind == MovementKind.CONSUMPTION
            if is_fitted:
                lot_text = (
                    (movement.lot.serial_number or movement.lot.lot_number) if movement.lot else ""
                )
            else:
                # Removal movements come back in the order the removed lines were given.
                lot_text = removed_texts[min(removed_index, len(removed_texts) - 1)][1]
                removed_index += 1
            usages.append(
                PartUsage(
                    work_order=work_order,
                    part=movement.part,
                    fitted=is_fitted,
                    quantity=movement.quantity,
                    lot=movement.lot,
                    lot_text=lot_text[:100],
                    unit_cost=movement.unit_cost or 0,
                    movement=movement,
                    recorded_by=actor,
                )
            )
        PartUsage.objects.bulk_create(usages)
    return usages


# --- Time ---------------------------------------------------------------------------------------


def time_record(
    *,
    actor: Any,
    work_order: WorkOrder,
    kind: str,
    day: datetime.date,
    hours: Decimal,
    note: str = "",
    engineer: Any = None,
    submission_key: str = "",
) -> TimeEntry | None:
    """Record labour or travel time: more than 0 and at most 24 hours, on a day that is not in
    the future, and never more than 24 hours for one person on one day. Returns None when the
    phone sent the same form again."""
    from medservice.inventory.services import quantity_text

    engineer = engineer or actor
    problems = Problems()
    if kind not in TimeKind.values:
        problems.add("kind", _("Choose labour or travel."))
    if day is None:
        problems.add("day", _("Give the day."))
    elif day > timezone.localdate():
        problems.add("day", _("The day is in the future."))
    try:
        amount = Decimal(hours) if hours is not None else None
    except (InvalidOperation, TypeError, ValueError):
        amount = None
    if amount is None or amount <= 0 or amount > HOURS_IN_A_DAY:
        problems.add("hours", _("Give the hours: more than 0, at most 24."))
    if engineer is not None and not engineer.has_perm("work_orders.work_workorder"):
        problems.add(
            "engineer",
            _("%(name)s does not do service work.")
            % {"name": engineer.get_full_name() or engineer.get_username()},
        )
    problems.raise_if_any(_("The time was not recorded."))
    with transaction.atomic():
        if not submission_once(
            user=actor, key=submission_key, action="record-time", work_order=work_order
        ):
            return None
        work_order = work_order_transition(work_order, "record-time", actor=actor)
        booked = sum(
            TimeEntry.objects.select_for_update()
            .filter(engineer=engineer, day=day)
            .values_list("hours", flat=True),
            Decimal(0),
        )
        if booked + amount > HOURS_IN_A_DAY:
            message = _(
                "%(hours)s hours are already recorded for this person on %(day)s: a day has 24."
            ) % {"hours": quantity_text(booked), "day": day.isoformat()}
            raise InvalidInputError(message, fields={"hours": [message]})
        with audit_context(actor=actor, action="record-time"):
            entry = TimeEntry.objects.create(
                work_order=work_order,
                engineer=engineer,
                kind=kind,
                day=day,
                hours=amount,
                note=(note or "").strip()[:200],
            )
    return entry


# --- Acceptance test ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TestInput:
    """One checked item as typed: the measured value for a numeric check (pass or fail is
    computed from the tolerance), pass or fail for a visual or functional one."""

    item: Any
    measured_value: Decimal | None = None
    passed: bool | None = None
    instrument: Any = None
    note: str = ""

    __test__ = False


def is_numeric(item: Any) -> bool:
    return not item.pass_fail_only and item.expected_value is not None


def within_tolerance(item: Any, measured: Decimal) -> bool:
    return abs(Decimal(measured) - item.expected_value) <= (item.tolerance or Decimal(0))


def reference_instrument_refusal(instrument: Any, *, on: datetime.date) -> str:
    """Why a value measured with `instrument` on `on` may not be recorded, or "". A measuring
    instrument follows the inventory's calibration lock; anything else used as a reference
    must at least carry a passing calibration valid on the day."""
    from medservice.inventory.choices import CalibrationResult, InstrumentKind
    from medservice.inventory.instruments import calibration_refusal, latest_calibration

    if instrument.kind == InstrumentKind.MEASURING:
        return calibration_refusal(instrument, on=on)
    latest = latest_calibration(instrument)
    if latest is None or latest.result == CalibrationResult.FAILED or latest.valid_until < on:
        return _("%(instrument)s has no calibration valid on %(date)s.") % {
            "instrument": instrument,
            "date": on.isoformat(),
        }
    return ""


def _calibration_snapshot(instrument: Any) -> tuple[datetime.date | None, datetime.date | None]:
    from medservice.inventory.instruments import latest_calibration

    latest = latest_calibration(instrument)
    if latest is None:
        return None, instrument.calibration_due_on
    return latest.calibrated_on, instrument.calibration_due_on or latest.valid_until


def test_record(
    *,
    actor: Any,
    work_order: WorkOrder,
    results: Sequence[TestInput],
    submission_key: str = "",
) -> list[TestResult]:
    """Record acceptance-test results against the device model's checklist: one result per
    item (a re-test replaces the earlier one, audited). A numeric check needs the measured
    value and the reference instrument, whose calibration must be valid today; pass or fail is
    computed from the tolerance. A new failure undoes an earlier override."""
    device_model_id = work_order.device.device_model_id
    problems = Problems()
    if not results:
        problems.add("results", _("Record at least one check."))
    seen: set[int] = set()
    for position, entry in enumerate(results, start=1):
        prefix = f"results.{position}."
        item = entry.item
        if item is None or item.device_model_id != device_model_id:
            problems.add(f"{prefix}item", _("This check is not in the model's acceptance test."))
            continue
        if item.pk in seen:
            problems.add(f"{prefix}item", _("This check is given twice."))
        seen.add(item.pk)
        if is_numeric(item):
            if entry.measured_value is None:
                problems.add(f"{prefix}measured_value", _("Give the measured value."))
            if entry.instrument is None:
                problems.add(
                    f"{prefix}instrument", _("Name the reference instrument used to measure.")
                )
        elif entry.passed is None:
            problems.add(f"{prefix}passed", _("Say whether the check passed."))
    problems.raise_if_any(_("The test results were not recorded."))
    refuse_under_evidence_hold(work_order.device)
    day = timezone.localdate()
    refusals = Problems()
    for position, entry in enumerate(results, start=1):
        if entry.instrument is not None:
            refusal = reference_instrument_refusal(entry.instrument, on=day)
            if refusal:
                refusals.add(f"results.{position}.instrument", refusal)
    if refusals:
        first = next(iter(refusals.fields.values()))[0]
        raise ReferenceInstrumentError(
            _("Measurements need a calibrated reference instrument: %(refusal)s")
            % {"refusal": first},
            fields=refusals.fields,
        )
    now = timezone.now()
    with transaction.atomic():
        if not submission_once(
            user=actor, key=submission_key, action="record-test", work_order=work_order
        ):
            return []
        work_order = work_order_transition(work_order, "record-test", actor=actor)
        existing = {
            result.item_id: result
            for result in TestResult.objects.select_for_update().filter(
                work_order=work_order, item__in=[entry.item for entry in results]
            )
        }
        recorded = []
        with audit_context(actor=actor, action="record-test"):
            for entry in results:
                item = entry.item
                measured = (
                    Decimal(entry.measured_value) if entry.measured_value is not None else None
                )
                passed = within_tolerance(item, measured) if is_numeric(item) else entry.passed
                calibrated_on, due = (
                    _calibration_snapshot(entry.instrument)
                    if entry.instrument is not None
                    else (None, None)
                )
                result = existing.get(item.pk) or TestResult(work_order=work_order, item=item)
                result.measured_value = measured
                result.passed = bool(passed)
                result.instrument = entry.instrument
                result.instrument_calibrated_on = calibrated_on
                result.instrument_calibration_due = due
                result.note = (entry.note or "").strip()[:300]
                result.recorded_by = actor
                result.recorded_at = now
                result.save()
                recorded.append(result)
        if work_order.test_override_by_id is not None and any(
            not result.passed for result in recorded
        ):
            work_order = work_order_transition(
                work_order, "record-test", actor=actor,
                reason=_("A new failure undoes the earlier override."),
                changes={"test_override_by": None, "test_override_reason": ""},
            )  # fmt: skip
    return recorded


# Named as the domain names them; pytest must not collect them where tests import them.
test_record.__test__ = False  # type: ignore[attr-defined]


def test_override(*, actor: Any, work_order: WorkOrder, reason: str) -> WorkOrder:
    """The service manager lets the work complete although an acceptance-test item failed,
    with the reason (kept on the record and the service report); the owner and the engineer
    are told."""
    require_text(reason, "reason", _("Say why the failed test may be overridden."))
    with transaction.atomic():
        work_order = work_order_transition(
            work_order, "override-test", actor=actor, reason=reason,
            changes={"test_override_by": actor, "test_override_reason": reason.strip()},
        )  # fmt: skip
        state = acceptance_test_state(work_order)
        if not state.failed:
            raise InvalidTransitionError(_("No acceptance-test item failed: nothing to override."))
        items = ", ".join(result.item.name for result in state.failed)
        ticket_note(
            work_order,
            _("Failed acceptance-test items overridden by the service manager (%(items)s): "
              "%(reason)s") % {"items": items, "reason": reason.strip()},
            actor=actor,
        )  # fmt: skip
        staff_notify(
            work_order,
            recipients=[work_order.owner, work_order.engineer],
            template="work_orders_test_overridden",
            items=items,
            reason=reason.strip(),
            manager=actor,
        )
    return work_order


test_override.__test__ = False  # type: ignore[attr-defined]


# --- Screening ----------------------------------------------------------------------------------


def _flag_event(pk: int) -> None:
    from medservice.work_orders.events import work_order_quality_flagged

    work_order_quality_flagged.send(sender=WorkOrder, work_order=WorkOrder.objects.get(pk=pk))


def screening_record(
    *,
    actor: Any,
    work_order: WorkOrder,
    is_complaint: bool | None,
    may_be_reportable: bool | None,
    note: str = "",
) -> WorkOrder:
    """The screening decision of REGULATORY.md: is this service record a complaint, may it be
    a reportable event? Both answers are required. A "yes" (that was not already given) raises
    the same event as a quality-flagged service request, after commit."""
    problems = Problems()
    if is_complaint is None:
        problems.add("is_complaint", _("Say whether this is a complaint."))
    if may_be_reportable is None:
        problems.add("may_be_reportable", _("Say whether this may be a reportable event."))
    problems.raise_if_any(_("The screening was not recorded."))
    with transaction.atomic():
        before = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
        was_flagged = bool(before.is_complaint) or bool(before.may_be_reportable)
        work_order = work_order_transition(
            before, "screen", actor=actor,
            changes={
                "screened_at": timezone.now(),
                "screened_by": actor,
                "is_complaint": bool(is_complaint),
                "may_be_reportable": bool(may_be_reportable),
                "screening_note": (note or "").strip(),
            },
        )  # fmt: skip
        flagged = bool(is_complaint) or bool(may_be_reportable)
        ticket_note(
            work_order,
            _("Screening: complaint %(complaint)s, possibly reportable %(reportable)s. %(note)s")
            % {
                "complaint": _("yes") if is_complaint else _("no"),
                "reportable": _("yes") if may_be_reportable else _("no"),
                "note": work_order.screening_note,
            },
            actor=actor,
        )
        if flagged and not was_flagged:
            pk = work_order.pk
            transaction.on_commit(lambda: _flag_event(pk))
    return work_order


# --- Remote support -----------------------------------------------------------------------------


def remote_session_record(
    *,
    actor: Any,
    work_order: WorkOrder,
    tool: str,
    started_at: datetime.datetime,
    duration_minutes: int,
    outcome: str,
    notes: str = "",
) -> RemoteSession:
    """A remote-support session (远程支持): the tool, when, how long, and what came of it."""
    problems = Problems()
    if not (tool or "").strip():
        problems.add("tool", _("Name the remote tool."))
    if started_at is None:
        problems.add("started_at", _("Give the start time."))
    elif started_at > timezone.now():
        problems.add("started_at", _("The session cannot start in the future."))
    if duration_minutes is None or int(duration_minutes) < 1:
        problems.add("duration_minutes", _("Give the duration in minutes (at least 1)."))
    if outcome not in RemoteOutcome.values:
        problems.add("outcome", _("Choose the outcome."))
    problems.raise_if_any(_("The remote session was not recorded."))
    with transaction.atomic():
        work_order = work_order_transition(work_order, "record-remote-session", actor=actor)
        with audit_context(actor=actor, action="record-remote-session"):
            session = RemoteSession.objects.create(
                work_order=work_order,
                engineer=actor,
                tool=tool.strip()[:100],
                started_at=started_at,
                duration_minutes=int(duration_minutes),
                outcome=outcome,
                notes=(notes or "").strip(),
            )
        ticket_note(
            work_order,
            _("Remote session (%(tool)s, %(minutes)s min): %(outcome)s")
            % {
                "tool": session.tool,
                "minutes": session.duration_minutes,
                "outcome": session.get_outcome_display(),
            },
            actor=actor,
        )
    return session


# --- Workshop -----------------------------------------------------------------------------------


def loan_unit_refusal(device: Any, *, work_order: WorkOrder | None = None) -> str:
    """Why `device` may not be lent to a customer now, or "": it must be the company's own
    and not out on another loan."""
    from medservice.customers.choices import OrganizationKind

    if work_order is not None and device.pk == work_order.device_id:
        return _("The unit under repair cannot be its own loan unit.")
    if device.organization.kind != OrganizationKind.COMPANY:
        return _("%(device)s belongs to %(owner)s, not to the company.") % {
            "device": device,
            "owner": device.organization,
        }
    if device.status in ("scrapped", "returned", "recalled", "under_repair"):
        return _("%(device)s is %(status)s.") % {
            "device": device,
            "status": device.get_status_display(),
        }
    out = (
        WorkOrder.objects.filter(
            loan_device=device, loan_out_at__isnull=False, loan_back_at__isnull=True
        )
        .exclude(pk=getattr(work_order, "pk", None))
        .first()
    )
    if out is not None:
        return _("%(device)s is out on loan with %(number)s.") % {
            "device": device,
            "number": out.number,
        }
    return ""


def unit_receive(
    *,
    actor: Any,
    work_order: WorkOrder,
    condition: str,
    accessories: str,
    photos: Sequence[Any] = (),
    loan_device: Any = None,
) -> WorkOrder:
    """Receive the unit in the workshop (送修): its condition with photos and the accessories
    that came with it; optionally a loan unit goes to the customer meanwhile. The customer is
    told."""
    from medservice.core.attachments import attachment_check

    problems = Problems()
    if not (condition or "").strip():
        problems.add("condition", _("Describe the condition of the unit as received."))
    for photo in photos:
        try:
            attachment_check(photo, field="photos")
        except InvalidInputError as error:
            for message in error.fields.get("photos", [error.message]):
                problems.add("photos", message)
    problems.raise_if_any(_("The unit was not received."))
    if loan_device is not None:
        refusal = loan_unit_refusal(loan_device, work_order=work_order)
        if refusal:
            raise LoanUnitError(refusal, fields={"loan_device": [refusal]})
    now = timezone.now()
    with transaction.atomic():
        work_order = work_order_transition(
            work_order, "receive-unit", actor=actor,
            changes={
                "received_at": now,
                "received_condition": condition.strip(),
                "received_accessories": (accessories or "").strip(),
                "loan_device": loan_device,
                "loan_out_at": now if loan_device is not None else None,
                "loan_back_at": None,
            },
        )  # fmt: skip
        for photo in photos:
            file_attach(
                actor=actor, work_order=work_order, kind=FileKind.CONDITION_PHOTO, upload=photo
            )
        text = _(
            "We received %(device)s in the workshop on %(date)s. Accessories: %(accessories)s."
        ) % {
            "device": work_order.device,
            "date": timezone.localdate(now).isoformat(),
            "accessories": work_order.received_accessories or _("none"),
        }
        if loan_device is not None:
            text += " " + _("A loan unit is provided meanwhile: %(loan)s.") % {"loan": loan_device}
        customer_inform(work_order, text=text, actor=actor)
    return work_order


def work_start(*, actor: Any, work_order: WorkOrder) -> WorkOrder:
    """Start the work: a workshop unit leaves the queue, or remote support begins."""
    with transaction.atomic():
        work_order = work_order_transition(work_order, "start", actor=actor)
        ticket_note(work_order, _("Work started."), actor=actor)
    return work_order


def unit_ship_back(
    *,
    actor: Any,
    work_order: WorkOrder,
    carrier: str,
    tracking: str,
    loan_back: bool = False,
) -> WorkOrder:
    """Ship the repaired unit back to the customer with the carrier and tracking number; with
    `loan_back`, the loan unit is recorded as returned at the same time."""
    problems = Problems()
    if not (carrier or "").strip():
        problems.add("carrier", _("Name the carrier."))
    if not (tracking or "").strip():
        problems.add("tracking", _("Give the tracking number."))
    if loan_back and (work_order.loan_device_id is None or work_order.loan_back_at is not None):
        problems.add("loan_back", _("No loan unit is out on this work order."))
    problems.raise_if_any(_("The shipment was not recorded."))
    now = timezone.now()
    changes: dict[str, Any] = {
        "return_shipped_at": now,
        "return_carrier": carrier.strip()[:100],
        "return_tracking": tracking.strip()[:100],
    }
    if loan_back:
        changes["loan_back_at"] = now
    with transaction.atomic():
        work_order = work_order_transition(work_order, "ship-back", actor=actor, changes=changes)
        customer_inform(
            work_order,
            text=_("%(device)s is on its way back to you: %(carrier)s, tracking %(tracking)s.")
            % {
                "device": work_order.device,
                "carrier": work_order.return_carrier,
                "tracking": work_order.return_tracking,
            },
            actor=actor,
        )
    return work_order


# --- Supplier repairs ---------------------------------------------------------------------------


def supplier_send(
    *, actor: Any, work_order: WorkOrder, expected_on: datetime.date, reference: str = ""
) -> WorkOrder:
    """Send the unit to the supplier for repair under its quality agreement, with the date it
    is expected back; the customer is told."""
    problems = Problems()
    if expected_on is None:
        problems.add("expected_on", _("Give the date the unit is expected back."))
    elif expected_on < timezone.localdate():
        problems.add("expected_on", _("The date is in the past."))
    problems.raise_if_any(_("The shipment to the supplier was not recorded."))
    with transaction.atomic():
        work_order = work_order_transition(
            work_order, "send-to-supplier", actor=actor,
            changes={
                "supplier_sent_at": timezone.now(),
                "supplier_expected_on": expected_on,
                "supplier_reference": (reference or "").strip()[:100],
            },
        )  # fmt: skip
        customer_inform(
            work_order,
            text=_(
                "%(device)s was sent to %(supplier)s for repair; it is expected back on %(date)s."
            )
            % {
                "device": work_order.device,
                "supplier": work_order.repair_supplier or _("the supplier"),
                "date": expected_on.isoformat(),
            },
            actor=actor,
        )
    return work_order


def supplier_receive(
    *, actor: Any, work_order: WorkOrder, report: str, report_file: Any = None
) -> WorkOrder:
    """The unit is back from the supplier with the supplier's repair report (the text, and the
    document itself when there is one); the work continues with the acceptance test."""
    from medservice.core.attachments import attachment_check

    require_text(report, "report", _("Write down what the supplier's report says."))
    if report_file is not None:
        attachment_check(report_file, field="report_file")
    with transaction.atomic():
        work_order = work_order_transition(
            work_order, "receive-from-supplier", actor=actor,
            changes={"supplier_received_at": timezone.now(), "supplier_report": report.strip()},
        )  # fmt: skip
        if report_file is not None:
            file_attach(
                actor=actor, work_order=work_order, kind=FileKind.SUPPLIER_REPORT,
                upload=report_file,
            )  # fmt: skip
        ticket_note(
            work_order,
            _("Back from the supplier: %(report)s") % {"report": work_order.supplier_report},
            actor=actor,
        )
    return work_order
