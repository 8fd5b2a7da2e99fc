"""Every write of the returns procedure (退换货): the request with its purchase proof, the
evaluation of cause and responsibility (售后服务评估) that links a suspected defect to a quality
case, the decision (repair, exchange, refund or rejection with its reason) under an RMA number,
the receipt into quarantine, the exchange unit issued from stock and installed at the customer,
the refunds, and closing. The customer is told each result.

Services are keyword-only, atomic and audited; each state change goes through the workflow
table (`transition`, which locks the request). Bad input raises one InvalidInputError naming
every field, before anything is saved; a wrong state answers 409; a hold answers 409 with the
hold's reason.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.workflow import actions_allowed, transition
from medservice.installed_base.choices import DeviceStatus
from medservice.installed_base.services import HeldError
from medservice.returns.choices import (
    RESPONSIBILITY_OF_CAUSE,
    Cause,
    Decision,
    FileKind,
    InspectionResult,
    ItemCondition,
    RefundKind,
    RefundMethod,
    Responsibility,
    ReturnChannel,
    ReturnReason,
    WarrantyMode,
)
from medservice.returns.eligibility import Failure, eligibility_check, line_hold, line_label
from medservice.returns.models import (
    ExchangeUnit,
    Refund,
    ReturnFile,
    ReturnLine,
    ReturnReceipt,
    ReturnRequest,
    ReturnRule,
)
from medservice.returns.selectors import (
    quantity_returning,
    refunded_on_delivery_line,
    refunded_on_line,
    refunded_total,
)
from medservice.returns.workflow import TRANSITIONS

CENT = Decimal("0.01")
RMA_PREFIX = "RMA"
# Statuses with a device still at (or owned by) the customer: what a return may name.
RETURNABLE_DEVICE_STATUSES = frozenset(
    {DeviceStatus.INSTALLED, DeviceStatus.IN_SERVICE, DeviceStatus.UNDER_REPAIR}
)


# --- Small helpers ------------------------------------------------------------------------------


def _require(actor: Any, permission: str, message: str) -> None:
    # Jobs (actor None) act for the system; people need the permission.
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _text(value: Any) -> str:
    return (value or "").strip() if isinstance(value, str) or value is None else str(value)


def money(value: Any) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def return_transition(
    request: ReturnRequest,
    name: str,
    *,
    actor: Any,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> ReturnRequest:
    """Lock, check the table, change, audit (inside the caller's transaction)."""
    return transition(
        request, name, transitions=TRANSITIONS, actor=actor, reason=reason, changes=changes
    )


def return_actions_allowed(request: ReturnRequest, user: Any) -> list[tuple[str, Any]]:
    return actions_allowed(TRANSITIONS, request, user)


def return_link(request: ReturnRequest) -> str:
    return reverse("returns:returns-detail", kwargs={"pk": request.pk})


def portal_link(request: ReturnRequest) -> str:
    return reverse("returns:portal-return", kwargs={"pk": request.pk})


def default_warranty_mode() -> str:
    """The company's default for an exchange unit's warranty (setting RETURNS_EXCHANGE_WARRANTY:
    "continue" keeps the returned unit's end date, "restart" counts a new warranty)."""
    value = getattr(settings, "RETURNS_EXCHANGE_WARRANTY", WarrantyMode.CONTINUE)
    return value if value in WarrantyMode.values else WarrantyMode.CONTINUE


def _users_with_roles(*roles: str) -> list[Any]:
    from medservice.accounts.models import User

    return list(
        User.objects.filter(is_active=True, groups__name__in=[str(role) for role in roles])
        .distinct()
        .order_by("pk")
    )


def customer_tell(request: ReturnRequest, *, event: str, detail: str = "") -> None:
    """Tell the customer a result (评估结果及时通知客户): the organisation's portal users and
    whoever asked, in their inbox (and by e-mail when they have an address), each in their own
    language. Recorded in the caller's transaction; e-mailed after commit."""
    from medservice.accounts.choices import Role
    from medservice.accounts.models import User

    recipients = list(
        User.objects.filter(
            is_active=True,
            organization_id=request.organization_id,
            groups__name=str(Role.CUSTOMER_USER),
        )
        .distinct()
        .order_by("pk")
    )
    asker = request.requested_by
    if asker is not None and asker.is_active and asker not in recipients:
        from medservice.customers.selectors import user_scope

        if user_scope(asker) == "customer":
            recipients.append(asker)
    if recipients:
        notify(
            recipients=recipients,
            template="returns_customer_update",
            context={"return_request": request, "event": event, "detail": detail},
            link=portal_link(request),
        )
    ReturnRequest.objects.filter(pk=request.pk).update(customer_told_at=timezone.now())


def _eligibility_store(request: ReturnRequest) -> list[Failure]:
    failures = eligibility_check(request)
    eligible = not failures
    stored = [failure.as_dict() for failure in failures]
    if request.eligible != eligible or request.eligibility != stored:
        request.eligible, request.eligibility = eligible, stored
        request.save(update_fields=["eligible", "eligibility", "updated_at"])
    return failures


# --- The request --------------------------------------------------------------------------------


@dataclass
class LineInput:
    """One product the customer sends back: a unit (device), or a delivered product (a delivery
    line and how many of it)."""

    device: Any = None
    delivery_line: Any = None
    quantity: int = 1
    condition: str = ItemCondition.OPENED


@dataclass
class FileInput:
    kind: str
    upload: Any


def _line_problems(
    problems: Problems,
    index: int,
    item: LineInput,
    organization: Any,
    actor: Any,
) -> None:
    from medservice.installed_base.selectors import devices_visible_to

    prefix = f"lines.{index}."
    if item.condition not in ItemCondition.values:
        problems.add(f"{prefix}condition", _("Say in what condition the product is."))
    if item.device is None and item.delivery_line is None:
        problems.add(f"{prefix}device", _("Choose the device, or the delivered product."))
        return
    if item.device is not None:
        device = item.device
        if actor is not None and not devices_visible_to(actor).filter(pk=device.pk).exists():
            problems.add(f"{prefix}device", _("This device is not one of yours."))
        elif organization is not None and device.organization_id != organization.pk:
            problems.add(
                f"{prefix}device",
                _("%(device)s belongs to another organisation.") % {"device": device},
            )
        if device.status not in RETURNABLE_DEVICE_STATUSES:
            problems.add(
                f"{prefix}device",
                _("%(device)s is %(status)s: it cannot be returned.")
                % {"device": device, "status": device.get_status_display()},
            )
        if int(item.quantity or 1) != 1:
            problems.add(f"{prefix}quantity", _("A device is one unit: quantity 1."))
        open_line = (
            ReturnLine.objects.filter(device=device)
            .exclude(request__status__in=("rejected", "closed"))
            .select_related("request")
            .first()
        )
        if open_line is not None:
            problems.add(
                f"{prefix}device",
                _("%(device)s is already on return %(request)s.")
                % {"device": device, "request": open_line.request},
            )
        return
    line = item.delivery_line
    delivery = line.delivery
    if organization is not None and delivery.organization_id != organization.pk:
        problems.add(
            f"{prefix}delivery_line",
            _("Delivery %(number)s went to another organisation.") % {"number": delivery.number},
        )
    quantity = item.quantity
    if quantity is None or int(quantity) < 1:
        problems.add(f"{prefix}quantity", _("The quantity must be at least 1."))
        return
    already = quantity_returning(line.pk)
    if int(quantity) + already > line.quantity:
        problems.add(
            f"{prefix}quantity",
            _(
                "%(quantity)s asked, but %(delivered)s were delivered on this line and "
                "%(already)s are already being returned."
            )
            % {"quantity": quantity, "delivered": line.quantity, "already": already},
        )


def _internal(actor: Any) -> bool:
    from medservice.customers.selectors import user_scope

    return user_scope(actor) == "internal"


def return_request_create(
    *,
    actor: Any,
    organization: Any,
    reason: str,
    fault_description: str,
    lines: list[LineInput],
    channel: str = ReturnChannel.PORTAL,
    delivery_reference: str = "",
    requested_on: datetime.date | None = None,
    files: list[FileInput] | None = None,
) -> ReturnRequest:
    """Register a return request (by the customer in the portal, or by an agent): the products,
    the reason and fault, the proof of purchase. Eligibility is checked at once and kept; an
    ineligible request is registered all the same (it can go on as a repair)."""
    from medservice.core.attachments import attachment_check
    from medservice.customers.selectors import organizations_visible_to

    _require(actor, "returns.add_returnrequest", _("You may not request returns."))
    problems = Problems()
    today = timezone.localdate()
    requested_on = requested_on or today
    if organization is None:
        problems.add("organization", _("Choose the organisation returning the products."))
    elif (
        actor is not None
        and not organizations_visible_to(actor).filter(pk=organization.pk).exists()
    ):
        problems.add("organization", _("This organisation is not one of yours."))
        organization = None
    if reason not in ReturnReason.values:
        problems.add("reason", _("Choose why the products are returned."))
    if not _text(fault_description):
        problems.add("fault_description", _("Describe the fault or the problem."))
    if channel not in ReturnChannel.values:
        problems.add("channel", _("Choose how the request came in."))
    if requested_on > today:
        problems.add("requested_on", _("The request cannot be dated in the future."))
    elif requested_on < today and actor is not None and not _internal(actor):
        # The window is measured to this day: only the company's staff, recording a letter or
        # a call received earlier, may date a request back.
        problems.add(
            "requested_on",
            _("Only the company's staff may date a request earlier than today."),
        )
    if not lines:
        problems.add("lines", _("Name at least one product to return."))
    for index, item in enumerate(lines, start=1):
        _line_problems(problems, index, item, organization, actor)
    devices = [item.device.pk for item in lines if item.device is not None]
    if len(devices) != len(set(devices)):
        problems.add("lines", _("The same device is named twice."))
    for index, item in enumerate(files or [], start=1):
        if item.kind not in FileKind.values:
            problems.add(f"files.{index}.kind", _("Say what the file is."))
        try:
            attachment_check(item.upload, field=f"files.{index}.file")
        except InvalidInputError as error:
            for name, messages in error.fields.items():
                for message in messages:
                    problems.add(name, message)
    problems.raise_if_any(_("The return request was not registered."))
    with transaction.atomic(), audit_context(actor=actor, action="request"):
        request = ReturnRequest(
            organization=organization,
            requested_by=actor,
            channel=channel,
            requested_on=requested_on,
            reason=reason,
            fault_description=_text(fault_description),
            delivery_reference=_text(delivery_reference)[:100],
        )
        request.full_clean(exclude=["number", "requested_by"])
        request.save()
        for item in lines:
            device = item.device
            delivery_line = item.delivery_line if device is None else device.delivery_line
            source = device if device is not None else delivery_line
            ReturnLine.objects.create(
                request=request,
                device=device,
                delivery_line=delivery_line,
                device_model_id=source.device_model_id,
                batch_number=source.batch_number,
                serial_number=source.serial_number,
                quantity=1 if device is not None else int(item.quantity),
                condition=item.condition,
            )
        for item in files or []:
            _file_save(request, actor=actor, kind=item.kind, upload=item.upload)
        _eligibility_store(request)
        staff = _users_with_roles("service_agent", "service_manager")
        if staff:
            notify(
                recipients=staff,
                template="returns_requested",
                context={"return_request": request},
                link=return_link(request),
            )
    return request


def _file_save(request: ReturnRequest, *, actor: Any, kind: str, upload: Any) -> ReturnFile:
    from medservice.core.attachments import attachment_check

    mime = attachment_check(upload)
    name = getattr(upload, "name", "") or "file"
    return ReturnFile.objects.create(
        request=request,
        kind=kind,
        file=upload,
        content_type=mime,
        original_name=name[:255],
        uploaded_by=actor,
    )


def return_file_attach(*, actor: Any, request: ReturnRequest, kind: str, upload: Any) -> ReturnFile:
    """Add a proof of purchase or a photo to a return not yet closed; eligibility is checked
    again (a proof may make it eligible)."""
    _require(actor, "returns.add_returnfile", _("You may not add files to returns."))
    problems = Problems()
    if kind not in FileKind.values:
        problems.add("kind", _("Say what the file is."))
    if upload is None:
        problems.add("file", _("Choose a file."))
    problems.raise_if_any(_("The file was not added."))
    if request.status == "closed":
        raise InvalidTransitionError(_("The return is closed: no more files."))
    with transaction.atomic(), audit_context(actor=actor, action="attach"):
        record = _file_save(request, actor=actor, kind=kind, upload=upload)
        locked = ReturnRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status in ("requested", "evaluated"):
            _eligibility_store(locked)
    return record


# --- Evaluation ---------------------------------------------------------------------------------


def _quality_case_for(request: ReturnRequest, actor: Any) -> Any:
    """The quality case of a suspected product defect: an open case about the same unit or
    batch is linked; otherwise one is opened (its awareness time is the request's receipt) and
    the quality staff are told. Opening a case puts its batch on hold (quality's rule)."""
    from medservice.quality.choices import OPEN_CASE_STATUSES, CaseSource
    from medservice.quality.models import QualityCase
    from medservice.quality.services import case_create, contact_hours, quality_staff

    lines = list(request.lines.select_related("device__device_model", "device_model"))
    for line in lines:
        cases = QualityCase.objects.filter(status__in=OPEN_CASE_STATUSES)
        found = cases.filter(device=line.device).order_by("pk").first() if line.device_id else None
        if found is None and line.batch_number:
            found = (
                cases.filter(device_model=line.device_model_id, batch_number=line.batch_number)
                .order_by("pk")
                .first()
            )
        if found is not None:
            return found
    first = lines[0]
    data: dict[str, Any] = {
        "organization": request.organization,
        "description": _("Return %(request)s: suspected product defect. %(fault)s %(evaluation)s")
        % {
            "request": request.number or line_label(first),
            "fault": request.fault_description,
            "evaluation": request.evaluation,
        },
        "awareness_at": request.created_at,
        "product_reported": line_label(first),
        "complainant_name": (
            request.requested_by.get_full_name() or request.requested_by.get_username()
        )
        if request.requested_by_id
        else "",
    }
    if first.device_id:
        data["device"] = first.device
    else:
        data.update(
            device_model=first.device_model,
            batch_number=first.batch_number,
            serial_number=first.serial_number,
        )
    # The return's evaluator opens it on the quality department's behalf (job, not their
    # role): the case is the quality department's from here.
    case = case_create(actor=None, data=data, source=CaseSource.RETURN)
    notify(
        recipients=quality_staff(),
        template="quality_case_opened",
        context={"case": case, "hours": contact_hours()},
        link=reverse("quality:quality-cases-detail", kwargs={"pk": case.pk}),
    )
    return case


def return_evaluate(
    *,
    actor: Any,
    request: ReturnRequest,
    cause: str,
    evaluation: str,
    responsibility: str = "",
) -> ReturnRequest:
    """Record the evaluation (售后服务评估): the cause and who is responsible, what was found.
    A suspected product defect opens or links a quality case. Eligibility is checked again and
    the customer is told the result."""
    problems = Problems()
    if cause not in Cause.values:
        problems.add("cause", _("Choose the cause."))
    responsibility = responsibility or RESPONSIBILITY_OF_CAUSE.get(cause, "")
    if responsibility not in Responsibility.values:
        problems.add("responsibility", _("Choose who is responsible."))
    if not _text(evaluation):
        problems.add("evaluation", _("Write down what the evaluation found."))
    problems.raise_if_any(_("The evaluation was not recorded."))
    with transaction.atomic():
        request = return_transition(
            request,
            "evaluate",
            actor=actor,
            changes={
                "cause": cause,
                "responsibility": responsibility,
                "evaluation": _text(evaluation),
                "evaluated_by": actor,
                "evaluated_at": timezone.now(),
            },
        )
        with audit_context(actor=actor, action="evaluate"):
            if cause == Cause.PRODUCT_DEFECT and request.quality_case_id is None:
                request.quality_case = _quality_case_for(request, actor)
                request.save(update_fields=["quality_case", "updated_at"])
            _eligibility_store(request)
            customer_tell(request, event="evaluated")
    return request


# --- Decisions ----------------------------------------------------------------------------------


def _refuse_held(request: ReturnRequest, action: str) -> None:
    """A product on hold (a batch under quality review, a unit kept as evidence) may not be
    returned or exchanged: 409 with the hold's reason."""
    for line in request.lines.select_related("device", "device_model"):
        hold = line_hold(line)
        if hold is not None:
            message = _(
                "%(product)s is on hold (%(kind)s: %(reason)s): it may not be %(action)s until "
                "the hold is released. It can still go on as a repair."
            ) % {
                "product": line_label(line),
                "kind": hold.get_kind_display(),
                "reason": hold.reason,
                "action": action,
            }
            raise HeldError(message, fields={"lines": [message]})


def _refuse_ineligible(request: ReturnRequest) -> None:
    failures = [failure for failure in _eligibility_store(request) if failure.code != "hold"]
    if failures:
        reasons = "; ".join(
            f"{failure.rule}: {failure.why}" for failure in failures
        )  # every rule and why, so the decision can be explained to the customer
        raise InvalidTransitionError(
            _("Not eligible for a return (%(reasons)s). It can still go on as a repair.")
            % {"reasons": reasons},
            fields={"eligibility": [failure.why for failure in failures]},
        )


def _decide(
    request: ReturnRequest, name: str, *, actor: Any, decision: str, reason: str,
    changes: dict[str, Any] | None = None,
) -> ReturnRequest:  # fmt: skip
    values = {
        "decision": decision,
        "decision_reason": reason,
        "decided_by": actor,
        "decided_at": timezone.now(),
        **(changes or {}),
    }
    if decision != Decision.REJECT and not request.number:
        values["number"] = number_next(prefix=RMA_PREFIX)
    return return_transition(request, name, actor=actor, reason=reason, changes=values)


def exchange_part_for(device_model: Any) -> Any:
    """The stock item registered as this device model: how a whole exchange unit is kept in
    stock with its serial (None: the model is not stocked)."""
    from medservice.inventory.models import Part

    return Part.objects.filter(device_model=device_model, active=True).order_by("pk").first()


def return_approve_repair(
    *, actor: Any, request: ReturnRequest, reason: str = "", route: str = "workshop"
) -> ReturnRequest:
    """Go on as a repair (also for an ineligible or rejected return): a repair work order is
    opened for each unit, under the RMA number. A unit kept as evidence may not be repaired."""
    from medservice.installed_base.services import evidence_hold_for
    from medservice.work_orders.choices import WorkOrderKind
    from medservice.work_orders.services import work_order_create

    for line in request.lines.select_related("device"):
        hold = evidence_hold_for(line.device) if line.device_id else None
        if hold is not None:
            message = _(
                "%(device)s is kept as evidence (%(reason)s): it may not be repaired or altered "
                "until the quality manager releases the hold."
            ) % {"device": line.device, "reason": hold.reason}
            raise HeldError(message, fields={"lines": [message]})
    with transaction.atomic():
        request = _decide(
            request, "approve-repair", actor=actor, decision=Decision.REPAIR,
            reason=_text(reason),
        )  # fmt: skip
        lines = list(request.lines.select_related("device__device_model"))
        units = [line for line in lines if line.device_id]
        if not units:
            message = _("A repair needs a unit of the installed base; this return names none.")
            raise InvalidInputError(message, fields={"lines": [message]})
        with audit_context(actor=actor, action="approve-repair"):
            for line in units:
                work_order = work_order_create(
                    actor=actor,
                    kind=WorkOrderKind.REPAIR,
                    device=line.device,
                    problem=_("Return %(number)s: %(fault)s")
                    % {"number": request.number, "fault": request.fault_description},
                    source_reference=request.number,
                    route=route,
                )
                line.work_order = work_order
                line.save(update_fields=["work_order", "updated_at"])
            customer_tell(request, event="repair")
    return request


def return_approve_exchange(
    *, actor: Any, request: ReturnRequest, warranty_mode: str = "", reason: str = ""
) -> ReturnRequest:
    """Approve an exchange: only an eligible request whose products are not on hold and are kept
    in stock. The exchange unit's warranty continues or restarts (the rule's, else the
    company's setting, unless the manager chooses)."""
    if warranty_mode and warranty_mode not in WarrantyMode.values:
        raise InvalidInputError(
            _("Choose how the exchange unit's warranty runs."),
            fields={"warranty_mode": [_("Choose continue or restart.")]},
        )
    with transaction.atomic():
        request = _decide(
            request, "approve-exchange", actor=actor, decision=Decision.EXCHANGE,
            reason=_text(reason),
        )  # fmt: skip
        _refuse_held(request, _("exchanged"))
        _refuse_ineligible(request)
        problems = Problems()
        for index, line in enumerate(request.lines.select_related("device_model"), start=1):
            if exchange_part_for(line.device_model) is None:
                problems.add(
                    f"lines.{index}",
                    _(
                        "%(model)s is not kept in stock (no stock item is registered as this "
                        "device model): no exchange unit can be issued."
                    )
                    % {"model": line.device_model},
                )
        if problems:
            details = " ".join(
                message for messages in problems.fields.values() for message in messages
            )
            problems.raise_if_any(
                _("The exchange was not approved: %(details)s") % {"details": details}
            )
        request.warranty_mode = warranty_mode or _warranty_mode_of(request)
        with audit_context(actor=actor, action="approve-exchange"):
            request.save(update_fields=["warranty_mode", "updated_at"])
            customer_tell(request, event="exchange")
    return request


def _warranty_mode_of(request: ReturnRequest) -> str:
    """The rule's choice for the request's products, else the company's default."""
    from medservice.returns.eligibility import rules_active

    rules = [rule for rule in rules_active() if rule.exchange_warranty]
    for line in request.lines.select_related("device_model"):
        for rule in rules:
            if rule.matches(line.device_model):
                return rule.exchange_warranty
    return default_warranty_mode()


def return_approve_refund(
    *,
    actor: Any,
    request: ReturnRequest,
    refund_kind: str,
    amount: Decimal | None = None,
    reason: str = "",
) -> ReturnRequest:
    """Approve a refund, full (what was paid for the quantity returned) or partial (an amount
    up to that), for an eligible request whose products are not on hold."""
    problems = Problems()
    if refund_kind not in RefundKind.values:
        problems.add("refund_kind", _("Choose a full or a partial refund."))
    if refund_kind == RefundKind.PARTIAL:
        try:
            amount = money(amount) if amount is not None else None
        except (InvalidOperation, TypeError, ValueError):
            amount = None
        if amount is None or amount <= 0:
            problems.add("amount", _("Give the amount of the partial refund."))
    if refund_kind == RefundKind.PARTIAL and not _text(reason):
        problems.add("reason", _("Say why only part is refunded."))
    problems.raise_if_any(_("The refund was not approved."))
    with transaction.atomic():
        request = _decide(
            request, "approve-refund", actor=actor, decision=Decision.REFUND,
            reason=_text(reason), changes={"refund_kind": refund_kind},
        )  # fmt: skip
        _refuse_held(request, _("returned"))
        _refuse_ineligible(request)
        lines = list(request.lines.select_related("delivery_line", "device_model"))
        unpriced = [line for line in lines if line.paid is None]
        if unpriced:
            message = _(
                "What was paid for %(products)s is not known (no delivery line): a refund "
                "cannot be checked against the price."
            ) % {"products": ", ".join(line_label(line) for line in unpriced)}
            raise InvalidInputError(message, fields={"refund_kind": [message]})
        paid = money(sum((line.paid for line in lines), Decimal(0)))
        if refund_kind == RefundKind.FULL:
            amount = paid
        elif amount > paid:
            message = _(
                "%(amount)s is more than was paid for the products returned (%(paid)s)."
            ) % {"amount": amount, "paid": paid}
            raise InvalidInputError(message, fields={"amount": [message]})
        request.refund_approved = amount
        with audit_context(actor=actor, action="approve-refund"):
            request.save(update_fields=["refund_approved", "updated_at"])
            customer_tell(request, event="refund")
    return request


def return_reject(*, actor: Any, request: ReturnRequest, reason: str) -> ReturnRequest:
    """Reject the return with the reason the customer is told (required)."""
    if not _text(reason):
        message = _("Say why the return is rejected: the customer is told.")
        raise InvalidInputError(message, fields={"reason": [message]})
    with transaction.atomic():
        request = _decide(
            request, "reject", actor=actor, decision=Decision.REJECT, reason=_text(reason)
        )
        with audit_context(actor=actor, action="reject"):
            customer_tell(request, event="rejected", detail=_text(reason))
    return request


# --- Execution ----------------------------------------------------------------------------------


def _stock_lot(part: Any, line: ReturnLine) -> Any:
    from medservice.inventory.choices import PartTracking
    from medservice.inventory.services import lot_for_receipt

    if part.tracking == PartTracking.NONE:
        return None
    if part.tracking == PartTracking.SERIAL and not line.serial_number:
        message = _("%(part)s is tracked by serial number, but %(product)s has none.") % {
            "part": part.number,
            "product": line_label(line),
        }
        raise InvalidInputError(message, fields={"lines": [message]})
    return lot_for_receipt(
        part=part, lot_number=line.batch_number, serial_number=line.serial_number
    )


def return_receive(
    *,
    actor: Any,
    request: ReturnRequest,
    location: Any,
    inspection_result: str,
    inspection_note: str = "",
    received_at: datetime.datetime | None = None,
) -> ReturnRequest:
    """Receive the returned products into a quarantine location with the inspection's finding:
    each returned unit is marked returned (custody, allowed even under an evidence hold), and
    what is kept in stock is booked into quarantine as defective, in the stock ledger."""
    from medservice.installed_base.services import device_status_change
    from medservice.inventory.choices import Condition, LocationKind, MovementKind
    from medservice.inventory.services import Move, movements_post

    problems = Problems()
    received_at = received_at or timezone.now()
    if location is None:
        problems.add("location", _("Choose the quarantine location."))
    elif location.kind != LocationKind.QUARANTINE or not location.active:
        problems.add(
            "location",
            _("Returned products go to a quarantine location in use; %(location)s is %(kind)s.")
            % {"location": location, "kind": location.get_kind_display()},
        )
    if inspection_result not in InspectionResult.values:
        problems.add("inspection_result", _("Record what the inspection found."))
    if (
        inspection_result
        and inspection_result != InspectionResult.AS_DESCRIBED
        and not _text(inspection_note)
    ):
        problems.add("inspection_note", _("Describe what differs from the customer's account."))
    if received_at > timezone.now() + datetime.timedelta(minutes=5):
        problems.add("received_at", _("The receipt cannot be in the future."))
    problems.raise_if_any(_("The receipt was not recorded."))
    with transaction.atomic():
        request = return_transition(request, "receive", actor=actor)
        with audit_context(actor=actor, action="receive"):
            ReturnReceipt.objects.create(
                request=request,
                received_at=received_at,
                received_by=actor,
                location=location,
                inspection_result=inspection_result,
                inspection_note=_text(inspection_note),
            )
            moves = []
            for line in request.lines.select_related("device", "device_model").order_by("pk"):
                part = exchange_part_for(line.device_model)
                if part is not None:
                    moves.append(
                        Move(
                            part=part,
                            quantity=Decimal(line.quantity),
                            lot=_stock_lot(part, line),
                            device=line.device,
                            destination_condition=Condition.DEFECTIVE,
                        )
                    )
                if line.device_id:
                    device_status_change(
                        actor=actor,
                        device=line.device,
                        status=DeviceStatus.RETURNED,
                        reason=_("Returned under %(number)s.") % {"number": request.number},
                    )
            if moves:
                movements_post(
                    actor=actor,
                    kind=MovementKind.CUSTOMER_RETURN,
                    destination=location,
                    moves=moves,
                    reference=request.number,
                    reason=_("Return %(number)s received for inspection.")
                    % {"number": request.number},
                    occurred_at=received_at,
                )
            customer_tell(request, event="received")
    return request


def return_ship_exchange(
    *,
    actor: Any,
    request: ReturnRequest,
    location: Any,
    lots: dict[int, Any] | None = None,
    shipment_reference: str = "",
) -> ReturnRequest:
    """Ship the exchange: each returned unit's replacement is issued from a warehouse (its
    serial-numbered lot) and installed at the customer as a new device with the returned unit's
    place, and a warranty that continues or restarts as approved; a delivered product is
    replaced by the same quantity, first expiry first out. The stock ledger records the issue."""
    from medservice.installed_base.models import Device
    from medservice.installed_base.services import device_create, device_status_change
    from medservice.inventory.choices import WAREHOUSE_KINDS, MovementKind, PartTracking
    from medservice.inventory.models import PartLot
    from medservice.inventory.services import Move, movements_post

    lots = lots or {}
    problems = Problems()
    if location is None:
        problems.add("location", _("Choose the warehouse the exchange units come from."))
    elif location.kind not in WAREHOUSE_KINDS or not location.active:
        problems.add(
            "location",
            _("Exchange units are issued from a warehouse in use; %(location)s is %(kind)s.")
            % {"location": location, "kind": location.get_kind_display()},
        )
    lines = list(
        request.lines.select_related(
            "device__device_model", "device__department", "device_model"
        ).order_by("pk")
    )
    plan: list[tuple[ReturnLine, Any, Any]] = []
    for line in lines:
        field = f"lots.{line.pk}"
        part = exchange_part_for(line.device_model)
        lot = lots.get(line.pk)
        if part is None:
            problems.add(field, _("%(model)s is not kept in stock.") % {"model": line.device_model})
            continue
        if lot is not None and not isinstance(lot, PartLot):
            lot = PartLot.objects.filter(pk=lot).first()
            if lot is None:
                problems.add(field, _("There is no such lot."))
                continue
        if lot is not None and lot.part_id != part.pk:
            problems.add(field, _("This lot is not of %(part)s.") % {"part": part})
            continue
        if line.device_id:
            if lot is None or part.tracking != PartTracking.SERIAL or not lot.serial_number:
                problems.add(
                    field,
                    _("Choose the serial-numbered exchange unit for %(product)s.")
                    % {"product": line_label(line)},
                )
                continue
            if Device.objects.filter(
                device_model=line.device_model, serial_number=lot.serial_number
            ).exists():
                problems.add(
                    field,
                    _("Serial number %(serial)s is already a device at a customer.")
                    % {"serial": lot.serial_number},
                )
                continue
        plan.append((line, part, lot))
    problems.raise_if_any(_("The exchange was not shipped."))
    with transaction.atomic():
        request = return_transition(request, "ship-exchange", actor=actor)
        now = timezone.now()
        today = timezone.localdate()
        with audit_context(actor=actor, action="ship-exchange"):
            for line, part, lot in plan:
                old = line.device
                new = None
                ends_on = None
                if old is not None:
                    # The returned unit may already be returned; this keeps it so if not.
                    device_status_change(
                        actor=actor, device=old, status=DeviceStatus.RETURNED,
                        reason=_("Exchanged under %(number)s.") % {"number": request.number},
                    )  # fmt: skip
                    new = device_create(
                        actor=actor,
                        data={
                            "device_model": old.device_model,
                            "serial_number": lot.serial_number,
                            "batch_number": lot.lot_number,
                            "production_date": lot.production_date,
                            "expiry_date": lot.expiry_date,
                            "organization": old.organization,
                            "department": old.department,
                            "location": old.location,
                            "asset_number": old.asset_number,
                            "delivery_line": old.delivery_line,
                            "supplier": lot.supplier,
                            "installed_on": today,
                            "status": DeviceStatus.INSTALLED,
                        },
                    )
                    if request.warranty_mode == WarrantyMode.CONTINUE:
                        # The exchange unit takes the returned unit's place: its warranty ends
                        # when the returned unit's would have.
                        new.warranty_ends_on = old.warranty_ends_on
                        new.save(update_fields=["warranty_ends_on", "updated_at"])
                    ends_on = new.warranty_ends_on
                movements_post(
                    actor=actor,
                    kind=MovementKind.EXCHANGE_SHIPMENT,
                    source=location,
                    moves=[
                        Move(
                            part=part,
                            quantity=Decimal(line.quantity),
                            lot=lot,
                            device=new,
                            issuable_only=True,
                        )
                    ],
                    reference=request.number,
                    reason=_("Exchange for return %(number)s.") % {"number": request.number},
                    occurred_at=now,
                )
                ExchangeUnit.objects.create(
                    request=request,
                    line=line,
                    part=part,
                    lot=lot,
                    quantity=line.quantity,
                    location=location,
                    old_device=old,
                    new_device=new,
                    warranty_mode=request.warranty_mode if old is not None else "",
                    warranty_ends_on=ends_on,
                    shipped_at=now,
                    shipped_by=actor,
                    shipment_reference=_text(shipment_reference)[:100],
                )
            customer_tell(request, event="shipped", detail=_text(shipment_reference))
    return request


def return_refund(
    *,
    actor: Any,
    request: ReturnRequest,
    amount: Any,
    method: str,
    paid_on: datetime.date | None,
    reference: str,
    line: ReturnLine | None = None,
) -> Refund:
    """Record a refund paid by finance. Never more than was paid on the delivery line for the
    quantity returned, counting every refund of that line (also those of other returns), nor
    more than the approved refund. The delivery line is locked while this is checked, so two
    refunds at once cannot both pass."""
    from medservice.installed_base.models import DeliveryLine

    problems = Problems()
    try:
        amount = money(amount) if amount not in (None, "") else None
    except (InvalidOperation, TypeError, ValueError):
        amount = None
    if amount is None or amount <= 0:
        problems.add("amount", _("Give the amount refunded (more than zero)."))
    if method not in RefundMethod.values:
        problems.add("method", _("Choose how the money was paid back."))
    if paid_on is None:
        problems.add("paid_on", _("Give the date of the payment."))
    elif paid_on > timezone.localdate():
        problems.add("paid_on", _("The payment cannot be dated in the future."))
    if not _text(reference):
        problems.add("reference", _("Give the payment's reference (bank or voucher number)."))
    lines = list(request.lines.select_related("delivery_line", "device_model").order_by("pk"))
    if line is None:
        priced = [item for item in lines if item.delivery_line_id]
        if len(priced) == 1:
            line = priced[0]
        else:
            problems.add("line", _("Choose the returned product the refund is for."))
    elif line.request_id != request.pk:
        problems.add("line", _("This product is not on this return."))
    elif not line.delivery_line_id:
        problems.add("line", _("What was paid for this product is not known."))
    problems.raise_if_any(_("The refund was not recorded."))
    with transaction.atomic():
        request = return_transition(request, "refund", actor=actor, reason=_text(reference))
        # Every refund of this delivery line waits here for the one before it.
        delivery_line = DeliveryLine.objects.select_for_update().get(pk=line.delivery_line_id)
        paid_for_line = money(delivery_line.unit_price * line.quantity)
        paid_on_delivery = money(delivery_line.unit_price * delivery_line.quantity)
        on_line = refunded_on_line(line)
        on_delivery = refunded_on_delivery_line(delivery_line.pk)
        outstanding = request.refund_approved - refunded_total(request)
        message = ""
        if on_line + amount > paid_for_line:
            message = _(
                "%(amount)s would bring the refunds of %(product)s to %(total)s, more than the "
                "%(paid)s paid for the %(quantity)s returned (%(price)s each); %(left)s may "
                "still be refunded."
            ) % {
                "amount": amount, "product": line_label(line), "total": on_line + amount,
                "paid": paid_for_line, "quantity": line.quantity,
                "price": delivery_line.unit_price, "left": max(paid_for_line - on_line, 0),
            }  # fmt: skip
        elif on_delivery + amount > paid_on_delivery:
            message = _(
                "%(amount)s would bring the refunds of delivery line %(line)s to %(total)s, more "
                "than the %(paid)s paid on it; %(left)s may still be refunded."
            ) % {
                "amount": amount, "line": delivery_line, "total": on_delivery + amount,
                "paid": paid_on_delivery, "left": max(paid_on_delivery - on_delivery, 0),
            }  # fmt: skip
        elif amount > outstanding:
            message = _(
                "%(amount)s is more than what is left of the approved refund (%(left)s)."
            ) % {"amount": amount, "left": outstanding}
        if message:
            raise InvalidInputError(message, fields={"amount": [message]})
        with audit_context(actor=actor, action="refund"):
            refund = Refund(
                request=request,
                line=line,
                delivery_line=delivery_line,
                amount=amount,
                method=method,
                paid_on=paid_on,
                reference=_text(reference)[:100],
                recorded_by=actor,
            )
            refund.full_clean()
            refund.save()
            customer_tell(request, event="refunded", detail=str(amount))
    return refund


def return_close(*, actor: Any, request: ReturnRequest, note: str = "") -> ReturnRequest:
    """Close the return once its decision is carried out (a repair: its work order finished; an
    exchange: shipped; a refund: paid in full)."""
    with transaction.atomic():
        request = return_transition(
            request, "close", actor=actor, reason=_text(note),
            changes={"closed_at": timezone.now()},
        )  # fmt: skip
        with audit_context(actor=actor, action="close"):
            customer_tell(request, event="closed")
    return request


# --- Rules (configuration) ----------------------------------------------------------------------


def _rule_problems(data: dict[str, Any]) -> Problems:
    problems = Problems()
    if not _text(data.get("name")):
        problems.add("name", _("Name the rule."))
    if (
        data.get("window_days") is None
        and data.get("condition_required", "any") == "any"
        and not data.get("non_returnable_once_opened")
        and not data.get("exchange_warranty")
    ):
        problems.add(
            "window_days",
            _("A rule sets a window, a condition, the opened rule or the exchange warranty."),
        )
    return problems


def return_rule_create(
    *, actor: Any, data: dict[str, Any], model: type[ReturnRule] = ReturnRule
) -> ReturnRule:
    """Add a return rule (company policy, kept by the service manager or administrator)."""
    from medservice.core.services import record_create

    _require(actor, "returns.add_returnrule", _("You may not change the return rules."))
    data = {key: value for key, value in data.items() if key != "version"}
    _rule_problems(data).raise_if_any(_("The rule was not saved."))
    return record_create(actor=actor, model=ReturnRule, data=data)


def return_rule_update(
    *, actor: Any, instance: ReturnRule, data: dict[str, Any], expected_version: int | None = None
) -> ReturnRule:
    from medservice.core.services import record_update

    _require(actor, "returns.change_returnrule", _("You may not change the return rules."))
    merged = {
        "name": instance.name,
        "window_days": instance.window_days,
        "condition_required": instance.condition_required,
        "non_returnable_once_opened": instance.non_returnable_once_opened,
        "exchange_warranty": instance.exchange_warranty,
        **data,
    }
    _rule_problems(merged).raise_if_any(_("The rule was not saved."))
    return record_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )
