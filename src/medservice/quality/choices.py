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
class RecallKind(models.TextChoices):
    STOP_USE = "stop_use", _("Stop-use notice")
    RECALL = "recall", _("Recall")


class RecallClass(models.TextChoices):
    """召回分级 (医疗器械召回管理办法 art. 14): class I is the most serious."""

    CLASS_I = "I", _("Class I")
    CLASS_II = "II", _("Class II")
    CLASS_III = "III", _("Class III")


class RecallStatus(models.TextChoices):
    DRAFT = "draft", _("Draft (not decided)")
    IN_PROGRESS = "in_progress", _("In progress")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class RecallHandling(models.TextChoices):
    """How recalled devices are handled (召回管理办法: repair, replace, retrieve, destroy...)."""

    REPAIR = "repair", _("Repair or correct on site")
    REPLACE = "replace", _("Replace")
    RETRIEVE = "retrieve", _("Retrieve (take back)")
    DESTROY = "destroy", _("Destroy")
    UPDATE = "update", _("Update software")
    RELABEL = "relabel", _("Relabel or change the instructions")


class NoticeChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Printed letter")


class Disposition(models.TextChoices):
    """What became of one affected device."""

    CORRECTED_ON_SITE = "corrected_on_site", _("Corrected on site")
    RETURNED = "returned", _("Returned")
    DESTROYED = "destroyed", _("Destroyed")
    NOT_FOUND = "not_found", _("Not found")


class SignoffMeaning(models.TextChoices):
    DECISION = "decision", _("Recall decided")
    CLOSURE = "closure", _("Recall closed")


# == capa: CAPA and trend signals ==


# == accidents: quality accidents and retention of quality records ==
