"""Spare parts and the things that hold or move them: the parts catalogue, stock locations, part
lots, the stock ledger with its balance table, purchase orders, requisitions, stock counts, and
the repair tools and reference instruments engineers check out."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from medservice.core.models import AuditedModel
from medservice.inventory.choices import (
    CalibrationResult,
    Condition,
    InstrumentKind,
    InstrumentStatus,
    LocationKind,
    MovementKind,
    PartTracking,
    PurchaseOrderStatus,
    RequisitionStatus,
    StockCountStatus,
)

QUANTITY = {"max_digits": 12, "decimal_places": 3}
MONEY = {"max_digits": 12, "decimal_places": 2}


class Part(AuditedModel):
    """A spare part or service material the company stocks (备件): a board, a battery, a probe,
    a filter, a cable, a seal kit."""

    number = models.CharField(_("part number"), max_length=50, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    compatible_models = models.ManyToManyField(
        "catalog.DeviceModel",
        verbose_name=_("compatible device models"),
        blank=True,
        related_name="parts",
    )
    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("registered as device model"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "When the part is itself a registered device (a probe, a sensor): a hold on that "
            "model's batch also stops the part lot with the same number."
        ),
    )
    unit = models.CharField(_("unit"), max_length=20, default="个")
    standard_cost = models.DecimalField(_("standard cost"), default=0, **MONEY)
    price = models.DecimalField(_("price"), default=0, **MONEY)
    tracking = models.CharField(
        _("tracking"), max_length=10, choices=PartTracking.choices, default=PartTracking.NONE
    )
    shelf_life_days = models.PositiveIntegerField(_("shelf life (days)"), null=True, blank=True)
    reorder_point = models.DecimalField(_("reorder point"), default=0, **QUANTITY)
    reorder_quantity = models.DecimalField(_("reorder quantity"), default=0, **QUANTITY)
    preferred_supplier = models.ForeignKey(
        "catalog.Supplier",
        verbose_name=_("preferred supplier"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="parts",
    )
    active = models.BooleanField(_("active"), default=True)
    # When the warehouse was last told the part is below its reorder point; cleared when stock
    # (with what is on order) is back above it, so each shortage is announced once.
    reorder_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)

    audit_exclude = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"reorder_alerted_at"}

    class Meta:
        verbose_name = _("spare part")
        verbose_name_plural = _("spare parts")
        constraints = [
            models.CheckConstraint(
                condition=Q(standard_cost__gte=0) & Q(price__gte=0),
                name="part_prices_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(reorder_point__gte=0) & Q(reorder_quantity__gte=0),
                name="part_reorder_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name_zh}"

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name_zh


class StockLocation(AuditedModel):
    """A place stock is kept or booked (库位): a central or regional warehouse, an engineer's own
    stock (the van or bag), goods in transit, quarantine, failure analysis, scrap."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=LocationKind.choices, db_index=True)
    engineer = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("engineer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stock_location",
    )
    region = models.CharField(_("region"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    active = models.BooleanField(_("active"), default=True)
    # Set while a stock count is open: no stock moves in or out until it is posted.
    counting = models.BooleanField(_("stock count in progress"), default=False, editable=False)

    class Meta:
        verbose_name = _("stock location")
        verbose_name_plural = _("stock locations")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="engineer", engineer__isnull=False)
                | (~Q(kind="engineer") & Q(engineer__isnull=True)),
                name="engineer_stock_names_its_engineer",
                violation_error_message=_(
                    "An engineer's stock names its engineer; other locations name none."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PartLot(AuditedModel):
    """One lot (批号) or one serial-numbered unit of a part, with its expiry and any hold; what
    the trace follows from the warehouse into the devices it was fitted to."""

    part = models.ForeignKey(
        Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="lots"
    )
    lot_number = models.CharField(_("lot number"), max_length=50, blank=True, db_index=True)
    serial_number = models.CharField(_("serial number"), max_length=50, blank=True, db_index=True)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True, db_index=True)
    supplier = models.ForeignKey(
        "catalog.Supplier",
        verbose_name=_("supplier"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="part_lots",
    )
    on_hold = models.BooleanField(_("on hold"), default=False, db_index=True)
    hold_reason = models.TextField(_("hold reason"), blank=True)
    hold_source = models.CharField(_("hold source"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("part lot")
        verbose_name_plural = _("part lots")
        constraints = [
            models.UniqueConstraint(
                fields=["part", "lot_number", "serial_number"], name="unique_part_lot"
            ),
            models.CheckConstraint(
                condition=~Q(lot_number="") | ~Q(serial_number=""),
                name="part_lot_names_lot_or_serial",
            ),
            models.CheckConstraint(
                condition=Q(expiry_date__isnull=True)
                | Q(production_date__isnull=True)
                | Q(expiry_date__gte=F("production_date")),
                name="part_lot_expiry_after_production",
            ),
        ]

    def __str__(self) -> str:
        if self.serial_number:
            return f"{self.part.number} SN {self.serial_number}"
        return f"{self.part.number} {_('lot')} {self.lot_number}"


class StockBalance(models.Model):
    """What is on hand of one part (and lot, and condition) at one location: derived from the
    ledger and kept in step with it by the posting service, so a look-up is one indexed row.
    The database refuses a negative quantity."""

    location = models.ForeignKey(
        StockLocation, verbose_name=_("location"), on_delete=models.PROTECT, related_name="+"
    )
    part = models.ForeignKey(
        Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(
        PartLot,
        verbose_name=_("lot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="balances",
    )
    condition = models.CharField(
        _("condition"), max_length=10, choices=Condition.choices, default=Condition.GOOD
    )
    quantity = models.DecimalField(_("on hand"), default=0, **QUANTITY)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock balance")
        verbose_name_plural = _("stock balances")
        default_permissions = ("view",)
        # On PostgreSQL migration 0002 makes this index covering (condition, quantity), so a
        # part's stock across locations is read from the index alone (bench/inventory.py).
        indexes = [models.Index(fields=["part", "location"], name="stock_balance_part_location")]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="stock_balance_never_negative"
            ),
            # Two constraints because NULL lots are distinct to a unique index.
            models.UniqueConstraint(
                fields=["location", "part", "lot", "condition"],
                condition=Q(lot__isnull=False),
                name="unique_balance_per_lot",
            ),
            models.UniqueConstraint(
                fields=["location", "part", "condition"],
                condition=Q(lot__isnull=True),
                name="unique_balance_without_lot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location.code} {self.part.number} {self.quantity}"


class PurchaseOrder(AuditedModel):
    """An order for parts placed with a supplier (采购订单), received in one or more
    deliveries."""

    number = models.CharField(_("order number"), max_length=30, unique=True, editable=False)
    supplier = models.ForeignKey(
        "catalog.Supplier",
        verbose_name=_("supplier"),
        on_delete=models.PROTECT,
        related_name="purchase_orders",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=PurchaseOrderStatus.choices,
        default=PurchaseOrderStatus.DRAFT,
        db_index=True,
    )
    destination = models.ForeignKey(
        StockLocation,
        verbose_name=_("deliver to"),
        on_delete=models.PROTECT,
        related_name="purchase_orders",
    )
    ordered_on = models.DateField(_("ordered on"), null=True, blank=True, editable=False)
    expected_on = models.DateField(_("expected on"), null=True, blank=True, db_index=True)
    supplier_reference = models.CharField(_("supplier's reference"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    closed_reason = models.TextField(_("reason closed or cancelled"), blank=True, editable=False)

    class Meta:
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        permissions = [("receive_purchaseorder", "Can receive goods against a purchase order")]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(AuditedModel):
    """One part ordered: quantity, price and how much has arrived so far."""

    order = models.ForeignKey(
        PurchaseOrder, verbose_name=_("purchase order"), on_delete=models.CASCADE,
        related_name="lines",
    )  # fmt: skip
    part = models.ForeignKey(
        Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="order_lines"
    )
    quantity = models.DecimalField(_("quantity ordered"), **QUANTITY)
    unit_price = models.DecimalField(_("unit price"), default=0, **MONEY)
    quantity_received = models.DecimalField(
        _("quantity received"), default=0, editable=False, **QUANTITY
    )

    class Meta:
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__gte=0) & Q(quantity_received__lte=F("quantity")),
                name="order_line_received_within_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.part.number} × {self.quantity}"

    @property
    def outstanding(self) -> Any:
        return self.quantity - self.quantity_received


class Requisition(AuditedModel):
    """An engineer's request for parts (申领) from a warehouse into their own stock: approved,
    issued, then received by the engineer."""

    number = models.CharField(_("requisition number"), max_length=30, unique=True, editable=False)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="requisitions",
    )
    source = models.ForeignKey(
        StockLocation,
        verbose_name=_("from warehouse"),
        on_delete=models.PROTECT,
        related_name="requisitions_out",
    )
    destination = models.ForeignKey(
        StockLocation,
        verbose_name=_("to stock"),
        on_delete=models.PROTECT,
        related_name="requisitions_in",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RequisitionStatus.choices,
        default=RequisitionStatus.REQUESTED,
        db_index=True,
    )
    reference = models.CharField(
        _("for"), max_length=100, blank=True, db_index=True,
        help_text=_("The ticket or work order the parts are for."),
    )  # fmt: skip
    needed_by = models.DateField(_("needed by"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    decision_note = models.TextField(_("decision note"), blank=True, editable=False)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True, editable=False)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("requisition")
        verbose_name_plural = _("requisitions")
        permissions = [
            ("approve_requisition", "Can approve or reject requisitions"),
            ("issue_requisition", "Can issue parts on requisitions"),
        ]
        indexes = [models.Index(fields=["requester", "-id"], name="requisition_requester")]

    def __str__(self) -> str:
        return self.number


class RequisitionLine(AuditedModel):
    """One part on a requisition: asked for, approved, issued, received and returned."""

    requisition = models.ForeignKey(
        Requisition, verbose_name=_("requisition"), on_delete=models.CASCADE,
        related_name="lines",
    )  # fmt: skip
    part = models.ForeignKey(
        Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="requisition_lines"
    )
    quantity = models.DecimalField(_("quantity requested"), **QUANTITY)
    quantity_approved = models.DecimalField(
        _("quantity approved"), null=True, blank=True, editable=False, **QUANTITY
    )
    quantity_issued = models.DecimalField(
        _("quantity issued"), default=0, editable=False, **QUANTITY
    )
    quantity_returned = models.DecimalField(
        _("quantity returned"), default=0, editable=False, **QUANTITY
    )

    class Meta:
        verbose_name = _("requisition line")
        verbose_name_plural = _("requisition lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="requisition_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity_issued")),
                name="requisition_line_returned_within_issued",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.part.number} × {self.quantity}"


class StockCount(AuditedModel):
    """A stock count (盘点) of one location: the count sheet, the variances, and their approval
    as adjustments. The location is frozen while the count is open."""

    number = models.CharField(_("count number"), max_length=30, unique=True, editable=False)
    location = models.ForeignKey(
        StockLocation, verbose_name=_("location"), on_delete=models.PROTECT, related_name="counts"
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=StockCountStatus.choices,
        default=StockCountStatus.COUNTING,
        db_index=True,
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    started_at = models.DateTimeField(_("started at"), editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("counted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True, editable=False)
    reason = models.TextField(_("reason for the variances"), blank=True)

    class Meta:
        verbose_name = _("stock count")
        verbose_name_plural = _("stock counts")
        permissions = [("approve_stockcount", "Can approve stock counts and post adjustments")]
        constraints = [
            # One open count per location: two sheets for one shelf cannot both be right.
            models.UniqueConstraint(
                fields=["location"],
                condition=Q(status__in=["counting", "submitted"]),
                name="one_open_count_per_location",
                violation_error_message=_("This location already has an open stock count."),
            )
        ]

    def __str__(self) -> str:
        return self.number


class StockCountLine(AuditedModel):
    """One line of a count sheet: the book quantity when the count started and what was
    counted."""

    count = models.ForeignKey(
        StockCount, verbose_name=_("stock count"), on_delete=models.CASCADE, related_name="lines"
    )
    part = models.ForeignKey(
        Part, verbose_name=_("part"), on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(
        PartLot, verbose_name=_("lot"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    condition = models.CharField(
        _("condition"), max_length=10, choices=Condition.choices, default=Condition.GOOD
    )
    book_quantity = models.DecimalField(_("book quantity"), editable=False, **QUANTITY)
    counted_quantity = models.DecimalField(_("counted quantity"), null=True, blank=True, **QUANTITY)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("stock count line")
        verbose_name_plural = _("stock count lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(counted_quantity__isnull=True) | Q(counted_quantity__gte=0),
                name="count_line_counted_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.part.number} {self.book_quantity} → {self.counted_quantity}"

    @property
    def variance(self) -> Any:
        if self.counted_quantity is None:
            return None
        return self.counted_quantity - self.book_quantity


class StockMovement(AuditedModel):
    """One immutable row of the stock ledger: a quantity of a part (lot, condition) moved from
    one location to another, or in from outside (receipt, removal from a device) or out
    (fitted into a device, returned to the supplier). Corrections are new rows, never edits."""

    # The ledger grows without end: only the indexes its reads use are kept (Meta.indexes);
    # foreign keys led by a composite index, or mostly empty, have no index of their own.
    kind = models.CharField(_("kind"), max_length=20, choices=MovementKind.choices)
    part = models.ForeignKey(
        Part,
        verbose_name=_("part"),
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,
    )
    lot = models.ForeignKey(
        PartLot,
        verbose_name=_("lot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
    )
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    source = models.ForeignKey(
        StockLocation,
        verbose_name=_("from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements_out",
        db_index=False,
    )
    source_condition = models.CharField(
        _("condition before"), max_length=10, choices=Condition.choices, blank=True
    )
    destination = models.ForeignKey(
        StockLocation,
        verbose_name=_("to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements_in",
        db_index=False,
    )
    destination_condition = models.CharField(
        _("condition after"), max_length=10, choices=Condition.choices, blank=True
    )
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    unit_cost = models.DecimalField(_("unit cost"), default=0, **MONEY)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    device = models.ForeignKey(
        "installed_base.Device",
        verbose_name=_("device"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="part_movements",
        db_index=False,
    )
    purchase_order_line = models.ForeignKey(
        PurchaseOrderLine,
        verbose_name=_("purchase order line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,
    )
    requisition_line = models.ForeignKey(
        RequisitionLine,
        verbose_name=_("requisition line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,
    )
    count_line = models.ForeignKey(
        StockCountLine,
        verbose_name=_("count line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,
    )

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        default_permissions = ("view",)
        # The movements people post by hand; the others follow from orders, requisitions and
        # counts, under those records' own permissions.
        permissions = [
            ("transfer_stock", "Can transfer stock between locations"),
            ("consume_parts", "Can record parts fitted and removed"),
            ("return_parts", "Can return parts to a warehouse or quarantine"),
            ("dispose_parts", "Can send defective parts to analysis, supplier or scrap"),
        ]
        indexes = [
            models.Index(fields=["part", "-occurred_at"], name="movement_part_time"),
            models.Index(fields=["source", "-occurred_at"], name="movement_source_time"),
            models.Index(fields=["destination", "-occurred_at"], name="movement_dest_time"),
            # The trace: from a lot to the devices it went into, and from a device to its parts.
            models.Index(
                fields=["lot", "device"],
                condition=Q(device__isnull=False),
                name="movement_lot_device",
            ),
            models.Index(
                fields=["device", "-occurred_at"],
                condition=Q(device__isnull=False),
                name="movement_device_time",
            ),
            models.Index(
                fields=["reference"], condition=~Q(reference=""), name="movement_reference"
            ),
            *(
                models.Index(
                    fields=[name],
                    condition=Q(**{f"{name}__isnull": False}),
                    name=f"movement_{name}",
                )
                for name in (
                    "purchase_order_line",
                    "requisition_line",
                    "count_line",
                    "approved_by",
                )
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="movement_quantity_positive"),
            models.CheckConstraint(
                condition=Q(source__isnull=False) | Q(destination__isnull=False),
                name="movement_has_a_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.part_id} × {self.quantity}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The ledger is append-only: a wrong row is corrected by a new one.
        if not self._state.adding:
            raise ValueError("Stock movements are never changed; post a correcting movement.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Stock movements are never deleted; post a correcting movement.")


class Instrument(AuditedModel):
    """A repair tool or a measuring / reference instrument (维修工具 / 计量器具) kept by the
    service department and checked out to engineers; instruments are calibrated on a cycle."""

    number = models.CharField(_("asset number"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=20, choices=InstrumentKind.choices, default=InstrumentKind.TOOL
    )
    model_spec = models.CharField(_("model/spec"), max_length=200, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=200, blank=True)
    home_location = models.ForeignKey(
        StockLocation,
        verbose_name=_("kept at"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="instruments",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=InstrumentStatus.choices,
        default=InstrumentStatus.AVAILABLE,
        db_index=True,
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked out to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="instruments_held",
        editable=False,
    )
    calibration_interval_days = models.PositiveIntegerField(
        _("calibration interval (days)"), null=True, blank=True
    )
    calibration_due_on = models.DateField(
        _("calibration due on"), null=True, blank=True, db_index=True, editable=False
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("tool or instrument")
        verbose_name_plural = _("tools and instruments")
        permissions = [("checkout_instrument", "Can check tools and instruments out and in")]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class InstrumentCalibration(AuditedModel):
    """A calibration or verification of an instrument (检定 / 校准) with its certificate."""

    instrument = models.ForeignKey(
        Instrument, verbose_name=_("instrument"), on_delete=models.CASCADE,
        related_name="calibrations",
    )  # fmt: skip
    calibrated_on = models.DateField(_("calibrated on"))
    valid_until = models.DateField(_("valid until"))
    performed_by = models.CharField(_("calibrated by (laboratory)"), max_length=200)
    certificate_number = models.CharField(_("certificate number"), max_length=100, blank=True)
    result = models.CharField(
        _("result"), max_length=10, choices=CalibrationResult.choices,
        default=CalibrationResult.PASSED,
    )  # fmt: skip
    certificate = models.FileField(_("certificate"), upload_to="calibrations/%Y/", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("calibration")
        verbose_name_plural = _("calibrations")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("calibrated_on")),
                name="calibration_valid_after_done",
                violation_error_message=_("A calibration cannot expire before it was done."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument.number} {self.calibrated_on}"


class InstrumentCheckout(AuditedModel):
    """A tool or instrument handed to an engineer and, later, handed back."""

    instrument = models.ForeignKey(
        Instrument, verbose_name=_("instrument"), on_delete=models.CASCADE,
        related_name="checkouts",
    )  # fmt: skip
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked out to"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    checked_out_at = models.DateTimeField(_("checked out at"))
    due_back_on = models.DateField(_("due back on"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    condition_note = models.CharField(_("condition on return"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("checkout")
        verbose_name_plural = _("checkouts")
        constraints = [
            models.UniqueConstraint(
                fields=["instrument"],
                condition=Q(checked_in_at__isnull=True),
                name="one_open_checkout_per_instrument",
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument.number} → {self.holder_id}"
