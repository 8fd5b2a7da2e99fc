"""The service promises on a ticket: which clock starts, stops and pauses when (SOP-1, SOP-2)."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection

from medservice.core.models import AuditEvent, Notification
from medservice.tickets import services
from medservice.tickets.choices import Status
from medservice.tickets.models import SlaPolicy, SlaPolicyTarget, TicketClock
from medservice.tickets.sla import default_policy
from medservice.tickets.sweep import sla_sweep
from tests.tickets.conftest import RECEIVED, register
from tests.tickets.test_workflow import screen, to_agreed

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def clock_of(ticket, target, cycle=1):
    return TicketClock.objects.get(ticket=ticket, target=target, cycle=cycle)


def test_acknowledge_meets_the_first_response_and_propose_the_plan(complaint, agent, clock):
    clock.tick(3 * HOUR)
    ticket = services.ticket_acknowledge(ticket=complaint, actor=agent, note="已联系")
    clock.tick(20 * HOUR)
    services.ticket_propose_solution(ticket=ticket, actor=agent, solution="上门维修")
    first, plan, resolution = (
        clock_of(complaint, "first_response"),
        clock_of(complaint, "plan"),
        clock_of(complaint, "resolution"),
    )
    assert (first.met_at, first.breached_at) == (RECEIVED + 3 * HOUR, None)
    assert (plan.met_at, plan.breached_at) == (RECEIVED + 23 * HOUR, None)
    assert (resolution.met_at, resolution.due_at) == (None, RECEIVED + 72 * HOUR)


def test_waiting_for_the_customer_pauses_plan_and_resolution_but_not_first_response(
    complaint, agent, clock
):
    clock.tick(HOUR)
    ticket = services.ticket_acknowledge(ticket=complaint, actor=agent, note="已联系")
    ticket = services.ticket_wait(
        ticket=ticket, actor=agent, reason="customer", note="等客户提供故障照片"
    )
    plan = clock_of(complaint, "plan")
    assert (plan.paused, plan.due_at) == (True, RECEIVED + 48 * HOUR)
    clock.tick(10 * HOUR)
    ticket = services.ticket_resume(ticket=ticket, actor=agent)
    ticket.refresh_from_db()
    assert clock_of(complaint, "plan").due_at == RECEIVED + 58 * HOUR
    assert clock_of(complaint, "resolution").due_at == RECEIVED + 82 * HOUR
    assert (ticket.plan_due_at, ticket.resolution_due_at, ticket.next_due_at) == (
        RECEIVED + 58 * HOUR,
        RECEIVED + 82 * HOUR,
        RECEIVED + 58 * HOUR,
    )
    # The recomputation is in the audit trail, as a change of the stored due times.
    event = (
        AuditEvent.objects.filter(object_type="tickets.ticket", object_id=str(ticket.pk))
        .order_by("id")
        .last()
    )
    assert event.changes["plan_due_at"] == [
        (RECEIVED + 48 * HOUR).isoformat(),
        (RECEIVED + 58 * HOUR).isoformat(),
    ]


def test_a_first_response_is_not_paused_by_waiting(agent, hospital_a, caller, clock):
    # Waiting starts only after the acknowledgement, so the first response is never paused;
    # a policy could still name a waiting state for it. Check the default says so.
    targets = dict(default_policy().targets.values_list("target", "pause_states"))
    assert targets == {
        "first_response": [],
        "plan": ["waiting_customer"],
        "resolution": ["waiting_customer"],
        "onsite": [],
    }


def test_a_parts_wait_pauses_nothing_by_default(complaint, agent, manager, clock):
    ticket = services.ticket_acknowledge(ticket=complaint, actor=agent, note="已联系")
    ticket = services.ticket_wait(ticket=ticket, actor=manager, reason="parts", note="等电源板")
    clock.tick(5 * HOUR)
    services.ticket_resume(ticket=ticket, actor=agent)
    assert clock_of(complaint, "resolution").due_at == RECEIVED + 72 * HOUR


def test_escalate_onsite_starts_a_24_hour_clock_that_the_arrival_meets(complaint, agent, clock):
    ticket = services.ticket_acknowledge(ticket=complaint, actor=agent, note="电话指导未解决")
    clock.tick(2 * HOUR)
    ticket = services.ticket_escalate_onsite(ticket=ticket, actor=agent, reason="电话指导无效")
    assert ticket.onsite_due_at == RECEIVED + 26 * HOUR
    clock.tick(20 * HOUR)
    services.ticket_record_arrival(ticket=ticket, actor=agent)
    onsite = clock_of(complaint, "onsite")
    assert (onsite.met_at, onsite.breached_at) == (RECEIVED + 22 * HOUR, None)


def test_resolve_meets_the_resolution_and_a_reopen_starts_a_new_one(complaint, agent, clock):
    ticket = services.ticket_start(ticket=to_agreed(complaint, agent), actor=agent)
    clock.tick(30 * HOUR)
    ticket = services.ticket_resolve(
        ticket=screen(ticket, agent), actor=agent, resolution_type="repair", resolution="已修复"
    )
    assert clock_of(complaint, "resolution").met_at == RECEIVED + 30 * HOUR
    clock.tick(50 * HOUR)
    ticket = services.ticket_reopen(ticket=ticket, actor=agent, reason="又黑屏")
    second = clock_of(complaint, "resolution", cycle=2)
    assert (second.started_at, second.due_at) == (RECEIVED + 80 * HOUR, RECEIVED + 152 * HOUR)
    assert ticket.resolution_due_at == RECEIVED + 152 * HOUR


def test_a_late_first_response_is_recorded_as_met_and_breached(complaint, agent, clock):
    clock.tick(25 * HOUR)
    services.ticket_acknowledge(ticket=complaint, actor=agent, note="已联系")
    first = clock_of(complaint, "first_response")
    assert (first.met_at, first.breached_at) == (RECEIVED + 25 * HOUR, RECEIVED + 24 * HOUR)


def test_an_approved_exception_extends_the_target(complaint, manager, clock):
    services.sla_exception_approve(
        ticket=complaint,
        actor=manager,
        target="resolution",
        hours=Decimal("48"),
        reason="进口配件海关清关",
    )
    complaint.refresh_from_db()
    assert complaint.resolution_due_at == RECEIVED + 120 * HOUR
    assert clock_of(complaint, "resolution").extension_hours == Decimal("48")


def test_a_priority_change_applies_the_urgent_policy(complaint, agent, manager, clock):
    urgent = SlaPolicy.objects.create(name="紧急", priority="urgent")
    SlaPolicyTarget.objects.create(policy=urgent, target="first_response", hours=Decimal(2))
    SlaPolicyTarget.objects.create(policy=urgent, target="resolution", hours=Decimal(24))
    ticket = services.ticket_change_priority(
        ticket=complaint, actor=agent, priority="urgent", reason="ICU 唯一监护仪"
    )
    assert (ticket.first_response_due_at, ticket.plan_due_at, ticket.resolution_due_at) == (
        RECEIVED + 2 * HOUR,
        RECEIVED + 48 * HOUR,  # the urgent policy leaves the plan to the default promise
        RECEIVED + 24 * HOUR,
    )
    assert Notification.objects.filter(recipient=manager, subject__contains="Urgent").count() == 1


def test_the_most_specific_policy_wins(agent, hospital_a, caller, clock):
    tier = SlaPolicy.objects.create(name="优先", sla_tier="priority")
    SlaPolicyTarget.objects.create(policy=tier, target="resolution", hours=Decimal(48))
    own = SlaPolicy.objects.create(name="市一院", organization=hospital_a)
    SlaPolicyTarget.objects.create(policy=own, target="resolution", hours=Decimal(36))
    ticket = register(agent, hospital_a, caller, sla_tier="priority")
    assert ticket.resolution_due_at == RECEIVED + 36 * HOUR


def test_the_sweep_warns_at_75_percent_and_records_a_breach_once(complaint, agent, manager, clock):
    clock.tick(18 * HOUR)  # 75 % of the 24-hour first response
    assert sla_sweep() == {"warned": 1, "breached": 0}
    assert sla_sweep() == {"warned": 0, "breached": 0}
    clock.tick(6 * HOUR)
    assert sla_sweep() == {"warned": 0, "breached": 1}
    assert sla_sweep() == {"warned": 0, "breached": 0}
    first = clock_of(complaint, "first_response")
    assert (first.warned_at, first.breached_at) == (RECEIVED + 18 * HOUR, RECEIVED + 24 * HOUR)
    subjects = sorted(
        Notification.objects.filter(recipient=manager).values_list("subject", flat=True)
    )
    assert subjects == [
        "TS-2026-000001: First response at risk",
        "TS-2026-000001: First response breached",
    ]


def test_a_paused_clock_is_neither_warned_nor_breached(complaint, agent, clock):
    ticket = services.ticket_acknowledge(ticket=complaint, actor=agent, note="已联系")
    services.ticket_wait(ticket=ticket, actor=agent, reason="customer", note="等照片")
    clock.tick(100 * HOUR)
    assert sla_sweep() == {"warned": 0, "breached": 0}


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two sweeps at once need two real connections with row locks (PostgreSQL)",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_record_one_breach(company, hospital_a):
    from medservice.accounts.choices import Role
    from tests.factories import ContactFactory, user_with_role

    agent = user_with_role(Role.SERVICE_AGENT, company, username="agent2")
    caller = ContactFactory(organization=hospital_a)
    received = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=5)
    tickets = [register(agent, hospital_a, caller, received_at=received) for _ in range(20)]
    results = []
    barrier = threading.Barrier(2)

    def sweep():
        barrier.wait()
        try:
            results.append(sla_sweep())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result["breached"] for result in results) == 60  # three targets × 20 tickets
    assert TicketClock.objects.filter(breached_at__isnull=False).count() == 60
    breach_entries = sum(
        ticket.timeline.filter(kind="sla", data__event="breached").count() for ticket in tickets
    )
    assert breach_entries == 60


def test_auto_close_reminds_after_three_days_and_closes_after_seven(complaint, agent, clock):
    ticket = services.ticket_start(ticket=to_agreed(complaint, agent), actor=agent)
    ticket = services.ticket_resolve(
        ticket=screen(ticket, agent), actor=agent, resolution_type="guidance", resolution="已指导"
    )
    clock.tick(datetime.timedelta(days=2))
    assert services.resolution_reminders_and_auto_close() == {"reminded": 0, "closed": 0}
    clock.tick(datetime.timedelta(days=1, minutes=1))
    assert services.resolution_reminders_and_auto_close() == {"reminded": 1, "closed": 0}
    assert services.resolution_reminders_and_auto_close() == {"reminded": 0, "closed": 0}
    clock.tick(datetime.timedelta(days=4))
    assert services.resolution_reminders_and_auto_close() == {"reminded": 0, "closed": 1}
    ticket.refresh_from_db()
    assert (ticket.status, ticket.confirmation_method) == (Status.CLOSED, "automatic")
    last_message = ticket.timeline.filter(kind="message").first()
    assert last_message.text.startswith(f"Request {ticket.number} was closed because")
