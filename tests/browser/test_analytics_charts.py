"""The charts page in Chromium under the real CSP (`script-src 'self'`, `style-src 'self'`):
Plotly, served from the `plotly` package by the static finder, draws the KPI trend, the Pareto
of fault codes and the service-promise chart as SVG, with no console error and no CSP
violation; a click on a Pareto bar opens the work orders with that fault code."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.analytics.conftest import counted_tickets, local  # noqa: F401  (a fixture)
from tests.browser.conftest import log_in
from tests.catalog.factories import FaultCodeFactory
from tests.factories import PASSWORD
from tests.installed_base.factories import DeviceFactory
from tests.tickets.factories import TicketFactory
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.browser


@pytest.mark.usefixtures("counted_tickets")
def test_the_charts_draw_under_the_csp_and_a_bar_opens_its_work_orders(
    live_server, page: Page, page_errors, manager, hospital_a
):
    # Given March 2026: requests, and completed repairs with two fault codes
    TicketFactory(organization=hospital_a, received_at=local(2026, 3, 2, 9), priority="urgent")
    display, power = FaultCodeFactory(code="MON-01"), FaultCodeFactory(code="MON-02")
    for fault_code, count in ((power, 3), (display, 1)):
        for _ in range(count):
            WorkOrderFactory(device=DeviceFactory(organization=hospital_a), kind="repair",
                             status="completed", fault_code=fault_code,
                             completed_at=local(2026, 3, 10, 9))  # fmt: skip

    # When the manager opens the charts for March
    log_in(page, "manager", PASSWORD)
    page.goto(f"{live_server.url}/analytics/charts/?from=2026-03-01&to=2026-03-31")

    # Then Plotly draws each chart as SVG
    for chart in ("#chart-kpi-trend", "#chart-fault-pareto", "#chart-sla"):
        expect(page.locator(f"{chart} .main-svg").first).to_be_attached(timeout=20_000)
        expect(page.locator(f"{chart}[data-chart-drawn='true']")).to_have_count(1)
    # And the Pareto's first bar is the most frequent code
    bars = page.locator("#chart-fault-pareto .bars .point")
    expect(bars).to_have_count(2)

    # When the first bar is clicked, its work orders open
    box = bars.first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert f"fault_code={power.pk}" in page.url
    expect(page.locator("body")).to_contain_text(WorkOrderFactory._meta.model.objects.filter(
        fault_code=power).order_by("pk").first().number)  # fmt: skip

    # And nothing went wrong on the way: no console error, no CSP violation
    assert page_errors == []
