from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from medservice.core.models import AuditedModel, RetainedModel
from medservice.core.retention import add_years
from medservice.installed_base.choices import (
    ContractKind,
    DeviceStatus,
    HoldKind,
    HoldScope,
    SlaTier,
)

# R-DIST: distributor sales records are kept until expiry + 2 years, at least 5 years.
SALES_RECORD_MINIMUM_YEARS = 5


class Delivery(AuditedModel, RetainedModel):
    """A sales / outbound delivery record (销售记录, Regulation 739 art. 45): to whom, when, under
    which invoice or delivery note, by which salesperson."""

    number = models.CharField(_("delivery number"), max_length=50, unique=True)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    delivered_on = models.DateField(_("delivered on"), db_index=True)
    invoice_number = models.CharField(_("invoice number"), max_length=50, blank=True, db_index=True)
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("salesperson"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return self.number

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        dates = [("R-DIST", add_years(self.delivered_on, SALES_RECORD_MINIMUM_YEARS))]
        if self.pk:
            for line in self.lines.select_related("device_model"):
                if line.device_model.implantable:
                    dates.append(("R-DIST", datetime.date.max))
                elif line.expiry_date:
                    dates.append(("R-DIST", add_years(line.expiry_date, 2)))
        return dates


class DeliveryLine(AuditedModel):
    """One line of a delivery: a model with its batch and/or serial, quantity and price."""

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="lines"
    )
    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("device model"),
        on_delete=models.PROTECT,
        related_name="delivery_lines",
    )
    supplier = models.ForeignKey(
        "catalog.Supplier",
        verbose_name=_("supplier"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="delivery_lines",
    )
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True, db_index=True)
    serial_number = models.CharField(_("serial number"), max_length=50, blank=True, db_index=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2, default=0)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery line")
        verbose_name_plural = _("delivery lines")
        indexes = [models.Index(fields=["device_model", "batch_number"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(batch_number="") | ~Q(serial_number=""),
                name="delivery_line_batch_or_serial",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="delivery_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(serial_number="") | Q(quantity=1),
                name="delivery_line_serial_is_one_unit",
            ),
            models.CheckConstraint(
                condition=Q(expiry_date__isnull=True)
                | Q(production_date__isnull=True)
                | Q(expiry_date__gte=F("production_date")),
                name="delivery_line_expiry_after_production",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_model} {self.serial_number or self.batch_number} ×{self.quantity}"


class Device(AuditedModel, RetainedModel):
    """One physical unit at a customer (装机档案), identified by serial and/or batch and UDI."""

    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("device model"),
        on_delete=models.PROTECT,
        related_name="devices",
    )
    serial_number = models.CharField(_("serial number"), max_length=50, blank=True, db_index=True)
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True, db_index=True)
    udi_pi = models.CharField(_("UDI-PI"), max_length=100, blank=True, db_index=True)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=pgettext_lazy("device", "owner"),
        on_delete=models.PROTECT,
        related_name="devices",
    )
    department = models.ForeignKey(
        "customers.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="devices",
    )
    asset_number = models.CharField(
        _("hospital asset number"), max_length=50, blank=True, db_index=True
    )
    delivery_line = models.ForeignKey(
        DeliveryLine,
        verbose_name=_("delivery line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
    )
    supplier = models.ForeignKey(
        "catalog.Supplier",
        verbose_name=_("supplier"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
    )
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    accepted_on = models.DateField(_("accepted on"), null=True, blank=True)
    warranty_ends_on = models.DateField(_("warranty ends on"), null=True, blank=True, db_index=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=DeviceStatus.choices,
        default=DeviceStatus.INSTALLED,
        db_index=True,
    )
    location = models.CharField(_("location"), max_length=200, blank=True)
    # Kept by the work-orders app when a service is completed.
    last_service_on = models.DateField(_("last serviced on"), null=True, blank=True)
    next_pm_due_on = models.DateField(_("next PM due"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        indexes = [models.Index(fields=["device_model", "batch_number"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(batch_number="") | ~Q(serial_number=""), name="device_batch_or_serial"
            ),
            models.UniqueConstraint(
                fields=["device_model", "serial_number"],
                condition=~Q(serial_number=""),
                name="unique_serial_per_model",
            ),
            models.CheckConstraint(
                condition=Q(expiry_date__isnull=True)
                | Q(production_date__isnull=True)
                | Q(expiry_date__gte=F("production_date")),
                name="device_expiry_after_production",
            ),
            models.CheckConstraint(
                condition=Q(accepted_on__isnull=True)
                | Q(installed_on__isnull=True)
                | Q(accepted_on__gte=F("installed_on")),
                name="device_acceptance_after_installation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_model} {self.serial_number or self.batch_number}"

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        # R-USE: maintenance records of a device in use: end of its service life + 5 years.
        life = self.device_model.service_life_years if self.device_model_id else None
        start = self.accepted_on or self.installed_on or self.production_date
        if start is None or life is None:
            return []
        return [("R-USE", add_years(start, life + 5))]


class Hold(AuditedModel):
    """A batch, serial or device put on hold (批次冻结 / 证据保全): while active, it may not be
    delivered, issued, returned or altered."""

    scope = models.CharField(_("scope"), max_length=10, choices=HoldScope.choices)
    kind = models.CharField(
        _("kind"), max_length=20, choices=HoldKind.choices, default=HoldKind.QUALITY_REVIEW
    )
    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("device model"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="holds",
    )
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True, db_index=True)
    serial_number = models.CharField(_("serial number"), max_length=50, blank=True, db_index=True)
    device = models.ForeignKey(
        Device,
        verbose_name=_("device"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="holds",
    )
    reason = models.TextField(_("reason"))
    source = models.CharField(
        _("source"), max_length=100, blank=True, help_text=_("e.g. the quality case number")
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("placed by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    placed_at = models.DateTimeField(_("placed at"), db_index=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True, db_index=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    release_reason = models.TextField(_("release reason"), blank=True)

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        indexes = [
            models.Index(fields=["device_model", "batch_number", "released_at"]),
            models.Index(fields=["device_model", "serial_number", "released_at"]),
        ]
        constraints = [
            # A hold that names nothing would silently hold nothing: each scope names its target.
            models.CheckConstraint(
                condition=(Q(scope="batch", device_model__isnull=False) & ~Q(batch_number=""))
                | (Q(scope="serial", device_model__isnull=False) & ~Q(serial_number=""))
                | Q(scope="device", device__isnull=False),
                name="hold_names_its_target",
            ),
        ]

    def __str__(self) -> str:
        target = self.serial_number or self.batch_number or self.device_id
        return f"{self.get_scope_display()} {target}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class ServiceContract(AuditedModel, RetainedModel):
    """A paid service contract (服务合同) covering some of an organisation's devices."""

    number = models.CharField(_("contract number"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=30, choices=ContractKind.choices)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    devices = models.ManyToManyField(
        Device, verbose_name=_("devices"), related_name="contracts", blank=True
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), db_index=True)
    sla_tier = models.CharField(
        _("SLA tier"), max_length=20, choices=SlaTier.choices, default=SlaTier.STANDARD
    )
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, default=0)
    renewal_reminder_days = models.PositiveSmallIntegerField(
        _("renewal reminder (days before end)"), default=60
    )
    # The end date the renewal reminder was sent for: a contract extended to a new end is
    # reminded again, one that was not is never reminded twice.
    renewal_reminded_for = models.DateField(
        _("renewal reminded for end"), null=True, blank=True, editable=False
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("service contract")
        verbose_name_plural = _("service contracts")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="contract_dates_in_order"
            )
        ]

    def __str__(self) -> str:
        return self.number

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        return [("R-ISO", add_years(self.ends_on, 2))]
