"""The follow-up and visit API: permissions, scope of related ids (400 naming the field), the
outcome action, masking of contact phones, and lists in a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.accounts.choices import Role
from medservice.feedback.models import CustomerVisit, VisitOpinion
from tests.factories import DepartmentFactory, user_with_role
from tests.feedback.factories_followups import (
    CustomerVisitFactory,
    FollowUpFactory,
    closed_ticket,
)

pytestmark = pytest.mark.django_db


def test_an_agent_records_an_outcome_through_the_api(api, agent, hospital_a):
    from medservice.feedback.models import FollowUp

    follow_up = FollowUp.objects.get(ticket=closed_ticket(agent, hospital_a))
    response = api.as_user(agent).post(
        f"/api/v1/follow-ups/{follow_up.pk}/outcome/", {"outcome": "new_problem", "note": "屏幕闪烁"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["outcome"], body["attempts"]) == ("done", "new_problem", 1)
    assert body["resulting_ticket"] is not None
    assert body["tries"][0]["note"] == "屏幕闪烁"


def test_a_bad_outcome_is_a_400_naming_the_field(api, agent, hospital_a):
    follow_up = FollowUpFactory(organization=hospital_a)
    response = api.as_user(agent).post(
        f"/api/v1/follow-ups/{follow_up.pk}/outcome/", {"outcome": "maybe"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"outcome"}
    missing = api.as_user(agent).post(
        f"/api/v1/follow-ups/{follow_up.pk}/outcome/", {"outcome": "problem_persists"},
        format="json",
    )  # fmt: skip
    assert missing.json()["error"]["fields"] == {"note": ["Say what the customer reported."]}


def test_roles_without_the_permission_are_refused(api, hospital_a, company, customer_a):
    follow_up = FollowUpFactory(organization=hospital_a)
    keeper = user_with_role(Role.WAREHOUSE_KEEPER, company)
    assert api.as_user(keeper).get("/api/v1/follow-ups/").status_code == 403
    assert api.as_user(customer_a).get(f"/api/v1/follow-ups/{follow_up.pk}/").status_code == 403
    engineer = user_with_role(Role.FIELD_ENGINEER, company)
    assert (
        api.as_user(engineer)
        .post(
            f"/api/v1/follow-ups/{follow_up.pk}/outcome/", {"outcome": "satisfied"}, format="json"
        )
        .status_code
        == 200
    )
    assert api.as_user(keeper).post(
        f"/api/v1/follow-ups/{follow_up.pk}/outcome/", {"outcome": "satisfied"}, format="json"
    ).status_code in (403, 404)


def test_contact_phones_are_masked_for_a_role_that_may_not_see_them(api, agent, hospital_a,
                                                                    distributor_engineer,
                                                                    distributor):  # fmt: skip
    hospital_a.served_by.add(distributor)
    follow_up = FollowUpFactory(organization=hospital_a)
    phone = follow_up.contact.phone
    shown = api.as_user(agent).get(f"/api/v1/follow-ups/{follow_up.pk}/").json()
    assert shown["contact_phone"] == phone
    masked = api.as_user(distributor_engineer).get(f"/api/v1/follow-ups/{follow_up.pk}/").json()
    assert masked["contact_phone"] != phone
    assert masked["contact_phone"].startswith(phone[:3]) and "*" in masked["contact_phone"]


def test_a_visit_with_an_organisation_outside_the_scope_is_refused(api, distributor_engineer,
                                                                   distributor, hospital_a,
                                                                   hospital_b, agent):  # fmt: skip
    from django.contrib.auth.models import Permission

    hospital_a.served_by.add(distributor)
    distributor_engineer.user_permissions.add(Permission.objects.get(codename="add_customervisit"))
    response = api.as_user(distributor_engineer).post(
        "/api/v1/customer-visits/",
        {"kind": "planned", "organization": hospital_b.pk, "planned_on": "2026-05-06",
         "purpose": "走访"}, format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"organization"}
    # a department of another organisation is refused by name too
    other = DepartmentFactory(organization=hospital_b)
    response = api.as_user(agent).post(
        "/api/v1/customer-visits/",
        {"kind": "planned", "organization": hospital_a.pk, "department": other.pk,
         "planned_on": "2026-05-06", "purpose": "走访"}, format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"department"}
    assert CustomerVisit.objects.count() == 0


def test_a_planned_visit_without_a_date_is_refused(api, agent, hospital_a):
    response = api.as_user(agent).post(
        "/api/v1/customer-visits/",
        {"kind": "planned", "organization": hospital_a.pk, "purpose": "走访"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "planned_on": ["Give the date of the planned visit."]
    }


def test_an_opinion_is_routed_answered_and_tracked(api, agent, manager, hospital_a, company):
    from medservice.core.models import Notification

    quality = user_with_role(Role.QUALITY_STAFF, company, username="quality")
    visit = api.as_user(agent).post(
        "/api/v1/customer-visits/",
        {"kind": "unplanned", "organization": hospital_a.pk, "visited_on": "2026-05-06",
         "purpose": "回访", "people_met": "设备科李科长"}, format="json",
    ).json()  # fmt: skip
    assert visit["status"] == "done"
    opinion = api.as_user(agent).post(
        f"/api/v1/customer-visits/{visit['id']}/opinions/",
        {"text": "输液泵报警声太小", "concerned": "quality", "routed_to": quality.pk},
        format="json",
    )  # fmt: skip
    assert opinion.status_code == 201, opinion.json()
    assert Notification.objects.filter(recipient=quality).count() == 1
    opinion_id = opinion.json()["id"]
    # someone it was not routed to may not answer it (a manager may answer any)
    refused = api.as_user(agent).post(f"/api/v1/visit-opinions/{opinion_id}/answer/",
                                      {"answer": "x"}, format="json")  # fmt: skip
    assert refused.status_code == 403
    answered = api.as_user(quality).post(
        f"/api/v1/visit-opinions/{opinion_id}/answer/", {"answer": "已反馈生产企业调整音量"},
        format="json",
    )  # fmt: skip
    assert answered.status_code == 200, answered.json()
    assert answered.json()["status"] == "answered"
    assert api.as_user(manager).get("/api/v1/visit-opinions/", {"status": "open"}).json()[
        "count"] == 0  # fmt: skip
    assert VisitOpinion.objects.get().answered_by == quality


def test_routing_to_a_customer_user_is_refused(api, agent, hospital_a, customer_a):
    visit = CustomerVisitFactory(organization=hospital_a)
    response = api.as_user(agent).post(
        f"/api/v1/customer-visits/{visit.pk}/opinions/",
        {"text": "意见", "concerned": "service", "routed_to": customer_a.pk},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"routed_to"}


@pytest.mark.parametrize("url", ["/api/v1/follow-ups/", "/api/v1/customer-visits/"])
def test_lists_answer_in_a_fixed_number_of_queries(api, manager, hospital_a, url):
    client = api.as_user(manager)
    FollowUpFactory(organization=hospital_a)
    CustomerVisitFactory(organization=hospital_a)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _item in range(4):
        FollowUpFactory(organization=hospital_a)
        CustomerVisitFactory(organization=hospital_a)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).json()["count"] == 5
    assert len(many) == len(few)


def test_the_follow_up_pages_answer_in_a_fixed_number_of_queries(client, manager, hospital_a):
    client.force_login(manager)
    FollowUpFactory(organization=hospital_a)
    client.get("/feedback/follow-ups/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/feedback/follow-ups/?overdue=true").status_code == 200
    for _item in range(4):
        FollowUpFactory(organization=hospital_a)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/feedback/follow-ups/?overdue=true")
    assert len(many) == len(few)
    assert page.content.decode().count("HF-2026-") >= 5


def test_the_follow_up_page_records_an_outcome(client, agent, hospital_a):
    from medservice.feedback.models import FollowUp

    follow_up = FollowUp.objects.get(ticket=closed_ticket(agent, hospital_a))
    client.force_login(agent)
    page = client.get(f"/feedback/follow-ups/{follow_up.pk}/")
    assert page.status_code == 200 and 'id="form-outcome"' in page.content.decode()
    bad = client.post(f"/feedback/follow-ups/{follow_up.pk}/outcome/", {"outcome": "new_problem"})
    assert bad.status_code == 400
    assert "Say what the customer reported." in bad.content.decode()
    done = client.post(f"/feedback/follow-ups/{follow_up.pk}/outcome/", {"outcome": "satisfied"})
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == "done"
