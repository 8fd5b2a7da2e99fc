from django.urls import path
from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    from medservice.analytics.resources import kpi_targets
    from medservice.core.api.viewsets import resource_viewset

    # --- KPIs and dashboards ---
    router.register("kpi-targets", resource_viewset(kpi_targets), basename="kpi-target")
    # --- spot checks ---
    # --- evaluation reports ---
    from medservice.analytics.api.reports import evaluation_report_viewset
    from medservice.analytics.resources import evaluation_reports

    router.register("evaluation-reports", evaluation_report_viewset(evaluation_reports),
                    basename="evaluation-report")  # fmt: skip


def extra_urlpatterns() -> list:
    """Endpoints that are not a resource: the KPI figures and their records."""
    from medservice.analytics.api import views

    return [
        path("kpis/", views.KpiListView.as_view(), name="kpis"),
        path("kpis/<slug:code>/", views.KpiDetailView.as_view(), name="kpi-detail"),
        path("kpis/<slug:code>/records/", views.KpiRecordsView.as_view(), name="kpi-records"),
        # --- spot checks ---
        # --- evaluation reports ---
    ]
