"""QR labels: each opens the unit's public fault-report page through a keyed token."""

from __future__ import annotations

import io

import pytest
import segno

from medservice.installed_base.labels import (
    device_from_label_token,
    device_label_qr,
    device_label_token,
)
from tests.installed_base.factories import DeviceFactory


@pytest.fixture
def unit(hospital_a):
    return DeviceFactory(organization=hospital_a, serial_number="KM8-2303-00101")


@pytest.mark.django_db
def test_a_label_token_finds_its_device_and_a_forged_one_does_not(unit):
    token = device_label_token(unit)
    assert device_from_label_token(token) == unit
    number, _, check = token.partition("-")
    assert device_from_label_token(f"{int(number) + 1}-{check}") is None
    assert device_from_label_token("not-a-token") is None


@pytest.mark.django_db
def test_the_public_page_needs_no_sign_in_and_names_the_unit(client, unit, settings):
    settings.MEDSERVICE_SERVICE_PHONE = "400-820-1234"
    page = client.get(f"/r/{device_label_token(unit)}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "KM8-2303-00101" in text and 'href="tel:400-820-1234"' in text
    assert client.get("/r/1-000000000000/").status_code == 404


@pytest.mark.django_db
def test_the_label_encodes_the_public_address(client, agent, unit, settings):
    settings.MEDSERVICE_PUBLIC_URL = "https://service.example.cn"
    client.force_login(agent)
    response = client.get(f"/installed-base/devices/{unit.pk}/label.svg")
    assert response["Content-Type"] == "image/svg+xml"
    expected = io.BytesIO()
    segno.make(f"https://service.example.cn/r/{device_label_token(unit)}/", error="m").save(
        expected, kind="svg", scale=4, border=2, xmldecl=False, svgns=True
    )
    assert response.content == expected.getvalue() == device_label_qr(unit)
    png = client.get(f"/installed-base/devices/{unit.pk}/label.png")
    assert (png["Content-Type"], png.content[:8]) == ("image/png", b"\x89PNG\r\n\x1a\n")
    assert client.get(f"/installed-base/devices/{unit.pk}/label.gif").status_code == 404


@pytest.mark.django_db
def test_labels_are_scoped(client, customer_a, hospital_b):
    elsewhere = DeviceFactory(organization=hospital_b)
    client.force_login(customer_a)
    assert client.get(f"/installed-base/devices/{elsewhere.pk}/label.svg").status_code == 404
    sheet = client.get("/installed-base/devices/labels/", {"ids": [elsewhere.pk]}).content.decode()
    assert elsewhere.serial_number not in sheet


@pytest.mark.django_db
def test_the_a4_sheet_holds_a_label_per_selected_device(client, agent, hospital_a):
    first, second = DeviceFactory(organization=hospital_a), DeviceFactory(organization=hospital_a)
    client.force_login(agent)
    sheet = client.get(
        "/installed-base/devices/labels/", {"ids": [first.pk, second.pk]}
    ).content.decode()
    assert sheet.count('<figure class="device-label">') == 2
    assert "2 labels. Print this page on A4 (scale 100%)." in sheet


@pytest.mark.django_db
def test_trace_shows_sales_lines_and_holds_only_to_roles_that_may_see_them(
    api, distributor, hospital_a
):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    hospital_a.served_by.add(distributor)
    unit = DeviceFactory(organization=hospital_a, batch_number="B2309")
    engineer = user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor)
    body = (
        api.as_user(engineer)
        .get("/api/v1/trace/", {"device_model": unit.device_model_id, "batch_number": "B2309"})
        .json()
    )
    assert ([row["id"] for row in body["devices"]], body["delivery_lines"], body["holds"]) == (
        [unit.pk],
        [],
        [],
    )
