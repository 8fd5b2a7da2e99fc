"""The work order from creation to completion: assessment with coverage, the plan, the
cost-price quote and the customer's answer, the promised completion date, cancellation and
completion (which resolves the service request, updates the device and tells the customer).

Dispatch and visits are in dispatch.py, the work on site or in the workshop in onsite.py, the
service report, its signatures and fees in reports.py. Every write here is atomic, goes through
the workflow table and is audited."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.audit import audit_record
from medservice.core.choices import AuditAction
from medservice.core.context import audit_context
from medservice.core.errors import (
    DomainError,
    InvalidInputError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.workflow import actions_allowed, transition
from medservice.work_orders.choices import (
    FINISHED_STATUSES,
    OPEN_STATUSES,
    ChargeCategory,
    DecisionMethod,
    PartsBasis,
    PaymentStatus,
    QuoteStatus,
    Route,
    ServiceResult,
    VisitStatus,
    WorkOrderKind,
    WorkOrderSource,
    WorkOrderStatus,
)
from medservice.work_orders.events import work_order_completed_publish
from medservice.work_orders.models import (
    FeeItem,
    Quote,
    QuoteLine,
    RateCard,
    WorkOrder,
    WorkOrderFile,
)
from medservice.work_orders.workflow import TRANSITIONS

CENT = Decimal("0.01")
# Kinds of work that change the device: not while it is kept as evidence.
ALTERING_KINDS = frozenset(
    {
        WorkOrderKind.REPAIR,
        WorkOrderKind.UPGRADE,
        WorkOrderKind.PREVENTIVE_MAINTENANCE,
        WorkOrderKind.INSTALLATION,
        WorkOrderKind.RECALL_ACTION,
    }
)
# Kinds whose completion needs the model's acceptance test (not remote support).
TESTED_KINDS = frozenset(
    {
        WorkOrderKind.REPAIR,
        WorkOrderKind.INSTALLATION,
        WorkOrderKind.PREVENTIVE_MAINTENANCE,
        WorkOrderKind.INSPECTION,
        WorkOrderKind.UPGRADE,
        WorkOrderKind.RECALL_ACTION,
    }
)
# Kinds where the device is out of use from the report of the fault (downtime counts).
DOWNTIME_KINDS = frozenset({WorkOrderKind.REPAIR, WorkOrderKind.RECALL_ACTION})


# --- Small shared helpers -----------------------------------------------------------------------


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def require_permission(actor: Any, permission: str, message: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def require_text(value: str | None, field: str, message: str) -> None:
    if not (value or "").strip():
        raise InvalidInputError(message, fields={field: [message]})


def work_order_transition(
    work_order: WorkOrder,
    name: str,
    *,
    actor: Any,
    reason: str = "",
    changes: dict[str, Any] | None = None,
    target: str | None = None,
) -> WorkOrder:
    """Lock, check the table, change, audit (inside the caller's transaction)."""
    return transition(
        work_order,
        name,
        transitions=TRANSITIONS,
        actor=actor,
        reason=reason,
        changes=changes,
        target=target,
    )


def work_order_actions_allowed(work_order: WorkOrder, user: Any) -> list[tuple[str, Any]]:
    return actions_allowed(TRANSITIONS, work_order, user)


def work_order_link(work_order: WorkOrder) -> str:
    return reverse("work_orders:work-orders-detail", kwargs={"pk": work_order.pk})


def users_with_role(*roles: str) -> list[Any]:
    from medservice.accounts.models import User

    return list(
        User.objects.filter(is_active=True, groups__name__in=[str(role) for role in roles])
        .distinct()
        .order_by("pk")
    )


def service_managers() -> list[Any]:
    from medservice.accounts.choices import Role

    return users_with_role(Role.SERVICE_MANAGER)


def staff_notify(
    work_order: WorkOrder, *, recipients: Sequence[Any], template: str, **context: Any
) -> None:
    """Tell staff (the owner, the engineer, managers) in their own language."""
    unique = []
    for user in recipients:
        if user is not None and user.is_active and user not in unique:
            unique.append(user)
    if unique:
        notify(
            recipients=unique,
            template=template,
            context={"work_order": work_order, **context},
            link=work_order_link(work_order),
        )


def ticket_note(
    work_order: WorkOrder, text: str, *, actor: Any, customer_visible: bool = False
) -> None:
    """The service request's timeline tells the story of its work orders."""
    if work_order.ticket_id is None:
        return
    from medservice.tickets.choices import TimelineKind
    from medservice.tickets.services import timeline_add

    timeline_add(
        work_order.ticket,
        kind=TimelineKind.VISIT if customer_visible else TimelineKind.NOTE,
        text=f"{work_order.number}: {text}",
        actor=actor,
        customer_visible=customer_visible,
        data={"work_order": work_order.pk},
    )


def customer_inform(work_order: WorkOrder, *, text: str, actor: Any = None) -> None:
    """Tell the customer: through the service request (timeline, e-mail and SMS to its contact)
    when there is one, otherwise to the work order's contact phone and the organisation's
    portal users. Sent after commit; recorded now."""
    from medservice.accounts.choices import Role
    from medservice.accounts.models import User

    ticket = work_order.ticket if work_order.ticket_id else None
    if ticket is not None:
        ticket_note(work_order, text, actor=actor, customer_visible=True)
        email = (ticket.contact.email if ticket.contact_id else "") or ticket.reporter_email
        phone = (
            (ticket.contact.mobile or ticket.contact.phone) if ticket.contact_id else ""
        ) or ticket.reporter_phone
    else:
        email, phone = "", work_order.contact_phone
    portal_users = list(
        User.objects.filter(
            is_active=True,
            organization_id=work_order.organization_id,
            groups__name=str(Role.CUSTOMER_USER),
        ).order_by("pk")
    )
    if portal_users:
        notify(
            recipients=portal_users,
            template="work_orders_customer_update",
            context={"work_order": work_order, "text": text},
            link=reverse("work_orders:portal-work-order", kwargs={"pk": work_order.pk}),
        )
    subject = _("Service %(number)s") % {"number": work_order.number}
    pk = work_order.pk
    if email or phone:
        from medservice.work_orders.tasks import send_customer_text

        transaction.on_commit(
            lambda: send_customer_text.enqueue(pk, subject, text, email or "", phone or "")
        )


def refuse_under_evidence_hold(device: Any) -> None:
    from medservice.installed_base.services import HeldError, evidence_hold_for

    hold = evidence_hold_for(device)
    if hold is not None:
        message = _(
            "%(device)s is kept as evidence (%(hold)s) until the quality manager releases it: "
            "it may not be altered."
        ) % {"device": device, "hold": hold}
        raise HeldError(message, fields={"device": [message]})


def file_attach(
    *, actor: Any, work_order: WorkOrder, kind: str, upload: Any, note: str = ""
) -> WorkOrderFile:
    """Keep a photo, scan or PDF with the work order (type checked from its content)."""
    from medservice.core.attachments import attachment_check

    require_permission(
        actor, "work_orders.work_workorder", _("You may not add files to work orders.")
    )
    mime = attachment_check(upload)
    with transaction.atomic():
        record = WorkOrderFile.objects.create(
            work_order=work_order,
            kind=kind,
            file=upload,
            content_type=mime,
            note=note,
            uploaded_by=actor,
        )
        audit_record(
            work_order, AuditAction.UPDATE, before={}, after={"file": record.file.name},
            detail=str(record.get_kind_display()),
        )  # fmt: skip
    return record


# --- Creation -----------------------------------------------------------------------------------


def work_order_create(
    *,
    actor: Any,
    kind: str,
    device: Any,
    problem: str,
    ticket: Any = None,
    source: str | None = None,
    source_reference: str = "",
    owner: Any = None,
    contact_name: str = "",
    contact_phone: str = "",
    site_address: str = "",
    route: str = "",
) -> WorkOrder:
    """Open a work order on a device, from a service request, a PM plan, a recall or by hand."""
    require_permission(actor, "work_orders.add_workorder", _("You may not open work orders."))
    problems = Problems()
    if kind not in WorkOrderKind.values:
        problems.add("kind", _("Choose the kind of work."))
    if device is None:
        problems.add("device", _("Choose the device."))
    if not (problem or "").strip():
        problems.add("problem", _("Describe the problem or the work to do."))
    if route and route not in Route.values:
        problems.add("route", _("Choose where the work is done."))
    if ticket is not None and device is not None:
        if ticket.device_id is not None and ticket.device_id != device.pk:
            problems.add(
                "device",
                _("The service request is about %(device)s, not this device.")
                % {"device": ticket.device},
            )
        if ticket.status in ("closed", "cancelled"):
            problems.add(
                "ticket",
                _("Service request %(number)s is %(status)s: open work on an open request.")
                % {"number": ticket.number, "status": ticket.get_status_display()},
            )
    problems.raise_if_any(_("The work order was not opened."))
    if kind in ALTERING_KINDS:
        refuse_under_evidence_hold(device)
    if kind == WorkOrderKind.REMOTE_SUPPORT:
        route = Route.REMOTE
    if source is None:
        source = WorkOrderSource.TICKET if ticket is not None else WorkOrderSource.MANUAL
    contact = ticket.contact if ticket is not None and ticket.contact_id else None
    organization = device.organization
    with transaction.atomic():
        work_order = WorkOrder(
            number=number_next(prefix="WO"),
            kind=kind,
            source=source,
            source_reference=source_reference,
            ticket=ticket,
            device=device,
            organization=organization,
            department=device.department,
            contact_name=contact_name
            or (contact.name if contact else "")
            or (ticket.reporter_name if ticket is not None else ""),
            contact_phone=contact_phone
            or (contact.mobile or contact.phone if contact else "")
            or (ticket.reporter_phone if ticket is not None else ""),
            site_address=site_address or organization.address,
            problem=problem.strip(),
            owner=owner or (ticket.owner if ticket is not None else None) or actor,
            route=route,
            down_since=(ticket.received_at if ticket is not None else timezone.now())
            if kind in DOWNTIME_KINDS
            else None,
        )
        work_order.full_clean(exclude=["number", "owner", "engineer"])
        work_order.save()
        if kind in DOWNTIME_KINDS and device.status in ("installed", "in_service"):
            _device_status(device, "under_repair", actor=actor)
        ticket_note(
            work_order,
            _("Work order opened (%(kind)s).") % {"kind": work_order.get_kind_display()},
            actor=actor,
            customer_visible=True,
        )
    return work_order


def _device_status(device: Any, status: str, *, actor: Any) -> None:
    from medservice.core.context import audit_context

    locked = type(device)._base_manager.select_for_update().get(pk=device.pk)
    if locked.status == status:
        return
    locked.status = status
    with audit_context(actor=actor):
        locked.save(update_fields=["status", "updated_at"])


# --- Assessment and coverage --------------------------------------------------------------------


def _charged_categories(work_order: WorkOrder) -> tuple[str, ...]:
    if work_order.kind == WorkOrderKind.PREVENTIVE_MAINTENANCE:
        return ("pm",)
    if work_order.route == Route.REMOTE:
        return ("labour",)
    return ("parts", "labour", "travel")


def work_order_assess(
    *,
    actor: Any,
    work_order: WorkOrder,
    route: str,
    assessment: str,
    exclusion: str = "",
    exclusion_evidence: str = "",
    on: datetime.date | None = None,
) -> WorkOrder:
    """Decide where the work is done (remotely, on site, in the workshop, at the supplier) and
    whether it is covered, per cost category (coverage()). An exclusion (misuse, force
    majeure, unauthorised repair) needs the evidence written down."""
    from medservice.installed_base.choices import Exclusion
    from medservice.installed_base.services import coverage

    problems = Problems()
    if route not in Route.values:
        problems.add("route", _("Choose where the work is done."))
    if work_order.kind == WorkOrderKind.REMOTE_SUPPORT and route != Route.REMOTE:
        problems.add("route", _("Remote support is done remotely."))
    if not (assessment or "").strip():
        problems.add("assessment", _("Write down the assessment."))
    if exclusion and exclusion not in Exclusion.values:
        problems.add("exclusion", _("Choose a listed exclusion."))
    if exclusion and not (exclusion_evidence or "").strip():
        problems.add(
            "exclusion_evidence",
            _("An exclusion needs its evidence: say what shows misuse or force majeure."),
        )
    if route == Route.SUPPLIER and work_order.device.supplier_id is None:
        problems.add(
            "route",
            _("The device has no supplier on record to send it to under a quality agreement."),
        )
    problems.raise_if_any(_("The assessment was not recorded."))
    day = on or timezone.localdate()
    with transaction.atomic():
        work_order = WorkOrder.objects.select_related("device__device_model").get(pk=work_order.pk)
        answers = coverage(work_order.device, on=day, exclusion=exclusion or None)
        decided = {
            str(category): {"covered": answer.covered, "by": answer.by, "reason": answer.reason}
            for category, answer in answers.items()
        }
        probe = WorkOrder(kind=work_order.kind, route=route)
        covered = all(decided[name]["covered"] for name in _charged_categories(probe))
        work_order = work_order_transition(
            work_order,
            "assess",
            actor=actor,
            changes={
                "route": route,
                "assessment": assessment.strip(),
                "exclusion": exclusion,
                "exclusion_evidence": exclusion_evidence.strip(),
                "coverage": decided,
                "covered": covered,
                "assessed_at": timezone.now(),
                "assessed_by": actor,
                "repair_supplier": work_order.device.supplier if route == Route.SUPPLIER else None,
            },
        )
        ticket_note(
            work_order,
            _("Assessed: %(route)s; %(coverage)s")
            % {
                "route": work_order.get_route_display(),
                "coverage": _("covered, free of charge")
                if covered
                else _("not covered, charged at cost price"),
            },
            actor=actor,
            customer_visible=True,
        )
    return work_order


def coverage_lines(work_order: WorkOrder) -> list[dict[str, Any]]:
    """The coverage decided at assessment, one line per cost category, for pages and the PDF."""
    from medservice.installed_base.choices import CostCategory

    return [
        {"category": str(CostCategory(name).label), **answer}
        for name, answer in (work_order.coverage or {}).items()
        if name in CostCategory.values
    ]


# --- Plan and quote -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedPart:
    part: Any
    quantity: Decimal


def rate_card_for(work_order: WorkOrder) -> RateCard:
    """The organisation's own active card, else the default; with none on file, a card at
    cost price with no labour or travel rate (so nothing is charged that was never set)."""
    cards = {
        card.organization_id: card
        for card in RateCard.objects.filter(active=True).filter(
            Q(organization_id=work_order.organization_id) | Q(organization__isnull=True)
        )
    }
    return (
        cards.get(work_order.organization_id)
        or cards.get(None)
        or RateCard(name=_("Cost price"), parts_basis=PartsBasis.COST)
    )


def quote_price(
    work_order: WorkOrder,
    *,
    parts: Sequence[PlannedPart] = (),
    labour_hours: Decimal = Decimal(0),
    travel_hours: Decimal = Decimal(0),
    visits: int = 1,
    rate_card: RateCard | None = None,
) -> list[dict[str, Any]]:
    """Price the work that is not covered: parts at cost (or list price when the rate card
    says so), labour hours and travel at the card's rates. Covered categories are left out."""
    card = rate_card or rate_card_for(work_order)
    coverage_ = work_order.coverage or {}

    def charged(category: str) -> bool:
        answer = coverage_.get(category)
        return not (answer and answer.get("covered"))

    lines: list[dict[str, Any]] = []
    if charged("parts") and work_order.kind != WorkOrderKind.PREVENTIVE_MAINTENANCE:
        for item in parts:
            unit = (
                item.part.standard_cost if card.parts_basis == PartsBasis.COST else item.part.price
            )
            lines.append(
                {
                    "category": ChargeCategory.PARTS,
                    "description": f"{item.part.number} {item.part.name_zh}",
                    "part": item.part,
                    "quantity": Decimal(item.quantity),
                    "unit_price": money(unit),
                    "amount": money(Decimal(unit) * Decimal(item.quantity)),
                }
            )
    labour_category = "pm" if work_order.kind == WorkOrderKind.PREVENTIVE_MAINTENANCE else "labour"
    if labour_hours and charged(labour_category):
        lines.append(
            {
                "category": ChargeCategory.LABOUR,
                "description": str(_("Labour")),
                "part": None,
                "quantity": Decimal(labour_hours),
                "unit_price": money(card.labour_rate),
                "amount": money(Decimal(labour_hours) * card.labour_rate),
            }
        )
    if work_order.route in (Route.ON_SITE, "") and charged("travel"):
        if travel_hours:
            lines.append(
                {
                    "category": ChargeCategory.TRAVEL,
                    "description": str(_("Travel time")),
                    "part": None,
                    "quantity": Decimal(travel_hours),
                    "unit_price": money(card.travel_rate),
                    "amount": money(Decimal(travel_hours) * card.travel_rate),
                }
            )
        if card.travel_flat and visits:
            lines.append(
                {
                    "category": ChargeCategory.TRAVEL,
                    "description": str(_("Travel fee per visit")),
                    "part": None,
                    "quantity": Decimal(visits),
                    "unit_price": money(card.travel_flat),
                    "amount": money(card.travel_flat * visits),
                }
            )
    return lines


def work_order_plan(
    *,
    actor: Any,
    work_order: WorkOrder,
    plan: str,
    estimated_hours: Decimal | None = None,
    promised_by: datetime.date | None = None,
) -> WorkOrder:
    """Record the repair plan (维修方案). Covered work is then ready to go; charged work needs
    a quote the customer approves first."""
    problems = Problems()
    if not (plan or "").strip():
        problems.add("plan", _("Write down the plan."))
    if estimated_hours is not None and estimated_hours < 0:
        problems.add("estimated_hours", _("The hours cannot be negative."))
    if promised_by is not None and promised_by < timezone.localdate():
        problems.add("promised_by", _("The promised date is in the past."))
    problems.raise_if_any(_("The plan was not recorded."))
    with transaction.atomic():
        target = WorkOrderStatus.READY if work_order.covered else WorkOrderStatus.PLANNED
        changes: dict[str, Any] = {"plan": plan.strip(), "estimated_hours": estimated_hours}
        if promised_by is not None:
            changes["promised_by"] = promised_by
        work_order = work_order_transition(
            work_order, "plan", actor=actor, target=target, changes=changes
        )
        ticket_note(work_order, _("Plan: %(plan)s") % {"plan": plan.strip()}, actor=actor,
                    customer_visible=True)  # fmt: skip
    return work_order


def work_order_quote(
    *,
    actor: Any,
    work_order: WorkOrder,
    parts: Sequence[PlannedPart] = (),
    labour_hours: Decimal = Decimal(0),
    travel_hours: Decimal = Decimal(0),
    visits: int = 1,
    valid_until: datetime.date | None = None,
    note: str = "",
) -> Quote:
    """Send the customer a quote for the work that is not covered, priced at cost by default;
    the work waits for their approval. The customer gets a one-time link to answer."""
    from medservice.work_orders.links import link_create

    problems = Problems()
    for position, item in enumerate(parts, start=1):
        if Decimal(item.quantity) <= 0:
            problems.add(f"parts.{position}.quantity", _("The quantity must be above zero."))
    if labour_hours < 0:
        problems.add("labour_hours", _("The hours cannot be negative."))
    if travel_hours < 0:
        problems.add("travel_hours", _("The hours cannot be negative."))
    if valid_until is not None and valid_until < timezone.localdate():
        problems.add("valid_until", _("The quote would already have expired."))
    problems.raise_if_any(_("The quote was not sent."))
    with transaction.atomic():
        # The state is checked first (409), then what there is to charge (400).
        work_order = work_order_transition(work_order, "quote", actor=actor)
        card = rate_card_for(work_order)
        lines = quote_price(
            work_order, parts=parts, labour_hours=labour_hours, travel_hours=travel_hours,
            visits=visits, rate_card=card,
        )  # fmt: skip
        if not lines:
            message = _("Nothing to charge: add parts or hours that are not covered.")
            raise InvalidInputError(message, fields={"parts": [message]})
        total = money(sum((line["amount"] for line in lines), Decimal(0)))
        work_order.quote_total = total
        work_order.rate_card = card if card.pk else None
        with audit_context(actor=actor):
            work_order.save(update_fields=["quote_total", "rate_card"])
        quote = Quote.objects.create(
            work_order=work_order,
            number=number_next(prefix="QT"),
            total=total,
            valid_until=valid_until,
            note=note.strip(),
        )
        QuoteLine.objects.bulk_create(QuoteLine(quote=quote, **line) for line in lines)
        audit_record(quote, AuditAction.CREATE, before={}, after={"total": str(total)})
        token = link_create(quote=quote, sent_to=work_order.contact_phone or "")
        customer_inform(
            work_order,
            text=_(
                "The work on %(device)s is not covered; the quote %(quote)s comes to "
                "%(total)s yuan at cost price. Approve or decline it here: %(link)s"
            )
            % {
                "device": work_order.device,
                "quote": quote.number,
                "total": total,
                "link": _absolute(reverse("work_orders:public-quote", kwargs={"token": token})),
            },
            actor=actor,
        )
    return quote


def _absolute(path: str) -> str:
    base = settings.MEDSERVICE_PUBLIC_URL.rstrip("/")
    return f"{base}{path}"


def _open_quote(work_order: WorkOrder) -> Quote:
    quote = (
        Quote.objects.select_for_update()
        .filter(work_order=work_order, status=QuoteStatus.SENT)
        .first()
    )
    if quote is None:
        from medservice.core.errors import InvalidTransitionError

        raise InvalidTransitionError(_("There is no quote waiting for the customer's answer."))
    return quote


def _decision_problems(method: str, decided_by_name: str, paper_copy: Any, actor: Any) -> Problems:
    problems = Problems()
    if method not in DecisionMethod.values:
        problems.add("method", _("Say how the customer answered."))
    if method == DecisionMethod.PAPER and paper_copy is None:
        problems.add("paper_copy", _("Upload the customer's signed paper copy."))
    if not (decided_by_name or "").strip() and actor is None:
        problems.add("decided_by_name", _("Give the name of the person who answered."))
    return problems


def _store_paper(quote: Quote, paper_copy: Any) -> None:
    from medservice.core.attachments import attachment_check

    if paper_copy is None:
        return
    attachment_check(paper_copy, field="paper_copy")
    quote.paper_copy = paper_copy


def work_order_approve_quote(
    *,
    actor: Any,
    work_order: WorkOrder,
    method: str = DecisionMethod.PORTAL,
    decided_by_name: str = "",
    paper_copy: Any = None,
) -> WorkOrder:
    """The customer approves the quote (in the portal, through the link, or on paper that is
    uploaded); the work is ready to go."""
    _decision_problems(method, decided_by_name, paper_copy, actor).raise_if_any(
        _("The approval was not recorded.")
    )
    with transaction.atomic():
        work_order = work_order_transition(work_order, "approve-quote", actor=actor)
        quote = _open_quote(work_order)
        _store_paper(quote, paper_copy)
        quote.status = QuoteStatus.APPROVED
        quote.decided_at = timezone.now()
        quote.decided_by_name = (decided_by_name or "").strip() or _name_of(actor)
        quote.decision_method = method
        quote.decision_recorded_by = actor
        quote.save()
        ticket_note(
            work_order,
            _("The customer approved quote %(quote)s (%(total)s).")
            % {"quote": quote.number, "total": quote.total},
            actor=actor,
            customer_visible=True,
        )
        staff_notify(
            work_order,
            recipients=[work_order.owner, *service_managers()],
            template="work_orders_quote_answered",
            quote=quote,
            approved=True,
        )
    return work_order


def work_order_decline_quote(
    *,
    actor: Any,
    work_order: WorkOrder,
    reason: str,
    method: str = DecisionMethod.PORTAL,
    decided_by_name: str = "",
    paper_copy: Any = None,
) -> WorkOrder:
    """The customer declines: the work order closes with the reason and the customer is told."""
    problems = _decision_problems(method, decided_by_name, paper_copy, actor)
    if not (reason or "").strip():
        problems.add("reason", _("Say why the quote was declined."))
    problems.raise_if_any(_("The answer was not recorded."))
    now = timezone.now()
    with transaction.atomic():
        work_order = work_order_transition(
            work_order, "decline-quote", actor=actor, reason=reason,
            changes={"closed_at": now, "cancel_reason": reason.strip()[:300]},
        )  # fmt: skip
        quote = _open_quote(work_order)
        _store_paper(quote, paper_copy)
        quote.status = QuoteStatus.DECLINED
        quote.decided_at = now
        quote.decided_by_name = (decided_by_name or "").strip() or _name_of(actor)
        quote.decision_method = method
        quote.decision_recorded_by = actor
        quote.decline_reason = reason.strip()
        quote.save()
        _device_back_if_idle(work_order, actor=actor)
        customer_inform(
            work_order,
            text=_(
                "Quote %(quote)s was declined (%(reason)s); work order %(number)s is closed "
                "without the work."
            )
            % {"quote": quote.number, "reason": reason.strip(), "number": work_order.number},
            actor=actor,
        )
        staff_notify(
            work_order,
            recipients=[work_order.owner, *service_managers()],
            template="work_orders_quote_answered",
            quote=quote,
            approved=False,
        )
    return work_order


def _name_of(actor: Any) -> str:
    if actor is None:
        return ""
    return actor.get_full_name() or actor.get_username()


# --- Promised date ------------------------------------------------------------------------------


def work_order_promise(
    *, actor: Any, work_order: WorkOrder, promised_by: datetime.date, reason: str = ""
) -> WorkOrder:
    """Agree (or move) the promised completion date (维修周期). Moving it needs the reason,
    and the customer is told the new date and why."""
    problems = Problems()
    if promised_by is None:
        problems.add("promised_by", _("Give the promised date."))
    elif promised_by < timezone.localdate():
        problems.add("promised_by", _("The promised date is in the past."))
    moving = work_order.promised_by is not None and work_order.promised_by != promised_by
    if moving and not (reason or "").strip():
        problems.add("reason", _("Say why the promised date moves."))
    problems.raise_if_any(_("The promised date was not changed."))
    with transaction.atomic():
        before = work_order.promised_by
        work_order = work_order_transition(
            work_order, "promise", actor=actor, reason=reason,
            changes={"promised_by": promised_by, "promised_reason": (reason or "").strip()[:300],
                     "promised_warned_for": None},
        )  # fmt: skip
        if before is None:
            text = _("We promise to complete the work by %(date)s.") % {"date": promised_by}
        else:
            text = _("The completion date moves from %(before)s to %(date)s: %(reason)s") % {
                "before": before,
                "date": promised_by,
                "reason": reason.strip(),
            }
        customer_inform(work_order, text=text, actor=actor)
    return work_order


def promised_dates_warn(*, now: datetime.datetime | None = None) -> int:
    """Warn the owner, the engineer and the service managers of each open work order whose
    promised date is within the warning period (default 1 day) or has passed, once per
    promised date, so that they agree a new date with the customer before it slips."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    days = int(getattr(settings, "WORK_ORDER_PROMISE_WARN_DAYS", 1))
    candidates = (
        WorkOrder.objects.filter(
            status__in=OPEN_STATUSES,
            promised_by__isnull=False,
            promised_by__lte=today + datetime.timedelta(days=days),
        )
        .exclude(promised_warned_for=models_F("promised_by"))
        .select_related("owner", "engineer")
        .order_by("promised_by", "pk")
    )
    managers = service_managers()
    warned = 0
    for work_order in candidates:
        with transaction.atomic():
            claimed = (
                WorkOrder.objects.filter(pk=work_order.pk)
                .exclude(promised_warned_for=models_F("promised_by"))
                .update(promised_warned_for=models_F("promised_by"))
            )
            if not claimed:
                continue
            staff_notify(
                work_order,
                recipients=[work_order.owner, work_order.engineer, *managers],
                template="work_orders_promise_at_risk",
                days_left=(work_order.promised_by - today).days,
            )
        warned += 1
    return warned


def models_F(name: str) -> Any:  # noqa: N802  (reads like Django's F)
    from django.db.models import F

    return F(name)


# --- Cancel -------------------------------------------------------------------------------------


def work_order_cancel(*, actor: Any, work_order: WorkOrder, reason: str) -> WorkOrder:
    """Cancel the work with the reason; scheduled visits are called off and the customer told."""
    require_text(reason, "reason", _("Say why the work order is cancelled."))
    now = timezone.now()
    with transaction.atomic():
        work_order = work_order_transition(
            work_order, "cancel", actor=actor, reason=reason,
            changes={"cancel_reason": reason.strip()[:300], "closed_at": now},
        )  # fmt: skip
        for visit in work_order.visits.select_for_update().filter(status=VisitStatus.SCHEDULED):
            visit.status = VisitStatus.CANCELLED
            visit.cancel_reason = reason.strip()[:300]
            visit.save()
        _device_back_if_idle(work_order, actor=actor)
        customer_inform(
            work_order,
            text=_("Work order %(number)s is cancelled: %(reason)s")
            % {"number": work_order.number, "reason": reason.strip()},
            actor=actor,
        )
        pk = work_order.pk
        transaction.on_commit(lambda: _cancelled_event(pk))
    return work_order


def _cancelled_event(pk: int) -> None:
    from medservice.work_orders.events import work_order_cancelled

    work_order_cancelled.send(sender=WorkOrder, work_order=WorkOrder.objects.get(pk=pk))


def _device_back_if_idle(work_order: WorkOrder, *, actor: Any) -> None:
    """A device marked under repair goes back to "installed" when no other work is open on it
    (the customer keeps using it: the repair was declined or cancelled)."""
    device = work_order.device
    if device.status != "under_repair":
        return
    others = WorkOrder.objects.filter(
        device=device, status__in=OPEN_STATUSES, kind__in=DOWNTIME_KINDS
    ).exclude(pk=work_order.pk)
    if not others.exists():
        _device_status(device, "installed", actor=actor)


# --- Completion ---------------------------------------------------------------------------------


def completion_refusals(work_order: WorkOrder) -> dict[str, list[str]]:
    """What still stands between the work and its completion, by field."""
    from medservice.work_orders.onsite import acceptance_test_state

    problems: dict[str, list[str]] = {}
    if (
        work_order.kind in (WorkOrderKind.REPAIR, WorkOrderKind.REMOTE_SUPPORT)
        and not (work_order.actions_taken or "").strip()
    ):
        problems.setdefault("actions_taken", []).append(
            _("Record the diagnosis and the actions taken.")
        )
    if work_order.kind in TESTED_KINDS and work_order.route != Route.REMOTE:
        state = acceptance_test_state(work_order)
        if state.missing:
            problems.setdefault("tests", []).append(
                _("The acceptance test is not finished: %(items)s.")
                % {"items": ", ".join(item.name for item in state.missing)}
            )
        if state.failed and work_order.test_override_by_id is None:
            problems.setdefault("tests", []).append(
                _(
                    "Failed acceptance-test items block completion: %(items)s. Repair and "
                    "test again, or ask the service manager to override with a reason."
                )
                % {"items": ", ".join(result.item.name for result in state.failed)}
            )
    if work_order.screened_at is None:
        problems.setdefault("screening", []).append(
            _("Decide whether this service record is a complaint or a reportable event.")
        )
    return problems


def work_order_complete(
    *,
    actor: Any,
    work_order: WorkOrder,
    result: str,
    password: str,
    language: str = "",
) -> WorkOrder:
    """Finish the work: checked (acceptance test passed or overridden, screening decided, the
    engineer checked out), then the engineer signs the service report with their password.
    The device returns to service (or is marked not to be used), its last service and next PM
    dates move on, the service request is resolved when this was its last open work, and the
    customer is told. The report then waits for the customer's signature."""
    from medservice.work_orders.reports import report_create

    if result not in ServiceResult.values:
        message = _("Say whether the device returns to service.")
        raise InvalidInputError(message, fields={"result": [message]})
    if actor is None or not password or not actor.check_password(password):
        from medservice.core.errors import SignatureError

        raise SignatureError(
            _("The password is not correct; the work order was not completed."),
            fields={"password": [_("The password is not correct.")]},
        )
    now = timezone.now()
    with transaction.atomic():
        locked = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
        refusals = completion_refusals(locked)
        if refusals and locked.status in TRANSITIONS["complete"].sources:
            from medservice.core.errors import InvalidTransitionError

            first = next(iter(refusals.values()))[0]
            raise InvalidTransitionError(first, fields=refusals)
        if locked.kind in ALTERING_KINDS:
            refuse_under_evidence_hold(locked.device)
        back = now if result == ServiceResult.RETURNED_TO_SERVICE else None
        work_order = work_order_transition(
            locked, "complete", actor=actor,
            changes={"result": result, "completed_at": now, "back_in_service_at": back},
        )  # fmt: skip
        _fees_from_quote(work_order)
        _device_after_service(work_order, actor=actor, day=timezone.localdate(now))
        report_create(actor=actor, work_order=work_order, language=language)
        _ticket_after_completion(work_order, actor=actor)
        work_order_completed_publish(work_order)
        pk = work_order.pk
        transaction.on_commit(lambda: _completed_event(pk))
    return work_order


def _completed_event(pk: int) -> None:
    from medservice.work_orders.events import work_order_completed

    work_order_completed.send(sender=WorkOrder, work_order=WorkOrder.objects.get(pk=pk))


def _fees_from_quote(work_order: WorkOrder) -> None:
    """Bill what the customer approved; covered work has no fee."""
    if work_order.fees.exists():
        return
    quote = work_order.quotes.filter(status=QuoteStatus.APPROVED).order_by("-pk").first()
    if quote is None:
        return
    FeeItem.objects.bulk_create(
        FeeItem(
            work_order=work_order,
            category=line.category,
            description=line.description,
            amount=line.amount,
        )
        for line in quote.lines.order_by("pk")
    )
    if quote.total > 0:
        WorkOrder.objects.filter(pk=work_order.pk).update(payment_status=PaymentStatus.UNPAID)
        work_order.payment_status = PaymentStatus.UNPAID


def _device_after_service(work_order: WorkOrder, *, actor: Any, day: datetime.date) -> None:
    from medservice.core.context import audit_context

    device = type(work_order.device)._base_manager.select_for_update().get(pk=work_order.device_id)
    device.last_service_on = day
    interval = device.device_model.pm_interval_days
    if interval and (
        work_order.kind in (WorkOrderKind.PREVENTIVE_MAINTENANCE, WorkOrderKind.INSTALLATION)
        or device.next_pm_due_on is None
    ):
        device.next_pm_due_on = day + datetime.timedelta(days=interval)
    if work_order.result == ServiceResult.NOT_TO_BE_USED:
        device.status = "under_repair"
    elif device.status == "under_repair":
        others = WorkOrder.objects.filter(
            device=device, status__in=OPEN_STATUSES, kind__in=DOWNTIME_KINDS
        ).exclude(pk=work_order.pk)
        if not others.exists():
            device.status = "in_service"
    elif device.status == "installed" and work_order.kind == WorkOrderKind.INSTALLATION:
        device.status = "in_service"
    with audit_context(actor=actor):
        device.save(update_fields=["last_service_on", "next_pm_due_on", "status", "updated_at"])


def _ticket_after_completion(work_order: WorkOrder, *, actor: Any) -> None:
    """Resolve the service request when this was its last open work; otherwise (or when the
    request cannot be resolved yet, e.g. a complaint not screened) tell its owner."""
    if work_order.ticket_id is None:
        return
    from medservice.tickets.choices import ResolutionType, Status
    from medservice.tickets.services import ticket_resolve

    ticket = work_order.ticket
    if ticket.status in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED):
        return
    still_open = WorkOrder.objects.filter(ticket=ticket, status__in=OPEN_STATUSES).exclude(
        status__in=FINISHED_STATUSES
    )
    if still_open.exclude(pk=work_order.pk).exists():
        return
    resolution_type = (
        ResolutionType.REMOTE_FIX if work_order.route == Route.REMOTE else ResolutionType.REPAIR
    )
    text = work_order.actions_taken or work_order.plan or work_order.get_kind_display()
    if ticket.status in (Status.SOLUTION_AGREED, Status.IN_PROGRESS):
        try:
            with transaction.atomic():
                ticket_resolve(
                    ticket=ticket,
                    actor=actor,
                    resolution_type=resolution_type,
                    resolution=_("%(number)s: %(text)s")
                    % {"number": work_order.number, "text": text},
                )
            return
        except DomainError as error:
            refusal = error.message
    else:
        refusal = _("the request is %(status)s") % {"status": ticket.get_status_display()}
    staff_notify(
        work_order,
        recipients=[ticket.owner, work_order.owner],
        template="work_orders_ticket_to_resolve",
        ticket=ticket,
        refusal=refusal,
    )


def work_order_is_done(work_order: WorkOrder) -> bool:
    return work_order.status in FINISHED_STATUSES


def submission_once(*, user: Any, key: str, action: str, work_order: WorkOrder) -> bool:
    """True the first time a phone form with this key is processed; False when the phone sent
    it again after a dropped connection (nothing must then happen twice). Call inside the
    action's transaction, so a refused action does not use up its key."""
    from django.db import IntegrityError

    from medservice.work_orders.models import Submission

    key = (key or "").strip()[:64]
    if not key:
        return True
    try:
        with transaction.atomic():
            Submission.objects.create(user=user, key=key, action=action, work_order=work_order)
    except IntegrityError:
        return False
    return True
