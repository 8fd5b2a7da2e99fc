"""Stop-use notices and recalls: the clocks from the decision (CN-RC-1 notices by class in
calendar days; CN-RC-2 filing in working days across 调休), the signed decision and closure by
the quality manager only, the affected list from the trace, notices with proof (e-mail from the
outbox, SMS through a fake gateway, printed letter read back), acknowledgements within what was
delivered, device dispositions (one recall work order), progress, deadline warnings, reports,
retention, and who may see and do what."""

from __future__ import annotations

import datetime
import email
import io

import pytest
from django.core import mail
from freezegun import freeze_time
from openpyxl import load_workbook
from pypdf import PdfReader

from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    RetentionError,
    SignatureError,
)
from medservice.core.models import Notification, Signature
from medservice.core.retention import retention_check_delete
from medservice.installed_base.models import Hold
from medservice.quality.models import Recall, RecallDevice, RecallRecipient
from medservice.quality.recalls import (
    recall_acknowledge,
    recall_check_effectiveness,
    recall_close,
    recall_create,
    recall_deadline_sweep,
    recall_decide,
    recall_device_dispose,
    recall_due_times,
    recall_notice_send,
    recall_progress,
    recall_record_filing,
    recall_record_summary,
)
from medservice.work_orders.models import WorkOrder
from tests.factories import PASSWORD
from tests.quality.factories_recalls import (
    SHANGHAI,
    batch_2303,
    quality_manager_user,
    quality_staff_user,
)

pytestmark = pytest.mark.django_db


class FakeGateway:
    """The SMS gateway of the tests: records what it was asked to send."""

    sent: list[dict[str, str]] = []

    def send(self, *, to: str, text: str, channel: str = "sms") -> str:
        self.sent.append({"to": to, "text": text, "channel": channel})
        return f"gw-{len(self.sent)}"


@pytest.fixture
def batch(hospital_a, hospital_b):
    return batch_2303(hospital_a, hospital_b)


@pytest.fixture
def quality_staff(company):
    return quality_staff_user(company)


@pytest.fixture
def quality_manager(company):
    return quality_manager_user(company)


def at(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=SHANGHAI)


def prepare(actor, batch, **changes):
    data = {
        "kind": "recall", "recall_class": "II", "device_model": batch.monitor,
        "batch_number": "2303", "reason": "电源模块过热，可能导致停机",
        "instructions": "立即停止使用并隔离该批次设备，转告下游并回执。",
        "handling": "repair", "responsible_phone": "400-800-1234",
        **changes,
    }  # fmt: skip
    return recall_create(actor=actor, data=data)


@pytest.fixture
def draft(batch, quality_staff):
    return prepare(quality_staff, batch)


@pytest.fixture
def decided(draft, quality_manager):
    return recall_decide(actor=quality_manager, recall=draft, password=PASSWORD)


# --- The clocks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recall_class", "notify_due"),
    [
        ("I", at(2026, 3, 11, 10, 0)),
        ("II", at(2026, 3, 13, 10, 0)),
        ("III", at(2026, 3, 17, 10, 0)),
    ],
)
def test_notices_are_due_one_three_seven_calendar_days_after_the_decision_by_class(
    recall_class, notify_due
):
    # CN-RC-1: calendar days, at the decision's time of day.
    due = recall_due_times(at(2026, 3, 10, 10, 0), recall_class)
    assert due.notify_due_at == notify_due


@pytest.mark.parametrize(
    ("decided_at", "filing_due"),
    [
        # Thursday before the 2026 Spring Festival: Fri 13, Sat 14 (make-up working day),
        # then 15-23 February off, Tue 24, Wed 25, Thu 26.
        (at(2026, 2, 12, 10, 0), at(2026, 2, 26, 10, 0)),
        # Friday 27 February: Saturday 28 is a make-up working day and counts.
        (at(2026, 2, 27, 9, 0), at(2026, 3, 5, 9, 0)),
        # Before National Day: Wed 30 Sep, Thu 8, Fri 9, Sat 10 Oct (make-up), Mon 12 Oct.
        (at(2026, 9, 29, 15, 30), at(2026, 10, 12, 15, 30)),
        # An ordinary week.
        (at(2026, 3, 10, 10, 0), at(2026, 3, 17, 10, 0)),
    ],
)
def test_the_regulator_filing_is_due_five_working_days_after_the_decision_across_tiaoxiu(
    decided_at, filing_due
):
    # CN-RC-2 on the Chinese business calendar with its make-up working days (调休).
    due = recall_due_times(decided_at, "I")
    assert due.filing_due_at == filing_due
    assert due.unconfirmed_years == frozenset()


def test_the_decision_stores_its_due_times_and_freezes_the_affected_list(
    draft, quality_manager, batch
):
    # Given a draft recall of batch 2303 (class II)
    # When the quality manager decides it just before the Spring Festival
    with freeze_time(at(2026, 2, 12, 10, 0)):
        recall = recall_decide(actor=quality_manager, recall=draft, password=PASSWORD)
    # Then the clocks are stored, counted from the decision
    recall.refresh_from_db()
    assert (recall.status, recall.decided_at, recall.decided_by) == (
        "in_progress", at(2026, 2, 12, 10, 0), quality_manager,
    )  # fmt: skip
    assert recall.notify_due_at == at(2026, 2, 15, 10, 0)
    assert recall.filing_due_at == at(2026, 2, 26, 10, 0)
    # The affected list is the trace at decision time: two organisations, four devices
    recipients = [
        (r.organization.name, r.contact.name, r.quantity_delivered, r.devices_count)
        for r in RecallRecipient.objects.filter(recall=recall).order_by("organization__name")
    ]
    assert recipients == [("县中医院", "李科长", 2, 2), ("市第一人民医院", "王主任", 2, 2)]
    assert sorted(
        RecallDevice.objects.filter(recall=recall).values_list("device__serial_number", flat=True)
    ) == ["KM-0001", "KM-0002", "KM-0003", "KM-0004"]
    # The decision is signed by the quality manager and the batch is held
    signatures = Signature.objects.filter(object_id=str(recall.signoffs.get().pk))
    assert [(s.printed_name, s.meaning) for s in signatures] == [("张质量", "Recall decided")]
    hold = Hold.objects.get(source=recall.number)
    assert (hold.batch_number, hold.device_model_id, hold.released_at) == (
        "2303", batch.monitor.pk, None,
    )  # fmt: skip
    # Retained five years from the decision (R-DIST), and not deletable before
    assert recall.retain_until == datetime.date(2031, 2, 12)
    with pytest.raises(RetentionError):
        retention_check_delete(recall, today=datetime.date(2030, 1, 1))


def test_only_the_quality_manager_decides_and_a_wrong_password_changes_nothing(
    draft, quality_staff, quality_manager
):
    with pytest.raises(PermissionDeniedError):
        recall_decide(actor=quality_staff, recall=draft, password=PASSWORD)
    with pytest.raises(SignatureError) as refused:
        recall_decide(actor=quality_manager, recall=draft, password="wrong")
    assert list(refused.value.fields) == ["password"]
    draft.refresh_from_db()
    assert (draft.status, draft.decided_at, draft.recipients.count()) == ("draft", None, 0)
    assert not Hold.objects.filter(source=draft.number).exists()


def test_a_recall_needs_a_scope_and_its_facts_named_by_field(batch, quality_staff):
    with pytest.raises(InvalidInputError) as refused:
        recall_create(actor=quality_staff, data={"kind": "recall", "device_model": batch.monitor})
    assert sorted(refused.value.fields) == [
        "batch_number", "handling", "instructions", "reason", "recall_class",
        "responsible_phone",
    ]  # fmt: skip
    assert Recall.objects.count() == 0


# --- Acknowledgements, dispositions, progress ---------------------------------------------------


def test_an_acknowledgement_may_never_report_more_than_was_delivered(decided, quality_staff):
    recipient = decided.recipients.get(organization__name="市第一人民医院")
    # 1 held + 2 returned = 3 > 2 delivered: refused, naming the quantities given
    with pytest.raises(InvalidInputError) as refused:
        recall_acknowledge(
            actor=quality_staff, recipient=recipient, acknowledged_by_name="王主任",
            quantity_held=1, quantity_returned=2,
        )  # fmt: skip
    assert sorted(refused.value.fields) == ["quantity_held", "quantity_returned"]
    recipient.refresh_from_db()
    assert (recipient.acknowledged_at, recipient.quantity_held) == (None, 0)
    recipient = recall_acknowledge(
        actor=quality_staff, recipient=recipient, acknowledged_by_name="王主任",
        quantity_held=1, quantity_returned=1,
    )  # fmt: skip
    recipient.refresh_from_db()
    assert (recipient.acknowledged_by_name, recipient.quantity_held,
            recipient.quantity_returned, recipient.quantity_corrected) == ("王主任", 1, 1, 0)  # fmt: skip
    assert recipient.acknowledged_at is not None


def test_corrected_on_site_opens_exactly_one_recall_work_order(decided, quality_staff, api):
    entry = decided.devices.get(device__serial_number="KM-0001")
    # When the disposition is recorded, and recorded again (a resend)
    recall_device_dispose(actor=quality_staff, entry=entry, disposition="corrected_on_site")
    again = api.as_user(quality_staff).post(
        f"/api/v1/recalls/{decided.pk}/dispose/",
        {"device": entry.pk, "disposition": "corrected_on_site"}, format="json",
    )  # fmt: skip
    assert again.status_code == 200
    # Then one recall work order exists, on that device, from this recall
    orders = list(WorkOrder.objects.filter(device=entry.device))
    assert [(o.kind, o.source, o.source_reference) for o in orders] == [
        ("recall_action", "recall", decided.number)
    ]
    entry.refresh_from_db()
    assert (entry.disposition, entry.work_order_id) == ("corrected_on_site", orders[0].pk)
    assert again.json()["work_order"] == orders[0].number
    # Another device returned, a third not found: progress counts devices with a disposition
    for serial, disposition in (("KM-0002", "returned"), ("KM-0003", "not_found")):
        recall_device_dispose(
            actor=quality_staff, entry=decided.devices.get(device__serial_number=serial),
            disposition=disposition,
        )  # fmt: skip
    progress = recall_progress(decided)
    assert (progress.devices_done, progress.devices_total, str(progress.percent)) == (
        3, 4, "75.0",
    )  # fmt: skip
    assert progress.by_disposition == {"corrected_on_site": 1, "returned": 1, "not_found": 1}
    assert WorkOrder.objects.filter(kind="recall_action").count() == 1


# --- Notices ----------------------------------------------------------------------------------------


def test_an_email_notice_goes_out_with_the_letter_and_its_message_id_is_kept(
    decided, quality_staff, api
):
    recipient = decided.recipients.get(organization__name="市第一人民医院")
    mail.outbox.clear()
    # When quality staff send the notice by e-mail
    response = api.as_user(quality_staff).post(
        f"/api/v1/recalls/{decided.pk}/send-notice/",
        {"recipient": recipient.pk, "channel": "email"}, format="json",
    )  # fmt: skip
    # Then one message went to the contact, in Chinese (her language), with the letter attached
    assert response.status_code == 201
    assert len(mail.outbox) == 1
    parsed = email.message_from_bytes(mail.outbox[0].message().as_bytes())
    assert parsed["To"] == "wang@hospital-a.example"
    assert decided.number in str(email.header.make_header(email.header.decode_header(
        parsed["Subject"]
    )))  # fmt: skip
    parts = list(parsed.walk())
    text = next(p for p in parts if p.get_content_type() == "text/plain")
    body = text.get_payload(decode=True).decode(text.get_content_charset())
    assert "市第一人民医院" in body and "2303" in body and "立即停止使用" in body
    assert "400-800-1234" in body
    attachments = [p for p in parts if p.get_content_type() == "application/pdf"]
    assert len(attachments) == 1
    # And the proof is kept: time, channel, address and the message's own id
    notice = recipient.notices.get()
    assert (notice.channel, notice.sent_to, notice.message_id) == (
        "email", "wang@hospital-a.example", parsed["Message-ID"],
    )  # fmt: skip
    recipient.refresh_from_db()
    assert recipient.notified_at == notice.sent_at


def test_an_sms_notice_goes_through_the_gateway_and_keeps_its_id(decided, quality_staff, settings):
    settings.MEDSERVICE_SMS_BACKEND = "tests.quality.test_recalls.FakeGateway"
    FakeGateway.sent.clear()
    recipient = decided.recipients.get(organization__name="县中医院")
    notice = recall_notice_send(actor=quality_staff, recipient=recipient, channel="sms")
    assert [(item["to"], item["channel"]) for item in FakeGateway.sent] == [("13900002222", "sms")]
    assert decided.number in FakeGateway.sent[0]["text"]
    assert (notice.message_id, notice.sent_to) == ("gw-1", "13900002222")


def test_a_notice_without_an_address_is_refused_by_field(decided, quality_staff):
    recipient = decided.recipients.get(organization__name="县中医院")  # no e-mail address
    with pytest.raises(InvalidInputError) as refused:
        recall_notice_send(actor=quality_staff, recipient=recipient, channel="email")
    assert list(refused.value.fields) == ["sent_to"]
    assert recipient.notices.count() == 0


def test_a_printed_letter_is_kept_as_a_pdf_that_reads_back(decided, quality_staff):
    recipient = decided.recipients.get(organization__name="市第一人民医院")
    notice = recall_notice_send(actor=quality_staff, recipient=recipient, channel="letter")
    with notice.letter.open("rb") as stored:
        text = "".join(page.extract_text() for page in PdfReader(stored).pages)
    compact = "".join(text.split())
    assert decided.number in compact
    assert "市第一人民医院" in compact and "2303" in compact and "KD-M8000" in compact
    assert "400-800-1234" in compact


# --- Filing, effectiveness, closure ----------------------------------------------------------------


def test_closing_needs_the_filing_and_the_effectiveness_check_and_the_manager(
    decided, quality_staff, quality_manager
):
    with pytest.raises(InvalidTransitionError):
        recall_close(actor=quality_manager, recall=decided, password=PASSWORD)
    recall_record_filing(
        actor=quality_staff, recall=decided, filed_at=None, reference="沪召2026-018"
    )
    with pytest.raises(PermissionDeniedError):
        recall_check_effectiveness(
            actor=quality_staff, recall=decided, effective=True, note="全部回执"
        )
    recall_check_effectiveness(
        actor=quality_manager, recall=decided, effective=True, note="回访4家用户，全部已停用并整改"
    )
    # CN-RC-3: the summary report comes after the check and before the closure
    recall_record_summary(
        actor=quality_staff, recall=decided, submitted_at=None, reference="沪召总2026-018"
    )
    with pytest.raises(PermissionDeniedError):
        recall_close(actor=quality_staff, recall=decided, password=PASSWORD)
    recall = recall_close(actor=quality_manager, recall=decided, password=PASSWORD)
    recall.refresh_from_db()
    assert (recall.status, recall.filing_reference, recall.effectiveness_effective) == (
        "closed", "沪召2026-018", True,
    )  # fmt: skip
    assert [s.get_meaning_display() for s in recall.signoffs.order_by("pk")] == [
        "Recall decided", "Recall closed",
    ]  # fmt: skip
    assert all(s.signed_at is not None for s in recall.signoffs.all())
    # The batch hold the recall placed is released with it
    assert Hold.objects.get(source=recall.number).released_at is not None


# --- Deadline warnings ----------------------------------------------------------------------------


def test_deadline_warnings_come_once_at_75_percent_and_once_at_the_breach(
    draft, quality_manager, quality_staff
):
    draft.recall_class = "I"
    draft.save()
    with freeze_time(at(2026, 3, 10, 10, 0)):
        recall = recall_decide(actor=quality_manager, recall=draft, password=PASSWORD)
    # 17 hours in: nothing yet; 18 hours (75% of the class I day): warned, once
    assert recall_deadline_sweep(now=at(2026, 3, 11, 3, 0)) == {"warned": 0, "breached": 0}
    assert recall_deadline_sweep(now=at(2026, 3, 11, 4, 0)) == {"warned": 1, "breached": 0}
    assert recall_deadline_sweep(now=at(2026, 3, 11, 5, 0)) == {"warned": 0, "breached": 0}
    # Past the notice due time: breached, once
    assert recall_deadline_sweep(now=at(2026, 3, 11, 10, 1)) == {"warned": 0, "breached": 1}
    assert recall_deadline_sweep(now=at(2026, 3, 11, 10, 2)) == {"warned": 0, "breached": 0}
    subjects = list(
        Notification.objects.filter(recipient=quality_staff)
        .order_by("pk")
        .values_list("subject", flat=True)
    )
    assert subjects == [
        f"{recall.number}: recall notices are due soon",
        f"{recall.number}: recall notices are overdue",
    ]
    # The filing (due 17 March 10:00, seven days after) warns at 75% of its time (15 March
    # 16:00) and is quiet once recorded
    assert recall_deadline_sweep(now=at(2026, 3, 15, 15, 59)) == {"warned": 0, "breached": 0}
    assert recall_deadline_sweep(now=at(2026, 3, 15, 16, 0)) == {"warned": 1, "breached": 0}
    recall_record_filing(actor=quality_staff, recall=recall, filed_at=None, reference="F-1")
    assert recall_deadline_sweep(now=at(2026, 3, 18, 12, 0)) == {"warned": 0, "breached": 0}


# --- Reports --------------------------------------------------------------------------------------


def test_progress_and_summary_reports_as_pdf_and_xlsx(decided, quality_staff, client):
    recall_device_dispose(
        actor=quality_staff, entry=decided.devices.get(device__serial_number="KM-0002"),
        disposition="returned",
    )  # fmt: skip
    client.force_login(quality_staff)
    url = f"/quality/recalls/{decided.pk}/report/"
    pdf = client.get(url, {"kind": "progress", "export": "pdf"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(
        "".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert decided.number in text and "1of4devices" in text and "(25.0%)" in text
    xlsx = client.get(url, {"kind": "summary", "export": "xlsx"})
    workbook = load_workbook(io.BytesIO(xlsx.content))
    facts = dict(workbook["Recall"].iter_rows(values_only=True))
    assert (facts["Number"], facts["Progress %"], facts["Devices"]) == (decided.number, 25.0, 4)
    devices = list(workbook["Devices"].iter_rows(values_only=True))[1:]
    assert sorted((row[2], row[4]) for row in devices) == [
        ("KM-0001", "Open"), ("KM-0002", "Returned"), ("KM-0003", "Open"), ("KM-0004", "Open"),
    ]  # fmt: skip
    assert client.get(url, {"kind": "other"}).status_code == 400


# --- Permissions, API and pages -----------------------------------------------------------------


def test_customers_and_distributors_find_no_recall(api, client, decided, customer_a,
                                                   distributor_engineer):  # fmt: skip
    for outsider in (customer_a, distributor_engineer):
        assert api.as_user(outsider).get(f"/api/v1/recalls/{decided.pk}/").status_code == 404
        assert api.as_user(outsider).get("/api/v1/recalls/").status_code == 404
        client.force_login(outsider)
        assert client.get(f"/quality/recalls/{decided.pk}/").status_code == 404
        assert client.get(f"/quality/recalls/{decided.pk}/report/").status_code == 404


def test_the_api_runs_the_workflow_with_the_right_roles(api, batch, quality_staff, quality_manager):
    staff, manager = api.as_user(quality_staff), api.as_user(quality_manager)
    created = staff.post("/api/v1/recalls/", {
        "kind": "stop_use", "recall_class": "III", "device_model": batch.monitor.pk,
        "serial_from": "KM-0001", "serial_to": "KM-0002", "reason": "标签错误",
        "instructions": "暂停使用", "handling": "relabel", "responsible_phone": "400-800-1234",
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    recall_id = created.json()["id"]
    # Quality staff may not decide; the manager with a wrong password is refused; then decides
    refused = staff.post(f"/api/v1/recalls/{recall_id}/decide/", {"password": PASSWORD},
                         format="json")  # fmt: skip
    assert refused.status_code == 403
    wrong = manager.post(f"/api/v1/recalls/{recall_id}/decide/", {"password": "nope"},
                         format="json")  # fmt: skip
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "signature_invalid")
    decided = manager.post(f"/api/v1/recalls/{recall_id}/decide/", {"password": PASSWORD},
                           format="json")  # fmt: skip
    assert decided.status_code == 200
    body = decided.json()
    assert (body["status"], body["progress"]["devices_total"]) == ("in_progress", 2)
    # Closing waits for the filing and the effectiveness check
    assert body["actions"] == [
        "send-notice", "acknowledge", "dispose", "record-filing", "check-effectiveness",
    ]  # fmt: skip
    # Deciding twice is a wrong state
    again = manager.post(f"/api/v1/recalls/{recall_id}/decide/", {"password": PASSWORD},
                         format="json")  # fmt: skip
    assert again.status_code == 409
    recipients = staff.get(f"/api/v1/recalls/{recall_id}/recipients/").json()["results"]
    assert [(r["organization"]["name"], r["quantity_delivered"]) for r in recipients] == [
        ("市第一人民医院", 2)
    ]
    over = staff.post(f"/api/v1/recalls/{recall_id}/acknowledge/", {
        "recipient": recipients[0]["id"], "acknowledged_by_name": "王主任",
        "quantity_corrected": 3,
    }, format="json")  # fmt: skip
    assert over.status_code == 400
    assert list(over.json()["error"]["fields"]) == ["quantity_corrected"]
    devices = staff.get(f"/api/v1/recalls/{recall_id}/devices/").json()["results"]
    assert sorted(row["serial_number"] for row in devices) == ["KM-0001", "KM-0002"]
    foreign = staff.post(f"/api/v1/recalls/{recall_id}/dispose/",
                         {"device": 999999, "disposition": "returned"}, format="json")  # fmt: skip
    assert (foreign.status_code, list(foreign.json()["error"]["fields"])) == (400, ["device"])


def test_the_list_answers_in_a_fixed_number_of_queries(
    api, batch, quality_staff, django_assert_max_num_queries
):
    for _number in range(3):
        prepare(quality_staff, batch)
    client = api.as_user(quality_staff)
    with django_assert_max_num_queries(12) as few:
        assert client.get("/api/v1/recalls/").json()["count"] == 3
    for _number in range(6):
        prepare(quality_staff, batch)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/api/v1/recalls/").json()["count"] == 9


def test_a_recall_from_a_case_page_through_to_a_decision_in_the_browser_pages(
    client, batch, quality_staff, quality_manager, hospital_a
):
    from medservice.quality.services import case_create

    case = case_create(actor=quality_staff, data={
        "description": "监护仪电源过热", "device_model": batch.monitor, "batch_number": "2303",
        "organization": hospital_a,
    })  # fmt: skip
    client.force_login(quality_staff)
    # The case's page offers the trace of its batch and "prepare a recall from this case"
    page = client.get(f"/quality/quality-cases/{case.pk}/").content.decode()
    assert f"/quality/recalls/new/?quality_case={case.pk}" in page
    assert f"/quality/quality-cases/{case.pk}/trace/" in page
    assert "KM-0003" in page  # the batch's devices in the Trace tab
    trace = client.get(f"/quality/quality-cases/{case.pk}/trace/")
    assert trace.status_code == 302 and "batch_number=2303" in trace["Location"]
    # The form comes prefilled from the case
    form = client.get(f"/quality/recalls/new/?quality_case={case.pk}").content.decode()
    assert 'value="2303"' in form
    posted = client.post(f"/quality/recalls/new/?quality_case={case.pk}", {
        "kind": "recall", "recall_class": "I", "quality_case": case.pk,
        "device_model": batch.monitor.pk, "batch_number": "2303", "reason": "过热",
        "instructions": "停止使用", "handling": "repair", "responsible_phone": "400-800-1234",
    })  # fmt: skip
    assert posted.status_code == 302
    recall = Recall.objects.get(quality_case=case)
    # Quality staff see no decide button; the manager decides from the page with the password
    detail = client.get(f"/quality/recalls/{recall.pk}/").content.decode()
    assert 'data-action="decide"' not in detail
    assert client.post(f"/quality/recalls/{recall.pk}/act/decide/",
                       {"password": PASSWORD}).status_code == 403  # fmt: skip
    client.force_login(quality_manager)
    wrong = client.post(f"/quality/recalls/{recall.pk}/act/decide/", {"password": "nope"})
    assert wrong.status_code == 400
    assert "The password is not correct" in wrong.content.decode()
    done = client.post(f"/quality/recalls/{recall.pk}/act/decide/", {"password": PASSWORD})
    assert done.status_code == 302
    recall.refresh_from_db()
    assert recall.status == "in_progress"
    # Quality staff then run it from the page: acknowledge over the delivered is explained
    client.force_login(quality_staff)
    recipient = recall.recipients.get(organization=hospital_a)
    over = client.post(f"/quality/recalls/{recall.pk}/act/acknowledge/", {
        "recipient": recipient.pk, "acknowledged_by_name": "王主任", "quantity_held": 5,
        "quantity_returned": 0, "quantity_corrected": 0,
    })  # fmt: skip
    assert over.status_code == 400
    assert "cannot be more" in over.content.decode()
    entry = recall.devices.get(device__serial_number="KM-0001")
    disposed = client.post(f"/quality/recalls/{recall.pk}/act/dispose/",
                           {"device": entry.pk, "disposition": "corrected_on_site"})  # fmt: skip
    assert disposed.status_code == 302
    detail = client.get(f"/quality/recalls/{recall.pk}/").content.decode()
    assert "25.0% done (1/4 devices)" in detail
    assert WorkOrder.objects.get(source_reference=recall.number).number in detail


# --- Dispositions change the device in the installed base ---------------------------------------


def test_returned_and_destroyed_devices_become_recalled_and_scrapped_audited(
    decided, quality_staff
):
    from medservice.core.models import AuditEvent

    # Given four affected devices, all installed
    entries = {e.device.serial_number: e for e in decided.devices.select_related("device")}
    assert {e.device.status for e in entries.values()} == {"installed"}
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    # When each gets a different disposition
    for serial, disposition in (
        ("KM-0001", "returned"), ("KM-0002", "destroyed"),
        ("KM-0003", "corrected_on_site"), ("KM-0004", "not_found"),
    ):  # fmt: skip
        recall_device_dispose(actor=quality_staff, entry=entries[serial], disposition=disposition)
    # Then returned is recalled, destroyed is scrapped; not found is left as it was, and so is
    # corrected on site by the disposition (its recall work order puts it under repair)
    statuses = dict(
        RecallDevice.objects.filter(recall=decided).values_list(
            "device__serial_number", "device__status"
        )
    )
    assert statuses == {
        "KM-0001": "recalled", "KM-0002": "scrapped", "KM-0003": "under_repair",
        "KM-0004": "installed",
    }  # fmt: skip
    # And each status change is in the device's audit trail: who, why, old and new value
    for serial, new in (("KM-0001", "recalled"), ("KM-0002", "scrapped")):
        events = AuditEvent.objects.filter(
            object_type="installed_base.device", object_id=str(entries[serial].device_id),
            id__gt=before,
        )  # fmt: skip
        assert [(e.action, e.detail, e.actor_id, e.reason, e.changes) for e in events] == [
            (
                "transition", "status", quality_staff.pk,
                f"Recall {decided.number}: {'Returned' if new == 'recalled' else 'Destroyed'}.",
                {"status": ["installed", new]},
            )
        ]  # fmt: skip
    assert not AuditEvent.objects.filter(
        object_type="installed_base.device", object_id=str(entries["KM-0004"].device_id),
        id__gt=before,
    ).exists()  # fmt: skip


def test_a_device_under_an_evidence_hold_is_not_altered_by_a_disposition(
    decided, quality_staff, api, client
):
    from medservice.installed_base.choices import HoldKind, HoldScope
    from medservice.installed_base.services import HeldError, hold_place

    # Given KM-0001 is kept as evidence of a serious incident (EU MDR art. 89)
    entry = decided.devices.select_related("device").get(device__serial_number="KM-0001")
    hold_place(
        actor=None, scope=HoldScope.DEVICE, kind=HoldKind.EVIDENCE, device=entry.device,
        reason="严重伤害事件证据保全",
    )  # fmt: skip
    # When it is recorded destroyed (API), destroyed (service) or corrected on site (page)
    refused = api.as_user(quality_staff).post(
        f"/api/v1/recalls/{decided.pk}/dispose/",
        {"device": entry.pk, "disposition": "destroyed"}, format="json",
    )  # fmt: skip
    # Then each is refused with 409, saying why
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "on_hold")
    assert refused.json()["error"]["message"] == (
        f"{entry.device} is under an evidence hold (严重伤害事件证据保全) and may not be "
        "altered: the disposition “Destroyed” is refused until the quality manager releases "
        "the hold."
    )
    with pytest.raises(HeldError):
        recall_device_dispose(actor=quality_staff, entry=entry, disposition="destroyed")
    client.force_login(quality_staff)
    page = client.post(f"/quality/recalls/{decided.pk}/act/dispose/",
                       {"device": entry.pk, "disposition": "corrected_on_site"})  # fmt: skip
    assert page.status_code == 409
    assert "under an evidence hold (严重伤害事件证据保全)" in page.content.decode()
    # And nothing changed: no disposition, no work order, the device still installed
    entry.refresh_from_db()
    entry.device.refresh_from_db()
    assert (entry.disposition, entry.work_order_id, entry.device.status) == ("", None, "installed")
    assert not WorkOrder.objects.filter(device=entry.device).exists()
    # Taking it back into custody is allowed: returned, the unit becomes "recalled"
    entry = recall_device_dispose(actor=quality_staff, entry=entry, disposition="returned")
    entry.device.refresh_from_db()
    assert (entry.disposition, entry.device.status) == ("returned", "recalled")
    # And "not found" does not touch the device, so it may still be recorded
    entry = recall_device_dispose(actor=quality_staff, entry=entry, disposition="not_found")
    assert entry.disposition == "not_found"


# --- CN-RC-3: the summary evaluation report --------------------------------------------------------


@pytest.mark.parametrize(
    ("ended_at", "summary_due"),
    [
        # Thursday 12 February 2026, before the Spring Festival: Fri 13, Sat 14 (make-up
        # working day), 15-23 February off, Tue 24 ... Fri 27, Sat 28 (make-up), Mon 2 March,
        # Tue 3, Wed 4 March: the 10th working day. Without 调休 it would be 26 February.
        (at(2026, 2, 12, 10, 0), at(2026, 3, 4, 10, 0)),
        # An ordinary fortnight.
        (at(2026, 3, 10, 16, 45), at(2026, 3, 24, 16, 45)),
    ],
)
def test_the_summary_report_is_due_ten_working_days_after_the_recall_ends(ended_at, summary_due):
    from medservice.quality.recalls import recall_summary_due

    due, unconfirmed = recall_summary_due(ended_at)
    assert (due, unconfirmed) == (summary_due, frozenset())


def test_the_summary_working_days_are_a_setting(settings):
    from medservice.quality.recalls import recall_summary_due

    # CN-RC-3 is unverified: QUALITY_RECALL_SUMMARY_WORKING_DAYS changes it (Tue 10 March +
    # 15 working days is Tue 31 March)
    settings.QUALITY_RECALL_SUMMARY_WORKING_DAYS = 15
    assert recall_summary_due(at(2026, 3, 10, 9, 0))[0] == at(2026, 3, 31, 9, 0)


@pytest.fixture
def ended(draft, quality_manager, quality_staff):
    """A recall decided on 2 February 2026, filed, every recipient notified, whose
    effectiveness check (the recall's end) is recorded on Thursday 12 February 10:00."""
    with freeze_time(at(2026, 2, 2, 10, 0)):
        recall = recall_decide(actor=quality_manager, recall=draft, password=PASSWORD)
        recall_record_filing(actor=quality_staff, recall=recall, filed_at=None, reference="F-1")
    # The notices' clock is another test's: here every recipient was told at once
    RecallRecipient.objects.filter(recall=recall).update(notified_at=at(2026, 2, 2, 11, 0))
    with freeze_time(at(2026, 2, 12, 10, 0)):
        return recall_check_effectiveness(
            actor=quality_manager, recall=recall, effective=True, note="回访4家用户，全部已整改"
        )


def test_the_effectiveness_check_ends_the_recall_and_stores_the_summary_due_time(
    ended, quality_manager
):
    ended.refresh_from_db()
    assert (ended.ended_at, ended.summary_due_at, ended.summary_due_unconfirmed) == (
        at(2026, 2, 12, 10, 0), at(2026, 3, 4, 10, 0), False,
    )  # fmt: skip
    # A re-check later does not move the legal clock later
    with freeze_time(at(2026, 2, 20, 9, 0)):
        recall_check_effectiveness(
            actor=quality_manager, recall=ended, effective=True, note="再次回访"
        )
    ended.refresh_from_db()
    assert (ended.effectiveness_checked_at, ended.ended_at, ended.summary_due_at) == (
        at(2026, 2, 20, 9, 0), at(2026, 2, 12, 10, 0), at(2026, 3, 4, 10, 0),
    )  # fmt: skip


def test_the_summary_clock_warns_at_75_percent_and_on_breach_once_each(ended, quality_staff):
    from medservice.quality.tasks import recall_deadlines

    # 20 days from 12 February 10:00 to 4 March 10:00: 75% is 15 days, 27 February 10:00.
    # The job runs twice at each moment: once each.
    with freeze_time(at(2026, 2, 27, 9, 59)):
        assert [recall_deadlines(), recall_deadlines()] == [{"warned": 0, "breached": 0}] * 2
    with freeze_time(at(2026, 2, 27, 10, 0)):
        assert [recall_deadlines(), recall_deadlines()] == [
            {"warned": 1, "breached": 0}, {"warned": 0, "breached": 0},
        ]  # fmt: skip
    with freeze_time(at(2026, 3, 4, 9, 59)):
        assert recall_deadlines() == {"warned": 0, "breached": 0}
    with freeze_time(at(2026, 3, 4, 10, 0)):
        assert [recall_deadlines(), recall_deadlines()] == [
            {"warned": 0, "breached": 1}, {"warned": 0, "breached": 0},
        ]  # fmt: skip
    ended.refresh_from_db()
    assert (ended.summary_warned_at, ended.summary_breached_at) == (
        at(2026, 2, 27, 10, 0), at(2026, 3, 4, 10, 0),
    )  # fmt: skip
    notes = list(
        Notification.objects.filter(recipient=quality_staff)
        .order_by("pk")
        .values_list("subject", "body")
    )
    assert notes == [
        (
            f"{ended.number}: the summary report is due soon",
            f"The summary evaluation report of recall {ended.number} is due at the regulator "
            "by 2026-03-04 10:00 (CN-RC-3).",
        ),
        (
            f"{ended.number}: the summary report is overdue",
            f"The summary evaluation report of recall {ended.number} was due by "
            "2026-03-04 10:00 (CN-RC-3) and is not recorded.",
        ),
    ]


def test_a_submitted_summary_stops_its_clock(ended, quality_staff):
    with freeze_time(at(2026, 2, 20, 15, 0)):
        recall_record_summary(actor=quality_staff, recall=ended, submitted_at=None,
                              reference="S-1")  # fmt: skip
    assert recall_deadline_sweep(now=at(2026, 3, 5, 12, 0)) == {"warned": 0, "breached": 0}


def test_the_summary_needs_the_end_a_reference_and_a_plausible_time(
    decided, quality_staff, quality_manager
):
    # Before the effectiveness check the recall has not ended: wrong state
    with pytest.raises(InvalidTransitionError) as early:
        recall_record_summary(actor=quality_staff, recall=decided, submitted_at=None,
                              reference="S-1")  # fmt: skip
    assert early.value.message == (
        "Record the effectiveness check first: the summary report evaluates the ended recall."
    )
    recall = recall_check_effectiveness(
        actor=quality_manager, recall=decided, effective=True, note="全部回执"
    )
    recall.refresh_from_db()
    with pytest.raises(InvalidInputError) as refused:
        recall_record_summary(actor=quality_staff, recall=recall,
                              submitted_at=recall.ended_at + datetime.timedelta(days=2),
                              reference=" ")  # fmt: skip
    assert sorted(refused.value.fields) == ["reference", "submitted_at"]
    with pytest.raises(InvalidInputError) as before:
        recall_record_summary(actor=quality_staff, recall=recall,
                              submitted_at=recall.ended_at - datetime.timedelta(hours=1),
                              reference="S-1")  # fmt: skip
    assert before.value.fields == {
        "submitted_at": ["The summary report cannot be submitted before the recall ended."]
    }
    recall.refresh_from_db()
    assert (recall.summary_submitted_at, recall.summary_reference) == (None, "")


def test_closing_is_refused_before_the_summary_and_allowed_after(
    decided, quality_staff, quality_manager
):
    recall_record_filing(actor=quality_staff, recall=decided, filed_at=None, reference="F-1")
    recall_check_effectiveness(
        actor=quality_manager, recall=decided, effective=True, note="全部回执"
    )
    # Filed and checked, but the summary report is not submitted: 409 naming it
    with pytest.raises(InvalidTransitionError) as refused:
        recall_close(actor=quality_manager, recall=decided, password=PASSWORD)
    assert refused.value.message == (
        "Record the summary report to the regulator before closing the recall."
    )
    decided.refresh_from_db()
    assert (decided.status, decided.signoffs.count()) == ("in_progress", 1)
    recall_record_summary(actor=quality_staff, recall=decided, submitted_at=None,
                          reference="沪召总2026-018")  # fmt: skip
    recall = recall_close(actor=quality_manager, recall=decided, password=PASSWORD)
    recall.refresh_from_db()
    assert (recall.status, recall.summary_reference) == ("closed", "沪召总2026-018")
    closure = recall.signoffs.get(meaning="closure")
    assert "沪召总2026-018" in closure.statement


def test_the_api_records_the_summary_for_quality_staff_only(
    api, decided, quality_staff, quality_manager, manager
):
    url = f"/api/v1/recalls/{decided.pk}/record-summary/"
    staff = api.as_user(quality_staff)
    # Before the end: 409 saying why
    early = staff.post(url, {"reference": "S-1"}, format="json")
    assert (early.status_code, early.json()["error"]["code"]) == (409, "invalid_transition")
    recall_record_filing(actor=quality_staff, recall=decided, filed_at=None, reference="F-1")
    checked = api.as_user(quality_manager).post(
        f"/api/v1/recalls/{decided.pk}/check-effectiveness/",
        {"effective": True, "note": "全部回执"}, format="json",
    )  # fmt: skip
    body = checked.json()
    assert body["summary_due_at"] is not None and body["ended_at"] is not None
    assert "record-summary" in staff.get(f"/api/v1/recalls/{decided.pk}/").json()["actions"]
    # Closing before the summary: 409
    closing = api.as_user(quality_manager).post(
        f"/api/v1/recalls/{decided.pk}/close/", {"password": PASSWORD}, format="json"
    )
    assert closing.status_code == 409
    assert closing.json()["error"]["message"] == (
        "Record the summary report to the regulator before closing the recall."
    )
    # A service manager reads recalls but may not record the summary
    assert api.as_user(manager).post(url, {"reference": "S-1"}, format="json").status_code == 403
    missing = staff.post(url, {}, format="json")
    assert (missing.status_code, list(missing.json()["error"]["fields"])) == (400, ["reference"])
    done = staff.post(url, {"reference": "沪召总2026-018"}, format="json")
    assert done.status_code == 200
    assert done.json()["summary_reference"] == "沪召总2026-018"
    assert done.json()["summary_submitted_at"] is not None
    closed = api.as_user(quality_manager).post(
        f"/api/v1/recalls/{decided.pk}/close/", {"password": PASSWORD}, format="json"
    )
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")


def test_the_recall_page_shows_the_summary_due_badge_and_its_form(ended, quality_staff, client):
    client.force_login(quality_staff)
    page = client.get(f"/quality/recalls/{ended.pk}/").content.decode()
    assert 'id="summary-due"' in page and "Summary report due 2026-03-04 10:00" in page
    assert 'data-action="record-summary"' in page
    # A bad submission is explained on the page, nothing saved
    bad = client.post(f"/quality/recalls/{ended.pk}/act/record-summary/", {"reference": ""})
    assert bad.status_code == 400
    with freeze_time(at(2026, 2, 24, 16, 0)):
        done = client.post(f"/quality/recalls/{ended.pk}/act/record-summary/",
                           {"reference": "沪召总2026-018", "submitted_at": "2026-02-24T15:30"})  # fmt: skip
    assert done.status_code == 302
    ended.refresh_from_db()
    assert (ended.summary_submitted_at, ended.summary_reference) == (
        at(2026, 2, 24, 15, 30), "沪召总2026-018",
    )  # fmt: skip
    page = client.get(f"/quality/recalls/{ended.pk}/").content.decode()
    assert "submitted 2026-02-24 15:30 (沪召总2026-018)" in page
    assert 'class="badge text-bg-success" id="summary-due"' in page
