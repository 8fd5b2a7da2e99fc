from medservice.analytics import views
from medservice.core.views import resource_urlpatterns

app_name = "analytics"
urlpatterns: list = []

# --- KPIs and dashboards ---
from medservice.analytics.resources import kpi_targets  # noqa: E402

urlpatterns += [*views.urlpatterns, *resource_urlpatterns(kpi_targets)]

# --- spot checks ---
from medservice.analytics import views_spot_checks  # noqa: E402
from medservice.analytics.resources import (  # noqa: E402
    spot_check_checklist_items,
    spot_check_plans,
)

urlpatterns += [
    *views_spot_checks.urlpatterns,
    *resource_urlpatterns(spot_check_plans),
    *resource_urlpatterns(spot_check_checklist_items),
]

# --- evaluation reports ---
from medservice.analytics import views_reports  # noqa: E402

urlpatterns += views_reports.urlpatterns

# --- charts ---
from medservice.analytics import views_charts  # noqa: E402

urlpatterns += views_charts.urlpatterns

# --- dashboards ---
from medservice.analytics import views_dashboards  # noqa: E402

urlpatterns += views_dashboards.urlpatterns
