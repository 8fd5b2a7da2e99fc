from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    from medservice.integrations.api.viewsets import (
        WebhookDeliveryViewSet,
        WebhookSubscriptionViewSet,
    )

    router.register(
        "webhook-subscriptions", WebhookSubscriptionViewSet, basename="webhook-subscription"
    )
    router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")
