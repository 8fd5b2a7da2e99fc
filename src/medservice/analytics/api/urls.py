from django.urls import path
from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this app's viewsets on the API router."""
    from medservice.analytics.resources import kpi_targets
    from medservice.core.api.viewsets import resource_viewset

    # --- KPIs and dashboards ---
    router.register("kpi-targets", resource_viewset(kpi_targets), basename="kpi-target")
    # --- spot checks ---
    from medservice.analytics.api.spot_checks import SpotCheckItemViewSet, SpotCheckSampleViewSet
    from medservice.analytics.resources import spot_check_checklist_items, spot_check_plans

    router.register("spot-checks", SpotCheckSampleViewSet, basename="spot-check")
    router.register("spot-check-items", SpotCheckItemViewSet, basename="spot-check-item")
    router.register(
        "spot-check-plans", resource_viewset(spot_check_plans), basename="spot-check-plan"
    )
    router.register(
        "spot-check-checklist-items",
        resource_viewset(spot_check_checklist_items),
        basename="spot-check-checklist-item",
    )
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
