"""Who sees webhook subscriptions and their delivery log: internal users whose role may (the
administrator keeps them, the auditor reads them); never customers or distributors, even when
a subscription is their organisation's (it carries a signing secret and a receiver address)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from medservice.customers.selectors import user_scope
from medservice.integrations.models import WebhookDelivery, WebhookSubscription


def webhook_subscriptions_visible_to(user: Any) -> QuerySet[WebhookSubscription]:
    if user_scope(user) != "internal" or not user.has_perm("integrations.view_webhooksubscription"):
        return WebhookSubscription.objects.none()
    return WebhookSubscription.objects.all()


def webhook_deliveries_visible_to(user: Any) -> QuerySet[WebhookDelivery]:
    if user_scope(user) != "internal" or not user.has_perm("integrations.view_webhookdelivery"):
        return WebhookDelivery.objects.none()
    return WebhookDelivery.objects.all()
