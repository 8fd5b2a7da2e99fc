from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class CatalogConfig(AppConfig):
    name = "medservice.catalog"
    label = "catalog"
    verbose_name = _("Catalogue")
    navigation = (
        NavItem(
            _("Device models"),
            "catalog:device-models-list",
            permission="catalog.view_devicemodel",
            order=30,
        ),
        NavItem(
            _("Suppliers"), "catalog:suppliers-list", permission="catalog.view_supplier", order=31
        ),
    )

    def ready(self) -> None:
        from medservice.catalog import demo, imports, resources, tasks  # noqa: F401  (registration)
