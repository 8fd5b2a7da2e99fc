"""Every page of the installed base renders for the roles that use it, and the navigation
leads there."""

from __future__ import annotations

import pytest

from medservice.installed_base.choices import HoldScope
from medservice.installed_base.services import hold_place
from tests.installed_base.factories import ContractFactory, DeliveryLineFactory, DeviceFactory

pytestmark = pytest.mark.django_db


def test_device_delivery_and_contract_pages_render(client, manager, hospital_a):
    device = DeviceFactory(organization=hospital_a)
    line = DeliveryLineFactory(delivery__organization=hospital_a)
    contract = ContractFactory(organization=hospital_a, devices=[device])
    client.force_login(manager)
    for name, record in (
        ("devices", device),
        ("deliveries", line.delivery),
        ("contracts", contract),
    ):
        for url in (
            f"/installed-base/{name}/",
            f"/installed-base/{name}/{record.pk}/",
            f"/installed-base/{name}/new/",
            f"/installed-base/{name}/{record.pk}/edit/",
        ):
            response = client.get(url)
            assert response.status_code == 200, url
    delivery_page = client.get(f"/installed-base/deliveries/{line.delivery.pk}/").content.decode()
    assert line.batch_number in delivery_page  # its lines
    contract_page = client.get(f"/installed-base/contracts/{contract.pk}/").content.decode()
    assert device.serial_number in contract_page  # its units
    device_page = client.get(f"/installed-base/devices/{device.pk}/").content.decode()
    assert contract.number in device_page  # its contracts


def test_hold_pages_render_for_quality(client, quality, monitor):
    hold = hold_place(
        actor=quality, scope=HoldScope.BATCH, device_model=monitor, batch_number="1", reason="x"
    )
    client.force_login(quality)
    for url in (
        "/installed-base/holds/",
        f"/installed-base/holds/{hold.pk}/",
        "/installed-base/holds/new/",
    ):
        assert client.get(url).status_code == 200, url


def test_the_navigation_shows_what_the_role_may_see(client, quality, customer_a):
    client.force_login(quality)
    home = client.get("/").content.decode()
    for url in (
        "/installed-base/devices/",
        "/installed-base/warranty-register/",
        "/installed-base/deliveries/",
        "/installed-base/contracts/",
        "/installed-base/holds/",
    ):
        assert f'href="{url}"' in home
    client.force_login(customer_a)
    home = client.get("/", follow=True).content.decode()  # customers land on the portal
    assert 'href="/installed-base/devices/"' in home
    assert 'href="/installed-base/holds/"' not in home


def test_a_customer_sees_its_units_coverage_but_no_hold(client, customer_a, hospital_a, quality):
    device = DeviceFactory(organization=hospital_a)
    hold_place(
        actor=quality, scope=HoldScope.DEVICE, device=device, reason="内部复核", kind="evidence"
    )
    client.force_login(customer_a)
    page = client.get(f"/installed-base/devices/{device.pk}/").content.decode()
    assert "Coverage on" in page
    assert "内部复核" not in page
