"""The UI shell: security headers, the user's time zone, navigation, start-up checks."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest

from medservice.core.checks import check_cjk_fonts
from medservice.core.models import AuditEvent
from tests.factories import OrganizationFactory


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_scripts(client, agent):
    client.force_login(agent)
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in response.content.decode()


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    assert len(client.get("/healthz")["X-Request-ID"]) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-1")["X-Request-ID"] == "abc-1"


@pytest.mark.django_db
def test_times_show_in_the_users_time_zone(client, agent):
    organization = OrganizationFactory(name="时区医院")
    event = AuditEvent.objects.get(
        object_type="customers.organization", object_id=str(organization.pk)
    )
    utc_time = datetime.datetime(2026, 11, 27, 1, 30, tzinfo=datetime.UTC)
    # The trail is append-only; a fresh event at a known time stands in for the created one.
    AuditEvent.objects.create(
        occurred_at=utc_time,
        action="update",
        object_type=event.object_type,
        object_id=event.object_id,
        changes={"region": ["上海", "杭州"]},
    )
    client.force_login(agent)
    assert (
        "2026-11-27 09:30:00"
        in client.get(f"/customers/organizations/{organization.pk}/").content.decode()
    )
    agent.time_zone = "Europe/Berlin"
    agent.save()
    assert (
        "2026-11-27 02:30:00"
        in client.get(f"/customers/organizations/{organization.pk}/").content.decode()
    )


@pytest.mark.django_db
def test_the_navigation_shows_only_what_the_role_may_see(client, agent, company):
    from tests.factories import UserFactory

    client.force_login(agent)
    assert 'href="/customers/organizations/"' in client.get("/").content.decode()
    nobody = UserFactory(organization=company)
    client.force_login(nobody)
    assert (
        'href="/customers/organizations/"'
        not in client.get("/").content.decode().split("</nav>")[0]
    )


@pytest.mark.django_db
def test_the_admin_is_for_staff_only(client, agent, administrator):
    client.force_login(agent)
    assert client.get("/admin/").status_code == 302
    client.force_login(administrator)
    assert client.get("/admin/").status_code == 200


def test_a_missing_cjk_font_is_reported_with_the_install_command():
    with mock.patch("medservice.core.checks.shutil.which", return_value=None):
        (warning,) = check_cjk_fonts()
    assert warning.id == "medservice.W001"
    assert warning.hint == "Install one (Debian: apt-get install -y fonts-noto-cjk fontconfig)."


@pytest.mark.django_db
def test_an_id_out_of_range_is_bad_input_not_a_server_error(client, api, agent):
    from django.db import connection

    huge = "86801595224359272448"
    assert api.as_user(agent).get("/api/v1/organizations/", {"served_by": huge}).status_code == 400
    assert api.as_user(agent).get(f"/api/v1/organizations/{huge}/").status_code == 404
    client.force_login(agent)
    assert client.get(f"/customers/organizations/{huge}/").status_code == 404
    listed = client.get("/customers/organizations/", {"served_by": huge})
    # SQLite cannot even bind the number (400 page); PostgreSQL finds no such distributor and the
    # filter form says so on the list.
    assert listed.status_code == (400 if connection.vendor == "sqlite" else 200)
