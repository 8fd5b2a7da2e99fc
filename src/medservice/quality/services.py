"""Quality cases: opening (from a quality-flagged request or service record, or by quality
staff), the awareness time and its one allowed correction (earlier, with a reason), and the
contact with the complainant due within SOP-3's hours, with its warning and breach."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, PermissionDeniedError, Problems
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.quality.choices import OPEN_CASE_STATUSES, CaseSource, CaseStatus
from medservice.quality.models import QualityCase

FUTURE_TOLERANCE = datetime.timedelta(minutes=5)


def contact_hours() -> int:
    """SOP-3: hours within which the quality department contacts the complainant."""
    return int(getattr(settings, "QUALITY_CONTACT_HOURS", 24))


def _require(actor: Any, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def quality_staff() -> list[Any]:
    from medservice.accounts.choices import Role
    from medservice.accounts.models import User

    return list(
        User.objects.filter(
            is_active=True,
            groups__name__in=[str(Role.QUALITY_STAFF), str(Role.QUALITY_MANAGER)],
        )
        .distinct()
        .order_by("pk")
    )


def _link(case: QualityCase) -> str:
    return reverse("quality:quality-cases-detail", kwargs={"pk": case.pk})


def _announce(case: QualityCase) -> None:
    notify(
        recipients=quality_staff(),
        template="quality_case_opened",
        context={"case": case, "hours": contact_hours()},
        link=_link(case),
    )


def _create(*, announce: bool = True, **fields: Any) -> QualityCase:
    awareness = fields["awareness_at"]
    case = QualityCase(
        number=number_next(prefix="QC"),
        contact_due_at=awareness + datetime.timedelta(hours=contact_hours()),
        **fields,
    )
    case.full_clean(exclude=["number", "owner"])
    case.save()
    case_hold_batch(case)
    # Every case notifies its supplier; a serious incident keeps its unit as evidence.
    from medservice.quality.decisions import case_opened_effects

    case_opened_effects(case)
    if announce:
        _announce(case)
    return case


def case_hold_batch(case: QualityCase) -> Any:
    """While the case is open its batch (or, without a batch, its serial) is on hold: no
    delivery, issue or return of it, and its devices show the hold. An existing hold on the
    same batch stands; the case does not add a second one. Returns the hold in force, if any."""
    from medservice.installed_base.choices import HoldKind, HoldScope
    from medservice.installed_base.services import hold_active_for, hold_place

    model = case.device_model
    if model is None:
        return None
    if case.batch_number:
        target = {"device_model": model, "batch_number": case.batch_number}
        scope = HoldScope.BATCH
    elif case.serial_number:
        target = {"device_model": model, "serial_number": case.serial_number}
        scope = HoldScope.SERIAL
    else:
        return None
    existing = hold_active_for(**target)
    if existing is not None:
        return existing
    # The case's own act (a job, not the person who flagged the complaint).
    return hold_place(
        actor=None,
        scope=scope,
        kind=HoldKind.QUALITY_REVIEW,
        reason=_("Quality case %(number)s: under review until it is decided.")
        % {"number": case.number},
        source=case.number,
        **target,
    )


def case_open_from_ticket(*, ticket: Any, actor: Any = None) -> QualityCase | None:
    """The case of a quality-flagged request, with the intake the desk took; its awareness time
    is the request's receipt. Once per request: a second flag finds the case already open."""
    existing = QualityCase.objects.filter(ticket=ticket).first()
    if existing is not None:
        return existing
    intake = getattr(ticket, "quality_intake", None)
    device = ticket.device if ticket.device_id else None
    model = device.device_model if device is not None else ticket.device_model
    fields: dict[str, Any] = {
        "source": CaseSource.TICKET,
        "ticket": ticket,
        "organization": ticket.organization,
        "device": device,
        "device_model": model,
        "batch_number": device.batch_number if device is not None else "",
        "serial_number": device.serial_number if device is not None else "",
        "product_reported": ticket.product_reported,
        "description": ticket.description,
        "complainant_name": ticket.reporter_name
        or (ticket.contact.name if ticket.contact_id else ""),
        "complainant_phone": ticket.reporter_phone
        or ((ticket.contact.mobile or ticket.contact.phone) if ticket.contact_id else ""),
        "patient_involved": ticket.patient_involved,
        "injury": ticket.injury,
        "awareness_at": ticket.received_at,
    }
    if intake is not None:
        fields.update(
            complainant_sex=intake.complainant_sex,
            complainant_age=intake.complainant_age,
            complainant_address=intake.complainant_address,
            complainant_workplace=intake.complainant_workplace,
            device_used=intake.device_used,
            symptoms=intake.symptoms,
            manufacturer_reported=intake.manufacturer_reported,
            purchased_from=intake.purchased_from,
            purchased_on=intake.purchased_on,
            stop_use_advised=intake.stop_use_advised,
            stop_use_advised_at=intake.stop_use_advised_at,
        )
        if not fields["batch_number"] and not fields["serial_number"]:
            fields["batch_number"] = intake.batch_or_serial
    try:
        with transaction.atomic(), audit_context(actor=actor, job=None if actor else "quality"):
            # The desk has already alerted quality staff to this request.
            return _create(announce=False, **fields)
    except IntegrityError:
        # Flagged twice at once: the other flag opened it.
        return QualityCase.objects.get(ticket=ticket)


def case_open_from_work_order(*, work_order: Any, actor: Any = None) -> QualityCase | None:
    """The case of a service record screened as a complaint or a possibly reportable event.
    When the work came from a request that already has a case, that case is the one."""
    if work_order.ticket_id is not None:
        existing = QualityCase.objects.filter(ticket_id=work_order.ticket_id).first()
        if existing is not None:
            return existing
    existing = QualityCase.objects.filter(work_order=work_order).first()
    if existing is not None:
        return existing
    device = work_order.device
    ticket = work_order.ticket if work_order.ticket_id else None
    fields = {
        "source": CaseSource.WORK_ORDER,
        "work_order": work_order,
        "ticket": ticket,
        "organization": work_order.organization,
        "device": device,
        "device_model": device.device_model,
        "batch_number": device.batch_number,
        "serial_number": device.serial_number,
        "description": "\n".join(
            part for part in (work_order.problem, work_order.symptom, work_order.screening_note)
            if part
        ),
        "complainant_name": work_order.contact_name,
        "complainant_phone": work_order.contact_phone,
        # Aware when the service record showed it (the screening), unless the request came first.
        "awareness_at": ticket.received_at if ticket is not None else work_order.screened_at
        or timezone.now(),
    }  # fmt: skip
    try:
        with transaction.atomic(), audit_context(actor=actor, job=None if actor else "quality"):
            return _create(**fields)
    except IntegrityError:
        return QualityCase.objects.filter(work_order=work_order).first()


CASE_FIELDS = (
    "organization", "device", "device_model", "batch_number", "serial_number",
    "product_reported", "manufacturer_reported", "description", "complainant_name",
    "complainant_phone", "complainant_sex", "complainant_age", "complainant_address",
    "complainant_workplace", "device_used", "symptoms", "purchased_from", "purchased_on",
    "stop_use_advised", "stop_use_advised_at", "patient_involved", "injury",
)  # fmt: skip


def case_create(
    *, actor: Any, data: dict[str, Any], source: str = CaseSource.MANUAL
) -> QualityCase:
    """Quality staff record a case directly (a letter, a regulator's call, a complaint heard
    in a store), or a later app opens one (a return evaluated as a suspected defect, `source`
    saying which): the awareness time is when the complaint was received, never in the
    future."""
    _require(actor, "quality.add_qualitycase", _("You may not record quality cases."))
    problems = Problems()
    awareness = data.get("awareness_at") or timezone.now()
    if awareness > timezone.now() + FUTURE_TOLERANCE:
        problems.add("awareness_at", _("The complaint cannot have been received in the future."))
    if not (data.get("description") or "").strip():
        problems.add("description", _("Describe what happened."))
    if data.get("stop_use_advised") and data.get("stop_use_advised_at") is None:
        problems.add("stop_use_advised_at", _("Say when the complainant was told to stop."))
    device = data.get("device")
    if device is not None and data.get("organization") is None:
        data = {**data, "organization": device.organization}
    problems.raise_if_any(_("The quality case was not recorded."))
    fields = {name: data[name] for name in CASE_FIELDS if name in data and data[name] is not None}
    if device is not None:
        fields.setdefault("device_model", device.device_model)
        fields.setdefault("batch_number", device.batch_number)
        fields.setdefault("serial_number", device.serial_number)
    with transaction.atomic(), audit_context(actor=actor):
        return _create(
            announce=False, source=source, awareness_at=awareness, owner=actor,
            **fields,
        )  # fmt: skip


def _locked(case: QualityCase) -> QualityCase:
    return QualityCase.objects.select_for_update().get(pk=case.pk)


def case_move_awareness(
    *, actor: Any, case: QualityCase, awareness_at: datetime.datetime, reason: str
) -> QualityCase:
    """Correct the awareness time — only earlier (someone knew before the complaint was
    logged), with the reason; the clocks counting from it move with it."""
    _require(actor, "quality.move_awareness_qualitycase", _("You may not move the awareness time."))
    problems = Problems()
    if not (reason or "").strip():
        problems.add("reason", _("Say why the company was aware earlier."))
    if awareness_at is None:
        problems.add("awareness_at", _("Give the time the company became aware."))
    problems.raise_if_any(_("The awareness time was not moved."))
    with transaction.atomic():
        case = _locked(case)
        if awareness_at >= case.awareness_at:
            message = _(
                "The awareness time can only move earlier than %(current)s: the legal clocks "
                "may never start later than the complaint was received."
            ) % {"current": timezone.localtime(case.awareness_at).strftime("%Y-%m-%d %H:%M")}
            raise InvalidInputError(message, fields={"awareness_at": [message]})
        case.awareness_at = awareness_at
        case.awareness_reason = reason.strip()[:300]
        case.contact_due_at = awareness_at + datetime.timedelta(hours=contact_hours())
        with audit_context(actor=actor, reason=reason.strip()):
            case.save()
        # The legal clocks of the case's reports not yet submitted move with it.
        from medservice.quality.adverse_events import reports_awareness_moved

        reports_awareness_moved(actor=actor, case=case, reason=reason.strip())
    return case


def case_record_contact(
    *, actor: Any, case: QualityCase, note: str, at: datetime.datetime | None = None
) -> QualityCase:
    """The quality department has spoken to the complainant (SOP-3): the contact clock stops;
    a case that was open moves to investigation."""
    _require(
        actor, "quality.contact_qualitycase", _("You may not record contacts on quality cases.")
    )
    at = at or timezone.now()
    problems = Problems()
    if not (note or "").strip():
        problems.add("note", _("Write down what was said."))
    if at > timezone.now() + FUTURE_TOLERANCE:
        problems.add("at", _("The contact cannot be in the future."))
    problems.raise_if_any(_("The contact was not recorded."))
    with transaction.atomic():
        case = _locked(case)
        if case.status not in OPEN_CASE_STATUSES:
            from medservice.core.errors import InvalidTransitionError

            raise InvalidTransitionError(
                _("Case %(number)s is %(status)s.")
                % {"number": case.number, "status": case.get_status_display()}
            )
        if at < case.awareness_at:
            message = _("The contact cannot be before the complaint was received.")
            raise InvalidInputError(message, fields={"at": [message]})
        case.contacted_at = case.contacted_at or at
        case.contact_note = "\n".join(filter(None, [case.contact_note, note.strip()]))
        if case.status == CaseStatus.OPEN:
            case.status = CaseStatus.INVESTIGATING
        if case.owner_id is None:
            case.owner = actor
        with audit_context(actor=actor, action="contact"):
            case.save()
    return case


def contact_clock_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Warn the owner and the quality staff when a complainant has not been contacted 75% into
    SOP-3's time, and again when the time has passed; once each, safe to run twice."""
    now = now or timezone.now()
    window = datetime.timedelta(hours=contact_hours())
    counts = {"warned": 0, "breached": 0}
    staff = quality_staff()
    candidates = QualityCase.objects.filter(
        contacted_at__isnull=True,
        status__in=OPEN_CASE_STATUSES,
        contact_due_at__lte=now + window / 4,
    ).order_by("contact_due_at", "pk")
    for case in candidates:
        breached = case.contact_due_at <= now
        column = "contact_breached_at" if breached else "contact_warned_at"
        with transaction.atomic():
            claimed = QualityCase.objects.filter(pk=case.pk, **{f"{column}__isnull": True}).update(
                **{column: now}
            )
            if not claimed:
                continue
            recipients = [*staff]
            if case.owner is not None and case.owner not in recipients:
                recipients.append(case.owner)
            notify(
                recipients=recipients,
                template="quality_contact_breached" if breached else "quality_contact_due",
                context={"case": case, "hours": contact_hours()},
                link=_link(case),
            )
        counts["breached" if breached else "warned"] += 1
    return counts
