"""The service desk: an agent registers a call while the caller speaks (the caller found from a
phone or serial), changes a priority, a manager approves an SLA exception, feedback to the
regulator is recorded; the list, the organisation's tabs, its contact log and the agent's
landing show the service promises."""

from __future__ import annotations

import datetime
import html
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.accounts.choices import Role
from medservice.tickets import services
from medservice.tickets.models import (
    QualityIntake,
    RegulatorFeedback,
    SlaException,
    Ticket,
    TimelineEntry,
)
from medservice.tickets.sweep import sla_sweep
from tests.factories import user_with_role
from tests.installed_base.factories import DeviceFactory
from tests.tickets.conftest import RECEIVED
from tests.tickets.factories import TicketFactory
from tests.tickets.test_api import PNG

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)
REGISTER = "/tickets/register/"
LOOKUP = "/tickets/register/lookup/"


def call(**fields):
    """What the agent has typed when pressing Register (the hidden choices included)."""
    return {
        "kind": "complaint",
        "channel": "phone",
        "priority": "normal",
        "received_at": "",
        "reporter_phone": "",
        "reporter_name": "",
        "reporter_email": "",
        "contact": "",
        "device": "",
        "organization": "",
        "serial_reported": "",
        "product_reported": "",
        "subject": "",
        "description": "ICU 3 床监护仪开机后黑屏。",
        "register": "1",
        **{key: "" if value is None else value for key, value in fields.items()},
    }


def errors_on(body, field):
    return [html.unescape(text) for text in re.findall(rf'data-error-for="{field}">([^<]*)<', body)]


def hidden_value(body, name):
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', body)
    return found.group(1) if found else ""


# --- register a call -----------------------------------------------------------------------------


def test_typing_the_callers_phone_finds_the_contact_and_the_call_is_registered(
    client, agent, caller, hospital_a, clock
):
    earlier = TicketFactory(organization=hospital_a, contact=caller)
    client.force_login(agent)

    # The agent types the number as the caller says it; the look-up goes through the blind index.
    fragment = client.get(LOOKUP, {"reporter_phone": "139 1662 4875"})
    body = fragment.content.decode()
    assert fragment.status_code == 200
    contacts = re.search(r'id="lookup-contacts">(.*?)</div>\s*</div>', body, re.S).group(1)
    assert re.findall(r'data-pick="contact" data-id="(\d+)"', contacts) == [str(caller.pk)]
    assert "钱丽华" in contacts and "市第一人民医院" in contacts and "139****4875" in contacts
    assert "13916624875" not in body
    assert earlier.number in re.search(r'id="lookup-open-tickets">(.*?)</ul>', body, re.S).group(1)

    # Choosing the contact fills the hidden contact and organisation; Register registers.
    response = client.post(
        REGISTER,
        call(
            contact=caller.pk,
            organization=hospital_a.pk,
            reporter_phone="139 1662 4875",
            subject="监护仪黑屏",
        ),
    )
    ticket = Ticket.objects.get(kind="complaint")
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/tickets/{ticket.pk}/"
    assert (
        ticket.number,
        ticket.contact,
        ticket.organization,
        ticket.received_at,
        ticket.received_by,
        ticket.subject,
    ) == ("TS-2026-000001", caller, hospital_a, RECEIVED, agent, "监护仪黑屏")
    page = client.get(response["Location"]).content.decode()
    assert "Registered TS-2026-000001: tell the caller this number." in page


def test_the_look_up_finds_a_device_by_serial_with_its_owner_and_warranty(
    client, agent, hospital_a, clock
):
    device = DeviceFactory(
        organization=hospital_a,
        serial_number="KM8-2603-00077",
        warranty_ends_on=datetime.date(2027, 3, 9),
    )
    client.force_login(agent)
    body = client.get(LOOKUP, {"serial_reported": "km8-2603-00077"}).content.decode()
    devices = re.search(r'id="lookup-devices">(.*?)</div>\s*</div>', body, re.S).group(1)
    assert re.findall(r'data-pick="device" data-id="(\d+)"', devices) == [str(device.pk)]
    assert str(device.device_model) in devices
    assert "KM8-2603-00077" in devices and "市第一人民医院" in devices
    assert "under warranty until 2027-03-09" in devices


def test_the_look_up_stays_within_what_the_user_may_see(client, caller, hospital_b, auditor):
    customer_b = user_with_role(Role.CUSTOMER_USER, hospital_b, username="customer_b")
    client.force_login(customer_b)
    body = client.get(LOOKUP, {"q": "13916624875"}).content.decode()
    assert "钱丽华" not in body
    assert 'id="lookup-none"' in body
    client.force_login(auditor)  # reads everything, registers nothing
    assert client.get(LOOKUP, {"q": "13916624875"}).status_code == 404
    assert client.get(REGISTER).status_code == 404


def test_without_the_script_find_and_a_result_button_keep_what_was_typed(
    client, agent, caller, hospital_a, clock
):
    client.force_login(agent)
    typed = call(reporter_phone="13916624875", description="输液泵报警后停泵")
    typed.pop("register")

    found = client.post(REGISTER, {**typed, "find": "1"})
    body = found.content.decode()
    assert found.status_code == 200
    assert f'name="pick_contact" value="{caller.pk}"' in body
    assert "输液泵报警后停泵" in body
    assert 'id="register-refused"' not in body

    picked = client.post(REGISTER, {**typed, "pick_contact": str(caller.pk)})
    body = picked.content.decode()
    assert (hidden_value(body, "contact"), hidden_value(body, "organization")) == (
        str(caller.pk),
        str(hospital_a.pk),
    )
    assert "输液泵报警后停泵" in body
    assert Ticket.objects.count() == 0


def test_the_page_opens_with_the_received_time_now_and_the_list_links_to_it(client, agent, clock):
    client.force_login(agent)
    body = client.get(REGISTER).content.decode()
    assert 'name="received_at" value="2026-03-02T17:00"' in body
    assert (
        'href="/tickets/register/" id="create-link"'
        in client.get("/tickets/tickets/").content.decode()
    )


def test_an_unreachable_reporter_is_refused_on_the_fields_and_nothing_is_saved(
    client, agent, hospital_a, clock
):
    client.force_login(agent)
    response = client.post(REGISTER, call(organization=hospital_a.pk))
    body = response.content.decode()
    assert response.status_code == 400
    assert errors_on(body, "reporter_name") == [
        "Choose the contact who reported it, or type the reporter's name."
    ]
    assert errors_on(body, "reporter_phone") == [
        "Give a phone number or an e-mail address so the customer can be reached."
    ]
    assert "ICU 3 床监护仪开机后黑屏。" in body
    assert Ticket.objects.count() == 0


QUALITY = {
    "quality-complainant_sex": "female",
    "quality-complainant_age": "45",
    "quality-device_used": "true",
    "quality-symptoms": "使用后皮肤红肿",
    "quality-batch_or_serial": "260301",
}


def test_a_quality_complaint_without_the_stop_use_confirmation_is_refused_on_that_field(
    client, agent, caller, hospital_a, clock
):
    client.force_login(agent)
    response = client.post(
        REGISTER,
        {
            **call(kind="quality_complaint", contact=caller.pk, organization=hospital_a.pk),
            **QUALITY,
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert errors_on(body, "stop_use_advised") == [
        "Tell the caller to stop using that batch or serial until the review ends, "
        "and confirm it here."
    ]
    assert '<details class="card mb-3" id="quality-intake" open>' in body
    assert "使用后皮肤红肿" in body
    assert (Ticket.objects.count(), QualityIntake.objects.count()) == (0, 0)


def test_a_quality_complaint_with_the_stop_use_confirmation_records_the_intake(
    client, agent, caller, hospital_a, clock
):
    client.force_login(agent)
    response = client.post(
        REGISTER,
        {
            **call(kind="quality_complaint", contact=caller.pk, organization=hospital_a.pk),
            **QUALITY,
            "quality-stop_use_advised": "on",
        },
    )
    assert response.status_code == 302
    intake = QualityIntake.objects.get()
    assert (
        intake.ticket.number,
        intake.complainant_sex,
        intake.complainant_age,
        intake.device_used,
        intake.stop_use_advised,
        intake.stop_use_advised_at,
    ) == ("ZL-2026-000001", "female", 45, True, True, RECEIVED)


def test_the_quality_answers_are_ignored_when_they_do_not_apply(
    client, agent, caller, hospital_a, clock
):
    client.force_login(agent)
    response = client.post(
        REGISTER, {**call(contact=caller.pk, organization=hospital_a.pk), **QUALITY}
    )
    assert response.status_code == 302
    assert QualityIntake.objects.count() == 0


def test_evidence_files_are_attached_and_a_bad_one_refuses_the_whole_call(
    client, agent, caller, hospital_a, clock
):
    client.force_login(agent)
    refused = client.post(
        REGISTER,
        {
            **call(contact=caller.pk, organization=hospital_a.pk),
            "files": [
                SimpleUploadedFile("屏幕.png", PNG, content_type="image/png"),
                SimpleUploadedFile("驱动.exe", b"MZ\x90\x00" + b"\x00" * 60, "image/png"),
            ],
        },
    )
    body = refused.content.decode()
    assert refused.status_code == 400
    assert errors_on(body, "files") == [
        "驱动.exe is not a photo, video or PDF (found: application/x-msdownload); those are "
        "the files accepted as evidence."
    ]
    assert "Files are not kept when a form is refused: choose them again." in body
    assert (Ticket.objects.count(), TimelineEntry.objects.count()) == (0, 0)

    accepted = client.post(
        REGISTER,
        {
            **call(contact=caller.pk, organization=hospital_a.pk),
            "files": [
                SimpleUploadedFile("屏幕.png", PNG, content_type="image/png"),
                SimpleUploadedFile("报警.png", PNG, content_type="image/png"),
            ],
        },
    )
    assert accepted.status_code == 302
    files = TimelineEntry.objects.filter(kind="attachment").order_by("id")
    assert [(entry.attachment_name, entry.attachment_type) for entry in files] == [
        ("屏幕.png", "image/png"),
        ("报警.png", "image/png"),
    ]


# --- the ticket page's desk forms ---------------------------------------------------------------


def desk_buttons(body):
    return re.findall(r'data-desk-action="([a-z-]+)"', body)


def test_the_priority_changes_with_a_reason_and_not_without(client, agent, hospital_a, clock):
    ticket = TicketFactory(organization=hospital_a)
    client.force_login(agent)
    url = f"/tickets/tickets/{ticket.pk}/priority/"

    refused = client.post(url, {"priority": "urgent", "reason": ""})
    body = refused.content.decode()
    assert refused.status_code == 400
    assert errors_on(body, "reason") == ["This field is required."]
    assert re.search(
        r'<details class="ticket-action" open>\s*<summary[^>]*data-desk-action="priority"', body
    )
    ticket.refresh_from_db()
    assert ticket.priority == "normal"

    done = client.post(url, {"priority": "urgent", "reason": "ICU 唯一一台呼吸机"})
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"
    entry = TimelineEntry.objects.filter(ticket=ticket, kind="sla").get()
    assert entry.text == "Priority changed to Urgent: ICU 唯一一台呼吸机"
    assert "Priority is now Urgent." in client.get(done["Location"]).content.decode()


def test_a_customer_may_not_change_the_priority(client, customer_a, hospital_a, clock):
    ticket = TicketFactory(organization=hospital_a)
    client.force_login(customer_a)
    assert "priority" not in desk_buttons(
        client.get(f"/tickets/tickets/{ticket.pk}/").content.decode()
    )
    response = client.post(
        f"/tickets/tickets/{ticket.pk}/priority/", {"priority": "urgent", "reason": "很急"}
    )
    assert response.status_code == 403
    assert "Your role may not do this: Change the priority." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


def test_an_sla_exception_is_refused_for_an_agent_and_approved_by_a_manager(
    client, agent, manager, hospital_a, clock
):
    ticket = TicketFactory(organization=hospital_a)
    url = f"/tickets/tickets/{ticket.pk}/sla-exception/"
    form = {"target": "resolution", "hours": "48", "reason": "进口配件海关清关"}

    client.force_login(agent)
    assert desk_buttons(client.get(f"/tickets/tickets/{ticket.pk}/").content.decode()) == [
        "priority"
    ]
    refused = client.post(url, form)
    assert refused.status_code == 403
    assert "Only a service manager approves an SLA exception." in refused.content.decode()
    assert SlaException.objects.count() == 0

    client.force_login(manager)
    assert "sla-exception" in desk_buttons(
        client.get(f"/tickets/tickets/{ticket.pk}/").content.decode()
    )
    approved = client.post(url, form)
    assert approved.status_code == 302
    exception = SlaException.objects.get()
    assert (exception.target, exception.hours, exception.approved_by) == (
        "resolution",
        Decimal("48.00"),
        manager,
    )
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == RECEIVED + 120 * HOUR
    page = client.get(approved["Location"]).content.decode()
    assert "Resolution extended by 48 h." in page
    assert "进口配件海关清关" in re.search(
        r'id="ticket-sla-exceptions">(.*?)</ul>', page, re.S
    ).group(1)


def test_an_sla_exception_without_a_reason_is_explained_on_the_field(
    client, manager, hospital_a, clock
):
    ticket = TicketFactory(organization=hospital_a)
    client.force_login(manager)
    response = client.post(
        f"/tickets/tickets/{ticket.pk}/sla-exception/",
        {"target": "resolution", "hours": "0", "reason": ""},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert errors_on(body, "hours") == ["Ensure this value is greater than or equal to 0.5."]
    assert errors_on(body, "reason") == ["This field is required."]
    assert SlaException.objects.count() == 0


def test_feedback_to_the_regulator_is_recorded_on_a_supervision_phone_request(
    client, agent, hospital_a, clock
):
    ticket = TicketFactory(organization=hospital_a, channel="regulator", kind="complaint")
    client.force_login(agent)
    assert "regulator-feedback" in desk_buttons(
        client.get(f"/tickets/tickets/{ticket.pk}/").content.decode()
    )
    response = client.post(
        f"/tickets/tickets/{ticket.pk}/regulator-feedback/",
        {
            "content": "已上门更换电源板，客户确认恢复正常。",
            "given_at": "2026-03-02T18:30",
            "regulator_contact": "市药监局 王科长",
        },
    )
    assert response.status_code == 302
    feedback = RegulatorFeedback.objects.get()
    assert (feedback.content, feedback.given_by, feedback.given_at, feedback.regulator_contact) == (
        "已上门更换电源板，客户确认恢复正常。",
        agent,
        RECEIVED + 1.5 * HOUR,
        "市药监局 王科长",
    )
    page = client.get(response["Location"]).content.decode()
    assert "市药监局 王科长" in re.search(
        r'id="ticket-regulator-feedback">(.*?)</table>', page, re.S
    ).group(1)


def test_feedback_to_the_regulator_is_refused_on_another_channel(client, agent, hospital_a, clock):
    ticket = TicketFactory(organization=hospital_a)
    client.force_login(agent)
    assert "regulator-feedback" not in desk_buttons(
        client.get(f"/tickets/tickets/{ticket.pk}/").content.decode()
    )
    response = client.post(
        f"/tickets/tickets/{ticket.pk}/regulator-feedback/", {"content": "已反馈"}
    )
    assert response.status_code == 400
    assert (
        "Feedback to the regulator is recorded for requests received through its phone."
        in response.content.decode()
    )
    assert RegulatorFeedback.objects.count() == 0


# --- the list, the tabs, the contact log, the landing ------------------------------------------


def list_row_states(body):
    return re.findall(r'<tr class="ticket-row sla-row-([a-z_]+)"', body)


def test_the_list_shows_badges_and_a_countdown_amber_at_75_percent_and_red_when_breached(
    client, agent, hospital_a, clock
):
    TicketFactory(organization=hospital_a)
    client.force_login(agent)

    body = client.get("/tickets/tickets/").content.decode()
    assert list_row_states(body) == ["on_track"]
    assert '<span class="badge text-bg-primary status-new">New</span>' in body
    assert '<span class="badge text-bg-light priority-normal">Normal</span>' in body
    assert re.search(r'class="sla-countdown sla-on_track"[^>]*>1 d 0 h left<', body)

    clock.tick(19 * HOUR)  # 19 of the first response's 24 hours: past 75 %
    client.force_login(agent)  # a new working day, a new session
    body = client.get("/tickets/tickets/").content.decode()
    assert list_row_states(body) == ["at_risk"]
    assert re.search(
        r'class="sla-countdown sla-at_risk badge text-bg-warning"[^>]*>5 h 0 min left<', body
    )

    clock.tick(6 * HOUR)
    client.force_login(agent)
    body = client.get("/tickets/tickets/").content.decode()
    assert list_row_states(body) == ["breached"]
    assert re.search(
        r'class="sla-countdown sla-breached badge text-bg-danger"[^>]*>1 h 0 min overdue<', body
    )


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_list_page_takes_a_fixed_number_of_queries(client, agent, hospital_a, clock):
    client.force_login(agent)
    for _ in range(2):
        TicketFactory(organization=hospital_a, owner=agent)
    few = queries_for(client, "/tickets/tickets/")
    for _ in range(6):
        TicketFactory(organization=hospital_a, owner=agent)
    many = queries_for(client, "/tickets/tickets/")
    assert len(list_row_states(client.get("/tickets/tickets/").content.decode())) == 8
    assert many == few
    # The filters reload the rows through htmx: the same rows, without the page around them.
    rows = client.get("/tickets/tickets/", {"mine": "true"}, HTTP_HX_REQUEST="true")
    assert list_row_states(rows.content.decode()) == ["on_track"] * 8
    assert "<html" not in rows.content.decode()


def test_the_organisation_and_device_pages_list_their_service_requests_in_scope(
    client, customer_a, hospital_a, hospital_b, clock
):
    device = DeviceFactory(organization=hospital_a)
    ticket = TicketFactory(organization=hospital_a, device=device)
    other = TicketFactory(organization=hospital_b)
    client.force_login(customer_a)

    page = client.get(f"/customers/organizations/{hospital_a.pk}/").content.decode()
    assert "Service requests" in page
    assert f'href="/tickets/tickets/{ticket.pk}/"' in page
    assert f'href="/tickets/organizations/{hospital_a.pk}/contact-log/"' in page
    assert other.number not in page
    device_page = client.get(f"/installed-base/devices/{device.pk}/").content.decode()
    assert f'href="/tickets/tickets/{ticket.pk}/"' in device_page
    assert client.get(f"/customers/organizations/{hospital_b.pk}/").status_code == 404


def test_the_contact_log_lists_calls_newest_first_and_is_scoped(
    client, agent, customer_a, hospital_a, hospital_b, clock
):
    ticket = TicketFactory(organization=hospital_a)
    clock.tick(HOUR)
    services.ticket_acknowledge(ticket=ticket, actor=agent, note="已电话联系设备科")
    TicketFactory(organization=hospital_b, subject="县中医院的来电")
    url = f"/tickets/organizations/{hospital_a.pk}/contact-log/"

    client.force_login(agent)
    body = client.get(url).content.decode()
    texts = re.findall(r'<tr class="contact-log-call">.*?<td>([^<]*)</td>\s*</tr>', body, re.S)
    assert texts == ["已电话联系设备科", "Registered (Phone): 输液泵报警"]
    assert "县中医院的来电" not in body

    # A customer of A sees A's log without the internal calls; a customer of B cannot open it.
    client.force_login(customer_a)
    response = client.get(url)
    assert response.status_code == 200
    assert "已电话联系设备科" not in response.content.decode()
    client.force_login(user_with_role(Role.CUSTOMER_USER, hospital_b, username="customer_b"))
    assert client.get(url).status_code == 404


def test_the_contact_log_is_paginated(client, agent, hospital_a, clock):
    ticket = TicketFactory(organization=hospital_a)
    for number in range(29):
        services.ticket_comment(ticket=ticket, actor=agent, text=f"回访 {number}", kind="call")
    client.force_login(agent)
    url = f"/tickets/organizations/{hospital_a.pk}/contact-log/"
    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()
    assert (first.count('class="contact-log-call"'), second.count('class="contact-log-call"')) == (
        25,
        5,
    )
    assert "30 records" in first


def test_the_agent_lands_on_my_open_requests_and_the_promises_at_risk(
    client, agent, manager, hospital_a, clock
):
    mine = TicketFactory(organization=hospital_a, owner=agent, subject="我的工单")
    theirs = TicketFactory(organization=hospital_a, owner=manager, subject="经理的工单")
    client.force_login(agent)

    body = client.get("/").content.decode()
    my_panel = re.search(r'id="desk-mine">(.*?)id="desk-at-risk"', body, re.S).group(1)
    assert mine.number in my_panel and theirs.number not in my_panel
    assert "No service promise at risk." in body

    clock.tick(19 * HOUR)
    sla_sweep()
    client.force_login(agent)
    body = client.get("/").content.decode()
    at_risk = re.search(r'id="desk-at-risk">(.*)', body, re.S).group(1)
    assert mine.number in at_risk and theirs.number in at_risk
    assert "5 h 0 min left" in at_risk


def test_the_landing_takes_a_fixed_number_of_queries(client, agent, hospital_a, clock):
    TicketFactory(organization=hospital_a, owner=agent)
    clock.tick(19 * HOUR)
    sla_sweep()
    client.force_login(agent)
    few = queries_for(client, "/")
    for _ in range(4):
        TicketFactory(organization=hospital_a, owner=agent, received_at=RECEIVED)
    sla_sweep()
    many = queries_for(client, "/")
    assert many == few


def test_a_customer_does_not_get_the_desk_panel(client, customer_a, hospital_a):
    client.force_login(customer_a)
    response = client.get("/", follow=True)
    assert 'id="desk-home"' not in response.content.decode()


def test_a_blank_received_time_and_subject_take_their_defaults(agent, hospital_a, caller, clock):
    # A form's blank fields arrive as None and "": the call is received now, the subject is
    # the description's beginning (the generic create form passed them so and failed).
    ticket = services.ticket_register(
        actor=agent,
        data={
            "kind": "repair",
            "channel": "phone",
            "organization": hospital_a,
            "contact": caller,
            "received_at": None,
            "subject": "",
            "description": "呼吸机气道压力高报警。",
        },
    )
    assert (ticket.received_at, ticket.subject) == (RECEIVED, "呼吸机气道压力高报警。")
