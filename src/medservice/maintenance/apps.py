from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class MaintenanceConfig(AppConfig):
    name = "medservice.maintenance"
    label = "maintenance"
    verbose_name = _("Maintenance")
    navigation = (
        NavItem(_("PM plans"), "maintenance:pm-plans-list", permission="maintenance.view_pmplan",
                order=75),
        NavItem(_("Overdue PM"), "maintenance:pm-overdue", permission="maintenance.view_pmplan",
                order=76),
        NavItem(_("PM completion"), "maintenance:pm-completion",
                permission="maintenance.view_pmvisit", order=77),
        NavItem(_("Installations"), "maintenance:installations-list",
                permission="maintenance.view_installation", order=78),
        NavItem(_("Acceptances"), "maintenance:acceptances-list",
                permission="maintenance.view_acceptancerecord", order=79),
        NavItem(_("Operator trainings"), "maintenance:operator-trainings-list",
                permission="maintenance.view_operatortraining", order=80),
        NavItem(_("Re-training suggestions"), "maintenance:retraining-suggestions-list",
                permission="maintenance.view_retrainingsuggestion", order=81),
    )  # fmt: skip

    def ready(self) -> None:
        from medservice.maintenance import (  # noqa: F401  (registration)
            demo,
            receivers,
            resources,
            tasks,
        )
