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
from medservice.core.models import SignableModel  # noqa: E402
from medservice.quality.choices import (  # noqa: E402
    Disposition,
    NoticeChannel,
    RecallClass,
    RecallHandling,
    RecallKind,
    RecallStatus,
    SignoffMeaning,
)

# R-DIST / R-ISO: a recall record is kept as long as the sales and complaint records it acts on.
RECALL_RECORD_MINIMUM_YEARS = 5


class Recall(AuditedModel, RetainedModel):
    """A stop-use notice or a recall (暂停使用通知 / 医疗器械召回) of one model's batch, serial
    range or UDI: the decision with its class and the legal clocks counting from it (notices to
    distributors and users, CN-RC-1; the filing with the regulator, CN-RC-2), the customers and
    devices it reaches, and its effectiveness check and closure."""

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
    channel = models.CharField(_("channel"), max_length=10, choices=NoticeChannel.choices)
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


# == capa: CAPA and trend signals ==


# == accidents: quality accidents and retention of quality records ==
