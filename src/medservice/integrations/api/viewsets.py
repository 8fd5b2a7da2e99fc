"""Read-only API over webhook subscriptions and their delivery log, plus redelivery."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.errors import PermissionDeniedError
from medservice.integrations.api.serializers import (
    WebhookDeliverySerializer,
    WebhookSubscriptionSerializer,
)
from medservice.integrations.choices import DeliveryState, EventType
from medservice.integrations.models import WebhookDelivery
from medservice.integrations.selectors import (
    webhook_deliveries_visible_to,
    webhook_subscriptions_visible_to,
)
from medservice.integrations.services import delivery_redeliver


class WebhookSubscriptionViewSet(viewsets.ReadOnlyModelViewSet):
    """Webhook subscriptions (administrators and auditors); the secret is never returned."""

    serializer_class = WebhookSubscriptionSerializer
    scoping_exempt = (
        "internal administrators only (webhook selectors); tested in tests/integrations"
    )
    filterset_fields = ["organization", "is_active"]
    ordering_fields = ["name", "id"]
    search_fields = ["name", "target_url"]

    def get_queryset(self) -> Any:
        return webhook_subscriptions_visible_to(self.request.user).order_by("name", "id")


class WebhookDeliveryFilter(filters.FilterSet):
    event_type = filters.ChoiceFilter(choices=EventType.choices)
    state = filters.ChoiceFilter(choices=DeliveryState.choices)
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = WebhookDelivery
        fields = ["subscription", "event_type", "state", "event_id"]


class WebhookDeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    """The delivery log, newest first; `redeliver` sends one again now."""

    serializer_class = WebhookDeliverySerializer
    scoping_exempt = (
        "internal administrators only (webhook selectors); tested in tests/integrations"
    )
    filterset_class = WebhookDeliveryFilter
    ordering_fields = ["created_at", "id"]

    def get_queryset(self) -> Any:
        return webhook_deliveries_visible_to(self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=None, responses=WebhookDeliverySerializer)
    # POST would ask the model's "add" permission; the action checks its own instead.
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def redeliver(self, request: Request, pk: Any = None) -> Response:
        """Send the delivery again now (same event id and body); answers with its outcome."""
        delivery = self.get_object()
        if not request.user.has_perm("integrations.redeliver_webhookdelivery"):
            raise PermissionDeniedError(_("You may not send webhook deliveries again."))
        delivery = delivery_redeliver(actor=request.user, delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data)
