from __future__ import annotations

import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.catalog.choices import (
    LicenceKind,
    ProductType,
    RiskClass,
    Tracking,
    ValidityStatus,
)
from medservice.catalog.validators import validate_udi_di
from medservice.core.models import AuditedModel
from medservice.customers.validators import validate_credit_code, validate_phone


class Manufacturer(AuditedModel):
    """The company that makes a device model (生产企业), possibly this company itself."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    country = models.CharField(_("country"), max_length=100, blank=True, default="中国")
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        validators=[validate_credit_code],
    )
    production_permit = models.CharField(_("production permit number"), max_length=100, blank=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("manufacturer")
        verbose_name_plural = _("manufacturers")

    def __str__(self) -> str:
        return self.name


class Supplier(AuditedModel):
    """Who supplied devices or parts to the company (供货者); may owe repairs under its quality
    agreement."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        validators=[validate_credit_code],
    )
    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("When the supplier is the manufacturer itself."),
    )
    quality_agreement_reference = models.CharField(
        _("quality agreement"), max_length=100, blank=True
    )
    repairs_under_agreement = models.BooleanField(
        _("repairs under the quality agreement"),
        default=False,
        help_text=_("The agreement obliges the supplier to repair or replace faulty products."),
    )
    # What the agreement says about repairs, shown on every notice of a complaint to the supplier.
    repair_clause = models.TextField(_("repair clause of the quality agreement"), blank=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True, validators=[validate_phone])
    email = models.EmailField(_("e-mail"), blank=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")

    def __str__(self) -> str:
        return self.name

    # Lists and pages show where the supplier stands; the rule itself is in services.
    @property
    def licence_status(self) -> str:
        from medservice.catalog.services import supplier_licence_status

        return supplier_licence_status(self)

    def get_licence_status_display(self) -> str:
        return str(ValidityStatus(self.licence_status).label)

    # Column heading in lists and exports (Django admin's convention for computed columns).
    licence_status.fget.short_description = _("licence status")


class SupplierLicence(AuditedModel):
    """A licence or qualification file of a supplier, with its validity (GSP: checked before
    every purchase and delivery)."""

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="licences"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=LicenceKind.choices)
    number = models.CharField(_("number"), max_length=100)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True, db_index=True)
    file = models.FileField(_("scan"), upload_to="supplier-licences/%Y/", blank=True)

    class Meta:
        verbose_name = _("supplier licence")
        verbose_name_plural = _("supplier licences")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="supplier_licence_dates_in_order",
                violation_error_message=_("The licence cannot end before it starts."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def status(self) -> str:
        from medservice.catalog.services import licence_validity

        return licence_validity(self).status

    def get_status_display(self) -> str:
        return str(ValidityStatus(self.status).label)

    # Column heading in lists and exports (Django admin's convention for computed columns).
    status.fget.short_description = _("status")

    def is_valid_on(self, day: datetime.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


class ProductLine(AuditedModel):
    """A family of device models (e.g. patient monitors) that shares fault codes, training
    and certification."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    category = models.CharField(_("category"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")

    def __str__(self) -> str:
        return self.name


class DeviceModel(AuditedModel):
    """A catalogue product (产品型号): what the regulator registered and the company sells."""

    name = models.CharField(_("name"), max_length=200)
    model_spec = models.CharField(_("model/spec"), max_length=200)
    registration_number = models.CharField(
        _("registration or filing certificate number"), max_length=100, blank=True, db_index=True
    )
    registration_valid_until = models.DateField(
        _("certificate valid until"), null=True, blank=True, db_index=True
    )
    risk_class = models.CharField(
        _("risk class"), max_length=3, choices=RiskClass.choices, db_index=True
    )
    product_type = models.CharField(
        _("product type"), max_length=20, choices=ProductType.choices, default=ProductType.ACTIVE
    )
    implantable = models.BooleanField(_("implantable"), default=False)
    life_support = models.BooleanField(_("life support"), default=False, db_index=True)
    tracking = models.CharField(
        _("tracking"), max_length=10, choices=Tracking.choices, default=Tracking.SERIAL
    )
    udi_di = models.CharField(
        _("UDI-DI"), max_length=50, blank=True, db_index=True, validators=[validate_udi_di]
    )
    manufacturer = models.ForeignKey(
        Manufacturer,
        verbose_name=_("manufacturer"),
        on_delete=models.PROTECT,
        related_name="device_models",
    )
    product_line = models.ForeignKey(
        ProductLine,
        verbose_name=_("product line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="device_models",
    )
    service_life_years = models.PositiveSmallIntegerField(
        _("specified service life (years)"), null=True, blank=True
    )
    warranty_months = models.PositiveSmallIntegerField(_("warranty (months)"), default=12)
    pm_interval_days = models.PositiveIntegerField(_("PM interval (days)"), null=True, blank=True)
    single_use = models.BooleanField(
        _("single use (cannot be returned once opened)"), default=False
    )

    class Meta:
        verbose_name = _("device model")
        verbose_name_plural = _("device models")
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "model_spec"],
                name="unique_model_spec_per_manufacturer",
                violation_error_message=_(
                    "This manufacturer already has a device model with this model/spec."
                ),
            ),
            # A scanned UDI-DI must lead to one model; the "unique" code files the error
            # under the udi_di field in forms.
            models.UniqueConstraint(
                fields=["udi_di"],
                condition=~models.Q(udi_di=""),
                name="unique_udi_di",
                violation_error_code="unique",
                violation_error_message=_("Another device model already has this UDI-DI."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.model_spec}"

    # Lists and pages show where the certificate stands; the rule itself is in services.
    @property
    def registration_status(self) -> str:
        from medservice.catalog.services import device_model_registration_status

        return device_model_registration_status(self)

    def get_registration_status_display(self) -> str:
        return str(ValidityStatus(self.registration_status).label)

    # Column heading in lists and exports (Django admin's convention for computed columns).
    registration_status.fget.short_description = _("registration status")

    def registration_expired(self, day: datetime.date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.registration_valid_until is not None and self.registration_valid_until < day


class AcceptanceTestItem(AuditedModel):
    """One check of a model's acceptance-test template: what to measure and the tolerance."""

    device_model = models.ForeignKey(
        DeviceModel,
        verbose_name=_("device model"),
        on_delete=models.CASCADE,
        related_name="acceptance_items",
    )
    position = models.PositiveSmallIntegerField(_("order"), default=1)
    name = models.CharField(_("check"), max_length=200)
    expected_value = models.DecimalField(
        _("expected value"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    tolerance = models.DecimalField(
        _("tolerance (±)"), max_digits=12, decimal_places=4, null=True, blank=True
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    pass_fail_only = models.BooleanField(_("pass / fail only"), default=False)

    class Meta:
        verbose_name = _("acceptance-test item")
        verbose_name_plural = _("acceptance-test items")
        ordering = ["device_model", "position"]

    def __str__(self) -> str:
        return self.name


class FaultCode(AuditedModel):
    """A coded symptom or cause in a product line's fault-code tree (故障代码)."""

    product_line = models.ForeignKey(
        ProductLine,
        verbose_name=_("product line"),
        on_delete=models.CASCADE,
        related_name="fault_codes",
    )
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent code"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("fault code")
        verbose_name_plural = _("fault codes")
        constraints = [
            models.UniqueConstraint(fields=["product_line", "code"], name="unique_fault_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ExpiryWarning(models.Model):
    """A warning the quality team received that a supplier licence or a registration
    certificate expires soon; kept so that each threshold warns once per expiry date (a renewed
    date warns again)."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    expires_on = models.DateField(_("expires on"))
    threshold_days = models.PositiveSmallIntegerField(_("days ahead"))
    sent_on = models.DateField(_("sent on"))
    recipient_count = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        verbose_name = _("expiry warning")
        verbose_name_plural = _("expiry warnings")
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "expires_on", "threshold_days"],
                name="unique_expiry_warning",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.content_type.model}#{self.object_id} {self.expires_on} -{self.threshold_days}d"
        )
