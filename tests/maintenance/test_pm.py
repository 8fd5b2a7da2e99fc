"""Preventive maintenance (定期维护保养): the plan's first due date, the daily job opening the
PM work order once within the lead time, completion advancing the plan, cancellation
re-opening the visit, the overdue list and the completion rate with life-support devices."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.core.errors import InvalidInputError
from medservice.maintenance.choices import PmIntervalSource, PmVisitStatus
from medservice.maintenance.models import PmPlan, PmVisit
from medservice.maintenance.services import (
    pm_completion_rate,
    pm_plan_create,
    pm_plans_overdue,
    pm_work_orders_create,
)
from medservice.work_orders.choices import (
    Route,
    ServiceResult,
    WorkOrderKind,
    WorkOrderSource,
    WorkOrderStatus,
)
from medservice.work_orders.models import WorkOrder
from medservice.work_orders.onsite import screening_record, work_start
from medservice.work_orders.services import (
    work_order_assess,
    work_order_cancel,
    work_order_complete,
    work_order_plan,
)
from tests.installed_base.factories import ContractFactory
from tests.maintenance.conftest import PASSWORD
from tests.maintenance.factories import PmPlanFactory, PmVisitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(manager, ventilator):
    return pm_plan_create(actor=manager, data={"device": ventilator})


def test_a_plan_from_the_model_is_due_one_interval_after_acceptance(plan, ventilator):
    # given the ventilator accepted on 2026-03-10, its model maintained every 180 days
    # then the plan is due on 2026-09-06 and the device shows the same date
    assert plan.interval_source == PmIntervalSource.MODEL
    assert plan.interval_days == 180
    assert plan.next_due_on == datetime.date(2026, 9, 6)
    ventilator.refresh_from_db()
    assert ventilator.next_pm_due_on == datetime.date(2026, 9, 6)


def test_a_contract_interval_needs_a_contract_that_includes_pm_and_covers_the_device(
    manager, ventilator, hospital_a
):
    parts_only = ContractFactory(organization=hospital_a, kind="parts_only", devices=[ventilator])
    with pytest.raises(InvalidInputError) as refused:
        pm_plan_create(actor=manager, data={
            "device": ventilator, "interval_source": "contract", "contract": parts_only,
            "interval_days": 90,
        })  # fmt: skip
    assert refused.value.fields == {
        "contract": [
            f"Contract {parts_only.number} (Parts only) does not include preventive maintenance."
        ]
    }
    assert not PmPlan.objects.exists()
    full = ContractFactory(organization=hospital_a, kind="full_service", devices=[ventilator])
    plan = pm_plan_create(actor=manager, data={
        "device": ventilator, "interval_source": "contract", "contract": full,
        "interval_days": 90,
    })  # fmt: skip
    assert (plan.interval_days, plan.next_due_on) == (90, datetime.date(2026, 6, 8))


def test_the_job_opens_the_pm_work_order_once_within_the_lead_time(plan, ventilator):
    # given the plan due on 2026-09-06 and a 14-day lead
    # when the job runs on 2026-08-22 then nothing is due yet
    assert pm_work_orders_create(today=datetime.date(2026, 8, 22)) == 0
    # when it runs on 2026-08-23, then twice
    assert pm_work_orders_create(today=datetime.date(2026, 8, 23)) == 1
    assert pm_work_orders_create(today=datetime.date(2026, 8, 23)) == 0
    assert pm_work_orders_create(today=datetime.date(2026, 8, 24)) == 0
    # then one visit, one PM work order with the model's checklist
    visit = PmVisit.objects.get()
    assert (visit.due_on, visit.status) == (datetime.date(2026, 9, 6), PmVisitStatus.ORDERED)
    work_order = WorkOrder.objects.get()
    assert visit.work_order == work_order
    assert work_order.kind == WorkOrderKind.PREVENTIVE_MAINTENANCE
    assert work_order.source == WorkOrderSource.PM_PLAN
    assert work_order.device == ventilator
    assert work_order.problem == (
        "Preventive maintenance due on 2026-09-06 (every 180 days). Checklist: 潮气量; 报警功能."
    )


def test_the_lead_time_is_a_setting(plan, settings):
    settings.MAINTENANCE_PM_LEAD_DAYS = 30
    assert pm_work_orders_create(today=datetime.date(2026, 8, 7)) == 1


def _complete(work_order, engineer):
    """The PM done remotely for brevity: assessed (covered by the contract), planned, started,
    screened, completed with the engineer's password."""
    work_order = work_order_assess(actor=engineer, work_order=work_order, route=Route.REMOTE,
                                   assessment="例行保养")  # fmt: skip
    work_order = work_order_plan(actor=engineer, work_order=work_order, plan="按清单保养")
    work_order = work_start(actor=engineer, work_order=work_order)
    work_order = screening_record(actor=engineer, work_order=work_order, is_complaint=False,
                                  may_be_reportable=False)  # fmt: skip
    return work_order_complete(actor=engineer, work_order=work_order,
                               result=ServiceResult.RETURNED_TO_SERVICE, password=PASSWORD)  # fmt: skip


def test_completing_the_pm_work_order_closes_the_visit_and_advances_the_plan(
    plan, ventilator, engineer, hospital_a, django_capture_on_commit_callbacks
):
    # given the ventilator's PM covered by a full-service contract and its work order open
    ContractFactory(organization=hospital_a, kind="full_service", devices=[ventilator])
    pm_work_orders_create(today=datetime.date(2026, 8, 23))
    work_order = WorkOrder.objects.get()
    # when the engineer completes it on 2026-08-30
    with freeze_time("2026-08-30 10:00:00+08:00"), django_capture_on_commit_callbacks(execute=True):
        _complete(work_order, engineer)
    # then the visit is done that day and the next PM is due 180 days later
    visit = PmVisit.objects.get()
    assert (visit.status, visit.done_on) == (PmVisitStatus.DONE, datetime.date(2026, 8, 30))
    plan.refresh_from_db()
    assert plan.last_done_on == datetime.date(2026, 8, 30)
    assert plan.next_due_on == datetime.date(2027, 2, 26)
    ventilator.refresh_from_db()
    assert ventilator.next_pm_due_on == datetime.date(2027, 2, 26)
    # and the job opens nothing more until the new due date comes near
    assert pm_work_orders_create(today=datetime.date(2026, 9, 6)) == 0
    assert pm_work_orders_create(today=datetime.date(2027, 2, 12)) == 1


def test_a_cancelled_pm_work_order_reopens_the_visit_and_the_next_run_recreates_it(
    plan, manager, django_capture_on_commit_callbacks
):
    pm_work_orders_create(today=datetime.date(2026, 8, 23))
    first = WorkOrder.objects.get()
    # when the manager cancels it
    with django_capture_on_commit_callbacks(execute=True):
        work_order_cancel(actor=manager, work_order=first, reason="客户设备停用两周")
    # then the visit is due again, without a work order
    visit = PmVisit.objects.get()
    assert (visit.status, visit.work_order, visit.reopened_count) == (PmVisitStatus.OPEN, None, 1)
    # and the next run opens a new PM work order for the same visit
    assert pm_work_orders_create(today=datetime.date(2026, 8, 24)) == 1
    visit.refresh_from_db()
    assert visit.status == PmVisitStatus.ORDERED
    assert visit.work_order != first
    assert WorkOrder.objects.filter(kind="preventive_maintenance").count() == 2


def test_the_job_reopens_a_visit_whose_work_order_was_cancelled_without_the_event(plan):
    # given the work order cancelled while the receiver was not listening (e.g. an import)
    pm_work_orders_create(today=datetime.date(2026, 8, 23))
    WorkOrder.objects.update(status=WorkOrderStatus.CANCELLED)
    # when the job runs again then it recreates the work order
    assert pm_work_orders_create(today=datetime.date(2026, 8, 24)) == 1
    assert PmVisit.objects.get().work_order.status == WorkOrderStatus.NEW


def test_the_overdue_list_holds_active_plans_past_their_due_date(ventilator, monitor):
    late = PmPlanFactory(device=ventilator, next_due_on=datetime.date(2026, 6, 1))
    PmPlanFactory(device=monitor, next_due_on=datetime.date(2026, 7, 1))
    PmPlanFactory(next_due_on=datetime.date(2026, 5, 1), active=False)
    overdue = pm_plans_overdue(PmPlan.objects.all(), today=datetime.date(2026, 6, 15))
    assert list(overdue) == [late]


def test_the_completion_rate_flags_life_support_devices_not_all_maintained(ventilator, monitor):
    # given in June: two ventilator (life support) visits, one done; two monitor visits, done
    ventilator_plan = PmPlanFactory(device=ventilator)
    monitor_plan = PmPlanFactory(device=monitor)
    june = datetime.date(2026, 6, 1)
    PmVisitFactory(plan=ventilator_plan, due_on=june, status="done", done_on=june)
    PmVisitFactory(plan=ventilator_plan, due_on=datetime.date(2026, 6, 20))
    PmVisitFactory(plan=monitor_plan, due_on=june, status="done", done_on=june)
    PmVisitFactory(plan=monitor_plan, due_on=datetime.date(2026, 6, 30), status="done",
                   done_on=datetime.date(2026, 7, 2))  # fmt: skip
    PmVisitFactory(plan=monitor_plan, due_on=datetime.date(2026, 7, 1))  # outside the period
    # when the rate of June is asked
    result = pm_completion_rate(
        PmVisit.objects.all(), start=datetime.date(2026, 6, 1), end=datetime.date(2026, 6, 30)
    )
    # then 3 of 4 done (75%), life support 1 of 2 (50%) and flagged
    assert (result.due, result.done, result.rate) == (4, 3, 75.0)
    assert (result.life_support_due, result.life_support_done) == (2, 1)
    assert result.life_support_rate == 50.0
    assert result.life_support_flagged is True
    assert [row["due_on"] for row in result.life_support_missed] == ["2026-06-20"]
    # and May, with nothing due, has no rate and no flag
    may = pm_completion_rate(
        PmVisit.objects.all(), start=datetime.date(2026, 5, 1), end=datetime.date(2026, 5, 31)
    )
    assert (may.due, may.rate, may.life_support_flagged) == (0, None, False)
