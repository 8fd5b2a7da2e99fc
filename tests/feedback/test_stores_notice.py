"""Every store publishes the regulator's supervision phone and its complaint phones on a notice
in the shop (SOP: 各连锁门店必须在营业场所公布…); only stores and chain stores have one."""

# The shared fixtures are imported by name (the app's conftest belongs to both areas), so the
# test arguments "redefine" them: that is how pytest fixtures work.
# ruff: noqa: F811

from __future__ import annotations

import io

import pytest
from django.utils import translation
from django.utils.translation import gettext
from pypdf import PdfReader

from medservice.feedback.models import StoreProfile
from tests.factories import OrganizationFactory
from tests.feedback.fixtures_stores import (  # noqa: F401  (fixtures)
    chain,
    profile,
    quality_staff,
    store,
    store_staff,
)

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "".join(
        "".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages
    )


def test_the_notice_prints_the_supervision_and_complaint_phones(client, profile, store_staff):
    # Given the store's published phones
    client.force_login(store_staff)

    # When the store prints its notice
    response = client.get(f"/feedback/store-profiles/{profile.pk}/notice/")

    # Then the PDF says them, in Chinese
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    with translation.override("zh-hans"):  # printed in Chinese whatever the user's language
        labels = [gettext(label) for label in (
            "Customer notice", "Supervision phone", "Store complaint phone",
            "Head office complaint phone",
        )]  # fmt: skip
    for label in labels:
        assert "".join(label.split()) in text
    assert "百姓健康大药房人民路店·百姓健康大药房连锁" in text
    assert "上海市黄浦区市场监督管理局021-12315" in text
    assert "021-6321-0088" in text
    assert "400-820-1234" in text


def test_the_notice_is_also_served_by_the_api(api, profile, quality_staff):
    response = api.as_user(quality_staff).get(f"/api/v1/store-profiles/{profile.pk}/notice/")
    assert response.status_code == 200
    assert "021-12315" in pdf_text(response.content)


def test_only_a_store_chain_store_or_own_shop_may_have_a_profile_api(api, quality_staff, chain):
    hospital = OrganizationFactory(name="市第一人民医院")
    client = api.as_user(quality_staff)
    body = {"regulator_name": "上海市市场监督管理局", "supervision_phone": "12315",
            "store_complaint_phone": "400-820-1234"}  # fmt: skip

    refused = client.post("/api/v1/store-profiles/", {**body, "store": hospital.pk}, format="json")
    accepted = client.post("/api/v1/store-profiles/", {**body, "store": chain.pk}, format="json")

    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["store"] == [
        "市第一人民医院 is not a store, a chain store or a shop of the company."
    ]
    assert accepted.status_code == 201, accepted.json()
    assert StoreProfile.objects.get().store == chain


def test_only_a_store_chain_store_or_own_shop_may_have_a_profile_form(client, quality_staff):
    hospital = OrganizationFactory(name="县中医院")
    client.force_login(quality_staff)

    response = client.post("/feedback/store-profiles/new/", {
        "store": hospital.pk, "regulator_name": "x", "supervision_phone": "12315",
        "store_complaint_phone": "1", "keeps_opinion_book": "on",
    })  # fmt: skip

    assert response.status_code == 400
    assert (
        "县中医院 is not a store, a chain store or a shop of the company."
        in response.content.decode()
    )
    assert not StoreProfile.objects.exists()


def test_a_second_profile_for_the_same_store_is_refused(api, quality_staff, profile):
    response = api.as_user(quality_staff).post("/api/v1/store-profiles/", {
        "store": profile.store_id, "regulator_name": "x", "supervision_phone": "12315",
        "store_complaint_phone": "1",
    }, format="json")  # fmt: skip
    assert response.status_code == 400
    assert "already has a profile" in response.json()["error"]["fields"]["store"][0]


def test_missing_phones_are_named(api, quality_staff, store):
    response = api.as_user(quality_staff).post(
        "/api/v1/store-profiles/", {"store": store.pk, "regulator_name": " "}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"supervision_phone", "store_complaint_phone"}
