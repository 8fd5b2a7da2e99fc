"""Shared fixtures of the maintenance tests: a ventilator model (life support, PM every 180
days, a two-item checklist) and a monitor model (PM every 90 days), units of each at hospital
A, and the people around them (the work-order tests' engineer and manager)."""

from __future__ import annotations

import datetime

import pytest

from tests.catalog.factories import AcceptanceTestItemFactory, DeviceModelFactory
from tests.installed_base.factories import DeviceFactory
from tests.work_orders.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    engineer,
    monitor_model,
    product_line,
    service_manager,
)


@pytest.fixture
def ventilator_model(db):
    model = DeviceModelFactory(
        name="呼吸机", model_spec="KV-300", life_support=True, pm_interval_days=180,
        registration_number="国械注准20213080001",
    )  # fmt: skip
    AcceptanceTestItemFactory(device_model=model, position=1, name="潮气量", pass_fail_only=True)
    AcceptanceTestItemFactory(device_model=model, position=2, name="报警功能", pass_fail_only=True)
    return model


@pytest.fixture
def ventilator(ventilator_model, hospital_a):
    return DeviceFactory(
        device_model=ventilator_model, organization=hospital_a, serial_number="KV3-2603-0001",
        installed_on=datetime.date(2026, 3, 5), accepted_on=datetime.date(2026, 3, 10),
        warranty_ends_on=datetime.date(2027, 3, 9), last_service_on=None,
    )  # fmt: skip


@pytest.fixture
def monitor(monitor_model, hospital_a):  # noqa: F811  (the imported fixture)
    return DeviceFactory(
        device_model=monitor_model, organization=hospital_a, serial_number="KM8-2603-0009",
        installed_on=datetime.date(2026, 3, 5), accepted_on=datetime.date(2026, 3, 10),
        warranty_ends_on=datetime.date(2027, 3, 9),
    )  # fmt: skip
