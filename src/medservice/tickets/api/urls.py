from rest_framework.routers import DefaultRouter

from medservice.tickets.api.viewsets import TicketViewSet
from medservice.tickets.policies import SlaPolicyViewSet


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    router.register("tickets", TicketViewSet, basename="ticket")
    router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")
