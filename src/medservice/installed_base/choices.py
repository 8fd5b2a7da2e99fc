from django.db import models
from django.utils.translation import gettext_lazy as _


class DeviceStatus(models.TextChoices):
    IN_STOCK = "in_stock", _("In stock")
    INSTALLED = "installed", _("Installed")
    IN_SERVICE = "in_service", _("In service")
    UNDER_REPAIR = "under_repair", _("Under repair")
    RETURNED = "returned", _("Returned")
    SCRAPPED = "scrapped", _("Scrapped")
    RECALLED = "recalled", _("Recalled")


class HoldScope(models.TextChoices):
    BATCH = "batch", _("Batch")
    SERIAL = "serial", _("Serial number")
    DEVICE = "device", _("Device")


class HoldKind(models.TextChoices):
    QUALITY_REVIEW = "quality_review", _("Quality review (batch hold)")
    EVIDENCE = "evidence", _("Evidence hold (do not alter)")


class ContractKind(models.TextChoices):
    WARRANTY_EXTENSION = "warranty_extension", _("Warranty extension")
    FULL_SERVICE = "full_service", _("Full service")
    PARTS_ONLY = "parts_only", _("Parts only")
    LABOUR_ONLY = "labour_only", _("Labour only")
    PM_ONLY = "pm_only", _("Preventive maintenance only")


class SlaTier(models.TextChoices):
    STANDARD = "standard", _("Standard")
    PRIORITY = "priority", _("Priority")
    PREMIUM = "premium", _("Premium")


class CostCategory(models.TextChoices):
    PARTS = "parts", _("Parts")
    LABOUR = "labour", _("Labour")
    TRAVEL = "travel", _("Travel")
    PM = "pm", _("Preventive maintenance")


class Exclusion(models.TextChoices):
    """Why a failure is not covered although the unit is in warranty (the procedures, 5.2)."""

    MISUSE = "misuse", _("Misuse or human damage")
    FORCE_MAJEURE = (
        "force_majeure",
        _("Force majeure (natural disaster, earthquake, lightning, pests)"),
    )
    UNAUTHORISED_REPAIR = "unauthorised_repair", _("Unauthorised repair or modification")
