"""The chart specifications: a KPI's 12-month trend, the Pareto of fault codes of completed
repairs (order and cumulative share), service promises kept and breached per month; the charts
page; and the static finder that publishes Plotly's one file."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from medservice.analytics.charts import fault_counts, fault_pareto, kpi_trend, sla_months
from medservice.core.staticfinders import PackageFileFinder
from medservice.tickets.models import Ticket, TicketClock
from tests.analytics.conftest import local
from tests.catalog.factories import FaultCodeFactory
from tests.installed_base.factories import DeviceFactory
from tests.tickets.factories import TicketFactory
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db


# --- Pareto -------------------------------------------------------------------------------------


def repairs(organization, fault_code, count, *, completed_at, kind="repair"):
    for _ in range(count):
        WorkOrderFactory(device=DeviceFactory(organization=organization), kind=kind,
                         status="completed", fault_code=fault_code,
                         completed_at=completed_at)  # fmt: skip


@pytest.fixture
def fault_codes(hospital_a, hospital_b):
    """March 2026 at hospital A: MON-02 ×3, MON-01 ×2, MON-03 ×2, one repair without a code;
    outside the count: an April repair, an installation, and MON-04 ×4 at hospital B."""
    first, second, third, fourth = (FaultCodeFactory(code=f"MON-0{n}", name=f"故障{n}")
                                    for n in (1, 2, 3, 4))  # fmt: skip
    codes = {"MON-01": first, "MON-02": second, "MON-03": third, "MON-04": fourth}
    march = local(2026, 3, 10, 9)
    repairs(hospital_a, second, 3, completed_at=march)
    repairs(hospital_a, first, 2, completed_at=march)
    repairs(hospital_a, third, 2, completed_at=march)
    repairs(hospital_a, None, 1, completed_at=march)
    repairs(hospital_a, first, 1, completed_at=local(2026, 4, 2, 9))
    repairs(hospital_a, first, 1, completed_at=march, kind="installation")
    repairs(hospital_b, fourth, 4, completed_at=march)
    return codes


def test_the_pareto_orders_codes_by_count_and_accumulates_the_share(
    make_filter, fault_codes, customer_a
):
    # When the manager's Pareto for March is built
    rows = fault_counts(make_filter())
    # Then the codes come most frequent first, ties by code, with the cumulative share of 11
    assert [(row["code"], row["count"], row["cumulative_percent"]) for row in rows] == [
        ("MON-04", 4, Decimal("36.4")),  # 4/11
        ("MON-02", 3, Decimal("63.6")),  # 7/11
        ("MON-01", 2, Decimal("81.8")),  # 9/11
        ("MON-03", 2, Decimal("100.0")),  # 11/11
    ]
    # And hospital A's customer counts only its own 7 repairs
    rows = fault_counts(make_filter(user=customer_a))
    assert [(row["code"], row["count"], row["cumulative_percent"]) for row in rows] == [
        ("MON-02", 3, Decimal("42.9")), ("MON-01", 2, Decimal("71.4")),
        ("MON-03", 2, Decimal("100.0")),
    ]  # fmt: skip


def test_each_pareto_bar_leads_to_the_work_orders_with_its_code(make_filter, fault_codes):
    second = fault_codes["MON-02"]
    spec = fault_pareto(make_filter())
    bars, line = spec["data"]
    assert bars["x"] == ["MON-04", "MON-02", "MON-01", "MON-03"]
    assert bars["y"] == [4, 3, 2, 2]
    assert bars["customdata"][1] == f"/service/work-orders/?fault_code={second.pk}&kind=repair"
    assert line["y"] == [36.4, 63.6, 81.8, 100.0]
    assert line["yaxis"] == "y2"


def test_the_work_order_list_filters_by_fault_code(client, manager, fault_codes):
    from medservice.work_orders.models import WorkOrder

    second = fault_codes["MON-02"]
    client.force_login(manager)
    response = client.get(f"/service/work-orders/?fault_code={second.pk}&kind=repair")
    assert response.status_code == 200
    page = response.content.decode()
    shown = [order.number for order in WorkOrder.objects.all() if order.number in page]
    assert sorted(shown) == sorted(
        WorkOrder.objects.filter(fault_code=second).values_list("number", flat=True)
    )
    assert len(shown) == 3


# --- KPI trend ----------------------------------------------------------------------------------


def test_the_trend_computes_the_kpi_for_each_of_the_last_twelve_months(
    make_filter, counted_tickets, hospital_a
):
    # Given April 2025 (the first month shown): one urgent request; May 2025: one normal;
    # January 2026: one urgent of two; March 2026: one urgent
    for received, priority in ((local(2026, 1, 5, 9), "urgent"), (local(2026, 1, 6, 9), "normal"),
                               (local(2026, 3, 2, 9), "urgent"), (local(2025, 4, 3, 9), "urgent"),
                               (local(2025, 5, 3, 9), "normal")):  # fmt: skip
        TicketFactory(organization=hospital_a, received_at=received, priority=priority)
    # When the trend ends with March 2026
    spec = kpi_trend("urgent_share", make_filter())
    line = spec["data"][0]
    # Then it shows May 2025 to March 2026 (12 months) with the figure of each
    assert line["x"][0] == "2025-04" and line["x"][-1] == "2026-03" and len(line["x"]) == 12
    assert line["y"] == [100.0, 0.0, None, None, None, None, None, None, None, 50.0, None, 100.0]
    # And each point leads to that month's records
    assert line["customdata"][-1] == "/analytics/kpis/urgent_share/?from=2026-03-01&to=2026-03-31"
    # And no target line is drawn for a KPI without a target
    assert len(spec["data"]) == 1


# --- SLA compliance over time -------------------------------------------------------------------


def test_promises_kept_and_breached_are_counted_by_the_month_of_their_outcome(
    make_filter, hospital_a, customer_a, hospital_b
):
    # Given a February request whose first clock was met on time and whose second breached,
    # a March request met on time twice, and a cancelled one breached (not counted)
    february = TicketFactory(organization=hospital_a, received_at=local(2026, 2, 10, 9))
    march = TicketFactory(organization=hospital_a, received_at=local(2026, 3, 3, 9))
    cancelled = TicketFactory(organization=hospital_a, received_at=local(2026, 3, 3, 9))
    at_b = TicketFactory(organization=hospital_b, received_at=local(2026, 3, 3, 9))
    Ticket.objects.filter(pk=cancelled.pk).update(status="cancelled")

    def clocks(ticket):
        return list(TicketClock.objects.filter(ticket=ticket).order_by("pk"))

    first, second = clocks(february)[:2]
    TicketClock.objects.filter(pk=first.pk).update(met_at=local(2026, 2, 10, 12))
    # Breached late on the last evening of February, local time (UTC: still the 28th)
    TicketClock.objects.filter(pk=second.pk).update(breached_at=local(2026, 2, 28, 23))
    for clock in clocks(march)[:2]:
        TicketClock.objects.filter(pk=clock.pk).update(met_at=local(2026, 3, 4, 9))
    TicketClock.objects.filter(pk=clocks(cancelled)[0].pk).update(breached_at=local(2026, 3, 5))
    TicketClock.objects.filter(pk=clocks(at_b)[0].pk).update(breached_at=local(2026, 3, 1, 1))
    # When the months up to March are counted
    rows = {row["month"]: row for row in sla_months(make_filter())}
    # Then February kept 1 and breached 1 (50 %), March kept 2 and breached 1 at B (66.7 %)
    feb, mar = rows[datetime.date(2026, 2, 1)], rows[datetime.date(2026, 3, 1)]
    assert (feb["met"], feb["breached"], feb["percent"]) == (1, 1, Decimal("50.0"))
    assert (mar["met"], mar["breached"], mar["percent"]) == (2, 1, Decimal("66.7"))
    assert rows[datetime.date(2026, 1, 1)]["percent"] is None
    # And hospital A's customer does not see B's breach
    rows = {row["month"]: row for row in sla_months(make_filter(user=customer_a))}
    assert rows[datetime.date(2026, 3, 1)]["breached"] == 0


# --- The page and the static file ---------------------------------------------------------------


def test_the_charts_page_puts_each_spec_in_a_json_script(client, manager, counted_tickets):
    client.force_login(manager)
    response = client.get("/analytics/charts/?from=2026-03-01&to=2026-03-31&code=urgent_share")
    assert response.status_code == 200
    page = response.content.decode()
    for chart in ("chart-kpi-trend", "chart-fault-pareto", "chart-sla"):
        assert f'data-chart="{chart}-spec"' in page
        assert f'<script id="{chart}-spec" type="application/json">' in page
    assert "/static/plotly/plotly.min.js" in page
    assert "<script>" not in page  # no inline script


def test_the_charts_page_refuses_an_unknown_kpi_and_a_user_without_kpis(client, manager, company):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    client.force_login(manager)
    assert client.get("/analytics/charts/?code=nonsense").status_code == 404
    client.force_login(user_with_role(Role.FIELD_ENGINEER, company, username="eng"))
    assert client.get("/analytics/charts/").status_code == 404


def test_the_finder_publishes_only_plotly_min_js():
    finder = PackageFileFinder()
    found = finder.find("plotly/plotly.min.js")
    assert found.endswith("plotly/package_data/plotly.min.js")
    assert finder.find("plotly/widgetbundle.js") == ""
    assert finder.find("plotly/plotly.min.js", find_all=True) == [found]
    listed = [(storage.prefix, path) for path, storage in finder.list(None)]
    assert listed == [("plotly", "plotly.min.js")]


def test_the_chart_series_are_stored_and_show_their_age(
    client, manager, hospital_a, settings, django_capture_on_commit_callbacks
):
    from freezegun import freeze_time

    settings.ANALYTICS_SNAPSHOT_MAX_AGE = 900

    from tests.tickets.factories import TicketFactory

    # Given a request whose resolution promise was kept in March
    ticket = TicketFactory(organization=hospital_a, received_at=local(2026, 3, 2, 9))
    kept = TicketClock.objects.filter(ticket=ticket).order_by("pk").first()
    TicketClock.objects.filter(pk=kept.pk).update(met_at=local(2026, 3, 3, 9))
    client.force_login(manager)
    query = {"from": "2026-03-01", "to": "2026-03-31"}
    with freeze_time(local(2026, 4, 15, 12)):
        # (the tests' task backend runs the computation as soon as it is enqueued)
        with django_capture_on_commit_callbacks(execute=True):
            waiting = client.get("/analytics/charts/", query)
        first = client.get("/analytics/charts/", query)
    assert (waiting.status_code, waiting["Refresh"]) == (202, "5")
    assert "this page reloads itself in 5 seconds" in waiting.content.decode()
    # When another promise is breached and the charts are opened two minutes later
    late = TicketFactory(organization=hospital_a, received_at=local(2026, 3, 4, 9))
    breached = TicketClock.objects.filter(ticket=late).order_by("pk").first()
    TicketClock.objects.filter(pk=breached.pk).update(breached_at=local(2026, 3, 5, 9))
    with freeze_time(local(2026, 4, 15, 12, 2)):
        second = client.get("/analytics/charts/", query)
    # Then the second shows the stored series, with its age, until it is recomputed
    assert "Data as of 2026-04-15 12:00 (0 minutes ago)" in first.content.decode()
    assert "Data as of 2026-04-15 12:00 (2 minutes ago)" in second.content.decode()
    march = _sla_point(second, "2026-03")
    assert march == _sla_point(first, "2026-03")
    with freeze_time(local(2026, 4, 15, 12, 20)):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.get("/analytics/charts/", query).status_code == 202
        later = client.get("/analytics/charts/", query)
    assert _sla_point(later, "2026-03")[1] == march[1] + 1


def _sla_point(response, month: str) -> tuple[int, int]:
    """(kept, breached) of one month in the SLA chart of a charts page."""
    import json
    import re

    html = response.content.decode()
    spec = json.loads(re.search(r'id="chart-sla-spec"[^>]*>(.*?)</script>', html, re.S).group(1))
    kept, breached = spec["data"][0], spec["data"][1]
    index = kept["x"].index(month)
    return kept["y"][index], breached["y"][index]
