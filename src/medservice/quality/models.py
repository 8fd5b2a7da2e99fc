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

    audit_exclude = frozenset({"complainant_phone_index"})
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

from django.contrib.contenttypes.fields import GenericForeignKey  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402

from medservice.core.models import SignableModel  # noqa: E402
from medservice.quality.choices import (  # noqa: E402
    CapaKind,
    CapaStatus,
    RootCauseMethod,
    SignalStatus,
    TrendDimension,
    VerificationResult,
)

# R-ISO: QMS records (CAPA, trend analyses) are kept at least two years from their release.
QMS_RECORD_MINIMUM_YEARS = 2


def _service_life_years(record: object) -> int:
    """The longest specified service life of the device model a record is about (R-ISO: a QMS
    record lives as long as the devices it concerns)."""
    model = getattr(record, "device_model", None)
    return (getattr(model, "service_life_years", None) or 0) if model is not None else 0


class Capa(AuditedModel, RetainedModel, SignableModel):
    """A corrective, preventive or improvement action (纠正预防措施 / 改进措施): the problem and
    the record that raised it (a quality case, a trend signal, an audit, an evaluation, a spot
    check, or a manual entry), the root-cause analysis, the actions with their owners, the
    verification that they worked, and the closure signed by the quality manager."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=CapaKind.choices, db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=CapaStatus.choices, default=CapaStatus.OPEN,
        db_index=True,
    )  # fmt: skip
    # Whatever raised it, from any app (a case, a signal, an evaluation...), plus a readable
    # label that survives even if the source is later anonymised.
    source_type = models.ForeignKey(
        ContentType, verbose_name=_("source type"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    source_id = models.CharField(_("source id"), max_length=64, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    source_label = models.CharField(_("source"), max_length=200, blank=True)
    problem = models.TextField(_("problem"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("responsible person"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="owned_capas",
    )  # fmt: skip
    due_on = models.DateField(_("target date"), null=True, blank=True, db_index=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    # Root-cause analysis
    root_cause_method = models.CharField(
        _("root-cause method"), max_length=20, choices=RootCauseMethod.choices, blank=True
    )
    root_cause = models.TextField(_("root cause"), blank=True)
    root_cause_at = models.DateTimeField(_("root cause found at"), null=True, blank=True)
    root_cause_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("root cause by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    # Verification of effectiveness
    verification_result = models.CharField(
        _("effectiveness"), max_length=20, choices=VerificationResult.choices, blank=True
    )
    verification_evidence = models.TextField(_("verification evidence"), blank=True)
    verification_file = models.FileField(
        _("verification attachment"), upload_to="capa/verification/%Y/%m/", blank=True
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("verified by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    # Closure (signed) or cancellation
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("why cancelled"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("CAPA")
        verbose_name_plural = _("CAPAs")
        ordering = ["-id"]
        permissions = [
            ("verify_capa", _("Can verify the effectiveness of CAPAs")),
            ("close_capa", _("Can close CAPAs (signed)")),
            ("cancel_capa", _("Can cancel CAPAs")),
        ]
        indexes = [
            models.Index(fields=["source_type", "source_id"], name="capa_source"),
            models.Index(fields=["status", "-id"], name="capa_status"),
        ]

    def __str__(self) -> str:
        return self.number or str(_("new CAPA"))

    @property
    def device_model(self) -> object:
        return getattr(self.source, "device_model", None) if self.source_type_id else None

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        if self.closed_at is None and self.cancelled_at is None:
            # An open CAPA is a live QMS record: never deletable.
            return [("R-ISO", datetime.date.max)]
        released = timezone.localdate(self.closed_at or self.cancelled_at)
        years = max(QMS_RECORD_MINIMUM_YEARS, _service_life_years(self))
        dates = [("R-ISO", add_years(released, years))]
        source_kept = getattr(self.source, "retain_until", None) if self.source_type_id else None
        if source_kept is not None:
            # The CAPA belongs to its source's file (e.g. the complaint record).
            dates.append(("R-DIST", source_kept))
        return dates


class CapaAction(AuditedModel):
    """One action of a CAPA: what is to be done, by whom, by when, when it was done and the
    evidence that it was."""

    capa = models.ForeignKey(
        Capa, verbose_name=_("CAPA"), on_delete=models.CASCADE, related_name="actions"
    )
    description = models.TextField(_("action"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
        related_name="capa_actions",
    )  # fmt: skip
    due_on = models.DateField(_("due on"), db_index=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("done by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    evidence_note = models.TextField(_("evidence"), blank=True)
    evidence_file = models.FileField(
        _("evidence attachment"), upload_to="capa/actions/%Y/%m/", blank=True
    )
    # The local day the owner was last reminded of it being overdue (once a day at most).
    reminded_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("CAPA action")
        verbose_name_plural = _("CAPA actions")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(
                fields=["due_on"], name="capa_action_open_due", condition=Q(done_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.capa}: {self.description[:40]}"

    @property
    def overdue(self) -> bool:
        return self.done_at is None and self.due_on < timezone.localdate()


class TrendSignal(AuditedModel, RetainedModel):
    """A trend signal (趋势预警): in one month, complaints about one device model, batch or fault
    code rose above what its trailing baseline, scaled to the units in use, leads one to expect
    (quality/trends.py states the rule). Reviewed by quality staff: acknowledged, dismissed
    with a reason, or answered with a CAPA."""

    dimension = models.CharField(
        _("dimension"), max_length=20, choices=TrendDimension.choices, db_index=True
    )
    # Stable identity of what is counted: "12" (model), "12/2603" (model/batch), "7" (code).
    key = models.CharField(_("key"), max_length=100)
    label = models.CharField(_("what"), max_length=300)
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True)
    fault_code = models.ForeignKey(
        "catalog.FaultCode", verbose_name=_("fault code"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    month = models.DateField(_("month"), db_index=True)  # its first day
    observed = models.PositiveIntegerField(_("observed"))
    expected = models.FloatField(_("expected"))
    exposure = models.FloatField(_("units in use"))
    baseline_count = models.PositiveIntegerField(_("baseline complaints"))
    baseline_exposure = models.FloatField(_("baseline unit-months"))
    p_value = models.FloatField(_("p-value"))
    status = models.CharField(
        _("status"), max_length=20, choices=SignalStatus.choices, default=SignalStatus.NEW,
        db_index=True,
    )  # fmt: skip
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    dismiss_reason = models.CharField(_("why dismissed"), max_length=300, blank=True)
    capa = models.ForeignKey(
        Capa, verbose_name=_("CAPA"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="trend_signals",
    )  # fmt: skip

    class Meta:
        verbose_name = _("trend signal")
        verbose_name_plural = _("trend signals")
        ordering = ["-month", "p_value", "-id"]
        permissions = [("review_trendsignal", _("Can acknowledge and dismiss trend signals"))]
        indexes = [models.Index(fields=["status", "-month"], name="trend_signal_status")]
        constraints = [
            # One signal per thing and month: a re-run of the job finds it, never doubles it.
            models.UniqueConstraint(
                fields=["dimension", "key", "month"], name="one_trend_signal_per_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} · {self.month:%Y-%m}"

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        if self.month is None:
            return []
        years = max(COMPLAINT_RECORD_MINIMUM_YEARS, _service_life_years(self))
        return [("R-ISO", add_years(self.month, years))]


# == accidents: quality accidents and retention of quality records ==
