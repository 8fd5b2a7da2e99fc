from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseSource(models.TextChoices):
    TICKET = "ticket", _("Service request")
    WORK_ORDER = "work_order", _("Service record (work order)")
    MANUAL = "manual", _("Recorded by quality staff")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    INVESTIGATING = "investigating", _("Investigating")
    DECIDED = "decided", _("Decided")
    CLOSED = "closed", _("Closed")


OPEN_CASE_STATUSES = frozenset({CaseStatus.OPEN, CaseStatus.INVESTIGATING})


# == decisions: investigation, decision, supplier and manufacturer notices, evidence hold, regulator feedback ==


# == adverse_events: adverse-event reports and their reporting rules ==


# == recalls: trace, stop-use notices and recalls ==


# == capa: CAPA and trend signals ==


# == accidents: quality accidents and retention of quality records ==
class AccidentStatus(models.TextChoices):
    OPEN = "open", _("Recorded")
    INVESTIGATING = "investigating", _("Investigating")
    CLOSED = "closed", _("Closed")


class AccidentSeverity(models.TextChoices):
    """The grades of the company's quality-accident procedure (重大 / 一般质量事故): a major
    accident with serious consequences is reported first, within the shortest time."""

    MAJOR_SERIOUS = "major_serious", _("Major, with serious consequences")
    MAJOR = "major", _("Major")
    GENERAL = "general", _("General")


OPEN_ACCIDENT_STATUSES = frozenset({AccidentStatus.OPEN, AccidentStatus.INVESTIGATING})
