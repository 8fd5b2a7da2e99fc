from __future__ import annotations

import pytest

from medservice.accounts.choices import Role
from tests.factories import user_with_role


@pytest.fixture
def quality_staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="quality")


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="qa_manager")


@pytest.fixture
def field_engineer(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="engineer")


@pytest.fixture
def as_quality(client, quality_staff):
    """A browser session of quality staff, who keep the catalogue (GSP)."""
    client.force_login(quality_staff)
    return client
