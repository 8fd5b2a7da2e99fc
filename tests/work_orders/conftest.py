"""Shared fixtures of the work-order tests: a monitor model with a fault-code tree and a
two-item acceptance test, a unit of it in warranty at hospital A, a certified engineer with a
badge, a van stock with parts and a calibrated reference instrument, and the people around
them. Each area's tests build on these."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from medservice.accounts.choices import Role
from medservice.accounts.models import EngineerProfile
from medservice.inventory.models import InstrumentCalibration
from tests.catalog.factories import (
    AcceptanceTestItemFactory,
    DeviceModelFactory,
    FaultCodeFactory,
    ProductLineFactory,
)
from tests.factories import user_with_role
from tests.installed_base.factories import DeviceFactory
from tests.inventory.factories import (
    EngineerStockFactory,
    InstrumentFactory,
    PartFactory,
    QuarantineFactory,
    stock_in,
)
from tests.training.factories import CertificationFactory

PASSWORD = "test-pass-2026"


@pytest.fixture
def product_line(db):
    return ProductLineFactory(name="监护仪")


@pytest.fixture
def monitor_model(product_line):
    model = DeviceModelFactory(
        name="多参数监护仪", model_spec="KM-8", product_line=product_line,
        pm_interval_days=180,
    )  # fmt: skip
    AcceptanceTestItemFactory(
        device_model=model, position=1, name="心率（心电模拟器 60 bpm）",
        expected_value=Decimal(60), tolerance=Decimal(1), unit="bpm",
    )  # fmt: skip
    AcceptanceTestItemFactory(
        device_model=model, position=2, name="外观与报警", expected_value=None,
        tolerance=None, unit="", pass_fail_only=True,
    )  # fmt: skip
    return model


@pytest.fixture
def fault_code(product_line):
    parent = FaultCodeFactory(product_line=product_line, code="PWR", name="电源故障")
    return FaultCodeFactory(product_line=product_line, code="PWR-01", name="无法开机",
                            parent=parent)  # fmt: skip


@pytest.fixture
def device(monitor_model, hospital_a):
    hospital_a.region = "华东"
    hospital_a.address = "上海市徐汇区XX路1号"
    hospital_a.save()
    return DeviceFactory(
        device_model=monitor_model, organization=hospital_a, serial_number="KM8-2603-00001",
        installed_on=datetime.date(2026, 3, 5), accepted_on=datetime.date(2026, 3, 10),
        warranty_ends_on=datetime.date(2027, 3, 9),
    )  # fmt: skip


def make_engineer(company, username: str, *, badge: str, region: str = "华东", model=None,
                  certified_until: datetime.date | None = datetime.date(2027, 12, 31)):  # fmt: skip
    user = user_with_role(Role.FIELD_ENGINEER, company, username=username,
                          first_name="工", last_name=username[:1])  # fmt: skip
    user.set_password(PASSWORD)
    user.save()
    EngineerProfile.objects.create(user=user, badge_number=badge, region=region)
    if model is not None and certified_until is not None:
        CertificationFactory(person=user, device_model=model, valid_until=certified_until)
    return user


@pytest.fixture
def engineer(company, monitor_model):
    return make_engineer(company, "wang", badge="E-001", model=monitor_model)


@pytest.fixture
def service_manager(company):
    user = user_with_role(Role.SERVICE_MANAGER, company, username="boss")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def van(engineer):
    return EngineerStockFactory(code="ENG-WANG", name="王工库存", engineer=engineer)


@pytest.fixture
def quarantine(db):
    return QuarantineFactory(code="QUARANTINE", name="隔离区")


@pytest.fixture
def power_board(monitor_model, van):
    part = PartFactory(number="PB-8", name_zh="电源板", name_en="Power board",
                       standard_cost=Decimal("320.00"), price=Decimal("560.00"))  # fmt: skip
    part.compatible_models.add(monitor_model)
    stock_in(van, part, 3)
    return part


@pytest.fixture
def simulator(engineer):
    """An ECG simulator calibrated until the end of 2027."""
    instrument = InstrumentFactory(
        number="SIM-01", name="心电模拟器", kind="measuring",
        calibration_due_on=datetime.date(2027, 6, 1),
    )  # fmt: skip
    InstrumentCalibration.objects.create(
        instrument=instrument, calibrated_on=datetime.date(2026, 6, 1),
        valid_until=datetime.date(2027, 6, 1), performed_by="上海计量院",
    )  # fmt: skip
    return instrument
