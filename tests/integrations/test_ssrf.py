"""The SSRF guard against DNS rebinding: the receiver's host is resolved once, every address it
resolves to is checked, and the request goes to the checked address (Host header and TLS name
still the host's), so a second DNS answer cannot send it into the internal network."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest
from django.utils import translation

from medservice.integrations import transport
from medservice.integrations.choices import DeliveryState
from medservice.integrations.services import subscription_send_test
from tests.integrations.factories import subscribe

PUBLIC = "93.184.216.34"
REFUSED = "The host resolves to a private or local address, which webhooks may not call."
REFUSED_ADDRESSES = [
    "127.0.0.1",  # loopback
    "10.0.0.7",  # private
    "172.16.3.4",
    "192.168.1.20",
    "169.254.169.254",  # link-local: the cloud metadata service
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "224.0.0.251",  # multicast
    "240.0.0.1",  # reserved
    "0.0.0.0",  # unspecified
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped IPv6 of the loopback
    "::ffff:10.0.0.7",
    "::ffff:169.254.169.254",
]


def answer(*addresses: str, port: int = 443) -> list[tuple[Any, ...]]:
    """What socket.getaddrinfo returns for these addresses."""
    return [
        (
            socket.AF_INET6 if ":" in address else socket.AF_INET,
            socket.SOCK_STREAM,
            socket.IPPROTO_TCP,
            "",
            (address, port, 0, 0) if ":" in address else (address, port),
        )
        for address in addresses
    ]


class Resolver:
    """socket.getaddrinfo for one host name: a new answer on each lookup (the attacker's DNS
    server), the real resolver for every other name."""

    def __init__(self, host: str, *answers: list[tuple[Any, ...]]) -> None:
        self.host, self.answers, self.lookups = host, list(answers), 0
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != self.host:
            return self.real(host, port, *args, **kwargs)
        self.lookups += 1
        return self.answers.pop(0)


@pytest.fixture
def dialled(monkeypatch):
    """The addresses the transport connects to; every connection is then refused."""
    addresses: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        addresses.append(address)
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return addresses


def send(url: str) -> transport.SendResult:
    return transport.post(url=url, body=b"{}", headers={}, timeout=2)


def test_a_second_dns_answer_never_decides_where_the_request_goes(settings, monkeypatch, dialled):
    # given private targets refused and a name that answers public once, loopback after
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    resolver = Resolver("hooks.example.com", answer(PUBLIC), answer("127.0.0.1"))
    monkeypatch.setattr(socket, "getaddrinfo", resolver)

    # when a webhook is sent to it
    result = send("https://hooks.example.com/medservice")

    # then the name was resolved once and the checked public address was dialled
    assert resolver.lookups == 1
    assert dialled == [(PUBLIC, 443)]
    assert (result.status_code, result.error) == (None, "connection refused")


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_any_refused_address_among_the_answers_refuses_the_request(
    settings, monkeypatch, dialled, address
):
    # given a name that resolves to a public address and one that is not
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    monkeypatch.setattr(
        socket, "getaddrinfo", Resolver("hooks.example.com", answer(PUBLIC, address))
    )

    # when a webhook is sent to it; then nothing is dialled and the reason is given
    assert send("https://hooks.example.com/medservice") == transport.SendResult(None, REFUSED)
    assert dialled == []


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_each_refused_kind_of_address_is_recognised(address):
    assert transport.address_refused(address)


@pytest.mark.parametrize("address", [PUBLIC, "2606:2800:220:1::1", f"::ffff:{PUBLIC}"])
def test_public_addresses_are_not_refused(address):
    assert not transport.address_refused(address)


@pytest.mark.django_db
def test_the_delivery_log_says_why_in_the_users_language(integrator, settings, monkeypatch):
    # given a subscription whose host resolves to a public and a private address
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    subscription = subscribe(integrator, "https://erp.example.com/hooks")
    monkeypatch.setattr(
        socket, "getaddrinfo", Resolver("erp.example.com", answer(PUBLIC, "10.1.2.3"))
    )

    # when a test event is sent (in Chinese)
    with translation.override("zh-hans"):
        delivery = subscription_send_test(actor=integrator, subscription=subscription)

    # then the attempt is logged as refused, with the reason, and will be retried
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        DeliveryState.PENDING,
        1,
        None,
    )
    assert delivery.last_error == "该主机解析为内网或本机地址，Webhook 不能调用此类地址。"


def test_an_unresolvable_host_is_a_failed_attempt(settings, monkeypatch, dialled):
    def unknown(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)

    assert send("https://nowhere.example.com/hooks").error == "The host name cannot be resolved."
    assert dialled == []


@pytest.mark.django_db
def test_private_targets_allowed_reach_the_checked_address_with_the_host_name(
    receiver, integrator, settings, monkeypatch
):
    # given private targets allowed (an on-premise receiver; the test's own on 127.0.0.1) and
    # a name that answers the receiver's address once, another address after
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    port = int(receiver.url.split(":")[2].split("/")[0])
    url = f"http://localhost:{port}/hooks/medservice"
    resolver = Resolver("localhost", answer("127.0.0.1", port=port), answer("10.9.9.9", port=port))
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    subscription = subscribe(integrator, url)

    # when a test event is sent
    delivery = subscription_send_test(actor=integrator, subscription=subscription)

    # then the receiver got it, signed, under the host name it was subscribed with
    assert (delivery.state, delivery.last_status_code) == (DeliveryState.DELIVERED, 200)
    assert resolver.lookups == 1
    [request] = receiver.received
    assert request.signature_valid
    assert request.headers["host"] == f"localhost:{port}"
    assert request.path == "/hooks/medservice"


def test_https_checks_the_certificate_and_sends_the_host_name_over_the_pinned_address():
    # given the connection the transport opens for an https receiver
    connection = transport._PinnedHTTPSConnection(
        "hooks.example.com", 443, address=PUBLIC, timeout=2
    )

    # then TLS is verified for the host name (SNI and certificate), not for the address
    assert connection.host == "hooks.example.com"
    assert connection._context.check_hostname is True
    assert connection._context.verify_mode == ssl.CERT_REQUIRED
