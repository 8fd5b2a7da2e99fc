from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
    AMBER = "amber", pgettext_lazy("kpi", "Close")
    MISSED = "missed", _("Missed")


# --- spot checks ---


class SpotCheckRecordKind(models.TextChoices):
    """What a spot-check plan samples."""

    CLOSED_TICKETS = "closed_tickets", _("Closed service requests")
    COMPLETED_WORK_ORDERS = "completed_work_orders", _("Completed work orders")


class SpotCheckStratum(models.TextChoices):
    """Per whom the sample is drawn: the same number of records for each engineer or team."""

    ENGINEER = "engineer", _("Per engineer")
    TEAM = "team", _("Per team")


class SpotCheckSeverity(models.TextChoices):
    """How bad a spot-check finding is; a major one opens an improvement action."""

    NONE = "none", _("No finding")
    MINOR = "minor", _("Minor finding")
    MAJOR = "major", _("Major finding")


class SpotCheckAnswer(models.TextChoices):
    """The reviewer's answer to one checklist point."""

    YES = "yes", _("Yes")
    NO = "no", _("No")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")
