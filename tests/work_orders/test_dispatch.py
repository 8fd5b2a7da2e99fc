"""Dispatch (派单) and visits: candidates certified for the model on the day, free and ranked
by region and load; the service manager's override; rescheduling with the customer told;
check-in meeting the service request's on-site target; a check-out sent twice; late arrivals."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError, PermissionDeniedError
from medservice.core.models import AuditEvent, Notification
from medservice.work_orders.choices import Route, VisitStatus, WorkOrderKind, WorkOrderStatus
from medservice.work_orders.dispatch import (
    dispatch_candidates,
    engineer_schedule,
    late_arrivals_alert,
    visit_check_in,
    visit_check_out,
    visit_reschedule,
    work_order_dispatch,
)
from medservice.work_orders.models import Submission, Visit, WorkOrder
from medservice.work_orders.services import (
    work_order_assess,
    work_order_create,
    work_order_plan,
)
from tests.factories import user_with_role
from tests.installed_base.factories import DeviceFactory
from tests.work_orders.conftest import make_engineer

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NOW = "2026-11-27 10:00:00+08:00"
START = datetime.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
END = datetime.datetime(2026, 11, 28, 11, 0, tzinfo=SHANGHAI)


def ready_on_site(actor, device, **create):
    work_order = work_order_create(
        actor=actor, kind=WorkOrderKind.REPAIR, device=device, problem="无法开机", **create
    )
    work_order = work_order_assess(
        actor=actor, work_order=work_order, route=Route.ON_SITE, assessment="电源板故障"
    )
    return work_order_plan(actor=actor, work_order=work_order, plan="更换电源板")


@pytest.fixture
def ready(engineer, device):
    with freeze_time(NOW):
        work_order = ready_on_site(engineer, device)
    assert work_order.status == WorkOrderStatus.READY
    return work_order


def names(candidates):
    return [candidate.user.username for candidate in candidates]


@freeze_time(NOW)
def test_uncertified_expired_and_booked_engineers_are_not_candidates(
    company, monitor_model, engineer, ready, hospital_a
):
    make_engineer(company, "zhao", badge="E-002", model=None)
    make_engineer(company, "qian", badge="E-003", model=monitor_model,
                  certified_until=datetime.date(2026, 11, 27))  # fmt: skip
    booked = make_engineer(company, "sun", badge="E-004", model=monitor_model)
    other = ready_on_site(engineer, DeviceFactory(device_model=monitor_model, serial_number="KM8-2603-00002",
                                                  organization=hospital_a))  # fmt: skip
    Visit.objects.create(
        work_order=other, engineer=booked, window_start=START + datetime.timedelta(hours=1),
        window_end=END + datetime.timedelta(hours=1),
    )  # fmt: skip

    candidates = dispatch_candidates(ready, start=START, end=END)

    # qian's certification ends the day before the visit (the 28th).
    assert names(candidates) == ["wang"]
    assert candidates[0].certified_until == datetime.date(2027, 12, 31)
    assert candidates[0].profile.badge_number == "E-001"


@freeze_time(NOW)
def test_the_same_region_ranks_first_then_the_lighter_day(
    company, monitor_model, engineer, ready, hospital_a
):
    make_engineer(company, "li", badge="E-010", region="华北", model=monitor_model)
    busy = make_engineer(company, "zhou", badge="E-011", model=monitor_model)
    other = ready_on_site(engineer, DeviceFactory(device_model=monitor_model, serial_number="KM8-2603-00002",
                                                  organization=hospital_a))  # fmt: skip
    Visit.objects.create(
        work_order=other, engineer=busy, window_start=START + datetime.timedelta(hours=4),
        window_end=END + datetime.timedelta(hours=4),
    )  # fmt: skip

    candidates = dispatch_candidates(ready, start=START, end=END)

    assert [(item.user.username, item.region_match, item.load) for item in candidates] == [
        ("wang", True, 0),
        ("zhou", True, 1),
        ("li", False, 0),
    ]


@freeze_time(NOW)
def test_candidates_take_the_same_number_of_queries_for_more_engineers(
    company, monitor_model, ready
):
    work_order = WorkOrder.objects.select_related("device__device_model", "organization").get(
        pk=ready.pk
    )
    with CaptureQueriesContext(connection) as few:
        assert len(dispatch_candidates(work_order, start=START, end=END)) == 1
    for index in range(5):
        make_engineer(company, f"x{index}", badge=f"X-{index}", model=monitor_model)
    with CaptureQueriesContext(connection) as many:
        assert len(dispatch_candidates(work_order, start=START, end=END)) == 6
    assert len(many.captured_queries) == len(few.captured_queries) == 1


@freeze_time(NOW)
def test_dispatch_books_the_visit_and_tells_the_engineer_and_the_customer(
    manager, engineer, ready, customer_a
):
    work_order = work_order_dispatch(
        actor=manager, work_order=ready, engineer=engineer, window_start=START, window_end=END
    )

    assert work_order.status == WorkOrderStatus.SCHEDULED
    assert (work_order.engineer, work_order.appointment_start) == (engineer, START)
    visit = work_order.visits.get()
    assert (visit.status, visit.dispatched_by, visit.override_reason) == (
        VisitStatus.SCHEDULED, manager, "",
    )  # fmt: skip
    assert Notification.objects.filter(recipient=engineer).count() == 1
    told = Notification.objects.get(recipient=customer_a).body
    assert "E-001" in told
    assert "2026-11-28 09:00–11:00" in told


@freeze_time(NOW)
def test_a_window_in_the_past_or_ending_first_is_refused(manager, engineer, ready):
    with pytest.raises(InvalidInputError) as refused:
        work_order_dispatch(actor=manager, work_order=ready, engineer=engineer,
                            window_start=END, window_end=START)  # fmt: skip
    assert list(refused.value.fields) == ["window_end"]
    yesterday = START - datetime.timedelta(days=2)
    with pytest.raises(InvalidInputError) as refused:
        work_order_dispatch(actor=manager, work_order=ready, engineer=engineer,
                            window_start=yesterday,
                            window_end=yesterday + datetime.timedelta(hours=1))  # fmt: skip
    assert list(refused.value.fields) == ["window_start"]


@freeze_time(NOW)
def test_sending_someone_not_a_candidate_needs_the_override_permission_and_a_reason(
    company, manager, ready
):
    uncertified = make_engineer(company, "zhao", badge="E-002", model=None)
    dispatcher = user_with_role(Role.SERVICE_AGENT, company, username="dispatcher")
    dispatcher.user_permissions.add(
        Permission.objects.get(codename="dispatch_workorder", content_type__app_label="work_orders")
    )
    dispatcher = type(dispatcher).objects.get(pk=dispatcher.pk)

    with pytest.raises(PermissionDeniedError):
        work_order_dispatch(actor=dispatcher, work_order=ready, engineer=uncertified,
                            window_start=START, window_end=END, override_reason="只有他有空")  # fmt: skip
    with pytest.raises(InvalidInputError) as refused:
        work_order_dispatch(actor=manager, work_order=ready, engineer=uncertified,
                            window_start=START, window_end=END)  # fmt: skip
    assert "override_reason" in refused.value.fields
    assert not Visit.objects.exists()

    work_order = work_order_dispatch(
        actor=manager, work_order=ready, engineer=uncertified, window_start=START,
        window_end=END, override_reason="只有他有空，已电话确认熟悉该型号",
    )  # fmt: skip

    visit = work_order.visits.get()
    assert (visit.engineer, visit.override_by) == (uncertified, manager)
    assert visit.override_reason == "只有他有空，已电话确认熟悉该型号"


@freeze_time(NOW)
def test_a_reschedule_needs_the_reason_and_tells_the_customer(manager, engineer, ready, customer_a):
    work_order_dispatch(actor=manager, work_order=ready, engineer=engineer,
                        window_start=START, window_end=END)  # fmt: skip
    later = START + datetime.timedelta(days=1)
    with pytest.raises(InvalidInputError) as refused:
        visit_reschedule(actor=manager, work_order=ready, window_start=later,
                         window_end=later + datetime.timedelta(hours=2), reason=" ")  # fmt: skip
    assert list(refused.value.fields) == ["reason"]

    work_order = visit_reschedule(
        actor=manager, work_order=ready, window_start=later,
        window_end=later + datetime.timedelta(hours=2), reason="客户科室周六停诊",
    )  # fmt: skip

    visit = work_order.visits.get()
    assert (visit.window_start, visit.reschedule_count, visit.reschedule_reason) == (
        later, 1, "客户科室周六停诊",
    )  # fmt: skip
    assert work_order.appointment_start == later
    told = Notification.objects.filter(recipient=customer_a).order_by("pk").last().body
    assert "2026-11-29 09:00–11:00" in told
    assert "客户科室周六停诊" in told


@pytest.fixture
def escalated_ticket(agent, device, hospital_a):
    from medservice.tickets.services import (
        ticket_acknowledge,
        ticket_escalate_onsite,
        ticket_register,
    )

    with freeze_time(NOW):
        ticket = ticket_register(
            actor=agent,
            data={
                "kind": "repair", "channel": "phone", "organization": hospital_a,
                "device": device, "subject": "监护仪无法开机", "description": "ICU 监护仪无法开机。",
                "reporter_name": "李护士", "reporter_phone": "13916624875",
            },
        )  # fmt: skip
        ticket = ticket_acknowledge(ticket=ticket, actor=agent, note="已联系")
        return ticket_escalate_onsite(ticket=ticket, actor=agent, reason="电话指导无效")


def test_the_check_in_meets_the_service_requests_on_site_target(
    manager, engineer, device, escalated_ticket
):
    with freeze_time(NOW):
        work_order = ready_on_site(engineer, device, ticket=escalated_ticket)
        work_order = work_order_dispatch(
            actor=manager, work_order=work_order, engineer=engineer,
            window_start=datetime.datetime(2026, 11, 27, 13, 0, tzinfo=SHANGHAI),
            window_end=datetime.datetime(2026, 11, 27, 15, 0, tzinfo=SHANGHAI),
        )  # fmt: skip
    arrived = datetime.datetime(2026, 11, 27, 13, 10, tzinfo=SHANGHAI)
    with freeze_time(arrived):
        work_order = visit_check_in(
            actor=engineer, work_order=work_order, latitude="31.1884321", longitude=121.4365
        )

    assert work_order.status == WorkOrderStatus.IN_PROGRESS
    visit = work_order.visits.get()
    assert (visit.status, visit.checked_in_at) == (VisitStatus.ON_SITE, arrived)
    assert str(visit.checked_in_latitude) == "31.188432"
    clock = escalated_ticket.clocks.get(target="onsite")
    assert clock.met_at == arrived


@freeze_time(NOW)
def test_a_resubmitted_check_out_creates_nothing_twice(manager, engineer, ready):
    work_order_dispatch(actor=manager, work_order=ready, engineer=engineer,
                        window_start=START, window_end=END)  # fmt: skip
    with freeze_time("2026-11-28 09:05:00+08:00"):
        visit_check_in(actor=engineer, work_order=ready, submission_key="in-1")
        visit_check_in(actor=engineer, work_order=ready, submission_key="in-1")
    visit = ready.visits.get()
    events_before = AuditEvent.objects.filter(object_id=str(visit.pk),
                                              object_type__icontains="visit").count()  # fmt: skip
    with freeze_time("2026-11-28 10:30:00+08:00"):
        visit_check_out(actor=engineer, work_order=ready, submission_key="out-1")
    with freeze_time("2026-11-28 10:41:00+08:00"):
        again = visit_check_out(actor=engineer, work_order=ready, submission_key="out-1")

    assert again.status == WorkOrderStatus.IN_PROGRESS
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DONE
    assert visit.checked_out_at == datetime.datetime(2026, 11, 28, 10, 30, tzinfo=SHANGHAI)
    assert Submission.objects.filter(action="check-out").count() == 1
    assert Submission.objects.filter(action="check-in").count() == 1
    events_after = AuditEvent.objects.filter(object_id=str(visit.pk),
                                             object_type__icontains="visit").count()  # fmt: skip
    assert events_after - events_before == 1


@freeze_time(NOW)
def test_a_refused_check_out_does_not_use_up_its_key(manager, engineer, ready):
    work_order_dispatch(actor=manager, work_order=ready, engineer=engineer,
                        window_start=START, window_end=END)  # fmt: skip
    from medservice.core.errors import InvalidTransitionError

    with pytest.raises(InvalidTransitionError):
        visit_check_out(actor=engineer, work_order=ready, submission_key="out-1")
    assert not Submission.objects.exists()


def test_a_late_arrival_alerts_the_managers_and_the_owner_once(
    manager, service_manager, engineer, ready
):
    with freeze_time(NOW):
        work_order_dispatch(actor=manager, work_order=ready, engineer=engineer,
                            window_start=START, window_end=END)  # fmt: skip
    with freeze_time("2026-11-28 09:14:00+08:00"):
        assert late_arrivals_alert() == 0
    with freeze_time("2026-11-28 09:16:00+08:00"):
        assert late_arrivals_alert() == 1
        assert late_arrivals_alert() == 0

    late = Notification.objects.filter(subject__contains="has not arrived")
    assert sorted(item.recipient.username for item in late) == ["boss", "manager", "wang"]
    assert "2026-11-28 09:00–11:00" in late.first().body


def test_a_visit_checked_in_in_time_raises_no_alert(manager, engineer, ready):
    with freeze_time(NOW):
        work_order_dispatch(actor=manager, work_order=ready, engineer=engineer,
                            window_start=START, window_end=END)  # fmt: skip
    with freeze_time("2026-11-28 09:05:00+08:00"):
        visit_check_in(actor=engineer, work_order=ready)
    with freeze_time("2026-11-28 10:00:00+08:00"):
        assert late_arrivals_alert() == 0


@freeze_time(NOW)
def test_the_engineers_schedule_lists_their_visits_in_order(manager, engineer, ready, device):
    second = ready_on_site(engineer, device)
    afternoon = START + datetime.timedelta(hours=5)
    work_order_dispatch(actor=manager, work_order=second, engineer=engineer,
                        window_start=afternoon, window_end=afternoon + datetime.timedelta(hours=1))  # fmt: skip
    work_order_dispatch(actor=manager, work_order=ready, engineer=engineer,
                        window_start=START, window_end=END)  # fmt: skip

    visits = engineer_schedule(engineer, start_day=datetime.date(2026, 11, 28),
                               end_day=datetime.date(2026, 11, 28))  # fmt: skip

    assert [visit.work_order.number for visit in visits] == [ready.number, second.number]
    assert engineer_schedule(engineer, start_day=datetime.date(2026, 11, 27),
                             end_day=datetime.date(2026, 11, 27)) == []  # fmt: skip
