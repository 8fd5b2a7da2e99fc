"""Choices of the feedback app, one block per area (each area keeps to its own section)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# --- follow-ups and surveys ---

# --- stores, shortages, correspondence ---


class OpinionCategory(models.TextChoices):
    """What a customer wrote in a store's opinion book is about (顾客意见簿)."""

    SERVICE = "service", _("Service")
    PRODUCT = "product", _("Product")
    QUALITY_SAFETY = "quality_safety", _("Quality and safety")
    OTHER = "other", _("Other")


class ShortageStatus(models.TextChoices):
    """Where a line of the out-of-stock register stands."""

    OPEN = "open", _("Waiting for stock")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")


SHORTAGE_CLOSED_STATUSES = frozenset({ShortageStatus.FULFILLED, ShortageStatus.CANCELLED})


class LetterKind(models.TextChoices):
    """The form a piece of correspondence took (来往函件)."""

    LETTER = "letter", _("Letter")
    FAX = "fax", _("Fax")
    EMAIL = "email", _("E-mail")


class LetterDirection(models.TextChoices):
    INCOMING = "in", _("Received")
    OUTGOING = "out", _("Sent")
