"""Stored KPI figures: a figure once computed is shown with its age while young enough, to the
users who see the same records, in their language; the job keeps read figures fresh and moves
"this month up to today" on; nothing leaks between scopes."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.analytics.kpis import KpiFilter, kpis_for
from medservice.analytics.models import KpiSnapshot
from medservice.analytics.snapshots import (
    audience_key,
    filter_key,
    kpi_figures,
    snapshots_refresh,
)
from tests.analytics.conftest import local
from tests.factories import OrganizationFactory, user_with_role
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _stored_figures(settings):
    """Stored figures on (the tests' default computes every figure in the request)."""
    settings.ANALYTICS_SNAPSHOT_MAX_AGE = 900


def _stored_at(moment, user, code="urgent_share", start=None, end=None):
    """Store a figure as the background task does (snapshots.kpi_computation_run)."""
    kpi_filter = KpiFilter(
        user=user, start=start or datetime.date(2026, 3, 1), end=end or datetime.date(2026, 3, 31)
    )
    with freeze_time(moment):
        return kpi_figures([code] if isinstance(code, str) else code, kpi_filter)


MARCH = {"from": "2026-03-01", "to": "2026-03-31"}
NOON = local(2026, 4, 15, 12)


def _tickets(organization, *, urgent: int = 0, normal: int = 0):
    """Requests received in March, urgent and normal."""
    for number in range(urgent + normal):
        TicketFactory(
            organization=organization, received_at=local(2026, 3, 2 + number, 9),
            priority="urgent" if number < urgent else "normal",
        )  # fmt: skip


def test_a_stored_figure_is_shown_with_its_age_until_it_is_too_old(
    api, counted_tickets, manager, hospital_a
):
    # Given one urgent request in March, whose figure was computed and stored at noon
    _tickets(hospital_a, urgent=1)
    client = api.as_user(manager)
    (first,) = _stored_at(NOON, manager)
    assert (first.value, first.source) == (100, "live")
    # When a normal request arrives and the figure is read again two minutes later
    _tickets(hospital_a, normal=1)
    with freeze_time(NOON + datetime.timedelta(minutes=2)):
        stored = client.get("/api/v1/kpis/urgent_share/", MARCH).json()
        # Then the stored figure is shown, with when it was computed and how old it is
        assert (stored["value"], stored["source"], stored["age_seconds"]) == (
            "100.0", "snapshot", 120)  # fmt: skip
        assert datetime.datetime.fromisoformat(stored["as_of"]) == NOON
        # And asking for a fresh figure (over a minute old) has it computed in the background
        fresh = client.get("/api/v1/kpis/urgent_share/", {**MARCH, "fresh": "true"})
        assert (fresh.status_code, fresh.json()["status"]) == (202, "computing")
    # And once a figure is older than ANALYTICS_SNAPSHOT_MAX_AGE it is not shown any more
    with freeze_time(NOON + datetime.timedelta(seconds=901)):
        late = client.get("/api/v1/kpis/urgent_share/", MARCH)
    assert (late.status_code, late.json()["status"]) == (202, "computing")
    assert KpiSnapshot.objects.filter(code="urgent_share").count() == 1


def test_stored_figures_can_be_turned_off(api, counted_tickets, manager, hospital_a, settings):
    settings.ANALYTICS_SNAPSHOT_MAX_AGE = 0
    _tickets(hospital_a, urgent=1)
    client = api.as_user(manager)
    assert client.get("/api/v1/kpis/urgent_share/", MARCH).json()["source"] == "live"
    assert client.get("/api/v1/kpis/urgent_share/", MARCH).json()["source"] == "live"
    assert not KpiSnapshot.objects.exists()


def test_users_who_see_the_same_share_figures_and_no_one_else_gets_them(
    api, counted_tickets, manager, company, distributor, hospital_b
):
    # Given requests at a hospital the distributor serves and at one it does not
    served = OrganizationFactory(name="镇卫生院")
    served.served_by.set([distributor])
    _tickets(served, urgent=1)
    _tickets(hospital_b, urgent=1, normal=3)
    dealer = user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor, username="dealer")
    second_manager = user_with_role(Role.SERVICE_MANAGER, company, username="manager2")
    # When the manager's figure is computed and stored (5 requests, 2 urgent)
    (mine,) = _stored_at(NOON, manager)
    with freeze_time(NOON):
        # Then another service manager gets the same stored figure
        theirs = api.as_user(second_manager).get("/api/v1/kpis/urgent_share/", MARCH).json()
        # But the distributor's engineer waits for a figure of their own scope
        dealers = api.as_user(dealer).get("/api/v1/kpis/urgent_share/", MARCH)
    (dealers_own,) = _stored_at(NOON, dealer)
    assert (mine.value, mine.denominator, mine.source) == (40, 5, "live")
    assert (theirs["value"], theirs["denominator"], theirs["source"]) == ("40.0", "5", "snapshot")
    assert dealers.status_code == 202
    assert (dealers_own.value, dealers_own.denominator) == (100, 1)
    assert audience_key(manager) == audience_key(second_manager) != audience_key(dealer)
    assert KpiSnapshot.objects.filter(code="urgent_share").count() == 2


def test_a_user_given_another_permission_no_longer_shares_the_figures(manager, company):
    from django.contrib.auth.models import Permission

    colleague = user_with_role(Role.SERVICE_MANAGER, company, username="manager2")
    assert audience_key(colleague) == audience_key(manager)
    # (no role holds it: the table is a cache)
    colleague.user_permissions.add(Permission.objects.get(codename="delete_kpisnapshot"))
    colleague = type(colleague).objects.get(pk=colleague.pk)  # permissions are cached
    assert audience_key(colleague) != audience_key(manager)


def test_each_language_has_its_own_stored_notes(manager, make_filter):
    # Given the figures of a filter in English and in Chinese
    kpi_filter = make_filter(as_of=None)
    with freeze_time(NOON):
        with translation.override("en"):
            (english,) = kpi_figures(["mtbf"], kpi_filter)
        with translation.override("zh-hans"):
            (chinese,) = kpi_figures(["mtbf"], kpi_filter)
            (again,) = kpi_figures(["mtbf"], kpi_filter)
    # Then each was computed in its language and the Chinese one is read back in Chinese
    assert english.notes == ["Choose a device model: MTBF is computed per model."]
    assert chinese.source == "live"
    assert again.source == "snapshot"
    assert again.notes == chinese.notes != english.notes
    assert filter_key(kpi_filter, "en") != filter_key(kpi_filter, "zh-hans")


def test_a_filter_at_a_past_moment_is_never_stored(manager, make_filter):
    (result,) = kpi_figures(["first_response_time"], make_filter())  # as of 15 April
    assert result.source == "live"
    assert not KpiSnapshot.objects.exists()


def test_reading_stored_figures_costs_the_same_queries_for_one_or_all(client, manager, settings):
    # Given the manager's page stored once
    client.force_login(manager)
    with freeze_time(NOON):
        assert client.get("/analytics/kpis/", MARCH).status_code == 202
    _stored_at(NOON, manager, code=[definition.code for definition in kpis_for(manager)])
    stored = KpiSnapshot.objects.count()
    assert stored >= 20
    # When it is read again
    with freeze_time(NOON + datetime.timedelta(minutes=3)):
        with CaptureQueriesContext(connection) as page:
            response = client.get("/analytics/kpis/", MARCH)
        with CaptureQueriesContext(connection) as again:
            client.get("/analytics/kpis/", MARCH)
    # Then every figure is a stored one, with its age, and the page reads them in one query
    # (plus one for the targets and one to note they were read, none the second time)
    html = response.content.decode()
    assert html.count("3 minutes ago") == stored
    assert 'id="kpi-fresh"' in html
    snapshot_reads = [q for q in page.captured_queries if "analytics_kpisnapshot" in q["sql"]]
    assert [q["sql"].split()[0] for q in snapshot_reads] == ["SELECT", "UPDATE"]
    target_reads = [q for q in page.captured_queries if "analytics_kpitarget" in q["sql"]]
    assert len(target_reads) == 1
    assert len(again.captured_queries) == len(page.captured_queries) - 1


def test_the_page_recomputes_when_asked(
    client, counted_tickets, manager, hospital_a, django_capture_on_commit_callbacks
):
    _tickets(hospital_a, urgent=1)
    client.force_login(manager)
    _stored_at(NOON, manager, code=[definition.code for definition in kpis_for(manager)])
    _tickets(hospital_a, normal=1)
    with freeze_time(NOON + datetime.timedelta(minutes=2)):
        stored = client.get("/analytics/kpis/", MARCH).content.decode()
        # (the tests' task backend runs the task as soon as it is enqueued)
        with django_capture_on_commit_callbacks(execute=True):
            fresh = client.get("/analytics/kpis/", {**MARCH, "fresh": "1"})
    assert _figure(stored, "urgent_share") == "100.0"
    assert fresh.status_code == 202
    # And the next plain read shows the recomputed figure
    with freeze_time(NOON + datetime.timedelta(minutes=2)):
        after = client.get("/analytics/kpis/", MARCH).content.decode()
    assert _figure(after, "urgent_share") == "50.0"


def _figure(html: str, code: str) -> str:
    row = html[html.index(f'id="kpi-{code}"') :]
    cell = row[row.index('class="text-end fw-semibold kpi-value">') :]
    return cell.split(">", 1)[1].split("<", 1)[0].strip()


# --- the refresh job --------------------------------------------------------------------------


def _read(user, start, end, code="urgent_share", **filters):
    return kpi_figures([code], KpiFilter(user=user, start=start, end=end, **filters))[0]


def test_the_job_recomputes_read_figures_and_leaves_young_ones(
    counted_tickets, manager, hospital_a
):
    _tickets(hospital_a, urgent=1)
    march = (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
    with freeze_time(NOON):
        _read(manager, *march)
    _tickets(hospital_a, normal=1)
    # When the job runs three minutes later, the figure is too young to recompute
    with freeze_time(NOON + datetime.timedelta(minutes=3)):
        assert snapshots_refresh() == 0
    # Then five minutes later it is recomputed, and the reader gets the new figure, stored
    with freeze_time(NOON + datetime.timedelta(minutes=5)):
        assert snapshots_refresh() == 1
        result = _read(manager, *march)
    assert (result.value, result.source) == (50, "snapshot")
    assert result.as_of == NOON + datetime.timedelta(minutes=5)


def test_this_month_up_to_today_moves_on_to_the_next_day_and_month(
    counted_tickets, manager, hospital_a
):
    # Given the default period read on 30 April: 1 to 30 April
    TicketFactory(organization=hospital_a, received_at=local(2026, 4, 2, 9), priority="urgent")
    TicketFactory(organization=hospital_a, received_at=local(2026, 5, 1, 9), priority="normal")
    with freeze_time(local(2026, 4, 30, 20)):
        _read(manager, datetime.date(2026, 4, 1), datetime.date(2026, 4, 30))
    # When the job runs after midnight
    with freeze_time(local(2026, 5, 1, 10)):
        assert snapshots_refresh() == 1
    # Then the figure stored is May's, up to 1 May, and April's is gone
    snapshot = KpiSnapshot.objects.get(code="urgent_share")
    assert (snapshot.start, snapshot.end) == (datetime.date(2026, 5, 1), datetime.date(2026, 5, 1))
    assert (snapshot.figure["value"], snapshot.figure["denominator"]) == ("0.0", "1")
    with freeze_time(local(2026, 5, 1, 10, 2)):
        result = _read(manager, datetime.date(2026, 5, 1), datetime.date(2026, 5, 1))
    assert result.source == "snapshot"


def test_the_job_drops_unread_figures_and_figures_of_users_whose_scope_changed(
    counted_tickets, manager, company, hospital_a
):
    colleague = user_with_role(Role.SERVICE_MANAGER, company, username="manager2")
    march = (datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
    with freeze_time(NOON):
        _read(colleague, *march)
        _read(manager, *march, region="华东")
    # Given the colleague's role changed
    colleague.groups.clear()
    # When the job runs, the colleague's figure is dropped, the manager's recomputed
    with freeze_time(NOON + datetime.timedelta(minutes=5)):
        assert snapshots_refresh() == 1
    assert list(KpiSnapshot.objects.values_list("user__username", flat=True)) == ["manager"]
    # And once nobody has read it for 31 days, it is dropped too
    with freeze_time(NOON + datetime.timedelta(days=31)):
        assert snapshots_refresh() == 0
    assert not KpiSnapshot.objects.exists()


def test_the_job_stops_at_its_budget(counted_tickets, manager):
    with freeze_time(NOON):
        _read(manager, datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
    with freeze_time(NOON + datetime.timedelta(minutes=5)):
        assert snapshots_refresh(budget=-1) == 0
    assert KpiSnapshot.objects.get().computed_at == NOON


def test_two_readers_computing_the_same_figure_leave_one_row(counted_tickets, manager):
    with freeze_time(NOON):
        _read(manager, datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
        kpi_figures(
            ["urgent_share"],
            KpiFilter(
                user=manager, start=datetime.date(2026, 3, 1), end=datetime.date(2026, 3, 31)
            ),
            fresh=True,
        )
    assert KpiSnapshot.objects.count() == 1


def test_the_job_is_registered_every_five_minutes():
    from medservice.core.scheduler import JOBS

    assert JOBS["analytics.kpi-snapshots"].every == datetime.timedelta(minutes=5)
