"""Figures not stored yet are computed in the background, never in the request: the API answers
202 and the pages reload themselves until the task has stored them (docs/performance.md, "Load
test"); readers who miss the same figures share one computation, and nothing leaks between
scopes."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.analytics.kpis import kpis_for
from medservice.analytics.models import KpiComputation, KpiSnapshot
from medservice.analytics.tasks_snapshots import kpi_figures_compute
from tests.analytics.conftest import local
from tests.factories import OrganizationFactory, user_with_role
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
NOON = local(2026, 4, 15, 12)
URGENT_SHARE = "/api/v1/kpis/urgent_share/"


@pytest.fixture(autouse=True)
def _stored_figures_and_a_queue(settings):
    """Stored figures on (the tests' default computes in the request), and a queue that keeps
    what is enqueued instead of running it, as a worker would later."""
    settings.ANALYTICS_SNAPSHOT_MAX_AGE = 900
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import default_task_backend

    default_task_backend.clear()
    yield
    default_task_backend.clear()


@pytest.fixture
def queued():
    """The tasks enqueued so far."""
    from django_tasks import default_task_backend

    return default_task_backend.results


@pytest.fixture
def ask(django_capture_on_commit_callbacks):
    """`ask(client, url, query)`: a GET whose on-commit enqueues run as they do in production."""

    def get(client, url, query=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.get(url, query or {})

    return get


def _tickets(organization, *, urgent: int = 0, normal: int = 0):
    for number in range(urgent + normal):
        TicketFactory(
            organization=organization, received_at=local(2026, 3, 2 + number, 9),
            priority="urgent" if number < urgent else "normal",
        )  # fmt: skip


def _run(result) -> int:
    """Run an enqueued task as the worker would."""
    return kpi_figures_compute.call(*result.args, **result.kwargs)


def test_the_first_request_is_answered_at_once_with_202_and_one_computation_is_queued(
    api, ask, queued, counted_tickets, manager, hospital_a
):
    # Given requests in March and no stored figure
    _tickets(hospital_a, urgent=1)
    # When the manager asks for the KPIs of March
    with freeze_time(NOON):
        response = ask(api.as_user(manager), "/api/v1/kpis/", MARCH)
    # Then the answer says they are being computed and when to ask again
    assert response.status_code == 202
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "status": "computing",
        "detail": "The figures are being computed; ask again in 5 seconds.",
        "from": "2026-03-01",
        "to": "2026-03-31",
        "requested_at": "2026-04-15T04:00:00+00:00",
        "retry_after": 5,
    }
    # And one computation of every KPI the manager sees is queued, none computed
    computation = KpiComputation.objects.get()
    assert computation.codes == sorted(item.code for item in kpis_for(manager))
    assert (computation.user, computation.requested_at, computation.finished_at) == (
        manager, NOON, None)  # fmt: skip
    assert [list(result.args) for result in queued] == [
        [computation.pk, "2026-04-15T04:00:00+00:00"]
    ]
    assert not KpiSnapshot.objects.exists()


def test_a_second_request_while_computing_waits_for_the_same_computation(
    api, ask, queued, counted_tickets, manager, hospital_a
):
    client = api.as_user(manager)
    with freeze_time(NOON):
        ask(client, URGENT_SHARE, MARCH)
    with freeze_time(NOON + datetime.timedelta(seconds=5)):
        again = ask(client, URGENT_SHARE, MARCH)
    assert again.status_code == 202
    assert again.json()["requested_at"] == "2026-04-15T04:00:00+00:00"
    assert len(queued) == 1
    assert KpiComputation.objects.count() == 1


def test_once_the_task_has_run_the_request_answers_the_stored_figures(
    api, ask, queued, counted_tickets, manager, hospital_a
):
    # Given one urgent and one normal request, and the figure asked for at noon
    _tickets(hospital_a, urgent=1, normal=1)
    client = api.as_user(manager)
    with freeze_time(NOON):
        ask(client, URGENT_SHARE, MARCH)
    # When the worker runs the task a few seconds later
    with freeze_time(NOON + datetime.timedelta(seconds=3)):
        assert _run(queued[0]) == 1
    # Then the next request answers 200 with the stored figure and its age
    with freeze_time(NOON + datetime.timedelta(seconds=8)):
        response = ask(client, URGENT_SHARE, MARCH)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["value"], body["numerator"], body["denominator"]) == (
        "ready", "50.0", "1", "2")  # fmt: skip
    assert (body["source"], body["age_seconds"]) == ("snapshot", 5)
    assert KpiComputation.objects.get().finished_at == NOON + datetime.timedelta(seconds=3)
    assert len(queued) == 1


def test_the_whole_list_answers_200_with_status_ready_once_stored(
    api, ask, queued, counted_tickets, manager, hospital_a
):
    _tickets(hospital_a, urgent=1)
    client = api.as_user(manager)
    with freeze_time(NOON):
        ask(client, "/api/v1/kpis/", MARCH)
        _run(queued[0])
        response = ask(client, "/api/v1/kpis/", MARCH)
    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["from"], body["to"]) == ("ready", "2026-03-01", "2026-03-31")
    assert len(body["results"]) == len(kpis_for(manager))
    urgent = next(result for result in body["results"] if result["code"] == "urgent_share")
    assert (urgent["value"], urgent["source"]) == ("100.0", "snapshot")


def test_a_computation_lost_for_over_ten_minutes_is_queued_again_and_the_late_task_dropped(
    api, ask, queued, counted_tickets, manager, hospital_a
):
    client = api.as_user(manager)
    with freeze_time(NOON):
        ask(client, URGENT_SHARE, MARCH)
    # Ten minutes on, the computation is still waited for
    with freeze_time(NOON + datetime.timedelta(minutes=10)):
        assert ask(client, URGENT_SHARE, MARCH).status_code == 202
    assert len(queued) == 1
    # Past ten minutes it counts as lost and is asked for again
    later = NOON + datetime.timedelta(minutes=10, seconds=1)
    with freeze_time(later):
        response = ask(client, URGENT_SHARE, MARCH)
    assert response.json()["requested_at"] == "2026-04-15T04:10:01+00:00"
    assert len(queued) == 2
    assert KpiComputation.objects.get().requested_at == later
    # And the first task, if it ever runs, computes nothing
    with freeze_time(later):
        assert _run(queued[0]) == 0
        assert _run(queued[1]) == 1
    assert KpiSnapshot.objects.filter(code="urgent_share").count() == 1


def test_the_task_drops_a_computation_that_expired(queued, api, ask, counted_tickets, manager):
    with freeze_time(NOON):
        ask(api.as_user(manager), URGENT_SHARE, MARCH)
    with freeze_time(NOON + datetime.timedelta(minutes=11)):
        assert _run(queued[0]) == 0
    assert not KpiComputation.objects.exists()
    assert not KpiSnapshot.objects.exists()


def test_fresh_takes_a_stored_figure_up_to_one_minute_old_and_queues_an_older_one(
    api, ask, queued, counted_tickets, manager, hospital_a
):
    # Given a figure stored at noon
    _tickets(hospital_a, urgent=1)
    client = api.as_user(manager)
    with freeze_time(NOON):
        ask(client, URGENT_SHARE, MARCH)
        _run(queued[0])
    # When it is asked for fresh 1 minute later, the stored figure is fresh enough
    with freeze_time(NOON + datetime.timedelta(minutes=1)):
        assert ask(client, URGENT_SHARE, {**MARCH, "fresh": "1"}).status_code == 200
    assert len(queued) == 1
    # But 2 minutes later it is computed again, in the background
    with freeze_time(NOON + datetime.timedelta(minutes=2)):
        response = ask(client, URGENT_SHARE, {**MARCH, "fresh": "1"})
        # (while a plain read still gets the stored figure)
        plain = ask(client, URGENT_SHARE, MARCH)
    assert response.status_code == 202
    assert response.json()["requested_at"] == "2026-04-15T04:02:00+00:00"
    assert len(queued) == 2
    assert (plain.status_code, plain.json()["age_seconds"]) == (200, 120)


def test_the_kpi_page_reloads_itself_while_the_figures_are_computed(client, ask, queued, manager):
    client.force_login(manager)
    with freeze_time(NOON):
        response = ask(client, "/analytics/kpis/", MARCH)
    assert response.status_code == 202
    assert response["Refresh"] == "5"
    assert (
        "The figures are being computed; this page reloads itself in 5 seconds."
        in response.content.decode()
    )
    assert len(queued) == 1
    # And once computed the page shows them
    with freeze_time(NOON):
        _run(queued[0])
        page = ask(client, "/analytics/kpis/", MARCH)
    assert page.status_code == 200
    assert 'id="kpi-computing"' not in page.content.decode()
    assert "Refresh" not in page


def test_a_page_asked_fresh_reloads_itself_without_fresh(client, ask, queued, manager):
    client.force_login(manager)
    with freeze_time(NOON):
        response = ask(client, "/analytics/kpis/", {**MARCH, "fresh": "1"})
    assert response.status_code == 202
    assert response["Refresh"] == "5; url=/analytics/kpis/?from=2026-03-01&to=2026-03-31"


def test_the_page_says_so_in_chinese(ask, queued, manager):
    from django.test import Client

    # Given a manager who works in Chinese (the user's language wins over the browser's)
    manager.language = "zh-hans"
    manager.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(manager)
    with freeze_time(NOON):
        response = ask(client, "/analytics/kpis/", MARCH)
    assert response.status_code == 202
    assert response["Refresh"] == "5"
    assert "正在计算指标数据，本页将在 5 秒后自动刷新。" in response.content.decode()


def test_a_user_of_another_scope_gets_a_computation_of_their_own_not_the_figures(
    api, ask, queued, counted_tickets, manager, distributor, hospital_b
):
    # Given requests at a hospital the distributor serves and at one it does not
    served = OrganizationFactory(name="镇卫生院")
    served.served_by.set([distributor])
    _tickets(served, urgent=1)
    _tickets(hospital_b, urgent=1, normal=3)
    dealer = user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor, username="dealer")
    # And the manager's figure computed and stored
    with freeze_time(NOON):
        ask(api.as_user(manager), URGENT_SHARE, MARCH)
        _run(queued[0])
        # When the distributor's engineer asks for the same KPI and period
        theirs = ask(api.as_user(dealer), URGENT_SHARE, MARCH)
    # Then they wait for a computation of their own
    assert theirs.status_code == 202
    assert len(queued) == 2
    assert KpiComputation.objects.filter(user=dealer).count() == 1
    # And once it has run they get their own scope's figure, not the manager's
    with freeze_time(NOON):
        _run(queued[1])
        mine = ask(api.as_user(manager), URGENT_SHARE, MARCH).json()
        dealers = ask(api.as_user(dealer), URGENT_SHARE, MARCH).json()
    assert (mine["value"], mine["denominator"]) == ("40.0", "5")
    assert (dealers["value"], dealers["denominator"]) == ("100.0", "1")


def test_without_stored_figures_the_request_computes_them_itself(
    api, ask, queued, counted_tickets, manager, hospital_a, settings
):
    settings.ANALYTICS_SNAPSHOT_MAX_AGE = 0
    _tickets(hospital_a, urgent=1)
    response = ask(api.as_user(manager), URGENT_SHARE, MARCH)
    assert (response.status_code, response.json()["status"], response.json()["value"]) == (
        200, "ready", "100.0")  # fmt: skip
    assert not queued
    assert not KpiComputation.objects.exists()


def test_the_charts_page_reloads_itself_until_the_task_has_stored_every_chart(
    client, ask, queued, manager
):
    client.force_login(manager)
    query = {**MARCH, "code": "first_response_time"}
    with freeze_time(NOON):
        response = ask(client, "/analytics/charts/", query)
        # Then: 12 months of the trend and the two series, each asked for once
        assert (response.status_code, response["Refresh"]) == (202, "5")
        assert len(queued) == 14
        assert sum(_run(result) for result in queued) == 14
        page = ask(client, "/analytics/charts/", query)
    assert page.status_code == 200
    assert len(queued) == 14
    assert 'id="chart-sla-spec"' in page.content.decode()
