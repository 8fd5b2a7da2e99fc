"""Outbound webhooks: who receives which domain events, and the log of every delivery."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.core.crypto import EncryptedTextField
from medservice.core.models import AuditedModel
from medservice.integrations.choices import DeliveryState, EventType


class WebhookSubscription(AuditedModel):
    """A receiving system (an ERP, a hospital's equipment system, a distributor's service desk)
    that MedService calls with signed JSON when chosen domain events happen. Without an
    organisation it is the company's own and receives every event; with one, only the events of
    records that organisation may see."""

    name = models.CharField(_("name"), max_length=100)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
        help_text=_("Empty: the company's own integration, which receives every event."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
        help_text=_("Told when the subscription is disabled after repeated failures."),
    )
    target_url = models.URLField(_("target URL"), max_length=500)
    # Encrypted at rest (docs/decisions/0005): a database dump must not let anyone sign events.
    secret = EncryptedTextField(_("signing secret"))
    event_types = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("reason disabled"), max_length=300, blank=True)

    # The secret never enters the audit trail; the failure counter moves with every attempt
    # and is not a configuration change.
    audit_exclude: ClassVar[frozenset[str]] = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {
        "secret",
        "consecutive_failures",
    }

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event sent (or still to be sent) to one subscription: the exact body, every attempt's
    outcome, and when the next attempt is due. The delivery log, not a business record."""

    uuid = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_id = models.UUIDField(_("event id"), db_index=True)
    event_type = models.CharField(_("event"), max_length=40, choices=EventType.choices)
    payload = models.JSONField(_("payload"))
    state = models.CharField(
        _("state"), max_length=20, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last status code"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        permissions = [("redeliver_webhookdelivery", _("Can send a webhook delivery again"))]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once_per_event"
            )
        ]
        # The retry job reads only the pending deliveries that are due.
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.state})"
