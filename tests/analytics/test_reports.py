"""Periodic evaluation reports: frozen figures that read back the dashboard's numbers (XLSX and
PDF), revisions, the daily job, improvement actions in the CAPA tracker, pages and API."""

from __future__ import annotations

import datetime
import hashlib
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time
from openpyxl import load_workbook
from pypdf import PdfReader

from medservice.accounts.choices import Role
from medservice.analytics import kpis
from medservice.analytics.choices import Direction
from medservice.analytics.kpis import KpiFilter, kpi_compute
from medservice.analytics.models import EvaluationReport, KpiTarget, ReportImprovementAction
from medservice.analytics.reports import (
    evaluation_report_generate,
    evaluation_reports_due,
    improvement_action_open,
    improvement_actions_of,
)
from medservice.core.errors import InvalidInputError, PermissionDeniedError
from medservice.quality.choices import CapaKind, CapaStatus
from medservice.quality.models import Capa
from medservice.tickets.models import Ticket
from tests.analytics.conftest import MARCH_END, MARCH_START, local
from tests.catalog.factories import FaultCodeFactory
from tests.factories import user_with_role
from tests.tickets.factories import TicketFactory
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db

# Mid-April 2026, noon in Shanghai: March (and the first quarter) are over.
APRIL_15 = "2026-04-15 04:00:00"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def registered(monkeypatch):
    """Two KPIs registered for the test (the real ones are written elsewhere and may be
    empty here): the share of the period's requests that are urgent (a rate, at most), and
    the hours from local midnight to each request's arrival (a time: median and p90)."""
    monkeypatch.setattr(kpis, "KPIS", {})

    def urgent_share(kpi_filter):
        records = kpis.scoped(
            Ticket.objects.filter(kpi_filter.in_period("received_at")), kpi_filter
        )
        return kpis.rate("urgent_share", records,
                         kpis.by_pk(records, lambda ticket: ticket.priority == "urgent"))  # fmt: skip

    def arrival_hours(kpi_filter):
        records = kpis.scoped(
            Ticket.objects.filter(kpi_filter.in_period("received_at")), kpi_filter
        )

        def hours(ticket):
            received = timezone.localtime(ticket.received_at)
            return kpis.hours_between(kpis.local_midnight(received.date()), received)

        return kpis.distribution("arrival_hours", records, kpis.by_pk(records, hours))

    for order, (code, name, unit, direction, compute) in enumerate([
        ("urgent_share", "Urgent share", "percent", Direction.AT_MOST, urgent_share),
        ("arrival_hours", "Arrival hour", "hours", Direction.AT_MOST, arrival_hours),
    ]):  # fmt: skip
        kpis.KPIS[code] = kpis.KpiDefinition(
            code=code, name=name, unit=unit, compute=compute, direction=direction,
            group="service", order=order,
        )  # fmt: skip
    KpiTarget.objects.create(kpi="urgent_share", value=40, direction=Direction.AT_MOST)
    KpiTarget.objects.create(kpi="arrival_hours", value=12, direction=Direction.AT_MOST,
                             amber_band=2)  # fmt: skip


@pytest.fixture
def requests_of_march_and_february(registered, hospital_a, hospital_b):
    # March: three requests, one urgent, arriving at 09:00, 10:00 and 15:00 (local).
    TicketFactory(organization=hospital_a, received_at=local(2026, 3, 2, 9), priority="urgent")
    TicketFactory(organization=hospital_a, received_at=local(2026, 3, 10, 10), priority="normal")
    TicketFactory(organization=hospital_b, received_at=local(2026, 3, 31, 15), priority="normal")
    # February: two requests, one urgent, at 08:00 and 20:00.
    TicketFactory(organization=hospital_a, received_at=local(2026, 2, 3, 8), priority="urgent")
    TicketFactory(organization=hospital_b, received_at=local(2026, 2, 27, 20), priority="normal")
    # April: not in either period.
    TicketFactory(organization=hospital_a, received_at=local(2026, 4, 1, 0), priority="urgent")


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="quality_manager")


def march_report(manager) -> EvaluationReport:
    with freeze_time(APRIL_15):
        return evaluation_report_generate(kind="monthly", period_start=MARCH_START, actor=manager)


def kpi_rows(report: EvaluationReport) -> dict[str, tuple]:
    with report.xlsx.open("rb") as stored:
        sheet = load_workbook(io.BytesIO(stored.read()))["KPIs"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:7] == (
        "Code",
        "KPI",
        "Numerator",
        "Denominator",
        "Value",
        "Target",
        "Previous period",
    )
    return {row[0]: row for row in rows[1:]}


def as_decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# --- the figures --------------------------------------------------------------------------------


def test_the_xlsx_reads_back_the_dashboards_numbers(manager, requests_of_march_and_february):
    # Given March's and February's requests
    # When the March report is generated on 15 April
    report = march_report(manager)
    rows = kpi_rows(report)
    # Then each row of the "KPIs" sheet is the dashboard's figure for March at the report's
    # as_of, and the previous column February's, numbers stored as numbers
    dashboard = KpiFilter(user=manager, start=MARCH_START, end=MARCH_END, as_of=report.as_of)
    assert list(rows) == ["urgent_share", "arrival_hours"]
    for code, row in rows.items():
        figure = kpi_compute(code, dashboard)
        previous = kpi_compute(code, dashboard.previous())
        _code, _name, numerator, denominator, value, target, before = row[:7]
        assert all(isinstance(cell, int | float) for cell in (denominator, value, target, before))
        assert as_decimal(numerator) == figure.numerator
        assert as_decimal(denominator) == figure.denominator
        assert as_decimal(value) == figure.value
        assert as_decimal(target) == figure.target.value
        assert as_decimal(before) == previous.value
    # And the hand-checked numbers: 1 of 3 urgent in March (33.3 %), 1 of 2 in February (50 %)
    assert rows["urgent_share"][1:7] == ("Urgent share", 1, 3, 33.3, 40, 50)
    # arrival hours 9, 10, 15: p90 (3rd of 3) 15, median 10; February 8, 20: p90 20
    assert rows["arrival_hours"][2:7] == (None, 3, 15, 12, 20)
    assert rows["arrival_hours"][7:11] == ("hours", 10, 15, "missed")
    assert rows["urgent_share"][10:12] == ("met", "at_most")
    # And each KPI has a sheet of exactly the records counted, with what each contributed
    with report.xlsx.open("rb") as stored:
        workbook = load_workbook(io.BytesIO(stored.read()))
    march = Ticket.objects.filter(received_at__month=3).order_by("pk")
    expected = [(ticket.pk, str(ticket)) for ticket in march]
    urgent = list(workbook["urgent_share"].iter_rows(min_row=2, values_only=True))
    assert [(row[0], row[1]) for row in urgent] == expected
    assert [row[2] for row in urgent] == [1, 0, 0]
    hours = list(workbook["arrival_hours"].iter_rows(min_row=2, values_only=True))
    assert [row[2] for row in hours] == [9, 10, 15]


def test_the_frozen_figures_keep_exact_decimals_and_the_previous_period(
    manager, requests_of_march_and_february
):
    report = march_report(manager)
    urgent = report.figures[0]
    assert (urgent["code"], urgent["value"], urgent["numerator"], urgent["denominator"]) == (
        "urgent_share", "33.3", "1", "3")  # fmt: skip
    assert urgent["target"] == {"value": "40.00", "direction": "at_most", "amber_band": "0.00",
                                "proposed": False}  # fmt: skip
    assert urgent["previous"] == {"value": "50.0", "numerator": "1", "denominator": "2"}
    arrival = report.figures[1]
    assert (arrival["value"], arrival["median"], arrival["p90"], arrival["verdict"]) == (
        "15.00", "10.00", "15.00", "missed")  # fmt: skip
    assert (report.period_end, report.revision, report.generated_by) == (MARCH_END, 1, manager)


def test_the_pdf_shows_the_kpi_names_and_values(manager, requests_of_march_and_february):
    report = march_report(manager)
    with report.pdf.open("rb") as stored:
        content = stored.read()
    assert hashlib.sha256(content).hexdigest() == report.pdf_sha256
    text = "".join(
        "".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages
    )
    assert "Evaluationreport2026-03(Monthly)" in text
    assert "Urgentshare33.3" in text
    assert "Arrivalhour15.00" in text
    assert "≤40" in text and "50.0" in text  # the target and February's figure


def test_the_report_lists_top_fault_codes_returns_and_improvement_actions(
    manager, registered, hospital_a, quality_manager
):
    # Given March's completed repairs: three with MON-01, one with MON-02, one uncoded, one in
    # April
    display, power = FaultCodeFactory(code="MON-01", name="黑屏"), FaultCodeFactory(code="MON-02")
    for code, day in ((display, 3), (display, 9), (power, 12), (display, 20), (None, 21)):
        WorkOrderFactory(device__organization=hospital_a, kind="repair", fault_code=code,
                         completed_at=local(2026, 3, day, 10))  # fmt: skip
    WorkOrderFactory(device__organization=hospital_a, kind="repair", fault_code=power,
                     completed_at=local(2026, 4, 2, 10))  # fmt: skip
    # And an improvement action opened in February, still open
    with freeze_time("2026-02-10 02:00:00"):
        from medservice.quality.capa import capa_open

        earlier = capa_open(actor=quality_manager, kind="improvement", problem="回访率偏低",
                            source_label="2026-01 月度评估")  # fmt: skip
    # When the March report is made
    report = march_report(manager)
    # Then the Pareto counts 3 and 1 of the 4 coded repairs
    assert report.sections["fault_codes"] == [
        {"code": "MON-01", "name": "黑屏", "count": 3, "share": "75.0", "cumulative": "75.0"},
        {"code": "MON-02", "name": "显示故障", "count": 1, "share": "25.0",
         "cumulative": "100.0"},
    ]  # fmt: skip
    assert report.sections["returns"] == []
    assert report.sections["spot_checks"] == []
    assert [row["number"] for row in report.sections["improvement_actions"]] == [earlier.number]
    # And the workbook carries them with numbers as numbers
    with report.xlsx.open("rb") as stored:
        workbook = load_workbook(io.BytesIO(stored.read()))
    problems = list(workbook["Top problems"].iter_rows(values_only=True))
    assert problems[1] == ("MON-01", "黑屏", 3, 75, 75)
    actions = list(workbook["Improvement actions"].iter_rows(values_only=True))
    assert actions[1][:3] == (earlier.number, "回访率偏低", "2026-01 月度评估")


# --- revisions and the job ----------------------------------------------------------------------


def test_regenerating_makes_revision_2_and_keeps_revision_1(
    manager, hospital_a, requests_of_march_and_february
):
    first = march_report(manager)
    with first.xlsx.open("rb") as stored:
        first_xlsx = stored.read()
    figures = first.figures
    # Given a March request that arrives late (registered after the first report)
    TicketFactory(organization=hospital_a, received_at=local(2026, 3, 20, 11), priority="urgent")
    # When March is generated again
    second = march_report(manager)
    # Then it is revision 2 with the new figure, and revision 1 is as it was
    assert (second.revision, second.figures[0]["value"]) == (2, "50.0")
    first.refresh_from_db()
    assert (first.revision, first.figures) == (1, figures)
    with first.xlsx.open("rb") as stored:
        assert stored.read() == first_xlsx
    assert hashlib.sha256(first_xlsx).hexdigest() == first.xlsx_sha256
    assert first.xlsx.name != second.xlsx.name
    assert kpi_rows(first)["urgent_share"][4] == 33.3
    assert kpi_rows(second)["urgent_share"][4] == 50


def test_the_daily_job_makes_last_months_and_last_quarters_report_once(registered):
    # On 2 April: March's report and the first quarter's
    with freeze_time("2026-04-02 01:00:00"):
        made = evaluation_reports_due()
        assert [(r.kind, r.period_start) for r in made] == [
            ("monthly", datetime.date(2026, 3, 1)), ("quarterly", datetime.date(2026, 1, 1))]  # fmt: skip
        # A second run the same day (or the next) makes nothing
        assert evaluation_reports_due() == []
    with freeze_time("2026-04-20 01:00:00"):
        assert evaluation_reports_due() == []
    # In May only April's; the quarter's is made in a quarter's first month only
    with freeze_time("2026-05-01 01:00:00"):
        made = evaluation_reports_due()
    assert [(r.kind, r.period_start) for r in made] == [("monthly", datetime.date(2026, 4, 1))]
    quarter = EvaluationReport.objects.get(kind="quarterly")
    assert (quarter.period_end, quarter.generated_by, quarter.revision) == (
        datetime.date(2026, 3, 31), None, 1)  # fmt: skip
    assert EvaluationReport.objects.count() == 3


def test_the_job_runs_through_the_scheduler_under_its_name(registered):
    from medservice.core.scheduler import JOBS, job_claim, job_run

    job = JOBS["analytics.evaluation-reports"]
    assert job.every == datetime.timedelta(days=1)
    with freeze_time("2026-06-03 01:00:00"):
        assert job_claim(job, owner="test", now=timezone.now())
        assert job_run(job, owner="test") == "ok"
    assert list(EvaluationReport.objects.values_list("kind", "period_start")) == [
        ("monthly", datetime.date(2026, 5, 1))]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "start", "field"),
    [
        ("monthly", datetime.date(2026, 4, 1), "period_start"),  # April is not over
        ("monthly", datetime.date(2026, 3, 2), "period_start"),  # not a month's first day
        ("quarterly", datetime.date(2026, 2, 1), "period_start"),  # not a quarter's start
        ("yearly", datetime.date(2026, 1, 1), "kind"),
    ],
)
def test_only_an_ended_month_or_quarter_is_reported(manager, registered, kind, start, field):
    with freeze_time(APRIL_15), pytest.raises(InvalidInputError) as refused:
        evaluation_report_generate(kind=kind, period_start=start, actor=manager)
    assert list(refused.value.fields) == [field]
    assert EvaluationReport.objects.count() == 0


def test_only_managers_generate(agent, registered):
    with freeze_time(APRIL_15), pytest.raises(PermissionDeniedError):
        evaluation_report_generate(kind="monthly", period_start=MARCH_START, actor=agent)


# --- improvement actions ------------------------------------------------------------------------


def test_an_improvement_action_is_a_capa_raised_by_the_report_about_a_kpi(
    manager, quality_manager, requests_of_march_and_february
):
    report = march_report(manager)
    # When the manager opens an improvement action on the arrival-hour KPI
    with freeze_time(APRIL_15):
        capa = improvement_action_open(
            actor=manager, report=report, kpi_code="arrival_hours",
            problem="下午报修集中，安排值班工程师。", owner=quality_manager,
            due_on=datetime.date(2026, 5, 31),
        )  # fmt: skip
    # Then a CAPA of kind improvement, raised by the report, names the KPI and its figure
    capa = Capa.objects.get(pk=capa.pk)
    assert (capa.kind, capa.status, capa.source, capa.owner, capa.due_on) == (
        CapaKind.IMPROVEMENT, CapaStatus.OPEN, report, quality_manager,
        datetime.date(2026, 5, 31))  # fmt: skip
    assert capa.source_label == "2026-03 Monthly evaluation: Arrival hour 15.00 (target ≤ 12.00)"
    assert ReportImprovementAction.objects.get(capa=capa).kpi == "arrival_hours"
    # And the report lists it with its KPI (as does a later revision of the same month)
    assert [(item["capa"], item["kpi_name"]) for item in improvement_actions_of(report)] == [
        (capa, "Arrival hour")]  # fmt: skip
    second = march_report(manager)
    assert [item["capa"] for item in improvement_actions_of(second)] == [capa]


def test_an_improvement_action_needs_a_kpi_of_the_report_and_an_owner(
    manager, agent, quality_manager, requests_of_march_and_february
):
    report = march_report(manager)
    with freeze_time(APRIL_15):
        with pytest.raises(InvalidInputError) as refused:
            improvement_action_open(actor=manager, report=report, kpi_code="no_such_kpi",
                                    problem="x", owner=quality_manager,
                                    due_on=datetime.date(2026, 5, 1))  # fmt: skip
        assert list(refused.value.fields) == ["kpi"]
        with pytest.raises(InvalidInputError) as refused:
            improvement_action_open(actor=manager, report=report, kpi_code="", problem=" ",
                                    owner=None, due_on=datetime.date(2026, 4, 1))  # fmt: skip
        assert sorted(refused.value.fields) == ["due_on", "problem"]
        # An agent may not open CAPAs
        with pytest.raises(PermissionDeniedError):
            improvement_action_open(actor=agent, report=report, kpi_code="", problem="x",
                                    owner=None, due_on=None)  # fmt: skip
    assert Capa.objects.count() == 0
    assert ReportImprovementAction.objects.count() == 0


# --- API ----------------------------------------------------------------------------------------


def test_the_api_lists_reports_and_serves_the_files(api, manager, requests_of_march_and_february):
    report = march_report(manager)
    client = api.as_user(manager)
    listing = client.get("/api/v1/evaluation-reports/").json()
    assert [row["id"] for row in listing["results"]] == [report.pk]
    detail = client.get(f"/api/v1/evaluation-reports/{report.pk}/").json()
    assert (detail["kind"], detail["period_start"], detail["revision"]) == (
        "monthly", "2026-03-01", 1)  # fmt: skip
    assert detail["figures"][0]["value"] == "33.3"
    pdf = client.get(f"/api/v1/evaluation-reports/{report.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert hashlib.sha256(b"".join(pdf.streaming_content)).hexdigest() == report.pdf_sha256
    xlsx = client.get(f"/api/v1/evaluation-reports/{report.pk}/xlsx/")
    workbook = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    assert [row[4] for row in workbook["KPIs"].iter_rows(min_row=2, values_only=True)] == [
        33.3, 15]  # fmt: skip


def test_the_api_generates_and_opens_improvement_actions(
    api, manager, quality_manager, requests_of_march_and_february
):
    client = api.as_user(manager)
    with freeze_time(APRIL_15):
        response = client.post("/api/v1/evaluation-reports/generate/",
                               {"kind": "quarterly", "period_start": "2026-01-01"})  # fmt: skip
        assert response.status_code == 201
        quarter = response.json()
        assert (quarter["kind"], quarter["period_end"], quarter["figures"][0]["value"]) == (
            "quarterly",
            "2026-03-31",
            "40.0",
        )  # 2 of the quarter's 5 requests urgent
        refused = client.post("/api/v1/evaluation-reports/generate/",
                              {"kind": "monthly", "period_start": "2026-04-01"})  # fmt: skip
        assert refused.status_code == 400
        assert list(refused.json()["error"]["fields"]) == ["period_start"]
        url = f"/api/v1/evaluation-reports/{quarter['id']}/improvement-actions/"
        opened = client.post(url, {"kpi": "urgent_share", "problem": "加急比例高",
                                   "owner": quality_manager.pk, "due_on": "2026-06-30"})  # fmt: skip
    assert opened.status_code == 201
    assert (opened.json()["kind"], opened.json()["kpi"]) == ("improvement", "urgent_share")
    assert [row["number"] for row in client.get(url).json()] == [opened.json()["number"]]
    # A report is never created, changed or deleted by hand
    assert client.post("/api/v1/evaluation-reports/", {}).status_code == 405
    assert client.delete(f"/api/v1/evaluation-reports/{quarter['id']}/").status_code == 405


def test_customers_and_roles_without_reports_get_404(
    api, manager, customer_a, agent, auditor, requests_of_march_and_february
):
    report = march_report(manager)
    for user in (customer_a, agent):
        client = api.as_user(user)
        for url in (
            "/api/v1/evaluation-reports/",
            f"/api/v1/evaluation-reports/{report.pk}/",
            f"/api/v1/evaluation-reports/{report.pk}/pdf/",
            f"/api/v1/evaluation-reports/{report.pk}/xlsx/",
        ):
            assert client.get(url).status_code == 404, (user, url)
        assert client.post("/api/v1/evaluation-reports/generate/",
                           {"kind": "monthly", "period_start": "2026-03-01"}).status_code == 404  # fmt: skip
    # The auditor reads but does not generate
    client = api.as_user(auditor)
    assert client.get(f"/api/v1/evaluation-reports/{report.pk}/xlsx/").status_code == 200
    with freeze_time(APRIL_15):
        response = client.post("/api/v1/evaluation-reports/generate/",
                               {"kind": "monthly", "period_start": "2026-03-01"})  # fmt: skip
    assert response.status_code == 403
    assert EvaluationReport.objects.count() == 1


# --- pages --------------------------------------------------------------------------------------


def test_the_pages_list_show_generate_and_open_an_action(
    client, manager, quality_manager, requests_of_march_and_february
):
    client.force_login(manager)
    with freeze_time(APRIL_15):
        listing = client.get("/analytics/evaluation-reports/")
        assert listing.status_code == 200 and 'id="generate-now"' in listing.content.decode()
        made = client.post("/analytics/evaluation-reports/generate/",
                           {"kind": "monthly", "period_start": "2026-03"})  # fmt: skip
        assert made.status_code == 302
        report = EvaluationReport.objects.get()
        assert made["Location"] == f"/analytics/evaluation-reports/{report.pk}/"
        page = client.get(made["Location"]).content.decode()
        assert "Urgent share" in page and "33.3" in page and "≤ 40.00" in page
        assert 'id="improvement-form"' in page
        opened = client.post(
            f"/analytics/evaluation-reports/{report.pk}/improvement-actions/",
            {"kpi": "urgent_share", "problem": "加急比例偏高", "owner": quality_manager.pk,
             "due_on": "2026-05-15"},
        )  # fmt: skip
        assert opened.status_code == 302
        capa = Capa.objects.get()
        assert capa.number in client.get(opened["Location"]).content.decode()
        bad = client.post("/analytics/evaluation-reports/generate/",
                          {"kind": "monthly", "period_start": "2026-04"})  # fmt: skip
        assert bad.status_code == 400
        assert "The period has not ended yet." in bad.content.decode()
    download = client.get(f"/analytics/evaluation-reports/{report.pk}/xlsx/")
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == report.xlsx_sha256


def test_the_pages_are_not_found_for_customers(client, manager, customer_a, auditor,
                                               requests_of_march_and_february):  # fmt: skip
    report = march_report(manager)
    client.force_login(customer_a)
    for url in (
        "/analytics/evaluation-reports/",
        f"/analytics/evaluation-reports/{report.pk}/",
        f"/analytics/evaluation-reports/{report.pk}/pdf/",
    ):
        assert client.get(url).status_code == 404, url
    client.force_login(auditor)
    page = client.get(f"/analytics/evaluation-reports/{report.pk}/").content.decode()
    assert "Urgent share" in page
    assert 'id="improvement-form"' not in page and 'id="generate-now"' not in page
