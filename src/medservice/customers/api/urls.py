from rest_framework.routers import DefaultRouter

from medservice.core.api.viewsets import resource_viewset
from medservice.customers.resources import organizations


def register(router: DefaultRouter) -> None:
    router.register("organizations", resource_viewset(organizations), basename="organization")
