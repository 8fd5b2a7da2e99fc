"""The field-work KPIs (docs/kpis.md, "Field work" and "Parts and money"): each on a small
hand-checked set over March 2026 seen on 15 April, with the drill-down being exactly the
records counted, the scope of customers and distributors, and the filters."""

# The work-order tests' fixtures are imported below; tests name them as arguments.
# ruff: noqa: F811

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from medservice.analytics.kpis import KPIS, KpiResult
from medservice.inventory.models import StockMovement
from medservice.tickets.models import Team, Ticket
from medservice.work_orders.models import FeeItem, PartUsage, TimeEntry, Visit, WorkOrder
from tests.analytics.conftest import local
from tests.catalog.factories import DeviceModelFactory
from tests.installed_base.factories import (
    BatchModelFactory,
    DeliveryFactory,
    DeliveryLineFactory,
    DeviceFactory,
)
from tests.inventory.factories import EngineerStockFactory, PartFactory
from tests.maintenance.factories import PmPlanFactory, PmVisitFactory
from tests.tickets.factories import TicketFactory
from tests.work_orders.conftest import (  # noqa: F401  (fixtures)
    engineer,
    make_engineer,
    monitor_model,
    product_line,
)
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db

JAN_10 = datetime.date(2026, 1, 10)


def compute(code: str, kpi_filter) -> KpiResult:
    return KPIS[code].compute(kpi_filter)


def pks(result: KpiResult) -> set[int]:
    return set(result.records.values_list("pk", flat=True))


def flagged(result: KpiResult) -> set[int]:
    return {pk for pk, flag in result.measures.items() if flag is True}


def assert_drill_down_matches(result: KpiResult) -> None:
    """The drill-down is exactly the population and its flags are the numerator."""
    assert result.records.count() == result.denominator
    assert set(result.measures) == pks(result)
    assert len(flagged(result)) == result.numerator
    assert_columns_read(result)


def assert_columns_read(result: KpiResult) -> None:
    """Every column of the drill-down reads from every record (as the pages show them)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    definition = KPIS[result.code]
    # One query for the page however many rows: what the columns read is joined.
    with CaptureQueriesContext(connection) as queries:
        for record in result.listing():
            for column in definition.columns:
                column.read(record)
    assert len(queries) == 1, [query["sql"][:120] for query in queries.captured_queries]


@pytest.fixture
def distributor_serves_b(distributor, hospital_b):
    hospital_b.served_by.add(distributor)
    return hospital_b


@pytest.fixture
def other_engineer(company, monitor_model):
    return make_engineer(company, "li", badge="E-002", model=monitor_model)


@pytest.fixture
def unit_a(monitor_model, hospital_a):
    return DeviceFactory(device_model=monitor_model, organization=hospital_a,
                         installed_on=JAN_10, status="in_service")  # fmt: skip


@pytest.fixture
def unit_b(monitor_model, hospital_b):
    return DeviceFactory(device_model=monitor_model, organization=hospital_b,
                         installed_on=datetime.date(2025, 6, 1), status="in_service")  # fmt: skip


def repair(device, **fields) -> WorkOrder:
    fields.setdefault("status", "completed")
    return WorkOrderFactory(device=device, kind="repair", **fields)


# --- on_time_arrival ----------------------------------------------------------------------------


def visit(work_order, engineer_user, start, *, status="done", checked_in=None, hours=2) -> Visit:
    return Visit.objects.create(
        work_order=work_order, engineer=engineer_user, status=status, window_start=start,
        window_end=start + datetime.timedelta(hours=hours), checked_in_at=checked_in,
    )  # fmt: skip


@pytest.fixture
def visits(unit_a, unit_b, engineer, other_engineer):
    at_a = repair(unit_a, status="in_progress", route="on_site", engineer=engineer)
    at_b = repair(unit_b, status="in_progress", route="on_site", engineer=other_engineer)
    cancelled = repair(unit_a, status="cancelled", route="on_site", engineer=engineer)
    return {
        # 10 minutes after the window's start: on time
        "early": visit(at_a, engineer, local(2026, 3, 2, 9), checked_in=local(2026, 3, 2, 9, 10)),
        # exactly the 15 minutes' grace: on time
        "grace": visit(at_a, engineer, local(2026, 3, 3, 9), status="on_site",
                       checked_in=local(2026, 3, 3, 9, 15)),
        # 16 minutes: late
        "late": visit(at_a, engineer, local(2026, 3, 4, 9), checked_in=local(2026, 3, 4, 9, 16)),
        # never came, the window is over: a no-show, late
        "no_show": visit(at_a, engineer, local(2026, 3, 5, 9), status="scheduled"),
        # still scheduled, window 11:00–13:00 on the 20th
        "later": visit(at_a, engineer, local(2026, 3, 20, 11), status="scheduled"),
        "cancelled": visit(at_a, engineer, local(2026, 3, 6, 9), status="cancelled"),
        "of_cancelled_order": visit(cancelled, engineer, local(2026, 3, 7, 9),
                                    checked_in=local(2026, 3, 7, 9)),
        "april": visit(at_a, engineer, local(2026, 4, 1, 9), checked_in=local(2026, 4, 1, 9)),
        "at_b": visit(at_b, other_engineer, local(2026, 3, 6, 14),
                      checked_in=local(2026, 3, 6, 13, 50)),
    }  # fmt: skip


def test_on_time_arrival_counts_check_ins_within_the_grace_and_no_shows_as_late(
    make_filter, visits
):
    # Given six visits counted in March: early, at the grace, late, two no-shows, and at B
    result = compute("on_time_arrival", make_filter())
    # Then three of the six were on time; cancelled visits, visits of cancelled orders and
    # April's are not counted
    counted = {"early", "grace", "late", "no_show", "later", "at_b"}
    assert pks(result) == {visits[name].pk for name in counted}
    assert flagged(result) == {visits[name].pk for name in ("early", "grace", "at_b")}
    assert (result.numerator, result.denominator, result.value) == (3, 6, Decimal("50.0"))
    assert_drill_down_matches(result)
    # And the drill-down shows the minutes late
    columns = {str(column.label): column for column in KPIS["on_time_arrival"].columns}
    assert columns["Minutes late"].read(visits["late"]) == 16
    assert columns["Minutes late"].read(visits["no_show"]) is None


def test_on_time_arrival_does_not_count_a_window_not_yet_over(make_filter, visits):
    # When seen on 20 March at noon, during the 11:00–13:00 window
    result = compute("on_time_arrival", make_filter(as_of=local(2026, 3, 20, 12)))
    # Then that visit is not yet a no-show
    assert visits["later"].pk not in pks(result)
    assert (result.numerator, result.denominator, result.value) == (3, 5, Decimal("60.0"))


def test_on_time_arrival_by_engineer_and_in_each_users_scope(
    make_filter, visits, engineer, customer_a, distributor_engineer, distributor_serves_b
):
    by_engineer = compute("on_time_arrival", make_filter(engineer_id=engineer.pk))
    assert (by_engineer.numerator, by_engineer.denominator) == (2, 5)
    assert by_engineer.value == Decimal("40.0")
    # Hospital A's user sees A's five visits, B's distributor only B's
    mine = compute("on_time_arrival", make_filter(user=customer_a))
    assert visits["at_b"].pk not in pks(mine)
    assert (mine.numerator, mine.denominator) == (2, 5)
    theirs = compute("on_time_arrival", make_filter(user=distributor_engineer))
    assert pks(theirs) == {visits["at_b"].pk}
    assert theirs.value == Decimal("100.0")


# --- first_time_fix -----------------------------------------------------------------------------


@pytest.fixture
def on_site_repairs(unit_a, unit_b, engineer):
    team = Team.objects.create(name="华东维修组")
    ticket = TicketFactory(organization=unit_a.organization, auto_assign=False)
    Ticket.objects.filter(pk=ticket.pk).update(team=team)
    march = local(2026, 3, 10, 17)
    fixed = repair(unit_a, route="on_site", result="returned_to_service", completed_at=march,
                   ticket=ticket, engineer=engineer)  # fmt: skip
    visit(fixed, engineer, local(2026, 3, 10, 9), checked_in=local(2026, 3, 10, 9))
    twice = repair(unit_a, route="on_site", status="closed", result="returned_to_service",
                   completed_at=march)  # fmt: skip
    visit(twice, engineer, local(2026, 3, 8, 9), checked_in=local(2026, 3, 8, 9))
    visit(twice, engineer, local(2026, 3, 9, 9), checked_in=local(2026, 3, 9, 9))
    unusable = repair(unit_b, route="on_site", result="not_to_be_used", completed_at=march)
    visit(unusable, engineer, local(2026, 3, 9, 9), checked_in=local(2026, 3, 9, 9))
    visit(unusable, engineer, local(2026, 3, 10, 9), status="cancelled")
    repair(unit_a, route="remote", result="returned_to_service", completed_at=march)
    repair(unit_a, route="on_site", status="cancelled", completed_at=march)
    repair(unit_a, route="on_site", result="returned_to_service",
           completed_at=local(2026, 4, 1, 0))  # fmt: skip
    return {"fixed": fixed, "twice": twice, "unusable": unusable, "team": team}


def test_first_time_fix_is_one_visit_and_back_in_service(make_filter, on_site_repairs):
    # Given three on-site repairs completed in March: one visit and back in service, two
    # visits, and one visit but not to be used (plus a remote, a cancelled and April's)
    result = compute("first_time_fix", make_filter())
    # Then one of three was fixed first time
    assert pks(result) == {on_site_repairs[n].pk for n in ("fixed", "twice", "unusable")}
    assert flagged(result) == {on_site_repairs["fixed"].pk}
    assert (result.numerator, result.denominator, result.value) == (1, 3, Decimal("33.3"))
    assert_drill_down_matches(result)
    visits_column = KPIS["first_time_fix"].columns[3]
    assert {record.number: visits_column.read(record) for record in result.records} == {
        on_site_repairs["fixed"].number: 1, on_site_repairs["twice"].number: 2,
        on_site_repairs["unusable"].number: 1}  # fmt: skip


def test_first_time_fix_by_team_reads_the_requests_team(make_filter, on_site_repairs):
    result = compute("first_time_fix", make_filter(team_id=on_site_repairs["team"].pk))
    assert pks(result) == {on_site_repairs["fixed"].pk}
    assert result.value == Decimal("100.0")


# --- mttr ---------------------------------------------------------------------------------------


@pytest.fixture
def returned_repairs(unit_a, unit_b, engineer):
    def back(device, down, up, **fields):
        return repair(device, down_since=down, back_in_service_at=up,
                      result="returned_to_service", completed_at=up, **fields)  # fmt: skip

    made = {
        "48h": back(unit_a, local(2026, 3, 1, 8), local(2026, 3, 3, 8)),
        "6h": back(unit_a, local(2026, 3, 10, 10), local(2026, 3, 10, 16)),
        "84h": back(unit_b, local(2026, 2, 27), local(2026, 3, 2, 12)),
        "12h": back(unit_a, local(2026, 3, 20, 8), local(2026, 3, 20, 20)),
    }
    back(unit_a, local(2026, 3, 5), local(2026, 3, 6), status="cancelled")
    back(unit_a, local(2026, 3, 30), local(2026, 4, 1, 1))  # back in April
    repair(unit_a, down_since=local(2026, 3, 11), result="not_to_be_used",
           completed_at=local(2026, 3, 12))  # fmt: skip
    for work_order, kind, hours in ((made["48h"], "labour", 3), (made["6h"], "labour", 2),
                                    (made["48h"], "travel", 5)):  # fmt: skip
        TimeEntry.objects.create(work_order=work_order, engineer=engineer, kind=kind,
                                 day=datetime.date(2026, 3, 2), hours=hours)  # fmt: skip
    return made


def test_mttr_is_the_mean_downtime_of_the_repairs_back_in_service(make_filter, returned_repairs):
    # Given four repairs back in service in March down 48, 6, 84 and 12 hours
    result = compute("mttr", make_filter())
    # Then the mean is 37.5 h, the median (2nd of 4) 12 h and the p90 (4th) 84 h
    assert (result.value, result.mean, result.median, result.p90) == (
        Decimal("37.50"), Decimal("37.50"), Decimal("12.00"), Decimal("84.00"))  # fmt: skip
    assert result.denominator == 4
    assert pks(result) == {work_order.pk for work_order in returned_repairs.values()}
    assert result.records.count() == result.denominator
    assert {pk: hours for pk, hours in result.measures.items()} == {
        returned_repairs["48h"].pk: Decimal("48.00"), returned_repairs["6h"].pk: Decimal("6.00"),
        returned_repairs["84h"].pk: Decimal("84.00"),
        returned_repairs["12h"].pk: Decimal("12.00")}  # fmt: skip
    # And beside it: 5 labour hours over 4 repairs (travel not counted), the unusable one
    assert_columns_read(result)
    assert result.notes == [
        "Hands-on labour: 1.3 h per repair.",
        "1 repairs completed as not to be used are not counted.",
    ]


def test_mttr_for_hospital_a_and_its_customer(make_filter, returned_repairs, hospital_a,
                                              customer_a):  # fmt: skip
    filtered = compute("mttr", make_filter(organization_id=hospital_a.pk))
    mine = compute("mttr", make_filter(user=customer_a))
    assert pks(filtered) == pks(mine) == {
        returned_repairs[n].pk for n in ("48h", "6h", "12h")}  # fmt: skip
    assert mine.value == Decimal("22.00")  # (48 + 6 + 12) / 3


# --- mtbf and uptime ----------------------------------------------------------------------------


@pytest.fixture
def fleet(monitor_model, hospital_a, hospital_b, unit_a, unit_b):
    """Monitors in use in March: unit A all month (744 h), a second unit at A from 17 March
    (360 h), unit B all month (744 h): 1,848 unit-hours; a scrapped and a stocked unit do not
    count."""
    new_at_a = DeviceFactory(
        device_model=monitor_model,
        organization=hospital_a,
        installed_on=datetime.date(2026, 3, 17),
        accepted_on=None,
        status="in_service",
    )
    scrapped = DeviceFactory(
        device_model=monitor_model, organization=hospital_a, installed_on=JAN_10, status="scrapped"
    )
    DeviceFactory(device_model=monitor_model, organization=hospital_a, installed_on=None,
                  accepted_on=None, status="in_stock")  # fmt: skip
    made = {
        # Unit A: two overlapping repairs, 1 March 08:00 to 4 March 08:00 merged: 72 h down
        "a_first": repair(unit_a, down_since=local(2026, 3, 1, 8),
                          back_in_service_at=local(2026, 3, 3, 8)),
        "a_second": repair(unit_a, down_since=local(2026, 3, 2, 8),
                           back_in_service_at=local(2026, 3, 4, 8)),
        # Unit B: down since February, 36 h of it in March; not a March failure
        "b_february": repair(unit_b, down_since=local(2026, 2, 27),
                             back_in_service_at=local(2026, 3, 2, 12)),
        # The new unit: misuse, 10 h down but not a reliability failure
        "misuse": repair(new_at_a, down_since=local(2026, 3, 25, 10),
                         back_in_service_at=local(2026, 3, 25, 20), exclusion="misuse"),
        # Unit B: 6 h in March
        "b_march": repair(unit_b, down_since=local(2026, 3, 28),
                          back_in_service_at=local(2026, 3, 28, 6)),
    }  # fmt: skip
    repair(unit_a, status="cancelled", down_since=local(2026, 3, 10),
           back_in_service_at=local(2026, 3, 12))  # fmt: skip
    repair(scrapped, down_since=local(2026, 3, 10), back_in_service_at=local(2026, 3, 12))
    return made


def test_mtbf_is_operating_hours_per_failure_of_the_model(make_filter, monitor_model, fleet):
    # Given 1,848 unit-hours, 124 down (72 + 36 + 10 + 6), three failures reported in March
    result = compute("mtbf", make_filter(device_model_id=monitor_model.pk))
    # Then MTBF = 1,724 / 3 = 574.67 h
    assert (result.numerator, result.denominator, result.value) == (
        Decimal("1724.00"), 3, Decimal("574.67"))  # fmt: skip
    # And the drill-down is exactly the three failures (the numerator is hours, not records)
    assert pks(result) == {fleet[n].pk for n in ("a_first", "a_second", "b_march")}
    assert result.records.count() == result.denominator == len(flagged(result))
    assert_columns_read(result)
    assert [(row.key, row.value) for row in result.breakdown] == [
        ("units", 3),
        ("unit_hours", Decimal("1848.00")),
        ("down_hours", Decimal("124.00")),
    ]
    assert result.notes == ["23.9 days between failures."]


def test_mtbf_needs_a_model_and_warns_under_three_failures(
    make_filter, monitor_model, fleet, customer_a
):
    # Without a model there is no figure, only the request to choose one
    result = compute("mtbf", make_filter())
    assert (result.value, result.records.count()) == (None, 0)
    assert result.notes == ["Choose a device model: MTBF is computed per model."]
    # Hospital A's user: 1,104 unit-hours, 82 down, two failures: 511 h, low confidence
    mine = compute("mtbf", make_filter(user=customer_a, device_model_id=monitor_model.pk))
    assert (mine.numerator, mine.denominator, mine.value) == (
        Decimal("1022.00"), 2, Decimal("511.00"))  # fmt: skip
    assert "Low confidence: fewer than 3 failures in the period." in mine.notes
    # A batch-tracked model has no MTBF
    strips = BatchModelFactory()
    assert compute("mtbf", make_filter(device_model_id=strips.pk)).value is None


def test_mtbf_without_failures_shows_a_lower_bound(make_filter, monitor_model, unit_a):
    result = compute("mtbf", make_filter(device_model_id=monitor_model.pk))
    assert result.value is None
    assert result.notes == ["No failure in the period: MTBF > 744.0 h."]


def test_uptime_counts_each_unit_from_its_in_service_date(make_filter, fleet, customer_a):
    # Given the fleet: 1,848 unit-hours, 124 merged hours down
    result = compute("uptime", make_filter())
    # Then uptime = 1,724 / 1,848 = 93.3 %
    assert (result.numerator, result.denominator, result.value) == (
        Decimal("1724.00"), Decimal("1848.00"), Decimal("93.3"))  # fmt: skip
    # And the drill-down lists the five repairs with downtime in March and each one's hours
    # (the overlapping two are merged in the figure: 48 + 48 > 72)
    assert result.measures == {
        fleet["a_first"].pk: Decimal("48.00"), fleet["a_second"].pk: Decimal("48.00"),
        fleet["b_february"].pk: Decimal("36.00"), fleet["misuse"].pk: Decimal("10.00"),
        fleet["b_march"].pk: Decimal("6.00")}  # fmt: skip
    assert pks(result) == set(result.measures)
    assert_columns_read(result)
    # Hospital A's user sees A's units only: (1,104 − 82) / 1,104 = 92.6 %
    mine = compute("uptime", make_filter(user=customer_a))
    assert (mine.numerator, mine.denominator, mine.value) == (
        Decimal("1022.00"), Decimal("1104.00"), Decimal("92.6"))  # fmt: skip
    assert fleet["b_march"].pk not in pks(mine)


def test_uptime_filtered_by_region(make_filter, fleet, hospital_b):
    hospital_b.region = "华北"
    hospital_b.save()
    result = compute("uptime", make_filter(region="华北"))
    # Unit B alone: (744 − 42) / 744 = 94.4 %
    assert (result.numerator, result.denominator, result.value) == (
        Decimal("702.00"), Decimal("744.00"), Decimal("94.4"))  # fmt: skip


# --- repeat_failure_30d -------------------------------------------------------------------------


@pytest.fixture
def repeats(unit_a, unit_b, monitor_model, hospital_a):
    third = DeviceFactory(device_model=monitor_model, organization=hospital_a,
                          installed_on=JAN_10, status="in_service")  # fmt: skip

    def back(device, down, up, **fields):
        return repair(device, down_since=down, back_in_service_at=up, **fields)

    made = {
        "a_first": back(unit_a, local(2026, 3, 1), local(2026, 3, 5, 10)),
        # 14 days 23 hours later on the same unit: a repeat
        "a_repeat": back(unit_a, local(2026, 3, 20, 9), local(2026, 3, 21, 10)),
        "b_first": back(unit_b, local(2026, 3, 8), local(2026, 3, 10)),
        "third_first": back(third, local(2026, 3, 14), local(2026, 3, 15)),
    }
    # Unit B again exactly 30 days after: still a repeat (back in April: not counted itself)
    made["b_repeat"] = back(unit_b, local(2026, 4, 9), local(2026, 4, 10))
    # The third unit again 30 days and one minute after: not a repeat; a cancelled one inside
    back(third, local(2026, 4, 14, 0, 1), None, status="in_progress")
    back(third, local(2026, 3, 20), None, status="cancelled")
    return made


def test_repeat_failure_counts_another_repair_within_30_days(make_filter, repeats):
    result = compute("repeat_failure_30d", make_filter())
    assert pks(result) == {repeats[n].pk for n in ("a_first", "a_repeat", "b_first",
                                                   "third_first")}  # fmt: skip
    assert flagged(result) == {repeats["a_first"].pk, repeats["b_first"].pk}
    assert (result.numerator, result.denominator, result.value) == (2, 4, Decimal("50.0"))
    assert_drill_down_matches(result)
    # Provisional until 30 days after the period's end
    assert result.provisional_until == datetime.date(2026, 4, 30)
    # The drill-down gives the pair and the days between
    definition = KPIS["repeat_failure_30d"]
    rows = {record.pk: [column.read(record) for column in definition.columns]
            for record in result.records}  # fmt: skip
    assert rows[repeats["a_first"].pk][4:6] == [repeats["a_repeat"].number, Decimal("15.0")]
    assert rows[repeats["b_first"].pk][4:6] == [repeats["b_repeat"].number, Decimal("30.0")]
    assert rows[repeats["third_first"].pk][4:6] == [None, None]


def test_repeat_failure_by_engineer_is_the_first_repairs(make_filter, repeats, engineer):
    WorkOrder.objects.filter(pk=repeats["b_first"].pk).update(engineer=engineer)
    result = compute("repeat_failure_30d", make_filter(engineer_id=engineer.pk))
    assert pks(result) == {repeats["b_first"].pk}
    assert result.value == Decimal("100.0")


# --- pm_completion ------------------------------------------------------------------------------


@pytest.fixture
def pm_visits(hospital_a, hospital_b, monitor_model, engineer):
    ventilator_model = DeviceModelFactory(name="呼吸机", life_support=True)

    def due(model, organization, due_on, *, status="open", done_on=None, active=True, **fields):
        device = DeviceFactory(device_model=model, organization=organization,
                               status="in_service")  # fmt: skip
        plan = PmPlanFactory(device=device, active=active)
        return PmVisitFactory(plan=plan, due_on=due_on, status=status, done_on=done_on,
                              **fields)  # fmt: skip

    march = datetime.date(2026, 3, 1)
    order_at_b = WorkOrderFactory(kind="preventive_maintenance", engineer=engineer,
                                  device=DeviceFactory(organization=hospital_b))  # fmt: skip
    made = {
        "ventilator_done": due(ventilator_model, hospital_a, march.replace(day=5), status="done",
                               done_on=march.replace(day=8)),
        "ventilator_missed": due(ventilator_model, hospital_a, march.replace(day=10)),
        "monitor_late": due(monitor_model, hospital_a, march.replace(day=12), status="done",
                            done_on=march.replace(day=25)),
        "monitor_b": due(monitor_model, hospital_b, march.replace(day=20), status="ordered",
                         work_order=order_at_b),
        "inactive_done": due(monitor_model, hospital_a, march.replace(day=16), status="done",
                             done_on=march.replace(day=16), active=False),
    }  # fmt: skip
    due(monitor_model, hospital_a, march.replace(day=15), active=False)  # nobody will do it
    due(monitor_model, hospital_a, datetime.date(2026, 4, 2))
    return made


def test_pm_completion_counts_the_visits_due_and_those_done(make_filter, pm_visits):
    result = compute("pm_completion", make_filter())
    # Five visits due in March (the open one of a deactivated plan is left out), three done
    assert pks(result) == {visit.pk for visit in pm_visits.values()}
    assert flagged(result) == {pm_visits[n].pk for n in ("ventilator_done", "monitor_late",
                                                         "inactive_done")}  # fmt: skip
    assert (result.numerator, result.denominator, result.value) == (3, 5, Decimal("60.0"))
    assert_drill_down_matches(result)
    # Life support 1 of 2, the others 2 of 3, within 7 days of the due date 2 of 5
    assert [(row.key, row.numerator, row.denominator, row.value) for row in result.breakdown] == [
        ("life_support", 1, 2, Decimal("50.0")), ("others", 2, 3, Decimal("66.7")),
        ("on_time", 2, 5, Decimal("40.0"))]  # fmt: skip
    assert result.notes == ["1 PM visits of life-support devices due were not done."]


def test_pm_completion_by_engineer_and_for_a_customer(make_filter, pm_visits, engineer,
                                                      customer_a):  # fmt: skip
    by_engineer = compute("pm_completion", make_filter(engineer_id=engineer.pk))
    assert pks(by_engineer) == {pm_visits["monitor_b"].pk}
    assert by_engineer.value == Decimal("0.0")
    mine = compute("pm_completion", make_filter(user=customer_a))
    assert pm_visits["monitor_b"].pk not in pks(mine)
    assert (mine.numerator, mine.denominator) == (3, 4)


# --- overdue_work_orders ------------------------------------------------------------------------


@pytest.fixture
def open_orders(unit_a, unit_b):
    def promised(device, day, status="in_progress", **fields):
        return WorkOrderFactory(device=device, status=status, promised_by=day, **fields)

    april = datetime.date(2026, 4, 1)
    made = {
        "a_5_days": promised(unit_a, april.replace(day=10)),
        "a_1_day": promised(unit_a, april.replace(day=14), status="scheduled"),
        "b_14_days": promised(unit_b, april),
    }
    promised(unit_a, april.replace(day=15))  # due today: not yet overdue
    promised(unit_a, april, status="closed")
    promised(unit_a, april, status="cancelled")
    promised(unit_a, None, status="new", created_at=local(2026, 3, 20))
    promised(unit_a, None, status="new", created_at=local(2026, 4, 10))
    return made


def test_overdue_work_orders_is_a_stock_at_as_of(make_filter, open_orders, customer_a):
    result = compute("overdue_work_orders", make_filter())
    # Most overdue first, with the days overdue
    assert [record.pk for record in result.records] == [
        open_orders[n].pk for n in ("b_14_days", "a_5_days", "a_1_day")]  # fmt: skip
    assert result.measures == {open_orders["b_14_days"].pk: 14, open_orders["a_5_days"].pk: 5,
                               open_orders["a_1_day"].pk: 1}  # fmt: skip
    assert (result.value, result.denominator) == (3, 3)
    assert_columns_read(result)
    assert [(row.key, row.value) for row in result.breakdown] == [("no_promise", 1)]
    mine = compute("overdue_work_orders", make_filter(user=customer_a))
    assert mine.value == 2


# --- parts_consumption --------------------------------------------------------------------------


@pytest.fixture
def consumption(engineer, other_engineer, unit_a, unit_b):
    van = EngineerStockFactory(engineer=engineer)
    other_van = EngineerStockFactory(engineer=other_engineer)
    board = PartFactory(number="PB-8", name_zh="电源板", standard_cost=Decimal("320.00"))
    cuff = PartFactory(number="CF-1", name_zh="袖带", standard_cost=Decimal("45.50"))

    def move(kind, part, quantity, cost, when, source=van, device=unit_a):
        return StockMovement.objects.create(
            kind=kind, part=part, quantity=Decimal(quantity), unit_cost=Decimal(cost),
            source=source, device=device, occurred_at=when, reference="WO-2026-000001",
        )  # fmt: skip

    made = {
        "board": move("consumption", board, 1, "320.00", local(2026, 3, 3, 10)),
        "cuffs": move("consumption", cuff, 4, "45.50", local(2026, 3, 4, 10)),
        "boards_at_b": move(
            "consumption",
            board,
            2,
            "300.00",
            local(2026, 3, 5, 10),
            source=other_van,
            device=unit_b,
        ),
    }
    StockMovement.objects.create(kind="removal", part=board, quantity=1, destination=van,
                                 device=unit_a, occurred_at=local(2026, 3, 3, 10))  # fmt: skip
    move("consumption", board, 1, "320.00", local(2026, 4, 1, 0))
    move("exchange_shipment", board, 1, "320.00", local(2026, 3, 6), device=None)
    return made


def test_parts_consumption_is_the_cost_of_the_parts_fitted(make_filter, consumption):
    result = compute("parts_consumption", make_filter())
    # 320 + 4 × 45.50 + 2 × 300 = 1,102.00 for 7 parts in 3 movements
    assert (result.value, result.numerator, result.denominator) == (
        Decimal("1102.00"), 7, 3)  # fmt: skip
    assert pks(result) == {movement.pk for movement in consumption.values()}
    assert result.records.count() == result.denominator
    assert sum(result.measures.values()) == result.value
    assert_columns_read(result)
    assert [(row.key, row.numerator, row.value) for row in result.breakdown] == [
        ("PB-8", 3, Decimal("920.00")), ("CF-1", 4, Decimal("182.00"))]  # fmt: skip
    assert result.notes == ["Shown apart: 1 whole units shipped as exchanges."]


def test_parts_consumption_by_the_engineer_whose_stock_it_left(make_filter, consumption,
                                                               engineer):  # fmt: skip
    result = compute("parts_consumption", make_filter(engineer_id=engineer.pk))
    assert (result.value, result.numerator) == (Decimal("502.00"), 5)


def test_cost_kpis_are_internal_only(make_filter, consumption, customer_a, distributor_engineer,
                                     distributor_serves_b, manager):  # fmt: skip
    for code in ("parts_consumption", "service_cost_ratio"):
        assert KPIS[code].available_to(manager)
        assert not KPIS[code].available_to(distributor_engineer)
        assert not KPIS[code].available_to(customer_a)
        # and even called directly they count nothing for someone outside the company
        assert compute(code, make_filter(user=distributor_engineer)).records.count() == 0
    # while the field KPIs are open to the distributor
    assert KPIS["on_time_arrival"].available_to(distributor_engineer)


# --- service_cost_ratio -------------------------------------------------------------------------


@pytest.fixture
def costs(settings, monitor_model, hospital_a, engineer):
    settings.ANALYTICS_HOURLY_COST = Decimal("100")
    delivery = DeliveryFactory(organization=hospital_a, delivered_on=datetime.date(2025, 12, 1))

    def unit(price):
        line = None
        if price is not None:
            line = DeliveryLineFactory(delivery=delivery, device_model=monitor_model,
                                       quantity=1, unit_price=Decimal(price))  # fmt: skip
        return DeviceFactory(
            device_model=monitor_model,
            organization=hospital_a,
            installed_on=JAN_10,
            status="in_service",
            delivery_line=line,
        )

    van = EngineerStockFactory(engineer=engineer)
    part = PartFactory(number="PB-9", standard_cost=Decimal("320.00"))
    dear, unpriced, cheap = unit("100000.00"), unit(None), unit("50000.00")

    def fitted(device, cost, work_order=None):
        movement = StockMovement.objects.create(
            kind="consumption", part=part, quantity=1, unit_cost=Decimal(cost), source=van,
            device=device, occurred_at=local(2026, 3, 5, 10),
        )  # fmt: skip
        if work_order is not None:
            PartUsage.objects.create(work_order=work_order, part=part, quantity=1,
                                     unit_cost=Decimal(cost), movement=movement)  # fmt: skip

    def worked(work_order, kind, hours):
        TimeEntry.objects.create(
            work_order=work_order,
            engineer=engineer,
            kind=kind,
            day=datetime.date(2026, 3, 5),
            hours=Decimal(hours),
        )

    on_dear = repair(dear)
    fitted(dear, "320.00", on_dear)
    worked(on_dear, "labour", 3)
    worked(on_dear, "travel", 1)
    FeeItem.objects.create(
        work_order=on_dear,
        category="labour",
        description="人工费",
        amount=Decimal("150.00"),
        created_at=local(2026, 3, 6),
    )
    on_cheap = repair(cheap)
    worked(on_cheap, "labour", 2)
    fitted(cheap, "999.00", repair(cheap, status="cancelled"))
    fitted(unpriced, "500.00")
    return {"dear": dear, "cheap": cheap, "unpriced": unpriced}


def test_service_cost_ratio_is_parts_and_time_against_delivered_value_a_year(make_filter, costs):
    result = compute("service_cost_ratio", make_filter())
    # Cost: 320 + 4 h × 100 on the dear unit, 2 h × 100 on the cheap one = 920 against
    # 150,000 delivered: 920 / 150,000 × 365 / 31 × 100 = 7.22 → 7.2 % a year
    assert (result.numerator, result.denominator, result.value) == (
        Decimal("920.00"), Decimal("150000.00"), Decimal("7.2"))  # fmt: skip
    assert pks(result) == {costs["dear"].pk, costs["cheap"].pk}
    assert result.measures == {costs["dear"].pk: Decimal("720.00"),
                               costs["cheap"].pk: Decimal("200.00")}  # fmt: skip
    assert sum(result.measures.values()) == result.numerator
    assert_columns_read(result)
    assert result.notes == [
        "Parts and time only: travel expenses and supplier repair costs are not recorded as costs.",
        "Value known for 2 of 3 units.",
        "Cost recovered (fees billed, not subtracted): ¥150.00.",
    ]


def test_service_cost_ratio_says_when_no_hourly_cost_is_set(make_filter, costs, settings):
    settings.ANALYTICS_HOURLY_COST = Decimal("0")
    result = compute("service_cost_ratio", make_filter())
    assert result.numerator == Decimal("320.00")
    assert result.notes[-1] == (
        "No internal hourly cost is set (ANALYTICS_HOURLY_COST): time counts as ¥0."
    )


# --- the API around them ------------------------------------------------------------------------


def test_the_api_gives_the_field_figures_and_their_records(api, manager, visits):
    client = api.as_user(manager)
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    response = client.get("/api/v1/kpis/on_time_arrival/", period)
    body = response.json()
    assert response.status_code == 200, body
    assert (body["numerator"], body["denominator"]) == ("3", "6")
    records = client.get("/api/v1/kpis/on_time_arrival/records/", period).json()
    assert records["count"] == 6
    assert sorted(row["measure"] for row in records["results"]) == [False] * 3 + [True] * 3
    listing = client.get("/api/v1/kpis/", period).json()
    codes = [row["code"] for row in listing["results"]]
    for code in ("on_time_arrival", "first_time_fix", "mttr", "mtbf", "repeat_failure_30d",
                 "uptime", "pm_completion", "overdue_work_orders", "parts_consumption",
                 "service_cost_ratio"):  # fmt: skip
        assert code in codes


def test_every_field_kpi_page_lists_its_records(client, manager, visits, fleet, monitor_model):
    client.force_login(manager)
    period = {"from": "2026-03-01", "to": "2026-03-31", "device_model": monitor_model.pk}
    for code in ("on_time_arrival", "first_time_fix", "mttr", "mtbf", "repeat_failure_30d",
                 "uptime", "pm_completion", "overdue_work_orders", "parts_consumption",
                 "service_cost_ratio"):  # fmt: skip
        response = client.get(f"/analytics/kpis/{code}/", period)
        assert response.status_code == 200, code
    page = client.get("/analytics/kpis/uptime/", period).content.decode()
    assert fleet["b_march"].number in page
