"""The company's own shops (SOP: 各连锁门店 of the head office) keep their books in MedService:
a shop is a unit under the company, its staff are internal users, and it becomes a store once
its store profile is recorded."""

# ruff: noqa: F811

from __future__ import annotations

import pytest
from django.utils import timezone

from medservice.accounts.choices import Role
from medservice.feedback.models import OpinionEntry, StoreProfile
from tests.factories import CompanyFactory, user_with_role
from tests.feedback.fixtures_stores import (  # noqa: F401  (fixtures)
    chain,
    quality_staff,
    store,
    store_staff,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_shop(company):
    return CompanyFactory(name="康达医疗 南京路体验店", parent=company)


@pytest.fixture
def shop_staff(own_shop):
    return user_with_role(Role.STORE_STAFF, own_shop, username="store")


def profile_body(organization):
    return {
        "store": organization.pk, "regulator_name": "上海市黄浦区市场监督管理局",
        "supervision_phone": "021-12315", "store_complaint_phone": "021-6350-1200",
    }  # fmt: skip


def entry_body(organization):
    return {
        "store": organization.pk, "entry_date": timezone.localdate().isoformat(),
        "category": "service", "content": "希望能在店内试用血压计", "customer_name": "周先生",
        "customer_phone": "13761234567",
    }  # fmt: skip


def test_an_own_shop_keeps_no_book_until_its_profile_is_recorded(
    api, own_shop, shop_staff, quality_staff
):
    # Given the company's own shop without a store profile
    # When its staff record an opinion-book entry
    refused = api.as_user(shop_staff).post(
        "/api/v1/opinion-entries/", entry_body(own_shop), format="json"
    )
    # Then it is refused by name, saying what to do
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["store"] == [
        "康达医疗 南京路体验店 keeps no store books yet: record its store profile first."
    ]
    assert OpinionEntry.objects.count() == 0

    # When quality staff record the shop's profile
    created = api.as_user(quality_staff).post(
        "/api/v1/store-profiles/", profile_body(own_shop), format="json"
    )
    assert created.status_code == 201, created.json()
    # Then the shop's staff keep its book, and see it among their stores only
    recorded = api.as_user(shop_staff).post(
        "/api/v1/opinion-entries/", entry_body(own_shop), format="json"
    )
    assert recorded.status_code == 201, recorded.json()
    assert OpinionEntry.objects.get().store == own_shop


def test_the_head_office_itself_is_not_a_store(api, company, quality_staff):
    response = api.as_user(quality_staff).post(
        "/api/v1/store-profiles/", profile_body(company), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["store"] == [
        "康达医疗器械有限公司 is not a store, a chain store or a shop of the company."
    ]
    assert StoreProfile.objects.count() == 0


def test_own_shop_staff_see_their_shop_and_not_the_customer_stores(
    api, own_shop, shop_staff, store, store_staff
):
    # Given an entry in the own shop and one in a customer's store
    StoreProfile.objects.create(
        store=own_shop, regulator_name="上海市黄浦区市场监督管理局",
        supervision_phone="021-12315", store_complaint_phone="021-6350-1200",
    )  # fmt: skip
    StoreProfile.objects.create(
        store=store, regulator_name="上海市市场监督管理局", supervision_phone="12315",
        store_complaint_phone="400-820-1234",
    )  # fmt: skip
    api.as_user(shop_staff).post("/api/v1/opinion-entries/", entry_body(own_shop), format="json")
    api.as_user(store_staff).post("/api/v1/opinion-entries/", entry_body(store), format="json")
    # When the own shop's staff list the book
    listed = api.as_user(shop_staff).get("/api/v1/opinion-entries/").json()
    # Then they see their shop's entry only
    assert [row["store"] for row in listed["results"]] == [own_shop.pk]
