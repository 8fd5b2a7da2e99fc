"""Choosing an organisation (and a department) on the installed base's lists and forms: the page
holds the chosen organisation only, whatever the number of organisations, and the choice is
still limited to what the user may see."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.accounts.choices import Role
from medservice.core.registry import RESOURCES
from medservice.core.testing import grant_all_permissions
from tests.factories import DepartmentFactory, OrganizationFactory, user_with_role
from tests.installed_base.factories import DeviceFactory

pytestmark = pytest.mark.django_db

LISTS = ["/installed-base/devices/", "/installed-base/deliveries/", "/installed-base/contracts/"]
FORMS = [
    "/installed-base/devices/new/",
    "/installed-base/deliveries/new/",
    "/installed-base/contracts/new/",
]
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


def candidates(first: int, count: int) -> list[str]:
    """`count` organisations with names that appear nowhere else on a page."""
    names = [f"候选医院-{number:03d}" for number in range(first, first + count)]
    for name in names:
        OrganizationFactory(name=name)
    return names


def page_and_queries(client, url: str, data: dict | None = None) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data or {})
    assert response.status_code == 200, url
    return response.content.decode(), len(captured.captured_queries)


def organization_box(page: str) -> tuple[str, str]:
    """(text shown, id held) of the organisation box on a page."""
    shown = re.search(r'<input type="text"[^>]*id="id_organization"[^>]*>', page).group(0)
    held = re.search(r'<input type="hidden" name="organization" value="([^"]*)"', page).group(1)
    return re.search(r'value="([^"]*)"', shown).group(1), held


@pytest.mark.parametrize("url", LISTS + FORMS)
def test_a_page_renders_no_organisation_and_the_same_queries_whatever_their_number(
    client, manager, url
):
    DeviceFactory(organization=OrganizationFactory(name="在列医院"))
    client.force_login(manager)
    few = candidates(0, 3)
    page_with_few, queries_with_few = page_and_queries(client, url)

    many = candidates(3, 40)
    page_with_many, queries_with_many = page_and_queries(client, url)

    assert [name for name in few + many if name in page_with_many] == []
    assert [name for name in few if name in page_with_few] == []
    assert queries_with_many == queries_with_few
    assert "<option" not in page_with_many.split('id="id_organization"')[1].split("</div>")[0]
    assert organization_box(page_with_many) == ("", "")


@pytest.mark.parametrize("url", LISTS)
def test_a_filtered_list_shows_the_chosen_organisation_only(client, manager, url):
    names = candidates(0, 30)
    chosen = OrganizationFactory(name="已选医院")
    DeviceFactory(organization=chosen, serial_number="SN-CHOSEN")
    DeviceFactory(organization=OrganizationFactory(name="别家医院"), serial_number="SN-OTHER")
    client.force_login(manager)

    page, queries = page_and_queries(client, url, {"organization": chosen.pk})

    assert organization_box(page) == ("已选医院", str(chosen.pk))
    assert [name for name in [*names, "别家医院"] if name in page] == []
    candidates(30, 30)
    assert page_and_queries(client, url, {"organization": chosen.pk})[1] == queries


def test_the_device_list_filtered_by_one_organisation_lists_its_units_only(client, manager):
    chosen = OrganizationFactory(name="已选医院")
    DeviceFactory(organization=chosen, serial_number="SN-CHOSEN")
    DeviceFactory(organization=OrganizationFactory(), serial_number="SN-OTHER")
    client.force_login(manager)

    page = client.get("/installed-base/devices/", {"organization": chosen.pk}).content.decode()

    assert "SN-CHOSEN" in page
    assert "SN-OTHER" not in page


def test_the_device_list_without_a_script_takes_a_typed_name_or_id(client, manager):
    """Without JavaScript the text box is submitted as `organization_search`."""
    chosen = OrganizationFactory(name="已选医院")
    other = OrganizationFactory(name="别家医院")
    DeviceFactory(organization=chosen, serial_number="SN-CHOSEN")
    DeviceFactory(organization=other, serial_number="SN-OTHER")
    client.force_login(manager)
    url = "/installed-base/devices/"

    by_name = client.get(url, {"organization": "", "organization_search": "已选医院"})
    by_id = client.get(url, {"organization": "", "organization_search": str(chosen.pk)})
    # The hidden id still holds the earlier choice; the text typed over it wins.
    retyped = client.get(url, {"organization": other.pk, "organization_search": "已选医院"})
    unchanged = client.get(url, {"organization": other.pk, "organization_search": "别家医院"})
    cleared = client.get(url, {"organization": other.pk, "organization_search": ""})

    for response in (by_name, by_id, retyped):
        page = response.content.decode()
        assert ("SN-CHOSEN" in page, "SN-OTHER" in page) == (True, False)
        assert organization_box(page) == ("已选医院", str(chosen.pk))
    page = unchanged.content.decode()
    assert ("SN-CHOSEN" in page, "SN-OTHER" in page) == (False, True)
    page = cleared.content.decode()
    assert ("SN-CHOSEN" in page, "SN-OTHER" in page) == (True, True)
    assert organization_box(page) == ("", "")


def test_a_customer_filtering_by_another_organisation_sees_neither_its_name_nor_its_units(
    client, customer_a, hospital_a, hospital_b
):
    DeviceFactory(organization=hospital_a, serial_number="SN-A")
    DeviceFactory(organization=hospital_b, serial_number="SN-B")
    client.force_login(customer_a)

    page = client.get("/installed-base/devices/", {"organization": hospital_b.pk}).content.decode()

    assert hospital_b.name not in page
    assert "SN-B" not in page
    assert organization_box(page) == ("", "")
    # An id no record can have chooses nothing; text is given back to be corrected.
    for nonsense, shown in (("99999999999999999999", ""), ("abc", "abc")):
        response = client.get("/installed-base/devices/", {"organization": nonsense})
        assert response.status_code == 200
        assert organization_box(response.content.decode()) == (shown, "")


def test_the_device_form_refuses_an_organisation_the_user_may_not_see(
    client, distributor, hospital_a, hospital_b
):
    hospital_a.served_by.add(distributor)
    engineer = user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor)
    grant_all_permissions(engineer, RESOURCES["devices"])
    client.force_login(engineer)
    model = DeviceFactory(organization=hospital_a).device_model

    response = client.post(
        "/installed-base/devices/new/",
        {
            "device_model": model.pk,
            "serial_number": "SN-NEW",
            "organization": hospital_b.pk,
            "status": "installed",
        },
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert INVALID_CHOICE in page
    assert hospital_b.name not in page
    assert organization_box(page) == ("", "")


def test_the_device_form_refuses_a_department_the_user_may_not_see(
    client, distributor, hospital_a, hospital_b
):
    hospital_a.served_by.add(distributor)
    engineer = user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor)
    grant_all_permissions(engineer, RESOURCES["devices"])
    client.force_login(engineer)
    model = DeviceFactory(organization=hospital_a).device_model
    elsewhere = DepartmentFactory(organization=hospital_b, name="放射科")

    response = client.post(
        "/installed-base/devices/new/",
        {
            "device_model": model.pk,
            "serial_number": "SN-NEW",
            "organization": hospital_a.pk,
            "department": elsewhere.pk,
            "status": "installed",
        },
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert INVALID_CHOICE in page
    assert "放射科" not in page


def test_the_device_edit_form_shows_its_owner_and_department_only(client, agent):
    candidates(0, 30)
    owner = OrganizationFactory(name="设备所属医院")
    department = DepartmentFactory(organization=owner, name="心内科")
    DepartmentFactory(organization=owner, name="放射科")
    device = DeviceFactory(organization=owner, department=department)
    client.force_login(agent)

    page = client.get(f"/installed-base/devices/{device.pk}/edit/").content.decode()

    assert organization_box(page) == ("设备所属医院", str(owner.pk))
    assert f'<input type="hidden" name="department" value="{department.pk}"' in page
    assert 'data-depends-on="organization"' in page
    assert "心内科" in page
    assert "放射科" not in page
    assert "候选医院" not in page


def test_the_organisation_box_is_labelled_and_announced(client, manager):
    client.force_login(manager)

    page = client.get("/installed-base/devices/").content.decode()

    assert '<label class="form-label small" for="id_organization">' in page
    box = re.search(r'<input type="text"[^>]*id="id_organization"[^>]*>', page).group(0)
    assert 'role="combobox"' in box
    assert 'aria-controls="id_organization_listbox"' in box
    assert 'aria-expanded="false"' in box
    assert 'name="organization_search"' in box
    assert (
        '<ul class="autocomplete-options list-group shadow-sm" id="id_organization_listbox"' in page
    )
    assert 'data-source="/customers/organizations/options/"' in page


def test_the_delivery_and_contract_forms_refuse_an_invisible_organisation(
    client, customer_a, hospital_b
):
    for resource in ("deliveries", "contracts"):
        grant_all_permissions(customer_a, RESOURCES[resource])
    client.force_login(customer_a)

    delivery = client.post(
        "/installed-base/deliveries/new/",
        {"organization": hospital_b.pk, "delivered_on": "2026-03-02", "lines": "x"},
    )
    contract = client.post(
        "/installed-base/contracts/new/",
        {
            "organization": hospital_b.pk,
            "kind": "full_service",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
        },
    )

    for response in (delivery, contract):
        assert response.status_code == 400
        page = response.content.decode()
        assert INVALID_CHOICE in page
        assert hospital_b.name not in page


def test_the_api_filter_still_takes_an_organisation_id(api, manager):
    chosen = OrganizationFactory(name="已选医院")
    device = DeviceFactory(organization=chosen)
    DeviceFactory()

    body = api.as_user(manager).get("/api/v1/devices/", {"organization": chosen.pk}).json()

    assert [row["id"] for row in body["results"]] == [device.pk]
