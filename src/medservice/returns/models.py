"""Returns, exchanges and refunds (退换货, RMA): the customer's request with its purchase proof,
the rules that decide what may come back, the evaluation of cause and responsibility
(售后服务评估) and the decision, the receipt of the unit into quarantine, the exchange unit sent
in its place, and the money paid back."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.catalog.choices import ProductType
from medservice.core.models import AuditedModel, RetainedModel
from medservice.core.retention import add_years
from medservice.returns.choices import (
    Cause,
    ConditionRequired,
    Decision,
    FileKind,
    InspectionResult,
    ItemCondition,
    RefundKind,
    RefundMethod,
    Responsibility,
    ReturnChannel,
    ReturnReason,
    ReturnStatus,
    WarrantyMode,
    WindowStart,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
# R-DIST: sales and complaint records of a distributor are kept at least five years.
MINIMUM_RETENTION_YEARS = 5


class ReturnRule(AuditedModel):
    """A company rule on what may be returned (退换货条件): for a device model, a product line,
    a product type, single-use products or everything — how many days after delivery or
    acceptance, in what condition, and whether it may come back at all once opened. Every
    active rule that matches a product applies to it."""

    name = models.CharField(_("name"), max_length=200)
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="return_rules",
        help_text=_("Empty: the rule is not limited to one model."),
    )  # fmt: skip
    product_line = models.ForeignKey(
        "catalog.ProductLine", verbose_name=_("product line"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="return_rules",
    )  # fmt: skip
    product_type = models.CharField(
        _("product type"), max_length=20, choices=ProductType.choices, blank=True
    )
    single_use_only = models.BooleanField(
        _("only single-use products"), default=False,
        help_text=_("The rule applies only to models registered as single use."),
    )  # fmt: skip
    window_days = models.PositiveIntegerField(
        _("return window (days)"), null=True, blank=True,
        help_text=_("Empty: no time limit. The last day is the start date plus these days."),
    )  # fmt: skip
    window_start = models.CharField(
        _("window counted"), max_length=20, choices=WindowStart.choices,
        default=WindowStart.DELIVERY,
    )  # fmt: skip
    condition_required = models.CharField(
        _("condition required"), max_length=20, choices=ConditionRequired.choices,
        default=ConditionRequired.ANY,
    )  # fmt: skip
    non_returnable_once_opened = models.BooleanField(
        _("cannot be returned once opened"), default=False,
        help_text=_("Sterile single-use products, for example."),
    )  # fmt: skip
    exchange_warranty = models.CharField(
        _("warranty of an exchange unit"), max_length=20, choices=WarrantyMode.choices,
        blank=True, help_text=_("Empty: the company's default setting."),
    )  # fmt: skip
    active = models.BooleanField(_("active"), default=True, db_index=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("return rule")
        verbose_name_plural = _("return rules")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def matches(self, device_model: Any) -> bool:
        """Whether the rule covers products of `device_model`."""
        if self.device_model_id and self.device_model_id != device_model.pk:
            return False
        if self.product_line_id and self.product_line_id != device_model.product_line_id:
            return False
        if self.product_type and self.product_type != device_model.product_type:
            return False
        return not (self.single_use_only and not device_model.single_use)


class ReturnRequest(AuditedModel, RetainedModel):
    """A customer's request to return products (退换货申请): which units or delivered products,
    why, with what proof of purchase; then the evaluation of cause and responsibility, the
    decision (repair, exchange, refund or rejection) and its execution under an RMA number."""

    # Issued when the return is approved: the customer writes it on the parcel.
    number = models.CharField(
        _("RMA number"), max_length=30, unique=True, null=True, blank=True, editable=False
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ReturnStatus.choices,
        default=ReturnStatus.REQUESTED, db_index=True,
    )  # fmt: skip
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="return_requests",
    )  # fmt: skip
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True,
        on_delete=models.PROTECT, related_name="return_requests", editable=False,
    )  # fmt: skip
    channel = models.CharField(
        _("channel"), max_length=20, choices=ReturnChannel.choices, default=ReturnChannel.PORTAL
    )
    # The day the customer asked: the return window is measured to it, not to the evaluation.
    requested_on = models.DateField(_("requested on"), default=timezone.localdate, db_index=True)
    reason = models.CharField(_("reason"), max_length=30, choices=ReturnReason.choices)
    fault_description = models.TextField(_("fault description"))
    delivery_reference = models.CharField(
        _("delivery or invoice number"), max_length=100, blank=True,
        help_text=_("As on the delivery note or invoice."),
    )  # fmt: skip
    # Eligibility as last checked (rule failures with their reasons), kept with the record.
    eligible = models.BooleanField(_("eligible"), default=True, editable=False)
    eligibility = models.JSONField(_("eligibility check"), default=list, blank=True, editable=False)
    # The evaluation (售后服务评估).
    cause = models.CharField(_("cause"), max_length=30, choices=Cause.choices, blank=True,
                             db_index=True)  # fmt: skip
    responsibility = models.CharField(
        _("responsibility"), max_length=20, choices=Responsibility.choices, blank=True,
        db_index=True,
    )  # fmt: skip
    evaluation = models.TextField(_("evaluation"), blank=True)
    evaluated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("evaluated by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip
    evaluated_at = models.DateTimeField(_("evaluated at"), null=True, blank=True, editable=False)
    quality_case = models.ForeignKey(
        "quality.QualityCase", verbose_name=_("quality case"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="return_requests", editable=False,
    )  # fmt: skip
    # The decision.
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices,
                                blank=True, db_index=True)  # fmt: skip
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    refund_kind = models.CharField(_("refund"), max_length=10, choices=RefundKind.choices,
                                   blank=True)  # fmt: skip
    refund_approved = models.DecimalField(
        _("refund approved"), null=True, blank=True, editable=False, **MONEY
    )
    warranty_mode = models.CharField(
        _("exchange unit's warranty"), max_length=20, choices=WarrantyMode.choices, blank=True
    )
    customer_told_at = models.DateTimeField(
        _("customer told at"), null=True, blank=True, editable=False
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        permissions = [
            ("evaluate_returnrequest", "Can evaluate returns (cause and responsibility)"),
            ("approve_returnrequest", "Can decide returns (repair, exchange, refund, reject)"),
            ("receive_returnrequest", "Can receive returned products into quarantine"),
            ("ship_returnrequest", "Can ship exchange units"),
            ("refund_returnrequest", "Can record refunds"),
            ("close_returnrequest", "Can close returns"),
        ]
        indexes = [models.Index(fields=["organization", "-id"], name="return_organization")]

    def __str__(self) -> str:
        return self.number or _("Return request %(id)s") % {"id": self.pk}

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        # R-DIST / R-ISO: a return is a sales and complaint record of each product it names.
        started = timezone.localdate(self.created_at) if self.created_at else None
        if started is None:
            return []
        dates = [("R-DIST", add_years(started, MINIMUM_RETENTION_YEARS))]
        if self.pk:
            for line in self.lines.select_related(
                "device__device_model", "delivery_line__device_model"
            ):
                dates.extend(line.retention_dates())
        return dates


class ReturnLine(AuditedModel):
    """One product on a return: a unit of the installed base, or a quantity of a delivered
    product (a delivery line), with the condition the requester declares."""

    request = models.ForeignKey(
        ReturnRequest, verbose_name=_("return"), on_delete=models.CASCADE, related_name="lines"
    )
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="return_lines",
    )  # fmt: skip
    delivery_line = models.ForeignKey(
        "installed_base.DeliveryLine", verbose_name=_("delivery line"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="return_lines",
    )  # fmt: skip
    # Denormalised from the device or delivery line: reports group and filter on one table.
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), on_delete=models.PROTECT,
        related_name="return_lines",
    )  # fmt: skip
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True, db_index=True)
    serial_number = models.CharField(_("serial number"), max_length=50, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    condition = models.CharField(_("condition"), max_length=20, choices=ItemCondition.choices)
    work_order = models.ForeignKey(
        "work_orders.WorkOrder", verbose_name=_("repair work order"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="return_lines", editable=False,
    )  # fmt: skip

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(device__isnull=False) | Q(delivery_line__isnull=False),
                name="return_line_names_a_product",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="return_line_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.device_model} {self.serial_number or self.batch_number} ×{self.quantity}"

    @property
    def unit_price(self) -> Decimal | None:
        """What the customer paid for one unit, from the delivery line (None: unknown)."""
        return self.delivery_line.unit_price if self.delivery_line_id else None

    @property
    def paid(self) -> Decimal | None:
        """What the customer paid for the quantity returned: the most a refund may give back."""
        price = self.unit_price
        return None if price is None else price * self.quantity

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        dates: list[tuple[str, datetime.date]] = []
        model = self.device_model
        if model.implantable:
            dates.append(("R-DIST", datetime.date.max))
        expiry = (self.device.expiry_date if self.device_id else None) or (
            self.delivery_line.expiry_date if self.delivery_line_id else None
        )
        if expiry:
            dates.append(("R-DIST", add_years(expiry, 2)))
        if self.device_id:
            dates.extend(self.device.retention_dates())
        return dates


def return_file_path(instance: ReturnFile, filename: str) -> str:
    return f"returns/{instance.request_id}/{filename}"


class ReturnFile(AuditedModel):
    """A file kept with a return: the invoice or receipt proving the purchase (购买凭证), or a
    photo of the product. Its type is read from its content on upload."""

    request = models.ForeignKey(
        ReturnRequest, verbose_name=_("return"), on_delete=models.CASCADE, related_name="files"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=FileKind.choices)
    file = models.FileField(_("file"), upload_to=return_file_path)
    content_type = models.CharField(_("content type"), max_length=100, editable=False)
    original_name = models.CharField(_("file name"), max_length=255, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip

    class Meta:
        verbose_name = _("return file")
        verbose_name_plural = _("return files")

    def __str__(self) -> str:
        return self.original_name


class ReturnReceipt(AuditedModel):
    """The returned products arriving at the company: when, by whom, into which quarantine
    location, and what the inspection found."""

    request = models.OneToOneField(
        ReturnRequest, verbose_name=_("return"), on_delete=models.CASCADE, related_name="receipt"
    )
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("received by"), null=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    location = models.ForeignKey(
        "inventory.StockLocation", verbose_name=_("quarantine location"),
        on_delete=models.PROTECT, related_name="return_receipts",
    )  # fmt: skip
    inspection_result = models.CharField(
        _("inspection result"), max_length=30, choices=InspectionResult.choices
    )
    inspection_note = models.TextField(_("inspection note"), blank=True)

    class Meta:
        verbose_name = _("return receipt")
        verbose_name_plural = _("return receipts")

    def __str__(self) -> str:
        return f"{self.request} · {self.location}"


class ExchangeUnit(AuditedModel):
    """What was sent in place of a returned product: for a unit, the serial-numbered exchange
    unit issued from stock, installed at the customer as a new device with its warranty; for a
    delivered product, the quantity issued."""

    request = models.ForeignKey(
        ReturnRequest, verbose_name=_("return"), on_delete=models.CASCADE,
        related_name="exchange_units",
    )  # fmt: skip
    line = models.OneToOneField(
        ReturnLine, verbose_name=_("return line"), on_delete=models.PROTECT,
        related_name="exchange_unit",
    )  # fmt: skip
    part = models.ForeignKey(
        "inventory.Part", verbose_name=_("stock item"), on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(
        "inventory.PartLot", verbose_name=_("lot or serial"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    location = models.ForeignKey(
        "inventory.StockLocation", verbose_name=_("issued from"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    old_device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("returned device"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    new_device = models.OneToOneField(
        "installed_base.Device", verbose_name=_("exchange device"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="exchanged_for",
    )  # fmt: skip
    warranty_mode = models.CharField(
        _("warranty"), max_length=20, choices=WarrantyMode.choices, blank=True
    )
    warranty_ends_on = models.DateField(_("warranty ends on"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"))
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("shipped by"), null=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    shipment_reference = models.CharField(_("shipment reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("exchange unit")
        verbose_name_plural = _("exchange units")

    def __str__(self) -> str:
        return f"{self.part} {self.lot or ''} ×{self.quantity}".strip()


class Refund(AuditedModel, RetainedModel):
    """Money paid back to the customer for a returned product, recorded by finance: amount,
    method, date and the payment's reference. The refunds of one delivery line never add up to
    more than was paid on it."""

    request = models.ForeignKey(
        ReturnRequest, verbose_name=_("return"), on_delete=models.PROTECT, related_name="refunds"
    )
    line = models.ForeignKey(
        ReturnLine, verbose_name=_("return line"), on_delete=models.PROTECT,
        related_name="refunds",
    )  # fmt: skip
    # Denormalised: the cap across every return of the line is summed on one indexed column.
    delivery_line = models.ForeignKey(
        "installed_base.DeliveryLine", verbose_name=_("delivery line"),
        on_delete=models.PROTECT, related_name="refunds",
    )  # fmt: skip
    amount = models.DecimalField(_("amount"), **MONEY)
    method = models.CharField(_("method"), max_length=20, choices=RefundMethod.choices)
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(_("payment reference"), max_length=100)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} · {self.get_method_display()} · {self.reference}"

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        return self.request.retention_dates() if self.request_id else []
