from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class TicketsConfig(AppConfig):
    name = "medservice.tickets"
    label = "tickets"
    verbose_name = _("Service requests")
    navigation = (
        NavItem(
            _("Service requests"),
            "tickets:tickets-list",
            permission="tickets.view_ticket",
            order=10,
        ),
        NavItem(
            _("Complaint register"),
            "tickets:complaint-register",
            permission="tickets.view_ticket",
            order=11,
        ),
    )

    def landing_for(self, user: Any) -> str:
        """Customer users land on the customer portal (core's home page asks every app)."""
        from django.urls import reverse

        from medservice.customers.selectors import user_scope

        return reverse("portal:home") if user_scope(user) == "customer" else ""

    def ready(self) -> None:
        from medservice.tickets import (  # noqa: F401  (registration)
            demo,
            policies,
            receivers,
            resources,
            tasks,
        )
