from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class InstalledBaseConfig(AppConfig):
    name = "medservice.installed_base"
    label = "installed_base"
    verbose_name = _("Installed base")
    navigation = (
        NavItem(
            _("Devices"),
            "installed_base:devices-list",
            permission="installed_base.view_device",
            order=40,
        ),
        NavItem(
            _("Warranty register"),
            "installed_base:warranty-register",
            permission="installed_base.view_device",
            order=41,
        ),
        NavItem(
            _("Deliveries"),
            "installed_base:deliveries-list",
            permission="installed_base.view_delivery",
            order=42,
        ),
        NavItem(
            _("Contracts"),
            "installed_base:contracts-list",
            permission="installed_base.view_servicecontract",
            order=43,
        ),
        NavItem(
            _("Holds"),
            "installed_base:holds-list",
            permission="installed_base.view_hold",
            order=44,
        ),
    )

    def ready(self) -> None:
        from medservice.installed_base import (  # noqa: F401  (registration)
            demo,
            imports,
            resources,
            tasks,
        )
