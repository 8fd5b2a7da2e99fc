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

from typing import Any  # noqa: E402

from medservice.core.models import SignableModel  # noqa: E402
from medservice.quality.choices import (  # noqa: E402
    DecisionOutcome,
    FeedbackChannel,
    Harm,
    InvestigationKind,
    Market,
    MessageChannel,
    NoticeChannel,
    NoticeReason,
    NoticeRecipient,
    NoticeStatus,
    RegulatoryRole,
)


class _PartOfCaseRecord(RetainedModel):
    """Records that are part of a complaint record are kept as long as the case (R-DIST)."""

    class Meta:
        abstract = True

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        return self.case.retention_dates() if self.case_id else []


class InvestigationEntry(AuditedModel, _PartOfCaseRecord):
    """One step of a case's investigation (调查): a test, an inspection, a visit or a review of
    records — what was done, on which day, by whom, and what it found."""

    case = models.ForeignKey(
        QualityCase, verbose_name=_("quality case"), on_delete=models.PROTECT,
        related_name="investigation_entries",
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=20, choices=InvestigationKind.choices)
    performed_on = models.DateField(_("performed on"))
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("performed by"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    activity = models.TextField(_("what was done"))
    findings = models.TextField(_("findings"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("investigation entry")
        verbose_name_plural = _("investigation entries")
        ordering = ["performed_on", "pk"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()} {self.performed_on:%Y-%m-%d}"


class SupplierNotice(AuditedModel, _PartOfCaseRecord):
    """A notice of a quality complaint to the supplier that supplied the product, or to its
    manufacturer (供货者通知): what it says, to whom, when and how it was sent, when it must be
    answered, the acknowledgement chased by reminders, and the answer. The supplier's
    quality-agreement repair clause is copied on it as it stood when the notice was made."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    case = models.ForeignKey(
        QualityCase, verbose_name=_("quality case"), on_delete=models.PROTECT,
        related_name="supplier_notices",
    )  # fmt: skip
    recipient_kind = models.CharField(
        _("to"), max_length=20, choices=NoticeRecipient.choices, db_index=True
    )
    supplier = models.ForeignKey(
        "catalog.Supplier", verbose_name=_("supplier"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_notices",
    )  # fmt: skip
    manufacturer = models.ForeignKey(
        "catalog.Manufacturer", verbose_name=_("manufacturer"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="quality_notices",
    )  # fmt: skip
    reason = models.CharField(_("reason"), max_length=20, choices=NoticeReason.choices)
    subject = models.CharField(_("subject"), max_length=200)
    content = models.TextField(_("what the notice says"))
    status = models.CharField(
        _("status"), max_length=20, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT,
        db_index=True,
    )  # fmt: skip
    channel = models.CharField(
        _("sent by"), max_length=20, choices=NoticeChannel.choices, blank=True
    )
    sent_to = models.CharField(
        _("sent to"), max_length=200, blank=True,
        help_text=_("The person, address or number it was sent to."),
    )  # fmt: skip
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sent by (person)"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    response_due_on = models.DateField(_("response due on"), null=True, blank=True, db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by_name = models.CharField(_("acknowledged by"), max_length=200, blank=True)
    response = models.TextField(_("response"), blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    reminder_count = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    last_reminded_at = models.DateTimeField(_("last reminded at"), null=True, blank=True)
    quality_agreement_reference = models.CharField(
        _("quality agreement"), max_length=100, blank=True
    )
    repairs_under_agreement = models.BooleanField(
        _("repairs under the quality agreement"), default=False
    )
    repair_clause = models.TextField(_("repair clause of the quality agreement"), blank=True)

    class Meta:
        verbose_name = _("supplier notice")
        verbose_name_plural = _("supplier notices")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The reminder sweep: sent, not yet acknowledged.
            models.Index(
                fields=["last_reminded_at"], name="supplier_notice_unacknowledged",
                condition=Q(status="sent"),
            ),
        ]  # fmt: skip
        constraints = [
            models.CheckConstraint(
                condition=Q(recipient_kind="supplier", manufacturer__isnull=True)
                | Q(recipient_kind="manufacturer", supplier__isnull=True),
                name="supplier_notice_one_recipient_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("new supplier notice"))

    @property
    def recipient(self) -> Any:
        return (
            self.supplier if self.recipient_kind == NoticeRecipient.SUPPLIER else self.manufacturer
        )

    @property
    def response_overdue(self) -> bool:
        return (
            self.status in (NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED)
            and self.response_due_on is not None
            and self.response_due_on < timezone.localdate()
        )


class CaseDecision(AuditedModel, SignableModel, _PartOfCaseRecord):
    """The quality manager's signed decision on a case (质量投诉处理决定): the outcome, the
    rationale, the advice given, and — for adverse events — the harm and, per market where
    the product is sold, whether it is reportable under the company's regulatory role."""

    case = models.OneToOneField(
        QualityCase, verbose_name=_("quality case"), on_delete=models.PROTECT,
        related_name="decision",
    )  # fmt: skip
    outcome = models.CharField(_("outcome"), max_length=30, choices=DecisionOutcome.choices)
    rationale = models.TextField(_("rationale"))
    advice = models.TextField(_("advice given"), blank=True)
    harm = models.CharField(_("harm"), max_length=20, choices=Harm.choices, blank=True)
    regulatory_role = models.CharField(
        _("company's regulatory role"), max_length=20, choices=RegulatoryRole.choices
    )
    salesperson = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("salesperson"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("case decision")
        verbose_name_plural = _("case decisions")
        permissions = [
            ("release_batch_hold", _("Can release the batch hold of a decided quality case")),
            ("release_evidence_hold", _("Can release an evidence hold")),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.get_outcome_display()}"

    def signature_content(self) -> dict[str, Any]:
        # The markets' reportability is part of what the quality manager signs.
        content = super().signature_content()
        content["markets"] = [
            [row.market, row.reportable, row.duty] for row in self.markets.order_by("market")
        ]
        return content


class DecisionMarket(AuditedModel):
    """One market where the product is sold, as decided: reportable there or not, and what the
    company's regulatory role makes it do (report to the authority, tell the registrant...)."""

    decision = models.ForeignKey(
        CaseDecision, verbose_name=_("decision"), on_delete=models.CASCADE,
        related_name="markets",
    )  # fmt: skip
    market = models.CharField(_("market"), max_length=2, choices=Market.choices)
    reportable = models.BooleanField(_("reportable"), default=False)
    duty = models.TextField(_("what the company must do"), blank=True)
    rule_ids = models.CharField(_("rules"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("market of a decision")
        verbose_name_plural = _("markets of a decision")
        ordering = ["market"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "market"], name="one_row_per_market"),
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.market}"


class DecisionLink(AuditedModel):
    """A record the decision set off in another part of the quality app (a CAPA, an
    adverse-event report, a quality accident), kept so the case shows where it led."""

    decision = models.ForeignKey(
        CaseDecision, verbose_name=_("decision"), on_delete=models.CASCADE,
        related_name="links",
    )  # fmt: skip
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    label = models.CharField(_("record"), max_length=200)

    class Meta:
        verbose_name = _("record set off by a decision")
        verbose_name_plural = _("records set off by decisions")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.label


class CaseRegulatorFeedback(AuditedModel, _PartOfCaseRecord):
    """What the company told the regulator about a complaint that reached it through the
    regulator's supervision phone (向药监反馈): when, to whom, how and what."""

    case = models.ForeignKey(
        QualityCase, verbose_name=_("quality case"), on_delete=models.PROTECT,
        related_name="regulator_feedback",
    )  # fmt: skip
    given_at = models.DateTimeField(_("given at"))
    given_to = models.CharField(_("given to"), max_length=200)
    channel = models.CharField(_("how"), max_length=20, choices=FeedbackChannel.choices)
    content = models.TextField(_("feedback given"))
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("given by"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("feedback to the regulator")
        verbose_name_plural = _("feedback to the regulator")
        ordering = ["given_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case} {self.given_at:%Y-%m-%d}"


class CaseMessage(AuditedModel, _PartOfCaseRecord):
    """A message about a case to a person outside the company — the complainant, or a customer
    holding the same batch — e.g. that use may resume: to whom, by which channel, what, when."""

    case = models.ForeignKey(
        QualityCase, verbose_name=_("quality case"), on_delete=models.PROTECT,
        related_name="customer_messages",
    )  # fmt: skip
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    complainant = models.BooleanField(_("to the complainant"), default=False)
    recipient_name = EncryptedTextField(_("recipient"), blank=True)
    address = EncryptedTextField(_("address or number"))
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    text = models.TextField(_("text"))
    sent_at = models.DateTimeField(_("sent at"))

    audit_personal = frozenset({"recipient_name", "address"})

    class Meta:
        verbose_name = _("message about a case")
        verbose_name_plural = _("messages about cases")
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_channel_display()}"

    @property
    def address_masked(self) -> str:
        return mask_phone(self.address) if self.channel == MessageChannel.SMS else self.address


# == adverse_events: adverse-event reports and their reporting rules ==


# == recalls: trace, stop-use notices and recalls ==


# == capa: CAPA and trend signals ==


# == accidents: quality accidents and retention of quality records ==
