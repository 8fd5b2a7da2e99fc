from medservice.catalog.resources import (
    acceptance_test_items,
    device_models,
    fault_codes,
    manufacturers,
    product_lines,
    supplier_licences,
    suppliers,
)
from medservice.core.views import resource_urlpatterns

app_name = "catalog"
urlpatterns = [
    *resource_urlpatterns(device_models),
    *resource_urlpatterns(manufacturers),
    *resource_urlpatterns(suppliers),
    *resource_urlpatterns(supplier_licences),
    *resource_urlpatterns(product_lines),
    *resource_urlpatterns(fault_codes),
    *resource_urlpatterns(acceptance_test_items),
]
