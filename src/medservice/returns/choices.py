"""The values a return takes: why the customer sends it back, in what state, what the
evaluation (售后服务评估) found, what was decided and how the money went back."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested (to evaluate)")
    EVALUATED = "evaluated", _("Evaluated (to decide)")
    APPROVED = "approved", _("Approved (RMA issued)")
    REJECTED = "rejected", pgettext_lazy("return", "Rejected")
    RECEIVED = "received", _("Received into quarantine")
    EXCHANGE_SHIPPED = "exchange_shipped", _("Exchange unit shipped")
    REFUNDED = "refunded", _("Refunded")
    CLOSED = "closed", pgettext_lazy("return", "Closed")


# A request still needing someone's work (lists of open returns, the home panel).
OPEN_STATUSES = frozenset(
    {
        ReturnStatus.REQUESTED,
        ReturnStatus.EVALUATED,
        ReturnStatus.APPROVED,
        ReturnStatus.RECEIVED,
        ReturnStatus.EXCHANGE_SHIPPED,
        ReturnStatus.REFUNDED,
    }
)


class ReturnChannel(models.TextChoices):
    PORTAL = "portal", _("Customer portal")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    WALK_IN = "walk_in", _("Walk-in")
    LETTER = "letter", _("Letter or fax")
    OTHER = "other", _("Other")


class ReturnReason(models.TextChoices):
    """Why the customer wants to send the product back (as the customer says it)."""

    FAULTY = "faulty", _("Faulty or not working")
    DAMAGED_ON_ARRIVAL = "damaged_on_arrival", _("Damaged on arrival")
    WRONG_ITEM = "wrong_item", _("Wrong product or quantity delivered")
    NOT_NEEDED = "not_needed", _("No longer needed")
    OTHER = "other", _("Other")


class ItemCondition(models.TextChoices):
    """The state of the returned product, as declared by the requester and checked on receipt."""

    UNOPENED = "unopened", _("Unopened, in its original packaging")
    OPENED = "opened", _("Opened, complete and undamaged")
    DAMAGED = "damaged", _("Damaged or incomplete")


class ConditionRequired(models.TextChoices):
    """The least a rule accepts back."""

    ANY = "any", _("Any condition")
    COMPLETE = "complete", _("Complete and undamaged")
    UNOPENED = "unopened", _("Unopened, in its original packaging")


class WindowStart(models.TextChoices):
    DELIVERY = "delivery", _("From the delivery date")
    ACCEPTANCE = "acceptance", _("From the acceptance date")


class WarrantyMode(models.TextChoices):
    """The warranty of an exchange unit."""

    CONTINUE = "continue", _("Continues the returned unit's warranty")
    RESTART = "restart", _("Restarts from the exchange")


class Cause(models.TextChoices):
    """What the evaluation found caused the problem (确认故障原因)."""

    PRODUCT_DEFECT = "product_defect", _("Product defect")
    TRANSPORT_DAMAGE = "transport_damage", _("Transport damage")
    USE_ERROR = "use_error", _("Use error")
    CUSTOMER_PREFERENCE = "customer_preference", _("Customer preference")


class Responsibility(models.TextChoices):
    """Who is responsible for it (责任归属)."""

    COMPANY = "company", _("Our company")
    MANUFACTURER = "manufacturer", _("Manufacturer or supplier")
    CARRIER = "carrier", _("Carrier")
    CUSTOMER = "customer", _("Customer")


# The responsibility an evaluation proposes for each cause; the evaluator may change it.
RESPONSIBILITY_OF_CAUSE = {
    Cause.PRODUCT_DEFECT: Responsibility.MANUFACTURER,
    Cause.TRANSPORT_DAMAGE: Responsibility.CARRIER,
    Cause.USE_ERROR: Responsibility.CUSTOMER,
    Cause.CUSTOMER_PREFERENCE: Responsibility.CUSTOMER,
}


class Decision(models.TextChoices):
    REPAIR = "repair", _("Repair")
    EXCHANGE = "exchange", _("Exchange")
    REFUND = "refund", _("Refund")
    REJECT = "reject", _("Reject")


class RefundKind(models.TextChoices):
    FULL = "full", _("Full refund")
    PARTIAL = "partial", _("Partial refund")


class RefundMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CREDIT_NOTE = "credit_note", _("Credit note against the next invoice")
    CASH = "cash", _("Cash")
    CARD = "card", _("Card")
    WECHAT_PAY = "wechat_pay", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    OTHER = "other", _("Other")


class InspectionResult(models.TextChoices):
    """What the inspection on receipt found."""

    AS_DESCRIBED = "as_described", _("As the customer described")
    NO_FAULT_FOUND = "no_fault_found", _("No fault found")
    DAMAGED_BY_USE = "damaged_by_use", _("Damaged by use or handling")
    NOT_AS_DECLARED = "not_as_declared", _("Not in the condition declared")


class FileKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    RECEIPT = "receipt", _("Receipt or delivery note")
    PHOTO = "photo", _("Photo or video of the product")
    OTHER = "other", _("Other")


# Files that prove the purchase (购买凭证).
PROOF_KINDS = frozenset({FileKind.INVOICE, FileKind.RECEIPT})
