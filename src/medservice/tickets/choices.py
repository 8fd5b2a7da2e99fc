from django.db import models
from django.utils.translation import gettext_lazy as _


class TicketKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    REPAIR = "repair", _("Repair request")
    QUESTION = "question", _("Technical question")
    INSTALLATION = "installation", _("Installation")
    MAINTENANCE = "maintenance", _("Maintenance")
    TRAINING = "training", _("Training")
    RETURN = "return", _("Return or exchange request")
    QUALITY_COMPLAINT = "quality_complaint", _("Quality complaint")


# Record number prefixes per kind (pinyin initials, as the company's paper forms use them):
# TS-2026-000123 is the 123rd complaint (投诉) of 2026.
NUMBER_PREFIX = {
    TicketKind.COMPLAINT: "TS",
    TicketKind.REPAIR: "BX",
    TicketKind.QUESTION: "ZX",
    TicketKind.INSTALLATION: "AZ",
    TicketKind.MAINTENANCE: "WB",
    TicketKind.TRAINING: "PX",
    TicketKind.RETURN: "TH",
    TicketKind.QUALITY_COMPLAINT: "ZL",
}


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    PORTAL = "portal", _("Customer portal")
    QR = "qr", _("QR label")
    WEB_FORM = "web_form", _("Public web form")
    LETTER = "letter", _("Letter or fax")
    OPINION_BOOK = "opinion_book", _("Store opinion book")
    REGULATOR = "regulator", _("Regulator supervision phone")
    WALK_IN = "walk_in", _("Walk-in")
    # issue 12 intake: requests a WeChat bridge forwards through the inbound intake API.
    WECHAT = "wechat", _("WeChat")


class Status(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Investigating")
    SOLUTION_PROPOSED = "solution_proposed", _("Solution proposed")
    SOLUTION_AGREED = "solution_agreed", _("Solution agreed")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for customer")
    WAITING_PARTS = "waiting_parts", _("Waiting for parts")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = frozenset(set(Status) - {Status.RESOLVED, Status.CLOSED, Status.CANCELLED})
WAITING_STATUSES = frozenset({Status.WAITING_CUSTOMER, Status.WAITING_PARTS})


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class WaitReason(models.TextChoices):
    CUSTOMER = "customer", _("Waiting for the customer")
    PARTS = "parts", _("Waiting for parts")


class ResolutionType(models.TextChoices):
    GUIDANCE = "guidance", _("Technical guidance")
    REMOTE_FIX = "remote_fix", _("Remote fix")
    REPAIR = "repair", _("Repair")
    REPLACEMENT = "replacement", _("Replacement")
    RETURN_REFUND = "return_refund", _("Return or refund")
    NO_FAULT_FOUND = "no_fault_found", _("No fault found")


class ConfirmationMethod(models.TextChoices):
    PORTAL = "portal", _("In the portal")
    PHONE = "phone", _("By phone")
    PAPER = "paper", _("On paper")
    EMAIL = "email", _("By e-mail")
    AUTOMATIC = "automatic", _("Closed automatically without an answer")


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    PLAN = "plan", _("Solution plan")
    RESOLUTION = "resolution", _("Resolution")
    ONSITE = "onsite", _("On site")


class Counting(models.TextChoices):
    CALENDAR = "calendar", _("Calendar hours")
    BUSINESS = "business", _("Business hours")


class TimelineKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL_IN = "email_in", _("E-mail received")
    EMAIL_OUT = "email_out", _("E-mail sent")
    NOTE = "note", _("Note")
    ATTACHMENT = "attachment", _("Attachment")
    STATE_CHANGE = "state_change", _("State change")
    ASSIGNMENT = "assignment", _("Assignment")
    MESSAGE = "message", _("Message to the customer")
    SLA = "sla", _("Service promise")
    PORTAL = "portal", _("From the customer")
    VISIT = "visit", _("Visit")


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    UNKNOWN = "unknown", _("Not stated")
