"""The live service and quality dashboards: exact counts on a small data set, the first rows in
order, the links to the lists, scoping (outsiders get 404), the compact home panels, and a
fixed number of queries whatever the number of records."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from medservice.accounts.choices import Role
from medservice.analytics.dashboards import quality_dashboard, service_dashboard
from medservice.quality.models import AdverseEventReport, Recall, RecallRecipient, TrendSignal
from medservice.tickets.models import Ticket, TicketClock
from medservice.work_orders.models import Visit
from tests.factories import OrganizationFactory, user_with_role
from tests.feedback.factories_followups import SurveyEscalationFactory
from tests.installed_base.factories import DeviceFactory
from tests.inventory.factories import LocationFactory, LotPartFactory, PartFactory, stock_in
from tests.maintenance.factories import PmPlanFactory
from tests.quality.factories_capa import CapaFactory, QualityCaseFactory
from tests.tickets.factories import TicketFactory
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db


def today_at(hour: int, days: int = 0) -> datetime.datetime:
    """A local time today (or `days` later), in the site's zone."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


NOON = today_at(12)


def cards_by_key(cards) -> dict:
    return {card.key: card for card in cards}


def counts(cards) -> dict[str, int]:
    return {card.key: card.count for card in cards}


# --- Service dashboard ------------------------------------------------------------------------


def running_clock(ticket: Ticket) -> TicketClock:
    return TicketClock.objects.filter(
        ticket=ticket, met_at__isnull=True, stopped_at__isnull=True
    ).order_by("due_at", "pk")[0]


@pytest.fixture
def engineers(company):
    return (
        user_with_role(Role.FIELD_ENGINEER, company, username="eng_li", first_name="伟",
                       last_name="李"),
        user_with_role(Role.FIELD_ENGINEER, company, username="eng_wang", first_name="芳",
                       last_name="王"),
    )  # fmt: skip


def visit(work_order, engineer, start, **fields) -> Visit:
    return Visit.objects.create(
        work_order=work_order, engineer=engineer, window_start=start,
        window_end=start + datetime.timedelta(hours=2), **fields,
    )  # fmt: skip


@pytest.fixture
def service_data(manager, engineers, hospital_a, hospital_b):
    """Three open requests (one owned), one resolved; visits today and yesterday; PM plans;
    parts; survey escalations — the numbers each test below asserts."""
    li, wang = engineers
    # Requests: A1 nobody owns and warned (at risk), A2 owned by the manager and investigating,
    # B1 nobody owns and breached; B2 resolved (not open).
    a1 = TicketFactory(organization=hospital_a, auto_assign=False)
    a2 = TicketFactory(organization=hospital_a, auto_assign=False, owner=manager)
    b1 = TicketFactory(organization=hospital_b, auto_assign=False)
    b2 = TicketFactory(organization=hospital_b, auto_assign=False)
    Ticket.objects.filter(pk=a2.pk).update(status="investigating")
    Ticket.objects.filter(pk=b2.pk).update(status="resolved")
    TicketClock.objects.filter(pk=running_clock(a1).pk).update(warned_at=NOON)
    TicketClock.objects.filter(pk=running_clock(b1).pk).update(warned_at=NOON, breached_at=NOON)
    # Visits: today 09:00 Li (no check-in: late), 10:00 Wang (on site), 15:00 Li (not yet),
    # 11:00 Wang cancelled; yesterday 09:00 Wang (never checked in: a record to correct, not
    # a late arrival today).
    at_a = WorkOrderFactory(device=DeviceFactory(organization=hospital_a))
    at_b = WorkOrderFactory(device=DeviceFactory(organization=hospital_b))
    visit(at_a, li, today_at(9))
    visit(at_b, wang, today_at(10), status="on_site", checked_in_at=today_at(10))
    visit(at_a, li, today_at(15))
    visit(at_b, wang, today_at(11), status="cancelled")
    visit(at_b, wang, today_at(9, days=-1))
    # PM: one overdue at A, one due next month, one overdue but inactive.
    today = timezone.localdate()
    PmPlanFactory(device=DeviceFactory(organization=hospital_a),
                  next_due_on=today - datetime.timedelta(days=9))  # fmt: skip
    PmPlanFactory(device=DeviceFactory(organization=hospital_a),
                  next_due_on=today + datetime.timedelta(days=30))  # fmt: skip
    PmPlanFactory(device=DeviceFactory(organization=hospital_b), active=False,
                  next_due_on=today - datetime.timedelta(days=3))  # fmt: skip
    # Parts: one below its reorder point (none in stock), one without a point; a lot expiring
    # in 30 days and one in 200 days.
    PartFactory(number="P-LOW", reorder_point=5)
    PartFactory(number="P-NONE")
    warehouse = LocationFactory()
    battery = LotPartFactory(number="P-BAT")
    stock_in(warehouse, battery, 4, lot_number="L-SOON",
             expiry_date=today + datetime.timedelta(days=30))  # fmt: skip
    stock_in(warehouse, battery, 4, lot_number="L-LATE",
             expiry_date=today + datetime.timedelta(days=200))  # fmt: skip
    # Low surveys: one open at A, one answered at B.
    SurveyEscalationFactory(survey__organization=hospital_a, status="open")
    SurveyEscalationFactory(survey__organization=hospital_b, status="answered")
    return {"a1": a1, "a2": a2, "b1": b1}


def test_the_service_dashboard_counts_each_card_exactly(manager, service_data):
    # When the manager's dashboard is read at noon
    cards = service_dashboard(manager, now=NOON)
    # Then each card counts exactly what it should
    assert counts(cards) == {
        "open": 3, "at-risk": 1, "breached": 1, "unassigned": 2, "visits-today": 3, "late": 1,
        "pm-overdue": 1, "reorder": 1, "expiring": 1, "low-surveys": 1,
    }  # fmt: skip
    by_key = cards_by_key(cards)
    # And open requests are split by state, in the states' order
    assert [(str(group.label), group.count) for group in by_key["open"].groups] == [
        ("New", 2), ("Investigating", 1)]  # fmt: skip
    assert by_key["open"].groups[0].url == "/tickets/tickets/?status=new"
    # And the at-risk and breached cards hold the right requests
    assert [row.pk for row in by_key["at-risk"].rows] == [service_data["a1"].pk]
    assert [row.pk for row in by_key["breached"].rows] == [service_data["b1"].pk]
    # And today's visits are in order, and split by engineer
    assert [timezone.localtime(row.window_start).hour for row in by_key["visits-today"].rows] == [
        9, 10, 15]  # fmt: skip
    assert [(group.label, group.count) for group in by_key["visits-today"].groups] == [
        ("李伟", 2), ("王芳", 1)]  # fmt: skip
    # And the late arrival is today's 09:00 only
    late = by_key["late"].rows
    assert [timezone.localtime(row.window_start) for row in late] == [today_at(9)]
    assert [part.number for part in by_key["reorder"].rows] == ["P-LOW"]
    assert [lot.lot_number for lot in by_key["expiring"].rows] == ["L-SOON"]


def test_the_service_dashboard_links_each_count_to_its_list(manager, service_data):
    by_key = cards_by_key(service_dashboard(manager, now=NOON))
    today = timezone.localdate().isoformat()
    assert by_key["breached"].url == "/tickets/tickets/?overdue=true&sort=next_due_at"
    assert by_key["visits-today"].url == (
        f"/service/work-orders/?appointment_after={today}&appointment_before={today}"
    )
    assert by_key["pm-overdue"].url == "/maintenance/pm-plans/overdue/"
    assert by_key["unassigned"].url == ("/tickets/tickets/?open=true&unowned=true&sort=next_due_at")


def test_the_nobody_owns_card_leads_to_exactly_its_requests(api, manager, service_data):
    # Given A1 and B1 open with no owner, A2 open and owned
    response = api.as_user(manager).get("/api/v1/tickets/", {"open": "true", "unowned": "true"})
    assert response.status_code == 200
    assert sorted(row["id"] for row in response.json()["results"]) == sorted(
        [service_data["a1"].pk, service_data["b1"].pk])  # fmt: skip
    owned = api.as_user(manager).get("/api/v1/tickets/", {"open": "true", "unowned": "false"})
    assert [row["id"] for row in owned.json()["results"]] == [service_data["a2"].pk]


def test_the_compact_version_counts_without_rows(manager, service_data):
    cards = service_dashboard(manager, limit=0, now=NOON)
    assert counts(cards)["open"] == 3
    assert all(card.rows == [] for card in cards)


def test_the_service_page_shows_the_cards_and_is_live(client, manager, service_data):
    client.force_login(manager)
    response = client.get("/analytics/service/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="card-breached"' in page
    assert service_data["b1"].number in page
    assert "live" in page


@pytest.mark.parametrize("url", ["/analytics/service/", "/analytics/quality/"])
def test_outsiders_cannot_open_the_dashboards(client, customer_a, distributor_engineer, url):
    # Given a customer user and a distributor engineer (even with the permission given by hand)
    from django.contrib.auth.models import Permission

    for outsider in (customer_a, distributor_engineer):
        outsider.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="analytics",
                codename__in=["view_service_dashboard", "view_quality_dashboard"],
            )
        )
        client.force_login(outsider)
        # Then neither dashboard exists for them
        assert client.get(url).status_code == 404


def test_a_role_without_the_permission_gets_404(client, company):
    engineer = user_with_role(Role.FIELD_ENGINEER, company, username="eng")
    client.force_login(engineer)
    assert client.get("/analytics/service/").status_code == 404
    assert client.get("/analytics/quality/").status_code == 404


def test_the_service_dashboard_reads_a_fixed_number_of_queries(
    client, manager, engineers, service_data, hospital_a, django_assert_max_num_queries
):
    # Given the count of queries on the small data set
    with CaptureQueriesContext(connection) as small:
        service_dashboard(manager, now=NOON)
    # When there are more of every record
    for _ in range(4):
        ticket = TicketFactory(organization=hospital_a, auto_assign=False)
        TicketClock.objects.filter(pk=running_clock(ticket).pk).update(
            warned_at=NOON, breached_at=NOON
        )
        visit(WorkOrderFactory(device=DeviceFactory(organization=hospital_a)), engineers[0],
              today_at(8))  # fmt: skip
        PartFactory(reorder_point=3)
        SurveyEscalationFactory(survey__organization=hospital_a, status="open")
    with CaptureQueriesContext(connection) as large:
        cards = service_dashboard(manager, now=NOON)
    # Then the same number of queries reads them
    assert cards_by_key(cards)["breached"].count == 5
    assert len(large.captured_queries) == len(small.captured_queries)
    # And the whole page stays within a fixed budget
    client.force_login(manager)
    with django_assert_max_num_queries(40):
        assert client.get("/analytics/service/").status_code == 200


# --- Quality dashboard ------------------------------------------------------------------------


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="qa_mgr")


def recall(number: str, device_model, **fields) -> Recall:
    return Recall.objects.create(
        number=number, kind="recall", device_model=device_model, recall_class="II",
        reason="输液泵报警失灵", instructions="停止使用并等待工程师", handling="repair",
        responsible_phone="13800000000", batch_number="2303", **fields,
    )  # fmt: skip


@pytest.fixture
def quality_data(quality_manager, hospital_a, hospital_b):
    """Legal clocks of two reports and two recalls, cases, signals and CAPAs."""
    now = timezone.now()
    device = DeviceFactory(organization=hospital_a)
    # Cases: two open, one investigating, one closed.
    for status in ("open", "open", "investigating", "closed"):
        QualityCaseFactory(status=status)
    # CAPAs: two corrective open, one improvement to verify, one preventive closed.
    for kind, status in (
        ("corrective", "open"),
        ("corrective", "actions"),
        ("improvement", "verification"),
        ("preventive", "closed"),
    ):
        CapaFactory(kind=kind, status=status)  # fmt: skip
    # Trend signals: new, acknowledged, dismissed.
    for key, status in enumerate(("new", "acknowledged", "dismissed")):
        TrendSignal.objects.create(
            dimension="model", key=str(key), label="KD-M8000", month=datetime.date(2026, 10, 1),
            observed=9, expected=2.0, exposure=100, baseline_count=24, baseline_exposure=1200,
            p_value=0.0002, status=status,
        )  # fmt: skip
    # Reports: one draft overdue by an hour; one submitted whose final report is due in 20
    # days; one submitted with nothing left to do.
    base = {"market": "CN", "outcome": "death", "trigger": "death", "device": device,
            "awareness_at": now - datetime.timedelta(days=1)}  # fmt: skip
    draft = AdverseEventReport.objects.create(
        number="AE-1", report_due_at=now - datetime.timedelta(hours=1), **base
    )
    final = AdverseEventReport.objects.create(
        number="AE-2", status="submitted", submitted_at=now,
        report_due_at=now - datetime.timedelta(hours=2),
        final_due_at=now + datetime.timedelta(days=20), **base,
    )  # fmt: skip
    AdverseEventReport.objects.create(
        number="AE-3", status="submitted", submitted_at=now, report_due_at=now, **base
    )
    # Recalls in progress: R1's notice still to send (due tomorrow) and filing (in 5 days);
    # R2 notified everyone (one acknowledged) and filed; R3 a draft.
    model = device.device_model
    r1 = recall("RC-1", model, status="in_progress", decided_at=now,
                notify_due_at=now + datetime.timedelta(days=1),
                filing_due_at=now + datetime.timedelta(days=5))  # fmt: skip
    RecallRecipient.objects.create(recall=r1, organization=hospital_a)
    r2 = recall("RC-2", model, status="in_progress", decided_at=now - datetime.timedelta(days=9),
                notify_due_at=now - datetime.timedelta(days=8), filed_at=now,
                filing_due_at=now - datetime.timedelta(days=4))  # fmt: skip
    RecallRecipient.objects.create(recall=r2, organization=hospital_a, notified_at=now,
                                   acknowledged_at=now)  # fmt: skip
    RecallRecipient.objects.create(recall=r2, organization=hospital_b, notified_at=now)
    recall("RC-3", model)
    return {"draft": draft, "final": final, "r1": r1, "r2": r2}


def test_the_quality_dashboard_counts_each_card_exactly(quality_manager, quality_data):
    cards = quality_dashboard(quality_manager)
    assert counts(cards) == {
        "legal-clocks": 4, "cases": 3, "recalls": 2, "signals": 2, "capas": 3,
    }  # fmt: skip
    by_key = cards_by_key(cards)
    # Legal clocks by due time: the overdue report, R1's notices, R1's filing, AE-2's final
    clocks = by_key["legal-clocks"].rows
    assert [(clock.number, clock.overdue) for clock in clocks] == [
        ("AE-1", True), ("RC-1", False), ("RC-1", False), ("AE-2", False)]  # fmt: skip
    assert [str(clock.kind) for clock in clocks] == [
        "Adverse-event report",
        "Recall notices",
        "Recall filing",
        "Final adverse-event report",
    ]
    assert clocks[0].url == f"/quality/adverse-event-reports/{quality_data['draft'].pk}/"
    assert [(str(group.label), group.count) for group in by_key["cases"].groups] == [
        ("Open", 2), ("Investigating", 1)]  # fmt: skip
    assert [(str(group.label), group.count) for group in by_key["capas"].groups] == [
        ("Corrective action", 2), ("Improvement action", 1)]  # fmt: skip
    assert by_key["capas"].groups[0].url == "/quality/capas/?kind=corrective"
    # Recall progress: R1 (decided now) after R2 (decided nine days ago); no units registered,
    # so the share of recipients that acknowledged: R2 1 of 2
    progress = [(row.recall.number, row.progress.percent) for row in by_key["recalls"].rows]
    assert [(number, str(value)) for number, value in progress] == [("RC-2", "50.0"),
                                                                    ("RC-1", "0.0")]  # fmt: skip


def test_the_quality_page_shows_the_clocks(client, quality_manager, quality_data):
    client.force_login(quality_manager)
    response = client.get("/analytics/quality/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="list-group-item list-group-item-action py-1 small legal-clock"') == 4


def test_the_quality_dashboard_reads_a_fixed_number_of_queries(
    client, quality_manager, quality_data, django_assert_max_num_queries
):
    # Given the count of queries on the small data set
    with CaptureQueriesContext(connection) as small:
        quality_dashboard(quality_manager)
    # When there are more cases, CAPAs and recall recipients (each recall shown costs two
    # queries for its progress, so at most 2 x 5 more: the recalls stay as they are)
    for _ in range(4):
        QualityCaseFactory(status="open")
        CapaFactory(kind="preventive", status="open")
        RecallRecipient.objects.create(
            recall=quality_data["r1"], organization=OrganizationFactory()
        )
    with CaptureQueriesContext(connection) as large:
        quality_dashboard(quality_manager)
    # Then the same number of queries reads them
    assert len(large.captured_queries) == len(small.captured_queries)
    client.force_login(quality_manager)
    with django_assert_max_num_queries(40):
        assert client.get("/analytics/quality/").status_code == 200


# --- Landing ----------------------------------------------------------------------------------


def test_each_manager_lands_on_the_compact_version_of_their_dashboard(
    client, manager, quality_manager, service_data
):
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert 'id="home-analytics-service-dashboard"' in page
    assert 'id="home-analytics-quality-dashboard"' not in page
    assert 'href="/analytics/service/"' in page
    # The compact panel comes first on the page
    assert page.index("home-analytics-service-dashboard") < page.index('id="desk-home"')
    client.force_login(quality_manager)
    page = client.get("/").content.decode()
    assert 'id="home-analytics-quality-dashboard"' in page
    assert 'id="home-analytics-service-dashboard"' not in page
