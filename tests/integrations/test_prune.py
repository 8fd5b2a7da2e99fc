"""The delivery log's retention: delivered and failed deliveries are deleted once their last
activity is more than WEBHOOKS_DELIVERY_RETENTION_DAYS old, pending ones never; one audit event
says how many."""

from __future__ import annotations

import datetime
import uuid

import pytest

from medservice.core.choices import AuditAction
from medservice.core.context import audit_context
from medservice.core.models import AuditEvent
from medservice.integrations.choices import DeliveryState
from medservice.integrations.models import WebhookDelivery
from medservice.integrations.services import deliveries_prune
from tests.integrations.factories import subscribe

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 27, 2, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)


@pytest.fixture
def subscription(integrator):
    return subscribe(integrator, "https://erp.example.com/hooks")


def delivery(subscription, state, created_at, last_attempt_at=None):
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event_id=uuid.uuid4(),
        event_type="ticket.created",
        payload={},
        state=state,
        attempts=0 if last_attempt_at is None else 1,
        created_at=created_at,
        last_attempt_at=last_attempt_at,
    )


def prune_events():
    return AuditEvent.objects.filter(
        object_type="integrations.webhookdelivery", action=AuditAction.DELETE, detail="prune"
    )


def test_the_retention_is_a_setting_of_ninety_days_by_default():
    from django.conf import settings

    assert settings.WEBHOOKS_DELIVERY_RETENTION_DAYS == 90


def test_delivered_and_failed_deliveries_past_the_retention_go_pending_ones_stay(
    subscription, settings
):
    # given a 90-day retention and deliveries on each side of its boundary
    settings.WEBHOOKS_DELIVERY_RETENTION_DAYS = 90
    cutoff = NOW - 90 * DAY
    delivered_old = delivery(
        subscription, DeliveryState.DELIVERED, cutoff - SECOND, cutoff - SECOND
    )
    failed_old = delivery(subscription, DeliveryState.FAILED, cutoff - 30 * DAY, cutoff - 29 * DAY)
    pending_old = delivery(subscription, DeliveryState.PENDING, cutoff - 200 * DAY)
    retrying_old = delivery(
        subscription, DeliveryState.PENDING, cutoff - 10 * DAY, cutoff - 9 * DAY
    )
    on_the_boundary = delivery(subscription, DeliveryState.DELIVERED, cutoff, cutoff)
    recent = delivery(subscription, DeliveryState.FAILED, NOW - DAY, NOW - DAY)
    # created long ago, redelivered within the retention: its last attempt counts
    redelivered = delivery(subscription, DeliveryState.DELIVERED, cutoff - 50 * DAY, NOW - 5 * DAY)

    # when the job runs
    with audit_context(job="integrations.webhook-delivery-prune"):
        deleted = deliveries_prune(now=NOW)

    # then exactly the two finished deliveries older than the cutoff are gone
    assert deleted == 2
    remaining = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert remaining == {
        pending_old.pk,
        retrying_old.pk,
        on_the_boundary.pk,
        recent.pk,
        redelivered.pk,
    }
    assert delivered_old.pk not in remaining and failed_old.pk not in remaining

    # and one audit event says how many, by which job, up to when
    [event] = prune_events()
    assert event.job == "integrations.webhook-delivery-prune"
    assert event.changes == {
        "count": [2, 0],
        "older_than": [cutoff.isoformat(), None],
    }
    assert event.reason == "The webhook delivery log is kept for 90 days."


def test_the_boundary_moves_with_the_setting(subscription, settings):
    # given a 30-day retention: one delivery a second past it, one exactly at it
    settings.WEBHOOKS_DELIVERY_RETENTION_DAYS = 30
    cutoff = NOW - 30 * DAY
    delivery(subscription, DeliveryState.DELIVERED, cutoff - SECOND, cutoff - SECOND)
    kept = delivery(subscription, DeliveryState.DELIVERED, cutoff, cutoff)

    assert deliveries_prune(now=NOW) == 1
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [kept.pk]
    assert prune_events().get().changes["count"] == [1, 0]


def test_a_run_with_nothing_to_delete_writes_no_event(subscription):
    delivery(subscription, DeliveryState.DELIVERED, NOW - DAY, NOW - DAY)

    assert deliveries_prune(now=NOW) == 0
    assert not prune_events().exists()


def test_a_second_run_deletes_nothing_more(subscription):
    delivery(subscription, DeliveryState.FAILED, NOW - 100 * DAY, NOW - 100 * DAY)

    assert (deliveries_prune(now=NOW), deliveries_prune(now=NOW)) == (1, 0)
    assert prune_events().count() == 1


def test_the_prune_runs_daily_from_the_scheduler():
    from medservice.core.scheduler import JOBS

    job = JOBS["integrations.webhook-delivery-prune"]
    assert job.every == DAY
