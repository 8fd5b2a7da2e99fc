"""Signing in: username or e-mail, lockout, logout, API tokens."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def person(company):
    return UserFactory(username="li.hua", email="Li.Hua@example.com", organization=company)


def login(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["li.hua", "LI.HUA", "li.hua@example.com"])
def test_a_user_signs_in_with_username_or_email(client, person, typed):
    response = login(client, typed, PASSWORD)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.session["_auth_user_id"] == str(person.pk)


@pytest.mark.django_db
def test_a_wrong_password_is_refused_with_a_clear_message(client, person):
    response = login(client, "li.hua", "wrong-password")
    assert response.status_code == 200
    assert "The username (or e-mail) or the password is not correct." in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_even_for_the_right_password(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "li.hua", "wrong-password")
    response = login(client, "li.hua", PASSWORD)
    assert response.status_code == 429
    assert "locked after repeated failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/minute", "login": "3/minute"},
    }
)
def test_sign_in_attempts_from_one_address_are_rate_limited(client, person):
    statuses = [login(client, f"nobody{n}", "x").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.django_db
def test_logout_is_a_post_and_ends_the_session(client, person):
    client.force_login(person)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_pages_need_a_signed_in_user(client):
    response = client.get("/customers/organizations/")
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/customers/organizations/",
    )


@pytest.mark.django_db
def test_the_token_endpoint_returns_a_token_that_authenticates(client, person):
    response = client.post(
        "/api/v1/auth/token/", {"username": "li.hua@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert (me.status_code, me.json()["username"]) == (200, "li.hua")


@pytest.mark.django_db
def test_the_token_endpoint_refuses_a_wrong_password_in_the_error_format(client, person):
    response = client.post("/api/v1/auth/token/", {"username": "li.hua", "password": "nope"})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "The input is not valid: password.",
            "fields": {"password": ["The username or password is not correct."]},
        }
    }


@pytest.mark.django_db
@override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "2/minute", "login": "2/minute"},
    }
)
def test_the_token_endpoint_is_throttled(client, person):
    statuses = [
        client.post("/api/v1/auth/token/", {"username": "li.hua", "password": "nope"}).status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


@pytest.mark.django_db
def test_an_invalid_token_is_refused(client):
    response = client.get("/api/v1/organizations/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_preferences_change_language_and_time_zone(client, person):
    client.force_login(person)
    response = client.post(
        "/accounts/preferences/",
        {
            "language": "zh-hans",
            "time_zone": "Europe/Berlin",
            "email": "li.hua@example.com",
            "phone": "",
        },
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.language, person.time_zone) == ("zh-hans", "Europe/Berlin")


@pytest.mark.django_db
def test_an_unknown_time_zone_is_refused_by_name(client, person):
    client.force_login(person)
    response = client.post(
        "/accounts/preferences/",
        {"language": "en", "time_zone": "Mars/Olympus", "email": "", "phone": ""},
    )
    assert response.status_code == 400
    assert "Unknown time zone: Mars/Olympus." in response.content.decode()


@pytest.mark.django_db
def test_a_locked_out_api_client_gets_the_json_error_body(client, person):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"username": "li.hua", "password": "nope"})
    response = client.post("/api/v1/auth/token/", {"username": "li.hua", "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["error"] == {
        "code": "locked_out",
        "message": "This account is locked after repeated failed sign-ins. Try again in 30 minutes or ask your administrator to unlock it.",
        "fields": {},
    }


@pytest.mark.django_db
@override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "2/minute", "login": "2/minute"},
    }
)
def test_a_forged_forwarded_for_header_does_not_escape_the_token_limit(client, person):
    statuses = [
        client.post(
            "/api/v1/auth/token/",
            {"username": "li.hua", "password": "nope"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        ).status_code
        for n in range(3)
    ]
    assert statuses == [400, 400, 429]


@pytest.mark.django_db
@override_settings(NUM_PROXIES=1)
def test_behind_one_proxy_the_audit_records_the_address_the_proxy_saw(client, administrator):
    from medservice.core.models import AuditEvent

    client.force_login(administrator)
    client.post(
        "/customers/organizations/new/",
        {"kind": "clinic", "name": "代理诊所"},
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
        REMOTE_ADDR="10.0.0.2",
    )
    assert AuditEvent.objects.get(object_repr="代理诊所").client_address == "203.0.113.9"


@pytest.mark.django_db
@override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "2/minute", "login": "2/minute"},
    }
)
def test_the_token_limit_counts_signed_in_callers_too(client, person):
    client.force_login(person)
    statuses = [
        client.post("/api/v1/auth/token/", {"username": "li.hua", "password": "nope"}).status_code
        for _ in range(3)
    ]
    assert statuses == [400, 400, 429]
