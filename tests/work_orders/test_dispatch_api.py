"""Dispatch through the API and the pages: candidates, dispatch, check-in and check-out sent
twice with one key, the engineer's schedule and its scope; my day, the dispatch board, the
customer's "who is coming"."""

from __future__ import annotations

import pytest
from django.urls import reverse
from freezegun import freeze_time

from medservice.work_orders.choices import VisitStatus, WorkOrderStatus
from medservice.work_orders.dispatch import work_order_dispatch
from medservice.work_orders.models import Submission
from tests.work_orders.conftest import make_engineer
from tests.work_orders.test_dispatch import END, NOW, START, ready_on_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(engineer, device):
    with freeze_time(NOW):
        return ready_on_site(engineer, device)


@pytest.fixture
def dispatched(manager, engineer, ready):
    with freeze_time(NOW):
        return work_order_dispatch(actor=manager, work_order=ready, engineer=engineer,
                                   window_start=START, window_end=END)  # fmt: skip


@freeze_time(NOW)
def test_the_api_lists_the_candidates_and_dispatches_one(api, manager, engineer, ready):
    client = api.as_user(manager)
    response = client.get(f"/api/v1/work-orders/{ready.pk}/candidates/",
                          {"start": START.isoformat(), "end": END.isoformat()})  # fmt: skip
    assert response.status_code == 200
    assert [(item["engineer"], item["badge_number"], item["region_match"], item["load"])
            for item in response.json()] == [(engineer.pk, "E-001", True, 0)]  # fmt: skip

    response = client.post(
        f"/api/v1/work-orders/{ready.pk}/dispatch/",
        {"engineer": engineer.pk, "window_start": START.isoformat(),
         "window_end": END.isoformat()},
        format="json",
    )  # fmt: skip

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["engineer"]) == (WorkOrderStatus.SCHEDULED, engineer.pk)
    assert body["visits"][0]["status"] == VisitStatus.SCHEDULED


@freeze_time(NOW)
def test_the_api_refuses_an_override_without_reason_naming_the_field(api, manager, company, ready):
    outsider = make_engineer(company, "zhao", badge="E-002", model=None)
    response = api.as_user(manager).post(
        f"/api/v1/work-orders/{ready.pk}/dispatch/",
        {"engineer": outsider.pk, "window_start": START.isoformat(),
         "window_end": END.isoformat()},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "override_reason" in response.json()["error"]["fields"]


def test_check_in_and_check_out_sent_twice_with_one_key_happen_once(api, engineer, dispatched):
    client = api.as_user(engineer)
    with freeze_time("2026-11-28 09:03:00+08:00"):
        for _attempt in range(2):
            response = client.post(f"/api/v1/work-orders/{dispatched.pk}/check-in/",
                                   {"latitude": "31.188432", "longitude": "121.436500"},
                                   format="json", HTTP_IDEMPOTENCY_KEY="phone-in-7")  # fmt: skip
            assert response.status_code == 200
    with freeze_time("2026-11-28 10:30:00+08:00"):
        for _attempt in range(2):
            response = client.post(f"/api/v1/work-orders/{dispatched.pk}/check-out/",
                                   {"submission_key": "phone-out-7"}, format="json")  # fmt: skip
            assert response.status_code == 200

    visit = dispatched.visits.get()
    assert visit.status == VisitStatus.DONE
    assert Submission.objects.filter(work_order=dispatched).count() == 2
    assert response.json()["status"] == WorkOrderStatus.IN_PROGRESS


def test_someone_else_may_not_check_in_for_the_engineer(api, company, monitor_model, dispatched):
    other = make_engineer(company, "zhao", badge="E-002", model=monitor_model)
    with freeze_time("2026-11-28 09:03:00+08:00"):
        response = api.as_user(other).post(f"/api/v1/work-orders/{dispatched.pk}/check-in/", {},
                                           format="json")  # fmt: skip
    assert response.status_code == 403


@freeze_time(NOW)
def test_the_schedule_is_the_engineers_own_or_the_dispatchers(
    api, manager, engineer, company, monitor_model, customer_a, dispatched
):
    other = make_engineer(company, "zhao", badge="E-002", model=monitor_model)
    url = f"/api/v1/engineers/{engineer.pk}/schedule/?from=2026-11-28&to=2026-11-28"

    own = api.as_user(engineer).get(url)
    assert own.status_code == 200
    assert [(item["status"], item["engineer"]) for item in own.json()] == [
        (VisitStatus.SCHEDULED, engineer.pk)
    ]
    assert api.as_user(manager).get(url).status_code == 200
    assert api.as_user(other).get(url).status_code == 404
    assert api.as_user(customer_a).get(url).status_code == 404
    assert (
        api.as_user(engineer)
        .get(f"/api/v1/engineers/{engineer.pk}/schedule/?from=2026-11-28&to=2026-11-01")
        .status_code
        == 400
    )


@freeze_time(NOW)
def test_out_of_scope_work_orders_answer_404(api, hospital_b, dispatched):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    stranger = user_with_role(Role.CUSTOMER_USER, hospital_b, username="other_customer")
    response = api.as_user(stranger).get(
        f"/api/v1/work-orders/{dispatched.pk}/candidates/",
        {"start": START.isoformat(), "end": END.isoformat()},
    )
    assert response.status_code == 404


def test_the_schema_documents_the_dispatch_endpoints(api, manager):
    response = api.as_user(manager).get("/api/v1/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/engineers/{id}/schedule/" in text
    assert "/api/v1/work-orders/{id}/check-out/" in text


# --- Pages --------------------------------------------------------------------------------------


def test_my_day_shows_the_engineers_visits_with_a_call_link(client, engineer, dispatched):
    client.force_login(engineer)
    with freeze_time("2026-11-28 08:00:00+08:00"):
        response = client.get(reverse("work_orders:my-day"))
    assert response.status_code == 200
    page = response.content.decode()
    assert dispatched.organization.name in page
    assert "09:00–11:00" in page
    assert reverse("work_orders:visit", args=[dispatched.pk]) in page


def test_the_dispatch_board_is_for_dispatchers(client, manager, engineer, ready):
    client.force_login(engineer)
    assert client.get(reverse("work_orders:dispatch-board")).status_code == 404
    client.force_login(manager)
    with freeze_time(NOW):
        response = client.get(reverse("work_orders:dispatch-board"))
    assert response.status_code == 200
    page = response.content.decode()
    assert ready.number in page
    assert "E-001" in page


def test_the_record_page_offers_the_candidates_and_dispatches_from_the_form(
    client, manager, engineer, ready
):
    client.force_login(manager)
    with freeze_time(NOW):
        page = client.get(
            reverse("work_orders:work-orders-detail", args=[ready.pk])
        ).content.decode()
        assert "E-001" in page
        response = client.post(
            reverse("work_orders:work-order-action", args=[ready.pk, "dispatch"]),
            {"window_start": "2026-11-28T09:00", "window_end": "2026-11-28T11:00",
             "engineer": engineer.pk, "submission_key": "k1"},
        )  # fmt: skip
    assert response.status_code == 302
    ready.refresh_from_db()
    assert ready.status == WorkOrderStatus.SCHEDULED
    assert ready.visits.get().window_start == START


def test_the_phone_page_checks_in_and_shows_the_engineer_card(client, engineer, dispatched):
    with freeze_time("2026-11-28 09:02:00+08:00"):
        client.force_login(engineer)
        response = client.get(reverse("work_orders:visit", args=[dispatched.pk]))
        assert response.status_code == 200, response
        page = response.content.decode()
        assert 'id="visit-checkin"' in page
        assert "E-001" in page
        response = client.post(
            reverse("work_orders:work-order-action", args=[dispatched.pk, "check-in"]),
            {"origin": "visit", "submission_key": "k-in", "latitude": "", "longitude": ""},
        )
    assert response.status_code == 302
    assert dispatched.visits.get().status == VisitStatus.ON_SITE


def test_the_customer_sees_who_is_coming(client, customer_a, dispatched):
    client.force_login(customer_a)
    with freeze_time(NOW):
        response = client.get(reverse("work_orders:portal-work-order", args=[dispatched.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="who-is-coming"' in page
    assert "E-001" in page


def test_the_engineers_home_page_lists_todays_visits(client, engineer, dispatched):
    with freeze_time("2026-11-28 08:00:00+08:00"):
        client.force_login(engineer)
        response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="home-visits-today"' in page
    assert dispatched.number in page
