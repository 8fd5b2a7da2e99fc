"""Follow-up calls are scheduled when a request closes (SOP-4: within a month) and use checks
after a repair, once per source."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings
from freezegun import freeze_time

from medservice.feedback.choices import FollowUpKind, FollowUpStatus
from medservice.feedback.models import FollowUp
from medservice.feedback.services_followups import (
    follow_up_schedule_for_ticket,
    follow_up_schedule_for_work_order,
)
from tests.feedback.factories_followups import closed_ticket

pytestmark = pytest.mark.django_db
CLOSED_AT = datetime.datetime(2026, 3, 10, 2, 0, tzinfo=datetime.UTC)  # 10:00 in Shanghai


def test_a_closed_request_gets_a_follow_up_call_due_30_days_later(agent, hospital_a):
    # Given a repair request closed on 10 March (Shanghai time)
    with freeze_time(CLOSED_AT):
        ticket = closed_ticket(agent, hospital_a)
    # Then one follow-up call is due on 9 April, given to the request's owner
    follow_up = FollowUp.objects.get(ticket=ticket)
    assert (follow_up.kind, follow_up.status, follow_up.due_on) == (
        FollowUpKind.CALL, FollowUpStatus.OPEN, datetime.date(2026, 4, 9),
    )  # fmt: skip
    assert follow_up.organization == hospital_a
    assert follow_up.contact == ticket.contact
    assert follow_up.assignee_id == ticket.owner_id
    assert follow_up.number.startswith("HF-2026-")


@override_settings(FEEDBACK_FOLLOW_UP_DAYS=14)
def test_the_follow_up_delay_is_a_setting(agent, hospital_a):
    with freeze_time(CLOSED_AT):
        ticket = closed_ticket(agent, hospital_a)
    assert FollowUp.objects.get(ticket=ticket).due_on == datetime.date(2026, 3, 24)


def test_scheduling_twice_makes_one_follow_up(agent, hospital_a):
    # Given a closed request with its follow-up
    ticket = closed_ticket(agent, hospital_a)
    first = FollowUp.objects.get(ticket=ticket)
    # When the closed event is handled again
    again = follow_up_schedule_for_ticket(ticket=ticket)
    # Then it is the same follow-up, and there is still one
    assert again.pk == first.pk
    assert FollowUp.objects.filter(ticket=ticket).count() == 1


def test_the_database_refuses_a_second_call_for_one_request(agent, hospital_a):
    ticket = closed_ticket(agent, hospital_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        FollowUp.objects.create(
            number="HF-X", kind=FollowUpKind.CALL, ticket=ticket, organization=hospital_a,
            due_on=datetime.date(2026, 1, 1),
        )  # fmt: skip


def test_a_completed_repair_gets_a_use_check_once(hospital_a):
    from tests.work_orders.factories import WorkOrderFactory

    # Given a repair work order completed on 10 March
    work_order = WorkOrderFactory(device__organization=hospital_a, kind="repair")
    work_order.completed_at = CLOSED_AT
    # When the completion event is handled twice
    first = follow_up_schedule_for_work_order(work_order=work_order)
    second = follow_up_schedule_for_work_order(work_order=work_order)
    # Then one use check is due 7 days later
    assert first.pk == second.pk
    assert (first.kind, first.due_on) == (FollowUpKind.USE_CHECK, datetime.date(2026, 3, 17))


@override_settings(FEEDBACK_REPAIR_CHECK_DAYS=3)
def test_a_pm_visit_gets_no_use_check_and_the_repair_delay_is_a_setting(hospital_a):
    from tests.work_orders.factories import WorkOrderFactory

    pm = WorkOrderFactory(device__organization=hospital_a, kind="preventive_maintenance")
    pm.completed_at = CLOSED_AT
    assert follow_up_schedule_for_work_order(work_order=pm) is None
    repair = WorkOrderFactory(device__organization=hospital_a, kind="repair")
    repair.completed_at = CLOSED_AT
    assert follow_up_schedule_for_work_order(work_order=repair).due_on == datetime.date(2026, 3, 13)
