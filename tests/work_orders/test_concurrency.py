"""Two people acting on the same record at the same moment (issue 7): two managers sending the
same engineer to overlapping windows on two work orders, a phone's check-out sent twice at
once, the work completed twice at once, the customer signing twice at once. Each ends with
exactly one visit, check-out, report or signature; the other attempt changes nothing (or is
refused).

PostgreSQL only: SQLite serialises every writer on one database lock, so it cannot show two
transactions racing for the same rows."""

from __future__ import annotations

import base64
import datetime
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone
from freezegun import freeze_time

from medservice.core.choices import SignerKind
from medservice.core.errors import DomainError
from medservice.core.models import Signature
from medservice.work_orders.choices import (
    Route,
    VisitStatus,
    WorkOrderKind,
    WorkOrderStatus,
)
from medservice.work_orders.dispatch import (
    visit_check_in,
    visit_check_out,
    visit_reschedule,
    work_order_dispatch,
)
from medservice.work_orders.models import ServiceReport, Submission, Visit, WorkOrder
from medservice.work_orders.reports import report_current, report_sign
from medservice.work_orders.services import (
    work_order_assess,
    work_order_complete,
    work_order_create,
    work_order_plan,
    work_order_transition,
)
from tests.installed_base.factories import DeviceFactory
from tests.work_orders.conftest import PASSWORD

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent writers need real row locks on separate connections (PostgreSQL); "
        "SQLite serialises every write on one database lock",
    ),
    pytest.mark.django_db(transaction=True),
]

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NOW = "2026-11-27 10:00:00+08:00"
DAY = datetime.date(2026, 11, 28)
# A 1×1 PNG as a canvas gives it: the drawn signature.
SIGNATURE = "data:image/png;base64," + base64.b64encode(base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)).decode()  # fmt: skip


def at(hour: int, minute: int = 0, day: datetime.date = DAY) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def run_at_once(work, items) -> Counter:
    """Run `work(item)` for every item on its own thread and connection, all released at the
    same moment; count how each ended: "done", or the refusal's class name with the fields it
    names."""
    barrier = threading.Barrier(len(items))

    def attempt(item):
        try:
            barrier.wait()
            work(item)
            return "done"
        except DomainError as error:
            return (type(error).__name__, tuple(sorted(error.fields)))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return Counter(pool.map(attempt, items))


def ready_on_site(actor, device):
    """Opened, assessed on site (covered: in warranty) and planned: ready to dispatch."""
    work_order = work_order_create(
        actor=actor, kind=WorkOrderKind.REPAIR, device=device, problem="无法开机"
    )
    work_order = work_order_assess(
        actor=actor, work_order=work_order, route=Route.ON_SITE, assessment="电源板故障"
    )
    work_order = work_order_plan(actor=actor, work_order=work_order, plan="更换电源板")
    assert work_order.status == WorkOrderStatus.READY
    return work_order


@pytest.fixture
def two_ready(engineer, device, monitor_model, hospital_a):
    """Two work orders on two monitors of hospital A, both ready to dispatch."""
    other = DeviceFactory(device_model=monitor_model, organization=hospital_a,
                          serial_number="KM8-2603-00002")  # fmt: skip
    with freeze_time(NOW):
        return [ready_on_site(engineer, device), ready_on_site(engineer, other)]


# --- Double booking ------------------------------------------------------------------------------


@freeze_time(NOW)
def test_two_managers_sending_one_engineer_to_overlapping_windows_book_one_visit(
    service_manager, engineer, two_ready
):
    # Given two ready work orders and engineer wang free all day
    windows = [(at(9), at(11)), (at(10), at(12))]

    # When two managers send wang to both at the same moment, the windows overlapping by an hour
    outcome = run_at_once(
        lambda index: work_order_dispatch(
            actor=service_manager,
            work_order=two_ready[index],
            engineer=engineer,
            window_start=windows[index][0],
            window_end=windows[index][1],
        ),
        [0, 1],
    )

    # Then one visit is booked; the other finds wang busy, so sending him is an override the
    # service manager may make, but only with the reason, which was not given
    assert outcome == Counter({"done": 1, ("InvalidInputError", ("override_reason",)): 1})
    visit = Visit.objects.get(engineer=engineer)
    assert visit.status == VisitStatus.SCHEDULED
    assert visit.override_reason == ""
    statuses = sorted(
        WorkOrder.objects.filter(pk__in=[item.pk for item in two_ready]).values_list(
            "status", flat=True
        )
    )
    assert statuses == sorted([WorkOrderStatus.SCHEDULED, WorkOrderStatus.READY])


@freeze_time(NOW)
def test_two_reschedules_moving_one_engineer_into_overlapping_windows_keep_one(
    service_manager, engineer, two_ready
):
    # Given wang booked on the 28th in the morning for one and on the 29th for the other
    first, second = two_ready
    work_order_dispatch(actor=service_manager, work_order=first, engineer=engineer,
                        window_start=at(9), window_end=at(10))  # fmt: skip
    next_day = DAY + datetime.timedelta(days=1)
    work_order_dispatch(actor=service_manager, work_order=second, engineer=engineer,
                        window_start=at(9, day=next_day), window_end=at(10, day=next_day))  # fmt: skip
    moves = {first.pk: (at(14), at(16)), second.pk: (at(15), at(17))}

    # When both visits are moved at the same moment into overlapping afternoon windows
    outcome = run_at_once(
        lambda work_order: visit_reschedule(
            actor=service_manager,
            work_order=work_order,
            window_start=moves[work_order.pk][0],
            window_end=moves[work_order.pk][1],
            reason="客户科室上午手术",
        ),
        [first, second],
    )

    # Then one moves; the other is refused (wang is now busy then) and keeps its window
    assert outcome == Counter({"done": 1, ("InvalidInputError", ("override_reason",)): 1})
    visits = Visit.objects.filter(engineer=engineer, status=VisitStatus.SCHEDULED)
    afternoon = [visit for visit in visits if visit.window_start.date() == DAY
                 and timezone.localtime(visit.window_start).hour >= 14]  # fmt: skip
    assert len(afternoon) == 1
    assert sorted(visit.reschedule_count for visit in visits) == [0, 1]


# --- The engineer's phone, the completion and the signature ------------------------------------


@pytest.fixture
def on_site(service_manager, engineer, two_ready):
    """Wang dispatched for this afternoon and checked in at 13:10."""
    work_order = two_ready[0]
    with freeze_time(NOW):
        work_order = work_order_dispatch(
            actor=service_manager, work_order=work_order, engineer=engineer,
            window_start=at(13, day=DAY - datetime.timedelta(days=1)),
            window_end=at(15, day=DAY - datetime.timedelta(days=1)),
        )  # fmt: skip
    with freeze_time("2026-11-27 13:10:00+08:00"):
        return visit_check_in(actor=engineer, work_order=work_order, submission_key="in-1")


@freeze_time("2026-11-27 14:30:00+08:00")
def test_a_check_out_sent_twice_at_once_is_recorded_once(engineer, on_site):
    # When the phone sends the same check-out twice at the same moment (a retried request)
    outcome = run_at_once(
        lambda _attempt: visit_check_out(
            actor=engineer, work_order=on_site, submission_key="out-1"
        ),
        [1, 2],
    )

    # Then both answers are fine, and the visit is checked out once
    assert outcome == Counter({"done": 2})
    assert Submission.objects.filter(action="check-out", key="out-1").count() == 1
    visit = on_site.visits.get()
    assert (visit.status, visit.checked_out_at) == (
        VisitStatus.DONE, datetime.datetime(2026, 11, 27, 14, 30, tzinfo=SHANGHAI),
    )  # fmt: skip
    on_site.refresh_from_db()
    assert on_site.status == WorkOrderStatus.IN_PROGRESS


def remote_ready_to_complete(engineer, device):
    """Remote support started, diagnosed and screened: ready to complete."""
    work_order = work_order_create(
        actor=engineer, kind=WorkOrderKind.REMOTE_SUPPORT, device=device, problem="开机无显示"
    )
    work_order = work_order_assess(
        actor=engineer, work_order=work_order, route=Route.REMOTE, assessment="远程排查电源"
    )
    work_order = work_order_plan(actor=engineer, work_order=work_order, plan="远程指导重启")
    with transaction.atomic():
        work_order = work_order_transition(work_order, "start", actor=engineer)
    work_order.symptom = "屏幕黑屏"
    work_order.actions_taken = "指导用户重新插紧电源适配器，开机正常"
    work_order.screened_at = timezone.now()
    work_order.screened_by = engineer
    work_order.is_complaint = False
    work_order.may_be_reportable = False
    work_order.save()
    return work_order


@freeze_time(NOW)
def test_completing_twice_at_once_makes_one_report_and_refuses_the_other(engineer, device):
    work_order = remote_ready_to_complete(engineer, device)

    # When the engineer's phone and laptop complete the work at the same moment
    outcome = run_at_once(
        lambda _attempt: work_order_complete(
            actor=engineer,
            work_order=work_order,
            result="returned_to_service",
            password=PASSWORD,
        ),
        [1, 2],
    )

    # Then it is completed once, with one report; the other is refused as a conflict (409)
    assert outcome == Counter({"done": 1, ("InvalidTransitionError", ()): 1})
    work_order.refresh_from_db()
    assert work_order.status == WorkOrderStatus.COMPLETED
    assert ServiceReport.objects.filter(work_order=work_order).count() == 1


@freeze_time(NOW)
def test_two_customer_signatures_at_once_sign_the_report_once(engineer, device):
    work_order = work_order_complete(
        actor=engineer, work_order=remote_ready_to_complete(engineer, device),
        result="returned_to_service", password=PASSWORD,
    )  # fmt: skip
    report = report_current(work_order)

    # When the head nurse's signature is sent twice at the same moment
    outcome = run_at_once(
        lambda name: report_sign(
            actor=engineer, report=report, printed_name=name, signature_image=SIGNATURE
        ),
        ["李护士长", "李护士长"],
    )

    # Then the report carries one customer signature and the work order is closed once
    assert outcome == Counter({"done": 1, ("SignatureError", ()): 1})
    report.refresh_from_db()
    assert report.customer_name == "李护士长"
    customer_signatures = Signature.objects.filter(
        content_type=ContentType.objects.get_for_model(ServiceReport),
        object_id=str(report.pk),
        signer_kind=SignerKind.CUSTOMER,
    )
    assert customer_signatures.count() == 1
    work_order.refresh_from_db()
    assert work_order.status == WorkOrderStatus.CLOSED
