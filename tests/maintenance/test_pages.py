"""The maintenance pages answer for the roles that use them and refuse the others."""

from __future__ import annotations

import datetime

import pytest

from tests.maintenance.factories import (
    AcceptanceRecordFactory,
    OperatorTrainingFactory,
    PmPlanFactory,
    RetrainingSuggestionFactory,
)

pytestmark = pytest.mark.django_db


def test_the_pages_answer_for_the_service_manager(client, manager, ventilator, hospital_a):
    plan = PmPlanFactory(device=ventilator, next_due_on=datetime.date(2020, 1, 1))
    acceptance = AcceptanceRecordFactory(device=ventilator)
    training = OperatorTrainingFactory(organization=hospital_a)
    suggestion = RetrainingSuggestionFactory(work_order__device=ventilator)
    client.force_login(manager)
    overdue = client.get("/maintenance/pm-plans/overdue/").content.decode()
    assert "KV3-2603-0001" in overdue
    assert client.get(f"/maintenance/pm-plans/{plan.pk}/").status_code == 200
    completion = client.get("/maintenance/pm-plans/completion-rate/",
                            {"start": "2019-12-01", "end": "2020-01-31"})  # fmt: skip
    assert completion.status_code == 200
    assert client.get("/maintenance/pm-plans/completion-rate/",
                      {"start": "2020-02-01", "end": "2020-01-01"}).status_code == 400  # fmt: skip
    assert (
        "acceptance-sign-form"
        in client.get(f"/maintenance/acceptances/{acceptance.pk}/").content.decode()
    )
    assert (
        "training-attendee-form"
        in client.get(f"/maintenance/operator-trainings/{training.pk}/").content.decode()
    )
    assert (
        client.get(f"/maintenance/retraining-suggestions/{suggestion.pk}/schedule/").status_code
        == 200
    )
    for url in ("/maintenance/pm-plans/new/", "/maintenance/acceptances/new/",
                "/maintenance/operator-trainings/new/"):  # fmt: skip
        assert client.get(url).status_code == 200, url


def test_a_customer_reads_but_sees_no_suggestions_nor_sign_form(
    client, customer_a, ventilator, hospital_a
):
    acceptance = AcceptanceRecordFactory(device=ventilator)
    suggestion = RetrainingSuggestionFactory(work_order__device=ventilator)
    client.force_login(customer_a)
    page = client.get(f"/maintenance/acceptances/{acceptance.pk}/")
    assert page.status_code == 200
    assert "acceptance-sign-form" not in page.content.decode()
    assert client.get(f"/maintenance/retraining-suggestions/{suggestion.pk}/").status_code == 404
    assert client.post(f"/maintenance/acceptances/{acceptance.pk}/sign/",
                       {"printed_name": "x", "confirm": "on"}).status_code == 404  # fmt: skip
