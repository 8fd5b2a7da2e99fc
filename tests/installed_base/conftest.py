from __future__ import annotations

import datetime

import pytest

from medservice.accounts.choices import Role
from tests.factories import user_with_role
from tests.installed_base.factories import BatchModelFactory, DeviceModelFactory


@pytest.fixture
def quality(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="quality")


@pytest.fixture
def warehouse(company):
    """Records deliveries (the warehouse ships them)."""
    return user_with_role(Role.WAREHOUSE_KEEPER, company, username="warehouse")


@pytest.fixture
def engineer(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="engineer")


@pytest.fixture
def monitor(db):
    """A serial-tracked model with the usual 12-month warranty."""
    return DeviceModelFactory(name="多参数病人监护仪", model_spec="KD-M8000", warranty_months=12)


@pytest.fixture
def strips(db):
    """A batch-tracked consumable."""
    return BatchModelFactory(name="血糖试纸", model_spec="KD-GS100")


@pytest.fixture
def today():
    from django.utils import timezone

    return timezone.localdate()


@pytest.fixture
def a_while_ago(today):
    return today - datetime.timedelta(days=30)
