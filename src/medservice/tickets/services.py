"""Ticket services: each business action, completely (state, timeline, clocks, messages),
called alike by the UI's forms and the API's actions."""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.accounts.choices import Role
from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.workflow import allowed as workflow_allowed
from medservice.core.workflow import transition as workflow_transition
from medservice.integrations.choices import EventType as WebhookEvent
from medservice.tickets import sla
from medservice.tickets.choices import (
    NUMBER_PREFIX,
    OPEN_STATUSES,
    Channel,
    ConfirmationMethod,
    Priority,
    ResolutionType,
    SlaTarget,
    Status,
    TicketKind,
    TimelineKind,
    WaitReason,
)
from medservice.tickets.events import (
    ticket_closed,
    ticket_quality_flagged,
    ticket_resolution_needs_work,
    ticket_webhook_publish,
)
from medservice.tickets.models import (
    QualityIntake,
    RegulatorFeedback,
    SlaException,
    Team,
    Ticket,
    TimelineEntry,
)
from medservice.tickets.workflow import TRANSITIONS

# A received time this far in the future is a typing error, not clock drift.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
TIER_ORDER = {"premium": 3, "priority": 2, "standard": 1}
WORK_RESOLUTIONS = {ResolutionType.REPAIR, ResolutionType.REPLACEMENT, ResolutionType.RETURN_REFUND}


# --- helpers ------------------------------------------------------------------------------------


def _actor_label(actor: Any) -> str:
    if actor is None:
        return _("system")
    return actor.get_full_name() or actor.get_username()


def timeline_add(
    ticket: Ticket,
    *,
    kind: str,
    text: str = "",
    actor: Any = None,
    customer_visible: bool = False,
    at: datetime.datetime | None = None,
    data: dict[str, Any] | None = None,
    attachment: Any = None,
    email_message_id: str = "",
) -> TimelineEntry:
    entry = TimelineEntry(
        ticket=ticket,
        kind=kind,
        text=text,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=_actor_label(actor),
        customer_visible=customer_visible,
        created_at=at or timezone.now(),
        data=data or {},
        email_message_id=email_message_id,
    )
    if attachment is not None:
        from medservice.core.attachments import attachment_check

        entry.attachment_type = attachment_check(attachment)
        entry.attachment_name = getattr(attachment, "name", "")[:200]
        entry.attachment_size = getattr(attachment, "size", None)
        entry.attachment = attachment
    entry.save()
    return entry


def _require_text(value: str, field: str, message: str, field_message: str) -> None:
    """Refuse an empty required text (a reason, a note) naming the field."""
    if not (value or "").strip():
        raise InvalidInputError(message, fields={field: [field_message]})


def _users_with_role(*roles: str) -> list[Any]:
    from medservice.accounts.models import User

    return list(
        User.objects.filter(is_active=True, groups__name__in=[str(role) for role in roles])
        .distinct()
        .order_by("pk")
    )


def _link(ticket: Ticket) -> str:
    return f"/tickets/{ticket.pk}/"


def _state_changed(ticket: Ticket, before: str, actor: Any, text: str = "", **extra: Any) -> None:
    timeline_add(
        ticket,
        kind=TimelineKind.STATE_CHANGE,
        text=text,
        actor=actor,
        customer_visible=extra.pop("customer_visible", False),
        data={"from": before, "to": ticket.status, **extra},
    )


def _transition(
    ticket: Ticket,
    action: str,
    *,
    actor: Any,
    target: str | None = None,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> tuple[Ticket, str]:
    before = Ticket.objects.filter(pk=ticket.pk).values_list("status", flat=True).first()
    locked = workflow_transition(
        ticket,
        action,
        transitions=TRANSITIONS,
        actor=actor,
        target=target,
        reason=reason,
        changes=changes,
    )
    if before and locked.status != before:
        _webhook_state_changed(locked, before, action)
    return locked, before or ""


def _webhook_state_changed(ticket: Ticket, before: str, action: str) -> None:
    ticket_webhook_publish(
        WebhookEvent.TICKET_STATE_CHANGED,
        ticket,
        from_status=before,
        to_status=ticket.status,
        action=action,
    )


def _save_due_fields(ticket: Ticket, *, actor: Any, reason: str = "") -> None:
    changed = sla.ticket_due_fields_refresh(ticket)
    if changed:
        with audit_context(actor=actor, reason=reason or None):
            ticket.save(update_fields=list(changed))


def _after_state_change(ticket: Ticket, *, actor: Any, at: datetime.datetime) -> None:
    sla.clocks_follow_state(ticket, at=at)
    _save_due_fields(ticket, actor=actor)


# --- customer messages ----------------------------------------------------------------------------


def customer_message(ticket: Ticket, *, event: str, extra: str = "") -> None:
    """Tell the customer (e-mail to the contact or reporter, SMS interface to their phone, and
    the portal timeline) about acknowledgement, assignment, a proposed solution, a delay, the
    resolution or an automatic closure. Sent after commit; recorded in the timeline now."""
    from medservice.tickets.messages import message_subject, message_text

    text = message_text(ticket, event=event, extra=extra)
    subject = message_subject(ticket)
    email = (ticket.contact.email if ticket.contact_id else "") or ticket.reporter_email
    phone = (
        (ticket.contact.mobile or ticket.contact.phone) if ticket.contact_id else ""
    ) or ticket.reporter_phone
    channels = [name for name, value in (("email", email), ("sms", phone)) if value]
    timeline_add(
        ticket,
        kind=TimelineKind.MESSAGE,
        text=text,
        customer_visible=True,
        data={"event": event, "channels": channels},
    )
    ticket_id = ticket.pk
    transaction.on_commit(
        lambda: _send_customer_message(
            ticket_id, subject=subject, text=text, email=email, phone=phone
        )
    )


def _send_customer_message(
    ticket_id: int, *, subject: str, text: str, email: str, phone: str
) -> None:
    from medservice.tickets.tasks import send_customer_message

    send_customer_message.enqueue(ticket_id, subject, text, email, phone)


# --- intake ---------------------------------------------------------------------------------------


def _sla_tier_of(ticket: Ticket) -> str:
    if not ticket.device_id:
        return ""
    from medservice.installed_base.selectors import contracts_of_device

    tiers = [
        contract.sla_tier
        for contract in contracts_of_device(
            ticket.device, on=timezone.localdate(ticket.received_at)
        )
    ]
    return max(tiers, key=lambda tier: TIER_ORDER.get(tier, 0), default="")


def _check_intake(data: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    received_at = data.get("received_at") or timezone.now()
    if received_at > timezone.now() + FUTURE_TOLERANCE:
        problems["received_at"] = [_("The received time is in the future.")]
    contact = data.get("contact")
    if not contact and not (data.get("reporter_name") or "").strip():
        problems["reporter_name"] = [
            _("Choose the contact who reported it, or type the reporter's name.")
        ]
    if not contact and not any(
        (data.get(key) or "").strip() for key in ("reporter_phone", "reporter_email")
    ):
        problems["reporter_phone"] = [
            _("Give a phone number or an e-mail address so the customer can be reached.")
        ]
    organization, device = data.get("organization"), data.get("device")
    if (
        device is not None
        and organization is not None
        and device.organization_id
        not in (
            None,
            organization.pk,
        )
    ):
        problems["device"] = [
            _("Device %(serial)s belongs to %(owner)s, not to %(organization)s.")
            % {
                "serial": device.serial_number or device.batch_number,
                "owner": device.organization,
                "organization": organization,
            }
        ]
    if (
        contact is not None
        and organization is not None
        and contact.organization_id != (organization.pk)
    ):
        problems["contact"] = [
            _("%(contact)s works at %(other)s, not at %(organization)s.")
            % {"contact": contact, "other": contact.organization, "organization": organization}
        ]
    return problems


def ticket_register(
    *,
    actor: Any,
    data: dict[str, Any],
    quality: dict[str, Any] | None = None,
    attachments: list[Any] | None = None,
    auto_assign: bool = True,
) -> Ticket:
    """Register a request from any channel: number, clocks from the receipt time, the
    acknowledgement to the customer, quality staff told at once of a quality complaint."""
    data = dict(data)
    problems = _check_intake(data)
    flagged = data.get("kind") == TicketKind.QUALITY_COMPLAINT or bool(
        data.get("patient_involved") or data.get("injury")
    )
    if (
        flagged
        and data.get("channel") in (Channel.PHONE, Channel.WALK_IN, Channel.PORTAL)
        and not (quality or {}).get("stop_use_advised")
    ):
        problems.setdefault("stop_use_advised", []).append(
            _(
                "Read the advice to stop using that batch or serial until our review ends, "
                "and confirm that you have read it."
            )
            if data.get("channel") == Channel.PORTAL
            else _(
                "Tell the caller to stop using that batch or serial until the review ends, "
                "and confirm it here."
            )
        )
    if problems:
        raise InvalidInputError(
            _("The request cannot be registered: %(fields)s.") % {"fields": ", ".join(problems)},
            fields=problems,
        )
    device = data.get("device")
    if device is not None:
        data.setdefault("organization", device.organization)
        if not data.get("device_model"):
            data["device_model"] = device.device_model
    contact = data.get("contact")
    if contact is not None and not data.get("organization"):
        data["organization"] = contact.organization
    # Left out or left empty (a form's blank field), they take their defaults.
    if not data.get("received_at"):
        data["received_at"] = timezone.now()
    if not (data.get("subject") or "").strip():
        data["subject"] = (data.get("description") or "")[:80]
    with transaction.atomic(), audit_context(actor=actor):
        ticket = Ticket(**data)
        ticket.number = number_next(
            prefix=NUMBER_PREFIX[ticket.kind], year=timezone.localdate(ticket.received_at).year
        )
        if getattr(actor, "pk", None) and not ticket.received_by_id:
            ticket.received_by = actor
        ticket.sla_tier = ticket.sla_tier or _sla_tier_of(ticket)
        ticket.public_token = secrets.token_urlsafe(16)
        ticket.full_clean(exclude=["number"])
        ticket.save()
        if flagged or quality:
            intake = QualityIntake(ticket=ticket, **(quality or {}))
            if intake.stop_use_advised and intake.stop_use_advised_at is None:
                intake.stop_use_advised_at = ticket.received_at
            intake.full_clean()
            intake.save()
        timeline_add(
            ticket,
            kind=TimelineKind.CALL if ticket.channel == Channel.PHONE else TimelineKind.NOTE,
            text=_("Registered (%(channel)s): %(subject)s")
            % {"channel": ticket.get_channel_display(), "subject": ticket.subject},
            actor=actor,
            at=ticket.received_at,
        )
        for upload in attachments or []:
            timeline_add(
                ticket,
                kind=TimelineKind.ATTACHMENT,
                text=upload.name,
                actor=actor,
                customer_visible=True,
                attachment=upload,
            )
        sla.clocks_start_at_receipt(ticket)
        ticket.save(update_fields=[*list(sla.DUE_FIELD.values()), "next_due_at"])
        ticket_webhook_publish(WebhookEvent.TICKET_CREATED, ticket)
        if auto_assign and ticket.owner_id is None:
            _auto_assign(ticket, actor=actor)
        customer_message(ticket, event="registered")
        if flagged:
            notify(
                recipients=_users_with_role(Role.QUALITY_STAFF, Role.QUALITY_MANAGER),
                template="ticket_quality_flagged",
                context={"ticket": ticket},
                link=_link(ticket),
            )
            ticket_pk = ticket.pk
            transaction.on_commit(
                lambda: ticket_quality_flagged.send(
                    sender=Ticket, ticket=Ticket.objects.get(pk=ticket_pk)
                )
            )
        if ticket.priority == Priority.URGENT:
            notify(
                recipients=_users_with_role(Role.SERVICE_MANAGER),
                template="ticket_urgent",
                context={"ticket": ticket},
                link=_link(ticket),
            )
    return ticket


# --- assignment -----------------------------------------------------------------------------------


def _auto_assign(ticket: Ticket, *, actor: Any) -> None:
    """Region and product line pick the team, then the member with the least open work."""
    from django.db.models import Count, Q

    region = ticket.organization.region if ticket.organization_id else ""
    model = ticket.device.device_model if ticket.device_id else ticket.device_model
    line_id = getattr(model, "product_line_id", None)
    teams = Team.objects.filter(active=True)
    ranked = sorted(
        teams.prefetch_related("product_lines"),
        key=lambda team: (
            (2 if region and team.region == region else 0 if team.region else 1)
            + (2 if line_id and line_id in {line.pk for line in team.product_lines.all()} else 0),
            -team.pk,
        ),
        reverse=True,
    )
    team = next(
        (
            item
            for item in ranked
            if (not item.region or item.region == region)
            and (
                not item.product_lines.all()
                or line_id in {line.pk for line in item.product_lines.all()}
            )
        ),
        None,
    )
    if team is None:
        return
    member = (
        team.members.filter(is_active=True)
        .annotate(
            open_work=Count("owned_tickets", filter=Q(owned_tickets__status__in=OPEN_STATUSES))
        )
        .order_by("open_work", "pk")
        .first()
    )
    ticket.team = team
    ticket.owner = member
    with audit_context(actor=actor, action="assign"):
        ticket.save(update_fields=["team", "owner"])
    timeline_add(
        ticket,
        kind=TimelineKind.ASSIGNMENT,
        text=_("Assigned automatically to %(owner)s (%(team)s).")
        % {"owner": _actor_label(member) if member else "—", "team": team},
        data={"owner": getattr(member, "pk", None), "team": team.pk, "automatic": True},
    )


def ticket_assign(
    *, ticket: Ticket, actor: Any, owner: Any = None, team: Team | None = None, reason: str = ""
) -> Ticket:
    if owner is None and team is None:
        raise InvalidInputError(
            _("Choose an owner or a team."), fields={"owner": [_("Choose an owner or a team.")]}
        )
    with transaction.atomic():
        current = Ticket.objects.only("owner_id").get(pk=ticket.pk)
        reassigning = current.owner_id and owner is not None and current.owner_id != owner.pk
        if reassigning and not reason.strip():
            raise InvalidInputError(
                _("Say why the request is reassigned."),
                fields={"reason": [_("A reason is required to reassign a request.")]},
            )
        changes: dict[str, Any] = {}
        if owner is not None:
            changes["owner"] = owner
        if team is not None:
            changes["team"] = team
        ticket, _before = _transition(ticket, "assign", actor=actor, reason=reason, changes=changes)
        timeline_add(
            ticket,
            kind=TimelineKind.ASSIGNMENT,
            text=_("Assigned to %(owner)s%(team)s.%(reason)s")
            % {
                "owner": _actor_label(ticket.owner) if ticket.owner_id else "—",
                "team": f" ({ticket.team})" if ticket.team_id else "",
                "reason": f" {reason}" if reason else "",
            },
            actor=actor,
            data={"owner": ticket.owner_id, "team": ticket.team_id},
        )
        if ticket.owner_id and ticket.owner_id != getattr(actor, "pk", None):
            notify(
                recipients=[ticket.owner],
                template="ticket_assigned",
                context={"ticket": ticket},
                link=_link(ticket),
            )
        customer_message(ticket, event="assigned")
    return ticket


# --- the workflow -----------------------------------------------------------------------------


def ticket_acknowledge(*, ticket: Ticket, actor: Any, note: str) -> Ticket:
    """The customer has been contacted and told the number and times: first response met."""
    now = timezone.now()
    with transaction.atomic():
        ticket, before = _transition(ticket, "acknowledge", actor=actor)
        timeline_add(ticket, kind=TimelineKind.CALL, text=note, actor=actor)
        _state_changed(ticket, before, actor)
        sla.clock_mark_met(ticket, SlaTarget.FIRST_RESPONSE, at=now)
        _after_state_change(ticket, actor=actor, at=now)
        customer_message(ticket, event="acknowledged")
    return ticket


def ticket_investigate(*, ticket: Ticket, actor: Any, note: str = "") -> Ticket:
    now = timezone.now()
    with transaction.atomic():
        ticket, before = _transition(ticket, "investigate", actor=actor)
        _state_changed(ticket, before, actor, note)
        _after_state_change(ticket, actor=actor, at=now)
    return ticket


def ticket_propose_solution(*, ticket: Ticket, actor: Any, solution: str) -> Ticket:
    """What will be done, told to the customer: the solution-plan target is met."""
    now = timezone.now()
    with transaction.atomic():
        ticket, before = _transition(
            ticket, "propose-solution", actor=actor, changes={"solution": solution}
        )
        _state_changed(ticket, before, actor, solution, customer_visible=True)
        sla.clock_mark_met(ticket, SlaTarget.PLAN, at=now)
        _after_state_change(ticket, actor=actor, at=now)
        customer_message(ticket, event="solution_proposed", extra=solution)
    return ticket


def ticket_agree_solution(
    *, ticket: Ticket, actor: Any, agreed_by: str = "", method: str = "", note: str = ""
) -> Ticket:
    """The customer accepted the solution: in the portal, or recorded by an agent (who, how)."""
    now = timezone.now()
    on_behalf = not _is_customer(actor)
    if on_behalf and not agreed_by.strip():
        raise InvalidInputError(
            _("Name the customer who agreed to the solution."),
            fields={"agreed_by": [_("Who agreed to the solution?")]},
        )
    with transaction.atomic():
        ticket, before = _transition(
            ticket,
            "agree-solution",
            actor=actor,
            changes={
                "solution_agreed_at": now,
                "solution_agreed_by": agreed_by.strip() or _actor_label(actor),
            },
        )
        _state_changed(
            ticket,
            before,
            actor,
            note
            or (
                _("Solution agreed by %(name)s (%(method)s).")
                % {"name": ticket.solution_agreed_by, "method": method or _("in the portal")}
            ),
            customer_visible=True,
            method=method,
        )
        _after_state_change(ticket, actor=actor, at=now)
    return ticket


def ticket_start(*, ticket: Ticket, actor: Any, note: str = "") -> Ticket:
    now = timezone.now()
    with transaction.atomic():
        ticket, before = _transition(ticket, "start", actor=actor)
        _state_changed(ticket, before, actor, note)
        _after_state_change(ticket, actor=actor, at=now)
    return ticket


def ticket_wait(*, ticket: Ticket, actor: Any, reason: str, note: str) -> Ticket:
    """Wait for the customer (pauses plan and resolution) or for parts (the service manager's
    approval: only a manager may put a request on a parts wait)."""
    now = timezone.now()
    if reason == WaitReason.PARTS and not actor.has_perm("tickets.approve_parts_wait"):
        raise InvalidInputError(
            _("Waiting for parts needs the service manager's approval; ask a service manager."),
            fields={"reason": [_("Only a service manager approves waiting for parts.")]},
        )
    _require_text(
        note,
        "note",
        _("Say what the request is waiting for."),
        _("Say what the request is waiting for."),
    )
    target = Status.WAITING_PARTS if reason == WaitReason.PARTS else Status.WAITING_CUSTOMER
    with transaction.atomic():
        current = Ticket.objects.only("status").get(pk=ticket.pk)
        ticket, before = _transition(
            ticket,
            "wait",
            actor=actor,
            target=target,
            reason=note,
            changes={
                "wait_reason": reason,
                "wait_note": note[:300],
                "status_before_wait": current.status,
            },
        )
        _state_changed(ticket, before, actor, note, customer_visible=True)
        _after_state_change(ticket, actor=actor, at=now)
    return ticket


def ticket_resume(*, ticket: Ticket, actor: Any, note: str = "") -> Ticket:
    now = timezone.now()
    with transaction.atomic():
        current = Ticket.objects.only("status_before_wait").get(pk=ticket.pk)
        ticket, before = _transition(
            ticket,
            "resume",
            actor=actor,
            target=current.status_before_wait or Status.IN_PROGRESS,
            changes={"wait_reason": "", "wait_note": "", "status_before_wait": ""},
        )
        _state_changed(ticket, before, actor, note, customer_visible=True)
        _after_state_change(ticket, actor=actor, at=now)
    return ticket


def ticket_escalate_onsite(*, ticket: Ticket, actor: Any, reason: str) -> Ticket:
    """Phone support has failed: an engineer must be on site within the on-site target."""
    now = timezone.now()
    _require_text(
        reason,
        "reason",
        _("Say why phone support could not solve it."),
        _("Say why phone support could not solve it."),
    )
    with transaction.atomic():
        ticket, _before = _transition(
            ticket,
            "escalate-onsite",
            actor=actor,
            reason=reason,
            changes={"onsite_requested_at": now},
        )
        sla.clock_start(ticket, SlaTarget.ONSITE, at=now)
        timeline_add(
            ticket,
            kind=TimelineKind.SLA,
            text=_("Escalated to on site: %(reason)s") % {"reason": reason},
            actor=actor,
            customer_visible=True,
        )
        _save_due_fields(ticket, actor=actor)
    return ticket


def ticket_record_arrival(
    *, ticket: Ticket, actor: Any, arrived_at: datetime.datetime | None = None
) -> Ticket:
    """The engineer arrived on site: the on-site target is met (the work-orders app records it
    from the visit; until then an agent or engineer records it here)."""
    arrived_at = arrived_at or timezone.now()
    if arrived_at > timezone.now() + FUTURE_TOLERANCE:
        raise InvalidInputError(
            _("The arrival time is in the future."),
            fields={"arrived_at": [_("The arrival time is in the future.")]},
        )
    with transaction.atomic():
        ticket, _before = _transition(ticket, "record-arrival", actor=actor)
        sla.clock_mark_met(ticket, SlaTarget.ONSITE, at=arrived_at)
        timeline_add(
            ticket,
            kind=TimelineKind.VISIT,
            text=_("Engineer on site at %(time)s.")
            % {"time": timezone.localtime(arrived_at).strftime("%Y-%m-%d %H:%M")},
            actor=actor,
            customer_visible=True,
        )
        _save_due_fields(ticket, actor=actor)
    return ticket


def ticket_resolve(*, ticket: Ticket, actor: Any, resolution_type: str, resolution: str) -> Ticket:
    now = timezone.now()
    _require_text(
        resolution, "resolution", _("Describe what was done."), _("Describe what was done.")
    )
    with transaction.atomic():
        ticket, before = _transition(
            ticket,
            "resolve",
            actor=actor,
            changes={
                "resolution_type": resolution_type,
                "resolution": resolution,
                "resolved_at": now,
                "resolution_reminded_at": None,
            },
        )
        _state_changed(ticket, before, actor, resolution, customer_visible=True)
        sla.clock_mark_met(ticket, SlaTarget.RESOLUTION, at=now)
        _after_state_change(ticket, actor=actor, at=now)
        customer_message(ticket, event="resolved", extra=resolution)
        if resolution_type in WORK_RESOLUTIONS:
            ticket_pk = ticket.pk
            transaction.on_commit(
                lambda: ticket_resolution_needs_work.send(
                    sender=Ticket, ticket=Ticket.objects.get(pk=ticket_pk)
                )
            )
    return ticket


def _is_customer(actor: Any) -> bool:
    from medservice.customers.selectors import user_scope

    return user_scope(actor) == "customer"


def ticket_confirm(
    *,
    ticket: Ticket,
    actor: Any,
    confirmed_by_name: str = "",
    method: str = "",
    confirmed_at: datetime.datetime | None = None,
    rating: int | None = None,
    comment: str = "",
) -> Ticket:
    """The customer confirms the resolution: in the portal, or an agent records who confirmed
    by phone or on paper, and when."""
    now = timezone.now()
    if _is_customer(actor):
        name, how, when = _actor_label(actor), ConfirmationMethod.PORTAL, now
    else:
        problems = {}
        if not confirmed_by_name.strip():
            problems["confirmed_by_name"] = [_("Name the customer who confirmed.")]
        if method not in (
            ConfirmationMethod.PHONE,
            ConfirmationMethod.PAPER,
            ConfirmationMethod.EMAIL,
        ):
            problems["method"] = [
                _("Say how the customer confirmed: by phone, on paper or by e-mail.")
            ]
        when = confirmed_at or now
        if when > now + FUTURE_TOLERANCE:
            problems["confirmed_at"] = [_("The confirmation time is in the future.")]
        if problems:
            raise InvalidInputError(
                _("The confirmation cannot be recorded: %(fields)s.")
                % {"fields": ", ".join(problems)},
                fields=problems,
            )
        name, how = confirmed_by_name.strip(), method
    with transaction.atomic():
        ticket, before = _transition(
            ticket,
            "confirm",
            actor=actor,
            changes={
                "confirmed_at": when,
                "confirmed_by_name": name[:100],
                "confirmation_method": how,
                "confirmation_recorded_by": None if _is_customer(actor) else actor,
                "closed_at": now,
            },
        )
        _state_changed(
            ticket,
            before,
            actor,
            _("Resolution confirmed by %(name)s (%(method)s).")
            % {"name": name, "method": ConfirmationMethod(how).label},
            customer_visible=True,
        )
        if rating is not None:
            # A case is rated once, also when the rating comes with the confirmation.
            refusal = workflow_allowed(TRANSITIONS, "rate", ticket, actor, "status")
            if refusal:
                raise InvalidTransitionError(refusal)
            _rate(ticket, actor=actor, rating=rating, comment=comment)
        _closed(ticket)
    return ticket


def _closed(ticket: Ticket) -> None:
    sla.clocks_stop(ticket, at=timezone.now())
    ticket_pk = ticket.pk
    transaction.on_commit(
        lambda: ticket_closed.send(sender=Ticket, ticket=Ticket.objects.get(pk=ticket_pk))
    )


def _rate(ticket: Ticket, *, actor: Any, rating: int, comment: str) -> None:
    if not 1 <= int(rating) <= 5:
        raise InvalidInputError(
            _("A rating is from 1 to 5."), fields={"rating": [_("A rating is from 1 to 5.")]}
        )
    ticket.rating, ticket.rating_comment, ticket.rated_at = int(rating), comment, timezone.now()
    with audit_context(actor=actor, action="rate"):
        ticket.save(update_fields=["rating", "rating_comment", "rated_at"])
    timeline_add(
        ticket,
        kind=TimelineKind.PORTAL,
        text=_("Rated %(rating)s/5. %(comment)s") % {"rating": rating, "comment": comment},
        actor=actor,
        customer_visible=True,
    )


def ticket_rate(*, ticket: Ticket, actor: Any, rating: int, comment: str = "") -> Ticket:
    """The customer's satisfaction with this case (1–5 and a comment): asked once per case."""
    with transaction.atomic():
        ticket, _before = _transition(ticket, "rate", actor=actor)
        _rate(ticket, actor=actor, rating=rating, comment=comment)
    return ticket


def _new_resolution_cycle(ticket: Ticket, *, actor: Any, at: datetime.datetime) -> None:
    sla.clock_start(ticket, SlaTarget.RESOLUTION, at=at)
    _after_state_change(ticket, actor=actor, at=at)


def ticket_reject_resolution(*, ticket: Ticket, actor: Any, reason: str) -> Ticket:
    """The customer says it is not solved: back to work, with a new resolution target."""
    now = timezone.now()
    _require_text(reason, "reason", _("Say what is still wrong."), _("Say what is still wrong."))
    with transaction.atomic():
        ticket, before = _transition(
            ticket,
            "reject-resolution",
            actor=actor,
            reason=reason,
            changes={"resolved_at": None, "reopened_count": ticket.reopened_count + 1},
        )
        _state_changed(ticket, before, actor, reason, customer_visible=True)
        _new_resolution_cycle(ticket, actor=actor, at=now)
        if ticket.owner_id:
            notify(
                recipients=[ticket.owner],
                template="ticket_resolution_rejected",
                context={"ticket": ticket, "reason": reason},
                link=_link(ticket),
            )
    return ticket


def ticket_reopen(*, ticket: Ticket, actor: Any, reason: str) -> Ticket:
    """Reopen a resolved or closed request within the window: a new resolution target runs
    from now."""
    now = timezone.now()
    _require_text(
        reason,
        "reason",
        _("Say why the request is reopened."),
        _("Say why the request is reopened."),
    )
    with transaction.atomic():
        current = Ticket.objects.only("reopened_count").get(pk=ticket.pk)
        ticket, before = _transition(
            ticket,
            "reopen",
            actor=actor,
            reason=reason,
            changes={
                "resolved_at": None,
                "closed_at": None,
                "confirmed_at": None,
                "confirmed_by_name": "",
                "confirmation_method": "",
                "confirmation_recorded_by": None,
                "reopened_count": current.reopened_count + 1,
            },
        )
        _state_changed(ticket, before, actor, reason, customer_visible=True)
        _new_resolution_cycle(ticket, actor=actor, at=now)
        if ticket.owner_id:
            notify(
                recipients=[ticket.owner],
                template="ticket_reopened",
                context={"ticket": ticket, "reason": reason},
                link=_link(ticket),
            )
    return ticket


def ticket_cancel(*, ticket: Ticket, actor: Any, reason: str) -> Ticket:
    now = timezone.now()
    _require_text(
        reason,
        "reason",
        _("Say why the request is cancelled."),
        _("A reason is required to cancel a request."),
    )
    with transaction.atomic():
        ticket, before = _transition(
            ticket, "cancel", actor=actor, reason=reason, changes={"cancel_reason": reason[:300]}
        )
        _state_changed(ticket, before, actor, reason, customer_visible=True)
        sla.clocks_stop(ticket, at=now)
        _save_due_fields(ticket, actor=actor)
    return ticket


def ticket_screen(
    *,
    ticket: Ticket,
    actor: Any,
    is_complaint: bool,
    may_be_reportable: bool,
    needs_investigation: bool,
    no_investigation_reason: str = "",
) -> Ticket:
    """Complaint screening (ISO 13485 8.2.2): is it a complaint, may it be reportable, does it
    need investigation — and if not, why and who decided."""
    if not needs_investigation and not no_investigation_reason.strip():
        raise InvalidInputError(
            _("Say why no investigation is needed (or name the earlier similar investigation)."),
            fields={"no_investigation_reason": [_("Say why no investigation is needed.")]},
        )
    with transaction.atomic():
        ticket, _before = _transition(
            ticket,
            "screen",
            actor=actor,
            changes={
                "is_complaint": is_complaint,
                "may_be_reportable": may_be_reportable,
                "needs_investigation": needs_investigation,
                "no_investigation_reason": "" if needs_investigation else no_investigation_reason,
                "screened_at": timezone.now(),
                "screened_by": actor,
            },
        )
        timeline_add(
            ticket,
            kind=TimelineKind.NOTE,
            text=_(
                "Screened: complaint %(complaint)s; may be reportable %(reportable)s; "
                "investigation %(investigation)s. %(reason)s"
            )
            % {
                "complaint": _("yes") if is_complaint else _("no"),
                "reportable": _("yes") if may_be_reportable else _("no"),
                "investigation": _("needed") if needs_investigation else _("not needed"),
                "reason": no_investigation_reason if not needs_investigation else "",
            },
            actor=actor,
        )
        if may_be_reportable and not hasattr(ticket, "quality_intake"):
            # A possibly reportable complaint reaches the quality staff like a quality one.
            notify(
                recipients=_users_with_role(Role.QUALITY_STAFF, Role.QUALITY_MANAGER),
                template="ticket_quality_flagged",
                context={"ticket": ticket},
                link=_link(ticket),
            )
            ticket_pk = ticket.pk
            transaction.on_commit(
                lambda: ticket_quality_flagged.send(
                    sender=Ticket, ticket=Ticket.objects.get(pk=ticket_pk)
                )
            )
    return ticket


# --- notes, files, priority, exceptions, the regulator -----------------------------------------


def ticket_comment(
    *,
    ticket: Ticket,
    actor: Any,
    text: str = "",
    customer_visible: bool = False,
    attachment: Any = None,
    kind: str | None = None,
) -> TimelineEntry:
    """A note, a call record or a file; from a customer it is always visible to them, and it
    ends a wait for the customer's information."""
    if not text.strip() and attachment is None:
        raise InvalidInputError(
            _("Write a note or attach a file."),
            fields={"text": [_("Write a note or attach a file.")]},
        )
    from_customer = _is_customer(actor)
    with transaction.atomic():
        entry = timeline_add(
            ticket,
            kind=kind
            or (
                TimelineKind.PORTAL
                if from_customer
                else TimelineKind.ATTACHMENT
                if attachment is not None
                else TimelineKind.NOTE
            ),
            text=text,
            actor=actor,
            customer_visible=True if from_customer else customer_visible,
            attachment=attachment,
        )
        if from_customer:
            if ticket.status == Status.WAITING_CUSTOMER:
                ticket_resume_for_customer(ticket=ticket, actor=actor)
            elif ticket.owner_id:
                notify(
                    recipients=[ticket.owner],
                    template="ticket_customer_added",
                    context={"ticket": ticket},
                    link=_link(ticket),
                )
    return entry


def ticket_resume_for_customer(*, ticket: Ticket, actor: Any) -> Ticket:
    """The customer sent what was asked: the wait ends (the customer may not resume other
    waits, so this is not the `resume` action)."""
    now = timezone.now()
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.status != Status.WAITING_CUSTOMER:
            return locked
        before = locked.status
        locked.status = locked.status_before_wait or Status.IN_PROGRESS
        locked.wait_reason, locked.wait_note, locked.status_before_wait = "", "", ""
        with audit_context(actor=actor, action="resume"):
            locked.save()
        _webhook_state_changed(locked, before, "resume")
        _state_changed(locked, before, actor, _("The customer answered."), customer_visible=True)
        _after_state_change(locked, actor=actor, at=now)
        if locked.owner_id:
            notify(
                recipients=[locked.owner],
                template="ticket_customer_added",
                context={"ticket": locked},
                link=_link(locked),
            )
    return locked


def ticket_change_priority(*, ticket: Ticket, actor: Any, priority: str, reason: str) -> Ticket:
    if priority not in Priority.values:
        raise InvalidInputError(
            _("Unknown priority."), fields={"priority": [_("Choose a priority from the list.")]}
        )
    _require_text(
        reason, "reason", _("Say why the priority changes."), _("Say why the priority changes.")
    )
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not locked.is_open:
            raise InvalidInputError(_("The priority of a finished request no longer matters."))
        if locked.priority == priority:
            return locked
        locked.priority = priority
        with audit_context(actor=actor, reason=reason, action="change-priority"):
            locked.save(update_fields=["priority"])
            sla.clocks_recompute(locked)
            _save_due_fields(locked, actor=actor, reason=reason)
        timeline_add(
            locked,
            kind=TimelineKind.SLA,
            text=_("Priority changed to %(priority)s: %(reason)s")
            % {"priority": locked.get_priority_display(), "reason": reason},
            actor=actor,
        )
        if priority == Priority.URGENT:
            notify(
                recipients=_users_with_role(Role.SERVICE_MANAGER),
                template="ticket_urgent",
                context={"ticket": locked},
                link=_link(locked),
            )
    return locked


def sla_exception_approve(
    *, ticket: Ticket, actor: Any, target: str, hours: Decimal, reason: str
) -> SlaException:
    """An approved exception extends one target (reason and approver recorded, due recomputed)."""
    if not actor.has_perm("tickets.add_slaexception"):
        from medservice.core.errors import PermissionDeniedError

        raise PermissionDeniedError(_("Only a service manager approves an SLA exception."))
    problems = {}
    if target not in SlaTarget.values:
        problems["target"] = [_("Choose a target from the list.")]
    if hours is None or Decimal(hours) <= 0:
        problems["hours"] = [_("Give a positive number of hours.")]
    if not (reason or "").strip():
        problems["reason"] = [_("Say why the promise is extended.")]
    if problems:
        raise InvalidInputError(
            _("The exception cannot be approved: %(fields)s.") % {"fields": ", ".join(problems)},
            fields=problems,
        )
    with transaction.atomic(), audit_context(actor=actor, reason=reason):
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not locked.clocks.filter(
            target=target, met_at__isnull=True, stopped_at__isnull=True
        ).exists():
            message = _(
                "%(target)s is not running on this request: there is nothing to extend."
            ) % {"target": SlaTarget(target).label}
            raise InvalidInputError(message, fields={"target": [message]})
        exception = SlaException.objects.create(
            ticket=locked, target=target, hours=Decimal(hours), reason=reason, approved_by=actor
        )
        sla.clocks_recompute(locked)
        _save_due_fields(locked, actor=actor, reason=reason)
        timeline_add(
            locked,
            kind=TimelineKind.SLA,
            text=_("%(target)s extended by %(hours)s h: %(reason)s")
            % {"target": SlaTarget(target).label, "hours": hours, "reason": reason},
            actor=actor,
        )
    return exception


def regulator_feedback_record(
    *, ticket: Ticket, actor: Any, content: str, given_at: datetime.datetime | None = None,
    regulator_contact: str = "",
) -> RegulatorFeedback:  # fmt: skip
    if ticket.channel != Channel.REGULATOR:
        raise InvalidInputError(
            _("Feedback to the regulator is recorded for requests received through its phone.")
        )
    _require_text(
        content, "content", _("Say what was reported back."), _("Say what was reported back.")
    )
    with transaction.atomic(), audit_context(actor=actor):
        feedback = RegulatorFeedback.objects.create(
            ticket=ticket,
            content=content,
            given_at=given_at or timezone.now(),
            given_by=actor,
            regulator_contact=regulator_contact,
        )
        timeline_add(
            ticket,
            kind=TimelineKind.NOTE,
            text=_("Feedback given to the regulator: %(content)s") % {"content": content},
            actor=actor,
        )
    return feedback


def clocks_recompute_for_calendar(calendar_code: str) -> int:
    """A business calendar was corrected (or a year's holidays published): recompute the due
    times of the running clocks that count on it, each ticket's change audited with the reason.
    Returns how many tickets' due times moved."""
    from medservice.tickets.models import TicketClock

    ticket_ids = (
        TicketClock.objects.filter(
            calendar_code=calendar_code, met_at__isnull=True, stopped_at__isnull=True
        )
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    moved = 0
    reason = _("Business calendar %(calendar)s corrected: due times recomputed.") % {
        "calendar": calendar_code
    }
    for ticket_id in list(ticket_ids):
        with transaction.atomic(), audit_context(job="tickets.calendar-recompute"):
            ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
            changed = False
            for clock in sla.running_clocks(ticket):
                if clock.calendar_code != calendar_code:
                    continue
                before = (clock.due_at, clock.warn_at, clock.unconfirmed)
                sla.clock_compute(clock)
                if (clock.due_at, clock.warn_at, clock.unconfirmed) != before:
                    clock.save(update_fields=["due_at", "warn_at", "unconfirmed"])
                    changed = True
            if changed:
                _save_due_fields(ticket, actor=None, reason=reason)
                timeline_add(ticket, kind=TimelineKind.SLA, text=reason)
                moved += 1
    return moved


def ticket_unmask(*, actor: Any, ticket: Ticket, field: str) -> str:
    """Show the reporter's phone or e-mail in full to a role that needs it; audited."""
    from medservice.core.audit import audit_record
    from medservice.core.choices import AuditAction
    from medservice.core.errors import PermissionDeniedError

    if field not in ("reporter_phone", "reporter_email"):
        raise InvalidInputError(
            _("Unknown personal field: %(field)s.") % {"field": field},
            fields={"field": [_("Unknown field.")]},
        )
    if not actor.has_perm("tickets.unmask_ticket"):
        raise PermissionDeniedError(_("You may not see the reporter's contact details in full."))
    with transaction.atomic(), audit_context(actor=actor):
        audit_record(ticket, AuditAction.UNMASK, before={}, after={}, detail=field)
    return getattr(ticket, field) or ""


# --- periodic work ----------------------------------------------------------------------------


def resolution_reminders_and_auto_close(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """A resolved request without the customer's answer is reminded after N days and closed
    after M days (settings; default 3 and 7), with a message to the customer."""
    now = now or timezone.now()
    remind_after = datetime.timedelta(
        days=int(getattr(settings, "MEDSERVICE_TICKET_CONFIRM_REMIND_DAYS", 3))
    )
    close_after = datetime.timedelta(
        days=int(getattr(settings, "MEDSERVICE_TICKET_AUTO_CLOSE_DAYS", 7))
    )
    reminded = closed = 0
    for ticket_id in Ticket.objects.filter(
        status=Status.RESOLVED, resolved_at__lte=now - close_after
    ).values_list("pk", flat=True):
        with transaction.atomic(), audit_context(job="tickets.auto-close", action="auto-close"):
            ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
            if ticket.status != Status.RESOLVED or ticket.resolved_at > now - close_after:
                continue
            ticket.status = Status.CLOSED
            ticket.closed_at = now
            ticket.confirmation_method = ConfirmationMethod.AUTOMATIC
            ticket.save()
            _webhook_state_changed(ticket, Status.RESOLVED, "auto-close")
            _state_changed(
                ticket,
                Status.RESOLVED,
                None,
                _("Closed automatically: no answer from the customer within %(days)s days.")
                % {"days": close_after.days},
                customer_visible=True,
            )
            customer_message(ticket, event="auto_closed")
            _closed(ticket)
            closed += 1
    for ticket_id in Ticket.objects.filter(
        status=Status.RESOLVED,
        resolved_at__lte=now - remind_after,
        resolution_reminded_at__isnull=True,
    ).values_list("pk", flat=True):
        with transaction.atomic(), audit_context(job="tickets.auto-close"):
            # Conditional update: two schedulers never remind twice.
            if not Ticket.objects.filter(
                pk=ticket_id, status=Status.RESOLVED, resolution_reminded_at__isnull=True
            ).update(resolution_reminded_at=now):
                continue
            ticket = Ticket.objects.get(pk=ticket_id)
            customer_message(ticket, event="confirm_reminder")
            reminded += 1
    return {"reminded": reminded, "closed": closed}
