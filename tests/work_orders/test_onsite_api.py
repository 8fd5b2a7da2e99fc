"""The on-site actions over the API: POST /api/v1/work-orders/{id}/<action>/."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.inventory.services import on_hand
from medservice.work_orders.models import PartUsage, TestResult
from tests.factories import user_with_role
from tests.work_orders.test_onsite_support import PNG, expired_meter, in_progress, ready

pytestmark = pytest.mark.django_db

NOW = "2026-11-27 10:00:00+08:00"


@pytest.fixture
def working(engineer, device):
    with freeze_time(NOW):
        return in_progress(engineer, device)


def url(work_order, action: str) -> str:
    return f"/api/v1/work-orders/{work_order.pk}/{action}/"


def checks(device):
    return list(device.device_model.acceptance_items.order_by("position"))


@freeze_time(NOW)
def test_given_a_measured_value_in_tolerance_when_posted_then_the_test_passes(
    api, engineer, working, device, simulator
):
    heart_rate, alarms = checks(device)
    response = api.as_user(engineer).post(url(working, "record-test"), {"results": [
        {"item": heart_rate.pk, "measured_value": "59.0", "instrument": simulator.pk},
        {"item": alarms.pk, "passed": True},
    ]}, format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["number"] == working.number
    assert sorted(
        TestResult.objects.filter(work_order=working).values_list("item__position", "passed")
    ) == [(1, True), (2, True)]


@freeze_time(NOW)
def test_given_missing_values_when_posted_then_400_names_the_fields(api, engineer, working, device):
    heart_rate, _alarms = checks(device)
    response = api.as_user(engineer).post(
        url(working, "record-test"), {"results": [{"item": heart_rate.pk}]}, format="json"
    )
    assert response.status_code == 400
    assert sorted(response.json()["error"]["fields"]) == [
        "results.1.instrument", "results.1.measured_value",
    ]  # fmt: skip


@freeze_time(NOW)
def test_given_an_expired_instrument_when_posted_then_409_names_it(api, engineer, working, device):
    heart_rate, _alarms = checks(device)
    response = api.as_user(engineer).post(url(working, "record-test"), {"results": [
        {"item": heart_rate.pk, "measured_value": "60", "instrument": expired_meter().pk},
    ]}, format="json")  # fmt: skip
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "results.1.instrument": ["The calibration of SIM-OLD 旧心电模拟器 expired on 2026-10-01."]
    }


@freeze_time(NOW)
def test_given_the_same_key_twice_when_parts_are_posted_then_stock_moves_once(
    api, engineer, working, van, power_board
):
    client = api.as_user(engineer)
    body = {"fitted": [{"part": power_board.pk, "quantity": "1"}], "submission_key": "k-1"}
    for _attempt in range(2):
        assert client.post(url(working, "record-parts"), body, format="json").status_code == 200
    assert on_hand(part=power_board, location=van) == Decimal(2)
    assert PartUsage.objects.filter(work_order=working).count() == 1


@freeze_time(NOW)
def test_given_no_answers_when_screening_is_posted_then_400_names_both(api, engineer, working):
    response = api.as_user(engineer).post(url(working, "screen"), {}, format="json")
    assert response.status_code == 400
    assert sorted(response.json()["error"]["fields"]) == ["is_complaint", "may_be_reportable"]


@freeze_time(NOW)
def test_given_a_customer_of_another_hospital_when_posting_then_404(api, working, hospital_b):
    stranger = user_with_role(Role.CUSTOMER_USER, hospital_b, username="b_nurse")
    response = api.as_user(stranger).post(
        url(working, "record-diagnosis"), {"symptom": "黑屏"}, format="json"
    )
    assert response.status_code == 404


@freeze_time(NOW)
def test_given_a_diagnosis_when_posted_then_it_is_in_the_answer(api, engineer, working, fault_code):
    response = api.as_user(engineer).post(url(working, "record-diagnosis"), {
        "symptom": "黑屏", "fault_code": fault_code.pk, "actions_taken": "更换电源板",
    }, format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    assert (response.json()["symptom"], response.json()["fault_code"]) == ("黑屏", fault_code.pk)


@freeze_time(NOW)
def test_given_photos_when_the_unit_is_received_over_the_api_then_they_are_kept(
    api, engineer, device, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    work_order = ready(engineer, device)
    photos = []
    for name in ("a.png", "b.png"):
        item = io.BytesIO(PNG)
        item.name = name
        photos.append(item)
    response = api.as_user(engineer).post(
        url(work_order, "receive-unit"),
        {"condition": "完好", "accessories": "电源线", "photos": photos}, format="multipart",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "in_workshop"
    assert work_order.files.count() == 2
    started = api.as_user(engineer).post(url(work_order, "start"), {}, format="json")
    assert started.json()["status"] == "in_progress"


@freeze_time(NOW)
def test_given_time_and_the_override_when_posted_then_the_roles_decide(
    api, engineer, service_manager, working
):
    time = api.as_user(engineer).post(url(working, "record-time"), {
        "kind": "labour", "day": "2026-11-27", "hours": "2.5"}, format="json")  # fmt: skip
    assert time.status_code == 200, time.json()
    refused = api.as_user(engineer).post(url(working, "override-test"), {"reason": "可以"},
                                         format="json")  # fmt: skip
    assert refused.status_code == 403
    nothing_failed = api.as_user(service_manager).post(
        url(working, "override-test"), {"reason": "可以"}, format="json"
    )
    assert nothing_failed.status_code == 409
