from rest_framework.routers import DefaultRouter

from medservice.tickets.api.viewsets import TicketViewSet
from medservice.tickets.policies import SlaPolicyViewSet


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    router.register("tickets", TicketViewSet, basename="ticket")
    router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")


def extra_urlpatterns() -> list:
    """Issue 12 intake: the inbound endpoint for call centres and WeChat bridges."""
    from django.urls import path

    from medservice.tickets.api.intake import IntakeTicketView

    return [path("intake/tickets/", IntakeTicketView.as_view(), name="intake-tickets")]
