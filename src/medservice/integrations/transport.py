"""Signing and sending one webhook request over HTTP(S), with the SSRF guard.

Only the standard library (http.client): the project has no HTTP client dependency and one POST
needs none. The receiver's host is resolved once; every address it resolves to must be public
(unless WEBHOOKS_ALLOW_PRIVATE), and the request goes to the first of those very addresses while
the Host header, TLS SNI and the certificate check still use the host name. A second DNS answer
(DNS rebinding: public when checked, 127.0.0.1 when connecting) therefore never decides where the
request goes. Redirects are not followed, so a receiver cannot bounce a request to an internal
address that the guard refused.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Any
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


def address_refused(address: str) -> bool:
    """Whether webhooks may not call this address: loopback, private, link-local (the cloud
    metadata service), multicast, reserved, unspecified, shared (carrier-grade NAT) or any other
    non-global address, also when written as an IPv4-mapped IPv6 address (::ffff:10.0.0.1)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


@dataclass(frozen=True)
class Resolution:
    """The address a request is sent to, or why it is not sent."""

    address: str
    problem: str


def resolve(host: str, port: int) -> Resolution:
    """Resolve `host` once and choose the address to connect to: the first answer, provided
    that no answer is refused (one private address among public ones is how a rebinding or a
    split-horizon name would reach the internal network)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return Resolution("", _("The host name cannot be resolved."))
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        return Resolution("", _("The host name cannot be resolved."))
    if not settings.WEBHOOKS_ALLOW_PRIVATE and any(map(address_refused, addresses)):
        return Resolution(
            "", _("The host resolves to a private or local address, which webhooks may not call.")
        )
    return Resolution(addresses[0], "")


@dataclass(frozen=True)
class SendResult:
    """What one attempt got back: a status code, or an error when no answer came."""

    status_code: int | None
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _dial(address: str) -> Any:
    """A stand-in for socket.create_connection that dials the checked address: http.client
    asks for (host name, port), and the name must not be resolved a second time."""

    def create_connection(target: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        return socket.create_connection((address, target[1]), *args, **kwargs)

    return create_connection


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to the host name (Host header) that dials the checked address."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._create_connection = _dial(address)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address; SNI and the certificate are checked for the host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._create_connection = _dial(address)


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> SendResult:
    """POST the body; never raises for network or HTTP failures (they are the result)."""
    problem = url_problem(url)
    if problem:
        return SendResult(None, problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    try:
        port = parts.port or (443 if https else 80)
    except ValueError:
        return SendResult(
            None, _("Enter a full URL, such as https://example.com/hooks/medservice.")
        )
    resolution = resolve(host, port)
    if resolution.problem:
        return SendResult(None, resolution.problem)
    # The scheme was checked above (https, or http to localhost while developing or testing).
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = connection_class(host, port, address=resolution.address, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request(
            "POST",
            target,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer's body is not used; read a little, politely
    except (OSError, http.client.HTTPException, ValueError) as error:
        return SendResult(None, str(error)[:500] or type(error).__name__)
    finally:
        connection.close()
    if 200 <= response.status < 300:
        return SendResult(response.status, "")
    # A 3xx answer is the attempt's result, not a new request.
    return SendResult(response.status, f"HTTP {response.status} {response.reason}"[:500])
