"""The on-site forms on the record page and the phone page, and what the pages show."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from freezegun import freeze_time

from medservice.inventory.services import on_hand
from medservice.work_orders.choices import Route, WorkOrderKind
from medservice.work_orders.models import PartUsage, TestResult
from medservice.work_orders.onsite import TestInput, supplier_send, test_record, unit_receive
from tests.installed_base.factories import DeviceFactory, licensed_supplier
from tests.work_orders.test_onsite_support import PNG, in_progress, ready

pytestmark = pytest.mark.django_db

NOW = "2026-11-27 10:00:00+08:00"


@pytest.fixture
def working(engineer, device):
    with freeze_time(NOW):
        return in_progress(engineer, device)


def act(work_order, name: str) -> str:
    return reverse("work_orders:work-order-action", args=[work_order.pk, name])


@freeze_time(NOW)
def test_given_results_when_the_record_page_opens_then_the_panel_shows_them(
    client, engineer, working, device, simulator
):
    heart_rate, alarms = device.device_model.acceptance_items.order_by("position")
    test_record(actor=engineer, work_order=working, results=[
        TestInput(heart_rate, measured_value=Decimal("61.5"), instrument=simulator),
        TestInput(alarms, passed=True),
    ])  # fmt: skip
    client.force_login(engineer)
    page = client.get(reverse("work_orders:work-orders-detail", args=[working.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="onsite-tests"' in html
    assert "61.5 bpm" in html and "60 ± 1 bpm" in html
    assert "calibrated 2026-06-01, due 2027-06-01" in html
    assert html.count("text-bg-danger") == 1


@freeze_time(NOW)
def test_given_a_value_without_instrument_when_the_test_form_is_sent_then_the_field_shows_it(
    client, engineer, working, device, simulator
):
    heart_rate = device.device_model.acceptance_items.get(position=1)
    client.force_login(engineer)
    response = client.post(act(working, "record-test"), {f"measured_{heart_rate.pk}": "60"})
    assert response.status_code == 400
    form = next(
        item["form"] for item in response.context["work_order_actions"]
        if item["name"] == "record-test"
    )  # fmt: skip
    assert form.errors[f"instrument_{heart_rate.pk}"] == [
        "Name the reference instrument used to measure."
    ]
    ok = client.post(act(working, "record-test"), {
        f"measured_{heart_rate.pk}": "59.0", f"instrument_{heart_rate.pk}": simulator.pk})  # fmt: skip
    assert ok.status_code == 302
    assert TestResult.objects.get(work_order=working).passed is True


@freeze_time(NOW)
def test_given_the_parts_form_sent_twice_from_the_phone_then_stock_moves_once(
    client, engineer, working, van, power_board
):
    client.force_login(engineer)
    body = {"fitted_part_2": power_board.pk, "fitted_quantity_2": "1",
            "submission_key": "draft-42", "origin": "visit"}  # fmt: skip
    for _attempt in range(2):
        assert client.post(act(working, "record-parts"), body).status_code == 302
    assert on_hand(part=power_board, location=van) == Decimal(2)
    assert list(PartUsage.objects.values_list("fitted", "quantity")) == [(True, Decimal(1))]


@freeze_time(NOW)
def test_given_too_many_parts_when_sent_then_the_shortfall_is_shown_on_the_phone(
    client, engineer, working, van, power_board
):
    client.force_login(engineer)
    response = client.post(act(working, "record-parts"), {
        "fitted_part_1": power_board.pk, "fitted_quantity_1": "5", "origin": "visit"})  # fmt: skip
    assert response.status_code == 409
    assert "3 个 on hand, 5 asked" in response.content.decode()


@freeze_time(NOW)
def test_given_the_phone_page_then_the_checklist_shows_each_check(client, engineer, working):
    client.force_login(engineer)
    html = client.get(reverse("work_orders:visit", args=[working.pk])).content.decode()
    assert 'id="visit-checklist"' in html
    assert html.count("Not tested") == 2
    assert 'data-action="record-test"' in html and 'data-action="record-parts"' in html


@freeze_time(NOW)
def test_given_two_photos_when_the_receipt_form_is_sent_then_both_are_kept(
    client, engineer, device, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    work_order = ready(engineer, device)
    client.force_login(engineer)
    response = client.post(act(work_order, "receive-unit"), {
        "condition": "完好", "accessories": "电源线",
        "photos": [SimpleUploadedFile("a.png", PNG, content_type="image/png"),
                   SimpleUploadedFile("b.png", PNG, content_type="image/png")],
    })  # fmt: skip
    assert response.status_code == 302
    assert work_order.files.count() == 2


@freeze_time(NOW)
def test_given_a_yes_when_the_screening_form_is_sent_then_it_is_recorded(client, engineer, working):
    client.force_login(engineer)
    response = client.post(act(working, "screen"), {"is_complaint": "yes",
                                                    "may_be_reportable": "no"})  # fmt: skip
    assert response.status_code == 302
    working.refresh_from_db()
    assert (working.is_complaint, working.may_be_reportable) == (True, False)


@freeze_time(NOW)
def test_given_each_route_when_its_pages_open_then_its_forms_and_facts_show(
    client, engineer, device, company, monitor_model, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    loan = DeviceFactory(device_model=monitor_model, organization=company,
                         serial_number="KM8-LOAN-09", status="in_stock")  # fmt: skip
    client.force_login(engineer)
    waiting = ready(engineer, device)
    html = client.get(reverse("work_orders:work-orders-detail", args=[waiting.pk])).content.decode()
    assert 'data-action="receive-unit"' in html and "KM8-LOAN-09" in html
    received = unit_receive(actor=engineer, work_order=waiting, condition="屏幕裂纹",
                            accessories="电源线", loan_device=loan)  # fmt: skip
    html = client.get(
        reverse("work_orders:work-orders-detail", args=[received.pk])
    ).content.decode()
    assert 'id="onsite-workshop"' in html and "屏幕裂纹" in html
    assert 'data-action="start"' in html
    device.supplier = licensed_supplier(name="深圳迈康医疗")
    device.save()
    sent = supplier_send(actor=engineer, work_order=ready(engineer, device, route=Route.SUPPLIER),
                         expected_on=datetime.date(2026, 12, 10), reference="RMA-9")  # fmt: skip
    html = client.get(reverse("work_orders:work-orders-detail", args=[sent.pk])).content.decode()
    assert 'id="onsite-supplier"' in html and 'data-action="receive-from-supplier"' in html
    remote = in_progress(engineer, device, route=Route.REMOTE)
    assert remote.kind == WorkOrderKind.REPAIR
    html = client.get(reverse("work_orders:visit", args=[remote.pk])).content.decode()
    assert 'data-action="screen"' in html
