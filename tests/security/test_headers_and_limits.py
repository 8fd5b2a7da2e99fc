"""Security headers and the content policy on every page, the production settings, and the
rate limits of the public entry points (sign-in, API token, forgotten password)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings

from tests.core.test_commands import run_medservice

PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/medservice_unused",
    "SECRET_KEY": "k" * 30 + "A1-production-secret-key-of-enough-length-xyz",
    "ALLOWED_HOSTS": "service.example.com",
    "FIELD_ENCRYPTION_KEY": "a-production-field-key",
}


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


@pytest.mark.django_db
def test_a_page_carries_the_security_headers_and_a_policy_without_inline_scripts(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert (
        response["X-Frame-Options"],
        response["X-Content-Type-Options"],
        response["Referrer-Policy"],
    ) == ("DENY", "nosniff", "same-origin")
    policy = directives(response["Content-Security-Policy"])
    assert {
        name: policy[name]
        for name in ("default-src", "script-src", "object-src", "frame-ancestors", "base-uri")
    } == {
        "default-src": "'self'",
        "script-src": "'self'",
        "object-src": "'none'",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
    }
    assert "unsafe-inline" not in response["Content-Security-Policy"].split("style-src")[0]


@pytest.mark.django_db
def test_an_api_answer_carries_the_headers_too(api):
    response = api.anonymous().get("/api/v1/tickets/")

    assert (response.status_code, response["X-Content-Type-Options"]) == (401, "nosniff")
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_production_settings_turn_on_https_only_cookies_and_hsts(tmp_path):
    # given the production environment (no demo, PostgreSQL, a real secret)
    script = (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SECURITY_LOG_RETENTION_DAYS)"
    )

    # when the settings are read
    result = run_medservice(
        "shell", "-c", script, env={**PRODUCTION_ENV, "MEDSERVICE_VAR_DIR": str(tmp_path)}
    )

    # then every transport protection is on and security logs are kept 190 days
    assert result.returncode == 0, result.stderr
    # (the shell first says how many objects it imported: the answer is the last line)
    assert result.stdout.strip().splitlines()[-1].split() == [
        "True", "31536000", "True", "True", "True", "True", "190",
    ]  # fmt: skip


def test_check_deploy_refuses_a_short_security_log_retention(tmp_path):
    result = run_medservice(
        "check",
        "--deploy",
        env={
            **PRODUCTION_ENV,
            "MEDSERVICE_VAR_DIR": str(tmp_path),
            "SECURITY_LOG_RETENTION_DAYS": "90",
        },
    )

    assert result.returncode != 0
    assert "medservice.E120" in result.stderr


LIMITED = {
    **settings.REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "token": "2/minute",
        "login": "2/minute",
        "password_reset": "2/hour",
    },
}


@pytest.mark.django_db
@override_settings(REST_FRAMEWORK=LIMITED)
@pytest.mark.parametrize(
    ("url", "data", "answers"),
    [
        ("/accounts/login/", {"username": "nobody", "password": "x"}, [200, 200, 429]),
        ("/api/v1/auth/token/", {"username": "nobody", "password": "x"}, [400, 400, 429]),
        ("/accounts/password-reset/", {"email": "agent@example.com"}, [302, 302, 429]),
    ],
)
def test_public_entry_points_are_rate_limited_per_address(client, url, data, answers):
    statuses = [client.post(url, data).status_code for _attempt in range(3)]

    assert statuses == answers


@pytest.mark.django_db
@override_settings(REST_FRAMEWORK=LIMITED)
def test_a_limited_password_reset_sends_no_more_mail(client, agent):
    agent.email = "agent@example.com"
    agent.save()

    answers = [
        client.post("/accounts/password-reset/", {"email": "agent@example.com"}).status_code
        for _attempt in range(3)
    ]

    assert answers == [302, 302, 429]
    assert len(mail.outbox) == 2
    assert "Too many requests from this address. Wait a while and try again." in (
        client.post("/accounts/password-reset/", {"email": "agent@example.com"}).content.decode()
    )
