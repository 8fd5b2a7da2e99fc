from rest_framework.routers import DefaultRouter

from medservice.inventory.api import counts, instruments, purchasing, requisitions
from medservice.inventory.api.viewsets import (
    LocationViewSet,
    LotViewSet,
    MovementViewSet,
    PartViewSet,
    StockViewSet,
)


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    router.register("parts", PartViewSet, basename="part")
    router.register("stock-locations", LocationViewSet, basename="stock-location")
    router.register("part-lots", LotViewSet, basename="part-lot")
    router.register("stock", StockViewSet, basename="stock")
    router.register("stock-movements", MovementViewSet, basename="stock-movement")
    purchasing.register(router)
    requisitions.register(router)
    counts.register(router)
    instruments.register(router)
