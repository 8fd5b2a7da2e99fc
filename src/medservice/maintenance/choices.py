from django.db import models
from django.utils.translation import gettext_lazy as _


class PmIntervalSource(models.TextChoices):
    """Where a PM plan's interval comes from."""

    MODEL = "model", _("The device model's PM interval")
    CONTRACT = "contract", _("The service contract")
    MANUAL = "manual", _("Set by hand")


class PmVisitStatus(models.TextChoices):
    OPEN = "open", _("Due (no work order yet)")
    ORDERED = "ordered", _("Work order opened")
    DONE = "done", _("Done")


class InstallationStatus(models.TextChoices):
    ORDERED = "ordered", _("Installation work order opened")
    COMMISSIONED = "commissioned", _("Commissioned (checklist passed)")
    ACCEPTED = "accepted", _("Accepted by the customer")
    CANCELLED = "cancelled", _("Cancelled")


class AcceptanceFileKind(models.TextChoices):
    SIGNED_CERTIFICATE = "signed_certificate", _("Signed acceptance certificate")
    OTHER = "other", _("Other")


class TrainingFileKind(models.TextChoices):
    SIGNED_SHEET = "signed_sheet", _("Signed sign-in sheet")
    MATERIAL = "material", _("Training material")


class SuggestionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SCHEDULED = "scheduled", _("Training scheduled")
    DISMISSED = "dismissed", _("Dismissed")
