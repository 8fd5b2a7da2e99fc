"""Fixtures of the stores' tests (imported by name by each test module: the app's conftest is
shared with another area). A chain with two stores, each with its manager, and the company's
quality staff."""

from __future__ import annotations

import pytest

from medservice.accounts.choices import Role
from tests.factories import user_with_role
from tests.feedback.factories_stores import ChainFactory, StoreFactory, StoreProfileFactory


@pytest.fixture
def chain(db):
    return ChainFactory(name="百姓健康大药房连锁")


@pytest.fixture
def store(chain):
    return StoreFactory(name="百姓健康大药房 人民路店", parent=chain)


@pytest.fixture
def other_store(chain):
    return StoreFactory(name="百姓健康大药房 淮海路店", parent=chain)


@pytest.fixture
def store_staff(store):
    return user_with_role(Role.STORE_STAFF, store, username="store_renmin")


@pytest.fixture
def other_store_staff(other_store):
    return user_with_role(Role.STORE_STAFF, other_store, username="store_huaihai")


@pytest.fixture
def quality_staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="quality")


@pytest.fixture
def profile(store, store_staff):
    return StoreProfileFactory(store=store, manager=store_staff)
