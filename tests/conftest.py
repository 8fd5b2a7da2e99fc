from __future__ import annotations

import os

import pytest
from rest_framework.test import APIClient

from medservice.accounts.choices import Role
from tests.factories import (
    CompanyFactory,
    DistributorFactory,
    OrganizationFactory,
    user_with_role,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit and lockout counters must not leak between tests.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english_by_default():
    """Tests read English messages unless they ask for Chinese (the product's default)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def company(db):
    return CompanyFactory(name="康达医疗器械有限公司")


@pytest.fixture
def hospital_a(db):
    return OrganizationFactory(name="市第一人民医院")


@pytest.fixture
def hospital_b(db):
    return OrganizationFactory(name="县中医院")


@pytest.fixture
def distributor(db):
    return DistributorFactory(name="华信医疗设备经销有限公司")


@pytest.fixture
def manager(company):
    return user_with_role(Role.SERVICE_MANAGER, company, username="manager")


@pytest.fixture
def agent(company):
    return user_with_role(Role.SERVICE_AGENT, company, username="agent")


@pytest.fixture
def auditor(company):
    return user_with_role(Role.AUDITOR, company, username="auditor")


@pytest.fixture
def administrator(company):
    return user_with_role(Role.ADMINISTRATOR, company, username="administrator", is_staff=True)


@pytest.fixture
def customer_a(hospital_a):
    return user_with_role(Role.CUSTOMER_USER, hospital_a, username="customer_a")


@pytest.fixture
def distributor_engineer(distributor):
    return user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor, username="dist_engineer")


class Api:
    """An API client that signs in as a given user with a real token."""

    def __init__(self) -> None:
        self.client = APIClient()

    def as_user(self, user) -> APIClient:
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    def anonymous(self) -> APIClient:
        return APIClient(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def api(db):
    return Api()
