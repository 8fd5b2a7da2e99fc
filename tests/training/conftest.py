from __future__ import annotations

import pytest

from medservice.accounts.choices import Role
from tests.factories import user_with_role


@pytest.fixture
def engineer(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="engineer")


@pytest.fixture
def dist_engineer(distributor):
    return user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor, username="dist")
