"""Spot checks (定期抽查, issue 11): each month a random sample of closed service requests or
completed work orders per engineer or team is drawn, reviewed against a checklist, and a major
finding opens an improvement action. The draw is random but reproducible from its stored seed,
and never picks a record twice."""

from __future__ import annotations

import datetime
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from medservice.accounts.choices import Role
from medservice.analytics.choices import SpotCheckRecordKind, SpotCheckSeverity, SpotCheckStratum
from medservice.analytics.models import (
    SpotCheckChecklistItem,
    SpotCheckItem,
    SpotCheckPlan,
    SpotCheckSample,
)
from medservice.analytics.spot_checks import (
    draw,
    population,
    sample_verify,
    spot_check_review,
    spot_check_sample_create,
    spot_check_samples_monthly,
)
from medservice.core.errors import InvalidInputError, SegregationOfDutiesError
from medservice.quality.capa import capas_of_source
from medservice.tickets.models import Team, Ticket
from medservice.work_orders.models import WorkOrder
from tests.analytics.conftest import MARCH_END, MARCH_START, local
from tests.factories import user_with_role
from tests.tickets.factories import TicketFactory
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db

SEED = "0123456789abcdef0123456789abcdef"
OTHER_SEED = "fedcba9876543210fedcba9876543210"
ANSWERS = {"diagnosis": "yes", "report": "no"}


@pytest.fixture
def team_lead(company):
    return user_with_role(Role.SERVICE_MANAGER, company, username="team_lead")


@pytest.fixture
def team(team_lead):
    return Team.objects.create(name="华东服务组", manager=team_lead)


@pytest.fixture
def engineer(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="engineer_li", first_name="明",
                          last_name="李")  # fmt: skip


@pytest.fixture
def engineer_b(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="engineer_zhao")


def closed_tickets(organization, count, *, owner, team=None, closed_at=None):
    """`count` requests closed on 10 March (unless told) by `owner`."""
    tickets = [TicketFactory(organization=organization, auto_assign=False) for _ in range(count)]
    Ticket.objects.filter(pk__in=[ticket.pk for ticket in tickets]).update(
        status="closed", closed_at=closed_at or local(2026, 3, 10, 15), owner=owner, team=team
    )
    return [ticket.pk for ticket in tickets]


def ticket_plan(size=3, stratum=SpotCheckStratum.ENGINEER, name="每月结案抽查", reviewer=None):
    plan = SpotCheckPlan.objects.create(
        name=name, record_kind=SpotCheckRecordKind.CLOSED_TICKETS, stratum=stratum,
        size_per_stratum=size, default_reviewer=reviewer,
    )  # fmt: skip
    SpotCheckChecklistItem.objects.create(
        plan=plan, code="diagnosis", text_zh="诊断是否正确", text_en="Was the diagnosis right?",
        order=1,
    )  # fmt: skip
    SpotCheckChecklistItem.objects.create(
        plan=plan, code="report", text_zh="报告是否完整", text_en="Is the report complete?",
        order=2,
    )  # fmt: skip
    return plan


def lowest_ranked(seed, pks, k, label="tickets.ticket"):
    """The spec, computed independently: the k records with the lowest sha256 rank."""
    return sorted(pks, key=lambda pk: hashlib.sha256(f"{seed}:{label}:{pk}".encode()).hexdigest())[
        :k
    ]


def picked(sample):
    return sorted(sample.items.values_list("object_id", flat=True))


# --- the draw ------------------------------------------------------------------------------


def test_the_same_seed_draws_the_same_records_and_the_draw_verifies(hospital_a, engineer, team):
    # Given 20 requests engineer Li closed in March, and a plan drawing 3 per engineer
    pks = closed_tickets(hospital_a, 20, owner=engineer, team=team)
    plan = ticket_plan(size=3)
    # When March's sample is drawn with a known seed
    sample = spot_check_sample_create(
        plan=plan, period_start=MARCH_START, period_end=MARCH_END, seed=SEED
    )
    # Then the picks are the 3 lowest sha256 ranks of "seed:tickets.ticket:pk", as anyone
    # holding the seed computes them
    assert picked(sample) == sorted(lowest_ranked(SEED, pks, 3))
    assert sample.population_size == 20
    assert sample.algorithm == "sha256-v1"
    item = sample.items.order_by("rank").first()
    assert (
        item.rank == hashlib.sha256(f"{SEED}:tickets.ticket:{item.object_id}".encode()).hexdigest()
    )
    assert (item.stratum_id, item.stratum_label, item.engineer) == (engineer.pk, "李明", engineer)
    # And recomputing from the stored seed gives the same records
    assert sample_verify(sample) is True
    # And a stored item changed by hand no longer verifies
    SpotCheckItem.objects.filter(pk=item.pk).update(rank="0" * 64)
    assert sample_verify(sample) is False


def test_the_seed_is_random_and_different_seeds_draw_different_records(hospital_a, engineer):
    # Given a population of 20 closed requests
    pks = closed_tickets(hospital_a, 20, owner=engineer)
    plan = ticket_plan(size=3)
    candidates = population(plan, MARCH_START, MARCH_END, before_sample=None)
    assert len(candidates) == 20
    # When drawn with two seeds
    first = sorted(c.pk for c, _rank in draw(candidates, seed=SEED, label="tickets.ticket", size=3))
    second = sorted(
        c.pk for c, _rank in draw(candidates, seed=OTHER_SEED, label="tickets.ticket", size=3)
    )
    # Then the picks differ, each as the spec ranks them
    assert first == sorted(lowest_ranked(SEED, pks, 3))
    assert second == sorted(lowest_ranked(OTHER_SEED, pks, 3))
    assert first != second
    # And a sample drawn without a seed gets a fresh 128-bit one
    sample = spot_check_sample_create(plan=plan, period_start=MARCH_START, period_end=MARCH_END)
    assert len(sample.seed) == 32 and sample.seed not in (SEED, OTHER_SEED)
    int(sample.seed, 16)


def test_a_record_is_never_drawn_twice(hospital_a, engineer):
    # Given 20 closed requests and March's sample of 3
    closed_tickets(hospital_a, 20, owner=engineer)
    plan = ticket_plan(size=3)
    first = spot_check_sample_create(
        plan=plan, period_start=MARCH_START, period_end=MARCH_END, seed=SEED
    )
    # When the next sample's period covers the same records again
    second = spot_check_sample_create(
        plan=plan, period_start=datetime.date(2026, 3, 2), period_end=datetime.date(2026, 4, 30),
        seed=SEED,
    )  # fmt: skip
    # Then it draws from the 17 not drawn yet, and none of the first's picks
    assert second.population_size == 17
    assert len(picked(second)) == 3
    assert set(picked(first)).isdisjoint(picked(second))
    # And both still verify, each against what had been drawn before it
    assert sample_verify(first) is True
    assert sample_verify(second) is True
    # And the database itself refuses the same record in another sample
    item = first.items.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        SpotCheckItem.objects.create(
            sample=second, content_type=item.content_type, object_id=item.object_id,
            stratum_id=item.stratum_id, stratum_label="x", rank="f" * 64,
        )  # fmt: skip


def test_each_engineer_gets_the_plan_size_or_all_they_have(hospital_a, engineer, engineer_b):
    # Given engineer Li closed 5 requests in March, engineer Zhao 1, and one nobody owned;
    # and one of Li's closed in April
    li = closed_tickets(hospital_a, 5, owner=engineer)
    zhao = closed_tickets(hospital_a, 1, owner=engineer_b)
    closed_tickets(hospital_a, 1, owner=None)
    closed_tickets(hospital_a, 1, owner=engineer, closed_at=local(2026, 4, 1, 0, 0))
    plan = ticket_plan(size=2)
    # When March's sample is drawn
    sample = spot_check_sample_create(
        plan=plan, period_start=MARCH_START, period_end=MARCH_END, seed=SEED
    )
    # Then Li has 2 picks, Zhao his only one, and the unowned and April ones are not drawn
    by_engineer = {}
    for item in sample.items.all():
        by_engineer.setdefault(item.stratum_id, []).append(item.object_id)
    assert sorted(by_engineer[engineer.pk]) == sorted(lowest_ranked(SEED, li, 2))
    assert by_engineer[engineer_b.pk] == zhao
    assert sample.population_size == 6


def test_work_orders_are_drawn_per_team_of_their_request(hospital_a, engineer, team, team_lead):
    # Given 3 completed work orders of requests of the East team, 1 closed (sign-off) of the
    # West team, 1 completed without a request, and 1 still in progress
    west = Team.objects.create(name="华西服务组")
    east_ticket, west_ticket = (TicketFactory(organization=hospital_a, auto_assign=False)
                                for _ in range(2))  # fmt: skip
    Ticket.objects.filter(pk=east_ticket.pk).update(team=team)
    Ticket.objects.filter(pk=west_ticket.pk).update(team=west)
    done = local(2026, 3, 12, 10)
    east = [WorkOrderFactory(device__organization=hospital_a, ticket=east_ticket, engineer=engineer,
                             status="completed", completed_at=done).pk for _ in range(3)]  # fmt: skip
    west_order = WorkOrderFactory(device__organization=hospital_a, ticket=west_ticket,
                                  engineer=engineer, status="closed", completed_at=done)  # fmt: skip
    WorkOrderFactory(device__organization=hospital_a, engineer=engineer, status="completed",
                     completed_at=done)  # fmt: skip
    WorkOrderFactory(device__organization=hospital_a, engineer=engineer, status="in_progress")
    plan = SpotCheckPlan.objects.create(
        name="工单抽查", record_kind=SpotCheckRecordKind.COMPLETED_WORK_ORDERS,
        stratum=SpotCheckStratum.TEAM, size_per_stratum=2,
    )  # fmt: skip
    # When March's sample is drawn
    sample = spot_check_sample_create(
        plan=plan, period_start=MARCH_START, period_end=MARCH_END, seed=SEED
    )
    # Then the East team has 2 of its 3, the West team its one, each ranked as work orders
    rows = sorted(sample.items.values_list("stratum_label", "object_id", "reviewer"))
    east_picks = sorted(lowest_ranked(SEED, east, 2, label="work_orders.workorder"))
    assert rows == sorted(
        [("华东服务组", pk, team_lead.pk) for pk in east_picks]
        + [("华西服务组", west_order.pk, None)]
    )
    assert sample.population_size == 4
    assert sample.items.first().content_type == ContentType.objects.get_for_model(WorkOrder)
    assert sample_verify(sample) is True


def test_a_sample_is_drawn_once_per_plan_and_period(hospital_a, engineer):
    closed_tickets(hospital_a, 4, owner=engineer)
    plan = ticket_plan(size=2)
    first = spot_check_sample_create(plan=plan, period_start=MARCH_START, period_end=MARCH_END)
    # When it is asked for again (a rerun), with another seed even
    again = spot_check_sample_create(
        plan=plan, period_start=MARCH_START, period_end=MARCH_END, seed=OTHER_SEED
    )
    # Then the first draw stands
    assert again.pk == first.pk and again.seed == first.seed
    assert SpotCheckSample.objects.count() == 1
    assert SpotCheckItem.objects.count() == 2


def test_a_period_ending_before_it_starts_is_refused(engineer):
    plan = ticket_plan()
    with pytest.raises(InvalidInputError) as refused:
        spot_check_sample_create(plan=plan, period_start=MARCH_END, period_end=MARCH_START)
    assert list(refused.value.fields) == ["period_end"]


def test_the_monthly_job_draws_last_month_once_for_active_plans(hospital_a, engineer):
    closed_tickets(hospital_a, 4, owner=engineer)
    active = ticket_plan(size=1)
    SpotCheckPlan.objects.create(
        name="停用计划", record_kind=SpotCheckRecordKind.CLOSED_TICKETS,
        stratum=SpotCheckStratum.ENGINEER, active=False,
    )  # fmt: skip
    # When the job runs on 1 and 2 April
    assert spot_check_samples_monthly(today=datetime.date(2026, 4, 1)) == 1
    assert spot_check_samples_monthly(today=datetime.date(2026, 4, 2)) == 0
    # Then March's sample of the active plan exists once
    sample = SpotCheckSample.objects.get()
    assert (sample.plan, sample.period_start, sample.period_end) == (
        active, MARCH_START, MARCH_END)  # fmt: skip
    assert sample.items.count() == 1


def test_the_job_is_registered_with_the_scheduler():
    from medservice.core.scheduler import JOBS

    assert JOBS["analytics.spot-checks"].every == datetime.timedelta(days=1)


# --- the review ------------------------------------------------------------------------------


@pytest.fixture
def sample(hospital_a, manager, team):
    # 2 requests the service manager himself owned, 2 of a colleague, closed in March
    colleague = user_with_role(Role.FIELD_ENGINEER, manager.organization, username="colleague")
    closed_tickets(hospital_a, 2, owner=manager, team=team)
    closed_tickets(hospital_a, 2, owner=colleague, team=team)
    plan = ticket_plan(size=1, reviewer=manager)
    return spot_check_sample_create(
        plan=plan, period_start=MARCH_START, period_end=MARCH_END, seed=SEED
    )


def item_of(sample, owner):
    return sample.items.get(engineer=owner)


def test_the_reviewer_is_never_the_records_own_engineer(sample, manager, team_lead):
    # Given the manager's own request was drawn
    own = item_of(sample, manager)
    # Then the team's manager was chosen to review it
    assert own.reviewer == team_lead
    # When the manager tries to review it all the same
    with pytest.raises(SegregationOfDutiesError) as refused:
        spot_check_review(item=own, actor=manager, answers=ANSWERS, severity="none")
    # Then he is refused and nothing is recorded
    assert str(refused.value.message) == (
        "You cannot review your own work: another reviewer must check this record."
    )
    own.refresh_from_db()
    assert (own.reviewed_at, own.severity, own.answers) == (None, "", {})


def test_a_review_needs_every_checklist_answer_and_a_note_for_a_finding(sample, team_lead):
    item = sample.items.first()
    with pytest.raises(InvalidInputError) as refused:
        spot_check_review(item=item, actor=team_lead, answers={"diagnosis": "maybe"},
                          severity="minor", note="")  # fmt: skip
    assert sorted(refused.value.fields) == ["answers.diagnosis", "answers.report", "note"]


def test_a_minor_finding_is_recorded_without_an_improvement_action(sample, team_lead):
    item = sample.items.first()
    reviewed = spot_check_review(item=item, actor=team_lead, answers=ANSWERS,
                                 severity=SpotCheckSeverity.MINOR, note="报告缺少签名日期")  # fmt: skip
    assert (reviewed.reviewer, reviewed.severity, reviewed.answers) == (
        team_lead, "minor", ANSWERS)  # fmt: skip
    assert reviewed.reviewed_at is not None
    assert capas_of_source(reviewed).count() == 0
    # And a second review of the same record is refused
    from medservice.core.errors import ConflictError

    with pytest.raises(ConflictError):
        spot_check_review(item=item, actor=team_lead, answers=ANSWERS, severity="none")


def test_a_major_finding_opens_an_improvement_capa_with_the_item_as_source(
    sample, manager, team_lead
):
    # Given the colleague's drawn request, reviewed by the service manager
    item = sample.items.exclude(engineer=manager).get()
    # When the review finds a major problem
    spot_check_review(item=item, actor=manager, answers=ANSWERS, severity="major",
                      note="未做电气安全检测即交付")  # fmt: skip
    # Then one improvement CAPA is open, sourced from the item, owned by the team's manager,
    # due in 30 days
    capa = capas_of_source(item).get()
    assert (capa.kind, capa.owner, capa.due_on) == (
        "improvement", team_lead, timezone.localdate() + datetime.timedelta(days=30))  # fmt: skip
    assert "未做电气安全检测即交付" in capa.problem
    # And the review is in the audit trail under the reviewer
    from medservice.core.models import AuditEvent

    event = AuditEvent.objects.filter(object_id=str(item.pk), action="update").latest("pk")
    assert event.actor_id == manager.pk


# --- API and pages -----------------------------------------------------------------------------


def test_the_api_lists_samples_and_records_a_review(api, sample, manager, team_lead):
    client = api.as_user(team_lead)
    response = client.get("/api/v1/spot-checks/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["seed"], row["population_size"], len(row["items"])) == (SEED, 4, 2)
    item = item_of(sample, manager)
    # When the team lead reviews the manager's request by the API
    response = client.post(
        f"/api/v1/spot-check-items/{item.pk}/review/",
        {"answers": ANSWERS, "severity": "none", "note": ""}, format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    assert (response.json()["severity"], response.json()["reviewer"]) == ("none", team_lead.pk)
    # And a second review of the same record is refused (409)
    other = sample.items.exclude(pk=item.pk).get()
    again = client.post(
        f"/api/v1/spot-check-items/{item.pk}/review/",
        {"answers": ANSWERS, "severity": "none"}, format="json",
    )  # fmt: skip
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    bad = client.post(f"/api/v1/spot-check-items/{other.pk}/review/",
                      {"answers": {"diagnosis": "maybe"}, "severity": "none"}, format="json")  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"
    assert "answers.diagnosis" in bad.json()["error"]["fields"]


def test_the_own_engineer_is_refused_by_the_api(api, sample, manager):
    own = item_of(sample, manager)
    response = api.as_user(manager).post(
        f"/api/v1/spot-check-items/{own.pk}/review/",
        {"answers": ANSWERS, "severity": "none"}, format="json",
    )  # fmt: skip
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "segregation_of_duties"


def test_customers_get_404_and_engineers_see_only_findings_on_their_records(
    api, sample, customer_a, team_lead, manager
):
    item = sample.items.exclude(engineer=manager).get()
    colleague = item.engineer
    # A customer reaches nothing: lists and records answer 404
    outsider = api.as_user(customer_a)
    for url in ("/api/v1/spot-checks/", f"/api/v1/spot-checks/{sample.pk}/",
                "/api/v1/spot-check-items/", f"/api/v1/spot-check-items/{item.pk}/"):  # fmt: skip
        assert outsider.get(url).status_code == 404, url
    # The engineer sees nothing before the review...
    own = api.as_user(colleague)
    assert own.get("/api/v1/spot-check-items/").json()["count"] == 0
    # ...and only the finding on their own record after it
    spot_check_review(item=item, actor=team_lead, answers=ANSWERS, severity="minor",
                      note="回访记录缺失")  # fmt: skip
    results = own.get("/api/v1/spot-check-items/").json()["results"]
    assert [(row["id"], row["severity"]) for row in results] == [(item.pk, "minor")]
    samples = own.get("/api/v1/spot-checks/").json()["results"]
    assert [[row["id"] for row in sample_row["items"]] for sample_row in samples] == [[item.pk]]


def test_plans_are_a_resource_of_the_api(api, manager, customer_a):
    response = api.as_user(manager).post(
        "/api/v1/spot-check-plans/",
        {"name": "季度抽查", "record_kind": "closed_tickets", "stratum": "team",
         "size_per_stratum": 0}, format="json",
    )  # fmt: skip
    assert response.status_code == 400
    response = api.as_user(manager).post(
        "/api/v1/spot-check-plans/",
        {"name": "季度抽查", "record_kind": "closed_tickets", "stratum": "team",
         "size_per_stratum": 4}, format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert SpotCheckPlan.objects.get().size_per_stratum == 4
    # A customer's role has no permission on plans, like on the KPI targets
    assert api.as_user(customer_a).get("/api/v1/spot-check-plans/").status_code == 403


def test_the_pages_list_show_and_review(client, sample, team_lead, manager, customer_a):
    client.force_login(team_lead)
    listing = client.get("/analytics/spot-checks/")
    assert listing.status_code == 200
    assert "每月结案抽查" in listing.content.decode()
    detail = client.get(f"/analytics/spot-checks/{sample.pk}/")
    assert detail.status_code == 200
    assert SEED in detail.content.decode()
    assert 'id="spot-check-verified"' in detail.content.decode()
    item = item_of(sample, manager)
    form = client.get(f"/analytics/spot-check-items/{item.pk}/")
    assert form.status_code == 200
    assert "Was the diagnosis right?" in form.content.decode()
    posted = client.post(
        f"/analytics/spot-check-items/{item.pk}/",
        {"answer_diagnosis": "yes", "answer_report": "yes", "severity": "none", "note": ""},
    )  # fmt: skip
    assert posted.status_code == 302
    item.refresh_from_db()
    assert (item.severity, item.reviewer) == ("none", team_lead)
    # The manager's own record refused on the page, with the reason shown
    client.force_login(manager)
    other = sample.items.exclude(pk=item.pk).get()
    assert other.engineer != manager
    # And a customer gets 404
    client.force_login(customer_a)
    assert client.get("/analytics/spot-checks/").status_code == 404
    assert client.get(f"/analytics/spot-checks/{sample.pk}/").status_code == 404


def test_the_review_page_refuses_the_own_engineer_with_the_reason(client, sample, manager):
    own = item_of(sample, manager)
    client.force_login(manager)
    response = client.post(
        f"/analytics/spot-check-items/{own.pk}/",
        {"answer_diagnosis": "yes", "answer_report": "yes", "severity": "none", "note": ""},
    )  # fmt: skip
    assert response.status_code == 403
    assert "You cannot review your own work" in response.content.decode()


def test_a_sample_is_drawn_by_hand_from_the_list_page(client, manager, hospital_a, engineer):
    closed_tickets(hospital_a, 3, owner=engineer)
    plan = ticket_plan(size=1)
    client.force_login(manager)
    response = client.post(
        "/analytics/spot-checks/",
        {"plan": plan.pk, "period_start": "2026-03-01", "period_end": "2026-03-31"},
    )  # fmt: skip
    sample = SpotCheckSample.objects.get()
    assert response.status_code == 302
    assert response.url == f"/analytics/spot-checks/{sample.pk}/"
    assert sample.items.count() == 1


# --- concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two draws racing need separate connections with row locks (PostgreSQL)",
)
@pytest.mark.django_db(transaction=True)
def test_two_draws_at_once_make_one_sample(company, hospital_a):
    engineer = user_with_role(Role.FIELD_ENGINEER, company, username="racer")
    closed_tickets(hospital_a, 6, owner=engineer)
    plan = ticket_plan(size=2)
    barrier = threading.Barrier(2)

    def attempt(seed):
        try:
            barrier.wait()
            return spot_check_sample_create(
                plan=plan, period_start=MARCH_START, period_end=MARCH_END, seed=seed
            ).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(attempt, [SEED, OTHER_SEED]))
    # Both callers get the one sample drawn
    assert results[0] == results[1]
    assert SpotCheckSample.objects.count() == 1
    assert SpotCheckItem.objects.count() == 2


def test_the_plan_page_lists_its_checklist(client, manager):
    plan = ticket_plan()
    client.force_login(manager)
    assert client.get("/analytics/spot-check-plans/").status_code == 200
    page = client.get(f"/analytics/spot-check-plans/{plan.pk}/").content.decode()
    assert "Was the diagnosis right?" in page and "Add a checklist point" in page


def test_a_reviewed_record_shows_its_answers_and_improvement_action(
    client, sample, manager, team_lead
):
    item = sample.items.exclude(engineer=manager).get()
    spot_check_review(item=item, actor=manager, answers=ANSWERS, severity="major",
                      note="未做电气安全检测即交付")  # fmt: skip
    capa = capas_of_source(item).get()
    client.force_login(team_lead)
    page = client.get(f"/analytics/spot-check-items/{item.pk}/").content.decode()
    assert 'id="spot-check-finding"' in page
    assert "Major finding" in page and capa.number in page
    assert 'id="spot-check-review"' not in page


def test_lists_take_the_same_number_of_queries_however_many_records(
    api, client, hospital_a, engineer, engineer_b, manager
):
    from django.test.utils import CaptureQueriesContext

    def counts():
        with CaptureQueriesContext(connection) as samples_api:
            assert api.as_user(manager).get("/api/v1/spot-checks/").status_code == 200
        with CaptureQueriesContext(connection) as items_api:
            assert api.as_user(manager).get("/api/v1/spot-check-items/").status_code == 200
        sample = SpotCheckSample.objects.latest("pk")
        client.force_login(manager)
        with CaptureQueriesContext(connection) as page:
            assert client.get(f"/analytics/spot-checks/{sample.pk}/").status_code == 200
        return len(samples_api), len(items_api), len(page)

    # Given a sample of 1 record, then one of 4
    closed_tickets(hospital_a, 1, owner=engineer)
    spot_check_sample_create(plan=ticket_plan(size=1), period_start=MARCH_START,
                             period_end=MARCH_END)  # fmt: skip
    counts()  # the first call also makes the API token and fills the caches
    small = counts()
    closed_tickets(hospital_a, 4, owner=engineer_b, closed_at=local(2026, 4, 10, 9))
    closed_tickets(hospital_a, 4, owner=engineer, closed_at=local(2026, 4, 10, 9))
    spot_check_sample_create(plan=ticket_plan(size=2, name="四月抽查"),
                             period_start=datetime.date(2026, 4, 1),
                             period_end=datetime.date(2026, 4, 30))  # fmt: skip
    # Then the lists and the page take as many queries for 5 records as for 1
    assert counts() == small


def test_the_demo_plan_is_seeded_once(manager):
    from medservice.analytics.demo_spot_checks import seed_spot_checks

    seed_spot_checks()
    seed_spot_checks()
    plan = SpotCheckPlan.objects.get()
    assert (plan.name, plan.size_per_stratum, plan.default_reviewer) == ("每月结案抽查", 2, manager)
    assert list(plan.checklist.values_list("code", flat=True)) == [
        "diagnosis", "records", "customer"]  # fmt: skip
    assert plan.samples.count() == 1


def test_the_evaluation_report_lists_findings_by_record_number_major_first(
    sample, manager, team_lead, make_filter
):
    from medservice.analytics.models import SpotCheckItem
    from medservice.analytics.reports import spot_check_findings

    # Given a minor finding on the manager's request and a major one on the colleague's
    colleague = sample.items.exclude(engineer=manager).get()
    own = item_of(sample, manager)
    spot_check_review(item=own, actor=team_lead, answers=ANSWERS,
                      severity=SpotCheckSeverity.MINOR, note="报告缺少签名日期")  # fmt: skip
    spot_check_review(item=colleague, actor=team_lead, answers=ANSWERS,
                      severity=SpotCheckSeverity.MAJOR, note="未做电气安全测试")  # fmt: skip
    SpotCheckItem.objects.update(reviewed_at=local(2026, 3, 30, 10))
    # When March's report gathers them
    findings = spot_check_findings(make_filter())
    # Then the major one comes first and each is named by its request's number
    assert [(row["record"], row["severity"], row["note"]) for row in findings] == [
        (colleague.record.number, "Major finding", "未做电气安全测试"),
        (own.record.number, "Minor finding", "报告缺少签名日期"),
    ]
