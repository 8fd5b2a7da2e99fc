from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MaintenanceConfig(AppConfig):
    name = "medservice.maintenance"
    label = "maintenance"
    verbose_name = _("Maintenance")
    navigation = ()

    def ready(self) -> None:
        pass
