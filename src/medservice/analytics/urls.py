from medservice.analytics import views
from medservice.core.views import resource_urlpatterns

app_name = "analytics"
urlpatterns: list = []

# --- KPIs and dashboards ---
from medservice.analytics.resources import kpi_targets  # noqa: E402

urlpatterns += [*views.urlpatterns, *resource_urlpatterns(kpi_targets)]

# --- spot checks ---

# --- evaluation reports ---

# --- charts ---
from medservice.analytics import views_charts  # noqa: E402

urlpatterns += views_charts.urlpatterns

# --- dashboards ---
from medservice.analytics import views_dashboards  # noqa: E402

urlpatterns += views_dashboards.urlpatterns
