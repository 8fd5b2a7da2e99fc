from medservice.analytics import views
from medservice.core.views import resource_urlpatterns

app_name = "analytics"
urlpatterns: list = []

# --- KPIs and dashboards ---
from medservice.analytics.resources import kpi_targets  # noqa: E402

urlpatterns += [*views.urlpatterns, *resource_urlpatterns(kpi_targets)]

# --- spot checks ---

# --- evaluation reports ---
from medservice.analytics import views_reports  # noqa: E402

urlpatterns += views_reports.urlpatterns

# --- charts ---
