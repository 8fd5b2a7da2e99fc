from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class InventoryConfig(AppConfig):
    name = "medservice.inventory"
    label = "inventory"
    verbose_name = _("Spare parts")
    navigation = (
        NavItem(
            _("My stock"), "inventory:my-stock", permission="inventory.consume_parts", order=49
        ),
        NavItem(
            _("Stock"), "inventory:stock-list", permission="inventory.view_stockbalance", order=50
        ),
        NavItem(
            _("Requisitions"),
            "inventory:requisitions-list",
            permission="inventory.view_requisition",
            order=51,
        ),
        NavItem(
            _("Spare parts"), "inventory:parts-list", permission="inventory.view_part", order=52
        ),
        NavItem(
            _("Purchase orders"),
            "inventory:purchase-orders-list",
            permission="inventory.view_purchaseorder",
            order=53,
        ),
        NavItem(
            _("Stock counts"),
            "inventory:stock-counts-list",
            permission="inventory.view_stockcount",
            order=54,
        ),
        NavItem(
            _("Tools and instruments"),
            "inventory:instruments-list",
            permission="inventory.view_instrument",
            order=55,
        ),
    )

    def ready(self) -> None:
        from medservice.inventory import (  # noqa: F401  (registration)
            demo,
            resources,
            tasks,
            views,
            views_counts,
            views_instruments,
            views_purchasing,
            views_requisitions,
        )
