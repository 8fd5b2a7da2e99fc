"""Every catalogue page renders for the people who keep the catalogue, and the navigation
leads to it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.catalog.factories import (
    AcceptanceTestItemFactory,
    DeviceModelFactory,
    FaultCodeFactory,
    SupplierLicenceFactory,
)

RESOURCE_NAMES = [
    "device-models",
    "manufacturers",
    "suppliers",
    "supplier-licences",
    "product-lines",
    "fault-codes",
    "acceptance-test-items",
]


@pytest.fixture
def one_of_each(db):
    item = AcceptanceTestItemFactory()
    licence = SupplierLicenceFactory()
    code = FaultCodeFactory(product_line=item.device_model.product_line)
    return {
        "device-models": item.device_model,
        "manufacturers": item.device_model.manufacturer,
        "suppliers": licence.supplier,
        "supplier-licences": licence,
        "product-lines": item.device_model.product_line,
        "fault-codes": code,
        "acceptance-test-items": item,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", RESOURCE_NAMES)
def test_quality_staff_open_every_list_detail_and_form_page(as_quality, one_of_each, name):
    record = one_of_each[name]
    pages = [
        reverse(f"catalog:{name}-list"),
        reverse(f"catalog:{name}-detail", kwargs={"pk": record.pk}),
        reverse(f"catalog:{name}-create"),
        reverse(f"catalog:{name}-edit", kwargs={"pk": record.pk}),
        reverse(f"catalog:{name}-delete", kwargs={"pk": record.pk}),
    ]
    for url in pages:
        assert as_quality.get(url).status_code == 200, url
    assert f'href="{pages[1]}"' in as_quality.get(pages[0]).content.decode()


@pytest.mark.django_db
def test_the_navigation_leads_quality_staff_to_device_models_and_suppliers(as_quality):
    page = as_quality.get("/").content.decode()
    assert 'href="/catalog/device-models/"' in page
    assert 'href="/catalog/suppliers/"' in page


@pytest.mark.django_db
def test_a_customer_is_led_to_device_models_only(client, customer_a):
    client.force_login(customer_a)
    page = client.get("/", follow=True).content.decode()  # customers land on the portal
    assert 'href="/catalog/device-models/"' in page
    assert 'href="/catalog/suppliers/"' not in page


@pytest.mark.django_db
def test_the_device_model_page_lists_its_acceptance_checks(as_quality):
    item = AcceptanceTestItemFactory(name="无创血压静态压力（200 mmHg）", unit="mmHg")
    page = as_quality.get(f"/catalog/device-models/{item.device_model.pk}/").content.decode()
    assert "无创血压静态压力（200 mmHg）" in page
    assert f'href="/catalog/acceptance-test-items/{item.pk}/"' in page


@pytest.mark.django_db
def test_the_supplier_page_lists_its_licences(as_quality):
    licence = SupplierLicenceFactory(number="沪药监械经营许20210045号")
    page = as_quality.get(f"/catalog/suppliers/{licence.supplier.pk}/").content.decode()
    assert "沪药监械经营许20210045号" in page


@pytest.mark.django_db
def test_the_product_line_page_lists_its_models_and_fault_codes(as_quality):
    model = DeviceModelFactory(model_spec="KD-M8000")
    FaultCodeFactory(product_line=model.product_line, code="MON-01", name="显示故障")
    page = as_quality.get(f"/catalog/product-lines/{model.product_line.pk}/").content.decode()
    assert "KD-M8000" in page and "MON-01" in page


MAKERS = {
    "device-models": lambda: DeviceModelFactory(),
    "manufacturers": lambda: DeviceModelFactory().manufacturer,
    "suppliers": lambda: SupplierLicenceFactory().supplier,
    "supplier-licences": lambda: SupplierLicenceFactory(),
    "product-lines": lambda: DeviceModelFactory().product_line,
    "fault-codes": lambda: FaultCodeFactory(parent=FaultCodeFactory()),
    "acceptance-test-items": lambda: AcceptanceTestItemFactory(),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", RESOURCE_NAMES)
def test_every_list_page_and_api_list_runs_in_fixed_queries(as_quality, api, quality_staff, name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api.as_user(quality_staff)
    make = MAKERS[name]

    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as page:
            assert as_quality.get(reverse(f"catalog:{name}-list")).status_code == 200
        with CaptureQueriesContext(connection) as listing:
            assert client.get(f"/api/v1/{name}/").status_code == 200
        return len(page.captured_queries), len(listing.captured_queries)

    for _ in range(2):
        make()
    small = count_queries()
    for _ in range(12):
        make()
    assert count_queries() == small
