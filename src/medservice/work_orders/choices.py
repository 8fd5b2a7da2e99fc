from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkOrderKind(models.TextChoices):
    REPAIR = "repair", _("Repair")
    INSTALLATION = "installation", _("Installation and commissioning")
    PREVENTIVE_MAINTENANCE = "preventive_maintenance", _("Preventive maintenance")
    INSPECTION = "inspection", _("Inspection / calibration")
    UPGRADE = "upgrade", _("Upgrade")
    RECALL_ACTION = "recall_action", _("Recall action")
    REMOTE_SUPPORT = "remote_support", _("Remote support")


class WorkOrderSource(models.TextChoices):
    TICKET = "ticket", _("Service request")
    PM_PLAN = "pm_plan", _("PM plan")
    RECALL = "recall", _("Recall")
    MANUAL = "manual", _("By hand")


class WorkOrderStatus(models.TextChoices):
    NEW = "new", _("New (to assess)")
    ASSESSED = "assessed", _("Assessed")
    PLANNED = "planned", _("Planned (quote needed)")
    QUOTED = "quoted", _("Quote with the customer")
    READY = "ready", _("Ready to dispatch")
    SCHEDULED = "scheduled", _("Scheduled")
    IN_WORKSHOP = "in_workshop", _("In the workshop queue")
    AT_SUPPLIER = "at_supplier", _("At the supplier")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed (awaiting sign-off)")
    CLOSED = "closed", _("Closed")
    DECLINED = "declined", _("Quote declined")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = frozenset(
    set(WorkOrderStatus)
    - {WorkOrderStatus.CLOSED, WorkOrderStatus.DECLINED, WorkOrderStatus.CANCELLED}
)
# Work is finished (the device is back in service) from completion on.
FINISHED_STATUSES = frozenset({WorkOrderStatus.COMPLETED, WorkOrderStatus.CLOSED})


class Route(models.TextChoices):
    """Where the repair is done, decided at assessment (评估与确认)."""

    REMOTE = "remote", _("Remotely")
    ON_SITE = "on_site", _("On site")
    WORKSHOP = "workshop", _("In the workshop")
    SUPPLIER = "supplier", _("At the supplier (quality agreement)")


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    ON_SITE = "on_site", _("On site")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class ChargeCategory(models.TextChoices):
    PARTS = "parts", _("Parts")
    LABOUR = "labour", _("Labour")
    TRAVEL = "travel", _("Travel")
    OTHER = "other", _("Other")


class QuoteStatus(models.TextChoices):
    SENT = "sent", _("With the customer")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    SUPERSEDED = "superseded", _("Superseded")


class DecisionMethod(models.TextChoices):
    PORTAL = "portal", _("In the portal")
    PAPER = "paper", _("On paper (uploaded)")
    PHONE = "phone", _("By phone (recorded by staff)")


class PartsBasis(models.TextChoices):
    COST = "cost", _("Cost price")
    PRICE = "price", _("List price")


class TimeKind(models.TextChoices):
    LABOUR = "labour", _("Labour")
    TRAVEL = "travel", _("Travel")


class PaymentStatus(models.TextChoices):
    NONE = "none", _("No charge")
    UNPAID = "unpaid", _("Not paid")
    PAID = "paid", _("Paid")
    DISPUTED = "disputed", _("Disputed")
    WAIVED = "waived", _("Waived")


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CASH = "cash", _("Cash")
    CARD = "card", _("Card")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    CONTRACT = "contract", _("Invoiced under contract")


class ServiceResult(models.TextChoices):
    """The result a service record must state (QMSR 820.35(b))."""

    RETURNED_TO_SERVICE = "returned_to_service", _("Returned to service")
    NOT_TO_BE_USED = "not_to_be_used", _("Not to be used")


class RemoteOutcome(models.TextChoices):
    SOLVED = "solved", _("Solved remotely")
    NEEDS_VISIT = "needs_visit", _("Needs a visit")
    NEEDS_WORKSHOP = "needs_workshop", _("Needs the workshop")
    NOT_SOLVED = "not_solved", _("Not solved")


class ReportLanguage(models.TextChoices):
    CHINESE = "zh-hans", _("Chinese")
    ENGLISH = "en", _("English")
