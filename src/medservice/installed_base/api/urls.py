from rest_framework.routers import DefaultRouter

from medservice.installed_base.api.viewsets import (
    ContractViewSet,
    DeliveryViewSet,
    DeviceViewSet,
    HoldViewSet,
    TraceViewSet,
    UdiViewSet,
)


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    router.register("devices", DeviceViewSet, basename="device")
    router.register("deliveries", DeliveryViewSet, basename="delivery")
    router.register("contracts", ContractViewSet, basename="contract")
    router.register("holds", HoldViewSet, basename="hold")
    router.register("trace", TraceViewSet, basename="trace")
    router.register("udi", UdiViewSet, basename="udi")
