"""Investigation and decision of quality cases: the supplier notice on every case with its
reminders until acknowledged, the quality manager's signed decision (who may, the password, only
once), the outcomes whose effects are this area's own (no defect, use error, adverse event not
reportable), the batch and evidence holds, and the feedback owed to the regulator. The outcomes
that set off other areas' records are in test_decision_links.py."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    SignatureError,
)
from medservice.core.models import Notification
from medservice.core.signatures import signatures_of
from medservice.installed_base.choices import HoldKind
from medservice.installed_base.models import Hold
from medservice.installed_base.services import HeldError, hold_active_for, hold_release
from medservice.quality.choices import NoticeReason, NoticeRecipient
from medservice.quality.decisions import (
    case_decide,
    duty_for,
    investigation_record,
    notice_acknowledge,
    notice_reminders_sweep,
    notice_send,
    notices_for_decision,
    regulator_feedback_due,
)
from medservice.quality.models import CaseDecision, QualityCase, SupplierNotice
from medservice.tickets.services import ticket_register
from medservice.work_orders.services import work_order_create
from tests.factories import PASSWORD, ContactFactory, OrganizationFactory, user_with_role
from tests.quality.factories_decisions import REPAIR_CLAUSE, case_of, product, unit

pytestmark = pytest.mark.django_db
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NOW = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _role(settings):
    settings.QUALITY_REGULATORY_ROLE = "distributor"
    settings.QUALITY_NOTICE_REMINDER_DAYS = 2
    settings.QUALITY_NOTICE_RESPONSE_DAYS = 7


@pytest.fixture
def staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="qa", first_name="", last_name="")


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="qm", first_name="质量",
                          last_name="负责人")  # fmt: skip


@pytest.fixture
def setup(db):
    return product()


@pytest.fixture
def device(setup, hospital_a):
    return unit(setup, hospital_a, serial_number="KM8-0001")


@pytest.fixture
def case(staff, device):
    with freeze_time(NOW):
        return case_of(staff, device)


def decide(case, actor, **fields):
    fields.setdefault("rationale", "复测血氧模块在规格内，读数跳变由探头佩戴不当引起")
    fields.setdefault("markets", ["CN"])
    return case_decide(actor=actor, case=case, password=fields.pop("password", PASSWORD), **fields)


# --- supplier notices ----------------------------------------------------------------------------


def test_every_case_prepares_a_notice_to_its_supplier_with_the_repair_clause(case, setup):
    # Given a case recorded by quality staff about a unit the supplier supplied
    # Then one notice to that supplier waits to be sent, carrying the agreement's repair clause
    notice = SupplierNotice.objects.get(case=case)
    assert (notice.recipient_kind, notice.supplier, notice.reason, notice.status) == (
        "supplier", setup["supplier"], "case_opened", "draft",
    )  # fmt: skip
    assert (notice.quality_agreement_reference, notice.repairs_under_agreement) == (
        "QA-2025-017", True,
    )  # fmt: skip
    assert notice.repair_clause == REPAIR_CLAUSE
    assert notice.number.startswith("SN-")
    assert case.number in notice.subject


def test_a_case_from_a_quality_flagged_request_notifies_the_supplier_too(
    agent, hospital_a, device, setup, django_capture_on_commit_callbacks
):
    # Given a quality complaint registered at the desk about the unit
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_register(
            actor=agent,
            data={"kind": "quality_complaint", "channel": "phone", "organization": hospital_a,
                  "device": device, "reporter_name": "王护士", "reporter_phone": "13800001111",
                  "subject": "读数异常", "description": "血氧读数跳变"},
            quality={"stop_use_advised": True},
        )  # fmt: skip
    # Then its case has the supplier notice
    case = QualityCase.objects.get(ticket=ticket)
    assert list(case.supplier_notices.values_list("supplier", "reason")) == [
        (setup["supplier"].pk, "case_opened")
    ]


def test_a_case_without_a_known_supplier_still_gets_its_notice_and_sending_asks_for_one(staff):
    # Given a case with no product identified
    from medservice.quality.services import case_create

    case = case_create(actor=staff, data={"description": "来信投诉：试纸读数偏高"})
    notice = SupplierNotice.objects.get(case=case)
    assert (notice.supplier, notice.status) == (None, "draft")
    # When staff try to send it without naming the supplier
    with pytest.raises(InvalidInputError) as refused:
        notice_send(actor=staff, notice=notice, channel="phone", sent_to="李经理")
    # Then the supplier field is named and nothing changed
    assert list(refused.value.fields) == ["supplier"]
    notice.refresh_from_db()
    assert notice.status == "draft"


def test_reminders_go_once_per_period_until_the_notice_is_acknowledged(
    case, staff, django_capture_on_commit_callbacks, mailoutbox
):
    notice = case.supplier_notices.get()
    # Given the notice e-mailed to the supplier
    with freeze_time(NOW), django_capture_on_commit_callbacks(execute=True):
        notice = notice_send(actor=staff, notice=notice, channel="email")
    assert (notice.status, notice.sent_to, notice.response_due_on) == (
        "sent", "quality@supplier.example.cn", datetime.date(2026, 12, 4),
    )  # fmt: skip

    def to_supplier():
        return [item for item in mailoutbox if item.to == ["quality@supplier.example.cn"]]

    assert len(to_supplier()) == 1
    assert REPAIR_CLAUSE in to_supplier()[0].body
    # When the job runs before a period has passed: nothing
    assert notice_reminders_sweep(now=NOW + datetime.timedelta(days=1)) == 0
    # After two days: one reminder; the job run again at once: none
    with django_capture_on_commit_callbacks(execute=True):
        assert notice_reminders_sweep(now=NOW + datetime.timedelta(days=2)) == 1
        assert notice_reminders_sweep(now=NOW + datetime.timedelta(days=2, minutes=5)) == 0
    assert len(to_supplier()) == 2
    # (in the notice language, Chinese by default, like the notice itself)
    assert to_supplier()[1].subject == f"提醒：{notice.subject}"
    # Two days later still unacknowledged: the second reminder
    assert notice_reminders_sweep(now=NOW + datetime.timedelta(days=4)) == 1
    notice.refresh_from_db()
    assert notice.reminder_count == 2
    reminders = Notification.objects.filter(recipient=staff, subject__contains=notice.number)
    assert reminders.count() == 2
    # Once acknowledged: no more reminders
    with freeze_time(NOW + datetime.timedelta(days=4, hours=1)):
        notice_acknowledge(actor=staff, notice=notice, acknowledged_by_name="李经理")
    assert notice_reminders_sweep(now=NOW + datetime.timedelta(days=10)) == 0


def test_notice_actions_through_the_api(api, case, staff, auditor):
    notice = case.supplier_notices.get()
    url = f"/api/v1/supplier-notices/{notice.pk}"
    # An auditor reads but may not act
    assert api.as_user(auditor).get(f"{url}/").json()["repair_clause"] == REPAIR_CLAUSE
    assert api.as_user(auditor).post(f"{url}/send/", {"channel": "phone"}).status_code == 403
    client = api.as_user(staff)
    # Acknowledging before sending is the wrong state
    response = client.post(f"{url}/acknowledge/", {"acknowledged_by_name": "李经理"})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "invalid_transition")
    response = client.post(f"{url}/send/", {"channel": "fax", "sent_to": "021-55550001",
                                             "response_due_on": "2026-12-31"}, format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["channel"]) == ("sent", "fax")
    response = client.post(f"{url}/respond/", {"response": ""}, format="json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["response"])
    response = client.post(
        f"{url}/respond/", {"response": "供货方将免费更换血氧模块"}, format="json"
    )
    assert response.json()["status"] == "responded"
    assert response.json()["acknowledged_at"] is not None


def test_notices_are_internal_records(api, case, customer_a, distributor_engineer):
    notice = case.supplier_notices.get()
    for outsider in (customer_a, distributor_engineer):
        response = api.as_user(outsider).get(f"/api/v1/supplier-notices/{notice.pk}/")
        assert response.status_code in (403, 404)


def test_a_product_defect_prepares_notices_to_supplier_and_manufacturer(
    case, quality_manager, setup
):
    # Given a decision (the notice helper the product-defect path calls)
    decision = CaseDecision(case=case, outcome="product_defect", rationale="血氧模块批次缺陷")
    notices = notices_for_decision(
        decision, actor=quality_manager, reason=NoticeReason.PRODUCT_DEFECT
    )
    assert [(item.recipient_kind, item.recipient) for item in notices] == [
        (NoticeRecipient.SUPPLIER, setup["supplier"]),
        (NoticeRecipient.MANUFACTURER, setup["manufacturer"]),
    ]
    assert all(item.reason == "product_defect" and item.status == "draft" for item in notices)


# --- the decision --------------------------------------------------------------------------------


def test_only_the_quality_manager_decides(api, case, staff):
    response = api.as_user(staff).post(
        f"/api/v1/quality-cases/{case.pk}/decide/",
        {"outcome": "use_error", "rationale": "x", "advice": "y", "markets": ["CN"],
         "password": PASSWORD}, format="json",
    )  # fmt: skip
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")
    case.refresh_from_db()
    assert case.status == "open"
    assert not CaseDecision.objects.exists()


def test_a_wrong_password_signs_nothing_and_decides_nothing(api, case, quality_manager):
    response = api.as_user(quality_manager).post(
        f"/api/v1/quality-cases/{case.pk}/decide/",
        {"outcome": "use_error", "rationale": "佩戴不当", "advice": "指导正确佩戴探头",
         "markets": ["CN"], "password": "wrong"}, format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["password"]
    case.refresh_from_db()
    assert case.status == "open"
    assert not CaseDecision.objects.exists()


def test_a_case_is_decided_once(api, case, quality_manager):
    body = {"outcome": "use_error", "rationale": "佩戴不当", "advice": "指导正确佩戴探头",
            "markets": ["CN"], "password": PASSWORD}  # fmt: skip
    client = api.as_user(quality_manager)
    first = client.post(f"/api/v1/quality-cases/{case.pk}/decide/", body, format="json")
    assert first.status_code == 201, first.json()
    second = client.post(f"/api/v1/quality-cases/{case.pk}/decide/", body, format="json")
    assert (second.status_code, second.json()["error"]["code"]) == (409, "invalid_transition")
    assert CaseDecision.objects.count() == 1


def test_use_error_needs_the_advice_and_is_signed_with_name_time_and_meaning(case, quality_manager):
    with pytest.raises(InvalidInputError) as refused:
        decide(case, quality_manager, outcome="use_error", advice=" ")
    assert list(refused.value.fields) == ["advice"]
    with freeze_time(NOW + datetime.timedelta(days=2)):
        decision = decide(case, quality_manager, outcome="use_error",
                          advice="指导正确佩戴探头，必要时咨询临床医师")  # fmt: skip
    case.refresh_from_db()
    assert (case.status, decision.advice, decision.decided_by) == (
        "decided", "指导正确佩戴探头，必要时咨询临床医师", quality_manager,
    )  # fmt: skip
    [signature] = signatures_of(decision)
    assert (signature.printed_name, signature.signed_at, signature.meaning) == (
        quality_manager.get_full_name(), NOW + datetime.timedelta(days=2),
        f"Quality decision on case {case.number}: Use error or individual difference",
    )  # fmt: skip
    # The batch hold stays: only "no defect" releases it with the decision.
    assert hold_active_for(device_model=case.device_model, batch_number="B2603") is not None


def test_an_adverse_event_not_reportable_records_the_rationale_harm_and_markets(
    case, quality_manager
):
    with pytest.raises(InvalidInputError) as refused:
        decide(case, quality_manager, outcome="ae_not_reportable", rationale="", markets=[])
    assert sorted(refused.value.fields) == ["harm", "markets", "rationale"]
    with pytest.raises(InvalidInputError) as refused:
        decide(case, quality_manager, outcome="ae_not_reportable", harm="other",
               markets=["CN"], reportable_markets=["CN"])  # fmt: skip
    assert list(refused.value.fields) == ["reportable_markets"]
    decision = decide(case, quality_manager, outcome="ae_not_reportable", harm="other",
                      rationale="轻微皮肤发红，已缓解，不属于严重伤害", markets=["CN", "EU"])  # fmt: skip
    assert [(row.market, row.reportable, row.duty) for row in decision.markets.all()] == [
        ("CN", False, ""), ("EU", False, ""),
    ]  # fmt: skip
    assert (decision.harm, decision.regulatory_role) == ("other", "distributor")


def test_reportability_follows_the_companys_role_and_market():
    # A distributor in China reports to the monitoring system and tells the registrant
    assert duty_for("distributor", "CN").to_authority is True
    assert duty_for("distributor", "CN").inform == "registrant"
    # ...and abroad it tells the manufacturer, who reports
    assert (duty_for("distributor", "US").to_authority, duty_for("distributor", "US").inform) == (
        False, "manufacturer",
    )  # fmt: skip
    # The registrant reports in every market under the market's rules
    assert duty_for("registrant", "US").rules == ("US-MDR-1", "US-MDR-2")
    assert duty_for("registrant", "EU").rules == ("EU-V-1", "EU-V-2", "EU-V-3")
    # A US user facility reports under US-MDR-3
    assert duty_for("user", "US").rules == ("US-MDR-3",)


def test_reportable_markets_must_be_markets_where_the_product_is_sold(case, quality_manager):
    with pytest.raises(InvalidInputError) as refused:
        decide(case, quality_manager, outcome="reportable_ae", harm="serious_injury",
               markets=["CN"], reportable_markets=["US"])  # fmt: skip
    assert list(refused.value.fields) == ["reportable_markets"]
    assert not CaseDecision.objects.exists()


def test_no_defect_releases_the_batch_and_tells_the_complainant_and_holders(
    agent, hospital_a, hospital_b, setup, quality_manager, django_capture_on_commit_callbacks
):
    from medservice.core.messaging import LoggingMessageBackend
    from medservice.tickets.models import TimelineEntry

    device = unit(setup, hospital_a, serial_number="KM8-0002")
    unit(setup, hospital_b, serial_number="KM8-0003")
    elsewhere = OrganizationFactory(name="妇幼保健院")
    unit(setup, elsewhere, serial_number="KM8-0004", batch_number="B2604")
    ContactFactory(organization=elsewhere, name="孙主任", email="sun@c.example.cn")
    ContactFactory(organization=hospital_b, name="赵科长", email="zhao@b.example.cn",
                            mobile="13900002222", phone="", language="zh-hans")  # fmt: skip
    complainant = ContactFactory(organization=hospital_a, name="王护士", email="wang@a.example.cn",
                                 phone="13800001111", language="en")  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_register(
            actor=agent,
            data={"kind": "quality_complaint", "channel": "phone", "organization": hospital_a,
                  "device": device, "contact": complainant, "subject": "读数异常",
                  "description": "血氧读数跳变"},
            quality={"stop_use_advised": True},
        )  # fmt: skip
    case = QualityCase.objects.get(ticket=ticket)
    assert hold_active_for(device_model=setup["model"], batch_number="B2603") is not None
    LoggingMessageBackend.sent.clear()
    # When the quality manager decides no defect was found
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        decide(case, quality_manager, outcome="no_defect")
    # Then the batch is free again, with the reason on the hold
    assert hold_active_for(device_model=setup["model"], batch_number="B2603") is None
    released = Hold.objects.get(source=case.number)
    assert released.release_reason == f"Quality case {case.number} decided: no defect found."
    # and the complainant and the other holder of the batch are told, each by e-mail and text
    messages = list(case.customer_messages.order_by("pk"))
    assert [(item.complainant, item.channel, item.address) for item in messages] == [
        (True, "email", "wang@a.example.cn"), (True, "sms", "13800001111"),
        (False, "email", "zhao@b.example.cn"), (False, "sms", "13900002222"),
    ]  # fmt: skip
    assert "you may resume using it" in messages[0].text
    assert [item["to"] for item in LoggingMessageBackend.sent] == ["13800001111", "13900002222"]
    assert len(callbacks) >= 2
    # the holder of another batch is not
    assert not case.customer_messages.filter(organization=elsewhere).exists()
    # and the request's timeline shows the message to the customer
    assert TimelineEntry.objects.filter(
        ticket=ticket, kind="message", customer_visible=True, text=messages[0].text
    ).exists()


def test_a_decided_cases_hold_is_released_by_the_quality_manager_only(
    api, case, staff, quality_manager
):
    url = f"/api/v1/quality-cases/{case.pk}/release-hold/"
    # Not while the case is open
    response = api.as_user(quality_manager).post(url, {"reason": "复核完成"}, format="json")
    assert response.status_code == 409
    decide(case, quality_manager, outcome="use_error", advice="指导正确佩戴探头")
    # Quality staff may not
    response = api.as_user(staff).post(url, {"reason": "复核完成"}, format="json")
    assert response.status_code == 403
    # A reason is required
    response = api.as_user(quality_manager).post(url, {"reason": ""}, format="json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["reason"])
    response = api.as_user(quality_manager).post(
        url, {"reason": "复核完成，批次可放行"}, format="json"
    )
    assert response.status_code == 200
    assert hold_active_for(device_model=case.device_model, batch_number="B2603") is None


def test_a_released_batch_stays_held_while_another_case_on_it_is_open(
    staff, quality_manager, setup, hospital_a, hospital_b
):
    first = case_of(staff, unit(setup, hospital_a, serial_number="KM8-0010"))
    second = case_of(staff, unit(setup, hospital_b, serial_number="KM8-0011"))
    decide(first, quality_manager, outcome="no_defect")
    hold = hold_active_for(device_model=setup["model"], batch_number="B2603")
    assert hold is not None
    assert hold.source == second.number


# --- investigation -------------------------------------------------------------------------------


def test_investigation_steps_are_recorded_and_the_case_moves_to_investigation(
    api, case, staff, auditor
):
    url = f"/api/v1/quality-cases/{case.pk}/investigate/"
    response = api.as_user(staff).post(url, {"kind": "test", "performed_on": "2026-11-20",
                                             "activity": "复测", "findings": ""}, format="json")  # fmt: skip
    assert (response.status_code, sorted(response.json()["error"]["fields"])) == (400, ["findings"])
    # Before the company was aware of the complaint: refused, naming the day
    response = api.as_user(staff).post(url, {"kind": "test", "performed_on": "2026-11-20",
                                             "activity": "复测", "findings": "x"}, format="json")  # fmt: skip
    assert (response.status_code, list(response.json()["error"]["fields"])) == (
        400, ["performed_on"],
    )  # fmt: skip
    with freeze_time(NOW + datetime.timedelta(days=1)):
        response = api.as_user(staff).post(url, {
            "kind": "test", "performed_on": "2026-11-28", "activity": "留样复测血氧模块",
            "findings": "精度在±2%以内"}, format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    assert (response.json()["findings"], response.json()["performed_by"]) == (
        "精度在±2%以内", staff.pk,
    )  # fmt: skip
    case.refresh_from_db()
    assert case.status == "investigating"
    assert api.as_user(auditor).post(url, {}, format="json").status_code == 403


def test_a_decided_case_takes_no_more_investigation_steps(case, staff, quality_manager):
    decide(case, quality_manager, outcome="use_error", advice="指导正确佩戴探头")
    with pytest.raises(InvalidTransitionError):
        investigation_record(actor=staff, case=case, kind="test",
                             performed_on=datetime.date.today(), activity="复测", findings="正常")  # fmt: skip


# --- the evidence hold ---------------------------------------------------------------------------


@pytest.fixture
def serious_case(staff, device):
    with freeze_time(NOW):
        return case_of(staff, device, injury=True, patient_involved=True)


def test_a_serious_incident_keeps_its_device_as_evidence(serious_case, device, company):
    hold = Hold.objects.get(device=device, kind=HoldKind.EVIDENCE)
    assert (hold.source, hold.released_at) == (serious_case.number, None)
    # A repair (which would alter the device) is refused
    manager = user_with_role(Role.SERVICE_MANAGER, company, username="sm")
    with pytest.raises(HeldError):
        work_order_create(actor=manager, kind="repair", device=device, problem="更换血氧模块")


def test_only_the_quality_manager_releases_an_evidence_hold(
    api, serious_case, device, staff, quality_manager
):
    url = f"/api/v1/quality-cases/{serious_case.pk}/release-evidence-hold/"
    hold = Hold.objects.get(device=device, kind=HoldKind.EVIDENCE)
    # Quality staff may not, neither here nor through the installed base's holds
    assert api.as_user(staff).post(url, {"reason": "已上报"}, format="json").status_code == 403
    with pytest.raises(PermissionDenied):
        hold_release(actor=staff, hold=hold, reason="已上报")
    # The quality manager does, with a reason
    response = api.as_user(quality_manager).post(url, {"reason": "已向监管部门报告，同意检修"},
                                                 format="json")  # fmt: skip
    assert response.status_code == 200
    hold.refresh_from_db()
    assert (hold.released_by, hold.release_reason) == (
        quality_manager,
        "已向监管部门报告，同意检修",
    )
    # A second release finds nothing to release
    assert api.as_user(quality_manager).post(url, {"reason": "x"}, format="json").status_code == 409


def test_staff_keep_a_returned_device_as_evidence(case, staff, device):
    from medservice.quality.decisions import evidence_hold_place

    assert not Hold.objects.filter(device=device, kind=HoldKind.EVIDENCE).exists()
    with pytest.raises(InvalidInputError):
        evidence_hold_place(actor=staff, case=case, reason="")
    evidence_hold_place(actor=staff, case=case, reason="设备已退回，保全待检")
    assert Hold.objects.get(device=device, kind=HoldKind.EVIDENCE).reason == "设备已退回，保全待检"


def test_nobody_but_the_quality_manager_decides_even_in_the_service(case, staff):
    with pytest.raises(PermissionDeniedError):
        decide(case, staff, outcome="use_error", advice="x")
    with pytest.raises(SignatureError):
        decide(case, None, outcome="use_error", advice="x")


# --- the regulator -------------------------------------------------------------------------------


def test_feedback_to_the_regulator_is_due_until_recorded(
    api, client, agent, hospital_a, staff, django_capture_on_commit_callbacks
):
    with freeze_time(NOW), django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_register(
            actor=agent,
            data={"kind": "quality_complaint", "channel": "regulator", "organization": hospital_a,
                  "reporter_name": "市药监局 陈科员", "reporter_phone": "12315",
                  "subject": "监督电话转办", "description": "群众反映血糖仪读数偏高"},
        )  # fmt: skip
    case = QualityCase.objects.get(ticket=ticket)
    assert regulator_feedback_due(case) is True
    client.force_login(staff)
    page = client.get(f"/quality/quality-cases/{case.pk}/")
    assert 'id="feedback-due"' in page.content.decode()
    url = f"/api/v1/quality-cases/{case.pk}/regulator-feedback/"
    response = api.as_user(staff).post(url, {"given_to": "", "channel": "phone", "content": ""},
                                       format="json")  # fmt: skip
    assert (response.status_code, sorted(response.json()["error"]["fields"])) == (
        400, ["content", "given_to"],
    )  # fmt: skip
    with freeze_time(NOW + datetime.timedelta(days=3)):
        response = api.as_user(staff).post(url, {
            "given_to": "市药监局 陈科员", "channel": "phone",
            "content": "已联系投诉人，产品复测合格，已指导正确使用"}, format="json")  # fmt: skip
    assert response.status_code == 201
    assert response.json()["given_at"].startswith("2026-11-30T09:00")
    assert regulator_feedback_due(case) is False
    page = client.get(f"/quality/quality-cases/{case.pk}/")
    assert 'id="feedback-due"' not in page.content.decode()
    assert "已指导正确使用" in page.content.decode()


def test_a_case_from_the_phone_owes_the_regulator_nothing(case):
    assert regulator_feedback_due(case) is False
