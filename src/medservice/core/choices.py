from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    TRANSITION = "transition", _("State changed")
    SIGN = "sign", _("Signed")
    UNMASK = "unmask", _("Personal data shown")
    LOGIN = "login", _("Logged in")
    OTHER = "other", _("Other")


class SignerKind(models.TextChoices):
    INTERNAL = "internal", _("Staff member (password re-entered)")
    CUSTOMER = "customer", _("Customer")
