"""The customer portal: a hospital's user sees its devices and requests, opens a request, follows
it, adds information and files, and answers (agrees, confirms and rates, rejects) — and nothing
of another hospital, and nothing internal."""

from __future__ import annotations

import datetime
import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError
from medservice.tickets import services
from medservice.tickets.choices import Status
from medservice.tickets.models import QualityIntake, Ticket, TicketClock
from tests.factories import PASSWORD, ContactFactory, DepartmentFactory, user_with_role
from tests.installed_base.factories import ContractFactory, DeviceFactory
from tests.tickets.conftest import RECEIVED
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def customer_b(hospital_b):
    return user_with_role(Role.CUSTOMER_USER, hospital_b, username="customer_b")


@pytest.fixture
def nurse(hospital_a, customer_a):
    """customer_a's contact record: the reporter of what customer_a opens."""
    return ContactFactory(
        organization=hospital_a, name="钱丽华", portal_user=customer_a, language="en"
    )


@pytest.fixture
def icu(hospital_a):
    return DepartmentFactory(organization=hospital_a, name="ICU")


@pytest.fixture
def monitor(hospital_a, icu):
    """In warranty on the frozen day (2026-03-02)."""
    return DeviceFactory(
        organization=hospital_a,
        department=icu,
        serial_number="KM8-A-001",
        installed_on=datetime.date(2025, 3, 5),
        accepted_on=datetime.date(2025, 3, 10),
        warranty_ends_on=datetime.date(2026, 3, 9),
    )


def png_bytes() -> bytes:
    """A real 1×1 PNG picture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def body(response) -> str:
    return response.content.decode()


def attribute_values(response, name: str) -> list[str]:
    return re.findall(rf'{name}="([^"]+)"', body(response))


def portal_actions(response) -> list[str]:
    return attribute_values(response, "data-action")


def signed_in(client, user):
    client.force_login(user)
    return client


def resolved(ticket, agent):
    """An agent takes the request to resolved through the services."""
    ticket = services.ticket_acknowledge(ticket=ticket, actor=agent, note="已电话联系护士长")
    ticket = services.ticket_propose_solution(ticket=ticket, actor=agent, solution="上门更换电源板")
    ticket = services.ticket_agree_solution(
        ticket=ticket, actor=agent, agreed_by="钱丽华", method="phone"
    )
    ticket = services.ticket_start(ticket=ticket, actor=agent)
    return services.ticket_resolve(
        ticket=ticket, actor=agent, resolution_type="repair", resolution="已更换电源板"
    )


# --- landing --------------------------------------------------------------------------------------


def test_a_customer_lands_on_the_portal_after_signing_in(client, customer_a, agent):
    response = client.post(
        "/accounts/login/", {"username": customer_a.username, "password": PASSWORD}
    )
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get("/")["Location"] == "/portal/"

    staff = signed_in(client.__class__(HTTP_ACCEPT_LANGUAGE="en"), agent)
    assert staff.get("/").status_code == 200


def test_the_landing_lists_only_our_devices_and_open_requests(
    client, clock, customer_a, hospital_a, hospital_b, monitor
):
    pump = DeviceFactory(
        organization=hospital_a,
        serial_number="KM8-A-002",
        installed_on=datetime.date(2024, 1, 5),
        accepted_on=datetime.date(2024, 1, 10),
        warranty_ends_on=datetime.date(2025, 1, 9),
    )
    ContractFactory(
        organization=hospital_a,
        number="SC-2026-000007",
        devices=[pump],
        starts_on=datetime.date(2026, 1, 1),
        ends_on=datetime.date(2026, 12, 31),
    )
    DeviceFactory(
        organization=hospital_a,
        serial_number="KM8-A-003",
        installed_on=datetime.date(2023, 1, 5),
        accepted_on=datetime.date(2023, 1, 10),
        warranty_ends_on=datetime.date(2024, 1, 9),
    )
    DeviceFactory(organization=hospital_b, serial_number="KM8-B-001")
    ours = TicketFactory(organization=hospital_a, device=monitor, subject="监护仪黑屏")
    finished = TicketFactory(organization=hospital_a, subject="咨询报警设置")
    services.ticket_cancel(ticket=finished, actor=None, reason="客户已自行解决")
    TicketFactory(organization=hospital_b, subject="B 院的请求")

    response = signed_in(client, customer_a).get("/portal/")

    assert response.status_code == 200
    assert attribute_values(response, "data-serial") == ["KM8-A-001", "KM8-A-002", "KM8-A-003"]
    assert attribute_values(response, "data-number") == [ours.number]
    page = body(response)
    assert "ICU" in page
    assert "Under warranty until 2026-03-09" in page
    assert "Contract SC-2026-000007 (Full service) until 2026-12-31" in page
    assert (
        "Not covered: the warranty ended on 2024-01-09 and no service contract is in force." in page
    )
    assert "监护仪黑屏" in page and "Received: we will contact you soon" in page
    # Received 17:00 Shanghai time: the first reply is promised 24 hours later.
    assert "We reply by 2026-03-03 17:00" in page
    assert "B 院的请求" not in page and "KM8-B-001" not in page


def test_the_landing_costs_the_same_queries_for_one_or_many_rows(client, customer_a, hospital_a):
    def landing_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/portal/").status_code == 200
        return len(queries)

    signed_in(client, customer_a)
    device = DeviceFactory(organization=hospital_a)
    ContractFactory(organization=hospital_a, devices=[device])
    TicketFactory(organization=hospital_a, device=device)
    client.get("/portal/")  # the session and permission caches warm up
    with_one = landing_queries()
    for _ in range(6):
        device = DeviceFactory(organization=hospital_a)
        ContractFactory(organization=hospital_a, devices=[device])
        TicketFactory(organization=hospital_a, device=device)
    with_seven = landing_queries()

    # session, user, organisation, 2 × permissions, 2 × counts, devices, their contracts in
    # force, requests, unread notifications
    assert with_one == with_seven == 11


def test_the_history_lists_our_finished_requests(client, customer_a, hospital_a, hospital_b):
    open_one = TicketFactory(organization=hospital_a)
    cancelled = TicketFactory(organization=hospital_a)
    services.ticket_cancel(ticket=cancelled, actor=None, reason="重复登记")
    other = TicketFactory(organization=hospital_b)
    services.ticket_cancel(ticket=other, actor=None, reason="重复登记")

    response = signed_in(client, customer_a).get("/portal/history/")

    assert attribute_values(response, "data-number") == [cancelled.number]
    assert open_one.number not in body(response)


# --- opening a request ----------------------------------------------------------------------------


def test_a_customer_opens_a_repair_request_for_one_of_our_devices(
    client, clock, customer_a, nurse, hospital_a, monitor
):
    response = signed_in(client, customer_a).post(
        "/portal/report/",
        {
            "kind": "repair",
            "device": monitor.pk,
            "subject": "监护仪黑屏",
            "description": "ICU 3 床监护仪开机后黑屏。",
            "files": [SimpleUploadedFile("screen.png", png_bytes(), content_type="image/png")],
        },
    )

    ticket = Ticket.objects.get()
    assert (response.status_code, response["Location"]) == (302, f"/portal/requests/{ticket.pk}/")
    assert (
        ticket.number,
        ticket.kind,
        ticket.channel,
        ticket.status,
        ticket.organization,
        ticket.device,
        ticket.contact,
        ticket.subject,
        ticket.received_at,
    ) == (
        "BX-2026-000001",
        "repair",
        "portal",
        Status.NEW,
        hospital_a,
        monitor,
        nurse,
        "监护仪黑屏",
        RECEIVED,
    )
    assert (
        ticket.first_response_due_at,
        ticket.plan_due_at,
        ticket.resolution_due_at,
        ticket.next_due_at,
    ) == (RECEIVED + 24 * HOUR, RECEIVED + 48 * HOUR, RECEIVED + 72 * HOUR, RECEIVED + 24 * HOUR)
    photo = ticket.timeline.get(kind="attachment")
    assert (photo.attachment_name, photo.attachment_type, photo.customer_visible) == (
        "screen.png",
        "image/png",
        True,
    )
    page = body(client.get(f"/portal/requests/{ticket.pk}/"))
    assert "BX-2026-000001" in page and "screen.png" in page
    assert "We have received your request BX-2026-000001." in page


def test_a_user_without_a_contact_record_reports_under_their_name(
    client, clock, customer_a, hospital_a
):
    signed_in(client, customer_a).post(
        "/portal/report/", {"kind": "question", "description": "如何设置报警上限？"}
    )

    ticket = Ticket.objects.get()
    assert (
        ticket.organization,
        ticket.device,
        ticket.contact,
        ticket.reporter_name,
        ticket.reporter_email,
        ticket.subject,
    ) == (hospital_a, None, None, "王小明", "customer_a@example.com", "如何设置报警上限？")


def test_a_file_that_is_not_evidence_is_refused_and_nothing_is_saved(client, customer_a, nurse):
    response = signed_in(client, customer_a).post(
        "/portal/report/",
        {
            "kind": "repair",
            "description": "报警",
            "files": [SimpleUploadedFile("notes.txt", b"just text", content_type="image/png")],
        },
    )

    assert response.status_code == 400
    assert "notes.txt is not a photo, video or PDF" in body(response)
    assert Ticket.objects.count() == 0


def test_a_quality_complaint_needs_the_intake_questions_and_the_advice_read(
    client, clock, customer_a, nurse, monitor
):
    report = {
        "kind": "quality_complaint",
        "device": monitor.pk,
        "description": "监护仪电源板冒烟，患者未受伤。",
        "patient_involved": "on",
    }
    signed_in(client, customer_a)

    refused = client.post("/portal/report/", report)

    assert refused.status_code == 400
    assert "Say whether the product was used." in body(refused)
    assert "Confirm that you have read the advice." in body(refused)
    assert "Stop using the product." in body(refused)
    assert Ticket.objects.count() == 0

    accepted = client.post(
        "/portal/report/",
        {
            **report,
            "quality-device_used": "true",
            "quality-symptoms": "无",
            "quality-complainant_sex": "female",
            "quality-complainant_age": "46",
            "quality-advice_read": "on",
        },
    )

    assert accepted.status_code == 302
    intake = QualityIntake.objects.get()
    assert (
        intake.ticket.kind,
        intake.ticket.channel,
        intake.device_used,
        intake.symptoms,
        intake.complainant_sex,
        intake.complainant_age,
        intake.batch_or_serial,
        intake.stop_use_advised,
        intake.stop_use_advised_at,
    ) == ("quality_complaint", "portal", True, "无", "female", 46, "KM8-A-001", True, RECEIVED)


def test_the_intake_service_refuses_a_portal_quality_complaint_without_the_advice_read(
    customer_a, hospital_a
):
    with pytest.raises(InvalidInputError) as refused:
        services.ticket_register(
            actor=customer_a,
            data={
                "kind": "quality_complaint",
                "channel": "portal",
                "organization": hospital_a,
                "reporter_name": "钱丽华",
                "reporter_email": "qian@sy1.example.cn",
                "description": "试纸读数异常",
            },
            quality={"device_used": True},
        )
    assert refused.value.fields["stop_use_advised"] == [
        "Read the advice to stop using that batch or serial until our review ends, and confirm "
        "that you have read it."
    ]


# --- the request page -----------------------------------------------------------------------------


def test_a_customer_adds_a_note_and_a_photo_that_the_staff_timeline_shows(
    client, customer_a, agent, hospital_a
):
    ticket = TicketFactory(organization=hospital_a)
    photo = png_bytes()

    response = signed_in(client, customer_a).post(
        f"/portal/requests/{ticket.pk}/note/",
        {
            "text": "黑屏前有焦糊味，照片见附件。",
            "file": SimpleUploadedFile("fault.png", photo, content_type="image/png"),
        },
    )

    assert (response.status_code, response["Location"]) == (302, f"/portal/requests/{ticket.pk}/")
    entry = ticket.timeline.get(kind="portal")
    assert (entry.text, entry.attachment_name, entry.attachment_type, entry.customer_visible) == (
        "黑屏前有焦糊味，照片见附件。",
        "fault.png",
        "image/png",
        True,
    )
    downloaded = client.get(f"/portal/requests/{ticket.pk}/files/{entry.pk}/")
    assert (downloaded.status_code, b"".join(downloaded.streaming_content)) == (200, photo)
    staff_page = body(signed_in(client, agent).get(f"/tickets/tickets/{ticket.pk}/"))
    assert "黑屏前有焦糊味，照片见附件。" in staff_page and "fault.png" in staff_page


def test_an_empty_note_is_explained(client, customer_a, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    response = signed_in(client, customer_a).post(f"/portal/requests/{ticket.pk}/note/", {})
    assert response.status_code == 400
    assert "Write a note or attach a file." in body(response)


def test_a_customer_agrees_to_the_proposed_solution(client, customer_a, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    ticket = services.ticket_acknowledge(ticket=ticket, actor=agent, note="已联系")
    services.ticket_propose_solution(ticket=ticket, actor=agent, solution="上门更换电源板")
    signed_in(client, customer_a)
    page = client.get(f"/portal/requests/{ticket.pk}/")
    assert portal_actions(page) == ["agree-solution"]
    assert "上门更换电源板" in body(page)

    response = client.post(f"/portal/requests/{ticket.pk}/action/agree-solution/")

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.solution_agreed_by, ticket.solution_agreed_at) == (
        Status.SOLUTION_AGREED,
        "王小明",
        ticket.solution_agreed_at,
    )
    assert ticket.solution_agreed_at is not None
    assert "Solution agreed by 王小明 (in the portal)." in body(
        client.get(f"/portal/requests/{ticket.pk}/")
    )


def test_a_customer_confirms_and_rates_in_one_step(client, clock, customer_a, agent, hospital_a):
    ticket = resolved(TicketFactory(organization=hospital_a), agent)
    signed_in(client, customer_a)
    assert portal_actions(client.get(f"/portal/requests/{ticket.pk}/")) == [
        "confirm",
        "reject-resolution",
    ]

    response = client.post(
        f"/portal/requests/{ticket.pk}/action/confirm/", {"rating": "5", "comment": "很及时"}
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (
        ticket.status,
        ticket.confirmation_method,
        ticket.confirmed_by_name,
        ticket.confirmed_at,
        ticket.confirmation_recorded_by,
        ticket.rating,
        ticket.rating_comment,
        ticket.rated_at,
    ) == (Status.CLOSED, "portal", "王小明", RECEIVED, None, 5, "很及时", RECEIVED)
    # Closed and rated: only a reopen is left (within the window).
    assert portal_actions(client.get(f"/portal/requests/{ticket.pk}/")) == ["reopen"]


def test_a_case_is_rated_once(client, customer_a, agent, hospital_a):
    ticket = resolved(TicketFactory(organization=hospital_a), agent)
    signed_in(client, customer_a)
    client.post(f"/portal/requests/{ticket.pk}/action/confirm/", {})
    assert portal_actions(client.get(f"/portal/requests/{ticket.pk}/")) == ["reopen", "rate"]
    assert (
        client.post(f"/portal/requests/{ticket.pk}/action/rate/", {"rating": "4"}).status_code
        == 302
    )

    again = client.post(
        f"/portal/requests/{ticket.pk}/action/rate/", {"rating": "1", "comment": "改主意了"}
    )

    assert again.status_code == 409
    assert "This request has already been rated; a case is rated once." in body(again)
    ticket.refresh_from_db()
    assert (ticket.rating, ticket.rating_comment) == (4, "")


def test_a_rating_given_with_a_late_confirmation_is_refused_when_already_rated(
    customer_a, agent, hospital_a
):
    from medservice.core.errors import InvalidTransitionError

    ticket = resolved(TicketFactory(organization=hospital_a), agent)
    services.ticket_rate(ticket=ticket, actor=customer_a, rating=3)

    with pytest.raises(InvalidTransitionError) as refused:
        services.ticket_confirm(ticket=ticket, actor=customer_a, rating=5)

    assert refused.value.message == "This request has already been rated; a case is rated once."
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating) == (Status.RESOLVED, 3)


def test_a_rejected_resolution_goes_back_to_work_with_a_new_resolution_clock(
    client, clock, customer_a, agent, hospital_a
):
    ticket = resolved(TicketFactory(organization=hospital_a), agent)
    clock.tick(2 * HOUR)
    rejected_at = RECEIVED + 2 * HOUR
    signed_in(client, customer_a)

    without_reason = client.post(f"/portal/requests/{ticket.pk}/action/reject-resolution/", {})
    assert without_reason.status_code == 400
    assert Ticket.objects.get(pk=ticket.pk).status == Status.RESOLVED

    response = client.post(
        f"/portal/requests/{ticket.pk}/action/reject-resolution/", {"reason": "仍然黑屏"}
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at, ticket.resolution_due_at) == (
        Status.IN_PROGRESS,
        None,
        rejected_at + 72 * HOUR,
    )
    new_clock = TicketClock.objects.get(ticket=ticket, target="resolution", cycle=2)
    assert (new_clock.started_at, new_clock.due_at, new_clock.met_at) == (
        rejected_at,
        rejected_at + 72 * HOUR,
        None,
    )
    assert "仍然黑屏" in body(client.get(f"/portal/requests/{ticket.pk}/"))


def test_an_action_not_allowed_now_is_refused_in_words(client, customer_a, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    response = signed_in(client, customer_a).post(
        f"/portal/requests/{ticket.pk}/action/confirm/", {"rating": "5"}
    )
    assert response.status_code == 409
    assert "is not possible while the record is New" in body(response)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_internal_notes_and_files_never_reach_the_customer(client, customer_a, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    services.ticket_comment(ticket=ticket, actor=agent, text="内部：怀疑电源板批次问题")
    internal_file = services.ticket_comment(
        ticket=ticket,
        actor=agent,
        attachment=SimpleUploadedFile("analysis.png", png_bytes(), content_type="image/png"),
    )
    services.ticket_comment(
        ticket=ticket, actor=agent, text="我们将派工程师上门", customer_visible=True
    )
    signed_in(client, customer_a)

    page = body(client.get(f"/portal/requests/{ticket.pk}/"))

    assert "我们将派工程师上门" in page
    assert "内部：怀疑电源板批次问题" not in page and "analysis.png" not in page
    assert "Registered (Phone)" not in page  # the desk's own intake note
    assert client.get(f"/portal/requests/{ticket.pk}/files/{internal_file.pk}/").status_code == 404


# --- who may use the portal -----------------------------------------------------------------------


def test_another_hospitals_customer_gets_404_for_every_portal_url_with_an_id(
    client, customer_a, customer_b, hospital_a, monitor
):
    ticket = TicketFactory(organization=hospital_a, device=monitor)
    entry = services.ticket_comment(
        ticket=ticket,
        actor=customer_a,
        text="照片",
        attachment=SimpleUploadedFile("fault.png", png_bytes(), content_type="image/png"),
    )
    own = signed_in(client.__class__(HTTP_ACCEPT_LANGUAGE="en"), customer_a)
    assert own.get(f"/portal/requests/{ticket.pk}/").status_code == 200
    assert own.get(f"/portal/devices/{monitor.pk}/").status_code == 200
    assert own.get(f"/portal/requests/{ticket.pk}/files/{entry.pk}/").status_code == 200
    signed_in(client, customer_b)

    answers = [
        client.get(f"/portal/requests/{ticket.pk}/").status_code,
        client.get(f"/portal/devices/{monitor.pk}/").status_code,
        client.get(f"/portal/requests/{ticket.pk}/files/{entry.pk}/").status_code,
        client.post(f"/portal/requests/{ticket.pk}/note/", {"text": "B 院"}).status_code,
        client.post(
            f"/portal/requests/{ticket.pk}/action/reject-resolution/", {"reason": "B 院"}
        ).status_code,
        client.get(f"/portal/report/?device={monitor.pk}").status_code,
    ]

    assert answers == [404, 404, 404, 404, 404, 200]
    assert f'value="{monitor.pk}"' not in body(client.get(f"/portal/report/?device={monitor.pk}"))
    assert ticket.timeline.filter(text="B 院").count() == 0
    refused = client.post(
        "/portal/report/", {"kind": "repair", "device": monitor.pk, "description": "借用 A 院设备"}
    )
    assert refused.status_code == 400
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("role", ["agent", "auditor", "distributor_engineer"])
def test_other_users_cannot_use_the_portal(client, request, role, hospital_a, monitor):
    user = request.getfixturevalue(role)
    ticket = TicketFactory(organization=hospital_a, device=monitor)
    signed_in(client, user)

    answers = [
        client.get(url).status_code
        for url in (
            "/portal/",
            "/portal/history/",
            "/portal/report/",
            f"/portal/requests/{ticket.pk}/",
            f"/portal/devices/{monitor.pk}/",
        )
    ]

    assert answers == [404, 404, 404, 404, 404]


def test_signing_in_comes_first(client, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    response = client.get(f"/portal/requests/{ticket.pk}/")
    assert (response.status_code, response["Location"]) == (
        302,
        f"/accounts/login/?next=/portal/requests/{ticket.pk}/",
    )
