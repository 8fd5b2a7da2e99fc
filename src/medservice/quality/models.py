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
from decimal import Decimal  # noqa: E402
from typing import Any  # noqa: E402

from django.core.validators import MinValueValidator  # noqa: E402

from medservice.core.models import SignableModel  # noqa: E402
from medservice.quality.choices import AccidentSeverity, AccidentStatus  # noqa: E402


def quality_record_retention_dates(
    day: datetime.date, *, device: Any = None, device_model: Any = None
) -> list[tuple[str, datetime.date]]:
    """How long a quality record dated `day` (a complaint, an accident) is kept, per
    REGULATORY.md: R-DIST five years, or the device's expiry plus two years when later, and
    permanently for implantable devices; R-ISO the device model's lifetime, at least two
    years from the record."""
    dates = [("R-DIST", add_years(day, COMPLAINT_RECORD_MINIMUM_YEARS))]
    model = device.device_model if device is not None else device_model
    if device is not None and device.expiry_date:
        dates.append(("R-DIST", add_years(device.expiry_date, 2)))
    if model is not None:
        if model.implantable:
            dates.append(("R-DIST", datetime.date.max))
        if model.service_life_years:
            dates.append(("R-ISO", add_years(day, max(model.service_life_years, 2))))
    return dates


class QualityAccident(AuditedModel, RetainedModel, SignableModel):
    """A quality accident (质量事故): harm or loss caused by a device's quality problem (the
    procedure's 4.5.7) — what happened, when and where, with which product and batch at which
    organisation; its grade, losses, causes and handling, who was responsible, the report to the
    authority due from the time the company discovered it, and the quality manager's signed
    closure."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=AccidentStatus.choices,
        default=AccidentStatus.OPEN, db_index=True,
    )  # fmt: skip
    quality_case = models.ForeignKey(
        QualityCase, verbose_name=_("quality case"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_accidents",
    )  # fmt: skip
    title = models.CharField(_("what happened"), max_length=200)
    description = models.TextField(_("account of the accident"), blank=True)
    occurred_at = models.DateTimeField(_("happened at"), null=True, blank=True)
    # The report deadline counts from here (like every clock: from awareness, not from the end
    # of the investigation).
    discovered_at = models.DateTimeField(_("discovered at"), db_index=True)
    place = models.CharField(_("where"), max_length=300, blank=True)
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_accidents",
    )  # fmt: skip
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_accidents",
    )  # fmt: skip
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_accidents",
    )  # fmt: skip
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True, db_index=True)
    serial_number = models.CharField(_("serial number"), max_length=50, blank=True)
    product_reported = models.CharField(_("product as reported"), max_length=200, blank=True)
    severity = models.CharField(
        _("grade"), max_length=20, choices=AccidentSeverity.choices, db_index=True
    )
    loss_amount = models.DecimalField(
        _("losses (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )  # fmt: skip
    loss_description = models.TextField(_("losses"), blank=True)
    # Patients or users harmed (personal data: encrypted, sealed in the audit trail, anonymised
    # once the record's retention has run out).
    persons_affected = EncryptedTextField(_("persons affected"), blank=True)
    investigation = models.TextField(_("investigation"), blank=True)
    causes = models.TextField(_("causes"), blank=True)
    handling = models.TextField(_("handling"), blank=True)
    responsible_persons = models.TextField(_("responsible persons"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_quality_accidents",
    )  # fmt: skip
    # The report to the authority: due per grade (empty when the grade needs none).
    report_due_at = models.DateTimeField(_("report due"), null=True, blank=True)
    report_submitted_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    report_submitted_to = models.CharField(_("reported to"), max_length=200, blank=True)
    report_reference = models.CharField(_("report reference"), max_length=100, blank=True)
    report_submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reported by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    report_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    report_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    closing_note = models.TextField(_("conclusion"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip

    audit_personal = frozenset({"persons_affected"})
    # The signature covers the business content; personal data stays erasable (PIPL art. 47)
    # and the clock's bookkeeping may still be written by the sweep.
    mutable_after_signing = frozenset(
        {"persons_affected", "report_warned_at", "report_breached_at"}
    )

    class Meta:
        verbose_name = _("quality accident")
        verbose_name_plural = _("quality accidents")
        ordering = ["-discovered_at", "-id"]
        permissions = [
            ("investigate_qualityaccident", _("Can investigate and grade quality accidents")),
            ("report_qualityaccident", _("Can record the report of a quality accident")),
            ("close_qualityaccident", _("Can close quality accidents")),
            ("unmask_qualityaccident", _("Can see the persons affected by quality accidents")),
        ]
        indexes = [
            models.Index(fields=["status", "-discovered_at"], name="quality_accident_status"),
            models.Index(
                fields=["report_due_at"],
                name="quality_accident_report_due",
                condition=Q(report_submitted_at__isnull=True),
            ),
        ]
        constraints = [
            # A case decided as a quality accident has one accident record.
            models.UniqueConstraint(
                fields=["quality_case"], condition=Q(quality_case__isnull=False),
                name="one_quality_accident_per_case",
            ),
            models.CheckConstraint(
                condition=Q(loss_amount__isnull=True) | Q(loss_amount__gte=0),
                name="quality_accident_loss_not_negative",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number or str(_("new quality accident"))

    @property
    def report_overdue(self) -> bool:
        return (
            self.report_due_at is not None
            and self.report_submitted_at is None
            and self.report_due_at <= timezone.now()
        )

    @property
    def report_late(self) -> bool:
        """Reported after the deadline (a fact the record keeps)."""
        return (
            self.report_due_at is not None
            and self.report_submitted_at is not None
            and self.report_submitted_at > self.report_due_at
        )

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        if self.discovered_at is None:
            return []
        return quality_record_retention_dates(
            timezone.localdate(self.discovered_at),
            device=self.device if self.device_id else None,
            device_model=self.device_model,
        )
