"""/api/v1/returns/: a customer requests, staff take each step as an action; refusals answer 400
(bad input, fields named), 403 (role), 409 (state or hold) with the error body; another
organisation's customer gets 404."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.accounts.choices import Role
from medservice.installed_base.choices import HoldKind, HoldScope
from medservice.returns.models import ReturnRequest
from tests.factories import user_with_role
from tests.installed_base.factories import HoldFactory
from tests.returns.conftest import pdf_stream
from tests.returns.factories import ReturnRequestFactory

pytestmark = pytest.mark.django_db


def requested(api, customer_a, device) -> dict:
    response = api.as_user(customer_a).post(
        "/api/v1/returns/",
        {
            "reason": "faulty",
            "fault_description": "开机黑屏",
            "delivery_reference": "FP-001",
            "lines": [{"device": device.pk, "condition": "opened"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_customer_requests_and_staff_carry_out_an_exchange(
    api, customer_a, agent, manager, keeper, device, exchange_lot, central, quarantine
):
    body = requested(api, customer_a, device)
    assert (body["status"], body["number"], body["device"]) == ("requested", None, device.pk)
    assert body["organization"] == device.organization_id
    url = f"/api/v1/returns/{body['id']}"

    response = api.as_user(agent).post(
        f"{url}/evaluate/", {"cause": "transport_damage", "evaluation": "外壳破裂"}, format="json"
    )
    assert response.json()["responsibility"] == "carrier"
    response = api.as_user(manager).post(f"{url}/approve-exchange/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["number"].startswith("RMA-")
    response = api.as_user(keeper).post(
        f"{url}/receive/",
        {"location": quarantine.pk, "inspection_result": "as_described"},
        format="json",
    )
    assert response.json()["status"] == "received"
    line = response.json()["lines"][0]["id"]
    response = api.as_user(keeper).post(
        f"{url}/ship-exchange/",
        {"location": central.pk, "units": [{"line": line, "lot": exchange_lot.pk}],
         "shipment_reference": "SF123"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    exchanged = response.json()["exchange_units"][0]
    assert exchanged["old_device"] == device.pk
    assert exchanged["new_device"] is not None
    response = api.as_user(manager).post(f"{url}/close/", {}, format="json")
    assert response.json()["status"] == "closed"

    # The customer follows it.
    assert api.as_user(customer_a).get(f"{url}/").json()["status"] == "closed"


def test_a_wrong_state_answers_409(api, customer_a, agent, finance, device):
    body = requested(api, customer_a, device)
    response = api.as_user(finance).post(
        f"/api/v1/returns/{body['id']}/refund/",
        {"amount": "10.00", "method": "cash", "paid_on": "2026-01-01", "reference": "X"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_a_rejection_without_reason_answers_400_naming_the_field(api, customer_a, manager, device):
    body = requested(api, customer_a, device)
    response = api.as_user(manager).post(f"/api/v1/returns/{body['id']}/reject/", {},
                                         format="json")  # fmt: skip
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]
    assert ReturnRequest.objects.get().status == "requested"


def test_a_customer_may_not_decide(api, customer_a, device):
    body = requested(api, customer_a, device)
    response = api.as_user(customer_a).post(
        f"/api/v1/returns/{body['id']}/reject/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 403


def test_a_held_batch_answers_409_on_hold(api, customer_a, agent, manager, device, monitor_model):
    body = requested(api, customer_a, device)
    url = f"/api/v1/returns/{body['id']}"
    api.as_user(agent).post(f"{url}/evaluate/", {"cause": "use_error", "evaluation": "操作不当"},
                            format="json")  # fmt: skip
    HoldFactory(scope=HoldScope.BATCH, kind=HoldKind.QUALITY_REVIEW, device_model=monitor_model,
                batch_number="2603", reason="批次复核中")  # fmt: skip
    response = api.as_user(manager).post(f"{url}/approve-refund/", {"refund_kind": "full"},
                                         format="json")  # fmt: skip
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "on_hold"
    assert "批次复核中" in response.json()["error"]["message"]


def test_another_organisation_s_customer_gets_404(api, customer_a, hospital_b, device):
    body = requested(api, customer_a, device)
    stranger = user_with_role(Role.CUSTOMER_USER, hospital_b, username="customer_b")
    client = api.as_user(stranger)
    assert client.get(f"/api/v1/returns/{body['id']}/").status_code == 404
    response = client.post(f"/api/v1/returns/{body['id']}/attach/",
                           {"kind": "invoice", "file": pdf_stream()}, format="multipart")  # fmt: skip
    assert response.status_code == 404
    assert client.get("/api/v1/returns/").json()["count"] == 0


def test_a_proof_is_attached_through_the_api(api, customer_a, device):
    body = requested(api, customer_a, device)
    upload = pdf_stream()
    upload.name = "发票.pdf"
    response = api.as_user(customer_a).post(
        f"/api/v1/returns/{body['id']}/attach/", {"kind": "invoice", "file": upload},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json()["original_name"] == "发票.pdf"


def test_bad_lines_are_named(api, customer_a, device):
    response = api.as_user(customer_a).post(
        "/api/v1/returns/",
        {"reason": "faulty", "fault_description": "x",
         "lines": [{"device": device.pk, "condition": "opened", "quantity": 3}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "lines.1.quantity" in response.json()["error"]["fields"]
    assert not ReturnRequest.objects.exists()


def test_the_list_filters_and_answers_in_a_fixed_number_of_queries(api, manager, hospital_a):
    client = api.as_user(manager)
    ReturnRequestFactory.create_batch(2, organization=hospital_a)
    client.get("/api/v1/returns/")  # warm caches (permissions, content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/returns/").json()["count"] == 2
    ReturnRequestFactory.create_batch(4, organization=hospital_a)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/returns/").json()["count"] == 6
    assert len(many) == len(few)
    assert client.get("/api/v1/returns/", {"status": "closed"}).json()["count"] == 0
