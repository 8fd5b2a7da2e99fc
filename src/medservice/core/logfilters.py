"""No secret or personal data in the logs: a filter on every log handler that masks
passwords, tokens, Authorization headers, session ids, phone numbers and ID numbers in the
message (arguments included) and in the traceback text, before any handler writes it.

Logs leave the system (journald, a log shipper, a support ticket); the personal-data rules
(PIPL) and the password rules do not stop at the database.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# Names whose value is a secret, in key=value, key: value, "key": "value" and 'key': 'value'.
_SECRET_NAMES = (
    r"password\d?|passwd|pwd|new_password\d|old_password|secret|secret_key|token|api[_-]?key|"
    r"access[_-]?token|refresh[_-]?token|authorization|csrfmiddlewaretoken|csrftoken|sessionid|"
    r"field_encryption_key|imap_password|email_host_password"
)
_SECRET_VALUE = re.compile(
    rf"""(?P<key>["']?\b(?:{_SECRET_NAMES})\b["']?\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|(?:Token|Bearer|Basic)\s+\S+|[^\s,&;}\]]+)""",
    re.IGNORECASE,
)
# An Authorization header's credentials wherever they appear ("Token 9944b0...").
_CREDENTIALS = re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}")
# Mainland resident ID numbers: 17 digits and a check digit or X.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
# Mainland mobile numbers (optionally +86), then landlines with an area code (010-12345678).
_MOBILE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]\d{3,4}[- ]?(\d{4})(?!\d)")


def redact(text: str) -> str:
    """`text` with secrets replaced and phone and ID numbers masked (the ends stay readable
    so that a support engineer can still match a log line to a case)."""

    def secret(match: re.Match[str]) -> str:
        value = match.group("value")
        quote = value[0] if value[:1] in ("'", '"') else ""
        return f"{match.group('key')}{quote}{REDACTED}{quote}"

    text = _SECRET_VALUE.sub(secret, text)
    text = _CREDENTIALS.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    text = _ID_NUMBER.sub(lambda match: f"{match.group(1)}********{match.group(2)}", text)
    text = _MOBILE.sub(lambda match: f"{match.group(1)}****{match.group(2)}", text)
    return _LANDLINE.sub(lambda match: f"{match.group(1)}-****{match.group(2)}", text)


class RedactingFilter(logging.Filter):
    """Rewrite each record's message and traceback text through `redact`; drop nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call still gets logged, redacted
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
