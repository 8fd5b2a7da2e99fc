from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class CoreConfig(AppConfig):
    name = "medservice.core"
    label = "core"
    verbose_name = _("Core")
    navigation = (
        NavItem(
            _("Business calendars"),
            "core:business-calendars-list",
            # Administrators maintain them; other roles read them from the SLA pages.
            permission="core.change_businesscalendar",
            order=90,
        ),
    )

    def ready(self) -> None:
        from medservice.core import (  # noqa: F401  (registration)
            audit,
            calendars,
            checks,
            jobs,
            resources,
            retention,
        )
