"""Register a call in Chromium: the agent types the caller's phone, picks the contact the
look-up finds (contact and organisation filled), the quality questions open for a patient
involved, and Register gives the number."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.factories import PASSWORD, ContactFactory, OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Set to a directory to keep screenshots of the page (desktop and phone) for a look.
SCREENSHOTS = os.environ.get("MEDSERVICE_SCREENSHOTS", "")


def test_an_agent_registers_a_call_by_typing_the_callers_phone(
    live_server, page: Page, page_errors, agent
):
    hospital = OrganizationFactory(name="市第一人民医院")
    caller = ContactFactory(organization=hospital, name="钱丽华", phone="13916624875")
    log_in(page, "agent", PASSWORD)
    page.goto("/tickets/register/")

    page.locator("#id_reporter_phone").press_sequentially("139 1662 4875")
    contact = page.locator('#lookup-contacts [data-pick="contact"]')
    expect(contact).to_have_count(1)
    expect(contact).to_contain_text("139****4875")
    contact.click()

    expect(page.locator('input[name="contact"]')).to_have_value(str(caller.pk))
    expect(page.locator('input[name="organization"]')).to_have_value(str(hospital.pk))
    expect(page.locator('[data-chosen="contact"]')).to_be_visible()
    expect(page.locator('[data-chosen="device"]')).to_be_hidden()
    expect(page.locator("#id_organization")).to_have_value("市第一人民医院")

    quality = page.locator("#quality-intake")
    expect(quality).not_to_have_attribute("open", "")
    page.locator("#id_patient_involved").check()
    expect(quality).to_have_attribute("open", "")
    page.locator("#id_patient_involved").uncheck()
    expect(quality).not_to_have_attribute("open", "")

    page.locator("#id_kind").select_option("complaint")
    page.locator("#id_description").fill("ICU 3 床监护仪开机后黑屏。")
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/register-desktop.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SCREENSHOTS}/register-phone.png", full_page=True)
    with page.expect_navigation():
        page.locator("#register-submit").click()

    expect(page).to_have_url(re.compile(r"/tickets/tickets/\d+/$"))
    expect(page.locator(".alert-success")).to_contain_text("TS-2026-000001")
    assert page_errors == []
