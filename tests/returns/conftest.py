"""A hospital that bought a patient monitor (serial-numbered, registered in stock as an
exchange unit) and a box of sterile single-use items, and the people who handle its returns:
the customer, the agent who evaluates, the manager who decides, the warehouse keeper who
receives and ships, finance who pays back."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from medservice.accounts.choices import Role
from medservice.inventory.choices import LocationKind, PartTracking
from medservice.returns.choices import ItemCondition, ReturnReason
from medservice.returns.services import LineInput, return_request_create
from tests.factories import user_with_role
from tests.installed_base.factories import (
    BatchModelFactory,
    DeliveryFactory,
    DeliveryLineFactory,
    DeviceFactory,
    DeviceModelFactory,
)
from tests.inventory.factories import LocationFactory, PartFactory, QuarantineFactory, stock_in

# A tiny valid PDF: what a scanned invoice looks like to the type check.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def invoice(name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


@pytest.fixture
def keeper(company):
    return user_with_role(Role.WAREHOUSE_KEEPER, company, username="keeper")


@pytest.fixture
def finance(company):
    return user_with_role(Role.FINANCE, company, username="finance")


@pytest.fixture
def monitor_model(db):
    return DeviceModelFactory(name="病人监护仪", model_spec="KM-8", warranty_months=12)


@pytest.fixture
def delivery(hospital_a):
    """Delivered 30 days ago, invoice FP-001."""
    return DeliveryFactory(
        organization=hospital_a, number="DL-2026-000101", invoice_number="FP-001",
        delivered_on=days_ago(30),
    )  # fmt: skip


@pytest.fixture
def monitor_line(delivery, monitor_model):
    return DeliveryLineFactory(
        delivery=delivery, device_model=monitor_model, batch_number="2603",
        serial_number="KM8-OLD-1", quantity=1, unit_price=Decimal("5000.00"),
    )  # fmt: skip


@pytest.fixture
def device(monitor_line, hospital_a, monitor_model):
    """The monitor at the hospital, accepted 25 days ago, warranty to a fixed date."""
    return DeviceFactory(
        device_model=monitor_model, organization=hospital_a, delivery_line=monitor_line,
        serial_number="KM8-OLD-1", batch_number="2603", installed_on=days_ago(26),
        accepted_on=days_ago(25), warranty_ends_on=days_ago(25) + datetime.timedelta(days=364),
        status="in_service",
    )  # fmt: skip


@pytest.fixture
def sterile_model(db):
    return BatchModelFactory(name="一次性使用无菌注射器", model_spec="5ml")


@pytest.fixture
def sterile_line(delivery, sterile_model):
    """Ten boxes of syringes at 12.50 each."""
    return DeliveryLineFactory(
        delivery=delivery, device_model=sterile_model, batch_number="S2603", quantity=10,
        unit_price=Decimal("12.50"),
    )  # fmt: skip


@pytest.fixture
def central(db):
    return LocationFactory(code="CENTRAL", name="中心仓", kind=LocationKind.CENTRAL)


@pytest.fixture
def quarantine(db):
    return QuarantineFactory(code="QUARANTINE", name="隔离区")


@pytest.fixture
def monitor_part(monitor_model):
    """The monitor as a stock item: how a whole exchange unit sits in stock with its serial."""
    return PartFactory(
        number="UNIT-KM8", name_zh="病人监护仪整机", name_en="Patient monitor unit",
        tracking=PartTracking.SERIAL, device_model=monitor_model,
    )  # fmt: skip


@pytest.fixture
def exchange_lot(central, monitor_part):
    """One exchange unit in the central warehouse: serial KM8-NEW-9 of batch 2605."""
    return stock_in(central, monitor_part, 1, serial_number="KM8-NEW-9", lot_number="2605")


def request_monitor(actor, device, **changes):
    values = {
        "actor": actor,
        "organization": device.organization,
        "reason": ReturnReason.FAULTY,
        "fault_description": "开机后屏幕黑屏",
        "lines": [LineInput(device=device, condition=ItemCondition.OPENED)],
        "delivery_reference": "FP-001",
        **changes,
    }
    return return_request_create(**values)


def pdf_stream() -> io.BytesIO:
    return io.BytesIO(PDF)
