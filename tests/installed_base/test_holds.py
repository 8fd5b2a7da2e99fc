"""Holds (批次冻结 / 证据保全): one question, `hold_active_for`, answered for deliveries,
inventory, returns and repairs; placed and released with reasons by quality roles; an
evidence hold keeps a unit from being altered."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.core.models import AuditEvent
from medservice.installed_base.choices import DeviceStatus, HoldKind, HoldScope
from medservice.installed_base.models import Hold
from medservice.installed_base.services import (
    HeldError,
    device_delete,
    device_status_change,
    device_update,
    hold_active_for,
    hold_place,
    hold_release,
)
from tests.factories import user_with_role
from tests.installed_base.factories import DeviceFactory, DeviceModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(db, monitor):
    return DeviceFactory(device_model=monitor, serial_number="KM8-2303-00125", batch_number="2303")


def test_a_batch_hold_holds_the_models_batch_and_its_units(quality, monitor, unit):
    hold = hold_place(
        actor=quality,
        scope=HoldScope.BATCH,
        device_model=monitor,
        batch_number="2303",
        reason="批次复核",
    )
    assert hold_active_for(device_model=monitor, batch_number="2303") == hold
    assert hold_active_for(device_model=monitor.pk, batch_number="2303") == hold
    assert hold_active_for(device=unit) == hold
    assert hold_active_for(device_model=monitor, batch_number="2304") is None
    assert hold_active_for(device_model=DeviceModelFactory(), batch_number="2303") is None
    assert hold_active_for(device_model=monitor, serial_number="KM8-2303-00125") is None


def test_a_serial_hold_holds_that_serial_of_the_model(quality, monitor, unit):
    hold = hold_place(
        actor=quality,
        scope=HoldScope.SERIAL,
        device_model=monitor,
        serial_number="KM8-2303-00125",
        reason="用户投诉",
    )
    assert hold_active_for(device_model=monitor, serial_number="KM8-2303-00125") == hold
    assert hold_active_for(device=unit) == hold
    assert hold_active_for(device_model=monitor, batch_number="2303") is None
    assert (
        hold_active_for(device_model=DeviceModelFactory(), serial_number="KM8-2303-00125") is None
    )


def test_a_device_hold_holds_the_unit_and_its_serial(quality, monitor, unit):
    hold = hold_place(
        actor=quality,
        scope=HoldScope.DEVICE,
        device=unit,
        kind=HoldKind.EVIDENCE,
        reason="证据保全",
    )
    assert (hold.device_model, hold.serial_number, hold.batch_number) == (
        monitor,
        "KM8-2303-00125",
        "2303",
    )
    assert hold_active_for(device=unit) == hold
    assert hold_active_for(device_model=monitor, serial_number="KM8-2303-00125") == hold
    # A hold on one unit does not hold its batch mates.
    assert hold_active_for(device_model=monitor, batch_number="2303") is None
    mate = DeviceFactory(device_model=monitor, batch_number="2303")
    assert hold_active_for(device=mate) is None


def test_a_device_hold_can_name_the_unit_by_model_and_serial(quality, monitor, unit):
    hold = hold_place(
        actor=quality,
        scope=HoldScope.DEVICE,
        device_model=monitor,
        serial_number="KM8-2303-00125",
        reason="证据保全",
    )
    assert hold.device == unit


def test_the_oldest_active_hold_answers(quality, monitor, unit):
    first = hold_place(
        actor=quality, scope=HoldScope.BATCH, device_model=monitor, batch_number="2303", reason="一"
    )
    hold_place(
        actor=quality, scope=HoldScope.DEVICE, device=unit, reason="二", kind=HoldKind.EVIDENCE
    )
    assert hold_active_for(device=unit) == first


def test_the_question_costs_one_query(quality, monitor, unit, django_assert_num_queries):
    hold_place(
        actor=quality, scope=HoldScope.BATCH, device_model=monitor, batch_number="2303", reason="x"
    )
    with django_assert_num_queries(1):
        assert hold_active_for(device=unit) is not None
    with django_assert_num_queries(0):
        assert hold_active_for() is None


def test_placing_a_hold_needs_a_reason_and_a_target(quality, monitor):
    with pytest.raises(InvalidInputError) as error:
        hold_place(actor=quality, scope=HoldScope.BATCH, device_model=None, reason=" ")
    assert set(error.value.fields) == {"reason", "device_model", "batch_number"}
    with pytest.raises(InvalidInputError) as error:
        hold_place(
            actor=quality,
            scope=HoldScope.DEVICE,
            device_model=monitor,
            serial_number="NONE",
            reason="x",
        )
    assert set(error.value.fields) == {"device"}
    assert not Hold.objects.exists()


def test_placing_and_releasing_need_the_quality_permissions(agent, monitor):
    with pytest.raises(PermissionDenied):
        hold_place(
            actor=agent, scope=HoldScope.BATCH, device_model=monitor, batch_number="1", reason="x"
        )


def test_a_release_needs_a_reason_is_recorded_and_happens_once(quality, monitor):
    hold = hold_place(
        actor=quality,
        scope=HoldScope.BATCH,
        device_model=monitor,
        batch_number="2303",
        reason="复核",
    )
    with pytest.raises(InvalidInputError):
        hold_release(actor=quality, hold=hold, reason="")
    released = hold_release(actor=quality, hold=hold, reason="复核合格，解除冻结")
    assert (released.released_by, released.release_reason) == (quality, "复核合格，解除冻结")
    assert released.released_at is not None
    assert hold_active_for(device_model=monitor, batch_number="2303") is None
    event = AuditEvent.objects.filter(object_type="installed_base.hold").latest("id")
    assert (event.action, event.detail, event.reason) == (
        "transition",
        "release",
        "复核合格，解除冻结",
    )
    with pytest.raises(InvalidTransitionError):
        hold_release(actor=quality, hold=hold, reason="again")


# --- Evidence hold ----------------------------------------------------------------------------


@pytest.fixture
def evidence(quality, unit):
    return hold_place(
        actor=quality,
        scope=HoldScope.DEVICE,
        kind=HoldKind.EVIDENCE,
        device=unit,
        reason="严重伤害事件，报告监管部门前不得改动",
        source="QC-2026-0007",
    )


def test_an_evidence_hold_refuses_any_edit_of_the_unit(agent, unit, evidence):
    with pytest.raises(HeldError) as error:
        device_update(actor=agent, instance=unit, data={"location": "维修间"})
    assert error.value.status == 409
    assert "严重伤害事件" in error.value.message
    unit.refresh_from_db()
    assert unit.location == ""


def test_an_evidence_hold_allows_custody_but_not_repair_or_scrapping(agent, unit, evidence):
    for status in (DeviceStatus.UNDER_REPAIR, DeviceStatus.SCRAPPED, DeviceStatus.IN_SERVICE):
        with pytest.raises(HeldError):
            device_status_change(actor=agent, device=unit, status=status)
    assert device_status_change(actor=agent, device=unit, status=DeviceStatus.RETURNED).status == (
        DeviceStatus.RETURNED
    )


def test_an_evidence_hold_refuses_deletion(administrator, unit, evidence):
    with pytest.raises(HeldError):
        device_delete(actor=administrator, instance=unit, reason="录入错误")


def test_a_quality_review_hold_does_not_freeze_the_record(quality, agent, monitor, unit):
    hold_place(
        actor=quality,
        scope=HoldScope.BATCH,
        device_model=monitor,
        batch_number="2303",
        reason="复核",
    )
    assert device_update(actor=agent, instance=unit, data={"location": "ICU"}).location == "ICU"


def test_edits_are_allowed_again_after_the_release(quality, agent, unit, evidence, company):
    # Only the quality manager releases an evidence hold (quality staff may not).
    with pytest.raises(PermissionDenied):
        hold_release(actor=quality, hold=evidence, reason="监管部门已完成检查")
    quality_manager = user_with_role(Role.QUALITY_MANAGER, company, username="qm")
    hold_release(actor=quality_manager, hold=evidence, reason="监管部门已完成检查")
    assert device_update(actor=agent, instance=unit, data={"location": "ICU"}).location == "ICU"


def test_the_api_answers_409_for_an_edit_under_evidence_hold(api, agent, unit, evidence):
    response = api.as_user(agent).patch(
        f"/api/v1/devices/{unit.pk}/", {"location": "维修间"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "on_hold"


def test_the_ui_shows_the_hold_and_refuses_the_edit(client, agent, unit, evidence):
    client.force_login(agent)
    page = client.get(f"/installed-base/devices/{unit.pk}/").content.decode()
    assert "严重伤害事件" in page
    response = client.post(
        f"/installed-base/devices/{unit.pk}/edit/",
        {
            "device_model": unit.device_model_id,
            "serial_number": unit.serial_number,
            "organization": unit.organization_id,
            "status": "in_service",
            "location": "维修间",
        },
    )
    assert response.status_code == 409
    assert "may not be altered" in response.content.decode()


# --- API and pages ----------------------------------------------------------------------------


def test_quality_staff_place_and_release_holds_through_the_api(api, quality, monitor):
    client = api.as_user(quality)
    response = client.post(
        "/api/v1/holds/",
        {
            "scope": "batch",
            "kind": "quality_review",
            "device_model": monitor.pk,
            "batch_number": "2303",
            "reason": "用户反馈测量值偏高",
            "source": "QC-2026-0007",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    hold = response.json()
    assert (hold["placed_by"], hold["released_at"]) == (quality.pk, None)
    refused = client.post(f"/api/v1/holds/{hold['id']}/release/", {}, format="json")
    assert refused.status_code == 400
    assert "reason" in refused.json()["error"]["fields"]
    released = client.post(
        f"/api/v1/holds/{hold['id']}/release/", {"reason": "复核合格"}, format="json"
    )
    assert released.status_code == 200
    assert released.json()["release_reason"] == "复核合格"
    again = client.post(f"/api/v1/holds/{hold['id']}/release/", {"reason": "x"}, format="json")
    assert again.status_code == 409


def test_a_hold_without_its_target_is_a_named_400(api, quality):
    response = api.as_user(quality).post(
        "/api/v1/holds/", {"scope": "serial", "reason": "x"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"device_model", "serial_number"}


def test_other_internal_roles_read_holds_but_cannot_place_or_release_them(
    api, agent, quality, monitor
):
    hold = hold_place(
        actor=quality, scope=HoldScope.BATCH, device_model=monitor, batch_number="1", reason="x"
    )
    client = api.as_user(agent)
    assert client.get("/api/v1/holds/").json()["count"] == 1
    assert (
        client.post(
            "/api/v1/holds/",
            {"scope": "batch", "device_model": monitor.pk, "batch_number": "2", "reason": "x"},
            format="json",
        ).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/holds/{hold.pk}/release/", {"reason": "x"}, format="json").status_code
        == 403
    )


def test_customers_and_distributors_never_see_holds(
    api, client, customer_a, distributor_engineer, quality, monitor
):
    from medservice.core.registry import RESOURCES
    from medservice.core.testing import grant_all_permissions

    hold = hold_place(
        actor=quality, scope=HoldScope.BATCH, device_model=monitor, batch_number="1", reason="x"
    )
    for user in (customer_a, distributor_engineer):
        grant_all_permissions(user, RESOURCES["holds"])
        assert api.as_user(user).get("/api/v1/holds/").json()["count"] == 0
        assert api.as_user(user).get(f"/api/v1/holds/{hold.pk}/").status_code == 404
        client.force_login(user)
        assert client.get(f"/installed-base/holds/{hold.pk}/").status_code == 404
        assert (
            client.post(f"/installed-base/holds/{hold.pk}/release/", {"reason": "x"}).status_code
            == 404
        )
    hold.refresh_from_db()
    assert hold.released_at is None


def test_the_hold_page_releases_with_a_reason(client, quality, monitor):
    hold = hold_place(
        actor=quality, scope=HoldScope.BATCH, device_model=monitor, batch_number="1", reason="x"
    )
    client.force_login(quality)
    assert "Release this hold" in client.get(f"/installed-base/holds/{hold.pk}/").content.decode()
    response = client.post(f"/installed-base/holds/{hold.pk}/release/", {"reason": "复核合格"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.release_reason == "复核合格"


def test_the_hold_form_places_a_hold(client, quality, monitor):
    client.force_login(quality)
    response = client.post(
        "/installed-base/holds/new/",
        {
            "scope": "batch",
            "kind": "quality_review",
            "device_model": monitor.pk,
            "batch_number": "2303",
            "reason": "复核中",
        },
    )
    assert response.status_code == 302
    assert Hold.objects.get().placed_by == quality
