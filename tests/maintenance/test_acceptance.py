"""Installation and acceptance (安装调试 / 验收): installation work orders from a delivery,
once; the customer's signed acceptance sets the device's acceptance date and so its warranty;
the documents handed over are recorded; the signed scan follows the signature."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from freezegun import freeze_time

from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.core.models import Signature
from medservice.maintenance.choices import InstallationStatus
from medservice.maintenance.models import AcceptanceRecord, Installation
from medservice.maintenance.services_acceptance import (
    acceptance_create,
    acceptance_file_attach,
    acceptance_sign,
    installation_commissioned,
    installations_open_for_delivery,
)
from medservice.work_orders.choices import WorkOrderKind
from medservice.work_orders.models import WorkOrder
from tests.installed_base.factories import DeliveryFactory, DeliveryLineFactory, DeviceFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def installed(ventilator_model, hospital_a):
    """Installed on 2026-03-05, not accepted yet (warranty from installation meanwhile)."""
    return DeviceFactory(
        device_model=ventilator_model, organization=hospital_a, serial_number="KV3-2603-0100",
        installed_on=datetime.date(2026, 3, 5), accepted_on=None,
        warranty_ends_on=datetime.date(2027, 3, 4),
    )  # fmt: skip


@freeze_time("2026-03-25 10:00:00+08:00")
def test_the_signed_acceptance_sets_the_acceptance_date_and_restarts_the_warranty(
    engineer, installed, ventilator_model
):
    # given the certificate prepared with the documents handed over
    record = acceptance_create(actor=engineer, data={
        "device": installed, "accepted_on": datetime.date(2026, 3, 20),
        "customer_name": "李主任", "customer_title": "设备科",
        "conformity_certificate_handed": True, "registration_certificate_handed": True,
        "other_documents": "使用说明书、保修卡",
    })  # fmt: skip
    assert record.registration_number == "国械注准20213080001"
    installed.refresh_from_db()
    assert installed.accepted_on is None  # nothing changes before the customer signs
    # when the customer signs on the engineer's phone
    record = acceptance_sign(actor=engineer, acceptance=record, printed_name="李明")
    # then the device is accepted that day and its 12-month warranty runs from it
    installed.refresh_from_db()
    assert installed.accepted_on == datetime.date(2026, 3, 20)
    assert installed.warranty_ends_on == datetime.date(2027, 3, 19)
    assert installed.status == "in_service"
    assert (record.warranty_starts_on, record.warranty_ends_on) == (
        datetime.date(2026, 3, 20), datetime.date(2027, 3, 19),
    )  # fmt: skip
    # and the signature is the customer's, the record frozen
    signature = Signature.objects.get()
    assert (signature.printed_name, signature.signer_kind) == ("李明", "customer")
    assert record.is_frozen
    assert record.conformity_certificate_handed and record.registration_certificate_handed
    # and signing twice is refused
    with pytest.raises(InvalidTransitionError):
        acceptance_sign(actor=engineer, acceptance=record)


@freeze_time("2026-03-25 10:00:00+08:00")
def test_an_acceptance_before_the_installation_is_refused_and_nothing_is_signed(
    engineer, installed
):
    record = acceptance_create(actor=engineer, data={
        "device": installed, "accepted_on": datetime.date(2026, 3, 1), "customer_name": "李主任",
    })  # fmt: skip
    with pytest.raises(InvalidInputError) as refused:
        acceptance_sign(actor=engineer, acceptance=record)
    assert refused.value.fields == {
        "accepted_on": [
            "The acceptance date 2026-03-01 is before the installation date 2026-03-05."
        ]
    }
    record.refresh_from_db()
    installed.refresh_from_db()
    assert record.signed_at is None and installed.accepted_on is None
    assert not Signature.objects.exists()


@freeze_time("2026-03-25 10:00:00+08:00")
def test_bad_input_names_each_field(engineer, installed, ventilator_model):
    ventilator_model.registration_number = ""
    ventilator_model.save()
    with pytest.raises(InvalidInputError) as refused:
        acceptance_create(actor=engineer, data={
            "device": installed, "accepted_on": datetime.date(2026, 4, 1), "customer_name": " ",
            "registration_certificate_handed": True,
        })  # fmt: skip
    assert refused.value.fields == {
        "accepted_on": ["The acceptance date cannot be in the future."],
        "customer_name": ["Give the printed name of the customer who accepts."],
        "registration_certificate_handed": [
            "呼吸机 KV-300 has no registration certificate number in the catalogue."
        ],
    }
    assert not AcceptanceRecord.objects.exists()


@freeze_time("2026-03-25 10:00:00+08:00")
def test_the_signed_certificate_is_attached_after_signing(engineer, installed):
    record = acceptance_create(actor=engineer, data={
        "device": installed, "accepted_on": datetime.date(2026, 3, 20), "customer_name": "李主任",
    })  # fmt: skip
    scan = SimpleUploadedFile("验收证明.pdf", PDF, content_type="application/pdf")
    with pytest.raises(InvalidTransitionError):
        acceptance_file_attach(actor=engineer, acceptance=record, upload=scan)
    record = acceptance_sign(actor=engineer, acceptance=record)
    attached = acceptance_file_attach(actor=engineer, acceptance=record, upload=scan)
    assert (attached.original_name, attached.content_type) == ("验收证明.pdf", "application/pdf")


def test_a_delivery_opens_one_installation_work_order_per_unit_once(
    engineer, ventilator_model, hospital_a, django_capture_on_commit_callbacks
):
    # given a delivery of one ventilator (by serial) and a batch of consumables
    delivery = DeliveryFactory(organization=hospital_a, delivered_on=datetime.date(2026, 3, 2))
    line = DeliveryLineFactory(delivery=delivery, device_model=ventilator_model,
                               serial_number="KV3-2603-0200", batch_number="", quantity=1)  # fmt: skip
    unit = DeviceFactory(device_model=ventilator_model, organization=hospital_a,
                         serial_number="KV3-2603-0200", delivery_line=line, installed_on=None,
                         accepted_on=None, status="in_stock")  # fmt: skip
    DeliveryLineFactory(delivery=delivery)
    # when installation work orders are opened twice
    first = installations_open_for_delivery(actor=engineer, delivery=delivery)
    again = installations_open_for_delivery(actor=engineer, delivery=delivery)
    # then one installation, with its work order carrying the commissioning checklist
    assert (len(first), again) == (1, [])
    installation = Installation.objects.get()
    assert installation.device == unit
    work_order = WorkOrder.objects.get()
    assert work_order.kind == WorkOrderKind.INSTALLATION
    assert "Commissioning checklist: 潮气量; 报警功能." in work_order.problem
    # when the installation work order is completed on 2026-03-06
    WorkOrder.objects.filter(pk=work_order.pk).update(
        status="completed", completed_at=datetime.datetime(2026, 3, 6, 3, 0, tzinfo=datetime.UTC)
    )
    work_order.refresh_from_db()
    installation_commissioned(work_order=work_order)
    # then the unit is commissioned and installed that day
    installation.refresh_from_db()
    unit.refresh_from_db()
    assert installation.status == InstallationStatus.COMMISSIONED
    assert unit.installed_on == datetime.date(2026, 3, 6)
