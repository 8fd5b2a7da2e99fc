"""Investigation and decision of quality cases: investigation entries, supplier and manufacturer
notices with their reminders, the quality manager's signed decision and what each outcome sets
off, the case's batch hold and evidence hold, and the feedback owed to the regulator.

The procedure (procedures-zh.txt 4.5): every quality complaint is notified to the supplier, the
manufacturer when needed; the quality department decides whether it is a service issue (improve
with the salesperson), no defect (the batch may be sold and used again), use error or individual
difference (advise), an adverse event (report it where the law says so), a quality accident
(report and handle) or a product defect (notify supplier and manufacturer, CAPA, maybe recall).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
    SignatureError,
)
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.signatures import signature_sign
from medservice.core.workflow import Transition, transition
from medservice.customers.selectors import user_scope
from medservice.quality.choices import (
    OPEN_CASE_STATUSES,
    CaseStatus,
    DecisionOutcome,
    FeedbackChannel,
    Harm,
    InvestigationKind,
    Market,
    MessageChannel,
    NoticeChannel,
    NoticeReason,
    NoticeRecipient,
    NoticeStatus,
    RegulatoryRole,
)
from medservice.quality.models import (
    CaseDecision,
    CaseMessage,
    CaseRegulatorFeedback,
    DecisionLink,
    DecisionMarket,
    InvestigationEntry,
    QualityCase,
    SupplierNotice,
)

FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
NOTICE_PREFIX = "SN"


# --- settings ------------------------------------------------------------------------------------


def regulatory_role() -> str:
    """The company's role under the device regulations: who reports what (REGULATORY.md)."""
    role = getattr(settings, "QUALITY_REGULATORY_ROLE", RegulatoryRole.DISTRIBUTOR)
    return role if role in RegulatoryRole.values else RegulatoryRole.DISTRIBUTOR


def notice_response_days() -> int:
    """Days a supplier or manufacturer is given to answer a notice (the default due date)."""
    return int(getattr(settings, "QUALITY_NOTICE_RESPONSE_DAYS", 7))


def notice_reminder_period() -> datetime.timedelta:
    """How often an unacknowledged notice is chased."""
    return datetime.timedelta(days=int(getattr(settings, "QUALITY_NOTICE_REMINDER_DAYS", 2)))


# --- who reports what --------------------------------------------------------------------------


@dataclass(frozen=True)
class Duty:
    """What a reportable adverse event obliges the company to do in one market, given its role:
    report to the authority itself (under the REGULATORY.md rules listed), and/or tell the
    registrant / manufacturer, who then reports."""

    to_authority: bool
    inform: str  # "", "registrant" or "manufacturer": both are the device model's manufacturer
    rules: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = []
        if self.to_authority:
            parts.append(
                _("Report to the authority (%(rules)s).") % {"rules": ", ".join(self.rules)}
                if self.rules
                else _("Report to the authority.")
            )
        if self.inform == "registrant":
            parts.append(_("Inform the registrant (the manufacturer)."))
        elif self.inform == "manufacturer":
            parts.append(_("Inform the manufacturer, who reports."))
        return " ".join(parts)


CN_HOLDER_RULES = ("CN-AE-1", "CN-AE-2", "CN-AE-3", "CN-AE-4")
CN_REPORTER_RULES = ("CN-AE-1", "CN-AE-2", "CN-AE-4")
# REGULATORY.md "Which duties apply depends on the company's regulatory role ... and the market
# where the device was supplied". The holder reports everywhere (CN-AE-1..4, US-MDR-1/2,
# EU-V-1..3); a domestic agent / importer reports for the foreign holder and tells it (US: the
# importer's US-MDR-3); distributors and user institutions in China report to the monitoring
# system and tell the registrant; a US user facility reports under US-MDR-3. Rows without a rule
# (the EU for distributors, agents, users; US distributors) are unverified: they stay
# overridable with the QUALITY_REPORTING_DUTIES setting.
REPORTING_DUTIES: dict[str, dict[str, Duty]] = {
    RegulatoryRole.REGISTRANT: {
        Market.CN: Duty(True, "", CN_HOLDER_RULES),
        Market.US: Duty(True, "", ("US-MDR-1", "US-MDR-2")),
        Market.EU: Duty(True, "", ("EU-V-1", "EU-V-2", "EU-V-3")),
    },
    RegulatoryRole.AGENT: {
        Market.CN: Duty(True, "manufacturer", CN_HOLDER_RULES),
        Market.US: Duty(True, "manufacturer", ("US-MDR-3",)),
        Market.EU: Duty(False, "manufacturer"),
    },
    RegulatoryRole.DISTRIBUTOR: {
        Market.CN: Duty(True, "registrant", CN_REPORTER_RULES),
        Market.US: Duty(False, "manufacturer"),
        Market.EU: Duty(False, "manufacturer"),
    },
    RegulatoryRole.USER: {
        Market.CN: Duty(True, "registrant", CN_REPORTER_RULES),
        Market.US: Duty(True, "manufacturer", ("US-MDR-3",)),
        Market.EU: Duty(False, "manufacturer"),
    },
}


def duty_for(role: str, market: str) -> Duty:
    override = getattr(settings, "QUALITY_REPORTING_DUTIES", {}).get(role, {}).get(market)
    if override is not None:
        return Duty(
            bool(override.get("to_authority")),
            override.get("inform", ""),
            tuple(override.get("rules", ())),
        )
    return REPORTING_DUTIES[role][market]


# --- the case's workflow -----------------------------------------------------------------------

CASE_TRANSITIONS = {
    "investigate": Transition(
        sources=frozenset(OPEN_CASE_STATUSES),
        target=CaseStatus.INVESTIGATING,
        permission="quality.add_investigationentry",
        label=_("Record an investigation step"),
    ),
    "decide": Transition(
        sources=frozenset(OPEN_CASE_STATUSES),
        target=CaseStatus.DECIDED,
        permission="quality.add_casedecision",
        label=_("Decide"),
        style="primary",
    ),
}

NOTICE_TRANSITIONS = {
    "send": Transition(
        sources=frozenset({NoticeStatus.DRAFT}),
        target=NoticeStatus.SENT,
        permission="quality.change_suppliernotice",
        label=_("Record as sent"),
        style="primary",
    ),
    "acknowledge": Transition(
        sources=frozenset({NoticeStatus.SENT}),
        target=NoticeStatus.ACKNOWLEDGED,
        permission="quality.change_suppliernotice",
        label=_("Record the acknowledgement"),
    ),
    "respond": Transition(
        sources=frozenset({NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED}),
        target=NoticeStatus.RESPONDED,
        permission="quality.change_suppliernotice",
        label=_("Record the response"),
    ),
}


def _require(actor: Any, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _text(value: Any) -> str:
    return (value or "").strip() if isinstance(value, str) or value is None else str(value)


def _when(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _case_link(case: QualityCase) -> str:
    return reverse("quality:quality-cases-detail", kwargs={"pk": case.pk})


def _not_future(problems: Problems, field: str, moment: datetime.datetime | None) -> None:
    if moment is not None and moment > timezone.now() + FUTURE_TOLERANCE:
        problems.add(field, _("This time is in the future."))


# --- scoping -----------------------------------------------------------------------------------


def supplier_notices_visible_to(user: Any) -> QuerySet[SupplierNotice]:
    """Quality records are internal: the company's staff whose role may read them."""
    if user is None or user_scope(user) != "internal":
        return SupplierNotice.objects.none()
    return SupplierNotice.objects.all()


# --- investigation -----------------------------------------------------------------------------


def investigation_record(
    *,
    actor: Any,
    case: QualityCase,
    kind: str,
    performed_on: datetime.date | None,
    activity: str,
    findings: str,
    performed_by: Any = None,
) -> InvestigationEntry:
    """Record one investigation step (a test, an inspection, a visit, a records review) with its
    findings; an open case moves to investigation. The batch's stock and distribution are the
    trace's, not re-entered here."""
    _require(actor, "quality.add_investigationentry", _("You may not record investigation steps."))
    problems = Problems()
    if kind not in InvestigationKind.values:
        problems.add("kind", _("Choose what kind of step it was."))
    if performed_on is None:
        problems.add("performed_on", _("Give the day it was done."))
    elif performed_on > timezone.localdate():
        problems.add("performed_on", _("The step cannot be done in the future."))
    elif performed_on < timezone.localdate(case.awareness_at):
        problems.add(
            "performed_on", _("The step cannot be before the company was aware of the complaint.")
        )
    if not _text(activity):
        problems.add("activity", _("Say what was done (the test, inspection or review)."))
    if not _text(findings):
        problems.add("findings", _("Write down what it found."))
    problems.raise_if_any(_("The investigation step was not recorded."))
    with transaction.atomic():
        case = transition(case, "investigate", transitions=CASE_TRANSITIONS, actor=actor)
        with audit_context(actor=actor):
            return InvestigationEntry.objects.create(
                case=case,
                kind=kind,
                performed_on=performed_on,
                performed_by=performed_by or actor,
                activity=_text(activity),
                findings=_text(findings),
                recorded_by=actor,
            )


# --- supplier and manufacturer notices ---------------------------------------------------------


def supplier_of(case: QualityCase) -> Any:
    """The supplier that supplied the product of the case: the unit's own supplier, else its
    delivery line's, else the supplier on any delivery line of the same model and batch."""
    from medservice.installed_base.models import DeliveryLine

    device = case.device
    if device is not None:
        if device.supplier_id:
            return device.supplier
        if device.delivery_line_id and device.delivery_line.supplier_id:
            return device.delivery_line.supplier
    if case.device_model_id and (case.batch_number or case.serial_number):
        lines = DeliveryLine.objects.filter(device_model=case.device_model, supplier__isnull=False)
        lines = (
            lines.filter(batch_number=case.batch_number)
            if case.batch_number
            else lines.filter(serial_number=case.serial_number)
        )
        line = lines.select_related("supplier").order_by("pk").first()
        if line is not None:
            return line.supplier
    return None


def manufacturer_of(case: QualityCase) -> Any:
    model = case.device_model or (case.device.device_model if case.device_id else None)
    return model.manufacturer if model is not None else None


def _product(case: QualityCase) -> str:
    model = case.device_model or (case.device.device_model if case.device_id else None)
    product = str(model) if model is not None else case.product_reported
    lot = case.batch_number or case.serial_number
    return f"{product} {lot}".strip() if lot else product


def _notice_text(case: QualityCase, reason: str) -> tuple[str, str]:
    """Subject and text of a notice, in the company's language (Chinese by default)."""
    language = getattr(settings, "QUALITY_NOTICE_LANGUAGE", "zh-hans")
    with translation.override(language):
        values = {"number": case.number, "product": _product(case) or "—"}
        if reason == NoticeReason.PRODUCT_DEFECT:
            subject = _("Product defect found: %(product)s (quality case %(number)s)") % values
        elif reason == NoticeReason.ADVERSE_EVENT:
            subject = _("Reportable adverse event: %(product)s (quality case %(number)s)") % values
        else:
            subject = _("Quality complaint about %(product)s (quality case %(number)s)") % values
        body = _(
            "Product: %(product)s\nReceived: %(received)s\nWhat happened: %(description)s\n"
            "Please acknowledge this notice and reply with your investigation."
        ) % {**values, "received": _when(case.awareness_at), "description": case.description}
        decision = getattr(case, "decision", None) if case.pk else None
        if decision is not None and reason != NoticeReason.CASE_OPENED:
            body += "\n" + _("Our decision: %(outcome)s. %(rationale)s") % {
                "outcome": decision.get_outcome_display(),
                "rationale": decision.rationale,
            }
    return subject[:200], body


def notice_create(
    *,
    actor: Any,
    case: QualityCase,
    recipient_kind: str,
    reason: str,
    supplier: Any = None,
    manufacturer: Any = None,
    subject: str = "",
    content: str = "",
) -> SupplierNotice:
    """Prepare a notice (to be sent) to the case's supplier or manufacturer: the recipient
    defaults to the product's, the text to a summary of the case; the supplier's repair clause
    is copied on it. A supplier notice without a known supplier is kept so the gap shows."""
    _require(actor, "quality.add_suppliernotice", _("You may not prepare supplier notices."))
    problems = Problems()
    if recipient_kind not in NoticeRecipient.values:
        problems.add("recipient_kind", _("Choose the supplier or the manufacturer."))
    if reason not in NoticeReason.values:
        problems.add("reason", _("Choose why the notice is sent."))
    problems.raise_if_any(_("The notice was not prepared."))
    if recipient_kind == NoticeRecipient.SUPPLIER:
        supplier, manufacturer = supplier or supplier_of(case), None
    else:
        supplier, manufacturer = None, manufacturer or manufacturer_of(case)
    default_subject, default_content = _notice_text(case, reason)
    notice = SupplierNotice(
        number=number_next(prefix=NOTICE_PREFIX),
        case=case,
        recipient_kind=recipient_kind,
        supplier=supplier,
        manufacturer=manufacturer,
        reason=reason,
        subject=_text(subject)[:200] or default_subject,
        content=_text(content) or default_content,
    )
    if supplier is not None:
        notice.quality_agreement_reference = supplier.quality_agreement_reference
        notice.repairs_under_agreement = supplier.repairs_under_agreement
        notice.repair_clause = supplier.repair_clause
    with transaction.atomic(), audit_context(actor=actor, job=None if actor else "quality"):
        notice.save()
    return notice


def case_opened_effects(case: QualityCase) -> None:
    """What every new case sets off besides its batch hold (called where cases are created):
    the notice to the supplier (the procedure: every quality complaint is notified to the
    supplier) and, for a serious incident with a known unit, the evidence hold."""
    if not case.supplier_notices.filter(reason=NoticeReason.CASE_OPENED).exists():
        notice_create(
            actor=None, case=case, recipient_kind=NoticeRecipient.SUPPLIER,
            reason=NoticeReason.CASE_OPENED,
        )  # fmt: skip
    if case.injury and case.device_id:
        case_evidence_hold(case)


def _notice_locked_transition(
    notice: SupplierNotice, name: str, *, actor: Any, changes: dict[str, Any]
) -> SupplierNotice:
    return transition(notice, name, transitions=NOTICE_TRANSITIONS, actor=actor, changes=changes)


def notice_send(
    *,
    actor: Any,
    notice: SupplierNotice,
    channel: str,
    sent_to: str = "",
    sent_at: datetime.datetime | None = None,
    response_due_on: datetime.date | None = None,
    supplier: Any = None,
    manufacturer: Any = None,
) -> SupplierNotice:
    """Record that the notice went out — how, to whom, when — and when the answer is due
    (default QUALITY_NOTICE_RESPONSE_DAYS later). Sent by e-mail to a known address, the
    e-mail itself goes out after commit; other channels are the sender's own act."""
    _require(actor, "quality.change_suppliernotice", _("You may not send supplier notices."))
    sent_at = sent_at or timezone.now()
    problems = Problems()
    if channel not in NoticeChannel.values:
        problems.add("channel", _("Choose how the notice is sent."))
    _not_future(problems, "sent_at", sent_at)
    recipient = (
        (supplier or notice.supplier)
        if notice.recipient_kind == NoticeRecipient.SUPPLIER
        else (manufacturer or notice.manufacturer)
    )
    if recipient is None:
        field = "supplier" if notice.recipient_kind == NoticeRecipient.SUPPLIER else "manufacturer"
        problems.add(field, _("Say to whom it is sent: the product's supplier is not known."))
    address = _text(sent_to)
    if not address and recipient is not None:
        address = (
            getattr(recipient, "email", "")
            if channel == NoticeChannel.EMAIL
            else getattr(recipient, "phone", "") or getattr(recipient, "contact", "")
        )
    if not address:
        problems.add("sent_to", _("Give the address, number or person it was sent to."))
    if channel == NoticeChannel.EMAIL and address and "@" not in address:
        problems.add("sent_to", _("Give an e-mail address."))
    due = response_due_on or timezone.localdate(sent_at) + datetime.timedelta(
        days=notice_response_days()
    )
    if due < timezone.localdate(sent_at):
        problems.add("response_due_on", _("The response cannot be due before the notice is sent."))
    problems.raise_if_any(_("The notice was not recorded as sent."))
    changes: dict[str, Any] = {
        "channel": channel, "sent_to": address[:200], "sent_at": sent_at, "sent_by": actor,
        "response_due_on": due,
    }  # fmt: skip
    if notice.recipient_kind == NoticeRecipient.SUPPLIER and notice.supplier_id is None:
        changes.update(
            supplier=recipient,
            quality_agreement_reference=recipient.quality_agreement_reference,
            repairs_under_agreement=recipient.repairs_under_agreement,
            repair_clause=recipient.repair_clause,
        )
    elif notice.recipient_kind == NoticeRecipient.MANUFACTURER and notice.manufacturer_id is None:
        changes["manufacturer"] = recipient
    with transaction.atomic():
        notice = _notice_locked_transition(notice, "send", actor=actor, changes=changes)
        if channel == NoticeChannel.EMAIL:
            _email_notice(notice, reminder=False)
    return notice


def _email_notice(notice: SupplierNotice, *, reminder: bool) -> None:
    subject = notice.subject
    if reminder:
        with translation.override(getattr(settings, "QUALITY_NOTICE_LANGUAGE", "zh-hans")):
            subject = _("Reminder: %(subject)s") % {"subject": subject}
    body = notice.content
    if notice.repair_clause:
        body += "\n\n" + notice.repair_clause
    pk, address = notice.pk, notice.sent_to

    def send() -> None:
        from medservice.quality.tasks import send_supplier_notice_email

        send_supplier_notice_email.enqueue(pk, subject[:200], body, address)

    transaction.on_commit(send)


def notice_acknowledge(
    *,
    actor: Any,
    notice: SupplierNotice,
    acknowledged_by_name: str,
    acknowledged_at: datetime.datetime | None = None,
) -> SupplierNotice:
    """The recipient confirmed receipt: the reminders stop."""
    _require(actor, "quality.change_suppliernotice", _("You may not update supplier notices."))
    acknowledged_at = acknowledged_at or timezone.now()
    problems = Problems()
    if not _text(acknowledged_by_name):
        problems.add("acknowledged_by_name", _("Say who acknowledged it."))
    _not_future(problems, "acknowledged_at", acknowledged_at)
    if notice.sent_at is not None and acknowledged_at < notice.sent_at:
        problems.add("acknowledged_at", _("It cannot be acknowledged before it was sent."))
    problems.raise_if_any(_("The acknowledgement was not recorded."))
    with transaction.atomic():
        return _notice_locked_transition(
            notice, "acknowledge", actor=actor,
            changes={"acknowledged_at": acknowledged_at,
                     "acknowledged_by_name": _text(acknowledged_by_name)[:200]},
        )  # fmt: skip


def notice_respond(
    *,
    actor: Any,
    notice: SupplierNotice,
    response: str,
    responded_at: datetime.datetime | None = None,
) -> SupplierNotice:
    """The recipient's answer (its investigation, the repair it will do under the agreement).
    An answer implies receipt: an unacknowledged notice counts as acknowledged then."""
    _require(actor, "quality.change_suppliernotice", _("You may not update supplier notices."))
    responded_at = responded_at or timezone.now()
    problems = Problems()
    if not _text(response):
        problems.add("response", _("Write down the response."))
    _not_future(problems, "responded_at", responded_at)
    if notice.sent_at is not None and responded_at < notice.sent_at:
        problems.add("responded_at", _("The response cannot come before the notice was sent."))
    problems.raise_if_any(_("The response was not recorded."))
    changes: dict[str, Any] = {"response": _text(response), "responded_at": responded_at}
    if notice.acknowledged_at is None:
        changes["acknowledged_at"] = responded_at
    with transaction.atomic():
        return _notice_locked_transition(notice, "respond", actor=actor, changes=changes)


def notice_reminders_sweep(*, now: datetime.datetime | None = None) -> int:
    """Chase every notice sent and not yet acknowledged, once per reminder period since it was
    sent or last chased: the case's quality staff are told, and an e-mailed notice is e-mailed
    again. Each reminder is claimed by a conditional update, so running the job twice (or on two
    machines) sends it once. Returns how many reminders went out."""
    from medservice.quality.services import quality_staff

    now = now or timezone.now()
    period = notice_reminder_period()
    due = Q(last_reminded_at__isnull=True, sent_at__lte=now - period) | Q(
        last_reminded_at__lte=now - period
    )
    candidates = (
        SupplierNotice.objects.filter(due, status=NoticeStatus.SENT)
        .select_related("case", "case__owner", "supplier", "manufacturer", "sent_by")
        .order_by("sent_at", "pk")
    )
    staff = None
    sent = 0
    for notice in candidates:
        with transaction.atomic():
            claimed = (
                SupplierNotice.objects.filter(pk=notice.pk, status=NoticeStatus.SENT)
                .filter(due)
                .update(last_reminded_at=now, reminder_count=notice.reminder_count + 1)
            )
            if not claimed:
                continue
            notice.last_reminded_at, notice.reminder_count = now, notice.reminder_count + 1
            staff = staff if staff is not None else quality_staff()
            recipients = list(staff)
            for person in (notice.case.owner, notice.sent_by):
                if person is not None and person not in recipients:
                    recipients.append(person)
            notify(
                recipients=recipients,
                template="quality_notice_reminder",
                context={"notice": notice, "recipient": notice.recipient},
                link=reverse("quality:supplier-notices-detail", kwargs={"pk": notice.pk}),
            )
            if notice.channel == NoticeChannel.EMAIL and notice.sent_to:
                _email_notice(notice, reminder=True)
        sent += 1
    return sent


# --- evidence hold -----------------------------------------------------------------------------


def case_evidence_hold(case: QualityCase, *, actor: Any = None, reason: str = "") -> Any:
    """Keep the case's unit as evidence (证据保全, EU MDR art. 89): a device involved in a
    serious incident is not altered before the authority is told. Placed by the case itself on
    a serious incident; one per unit (an existing evidence hold stands)."""
    from medservice.installed_base.choices import HoldKind, HoldScope
    from medservice.installed_base.services import evidence_hold_for, hold_place

    if case.device is None:
        return None
    existing = evidence_hold_for(case.device)
    if existing is not None:
        return existing
    return hold_place(
        actor=actor,
        scope=HoldScope.DEVICE,
        kind=HoldKind.EVIDENCE,
        device=case.device,
        reason=_text(reason)
        or _("Quality case %(number)s: device involved in a serious incident, kept as evidence.")
        % {"number": case.number},
        source=case.number,
    )


def evidence_hold_place(*, actor: Any, case: QualityCase, reason: str) -> Any:
    """Quality staff keep the case's unit as evidence (e.g. once it is returned)."""
    _require(actor, "installed_base.add_hold", _("You may not place holds."))
    problems = Problems()
    if case.device is None:
        problems.add("device", _("The case names no device to keep as evidence."))
    if not _text(reason):
        problems.add("reason", _("Say why the device is kept as evidence."))
    problems.raise_if_any(_("The evidence hold was not placed."))
    with transaction.atomic():
        return case_evidence_hold(case, actor=actor, reason=reason)


def case_evidence_holds(case: QualityCase) -> QuerySet:
    from medservice.installed_base.choices import HoldKind
    from medservice.installed_base.models import Hold

    if case.device_id is None:
        return Hold.objects.none()
    return Hold.objects.filter(device_id=case.device_id, kind=HoldKind.EVIDENCE).order_by("-pk")


def evidence_hold_release(*, actor: Any, case: QualityCase, reason: str) -> Any:
    """Only the quality manager releases an evidence hold, with the reason (e.g. the authority
    has been told and has no objection)."""
    from medservice.installed_base.services import evidence_hold_for, hold_release

    _require(
        actor, "quality.release_evidence_hold",
        _("Only the quality manager may release an evidence hold."),
    )  # fmt: skip
    hold = evidence_hold_for(case.device) if case.device is not None else None
    if hold is None:
        raise InvalidTransitionError(_("The case's device is not under an evidence hold."))
    return hold_release(actor=actor, hold=hold, reason=reason)


# --- the batch hold ----------------------------------------------------------------------------


def case_batch_holds(case: QualityCase) -> QuerySet:
    """The active batch (or serial) holds the case placed."""
    from medservice.installed_base.choices import HoldKind
    from medservice.installed_base.models import Hold

    return Hold.objects.filter(
        source=case.number, kind=HoldKind.QUALITY_REVIEW, released_at__isnull=True
    ).order_by("pk")


def _release_batch_holds(case: QualityCase, *, actor: Any, reason: str) -> list[Any]:
    """Release the case's batch holds; another case still open on the same batch puts it back
    on hold under its own number at once (same transaction), so the batch is never free while
    a case on it is open."""
    from medservice.installed_base.services import hold_release
    from medservice.quality.services import case_hold_batch

    released = [
        hold_release(actor=actor, hold=hold, reason=reason) for hold in case_batch_holds(case)
    ]
    if released and case.device_model_id:
        others = QualityCase.objects.filter(
            device_model_id=case.device_model_id, status__in=OPEN_CASE_STATUSES
        ).exclude(pk=case.pk)
        others = (
            others.filter(batch_number=case.batch_number)
            if case.batch_number
            else others.filter(serial_number=case.serial_number)
        )
        for other in others.order_by("pk"):
            case_hold_batch(other)
    return released


def case_hold_release(*, actor: Any, case: QualityCase, reason: str) -> list[Any]:
    """The quality manager releases the batch hold of a decided case (the hold stays after any
    decision but "no defect" until then)."""
    _require(
        actor, "quality.release_batch_hold",
        _("Only the quality manager may release the batch hold of a quality case."),
    )  # fmt: skip
    if not _text(reason):
        message = _("Say why the batch may be used again.")
        raise InvalidInputError(message, fields={"reason": [message]})
    with transaction.atomic():
        locked = QualityCase.objects.select_for_update().get(pk=case.pk)
        if locked.status in OPEN_CASE_STATUSES:
            raise InvalidTransitionError(
                _("Case %(number)s is not decided yet: its batch stays on hold until it is.")
                % {"number": locked.number}
            )
        released = _release_batch_holds(locked, actor=actor, reason=_text(reason))
        if not released:
            raise InvalidTransitionError(_("The case's batch is not on hold."))
    return released


# --- messages to the complainant and to customers holding the batch ----------------------------


def _holding_organizations(case: QualityCase) -> list[Any]:
    """Organisations holding units of the case's batch (or serial): owners of the devices and
    customers of the delivery lines."""
    from medservice.customers.models import Organization
    from medservice.installed_base.models import DeliveryLine, Device

    if not case.device_model_id or not (case.batch_number or case.serial_number):
        return []
    match = (
        {"batch_number": case.batch_number}
        if case.batch_number
        else {"serial_number": case.serial_number}
    )
    owners = Device.objects.filter(device_model_id=case.device_model_id, **match).values(
        "organization_id"
    )
    customers = DeliveryLine.objects.filter(device_model_id=case.device_model_id, **match).values(
        "delivery__organization_id"
    )
    return list(Organization.objects.filter(Q(pk__in=owners) | Q(pk__in=customers)).order_by("pk"))


def _resume_text(case: QualityCase, language: str) -> tuple[str, str]:
    with translation.override(language or "zh-hans"):
        values = {"number": case.number, "product": _product(case) or "—"}
        subject = _("Quality case %(number)s: use may resume") % values
        text = (
            _(
                "Our investigation of quality case %(number)s found no defect in %(product)s. "
                "The stop-use advice is lifted: you may resume using it."
            )
            % values
        )
    return subject, text


def _message(
    case: QualityCase, *, organization: Any, name: str, language: str, email: str, phone: str,
    complainant: bool, now: datetime.datetime,
) -> list[CaseMessage]:  # fmt: skip
    subject, text = _resume_text(case, language)
    recorded = []
    for channel, address in ((MessageChannel.EMAIL, email), (MessageChannel.SMS, phone)):
        if address:
            recorded.append(
                CaseMessage.objects.create(
                    case=case,
                    organization=organization,
                    complainant=complainant,
                    recipient_name=name,
                    address=address,
                    channel=channel,
                    text=text,
                    sent_at=now,
                )
            )
    if recorded:
        case_id = case.pk

        def send() -> None:
            from medservice.quality.tasks import send_case_message

            send_case_message.enqueue(case_id, subject, text, email or "", phone or "")

        transaction.on_commit(send)
    return recorded


def use_may_resume_send(case: QualityCase, *, actor: Any) -> list[CaseMessage]:
    """Tell the complainant and every customer holding the batch that use may resume (the
    procedure 4.5.3), by e-mail and the SMS interface, each message recorded on the case; the
    complainant's service request gets the message on its timeline too (the portal shows it)."""
    now = timezone.now()
    messages: list[CaseMessage] = []
    ticket = case.ticket
    contact = ticket.contact if ticket is not None and ticket.contact_id else None
    with audit_context(actor=actor):
        if contact is not None or case.complainant_phone:
            email = (contact.email if contact else "") or (ticket.reporter_email if ticket else "")
            phone = ((contact.mobile or contact.phone) if contact else "") or case.complainant_phone
            language = contact.language if contact is not None else "zh-hans"
            messages += _message(
                case, organization=case.organization, name=case.complainant_name,
                language=language, email=email, phone=phone, complainant=True, now=now,
            )  # fmt: skip
            if ticket is not None:
                from medservice.tickets.choices import TimelineKind
                from medservice.tickets.services import timeline_add

                timeline_add(
                    ticket, kind=TimelineKind.MESSAGE, text=_resume_text(case, language)[1],
                    actor=actor, customer_visible=True, data={"event": "use_may_resume"},
                )  # fmt: skip
        for organization in _holding_organizations(case):
            for person in organization.contacts.filter(anonymised_at__isnull=True).order_by("pk"):
                if contact is not None and person.pk == contact.pk:
                    continue
                messages += _message(
                    case, organization=organization, name=person.name, language=person.language,
                    email=person.email, phone=person.mobile or person.phone, complainant=False,
                    now=now,
                )  # fmt: skip
    return messages


# --- the decision ------------------------------------------------------------------------------


def _link(decision: CaseDecision, record: Any) -> DecisionLink | None:
    if record is None or getattr(record, "pk", None) is None:
        return None
    return DecisionLink.objects.create(
        decision=decision,
        content_type=ContentType.objects.get_for_model(record, for_concrete_model=True),
        object_id=str(record.pk),
        label=str(record)[:200],
    )


def _service_managers() -> list[Any]:
    from medservice.accounts.choices import Role
    from medservice.accounts.models import User

    return list(
        User.objects.filter(is_active=True, groups__name=str(Role.SERVICE_MANAGER))
        .distinct()
        .order_by("pk")
    )


def effect_service_issue(decision: CaseDecision, actor: Any) -> None:
    """4.5.1: a service issue — an improvement action with the salesperson, who and the service
    managers are told."""
    from medservice.quality.capa import capa_open

    case = decision.case
    capa = capa_open(
        actor=actor,
        kind="improvement",
        problem=_("Service issue found by quality case %(number)s: %(rationale)s")
        % {"number": case.number, "rationale": decision.rationale},
        source=case,
        source_label=case.number,
        owner=decision.salesperson,
    )
    _link(decision, capa)
    recipients = _service_managers()
    if decision.salesperson is not None and decision.salesperson not in recipients:
        recipients.insert(0, decision.salesperson)
    notify(
        recipients=recipients,
        template="quality_service_improvement",
        context={"case": case, "decision": decision},
        link=_case_link(case),
    )


def effect_no_defect(decision: CaseDecision, actor: Any) -> None:
    """4.5.3: no defect — the batch may be sold and used again: the case's hold is released and
    the complainant and the customers holding the batch are told."""
    case = decision.case
    _release_batch_holds(
        case, actor=actor,
        reason=_("Quality case %(number)s decided: no defect found.") % {"number": case.number},
    )  # fmt: skip
    use_may_resume_send(case, actor=actor)


def effect_recorded_only(decision: CaseDecision, actor: Any) -> None:
    """4.5.4 / 4.5.5: the advice or the rationale is the record; nothing else is set off."""


def effect_reportable_ae(decision: CaseDecision, actor: Any) -> None:
    """4.5.6: open the adverse-event report of each market decided reportable where the
    company reports to the authority itself; where its role makes it tell the registrant or
    manufacturer instead (or as well), prepare the notice to the manufacturer."""
    from medservice.quality.adverse_events import report_open_from_case

    case = decision.case
    inform = False
    for row in decision.markets.filter(reportable=True).order_by("market"):
        duty = duty_for(decision.regulatory_role, row.market)
        if duty.to_authority:
            _link(
                decision,
                report_open_from_case(
                    actor=actor, case=case, market=row.market, outcome=decision.harm
                ),
            )
        inform = inform or bool(duty.inform)
    if inform:
        notices_for_decision(decision, actor=actor, reason=NoticeReason.ADVERSE_EVENT,
                             kinds=(NoticeRecipient.MANUFACTURER,))  # fmt: skip


def effect_quality_accident(decision: CaseDecision, actor: Any) -> None:
    """4.5.7: a quality accident — its record and report."""
    from medservice.quality.accidents import accident_open_from_case

    _link(decision, accident_open_from_case(actor=actor, case=decision.case))


def notices_for_decision(
    decision: CaseDecision,
    *,
    actor: Any,
    reason: str,
    kinds: Iterable[str] = (NoticeRecipient.SUPPLIER, NoticeRecipient.MANUFACTURER),
) -> list[SupplierNotice]:
    """Prepare the notices a decision calls for (to be sent by quality staff)."""
    return [
        notice_create(actor=None, case=decision.case, recipient_kind=kind, reason=reason)
        for kind in kinds
    ]


def effect_product_defect(decision: CaseDecision, actor: Any) -> None:
    """A product defect: notices to the supplier and the manufacturer, a corrective CAPA; a
    recall, if needed, is started from the recall screen."""
    from medservice.quality.capa import capa_open

    case = decision.case
    notices_for_decision(decision, actor=actor, reason=NoticeReason.PRODUCT_DEFECT)
    capa = capa_open(
        actor=actor,
        kind="corrective",
        problem=_("Product defect found by quality case %(number)s: %(rationale)s")
        % {"number": case.number, "rationale": decision.rationale},
        source=case,
        source_label=case.number,
    )
    _link(decision, capa)


EFFECTS: dict[str, Callable[[CaseDecision, Any], None]] = {
    DecisionOutcome.SERVICE_ISSUE: effect_service_issue,
    DecisionOutcome.NO_DEFECT: effect_no_defect,
    DecisionOutcome.USE_ERROR: effect_recorded_only,
    DecisionOutcome.AE_NOT_REPORTABLE: effect_recorded_only,
    DecisionOutcome.REPORTABLE_AE: effect_reportable_ae,
    DecisionOutcome.QUALITY_ACCIDENT: effect_quality_accident,
    DecisionOutcome.PRODUCT_DEFECT: effect_product_defect,
}
AE_OUTCOMES = frozenset({DecisionOutcome.AE_NOT_REPORTABLE, DecisionOutcome.REPORTABLE_AE})


def default_salesperson(case: QualityCase) -> Any:
    device = case.device
    if device is not None and device.delivery_line_id:
        return device.delivery_line.delivery.salesperson
    return None


def _decision_problems(
    *, outcome: str, rationale: str, advice: str, harm: str, markets: list[str],
    reportable_markets: list[str],
) -> Problems:  # fmt: skip
    problems = Problems()
    if outcome not in DecisionOutcome.values:
        problems.add("outcome", _("Choose the outcome."))
    if not _text(rationale):
        problems.add("rationale", _("Give the rationale of the decision."))
    if outcome == DecisionOutcome.USE_ERROR and not _text(advice):
        problems.add("advice", _("Record the advice given to the complainant."))
    unknown = [market for market in [*markets, *reportable_markets] if market not in Market.values]
    if unknown:
        problems.add("markets", _("Unknown market: %(markets)s.") % {"markets": ", ".join(unknown)})
    if not markets:
        problems.add("markets", _("Choose the markets where the product is sold."))
    outside = [market for market in reportable_markets if market not in markets]
    if outside:
        problems.add(
            "reportable_markets",
            _("%(markets)s: the product is not sold there.") % {"markets": ", ".join(outside)},
        )
    if outcome == DecisionOutcome.REPORTABLE_AE and not reportable_markets:
        problems.add("reportable_markets", _("Choose the markets where it must be reported."))
    if outcome != DecisionOutcome.REPORTABLE_AE and reportable_markets:
        problems.add(
            "reportable_markets",
            _("Only a reportable adverse event is reportable: choose that outcome or no market."),
        )
    if outcome in AE_OUTCOMES and harm not in Harm.values:
        problems.add("harm", _("Say what harm the event did."))
    return problems


def case_decide(
    *,
    actor: Any,
    case: QualityCase,
    outcome: str,
    rationale: str,
    password: str,
    markets: Iterable[str],
    reportable_markets: Iterable[str] = (),
    harm: str = "",
    advice: str = "",
    salesperson: Any = None,
) -> CaseDecision:
    """The quality manager decides the case and signs the decision (password re-entered;
    printed name, time and meaning recorded); the case is decided and the outcome's effects
    follow in the same transaction, so a refusal anywhere leaves nothing half-done. The batch
    hold stays except on "no defect" (the quality manager releases it later otherwise)."""
    _require(actor, "quality.add_casedecision", _("Only the quality manager may decide cases."))
    markets = list(dict.fromkeys(markets or []))
    reportable_markets = list(dict.fromkeys(reportable_markets or []))
    harm = harm or ""
    problems = _decision_problems(
        outcome=outcome, rationale=rationale, advice=advice, harm=harm, markets=markets,
        reportable_markets=reportable_markets,
    )  # fmt: skip
    problems.raise_if_any(_("The case was not decided."))
    if actor is None or not password or not actor.check_password(password):
        raise SignatureError(
            _("The password is not correct; the decision was not signed."),
            fields={"password": [_("The password is not correct.")]},
        )
    role = regulatory_role()
    now = timezone.now()
    if outcome == DecisionOutcome.SERVICE_ISSUE and salesperson is None:
        salesperson = default_salesperson(case)
    with transaction.atomic():
        case = transition(case, "decide", transitions=CASE_TRANSITIONS, actor=actor)
        with audit_context(actor=actor, action="decide"):
            decision = CaseDecision.objects.create(
                case=case, outcome=outcome, rationale=_text(rationale), advice=_text(advice),
                harm=harm if outcome in AE_OUTCOMES else "", regulatory_role=role,
                salesperson=salesperson if outcome == DecisionOutcome.SERVICE_ISSUE else None,
                decided_by=actor, decided_at=now,
            )  # fmt: skip
            for market in sorted(markets):
                reportable = market in reportable_markets
                duty = duty_for(role, market)
                DecisionMarket.objects.create(
                    decision=decision, market=market, reportable=reportable,
                    duty=duty.describe() if reportable else "",
                    rule_ids=", ".join(duty.rules) if reportable else "",
                )  # fmt: skip
        signature_sign(
            actor=actor,
            record=decision,
            password=password,
            meaning=_("Quality decision on case %(number)s: %(outcome)s")
            % {"number": case.number, "outcome": decision.get_outcome_display()},
        )
        decision.case = case
        EFFECTS[outcome](decision, actor)
    decision.refresh_from_db()
    return decision


# --- regulator feedback ------------------------------------------------------------------------


def regulator_feedback_due(case: QualityCase) -> bool:
    """A complaint that came through the regulator's supervision phone owes the regulator
    feedback (the procedure: 向药监机关反馈处理意见) until it is recorded on the case."""
    from medservice.tickets.choices import Channel

    came_from_regulator = case.ticket is not None and case.ticket.channel == Channel.REGULATOR
    return came_from_regulator and not case.regulator_feedback.exists()


def regulator_feedback_record(
    *,
    actor: Any,
    case: QualityCase,
    given_to: str,
    channel: str,
    content: str,
    given_at: datetime.datetime | None = None,
) -> CaseRegulatorFeedback:
    """Record the feedback given to the regulator: when, to whom, how, what."""
    _require(
        actor, "quality.add_caseregulatorfeedback",
        _("You may not record feedback to the regulator."),
    )  # fmt: skip
    given_at = given_at or timezone.now()
    problems = Problems()
    if not _text(given_to):
        problems.add("given_to", _("Say to whom at the regulator it was given."))
    if channel not in FeedbackChannel.values:
        problems.add("channel", _("Choose how it was given."))
    if not _text(content):
        problems.add("content", _("Say what was reported back."))
    _not_future(problems, "given_at", given_at)
    if given_at < case.awareness_at:
        problems.add("given_at", _("Feedback cannot be given before the complaint was received."))
    problems.raise_if_any(_("The feedback to the regulator was not recorded."))
    with transaction.atomic(), audit_context(actor=actor):
        return CaseRegulatorFeedback.objects.create(
            case=case, given_at=given_at, given_to=_text(given_to)[:200], channel=channel,
            content=_text(content), given_by=actor,
        )  # fmt: skip
