"""Sending webhooks over real HTTP: the signed request a receiver verifies, retries after
failures with exact exponential back-off, disabling after repeated failure (the owner told),
redelivery, and the SSRF guard."""

from __future__ import annotations

import datetime
import json

import pytest
from freezegun import freeze_time

from medservice.core.errors import InvalidInputError
from medservice.core.models import Notification
from medservice.integrations.choices import DeliveryState
from medservice.integrations.models import WebhookDelivery
from medservice.integrations.services import (
    deliveries_retry_due,
    delivery_redeliver,
    event_publish,
    retry_delay,
    subscription_enable,
    subscription_send_test,
)
from tests.integrations.factories import subscribe

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 27, 2, 0, tzinfo=datetime.UTC)
SECOND = datetime.timedelta(seconds=1)


def publish(capture, organization=None):
    with capture(execute=True):
        event_publish(
            "ticket.created",
            {"ticket": {"id": 7, "number": "TS-2026-000007"}},
            organization=organization,
        )
    return WebhookDelivery.objects.get()


def test_given_a_subscription_when_a_test_event_is_sent_then_the_receiver_verifies_the_signature(
    receiver, integrator
):
    # Given the company's integration pointing at the local receiver
    subscription = subscribe(integrator, receiver.url)
    # When the administrator sends a test event
    with freeze_time(T0):
        delivery = subscription_send_test(actor=integrator, subscription=subscription)
    # Then one POST arrived, signed over "timestamp.body" with the secret
    assert len(receiver.received) == 1
    request = receiver.received[0]
    assert request.signature_valid is True
    assert request.path == "/hooks/medservice"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-medservice-event"] == "ping"
    assert request.headers["x-medservice-delivery"] == str(delivery.uuid)
    assert request.headers["x-medservice-timestamp"] == str(int(T0.timestamp()))
    assert request.json == {
        "id": str(delivery.event_id),
        "type": "ping",
        "version": "1",
        "occurred_at": "2026-11-27T02:00:00+00:00",
        "data": {"subscription": subscription.pk},
    }
    # And the log says it was delivered on the first attempt
    assert (
        delivery.state,
        delivery.attempts,
        delivery.last_status_code,
        delivery.delivered_at,
    ) == (
        DeliveryState.DELIVERED,
        1,
        200,
        T0,
    )


def test_given_a_receiver_failing_three_times_then_retries_back_off_60_120_240_seconds(
    receiver, integrator, django_capture_on_commit_callbacks
):
    subscribe(integrator, receiver.url)
    receiver.answers = [500, 502, 503]
    # When the event is published at T0, the first attempt fails at once
    with freeze_time(T0):
        delivery = publish(django_capture_on_commit_callbacks)
    assert (delivery.attempts, delivery.last_status_code, delivery.next_attempt_at) == (
        1,
        500,
        T0 + 60 * SECOND,
    )
    assert delivery.last_error == "HTTP 500 Internal Server Error"
    # Then the retry job leaves it until its back-off has passed, then doubles the wait
    assert deliveries_retry_due(now=T0 + 59 * SECOND) == 0
    assert len(receiver.received) == 1
    with freeze_time(T0 + 60 * SECOND):
        assert deliveries_retry_due() == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code, delivery.next_attempt_at) == (
        2,
        502,
        T0 + 180 * SECOND,
    )
    with freeze_time(T0 + 180 * SECOND):
        assert deliveries_retry_due() == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (3, T0 + 420 * SECOND)
    # And the fourth attempt succeeds: delivered, the failure count back to zero
    with freeze_time(T0 + 420 * SECOND):
        assert deliveries_retry_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.delivered_at, delivery.next_attempt_at) == (
        DeliveryState.DELIVERED,
        4,
        T0 + 420 * SECOND,
        None,
    )
    assert delivery.subscription.consecutive_failures == 0
    # Every attempt carried the same event and delivery ids, each signed with its own timestamp
    assert [request.signature_valid for request in receiver.received] == [True] * 4
    assert {request.json["id"] for request in receiver.received} == {str(delivery.event_id)}
    assert [request.headers["x-medservice-timestamp"] for request in receiver.received] == [
        str(int((T0 + seconds * SECOND).timestamp())) for seconds in (0, 60, 180, 420)
    ]


def test_the_back_off_doubles_up_to_the_maximum(settings):
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 60
    settings.WEBHOOKS_RETRY_MAX_SECONDS = 3600
    assert [retry_delay(attempt).total_seconds() for attempt in range(1, 9)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip


def test_given_a_receiver_that_keeps_failing_then_the_subscription_is_disabled_and_the_owner_told(
    receiver, integrator, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_DISABLE_AFTER = 3
    subscription = subscribe(integrator, receiver.url)
    receiver.answers = [500] * 10
    with freeze_time(T0):
        delivery = publish(django_capture_on_commit_callbacks)
    with freeze_time(T0 + 60 * SECOND):
        deliveries_retry_due()
    with freeze_time(T0 + 180 * SECOND):
        deliveries_retry_due()
    # Then after the third failure in a row the subscription is disabled
    subscription.refresh_from_db()
    assert (
        subscription.is_active,
        subscription.consecutive_failures,
        subscription.disabled_at,
    ) == (
        False,
        3,
        T0 + 180 * SECOND,
    )
    assert subscription.disabled_reason == (
        "Disabled after 3 failed deliveries in a row; last error: HTTP 500 Internal Server Error"
    )
    # And its owner has a notification
    notification = Notification.objects.get(recipient=integrator)
    assert notification.subject == 'Webhook "ERP" disabled after repeated failures'
    assert notification.link == f"/integrations/webhooks/{subscription.pk}/"
    # And nothing more is sent while it is disabled, though the delivery waits
    assert deliveries_retry_due(now=T0 + 10 * 3600 * SECOND) == 0
    assert len(receiver.received) == 3
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 3)
    # When the administrator enables it again, the waiting delivery goes out
    receiver.answers = []
    with freeze_time(T0 + 3600 * SECOND):
        subscription_enable(actor=integrator, subscription=subscription)
        assert deliveries_retry_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 4)


def test_given_max_attempts_reached_then_the_delivery_fails_for_good(
    receiver, integrator, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_MAX_ATTEMPTS = 2
    subscribe(integrator, receiver.url)
    receiver.answers = [500, 500]
    with freeze_time(T0):
        delivery = publish(django_capture_on_commit_callbacks)
    with freeze_time(T0 + 60 * SECOND):
        deliveries_retry_due()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.next_attempt_at) == (
        DeliveryState.FAILED,
        2,
        None,
    )


def test_given_a_delivered_event_when_redelivered_then_the_same_event_is_sent_again(
    receiver, integrator, django_capture_on_commit_callbacks
):
    subscribe(integrator, receiver.url)
    with freeze_time(T0):
        delivery = publish(django_capture_on_commit_callbacks)
    with freeze_time(T0 + 3600 * SECOND):
        delivery = delivery_redeliver(actor=integrator, delivery=delivery)
    assert (delivery.state, delivery.attempts, delivery.delivered_at) == (
        DeliveryState.DELIVERED,
        2,
        T0 + 3600 * SECOND,
    )
    assert [request.body for request in receiver.received] == [
        json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    ] * 2


def test_given_private_addresses_not_allowed_then_the_loopback_receiver_is_never_called(
    receiver, integrator, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    subscription = subscribe(integrator, receiver.url)
    delivery = subscription_send_test(actor=integrator, subscription=subscription)
    assert receiver.received == []
    assert (delivery.state, delivery.last_status_code, delivery.last_error) == (
        DeliveryState.PENDING,
        None,
        "The host resolves to a private or local address, which webhooks may not call.",
    )


@pytest.mark.parametrize(
    "url",
    ["http://erp.example.com/hooks", "ftp://erp.example.com/hooks", "erp.example.com/hooks"],
)
def test_a_receiver_url_must_be_https(integrator, url):
    with pytest.raises(InvalidInputError) as refused:
        subscribe(integrator, url)
    assert list(refused.value.fields) == ["target_url"]


def test_an_https_url_and_plain_http_to_localhost_in_tests_are_accepted(integrator):
    assert subscribe(integrator, "https://erp.example.com/hooks").target_url == (
        "https://erp.example.com/hooks"
    )
    assert subscribe(integrator, "http://localhost:8080/hooks").target_url == (
        "http://localhost:8080/hooks"
    )


def test_the_secret_is_stored_encrypted_and_kept_out_of_the_audit(integrator):
    from django.db import connection

    from medservice.core.models import AuditEvent

    subscription = subscribe(integrator, "https://erp.example.com/hooks")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM integrations_webhooksubscription WHERE id = %s", [subscription.pk]
        )
        stored = cursor.fetchone()[0]
    assert stored.startswith("enc1:")
    assert "whsec_test-secret-2026" not in stored
    event = AuditEvent.objects.get(object_type="integrations.webhooksubscription")
    assert "secret" not in json.dumps(event.changes)


def test_a_redirect_is_a_failed_attempt_not_followed(receiver, integrator):
    # A receiver cannot bounce the request to an address the SSRF guard would refuse.
    subscription = subscribe(integrator, receiver.url)
    receiver.answers = [302]
    with freeze_time(T0):
        delivery = subscription_send_test(actor=integrator, subscription=subscription)
    assert len(receiver.received) == 1
    assert (delivery.state, delivery.last_status_code, delivery.next_attempt_at) == (
        DeliveryState.PENDING,
        302,
        T0 + 60 * SECOND,
    )


def test_the_retries_run_every_minute_from_the_scheduler():
    from medservice.core.scheduler import JOBS

    job = JOBS["integrations.webhook-retries"]
    assert (job.every, job.lease) == (
        datetime.timedelta(minutes=1),
        datetime.timedelta(minutes=10),
    )
