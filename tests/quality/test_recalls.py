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
