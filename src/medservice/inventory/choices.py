from django.db import models
from django.utils.translation import gettext_lazy as _


class PartTracking(models.TextChoices):
    """How fitted parts are traced to the devices they went into."""

    NONE = "none", _("Quantity only")
    LOT = "lot", _("By lot")
    SERIAL = "serial", _("By serial number (one unit each)")


class LocationKind(models.TextChoices):
    CENTRAL = "central", _("Central warehouse")
    REGIONAL = "regional", _("Regional warehouse")
    ENGINEER = "engineer", _("Engineer's stock")
    TRANSIT = "transit", _("In transit")
    QUARANTINE = "quarantine", _("Quarantine (defective or returned)")
    ANALYSIS = "analysis", _("Failure analysis")
    SCRAP = "scrap", _("Scrap")


# Stock in these locations may be issued, transferred to engineers and fitted.
USABLE_LOCATION_KINDS = frozenset(
    {LocationKind.CENTRAL, LocationKind.REGIONAL, LocationKind.ENGINEER}
)
WAREHOUSE_KINDS = frozenset({LocationKind.CENTRAL, LocationKind.REGIONAL})


class Condition(models.TextChoices):
    """A part's condition in stock: a removed or failed part is never issued or fitted."""

    GOOD = "good", _("Good")
    DEFECTIVE = "defective", _("Defective or removed")


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt from supplier")
    TRANSFER = "transfer", _("Transfer")
    ISSUE = "issue", _("Issue on a requisition")
    REQUISITION_RECEIPT = "requisition_receipt", _("Received by the engineer")
    CONSUMPTION = "consumption", _("Fitted into a device")
    REMOVAL = "removal", _("Removed from a device")
    RETURN_UNUSED = "return_unused", _("Return of an unused part")
    RETURN_DEFECTIVE = "return_defective", _("Return of a defective part")
    TO_ANALYSIS = "to_analysis", _("Sent to failure analysis")
    RESTOCK = "restock", _("Released back to stock")
    SUPPLIER_RETURN = "supplier_return", _("Returned to the supplier")
    SCRAP = "scrap", _("Scrapped")
    ADJUSTMENT = "adjustment", _("Count adjustment")
    # Whole units coming back from, or going out to, a customer under a return (RMA).
    CUSTOMER_RETURN = "customer_return", _("Returned by a customer (RMA)")
    EXCHANGE_SHIPMENT = "exchange_shipment", _("Shipped to a customer as an exchange unit")


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ORDERED = "ordered", _("Ordered")
    PARTIALLY_RECEIVED = "partially_received", _("Partially received")
    RECEIVED = "received", _("Received")
    CLOSED = "closed", _("Closed short")
    CANCELLED = "cancelled", _("Cancelled")


# Orders whose outstanding quantities count towards the reorder point.
OPEN_PURCHASE_ORDER_STATUSES = frozenset(
    {PurchaseOrderStatus.ORDERED, PurchaseOrderStatus.PARTIALLY_RECEIVED}
)


class RequisitionStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    ISSUED = "issued", _("Issued")
    RECEIVED = "received", _("Received")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class StockCountStatus(models.TextChoices):
    COUNTING = "counting", _("Counting")
    SUBMITTED = "submitted", _("Submitted for approval")
    POSTED = "posted", _("Approved and posted")
    CANCELLED = "cancelled", _("Cancelled")


class InstrumentKind(models.TextChoices):
    TOOL = "tool", _("Repair tool")
    MEASURING = "measuring", _("Measuring / reference instrument")


class InstrumentStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    CHECKED_OUT = "checked_out", _("Checked out")
    IN_CALIBRATION = "in_calibration", _("At calibration")
    RETIRED = "retired", _("Retired")


class CalibrationResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")
