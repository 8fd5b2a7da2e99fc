"""The service-request and complaint KPIs of docs/kpis.md on small hand-checked sets: the three
SLA times, promise compliance per target, requests open over 14 days, complaints per 100 units
and per batch, and awareness to decision. Requests go through the desk's own services at the
frozen times the story names, so the clocks are the SLA engine's."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.analytics.kpis import KPIS, KpiResult
from medservice.analytics.kpis_tickets import net_hours
from medservice.core.errors import InvalidInputError
from medservice.quality.decisions import case_decide
from medservice.quality.models import QualityCase
from medservice.quality.services import case_create
from medservice.tickets.choices import SlaTarget
from medservice.tickets.models import Team, Ticket, TicketClock
from medservice.tickets.services import (
    ticket_acknowledge,
    ticket_agree_solution,
    ticket_cancel,
    ticket_confirm,
    ticket_escalate_onsite,
    ticket_propose_solution,
    ticket_record_arrival,
    ticket_reopen,
    ticket_resolve,
    ticket_resume,
    ticket_wait,
)
from tests.analytics.conftest import local
from tests.factories import PASSWORD, user_with_role
from tests.installed_base.factories import (
    DeliveryFactory,
    DeliveryLineFactory,
    DeviceFactory,
    DeviceModelFactory,
)
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db


def compute(code: str, kpi_filter) -> KpiResult:
    result = KPIS[code].compute(kpi_filter)
    assert_listing_in_one_query(result)
    return result


def assert_listing_in_one_query(result) -> None:
    """A page of the drill-down and every column of it is one query however many rows: what
    the columns read is joined (KpiResult.listing)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    listing = result.listing()
    with CaptureQueriesContext(connection) as queries:
        for record in listing[:50]:
            for column in KPIS[result.code].columns:
                column.read(record)
    # One for the page, one per declared prefetch, whatever the rows.
    assert len(queries) <= 1 + len(listing._prefetch_related_lookups), [
        query["sql"][:160] for query in queries.captured_queries
    ]


def pks(result: KpiResult) -> set[int]:
    return set(result.records.values_list("pk", flat=True))


def hours(value: str) -> Decimal:
    return Decimal(value)


# --- the desk's actions at given times --------------------------------------------------------


def registered(organization, received: datetime.datetime, **fields) -> Ticket:
    with freeze_time(received):
        return TicketFactory(
            organization=organization, received_at=received, auto_assign=False, **fields
        )


def acknowledge(ticket, actor, at):
    with freeze_time(at):
        return ticket_acknowledge(ticket=ticket, actor=actor, note="已电话联系客户，告知单号")


def propose(ticket, actor, at):
    with freeze_time(at):
        return ticket_propose_solution(ticket=ticket, actor=actor, solution="更换输液泵压力传感器")


def agree(ticket, actor, at):
    with freeze_time(at):
        return ticket_agree_solution(ticket=ticket, actor=actor, agreed_by="张主任", method="phone")


def wait_for_customer(ticket, actor, start, end):
    with freeze_time(start):
        ticket = ticket_wait(ticket=ticket, actor=actor, reason="customer", note="等待客户提供照片")
    with freeze_time(end):
        return ticket_resume(ticket=ticket, actor=actor, note="客户已回复")


def resolve(ticket, actor, at):
    with freeze_time(at):
        return ticket_resolve(
            ticket=ticket, actor=actor, resolution_type="guidance", resolution="指导护士重新校准"
        )


def cancel(ticket, actor, at):
    with freeze_time(at):
        return ticket_cancel(ticket=ticket, actor=actor, reason="重复登记")


def resolved(organization, actor, received, resolved_at, *, wait=None) -> Ticket:
    """A request taken from receipt to resolution: acknowledged 1 h, plan 2 h, agreed 3 h after
    receipt; optionally waiting for the customer over `wait` = (start, end)."""
    ticket = registered(organization, received)
    ticket = acknowledge(ticket, actor, received + datetime.timedelta(hours=1))
    ticket = propose(ticket, actor, received + datetime.timedelta(hours=2))
    ticket = agree(ticket, actor, received + datetime.timedelta(hours=3))
    if wait:
        ticket = wait_for_customer(ticket, actor, *wait)
    return resolve(ticket, actor, resolved_at)


@pytest.fixture
def quality_staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="qa")


@pytest.fixture
def team():
    return Team.objects.create(name="华东维修组")


# --- net of pauses ----------------------------------------------------------------------------


def test_only_the_part_of_a_pause_inside_the_span_is_subtracted_and_an_open_one_runs_to_the_end():
    start, end = local(2026, 3, 5, 10), local(2026, 3, 5, 20)
    pauses = [
        [local(2026, 3, 5, 8).isoformat(), local(2026, 3, 5, 11).isoformat()],  # 1 h inside
        [local(2026, 3, 5, 18).isoformat(), None],  # open: 2 h to the end
    ]
    assert net_hours(start, end, pauses) == Decimal("7.00")
    assert net_hours(start, end, []) == Decimal("10.00")


# --- first_response_time ----------------------------------------------------------------------


@pytest.fixture
def first_responses(manager, hospital_a, hospital_b):
    """Five acknowledgements in March (2, 4, 6, 8 and 30 hours), one cancelled request, one
    acknowledged in April, one cancelled before any acknowledgement."""
    made = {}
    for name, organization, received, hours_later in (
        ("t1", hospital_a, local(2026, 3, 2, 9), 2),
        ("t2", hospital_a, local(2026, 3, 3, 9), 4),
        ("t3", hospital_a, local(2026, 3, 4, 9), 6),
        ("t4", hospital_a, local(2026, 2, 28, 20), 8),  # received in February, met 1 March
        ("t5", hospital_b, local(2026, 3, 10, 8), 30),  # met late
        ("april", hospital_a, local(2026, 3, 31, 20), 4.5),  # met 1 April 00:30
    ):
        ticket = registered(organization, received)
        made[name] = acknowledge(ticket, manager, received + datetime.timedelta(hours=hours_later))
    made["cancelled"] = cancel(
        acknowledge(registered(hospital_a, local(2026, 3, 5, 9)), manager, local(2026, 3, 5, 10)),
        manager, local(2026, 3, 5, 11),
    )  # fmt: skip
    made["never"] = cancel(registered(hospital_a, local(2026, 3, 6, 9)), manager,
                           local(2026, 3, 6, 10))  # fmt: skip
    return made


def test_first_response_time_is_the_p90_of_receipt_to_acknowledgement(first_responses, make_filter):
    t = first_responses
    # When the manager reads March
    result = compute("first_response_time", make_filter())
    # Then the five March acknowledgements count: 2, 4, 6, 8, 30 h
    assert pks(result) == {t[name].pk for name in ("t1", "t2", "t3", "t4", "t5")}
    assert result.measures == {
        t["t1"].pk: hours("2"), t["t2"].pk: hours("4"), t["t3"].pk: hours("6"),
        t["t4"].pk: hours("8"), t["t5"].pk: hours("30"),
    }  # fmt: skip
    # median = 3rd of 5, p90 = ⌈4.5⌉ = 5th of 5
    assert (result.median, result.p90, result.value) == (hours("6"), hours("30"), hours("30"))
    assert (result.denominator, result.mean) == (Decimal(5), Decimal("10.00"))
    # And the drill-down shows the late one as met late
    columns = {str(column.label): column for column in KPIS["first_response_time"].columns}
    late = result.records.get(pk=t["t5"].pk)
    assert str(columns["Clock"].read(late)) == "Met late"
    assert columns["Met at"].read(late) == "2026-03-11 14:00"


def test_first_response_time_follows_scope_and_every_filter(
    first_responses, make_filter, hospital_a, hospital_b, customer_a, distributor,
    distributor_engineer, agent, team,
):  # fmt: skip
    t = first_responses
    # Hospital A alone: 2, 4, 6, 8 → median the 2nd (4), p90 the 4th (8)
    only_a = compute("first_response_time", make_filter(organization_id=hospital_a.pk))
    assert (only_a.median, only_a.p90) == (hours("4"), hours("8"))
    # A customer of hospital A sees exactly that, never hospital B's request
    mine = compute("first_response_time", make_filter(user=customer_a))
    assert pks(mine) == pks(only_a) == {t[name].pk for name in ("t1", "t2", "t3", "t4")}
    # A distributor serving hospital B sees only B's request
    hospital_b.served_by.add(distributor)
    theirs = compute("first_response_time", make_filter(user=distributor_engineer))
    assert (pks(theirs), theirs.value) == ({t["t5"].pk}, hours("30"))
    assert KPIS["first_response_time"].available_to(distributor_engineer) is True
    # Engineer: t1 and t3 owned by the agent → 2, 6: median 2, p90 6
    Ticket.objects.filter(pk__in=[t["t1"].pk, t["t3"].pk]).update(owner=agent)
    by_engineer = compute("first_response_time", make_filter(engineer_id=agent.pk))
    assert (pks(by_engineer), by_engineer.median, by_engineer.p90) == (
        {t["t1"].pk, t["t3"].pk}, hours("2"), hours("6"))  # fmt: skip
    # Team: t2 only
    Ticket.objects.filter(pk=t["t2"].pk).update(team=team)
    assert compute("first_response_time", make_filter(team_id=team.pk)).value == hours("4")
    # Model: the request's own model, or its device's model
    model = DeviceModelFactory()
    Ticket.objects.filter(pk=t["t4"].pk).update(device_model=model)
    device = DeviceFactory(device_model=model, organization=hospital_b)
    Ticket.objects.filter(pk=t["t5"].pk).update(device=device)
    by_model = compute("first_response_time", make_filter(device_model_id=model.pk))
    assert (pks(by_model), by_model.median, by_model.p90) == (
        {t["t4"].pk, t["t5"].pk}, hours("8"), hours("30"))  # fmt: skip
    # Region: none of them is in 北京
    assert compute("first_response_time", make_filter(region="北京")).value is None


# --- plan_time --------------------------------------------------------------------------------


def test_plan_time_subtracts_the_waits_for_the_customer(manager, hospital_a, make_filter):
    # Given p1: received 2 March 09:00, waiting for the customer 12:00–22:00, plan 4 March 09:00
    p1 = acknowledge(registered(hospital_a, local(2026, 3, 2, 9)), manager, local(2026, 3, 2, 10))
    p1 = wait_for_customer(p1, manager, local(2026, 3, 2, 12), local(2026, 3, 2, 22))
    p1 = propose(p1, manager, local(2026, 3, 4, 9))  # 48 h − 10 h = 38 h
    # And p2 planned in 7 h, p3 in 20 h, none waiting
    p2 = acknowledge(registered(hospital_a, local(2026, 3, 5, 10)), manager, local(2026, 3, 5, 11))
    p2 = propose(p2, manager, local(2026, 3, 5, 17))
    p3 = acknowledge(registered(hospital_a, local(2026, 3, 6, 8)), manager, local(2026, 3, 6, 9))
    p3 = propose(p3, manager, local(2026, 3, 7, 4))
    # And a request still without a plan
    acknowledge(registered(hospital_a, local(2026, 3, 8, 8)), manager, local(2026, 3, 8, 9))
    # Then the pause recorded by the SLA engine is the one subtracted
    clock = TicketClock.objects.get(ticket=p1, target=SlaTarget.PLAN)
    assert [
        [datetime.datetime.fromisoformat(moment) for moment in pause] for pause in clock.pauses
    ] == [[local(2026, 3, 2, 12), local(2026, 3, 2, 22)]]
    result = compute("plan_time", make_filter())
    assert result.measures == {p1.pk: hours("38"), p2.pk: hours("7"), p3.pk: hours("20")}
    # median the 2nd of 3 (20), p90 the 3rd (38)
    assert (result.median, result.p90, result.value) == (hours("20"), hours("38"), hours("38"))
    assert pks(result) == {p1.pk, p2.pk, p3.pk}


# --- resolution_time --------------------------------------------------------------------------


@pytest.fixture
def resolutions(manager, hospital_a, hospital_b):
    made = {}
    made["r1"] = resolved(hospital_a, manager, local(2026, 3, 2, 9), local(2026, 3, 3, 9))  # 24 h
    # r2: 24 h, of which 10 h waiting for the customer → 14 h
    made["r2"] = resolved(hospital_a, manager, local(2026, 3, 4, 9), local(2026, 3, 5, 9),
                          wait=(local(2026, 3, 4, 13), local(2026, 3, 4, 23)))  # fmt: skip
    # r3: 12 h, reopened two days later and resolved again in 6 h → 18 h over two cycles
    r3 = resolved(hospital_a, manager, local(2026, 3, 6, 9), local(2026, 3, 6, 21))
    with freeze_time(local(2026, 3, 8, 9)):
        r3 = ticket_reopen(ticket=r3, actor=manager, reason="报警复现")
    made["r3"] = resolve(r3, manager, local(2026, 3, 8, 15))
    # r4: resolved, reopened, not resolved again → not counted
    r4 = resolved(hospital_a, manager, local(2026, 3, 10, 9), local(2026, 3, 10, 19))
    with freeze_time(local(2026, 3, 12, 9)):
        made["r4"] = ticket_reopen(ticket=r4, actor=manager, reason="报警复现")
    # r5 at hospital B: 30 h, then confirmed by phone (closed) → still counted
    r5 = resolved(hospital_b, manager, local(2026, 3, 20, 9), local(2026, 3, 21, 15))
    with freeze_time(local(2026, 3, 22, 10)):
        made["r5"] = ticket_confirm(ticket=r5, actor=manager, confirmed_by_name="李护士长",
                                    method="phone")  # fmt: skip
    # r6: resolved in April
    made["r6"] = resolved(hospital_a, manager, local(2026, 3, 30, 9), local(2026, 4, 2, 9))
    return made


def test_resolution_time_sums_every_met_cycle_net_of_waits(resolutions, make_filter):
    r = resolutions
    result = compute("resolution_time", make_filter())
    assert pks(result) == {r["r1"].pk, r["r2"].pk, r["r3"].pk, r["r5"].pk}
    assert result.measures == {
        r["r1"].pk: hours("24"), r["r2"].pk: hours("14"), r["r3"].pk: hours("18"),
        r["r5"].pk: hours("30"),
    }  # fmt: skip
    # 14, 18, 24, 30: median the 2nd (18), p90 the ⌈3.6⌉ = 4th (30)
    assert (result.median, result.p90, result.value) == (hours("18"), hours("30"), hours("30"))
    assert result.notes == ["Reopen rate: 1 of 4 requests (25.0 %)."]
    # A reopen can still move March until 31 March + 30 + 7 days
    assert result.provisional_until == datetime.date(2026, 5, 7)


def test_resolution_time_by_organisation(resolutions, make_filter, hospital_b, customer_a):
    r = resolutions
    only_b = compute("resolution_time", make_filter(organization_id=hospital_b.pk))
    assert (pks(only_b), only_b.value) == ({r["r5"].pk}, hours("30"))
    mine = compute("resolution_time", make_filter(user=customer_a))
    assert pks(mine) == {r["r1"].pk, r["r2"].pk, r["r3"].pk}
    assert (mine.median, mine.p90) == (hours("18"), hours("24"))


# --- sla_compliance ---------------------------------------------------------------------------


@pytest.fixture
def promises(manager, hospital_a, hospital_b, quality_staff):
    made = {}
    # s1 at A: first response and plan kept; resolved 7 March, 2 days after its 5 March due
    made["s1"] = resolved(hospital_a, manager, local(2026, 3, 2, 9), local(2026, 3, 7, 9))
    # s2 at B (urgent): acknowledged 27 h after receipt (breached), on site in 7 h (kept);
    # its plan and resolution clocks still run unbreached (no outcome)
    s2 = registered(hospital_b, local(2026, 3, 10, 9), priority="urgent")
    s2 = acknowledge(s2, manager, local(2026, 3, 11, 12))
    with freeze_time(local(2026, 3, 11, 13)):
        s2 = ticket_escalate_onsite(ticket=s2, actor=manager, reason="电话指导未能解决")
    with freeze_time(local(2026, 3, 11, 20)):
        made["s2"] = ticket_record_arrival(ticket=s2, actor=manager)
    # s3 acknowledged in time, then cancelled: none of its clocks counts
    s3 = acknowledge(registered(hospital_a, local(2026, 3, 12, 9)), manager, local(2026, 3, 12, 10))
    made["s3"] = cancel(s3, manager, local(2026, 3, 12, 11))
    # s4 acknowledged in April
    made["s4"] = acknowledge(registered(hospital_a, local(2026, 3, 31, 20)), manager,
                             local(2026, 4, 1, 1))  # fmt: skip
    # Quality contacts: q1 kept, q2 contacted a day late, q3 not yet due nor contacted
    staff = quality_staff
    for name, aware, contacted in (
        ("q1", local(2026, 3, 3, 9), local(2026, 3, 3, 15)),
        ("q2", local(2026, 3, 20, 9), local(2026, 3, 22, 9)),
        ("q3", local(2026, 3, 31, 10), None),
    ):
        with freeze_time(aware):
            case = case_create(actor=staff, data={
                "description": "输液泵报警后停机", "organization": hospital_a, "awareness_at": aware,
            })  # fmt: skip
        QualityCase.objects.filter(pk=case.pk).update(
            contact_due_at=aware + datetime.timedelta(hours=24), contacted_at=contacted
        )
        made[name] = case
    return made


def clock_pk(ticket, target, cycle=1) -> int:
    return TicketClock.objects.get(ticket=ticket, target=target, cycle=cycle).pk


def test_sla_compliance_counts_promises_with_an_outcome_per_target(promises, make_filter):
    s = promises
    result = compute("sla_compliance", make_filter())
    kept = {clock_pk(s["s1"], SlaTarget.FIRST_RESPONSE): True,
            clock_pk(s["s1"], SlaTarget.PLAN): True,
            clock_pk(s["s1"], SlaTarget.RESOLUTION): False,
            clock_pk(s["s2"], SlaTarget.FIRST_RESPONSE): False,
            clock_pk(s["s2"], SlaTarget.ONSITE): True}  # fmt: skip
    assert pks(result) == set(kept)
    assert result.measures == kept
    assert (result.numerator, result.denominator, result.value) == (3, 5, Decimal("60.0"))
    rows = {row.key: (row.numerator, row.denominator, row.value) for row in result.breakdown}
    assert rows == {
        "first_response": (1, 2, Decimal("50.0")), "plan": (1, 1, Decimal("100.0")),
        "resolution": (0, 1, Decimal("0.0")), "onsite": (1, 1, Decimal("100.0")),
        "quality_contact": (1, 2, Decimal("50.0")),
    }  # fmt: skip
    # The breached resolution's drill-down shows its due and breach time (5 March 09:00)
    columns = {str(column.label): column for column in KPIS["sla_compliance"].columns}
    breached = result.records.get(pk=clock_pk(s["s1"], SlaTarget.RESOLUTION))
    assert columns["Met or breached at"].read(breached) == "2026-03-05 09:00"
    assert set(KPIS["sla_compliance"].extra_filters) >= {"target", "priority"}


def test_sla_compliance_by_target_priority_scope_and_organisation(
    promises, make_filter, customer_a, hospital_b
):
    s = promises
    first = compute("sla_compliance", make_filter(extra={"target": "first_response"}))
    assert pks(first) == {clock_pk(s["s1"], "first_response"), clock_pk(s["s2"], "first_response")}
    assert [row.key for row in first.breakdown] == ["first_response"]
    assert first.value == Decimal("50.0")
    # Urgent only: s2's breached first response and kept arrival; no quality row
    urgent = compute("sla_compliance", make_filter(extra={"priority": "urgent"}))
    assert (urgent.numerator, urgent.denominator) == (1, 2)
    assert "quality_contact" not in [row.key for row in urgent.breakdown]
    # The quality contact alone: the cases are the records
    contact = compute("sla_compliance", make_filter(extra={"target": "quality_contact"}))
    assert pks(contact) == {s["q1"].pk, s["q2"].pk}
    assert contact.measures == {s["q1"].pk: True, s["q2"].pk: False}
    # Hospital A's customer: s1's three clocks, and no quality row
    mine = compute("sla_compliance", make_filter(user=customer_a))
    assert (mine.numerator, mine.denominator, mine.value) == (2, 3, Decimal("66.7"))
    assert "quality_contact" not in [row.key for row in mine.breakdown]
    only_b = compute("sla_compliance", make_filter(organization_id=hospital_b.pk))
    assert (only_b.numerator, only_b.denominator) == (1, 2)
    # An unknown target is refused by name
    with pytest.raises(InvalidInputError) as refused:
        compute("sla_compliance", make_filter(extra={"target": "lunch"}))
    assert list(refused.value.fields) == ["target"]


# --- tickets_open_over_14d --------------------------------------------------------------------


def test_requests_open_14_days_or_more_are_counted_at_as_of(
    manager, hospital_a, hospital_b, customer_a, make_filter
):
    # Given, seen on 20 March noon: received 6 March 23:00 (counted) and 7 March 00:30 (not yet)
    o1 = registered(hospital_a, local(2026, 3, 6, 23))
    o2 = registered(hospital_a, local(2026, 3, 7, 0, 30))
    # And in February: acknowledged, waiting for the customer, resolved, cancelled, at B
    o3 = acknowledge(registered(hospital_a, local(2026, 2, 1, 9)), manager, local(2026, 2, 1, 10))
    o4 = acknowledge(registered(hospital_a, local(2026, 2, 2, 9)), manager, local(2026, 2, 2, 10))
    with freeze_time(local(2026, 2, 3, 9)):
        o4 = ticket_wait(ticket=o4, actor=manager, reason="customer", note="等待客户回电")
    resolved(hospital_a, manager, local(2026, 2, 3, 9), local(2026, 2, 4, 9))
    cancel(registered(hospital_a, local(2026, 2, 4, 9)), manager, local(2026, 2, 4, 10))
    o7 = registered(hospital_b, local(2026, 2, 5, 9))
    as_of = local(2026, 3, 20, 12)
    result = compute("tickets_open_over_14d", make_filter(as_of=as_of))
    # Then the open ones are listed oldest first, four of them flagged
    assert list(result.records.values_list("pk", flat=True)) == [o3.pk, o4.pk, o7.pk, o1.pk, o2.pk]
    assert result.measures == {o1.pk: True, o2.pk: False, o3.pk: True, o4.pk: True, o7.pk: True}
    assert (result.value, result.numerator, result.denominator) == (4, 4, 5)
    assert result.notes == ["4 of 5 open requests (80.0 %)."]
    columns = {str(column.label): column for column in KPIS["tickets_open_over_14d"].columns}
    assert columns["Age (days)"].read(result.records.get(pk=o1.pk)) == 14
    # A day earlier, 6 March's request is 13 days old
    earlier = compute("tickets_open_over_14d", make_filter(as_of=local(2026, 3, 19, 23, 59)))
    assert earlier.value == 3
    # Hospital A's customer: 3 of its 4 open requests
    mine = compute("tickets_open_over_14d", make_filter(user=customer_a, as_of=as_of))
    assert (mine.value, mine.denominator) == (3, 4)


# --- complaints_per_100_units, complaints_per_batch -------------------------------------------


@pytest.fixture
def complaints(manager, quality_staff, hospital_a, hospital_b):
    monitor, strips = DeviceModelFactory(), DeviceModelFactory(name="血糖试纸")
    # Units in use on 31 March: the monitor 3 of batch B1 at A and 1 of B2 at B; not the one in
    # stock nor the one installed in April; 10 strips of N1 delivered to A without devices
    b1 = [DeviceFactory(device_model=monitor, batch_number="B1", organization=hospital_a,
                        installed_on=datetime.date(2026, 2, 1)) for _ in range(3)]  # fmt: skip
    DeviceFactory(device_model=monitor, batch_number="B2", organization=hospital_b,
                  installed_on=datetime.date(2026, 3, 10))  # fmt: skip
    DeviceFactory(device_model=monitor, batch_number="B2", organization=hospital_b,
                  status="in_stock", installed_on=None, accepted_on=None)  # fmt: skip
    DeviceFactory(device_model=monitor, batch_number="B2", organization=hospital_b,
                  installed_on=datetime.date(2026, 4, 5), accepted_on=None)  # fmt: skip
    DeliveryLineFactory(
        delivery=DeliveryFactory(organization=hospital_a, delivered_on=datetime.date(2026, 3, 2)),
        device_model=strips, batch_number="N1", quantity=10,
    )  # fmt: skip
    made = {"monitor": monitor, "strips": strips}
    # c1: a complaint about a B1 monitor; c2: a repair screened as a complaint, model only;
    # c3: a quality complaint about strips whose quality case names batch N1; c4: no model
    made["c1"] = registered(hospital_a, local(2026, 3, 2, 9), kind="complaint", device=b1[0])
    c2 = registered(hospital_a, local(2026, 3, 3, 9), kind="repair", device_model=monitor)
    Ticket.objects.filter(pk=c2.pk).update(is_complaint=True)
    made["c2"] = c2
    c3 = registered(hospital_a, local(2026, 3, 4, 9), kind="quality_complaint", channel="email",
                    device_model=strips)  # fmt: skip
    staff = quality_staff
    with freeze_time(local(2026, 3, 4, 10)):
        case = case_create(actor=staff, data={
            "description": "试纸读数偏高", "device_model": strips, "batch_number": "N1",
            "organization": hospital_a, "awareness_at": local(2026, 3, 4, 9),
        })  # fmt: skip
    QualityCase.objects.filter(pk=case.pk).update(ticket=c3)
    made["c3"] = c3
    made["c4"] = registered(hospital_a, local(2026, 3, 5, 9), kind="complaint")
    # Not complaints here: screened out, cancelled, an unscreened repair, April
    x1 = registered(hospital_a, local(2026, 3, 6, 9), kind="complaint", device_model=monitor)
    Ticket.objects.filter(pk=x1.pk).update(is_complaint=False)
    cancel(registered(hospital_a, local(2026, 3, 7, 9), kind="complaint", device_model=monitor),
           manager, local(2026, 3, 7, 10))  # fmt: skip
    registered(hospital_a, local(2026, 3, 8, 9), kind="repair", device_model=monitor)
    registered(hospital_a, local(2026, 4, 1, 9), kind="complaint", device_model=monitor)
    return made


def test_complaints_per_100_units_in_use_per_model(complaints, make_filter, hospital_a):
    c = complaints
    result = compute("complaints_per_100_units", make_filter())
    # Four complaints listed, three rated (c4 names no model) over 14 units: 300 / 14 = 21.43
    assert pks(result) == {c["c1"].pk, c["c2"].pk, c["c3"].pk, c["c4"].pk}
    assert result.measures == {c["c1"].pk: True, c["c2"].pk: True, c["c3"].pk: True,
                               c["c4"].pk: False}  # fmt: skip
    assert (result.numerator, result.denominator, result.value) == (3, 14, Decimal("21.43"))
    rows = {row.key: (row.numerator, row.denominator, row.value) for row in result.breakdown}
    assert rows == {str(c["monitor"].pk): (2, 4, Decimal("50.00")),
                    str(c["strips"].pk): (1, 10, Decimal("10.00"))}  # fmt: skip
    assert result.notes == ["1 complaints name no device model: listed, not rated."]
    # Hospital A: its 13 units (3 monitors, 10 strips), its 3 rated complaints → 23.08
    only_a = compute("complaints_per_100_units", make_filter(organization_id=hospital_a.pk))
    assert (only_a.numerator, only_a.denominator, only_a.value) == (3, 13, Decimal("23.08"))
    # The monitor: c1 and c2 over its 4 units
    monitor = compute("complaints_per_100_units", make_filter(device_model_id=c["monitor"].pk))
    assert pks(monitor) == {c["c1"].pk, c["c2"].pk}
    assert (monitor.numerator, monitor.denominator, monitor.value) == (2, 4, Decimal("50.00"))


def test_complaints_per_batch_rates_each_batch_worst_first(complaints, make_filter):
    c = complaints
    result = compute("complaints_per_batch", make_filter())
    # Rated: c1 (monitor B1, its device's batch), c3 (strips N1, its quality case's batch)
    assert result.measures == {c["c1"].pk: True, c["c2"].pk: False, c["c3"].pk: True,
                               c["c4"].pk: False}  # fmt: skip
    assert (result.numerator, result.denominator, result.value) == (2, 14, Decimal("14.29"))
    assert [(row.key, row.numerator, row.denominator, row.value) for row in result.breakdown] == [
        (f"{c['monitor'].pk}/B1", 1, 3, Decimal("33.33")),
        (f"{c['strips'].pk}/N1", 1, 10, Decimal("10.00")),
        (f"{c['monitor'].pk}/B2", 0, 1, Decimal("0.00")),
    ]
    one = compute("complaints_per_batch", make_filter(extra={"batch": "N1"}))
    assert (pks(one), one.numerator, one.denominator) == ({c["c3"].pk}, 1, 10)


def test_complaint_and_quality_kpis_are_internal_only(
    customer_a, distributor_engineer, manager, auditor
):
    for code in ("complaints_per_100_units", "complaints_per_batch", "awareness_to_decision"):
        assert KPIS[code].available_to(customer_a) is False
        assert KPIS[code].available_to(distributor_engineer) is False
        assert KPIS[code].available_to(manager) is True
    # A figure computed for an outsider anyway counts nothing of the quality records
    assert KPIS["first_response_time"].available_to(distributor_engineer) is True


# --- awareness_to_decision --------------------------------------------------------------------


@pytest.fixture
def decisions(company, quality_staff, hospital_a, hospital_b):
    staff = quality_staff
    quality_manager = user_with_role(Role.QUALITY_MANAGER, company, username="qm",
                                     first_name="质量", last_name="负责人")  # fmt: skip
    made = {"staff": staff}
    for name, organization, aware, decided, harm in (
        ("a1", hospital_a, local(2026, 3, 1, 9), local(2026, 3, 3, 9), {}),  # 48 h
        ("a2", hospital_a, local(2026, 3, 2, 9), local(2026, 3, 8, 9), {"injury": True}),  # 144 h
        ("a3", hospital_b, local(2026, 2, 27, 9), local(2026, 3, 2, 21),
         {"patient_involved": True}),  # 84 h
        ("april", hospital_a, local(2026, 3, 25, 9), local(2026, 4, 2, 9), {}),
        ("undecided", hospital_a, local(2026, 3, 5, 9), None, {}),
    ):  # fmt: skip
        with freeze_time(aware):
            case = case_create(actor=staff, data={
                "description": "监护仪血氧读数异常跳变", "organization": organization,
                "awareness_at": aware, **harm,
            })  # fmt: skip
        if decided:
            with freeze_time(decided):
                case_decide(actor=quality_manager, case=case, outcome="no_defect",
                            rationale="复测在规格内", password=PASSWORD, markets=["CN"])  # fmt: skip
        made[name] = case
    return made


def test_awareness_to_decision_is_the_p90_hours_with_the_shares_beside(decisions, make_filter):
    d = decisions
    result = compute("awareness_to_decision", make_filter())
    assert pks(result) == {d["a1"].pk, d["a2"].pk, d["a3"].pk}
    assert result.measures == {d["a1"].pk: hours("48"), d["a2"].pk: hours("144"),
                               d["a3"].pk: hours("84")}  # fmt: skip
    assert (result.median, result.p90, result.value) == (hours("84"), hours("144"), hours("144"))
    assert result.notes == [
        "Decided within 5 days: 2 of 3 (66.7 %).",
        "With injury or a patient involved, decided within 2 days: 0 of 2 (0.0 %).",
    ]
    columns = {str(column.label): column for column in KPIS["awareness_to_decision"].columns}
    assert columns["Days"].read(result.records.get(pk=d["a2"].pk)) == Decimal("6.00")


def test_awareness_to_decision_filters_by_organisation_and_owner(
    decisions, make_filter, hospital_b, manager
):
    d = decisions
    only_b = compute("awareness_to_decision", make_filter(organization_id=hospital_b.pk))
    assert (pks(only_b), only_b.value) == ({d["a3"].pk}, hours("84"))
    QualityCase.objects.filter(pk=d["a1"].pk).update(owner=manager)
    owned = compute("awareness_to_decision", make_filter(engineer_id=manager.pk))
    assert (pks(owned), owned.value) == ({d["a1"].pk}, hours("48"))


# --- through the API and the pages ------------------------------------------------------------

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def test_the_api_gives_the_compliance_figure_its_rows_and_its_clocks(api, promises, manager):
    client = api.as_user(manager)
    body = client.get("/api/v1/kpis/sla_compliance/", MARCH).json()
    assert (body["value"], body["numerator"], body["denominator"]) == ("60.0", "3", "5")
    assert [row["key"] for row in body["breakdown"]] == [
        "first_response", "plan", "resolution", "onsite", "quality_contact"]  # fmt: skip
    records = client.get("/api/v1/kpis/sla_compliance/records/", MARCH).json()
    assert records["count"] == 5
    assert sorted(row["measure"] for row in records["results"]) == [False, False, True, True, True]
    assert {row["columns"]["Request"] for row in records["results"]} == {
        promises["s1"].number, promises["s2"].number}  # fmt: skip
    contact = client.get(
        "/api/v1/kpis/sla_compliance/records/", {**MARCH, "target": "quality_contact"}
    ).json()
    assert {row["columns"]["Request"] for row in contact["results"]} == {
        promises["q1"].number, promises["q2"].number}  # fmt: skip
    refused = client.get("/api/v1/kpis/sla_compliance/", {**MARCH, "target": "lunch"})
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["target"]


def test_a_distributor_lists_the_service_kpis_but_not_the_quality_ones(
    api, first_responses, distributor, distributor_engineer, hospital_b
):
    hospital_b.served_by.add(distributor)
    listing = api.as_user(distributor_engineer).get("/api/v1/kpis/", MARCH).json()
    figures = {row["code"]: row for row in listing["results"]}
    assert figures["first_response_time"]["value"] == "30.00"
    assert figures["first_response_time"]["denominator"] == "1"
    for code in ("complaints_per_100_units", "complaints_per_batch", "awareness_to_decision"):
        assert code not in figures
    assert api.as_user(distributor_engineer).get(
        "/api/v1/kpis/awareness_to_decision/", MARCH).status_code == 404  # fmt: skip


def test_the_pages_show_every_figure_and_each_drill_down(client, manager, promises, decisions):
    client.force_login(manager)
    assert client.get("/analytics/kpis/", MARCH).status_code == 200
    for code in ("first_response_time", "plan_time", "resolution_time", "sla_compliance",
                 "tickets_open_over_14d", "complaints_per_100_units", "complaints_per_batch",
                 "awareness_to_decision"):  # fmt: skip
        response = client.get(f"/analytics/kpis/{code}/", MARCH)
        assert response.status_code == 200, code
    page = client.get("/analytics/kpis/resolution_time/", MARCH).content.decode()
    assert promises["s1"].number in page
