from django.db import models
from django.utils.translation import gettext_lazy as _


class PlanPeriod(models.TextChoices):
    ANNUAL = "annual", _("Annual")
    QUARTERLY = "quarterly", _("Quarterly")


class TopicCategory(models.TextChoices):
    """What a training is about (the procedures' list of subjects)."""

    PRODUCT = "product", _("Product knowledge")
    SERVICE_PROCESS = "service_process", _("Service process")
    COMMUNICATION = "communication", _("Customer communication")
    COMPLAINTS = "complaints", _("Complaint handling")
    REGULATIONS = "regulations", _("Regulations")
    SAFETY = "safety", _("Safety")


class SessionStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    HELD = "held", _("Held, results recorded")
    CANCELLED = "cancelled", _("Cancelled")


class ArticleKind(models.TextChoices):
    SOLUTION = "solution", _("Solution")
    BULLETIN = "bulletin", _("Service bulletin")


class Visibility(models.TextChoices):
    INTERNAL = "internal", _("Internal (service staff)")
    CUSTOMER = "customer", _("Customers too")


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DocumentKind(models.TextChoices):
    MANUAL = "manual", _("Service manual")
    PROCEDURE = "procedure", _("Procedure")
    CHECKLIST = "checklist", _("Checklist")
    FORM = "form", _("Form or template")
    OTHER = "other", _("Other")


class DocumentVersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    SUPERSEDED = "superseded", _("Superseded")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ViolationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    HANDLED = "handled", _("Handled")
