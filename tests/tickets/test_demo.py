"""The demo desk: requests in every state, some at risk, one breached, told believably."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from medservice.tickets.models import Ticket, TicketClock

pytestmark = pytest.mark.django_db


@override_settings(MEDSERVICE_DEMO=True)
def test_the_demo_desk_tells_the_story_once():
    call_command("seed_demo")
    first = (Ticket.objects.count(), TicketClock.objects.count())
    call_command("seed_demo")
    assert (Ticket.objects.count(), TicketClock.objects.count()) == first
    assert first[0] == 15
    states = set(Ticket.objects.values_list("status", flat=True))
    assert states == {
        "new",
        "acknowledged",
        "investigating",
        "solution_proposed",
        "in_progress",
        "waiting_customer",
        "waiting_parts",
        "resolved",
        "closed",
        "cancelled",
    }
    running = TicketClock.objects.filter(met_at__isnull=True, stopped_at__isnull=True)
    assert running.filter(breached_at__isnull=False).exists()
    assert running.filter(warned_at__isnull=False, breached_at__isnull=True).exists()
    rated = Ticket.objects.filter(rating__isnull=False).order_by("rating")
    assert [ticket.rating for ticket in rated] == [4, 5]
    assert Ticket.objects.get(kind="quality_complaint").quality_intake.stop_use_advised
    assert Ticket.objects.filter(owner__isnull=True).count() == 0
