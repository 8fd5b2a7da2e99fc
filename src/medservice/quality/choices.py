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


class InvestigationKind(models.TextChoices):
    TEST = "test", _("Test of the product")
    INSPECTION = "inspection", _("Inspection of the returned device")
    SITE_VISIT = "site_visit", _("Visit to the complainant")
    RECORD_REVIEW = "record_review", _("Review of records (batch, production, service)")
    OTHER = "other", _("Other")


class DecisionOutcome(models.TextChoices):
    """The quality manager's conclusion (the procedure's 4.5.1-4.5.7, plus product defect)."""

    SERVICE_ISSUE = "service_issue", _("Service issue")
    NO_DEFECT = "no_defect", _("No defect found")
    USE_ERROR = "use_error", _("Use error or individual difference")
    AE_NOT_REPORTABLE = "ae_not_reportable", _("Adverse event, not reportable")
    REPORTABLE_AE = "reportable_ae", _("Reportable adverse event")
    QUALITY_ACCIDENT = "quality_accident", _("Quality accident")
    PRODUCT_DEFECT = "product_defect", _("Product defect")


class Market(models.TextChoices):
    CN = "CN", _("China")
    US = "US", _("United States")
    EU = "EU", _("European Union")


class Harm(models.TextChoices):
    DEATH = "death", _("Death")
    SERIOUS_INJURY = "serious_injury", _("Serious injury")
    OTHER = "other", _("Other")


class RegulatoryRole(models.TextChoices):
    """The company's role under the device regulations (setting QUALITY_REGULATORY_ROLE)."""

    REGISTRANT = "registrant", _("Registrant / holder")
    AGENT = "agent", _("Agent of a foreign registrant / importer")
    DISTRIBUTOR = "distributor", _("Distributor")
    USER = "user", _("User institution")


class NoticeRecipient(models.TextChoices):
    SUPPLIER = "supplier", _("Supplier")
    MANUFACTURER = "manufacturer", _("Manufacturer")


class NoticeReason(models.TextChoices):
    CASE_OPENED = "case_opened", _("Quality complaint received")
    PRODUCT_DEFECT = "product_defect", _("Product defect decided")
    ADVERSE_EVENT = "adverse_event", _("Reportable adverse event")
    OTHER = "other", _("Other")


class NoticeChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    FAX = "fax", _("Fax")
    LETTER = "letter", _("Letter")
    PORTAL = "portal", _("Supplier portal")


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("To be sent")
    SENT = "sent", _("Sent, awaiting acknowledgement")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESPONDED = "responded", _("Response received")


class FeedbackChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")
    IN_PERSON = "in_person", _("In person")
    ONLINE = "online", _("Regulator's online system")


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


# == adverse_events: adverse-event reports and their reporting rules ==


# == recalls: trace, stop-use notices and recalls ==


# == capa: CAPA and trend signals ==


# == accidents: quality accidents and retention of quality records ==
