from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class QualityConfig(AppConfig):
    name = "medservice.quality"
    label = "quality"
    verbose_name = _("Quality")
    navigation = (
        NavItem(
            _("Quality cases"),
            "quality:quality-cases-list",
            permission="quality.view_qualitycase",
            order=60,
        ),
        NavItem(
            _("Supplier notices"),
            "quality:supplier-notices-list",
            permission="quality.view_suppliernotice",
            order=61,
        ),
        NavItem(
            _("Adverse-event reports"),
            "quality:adverse-event-reports-list",
            permission="quality.view_adverseeventreport",
            order=62,
        ),
        NavItem(
            _("Reporting rules"),
            "quality:reporting-rules-list",
            permission="quality.change_reportingrule",
            order=62,
        ),
        NavItem(_("Recalls"), "quality:recalls-list", permission="quality.view_recall", order=63),
        NavItem(_("Trace"), "quality:trace", permission="quality.view_recall", order=64),
        NavItem(_("CAPA"), "quality:capas-list", permission="quality.view_capa", order=65),
        NavItem(
            _("Trend signals"),
            "quality:trend-signals-open",
            permission="quality.view_trendsignal",
            order=66,
        ),
        NavItem(
            _("Quality accidents"),
            "quality:quality-accidents-list",
            permission="quality.view_qualityaccident",
            order=67,
        ),
    )

    def ready(self) -> None:
        from medservice.quality import (  # noqa: F401  (registration)
            demo,
            receivers,
            resources,
            tasks,
            views_accidents,
            views_adverse_events,
            views_capa,
            views_decisions,
            views_recalls,
        )
