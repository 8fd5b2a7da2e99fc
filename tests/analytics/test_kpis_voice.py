"""The customers' voice and returns KPIs (docs/kpis.md): return rate, recall completion,
customer satisfaction, net promoter score and follow-up completion, each on a hand-checked
March 2026 set seen on 15 April; the drill-down is exactly what was counted; scope and filters
apply to every figure."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from medservice.accounts.choices import Role
from medservice.analytics.kpis import KPIS
from medservice.feedback.models import Survey, SurveyAnswer, SurveyQuestion
from medservice.feedback.selectors_followups import ResultRow
from medservice.quality.models import Recall, RecallDevice, RecallRecipient
from medservice.returns.models import ReturnLine, ReturnRequest
from medservice.tickets.models import Team, Ticket
from tests.analytics.conftest import local
from tests.factories import OrganizationFactory, user_with_role
from tests.feedback.factories_followups import FollowUpFactory, SurveyFactory
from tests.installed_base.factories import (
    BatchModelFactory,
    DeliveryFactory,
    DeliveryLineFactory,
    DeviceFactory,
    DeviceModelFactory,
)
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db


def compute(code, kpi_filter):
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


def pks(result) -> set[int]:
    return set(result.records.values_list("pk", flat=True))


def numbers(result) -> tuple:
    return (result.numerator, result.denominator, result.value)


def row(result, key):
    return next(item for item in result.breakdown if item.key == key)


# --- return_rate ------------------------------------------------------------------------------


@pytest.fixture
def returns_set(hospital_a, hospital_b):
    """Delivered in March: strips 100 to A and 50 to B, pads 50 to A (200); a February and
    an April delivery outside. Returned in March: 3 strips from A (exchange), 2 strips and
    1 pad from B (not decided yet); a rejected return of 10 and an April return not counted."""
    hospital_b.region = "北京"
    hospital_b.save(update_fields=["region"])
    strips = BatchModelFactory(name="血糖试纸", model_spec="KD-GS100")
    pads = BatchModelFactory(name="电极片", model_spec="KD-EP20")

    def delivered(organization, model, quantity, day):
        return DeliveryLineFactory(
            delivery=DeliveryFactory(organization=organization, delivered_on=day),
            device_model=model, quantity=quantity,
        )  # fmt: skip

    strips_a = delivered(hospital_a, strips, 100, datetime.date(2026, 3, 2))
    strips_b = delivered(hospital_b, strips, 50, datetime.date(2026, 3, 10))
    pads_a = delivered(hospital_a, pads, 50, datetime.date(2026, 3, 31))
    delivered(hospital_a, strips, 1000, datetime.date(2026, 4, 1))
    delivered(hospital_b, strips, 1000, datetime.date(2026, 2, 28))

    def returned(organization, day, reason, decision, *lines):
        request = ReturnRequest.objects.create(
            organization=organization, requested_on=day, reason=reason, fault_description="x",
            decision=decision,
        )  # fmt: skip
        return [
            ReturnLine.objects.create(
                request=request,
                delivery_line=line,
                device_model=line.device_model,
                batch_number=line.batch_number,
                quantity=quantity,
                condition="unopened",
            )
            for line, quantity in lines
        ]

    march = datetime.date(2026, 3, 20)
    from_a = returned(hospital_a, march, "faulty", "exchange", (strips_a, 3))
    from_b = returned(
        hospital_b, datetime.date(2026, 3, 31), "damaged_on_arrival", "", (strips_b, 2),
        (pads_a, 1),
    )  # fmt: skip
    returned(hospital_a, march, "not_needed", "reject", (strips_a, 10))
    returned(hospital_a, datetime.date(2026, 4, 1), "faulty", "", (strips_a, 7))
    return {"strips": strips, "from_a": from_a, "from_b": from_b}


def test_return_rate_is_units_returned_per_unit_delivered(make_filter, returns_set):
    # When the manager reads March
    result = compute("return_rate", make_filter())
    # Then 3 + 2 + 1 units came back of 200 delivered: 3.0 %; the rejected and April ones not
    assert numbers(result) == (Decimal(6), Decimal(200), Decimal("3.0"))
    # And the list is exactly the counted return lines, each measuring its quantity
    lines = [*returns_set["from_a"], *returns_set["from_b"]]
    assert pks(result) == {line.pk for line in lines}
    assert result.measures == {line.pk: line.quantity for line in lines}
    assert sum(result.measures.values()) == result.numerator
    # And by reason: 3 faulty, 3 damaged on arrival, each 1.5 % of the delivered 200
    assert [(item.key, item.numerator, item.value) for item in result.breakdown] == [
        ("reason:damaged_on_arrival", Decimal(3), Decimal("1.5")),
        ("reason:faulty", Decimal(3), Decimal("1.5")),
    ]
    # And B's undecided return makes the figure provisional
    assert result.provisional_until == datetime.date(2026, 4, 15)
    assert "1 return requests are not decided yet" in result.notes[0]


def test_return_rate_filters_and_scope(
    make_filter, returns_set, hospital_a, hospital_b, customer_a, distributor_engineer
):
    # Hospital A: 3 returned of 150 delivered to it
    assert numbers(compute("return_rate", make_filter(organization_id=hospital_a.pk))) == (
        Decimal(3), Decimal(150), Decimal("2.0"))  # fmt: skip
    # Strips only: 3 + 2 of 150
    by_model = compute("return_rate", make_filter(device_model_id=returns_set["strips"].pk))
    assert numbers(by_model) == (Decimal(5), Decimal(150), Decimal("3.3"))
    # Region 北京 (hospital B): 2 strips and 1 pad (a pad delivered to A but returned by B)
    assert numbers(compute("return_rate", make_filter(region="北京"))) == (
        Decimal(3), Decimal(50), Decimal("6.0"))  # fmt: skip
    # A's own user counts A's returns over A's deliveries only
    assert numbers(compute("return_rate", make_filter(user=customer_a))) == (
        Decimal(3), Decimal(150), Decimal("2.0"))  # fmt: skip
    # A distributor serving B: B's returns over B's deliveries
    hospital_b.served_by.add(distributor_engineer.organization)
    mine = compute("return_rate", make_filter(user=distributor_engineer))
    assert numbers(mine) == (Decimal(3), Decimal(50), Decimal("6.0"))
    assert pks(mine) == {line.pk for line in returns_set["from_b"]}


# --- recall_completion -------------------------------------------------------------------------


def _recall(number, model, *, status="in_progress", decided_at, notify_due_at, **fields):
    return Recall.objects.create(
        number=number, kind="recall", status=status, device_model=model, batch_number="2303",
        recall_class="II", reason="电源板缺陷", instructions="停止使用", handling="repair",
        responsible_phone="021-5555", decided_at=decided_at, notify_due_at=notify_due_at,
        **fields,
    )  # fmt: skip


@pytest.fixture
def recalls_set(hospital_a, hospital_b):
    """RC-1 (monitors, decided 1 March, notices due 4 March): four devices — one corrected
    10 March, one not found 20 March, one returned 5 April, one without disposition; A told on
    time, B late. RC-2 (strips, no device records, decided 20 February, due 27 February, closed
    25 March): three recipients, A acknowledged 25 Feb, C 20 March, B never; C told late. Not
    counted: a recall closed in February, a draft, one decided in April."""
    hospital_c = OrganizationFactory(name="区妇幼保健院")
    monitor = DeviceModelFactory(name="多参数病人监护仪", model_spec="KD-M8000")
    strips = BatchModelFactory(name="血糖试纸", model_spec="KD-GS100")
    rc1 = _recall("RC-2026-0001", monitor, decided_at=local(2026, 3, 1, 10),
                  notify_due_at=local(2026, 3, 4, 10))  # fmt: skip
    at_a = RecallRecipient.objects.create(
        recall=rc1, organization=hospital_a, notified_at=local(2026, 3, 2, 9),
        acknowledged_at=local(2026, 3, 3, 9),
    )  # fmt: skip
    at_b = RecallRecipient.objects.create(
        recall=rc1, organization=hospital_b, notified_at=local(2026, 3, 6, 9)
    )
    devices = {}
    for name, recipient, disposition, at in (
        ("corrected", at_a, "corrected_on_site", local(2026, 3, 10, 15)),
        ("not_found", at_a, "not_found", local(2026, 3, 20, 15)),
        ("april", at_b, "returned", local(2026, 4, 5, 15)),
        ("open", at_b, "", None),
    ):
        devices[name] = RecallDevice.objects.create(
            recall=rc1, recipient=recipient, disposition=disposition, disposition_at=at,
            device=DeviceFactory(device_model=monitor, organization=recipient.organization),
        )  # fmt: skip
    rc2 = _recall("RC-2026-0002", strips, status="closed", decided_at=local(2026, 2, 20, 10),
                  notify_due_at=local(2026, 2, 27, 10), closed_at=local(2026, 3, 25, 10))  # fmt: skip
    recipients = {
        "a": RecallRecipient.objects.create(
            recall=rc2, organization=hospital_a, notified_at=local(2026, 2, 21, 9),
            acknowledged_at=local(2026, 2, 25, 9),
        ),
        "b": RecallRecipient.objects.create(
            recall=rc2, organization=hospital_b, notified_at=local(2026, 2, 22, 9)
        ),
        "c": RecallRecipient.objects.create(
            recall=rc2, organization=hospital_c, notified_at=local(2026, 2, 28, 9),
            acknowledged_at=local(2026, 3, 20, 9),
        ),
    }  # fmt: skip
    for number, status, decided, closed in (
        ("RC-2026-0003", "closed", local(2026, 1, 5), local(2026, 2, 28)),
        ("RC-2026-0004", "draft", None, None),
        ("RC-2026-0005", "in_progress", local(2026, 4, 2), None),
    ):
        old = _recall(number, strips, status=status, decided_at=decided, notify_due_at=decided,
                      closed_at=closed)  # fmt: skip
        RecallRecipient.objects.create(recall=old, organization=hospital_a)
    return {"monitor": monitor, "strips": strips, "devices": devices, "recipients": recipients}


def test_recall_completion_pools_devices_and_recipients_at_the_period_end(make_filter, recalls_set):
    # When the manager reads March (as at 1 April 00:00)
    result = compute("recall_completion", make_filter())
    # Then RC-1 has 2 of 4 devices done (the April return not yet), RC-2 2 of 3 recipients
    # acknowledged: pooled 4 of 7 = 57.1 %, not the mean of 50 % and 66.7 %
    assert numbers(result) == (Decimal(4), Decimal(7), Decimal("57.1"))
    assert [(item.key, item.numerator, item.denominator, item.value)
            for item in result.breakdown[:2]] == [
        ("recall:RC-2026-0002", Decimal(2), Decimal(3), Decimal("66.7")),
        ("recall:RC-2026-0001", Decimal(2), Decimal(4), Decimal("50.0")),
    ]  # fmt: skip
    # And notices on time: A of RC-1, A and B of RC-2 — 3 of 5; the not-found device shown
    assert numbers(row(result, "notices_on_time")) == (Decimal(3), Decimal(5), Decimal("60.0"))
    assert numbers(row(result, "not_found")) == (Decimal(1), Decimal(4), Decimal("25.0"))
    assert "1 devices declared not found count as done." in result.notes
    # And the list shows the devices (the 3 recipients of RC-2 are in its breakdown row)
    devices = recalls_set["devices"]
    assert pks(result) == {entry.pk for entry in devices.values()}
    assert result.measures == {
        devices["corrected"].pk: True, devices["not_found"].pk: True,
        devices["april"].pk: False, devices["open"].pk: False,
    }  # fmt: skip
    assert "3 recipients of recalls without device records" in result.notes[0]


def test_recall_completion_drill_down_is_exactly_the_counted_units(make_filter, recalls_set):
    # Monitors only: the four devices, 2 done
    monitors = compute("recall_completion", make_filter(device_model_id=recalls_set["monitor"].pk))
    assert numbers(monitors) == (Decimal(2), Decimal(4), Decimal("50.0"))
    assert monitors.records.count() == monitors.denominator
    assert sum(monitors.measures.values()) == monitors.numerator
    # Strips (no device records): the three recipients, 2 acknowledged
    strips = compute("recall_completion", make_filter(device_model_id=recalls_set["strips"].pk))
    recipients = recalls_set["recipients"]
    assert numbers(strips) == (Decimal(2), Decimal(3), Decimal("66.7"))
    assert strips.measures == {recipients["a"].pk: True, recipients["b"].pk: False,
                               recipients["c"].pk: True}  # fmt: skip


def test_recall_completion_reads_the_state_as_of_and_filters_by_recipient(
    make_filter, recalls_set, hospital_a
):
    # As of 15 March: RC-1 one device done (not found on the 20th), RC-2 only A acknowledged
    early = compute("recall_completion", make_filter(as_of=local(2026, 3, 15, 12)))
    assert numbers(early) == (Decimal(2), Decimal(7), Decimal("28.6"))
    # Hospital A: both its devices of RC-1 and its acknowledgement of RC-2
    mine = compute("recall_completion", make_filter(organization_id=hospital_a.pk))
    assert numbers(mine) == (Decimal(3), Decimal(3), Decimal("100.0"))


def test_recall_completion_is_internal_only(
    make_filter, recalls_set, company, distributor_engineer, hospital_a
):
    hospital_a.served_by.add(distributor_engineer.organization)
    finance = user_with_role(Role.FINANCE, company, username="finance")
    definition = KPIS["recall_completion"]
    assert not definition.available_to(distributor_engineer)
    assert not definition.available_to(finance)  # no quality.view_recall
    # And computed anyway (a forgotten check), it counts nothing
    assert compute("recall_completion", make_filter(user=distributor_engineer)).value is None
    assert compute("recall_completion", make_filter(user=finance)).records.count() == 0


# --- csat and nps -----------------------------------------------------------------------------


def _answer(survey, **scores):
    for code, score in scores.items():
        SurveyAnswer.objects.create(
            survey=survey, question=SurveyQuestion.objects.get(code=code), score=score
        )


@pytest.fixture
def engineers(company):
    return (
        user_with_role(Role.FIELD_ENGINEER, company, username="engineer_1"),
        user_with_role(Role.FIELD_ENGINEER, company, username="engineer_2"),
    )


@pytest.fixture
def voice_set(hospital_a, hospital_b, engineers):
    """Answered in March: S1 (A, result 5, speed 4, recommends 10), S2 (A, 4, speed 2, 9),
    S3 (B, 2, speed 3, 6; region copied as 北京), S4 (B, 3, 8), a periodic survey (A, result
    1, recommends 9); S5 answered 1 April (result 5, 10); S7 sent, never answered. Portal
    ratings in March without an answered survey: 5 (owner engineer 1), 2 and 4; S1's request
    rated 5 too (the survey counts, not the rating); a cancelled request rated 5."""
    first, second = engineers
    north = Team.objects.create(name="华东一组")
    south = Team.objects.create(name="华东二组")

    def ticket(organization, **fields):
        return TicketFactory(organization=organization, auto_assign=False, **fields)

    def survey(organization, engineer, team, answered, sent, **scores):
        case = ticket(organization)
        item = Survey.objects.create(
            subject="ticket", ticket=case, organization=organization, engineer=engineer,
            team=team, region=organization.region, status="answered" if answered else "sent",
            answered_at=answered, sent_at=sent,
        )  # fmt: skip
        _answer(item, **scores)
        return item

    surveys = {
        "s1": survey(hospital_a, first, north, local(2026, 3, 3, 10), local(2026, 3, 1),
                     result=5, speed=4, recommendation=10),
        "s2": survey(hospital_a, first, north, local(2026, 3, 10, 10), local(2026, 3, 8),
                     result=4, speed=2, recommendation=9),
        "s3": survey(hospital_b, second, south, local(2026, 3, 12, 10), local(2026, 3, 9),
                     result=2, speed=3, recommendation=6),
        "s4": survey(hospital_b, second, south, local(2026, 3, 31, 23), local(2026, 3, 20),
                     result=3, recommendation=8),
        "s5": survey(hospital_a, first, north, local(2026, 4, 1), local(2026, 3, 25),
                     result=5, recommendation=10),
        "s7": survey(hospital_a, first, north, None, local(2026, 3, 20)),
    }  # fmt: skip
    Survey.objects.filter(pk=surveys["s3"].pk).update(region="北京")
    periodic = SurveyFactory(organization=hospital_a, status="answered",
                             answered_at=local(2026, 3, 15, 10), sent_at=local(2026, 3, 1))  # fmt: skip
    _answer(periodic, result=1, recommendation=9)
    surveys["periodic"] = periodic
    rated = {}
    for name, organization, rating, owner in (
        ("r5", hospital_a, 5, first),
        ("r2", hospital_b, 2, second),
        ("r4", hospital_b, 4, None),
        ("cancelled", hospital_a, 5, first),
    ):
        rated[name] = ticket(organization)
        Ticket.objects.filter(pk=rated[name].pk).update(
            rating=rating, rated_at=local(2026, 3, 18, 10), owner=owner, team=north
        )
    Ticket.objects.filter(pk=rated["cancelled"].pk).update(status="cancelled")
    Ticket.objects.filter(pk=surveys["s1"].ticket_id).update(
        rating=5, rated_at=local(2026, 3, 3, 10)
    )
    return {"surveys": surveys, "teams": (north, south), "rated": rated}


def test_csat_counts_surveys_scored_4_or_5_and_shows_the_portal_ratings_beside(
    make_filter, voice_set
):
    surveys = voice_set["surveys"]
    # When the manager reads March
    result = compute("csat", make_filter())
    # Then S1 (5) and S2 (4) of S1–S4 are satisfied: 50.0 %; periodic, April, unanswered not
    assert numbers(result) == (Decimal(2), Decimal(4), Decimal("50.0"))
    assert result.measures == {surveys["s1"].pk: True, surveys["s2"].pk: True,
                               surveys["s3"].pk: False, surveys["s4"].pk: False}  # fmt: skip
    assert result.records.count() == result.denominator
    # And beside it the ratings without an answered survey (5, 2, 4: 2 of 3) and all 7 cases
    assert numbers(row(result, "ratings")) == (Decimal(2), Decimal(3), Decimal("66.7"))
    assert numbers(row(result, "all")) == (Decimal(4), Decimal(7), Decimal("57.1"))
    # And the answer rate: of six sent in March (S1–S5, S7), five answered
    assert numbers(row(result, "answer_rate")) == (Decimal(5), Decimal(6), Decimal("83.3"))
    # And the averages over the counted surveys: speed (4+2+3)/3, result (5+4+2+3)/4
    assert row(result, "average:speed").value == Decimal("3.00")
    assert row(result, "average:result").value == Decimal("3.50")
    assert "57.1 % of 7 cases" in result.notes[0]


def test_csat_filters_read_the_fields_the_survey_copied(make_filter, voice_set, engineers):
    first, _second = engineers
    _north, south = voice_set["teams"]
    # Engineer 1: S1 and S2, both satisfied; beside, his one portal rating (5)
    mine = compute("csat", make_filter(engineer_id=first.pk))
    assert numbers(mine) == (Decimal(2), Decimal(2), Decimal("100.0"))
    assert numbers(row(mine, "ratings")) == (Decimal(1), Decimal(1), Decimal("100.0"))
    # Team 2: S3 and S4, neither satisfied
    assert numbers(compute("csat", make_filter(team_id=south.pk))) == (
        Decimal(0), Decimal(2), Decimal("0.0"))  # fmt: skip
    # Region 北京: only S3, whose copied region differs from its organisation's
    assert pks(compute("csat", make_filter(region="北京"))) == {voice_set["surveys"]["s3"].pk}


def test_survey_figures_are_for_managers_and_distributors_never_customers(
    make_filter, voice_set, company, hospital_b, distributor_engineer, customer_a
):
    finance = user_with_role(Role.FINANCE, company, username="finance")
    for code in ("csat", "nps"):
        definition = KPIS[code]
        assert not definition.available_to(finance)  # no feedback.view_survey_results
        assert not definition.available_to(customer_a)
        assert definition.available_to(distributor_engineer)
    # A distributor serving hospital B sees B's surveys only
    hospital_b.served_by.add(distributor_engineer.organization)
    theirs = compute("csat", make_filter(user=distributor_engineer))
    surveys = voice_set["surveys"]
    assert pks(theirs) == {surveys["s3"].pk, surveys["s4"].pk}
    assert numbers(row(theirs, "ratings")) == (Decimal(1), Decimal(2), Decimal("50.0"))
    # And a customer's figure, computed anyway, counts nothing
    assert compute("csat", make_filter(user=customer_a)).denominator == 0
    assert compute("nps", make_filter(user=customer_a)).value is None


def test_nps_is_promoters_minus_detractors_over_every_answer(make_filter, voice_set):
    surveys = voice_set["surveys"]
    # When the manager reads March: 10, 9, 6, 8 and the periodic 9 (April's 10 not)
    result = compute("nps", make_filter())
    # Then 3 promoters, 1 passive, 1 detractor of 5: 60 − 20 = 40.0 points
    assert numbers(result) == (Decimal(3), Decimal(5), Decimal("40.0"))
    assert result.value == Decimal(str(ResultRow(key=None, label="", promoters=3, detractors=1,
                                                 recommendations=5).nps))  # fmt: skip
    assert [(item.key, item.numerator, item.value) for item in result.breakdown] == [
        ("promoters", Decimal(3), Decimal("60.0")),
        ("passives", Decimal(1), Decimal("20.0")),
        ("detractors", Decimal(1), Decimal("20.0")),
    ]
    # And the list is the five answers, each measuring its score
    assert result.records.count() == result.denominator
    assert sorted(result.measures.values()) == [6, 8, 9, 9, 10]
    assert {answer.survey_id for answer in result.records} == {
        surveys[name].pk for name in ("s1", "s2", "s3", "s4", "periodic")
    }
    # And the subject filter: requests only (2 promoters, 1 detractor of 4) or periodic only
    tickets = compute("nps", make_filter(extra={"subject": "ticket"}))
    assert numbers(tickets) == (Decimal(2), Decimal(4), Decimal("25.0"))
    assert compute("nps", make_filter(extra={"subject": "periodic"})).value == Decimal("100.0")


def test_nps_rounds_half_up_to_a_tenth(make_filter, hospital_a):
    # One promoter and fifteen passives: 100 / 16 = 6.25 points, shown 6.3
    for score in [10] + [7] * 15:
        survey = SurveyFactory(organization=hospital_a, status="answered",
                               answered_at=local(2026, 3, 15, 10))  # fmt: skip
        _answer(survey, recommendation=score)
    assert compute("nps", make_filter()).value == Decimal("6.3")


# --- follow_up_completion -----------------------------------------------------------------------


@pytest.fixture
def follow_ups(hospital_a, hospital_b, engineers):
    """Calls due in March: F1 due 5th done on the 4th, F2 due 10th not reached at 23:30 that
    day, F3 due 12th done on the 13th, F4 due 20th still open, F5 due 31st done 2 April; F6 due
    1 April; a use check due 15 March done on the 14th."""
    first, second = engineers

    def follow_up(organization, due, status="open", completed=None, outcome="", **fields):
        return FollowUpFactory(
            organization=organization, due_on=due, status=status, completed_at=completed,
            outcome=outcome, **fields,
        )  # fmt: skip

    day = datetime.date
    return {
        "f1": follow_up(hospital_a, day(2026, 3, 5), "done", local(2026, 3, 4, 10), "satisfied",
                        assignee=first),
        "f2": follow_up(hospital_b, day(2026, 3, 10), "not_reached", local(2026, 3, 10, 23, 30),
                        "not_reached", assignee=second),
        "f3": follow_up(hospital_a, day(2026, 3, 12), "done", local(2026, 3, 13, 9),
                        "problem_persists", assignee=first),
        "f4": follow_up(hospital_b, day(2026, 3, 20), assignee=second),
        "f5": follow_up(hospital_a, day(2026, 3, 31), "done", local(2026, 4, 2, 9), "satisfied",
                        assignee=second),
        "f6": follow_up(hospital_a, day(2026, 4, 1), assignee=first),
        "check": follow_up(hospital_a, day(2026, 3, 15), "done", local(2026, 3, 14, 9),
                           "satisfied", kind="use_check", assignee=first),
    }  # fmt: skip


def test_follow_up_completion_counts_calls_made_by_their_due_date(make_filter, follow_ups):
    # When the manager reads March
    result = compute("follow_up_completion", make_filter())
    # Then F1 and F2 (local day of completion = due day) of F1–F5 were made in time: 40.0 %
    assert numbers(result) == (Decimal(2), Decimal(5), Decimal("40.0"))
    assert result.measures == {
        follow_ups["f1"].pk: True, follow_ups["f2"].pk: True, follow_ups["f3"].pk: False,
        follow_ups["f4"].pk: False, follow_ups["f5"].pk: False,
    }  # fmt: skip
    assert result.records.count() == result.denominator
    # And all due dates have passed: final
    assert result.provisional_until is None
    # And of four completed, three reached the customer; outcomes as recorded
    assert numbers(row(result, "reached")) == (Decimal(3), Decimal(4), Decimal("75.0"))
    assert numbers(row(result, "outcome:satisfied")) == (Decimal(2), Decimal(4), Decimal("50.0"))
    assert row(result, "outcome:problem_persists").numerator == Decimal(1)


def test_follow_up_completion_in_progress_kind_filter_and_scope(
    make_filter, follow_ups, engineers, hospital_b, distributor_engineer, customer_a
):
    first, _second = engineers
    # As of 15 March: F1–F3 are due so far, F3 made late; provisional until 31 March
    early = compute("follow_up_completion", make_filter(as_of=local(2026, 3, 15, 12)))
    assert numbers(early) == (Decimal(2), Decimal(3), Decimal("66.7"))
    assert early.provisional_until == datetime.date(2026, 3, 31)
    # The use checks, on request
    checks = compute("follow_up_completion", make_filter(extra={"kind": "use_check"}))
    assert pks(checks) == {follow_ups["check"].pk}
    assert checks.value == Decimal("100.0")
    # An unknown kind shows the calls, and says so
    odd = compute("follow_up_completion", make_filter(extra={"kind": "visit"}))
    assert odd.denominator == 5 and odd.notes
    # Engineer 1 (assignee): F1 in time, F3 late
    assert numbers(compute("follow_up_completion", make_filter(engineer_id=first.pk))) == (
        Decimal(1), Decimal(2), Decimal("50.0"))  # fmt: skip
    # A distributor serving B: F2 and F4; a customer: not available, and nothing counted
    hospital_b.served_by.add(distributor_engineer.organization)
    theirs = compute("follow_up_completion", make_filter(user=distributor_engineer))
    assert pks(theirs) == {follow_ups["f2"].pk, follow_ups["f4"].pk}
    assert not KPIS["follow_up_completion"].available_to(customer_a)
    assert compute("follow_up_completion", make_filter(user=customer_a)).denominator == 0


# --- registry and API ---------------------------------------------------------------------------


def test_the_voice_kpis_are_registered_in_their_groups_and_order():
    expected = {
        "csat": ("voice", 60), "nps": ("voice", 61), "follow_up_completion": ("voice", 62),
        "return_rate": ("returns", 70), "recall_completion": ("returns", 71),
    }  # fmt: skip
    assert {code: (KPIS[code].group, KPIS[code].order) for code in expected} == expected
    assert KPIS["recall_completion"].internal_only
    assert KPIS["return_rate"].filters == ("region", "organization", "device_model")


def test_the_api_gives_the_csat_figure_and_its_surveys(api, manager, voice_set):
    client = api.as_user(manager)
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    body = client.get("/api/v1/kpis/csat/", period).json()
    assert (body["value"], body["numerator"], body["denominator"]) == ("50.0", "2", "4")
    assert [item["key"] for item in body["breakdown"]][:3] == ["surveys", "ratings", "all"]
    records = client.get("/api/v1/kpis/csat/records/", period).json()
    assert records["count"] == 4
    assert sorted(item["measure"] for item in records["results"]) == [False, False, True, True]
    assert client.get("/api/v1/kpis/recall_completion/", period).status_code == 200


def test_the_kpi_pages_list_each_voice_figures_records(
    client, manager, voice_set, follow_ups, recalls_set, returns_set
):
    client.force_login(manager)
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    assert client.get("/analytics/kpis/", period).status_code == 200
    for code, shown in (
        ("return_rate", "KD-GS100"), ("recall_completion", "RC-2026-0001"),
        ("csat", "Satisfied"), ("nps", "Promoter"), ("follow_up_completion", "HF-2026-"),
    ):  # fmt: skip
        page = client.get(f"/analytics/kpis/{code}/", period)
        assert page.status_code == 200
        assert shown in page.content.decode()
