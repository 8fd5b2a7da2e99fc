"""Choices of the feedback app, one block per area (each area keeps to its own section)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
    INCOMING = "in", pgettext_lazy("letter direction", "Received")
    OUTGOING = "out", pgettext_lazy("letter direction", "Sent")


# --- follow-ups and surveys ---


class FollowUpKind(models.TextChoices):
    CALL = "call", _("Follow-up call after a closed request")
    USE_CHECK = "use_check", _("Use check after a repair")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    NOT_REACHED = "not_reached", _("Closed: customer not reached")


class FollowUpOutcome(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    PROBLEM_PERSISTS = "problem_persists", _("Problem persists")
    NEW_PROBLEM = "new_problem", _("New problem")
    NOT_REACHED = "not_reached", _("Not reached")


class VisitKind(models.TextChoices):
    PLANNED = "planned", _("Planned visit")
    UNPLANNED = "unplanned", _("Unplanned visit")


class VisitStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class ConcernedDepartment(models.TextChoices):
    """The company's own departments a customer's opinion is routed to."""

    SERVICE = "service", _("After-sales service")
    QUALITY = "quality", _("Quality")
    SALES = "sales", _("Sales")
    WAREHOUSE = "warehouse", _("Warehouse and logistics")
    FINANCE = "finance", _("Finance")
    MANAGEMENT = "management", _("Management")


class OpinionStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an answer")
    ANSWERED = "answered", _("Answered")


class QuestionKind(models.TextChoices):
    SCORE = "score", _("Score 1–5")
    RECOMMENDATION = "recommendation", _("Recommendation 0–10")
    TEXT = "text", _("Free text")


class SurveySubject(models.TextChoices):
    TICKET = "ticket", _("Service request")
    WORK_ORDER = "work_order", _("Work order")
    PERIODIC = "periodic", _("Periodic customer evaluation")


class SurveyChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PORTAL = "portal", _("Customer portal")


class SurveyStatus(models.TextChoices):
    PENDING = "pending", _("Not sent yet")
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")


class EscalationStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the manager's answer")
    ANSWERED = "answered", _("Answered, customer told")
