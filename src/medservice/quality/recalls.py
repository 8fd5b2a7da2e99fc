"""Stop-use notices and recalls (暂停使用通知 / 医疗器械召回).

Quality staff prepare a recall (scope, class, reason, what recipients must do); the quality
manager decides it with a signature (password re-entry). The decision starts the legal clocks
(CN-RC-1: notices to distributors and users 1 / 3 / 7 calendar days after it for class I / II /
III; CN-RC-2: the investigation report and recall plan to the regulator within 5 working days on
the Chinese business calendar with 调休), and freezes the affected list from the trace: one
recipient per customer organisation (contact, quantity delivered) and every device.

Quality staff then send notices (e-mail, SMS, printed letter — each with its proof), record
each recipient's acknowledgement and quantities, and each device's disposition (corrected on
site through a recall work order, returned, destroyed, not found; a returned device becomes
"recalled" and a destroyed one "scrapped" in the installed base, never under an evidence hold).
The quality manager records the effectiveness check, which ends the recall and starts CN-RC-3
(the summary evaluation report to the regulator within 10 working days, same calendar); the
recall closes, with a second signature, once the filing, the check and the summary are recorded.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.core.mail.message import make_msgid
from django.db import transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.core.clock import add_calendar_days, add_working_days
from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.workflow import Transition, allowed, transition
from medservice.installed_base.choices import DeviceStatus
from medservice.integrations.choices import EventType
from medservice.integrations.services import event_publish, isoformat
from medservice.quality.choices import (
    Disposition,
    RecallClass,
    RecallHandling,
    RecallKind,
    RecallNoticeChannel,
    SignoffMeaning,
)
from medservice.quality.choices import RecallStatus as S
from medservice.quality.models import (
    Recall,
    RecallDevice,
    RecallNotice,
    RecallRecipient,
    RecallSignoff,
)
from medservice.quality.trace import TraceScope, trace_run, trace_scope

FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
# Warn when this share of a recall clock has passed and the duty is still open.
WARN_FRACTION = Decimal("0.75")

# CN-RC-1 (医疗器械召回管理办法 2017): notify distributors and users within 1 / 3 / 7 calendar
# days of the decision for class I / II / III. Configurable (QUALITY_RECALL_NOTICE_DAYS).
NOTICE_DAYS_DEFAULT = {RecallClass.CLASS_I: 1, RecallClass.CLASS_II: 3, RecallClass.CLASS_III: 7}
# CN-RC-2: investigation report and recall plan to the regulator within 5 working days.
FILING_WORKING_DAYS_DEFAULT = 5
# CN-RC-3 (unverified, so configurable: QUALITY_RECALL_SUMMARY_WORKING_DAYS): the summary
# evaluation report to the regulator within 10 working days after the recall ends.
SUMMARY_WORKING_DAYS_DEFAULT = 10


def notice_days(recall_class: str) -> int:
    """CN-RC-1: calendar days from the decision within which every recipient is told."""
    configured = getattr(settings, "QUALITY_RECALL_NOTICE_DAYS", None) or {}
    return int(configured.get(str(recall_class), NOTICE_DAYS_DEFAULT[RecallClass(recall_class)]))


def filing_working_days() -> int:
    """CN-RC-2: working days from the decision within which the regulator is told."""
    return int(getattr(settings, "QUALITY_RECALL_FILING_WORKING_DAYS", FILING_WORKING_DAYS_DEFAULT))


def summary_working_days() -> int:
    """CN-RC-3: working days from the recall's end within which the summary report is due."""
    return int(
        getattr(settings, "QUALITY_RECALL_SUMMARY_WORKING_DAYS", SUMMARY_WORKING_DAYS_DEFAULT)
    )


def recall_calendar_code() -> str:
    from medservice.core.calendars import DEFAULT_CALENDAR_CODE

    return str(getattr(settings, "QUALITY_RECALL_CALENDAR", DEFAULT_CALENDAR_CODE))


@dataclass(frozen=True)
class RecallDue:
    notify_due_at: datetime.datetime
    filing_due_at: datetime.datetime
    # Years whose holidays were not yet published when the filing due time was counted.
    unconfirmed_years: frozenset[int]


def _recall_calendar() -> Any:
    from medservice.core.calendars import calendar_default_ensure, calendar_load

    code = recall_calendar_code()
    if code == "CN":
        calendar_default_ensure()
    return calendar_load(code)


def _working_days_after(
    start: datetime.datetime, days: int, calendar: Any
) -> tuple[datetime.datetime, frozenset[int]]:
    """`days` working days after `start` at its time of day (REGULATORY.md: "same time of day;
    working days skip non-working days"), with the years counted across whose holidays were
    not yet published (the due time is then provisional)."""
    local = start.astimezone(calendar.zone)
    day = add_working_days(local.date(), days, calendar)
    due = datetime.datetime.combine(day, local.timetz()).astimezone(datetime.UTC)
    unconfirmed = frozenset(
        year for year in range(local.year, day.year + 1) if not calendar.is_confirmed(year)
    )
    return due, unconfirmed


def recall_due_times(decided_at: datetime.datetime, recall_class: str) -> RecallDue:
    """The due times counted from the decision: the notices after `notice_days` calendar days
    (CN-RC-1), the filing after `filing_working_days` working days on the business calendar
    (CN-RC-2), both at the decision's time of day."""
    calendar = _recall_calendar()
    notify_due = add_calendar_days(decided_at, notice_days(recall_class), calendar.time_zone)
    filing_due, unconfirmed = _working_days_after(decided_at, filing_working_days(), calendar)
    return RecallDue(notify_due, filing_due, unconfirmed)


def recall_summary_due(ended_at: datetime.datetime) -> tuple[datetime.datetime, frozenset[int]]:
    """CN-RC-3: the summary evaluation report is due `summary_working_days` working days after
    the recall ends, on the same business calendar and clock as the CN-RC-2 filing."""
    return _working_days_after(ended_at, summary_working_days(), _recall_calendar())


# --- The workflow -------------------------------------------------------------------------------

RUNNING = frozenset({S.IN_PROGRESS})


def _filed_checked_and_summarised(recall: Recall, user: Any) -> str:
    missing = []
    if recall.filed_at is None:
        missing.append(_("the filing with the regulator"))
    if recall.effectiveness_checked_at is None:
        missing.append(_("the effectiveness check"))
    if recall.summary_submitted_at is None:
        # CN-RC-3: the summary evaluation report is part of the recall's record.
        missing.append(_("the summary report to the regulator"))
    if missing:
        return _("Record %(missing)s before closing the recall.") % {
            "missing": _(" and ").join(str(item) for item in missing)
        }
    return ""


def _ended(recall: Recall, user: Any) -> str:
    if recall.ended_at is None:
        return _(
            "Record the effectiveness check first: the summary report evaluates the ended recall."
        )
    return ""


RECALL_TRANSITIONS: dict[str, Transition] = {
    "decide": Transition(
        sources=frozenset({S.DRAFT}), target=S.IN_PROGRESS,
        permission="quality.decide_recall", label=gettext_lazy("Decide and sign"),
        style="primary",
    ),
    "cancel": Transition(
        sources=frozenset({S.DRAFT}), target=S.CANCELLED,
        permission="quality.change_recall", label=gettext_lazy("Cancel"), style="outline-danger",
    ),
    "send-notice": Transition(
        sources=RUNNING, target=None, permission="quality.run_recall",
        label=gettext_lazy("Send the notice"),
    ),
    "acknowledge": Transition(
        sources=RUNNING, target=None, permission="quality.run_recall",
        label=gettext_lazy("Record the acknowledgement"),
    ),
    "dispose": Transition(
        sources=RUNNING, target=None, permission="quality.run_recall",
        label=gettext_lazy("Record the disposition"),
    ),
    "record-filing": Transition(
        sources=RUNNING, target=None, permission="quality.run_recall",
        label=gettext_lazy("Record the regulator filing"),
    ),
    "check-effectiveness": Transition(
        sources=RUNNING, target=None, permission="quality.decide_recall",
        label=gettext_lazy("Record the effectiveness check"),
    ),
    "record-summary": Transition(
        sources=RUNNING, target=None, permission="quality.run_recall",
        label=gettext_lazy("Record the summary report"), guard=_ended,
    ),
    "close": Transition(
        sources=RUNNING, target=S.CLOSED, permission="quality.decide_recall",
        label=gettext_lazy("Close and sign"), guard=_filed_checked_and_summarised,
        style="success",
    ),
}  # fmt: skip

# Actions on a recipient or a device: they change those rows, never the recall's own state.
ROW_ACTIONS = frozenset({"send-notice", "acknowledge", "dispose"})


def _recall_transition(recall: Recall, name: str, **kwargs: Any) -> Recall:
    """The workflow's transition of a recall; its progress goes to the webhooks after commit."""
    locked = transition(recall, name, **kwargs)
    _progress_publish(locked.pk, name)
    return locked


def _progress_publish(recall_pk: int, change: str) -> None:
    # After commit, so the event carries the recall as the whole action left it (a decision's
    # affected list, a closure's released hold), not as it was half-way.
    transaction.on_commit(lambda: recall_progress_publish(recall_pk, change))


def recall_progress_publish(recall_pk: int, change: str) -> None:
    """Publish "recall.progress" to the company's own webhook subscriptions (recalls are
    internal quality records; customers receive the notices themselves): the recall's state,
    its legal due times and the counts of devices and recipients — no names or contacts."""
    recall = Recall.objects.get(pk=recall_pk)
    progress = recall_progress(recall)
    event_publish(
        EventType.RECALL_PROGRESS,
        {
            "recall": {
                "id": recall.pk,
                "number": recall.number,
                "kind": recall.kind,
                "status": recall.status,
                "recall_class": recall.recall_class,
                "device_model": recall.device_model_id,
                "batch_number": recall.batch_number,
                "serial_from": recall.serial_from,
                "serial_to": recall.serial_to,
                "decided_at": isoformat(recall.decided_at),
                "notify_due_at": isoformat(recall.notify_due_at),
                "filing_due_at": isoformat(recall.filing_due_at),
                "filed_at": isoformat(recall.filed_at),
                "ended_at": isoformat(recall.ended_at),
                "summary_due_at": isoformat(recall.summary_due_at),
                "closed_at": isoformat(recall.closed_at),
            },
            "change": change,
            "progress": {
                "devices_total": progress.devices_total,
                "devices_done": progress.devices_done,
                "recipients_total": progress.recipients_total,
                "recipients_notified": progress.recipients_notified,
                "recipients_acknowledged": progress.recipients_acknowledged,
                "by_disposition": dict(sorted(progress.by_disposition.items())),
                "percent": str(progress.percent),
            },
        },
        organization=None,
    )


def recall_actions_allowed(recall: Recall, user: Any) -> list[str]:
    return [
        name
        for name in RECALL_TRANSITIONS
        if not allowed(RECALL_TRANSITIONS, name, recall, user, "status")
    ]


def _locked_for(name: str, recall: Recall, actor: Any) -> Recall:
    """Lock the recall and check `name` may be taken on it now (an action on one of its rows
    runs under the recall's lock, so two people never act on a recall mid-closure)."""
    locked = Recall._base_manager.select_for_update().get(pk=recall.pk)
    refusal = allowed(RECALL_TRANSITIONS, name, locked, actor, "status")
    if refusal:
        if actor is not None and not actor.has_perm(RECALL_TRANSITIONS[name].permission):
            raise PermissionDeniedError(refusal)
        raise InvalidTransitionError(refusal)
    return locked


def _require(actor: Any, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _link(recall: Recall) -> str:
    return reverse("quality:recalls-detail", kwargs={"pk": recall.pk})


def _not_future(problems: Problems, field: str, at: datetime.datetime | None, message: str) -> None:
    if at is not None and at > timezone.now() + FUTURE_TOLERANCE:
        problems.add(field, message)


# --- Preparing ----------------------------------------------------------------------------------

RECALL_TEXT_FIELDS = ("reason", "instructions", "responsible_phone")


def recall_create(*, actor: Any, data: dict[str, Any]) -> Recall:
    """Quality staff prepare a stop-use notice or recall (a draft): its scope (a model with a
    batch, a serial range or a UDI), class, reason, what recipients must do and how the devices
    will be handled; optionally from a quality case, whose model and batch it then defaults to."""
    _require(actor, "quality.add_recall", _("You may not prepare recalls."))
    case = data.get("quality_case")
    if case is not None and not data.get("device_model") and not data.get("udi"):
        data = {**data, "device_model": case.device_model}
        if not data.get("batch_number") and not data.get("serial_from"):
            data["batch_number"] = case.batch_number
    problems = Problems()
    if data.get("kind") not in RecallKind.values:
        problems.add("kind", _("Choose a stop-use notice or a recall."))
    if data.get("recall_class") not in RecallClass.values:
        problems.add("recall_class", _("Choose the recall class (I, II or III)."))
    if data.get("handling") not in RecallHandling.values:
        problems.add("handling", _("Choose how the devices will be handled."))
    for name, message in (
        ("reason", _("Give the reason for the recall.")),
        ("instructions", _("Say what the recipients must do.")),
        ("responsible_phone", _("Give the phone number recipients call.")),
    ):
        if not (data.get(name) or "").strip():
            problems.add(name, message)
    scope: TraceScope | None = None
    try:
        scope = trace_scope(
            device_model=data.get("device_model"),
            batch_number=data.get("batch_number") or "",
            serial_from=data.get("serial_from") or "",
            serial_to=data.get("serial_to") or "",
            udi=data.get("udi") or "",
        )
    except InvalidInputError as error:
        for name, messages in error.fields.items():
            for message in messages:
                problems.add(name, message)
    problems.raise_if_any(_("The recall was not recorded."))
    assert scope is not None
    with transaction.atomic(), audit_context(actor=actor):
        recall = Recall(
            number=number_next(prefix="RC"),
            kind=data["kind"],
            quality_case=case,
            device_model=scope.device_model,
            batch_number=scope.batch_number,
            serial_from=scope.serial_from,
            serial_to=scope.serial_to,
            udi=scope.udi,
            recall_class=data["recall_class"],
            handling=data["handling"],
            responsible=data.get("responsible") or actor,
            created_by=actor,
            **{name: data[name].strip() for name in RECALL_TEXT_FIELDS},
        )
        recall.full_clean(exclude=["number"])
        recall.save()
    return recall


def recall_scope(recall: Recall) -> TraceScope:
    return TraceScope(
        device_model=recall.device_model,
        batch_number=recall.batch_number,
        serial_from=recall.serial_from,
        serial_to=recall.serial_to,
        udi=recall.udi,
    )


def recall_cancel(*, actor: Any, recall: Recall, reason: str) -> Recall:
    """A draft that will not be decided (a wrong scope, a duplicate): kept, marked cancelled."""
    if not (reason or "").strip():
        raise InvalidInputError(
            _("Say why the recall is cancelled."), fields={"reason": [_("Required.")]}
        )
    with transaction.atomic():
        return _recall_transition(
            recall, "cancel", transitions=RECALL_TRANSITIONS, actor=actor, reason=reason.strip(),
            changes={"cancel_reason": reason.strip()},
        )  # fmt: skip


# --- The decision -------------------------------------------------------------------------------


def _decision_statement(recall: Recall) -> str:
    return "\n".join(
        [
            f"{recall.number} · {recall.get_kind_display()} · {recall.get_recall_class_display()}",
            f"{recall.device_model} · {recall.scope_text}",
            f"{_('Decided at')}: {timezone.localtime(recall.decided_at):%Y-%m-%d %H:%M}",
            f"{_('Notices due')}: {timezone.localtime(recall.notify_due_at):%Y-%m-%d %H:%M}",
            f"{_('Regulator filing due')}: "
            f"{timezone.localtime(recall.filing_due_at):%Y-%m-%d %H:%M}",
            f"{_('Reason')}: {recall.reason}",
            f"{_('What recipients must do')}: {recall.instructions}",
            f"{_('How the devices are handled')}: {recall.get_handling_display()}",
        ]
    )


def recall_decide(
    *,
    actor: Any,
    recall: Recall,
    password: str,
    decided_at: datetime.datetime | None = None,
) -> Recall:
    """The quality manager decides the recall and signs it (re-entering the password). The
    clocks start at the decision time (now, or when the decision was taken, never in the
    future), their due times are stored, the affected list is frozen from the trace, and a
    batch recall puts the batch on hold (no delivery or issue of it)."""
    from medservice.core.signatures import signature_sign

    _require(actor, "quality.decide_recall", _("Only the quality manager decides recalls."))
    decided_at = decided_at or timezone.now()
    problems = Problems()
    _not_future(problems, "decided_at", decided_at, _("A decision cannot be in the future."))
    if not password:
        problems.add("password", _("Re-enter your password to sign."))
    problems.raise_if_any(_("The recall was not decided."))
    with transaction.atomic():
        due = recall_due_times(decided_at, recall.recall_class)
        recall = _recall_transition(
            recall, "decide", transitions=RECALL_TRANSITIONS, actor=actor,
            changes={
                "decided_at": decided_at, "decided_by": actor,
                "notify_due_at": due.notify_due_at, "filing_due_at": due.filing_due_at,
                "filing_due_unconfirmed": bool(due.unconfirmed_years),
            },
        )  # fmt: skip
        recall.retain_until = recall.compute_retain_until()
        with audit_context(actor=actor):
            recall.save(update_fields=["retain_until"])
            _affected_list_build(recall)
            _hold_batch(recall)
            signoff = RecallSignoff.objects.create(
                recall=recall, meaning=SignoffMeaning.DECISION,
                statement=_decision_statement(recall),
            )  # fmt: skip
        signature_sign(
            actor=actor, record=signoff, meaning=str(SignoffMeaning.DECISION.label),
            password=password,
        )  # fmt: skip
    if due.unconfirmed_years:
        from medservice.core.calendars import calendar_unconfirmed_used

        calendar_unconfirmed_used(recall_calendar_code(), sorted(due.unconfirmed_years))
    return recall


def _affected_list_build(recall: Recall) -> None:
    """Freeze the trace as it stands at the decision: one recipient per organisation (contact,
    quantity delivered) and one entry per device. Bulk writes, audited one row each."""
    result = trace_run(recall_scope(recall))
    recipients = RecallRecipient.objects.bulk_create(
        [
            RecallRecipient(
                recall=recall,
                organization=item.organization,
                contact=item.contact,
                quantity_delivered=item.quantity_delivered,
                devices_count=len(item.devices),
            )
            for item in result.recipients
        ]
    )
    by_organization = {recipient.organization_id: recipient for recipient in recipients}
    RecallDevice.objects.bulk_create(
        [
            RecallDevice(
                recall=recall, device=device, recipient=by_organization[device.organization_id]
            )
            for device in result.devices
        ]
    )


def _hold_batch(recall: Recall) -> None:
    if not recall.batch_number:
        return
    from medservice.installed_base.choices import HoldKind, HoldScope
    from medservice.installed_base.services import hold_active_for, hold_place

    target = {"device_model": recall.device_model, "batch_number": recall.batch_number}
    if hold_active_for(**target) is not None:
        return
    hold_place(
        actor=None,
        scope=HoldScope.BATCH,
        kind=HoldKind.QUALITY_REVIEW,
        reason=_("Recall %(number)s: the batch is recalled.") % {"number": recall.number},
        source=recall.number,
        **target,
    )


# --- Notices --------------------------------------------------------------------------------------


def _notice_context(recipient: RecallRecipient) -> dict[str, Any]:
    recall = recipient.recall
    return {
        "recall": recall,
        "recipient": recipient,
        "organization": recipient.organization,
        "contact": recipient.contact,
        "company": getattr(settings, "MEDSERVICE_COMPANY_NAME", ""),
        "responsible_name": (
            recall.responsible.get_full_name() or recall.responsible.get_username()
        )
        if recall.responsible_id
        else "",
    }


def _language(recipient: RecallRecipient) -> str:
    contact = recipient.contact
    return (contact.language if contact is not None else "") or "zh-hans"


def recall_notice_text(recipient: RecallRecipient) -> tuple[str, str]:
    """The notice's subject and text in the contact's language."""
    with translation.override(_language(recipient)):
        context = _notice_context(recipient)
        subject = render_to_string("notifications/recall_notice_subject.txt", context).strip()
        body = render_to_string("notifications/recall_notice_body.txt", context).strip()
    return subject[:200], body


def recall_letter_pdf(recipient: RecallRecipient) -> bytes:
    """The notice as a printed letter (A4, the contact's language, CJK fonts)."""
    from weasyprint import HTML

    subject, body = recall_notice_text(recipient)
    with translation.override(_language(recipient)):
        html = render_to_string(
            "quality/recalls_letter_pdf.html",
            {**_notice_context(recipient), "subject": subject, "body": body},
        )
    return HTML(string=html).write_pdf()


def _sms_text(recipient: RecallRecipient) -> str:
    recall = recipient.recall
    with translation.override(_language(recipient)):
        return _(
            "%(kind)s %(number)s: stop using %(model)s %(scope)s at once and acknowledge. "
            "Call %(phone)s."
        ) % {
            "kind": recall.get_kind_display(),
            "number": recall.number,
            "model": recall.device_model,
            "scope": recall.scope_text,
            "phone": recall.responsible_phone,
        }


def recall_notice_send(
    *, actor: Any, recipient: RecallRecipient, channel: str, sent_to: str = ""
) -> RecallNotice:
    """Send the notice to one recipient by e-mail (the letter attached), SMS (through the
    messaging gateway) or printed letter (the PDF kept as proof of what was posted), and keep
    the proof: time, channel, address, message id. Sending again adds another notice; the
    recipient's first notification time stays."""
    problems = Problems()
    if channel not in RecallNoticeChannel.values:
        problems.add("channel", _("Choose e-mail, SMS or printed letter."))
    problems.raise_if_any(_("The notice was not sent."))
    contact = recipient.contact
    address = (sent_to or "").strip()
    if channel == RecallNoticeChannel.EMAIL:
        address = address or (contact.email if contact is not None else "")
        if not address:
            problems.add("sent_to", _("The contact has no e-mail address: give one."))
        else:
            from django.core.exceptions import ValidationError
            from django.core.validators import validate_email

            try:
                validate_email(address)
            except ValidationError:
                problems.add("sent_to", _("This is not an e-mail address."))
    elif channel == RecallNoticeChannel.SMS:
        address = address or ((contact.mobile or contact.phone) if contact is not None else "")
        if not address:
            problems.add("sent_to", _("The contact has no mobile number: give one."))
    problems.raise_if_any(_("The notice was not sent."))
    with transaction.atomic():
        _locked_for("send-notice", recipient.recall, actor)
        recipient = (
            # Lock the recipient's row only: PostgreSQL locks no row of an outer join's
            # nullable side (the contact).
            RecallRecipient.objects.select_for_update(of=("self",))
            .select_related(
                "recall__device_model", "recall__responsible", "organization", "contact"
            )
            .get(pk=recipient.pk)
        )
        subject, body = recall_notice_text(recipient)
        now = timezone.now()
        notice = RecallNotice(
            recipient=recipient, channel=channel, sent_at=now, sent_by=actor, subject=subject,
            body=body,
        )  # fmt: skip
        letter = None
        if channel in (RecallNoticeChannel.EMAIL, RecallNoticeChannel.LETTER):
            letter = recall_letter_pdf(recipient)
            notice.letter.save(f"{recipient.recall.number}-{recipient.pk}.pdf",
                               ContentFile(letter), save=False)  # fmt: skip
        # Sent inside the transaction: a refused message leaves no notice claiming it went out.
        if channel == RecallNoticeChannel.EMAIL:
            message_id = make_msgid(domain=getattr(settings, "QUALITY_RECALL_MAIL_DOMAIN", None))
            message = EmailMessage(
                subject=subject, body=body, to=[address],
                headers={"Message-ID": message_id},
            )  # fmt: skip
            message.attach(f"{recipient.recall.number}.pdf", letter, "application/pdf")
            message.send(fail_silently=False)
            notice.message_id = message_id
        elif channel == RecallNoticeChannel.SMS:
            from medservice.core.messaging import message_backend

            notice.message_id = message_backend().send(
                to=address, text=_sms_text(recipient), channel="sms"
            )[:200]
        notice.sent_to = address
        with audit_context(actor=actor, action="send-notice"):
            notice.save()
            if recipient.notified_at is None:
                recipient.notified_at = now
                recipient.save(update_fields=["notified_at", "updated_at"])
        _progress_publish(recipient.recall_id, "notice-sent")
    return notice


# --- Acknowledgements and dispositions ----------------------------------------------------------


def recall_acknowledge(
    *,
    actor: Any,
    recipient: RecallRecipient,
    acknowledged_by_name: str,
    acknowledged_at: datetime.datetime | None = None,
    quantity_held: int = 0,
    quantity_returned: int = 0,
    quantity_corrected: int = 0,
    note: str = "",
) -> RecallRecipient:
    """Record the recipient's acknowledgement and what it reports of what it received: held
    (stopped, in its hands), returned, corrected. Together never more than it received; a later
    report replaces the earlier figures (the audit trail keeps them)."""
    acknowledged_at = acknowledged_at or timezone.now()
    quantities = {
        "quantity_held": quantity_held,
        "quantity_returned": quantity_returned,
        "quantity_corrected": quantity_corrected,
    }
    problems = Problems()
    if not (acknowledged_by_name or "").strip():
        problems.add("acknowledged_by_name", _("Who acknowledged it?"))
    _not_future(problems, "acknowledged_at", acknowledged_at,
                _("An acknowledgement cannot be in the future."))  # fmt: skip
    for name, value in quantities.items():
        if value is None or value < 0:
            problems.add(name, _("A quantity is zero or more."))
    problems.raise_if_any(_("The acknowledgement was not recorded."))
    with transaction.atomic():
        _locked_for("acknowledge", recipient.recall, actor)
        recipient = RecallRecipient.objects.select_for_update().get(pk=recipient.pk)
        total = sum(quantities.values())
        if total > recipient.quantity_delivered:
            message = _(
                "%(organization)s received %(delivered)s; held, returned and corrected "
                "together (%(total)s) cannot be more."
            ) % {
                "organization": recipient.organization,
                "delivered": recipient.quantity_delivered,
                "total": total,
            }
            raise InvalidInputError(
                message, fields={name: [message] for name, value in quantities.items() if value}
            )
        decided_at = recipient.recall.decided_at
        if decided_at is not None and acknowledged_at < decided_at:
            message = _("The acknowledgement cannot be before the recall was decided.")
            raise InvalidInputError(message, fields={"acknowledged_at": [message]})
        recipient.acknowledged_at = acknowledged_at
        recipient.acknowledged_by_name = acknowledged_by_name.strip()[:100]
        recipient.acknowledgement_note = (note or "").strip()
        for name, value in quantities.items():
            setattr(recipient, name, value)
        with audit_context(actor=actor, action="acknowledge"):
            recipient.save()
        _progress_publish(recipient.recall_id, "acknowledged")
    return recipient


# What a disposition makes of the device in the installed base: a returned device is in the
# company's hands as recalled, a destroyed one is scrapped. "Corrected on site" and "not found"
# leave its status (a corrected device stays in service; a lost one is not known to be anything).
DEVICE_STATUS_AFTER = {
    Disposition.RETURNED: DeviceStatus.RECALLED,
    Disposition.DESTROYED: DeviceStatus.SCRAPPED,
}
# Dispositions that act on the device itself (take it back, destroy it, work on it): refused
# while an evidence hold (证据保全, EU MDR art. 89) says the device must not be altered.
# "Not found" only records that nobody could locate it, so it stays possible.
# A unit kept as evidence may still be taken back into the company's custody (returned:
# installed_base allows a held unit to become "recalled"), never repaired or destroyed.
DISPOSITIONS_ALTERING = frozenset({Disposition.CORRECTED_ON_SITE, Disposition.DESTROYED})


def _refuse_under_evidence_hold(entry: RecallDevice, disposition: str) -> None:
    from medservice.installed_base.services import HeldError, evidence_hold_for

    if disposition not in DISPOSITIONS_ALTERING:
        return
    hold = evidence_hold_for(entry.device)
    if hold is not None:
        raise HeldError(
            _(
                "%(device)s is under an evidence hold (%(reason)s) and may not be altered: "
                "the disposition “%(disposition)s” is refused until the quality manager "
                "releases the hold."
            )
            % {
                "device": entry.device,
                "reason": hold.reason,
                "disposition": Disposition(disposition).label,
            }
        )


def recall_device_dispose(
    *, actor: Any, entry: RecallDevice, disposition: str, note: str = ""
) -> RecallDevice:
    """Record what became of one affected device. "Corrected on site" opens the device's
    recall work order (once: recording it again, or after another disposition, reuses it);
    "returned" makes the device recalled and "destroyed" scrapped in the installed base (through
    its status service, audited with the recall as the reason). A device under an evidence hold
    is not altered: the disposition is refused (409) and nothing is recorded."""
    problems = Problems()
    if disposition not in Disposition.values:
        problems.add("disposition", _("Choose what became of the device."))
    problems.raise_if_any(_("The disposition was not recorded."))
    with transaction.atomic():
        recall = _locked_for("dispose", entry.recall, actor)
        entry = (
            RecallDevice.objects.select_for_update(of=("self",))
            .select_related("device__device_model", "device__organization", "recipient__contact")
            .get(pk=entry.pk)
        )
        note = (note or "").strip()
        if entry.disposition == disposition and (not note or note == entry.disposition_note):
            return entry  # the same answer again (a resend): nothing changes
        _refuse_under_evidence_hold(entry, disposition)
        if disposition == Disposition.CORRECTED_ON_SITE and entry.work_order_id is None:
            entry.work_order = _recall_work_order(actor=actor, recall=recall, entry=entry)
        status = DEVICE_STATUS_AFTER.get(Disposition(disposition))
        if status is not None:
            from medservice.installed_base.services import device_status_change

            # A status change refused by the installed base (e.g. a hold placed meanwhile)
            # rolls the whole disposition back.
            entry.device = device_status_change(
                actor=actor, device=entry.device, status=status,
                reason=_("Recall %(number)s: %(disposition)s.")
                % {"number": recall.number, "disposition": Disposition(disposition).label},
            )  # fmt: skip
        entry.disposition = disposition
        entry.disposition_at = timezone.now()
        entry.disposition_by = actor
        entry.disposition_note = note
        with audit_context(actor=actor, action="dispose"):
            entry.save()
        _progress_publish(recall.pk, "disposed")
    return entry


def _recall_work_order(*, actor: Any, recall: Recall, entry: RecallDevice) -> Any:
    """The recall's own work order on the device (kind recall action, source the recall):
    opened by the recall on the quality person's instruction, so the audit names them while
    the work-order permission (a service role's) is not theirs to need."""
    from medservice.work_orders.choices import WorkOrderSource
    from medservice.work_orders.services import work_order_create

    contact = entry.recipient.contact
    problem = _("%(kind)s %(number)s: %(handling)s. %(instructions)s") % {
        "kind": recall.get_kind_display(),
        "number": recall.number,
        "handling": recall.get_handling_display(),
        "instructions": recall.instructions,
    }
    with audit_context(actor=actor):
        return work_order_create(
            actor=None,
            kind="recall_action",
            device=entry.device,
            problem=problem,
            source=WorkOrderSource.RECALL,
            source_reference=recall.number,
            contact_name=contact.name if contact is not None else "",
            contact_phone=(contact.mobile or contact.phone) if contact is not None else "",
        )


# --- Filing, effectiveness, closure ---------------------------------------------------------------


def recall_record_filing(
    *, actor: Any, recall: Recall, filed_at: datetime.datetime | None, reference: str
) -> Recall:
    """The investigation report and recall plan went to the regulator (CN-RC-2): when, and the
    reference it was given."""
    filed_at = filed_at or timezone.now()
    problems = Problems()
    if not (reference or "").strip():
        problems.add("reference", _("Give the filing's reference (receipt or case number)."))
    _not_future(problems, "filed_at", filed_at, _("The filing cannot be in the future."))
    problems.raise_if_any(_("The filing was not recorded."))
    with transaction.atomic():
        locked = _locked_for("record-filing", recall, actor)
        if filed_at < locked.decided_at:
            message = _("The filing cannot be before the recall was decided.")
            raise InvalidInputError(message, fields={"filed_at": [message]})
        return _recall_transition(
            locked, "record-filing", transitions=RECALL_TRANSITIONS, actor=actor,
            changes={"filed_at": filed_at, "filing_reference": reference.strip()[:100]},
        )  # fmt: skip


def recall_check_effectiveness(
    *, actor: Any, recall: Recall, effective: bool | None, note: str
) -> Recall:
    """The quality manager's check that the recall reached its aim (召回效果评价)."""
    problems = Problems()
    if effective is None:
        problems.add("effective", _("Say whether the recall was effective."))
    if not (note or "").strip():
        problems.add("note", _("Describe how effectiveness was checked."))
    problems.raise_if_any(_("The effectiveness check was not recorded."))
    unconfirmed: frozenset[int] = frozenset()
    with transaction.atomic():
        locked = _locked_for("check-effectiveness", recall, actor)
        checked_at = timezone.now()
        changes: dict[str, Any] = {
            "effectiveness_checked_at": checked_at, "effectiveness_effective": effective,
            "effectiveness_note": note.strip(), "effectiveness_by": actor,
        }  # fmt: skip
        if locked.ended_at is None:
            # The first check ends the recall and starts CN-RC-3; a later re-check does not
            # move the legal clock later.
            due, unconfirmed = recall_summary_due(checked_at)
            changes["ended_at"] = checked_at
            changes["summary_due_at"] = due
            changes["summary_due_unconfirmed"] = bool(unconfirmed)
        recall = _recall_transition(
            locked, "check-effectiveness", transitions=RECALL_TRANSITIONS, actor=actor,
            changes=changes,
        )  # fmt: skip
    if unconfirmed:
        from medservice.core.calendars import calendar_unconfirmed_used

        calendar_unconfirmed_used(recall_calendar_code(), sorted(unconfirmed))
    return recall


def recall_record_summary(
    *, actor: Any, recall: Recall, submitted_at: datetime.datetime | None, reference: str
) -> Recall:
    """The summary evaluation report (召回总结评估报告) went to the regulator (CN-RC-3): when,
    and the reference it was given. Only once the recall has ended (its effectiveness check)."""
    submitted_at = submitted_at or timezone.now()
    problems = Problems()
    if not (reference or "").strip():
        problems.add(
            "reference", _("Give the summary report's reference (receipt or case number).")
        )
    _not_future(problems, "submitted_at", submitted_at,
                _("The submission cannot be in the future."))  # fmt: skip
    problems.raise_if_any(_("The summary report was not recorded."))
    with transaction.atomic():
        locked = _locked_for("record-summary", recall, actor)
        if submitted_at < locked.ended_at:
            message = _("The summary report cannot be submitted before the recall ended.")
            raise InvalidInputError(message, fields={"submitted_at": [message]})
        return _recall_transition(
            locked, "record-summary", transitions=RECALL_TRANSITIONS, actor=actor,
            changes={
                "summary_submitted_at": submitted_at, "summary_reference": reference.strip()[:100],
            },
        )  # fmt: skip


def recall_close(*, actor: Any, recall: Recall, password: str, note: str = "") -> Recall:
    """The quality manager closes the recall and signs it, once it is filed, its effectiveness
    is checked and its summary report submitted (CN-RC-3); the batch hold it placed is
    released."""
    from medservice.core.signatures import signature_sign

    if not password:
        raise InvalidInputError(
            _("Re-enter your password to sign."), fields={"password": [_("Required.")]}
        )
    with transaction.atomic():
        recall = _recall_transition(
            recall, "close", transitions=RECALL_TRANSITIONS, actor=actor,
            changes={"closed_at": timezone.now(), "closed_by": actor},
        )  # fmt: skip
        progress = recall_progress(recall)
        statement = "\n".join(
            filter(
                None,
                [
                    f"{recall.number} · {recall.device_model} · {recall.scope_text}",
                    _("Devices with a disposition: %(done)s of %(total)s (%(percent)s%%)")
                    % {
                        "done": progress.devices_done,
                        "total": progress.devices_total,
                        "percent": progress.percent,
                    },
                    f"{_('Filed')}: {timezone.localtime(recall.filed_at):%Y-%m-%d %H:%M} "
                    f"{recall.filing_reference}",
                    f"{_('Effectiveness check')}: {recall.effectiveness_note}",
                    f"{_('Summary report submitted')}: "
                    f"{timezone.localtime(recall.summary_submitted_at):%Y-%m-%d %H:%M} "
                    f"{recall.summary_reference}",
                    (note or "").strip(),
                ],
            )
        )
        with audit_context(actor=actor):
            signoff = RecallSignoff.objects.create(
                recall=recall, meaning=SignoffMeaning.CLOSURE, statement=statement
            )
        signature_sign(
            actor=actor, record=signoff, meaning=str(SignoffMeaning.CLOSURE.label),
            password=password,
        )  # fmt: skip
        _release_batch_hold(recall, actor=actor)
    return recall


def _release_batch_hold(recall: Recall, *, actor: Any) -> None:
    from medservice.installed_base.models import Hold
    from medservice.installed_base.services import hold_release

    for hold in Hold.objects.filter(source=recall.number, released_at__isnull=True):
        hold_release(
            actor=actor, hold=hold,
            reason=_("Recall %(number)s closed.") % {"number": recall.number},
        )  # fmt: skip


# --- Progress -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecallProgress:
    devices_total: int
    devices_done: int
    recipients_total: int
    recipients_notified: int
    recipients_acknowledged: int
    by_disposition: dict[str, int]

    @property
    def percent(self) -> Decimal:
        """Devices with a disposition out of the affected devices; a recall of consumables
        without registered units counts acknowledged recipients instead."""
        if self.devices_total:
            done, total = self.devices_done, self.devices_total
        elif self.recipients_total:
            done, total = self.recipients_acknowledged, self.recipients_total
        else:
            return Decimal(0)
        return (Decimal(100) * done / total).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def recall_progress(recall: Recall) -> RecallProgress:
    """Progress in two queries (devices by disposition, recipients by state)."""
    counts = dict(
        RecallDevice.objects.filter(recall=recall)
        .values_list("disposition")
        .annotate(count=Count("pk"))
        .values_list("disposition", "count")
    )
    recipients = RecallRecipient.objects.filter(recall=recall).aggregate(
        total=Count("pk"),
        notified=Count("pk", filter=Q(notified_at__isnull=False)),
        acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
    )
    total = sum(counts.values())
    return RecallProgress(
        devices_total=total,
        devices_done=total - counts.get("", 0),
        recipients_total=recipients["total"],
        recipients_notified=recipients["notified"],
        recipients_acknowledged=recipients["acknowledged"],
        by_disposition={key: value for key, value in counts.items() if key},
    )


# --- Deadline warnings (the periodic job) -------------------------------------------------------


def _recall_people(recall: Recall, staff: list[Any]) -> list[Any]:
    people = list(staff)
    for person in (recall.responsible, recall.decided_by):
        if person is not None and person not in people:
            people.append(person)
    return people


def recall_deadline_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Warn quality staff and the recall's responsible person when a recipient is still not
    notified 75% into CN-RC-1's time, the filing is not recorded 75% into CN-RC-2's, or the
    summary report is not submitted 75% into CN-RC-3's (counted from the recall's end), and
    again when the time has passed. Once each (a conditional update claims it): safe to run
    twice, or on two machines at once."""
    from medservice.quality.services import quality_staff

    now = now or timezone.now()
    counts = {"warned": 0, "breached": 0}
    running = list(
        Recall.objects.filter(status=S.IN_PROGRESS)
        .filter(
            Q(notify_breached_at__isnull=True, recipients__notified_at__isnull=True)
            | Q(filing_breached_at__isnull=True, filed_at__isnull=True)
            | Q(
                summary_breached_at__isnull=True,
                summary_submitted_at__isnull=True,
                summary_due_at__isnull=False,
            )
        )
        .select_related("responsible", "decided_by", "device_model")
        .distinct()
        .order_by("notify_due_at", "pk")
    )
    if not running:
        return counts
    staff = quality_staff()
    pending_notices = set(
        RecallRecipient.objects.filter(recall__in=running, notified_at__isnull=True).values_list(
            "recall_id", flat=True
        )
    )
    for recall in running:
        # (clock, its start, its due time)
        clocks = []
        if recall.pk in pending_notices:
            clocks.append(("notify", recall.decided_at, recall.notify_due_at))
        if recall.filed_at is None:
            clocks.append(("filing", recall.decided_at, recall.filing_due_at))
        if recall.summary_due_at is not None and recall.summary_submitted_at is None:
            clocks.append(("summary", recall.ended_at, recall.summary_due_at))
        for clock, start, due in clocks:
            warn_at = start + (due - start) * float(WARN_FRACTION)
            if now < warn_at:
                continue
            breached = due <= now
            column = f"{clock}_breached_at" if breached else f"{clock}_warned_at"
            with transaction.atomic():
                claimed = Recall._base_manager.filter(
                    pk=recall.pk, **{f"{column}__isnull": True}
                ).update(**{column: now})
                if not claimed:
                    continue
                notify(
                    recipients=_recall_people(recall, staff),
                    template=f"recall_{clock}_{'breached' if breached else 'due'}",
                    context={"recall": recall, "due": due},
                    link=_link(recall),
                )
            counts["breached" if breached else "warned"] += 1
    return counts


# --- Reports --------------------------------------------------------------------------------------


def _report_context(recall: Recall, kind: str) -> dict[str, Any]:
    from medservice.core.signatures import signatures_of

    recipients = list(
        RecallRecipient.objects.filter(recall=recall)
        .select_related("organization", "contact")
        .prefetch_related("notices")
        .order_by("organization__name", "pk")
    )
    devices = list(
        RecallDevice.objects.filter(recall=recall)
        .select_related("device__organization", "device__department", "work_order")
        .order_by("device__organization__name", "device__serial_number", "pk")
    )
    signoffs = []
    for signoff in RecallSignoff.objects.filter(recall=recall).order_by("pk"):
        signoffs.append({"signoff": signoff, "signatures": signatures_of(signoff)})
    return {
        "recall": recall,
        "kind": kind,
        "summary": kind == "summary",
        "progress": recall_progress(recall),
        "recipients": recipients,
        "devices": devices,
        "signoffs": signoffs,
        "generated_at": timezone.now(),
    }


REPORT_KINDS = ("progress", "summary")


def recall_report_pdf(recall: Recall, kind: str = "progress") -> bytes:
    """The progress report (where the recall stands) or the summary report (the whole record
    with filing, effectiveness and signatures), A4."""
    from weasyprint import HTML

    html = render_to_string("quality/recalls_report_pdf.html", _report_context(recall, kind))
    return HTML(string=html).write_pdf()


def _when(value: datetime.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def recall_report_xlsx(recall: Recall, kind: str = "progress") -> bytes:
    """The same report as a workbook: the recall, its recipients, its devices."""
    from openpyxl import Workbook

    context = _report_context(recall, kind)
    progress: RecallProgress = context["progress"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Recall")[:31]
    facts = [
        (_("Number"), recall.number),
        (_("Kind"), recall.get_kind_display()),
        (_("Status"), recall.get_status_display()),
        (_("Recall class"), recall.get_recall_class_display()),
        (_("Device model"), str(recall.device_model)),
        (_("Scope"), recall.scope_text),
        (_("Reason"), recall.reason),
        (_("Decided at"), _when(recall.decided_at)),
        (_("Notices due"), _when(recall.notify_due_at)),
        (_("Regulator filing due"), _when(recall.filing_due_at)),
        (_("Filed at"), _when(recall.filed_at)),
        (_("Filing reference"), recall.filing_reference),
        (_("Devices"), progress.devices_total),
        (_("Devices with a disposition"), progress.devices_done),
        (_("Progress %"), float(progress.percent)),
        (_("Recipients notified"), f"{progress.recipients_notified}/{progress.recipients_total}"),
        (_("Recipients acknowledged"),
         f"{progress.recipients_acknowledged}/{progress.recipients_total}"),
    ]  # fmt: skip
    if kind == "summary":
        facts += [
            (_("Effectiveness checked at"), _when(recall.effectiveness_checked_at)),
            (_("Recall effective"), _("Yes") if recall.effectiveness_effective else _("No")),
            (_("Effectiveness check"), recall.effectiveness_note),
            (_("Recall ended at"), _when(recall.ended_at)),
            (_("Summary report due"), _when(recall.summary_due_at)),
            (_("Summary report submitted at"), _when(recall.summary_submitted_at)),
            (_("Summary report reference"), recall.summary_reference),
            (_("Closed at"), _when(recall.closed_at)),
        ]
    for label, value in facts:
        sheet.append([str(label), _cell(value)])
    recipients_sheet = workbook.create_sheet(_("Recipients")[:31])
    recipients_sheet.append(
        [
            _("Organisation"),
            _("Contact"),
            _("Quantity delivered"),
            _("Devices"),
            _("Notified at"),
            _("Channels"),
            _("Acknowledged at"),
            _("Acknowledged by"),
            _("Quantity held"),
            _("Quantity returned"),
            _("Quantity corrected"),
        ]
    )
    for recipient in context["recipients"]:
        recipients_sheet.append(
            [
                _cell(recipient.organization.name),
                _cell(recipient.contact.name if recipient.contact else ""),
                recipient.quantity_delivered,
                recipient.devices_count,
                _when(recipient.notified_at),
                ", ".join(str(n.get_channel_display()) for n in recipient.notices.all()),
                _when(recipient.acknowledged_at),
                _cell(recipient.acknowledged_by_name),
                recipient.quantity_held,
                recipient.quantity_returned,
                recipient.quantity_corrected,
            ]
        )
    devices_sheet = workbook.create_sheet(_("Devices")[:31])
    devices_sheet.append(
        [
            _("Organisation"),
            _("Department"),
            _("Serial number"),
            _("Batch number"),
            _("Disposition"),
            _("Recorded at"),
            _("Work order"),
            _("Note"),
        ]
    )
    for entry in context["devices"]:
        device = entry.device
        devices_sheet.append(
            [
                _cell(device.organization.name),
                _cell(device.department.name if device.department_id else ""),
                _cell(device.serial_number),
                _cell(device.batch_number),
                str(entry.get_disposition_display() or _("Open")),
                _when(entry.disposition_at),
                entry.work_order.number if entry.work_order_id else "",
                _cell(entry.disposition_note),
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    # What someone typed is text, never a formula.
    if isinstance(value, str) and value.startswith("="):
        return "'" + value
    return value


# --- Who sees recalls ---------------------------------------------------------------------------


def recalls_visible_to(user: Any) -> Any:
    """Recalls are the company's quality records: internal roles whose permissions allow (quality,
    service managers, auditors); never customers or distributors, who receive the notices."""
    from medservice.customers.selectors import user_scope

    if user is None or user_scope(user) != "internal":
        return Recall.objects.none()
    return Recall.objects.all()


def trace_allowed(user: Any) -> bool:
    """Who may run the quality trace (every owner, contact and delivery of a batch): internal
    users who may see recalls."""
    from medservice.customers.selectors import user_scope

    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user_scope(user) == "internal"
        and user.has_perm("quality.view_recall")
    )
