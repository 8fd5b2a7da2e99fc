from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class CustomersConfig(AppConfig):
    name = "medservice.customers"
    label = "customers"
    verbose_name = _("Customers")
    navigation = (
        NavItem(
            _("Organisations"),
            "customers:organizations-list",
            permission="customers.view_organization",
            order=20,
        ),
        NavItem(
            _("Contacts"), "customers:contacts-list", permission="customers.view_contact", order=21
        ),
    )

    def ready(self) -> None:
        from medservice.customers import demo, imports, resources  # noqa: F401  (registration)
