"""The maintenance API: permissions, scoping of the ids a caller gives, the overdue and
completion-rate actions, the acceptance's signature, the sign-in sheet, and lists served in a
fixed number of queries."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.maintenance.models import PmPlan
from tests.factories import DepartmentFactory, user_with_role
from tests.installed_base.factories import DeviceFactory
from tests.maintenance.factories import (
    OperatorTrainingFactory,
    PmPlanFactory,
    PmVisitFactory,
    TrainingAttendeeFactory,
)

pytestmark = pytest.mark.django_db


def test_a_customer_reads_its_plans_but_may_not_plan(api, customer_a, ventilator, hospital_b):
    PmPlanFactory(device=ventilator)
    PmPlanFactory(device=DeviceFactory(organization=hospital_b))
    client = api.as_user(customer_a)
    listed = client.get("/api/v1/pm-plans/").json()
    assert [row["device"] for row in listed["results"]] == [ventilator.pk]
    response = client.post("/api/v1/pm-plans/", {"device": ventilator.pk}, format="json")
    assert response.status_code == 403


def test_a_foreign_device_id_is_a_named_400_not_a_leak(api, manager, distributor, hospital_b):
    # given a distributor engineer who does not serve hospital B
    engineer = user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor)
    foreign = DeviceFactory(organization=hospital_b)
    response = api.as_user(engineer).post(
        "/api/v1/acceptances/",
        {"device": foreign.pk, "accepted_on": "2026-03-20", "customer_name": "李"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["device"] == [
        f"There is no device with id {foreign.pk} that you may choose."
    ]


def test_a_plan_via_the_api_with_a_bad_interval_names_the_field(api, manager, ventilator):
    response = api.as_user(manager).post(
        "/api/v1/pm-plans/",
        {"device": ventilator.pk, "interval_source": "manual", "interval_days": 0},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "interval_days": ["Ensure this value is greater than or equal to 1."]
    }
    response = api.as_user(manager).post(
        "/api/v1/pm-plans/", {"device": ventilator.pk, "interval_source": "manual"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "interval_days": ["Give the interval in days (1 or more)."]
    }
    assert not PmPlan.objects.exists()
    created = api.as_user(manager).post(
        "/api/v1/pm-plans/", {"device": ventilator.pk}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["next_due_on"] == "2026-09-06"


def test_a_training_attendee_of_a_foreign_department_is_refused(
    api, manager, hospital_a, hospital_b
):
    training = OperatorTrainingFactory(organization=hospital_a)
    foreign = DepartmentFactory(organization=hospital_b, name="急诊科")
    response = api.as_user(manager).post(
        "/api/v1/training-attendees/",
        {"training": training.pk, "name": "王五", "department": foreign.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "department": ["急诊科 is not a department of 市第一人民医院."]
    }


@freeze_time("2026-06-15 09:00:00+08:00")
def test_overdue_and_completion_rate_actions(api, manager, ventilator, monitor):
    late = PmPlanFactory(device=ventilator, next_due_on=datetime.date(2026, 6, 1))
    PmPlanFactory(device=monitor, next_due_on=datetime.date(2026, 7, 1))
    PmVisitFactory(plan=late, due_on=datetime.date(2026, 6, 1))
    client = api.as_user(manager)
    overdue = client.get("/api/v1/pm-plans/overdue/").json()
    assert [row["id"] for row in overdue["results"]] == [late.pk]
    assert overdue["results"][0]["life_support"] is True
    rate = client.get("/api/v1/pm-plans/completion-rate/",
                      {"start": "2026-06-01", "end": "2026-06-30"}).json()  # fmt: skip
    assert (rate["due"], rate["done"], rate["rate"]) == (1, 0, 0.0)
    assert rate["life_support_flagged"] is True
    bad = client.get("/api/v1/pm-plans/completion-rate/", {"start": "2026-06-30", "end": "x"})
    assert bad.status_code == 400
    assert list(bad.json()["error"]["fields"]) == ["end"]


@freeze_time("2026-03-25 10:00:00+08:00")
def test_the_acceptance_is_signed_through_the_api(api, engineer, ventilator_model, hospital_a):
    device = DeviceFactory(device_model=ventilator_model, organization=hospital_a,
                           installed_on=datetime.date(2026, 3, 5), accepted_on=None)  # fmt: skip
    client = api.as_user(engineer)
    created = client.post("/api/v1/acceptances/", {
        "device": device.pk, "accepted_on": "2026-03-20", "customer_name": "李主任",
        "conformity_certificate_handed": True, "registration_certificate_handed": True,
    }, format="json")  # fmt: skip
    assert created.status_code == 201, created.json()
    signed = client.post(f"/api/v1/acceptances/{created.json()['id']}/sign/", {}, format="json")
    assert signed.status_code == 200, signed.json()
    body = signed.json()
    assert (body["warranty_starts_on"], body["warranty_ends_on"]) == ("2026-03-20", "2027-03-19")
    assert body["registration_number"] == "国械注准20213080001"
    again = client.post(f"/api/v1/acceptances/{created.json()['id']}/sign/", {}, format="json")
    assert again.status_code == 409


def test_the_sign_in_sheet_downloads_as_pdf(api, customer_a, hospital_a):
    training = OperatorTrainingFactory(organization=hospital_a)
    response = api.as_user(customer_a).get(
        f"/api/v1/operator-trainings/{training.pk}/sign-in-sheet/"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def _queries(callable_) -> int:
    with CaptureQueriesContext(connection) as context:
        response = callable_()
        assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/api/v1/pm-plans/", lambda org: PmPlanFactory(device__organization=org)),
        ("/api/v1/pm-visits/", lambda org: PmVisitFactory(plan__device__organization=org)),
        (
            "/api/v1/operator-trainings/",
            lambda org: TrainingAttendeeFactory(training__organization=org).training,
        ),
        ("/maintenance/pm-plans/", lambda org: PmPlanFactory(device__organization=org)),
        ("/maintenance/operator-trainings/", lambda org: OperatorTrainingFactory(organization=org)),
        (
            "/maintenance/pm-plans/overdue/",
            lambda org: PmPlanFactory(
                device__organization=org, next_due_on=datetime.date(2020, 1, 1)
            ),
        ),
    ],
)
def test_lists_take_a_fixed_number_of_queries(api, client, manager, hospital_a, url, make):
    client.force_login(manager)
    api_client = api.as_user(manager)
    get = (lambda: api_client.get(url)) if url.startswith("/api/") else (lambda: client.get(url))
    for _index in range(2):
        make(hospital_a)
    few = _queries(get)
    for _index in range(5):
        make(hospital_a)
    assert _queries(get) == few
