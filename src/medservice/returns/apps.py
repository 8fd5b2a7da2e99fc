from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from medservice.core.navigation import NavItem


class ReturnsConfig(AppConfig):
    name = "medservice.returns"
    label = "returns"
    verbose_name = _("Returns")
    navigation = (
        # Staff land on the list, customers on their portal page (returns:home decides).
        NavItem(_("Returns"), "returns:home", permission="returns.view_returnrequest", order=70),
        NavItem(
            _("Returns report"),
            "returns:report",
            permission="returns.evaluate_returnrequest",
            order=71,
        ),
        NavItem(
            _("Return rules"),
            "returns:return-rules-list",
            permission="returns.change_returnrule",
            order=72,
        ),
    )

    def ready(self) -> None:
        from medservice.returns import demo, resources, tasks  # noqa: F401  (registration)
