"""Webhook background work: thin wrappers over the services."""

from __future__ import annotations

import datetime

from django_tasks import task

from medservice.core.scheduler import periodic_job


@task()
def webhook_deliver(delivery_id: int) -> str:
    """First attempt of a delivery, right after the event's transaction committed."""
    from medservice.integrations.services import delivery_attempt

    delivery = delivery_attempt(delivery_id=delivery_id)
    return delivery.state if delivery is not None else "skipped"


@periodic_job("integrations.webhook-retries", every=datetime.timedelta(minutes=1))
def webhook_retries() -> int:
    """Retry failed deliveries whose back-off has passed (and first attempts a worker lost)."""
    from medservice.integrations.services import deliveries_retry_due

    return deliveries_retry_due()


@periodic_job("integrations.webhook-delivery-prune", every=datetime.timedelta(days=1))
def webhook_deliveries_prune() -> int:
    """Delete the delivery log past WEBHOOKS_DELIVERY_RETENTION_DAYS (never a pending one)."""
    from medservice.integrations.services import deliveries_prune

    return deliveries_prune()
