"""The service-promise engine for tickets: which policy applies, the clocks it starts, and how
pauses, exceptions, met and breached times move them. Due times come from core's clock module
and are stored (on the clock and, for lists, on the ticket), never recomputed on read.

Default policy, from the procedures (SOP-1, SOP-2): first response 24 h, solution plan 48 h,
resolution 72 h from receipt, on site 24 h from escalate-onsite, in calendar hours; waiting for
the customer pauses the plan and resolution targets, not the first response.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from medservice.core.clock import Basis, Calendar, Pause, compute_due
from medservice.tickets.choices import Counting, SlaTarget, Status
from medservice.tickets.models import SlaPolicy, SlaPolicyTarget, Ticket, TicketClock

DEFAULT_POLICY_NAME = "默认服务承诺 / Default service promise"
WARN_FRACTION = Decimal("0.75")
DEFAULT_TARGETS: dict[str, tuple[Decimal, list[str]]] = {
    SlaTarget.FIRST_RESPONSE: (Decimal(24), []),
    SlaTarget.PLAN: (Decimal(48), [Status.WAITING_CUSTOMER]),
    SlaTarget.RESOLUTION: (Decimal(72), [Status.WAITING_CUSTOMER]),
    SlaTarget.ONSITE: (Decimal(24), []),
}
DUE_FIELD = {
    SlaTarget.FIRST_RESPONSE: "first_response_due_at",
    SlaTarget.PLAN: "plan_due_at",
    SlaTarget.RESOLUTION: "resolution_due_at",
    SlaTarget.ONSITE: "onsite_due_at",
}


def default_policy() -> SlaPolicy:
    """The procedures' promise; created on first use so a fresh install always has one."""
    policy = SlaPolicy.objects.filter(name=DEFAULT_POLICY_NAME).first()
    if policy is not None:
        return policy
    with transaction.atomic():
        policy, created = SlaPolicy.objects.get_or_create(name=DEFAULT_POLICY_NAME)
        if created:
            for target, (hours, pause_states) in DEFAULT_TARGETS.items():
                SlaPolicyTarget.objects.create(
                    policy=policy,
                    target=target,
                    hours=hours,
                    counting=Counting.CALENDAR,
                    pause_states=list(pause_states),
                )
    return policy


def policy_for(ticket: Ticket) -> SlaPolicy:
    """The most specific active policy whose every set criterion matches the ticket."""
    model = ticket.device.device_model if ticket.device_id else ticket.device_model
    candidates = SlaPolicy.objects.filter(active=True).filter(
        Q(organization__isnull=True) | Q(organization_id=ticket.organization_id),
        Q(device_model__isnull=True) | Q(device_model_id=getattr(model, "pk", None)),
        Q(risk_class="") | Q(risk_class=getattr(model, "risk_class", "") or "-"),
        Q(sla_tier="") | Q(sla_tier=ticket.sla_tier or "-"),
        Q(priority="") | Q(priority=ticket.priority),
    )
    best = max(candidates, key=lambda policy: (policy.specificity, -policy.pk), default=None)
    return best or default_policy()


def _policy_target(policy: SlaPolicy, target: str) -> SlaPolicyTarget | None:
    found = policy.targets.filter(target=target).first()
    if found is None and policy.name != DEFAULT_POLICY_NAME:
        # A policy that leaves a target out keeps the default promise for it.
        found = default_policy().targets.filter(target=target).first()
    return found


def total_delta(hours: Decimal) -> datetime.timedelta:
    return datetime.timedelta(seconds=float(hours) * 3600)


def _calendar_code(policy: SlaPolicy, counting: str) -> str:
    """Business hours count on the policy's calendar, or on the default (China) calendar when
    the policy names none; calendar hours need no calendar."""
    if counting != Counting.BUSINESS:
        return ""
    if policy.calendar_id:
        return policy.calendar.code
    from medservice.core.calendars import DEFAULT_CALENDAR_CODE, calendar_default_ensure

    calendar_default_ensure()
    return DEFAULT_CALENDAR_CODE


def _calendar(code: str) -> Calendar | None:
    if not code:
        return None
    from medservice.core.calendars import calendar_load

    return calendar_load(code)


def _pauses(clock: TicketClock) -> list[Pause]:
    return [
        Pause(
            start=datetime.datetime.fromisoformat(start),
            end=datetime.datetime.fromisoformat(end) if end else None,
        )
        for start, end in clock.pauses
    ]


def clock_compute(clock: TicketClock) -> None:
    """Set due_at, warn_at and unconfirmed from the clock's start, hours and pauses. While a
    pause is open the stored times stay as they were (the clock stands still)."""
    calendar = _calendar(clock.calendar_code)
    basis = Basis.BUSINESS if clock.counting == Counting.BUSINESS else Basis.CALENDAR
    total = clock.hours + clock.extension_hours
    pauses = _pauses(clock)
    due = compute_due(clock.started_at, total, basis=basis, calendar=calendar, pauses=pauses)
    warn = compute_due(
        clock.started_at, total * WARN_FRACTION, basis=basis, calendar=calendar, pauses=pauses
    )
    # A clock that starts inside a pause has no due time until it resumes; it still needs a
    # stored one (it is recomputed on resume): the duration counted from the start.
    clock.due_at = (
        due.at or clock.due_at or clock.started_at + (due.remaining or total_delta(total))
    )
    clock.warn_at = (
        warn.at
        or clock.warn_at
        or clock.started_at + (warn.remaining or total_delta(total * WARN_FRACTION))
    )
    clock.unconfirmed = not due.confirmed
    if clock.unconfirmed and calendar is not None:
        from medservice.core.calendars import calendar_unconfirmed_used

        calendar_unconfirmed_used(clock.calendar_code, sorted(due.unconfirmed_years))


def clock_start(
    ticket: Ticket, target: str, *, at: datetime.datetime, policy: SlaPolicy | None = None
) -> TicketClock | None:
    policy = policy or policy_for(ticket)
    rule = _policy_target(policy, target)
    if rule is None:
        return None
    cycle = TicketClock.objects.filter(ticket=ticket, target=target).order_by("-cycle").first()
    if cycle is not None and cycle.running:
        # A new cycle replaces a running one (a reopen while unresolved cannot happen, but a
        # second escalation to on site restarts its clock): the old one stops, unbreached.
        cycle.stopped_at = at
        cycle.save(update_fields=["stopped_at"])
    clock = TicketClock(
        ticket=ticket,
        target=target,
        cycle=(cycle.cycle + 1) if cycle else 1,
        policy=policy,
        hours=rule.hours,
        counting=rule.counting,
        calendar_code=_calendar_code(policy, rule.counting),
        pause_states=list(rule.pause_states),
        started_at=at,
    )
    if ticket.status in clock.pause_states:
        clock.pauses = [[at.isoformat(), None]]
        clock.paused = True
    clock_compute(clock)
    clock.save()
    return clock


def clocks_start_at_receipt(ticket: Ticket) -> None:
    policy = policy_for(ticket)
    for target in (SlaTarget.FIRST_RESPONSE, SlaTarget.PLAN, SlaTarget.RESOLUTION):
        clock_start(ticket, target, at=ticket.received_at, policy=policy)
    ticket_due_fields_refresh(ticket)


def running_clocks(ticket: Ticket) -> list[TicketClock]:
    return list(
        TicketClock.objects.select_for_update()
        .filter(ticket=ticket, met_at__isnull=True, stopped_at__isnull=True)
        .order_by("target", "-cycle")
    )


def clock_mark_met(ticket: Ticket, target: str, *, at: datetime.datetime) -> TicketClock | None:
    """Stop the target's current clock as met at `at`; late is also recorded as breached once."""
    clock = (
        TicketClock.objects.select_for_update()
        .filter(ticket=ticket, target=target, met_at__isnull=True, stopped_at__isnull=True)
        .order_by("-cycle")
        .first()
    )
    if clock is None:
        return None
    clock.met_at = at
    if clock.paused:
        clock.pauses[-1][1] = at.isoformat()
        clock.paused = False
    fields = ["met_at", "pauses", "paused"]
    if at > clock.due_at and clock.breached_at is None:
        clock.breached_at = clock.due_at
        fields.append("breached_at")
    clock.save(update_fields=fields)
    return clock


def clocks_stop(ticket: Ticket, *, at: datetime.datetime) -> None:
    TicketClock.objects.filter(ticket=ticket, met_at__isnull=True, stopped_at__isnull=True).update(
        stopped_at=at
    )


def clocks_follow_state(ticket: Ticket, *, at: datetime.datetime) -> list[TicketClock]:
    """After a state change: pause the clocks that pause in the new state, resume the others.
    Returns the clocks whose due time moved."""
    moved = []
    for clock in running_clocks(ticket):
        should_pause = ticket.status in clock.pause_states
        if should_pause and not clock.paused:
            clock.pauses = [*clock.pauses, [at.isoformat(), None]]
            clock.paused = True
        elif not should_pause and clock.paused:
            clock.pauses[-1][1] = at.isoformat()
            clock.paused = False
            before = clock.due_at
            clock_compute(clock)
            _rearm_warning(clock)
            if clock.due_at != before:
                moved.append(clock)
        else:
            continue
        clock.save(
            update_fields=["pauses", "paused", "due_at", "warn_at", "unconfirmed", "warned_at"]
        )
    return moved


def clocks_recompute(ticket: Ticket, *, policy: SlaPolicy | None = None) -> list[TicketClock]:
    """After a priority change, an exception or a calendar correction: recompute the running
    clocks (a new policy's hours apply to them) and return those whose due time moved."""
    moved = []
    policy = policy or policy_for(ticket)
    extensions = _extensions(ticket)
    for clock in running_clocks(ticket):
        rule = _policy_target(policy, clock.target)
        if rule is not None:
            clock.policy = policy
            clock.hours = rule.hours
            clock.counting = rule.counting
            clock.pause_states = list(rule.pause_states)
            clock.calendar_code = _calendar_code(policy, rule.counting)
        clock.extension_hours = extensions.get(clock.target, Decimal(0))
        before = (clock.due_at, clock.warn_at)
        clock_compute(clock)
        _rearm_warning(clock)
        clock.save()
        if (clock.due_at, clock.warn_at) != before:
            moved.append(clock)
    return moved


def _rearm_warning(clock: TicketClock) -> None:
    # A due time moved later (a pause, an exception) warns again at its new 75 % point; a
    # breach already recorded stays recorded (it happened).
    if clock.warned_at is not None and clock.breached_at is None and clock.warn_at > timezone.now():
        clock.warned_at = None


def _extensions(ticket: Ticket) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for exception in ticket.sla_exceptions.all():
        totals[exception.target] = totals.get(exception.target, Decimal(0)) + exception.hours
    return totals


def ticket_due_fields_refresh(ticket: Ticket) -> dict[str, Any]:
    """Copy the current clocks' due times onto the ticket (for lists and sorting)."""
    latest: dict[str, TicketClock] = {}
    for clock in TicketClock.objects.filter(ticket=ticket).order_by("target", "cycle"):
        latest[clock.target] = clock
    values: dict[str, Any] = {}
    running_dues = []
    for target, field in DUE_FIELD.items():
        clock = latest.get(target)
        values[field] = clock.due_at if clock else None
        if clock is not None and clock.running and not clock.paused:
            running_dues.append(clock.due_at)
    values["next_due_at"] = min(running_dues) if running_dues else None
    changed = {key: value for key, value in values.items() if getattr(ticket, key) != value}
    for key, value in changed.items():
        setattr(ticket, key, value)
    return changed


def clock_state(clock: TicketClock, now: datetime.datetime | None = None) -> str:
    """How a clock looks in lists: met, breached, paused, at_risk (past 75 %), or on_track."""
    now = now or timezone.now()
    if clock.met_at is not None:
        return "met_late" if clock.breached_at else "met"
    if clock.stopped_at is not None:
        return "stopped"
    if clock.breached_at is not None:
        return "breached"
    if clock.paused:
        # Standing still: its stored due time moves when it resumes.
        return "paused"
    if clock.due_at <= now:
        return "breached"
    if clock.warn_at <= now:
        return "at_risk"
    return "on_track"
