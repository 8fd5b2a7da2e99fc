"""Suppliers and their licences: kept by quality staff, hidden from customers, refused by field
name when a credit code or the licence dates are wrong; the list shows where each supplier
stands in a fixed number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from medservice.catalog.models import Manufacturer, Supplier, SupplierLicence
from medservice.core.models import AuditEvent
from medservice.customers.validators import credit_code_check_character
from tests.catalog.factories import SupplierFactory, SupplierLicenceFactory

VALID_CODE = "91310115MA1H7T6B2" + credit_code_check_character("91310115MA1H7T6B2")
CREDIT_CODE_FORMAT = (
    "A unified social credit code has 18 characters (digits and capital letters, no I, O, S, V, Z)."
)


@pytest.mark.django_db
def test_quality_staff_register_a_supplier_and_its_permit_through_the_ui(as_quality, quality_staff):
    created = as_quality.post(
        "/catalog/suppliers/new/",
        {
            "name": "上海瑞康医疗器械贸易有限公司",
            "credit_code": VALID_CODE,
            "quality_agreement_reference": "QA-2024-007",
            "repairs_under_agreement": "on",
            "phone": "021-5876 3300",
        },
    )
    assert created.status_code == 302
    supplier = Supplier.objects.get(name="上海瑞康医疗器械贸易有限公司")
    assert (supplier.credit_code, supplier.repairs_under_agreement) == (VALID_CODE, True)

    licence = as_quality.post(
        "/catalog/supplier-licences/new/",
        {
            "supplier": supplier.pk,
            "kind": "operation_permit",
            "number": "沪药监械经营许20210045号",
            "valid_from": "2021-12-17",
            "valid_until": "2026-12-16",
        },
    )

    assert licence.status_code == 302
    saved = SupplierLicence.objects.get(supplier=supplier)
    assert (saved.kind, saved.number, saved.valid_until) == (
        "operation_permit",
        "沪药监械经营许20210045号",
        datetime.date(2026, 12, 16),
    )
    assert AuditEvent.objects.get(
        object_type="catalog.supplierlicence", object_id=str(saved.pk)
    ).actor_id == (quality_staff.pk)


@pytest.mark.django_db
def test_quality_staff_keep_suppliers_licences_and_manufacturers_through_the_api(
    api, quality_manager
):
    client = api.as_user(quality_manager)
    maker = client.post(
        "/api/v1/manufacturers/",
        {"name": "深圳华康生物医疗电子有限公司", "production_permit": "粤食药监械生产许20150033号"},
        format="json",
    )
    assert maker.status_code == 201
    supplier = client.post(
        "/api/v1/suppliers/",
        {"name": "深圳华康生物医疗电子有限公司", "manufacturer": maker.json()["id"]},
        format="json",
    )
    assert supplier.status_code == 201
    assert supplier.json()["licence_status"] == "missing"

    with freeze_time("2026-11-27"):
        licence = client.post(
            "/api/v1/supplier-licences/",
            {
                "supplier": supplier.json()["id"],
                "kind": "production_permit",
                "number": "粤食药监械生产许20150033号",
                "valid_from": "2025-01-01",
                "valid_until": "2029-12-31",
            },
            format="json",
        )
        assert (licence.status_code, licence.json()["status"]) == (201, "valid")
        refreshed = client.get(f"/api/v1/suppliers/{supplier.json()['id']}/").json()
    assert refreshed["licence_status"] == "valid"

    renamed = client.patch(
        f"/api/v1/manufacturers/{maker.json()['id']}/",
        {"contact": "售后部 0755-8612 3400", "version": 1},
        format="json",
    )
    assert (renamed.status_code, renamed.json()["version"]) == (200, 2)
    in_use = client.delete(f"/api/v1/manufacturers/{maker.json()['id']}/?reason=重复")
    # The supplier only points at it (SET_NULL), so it may go; its models would protect it.
    assert in_use.status_code == 204
    assert not Manufacturer.objects.exists()


@pytest.mark.django_db
def test_a_bad_credit_code_is_refused_by_name_in_the_ui_and_the_api(api, as_quality, quality_staff):
    ui = as_quality.post("/catalog/suppliers/new/", {"name": "新供货者", "credit_code": "123"})
    through_api = api.as_user(quality_staff).post(
        "/api/v1/suppliers/", {"name": "新供货者", "credit_code": "123"}, format="json"
    )

    assert ui.status_code == 400
    assert ui.context["form"].errors["credit_code"] == [CREDIT_CODE_FORMAT]
    assert through_api.status_code == 400
    assert through_api.json()["error"]["fields"] == {"credit_code": [CREDIT_CODE_FORMAT]}
    assert not Supplier.objects.exists()


@pytest.mark.django_db
def test_a_credit_code_with_a_wrong_check_character_is_refused(api, quality_staff):
    wrong = VALID_CODE[:17] + ("0" if VALID_CODE[17] != "0" else "1")
    response = api.as_user(quality_staff).post(
        "/api/v1/manufacturers/", {"name": "某生产企业", "credit_code": wrong}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "credit_code": ["The check character of this credit code is wrong; please check the code."]
    }


@pytest.mark.django_db
def test_licence_dates_in_the_wrong_order_are_refused_on_valid_until_in_the_ui(as_quality):
    supplier = SupplierFactory()

    response = as_quality.post(
        "/catalog/supplier-licences/new/",
        {
            "supplier": supplier.pk,
            "kind": "operation_permit",
            "number": "沪药监械经营许20210045号",
            "valid_from": "2026-12-16",
            "valid_until": "2021-12-17",
        },
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {
        "valid_until": ["The licence cannot end (2021-12-17) before it starts (2026-12-16)."]
    }
    assert not SupplierLicence.objects.exists()


@pytest.mark.django_db
def test_licence_dates_in_the_wrong_order_are_refused_on_valid_until_in_the_api(api, quality_staff):
    licence = SupplierLicenceFactory(
        valid_from=datetime.date(2021, 12, 17), valid_until=datetime.date(2026, 12, 16)
    )

    response = api.as_user(quality_staff).patch(
        f"/api/v1/supplier-licences/{licence.pk}/", {"valid_until": "2020-01-01"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "valid_until": ["The licence cannot end (2020-01-01) before it starts (2021-12-17)."]
    }
    licence.refresh_from_db()
    assert licence.valid_until == datetime.date(2026, 12, 16)


@pytest.mark.django_db
def test_other_roles_cannot_change_suppliers_or_licences(api, client, agent, field_engineer):
    licence = SupplierLicenceFactory()
    for person in (agent, field_engineer):
        client.force_login(person)
        assert client.get("/catalog/suppliers/").status_code == 200
        assert client.get("/catalog/suppliers/new/").status_code == 404
        assert client.get(f"/catalog/supplier-licences/{licence.pk}/edit/").status_code == 404
        reader = api.as_user(person)
        assert reader.get("/api/v1/suppliers/").status_code == 200
        assert reader.post("/api/v1/suppliers/", {"name": "x"}, format="json").status_code == 403
        assert (
            reader.patch(
                f"/api/v1/supplier-licences/{licence.pk}/", {"number": "x"}, format="json"
            ).status_code
            == 403
        )
    licence.refresh_from_db()
    assert licence.version == 1


@pytest.mark.django_db
def test_a_customer_sees_no_supplier_anywhere(api, client, customer_a):
    licence = SupplierLicenceFactory()
    reader = api.as_user(customer_a)
    assert reader.get(f"/api/v1/suppliers/{licence.supplier.pk}/").status_code == 403
    assert reader.get(f"/api/v1/supplier-licences/{licence.pk}/").status_code == 403
    client.force_login(customer_a)
    assert client.get(f"/catalog/suppliers/{licence.supplier.pk}/").status_code == 404
    assert client.get(f"/catalog/supplier-licences/{licence.pk}/").status_code == 404


@pytest.mark.django_db
def test_the_supplier_list_shows_each_licence_status_in_fixed_queries(as_quality):
    def supplier_with_permit(until):
        supplier = SupplierFactory()
        SupplierLicenceFactory(supplier=supplier, valid_until=until)
        SupplierLicenceFactory(supplier=supplier, kind="business", valid_until=None)
        return supplier

    with freeze_time("2026-11-27"):
        expiring = supplier_with_permit(datetime.date(2026, 12, 17))
        expired = supplier_with_permit(datetime.date(2026, 11, 1))
        with CaptureQueriesContext(connection) as small:
            page = as_quality.get("/catalog/suppliers/")
        statuses = {row["object"].pk: row["cells"][-1] for row in page.context["rows"]}
        assert statuses == {expiring.pk: "Expiring soon", expired.pk: "Expired"}
        for _ in range(10):
            supplier_with_permit(datetime.date(2030, 1, 1))
        with CaptureQueriesContext(connection) as large:
            as_quality.get("/catalog/suppliers/")
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.django_db
def test_the_licence_list_filters_expiring_and_expired_licences(as_quality):
    with freeze_time("2026-11-27"):
        soon = SupplierLicenceFactory(valid_until=datetime.date(2026, 12, 17))
        gone = SupplierLicenceFactory(valid_until=datetime.date(2026, 11, 1))
        SupplierLicenceFactory(valid_until=datetime.date(2030, 1, 1))
        SupplierLicenceFactory(kind="operation_filing", valid_until=None)

        def listed(**query):
            page = as_quality.get("/catalog/supplier-licences/", query)
            return [row["object"].pk for row in page.context["rows"]]

        assert listed(expiry="expiring") == [soon.pk]
        assert listed(expiry="expired") == [gone.pk]
        assert len(listed(expiry="valid")) == 2


@pytest.mark.django_db
def test_the_api_supplier_list_runs_in_fixed_queries(api, quality_staff):
    client = api.as_user(quality_staff)
    for _ in range(2):
        SupplierLicenceFactory()
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/suppliers/")
    for _ in range(12):
        SupplierLicenceFactory()
    with CaptureQueriesContext(connection) as large:
        assert client.get("/api/v1/suppliers/").json()["count"] == 14
    assert len(large.captured_queries) == len(small.captured_queries)
