"""The acceptance test blocks completion (验收测试不合格不得交付) until the service manager
overrides the failed item with a reason; the screening must be decided too."""

from __future__ import annotations

from decimal import Decimal

import pytest
from freezegun import freeze_time

from medservice.core.errors import InvalidInputError, InvalidTransitionError, PermissionDeniedError
from medservice.work_orders.choices import ServiceResult, WorkOrderStatus
from medservice.work_orders.onsite import (
    TestInput,
    diagnosis_record,
    screening_record,
    test_override,
    test_record,
)
from medservice.work_orders.services import completion_refusals, work_order_complete
from tests.work_orders.conftest import PASSWORD
from tests.work_orders.test_onsite_support import in_progress

pytestmark = pytest.mark.django_db

NOW = "2026-11-27 10:00:00+08:00"


@pytest.fixture
def failed(engineer, device, simulator):
    """Repaired in the workshop, diagnosed and screened, the heart rate 1.5 bpm off."""
    with freeze_time(NOW):
        work_order = in_progress(engineer, device)
        work_order = diagnosis_record(actor=engineer, work_order=work_order, symptom="无法开机",
                                      actions_taken="更换电源板")  # fmt: skip
        heart_rate, alarms = device.device_model.acceptance_items.order_by("position")
        test_record(actor=engineer, work_order=work_order, results=[
            TestInput(heart_rate, measured_value=Decimal("61.5"), instrument=simulator),
            TestInput(alarms, passed=True),
        ])  # fmt: skip
        return screening_record(actor=engineer, work_order=work_order, is_complaint=False,
                                may_be_reportable=False)  # fmt: skip


@freeze_time(NOW)
def test_given_a_failed_item_when_completed_then_refused_409_naming_the_tests(
    api, engineer, failed
):
    response = api.as_user(engineer).post(
        f"/api/v1/work-orders/{failed.pk}/complete/",
        {"result": ServiceResult.RETURNED_TO_SERVICE, "password": PASSWORD}, format="json",
    )  # fmt: skip
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["fields"]["tests"] == [
        "Failed acceptance-test items block completion: 心率（心电模拟器 60 bpm）. Repair and test "
        "again, or ask the service manager to override with a reason."
    ]
    failed.refresh_from_db()
    assert failed.status == WorkOrderStatus.IN_PROGRESS


@freeze_time(NOW)
def test_given_the_managers_override_with_a_reason_when_completed_then_it_passes(
    engineer, service_manager, failed
):
    with pytest.raises(InvalidInputError) as no_reason:
        test_override(actor=service_manager, work_order=failed, reason=" ")
    assert list(no_reason.value.fields) == ["reason"]
    work_order = test_override(actor=service_manager, work_order=failed,
                               reason="偏差在临床可接受范围，已告知科室")  # fmt: skip
    assert (work_order.test_override_by, work_order.test_override_reason) == (
        service_manager, "偏差在临床可接受范围，已告知科室",
    )  # fmt: skip
    assert completion_refusals(work_order) == {}
    work_order = work_order_complete(actor=engineer, work_order=work_order,
                                     result=ServiceResult.RETURNED_TO_SERVICE, password=PASSWORD)  # fmt: skip
    assert work_order.status == WorkOrderStatus.COMPLETED


@freeze_time(NOW)
def test_given_an_engineer_when_overriding_then_refused(engineer, failed):
    with pytest.raises(PermissionDeniedError):
        test_override(actor=engineer, work_order=failed, reason="我觉得可以")


@freeze_time(NOW)
def test_given_no_failed_item_when_overriding_then_refused(
    engineer, service_manager, failed, simulator, device
):
    heart_rate = device.device_model.acceptance_items.get(position=1)
    test_record(actor=engineer, work_order=failed, results=[
        TestInput(heart_rate, measured_value=Decimal("59.0"), instrument=simulator)])  # fmt: skip
    with pytest.raises(InvalidTransitionError):
        test_override(actor=service_manager, work_order=failed, reason="无需")


@freeze_time(NOW)
def test_given_an_override_when_a_new_failure_is_recorded_then_the_override_is_undone(
    engineer, service_manager, failed, simulator, device
):
    test_override(actor=service_manager, work_order=failed, reason="偏差可接受")
    heart_rate = device.device_model.acceptance_items.get(position=1)
    test_record(actor=engineer, work_order=failed, results=[
        TestInput(heart_rate, measured_value=Decimal("63"), instrument=simulator)])  # fmt: skip
    failed.refresh_from_db()
    assert (failed.test_override_by, failed.test_override_reason) == (None, "")
    assert list(completion_refusals(failed)) == ["tests"]


@freeze_time(NOW)
def test_given_no_screening_when_completed_then_refused(engineer, device, simulator):
    work_order = in_progress(engineer, device)
    work_order = diagnosis_record(actor=engineer, work_order=work_order, symptom="无法开机",
                                  actions_taken="更换电源板")  # fmt: skip
    heart_rate, alarms = device.device_model.acceptance_items.order_by("position")
    test_record(actor=engineer, work_order=work_order, results=[
        TestInput(heart_rate, measured_value=Decimal("60.4"), instrument=simulator),
        TestInput(alarms, passed=True),
    ])  # fmt: skip
    with pytest.raises(InvalidTransitionError) as refused:
        work_order_complete(actor=engineer, work_order=work_order,
                            result=ServiceResult.RETURNED_TO_SERVICE, password=PASSWORD)  # fmt: skip
    assert list(refused.value.fields) == ["screening"]
