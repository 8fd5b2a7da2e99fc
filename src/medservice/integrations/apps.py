from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class IntegrationsConfig(AppConfig):
    name = "medservice.integrations"
    label = "integrations"
    verbose_name = _("Integrations")
    navigation = (
        NavItem(
            _("Webhooks"),
            "integrations:webhooks-list",
            permission="integrations.change_webhooksubscription",
            order=95,
        ),
    )

    def ready(self) -> None:
        from medservice.integrations import tasks  # noqa: F401  (registers the periodic job)
