from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class WorkOrdersConfig(AppConfig):
    name = "medservice.work_orders"
    label = "work_orders"
    verbose_name = _("Work orders")
    navigation = (
        NavItem(
            _("My visits"), "work_orders:my-day", permission="work_orders.work_workorder", order=40
        ),
        NavItem(
            _("Work orders"),
            "work_orders:work-orders-list",
            permission="work_orders.view_workorder",
            order=41,
        ),
        NavItem(
            _("Dispatch board"),
            "work_orders:dispatch-board",
            permission="work_orders.dispatch_workorder",
            order=42,
        ),
    )

    def ready(self) -> None:
        from medservice.work_orders import (  # noqa: F401  (registration)
            demo,
            receivers,
            resources,
            tasks,
            views,
            views_dispatch,
            views_onsite,
            views_reports,
        )
