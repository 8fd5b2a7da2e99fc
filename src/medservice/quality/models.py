"""Quality cases (质量投诉): a complaint about the quality or safety of a device, opened from a
quality-flagged service request or service record or by quality staff, with the intake the
procedure asks for, the awareness time the legal clocks count from, and the contact with the
complainant due within 24 hours (SOP-3)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.core.crypto import EncryptedTextField, blind_index, mask_phone
from medservice.core.models import AuditedModel, RetainedModel
from medservice.core.retention import add_years
from medservice.quality.choices import CaseSource, CaseStatus
from medservice.tickets.choices import Sex

# Complaint records (R-DIST): at least five years where the device has no expiry.
COMPLAINT_RECORD_MINIMUM_YEARS = 5


class QualityCase(AuditedModel, RetainedModel):
    """A quality complaint under investigation (质量投诉): who complained about which product and
    batch, what happened, when the company became aware of it, and whether the complainant was
    contacted in time."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN,
        db_index=True,
    )  # fmt: skip
    source = models.CharField(_("opened from"), max_length=20, choices=CaseSource.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("service request"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_cases",
    )  # fmt: skip
    work_order = models.ForeignKey(
        "work_orders.WorkOrder", verbose_name=_("work order"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_cases",
    )  # fmt: skip
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_cases",
    )  # fmt: skip
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_cases",
    )  # fmt: skip
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_cases",
    )  # fmt: skip
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True, db_index=True)
    serial_number = models.CharField(_("serial number"), max_length=50, blank=True)
    product_reported = models.CharField(_("product as reported"), max_length=200, blank=True)
    manufacturer_reported = models.CharField(_("manufacturer"), max_length=200, blank=True)
    description = models.TextField(_("what happened"))
    # The complainant (personal data: encrypted, masked in lists).
    complainant_name = EncryptedTextField(_("complainant's name"), blank=True)
    complainant_phone = EncryptedTextField(_("complainant's phone"), blank=True)
    complainant_phone_index = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False
    )
    complainant_sex = models.CharField(
        _("complainant's sex"), max_length=10, choices=Sex.choices, blank=True
    )
    complainant_age = models.PositiveSmallIntegerField(
        _("complainant's age"), null=True, blank=True
    )
    complainant_address = EncryptedTextField(_("complainant's address"), blank=True)
    complainant_workplace = EncryptedTextField(_("complainant's workplace"), blank=True)
    device_used = models.BooleanField(_("device was used"), null=True, blank=True)
    symptoms = models.TextField(_("symptoms or adverse reactions"), blank=True)
    purchased_from = models.CharField(_("bought from"), max_length=200, blank=True)
    purchased_on = models.DateField(_("bought on"), null=True, blank=True)
    stop_use_advised = models.BooleanField(_("told to stop using it"), default=False)
    stop_use_advised_at = models.DateTimeField(_("told at"), null=True, blank=True)
    patient_involved = models.BooleanField(_("patient involved"), default=False)
    injury = models.BooleanField(_("injury or death"), default=False)
    # The legal clocks count from here: the receipt of the complaint that raised the case.
    awareness_at = models.DateTimeField(_("aware since"), db_index=True)
    awareness_reason = models.CharField(
        _("why the awareness time was moved"), max_length=300, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_quality_cases",
    )  # fmt: skip
    # SOP-3: the quality department contacts the complainant within 24 hours.
    contact_due_at = models.DateTimeField(_("contact due"), db_index=True)
    contacted_at = models.DateTimeField(_("complainant contacted at"), null=True, blank=True)
    contact_note = models.TextField(_("what was said"), blank=True)
    contact_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    contact_breached_at = models.DateTimeField(null=True, blank=True, editable=False)

    audit_exclude = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"complainant_phone_index"}
    audit_personal = frozenset(
        {
            "complainant_name",
            "complainant_phone",
            "complainant_sex",
            "complainant_age",
            "complainant_address",
            "complainant_workplace",
        }
    )

    class Meta:
        verbose_name = _("quality case")
        verbose_name_plural = _("quality cases")
        ordering = ["-awareness_at", "-id"]
        permissions = [
            ("unmask_qualitycase", _("Can see complainants' personal data")),
            ("contact_qualitycase", _("Can record the contact with the complainant")),
            ("move_awareness_qualitycase", _("Can move the awareness time earlier")),
        ]
        indexes = [
            models.Index(fields=["status", "-awareness_at"], name="quality_case_status"),
            models.Index(
                fields=["contact_due_at"],
                name="quality_case_contact_due",
                condition=Q(contacted_at__isnull=True),
            ),
        ]
        constraints = [
            # A request or a service record raises one case, whoever flags it how often.
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(ticket__isnull=False),
                name="one_quality_case_per_ticket",
            ),
            models.UniqueConstraint(
                fields=["work_order"], condition=Q(work_order__isnull=False),
                name="one_quality_case_per_work_order",
            ),
            models.CheckConstraint(
                condition=Q(complainant_age__isnull=True) | Q(complainant_age__lte=150),
                name="quality_case_age_plausible",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number or str(_("new quality case"))

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # The look-up hash follows the encrypted value whoever writes it (a derived column).
        self.complainant_phone_index = (
            blind_index(self.complainant_phone) if self.complainant_phone else ""
        )
        super().save(*args, **kwargs)

    @property
    def complainant_phone_masked(self) -> str:
        return mask_phone(self.complainant_phone)

    @property
    def contact_overdue(self) -> bool:
        return self.contacted_at is None and self.contact_due_at <= timezone.now()

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        aware = timezone.localdate(self.awareness_at) if self.awareness_at else None
        if aware is None:
            return []
        dates = [("R-DIST", add_years(aware, COMPLAINT_RECORD_MINIMUM_YEARS))]
        model = self.device.device_model if self.device_id else self.device_model
        if model is not None and model.implantable:
            dates.append(("R-DIST", datetime.date.max))
        return dates


# == decisions: investigation, decision, supplier and manufacturer notices, evidence hold, regulator feedback ==


# == adverse_events: adverse-event reports and their reporting rules ==


# == recalls: trace, stop-use notices and recalls ==


# == capa: CAPA and trend signals ==


# == accidents: quality accidents and retention of quality records ==
