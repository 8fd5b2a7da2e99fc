"""Workshop repairs (送修): receipt with condition photos, accessories and a loan unit, the
return shipment; and repairs sent to the supplier under its quality agreement."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from freezegun import freeze_time

from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.core.models import Notification
from medservice.work_orders.choices import Route, ServiceResult, WorkOrderStatus
from medservice.work_orders.models import FileKind
from medservice.work_orders.onsite import (
    LoanUnitError,
    TestInput,
    diagnosis_record,
    screening_record,
    supplier_receive,
    supplier_send,
    test_record,
    unit_receive,
    unit_ship_back,
    work_start,
)
from medservice.work_orders.services import work_order_complete
from tests.installed_base.factories import DeviceFactory, licensed_supplier
from tests.work_orders.conftest import PASSWORD
from tests.work_orders.test_onsite_support import photo, ready

pytestmark = pytest.mark.django_db

NOW = "2026-11-27 10:00:00+08:00"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def loan_unit(company, monitor_model):
    return DeviceFactory(device_model=monitor_model, organization=company,
                         serial_number="KM8-LOAN-01", status="in_stock")  # fmt: skip


def finish(engineer, work_order, simulator):
    """Diagnosed, tested (both checks pass), screened and completed."""
    work_order = diagnosis_record(actor=engineer, work_order=work_order, symptom="无法开机",
                                  actions_taken="更换电源板")  # fmt: skip
    heart_rate, alarms = work_order.device.device_model.acceptance_items.order_by("position")
    test_record(actor=engineer, work_order=work_order, results=[
        TestInput(heart_rate, measured_value=Decimal("60.2"), instrument=simulator),
        TestInput(alarms, passed=True),
    ])  # fmt: skip
    screening_record(actor=engineer, work_order=work_order, is_complaint=False,
                     may_be_reportable=False)  # fmt: skip
    return work_order_complete(actor=engineer, work_order=work_order,
                               result=ServiceResult.RETURNED_TO_SERVICE, password=PASSWORD)  # fmt: skip


@freeze_time(NOW)
def test_given_a_unit_with_photos_and_a_loan_unit_when_received_then_all_is_kept_and_the_customer_told(
    engineer, device, loan_unit, customer_a
):
    work_order = unit_receive(
        actor=engineer, work_order=ready(engineer, device), condition="外壳右侧有划痕",
        accessories="电源线、血氧探头", photos=[photo("正面.png"), photo("侧面.png")],
        loan_device=loan_unit,
    )  # fmt: skip
    assert work_order.status == WorkOrderStatus.IN_WORKSHOP
    assert (work_order.received_condition, work_order.received_accessories) == (
        "外壳右侧有划痕", "电源线、血氧探头",
    )  # fmt: skip
    assert work_order.files.filter(kind=FileKind.CONDITION_PHOTO).count() == 2
    assert (work_order.loan_device, work_order.loan_out_at.isoformat()) == (
        loan_unit, "2026-11-27T02:00:00+00:00",
    )  # fmt: skip
    news = Notification.objects.get(recipient=customer_a)
    assert news.body == (
        "We received 多参数监护仪 KM-8 KM8-2603-00001 in the workshop on 2026-11-27. "
        "Accessories: 电源线、血氧探头. A loan unit is provided meanwhile: 多参数监护仪 KM-8 "
        "KM8-LOAN-01."
    )


@freeze_time(NOW)
def test_given_a_customers_device_when_offered_on_loan_then_refused(engineer, device, hospital_a):
    theirs = DeviceFactory(device_model=device.device_model, organization=hospital_a)
    with pytest.raises(LoanUnitError) as refused:
        unit_receive(actor=engineer, work_order=ready(engineer, device), condition="完好",
                     accessories="", loan_device=theirs)  # fmt: skip
    assert list(refused.value.fields) == ["loan_device"]


@freeze_time(NOW)
def test_given_a_loan_unit_already_out_when_offered_again_then_refused(
    engineer, device, loan_unit, monitor_model, hospital_a
):
    unit_receive(actor=engineer, work_order=ready(engineer, device), condition="完好",
                 accessories="", loan_device=loan_unit)  # fmt: skip
    other = DeviceFactory(device_model=monitor_model, organization=hospital_a)
    with pytest.raises(LoanUnitError) as refused:
        unit_receive(actor=engineer, work_order=ready(engineer, other), condition="完好",
                     accessories="", loan_device=loan_unit)  # fmt: skip
    assert "is out on loan with WO-" in refused.value.fields["loan_device"][0]


@freeze_time(NOW)
def test_given_a_text_file_as_a_photo_when_received_then_refused_on_photos(engineer, device):
    fake = SimpleUploadedFile("photo.png", b"#!/bin/sh\necho hi\n", content_type="image/png")
    with pytest.raises(InvalidInputError) as refused:
        unit_receive(actor=engineer, work_order=ready(engineer, device), condition="完好",
                     accessories="", photos=[fake])  # fmt: skip
    assert list(refused.value.fields) == ["photos"]


@freeze_time(NOW)
def test_given_a_completed_repair_when_shipped_back_with_the_loan_unit_then_both_are_recorded(
    engineer, device, loan_unit, simulator
):
    work_order = unit_receive(actor=engineer, work_order=ready(engineer, device),
                              condition="完好", accessories="电源线", loan_device=loan_unit)  # fmt: skip
    with pytest.raises(InvalidTransitionError):
        unit_ship_back(actor=engineer, work_order=work_order, carrier="顺丰", tracking="SF1")
    work_order = finish(engineer, work_start(actor=engineer, work_order=work_order), simulator)
    work_order = unit_ship_back(actor=engineer, work_order=work_order, carrier="顺丰速运",
                                tracking="SF1234567890", loan_back=True)  # fmt: skip
    assert (work_order.return_carrier, work_order.return_tracking) == ("顺丰速运", "SF1234567890")
    assert work_order.return_shipped_at == work_order.loan_back_at
    with pytest.raises(InvalidTransitionError) as again:
        unit_ship_back(actor=engineer, work_order=work_order, carrier="顺丰", tracking="SF2")
    assert again.value.message == "The unit has already been shipped back."


@freeze_time(NOW)
def test_given_a_supplier_repair_when_sent_and_received_then_the_report_is_kept(engineer, device):
    device.supplier = licensed_supplier(name="深圳迈康医疗")
    device.save()
    work_order = ready(engineer, device, route=Route.SUPPLIER)
    with pytest.raises(InvalidInputError) as past:
        supplier_send(actor=engineer, work_order=work_order,
                      expected_on=datetime.date(2026, 11, 1))  # fmt: skip
    assert list(past.value.fields) == ["expected_on"]
    work_order = supplier_send(actor=engineer, work_order=work_order,
                               expected_on=datetime.date(2026, 12, 10), reference="RMA-2611")  # fmt: skip
    assert (work_order.status, work_order.supplier_expected_on, work_order.repair_supplier.name) == (
        WorkOrderStatus.AT_SUPPLIER, datetime.date(2026, 12, 10), "深圳迈康医疗",
    )  # fmt: skip
    with pytest.raises(InvalidInputError) as no_report:
        supplier_receive(actor=engineer, work_order=work_order, report=" ")
    assert list(no_report.value.fields) == ["report"]
    work_order = supplier_receive(
        actor=engineer, work_order=work_order, report="更换主板，老化测试 48 小时通过",
        report_file=SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf"),
    )  # fmt: skip
    assert (work_order.status, work_order.supplier_report) == (
        WorkOrderStatus.IN_PROGRESS, "更换主板，老化测试 48 小时通过",
    )  # fmt: skip
    assert work_order.files.get().kind == FileKind.SUPPLIER_REPORT
