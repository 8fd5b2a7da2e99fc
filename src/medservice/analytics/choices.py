from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    """Which way a KPI is good: a time or a failure rate at most the target, a rate at least."""

    AT_MOST = "at_most", _("At most")
    AT_LEAST = "at_least", _("At least")


class Unit(models.TextChoices):
    HOURS = "hours", _("hours")
    PERCENT = "percent", _("%")
    COUNT = "count", _("count")
    POINTS = "points", _("points")
    PER_100_UNITS = "per_100_units", _("per 100 units")
    YUAN = "yuan", _("¥")


class Verdict(models.TextChoices):
    """A figure against its target: met, within the amber band, or missed."""

    MET = "met", _("Met")
    AMBER = "amber", _("Close")
    MISSED = "missed", _("Missed")
