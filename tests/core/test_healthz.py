from unittest import mock

import pytest
from django.db.utils import OperationalError


@pytest.mark.django_db
def test_health_check_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "up"})


@pytest.mark.django_db
def test_health_check_answers_503_when_the_database_fails(client):
    with mock.patch(
        "medservice.core.views.connection.cursor", side_effect=OperationalError("down")
    ):
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "database": "down"},
    )
