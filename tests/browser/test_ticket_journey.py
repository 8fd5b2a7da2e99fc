"""A complaint from the call to the customer's rating, in Chromium (issue 4's journey): the
agent registers it by typing the caller's phone, assigns it, proposes and records the agreed
solution, screens and resolves it; the customer signs in, confirms and rates it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from medservice.accounts.choices import Role
from medservice.tickets.models import Ticket
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, ContactFactory, OrganizationFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def act(page: Page, action: str, fields: dict[str, str], selects: dict[str, str] | None = None):
    """Open an action's small form on the ticket page, fill it and send it."""
    page.locator(f'summary[data-action="{action}"]').click()
    form = page.locator(f'details:has(summary[data-action="{action}"]) form')
    for name, value in (selects or {}).items():
        form.locator(f'[name="{name}"]').select_option(value)
    for name, value in fields.items():
        form.locator(f'[name="{name}"]').fill(value)
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    expect(page.locator(".alert-success")).to_be_visible()


def test_a_phone_complaint_from_the_call_to_the_customers_rating(
    live_server, page: Page, page_errors, agent, company
):
    hospital = OrganizationFactory(name="市第一人民医院")
    ContactFactory(organization=hospital, name="钱丽华", phone="13916624875")
    engineer = user_with_role(Role.FIELD_ENGINEER, company, username="engineer")
    customer = user_with_role(Role.CUSTOMER_USER, hospital, username="nurse")

    # The call: the agent types the caller's phone and picks the contact it finds.
    log_in(page, "agent", PASSWORD)
    page.goto("/tickets/register/")
    page.locator("#id_reporter_phone").press_sequentially("13916624875")
    page.locator('#lookup-contacts [data-pick="contact"]').click()
    page.locator("#id_kind").select_option("complaint")
    page.locator("#id_description").fill("ICU 3 床监护仪报警音量太小，夜班听不到。")
    with page.expect_navigation():
        page.locator("#register-submit").click()
    expect(page).to_have_url(re.compile(r"/tickets/tickets/\d+/$"))
    ticket = Ticket.objects.get()
    assert (ticket.number, ticket.organization, ticket.contact.name) == (
        "TS-2026-000001",
        hospital,
        "钱丽华",
    )

    act(page, "assign", {}, selects={"owner": str(engineer.pk)})
    act(page, "acknowledge", {"note": "已电话联系护士长，告知编号和时限。"})
    act(page, "propose-solution", {"solution": "工程师上门调整报警音量并培训。"})
    act(page, "agree-solution", {"agreed_by": "钱丽华"}, selects={"method": "phone"})
    act(page, "start", {})
    act(
        page,
        "screen",
        {"no_investigation_reason": "设置问题，非产品缺陷。"},
        selects={
            "is_complaint": "true",
            "may_be_reportable": "false",
            "needs_investigation": "false",
        },
    )
    act(
        page,
        "resolve",
        {"resolution": "报警音量调至 7 级，已培训科室护士。"},
        selects={"resolution_type": "guidance"},
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.owner) == ("resolved", engineer)

    # The customer signs in, lands on the portal, confirms and rates.
    page.context.clear_cookies()
    log_in(page, "nurse", PASSWORD)
    expect(page).to_have_url(re.compile(r"/portal/$"))
    page.get_by_role("link", name="TS-2026-000001").first.click()
    confirm = page.locator('form[data-action="confirm"]')
    confirm.get_by_text("5", exact=True).click()
    confirm.locator('[name="comment"]').fill("处理及时，谢谢。")
    with page.expect_navigation():
        confirm.locator('button[type="submit"]').click()

    ticket.refresh_from_db()
    assert (ticket.status, ticket.confirmation_method, ticket.rating, ticket.rating_comment) == (
        "closed",
        "portal",
        5,
        "处理及时，谢谢。",
    )
    assert ticket.confirmed_by_name == (customer.get_full_name() or customer.get_username())
    assert page_errors == []
