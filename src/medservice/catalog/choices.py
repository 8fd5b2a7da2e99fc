from django.db import models
from django.utils.translation import gettext_lazy as _


class RiskClass(models.TextChoices):
    CLASS_I = "I", _("Class I")
    CLASS_II = "II", _("Class II")
    CLASS_III = "III", _("Class III")


class ProductType(models.TextChoices):
    ACTIVE = "active", _("Active device")
    NON_ACTIVE = "non_active", _("Non-active device")
    IVD = "ivd", _("In-vitro diagnostic")


class Tracking(models.TextChoices):
    SERIAL = "serial", _("By serial number (one unit each)")
    BATCH = "batch", _("By batch (consumables, single-use items)")


class LicenceKind(models.TextChoices):
    BUSINESS_LICENCE = "business", _("Business licence (营业执照)")
    OPERATION_PERMIT = "operation_permit", _("Medical device operation permit (经营许可证)")
    OPERATION_FILING = "operation_filing", _("Medical device operation filing (经营备案凭证)")
    PRODUCTION_PERMIT = "production_permit", _("Production permit (生产许可证)")
    QUALITY_AGREEMENT = "quality_agreement", _("Quality agreement (质量保证协议)")
    OTHER = "other", _("Other qualification")


class ValidityStatus(models.TextChoices):
    """Where a licence or certificate stands on a given day (GSP: warn before, lock after)."""

    VALID = "valid", _("Valid")
    EXPIRING = "expiring", _("Expiring soon")
    EXPIRED = "expired", _("Expired")
    MISSING = "missing", _("Missing")
