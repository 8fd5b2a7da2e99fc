"""The KPI registry's shared rules: nearest-rank percentiles, rounding, periods, targets and
verdicts, scoping of the filter's organisation, and the API around any registered KPI."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from medservice.analytics.choices import Direction, Verdict
from medservice.analytics.kpis import KpiResult, nearest_rank, percent, verdict
from medservice.analytics.models import KpiTarget
from medservice.analytics.selectors import target_for
from tests.analytics.conftest import MARCH_END, MARCH_START, local
from tests.factories import OrganizationFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_nearest_rank_takes_the_ceil_p_n_th_value():
    values = [Decimal(v) for v in (7, 1, 3, 5)]
    assert nearest_rank(values, "0.5") == Decimal(3)  # the 2nd of 4
    assert nearest_rank([Decimal(v) for v in range(1, 11)], "0.9") == Decimal(9)  # 9th of 10
    assert nearest_rank([Decimal(4)], "0.9") == Decimal(4)
    assert nearest_rank([], "0.5") is None


def test_percent_rounds_half_up_to_a_tenth_and_has_no_value_over_nothing():
    assert percent(1, 3) == Decimal("33.3")
    assert percent(2, 3) == Decimal("66.7")
    assert percent(1, 8) == Decimal("12.5")
    assert percent(0, 0) is None


def test_a_period_runs_from_local_midnight_to_local_midnight(make_filter):
    kpi_filter = make_filter()
    assert kpi_filter.start_at == local(2026, 3, 1)
    assert kpi_filter.end_at == local(2026, 4, 1)
    assert kpi_filter.start_at.utcoffset() == datetime.timedelta(hours=8)
    assert kpi_filter.upto == local(2026, 4, 1)  # as of 15 April: the whole month
    assert make_filter(as_of=local(2026, 3, 20, 9)).upto == local(2026, 3, 20, 9)


def test_the_previous_period_of_a_month_is_the_month_before(make_filter):
    previous = make_filter().previous()
    assert (previous.start, previous.end) == (datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
    quarter = make_filter(start=datetime.date(2026, 4, 1), end=datetime.date(2026, 6, 30))
    assert (quarter.previous().start, quarter.previous().end) == (
        datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))  # fmt: skip
    days = make_filter(start=datetime.date(2026, 3, 10), end=datetime.date(2026, 3, 16))
    assert (days.previous().start, days.previous().end) == (
        datetime.date(2026, 3, 3), datetime.date(2026, 3, 9))  # fmt: skip


def test_every_kpi_has_a_seeded_default_target(make_filter):
    # Given the defaults ensured after migrate
    # Then every code of docs/kpis.md with a fixed or proposed target has a company-wide row
    target = target_for("first_response_time", make_filter())
    assert (target.value, target.direction, target.proposed) == (
        Decimal("24.00"), Direction.AT_MOST, False)  # fmt: skip
    assert target_for("csat", make_filter()).proposed is True


def test_the_most_specific_target_wins_and_others_never_apply(make_filter, hospital_a, hospital_b):
    # Given a company-wide target, one for hospital A and one for hospital B
    KpiTarget.objects.filter(kpi="csat").delete()
    company_wide = KpiTarget.objects.create(kpi="csat", value=90, direction=Direction.AT_LEAST)
    for_a = KpiTarget.objects.create(
        kpi="csat", value=95, direction=Direction.AT_LEAST, organization=hospital_a
    )
    KpiTarget.objects.create(kpi="csat", value=80, direction=Direction.AT_LEAST,
                             organization=hospital_b)  # fmt: skip
    # Then hospital A's figure uses its own, the company's the company-wide one
    assert target_for("csat", make_filter(organization_id=hospital_a.pk)) == for_a
    assert target_for("csat", make_filter()) == company_wide
    # And a target valid only from April does not apply to March
    KpiTarget.objects.create(kpi="csat", value=99, direction=Direction.AT_LEAST,
                             valid_from=datetime.date(2026, 4, 1))  # fmt: skip
    assert target_for("csat", make_filter()) == company_wide


@pytest.mark.parametrize(
    ("value", "direction", "expected"),
    [
        ("24", Direction.AT_MOST, Verdict.MET),
        ("29", Direction.AT_MOST, Verdict.AMBER),
        ("31", Direction.AT_MOST, Verdict.MISSED),
        ("24", Direction.AT_LEAST, Verdict.MET),
        ("19", Direction.AT_LEAST, Verdict.AMBER),
        ("17.9", Direction.AT_LEAST, Verdict.MISSED),
    ],
)
def test_a_figure_is_met_close_or_missed_against_its_target(value, direction, expected):
    target = KpiTarget(kpi="x", value=Decimal(24), direction=direction, amber_band=Decimal(6))
    assert verdict(Decimal(value), target) == expected
    assert verdict(None, target) is None


def test_the_filter_organisation_counts_its_children_and_scope_limits_customers(
    counted_tickets, make_filter, hospital_a, hospital_b, customer_a
):
    # Given requests at hospital A, at a department-organisation under it, and at hospital B
    child = OrganizationFactory(name="市第一人民医院 分院", parent=hospital_a)
    at_a = TicketFactory(
        organization=hospital_a, received_at=local(2026, 3, 2, 9), priority="urgent"
    )
    at_child = TicketFactory(organization=child, received_at=local(2026, 3, 3, 9))
    TicketFactory(organization=hospital_b, received_at=local(2026, 3, 4, 9))
    TicketFactory(organization=hospital_a, received_at=local(2026, 4, 1, 0))  # April
    # When the manager filters on hospital A
    result: KpiResult = counted_tickets(make_filter(organization_id=hospital_a.pk))
    # Then A and its child are counted, B and April are not
    assert set(result.records.values_list("pk", flat=True)) == {at_a.pk, at_child.pk}
    assert (result.numerator, result.denominator, result.value) == (1, 2, Decimal("50.0"))
    # And hospital A's own user sees the same two without any filter, never B's
    mine = counted_tickets(make_filter(user=customer_a))
    assert set(mine.records.values_list("pk", flat=True)) == {at_a.pk, at_child.pk}


def test_the_api_gives_every_visible_kpi_with_its_target_and_records(
    api, counted_tickets, manager, hospital_a
):
    TicketFactory(organization=hospital_a, received_at=local(2026, 3, 2, 9), priority="urgent")
    TicketFactory(organization=hospital_a, received_at=local(2026, 3, 5, 9), priority="normal")
    client = api.as_user(manager)
    response = client.get("/api/v1/kpis/urgent_share/", {"from": "2026-03-01", "to": "2026-03-31"})
    assert response.status_code == 200
    body = response.json()
    assert (body["value"], body["numerator"], body["denominator"]) == ("50.0", "1", "2")
    records = client.get(
        "/api/v1/kpis/urgent_share/records/", {"from": "2026-03-01", "to": "2026-03-31"}
    ).json()
    assert records["count"] == 2
    assert sorted(row["measure"] for row in records["results"]) == [False, True]
    listing = client.get("/api/v1/kpis/", {"from": "2026-03-01", "to": "2026-03-31"}).json()
    assert "urgent_share" in [row["code"] for row in listing["results"]]


def test_a_bad_filter_names_the_field(api, counted_tickets, manager, customer_a, hospital_b):
    client = api.as_user(manager)
    response = client.get("/api/v1/kpis/urgent_share/", {"from": "2026-03-31", "to": "2026-03-01"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["to"]
    response = client.get("/api/v1/kpis/urgent_share/", {"from": "March"})
    assert list(response.json()["error"]["fields"]) == ["from"]
    # An organisation outside a customer's scope is refused by name, not silently ignored
    response = api.as_user(customer_a).get("/api/v1/kpis/", {"organization": hospital_b.pk})
    assert response.status_code in (400, 404)


def test_an_unknown_kpi_is_not_found(api, manager):
    assert api.as_user(manager).get("/api/v1/kpis/no_such_kpi/").status_code == 404


def test_the_kpi_page_shows_the_figure_and_links_the_records(
    client, counted_tickets, manager, hospital_a
):
    TicketFactory(organization=hospital_a, received_at=local(2026, 3, 2, 9), priority="urgent")
    client.force_login(manager)
    response = client.get("/analytics/kpis/", {"from": "2026-03-01", "to": "2026-03-31"})
    assert response.status_code == 200
    assert "Urgent share" in response.content.decode()
    page = client.get("/analytics/kpis/urgent_share/", {"from": "2026-03-01", "to": "2026-03-31"})
    assert page.status_code == 200
    assert MARCH_START < MARCH_END


def test_a_kpi_refusing_a_parameter_answers_400_on_the_page_too(client, manager):
    # Given the SLA compliance KPI, which knows the promises it can be split by
    client.force_login(manager)
    # When the page is asked for a promise that does not exist
    response = client.get("/analytics/kpis/", {"target": "lunch"})
    records = client.get("/analytics/kpis/sla_compliance/", {"target": "lunch"})
    # Then both pages answer 400 and name the parameter instead of failing
    assert response.status_code == 400
    assert records.status_code == 400
    assert "target:" in records.content.decode()


def test_far_dates_and_nul_characters_are_refused_by_name(api, manager):
    client = api.as_user(manager)
    # Given dates no record can have, and a parameter PostgreSQL could not compare
    far = client.get("/api/v1/kpis/", {"from": "9999-12-30", "to": "9999-12-31"})
    early = client.get("/api/v1/kpis/", {"from": "0001-01-01", "to": "0001-01-31"})
    nul = client.get("/api/v1/kpis/", {"batch": "A\x00B"})
    # Then each answers 400 naming the problem instead of failing
    assert far.status_code == 400
    assert far.json()["error"]["fields"] == {"to": ["Choose dates between 2000 and 2099."]}
    assert early.json()["error"]["fields"] == {"from": ["Choose dates between 2000 and 2099."]}
    assert nul.status_code == 400
    assert "batch" in str(nul.json()["error"]["fields"])


def test_the_organisation_filter_is_searched_not_listed(client, manager, hospital_a, hospital_b):
    # Given a company serving thousands of organisations (two here)
    client.force_login(manager)
    # When the KPI page opens with hospital A chosen
    html = client.get("/analytics/kpis/", {"organization": hospital_a.pk}).content.decode()
    # Then the page holds the chosen one and a search box, not every organisation
    assert hospital_a.name in html
    assert hospital_b.name not in html
    assert 'data-source="/customers/organizations/options/"' in html


def test_the_search_text_of_the_organisation_box_is_not_a_kpi_parameter(manager, hospital_a):
    from medservice.analytics.forms import KpiFilterForm

    # Given the form as a browser without scripts submits it: the id and the typed name
    form = KpiFilterForm(
        {"organization": str(hospital_a.pk), "organization_search": hospital_a.name},
        user=manager,
    )
    assert form.is_valid(), form.errors
    kpi_filter = form.kpi_filter()
    # Then the organisation is the filter and the text is no extra KPI parameter
    assert (kpi_filter.organization_id, dict(kpi_filter.extra)) == (hospital_a.pk, {})
