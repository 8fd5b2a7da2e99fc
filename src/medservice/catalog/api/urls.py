from rest_framework.routers import DefaultRouter

from medservice.catalog.resources import (
    acceptance_test_items,
    device_models,
    fault_codes,
    manufacturers,
    product_lines,
    supplier_licences,
    suppliers,
)
from medservice.core.api.viewsets import resource_viewset


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router (prefix = resource name)."""
    router.register("manufacturers", resource_viewset(manufacturers), basename="manufacturer")
    router.register("suppliers", resource_viewset(suppliers), basename="supplier")
    router.register(
        "supplier-licences", resource_viewset(supplier_licences), basename="supplier-licence"
    )
    router.register("product-lines", resource_viewset(product_lines), basename="product-line")
    router.register("device-models", resource_viewset(device_models), basename="device-model")
    router.register("fault-codes", resource_viewset(fault_codes), basename="fault-code")
    router.register(
        "acceptance-test-items",
        resource_viewset(acceptance_test_items),
        basename="acceptance-test-item",
    )
