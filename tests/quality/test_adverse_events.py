"""Adverse-event reports: the legal clocks of each market (REGULATORY.md CN-AE-1..4, US-MDR-1..3,
EU-V-1..3) with exact due times in Asia/Shanghai, the warnings and the escalation, submission
and its freezing, follow-up and final reports, the form's exports, and who may do what."""

from __future__ import annotations

import datetime
import io

import pytest
from django.test import override_settings
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError, InvalidTransitionError, PermissionDeniedError
from medservice.core.models import AuditEvent, Notification
from medservice.quality.adverse_events import (
    report_add_group_case,
    report_clock_sweep,
    report_continue,
    report_open_from_case,
    report_submit,
    report_update,
    reports_awareness_moved,
)
from medservice.quality.models import AdverseEventReport, ReportingRule
from medservice.quality.services import case_move_awareness
from tests.factories import user_with_role
from tests.installed_base.factories import DeviceFactory
from tests.quality.factories_adverse_events import case_about, report_at, shanghai

pytestmark = pytest.mark.django_db

# A Monday; its 7th calendar day (2026-10-05) is inside the National Day holiday (10-01..10-07).
AWARE = shanghai(2026, 9, 28, 10, 0)


@pytest.fixture(autouse=True)
def _registrant(settings):
    # These tests are about the registrant's (holder's) own clocks; the distributor's and
    # user's duties are the decision's (test_decisions).
    settings.QUALITY_REGULATORY_ROLE = "registrant"


@pytest.fixture
def quality_staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="qa", first_name="张质检")


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="qm")


@pytest.fixture
def device(hospital_a):
    return DeviceFactory(
        organization=hospital_a, batch_number="2609", serial_number="IP-0042",
        udi_pi="(10)2609(21)IP-0042", production_date=datetime.date(2026, 1, 5),
        expiry_date=datetime.date(2031, 1, 4),
        device_model__name="输液泵", device_model__model_spec="KD-IP300",
        device_model__registration_number="国械注准20213140001", device_model__risk_class="III",
        device_model__udi_di="06901234567892",
    )  # fmt: skip


@pytest.fixture
def case(device, quality_staff):
    return case_about(device, actor=quality_staff, awareness_at=AWARE)


def _due(report):
    return report.report_due_at.astimezone(shanghai(2026, 1, 1).tzinfo)


# --- The rules as data -------------------------------------------------------------------------


def test_the_default_rules_are_seeded_as_data():
    rules = {
        rule.code: (rule.market, rule.trigger, rule.amount, rule.unit, rule.calendar_code)
        for rule in ReportingRule.objects.all()
    }
    assert rules == {
        "CN-AE-1": ("CN", "death", 7, "calendar_days", ""),
        "CN-AE-2": ("CN", "serious_injury", 20, "calendar_days", ""),
        "CN-AE-3": ("CN", "abroad", 30, "calendar_days", ""),
        "CN-AE-4": ("CN", "group_event", 12, "hours", ""),
        "CN-AE-4-case": ("CN", "group_event_case", 24, "hours", ""),
        "CN-AE-5-death": ("CN", "death_evaluation", 30, "calendar_days", ""),
        "CN-AE-5-serious": ("CN", "serious_injury_evaluation", 45, "calendar_days", ""),
        "US-MDR-1": ("US", "manufacturer", 30, "calendar_days", ""),
        "US-MDR-2": ("US", "remedial_action", 5, "working_days", "US"),
        "US-MDR-3": ("US", "user_facility", 10, "working_days", "US"),
        "EU-V-1": ("EU", "public_health_threat", 2, "calendar_days", ""),
        "EU-V-2": ("EU", "death_or_deterioration", 10, "calendar_days", ""),
        "EU-V-3": ("EU", "other_serious_incident", 15, "calendar_days", ""),
    }


# --- Clocks per market --------------------------------------------------------------------------


def test_a_death_report_is_due_on_its_7th_day_even_inside_the_national_day_holiday(
    case, quality_staff
):
    # Given a case the company learnt of on 2026-09-28 10:00 (CN-AE-1: 7 calendar days)
    # When its China report is opened as a death
    with freeze_time(AWARE + datetime.timedelta(hours=1)):
        report = report_open_from_case(actor=quality_staff, case=case, market="CN",
                                       outcome="death")  # fmt: skip
    # Then it is due 2026-10-05 10:00, a public holiday: calendar days ignore holidays
    assert (report.trigger, report.rule.code, _due(report)) == (
        "death", "CN-AE-1", shanghai(2026, 10, 5, 10, 0),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("data", "rule", "due"),
    [
        ({"market": "CN", "outcome": "serious_injury"}, "CN-AE-2", shanghai(2026, 10, 18, 10, 0)),
        ({"market": "CN", "outcome": "other"}, "CN-AE-2", shanghai(2026, 10, 18, 10, 0)),
        ({"market": "CN", "outcome": "death", "event_abroad": True}, "CN-AE-3",
         shanghai(2026, 10, 28, 10, 0)),
        ({"market": "CN", "outcome": "serious_injury", "group_event": True}, "CN-AE-4",
         shanghai(2026, 9, 28, 22, 0)),
        ({"market": "US", "outcome": "death"}, "US-MDR-1", shanghai(2026, 10, 28, 10, 0)),
        ({"market": "EU", "outcome": "death", "trigger": "public_health_threat"}, "EU-V-1",
         shanghai(2026, 9, 30, 10, 0)),
        ({"market": "EU", "outcome": "serious_injury"}, "EU-V-2", shanghai(2026, 10, 8, 10, 0)),
        ({"market": "EU", "outcome": "other"}, "EU-V-3", shanghai(2026, 10, 13, 10, 0)),
    ],
)  # fmt: skip
def test_each_market_and_trigger_has_its_exact_due_time(device, quality_staff, data, rule, due):
    # Given a device and an awareness time of 2026-09-28 10:00
    # When a report is opened directly (no case) with these facts
    report = report_at(AWARE, actor=quality_staff, device=device, **data)
    # Then the rule and the due time are exactly the regulation's
    assert (report.rule.code, _due(report)) == (rule, due)
    assert report.quality_case is None


@pytest.mark.parametrize(
    ("role", "rule"),
    [("registrant", "US-MDR-1"), ("agent", "US-MDR-3"), ("user", "US-MDR-3")],
)
def test_the_us_rule_follows_the_companys_role(device, quality_staff, settings, role, rule):
    # Given the company as a manufacturer (registrant), an importer (agent) or a user facility
    settings.QUALITY_REGULATORY_ROLE = role
    # When a US death is reported
    report = report_at(AWARE, actor=quality_staff, device=device, market="US", outcome="death")
    # Then the manufacturer has 30 days, importers and user facilities 10 work days
    assert report.rule.code == rule


def test_us_five_work_days_skip_thanksgiving(device, quality_staff):
    # Given awareness on Wed 2026-11-25 22:00 Shanghai (09:00 in New York, US-MDR-2)
    aware = shanghai(2026, 11, 25, 22, 0)
    report = report_at(aware, actor=quality_staff, device=device, market="US",
                       outcome="serious_injury", trigger="remedial_action")  # fmt: skip
    # Then the 5th US work day skips Thanksgiving (Thu 11-26): Thu 12-03, 09:00 New York
    assert (report.rule.code, _due(report)) == ("US-MDR-2", shanghai(2026, 12, 3, 22, 0))
    assert report.due_unconfirmed is False


@override_settings(QUALITY_REGULATORY_ROLE="distributor")
def test_an_importer_reports_to_the_fda_in_ten_work_days(device, quality_staff):
    aware = shanghai(2026, 11, 25, 22, 0)
    report = report_at(aware, actor=quality_staff, device=device, market="US", outcome="death")
    assert (report.rule.code, _due(report)) == ("US-MDR-3", shanghai(2026, 12, 10, 22, 0))


def test_a_group_event_is_due_in_12_hours_and_each_case_in_24(device, quality_staff):
    # Given a group event (CN-AE-4) the company learnt of at 2026-09-28 10:00
    group = report_at(AWARE, actor=quality_staff, device=device, market="CN",
                      outcome="serious_injury", group_event=True)  # fmt: skip
    # When one patient's case is reported beside it
    with freeze_time(AWARE + datetime.timedelta(hours=2)):
        single = report_add_group_case(
            actor=quality_staff, report=group,
            data={"outcome": "serious_injury", "patient_name": "李某", "patient_age": 61},
        )  # fmt: skip
    # Then the group's report is due at 22:00 and the case's the next day at 10:00
    assert (group.rule.code, _due(group)) == ("CN-AE-4", shanghai(2026, 9, 28, 22, 0))
    assert (single.rule.code, single.group, _due(single)) == (
        "CN-AE-4-case", group, shanghai(2026, 9, 29, 10, 0),
    )  # fmt: skip
    # A case cannot be added to a report that is not a group event's.
    with pytest.raises(InvalidTransitionError):
        report_add_group_case(actor=quality_staff, report=single, data={"outcome": "other"})


def test_a_corrected_rule_applies_to_new_reports_only(device, quality_staff, quality_manager):
    from medservice.quality.adverse_events import reporting_rule_update

    before = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    rule = ReportingRule.objects.get(code="CN-AE-1")
    with pytest.raises(PermissionDeniedError):
        reporting_rule_update(actor=quality_staff, instance=rule, data={"amount": 5})
    with pytest.raises(InvalidInputError) as refused:
        reporting_rule_update(actor=quality_manager, instance=rule, data={"calendar_code": "US"})
    assert list(refused.value.fields) == ["calendar_code"]
    reporting_rule_update(actor=quality_manager, instance=rule, data={"amount": 5})
    after = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    before.refresh_from_db()
    assert (_due(before), _due(after)) == (
        shanghai(2026, 10, 5, 10, 0),
        shanghai(2026, 10, 3, 10, 0),
    )


# --- Opening from a case ------------------------------------------------------------------------


def test_a_report_from_a_case_is_prefilled_and_opened_once_per_market(
    case, quality_staff, device, company
):
    company.address = "上海市浦东新区张江路1号"
    company.phone = "021-55550000"
    company.save()
    with freeze_time(AWARE + datetime.timedelta(hours=1)):
        report = report_open_from_case(actor=quality_staff, case=case, market="CN",
                                       outcome="serious_injury")  # fmt: skip
        again = report_open_from_case(actor=quality_staff, case=case, market="CN",
                                      outcome="death")  # fmt: skip
        us = report_open_from_case(actor=quality_staff, case=case, market="US",
                                   outcome="serious_injury")  # fmt: skip
    assert again == report
    assert us != report
    assert list(case.adverse_event_reports.order_by("market").values_list("market", flat=True)) == [
        "CN", "US",
    ]  # fmt: skip
    assert (
        report.reporter_unit, report.reporter_address, report.reporter_phone,
        report.reporter_contact, report.device_name, report.registration_number,
        report.model_spec, report.risk_class, report.origin, report.batch_number,
        report.serial_number, report.udi, report.expiry_date, report.organization,
        report.harm_description, report.malfunction_description, report.awareness_at,
    ) == (
        "康达医疗器械有限公司", "上海市浦东新区张江路1号", "021-55550000", quality_staff.get_full_name(), "输液泵",
        "国械注准20213140001", "KD-IP300", "III", "domestic", "2609", "IP-0042",
        "06901234567892 (10)2609(21)IP-0042", datetime.date(2031, 1, 4), device.organization,
        "患者心率过快", "输液泵报警失灵导致过量输注", AWARE,
    )  # fmt: skip


def test_moving_the_case_awareness_earlier_moves_the_due_time_with_an_audit(
    case, quality_staff, quality_manager
):
    with freeze_time(AWARE + datetime.timedelta(hours=1)):
        report = report_open_from_case(actor=quality_staff, case=case, market="CN",
                                       outcome="death")  # fmt: skip
        earlier = AWARE - datetime.timedelta(days=1)
        case = case_move_awareness(actor=quality_manager, case=case, awareness_at=earlier,
                                   reason="销售前一天已获知")  # fmt: skip
        # The case's move has already carried the report along: a second pass has nothing
        assert reports_awareness_moved(actor=quality_manager, case=case, reason="x") == []
    report.refresh_from_db()
    assert (report.awareness_at, _due(report)) == (earlier, shanghai(2026, 10, 4, 10, 0))
    event = AuditEvent.objects.filter(object_id=str(report.pk), action="update").latest("pk")
    assert event.reason == "销售前一天已获知"


def test_bad_input_names_the_field_and_saves_nothing(device, quality_staff):
    from medservice.quality.adverse_events import report_create

    with freeze_time(AWARE), pytest.raises(InvalidInputError) as refused:
        report_create(actor=quality_staff, data={
            "device": device, "market": "CN", "outcome": "death",
            "awareness_at": AWARE + datetime.timedelta(days=2),
        })  # fmt: skip
    assert list(refused.value.fields) == ["awareness_at"]
    with pytest.raises(InvalidInputError) as refused:
        report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death",
                  trigger="manufacturer")  # fmt: skip
    assert list(refused.value.fields) == ["trigger"]
    with pytest.raises(InvalidInputError) as refused:
        report_at(AWARE, actor=quality_staff, market="XX", outcome="bad")
    assert sorted(refused.value.fields) == ["device", "market", "outcome"]
    assert AdverseEventReport.objects.count() == 0


# --- Warnings and escalation --------------------------------------------------------------------


def test_warnings_at_75_percent_and_24_hours_before_then_one_escalation(
    device, quality_staff, quality_manager, administrator
):
    # Given a death report due 2026-10-05 10:00 (7 days = 168 h: 75% is 10-03 16:00)
    report = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    number = report.number
    nothing = {"warned": 0, "due_soon": 0, "breached": 0, "final_warned": 0,
               "final_due_soon": 0, "final_breached": 0}  # fmt: skip
    # When the job runs at each point, twice
    assert report_clock_sweep(now=shanghai(2026, 10, 3, 15, 59)) == nothing
    assert report_clock_sweep(now=shanghai(2026, 10, 3, 16, 0)) == {**nothing, "warned": 1}
    assert report_clock_sweep(now=shanghai(2026, 10, 3, 16, 5)) == nothing
    assert report_clock_sweep(now=shanghai(2026, 10, 4, 10, 0)) == {**nothing, "due_soon": 1}
    assert report_clock_sweep(now=shanghai(2026, 10, 4, 10, 5)) == nothing
    assert report_clock_sweep(now=shanghai(2026, 10, 5, 10, 0)) == {**nothing, "breached": 1}
    assert report_clock_sweep(now=shanghai(2026, 10, 5, 10, 5)) == nothing

    # Then quality staff were warned once each, and the breach went to the quality manager
    # and the administrators once
    def subjects(user):
        return list(Notification.objects.filter(recipient=user).order_by("pk")
                    .values_list("subject", flat=True))  # fmt: skip

    assert subjects(quality_staff) == [
        f"{number}: adverse-event report due by 2026-10-05 10:00",
        f"{number}: adverse-event report due within 24 hours",
    ]
    assert subjects(quality_manager)[-1] == f"{number}: adverse-event report overdue"
    assert subjects(administrator) == [f"{number}: adverse-event report overdue"]


def test_a_12_hour_clock_warns_at_75_percent_only_and_a_submitted_report_is_quiet(
    device, quality_staff
):
    group = report_at(AWARE, actor=quality_staff, device=device, market="CN",
                      outcome="death", group_event=True)  # fmt: skip
    assert group.warn_day_before_at is None
    assert report_clock_sweep(now=shanghai(2026, 9, 28, 19, 0))["warned"] == 1
    with freeze_time(shanghai(2026, 9, 28, 20, 0)):
        report_submit(actor=quality_staff, report=group, channel="phone")
    assert report_clock_sweep(now=shanghai(2026, 9, 29, 0, 0))["breached"] == 0


# --- Submission, follow-up and final ------------------------------------------------------------


def test_a_submitted_report_is_frozen_and_corrected_by_follow_up_then_final(device, quality_staff):
    report = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    with freeze_time(shanghai(2026, 10, 2, 9, 0)):
        with pytest.raises(InvalidInputError) as refused:
            report_submit(actor=quality_staff, report=report, channel="carrier pigeon")
        assert list(refused.value.fields) == ["channel"]
        report = report_submit(actor=quality_staff, report=report, channel="online",
                               reference="AE3100202610020001")  # fmt: skip
    assert (report.status, report.submitted_at, report.submission_channel,
            report.submission_reference, report.submitted_by) == (
        "submitted", shanghai(2026, 10, 2, 9, 0), "online", "AE3100202610020001", quality_staff,
    )  # fmt: skip
    # Frozen: neither changed nor submitted again
    with pytest.raises(InvalidTransitionError):
        report_update(actor=quality_staff, instance=report, data={"cause_conclusion": "改"})
    with pytest.raises(InvalidTransitionError):
        report_submit(actor=quality_staff, report=report, channel="online")
    # A follow-up carries the content and is a draft linked to the initial report
    follow_up = report_continue(actor=quality_staff, report=report, kind="follow_up")
    assert (follow_up.kind, follow_up.status, follow_up.initial, follow_up.device_name,
            follow_up.report_due_at) == ("follow_up", "draft", report, "输液泵", None)  # fmt: skip
    with pytest.raises(InvalidTransitionError):  # one draft at a time
        report_continue(actor=quality_staff, report=report, kind="final")
    follow_up = report_update(actor=quality_staff, instance=follow_up,
                              data={"cause_conclusion": "报警模块固件缺陷"})  # fmt: skip
    with freeze_time(shanghai(2026, 10, 9, 9, 0)):
        report_submit(actor=quality_staff, report=follow_up, channel="online")
    final = report_continue(actor=quality_staff, report=follow_up, kind="final")
    assert (final.kind, final.initial, final.cause_conclusion) == (
        "final", report, "报警模块固件缺陷",
    )  # fmt: skip
    report.refresh_from_db()
    assert report.cause_conclusion == ""
    with freeze_time(shanghai(2026, 10, 20, 9, 0)):
        report_submit(actor=quality_staff, report=final, channel="online")
    with pytest.raises(InvalidTransitionError):  # nothing follows the final report
        report_continue(actor=quality_staff, report=report, kind="follow_up")


def test_retention_follows_the_device_expiry_and_the_minimum_years(device, quality_staff):
    report = report_at(AWARE, actor=quality_staff, device=device, market="US", outcome="death")
    # R-DIST: expiry 2031-01-04 + 2 years beats 5 years from awareness (2031-09-28)
    assert report.retain_until == datetime.date(2033, 1, 4)
    rules = {rule for rule, _date in report.retention_dates()}
    assert rules == {"R-DIST", "R-ISO", "R-MDR"}


# --- Exports -------------------------------------------------------------------------------------


@pytest.fixture
def filled_report(case, quality_staff):
    with freeze_time(AWARE + datetime.timedelta(hours=1)):
        report = report_open_from_case(actor=quality_staff, case=case, market="CN",
                                       outcome="serious_injury")  # fmt: skip
        return report_update(actor=quality_staff, instance=report, data={
            "patient_name": "王某某", "patient_age": 58, "patient_sex": "male",
            "place_of_use": "institution", "relatedness": "cannot_tell",
        })  # fmt: skip


def test_the_pdf_is_the_chinese_form_with_its_values(api, filled_report, quality_staff):
    from pypdf import PdfReader

    response = api.as_user(quality_staff).get(
        f"/api/v1/adverse-event-reports/{filled_report.pk}/pdf/"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    flat = "".join(text.split())
    for expected in (
        "可疑医疗器械不良事件报告表", f"报告编码{filled_report.number}", "报告类型首次报告",
        "报告单位名称康达医疗器械有限公司", "产品名称输液泵", "注册证编号国械注准20213140001",
        "型号规格KD-IP300", "管理类别Ⅲ类", "产品批号2609", "发现或获知日期2026-09-2810:00",
        "伤害严重伤害", "患者姓名王某某", "年龄58", "性别男", "使用场所医疗机构",
        "关联性评价无法确定", "应报告时间2026-10-1810:00",
    ):  # fmt: skip
        assert expected in flat


def test_the_xlsx_reads_back_label_by_label_and_masks_for_readers(
    api, filled_report, quality_staff, manager
):
    from openpyxl import load_workbook

    def cells(user):
        response = api.as_user(user).get(f"/api/v1/adverse-event-reports/{filled_report.pk}/xlsx/")
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        return rows[0][0], {row[0]: row[1] for row in rows[1:] if row[1] is not None}

    title, values = cells(quality_staff)
    assert title == "可疑医疗器械不良事件报告表"
    assert {name: values[name] for name in (
        "报告编码", "产品名称", "型号规格", "产品批号", "产品编号", "伤害", "患者姓名", "年龄",
        "发现或获知日期", "应报告时间", "发生地",
    )} == {
        "报告编码": filled_report.number, "产品名称": "输液泵", "型号规格": "KD-IP300",
        "产品批号": "2609", "产品编号": "IP-0042", "伤害": "严重伤害", "患者姓名": "王某某",
        "年龄": "58", "发现或获知日期": "2026-09-28 10:00", "应报告时间": "2026-10-18 10:00",
        "发生地": "境内",
    }  # fmt: skip
    # A service manager reads the report but not the patient's name
    _title, masked = cells(manager)
    assert masked["患者姓名"] == "***"


# --- Permissions and the API ---------------------------------------------------------------------


def test_only_quality_staff_open_and_submit_readers_read_customers_see_nothing(
    api, device, quality_staff, manager, customer_a
):
    payload = {"device": device.pk, "market": "CN", "outcome": "death",
               "awareness_at": "2026-09-28T10:00:00+08:00"}  # fmt: skip
    with freeze_time(AWARE + datetime.timedelta(hours=1)):
        refused = api.as_user(manager).post("/api/v1/adverse-event-reports/", payload,
                                            format="json")  # fmt: skip
        created = api.as_user(quality_staff).post("/api/v1/adverse-event-reports/", payload,
                                                  format="json")  # fmt: skip
    assert refused.status_code == 403
    assert (created.status_code, created.json()["report_due_at"], created.json()["rule"]) == (
        201, "2026-10-05T10:00:00+08:00", "CN-AE-1",
    )  # fmt: skip
    pk = created.json()["id"]
    listed = api.as_user(manager).get("/api/v1/adverse-event-reports/").json()
    assert [row["id"] for row in listed["results"]] == [pk]
    submit = {"channel": "online", "reference": "R-1"}
    assert api.as_user(manager).post(f"/api/v1/adverse-event-reports/{pk}/submit/", submit,
                                     format="json").status_code == 403  # fmt: skip
    assert api.as_user(customer_a).get(f"/api/v1/adverse-event-reports/{pk}/").status_code in (
        403, 404,
    )  # fmt: skip
    assert api.as_user(customer_a).get(f"/api/v1/adverse-event-reports/{pk}/pdf/").status_code in (
        403, 404,
    )  # fmt: skip
    client = api.as_user(quality_staff)
    bad = client.post(f"/api/v1/adverse-event-reports/{pk}/submit/", {}, format="json")
    assert (bad.status_code, list(bad.json()["error"]["fields"])) == (400, ["channel"])
    with freeze_time(AWARE + datetime.timedelta(days=1)):
        done = client.post(f"/api/v1/adverse-event-reports/{pk}/submit/", submit, format="json")
    assert (done.status_code, done.json()["status"], done.json()["submission_reference"]) == (
        200, "submitted", "R-1",
    )  # fmt: skip
    frozen = client.patch(f"/api/v1/adverse-event-reports/{pk}/", {"test_report": "x"},
                          format="json")  # fmt: skip
    assert frozen.status_code == 409
    follow_up = client.post(f"/api/v1/adverse-event-reports/{pk}/follow-up/", format="json")
    assert (follow_up.status_code, follow_up.json()["kind"], follow_up.json()["initial"]) == (
        201, "follow_up", pk,
    )  # fmt: skip
    final = client.post(f"/api/v1/adverse-event-reports/{pk}/final/", format="json")
    assert final.status_code == 409


def test_the_api_masks_patient_data_for_service_managers(api, filled_report, manager,
                                                         quality_staff):  # fmt: skip
    url = f"/api/v1/adverse-event-reports/{filled_report.pk}/"
    assert api.as_user(manager).get(url).json()["patient_name"] == "***"
    assert api.as_user(quality_staff).get(url).json()["patient_name"] == "王某某"


# --- The pages ----------------------------------------------------------------------------------


def test_from_the_case_page_to_a_submitted_report_in_the_browser_pages(
    client, case, quality_staff, manager
):
    client.force_login(quality_staff)
    # Given the case's page: the Related tab offers "create from here"
    page = client.get(f"/quality/quality-cases/{case.pk}/").content.decode()
    new_url = f"/quality/adverse-event-reports/new/?quality_case={case.pk}"
    assert new_url in page
    # When the form opens it carries the case; submitting it opens the report
    form = client.get(new_url)
    assert form.status_code == 200
    assert f'<option value="{case.pk}" selected>' in form.content.decode()
    refused = client.post("/quality/adverse-event-reports/new/",
                          {"quality_case": case.pk, "market": "CN"})  # fmt: skip
    assert refused.status_code == 400
    with freeze_time(AWARE + datetime.timedelta(hours=2)):
        created = client.post("/quality/adverse-event-reports/new/", {
            "quality_case": case.pk, "market": "CN", "outcome": "serious_injury",
        })  # fmt: skip
    report = AdverseEventReport.objects.get(quality_case=case)
    assert created.status_code == 302
    assert created["Location"] == f"/quality/adverse-event-reports/{report.pk}/"
    with freeze_time(AWARE + datetime.timedelta(days=16)):
        detail = client.get(created["Location"]).content.decode()
        listed = client.get("/quality/adverse-event-reports/").content.decode()
    assert 'id="ae-countdown"' in detail and "countdown-warning" in detail
    assert report.number in listed and "countdown-warning" in listed
    with freeze_time(AWARE + datetime.timedelta(days=3)):
        bad = client.post(f"/quality/adverse-event-reports/{report.pk}/submit/", {"channel": ""})
        assert bad.status_code == 400
        done = client.post(f"/quality/adverse-event-reports/{report.pk}/submit/",
                           {"channel": "online", "reference": "AE-31-0001"})  # fmt: skip
    assert done.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.submission_reference) == ("submitted", "AE-31-0001")
    frozen_edit = client.post(f"/quality/adverse-event-reports/{report.pk}/edit/",
                              {"market": "CN", "outcome": "death",
                               "awareness_at": "2026-09-28T10:00"})  # fmt: skip
    assert frozen_edit.status_code == 409
    assert "is frozen: correct it with a follow-up report" in frozen_edit.content.decode()
    pdf = client.get(f"/quality/adverse-event-reports/{report.pk}/pdf/")
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    follow_up = client.post(f"/quality/adverse-event-reports/{report.pk}/follow-up/")
    assert follow_up.status_code == 302
    # A service manager reads the page without the buttons; a customer gets a 404
    client.force_login(manager)
    page = client.get(f"/quality/adverse-event-reports/{report.pk}/").content.decode()
    assert 'data-action="follow-up"' not in page and 'id="ae-pdf"' in page
    assert client.post(f"/quality/adverse-event-reports/{report.pk}/follow-up/").status_code == 403


def test_a_holiday_added_to_the_us_calendar_moves_an_open_work_day_clock(
    device, quality_staff, administrator, django_capture_on_commit_callbacks
):
    from medservice.core.calendar_models import BusinessCalendar
    from medservice.core.calendars import calendar_day_create

    # Given a 5-work-day report due Thu 2026-12-03 (New York 09:00)
    aware = shanghai(2026, 11, 25, 22, 0)
    report = report_at(aware, actor=quality_staff, device=device, market="US",
                       outcome="serious_injury", trigger="remedial_action")  # fmt: skip
    # When the administrator records Fri 11-27 as a holiday on the US calendar
    with django_capture_on_commit_callbacks(execute=True):
        calendar_day_create(actor=administrator, data={
            "calendar": BusinessCalendar.objects.get(code="US"),
            "date": datetime.date(2026, 11, 27), "kind": "holiday", "name": "Day after",
        })  # fmt: skip
    # Then the due time moves one work day later, audited
    report.refresh_from_db()
    assert _due(report) == shanghai(2026, 12, 4, 22, 0)
    event = AuditEvent.objects.filter(object_id=str(report.pk), action="update").latest("pk")
    assert event.reason == "The business calendar changed"


def test_the_list_costs_the_same_queries_for_one_report_or_many(client, device, quality_staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(quality_staff)
    report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    with CaptureQueriesContext(connection) as one:
        assert client.get("/quality/adverse-event-reports/").status_code == 200
    for market in ("US", "EU"):
        report_at(AWARE, actor=quality_staff, device=device, market=market, outcome="death")
    with CaptureQueriesContext(connection) as three:
        page = client.get("/quality/adverse-event-reports/")
    assert page.content.decode().count("countdown-breached") == 3
    assert len(three.captured_queries) == len(one.captured_queries)


def test_the_quality_manager_corrects_a_rule_on_its_page_a_service_manager_may_not(
    client, quality_manager, manager
):
    rule = ReportingRule.objects.get(code="EU-V-3")
    client.force_login(quality_manager)
    assert "EU-V-3" in client.get("/quality/reporting-rules/").content.decode()
    form = {"code": "EU-V-3", "market": "EU", "trigger": "other_serious_incident", "amount": 14,
            "unit": "calendar_days", "calendar_code": "", "description": "", "active": "on",
            "version": rule.version}  # fmt: skip
    assert client.post(f"/quality/reporting-rules/{rule.pk}/edit/", form).status_code == 302
    rule.refresh_from_db()
    assert rule.amount == 14
    client.force_login(manager)
    assert client.get(f"/quality/reporting-rules/{rule.pk}/edit/").status_code == 404


def test_a_draft_is_completed_on_its_edit_page(client, device, quality_staff):
    report = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    client.force_login(quality_staff)
    page = client.get(f"/quality/adverse-event-reports/{report.pk}/edit/")
    assert page.status_code == 200 and 'name="patient_name"' in page.content.decode()
    with freeze_time(AWARE + datetime.timedelta(days=1)):
        saved = client.post(f"/quality/adverse-event-reports/{report.pk}/edit/", {
            "market": "CN", "outcome": "death", "awareness_at": "2026-09-28T10:00",
            "device": device.pk, "device_name": "输液泵", "patient_name": "赵某",
            "relatedness": "related", "version": report.version,
        })  # fmt: skip
    assert saved.status_code == 302
    report.refresh_from_db()
    assert (report.patient_name, report.relatedness, _due(report)) == (
        "赵某", "related", shanghai(2026, 10, 5, 10, 0),
    )  # fmt: skip


# --- Group-event cases on the group's page (CN-AE-4-case) ----------------------------------------


@pytest.fixture
def group(device, quality_staff):
    # A group event (CN-AE-4) the company learnt of at 2026-09-28 10:00.
    return report_at(AWARE, actor=quality_staff, device=device, market="CN",
                     outcome="serious_injury", group_event=True)  # fmt: skip


def test_a_case_of_a_group_event_is_reported_on_the_groups_page(client, group, quality_staff):
    client.force_login(quality_staff)
    url = f"/quality/adverse-event-reports/{group.pk}/"
    post_url = f"{url}group-case/"
    # Given the group's page: an empty list of cases and the form
    with freeze_time(AWARE + datetime.timedelta(hours=2)):
        page = client.get(url).content.decode()
    assert 'id="ae-group-cases"' in page and 'data-action="group-case"' in page
    assert "No case reported yet." in page
    # When the form is sent without a harm and with an age of 200
    with freeze_time(AWARE + datetime.timedelta(hours=2)):
        bad = client.post(post_url, {"patient_name": "李某", "patient_age": "200"})
    # Then both fields carry their error, the form stays open, and nothing is saved
    body = bad.content.decode()
    assert bad.status_code == 400
    assert 'data-field="outcome"' in body and 'data-field="patient_age"' in body
    assert 'data-field="patient_name"' not in body
    assert AdverseEventReport.objects.count() == 1
    # When the awareness time is in the future the service's refusal lands on that field
    with freeze_time(AWARE + datetime.timedelta(hours=2)):
        future = client.post(post_url, {"outcome": "serious_injury",
                                        "awareness_at": "2026-09-29T10:00"})  # fmt: skip
    assert future.status_code == 400
    assert 'data-field="awareness_at"' in future.content.decode()
    assert "The company cannot become aware in the future." in future.content.decode()
    assert AdverseEventReport.objects.count() == 1
    # When a patient learnt of at 11:30 is reported
    with freeze_time(AWARE + datetime.timedelta(hours=2)):
        done = client.post(post_url, {
            "outcome": "serious_injury", "patient_name": "李某", "patient_age": "61",
            "patient_sex": "male", "harm_description": "输液过量，心率过快",
            "awareness_at": "2026-09-28T11:30",
        })  # fmt: skip
    # Then the case is its own report, due 24 hours after its awareness time
    assert (done.status_code, done["Location"]) == (302, url)
    case = AdverseEventReport.objects.get(group=group)
    assert (case.rule.code, case.trigger, case.patient_name, case.patient_age, _due(case)) == (
        "CN-AE-4-case", "group_event_case", "李某", 61, shanghai(2026, 9, 29, 11, 30),
    )  # fmt: skip
    # And the group's page lists it with its due time and its countdown
    with freeze_time(AWARE + datetime.timedelta(hours=3)):
        page = client.get(url).content.decode()
    assert f'data-case="{case.number}"' in page
    assert '<td class="ae-case-due">2026-09-29 11:30</td>' in page
    assert '<span class="badge text-bg-secondary">22h 30m</span>' in page
    # A case reported without an awareness time takes the group's (due 09-29 10:00), and
    # is listed first, by due time; 17 hours later it is amber (past 75% of its 24 hours)
    with freeze_time(AWARE + datetime.timedelta(hours=4)):
        assert client.post(post_url, {"outcome": "death"}).status_code == 302
    second = AdverseEventReport.objects.filter(group=group).latest("pk")
    assert (_due(second), second.patient_name) == (shanghai(2026, 9, 29, 10, 0), "")
    with freeze_time(shanghai(2026, 9, 29, 5, 0)):
        page = client.get(url).content.decode()
    assert page.index(second.number) < page.index(case.number)
    assert '<span class="badge text-bg-warning countdown-warning">5h 0m</span>' in page


def test_only_a_group_events_page_takes_cases_and_only_quality_staff_add_them(
    client, group, device, quality_staff, manager
):
    single = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    client.force_login(quality_staff)
    # A report that is not a group event's has no list of cases, and refuses one (409)
    page = client.get(f"/quality/adverse-event-reports/{single.pk}/").content.decode()
    assert 'id="ae-group-cases"' not in page
    with freeze_time(AWARE + datetime.timedelta(hours=2)):
        refused = client.post(f"/quality/adverse-event-reports/{single.pk}/group-case/",
                              {"outcome": "death"})  # fmt: skip
    assert refused.status_code == 409
    assert f"{single.number} is not the report of a group event." in refused.content.decode()
    # A service manager reads the group's cases but has no form, and may not add one
    client.force_login(manager)
    page = client.get(f"/quality/adverse-event-reports/{group.pk}/").content.decode()
    assert 'id="ae-group-cases"' in page and 'data-action="group-case"' not in page
    with freeze_time(AWARE + datetime.timedelta(hours=2)):
        forbidden = client.post(f"/quality/adverse-event-reports/{group.pk}/group-case/",
                                {"outcome": "death"})  # fmt: skip
    assert forbidden.status_code == 403
    assert AdverseEventReport.objects.filter(group=group).count() == 0


# --- The evaluation result (final report) after a death / serious injury (CN-AE-5) --------------


def _submitted(report, actor, at):
    with freeze_time(at):
        return report_submit(actor=actor, report=report, channel="online")


def _final_due(report):
    return report.final_due_at.astimezone(SHANGHAI_TZ)


SHANGHAI_TZ = shanghai(2026, 1, 1).tzinfo


@pytest.mark.parametrize(
    ("outcome", "submitted", "rule", "due"),
    [
        ("death", shanghai(2026, 10, 2, 9, 0), "CN-AE-5-death", shanghai(2026, 11, 1, 9, 0)),
        ("serious_injury", shanghai(2026, 10, 10, 14, 15), "CN-AE-5-serious",
         shanghai(2026, 11, 24, 14, 15)),
        ("other", shanghai(2026, 10, 10, 14, 15), "CN-AE-5-serious",
         shanghai(2026, 11, 24, 14, 15)),
    ],
)  # fmt: skip
def test_the_final_report_is_due_30_or_45_days_after_the_initial_report_is_submitted(
    device, quality_staff, outcome, submitted, rule, due
):
    # Given a China report of a death / (possible) serious injury learnt of on 09-28 10:00
    report = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome=outcome)
    assert report.final_due_at is None  # no clock before the initial report goes out
    # When it is submitted
    report = _submitted(report, quality_staff, submitted)
    # Then the evaluation result is due 30 / 45 calendar days after the submission, same time
    assert (report.final_rule.code, _final_due(report)) == (rule, due)
    report.refresh_from_db()
    assert (report.final_rule.code, _final_due(report)) == (rule, due)


@pytest.mark.parametrize(
    "data",
    [
        {"market": "CN", "outcome": "death", "event_abroad": True},
        {"market": "CN", "outcome": "death", "group_event": True},
        {"market": "EU", "outcome": "death"},
        {"market": "US", "outcome": "death"},
    ],
)
def test_no_evaluation_clock_outside_chinas_death_and_serious_injury_reports(
    device, quality_staff, data
):
    report = report_at(AWARE, actor=quality_staff, device=device, **data)
    report = _submitted(report, quality_staff, AWARE + datetime.timedelta(hours=6))
    assert (report.final_rule, report.final_due_at) == (None, None)


def test_an_evaluation_trigger_cannot_open_an_initial_report(device, quality_staff):
    with pytest.raises(InvalidInputError) as refused:
        report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death",
                  trigger="death_evaluation")  # fmt: skip
    assert list(refused.value.fields) == ["trigger"]
    assert AdverseEventReport.objects.count() == 0


def test_the_evaluation_clock_warns_and_escalates_once_each_and_stops_on_the_final_report(
    device, quality_staff, quality_manager, administrator
):
    # Given a death report submitted on 10-02 09:00: the final report is due 11-01 09:00
    # (30 days = 720 h: 75% is 10-24 21:00; 24 hours before is 10-31 09:00)
    report = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    report = _submitted(report, quality_staff, shanghai(2026, 10, 2, 9, 0))
    number = report.number
    assert (report.final_warn_at.astimezone(SHANGHAI_TZ),
            report.final_warn_day_before_at.astimezone(SHANGHAI_TZ)) == (
        shanghai(2026, 10, 24, 21, 0), shanghai(2026, 10, 31, 9, 0),
    )  # fmt: skip
    nothing = {"warned": 0, "due_soon": 0, "breached": 0, "final_warned": 0,
               "final_due_soon": 0, "final_breached": 0}  # fmt: skip
    # When the job runs at each point, twice
    assert report_clock_sweep(now=shanghai(2026, 10, 24, 20, 59)) == nothing
    assert report_clock_sweep(now=shanghai(2026, 10, 24, 21, 0)) == {**nothing, "final_warned": 1}
    assert report_clock_sweep(now=shanghai(2026, 10, 24, 21, 5)) == nothing
    assert report_clock_sweep(now=shanghai(2026, 10, 31, 9, 0)) == {
        **nothing, "final_due_soon": 1,
    }  # fmt: skip
    assert report_clock_sweep(now=shanghai(2026, 10, 31, 9, 5)) == nothing
    assert report_clock_sweep(now=shanghai(2026, 11, 1, 9, 0)) == {
        **nothing, "final_breached": 1,
    }  # fmt: skip
    assert report_clock_sweep(now=shanghai(2026, 11, 1, 9, 5)) == nothing

    # Then staff were warned once each, and the breach went to the manager and administrators
    def subjects(user):
        return list(Notification.objects.filter(recipient=user).order_by("pk")
                    .values_list("subject", flat=True))  # fmt: skip

    assert subjects(quality_staff) == [
        f"{number}: final report (evaluation result) due by 2026-11-01 09:00",
        f"{number}: final report (evaluation result) due within 24 hours",
    ]
    assert subjects(administrator) == [f"{number}: final report (evaluation result) overdue"]
    assert subjects(quality_manager)[-1] == f"{number}: final report (evaluation result) overdue"
    # When a follow-up is submitted the clock still runs; when the final report is, it stops
    follow_up = report_continue(actor=quality_staff, report=report, kind="follow_up")
    _submitted(follow_up, quality_staff, shanghai(2026, 11, 2, 10, 0))
    report.refresh_from_db()
    assert report.final_submitted_at is None
    final = report_continue(actor=quality_staff, report=follow_up, kind="final")
    _submitted(final, quality_staff, shanghai(2026, 11, 3, 16, 0))
    report.refresh_from_db()
    assert report.final_submitted_at == shanghai(2026, 11, 3, 16, 0)
    event = AuditEvent.objects.filter(object_id=str(report.pk), detail="final-submitted").get()
    assert event.actor_id == quality_staff.pk


def test_a_final_report_in_time_means_no_warning_at_all(device, quality_staff):
    report = report_at(AWARE, actor=quality_staff, device=device, market="CN",
                       outcome="serious_injury")  # fmt: skip
    report = _submitted(report, quality_staff, shanghai(2026, 10, 10, 14, 15))
    final = report_continue(actor=quality_staff, report=report, kind="final")
    _submitted(final, quality_staff, shanghai(2026, 10, 20, 9, 0))
    # Given the final report went out on 10-20: past every point of the old clock, nothing
    for now in (shanghai(2026, 11, 13, 0, 0), shanghai(2026, 11, 24, 14, 15),
                shanghai(2027, 1, 1, 0, 0)):  # fmt: skip
        counts = report_clock_sweep(now=now)
        assert (counts["final_warned"], counts["final_due_soon"], counts["final_breached"]) == (
            0, 0, 0,
        )  # fmt: skip
    assert Notification.objects.count() == 0


def test_the_evaluation_rule_is_data_the_quality_manager_corrects(
    device, quality_staff, quality_manager
):
    from medservice.quality.adverse_events import reporting_rule_update

    rule = ReportingRule.objects.get(code="CN-AE-5-death")
    reporting_rule_update(actor=quality_manager, instance=rule, data={"amount": 20})
    report = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    report = _submitted(report, quality_staff, shanghai(2026, 10, 2, 9, 0))
    assert _final_due(report) == shanghai(2026, 10, 22, 9, 0)
    # A rule taken out of force starts no clock
    reporting_rule_update(actor=quality_manager, instance=rule, data={"active": False})
    other = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    other = _submitted(other, quality_staff, shanghai(2026, 10, 2, 9, 0))
    assert other.final_due_at is None


def test_the_evaluation_clock_is_on_the_page_the_list_and_the_api(
    client, api, device, quality_staff
):
    report = report_at(AWARE, actor=quality_staff, device=device, market="CN", outcome="death")
    report = _submitted(report, quality_staff, shanghai(2026, 10, 2, 9, 0))
    client.force_login(quality_staff)
    with freeze_time(shanghai(2026, 10, 30, 9, 0)):
        page = client.get(f"/quality/adverse-event-reports/{report.pk}/").content.decode()
        listed = client.get("/quality/adverse-event-reports/").content.decode()
        answer = api.as_user(quality_staff).get(f"/api/v1/adverse-event-reports/{report.pk}/")
    assert 'id="ae-final-clock"' in page
    assert "Due 2026-11-01 09:00 · 2d 0h 0m left" in page and "countdown-warning" in page
    assert "Final report due 2026-11-01 09:00 · 2d 0h 0m" in listed
    assert (answer.json()["final_rule"], answer.json()["final_due_at"],
            answer.json()["final_submitted_at"]) == (
        "CN-AE-5-death", "2026-11-01T09:00:00+08:00", None,
    )  # fmt: skip
    # Once the final report is submitted every report of the chain shows it as done
    final = report_continue(actor=quality_staff, report=report, kind="final")
    _submitted(final, quality_staff, shanghai(2026, 10, 31, 8, 0))
    page = client.get(f"/quality/adverse-event-reports/{final.pk}/").content.decode()
    assert 'id="ae-final-clock"' in page and "Submitted 2026-10-31 08:00" in page
    assert 'id="ae-final-countdown"' not in page


def test_a_control_character_typed_into_the_report_does_not_break_the_xlsx(
    api, filled_report, quality_staff
):
    from openpyxl import load_workbook

    # Given a description pasted with a control character (as the API fuzzer found)
    type(filled_report).objects.filter(pk=filled_report.pk).update(
        harm_description="心率\x01报警未响"
    )
    # When the sheet is downloaded, then it opens and keeps the text without the character
    response = api.as_user(quality_staff).get(
        f"/api/v1/adverse-event-reports/{filled_report.pk}/xlsx/"
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert "心率报警未响" in [row[1] for row in sheet.iter_rows(values_only=True)]
