"""A batch at customers for the trace and recall tests: model KD-M8000 batch 2303 delivered to
two hospitals (lines and devices), with look-alikes that must never be traced with it — another
batch of the same model, the same batch number of another model, a serial that sorts inside a
range but is longer than its bounds."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from medservice.accounts.choices import Role
from tests.factories import ContactFactory, DepartmentFactory, user_with_role
from tests.installed_base.factories import (
    BatchModelFactory,
    DeliveryFactory,
    DeliveryLineFactory,
    DeviceFactory,
    DeviceModelFactory,
)

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@dataclass
class Batch:
    monitor: Any
    other_model: Any
    strips: Any
    hospital_a: Any
    hospital_b: Any
    cardiology: Any
    contact_a: Any
    contact_b: Any
    devices: dict[str, Any]
    lines: dict[str, Any]


def batch_2303(hospital_a: Any, hospital_b: Any) -> Batch:
    monitor = DeviceModelFactory(name="多参数病人监护仪", model_spec="KD-M8000")
    other_model = DeviceModelFactory(name="输液泵", model_spec="KD-P300")
    strips = BatchModelFactory(name="血糖试纸", model_spec="KD-GS100")
    cardiology = DepartmentFactory(organization=hospital_a, name="心内科")
    contact_a = ContactFactory(
        organization=hospital_a, name="王主任", email="wang@hospital-a.example",
        mobile="13800001111", language="zh-hans",
    )  # fmt: skip
    contact_b = ContactFactory(
        organization=hospital_b, name="李科长", email="", mobile="13900002222", language="en"
    )
    delivery_a = DeliveryFactory(
        number="DL-2026-000101", organization=hospital_a, delivered_on=datetime.date(2026, 1, 10)
    )
    delivery_b = DeliveryFactory(
        number="DL-2026-000102", organization=hospital_b, delivered_on=datetime.date(2026, 1, 15)
    )
    lines = {
        serial: DeliveryLineFactory(
            delivery=delivery, device_model=monitor, batch_number=batch,
            serial_number=serial, quantity=1,
        )
        for serial, batch, delivery in (
            ("KM-0001", "2303", delivery_a), ("KM-0002", "2303", delivery_a),
            ("KM-0003", "2303", delivery_b), ("KM-0101", "2304", delivery_a),
        )
    }  # fmt: skip
    lines["strips"] = DeliveryLineFactory(
        delivery=delivery_b, device_model=strips, batch_number="2303", quantity=50
    )
    devices = {
        "KM-0001": DeviceFactory(device_model=monitor, serial_number="KM-0001",
                                 batch_number="2303", organization=hospital_a,
                                 department=cardiology, delivery_line=lines["KM-0001"]),
        "KM-0002": DeviceFactory(device_model=monitor, serial_number="KM-0002",
                                 batch_number="2303", organization=hospital_a,
                                 delivery_line=lines["KM-0002"]),
        "KM-0003": DeviceFactory(device_model=monitor, serial_number="KM-0003",
                                 batch_number="2303", organization=hospital_b,
                                 delivery_line=lines["KM-0003"]),
        # Recorded in the installed base before deliveries were: no delivery line.
        "KM-0004": DeviceFactory(device_model=monitor, serial_number="KM-0004",
                                 batch_number="2303", organization=hospital_b),
        # Look-alikes.
        "KM-0101": DeviceFactory(device_model=monitor, serial_number="KM-0101",
                                 batch_number="2304", organization=hospital_a,
                                 delivery_line=lines["KM-0101"]),
        "KM-00025": DeviceFactory(device_model=monitor, serial_number="KM-00025",
                                  batch_number="2305", organization=hospital_a),
        "other KM-0001": DeviceFactory(device_model=other_model, serial_number="KM-0001",
                                       batch_number="2303", organization=hospital_a),
    }  # fmt: skip
    return Batch(
        monitor=monitor, other_model=other_model, strips=strips, hospital_a=hospital_a,
        hospital_b=hospital_b, cardiology=cardiology, contact_a=contact_a, contact_b=contact_b,
        devices=devices, lines=lines,
    )  # fmt: skip


def quality_staff_user(company: Any) -> Any:
    return user_with_role(Role.QUALITY_STAFF, company, username="qa")


def quality_manager_user(company: Any) -> Any:
    return user_with_role(Role.QUALITY_MANAGER, company, username="qm", first_name="质量",
                          last_name="张")  # fmt: skip
