"""Inbound intake (issue 12): a call centre or WeChat bridge registers requests with its API
token at POST /api/v1/intake/tickets/; its own reference makes a delivery idempotent."""

from __future__ import annotations

import io
import os
import threading

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from medservice.tickets.models import IntakeReference, Ticket
from tests.factories import ContactFactory, OrganizationFactory, UserFactory
from tests.installed_base.factories import DeviceFactory
from tests.tickets.conftest import RECEIVED

pytestmark = pytest.mark.django_db

URL = "/api/v1/intake/tickets/"


def integration_account(company, username="callcentre"):
    user = UserFactory(username=username, organization=company, language="en")
    user.groups.add(Group.objects.get(name="integration"))
    return user


@pytest.fixture
def callcentre(company):
    return integration_account(company)


def call(api, user, **overrides):
    body = {
        "external_id": "CALL-20260302-0001",
        "channel": "phone",
        "kind": "repair",
        "caller_name": "钱丽华",
        "caller_phone": "139 1662 4875",
        "subject": "呼吸机报警",
        "description": "呼吸机气道压力高报警。",
        "received_at": RECEIVED.isoformat(),
        **overrides,
    }
    # None leaves a field out.
    body = {key: value for key, value in body.items() if value is not None}
    return api.as_user(user).post(URL, body, format="json")


# --- creating ---------------------------------------------------------------------------------


def test_a_call_becomes_a_request_with_its_caller_matched_and_its_clocks_running(
    api, callcentre, hospital_a, caller, clock
):
    # Given a known contact (钱丽华, 13916624875) at hospital A
    # When the call centre sends her call, her number written with spaces
    response = call(api, callcentre)
    # Then a request is registered for her and her hospital, its promises running
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in ("number", "kind", "channel", "status", "created")} == {
        "number": "BX-2026-000001",
        "kind": "repair",
        "channel": "phone",
        "status": "new",
        "created": True,
    }
    assert (body["contact"], body["organization"], body["device"]) == (
        caller.pk,
        hospital_a.pk,
        None,
    )
    assert body["external_id"] == "CALL-20260302-0001"
    assert body["first_response_due_at"] == "2026-03-03T17:00:00+08:00"
    ticket = Ticket.objects.get()
    assert (ticket.received_by, ticket.reporter_phone, ticket.received_at) == (
        callcentre,
        "139 1662 4875",
        RECEIVED,
    )
    assert sorted(ticket.clocks.values_list("target", flat=True)) == [
        "first_response",
        "plan",
        "resolution",
    ]
    assert ticket.timeline.filter(
        kind="note",
        text="Received from callcentre under its reference CALL-20260302-0001.",
        actor=callcentre,
    ).exists()


def test_the_device_and_customer_code_find_the_unit_and_its_owner(api, callcentre, clock):
    hospital = OrganizationFactory(name="县人民医院", credit_code="91330100MA2B3C4D5E")
    device = DeviceFactory(organization=hospital, serial_number="KM8-2303-00101")
    response = call(
        api,
        callcentre,
        caller_phone="13800000000",
        serial_number="km8-2303-00101",
        customer_code="91330100ma2b3c4d5e",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["organization"], body["device"], body["contact"]) == (
        hospital.pk,
        device.pk,
        None,
    )
    ticket = Ticket.objects.get()
    assert (ticket.serial_reported, ticket.device_model_id) == (
        "km8-2303-00101",
        device.device_model_id,
    )


def test_a_customer_code_that_contradicts_the_device_keeps_the_owner_and_says_so(
    api, callcentre, clock
):
    owner = OrganizationFactory(name="市第二人民医院")
    other = OrganizationFactory(name="县中医院", credit_code="91330100MA2B3C4D5E")
    DeviceFactory(organization=owner, serial_number="KM8-2303-00102")
    response = call(
        api, callcentre, serial_number="KM8-2303-00102", customer_code="91330100MA2B3C4D5E"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["organization"] == owner.pk
    ticket = Ticket.objects.get()
    assert ticket.timeline.filter(
        kind="note",
        customer_visible=False,
        text=(
            f"The customer code 91330100MA2B3C4D5E names {other}, but device KM8-2303-00102 "
            f"belongs to {owner}; the device's owner was kept."
        ),
    ).exists()


def test_a_wechat_message_keeps_the_wechat_id_encrypted_and_guesses_the_kind(
    api, callcentre, clock
):
    response = call(
        api,
        callcentre,
        external_id="wx-msg-7781",
        channel="wechat",
        kind=None,
        caller_phone="",
        caller_email="li@example.cn",
        caller_wechat_id="wxid_li_2026",
        subject="",
        description="我要投诉：维修工程师三天没来。",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["channel"], body["number"]) == (
        "complaint",
        "wechat",
        "TS-2026-000001",
    )
    reference = IntakeReference.objects.get()
    assert (reference.external_id, reference.caller_wechat_id) == ("wx-msg-7781", "wxid_li_2026")
    with connection.cursor() as cursor:
        cursor.execute("SELECT caller_wechat_id FROM tickets_intakereference")
        stored = cursor.fetchone()[0]
    assert "wxid_li_2026" not in stored
    assert Ticket.objects.get().subject == "我要投诉：维修工程师三天没来。"


# --- idempotency ------------------------------------------------------------------------------


def test_the_same_reference_again_returns_the_same_request_with_200(api, callcentre, caller, clock):
    first = call(api, callcentre)
    again = call(api, callcentre, description="(resent after a timeout)")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"] == "BX-2026-000001"
    assert again.json()["created"] is False
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().description == "呼吸机气道压力高报警。"


def test_the_same_reference_from_another_integration_is_another_request(
    api, company, callcentre, caller, clock
):
    bridge = integration_account(company, username="wechatbridge")
    first = call(api, callcentre)
    second = call(api, bridge)
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["number"], second.json()["number"]) == (
        "BX-2026-000001",
        "BX-2026-000002",
    )


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers; the race needs a server database",
)
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_reference_at_once_make_one_request(company, hospital_a):
    from rest_framework.authtoken.models import Token

    ContactFactory(organization=hospital_a, name="钱丽华", phone="13916624875")
    token = Token.objects.create(user=integration_account(company)).key
    barrier = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def deliver() -> None:
        try:
            client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            barrier.wait()
            response = client.post(
                URL,
                {
                    "external_id": "CALL-RACE-1",
                    "channel": "phone",
                    "kind": "repair",
                    "caller_phone": "13916624875",
                    "description": "监护仪黑屏。",
                },
                format="json",
            )
            answers.append((response.status_code, response.json()["number"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _number in answers) == [200, 201]
    assert {number for _status, number in answers} == {Ticket.objects.get().number}
    assert IntakeReference.objects.count() == 1


# --- refusals ---------------------------------------------------------------------------------


def test_bad_fields_are_named_and_nothing_is_saved(api, callcentre, clock):
    response = call(
        api,
        callcentre,
        external_id=" ",
        channel="portal",
        caller_phone="1234",
        caller_email="not-an-address",
        description="",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert sorted(error["fields"]) == [
        "caller_email",
        "caller_phone",
        "channel",
        "description",
        "external_id",
    ]
    assert error["fields"]["channel"] == ['"portal" is not a valid choice.']
    assert error["fields"]["caller_phone"] == [
        "1234 is not a valid phone number: write a mobile (138 1234 5678), a landline with its "
        "area code (021 6543 2100) or +country code."
    ]
    assert (Ticket.objects.count(), IntakeReference.objects.count()) == (0, 0)


def test_what_the_service_refuses_is_named_with_the_api_fields_and_nothing_is_saved(
    api, callcentre, clock
):
    # Given nobody to call back: no name, no phone, no e-mail, and no known contact
    response = call(api, callcentre, caller_name="", caller_phone="")
    # Then the service's refusal names the intake's own fields; no reference is left behind
    assert response.status_code == 400
    error = response.json()["error"]
    assert sorted(error["fields"]) == ["caller_name", "caller_phone"]
    assert error["message"] == "The request cannot be registered: caller_name, caller_phone."
    assert (Ticket.objects.count(), IntakeReference.objects.count()) == (0, 0)
    # And the same reference, corrected, registers afterwards
    assert call(api, callcentre).status_code == 201


def test_a_quality_complaint_by_phone_needs_the_stop_use_advice(api, callcentre, caller, clock):
    refused = call(api, callcentre, kind="quality_complaint")
    assert refused.status_code == 400
    assert list(refused.json()["error"]["fields"]) == ["stop_use_advised"]
    accepted = call(api, callcentre, kind="quality_complaint", stop_use_advised=True)
    assert accepted.status_code == 201, accepted.json()
    assert Ticket.objects.get().quality_intake.stop_use_advised is True


def test_errors_are_translated(api, callcentre, clock):
    client = api.as_user(callcentre)
    response = client.post(
        URL,
        {"external_id": "x", "channel": "phone"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["description"] == ["该字段是必填项。"]


# --- who may -----------------------------------------------------------------------------------


def test_only_an_integration_account_with_a_token_may_send(api, agent, callcentre, client):
    assert call(api, agent).status_code == 403
    assert api.anonymous().post(URL, {}, format="json").status_code == 401
    # A signed-in session is not enough: the endpoint takes tokens only.
    client.force_login(callcentre)
    assert client.post(URL, {}, content_type="application/json").status_code == 401
    assert Ticket.objects.count() == 0


@override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                   "intake": "2/minute"},
    }
)  # fmt: skip
def test_each_integration_account_is_rate_limited(api, company, callcentre, caller, clock):
    statuses = [call(api, callcentre, external_id=f"CALL-{n}").status_code for n in range(3)]
    assert statuses == [201, 201, 429]
    assert call(api, callcentre, external_id="CALL-9").json()["error"]["code"] == "throttled"
    # Another account has its own allowance.
    bridge = integration_account(company, username="wechatbridge")
    assert call(api, bridge, external_id="CALL-9").status_code == 201


def test_the_intake_account_command_makes_a_token_only_service_user(api, company, caller, clock):
    out = io.StringIO()
    call_command("intake_account", "callcentre", stdout=out)
    token = out.getvalue().strip()
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.post(
        URL,
        {
            "external_id": "c-1",
            "channel": "phone",
            "caller_phone": "13916624875",
            "description": "黑屏",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    account = Ticket.objects.get().received_by
    assert (account.username, account.roles, account.has_usable_password()) == (
        "callcentre",
        {"integration"},
        False,
    )
    again = io.StringIO()
    call_command("intake_account", "callcentre", stdout=again)
    assert again.getvalue().strip() == token


def test_anonymising_the_request_erases_the_callers_wechat_id(api, callcentre, clock):
    import datetime

    from medservice.core.anonymisation import record_anonymise

    response = call(api, callcentre, channel="wechat", caller_wechat_id="wxid_li_2026")
    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get()
    outcome = record_anonymise(ticket, today=datetime.date(2040, 1, 1))
    assert outcome.skipped == "", outcome
    assert IntakeReference.objects.get().caller_wechat_id == ""
    assert IntakeReference.objects.get().external_id == "CALL-20260302-0001"
