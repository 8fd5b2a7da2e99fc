from __future__ import annotations

import pytest

from medservice.accounts.choices import Role
from medservice.inventory.choices import LocationKind
from tests.factories import user_with_role
from tests.inventory.factories import (
    EngineerStockFactory,
    LocationFactory,
    PartFactory,
    QuarantineFactory,
)


@pytest.fixture
def keeper(company):
    return user_with_role(Role.WAREHOUSE_KEEPER, company, username="keeper")


@pytest.fixture
def engineer(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="engineer")


@pytest.fixture
def central(db):
    return LocationFactory(code="CENTRAL", name="中心仓", kind=LocationKind.CENTRAL)


@pytest.fixture
def regional(db):
    return LocationFactory(code="EAST", name="华东仓", kind=LocationKind.REGIONAL)


@pytest.fixture
def quarantine(db):
    return QuarantineFactory(code="QUARANTINE", name="隔离区")


@pytest.fixture
def engineer_stock(engineer):
    return EngineerStockFactory(code="ENG-1", name="王工库存", engineer=engineer)


@pytest.fixture
def board(db):
    """A main board tracked by quantity only."""
    return PartFactory(number="MB-100", name_zh="主板", name_en="Main board")
