"""Who sees which tickets, and the look-ups the intake form uses while an agent types."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from medservice.core.crypto import blind_index
from medservice.customers.selectors import (
    contacts_find_by_phone,
    organization_ids_visible_to,
    user_scope,
)
from medservice.tickets.choices import OPEN_STATUSES
from medservice.tickets.models import Ticket, TicketClock, TimelineEntry


def tickets_visible_to(user: Any) -> QuerySet[Ticket]:
    """Internal staff see every request; a distributor the requests of the customers it serves;
    a customer user those of its own organisation (and its stores)."""
    ids = organization_ids_visible_to(user)
    if ids is None:
        return Ticket.objects.all()
    return Ticket.objects.filter(organization__in=ids)


def tickets_open(user: Any) -> QuerySet[Ticket]:
    return tickets_visible_to(user).filter(status__in=OPEN_STATUSES)


def timeline_visible_to(ticket: Ticket, user: Any) -> QuerySet[TimelineEntry]:
    """Newest first; customers see only what is meant for them."""
    entries = ticket.timeline.select_related("actor").order_by("-created_at", "-id")
    if user_scope(user) == "customer":
        entries = entries.filter(customer_visible=True)
    return entries


def clocks_of(ticket: Ticket) -> list[TicketClock]:
    return list(ticket.clocks.order_by("target", "cycle"))


def tickets_find_by_phone(user: Any, phone: str) -> QuerySet[Ticket]:
    digest = blind_index(phone)
    if not digest:
        return Ticket.objects.none()
    return tickets_visible_to(user).filter(reporter_phone_index=digest)


def caller_lookup(user: Any, text: str) -> dict[str, Any]:
    """What the register-a-call form shows while the agent types a phone or a serial: the
    matching contacts (with their organisation), devices, and the caller's open requests."""
    from medservice.installed_base.selectors import devices_visible_to

    text = (text or "").strip()
    result: dict[str, Any] = {"contacts": [], "devices": [], "open_tickets": []}
    if len(text) < 3:
        return result
    contacts = list(contacts_find_by_phone(user, text).select_related("organization")[:10])
    devices = list(
        devices_visible_to(user)
        .filter(
            Q(serial_number__iexact=text) | Q(asset_number__iexact=text) | Q(udi_pi__iexact=text)
        )
        .select_related("device_model", "organization", "department")[:10]
    )
    organizations = {contact.organization_id for contact in contacts} | {
        device.organization_id for device in devices
    }
    open_tickets = tickets_open(user).filter(
        Q(organization__in=organizations)
        | Q(device__in=[device.pk for device in devices])
        | Q(reporter_phone_index=blind_index(text) or "-")
    )
    result.update(
        contacts=contacts,
        devices=devices,
        open_tickets=list(
            open_tickets.select_related("organization").order_by("-received_at")[:10]
        ),
    )
    return result


# --- the service desk: lists with service-promise colours, the agent's landing, contact log ----

CONTACT_KINDS = ("call", "visit", "email_in", "email_out")


def sla_states(tickets: list[Ticket], now: Any = None) -> dict[int, dict[str, Any]]:
    """How each listed request stands against its running promises, for the list colour and
    countdown: one query for a whole page, whatever its length.

    state: breached (red), at_risk (amber, past 75 %), on_track, paused, or "" (no promise
    running); due: the next due time; remaining: due - now (negative once overdue)."""
    from django.utils import timezone

    from medservice.tickets.sla import clock_state

    now = now or timezone.now()
    ids = [ticket.pk for ticket in tickets if ticket.is_open]
    running: dict[int, list[TicketClock]] = {}
    if ids:
        for clock in TicketClock.objects.filter(
            ticket_id__in=ids, met_at__isnull=True, stopped_at__isnull=True
        ).only("ticket_id", "due_at", "warn_at", "paused", "breached_at", "met_at", "stopped_at"):
            running.setdefault(clock.ticket_id, []).append(clock)
    order = {"breached": 0, "at_risk": 1, "on_track": 2, "paused": 3}
    states: dict[int, dict[str, Any]] = {}
    for ticket in tickets:
        clocks = running.get(ticket.pk, [])
        found = sorted((clock_state(clock, now) for clock in clocks), key=order.get)
        state = found[0] if found else ""
        due = ticket.next_due_at
        states[ticket.pk] = {
            "state": state,
            "due": due,
            "remaining": (due - now) if due is not None and state != "paused" else None,
            "overdue": due is not None and due <= now,
        }
    return states


def tickets_mine_open(user: Any) -> QuerySet[Ticket]:
    """The open requests this user owns, the next due first (those without a running promise
    last)."""
    from django.db.models import F

    return (
        tickets_open(user)
        .filter(owner=user)
        .select_related("organization")
        .order_by(F("next_due_at").asc(nulls_last=True), "id")
    )


def tickets_at_risk(user: Any) -> QuerySet[Ticket]:
    """Open requests with a running promise already warned (75 %) or breached, the most
    overdue first."""
    from django.db.models import F

    flagged = TicketClock.objects.filter(met_at__isnull=True, stopped_at__isnull=True).filter(
        Q(warned_at__isnull=False) | Q(breached_at__isnull=False)
    )
    return (
        tickets_open(user)
        .filter(pk__in=flagged.values("ticket_id"))
        .select_related("organization", "owner")
        .order_by(F("next_due_at").asc(nulls_last=True), "id")
    )


def desk_home(user: Any, *, limit: int = 10) -> dict[str, Any]:
    """The service agent's landing: my open requests by next due, and the promises at risk or
    breached (a fixed number of queries)."""
    mine_queryset = tickets_mine_open(user)
    at_risk_queryset = tickets_at_risk(user)
    mine = list(mine_queryset[:limit])
    at_risk = list(at_risk_queryset[:limit])
    states = sla_states([*mine, *at_risk])
    return {
        "mine": [{"ticket": ticket, "sla": states[ticket.pk]} for ticket in mine],
        "mine_count": len(mine) if len(mine) < limit else mine_queryset.count(),
        "at_risk": [{"ticket": ticket, "sla": states[ticket.pk]} for ticket in at_risk],
        "at_risk_count": len(at_risk) if len(at_risk) < limit else at_risk_queryset.count(),
    }


def tickets_of_organization(organization: Any, user: Any) -> QuerySet[Ticket]:
    return (
        tickets_visible_to(user)
        .filter(organization=organization)
        .select_related("owner")
        .order_by("-received_at", "-id")
    )


def tickets_of_device(device: Any, user: Any) -> QuerySet[Ticket]:
    return (
        tickets_visible_to(user)
        .filter(device=device)
        .select_related("organization", "owner")
        .order_by("-received_at", "-id")
    )


def contact_log_of(organization: Any, user: Any) -> QuerySet[TimelineEntry]:
    """Every call, visit and e-mail with an organisation (the procedures' contact log), newest
    first, from the requests the user may see; customers see what is meant for them."""
    entries = (
        TimelineEntry.objects.filter(
            ticket__in=tickets_visible_to(user).filter(organization=organization).values("pk"),
            kind__in=CONTACT_KINDS,
        )
        .select_related("ticket", "ticket__contact")
        .order_by("-created_at", "-id")
    )
    if user_scope(user) == "customer":
        entries = entries.filter(customer_visible=True)
    return entries
