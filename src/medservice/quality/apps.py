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
        # == decisions ==
        # == adverse_events ==
        # == recalls ==
        NavItem(_("Recalls"), "quality:recalls-list", permission="quality.view_recall", order=63),
        NavItem(_("Trace"), "quality:trace", permission="quality.view_recall", order=64),
        # == capa ==
        # == accidents ==
    )

    def ready(self) -> None:
        from medservice.quality import (  # noqa: F401  (registration)
            receivers,
            resources,
            tasks,
            views_accidents,
            views_adverse_events,
            views_capa,
            views_decisions,
            views_recalls,
        )
