"""SLA policies as configuration: an administrator sets an organisation's promise in business
hours on the China calendar (page and API), the requests registered afterwards follow it, and
what cannot be saved is refused with the field named."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from medservice.core.calendars import calendar_default_ensure
from medservice.core.models import AuditEvent
from medservice.tickets.models import SlaPolicy, SlaPolicyTarget
from medservice.tickets.sla import DEFAULT_POLICY_NAME, default_policy
from tests.factories import ContactFactory
from tests.tickets.conftest import register

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 9 March 2026, 09:00 in Shanghai: 7.5 working hours left that day (08:30-17:30 with
# 12:00-13:00 off).
MONDAY_0900 = datetime.datetime(2026, 3, 9, 9, 0, tzinfo=SHANGHAI)
# Monday 16 March 2026, 16:00: 1.5 working hours left that day.
MONDAY_1600 = datetime.datetime(2026, 3, 16, 16, 0, tzinfo=SHANGHAI)
LIST_URL = "/tickets/sla-policies/"
API_URL = "/api/v1/sla-policies/"


def local(moment):
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


@pytest.fixture
def cn(db):
    return calendar_default_ensure()


def page_data(**overrides):
    """The form as the browser sends it: every target empty unless given."""
    data = {
        "name": "市一院 工作时间承诺",
        "active": "on",
        "organization": "",
        "device_model": "",
        "risk_class": "",
        "sla_tier": "",
        "priority": "",
        "calendar": "",
    }
    for target in ("first_response", "plan", "resolution", "onsite"):
        data[f"{target}_hours"] = ""
        data[f"{target}_counting"] = "calendar"
    data.update(overrides)
    return data


def call(agent, organization, received_at):
    """A complaint phoned in by a contact of the organisation, received at `received_at`."""
    contact = ContactFactory(organization=organization, language="en")
    with freeze_time(received_at):
        return register(agent, organization, contact, received_at=received_at)


def policy_with(name, *, calendar=None, **criteria):
    policy = SlaPolicy.objects.create(name=name, calendar=calendar, **criteria)
    SlaPolicyTarget.objects.create(policy=policy, target="first_response", hours=4)
    return policy


# --- the page ------------------------------------------------------------------------------------


def test_an_administrator_sets_an_organisations_business_hour_promise_on_the_page(
    client, administrator, agent, hospital_a, hospital_b, cn
):
    client.force_login(administrator)

    response = client.post(
        f"{LIST_URL}new/",
        page_data(
            organization=str(hospital_a.pk),
            calendar=str(cn.pk),
            first_response_hours="4",
            first_response_counting="business",
            plan_hours="12",
            plan_counting="business",
            plan_pause_states=["waiting_customer"],
        ),
    )

    policy = SlaPolicy.objects.get(name="市一院 工作时间承诺")
    assert response.status_code == 302
    assert response["Location"] == f"{LIST_URL}{policy.pk}/"
    assert policy.organization == hospital_a
    assert policy.calendar == cn
    assert sorted(policy.targets.values_list("target", "hours", "counting", "pause_states")) == [
        ("first_response", 4, "business", []),
        ("plan", 12, "business", ["waiting_customer"]),
    ]
    assert AuditEvent.objects.filter(object_type="tickets.slapolicytarget").count() == 2

    ticket = call(agent, hospital_a, MONDAY_0900)
    other = call(agent, hospital_b, MONDAY_0900)
    # 4 business hours: 09:00-12:00, then 13:00-14:00.
    assert local(ticket.first_response_due_at) == datetime.datetime(2026, 3, 9, 14, 0)
    # 12 business hours: 7.5 on Monday, then 08:30-12:00 and 13:00-14:00 on Tuesday.
    assert local(ticket.plan_due_at) == datetime.datetime(2026, 3, 10, 14, 0)
    # Resolution left empty: the default promise, 72 calendar hours.
    assert local(ticket.resolution_due_at) == datetime.datetime(2026, 3, 12, 9, 0)
    clock = ticket.clocks.get(target="plan")
    assert (clock.policy, clock.counting, clock.calendar_code) == (policy, "business", "CN")
    # Another organisation keeps the default promise.
    assert local(other.first_response_due_at) == datetime.datetime(2026, 3, 10, 9, 0)


def test_the_page_shows_the_criteria_and_the_targets(client, administrator, hospital_a, cn):
    policy = SlaPolicy.objects.create(
        name="市一院 工作时间承诺", organization=hospital_a, priority="urgent", calendar=cn
    )
    SlaPolicyTarget.objects.create(policy=policy, target="onsite", hours=6, counting="business")
    client.force_login(administrator)

    listing = client.get(LIST_URL).content.decode()
    detail = client.get(f"{LIST_URL}{policy.pk}/").content.decode()

    assert "organisation: 市第一人民医院; priority: Urgent" in listing
    assert "6 h" in listing and "Business hours" in listing
    assert "Not set: the default promise applies." in detail
    assert "does not move the due times of requests already registered" in detail


def test_the_edit_form_says_that_running_clocks_keep_their_promise(client, administrator, cn):
    policy = policy_with("夜间承诺")
    client.force_login(administrator)

    response = client.get(f"{LIST_URL}{policy.pk}/edit/")

    assert response.status_code == 200
    assert "does not move the due times of requests already registered" in (
        response.content.decode()
    )
    assert response.context["form"]["first_response_hours"].value() == 4


def test_hours_of_zero_are_refused_on_the_page_with_the_field_named(client, administrator):
    client.force_login(administrator)

    response = client.post(f"{LIST_URL}new/", page_data(first_response_hours="0"))

    assert response.status_code == 400
    assert response.context["form"].errors["first_response_hours"] == [
        "First response: the hours must be more than 0 and at most 8760 (a year)."
    ]
    assert not SlaPolicy.objects.filter(name="市一院 工作时间承诺").exists()


def test_business_hours_without_a_calendar_are_refused_on_the_page(client, administrator):
    client.force_login(administrator)

    response = client.post(
        f"{LIST_URL}new/", page_data(resolution_hours="24", resolution_counting="business")
    )

    assert response.status_code == 400
    assert response.context["form"].errors["calendar"] == [
        "Business calendar: choose one; Resolution counted in business hours."
    ]


def test_the_default_policy_cannot_be_deleted_on_the_page(client, administrator):
    policy = default_policy()
    client.force_login(administrator)

    response = client.post(f"{LIST_URL}{policy.pk}/delete/", {"reason": "清理"})

    assert response.status_code == 409
    assert "The default policy cannot be deleted" in response.content.decode()
    assert SlaPolicy.objects.filter(name=DEFAULT_POLICY_NAME).exists()


def test_an_unused_policy_is_deleted_with_its_targets_and_audited(client, administrator):
    policy = policy_with("试行承诺")
    client.force_login(administrator)

    response = client.post(f"{LIST_URL}{policy.pk}/delete/", {"reason": "试行结束"})

    assert response.status_code == 302
    assert not SlaPolicy.objects.filter(pk=policy.pk).exists()
    assert not SlaPolicyTarget.objects.filter(policy_id=policy.pk).exists()
    deleted = AuditEvent.objects.filter(object_type="tickets.slapolicy", object_id=str(policy.pk))
    assert deleted.order_by("id").last().reason == "试行结束"


def test_a_service_manager_reads_the_policies_but_gets_no_form(client, manager):
    policy = policy_with("夜间承诺")
    client.force_login(manager)

    assert client.get(LIST_URL).status_code == 200
    assert client.get(f"{LIST_URL}{policy.pk}/").status_code == 200
    assert client.get(f"{LIST_URL}new/").status_code == 404
    assert client.post(f"{LIST_URL}new/", page_data(first_response_hours="4")).status_code == 404
    assert client.get(f"{LIST_URL}{policy.pk}/edit/").status_code == 404
    assert client.post(f"{LIST_URL}{policy.pk}/delete/", {"reason": "x"}).status_code == 404
    assert SlaPolicy.objects.filter(name="市一院 工作时间承诺").count() == 0


def test_the_list_is_read_in_a_fixed_number_of_queries(client, administrator, hospital_a, cn):
    client.force_login(administrator)

    def queries_for_list():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST_URL).status_code == 200
        return len(captured)

    policy_with("承诺 1", calendar=cn, organization=hospital_a)
    few = queries_for_list()
    for number in range(2, 8):
        policy_with(f"承诺 {number}", calendar=cn, priority="urgent", sla_tier=f"t{number}")
    assert queries_for_list() == few


# --- the API ---------------------------------------------------------------------------------------


def test_an_administrator_creates_a_policy_through_the_api(
    api, administrator, agent, hospital_a, cn
):
    response = api.as_user(administrator).post(
        API_URL,
        {
            "name": "市一院 工作时间承诺",
            "organization": hospital_a.pk,
            "calendar": cn.pk,
            "targets": [
                {
                    "target": "resolution",
                    "hours": "40",
                    "counting": "business",
                    "pause_states": ["waiting_customer", "waiting_parts"],
                },
                {"target": "first_response", "hours": "10", "counting": "business"},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["organization"] == hospital_a.pk
    assert body["targets"] == [
        {"target": "first_response", "hours": "10.00", "counting": "business", "pause_states": []},
        {
            "target": "resolution",
            "hours": "40.00",
            "counting": "business",
            "pause_states": ["waiting_customer", "waiting_parts"],
        },
    ]
    ticket = call(agent, hospital_a, MONDAY_1600)
    # 10 business hours: 1.5 on Monday, 8 on Tuesday, 0.5 on Wednesday from 08:30.
    assert local(ticket.first_response_due_at) == datetime.datetime(2026, 3, 18, 9, 0)
    # Plan left out: the default promise, 48 calendar hours.
    assert local(ticket.plan_due_at) == datetime.datetime(2026, 3, 18, 16, 0)
    # 40 business hours: 1.5 + 4 × 8 to Friday, then 6.5 on the next Monday.
    assert local(ticket.resolution_due_at) == datetime.datetime(2026, 3, 23, 16, 0)


def test_changing_a_policy_through_the_api_leaves_running_clocks_alone(
    api, administrator, agent, hospital_a, cn
):
    policy = SlaPolicy.objects.create(name="市一院 承诺", organization=hospital_a, calendar=cn)
    SlaPolicyTarget.objects.create(policy=policy, target="first_response", hours=4)
    before = call(agent, hospital_a, MONDAY_0900)

    response = api.as_user(administrator).patch(
        f"{API_URL}{policy.pk}/",
        {"targets": [{"target": "first_response", "hours": "2", "counting": "calendar"}]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["targets"][0]["hours"] == "2.00"
    before.refresh_from_db()
    assert local(before.first_response_due_at) == datetime.datetime(2026, 3, 9, 13, 0)
    after = call(agent, hospital_a, MONDAY_0900)
    assert local(after.first_response_due_at) == datetime.datetime(2026, 3, 9, 11, 0)


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"targets": [{"target": "plan", "hours": "0"}]},
            "targets.plan.hours",
            "Solution plan: the hours must be more than 0 and at most 8760 (a year).",
        ),
        (
            {"targets": [{"target": "onsite", "hours": "8761"}]},
            "targets.onsite.hours",
            "On site: the hours must be more than 0 and at most 8760 (a year).",
        ),
        (
            {"targets": [{"target": "first_response", "hours": "8", "counting": "business"}]},
            "calendar",
            "Business calendar: choose one; First response counted in business hours.",
        ),
    ],
)
def test_the_api_refuses_what_cannot_be_saved_naming_the_field(
    api, administrator, payload, field, message
):
    response = api.as_user(administrator).post(
        API_URL, {"name": "错误的承诺", **payload}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {field: [message]}
    assert not SlaPolicy.objects.filter(name="错误的承诺").exists()


def test_two_active_policies_with_the_same_criteria_are_refused(api, administrator, hospital_a):
    policy_with("市一院 紧急", organization=hospital_a, priority="urgent")

    response = api.as_user(administrator).post(
        API_URL,
        {"name": "市一院 紧急 2", "organization": hospital_a.pk, "priority": "urgent"},
        format="json",
    )
    inactive = api.as_user(administrator).post(
        API_URL,
        {
            "name": "市一院 紧急 草稿",
            "organization": hospital_a.pk,
            "priority": "urgent",
            "active": False,
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "non_field_errors": [
            "The active policy “市一院 紧急” has exactly the same criteria (organisation, device "
            "model, risk class, SLA tier, priority): which one applies would be arbitrary. "
            "Change a criterion, or deactivate one of them."
        ]
    }
    assert inactive.status_code == 201
    # Activating the draft is refused the same way.
    activated = api.as_user(administrator).patch(
        f"{API_URL}{inactive.json()['id']}/", {"active": True}, format="json"
    )
    assert activated.status_code == 400


def test_the_default_policy_keeps_empty_criteria_and_cannot_be_deleted(
    api, administrator, hospital_a
):
    policy = default_policy()
    client = api.as_user(administrator)

    changed = client.patch(f"{API_URL}{policy.pk}/", {"organization": hospital_a.pk}, format="json")
    deleted = client.delete(f"{API_URL}{policy.pk}/?reason=清理")

    assert changed.status_code == 400
    assert list(changed.json()["error"]["fields"]) == ["organization"]
    assert deleted.status_code == 409
    assert deleted.json()["error"]["message"] == (
        "The default policy cannot be deleted: it applies when no other policy does."
    )
    policy.refresh_from_db()
    assert policy.organization is None


def test_a_policy_already_applied_to_requests_is_deactivated_not_deleted(
    api, administrator, agent, hospital_a
):
    policy = policy_with("市一院 承诺", organization=hospital_a)
    call(agent, hospital_a, MONDAY_0900)

    response = api.as_user(administrator).delete(f"{API_URL}{policy.pk}/?reason=停用")

    assert response.status_code == 409
    assert SlaPolicy.objects.filter(pk=policy.pk).exists()


def test_a_service_manager_reads_the_policies_through_the_api_but_cannot_create(api, manager):
    policy_with("夜间承诺")
    client = api.as_user(manager)

    assert client.get(API_URL).json()["count"] == 1
    response = client.post(
        API_URL,
        {"name": "经理的承诺", "targets": [{"target": "plan", "hours": "8"}]},
        format="json",
    )
    assert response.status_code == 403
    assert not SlaPolicy.objects.filter(name="经理的承诺").exists()


def test_a_customer_sees_no_policies(api, customer_a):
    policy_with("夜间承诺")

    assert api.as_user(customer_a).get(API_URL).status_code == 403
