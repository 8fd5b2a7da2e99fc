"""The service report (售后服务记录表): its content drawn from the completed work order, the
engineer's and the customer's signatures (on the engineer's phone or through a one-time link),
revisions, the PDF in the customer's language, the failure analysis report, and the fees."""

from __future__ import annotations

import base64
import binascii
import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.core.audit import audit_record
from medservice.core.choices import AuditAction, SignerKind
from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
    SignatureError,
)
from medservice.core.models import Signature
from medservice.work_orders.choices import (
    ChargeCategory,
    PaymentMethod,
    PaymentStatus,
    ReportLanguage,
    WorkOrderSource,
    WorkOrderStatus,
)
from medservice.work_orders.models import FeeItem, ServiceReport, SigningLink, WorkOrder
from medservice.work_orders.services import (
    coverage_lines,
    customer_inform,
    money,
    require_permission,
    require_text,
    service_managers,
    staff_notify,
    ticket_note,
    work_order_transition,
)

# What each signature on the report means (printed on it, kept with the signature).
ENGINEER_MEANING = gettext_lazy("Performed the service")
CUSTOMER_MEANING = gettext_lazy("Confirms the service result")
REVISION_MEANING = gettext_lazy("Corrected the service record")

PNG_PREFIX = "data:image/png;base64,"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SIGNATURE_MAX_BYTES = 500 * 1024


class SignMethod:
    ON_SITE = "on_site"
    PORTAL = "portal"
    LINK = "link"


# --- Formatting for print -----------------------------------------------------------------------


def _when(value: datetime.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _day(value: datetime.date | None) -> str:
    return value.isoformat() if value else ""


def _number(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    # normalize() alone prints 60 as 6E+1.
    return format(Decimal(value).normalize(), "f")


def _yes_no(value: bool | None) -> str:
    if value is None:
        return ""
    return _("Yes") if value else _("No")


def _name(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def absolute_url(path: str) -> str:
    return f"{settings.MEDSERVICE_PUBLIC_URL.rstrip('/')}{path}"


# --- Content ------------------------------------------------------------------------------------


def customer_language(work_order: WorkOrder) -> str:
    """The language the customer reads: the service request's contact's, else the first
    portal user's of the organisation, else Chinese."""
    from medservice.accounts.choices import Role
    from medservice.accounts.models import User

    language = ""
    ticket = work_order.ticket if work_order.ticket_id else None
    if ticket is not None and ticket.contact_id:
        language = ticket.contact.language
    if not language:
        portal_user = (
            User.objects.filter(
                is_active=True,
                organization_id=work_order.organization_id,
                groups__name=str(Role.CUSTOMER_USER),
            )
            .order_by("pk")
            .first()
        )
        language = portal_user.language if portal_user is not None else ""
    return language if language in ReportLanguage.values else ReportLanguage.CHINESE


def _trigger(work_order: WorkOrder) -> str:
    if work_order.source == WorkOrderSource.TICKET and work_order.ticket_id:
        ticket = work_order.ticket
        return _("Service request %(number)s (%(kind)s)") % {
            "number": ticket.number,
            "kind": ticket.get_kind_display(),
        }
    label = str(work_order.get_source_display())
    return f"{label} {work_order.source_reference}".strip()


def _part_name(part: Any, language: str) -> str:
    name = part.name_en if language == ReportLanguage.ENGLISH and part.name_en else part.name_zh
    return f"{part.number} {name}".strip()


def _engineers(work_order: WorkOrder, actor: Any) -> list[Any]:
    people: list[Any] = []
    candidates = [
        work_order.engineer,
        *(visit.engineer for visit in work_order.visits.select_related("engineer")),
        *(session.engineer for session in work_order.remote_sessions.select_related("engineer")),
        *(entry.engineer for entry in work_order.time_entries.select_related("engineer")),
        actor,
    ]
    for person in candidates:
        if person is not None and person not in people:
            people.append(person)
    return people


def _certification(person: Any, device_model: Any, day: datetime.date) -> str:
    from medservice.training.selectors import certification_for

    certification = certification_for(person, device_model, on=day)
    if certification is None:
        return _("No valid certification on record")
    scope = certification.device_model or certification.product_line
    return _("Certified for %(scope)s, valid %(start)s to %(end)s") % {
        "scope": scope,
        "start": _day(certification.valid_from),
        "end": _day(certification.valid_until),
    }


def report_content(work_order: WorkOrder, *, language: str, actor: Any = None) -> dict[str, Any]:
    """Everything the service record must show (REGULATORY.md "Service / repair record"), as
    printable strings in `language`, as the work order stands now."""
    work_order = WorkOrder.objects.select_related(
        "device__device_model", "organization", "department", "ticket", "fault_code",
        "document_version__document", "screened_by", "engineer",
    ).get(pk=work_order.pk)  # fmt: skip
    device = work_order.device
    device_model = device.device_model
    day = timezone.localdate(work_order.completed_at or timezone.now())
    with translation.override(language):
        visits = [
            {
                "engineer": _name(visit.engineer),
                "window": f"{_when(visit.window_start)} – {_when(visit.window_end)}",
                "checked_in": _when(visit.checked_in_at),
                "checked_out": _when(visit.checked_out_at),
                "status": str(visit.get_status_display()),
            }
            for visit in work_order.visits.select_related("engineer").order_by("window_start")
        ]
        arrivals = [visit.checked_in_at for visit in work_order.visits.all() if visit.checked_in_at]
        remote_sessions = [
            {
                "engineer": _name(session.engineer),
                "tool": session.tool,
                "started": _when(session.started_at),
                "minutes": str(session.duration_minutes),
                "outcome": str(session.get_outcome_display()),
                "notes": session.notes,
            }
            for session in work_order.remote_sessions.select_related("engineer")
        ]
        parts = []
        for usage in work_order.part_usages.select_related("part", "lot").order_by("pk"):
            lot = usage.lot_text
            if usage.lot is not None:
                lot = usage.lot.serial_number or usage.lot.lot_number or lot
            parts.append(
                {
                    "part": _part_name(usage.part, language),
                    "direction": str(_("Fitted") if usage.fitted else _("Removed")),
                    "quantity": _number(usage.quantity),
                    "lot": lot,
                }
            )
        tests = [
            {
                "item": result.item.name,
                "expected": _number(result.item.expected_value),
                "tolerance": _number(result.item.tolerance),
                "unit": result.item.unit,
                "measured": _number(result.measured_value),
                "passed": str(_("Pass") if result.passed else _("Fail")),
                "instrument": f"{result.instrument.number} {result.instrument.name}"
                if result.instrument is not None
                else "",
                "calibrated_on": _day(result.instrument_calibrated_on),
                "calibration_due": _day(result.instrument_calibration_due),
                "note": result.note,
            }
            for result in work_order.test_results.select_related("item", "instrument")
        ]
        hours = {"labour": Decimal(0), "travel": Decimal(0)}
        time_entries = []
        for entry in work_order.time_entries.select_related("engineer"):
            hours[entry.kind] = hours.get(entry.kind, Decimal(0)) + entry.hours
            time_entries.append(
                {
                    "engineer": _name(entry.engineer),
                    "kind": str(entry.get_kind_display()),
                    "day": _day(entry.day),
                    "hours": _number(entry.hours),
                    "note": entry.note,
                }
            )
        fees = [
            {
                "category": str(fee.get_category_display()),
                "description": fee.description,
                "amount": str(money(fee.amount)),
            }
            for fee in work_order.fees.order_by("pk")
        ]
        total = sum((fee.amount for fee in work_order.fees.all()), Decimal(0))
        coverage = [
            {
                "category": str(line["category"]),
                "covered": str(_("Covered") if line.get("covered") else _("Charged")),
                "reason": str(line.get("reason") or line.get("by") or ""),
            }
            for line in coverage_lines(work_order)
        ]
        engineers = [
            {"name": _name(person), "certification": _certification(person, device_model, day)}
            for person in _engineers(work_order, actor)
        ]
        udi = f"{device_model.udi_di}{device.udi_pi}" if device_model.udi_di else device.udi_pi
        return {
            "number": work_order.number,
            "kind": str(work_order.get_kind_display()),
            "trigger": _trigger(work_order),
            "route": str(work_order.get_route_display()),
            "device": {
                "name": device_model.name,
                "model_spec": device_model.model_spec,
                "serial": device.serial_number or device.batch_number,
                "udi": udi,
                "registration_number": device_model.registration_number,
                "asset_number": device.asset_number,
            },
            "customer": {
                "organization": str(work_order.organization),
                "department": str(work_order.department or ""),
                "address": work_order.site_address,
                "contact": work_order.contact_name,
                # The frozen record keeps the phone masked: the live number stays encrypted on
                # the work order, and a signed snapshot can never be anonymised in place.
                "phone": work_order.contact_phone_masked,
            },
            "dates": {
                "reported": _when(work_order.ticket.received_at) if work_order.ticket_id else "",
                "created": _when(work_order.created_at),
                "assessed": _when(work_order.assessed_at),
                "arrived": _when(min(arrivals)) if arrivals else "",
                "completed": _when(work_order.completed_at),
            },
            "visits": visits,
            "remote_sessions": remote_sessions,
            "engineers": engineers,
            "problem": work_order.problem,
            "assessment": work_order.assessment,
            "diagnosis": {
                "symptom": work_order.symptom,
                "fault_code": str(work_order.fault_code or ""),
                "root_cause": work_order.root_cause,
                "actions": work_order.actions_taken,
                "guidance": work_order.guidance,
            },
            "parts": parts,
            "tests": tests,
            "test_override": work_order.test_override_reason,
            "time": time_entries,
            "labour_hours": _number(hours.get("labour")),
            "travel_hours": _number(hours.get("travel")),
            "fees": fees,
            "fees_total": str(money(total)),
            "coverage": coverage,
            "payment": str(work_order.get_payment_status_display()),
            "result": str(work_order.get_result_display()),
            "procedure_version": str(work_order.document_version or ""),
            "screening": {
                "is_complaint": _yes_no(work_order.is_complaint),
                "may_be_reportable": _yes_no(work_order.may_be_reportable),
                "note": work_order.screening_note,
                "screened_at": _when(work_order.screened_at),
                "screened_by": _name(work_order.screened_by),
            },
            "next_pm": _day(device.next_pm_due_on),
        }


# --- Reports and signatures ---------------------------------------------------------------------


def report_current(work_order: WorkOrder) -> ServiceReport | None:
    """The latest revision, the only one that can be signed."""
    return (
        ServiceReport.objects.filter(work_order=work_order, superseded_by__isnull=True)
        .order_by("-revision", "-pk")
        .first()
    )


def _signature_record(
    report: ServiceReport, *, actor: Any, meaning: Any, printed_name: str
) -> Signature:
    """An internal signature that does not freeze the report: the customer signs after it."""
    from medservice.core.signatures import content_hash

    with translation.override(report.language):
        text = str(meaning)
    signature = Signature.objects.create(
        content_type=ContentType.objects.get_for_model(report, for_concrete_model=True),
        object_id=str(report.pk),
        signer=actor,
        signer_kind=SignerKind.INTERNAL,
        printed_name=printed_name[:200],
        meaning=text,
        signed_at=timezone.now(),
        content_hash=content_hash(report),
        revision=report.revision,
    )
    audit_record(report, AuditAction.SIGN, before={}, after={"signature": signature.pk},
                 detail=text[:100])  # fmt: skip
    return signature


def _send_signing_link(report: ServiceReport, *, actor: Any) -> str:
    from medservice.work_orders.links import link_create, link_days

    work_order = report.work_order
    token = link_create(report=report, sent_to=work_order.contact_phone or "")
    url = absolute_url(reverse("work_orders:report-sign-link", kwargs={"token": token}))
    customer_inform(
        work_order,
        text=_(
            "Please sign service report %(number)s (revision %(revision)s) here: %(link)s "
            "(the link works once, for %(days)s days)."
        )
        % {"number": report.number, "revision": report.revision, "link": url,
           "days": link_days()},
        actor=actor,
    )  # fmt: skip
    return token


def report_create(*, actor: Any, work_order: WorkOrder, language: str = "") -> ServiceReport:
    """The report of a just-completed work order, signed by the engineer (`actor`, whose
    password the caller has checked), waiting for the customer's signature; the customer is
    sent a one-time link to sign it remotely."""
    if language and language not in ReportLanguage.values:
        message = _("Choose the report's language.")
        raise InvalidInputError(message, fields={"language": [message]})
    language = language or customer_language(work_order)
    with transaction.atomic(), audit_context(actor=actor):
        previous = ServiceReport.objects.filter(work_order=work_order).order_by("-revision")
        revision = (previous.values_list("revision", flat=True).first() or 0) + 1
        report = ServiceReport.objects.create(
            work_order=work_order,
            number=work_order.number,
            revision=revision,
            supersedes=report_current(work_order),
            language=language,
            content=report_content(work_order, language=language, actor=actor),
            engineer_name=_name(actor)[:100],
            engineer_signed_at=timezone.now(),
        )
        _signature_record(report, actor=actor, meaning=ENGINEER_MEANING,
                          printed_name=report.engineer_name)  # fmt: skip
        _send_signing_link(report, actor=actor)
    return report


def _signature_image_problems(signature_image: str) -> str:
    """Why the drawn signature is not acceptable, or ""."""
    value = (signature_image or "").strip()
    if not value:
        return _("Draw the signature.")
    if not value.startswith(PNG_PREFIX):
        return _("The signature must be a PNG image drawn on screen.")
    encoded = value[len(PNG_PREFIX) :]
    # Base64 is 4/3 of the bytes: refuse before decoding anything huge.
    if len(encoded) > SIGNATURE_MAX_BYTES * 4 // 3 + 4:
        return _("The signature image is too large (500 KB at most).")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return _("The signature image could not be read.")
    if not raw.startswith(PNG_MAGIC):
        return _("The signature must be a PNG image drawn on screen.")
    if len(raw) >= SIGNATURE_MAX_BYTES:
        return _("The signature image is too large (500 KB at most).")
    return ""


def _customer_may_see(actor: Any, work_order: WorkOrder) -> bool:
    from medservice.work_orders.selectors import work_orders_visible_to

    return work_orders_visible_to(actor).filter(pk=work_order.pk).exists()


def report_sign(
    *,
    actor: Any,
    report: ServiceReport,
    printed_name: str,
    signature_image: str,
    method: str = SignMethod.ON_SITE,
) -> ServiceReport:
    """The customer signs the report: drawn on the engineer's phone (`actor` the engineer or
    agent recording it), in the portal (`actor` the customer user) or through the link (`actor`
    None). The report is then frozen and the work order closes."""
    if actor is not None:
        require_permission(
            actor, "work_orders.sign_workorder", _("You may not record the customer's signature.")
        )
        if not _customer_may_see(actor, report.work_order):
            raise PermissionDeniedError(_("You may not record the customer's signature."))
    problems = Problems()
    printed_name = (printed_name or "").strip()
    if not printed_name:
        problems.add("printed_name", _("Write the signer's name in full."))
    elif len(printed_name) > 100:
        problems.add("printed_name", _("The name is too long (100 characters at most)."))
    image_problem = _signature_image_problems(signature_image)
    if image_problem:
        problems.add("signature_image", image_problem)
    problems.raise_if_any(_("The report was not signed."))
    from medservice.core.signatures import signature_sign

    with transaction.atomic():
        locked = ServiceReport.objects.select_for_update().get(pk=report.pk)
        if ServiceReport.objects.filter(supersedes=locked).exists():
            raise InvalidTransitionError(
                _("Report %(report)s has a newer revision: sign that one.") % {"report": locked}
            )
        if locked.signed_at is not None:
            raise SignatureError(_("%(record)s is already signed.") % {"record": locked})
        now = timezone.now()
        locked.customer_name = printed_name
        locked.customer_signed_at = now
        locked.customer_signature = signature_image.strip()
        locked.sign_method = method
        with audit_context(actor=actor):
            locked.save(
                update_fields=[
                    "customer_name", "customer_signed_at", "customer_signature", "sign_method",
                ]
            )  # fmt: skip
        with translation.override(locked.language):
            meaning = str(CUSTOMER_MEANING)
        signature_sign(
            actor=actor, record=locked, meaning=meaning, printed_name=printed_name,
            signer_kind=SignerKind.CUSTOMER,
        )  # fmt: skip
        work_order = WorkOrder.objects.get(pk=locked.work_order_id)
        if work_order.status == WorkOrderStatus.COMPLETED:
            work_order = work_order_transition(
                work_order, "sign", actor=actor, changes={"closed_at": now}
            )
        ticket_note(
            work_order,
            _("Service report %(report)s signed by %(name)s.")
            % {"report": locked, "name": printed_name},
            actor=actor,
            customer_visible=True,
        )
        locked.refresh_from_db()
    return locked


def report_sign_by_link(*, token: str, printed_name: str, signature_image: str) -> ServiceReport:
    """The customer signs through the one-time link (no login); the link is used up."""
    from medservice.work_orders.links import LinkError, link_resolve, link_use

    with transaction.atomic():
        link = link_resolve(token, lock=True)
        if link.report_id is None:
            raise LinkError(_("This link is not valid. Ask for a new one."))
        report = report_sign(
            actor=None, report=link.report, printed_name=printed_name,
            signature_image=signature_image, method=SignMethod.LINK,
        )  # fmt: skip
        link_use(link)
    return report


def report_revise(*, actor: Any, report: ServiceReport, reason: str) -> ServiceReport:
    """Correct the report: a new revision with the content as the work order stands now,
    superseding this one; the customer signs again (a new link is sent, older ones die)."""
    from medservice.core.signatures import record_revise

    require_permission(
        actor, "work_orders.complete_workorder", _("You may not revise service reports.")
    )
    require_text(reason, "reason", _("Say what is corrected."))
    now = timezone.now()
    content = report_content(report.work_order, language=report.language)
    # Whoever serviced the device stays on the record, even when no visit or time names them.
    names = {person["name"] for person in content["engineers"]}
    content["engineers"] = [
        *content["engineers"],
        *(item for item in report.content.get("engineers", []) if item["name"] not in names),
    ]
    with transaction.atomic():
        revision = record_revise(
            actor=actor,
            record=report,
            reason=reason.strip(),
            changes={
                "content": content,
                "revision_reason": reason.strip()[:300],
                "customer_name": "",
                "customer_signed_at": None,
                "customer_signature": "",
                "sign_method": "",
                "created_at": now,
            },
        )
        SigningLink.objects.filter(report=report, used_at__isnull=True).update(expires_at=now)
        _signature_record(revision, actor=actor, meaning=REVISION_MEANING,
                          printed_name=_name(actor))  # fmt: skip
        _send_signing_link(revision, actor=actor)
    return revision


def report_signatures(report: ServiceReport) -> dict[str, Any]:
    """The signatures to print: the engineer's (from the first revision), whoever corrected
    this revision, and the customer's."""
    from medservice.core.signatures import signatures_of

    own = signatures_of(report)
    first = report
    while first.supersedes_id is not None:
        first = first.supersedes
    engineer = next(
        (item for item in signatures_of(first) if item.signer_kind == SignerKind.INTERNAL), None
    )
    corrected = next(
        (item for item in own if item.signer_kind == SignerKind.INTERNAL and report.revision > 1),
        None,
    )
    customer = next((item for item in own if item.signer_kind == SignerKind.CUSTOMER), None)
    return {"engineer": engineer, "corrected": corrected, "customer": customer}


# --- PDFs ---------------------------------------------------------------------------------------


def _pdf(template: str, context: dict[str, Any], language: str) -> bytes:
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string(template, {**context, "language": language})
    return HTML(string=html).write_pdf()


def report_pdf(report: ServiceReport) -> bytes:
    """The report as printed and signed, in its language (A4)."""
    return _pdf(
        "work_orders/report_pdf.html",
        {"report": report, "content": report.content, "signatures": report_signatures(report)},
        report.language,
    )


def report_filename(report: ServiceReport) -> str:
    return f"{report.number}-r{report.revision}.pdf"


def failure_analysis_pdf(work_order: WorkOrder, language: str) -> bytes:
    """The failure analysis report (故障分析报告): device, symptom, fault code, root cause,
    actions, parts and tests, as the work order stands now."""
    language = language if language in ReportLanguage.values else ReportLanguage.CHINESE
    content = report_content(work_order, language=language)
    return _pdf(
        "work_orders/failure_analysis_pdf.html",
        {"work_order": work_order, "content": content, "printed_at": _when(timezone.now())},
        language,
    )


def failure_analysis_send(*, actor: Any, work_order: WorkOrder, email: str) -> None:
    """E-mail the failure analysis report to the customer (after the request commits)."""
    require_permission(
        actor, "work_orders.work_workorder", _("You may not send failure analysis reports.")
    )
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        message = _("Give a valid e-mail address.")
        raise InvalidInputError(message, fields={"email": [message]}) from None
    language = customer_language(work_order)
    pdf = failure_analysis_pdf(work_order, language)
    with translation.override(language):
        subject = _("Failure analysis report %(number)s") % {"number": work_order.number}
        body = _(
            "Please find attached the failure analysis report of work order %(number)s "
            "(%(device)s)."
        ) % {"number": work_order.number, "device": work_order.device}
    filename = f"{work_order.number}-failure-analysis.pdf"

    def send() -> None:
        from django.core.mail import EmailMessage

        message = EmailMessage(
            subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[email],
            headers={"X-MedService-Work-Order": work_order.number},
        )  # fmt: skip
        message.attach(filename, pdf, "application/pdf")
        message.send(fail_silently=False)

    with transaction.atomic():
        audit_record(work_order, AuditAction.UPDATE, before={}, after={},
                     detail=_("Failure analysis report sent")[:100])  # fmt: skip
        ticket_note(
            work_order,
            _("Failure analysis report sent to %(email)s.") % {"email": email},
            actor=actor,
        )
        transaction.on_commit(send)


# --- Fees ---------------------------------------------------------------------------------------


def _locked(work_order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.select_for_update().get(pk=work_order.pk)


def _save_payment(work_order: WorkOrder, actor: Any, reason: str, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(work_order, name, value)
    with audit_context(actor=actor, reason=reason or None):
        work_order.save(update_fields=[*changes, "updated_at"])


def fee_add(
    *,
    actor: Any,
    work_order: WorkOrder,
    category: str,
    description: str,
    amount: Decimal | str | int,
) -> FeeItem:
    """Bill one more charge for the work; not once the customer has paid."""
    require_permission(actor, "work_orders.record_fees", _("You may not record fees."))
    problems = Problems()
    if category not in ChargeCategory.values:
        problems.add("category", _("Choose the kind of charge."))
    if not (description or "").strip():
        problems.add("description", _("Describe the charge."))
    try:
        value = money(amount)
    except (ArithmeticError, TypeError, ValueError):
        value = None
        problems.add("amount", _("Give the amount in yuan."))
    if value is not None and value < 0:
        problems.add("amount", _("The amount cannot be negative."))
    problems.raise_if_any(_("The fee was not added."))
    with transaction.atomic():
        work_order = _locked(work_order)
        if work_order.payment_status in (PaymentStatus.PAID, PaymentStatus.WAIVED):
            raise InvalidTransitionError(
                _("The fees are %(status)s: no charge can be added.")
                % {"status": work_order.get_payment_status_display()}
            )
        with audit_context(actor=actor):
            fee = FeeItem.objects.create(
                work_order=work_order, category=category, description=description.strip()[:200],
                amount=value,
            )  # fmt: skip
        if work_order.payment_status == PaymentStatus.NONE and value > 0:
            _save_payment(work_order, actor, "", payment_status=PaymentStatus.UNPAID)
    return fee


def payment_record(
    *,
    actor: Any,
    work_order: WorkOrder,
    method: str,
    paid_on: datetime.date | None,
    invoice_number: str,
) -> WorkOrder:
    """Finance records the customer's payment with the invoice number."""
    require_permission(actor, "work_orders.record_fees", _("You may not record payments."))
    problems = Problems()
    if method not in PaymentMethod.values:
        problems.add("method", _("Say how the customer paid."))
    if paid_on is None:
        problems.add("paid_on", _("Give the day of payment."))
    elif paid_on > timezone.localdate():
        problems.add("paid_on", _("The day of payment is in the future."))
    if not (invoice_number or "").strip():
        problems.add("invoice_number", _("Give the invoice number."))
    problems.raise_if_any(_("The payment was not recorded."))
    with transaction.atomic():
        work_order = _locked(work_order)
        if work_order.payment_status != PaymentStatus.UNPAID:
            raise InvalidTransitionError(
                _("The fees are %(status)s: there is nothing to pay.")
                % {"status": work_order.get_payment_status_display()}
            )
        _save_payment(
            work_order, actor, "", payment_status=PaymentStatus.PAID, payment_method=method,
            paid_on=paid_on, invoice_number=invoice_number.strip()[:50],
        )  # fmt: skip
    return work_order


def fee_dispute(*, actor: Any, work_order: WorkOrder, reason: str) -> WorkOrder:
    """The customer (or the desk for them) disputes the fees: the service manager decides."""
    require_permission(
        actor, "work_orders.respond_workorder", _("You may not dispute fees for the customer.")
    )
    if actor is not None and not _customer_may_see(actor, work_order):
        raise PermissionDeniedError(_("You may not dispute fees for the customer."))
    require_text(reason, "reason", _("Say why the fee is disputed."))
    with transaction.atomic():
        work_order = _locked(work_order)
        if work_order.payment_status != PaymentStatus.UNPAID:
            raise InvalidTransitionError(
                _("The fees are %(status)s: only unpaid fees can be disputed.")
                % {"status": work_order.get_payment_status_display()}
            )
        _save_payment(
            work_order, actor, reason, payment_status=PaymentStatus.DISPUTED,
            dispute_reason=reason.strip(), dispute_resolution="",
        )  # fmt: skip
        staff_notify(
            work_order,
            recipients=[*service_managers(), work_order.owner],
            template="work_orders_fee_disputed",
            reason=reason.strip(),
            by=_name(actor),
        )
        ticket_note(
            work_order,
            _("The fees are disputed: %(reason)s") % {"reason": reason.strip()},
            actor=actor,
            customer_visible=True,
        )
    return work_order


def fee_dispute_settle(
    *, actor: Any, work_order: WorkOrder, resolution: str, waive: bool = False
) -> WorkOrder:
    """The service manager settles a disputed fee: due again, or waived; the customer is
    told the decision."""
    require_permission(actor, "work_orders.settle_dispute", _("You may not settle disputed fees."))
    require_text(resolution, "resolution", _("Write down how the dispute is settled."))
    with transaction.atomic():
        work_order = _locked(work_order)
        if work_order.payment_status != PaymentStatus.DISPUTED:
            raise InvalidTransitionError(
                _("The fees are %(status)s, not disputed.")
                % {"status": work_order.get_payment_status_display()}
            )
        status = PaymentStatus.WAIVED if waive else PaymentStatus.UNPAID
        _save_payment(
            work_order, actor, resolution, payment_status=status,
            dispute_resolution=resolution.strip(),
        )  # fmt: skip
        customer_inform(
            work_order,
            text=_("The disputed fees of %(number)s are settled (%(status)s): %(resolution)s")
            % {
                "number": work_order.number,
                "status": work_order.get_payment_status_display(),
                "resolution": resolution.strip(),
            },
            actor=actor,
        )
    return work_order


def fees_total(work_order: WorkOrder) -> Decimal:
    return money(sum((fee.amount for fee in work_order.fees.all()), Decimal(0)))
