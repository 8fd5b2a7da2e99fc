"""The tickets API: register, act, and read the timeline, as the API map in DESIGN.md says."""

from __future__ import annotations

import io

import pytest

from medservice.core.models import AuditEvent
from medservice.tickets.models import Ticket
from tests.tickets.conftest import RECEIVED
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_an_agent_registers_a_request_and_reads_its_due_times(api, agent, hospital_a, caller):
    response = api.as_user(agent).post(
        "/api/v1/tickets/",
        {
            "kind": "repair",
            "channel": "phone",
            "organization": hospital_a.pk,
            "contact": caller.pk,
            "subject": "呼吸机报警",
            "description": "呼吸机气道压力高报警。",
            "received_at": RECEIVED.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["status"], body["first_response_due_at"]) == (
        "BX-2026-000001",
        "new",
        "2026-03-03T17:00:00+08:00",
    )
    assert [clock["target"] for clock in body["clocks"]] == ["first_response", "plan", "resolution"]


def test_bad_intake_names_the_fields_and_saves_nothing(api, agent, hospital_a):
    response = api.as_user(agent).post(
        "/api/v1/tickets/",
        {"kind": "repair", "channel": "phone", "organization": hospital_a.pk, "description": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert sorted(response.json()["error"]["fields"]) == ["reporter_name", "reporter_phone"]
    assert Ticket.objects.count() == 0


def test_an_action_in_the_wrong_state_answers_409_and_changes_nothing(api, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    response = api.as_user(agent).post(
        f"/api/v1/tickets/{ticket.pk}/resolve/",
        {"resolution_type": "repair", "resolution": "已修复"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_an_action_without_its_input_answers_400(api, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    response = api.as_user(agent).post(
        f"/api/v1/tickets/{ticket.pk}/acknowledge/", {}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["note"]


def test_acknowledge_through_the_api(api, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    response = api.as_user(agent).post(
        f"/api/v1/tickets/{ticket.pk}/acknowledge/", {"note": "已联系设备科"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "acknowledged"


def test_a_customer_cannot_confirm_a_new_request(api, customer_a, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    response = api.as_user(customer_a).post(
        f"/api/v1/tickets/{ticket.pk}/confirm/", {}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_a_customer_sees_only_the_customer_visible_timeline(api, agent, customer_a, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    api.as_user(agent).post(
        f"/api/v1/tickets/{ticket.pk}/comments/", {"text": "内部：疑似批次问题"}, format="json"
    )
    response = api.as_user(customer_a).get(f"/api/v1/tickets/{ticket.pk}/timeline/")
    kinds = [entry["kind"] for entry in response.json()["results"]]
    assert kinds == ["message"]
    staff = api.as_user(agent).get(f"/api/v1/tickets/{ticket.pk}/timeline/").json()["results"]
    assert [entry["text"] for entry in staff if entry["kind"] in ("note", "call")] == [
        "内部：疑似批次问题",
        "Registered (Phone): 输液泵报警",
    ]


def test_a_photo_is_accepted_and_a_renamed_text_file_is_refused(api, customer_a, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    client = api.as_user(customer_a)
    photo = io.BytesIO(PNG)
    photo.name = "报警屏幕.png"
    response = client.post(
        f"/api/v1/tickets/{ticket.pk}/comments/", {"file": photo}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["attachment_type"], response.json()["customer_visible"]) == (
        "image/png",
        True,
    )
    fake = io.BytesIO(b"#!/bin/sh\necho not a picture\n")
    fake.name = "photo.png"
    refused = client.post(
        f"/api/v1/tickets/{ticket.pk}/comments/", {"file": fake}, format="multipart"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "photo.png is not a photo, video or PDF (found: unknown content); those are the files "
        "accepted as evidence."
    )
    download = client.get(response.json()["file_url"])
    assert (download.status_code, b"".join(download.streaming_content)) == (200, PNG)


def test_phones_are_masked_and_unmasking_is_audited(api, agent, hospital_a):
    ticket = TicketFactory(
        organization=hospital_a, contact=None, reporter_name="王先生", reporter_phone="13812345678"
    )
    body = api.as_user(agent).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert body["reporter_phone"] == "138****5678"
    shown = api.as_user(agent).post(
        f"/api/v1/tickets/{ticket.pk}/unmask/", {"field": "reporter_phone"}, format="json"
    )
    assert shown.json() == {"value": "13812345678"}
    assert (
        AuditEvent.objects.filter(
            object_type="tickets.ticket", object_id=str(ticket.pk), action="unmask"
        ).count()
        == 1
    )


def test_a_customer_of_another_hospital_gets_404(api, hospital_a, hospital_b):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    other = user_with_role(Role.CUSTOMER_USER, hospital_b)
    ticket = TicketFactory(organization=hospital_a)
    assert api.as_user(other).get(f"/api/v1/tickets/{ticket.pk}/").status_code == 404
    assert (
        api.as_user(other).post(f"/api/v1/tickets/{ticket.pk}/rate/", {"rating": 5}).status_code
        == 404
    )


def test_the_list_shows_each_targets_times_with_a_fixed_number_of_queries(
    api, agent, hospital_a, django_assert_max_num_queries
):
    TicketFactory(organization=hospital_a)
    client = api.as_user(agent)
    row = client.get("/api/v1/tickets/", {"ordering": "next_due_at"}).json()["results"][0]
    assert sorted(row["sla"]) == ["first_response", "plan", "resolution"]
    assert row["sla"]["first_response"]["met_at"] is None
    assert row["sla"]["first_response"]["due_at"] == row["first_response_due_at"]
    for _ in range(10):
        TicketFactory(organization=hospital_a)
    with django_assert_max_num_queries(9):
        response = client.get("/api/v1/tickets/", {"ordering": "next_due_at", "status": "new"})
    assert response.json()["count"] == 11


def test_a_distributor_engineer_registers_requests_only_for_the_customers_it_serves(
    api, distributor_engineer, distributor, hospital_a, hospital_b
):
    hospital_a.served_by.add(distributor)
    client = api.as_user(distributor_engineer)
    request = {
        "kind": "repair",
        "channel": "phone",
        "reporter_name": "王工",
        "reporter_phone": "13812345678",
        "description": "超声探头图像有条纹。",
    }
    served = client.post(
        "/api/v1/tickets/", {**request, "organization": hospital_a.pk}, format="json"
    )
    assert served.status_code == 201, served.json()
    assert served.json()["organization"] == hospital_a.pk
    other = client.post(
        "/api/v1/tickets/", {**request, "organization": hospital_b.pk}, format="json"
    )
    assert other.status_code == 400
    assert list(other.json()["error"]["fields"]) == ["organization"]
    assert Ticket.objects.count() == 1


def test_an_action_body_that_is_not_an_object_answers_400(api, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    response = api.as_user(agent).post(
        f"/api/v1/tickets/{ticket.pk}/acknowledge/", ["note"], format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Send the action's inputs as one JSON object."


def test_a_customers_request_through_the_api_is_a_portal_request_received_now(
    api, customer_a, hospital_a, clock
):
    response = api.as_user(customer_a).post(
        "/api/v1/tickets/",
        {
            "kind": "repair",
            "channel": "regulator",
            "organization": hospital_a.pk,
            "reporter_name": "钱丽华",
            "reporter_email": "qianlh@sy1.example.cn",
            "description": "监护仪黑屏。",
            "received_at": "2026-01-01T08:00:00+08:00",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.received_at) == ("portal", RECEIVED)
