"""The work itself (故障诊断, 更换备件, 验收测试): diagnosis against the model's fault-code
tree, parts consumed from the engineer's stock through the ledger, time, the acceptance test
with calibrated reference instruments, the complaint screening and remote sessions."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from freezegun import freeze_time

from medservice.core.errors import DomainError, InvalidInputError, InvalidTransitionError
from medservice.inventory.choices import Condition
from medservice.inventory.selectors import trace_device
from medservice.inventory.services import InsufficientStockError, LotNotIssuableError, on_hand
from medservice.work_orders.choices import RemoteOutcome, Route, TimeKind, WorkOrderKind
from medservice.work_orders.events import work_order_quality_flagged
from medservice.work_orders.models import PartUsage, RemoteSession, TestResult, TimeEntry
from medservice.work_orders.onsite import (
    ReferenceInstrumentError,
    TestInput,
    acceptance_test_state,
    diagnosis_record,
    parts_record,
    remote_session_record,
    screening_record,
    test_record,
    time_record,
    work_start,
)
from tests.catalog.factories import FaultCodeFactory, ProductLineFactory
from tests.installed_base.factories import HoldFactory
from tests.inventory.factories import LotPartFactory, stock_in
from tests.work_orders.test_onsite_support import expired_meter, in_progress, ready

pytestmark = pytest.mark.django_db

NOW = "2026-11-27 10:00:00+08:00"


@pytest.fixture
def working(engineer, device):
    with freeze_time(NOW):
        return in_progress(engineer, device)


def items_of(device):
    return list(device.device_model.acceptance_items.order_by("position"))


# --- Diagnosis ----------------------------------------------------------------------------------


@freeze_time(NOW)
def test_given_a_code_of_the_models_tree_when_diagnosed_then_it_is_on_the_work_order(
    engineer, working, fault_code
):
    work_order = diagnosis_record(
        actor=engineer, work_order=working, symptom="按电源键无反应", fault_code=fault_code,
        root_cause="电源板保险丝熔断", actions_taken="更换电源板", guidance="请勿使用非原装电源线",
    )  # fmt: skip
    assert (work_order.symptom, work_order.fault_code, work_order.guidance) == (
        "按电源键无反应", fault_code, "请勿使用非原装电源线",
    )  # fmt: skip


def test_given_a_code_of_another_product_line_when_diagnosed_then_the_field_is_named(
    engineer, working
):
    pumps = ProductLineFactory(name="输液泵")
    foreign = FaultCodeFactory(product_line=pumps, code="OCC-01", name="管路堵塞")
    with pytest.raises(InvalidInputError) as refused:
        diagnosis_record(actor=engineer, work_order=working, symptom="报警", fault_code=foreign)
    assert refused.value.fields["fault_code"] == [
        "OCC-01 管路堵塞 is not in the fault-code tree of 多参数监护仪 KM-8."
    ]


def test_given_no_symptom_when_diagnosed_then_refused(engineer, working):
    with pytest.raises(InvalidInputError) as refused:
        diagnosis_record(actor=engineer, work_order=working, symptom="  ")
    assert list(refused.value.fields) == ["symptom"]


# --- Parts --------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_given_three_boards_in_the_van_when_one_is_fitted_and_one_removed_then_stock_and_trace_follow(
    engineer, working, van, power_board, device
):
    usages = parts_record(
        actor=engineer, work_order=working,
        fitted=[(power_board, Decimal(1), None)], removed=[(power_board, Decimal(1), "")],
    )  # fmt: skip
    assert on_hand(part=power_board, location=van) == Decimal(2)
    assert on_hand(part=power_board, location=van, condition=Condition.DEFECTIVE) == Decimal(1)
    rows = list(PartUsage.objects.filter(work_order=working).order_by("pk"))
    assert [(row.fitted, row.quantity, row.unit_cost) for row in rows] == [
        (True, Decimal(1), Decimal("320.00")),
        (False, Decimal(1), Decimal("320.00")),
    ]
    assert all(row.movement_id is not None for row in rows) and len(usages) == 2
    trace = trace_device(device, engineer)
    assert sorted(item.reference for item in trace) == [working.number, working.number]


@freeze_time(NOW)
def test_given_the_same_submission_key_when_parts_are_sent_twice_then_they_are_consumed_once(
    engineer, working, van, power_board
):
    for _attempt in range(2):
        parts_record(
            actor=engineer, work_order=working, fitted=[(power_board, Decimal(1), None)],
            submission_key="phone-7f3a",
        )  # fmt: skip
    assert on_hand(part=power_board, location=van) == Decimal(2)
    assert PartUsage.objects.filter(work_order=working).count() == 1


@freeze_time(NOW)
def test_given_a_lot_on_hold_when_fitted_then_refused_and_nothing_moves(
    engineer, working, van, monitor_model
):
    battery = LotPartFactory(number="BAT-8", name_zh="锂电池")
    lot = stock_in(van, battery, 2, lot_number="B2611", expiry_date=datetime.date(2028, 1, 1))
    lot.on_hold, lot.hold_reason = True, "来料检验不合格"
    lot.save()
    with pytest.raises(LotNotIssuableError) as refused:
        parts_record(actor=engineer, work_order=working, fitted=[(battery, Decimal(1), lot)])
    assert "来料检验不合格" in refused.value.message
    assert on_hand(part=battery, location=van) == Decimal(2)
    assert not PartUsage.objects.filter(work_order=working).exists()


@freeze_time(NOW)
def test_given_more_than_the_van_holds_when_fitted_then_the_shortfall_is_refused(
    engineer, working, power_board
):
    with pytest.raises(InsufficientStockError):
        parts_record(actor=engineer, work_order=working, fitted=[(power_board, Decimal(4), None)])


@freeze_time(NOW)
def test_given_an_evidence_hold_when_parts_or_tests_are_recorded_then_refused(
    engineer, working, van, power_board, device
):
    HoldFactory(scope="device", kind="evidence", device_model=device.device_model, device=device,
                batch_number="", reason="不良事件调查")  # fmt: skip
    with pytest.raises(DomainError) as parts_refused:
        parts_record(actor=engineer, work_order=working, fitted=[(power_board, Decimal(1), None)])
    assert list(parts_refused.value.fields) == ["device"]
    with pytest.raises(DomainError) as test_refused:
        test_record(actor=engineer, work_order=working, results=[
            TestInput(items_of(device)[1], passed=True)])  # fmt: skip
    assert "kept as evidence (" in test_refused.value.message
    assert on_hand(part=power_board, location=van) == Decimal(3)


def test_given_a_zero_quantity_when_recorded_then_the_row_is_named(engineer, working, power_board):
    with pytest.raises(InvalidInputError) as refused:
        parts_record(actor=engineer, work_order=working, fitted=[(power_board, Decimal(0), None)])
    assert list(refused.value.fields) == ["fitted.1.quantity"]


# --- Time ---------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_given_hours_within_a_day_when_recorded_then_kept_and_the_future_is_refused(
    engineer, working
):
    entry = time_record(actor=engineer, work_order=working, kind=TimeKind.LABOUR,
                        day=datetime.date(2026, 11, 27), hours=Decimal("1.5"))  # fmt: skip
    assert (entry.engineer, entry.hours) == (engineer, Decimal("1.5"))
    with pytest.raises(InvalidInputError) as refused:
        time_record(actor=engineer, work_order=working, kind=TimeKind.TRAVEL,
                    day=datetime.date(2026, 11, 28), hours=Decimal(25))  # fmt: skip
    assert sorted(refused.value.fields) == ["day", "hours"]
    with pytest.raises(InvalidInputError) as too_long:
        time_record(actor=engineer, work_order=working, kind=TimeKind.TRAVEL,
                    day=datetime.date(2026, 11, 27), hours=Decimal(23))  # fmt: skip
    assert too_long.value.fields["hours"] == [
        "1.5 hours are already recorded for this person on 2026-11-27: a day has 24."
    ]
    assert TimeEntry.objects.filter(work_order=working).count() == 1


# --- Acceptance test ----------------------------------------------------------------------------


@freeze_time(NOW)
def test_given_the_tolerance_when_measured_then_pass_is_computed(
    engineer, working, device, simulator
):
    heart_rate, alarms = items_of(device)
    test_record(actor=engineer, work_order=working, results=[
        TestInput(heart_rate, measured_value=Decimal("59.0"), instrument=simulator),
        TestInput(alarms, passed=True),
    ])  # fmt: skip
    result = TestResult.objects.get(work_order=working, item=heart_rate)
    assert (result.passed, result.instrument_calibrated_on, result.instrument_calibration_due) == (
        True, datetime.date(2026, 6, 1), datetime.date(2027, 6, 1),
    )  # fmt: skip
    assert acceptance_test_state(working).passed is True
    test_record(actor=engineer, work_order=working, results=[
        TestInput(heart_rate, measured_value=Decimal("61.5"), instrument=simulator)])  # fmt: skip
    state = acceptance_test_state(working)
    assert [(row.item.name, row.measured_value, row.passed) for row in state.failed] == [
        ("心率（心电模拟器 60 bpm）", Decimal("61.5"), False)
    ]
    assert TestResult.objects.filter(work_order=working).count() == 2


@freeze_time(NOW)
def test_given_an_expired_instrument_when_measured_then_refused_naming_the_row(
    engineer, working, device
):
    heart_rate, alarms = items_of(device)
    with pytest.raises(ReferenceInstrumentError) as refused:
        test_record(actor=engineer, work_order=working, results=[
            TestInput(alarms, passed=True),
            TestInput(heart_rate, measured_value=Decimal(60), instrument=expired_meter()),
        ])  # fmt: skip
    assert refused.value.status == 409
    assert refused.value.fields == {
        "results.2.instrument": ["The calibration of SIM-OLD 旧心电模拟器 expired on 2026-10-01."]
    }
    assert not TestResult.objects.filter(work_order=working).exists()


def test_given_a_numeric_check_without_value_or_instrument_when_recorded_then_both_are_named(
    engineer, working, device
):
    heart_rate, alarms = items_of(device)
    with pytest.raises(InvalidInputError) as refused:
        test_record(actor=engineer, work_order=working,
                    results=[TestInput(heart_rate), TestInput(alarms)])  # fmt: skip
    assert sorted(refused.value.fields) == [
        "results.1.instrument", "results.1.measured_value", "results.2.passed",
    ]  # fmt: skip


# --- Screening ----------------------------------------------------------------------------------


def test_given_a_complaint_when_screened_then_the_quality_event_fires_once(
    engineer, working, django_capture_on_commit_callbacks
):
    received = []

    def receiver(sender, work_order, **kwargs):
        received.append(work_order.number)

    work_order_quality_flagged.connect(receiver, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            work_order = screening_record(actor=engineer, work_order=working, is_complaint=True,
                                          may_be_reportable=False, note="客户投诉反复死机")  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            screening_record(actor=engineer, work_order=working, is_complaint=True,
                             may_be_reportable=True)  # fmt: skip
    finally:
        work_order_quality_flagged.disconnect(receiver)
    assert received == [working.number]
    assert (work_order.is_complaint, work_order.screened_by) == (True, engineer)


def test_given_no_answers_when_screened_then_both_fields_are_named(engineer, working):
    with pytest.raises(InvalidInputError) as refused:
        screening_record(actor=engineer, work_order=working, is_complaint=None,
                         may_be_reportable=None)  # fmt: skip
    assert sorted(refused.value.fields) == ["is_complaint", "may_be_reportable"]


def test_given_a_no_when_screened_then_nothing_is_flagged(
    engineer, working, django_capture_on_commit_callbacks
):
    received = []
    work_order_quality_flagged.connect(lambda **kwargs: received.append(1), weak=False,
                                       dispatch_uid="onsite-no")  # fmt: skip
    try:
        with django_capture_on_commit_callbacks(execute=True):
            screening_record(actor=engineer, work_order=working, is_complaint=False,
                             may_be_reportable=False)  # fmt: skip
    finally:
        work_order_quality_flagged.disconnect(dispatch_uid="onsite-no")
    assert received == []


# --- Remote support -----------------------------------------------------------------------------


@freeze_time(NOW)
def test_given_remote_support_when_a_session_is_recorded_then_it_is_kept(engineer, device):
    work_order = work_start(
        actor=engineer, work_order=ready(engineer, device, route=Route.REMOTE,
                                         kind=WorkOrderKind.REMOTE_SUPPORT),
    )  # fmt: skip
    session = remote_session_record(
        actor=engineer, work_order=work_order, tool="向日葵远程",
        started_at=datetime.datetime.fromisoformat("2026-11-27T09:00:00+08:00"),
        duration_minutes=25, outcome=RemoteOutcome.SOLVED, notes="恢复出厂设置",
    )  # fmt: skip
    assert RemoteSession.objects.get(pk=session.pk).duration_minutes == 25


def test_given_a_workshop_repair_when_a_remote_session_is_recorded_then_refused(engineer, working):
    with pytest.raises(InvalidTransitionError):
        remote_session_record(
            actor=engineer, work_order=working, tool="向日葵",
            started_at=datetime.datetime.fromisoformat("2026-11-27T09:00:00+08:00"),
            duration_minutes=5, outcome=RemoteOutcome.SOLVED,
        )  # fmt: skip
