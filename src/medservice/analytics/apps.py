from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class AnalyticsConfig(AppConfig):
    name = "medservice.analytics"
    label = "analytics"
    verbose_name = _("Analytics")
    # Areas: KPIs and dashboards; spot checks; evaluation reports; charts. Each adds its own
    # items below its marker.
    navigation = (
        # --- KPIs and dashboards ---
        NavItem(_("Service dashboard"), "analytics:service-dashboard",
                permission="analytics.view_service_dashboard", order=5),
        NavItem(_("Quality dashboard"), "analytics:quality-dashboard",
                permission="analytics.view_quality_dashboard", order=6),
        NavItem(_("KPIs"), "analytics:kpis", permission="analytics.view_kpis", order=120),
        NavItem(_("KPI targets"), "analytics:kpi-targets-list",
                permission="analytics.change_kpitarget", order=121),
        # --- spot checks ---
        NavItem(_("Spot checks"), "analytics:spot-checks",
                permission="analytics.view_spotchecksample", order=122),
        NavItem(_("Spot-check plans"), "analytics:spot-check-plans-list",
                permission="analytics.change_spotcheckplan", order=123),
        # --- evaluation reports ---
        NavItem(_("Evaluation reports"), "analytics:evaluation-reports-list",
                permission="analytics.view_evaluationreport", order=122),
        # --- charts ---
        NavItem(_("Charts"), "analytics:charts", permission="analytics.view_kpis", order=122),
    )  # fmt: skip

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from medservice.analytics.targets_defaults import default_targets_ensure

        post_migrate.connect(
            default_targets_ensure, sender=self, dispatch_uid="analytics-default-targets"
        )
        # Each module registers its KPIs in medservice.analytics.kpis.KPIS.
        from medservice.analytics import (  # noqa: F401  (registration)
            kpis_field,
            kpis_tickets,
            kpis_voice,
            resources,
            views,
        )

        # --- spot checks ---
        # Registers the monthly draw with the scheduler and the demo plan (calls, so each area
        # keeps its own lines).
        import_module("medservice.analytics.tasks_spot_checks")
        import_module("medservice.analytics.demo_spot_checks")

        # --- evaluation reports ---
        # isort: split
        from medservice.analytics import tasks_reports  # noqa: F401  (registers the daily job)

        # --- charts ---
        # --- dashboards ---
        # isort: split
        from medservice.analytics import views_dashboards  # noqa: F401  (home panels)

        # --- stored figures ---
        import_module("medservice.analytics.tasks_snapshots")
