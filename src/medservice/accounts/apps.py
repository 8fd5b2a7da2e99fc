from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "medservice.accounts"
    label = "accounts"
    verbose_name = _("Users and roles")

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, dispatch_uid="medservice-roles-sync")
        # issue 12 security: the retention check and the security-log pruning job register.
        from medservice.accounts import checks, tasks  # noqa: F401


def _sync_roles(sender: AppConfig, **kwargs: object) -> None:
    from django.apps import apps

    from medservice.accounts.roles import roles_sync

    # Every app's permissions exist once the last app's post_migrate has run.
    if sender is list(apps.get_app_configs())[-1]:
        roles_sync(using=kwargs.get("using", "default"))
