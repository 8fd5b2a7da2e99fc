"""Signing and sending one webhook request over HTTP(S), with the SSRF guard.

Only the standard library (urllib): the project has no HTTP client dependency and one POST
needs none. Redirects are refused, so a receiver cannot bounce a request to an internal address
that the guard refused.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

USER_AGENT = "MedService-Webhooks/1"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def signature_for(*, secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `timestamp + "." + body` under the subscription's secret."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def url_problem(url: str) -> str:
    """Why this URL may not receive webhooks ("" when it may), from its text alone: https,
    except plain http to the local machine while developing or testing."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return _("Enter a full URL, such as https://example.com/hooks/medservice.")
    if parts.scheme == "https":
        return ""
    local_allowed = settings.DEBUG or getattr(settings, "TESTING", False)
    if parts.scheme == "http" and host in LOCAL_HOSTS and local_allowed:
        return ""
    return _("The URL must start with https://.")


def _address_refused(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


def address_problem(url: str) -> str:
    """Why the host's addresses may not be called ("" when they may): private, loopback,
    link-local (cloud metadata) and reserved addresses are refused unless
    WEBHOOKS_ALLOW_PRIVATE is set, so a subscription cannot probe the internal network."""
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        return ""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return _("The host name cannot be resolved.")
    if any(_address_refused(str(info[4][0])) for info in infos):
        return _("The host resolves to a private or local address, which webhooks may not call.")
    return ""


@dataclass(frozen=True)
class SendResult:
    """What one attempt got back: a status code, or an error when no answer came."""

    status_code: int | None
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 3xx answer is the attempt's result, not a new request


_opener = urllib.request.build_opener(_NoRedirect)


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> SendResult:
    """POST the body; never raises for network or HTTP failures (they are the result)."""
    problem = url_problem(url) or address_problem(url)
    if problem:
        return SendResult(None, problem)
    # The scheme was checked above (https, or http to localhost while developing): no file: URLs.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return SendResult(response.status, "")
    except urllib.error.HTTPError as error:
        return SendResult(error.code, f"HTTP {error.code} {error.reason}"[:500])
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return SendResult(None, str(reason)[:500] or type(error).__name__)
