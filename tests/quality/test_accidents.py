"""Quality accidents (质量事故): the report deadline from the discovery time per grade, its
warnings (once each, whatever the job's runs), the report's submission, the closure signed by
the quality manager only, who may see and act, and the accident of a quality case opened once."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import override_settings
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError, InvalidTransitionError, PermissionDeniedError
from medservice.core.models import Notification
from medservice.core.signatures import signature_is_intact, signatures_of
from medservice.quality.accidents import (
    accident_close,
    accident_grade,
    accident_investigate,
    accident_open_from_case,
    accident_report_clock_sweep,
    accident_submit_report,
)
from medservice.quality.models import QualityAccident
from tests.factories import PASSWORD, user_with_role
from tests.quality.factories_accidents import DISCOVERED, accident_recorded, case_recorded

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def quality_staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="qa")


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="qm")


def _investigated(accident, actor):
    with freeze_time(DISCOVERED + 2 * HOUR):
        return accident_investigate(actor=actor, accident=accident, data={
            "causes": "流速传感器批次缺陷", "handling": "召回该批次并更换传感器",
            "responsible_persons": "质量部 李工（来料检验）",
        })  # fmt: skip


# --- The deadline ---------------------------------------------------------------------------


def test_the_report_is_due_the_grades_hours_after_discovery(quality_staff):
    # Given accidents discovered at 09:00 on 27 November, one per grade
    serious = accident_recorded(actor=quality_staff, severity="major_serious")
    major = accident_recorded(actor=quality_staff, severity="major")
    general = accident_recorded(actor=quality_staff, severity="general")
    # Then the report is due 24 h / 72 h later, and a general accident needs none
    assert serious.report_due_at == datetime.datetime(2026, 11, 28, 9, 0, tzinfo=DISCOVERED.tzinfo)
    assert major.report_due_at == datetime.datetime(2026, 11, 30, 9, 0, tzinfo=DISCOVERED.tzinfo)
    assert general.report_due_at is None
    assert (serious.number, serious.status, serious.owner) == (
        "QAC-2026-000001", "open", quality_staff,
    )  # fmt: skip


@override_settings(QUALITY_ACCIDENT_REPORT_HOURS={"major": 48, "general": 168})
def test_the_report_hours_are_a_setting(quality_staff):
    # Given the company's procedure says 48 h for major and a week for general accidents
    major = accident_recorded(actor=quality_staff, severity="major")
    general = accident_recorded(actor=quality_staff, severity="general")
    serious = accident_recorded(actor=quality_staff, severity="major_serious")
    # Then those hours apply; the grade not configured keeps its default
    assert major.report_due_at - DISCOVERED == 48 * HOUR
    assert general.report_due_at - DISCOVERED == 168 * HOUR
    assert serious.report_due_at - DISCOVERED == 24 * HOUR


def test_regrading_moves_the_deadline_but_not_its_start(quality_staff):
    # Given a major accident, regraded a day later as one with serious consequences
    accident = accident_recorded(actor=quality_staff, severity="major")
    with freeze_time(DISCOVERED + 30 * HOUR):
        accident = accident_grade(actor=quality_staff, accident=accident,
                                  severity="major_serious", reason="患者住院治疗")  # fmt: skip
    # Then the deadline still counts from the discovery: already passed
    assert accident.report_due_at == DISCOVERED + 24 * HOUR
    assert accident.severity == "major_serious"
    # And a grade needs its reason
    with pytest.raises(InvalidInputError) as refused:
        accident_grade(actor=quality_staff, accident=accident, severity="major", reason=" ")
    assert list(refused.value.fields) == ["reason"]


def test_losses_of_2000_yuan_make_an_accident_major(quality_staff):
    # When a general accident is recorded with 2,000 yuan of losses
    with pytest.raises(InvalidInputError) as refused:
        accident_recorded(actor=quality_staff, severity="general", loss_amount=Decimal("2000"))
    # Then it is refused, naming the losses
    assert refused.value.fields == {
        "loss_amount": ["Losses of 2,000 yuan or more make the accident major: grade it major."]
    }
    assert QualityAccident.objects.count() == 0
    below = accident_recorded(actor=quality_staff, severity="general",
                              loss_amount=Decimal("1999.99"))  # fmt: skip
    assert below.loss_amount == Decimal("1999.99")


def test_an_accident_cannot_be_discovered_in_the_future_nor_happen_after_discovery(quality_staff):
    with freeze_time(DISCOVERED), pytest.raises(InvalidInputError) as refused:
        from medservice.quality.accidents import accident_record

        accident_record(actor=quality_staff, data={
            "title": "x", "severity": "major", "discovered_at": DISCOVERED + 2 * HOUR,
            "occurred_at": DISCOVERED + 3 * HOUR,
        })  # fmt: skip
    assert sorted(refused.value.fields) == ["discovered_at", "occurred_at"]


# --- Warnings -------------------------------------------------------------------------------


def test_the_report_clock_warns_at_75_percent_and_on_breach_once_each(
    quality_staff, quality_manager
):
    # Given a serious accident discovered at 09:00 (report due 24 h later)
    accident = accident_recorded(actor=quality_staff, severity="major_serious")
    # When the job runs before 75% of the time, then twice at 75%, then twice after the deadline
    assert accident_report_clock_sweep(now=DISCOVERED + 17 * HOUR) == {"warned": 0, "breached": 0}
    assert accident_report_clock_sweep(now=DISCOVERED + 18 * HOUR) == {"warned": 1, "breached": 0}
    assert accident_report_clock_sweep(now=DISCOVERED + 18 * HOUR) == {"warned": 0, "breached": 0}
    assert accident_report_clock_sweep(now=DISCOVERED + 24 * HOUR) == {"warned": 0, "breached": 1}
    assert accident_report_clock_sweep(now=DISCOVERED + 25 * HOUR) == {"warned": 0, "breached": 0}
    # Then each of quality staff and the quality manager got exactly one warning and one breach
    for person in (quality_staff, quality_manager):
        subjects = list(
            Notification.objects.filter(recipient=person)
            .order_by("pk")
            .values_list("subject", flat=True)
        )
        assert subjects[-2:] == [
            f"{accident.number}: report the quality accident soon",
            f"{accident.number}: quality accident not reported in time",
        ]
        assert len(subjects) == 3  # the first one announced the accident
    accident.refresh_from_db()
    assert (accident.report_warned_at, accident.report_breached_at) == (
        DISCOVERED + 18 * HOUR, DISCOVERED + 24 * HOUR,
    )  # fmt: skip


def test_a_submitted_report_and_a_general_accident_raise_no_warning(quality_staff):
    reported = accident_recorded(actor=quality_staff, severity="major_serious")
    accident_recorded(actor=quality_staff, severity="general")
    with freeze_time(DISCOVERED + 5 * HOUR):
        accident_submit_report(actor=quality_staff, accident=reported,
                               submitted_to="市药品监督管理局")  # fmt: skip
    assert accident_report_clock_sweep(now=DISCOVERED + 30 * HOUR) == {"warned": 0, "breached": 0}


# --- Submission and closure -----------------------------------------------------------------


def test_the_report_submission_is_recorded_once_with_when_whom_and_reference(quality_staff):
    accident = accident_recorded(actor=quality_staff, severity="major_serious")
    with freeze_time(DISCOVERED + 3 * HOUR):
        with pytest.raises(InvalidInputError) as refused:
            accident_submit_report(actor=quality_staff, accident=accident, submitted_to="",
                                   submitted_at=DISCOVERED + 4 * HOUR)  # fmt: skip
        assert sorted(refused.value.fields) == ["submitted_at", "submitted_to"]
        accident = accident_submit_report(
            actor=quality_staff, accident=accident, submitted_to="市药品监督管理局",
            reference="ZJ-YJ-2026-118",
        )  # fmt: skip
    assert (
        accident.report_submitted_at, accident.report_submitted_to, accident.report_reference,
        accident.report_submitted_by, accident.report_late,
    ) == (
        DISCOVERED + 3 * HOUR, "市药品监督管理局", "ZJ-YJ-2026-118", quality_staff, False,
    )  # fmt: skip
    with pytest.raises(InvalidTransitionError) as again:
        accident_submit_report(actor=quality_staff, accident=accident, submitted_to="省局")
    assert again.value.message == "The report was already submitted on 2026-11-27 12:00."


def test_only_the_quality_manager_closes_and_signs(quality_staff, quality_manager):
    # Given an investigated, reported accident
    accident = accident_recorded(actor=quality_staff, severity="major")
    accident = _investigated(accident, quality_staff)
    # Then closing before the report is in is refused for the state
    with pytest.raises(InvalidTransitionError) as refused:
        accident_close(actor=quality_manager, accident=accident, conclusion="结案",
                       password=PASSWORD)  # fmt: skip
    assert refused.value.message == "The report to the authority has not been submitted."
    accident = accident_submit_report(actor=quality_staff, accident=accident,
                                      submitted_to="市药品监督管理局")  # fmt: skip
    # When quality staff try to close it, they are refused (their role)
    with pytest.raises(PermissionDeniedError):
        accident_close(actor=quality_staff, accident=accident, conclusion="结案",
                       password=PASSWORD)  # fmt: skip
    # And a wrong password keeps nothing
    from medservice.core.errors import SignatureError

    with pytest.raises(SignatureError):
        accident_close(actor=quality_manager, accident=accident, conclusion="结案",
                       password="wrong")  # fmt: skip
    accident.refresh_from_db()
    assert (accident.status, accident.closed_at, accident.signed_at) == (
        "investigating",
        None,
        None,
    )
    # When the quality manager closes it with the password
    with freeze_time(DISCOVERED + 50 * HOUR):
        accident = accident_close(actor=quality_manager, accident=accident,
                                  conclusion="原因明确，处理完毕", password=PASSWORD)  # fmt: skip
    # Then it is closed and signed, the signature covering what was closed
    accident.refresh_from_db()
    assert (accident.status, accident.closed_by, accident.closing_note) == (
        "closed", quality_manager, "原因明确，处理完毕",
    )  # fmt: skip
    assert accident.signed_at == DISCOVERED + 50 * HOUR
    [signature] = signatures_of(accident)
    assert (signature.signer, signature.meaning) == (
        quality_manager,
        "Quality accident closed: investigation, causes and handling approved",
    )
    assert signature_is_intact(signature, accident)


def test_an_accident_without_causes_and_handling_cannot_be_closed(quality_staff, quality_manager):
    accident = accident_recorded(actor=quality_staff, severity="general")
    accident = accident_investigate(actor=quality_staff, accident=accident,
                                    data={"investigation": "现场查看"})  # fmt: skip
    with pytest.raises(InvalidTransitionError) as refused:
        accident_close(actor=quality_manager, accident=accident, conclusion="结案",
                       password=PASSWORD)  # fmt: skip
    assert refused.value.message == "Record the causes, handling before closing."


# --- From a quality case --------------------------------------------------------------------


def test_a_case_decided_as_a_quality_accident_opens_one_accident(quality_staff, quality_manager):
    # Given a quality case with an injury
    case = case_recorded(actor=quality_staff, injury=True, batch_number="20251101",
                         product_reported="输液泵 ZX-300")  # fmt: skip
    # When the decision opens its accident twice
    first = accident_open_from_case(actor=quality_manager, case=case)
    second = accident_open_from_case(actor=quality_manager, case=case)
    # Then there is one, prefilled from the case, its clock counting from the case's awareness
    assert first == second
    assert list(case.quality_accidents.all()) == [first]
    assert (
        first.quality_case, first.discovered_at, first.severity, first.batch_number,
        first.product_reported, first.description, first.report_due_at,
    ) == (
        case, DISCOVERED, "major_serious", "20251101", "输液泵 ZX-300",
        "输液泵流速异常，患者出现不适", DISCOVERED + 24 * HOUR,
    )  # fmt: skip
    # And recording another one for the same case is refused on the field
    with pytest.raises(InvalidInputError) as refused:
        accident_recorded(actor=quality_staff, quality_case=case)
    assert list(refused.value.fields) == ["quality_case"]


def test_a_case_without_injury_opens_a_major_accident(quality_staff, quality_manager):
    case = case_recorded(actor=quality_staff)
    accident = accident_open_from_case(actor=quality_manager, case=case)
    assert (accident.severity, accident.report_due_at) == ("major", DISCOVERED + 72 * HOUR)


# --- Who may ----------------------------------------------------------------------------------


def test_outsiders_see_no_accident_service_managers_read_without_personal_data(
    api, quality_staff, customer_a, distributor_engineer, manager
):
    accident = accident_recorded(actor=quality_staff, persons_affected="患者 王某某，58 岁")
    for outsider in (customer_a, distributor_engineer):
        assert api.as_user(outsider).get(f"/api/v1/quality-accidents/{accident.pk}/").status_code in (
            403, 404,
        )  # fmt: skip
    listed = api.as_user(manager).get("/api/v1/quality-accidents/").json()
    assert [row["number"] for row in listed["results"]] == [accident.number]
    assert listed["results"][0]["persons_affected"] == "***"
    shown = api.as_user(quality_staff).get(f"/api/v1/quality-accidents/{accident.pk}/").json()
    assert shown["persons_affected"] == "患者 王某某，58 岁"
    # A service manager may read but neither record nor act
    client = api.as_user(manager)
    assert client.post("/api/v1/quality-accidents/", {"title": "x", "severity": "major"},
                       format="json").status_code == 403  # fmt: skip
    response = client.post(f"/api/v1/quality-accidents/{accident.pk}/grade/",
                           {"severity": "general", "reason": "x"}, format="json")  # fmt: skip
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_the_api_records_an_accident_and_runs_its_workflow(api, quality_staff, quality_manager):
    staff = api.as_user(quality_staff)
    with freeze_time(DISCOVERED):
        refused = staff.post("/api/v1/quality-accidents/", {"title": ""}, format="json")
        assert refused.status_code == 400
        assert sorted(refused.json()["error"]["fields"]) == ["severity", "title"]
        created = staff.post("/api/v1/quality-accidents/", {
            "title": "灭菌包破损致手术感染", "severity": "major_serious", "place": "手术室",
            "loss_amount": "12000.00",
        }, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["number"], body["report_due_at"], body["loss_amount"]) == (
        "QAC-2026-000001", "2026-11-28T09:00:00+08:00", "12000.00",
    )  # fmt: skip
    url = f"/api/v1/quality-accidents/{body['id']}"
    with freeze_time(DISCOVERED + HOUR):
        investigated = staff.post(f"{url}/investigate/", {
            "causes": "包装封口不良", "handling": "隔离同批次", "loss_amount": "-1",
        }, format="json")  # fmt: skip
        assert investigated.status_code == 400
        assert list(investigated.json()["error"]["fields"]) == ["loss_amount"]
        investigated = staff.post(f"{url}/investigate/", {
            "causes": "包装封口不良", "handling": "隔离同批次",
        }, format="json")  # fmt: skip
        assert investigated.json()["status"] == "investigating"
        reported = staff.post(f"{url}/submit-report/", {
            "submitted_to": "市药品监督管理局", "reference": "ZJ-2026-7",
        }, format="json")  # fmt: skip
        assert reported.json()["report_submitted_at"] == "2026-11-27T10:00:00+08:00"
        assert staff.post(f"{url}/submit-report/", {"submitted_to": "省局"},
                          format="json").status_code == 409  # fmt: skip
        refused = staff.post(f"{url}/close/", {"conclusion": "结案", "password": PASSWORD},
                             format="json")  # fmt: skip
        assert refused.status_code == 403
        closed = api.as_user(quality_manager).post(
            f"{url}/close/", {"conclusion": "结案", "password": PASSWORD}, format="json"
        )
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["signed_at"]) == (
        "closed", "2026-11-27T10:00:00+08:00",
    )  # fmt: skip
    # A closed accident takes no more steps
    again = staff.post(f"{url}/grade/", {"severity": "major", "reason": "x"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


# --- Pages ----------------------------------------------------------------------------------


def test_the_pages_record_an_accident_from_its_case_and_show_the_clock(
    client, quality_staff, manager
):
    case = case_recorded(actor=quality_staff)
    client.force_login(quality_staff)
    # The case's page offers to record its accident, prefilled from the case
    page = client.get(f"/quality/quality-cases/{case.pk}/").content.decode()
    assert "Quality accidents" in page
    assert f"/quality/quality-accidents/record/?quality_case={case.pk}" in page
    form = client.get(f"/quality/quality-accidents/record/?quality_case={case.pk}")
    assert form.status_code == 200
    assert form.context["form"].initial["quality_case"] == case.pk
    # A form without the grade is refused on that field, and nothing is saved
    refused = client.post("/quality/quality-accidents/record/", {
        "quality_case": case.pk, "title": "输液泵超速", "discovered_at": "2026-11-27T09:00",
    })  # fmt: skip
    assert refused.status_code == 400
    assert "severity" in refused.context["form"].errors
    assert QualityAccident.objects.count() == 0
    with freeze_time(DISCOVERED + HOUR):
        saved = client.post("/quality/quality-accidents/record/", {
            "quality_case": case.pk, "title": "输液泵超速", "severity": "major_serious",
            "discovered_at": "2026-11-27T09:00",
        })  # fmt: skip
    accident = QualityAccident.objects.get()
    assert saved.status_code == 302
    assert saved["Location"] == f"/quality/quality-accidents/{accident.pk}/"
    assert (accident.quality_case, accident.report_due_at) == (case, DISCOVERED + 24 * HOUR)
    with freeze_time(DISCOVERED + 2 * HOUR):
        detail = client.get(f"/quality/quality-accidents/{accident.pk}/").content.decode()
    assert "Report to the authority by 2026-11-28 09:00" in detail
    assert 'data-action="submit-report"' in detail
    assert 'data-action="close"' not in detail  # quality staff do not close
    # An action's bad input comes back on the page, naming the field
    bad = client.post(f"/quality/quality-accidents/{accident.pk}/act/grade/",
                      {"severity": "major", "reason": ""})  # fmt: skip
    assert bad.status_code == 400
    with freeze_time(DISCOVERED + 2 * HOUR):
        done = client.post(f"/quality/quality-accidents/{accident.pk}/act/submit-report/",
                           {"submitted_to": "市药品监督管理局", "reference": "R-1"})  # fmt: skip
    assert done.status_code == 302
    accident.refresh_from_db()
    assert accident.report_reference == "R-1"
    # The list shows it; a service manager reads it but gets no action form
    listed = client.get("/quality/quality-accidents/?severity=major_serious").content.decode()
    assert accident.number in listed
    client.force_login(manager)
    read = client.get(f"/quality/quality-accidents/{accident.pk}/").content.decode()
    assert "accident-action" not in read
    assert client.post(f"/quality/quality-accidents/{accident.pk}/act/grade/",
                       {"severity": "major", "reason": "x"}).status_code == 403  # fmt: skip


def test_the_list_costs_a_fixed_number_of_queries(
    client, quality_staff, django_assert_max_num_queries
):
    for _ in range(3):
        accident_recorded(actor=quality_staff)
    client.force_login(quality_staff)
    client.get("/quality/quality-accidents/")
    for _ in range(7):
        accident_recorded(actor=quality_staff)
    with django_assert_max_num_queries(12) as counted:
        client.get("/quality/quality-accidents/")
    few = len(counted.captured_queries)
    for _ in range(10):
        accident_recorded(actor=quality_staff)
    with django_assert_max_num_queries(few):
        client.get("/quality/quality-accidents/")
