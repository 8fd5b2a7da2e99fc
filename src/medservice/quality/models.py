"""Quality cases (质量投诉): a complaint about the quality or safety of a device, opened from a
quality-flagged service request or service record or by quality staff, with the intake the
procedure asks for, the awareness time the legal clocks count from, and the contact with the
complainant due within 24 hours (SOP-3)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from medservice.catalog.choices import ProductType, RiskClass
from medservice.core.crypto import EncryptedTextField, blind_index, mask_phone
from medservice.core.models import AuditedModel, RetainedModel, SignableModel
from medservice.core.retention import add_years
from medservice.quality.choices import (
    AccidentSeverity,
    AccidentStatus,
    CapaKind,
    CapaStatus,
    CaseSource,
    CaseStatus,
    ClockUnit,
    DecisionOutcome,
    DeviceOrigin,
    Disposition,
    EventOutcome,
    FeedbackChannel,
    Harm,
    InvestigationKind,
    Market,
    MessageChannel,
    NoticeChannel,
    NoticeReason,
    NoticeRecipient,
    NoticeStatus,
    PlaceOfUse,
    RecallClass,
    RecallHandling,
    RecallKind,
    RecallNoticeChannel,
    RecallStatus,
    RegulatoryRole,
    Relatedness,
    ReportKind,
    ReportStatus,
    ReportTrigger,
    RootCauseMethod,
    SignalStatus,
    SignoffMeaning,
    SubmissionChannel,
    TrendDimension,
    VerificationResult,
)
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
        if self.awareness_at is None:
            return []
        return quality_record_retention_dates(
            timezone.localdate(self.awareness_at),
            device=self.device if self.device_id else None,
            device_model=self.device_model,
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
        pgettext_lazy("notice", "to"),
        max_length=20,
        choices=NoticeRecipient.choices,
        db_index=True,
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
        pgettext_lazy("channel", "sent by"),
        max_length=20,
        choices=NoticeChannel.choices,
        blank=True,
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
    channel = models.CharField(
        pgettext_lazy("notice", "channel"), max_length=10, choices=MessageChannel.choices
    )
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


class ReportingRule(AuditedModel):
    """One legal reporting deadline as configurable data (REGULATORY.md CN-AE-*, US-MDR-*,
    EU-V-*): in which market, for which trigger, how long after the awareness time, counted in
    hours, calendar days or working days of a named business calendar. Seeded with the
    defaults; the quality manager or an administrator may correct it."""

    code = models.CharField(_("rule"), max_length=30, unique=True)
    market = models.CharField(_("market"), max_length=2, choices=Market.choices, db_index=True)
    trigger = models.CharField(_("trigger"), max_length=30, choices=ReportTrigger.choices)
    amount = models.PositiveIntegerField(pgettext_lazy("period", "amount"))
    unit = models.CharField(_("unit"), max_length=20, choices=ClockUnit.choices)
    # Working days only: the code of the business calendar they are counted on (US: the US
    # federal holidays). A code, not a link, so the seeded rules need no calendar row to exist.
    calendar_code = models.CharField(_("business calendar"), max_length=20, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    active = models.BooleanField(_("in force"), default=True)

    class Meta:
        verbose_name = _("reporting rule")
        verbose_name_plural = _("reporting rules")
        ordering = ["market", "code"]
        constraints = [
            # One rule in force per market and trigger: the clock is never ambiguous.
            models.UniqueConstraint(
                fields=["market", "trigger"], condition=Q(active=True),
                name="one_active_reporting_rule_per_trigger",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="reporting_rule_amount_positive"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.code} {self.get_trigger_display()}"


class AdverseEventReport(AuditedModel, RetainedModel):
    """A suspected medical-device adverse-event report (可疑医疗器械不良事件报告) to one market's
    regulator, with the fields of the Chinese form: the reporting unit, the device, the event
    and the patient, the use, the evaluation; its legal due time counted from the awareness
    time, and its submission. An initial report is followed by follow-up and final reports;
    a submitted report is frozen and corrected only by a follow-up."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    kind = models.CharField(
        _("report kind"), max_length=20, choices=ReportKind.choices, default=ReportKind.INITIAL,
        editable=False,
    )  # fmt: skip
    initial = models.ForeignKey(
        "self", verbose_name=_("initial report"), null=True, blank=True, editable=False,
        on_delete=models.PROTECT, related_name="continuations",
    )  # fmt: skip
    group = models.ForeignKey(
        "self", verbose_name=_("group event report"), null=True, blank=True, editable=False,
        on_delete=models.PROTECT, related_name="group_cases",
    )  # fmt: skip
    status = models.CharField(
        _("status"), max_length=20, choices=ReportStatus.choices, default=ReportStatus.DRAFT,
        db_index=True, editable=False,
    )  # fmt: skip
    quality_case = models.ForeignKey(
        QualityCase, verbose_name=_("quality case"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="adverse_event_reports",
    )  # fmt: skip
    market = models.CharField(_("market"), max_length=2, choices=Market.choices)
    outcome = models.CharField(_("harm"), max_length=20, choices=EventOutcome.choices)
    group_event = models.BooleanField(_("group event"), default=False)
    trigger = models.CharField(_("trigger"), max_length=30, choices=ReportTrigger.choices)
    rule = models.ForeignKey(
        ReportingRule, verbose_name=_("reporting rule"), null=True, blank=True, editable=False,
        on_delete=models.PROTECT, related_name="reports",
    )  # fmt: skip
    # The clock (stored when computed, never recomputed on read).
    awareness_at = models.DateTimeField(_("awareness date"))
    report_due_at = models.DateTimeField(_("report due"), null=True, blank=True, editable=False,
                                         db_index=True)  # fmt: skip
    # The warnings' points: 75% of the period, and 24 hours before (periods over a day only).
    warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    warn_day_before_at = models.DateTimeField(null=True, blank=True, editable=False)
    due_unconfirmed = models.BooleanField(default=False, editable=False)
    warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    warned_day_before_at = models.DateTimeField(null=True, blank=True, editable=False)
    breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The evaluation result's clock (CN-AE-5: the final report 30 / 45 days after a death /
    # serious-injury report), kept on the chain's initial report: set when the initial report
    # is submitted, stopped when the chain's final report is submitted. Stored, like the above.
    final_rule = models.ForeignKey(
        ReportingRule, verbose_name=_("final report rule"), null=True, blank=True, editable=False,
        on_delete=models.PROTECT, related_name="final_reports",
    )  # fmt: skip
    final_due_at = models.DateTimeField(_("final report due"), null=True, blank=True,
                                        editable=False)  # fmt: skip
    final_warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    final_warn_day_before_at = models.DateTimeField(null=True, blank=True, editable=False)
    final_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    final_warned_day_before_at = models.DateTimeField(null=True, blank=True, editable=False)
    final_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    final_submitted_at = models.DateTimeField(_("final report submitted at"), null=True,
                                              blank=True, editable=False)  # fmt: skip
    # Reporting unit (the company).
    reporter_unit = models.CharField(_("reporting unit"), max_length=200, blank=True)
    reporter_address = models.CharField(_("unit address"), max_length=300, blank=True)
    reporter_contact = models.CharField(_("contact person"), max_length=100, blank=True)
    reporter_phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    event_abroad = models.BooleanField(_("event abroad"), default=False)
    # Device.
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("where it happened"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="adverse_event_reports",
    )  # fmt: skip
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="adverse_event_reports",
    )  # fmt: skip
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="adverse_event_reports",
    )  # fmt: skip
    device_name = models.CharField(_("product name"), max_length=200, blank=True)
    registration_number = models.CharField(_("registration certificate number"), max_length=100,
                                           blank=True)  # fmt: skip
    model_spec = models.CharField(_("model/spec"), max_length=200, blank=True)
    product_type = models.CharField(_("product type"), max_length=20, choices=ProductType.choices,
                                    blank=True)  # fmt: skip
    origin = models.CharField(_("domestic or imported"), max_length=10,
                              choices=DeviceOrigin.choices, blank=True)  # fmt: skip
    risk_class = models.CharField(_("risk class"), max_length=3, choices=RiskClass.choices,
                                  blank=True)  # fmt: skip
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True, db_index=True)
    serial_number = models.CharField(_("serial number"), max_length=50, blank=True)
    udi = models.CharField(_("UDI"), max_length=200, blank=True)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    expiry_date = models.DateField(_("expiry date"), null=True, blank=True)
    # Event and patient (personal data encrypted).
    event_date = models.DateField(_("event date"), null=True, blank=True)
    harm_description = models.TextField(_("how the harm showed"), blank=True)
    patient_name = EncryptedTextField(_("patient's name"), blank=True)
    patient_age = models.PositiveSmallIntegerField(_("patient's age"), null=True, blank=True)
    patient_sex = models.CharField(_("patient's sex"), max_length=10, choices=Sex.choices,
                                   blank=True)  # fmt: skip
    patient_record_number = EncryptedTextField(_("medical record number"), blank=True)
    patient_history = EncryptedTextField(_("medical history"), blank=True)
    malfunction_description = models.TextField(_("how the device malfunctioned"), blank=True)
    # Use.
    intended_use = models.TextField(_("intended purpose"), blank=True)
    place_of_use = models.CharField(_("place of use"), max_length=20, choices=PlaceOfUse.choices,
                                    blank=True)  # fmt: skip
    usage_description = models.TextField(_("how it was used"), blank=True)
    concomitant_products = models.TextField(_("other drugs and devices used"), blank=True)
    # Evaluation.
    onsite_investigation = models.TextField(_("on-site investigation and result"), blank=True)
    product_tested = models.BooleanField(_("product tested"), null=True, blank=True)
    test_report = models.TextField(_("test report"), blank=True)
    cause_conclusion = models.TextField(_("cause and conclusion"), blank=True)
    relatedness = models.CharField(_("relatedness"), max_length=20, choices=Relatedness.choices,
                                   blank=True)  # fmt: skip
    risk_evaluation = models.TextField(_("risk evaluation"), blank=True)
    control_measures = models.TextField(_("control measures"), blank=True)
    no_measures_reason = models.TextField(_("why no control measures"), blank=True)
    # Submission.
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    submission_channel = models.CharField(_("submitted through"), max_length=20,
                                          choices=SubmissionChannel.choices, blank=True,
                                          editable=False)  # fmt: skip
    submission_reference = models.CharField(_("regulator's reference"), max_length=100,
                                            blank=True, editable=False)  # fmt: skip
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), null=True, blank=True,
        editable=False, on_delete=models.PROTECT, related_name="submitted_adverse_event_reports",
    )  # fmt: skip

    audit_personal = frozenset(
        {"patient_name", "patient_age", "patient_sex", "patient_record_number", "patient_history"}
    )

    class Meta:
        verbose_name = _("adverse-event report")
        verbose_name_plural = _("adverse-event reports")
        ordering = ["report_due_at", "-id"]
        permissions = [
            ("submit_adverseeventreport", _("Can record the submission of adverse-event reports")),
            ("unmask_adverseeventreport", _("Can see patients' personal data")),
        ]
        indexes = [
            models.Index(
                fields=["report_due_at"], name="ae_report_open_due",
                condition=Q(submitted_at__isnull=True),
            ),
            models.Index(
                fields=["final_due_at"], name="ae_final_open_due",
                condition=Q(final_submitted_at__isnull=True, final_due_at__isnull=False),
            ),
        ]  # fmt: skip
        constraints = [
            # A case is reported once per market; later news goes into follow-ups.
            models.UniqueConstraint(
                fields=["quality_case", "market"],
                condition=Q(quality_case__isnull=False, kind="initial", group__isnull=True),
                name="one_initial_ae_report_per_case_and_market",
            ),
            models.CheckConstraint(
                condition=Q(kind="initial") | Q(initial__isnull=False),
                name="ae_report_continuation_has_initial",
            ),
            models.CheckConstraint(
                condition=Q(patient_age__isnull=True) | Q(patient_age__lte=150),
                name="ae_report_age_plausible",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number or str(_("new adverse-event report"))

    @property
    def is_frozen(self) -> bool:
        return self.status != ReportStatus.DRAFT

    @property
    def overdue(self) -> bool:
        return (
            self.submitted_at is None
            and self.report_due_at is not None
            and self.report_due_at <= timezone.now()
        )

    def countdown(self, now: datetime.datetime | None = None) -> dict[str, object]:
        """What the page and the list show: time left and its colour (amber from the warning
        point, red once breached), or the submission."""
        return _countdown(self.report_due_at, self.warn_at, self.submitted_at, now)

    @property
    def chain_initial(self) -> AdverseEventReport:
        """The initial report of this report's chain (itself when it is the initial one)."""
        return self.initial or self

    def final_countdown(self, now: datetime.datetime | None = None) -> dict[str, object]:
        """The chain's evaluation-result clock (CN-AE-5), as the initial report keeps it: the
        due time, the time left and its colour, or the final report's submission."""
        initial = self.chain_initial
        result = _countdown(
            initial.final_due_at, initial.final_warn_at, initial.final_submitted_at, now
        )
        return {**result, "due": initial.final_due_at, "done_at": initial.final_submitted_at}

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        if self.awareness_at is None:
            return []
        aware = timezone.localdate(self.awareness_at)
        event = self.event_date or aware
        model = self.device.device_model if self.device_id else self.device_model
        dates: list[tuple[str, datetime.date]] = []
        # R-DIST: device expiry + 2 years; without an expiry at least 5 years; implantable
        # devices permanently.
        if self.expiry_date is not None:
            dates.append(("R-DIST", add_years(self.expiry_date, 2)))
        dates.append(("R-DIST", add_years(aware, COMPLAINT_RECORD_MINIMUM_YEARS)))
        if model is not None and model.implantable:
            dates.append(("R-DIST", datetime.date.max))
        # R-ISO: the device's lifetime, at least 2 years from release.
        life_end = None
        if model is not None and model.service_life_years and self.production_date:
            life_end = add_years(self.production_date, model.service_life_years)
        dates.append(("R-ISO", max(filter(None, [life_end, add_years(aware, 2)]))))
        # R-MDR: US event files, the longer of event + 2 years and the expected device life.
        if self.market == Market.US:
            dates.append(("R-MDR", max(filter(None, [life_end, add_years(event, 2)]))))
        return dates


def _countdown(
    due: datetime.datetime | None,
    warn: datetime.datetime | None,
    done: datetime.datetime | None,
    now: datetime.datetime | None = None,
) -> dict[str, object]:
    """Time left until `due` and its colour: amber from the warning point, red once breached;
    "done" once the clock stopped, "none" without a clock."""
    now = now or timezone.now()
    if done is not None or due is None:
        return {"state": "done" if done else "none", "text": ""}
    left = due - now
    state = "breached" if left.total_seconds() <= 0 else "ok"
    if state == "ok" and warn is not None and now >= warn:
        state = "warning"
    seconds = abs(int(left.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{days}d {hours}h {rest // 60}m" if days else f"{hours}h {rest // 60}m"
    return {"state": state, "text": ("-" if state == "breached" else "") + text}


# R-DIST / R-ISO: a recall record is kept as long as the sales and complaint records it acts on.
RECALL_RECORD_MINIMUM_YEARS = 5


class Recall(AuditedModel, RetainedModel):
    """A stop-use notice or a recall (暂停使用通知 / 医疗器械召回) of one model's batch, serial
    range or UDI: the decision with its class and the legal clocks counting from it (notices to
    distributors and users, CN-RC-1; the filing with the regulator, CN-RC-2), the customers and
    devices it reaches, its effectiveness check (the recall's end), the summary evaluation
    report to the regulator counting from that end (CN-RC-3), and its closure."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=RecallKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=RecallStatus.choices, default=RecallStatus.DRAFT,
        db_index=True,
    )  # fmt: skip
    quality_case = models.ForeignKey(
        QualityCase, verbose_name=_("quality case"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="recalls",
    )  # fmt: skip
    # The scope: a batch, a serial range or one UDI of one model.
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), on_delete=models.PROTECT,
        related_name="recalls",
    )  # fmt: skip
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True, db_index=True)
    serial_from = models.CharField(_("serial numbers from"), max_length=50, blank=True)
    serial_to = models.CharField(_("serial numbers to"), max_length=50, blank=True)
    udi = models.CharField(_("UDI"), max_length=200, blank=True)
    recall_class = models.CharField(_("recall class"), max_length=3, choices=RecallClass.choices)
    reason = models.TextField(_("reason"))
    instructions = models.TextField(
        _("what recipients must do"),
        help_text=_("E.g. stop sale and use at once, pass the notice on, acknowledge it."),
    )
    handling = models.CharField(
        _("how the devices are handled"), max_length=20, choices=RecallHandling.choices
    )
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("responsible person"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="responsible_recalls",
    )  # fmt: skip
    responsible_phone = models.CharField(_("responsible person's phone"), max_length=50)
    # The decision: the legal clocks count from it (CN-RC-1, CN-RC-2); due times are stored.
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="decided_recalls",
    )  # fmt: skip
    notify_due_at = models.DateTimeField(_("notices due"), null=True, blank=True, db_index=True)
    filing_due_at = models.DateTimeField(
        _("regulator filing due"), null=True, blank=True, db_index=True
    )
    # The filing's working days fell in a year whose holidays were not yet published.
    filing_due_unconfirmed = models.BooleanField(_("filing due date provisional"), default=False)
    notify_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    notify_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    filing_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    filing_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    filed_at = models.DateTimeField(_("filed with the regulator at"), null=True, blank=True)
    filing_reference = models.CharField(_("filing reference"), max_length=100, blank=True)
    effectiveness_checked_at = models.DateTimeField(
        _("effectiveness checked at"), null=True, blank=True
    )
    effectiveness_effective = models.BooleanField(_("recall effective"), null=True, blank=True)
    effectiveness_note = models.TextField(_("effectiveness check"), blank=True)
    effectiveness_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("effectiveness checked by"), null=True,
        blank=True, on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    # The recall ends with its first effectiveness check; CN-RC-3 (unverified) counts from it:
    # the summary evaluation report (召回总结评估报告) to the regulator, due in working days.
    ended_at = models.DateTimeField(_("recall ended at"), null=True, blank=True)
    summary_due_at = models.DateTimeField(
        _("summary report due"), null=True, blank=True, db_index=True
    )
    summary_due_unconfirmed = models.BooleanField(
        _("summary report due date provisional"), default=False
    )
    summary_warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    summary_breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    summary_submitted_at = models.DateTimeField(
        _("summary report submitted at"), null=True, blank=True
    )
    summary_reference = models.CharField(_("summary report reference"), max_length=100, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    cancel_reason = models.TextField(_("why cancelled"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("recall")
        verbose_name_plural = _("recalls")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("decide_recall", _("Can decide and close recalls (signed)")),
            ("run_recall", _("Can send recall notices and record their progress")),
        ]
        indexes = [models.Index(fields=["device_model", "batch_number"], name="recall_scope")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(batch_number="") | ~Q(serial_from="") | ~Q(udi=""),
                name="recall_has_a_scope",
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("new recall"))

    @property
    def scope_text(self) -> str:
        """The scope as people write it: batch 2303, serials KM-001…KM-050, UDI (01)…"""
        parts = []
        if self.batch_number:
            parts.append(str(_("batch %(batch)s")) % {"batch": self.batch_number})
        if self.serial_from:
            parts.append(
                str(_("serial numbers %(first)s to %(last)s"))
                % {"first": self.serial_from, "last": self.serial_to}
            )
        if self.udi:
            parts.append(f"UDI {self.udi}")
        return "; ".join(parts)

    scope_text.fget.short_description = _("scope")  # type: ignore[attr-defined]

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        start = timezone.localdate(self.decided_at or self.created_at or timezone.now())
        dates = [("R-DIST", add_years(start, RECALL_RECORD_MINIMUM_YEARS))]
        model = self.device_model if self.device_model_id else None
        if model is not None and model.implantable:
            dates.append(("R-DIST", datetime.date.max))
        if model is not None and model.service_life_years:
            # R-ISO: the record lives as long as the devices it acted on.
            dates.append(("R-ISO", add_years(start, model.service_life_years)))
        return dates


class RecallRecipient(AuditedModel):
    """One customer organisation a recall reaches (a distributor, hospital or store): whom to
    tell, what it received, when it was told and how it answered (acknowledged, quantities
    held, returned and corrected — never more than it received)."""

    recall = models.ForeignKey(
        Recall, verbose_name=_("recall"), on_delete=models.CASCADE, related_name="recipients"
    )
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="recall_recipients",
    )  # fmt: skip
    contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("contact"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="recall_recipients",
    )  # fmt: skip
    quantity_delivered = models.PositiveIntegerField(_("quantity delivered"), default=0)
    devices_count = models.PositiveIntegerField(_("devices"), default=0)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by_name = models.CharField(_("acknowledged by"), max_length=100, blank=True)
    quantity_held = models.PositiveIntegerField(_("quantity held"), default=0)
    quantity_returned = models.PositiveIntegerField(_("quantity returned"), default=0)
    quantity_corrected = models.PositiveIntegerField(_("quantity corrected"), default=0)
    acknowledgement_note = models.TextField(_("acknowledgement note"), blank=True)

    class Meta:
        verbose_name = _("recall recipient")
        verbose_name_plural = _("recall recipients")
        ordering = ["recall", "organization__name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recall", "organization"], name="one_recipient_per_organization"
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity_delivered__gte=models.F("quantity_held")
                    + models.F("quantity_returned")
                    + models.F("quantity_corrected")
                ),
                name="recall_quantities_within_delivered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recall} · {self.organization}"


class RecallNotice(AuditedModel):
    """One notice sent to a recipient, with its proof: when, by which channel, to which address
    or number, the gateway's or mail server's message id, and the letter as printed."""

    recipient = models.ForeignKey(
        RecallRecipient, verbose_name=_("recipient"), on_delete=models.CASCADE,
        related_name="notices",
    )  # fmt: skip
    channel = models.CharField(
        pgettext_lazy("notice", "channel"), max_length=10, choices=RecallNoticeChannel.choices
    )
    sent_at = models.DateTimeField(_("sent at"), db_index=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sent by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    # An e-mail address or phone number of a person: encrypted at rest.
    sent_to = EncryptedTextField(_("sent to"), blank=True)
    message_id = models.CharField(_("message id"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    letter = models.FileField(_("letter"), upload_to="recall-letters/%Y/", blank=True)

    audit_personal = frozenset({"sent_to"})

    class Meta:
        verbose_name = _("recall notice")
        verbose_name_plural = _("recall notices")
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"{self.recipient} · {self.get_channel_display()}"


class RecallDevice(AuditedModel):
    """One affected device of a recall and what became of it: corrected on site (through a
    recall work order), returned, destroyed, or not found."""

    recall = models.ForeignKey(
        Recall, verbose_name=_("recall"), on_delete=models.CASCADE, related_name="devices"
    )
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), on_delete=models.PROTECT,
        related_name="recall_entries",
    )  # fmt: skip
    recipient = models.ForeignKey(
        RecallRecipient, verbose_name=_("recipient"), on_delete=models.CASCADE,
        related_name="devices",
    )  # fmt: skip
    disposition = models.CharField(
        _("disposition"), max_length=20, choices=Disposition.choices, blank=True, db_index=True
    )
    disposition_at = models.DateTimeField(_("disposition recorded at"), null=True, blank=True)
    disposition_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    disposition_note = models.TextField(_("note"), blank=True)
    work_order = models.ForeignKey(
        "work_orders.WorkOrder", verbose_name=_("recall work order"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="recall_entries",
    )  # fmt: skip

    class Meta:
        verbose_name = _("recalled device")
        verbose_name_plural = _("recalled devices")
        ordering = ["recall", "device__serial_number", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["recall", "device"], name="one_entry_per_device"),
        ]

    def __str__(self) -> str:
        return f"{self.recall} · {self.device}"


class RecallSignoff(AuditedModel, SignableModel):
    """The quality manager's signed decision or closure of a recall: the statement signed (class,
    scope, clocks; or the outcome), frozen by the electronic signature."""

    recall = models.ForeignKey(
        Recall, verbose_name=_("recall"), on_delete=models.CASCADE, related_name="signoffs"
    )
    meaning = models.CharField(_("meaning"), max_length=20, choices=SignoffMeaning.choices)
    statement = models.TextField(_("statement"))

    class Meta:
        verbose_name = _("recall sign-off")
        verbose_name_plural = _("recall sign-offs")
        ordering = ["recall", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recall", "meaning"], name="one_signoff_per_meaning_and_recall"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recall} · {self.get_meaning_display()}"


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
    description = models.TextField(pgettext_lazy("capa", "action"))
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
