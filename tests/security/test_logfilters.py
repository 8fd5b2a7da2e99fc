"""No secret or personal data reaches a log handler: records are fed through the filter wired
in LOGGING and read back as the handler would write them."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from medservice.core.logfilters import RedactingFilter, redact


def written(message: str, *args: object, exc_info: object = None) -> str:
    record = logging.LogRecord("test", logging.WARNING, __file__, 1, message, args, exc_info)
    assert RedactingFilter().filter(record) is True
    return logging.Formatter("%(message)s").format(record)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("login password=hunter2 user=agent", "login password=[redacted] user=agent"),
        (
            '{"username": "agent", "password": "hunter2"}',
            '{"username": "agent", "password": "[redacted]"}',
        ),
        (
            "Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b",
            "Authorization: [redacted]",
        ),
        ("sent header Bearer abcdefgh12345678", "sent header Bearer [redacted]"),
        ("token='0123456789abcdef' ok", "token='[redacted]' ok"),
        ("GET /?csrfmiddlewaretoken=abc123&page=2", "GET /?csrfmiddlewaretoken=[redacted]&page=2"),
        ("caller 13812345678 asked", "caller 138****5678 asked"),
        ("caller +86 138-1234-5678 asked", "caller +86 138****5678 asked"),
        ("hospital 021-62345678", "hospital 021-****5678"),
        ("patient id 11010519491231002X seen", "patient id 110105********002X seen"),
        ("order TS-2026-000123 for 3 units", "order TS-2026-000123 for 3 units"),
    ],
)
def test_secrets_and_personal_numbers_are_masked(message, expected):
    assert redact(message) == expected


def test_arguments_are_redacted_after_formatting():
    assert written("sign-in by %s with password=%s", "agent", "hunter2") == (
        "sign-in by agent with password=[redacted]"
    )


def test_a_traceback_is_redacted_too():
    try:
        raise ValueError("bad phone 13912345678")
    except ValueError as error:
        text = written("failed", exc_info=(ValueError, error, error.__traceback__))

    assert "13912345678" not in text
    assert "ValueError: bad phone 139****5678" in text


def test_every_log_handler_runs_the_filter():
    handlers = settings.LOGGING["handlers"]

    assert {name: handler["filters"] for name, handler in handlers.items()} == {
        name: ["redact"] for name in handlers
    }
    assert (
        settings.LOGGING["filters"]["redact"]["()"] == "medservice.core.logfilters.RedactingFilter"
    )


def test_a_logged_request_header_reaches_the_handler_redacted(caplog):
    logger = logging.getLogger("medservice.test")
    handler_filter = RedactingFilter()
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("headers %s", {"HTTP_AUTHORIZATION": "Token abcdef0123456789"})
    finally:
        caplog.handler.removeFilter(handler_filter)

    assert caplog.messages == ["headers {'HTTP_AUTHORIZATION': 'Token [redacted]'}"]
