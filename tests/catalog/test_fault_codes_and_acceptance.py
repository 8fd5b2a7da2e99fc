"""Fault-code trees stay within one product line and never loop; acceptance-test checks are
either measured (expected value ± tolerance) or pass / fail."""

from __future__ import annotations

from decimal import Decimal

import pytest

from medservice.catalog.models import AcceptanceTestItem, FaultCode, ProductLine
from tests.catalog.factories import (
    AcceptanceTestItemFactory,
    DeviceModelFactory,
    FaultCodeFactory,
    ProductLineFactory,
)


@pytest.fixture
def monitors(db):
    return ProductLineFactory(name="病人监护仪")


@pytest.mark.django_db
def test_quality_staff_build_a_fault_code_tree_through_the_api(api, quality_staff, monitors):
    client = api.as_user(quality_staff)
    line = client.post(
        "/api/v1/product-lines/",
        {"name": "呼吸机", "category": "呼吸、麻醉和急救器械"},
        format="json",
    )
    assert line.status_code == 201
    top = client.post(
        "/api/v1/fault-codes/",
        {"product_line": line.json()["id"], "code": "VENT-02", "name": "传感器故障"},
        format="json",
    )
    child = client.post(
        "/api/v1/fault-codes/",
        {
            "product_line": line.json()["id"],
            "parent": top.json()["id"],
            "code": "VENT-02-01",
            "name": "氧浓度传感器失效",
        },
        format="json",
    )

    assert (top.status_code, child.status_code) == (201, 201)
    children = client.get("/api/v1/fault-codes/", {"parent": top.json()["id"]}).json()
    assert [row["code"] for row in children["results"]] == ["VENT-02-01"]
    tops = client.get(
        "/api/v1/fault-codes/", {"product_line": line.json()["id"], "top_level": "true"}
    ).json()
    assert [row["code"] for row in tops["results"]] == ["VENT-02"]


@pytest.mark.django_db
def test_a_parent_code_from_another_line_is_refused_on_the_parent_field(
    api, quality_staff, monitors
):
    pumps_code = FaultCodeFactory(product_line=ProductLineFactory(name="输液泵"), code="PUMP-01")

    response = api.as_user(quality_staff).post(
        "/api/v1/fault-codes/",
        {"product_line": monitors.pk, "parent": pumps_code.pk, "code": "MON-01-01", "name": "黑屏"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "parent": [f"The parent code {pumps_code} belongs to another product line."]
    }
    assert not FaultCode.objects.filter(code="MON-01-01").exists()


@pytest.mark.django_db
def test_a_code_cannot_be_moved_below_its_own_child_in_the_ui(as_quality, monitors):
    top = FaultCodeFactory(product_line=monitors, code="MON-01", name="显示故障")
    child = FaultCodeFactory(product_line=monitors, code="MON-01-01", name="黑屏", parent=top)

    response = as_quality.post(
        f"/catalog/fault-codes/{top.pk}/edit/",
        {
            "product_line": monitors.pk,
            "parent": child.pk,
            "code": "MON-01",
            "name": "显示故障",
            "version": 1,
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["parent"] == ["A fault code cannot sit below itself."]
    top.refresh_from_db()
    assert top.parent_id is None


@pytest.mark.django_db
def test_a_duplicate_code_in_one_line_is_refused(api, quality_staff, monitors):
    FaultCodeFactory(product_line=monitors, code="MON-01")
    response = api.as_user(quality_staff).post(
        "/api/v1/fault-codes/",
        {"product_line": monitors.pk, "code": "MON-01", "name": "重复"},
        format="json",
    )
    assert response.status_code == 400
    assert FaultCode.objects.filter(code="MON-01").count() == 1


@pytest.mark.django_db
def test_quality_staff_keep_a_models_acceptance_checklist_through_the_api(api, quality_staff):
    monitor = DeviceModelFactory(model_spec="KD-M8000")
    client = api.as_user(quality_staff)

    measured = client.post(
        "/api/v1/acceptance-test-items/",
        {
            "device_model": monitor.pk,
            "position": 1,
            "name": "无创血压静态压力（200 mmHg）",
            "expected_value": "200",
            "tolerance": "3",
            "unit": "mmHg",
        },
        format="json",
    )
    alarm = client.post(
        "/api/v1/acceptance-test-items/",
        {"device_model": monitor.pk, "position": 2, "name": "报警功能", "pass_fail_only": True},
        format="json",
    )

    assert (measured.status_code, alarm.status_code) == (201, 201)
    assert {key: measured.json()[key] for key in ("expected_value", "tolerance", "unit")} == {
        "expected_value": "200.0000",
        "tolerance": "3.0000",
        "unit": "mmHg",
    }
    listed = client.get("/api/v1/acceptance-test-items/", {"device_model": monitor.pk}).json()
    assert [row["name"] for row in listed["results"]] == [
        "无创血压静态压力（200 mmHg）",
        "报警功能",
    ]


@pytest.mark.django_db
def test_acceptance_checks_that_mix_up_measured_and_pass_fail_are_refused_by_field(
    api, quality_staff
):
    monitor = DeviceModelFactory()
    client = api.as_user(quality_staff)

    pass_fail_with_value = client.post(
        "/api/v1/acceptance-test-items/",
        {
            "device_model": monitor.pk,
            "name": "报警功能",
            "pass_fail_only": True,
            "expected_value": "1",
        },
        format="json",
    )
    measured_without_value = client.post(
        "/api/v1/acceptance-test-items/",
        {"device_model": monitor.pk, "name": "心率", "tolerance": "-1"},
        format="json",
    )

    assert pass_fail_with_value.json()["error"]["fields"] == {
        "expected_value": ["A pass / fail check has no expected value."]
    }
    assert measured_without_value.json()["error"]["fields"] == {
        "expected_value": ["Enter the expected value, or mark the check as pass / fail only."],
        "tolerance": ["The tolerance is a ± amount and cannot be negative."],
    }
    assert not AcceptanceTestItem.objects.exists()


@pytest.mark.django_db
def test_an_acceptance_check_edited_to_pass_fail_must_drop_its_value(as_quality):
    item = AcceptanceTestItemFactory(expected_value=Decimal("60"), tolerance=Decimal("1"))

    response = as_quality.post(
        f"/catalog/acceptance-test-items/{item.pk}/edit/",
        {
            "device_model": item.device_model_id,
            "position": 1,
            "name": item.name,
            "expected_value": "60",
            "tolerance": "1",
            "unit": "bpm",
            "pass_fail_only": "on",
            "version": 1,
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "__all__": ["The acceptance-test item was not saved: please correct the marked fields."],
        "expected_value": ["A pass / fail check has no expected value."],
        "tolerance": ["A pass / fail check has no tolerance."],
    }
    item.refresh_from_db()
    assert (item.pass_fail_only, item.version) == (False, 1)


@pytest.mark.django_db
def test_a_product_line_in_use_cannot_be_deleted(api, administrator):
    model = DeviceModelFactory()
    response = api.as_user(administrator).delete(
        f"/api/v1/product-lines/{model.product_line_id}/?reason=合并"
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        f"{model.product_line} is still used by {model} and cannot be deleted."
    )
    assert ProductLine.objects.filter(pk=model.product_line_id).exists()


@pytest.mark.django_db
def test_other_roles_cannot_change_fault_codes_or_checklists(api, field_engineer):
    code = FaultCodeFactory()
    item = AcceptanceTestItemFactory()
    client = api.as_user(field_engineer)

    assert client.get("/api/v1/fault-codes/").status_code == 200
    assert client.patch(f"/api/v1/fault-codes/{code.pk}/", {"name": "x"}).status_code == 403
    assert (
        client.patch(f"/api/v1/acceptance-test-items/{item.pk}/", {"name": "x"}).status_code == 403
    )
