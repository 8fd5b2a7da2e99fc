"""A quality complaint from a phone call to an adverse-event report in Chromium, in Chinese
(issue 8's journey): the service agent registers the call as a quality complaint about a known
monitor that injured a patient, with the complainant's details and the advice to stop using the
batch; the quality case opens by itself. The quality manager, on a desktop, records the contact
with the complainant and an investigation step, decides "reportable adverse event, serious
injury" for China and signs with the password; the report the decision opened is reached from the
case page's tab and its PDF carries the form's Chinese labels with the case's values. No script,
CSP or HTTP error on the way."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from medservice.accounts.choices import Role
from medservice.quality.adverse_events import reporting_rules_seed
from medservice.quality.models import AdverseEventReport, QualityCase
from medservice.tickets.models import Ticket
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, OrganizationFactory, user_with_role
from tests.quality.factories_decisions import product, unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
SERIAL = "KM8-2603-00017"
BATCH = "B2603"
CALLER_PHONE = "13761234567"
COMPLAINANT = "周敏"
WORKPLACE = "市第一人民医院重症医学科"
ADDRESS = "上海市徐汇区宛平南路600号"
DESCRIPTION = "ICU 5 床监护仪血氧探头发烫，患者手指烫伤。"
SYMPTOMS = "患者左手食指二度烫伤，起水疱"
RATIONALE = "探头过热导致患者二度烫伤，属严重伤害，须在中国上报。"


def fact(page: Page, label: str):
    """The value shown beside a label on a record page (its <dt>/<dd> pair)."""
    return page.locator("dl.row dt", has_text=label).locator("xpath=following-sibling::dd[1]")


def send(page: Page, action: str, fields: dict[str, str], check: tuple[str, ...] = ()) -> None:
    """Open one of the case page's action forms, fill it (lists chosen by value, boxes ticked
    by name=value) and send it; the case page comes back."""
    page.locator(f'summary[data-action="{action}"]').click()
    form = page.locator(f'form[action$="/{action}/"]')
    expect(form).to_be_visible()
    for name, value in fields.items():
        field = form.locator(f'[name="{name}"]')
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    for box in check:
        name, value = box.split("=")
        form.locator(f'input[name="{name}"][value="{value}"]').check()
    with page.expect_navigation():
        form.locator('button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/quality/quality-cases/\d+/$"))


def test_a_phone_complaint_becomes_a_reportable_serious_injury_and_its_pdf_reads_in_chinese(
    live_server, page: Page, page_errors, company
):
    reporting_rules_seed()  # the seeded rules are flushed with the data of earlier tests
    hospital = OrganizationFactory(name="市第一人民医院")
    setup = product()
    monitor = unit(setup, hospital, serial_number=SERIAL, batch_number=BATCH)
    model = setup["model"]
    user_with_role(Role.SERVICE_AGENT, company, username="agent_zh", language="zh-hans")
    user_with_role(
        Role.QUALITY_MANAGER, company, username="qm_zh", language="zh-hans",
        last_name="陈", first_name="静",
    )  # fmt: skip
    received = timezone.localtime().replace(second=0, microsecond=0) - datetime.timedelta(
        minutes=40
    )

    # --- the service agent takes the call ---------------------------------------------------
    log_in(page, "agent_zh", PASSWORD)
    page.goto("/tickets/register/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator("#id_serial_reported").press_sequentially(SERIAL)
    device = page.locator('#lookup-devices [data-pick="device"]')
    expect(device).to_have_count(1)
    expect(device).to_contain_text("多参数病人监护仪")
    device.click()
    expect(page.locator('input[name="device"]')).to_have_value(str(monitor.pk))
    expect(page.locator('input[name="organization"]')).to_have_value(str(hospital.pk))
    page.locator("#id_reporter_phone").fill(CALLER_PHONE)
    page.locator("#id_reporter_name").fill(COMPLAINANT)

    quality = page.locator("#quality-intake")
    expect(quality).not_to_have_attribute("open", "")
    page.locator("#id_kind").select_option("quality_complaint")
    expect(quality).to_have_attribute("open", "")
    expect(quality.locator("summary")).to_contain_text("质量投诉问询项")
    page.locator("#id_received_at").fill(received.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#id_description").fill(DESCRIPTION)
    page.locator("#id_patient_involved").check()
    page.locator("#id_injury").check()

    stop_use = page.locator("#id_quality-stop_use_advised")
    expect(page.locator("#stop-use")).to_contain_text("已告知暂停使用")
    stop_use.check()
    page.locator("#id_quality-complainant_sex").select_option("female")
    page.locator("#id_quality-complainant_age").fill("36")
    page.locator("#id_quality-complainant_workplace").fill(WORKPLACE)
    page.locator("#id_quality-complainant_address").fill(ADDRESS)
    page.locator("#id_quality-device_used").select_option("true")
    page.locator("#id_quality-symptoms").fill(SYMPTOMS)
    page.locator("#id_quality-manufacturer_reported").fill("深圳康美医疗电子有限公司")
    page.locator("#id_quality-batch_or_serial").fill(BATCH)
    with page.expect_navigation():
        page.locator("#register-submit").click()
    expect(page).to_have_url(re.compile(r"/tickets/tickets/\d+/$"))
    expect(page.locator(".alert-success")).to_be_visible()

    # The quality case opened from the flagged request, with the desk's intake.
    ticket = Ticket.objects.get()
    expect(page.locator(".alert-success")).to_contain_text(ticket.number)
    case = QualityCase.objects.get(ticket=ticket)
    assert (case.device_id, case.batch_number, case.complainant_name) == (
        monitor.pk, BATCH, COMPLAINANT,
    )  # fmt: skip
    assert case.stop_use_advised
    assert timezone.localtime(case.stop_use_advised_at) == received

    # --- the quality manager, at a desktop ------------------------------------------------------
    page.context.clear_cookies()
    page.set_viewport_size(DESKTOP)
    log_in(page, "qm_zh", PASSWORD)
    page.goto(f"/quality/quality-cases/{case.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_have_text(case.number)

    # The stop-use advice taken at intake is on the case, with the time it was given.
    told_at = received.strftime("%Y-%m-%d %H:%M")
    expect(fact(page, "已告知暂停使用")).to_have_text("是")
    expect(fact(page, "告知时间")).to_have_text(told_at)
    expect(fact(page, "身体不适或不良反应")).to_have_text(SYMPTOMS)
    expect(fact(page, "投诉人性别")).to_have_text("女")
    expect(page.locator("#complainant")).to_contain_text(COMPLAINANT)
    expect(page.locator("#complainant")).to_contain_text(CALLER_PHONE)
    expect(page.locator("#complainant")).to_contain_text(WORKPLACE)
    expect(page.locator('#case-holds li:has([data-hold="batch"])')).to_contain_text(BATCH)

    # The contact with the complainant (SOP-3), then a step of the investigation.
    send(page, "contact", {"note": "已电话回访周护士，确认患者已处理烫伤，设备已停用封存。"})
    expect(page.locator(".alert-success")).to_contain_text("已记录联系。")
    expect(page.locator("#case-status")).to_contain_text("已联系投诉人")
    send(page, "investigate", {
        "kind": "inspection", "performed_on": timezone.localdate().isoformat(),
        "activity": "检查退回的血氧探头", "findings": "探头加热元件短路，表面温度达 52℃",
    })  # fmt: skip
    expect(page.locator(".alert-success")).to_contain_text("调查步骤已记录。")
    expect(page.locator("#investigation table")).to_contain_text("探头加热元件短路")

    # The decision, signed with the password: reportable in China, a serious injury.
    send(
        page, "decide",
        {"outcome": "reportable_ae", "harm": "serious_injury", "rationale": RATIONALE,
         "password": PASSWORD},
        check=("markets=CN", "reportable_markets=CN"),
    )  # fmt: skip
    expect(page.locator(".alert-success")).to_contain_text("判定已签署。")
    decision = page.locator("#decision")
    expect(decision.locator('[data-outcome="reportable_ae"]')).to_have_text("需上报的不良事件")
    expect(decision).to_contain_text("严重伤害")
    expect(decision).to_contain_text(RATIONALE)
    expect(decision.locator("[data-signature]")).to_contain_text("陈静")

    # The report the decision opened, from the case page's tab.
    report = AdverseEventReport.objects.get(quality_case=case)
    tab = page.locator("button.nav-link", has_text="可疑医疗器械不良事件报告")
    tab.click()
    pane = page.locator(tab.get_attribute("data-bs-target"))
    expect(pane).to_be_visible()
    with page.expect_navigation():
        pane.get_by_role("link", name=report.number).click()
    expect(page).to_have_url(re.compile(rf"/quality/adverse-event-reports/{report.pk}/$"))
    expect(page.locator("#ae-countdown")).to_be_visible()

    with page.expect_download() as download_info:
        page.locator("#ae-pdf").click()
    download = download_info.value
    assert download.suggested_filename == f"{report.number}.pdf"
    content = download.path().read_bytes()
    text = "\n".join(item.extract_text() for item in PdfReader(io.BytesIO(content)).pages)
    flat = "".join(text.split())
    due = timezone.localtime(report.report_due_at).strftime("%Y-%m-%d%H:%M")
    for expected in (
        "可疑医疗器械不良事件报告表", f"报告编码{report.number}", "报告类型首次报告",
        "上报地区中国", "适用时限CN-AE-2", f"应报告时间{due}",
        "报告单位名称康达医疗器械有限公司", "联系人陈静", "发生地境内",
        "产品名称多参数病人监护仪", f"注册证编号{model.registration_number}",
        f"型号规格{model.model_spec}", "管理类别Ⅱ类", f"产品批号{BATCH}", f"产品编号{SERIAL}",
        f"事件发生日期{received.date().isoformat()}",
        f"发现或获知日期{told_at.replace(' ', '')}", "伤害严重伤害", "群体不良事件否",
        f"伤害表现{''.join(SYMPTOMS.split())}", f"器械故障表现{''.join(DESCRIPTION.split())}",
    ):  # fmt: skip
        assert expected in flat, expected
    assert page_errors == []
