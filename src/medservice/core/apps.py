from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "medservice.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from medservice.core import audit, checks, jobs, retention  # noqa: F401  (registration)
