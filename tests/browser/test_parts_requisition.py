"""A parts requisition in Chromium (issue 5's journey): an engineer requests parts from the
phone form, the warehouse keeper approves fewer than asked and issues them, the engineer
confirms receipt, sees them in "My stock" and returns one unused part."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from medservice.accounts.choices import Role
from medservice.inventory.choices import LocationKind, RequisitionStatus
from medservice.inventory.models import Requisition
from medservice.inventory.services import on_hand
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, user_with_role
from tests.inventory.factories import LocationFactory, PartFactory, stock_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def act(page: Page, action: str, fields: dict[str, str] | None = None) -> None:
    """Open an action's small form on the requisition page, fill it and send it."""
    page.locator(f'summary[data-action="{action}"]').click()
    form = page.locator(f'form[data-action="{action}"]')
    for name, value in (fields or {}).items():
        form.locator(f'[name="{name}"]').fill(value)
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    expect(page.locator(".alert-success")).to_be_visible()


def test_an_engineer_requests_parts_the_keeper_approves_and_issues_the_engineer_returns_one(
    live_server, page: Page, page_errors, company
):
    engineer = user_with_role(Role.FIELD_ENGINEER, company, username="engineer")
    user_with_role(Role.WAREHOUSE_KEEPER, company, username="keeper")
    central = LocationFactory(code="CENTRAL", name="中心仓", kind=LocationKind.CENTRAL)
    LocationFactory(code="QUARANTINE", name="隔离区", kind=LocationKind.QUARANTINE)
    board = PartFactory(number="MB-100", name_zh="主板", name_en="Main board")
    stock_in(central, board, 10)

    # The engineer asks the central warehouse for 3 boards, from the phone form.
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "engineer", PASSWORD)
    page.goto("/inventory/requisitions/request/")
    page.locator("#id_source").select_option(str(central.pk))
    page.locator("#id_reference").fill("WO-2026-000012")
    # The part is picked by typing its number: the catalogue may hold thousands.
    box = page.locator("#id_lines-0-part")
    box.press_sequentially("MB-1")
    option = page.get_by_role("listbox").get_by_role("option").filter(has_text="MB-100")
    expect(option).to_be_visible()
    box.press("ArrowDown")
    box.press("Enter")
    expect(page.locator('input[name="lines-0-part"]')).to_have_value(str(board.pk))
    page.locator("#id_lines-0-quantity").fill("3")
    with page.expect_navigation():
        page.locator("#requisition-submit").click()
    expect(page).to_have_url(re.compile(r"/inventory/requisitions/\d+/$"))
    requisition = Requisition.objects.get()
    line = requisition.lines.get()
    assert (requisition.status, requisition.requester, line.quantity) == (
        RequisitionStatus.REQUESTED,
        engineer,
        Decimal(3),
    )

    # The warehouse keeper approves 2 of them and issues them.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, "keeper", PASSWORD)
    page.goto(f"/inventory/requisitions/{requisition.pk}/")
    act(page, "approve", {f"approved_{line.pk}": "2", "note": "先领两块"})
    act(page, "issue")
    expect(page.locator("#requisition-lines")).to_contain_text("MB-100")
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.ISSUED
    assert on_hand(part=board, location=central) == Decimal(8)

    # The engineer confirms receipt, finds the boards in "My stock" and returns one.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "engineer", PASSWORD)
    page.goto(f"/inventory/requisitions/{requisition.pk}/")
    act(page, "receive")
    page.goto("/inventory/my-stock/")
    expect(page.locator('#my-stock tr[data-part="MB-100"]')).to_contain_text("2")
    with page.expect_navigation():
        page.locator('[data-return="MB-100"]').click()
    act(page, "return", {f"unused_{line.pk}": "1"})

    line.refresh_from_db()
    requisition.refresh_from_db()
    assert (requisition.status, line.quantity_issued, line.quantity_returned) == (
        RequisitionStatus.RECEIVED,
        Decimal(2),
        Decimal(1),
    )
    assert on_hand(part=board, location=central) == Decimal(9)
    assert on_hand(part=board, location=requisition.destination) == Decimal(1)
    assert page_errors == []
