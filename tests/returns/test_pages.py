"""The pages: the customer's request form in the portal with the proof upload and the return's
progress page; the staff record page with its action forms; an agent's request form; the
report with its exports. Another organisation's customer gets 404 everywhere."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from medservice.accounts.choices import Role
from medservice.returns.models import ReturnRequest
from tests.factories import user_with_role
from tests.returns.conftest import PDF, request_monitor

pytestmark = pytest.mark.django_db


def test_a_customer_requests_a_return_in_the_portal_with_the_invoice(client, customer_a, device):
    client.force_login(customer_a)
    page = client.get("/portal/returns/new/")
    assert page.status_code == 200
    assert 'id="portal-return-form"' in page.content.decode()

    response = client.post(
        "/portal/returns/new/",
        {
            "line_1_device": device.pk,
            "line_1_quantity": 1,
            "line_1_condition": "opened",
            "reason": "faulty",
            "fault_description": "开机后屏幕黑屏",
            "delivery_reference": "",
            "proof": SimpleUploadedFile("发票.pdf", PDF, content_type="application/pdf"),
        },
    )
    record = ReturnRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/returns/{record.pk}/"
    assert record.requested_by == customer_a
    assert record.channel == "portal"
    assert record.files.get().kind == "invoice"
    assert record.eligible is True

    progress = client.get(response["Location"]).content.decode()
    assert 'id="portal-return-status"' in progress
    assert "we will evaluate it" in progress
    assert "发票.pdf" in progress
    listing = client.get("/portal/returns/").content.decode()
    # The portal's tabs lead to the returns, marked as the page the customer is on
    assert 'href="/portal/returns/" id="portal-nav-returns" aria-current="page"' in listing
    assert 'id="portal-nav-returns"' in client.get("/portal/").content.decode()


def test_the_portal_form_names_what_is_missing_and_saves_nothing(client, customer_a, device):
    client.force_login(customer_a)
    response = client.post("/portal/returns/new/", {"reason": "faulty"})
    assert response.status_code == 400
    content = response.content.decode()
    assert "Name at least one product to return." in content
    assert not ReturnRequest.objects.exists()


def test_another_organisation_s_customer_gets_404(client, customer_a, hospital_b, device):
    record = request_monitor(customer_a, device)
    stranger = user_with_role(Role.CUSTOMER_USER, hospital_b, username="customer_b")
    client.force_login(stranger)
    for url in (f"/portal/returns/{record.pk}/", f"/returns/{record.pk}/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/returns/{record.pk}/act/evaluate/", {}).status_code == 404
    assert client.post(f"/returns/{record.pk}/attach/", {}).status_code == 404


def test_staff_take_the_steps_on_the_record_page(client, agent, manager, device):
    record = request_monitor(agent, device)
    client.force_login(agent)
    page = client.get(f"/returns/{record.pk}/").content.decode()
    assert 'id="form-evaluate"' in page
    assert 'id="form-reject"' not in page  # the manager decides

    response = client.post(
        f"/returns/{record.pk}/act/evaluate/",
        {"cause": "use_error", "responsibility": "", "evaluation": "操作不当"},
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.responsibility) == ("evaluated", "customer")

    client.force_login(manager)
    refused = client.post(f"/returns/{record.pk}/act/reject/", {"reason": ""})
    assert refused.status_code == 400
    assert "Say why the return is rejected" in refused.content.decode()
    record.refresh_from_db()
    assert record.status == "evaluated"
    done = client.post(f"/returns/{record.pk}/act/reject/", {"reason": "人为损坏，不予退货"})
    assert done.status_code == 302
    record.refresh_from_db()
    assert record.status == "rejected"


def test_an_agent_records_a_request_received_by_phone(client, agent, device, hospital_a):
    client.force_login(agent)
    assert client.get("/returns/new/").status_code == 200
    response = client.post(
        "/returns/new/",
        {
            "organization": hospital_a.pk,
            "channel": "phone",
            "requested_on": "2026-01-05",
            "line_1_device": device.pk,
            "line_1_quantity": 1,
            "line_1_condition": "damaged",
            "reason": "damaged_on_arrival",
            "fault_description": "到货外壳破损",
            "delivery_reference": "FP-001",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    record = ReturnRequest.objects.get()
    assert (record.channel, record.requested_by) == ("phone", agent)


def test_the_staff_list_and_the_report(client, manager, agent, device):
    record = request_monitor(agent, device)
    client.force_login(manager)
    listing = client.get("/returns/").content.decode()
    assert f"/returns/{record.pk}/" in listing
    report = client.get("/returns/report/", {"group": "reason"})
    assert report.status_code == 200
    assert "Faulty or not working" in report.content.decode()
    export = client.get("/returns/report/", {"group": "device_model", "export": "csv"})
    content = b"".join(export.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    assert "病人监护仪 KM-8" in content
    xlsx = client.get("/returns/report/", {"group": "month", "export": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_returns_in_the_navigation_lead_each_to_their_own_page(client, customer_a, manager):
    client.force_login(customer_a)
    assert client.get("/returns/home/")["Location"] == "/portal/returns/"
    client.force_login(manager)
    assert client.get("/returns/home/")["Location"] == "/returns/"


def test_the_pages_read_in_chinese(client, customer_a, device):
    client.force_login(customer_a)
    record = request_monitor(customer_a, device)
    response = client.get(f"/portal/returns/{record.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
