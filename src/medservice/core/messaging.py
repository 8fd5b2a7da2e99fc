"""Short messages (SMS, WeChat): a backend interface; the default backend only logs.

A deployment plugs its gateway in with the SMS_BACKEND setting (a dotted path to a class with
the same `send` method). Tests and demo installs never reach a real gateway.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("medservice.messaging")


class MessageBackend(Protocol):
    def send(self, *, to: str, text: str, channel: str = "sms") -> str:
        """Send `text` to a phone number or WeChat id; return the gateway's message id."""


class LoggingMessageBackend:
    sent: list[dict[str, str]] = []

    def send(self, *, to: str, text: str, channel: str = "sms") -> str:
        message_id = f"log-{len(self.sent) + 1}"
        self.sent.append({"to": to, "text": text, "channel": channel, "id": message_id})
        logger.info("%s to %s: %s", channel, to, text)
        return message_id


def message_backend() -> MessageBackend:
    return import_string(settings.MEDSERVICE_SMS_BACKEND)()
