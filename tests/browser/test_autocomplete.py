"""The organisation filter of the device list in Chromium: type part of a name, pick it with the
keyboard, and the list shows that organisation's units only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, OrganizationFactory
from tests.installed_base.factories import DeviceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typing_part_of_a_name_and_picking_it_filters_the_device_list(
    live_server, page: Page, page_errors, manager
):
    chosen = OrganizationFactory(name="市第一人民医院")
    DeviceFactory(organization=chosen, serial_number="SN-CHOSEN")
    DeviceFactory(organization=OrganizationFactory(name="县中医院"), serial_number="SN-OTHER")
    log_in(page, "manager", PASSWORD)
    page.goto("/installed-base/devices/")
    rows = page.locator("#list-rows table tbody tr")
    expect(rows).to_have_count(2)

    box = page.get_by_role("combobox", name="Owner")
    box.press_sequentially("第一")
    options = page.get_by_role("listbox").get_by_role("option")
    option = options.filter(has_text="市第一人民医院")
    expect(option).to_be_visible()
    expect(options).to_have_count(1)
    box.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    box.press("Enter")

    expect(box).to_have_value("市第一人民医院")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.locator('input[name="organization"]')).to_have_value(str(chosen.pk))
    expect(page).to_have_url(re.compile(rf"[?&]organization={chosen.pk}(&|$)"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("SN-CHOSEN")
    assert page_errors == []
