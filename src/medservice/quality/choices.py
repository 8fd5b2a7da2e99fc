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


class CapaKind(models.TextChoices):
    CORRECTIVE = "corrective", _("Corrective action")
    PREVENTIVE = "preventive", _("Preventive action")
    IMPROVEMENT = "improvement", _("Improvement action")


class CapaStatus(models.TextChoices):
    OPEN = "open", _("Open: root cause to analyse")
    ACTIONS = "actions", _("Actions under way")
    VERIFICATION = "verification", _("Effectiveness to verify")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_CAPA_STATUSES = frozenset({CapaStatus.OPEN, CapaStatus.ACTIONS, CapaStatus.VERIFICATION})


class RootCauseMethod(models.TextChoices):
    FIVE_WHYS = "five_whys", _("5 whys")
    FISHBONE = "fishbone", _("Fishbone (Ishikawa) diagram")
    FAULT_TREE = "fault_tree", _("Fault tree analysis")
    FMEA = "fmea", _("FMEA")
    TEST = "test", _("Tests and failure analysis")
    OTHER = "other", _("Other")


class VerificationResult(models.TextChoices):
    EFFECTIVE = "effective", _("Effective")
    NOT_EFFECTIVE = "not_effective", _("Not effective")


class TrendDimension(models.TextChoices):
    DEVICE_MODEL = "device_model", _("Device model")
    BATCH = "batch", _("Batch")
    FAULT_CODE = "fault_code", _("Fault code")


class SignalStatus(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CAPA_OPENED = "capa_opened", _("CAPA opened")
    DISMISSED = "dismissed", _("Dismissed")


OPEN_SIGNAL_STATUSES = frozenset({SignalStatus.NEW, SignalStatus.ACKNOWLEDGED})


# == accidents: quality accidents and retention of quality records ==
