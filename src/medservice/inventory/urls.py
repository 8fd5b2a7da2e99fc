from medservice.core.views import resource_urlpatterns
from medservice.inventory import (
    views,
    views_counts,
    views_instruments,
    views_purchasing,
    views_requisitions,
)
from medservice.inventory.resources import locations, lots, movements, parts, stock

app_name = "inventory"
urlpatterns = [
    *resource_urlpatterns(parts),
    *resource_urlpatterns(locations),
    *resource_urlpatterns(lots),
    *resource_urlpatterns(movements),
    *resource_urlpatterns(stock),
    *views.urlpatterns,
    *views_purchasing.urlpatterns,
    *views_requisitions.urlpatterns,
    *views_counts.urlpatterns,
    *views_instruments.urlpatterns,
]
