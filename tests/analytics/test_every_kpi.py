"""Rules every registered KPI follows, checked over the whole registry: who may read it, that
the API and the page answer each role within its rights, and that an empty period gives no
figure rather than a zero."""

from __future__ import annotations

import pytest

from medservice.analytics.kpis import KPIS, kpi_compute
from tests.analytics.conftest import MARCH_END, MARCH_START

pytestmark = pytest.mark.django_db

# The 23 KPIs of docs/kpis.md (complaints per 100 units and per batch are two).
DOCUMENTED = {
    "first_response_time", "plan_time", "resolution_time", "sla_compliance",
    "tickets_open_over_14d", "on_time_arrival", "first_time_fix", "mttr", "mtbf",
    "repeat_failure_30d", "uptime", "pm_completion", "overdue_work_orders",
    "parts_consumption", "service_cost_ratio", "return_rate", "complaints_per_100_units",
    "complaints_per_batch", "recall_completion", "csat", "nps", "follow_up_completion",
    "awareness_to_decision",
}  # fmt: skip


def test_the_registry_holds_exactly_the_documented_kpis():
    assert set(KPIS) == DOCUMENTED


@pytest.mark.parametrize("code", sorted(DOCUMENTED))
def test_each_role_reads_a_kpi_only_within_its_rights(
    api, code, manager, customer_a, distributor_engineer
):
    definition = KPIS[code]
    period = {"from": MARCH_START.isoformat(), "to": MARCH_END.isoformat()}
    # Customers have no KPI pages; internal-only KPIs never reach a distributor
    assert definition.available_to(manager) is True
    assert definition.available_to(customer_a) is False
    if definition.internal_only:
        assert definition.available_to(distributor_engineer) is False
    for user in (manager, distributor_engineer, customer_a):
        expected = 200 if definition.available_to(user) else 404
        client = api.as_user(user)
        assert client.get(f"/api/v1/kpis/{code}/", period).status_code == expected
        assert client.get(f"/api/v1/kpis/{code}/records/", period).status_code == expected


@pytest.mark.parametrize("code", sorted(DOCUMENTED))
def test_an_empty_period_counts_nothing_and_has_no_value(code, make_filter):
    # Given no records at all (the demo data is not loaded in tests)
    result = kpi_compute(code, make_filter())
    # Then nothing is counted and no figure is made up
    assert result.records.count() == 0
    assert result.denominator in (None, 0)
    if code not in {"overdue_work_orders", "tickets_open_over_14d"}:
        assert result.value is None
    else:
        assert result.value == 0  # a stock: none open is a true zero


@pytest.mark.parametrize("code", sorted(DOCUMENTED))
def test_a_page_of_records_costs_the_same_queries_with_one_row_or_many(
    code, make_filter, django_assert_max_num_queries
):
    from medservice.analytics.kpis import KpiResult

    # Given the drill-down as the pages list it (the KPI's joins applied: a wrong path fails)
    result = kpi_compute(code, make_filter())
    listing = result.listing()
    # Then reading a page and every column of it is one query, whatever the rows
    with django_assert_max_num_queries(1):
        rows = list(listing[:50])
        for record in rows:
            for column in KPIS[code].columns:
                column.read(record)
    assert isinstance(result, KpiResult)
