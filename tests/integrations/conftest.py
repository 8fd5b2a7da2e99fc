"""Webhook tests: a real HTTP receiver on an ephemeral local port that checks every request's
signature with the subscription's secret, answers with the status codes a test queues, and
keeps what it received."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from medservice.accounts.choices import Role
from tests.factories import user_with_role
from tests.integrations.factories import SECRET


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]  # names in lower case: HTTP header names are case-insensitive
    body: bytes
    signature_valid: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """The test's webhook receiver: `url` to subscribe, `answers` to queue status codes (200
    once the queue is empty), `received` to read what came."""

    url: str
    secret: str = SECRET
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        # What a receiver does (docs/api.md): HMAC-SHA256 of "timestamp.body", compared in
        # constant time.
        timestamp = headers.get("x-medservice-timestamp", "")
        expected = (
            "sha256="
            + hmac.new(
                self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
        )
        return hmac.compare_digest(expected, headers.get("x-medservice-signature", ""))


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            valid = state.verify(headers, body)
            state.received.append(Received(self.path, headers, body, valid))
            status = state.answers.pop(0) if state.answers else 200
            if not valid:
                status = 401
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass  # quiet test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/medservice"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    # The receiver listens on the loopback address, which the SSRF guard refuses by default.
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 5
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 60
    settings.WEBHOOKS_RETRY_MAX_SECONDS = 3600
    settings.WEBHOOKS_MAX_ATTEMPTS = 12
    settings.WEBHOOKS_DISABLE_AFTER = 10


@pytest.fixture
def integrator(company):
    """The administrator who owns the company's integration."""
    return user_with_role(Role.ADMINISTRATOR, company, username="integrator", email="it@kd.example")
