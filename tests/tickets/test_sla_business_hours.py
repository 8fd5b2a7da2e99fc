"""Service promises counted in business hours on the China calendar: the National Day golden
week, the make-up Saturday (调休) and a calendar correction moving running due times."""

from __future__ import annotations

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from medservice.core.calendars import calendar_day_create, calendar_default_ensure
from medservice.core.models import AuditEvent
from medservice.tickets.models import SlaPolicy, SlaPolicyTarget
from tests.tickets.conftest import register

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday 30 September 2026, 16:00: 1.5 working hours left that day (08:30-17:30, lunch
# 12:00-13:00), then the Mid-autumn and National Day holidays until 7 October.
RECEIVED = datetime.datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI)


@pytest.fixture
def business_policy(db):
    calendar = calendar_default_ensure()
    policy = SlaPolicy.objects.create(name="医院工作时间", sla_tier="standard", calendar=calendar)
    for target, hours in (("first_response", 8), ("plan", 16), ("resolution", 24)):
        SlaPolicyTarget.objects.create(
            policy=policy, target=target, hours=Decimal(hours), counting="business",
            pause_states=["waiting_customer"],
        )  # fmt: skip
    return policy


def local(moment):
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def test_the_golden_week_does_not_count_and_the_make_up_saturday_does(
    business_policy, agent, hospital_a, caller
):
    with freeze_time(RECEIVED):
        ticket = register(agent, hospital_a, caller, sla_tier="standard", received_at=RECEIVED)
    # 1.5 h on 30 Sep, nothing 1-7 Oct, then 8 h a day from Thursday 8 October.
    assert local(ticket.first_response_due_at) == datetime.datetime(2026, 10, 8, 16, 0)
    assert local(ticket.plan_due_at) == datetime.datetime(2026, 10, 9, 16, 0)
    # Saturday 10 October is a make-up working day: the 24th business hour falls on it.
    assert local(ticket.resolution_due_at) == datetime.datetime(2026, 10, 10, 16, 0)
    assert set(ticket.clocks.values_list("unconfirmed", flat=True)) == {False}


def test_a_holiday_entered_later_moves_the_running_due_times_with_an_audit_entry(
    business_policy, agent, administrator, hospital_a, caller, django_capture_on_commit_callbacks
):
    with freeze_time(RECEIVED):
        ticket = register(agent, hospital_a, caller, sla_tier="standard", received_at=RECEIVED)
    with django_capture_on_commit_callbacks(execute=True):
        calendar_day_create(
            actor=administrator,
            data={
                "calendar": business_policy.calendar,
                "date": datetime.date(2026, 10, 8),
                "kind": "holiday",
                "name": "公司停电检修",
            },
        )
    ticket.refresh_from_db()
    assert local(ticket.first_response_due_at) == datetime.datetime(2026, 10, 9, 16, 0)
    assert local(ticket.resolution_due_at) == datetime.datetime(2026, 10, 12, 16, 0)
    event = (
        AuditEvent.objects.filter(object_type="tickets.ticket", object_id=str(ticket.pk))
        .order_by("id")
        .last()
    )
    assert event.reason == "Business calendar CN corrected: due times recomputed."
    assert ticket.timeline.filter(kind="sla", text=event.reason).count() == 1


def test_a_year_without_published_holidays_gives_a_provisional_due_time(
    business_policy, agent, hospital_a, caller
):
    received = datetime.datetime(2031, 3, 3, 9, 0, tzinfo=SHANGHAI)  # a Monday
    with freeze_time(received):
        ticket = register(agent, hospital_a, caller, sla_tier="standard", received_at=received)
    # Monday 09:00-12:00 and 13:00-17:30 is 7.5 h; the last half hour is Tuesday 08:30-09:00
    # (weekdays, as the fallback for an unpublished year assumes).
    assert local(ticket.first_response_due_at) == datetime.datetime(2031, 3, 4, 9, 0)
    assert set(ticket.clocks.values_list("unconfirmed", flat=True)) == {True}
