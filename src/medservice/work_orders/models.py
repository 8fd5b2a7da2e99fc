"""Field and workshop service: the work order and what hangs from it — visits (dispatch,
check-in, check-out), remote-support sessions, quotes, parts used, labour and travel time,
acceptance-test results, files, fees, the signed service report and its one-time signing links,
and the rate cards quotes are priced from."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.core.crypto import EncryptedTextField, blind_index, mask_phone
from medservice.core.models import AuditedModel, RetainedModel, SignableModel
from medservice.core.retention import add_years
from medservice.work_orders.choices import (
    ChargeCategory,
    DecisionMethod,
    PartsBasis,
    PaymentMethod,
    PaymentStatus,
    QuoteStatus,
    RemoteOutcome,
    ReportLanguage,
    Route,
    ServiceResult,
    TimeKind,
    VisitStatus,
    WorkOrderKind,
    WorkOrderSource,
    WorkOrderStatus,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
QUANTITY = {"max_digits": 12, "decimal_places": 3}
HOURS = {"max_digits": 6, "decimal_places": 2}
MEASURE = {"max_digits": 14, "decimal_places": 4}


class RateCard(AuditedModel):
    """The prices a quote is worked out from (收费标准): labour and travel rates and whether
    parts are charged at cost or at list price. The default card charges cost price, as the
    procedures require (最低成本价); an organisation may have its own."""

    name = models.CharField(_("name"), max_length=100)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("for organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: the company's default card."),
    )
    labour_rate = models.DecimalField(_("labour rate per hour"), default=0, **MONEY)
    travel_rate = models.DecimalField(_("travel rate per hour"), default=0, **MONEY)
    travel_flat = models.DecimalField(_("travel flat fee per visit"), default=0, **MONEY)
    parts_basis = models.CharField(
        _("parts charged at"), max_length=10, choices=PartsBasis.choices, default=PartsBasis.COST
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("rate card")
        verbose_name_plural = _("rate cards")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(active=True, organization__isnull=False),
                name="one_active_rate_card_per_organization",
                violation_error_message=_("This organisation already has an active rate card."),
            ),
            # One active default card (SQLite cannot treat NULLs as equal in a unique index).
            models.UniqueConstraint(
                fields=["active"],
                condition=Q(active=True, organization__isnull=True),
                name="one_active_default_rate_card",
                violation_error_message=_("There is already an active default rate card."),
            ),
            models.CheckConstraint(
                condition=Q(labour_rate__gte=0) & Q(travel_rate__gte=0) & Q(travel_flat__gte=0),
                name="rate_card_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WorkOrder(AuditedModel, RetainedModel):
    """A unit of field or workshop work on one device (维修工单 / 服务工单): a repair, an
    installation, a PM visit, an inspection, an upgrade, a recall action or remote support,
    from assessment to the signed service report."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=30, choices=WorkOrderKind.choices, db_index=True)
    source = models.CharField(
        _("created from"), max_length=20, choices=WorkOrderSource.choices,
        default=WorkOrderSource.MANUAL,
    )  # fmt: skip
    status = models.CharField(
        _("status"), max_length=20, choices=WorkOrderStatus.choices,
        default=WorkOrderStatus.NEW, db_index=True,
    )  # fmt: skip
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("service request"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="work_orders",
    )  # fmt: skip
    # The PM plan or recall that raised it (later apps): a plain reference, not a foreign key.
    source_reference = models.CharField(_("source reference"), max_length=50, blank=True)
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), on_delete=models.PROTECT,
        related_name="work_orders",
    )  # fmt: skip
    # Denormalised from the device at creation so that lists scope and filter on one table.
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="work_orders",
    )  # fmt: skip
    department = models.ForeignKey(
        "customers.Department", verbose_name=_("department"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    # The customer's contact person (personal data: encrypted, the phone masked in the API).
    contact_name = EncryptedTextField(_("customer contact"), blank=True)
    contact_phone = EncryptedTextField(_("contact phone"), blank=True)
    contact_phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    site_address = models.CharField(_("site address"), max_length=300, blank=True)
    problem = models.TextField(_("problem reported"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="owned_work_orders",
    )  # fmt: skip
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("engineer"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="work_orders",
    )  # fmt: skip
    # Assessment (评估与确认)
    route = models.CharField(_("route"), max_length=20, choices=Route.choices, blank=True)
    assessment = models.TextField(_("assessment"), blank=True)
    assessed_at = models.DateTimeField(_("assessed at"), null=True, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assessed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    exclusion = models.CharField(_("coverage exclusion"), max_length=30, blank=True)
    exclusion_evidence = models.TextField(_("exclusion evidence"), blank=True)
    # The coverage decided at assessment, per cost category: {"parts": {"covered": true,
    # "by": "warranty", "reason": "..."}, ...}; kept as decided, not recomputed on read.
    coverage = models.JSONField(_("coverage"), default=dict, blank=True)
    covered = models.BooleanField(_("covered (free of charge)"), null=True, blank=True)
    # Plan (维修方案)
    plan = models.TextField(_("repair plan"), blank=True)
    estimated_hours = models.DecimalField(
        _("estimated labour hours"), null=True, blank=True, **HOURS
    )
    rate_card = models.ForeignKey(
        RateCard, verbose_name=_("rate card"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    quote_total = models.DecimalField(_("quote total"), null=True, blank=True, **MONEY)
    # The promised completion date agreed with the customer (维修周期).
    promised_by = models.DateField(_("promised by"), null=True, blank=True, db_index=True)
    promised_reason = models.CharField(_("promised date reason"), max_length=300, blank=True)
    promised_warned_for = models.DateField(null=True, blank=True, editable=False)
    # The current (latest) visit's appointment, denormalised for the dispatch board and lists.
    appointment_start = models.DateTimeField(
        _("appointment from"), null=True, blank=True, db_index=True
    )
    appointment_end = models.DateTimeField(_("appointment until"), null=True, blank=True)
    # Workshop repairs (送修)
    received_at = models.DateTimeField(_("unit received at"), null=True, blank=True)
    received_condition = models.TextField(_("condition on receipt"), blank=True)
    received_accessories = models.TextField(_("accessories received"), blank=True)
    return_shipped_at = models.DateTimeField(_("returned to customer at"), null=True, blank=True)
    return_carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    return_tracking = models.CharField(_("tracking number"), max_length=100, blank=True)
    loan_device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("loan unit"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="loans",
    )  # fmt: skip
    loan_out_at = models.DateTimeField(_("loan unit out at"), null=True, blank=True)
    loan_back_at = models.DateTimeField(_("loan unit back at"), null=True, blank=True)
    # Supplier repairs (under the supplier's quality agreement)
    repair_supplier = models.ForeignKey(
        "catalog.Supplier", verbose_name=_("repairing supplier"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    supplier_sent_at = models.DateTimeField(_("sent to supplier at"), null=True, blank=True)
    supplier_expected_on = models.DateField(_("expected back on"), null=True, blank=True)
    supplier_reference = models.CharField(_("supplier's reference"), max_length=100, blank=True)
    supplier_received_at = models.DateTimeField(_("back from supplier at"), null=True, blank=True)
    supplier_report = models.TextField(_("supplier's report"), blank=True)
    # On site: diagnosis (故障诊断)
    symptom = models.TextField(_("symptom"), blank=True)
    fault_code = models.ForeignKey(
        "catalog.FaultCode", verbose_name=_("fault code"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="work_orders",
    )  # fmt: skip
    root_cause = models.TextField(_("root cause"), blank=True)
    actions_taken = models.TextField(_("actions taken"), blank=True)
    guidance = models.TextField(_("guidance given to the user"), blank=True)
    document_version = models.ForeignKey(
        "training.DocumentVersion", verbose_name=_("service procedure version followed"),
        null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    # Acceptance test override (a failed item; the service manager's decision)
    test_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("acceptance test overridden by"), null=True,
        blank=True, on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    test_override_reason = models.TextField(_("acceptance test override reason"), blank=True)
    # Screening (REGULATORY.md): is this service record a complaint or a reportable event?
    screened_at = models.DateTimeField(_("screened at"), null=True, blank=True)
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("screened by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    is_complaint = models.BooleanField(_("is a complaint"), null=True, blank=True)
    may_be_reportable = models.BooleanField(_("may be a reportable event"), null=True, blank=True)
    screening_note = models.TextField(_("screening note"), blank=True)
    # Result
    result = models.CharField(_("result"), max_length=30, choices=ServiceResult.choices, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=300, blank=True)
    # Downtime: from the report of the fault to the device's return to service.
    down_since = models.DateTimeField(_("down since"), null=True, blank=True)
    back_in_service_at = models.DateTimeField(_("back in service at"), null=True, blank=True)
    # Fees (finance)
    payment_status = models.CharField(
        _("payment"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.NONE,
        db_index=True,
    )  # fmt: skip
    payment_method = models.CharField(
        _("payment method"), max_length=20, choices=PaymentMethod.choices, blank=True
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=50, blank=True)
    dispute_reason = models.TextField(_("why the fee is disputed"), blank=True)
    dispute_resolution = models.TextField(_("dispute resolution"), blank=True)

    audit_exclude = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"contact_phone_index"}
    audit_personal = frozenset({"contact_name", "contact_phone"})

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-id"]
        permissions = [
            ("assess_workorder", _("Can assess work orders")),
            ("quote_workorder", _("Can quote work orders")),
            ("respond_workorder", _("Can approve or decline quotes for the customer")),
            ("dispatch_workorder", _("Can dispatch engineers")),
            ("override_dispatch", _("Can dispatch an engineer outside the candidates")),
            ("work_workorder", _("Can do the work (visit, diagnosis, parts, tests)")),
            ("override_test", _("Can override a failed acceptance test")),
            ("complete_workorder", _("Can complete work orders")),
            ("sign_workorder", _("Can record the customer's sign-off")),
            ("cancel_workorder", _("Can cancel work orders")),
            ("record_fees", _("Can record fees, payments and invoices")),
            ("settle_dispute", _("Can settle disputed fees")),
        ]
        indexes = [
            models.Index(fields=["status", "engineer", "appointment_start"],
                         name="wo_status_engineer_appt"),
            models.Index(fields=["organization", "-id"], name="wo_organization"),
            models.Index(fields=["device", "-id"], name="wo_device"),
            models.Index(fields=["engineer", "appointment_start"], name="wo_engineer_appt"),
        ]  # fmt: skip
        constraints = [
            models.CheckConstraint(
                condition=Q(quote_total__isnull=True) | Q(quote_total__gte=0),
                name="work_order_quote_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(appointment_end__isnull=True)
                | Q(appointment_start__isnull=True)
                | Q(appointment_end__gt=models.F("appointment_start")),
                name="work_order_appointment_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("new work order"))

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # The look-up hash follows the encrypted value whoever writes it (a derived column).
        self.contact_phone_index = blind_index(self.contact_phone) if self.contact_phone else ""
        super().save(*args, **kwargs)

    @property
    def contact_phone_masked(self) -> str:
        return mask_phone(self.contact_phone)

    @property
    def is_open(self) -> bool:
        from medservice.work_orders.choices import OPEN_STATUSES

        return self.status in OPEN_STATUSES

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        # R-USE: the maintenance record of a device in use lives as long as the device's.
        started = timezone.localdate(self.created_at) if self.created_at else None
        if started is None:
            return []
        dates = [("R-DIST", add_years(started, 5))]
        if self.device_id is not None:
            dates.extend(self.device.retention_dates())
        return dates


class Visit(AuditedModel):
    """One appointment of an engineer at the customer's site (上门服务): the agreed window, who
    goes, when they checked in and out, where and with what photo."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE, related_name="visits"
    )
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("engineer"), on_delete=models.PROTECT,
        related_name="visits",
    )  # fmt: skip
    status = models.CharField(
        _("status"), max_length=20, choices=VisitStatus.choices, default=VisitStatus.SCHEDULED,
        db_index=True,
    )  # fmt: skip
    window_start = models.DateTimeField(_("appointment from"), db_index=True)
    window_end = models.DateTimeField(_("appointment until"))
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("dispatched by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    # Choosing someone who is not a candidate: the service manager's decision, with the reason.
    override_reason = models.TextField(_("override reason"), blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("overridden by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    reschedule_count = models.PositiveSmallIntegerField(_("times rescheduled"), default=0)
    reschedule_reason = models.CharField(_("last reschedule reason"), max_length=300, blank=True)
    late_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    checked_in_longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    checked_out_latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    checked_out_longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    cancel_reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["window_start", "id"]
        indexes = [
            # The engineer's day and the "is he free" check read this range.
            models.Index(fields=["engineer", "window_start", "window_end"],
                         name="visit_engineer_window"),
        ]  # fmt: skip
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")),
                name="visit_window_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | (
                    Q(checked_in_at__isnull=False)
                    & Q(checked_out_at__gte=models.F("checked_in_at"))
                ),
                name="visit_checkout_after_checkin",
            ),
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.window_start).strftime("%Y-%m-%d %H:%M")
        return f"{self.work_order} {start}"


class RemoteSession(AuditedModel):
    """A remote-support session (远程支持): the tool, how long, and what came of it."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE,
        related_name="remote_sessions",
    )  # fmt: skip
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("engineer"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    tool = models.CharField(_("tool"), max_length=100)
    started_at = models.DateTimeField(_("started at"))
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=RemoteOutcome.choices)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("remote-support session")
        verbose_name_plural = _("remote-support sessions")
        ordering = ["started_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1), name="remote_session_lasts"
            )
        ]

    def __str__(self) -> str:
        return f"{self.work_order} {self.tool}"


class Quote(AuditedModel):
    """A price offered to the customer for work not covered (报价): at cost price by default,
    approved or declined in the portal or on a signed paper copy."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE, related_name="quotes"
    )
    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.SENT,
        db_index=True,
    )  # fmt: skip
    total = models.DecimalField(_("total"), **MONEY)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by_name = models.CharField(_("decided by"), max_length=100, blank=True)
    decision_method = models.CharField(
        _("decided how"), max_length=20, choices=DecisionMethod.choices, blank=True
    )
    decision_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    decline_reason = models.TextField(_("why declined"), blank=True)
    paper_copy = models.FileField(_("signed paper copy"), upload_to="quotes/%Y/", blank=True)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["work_order"], condition=Q(status="sent"),
                name="one_open_quote_per_work_order",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="quote_total_not_negative"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    """One priced line of a quote: parts, labour hours, travel or another cost."""

    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines"
    )
    category = models.CharField(_("category"), max_length=10, choices=ChargeCategory.choices)
    description = models.CharField(_("description"), max_length=200)
    part = models.ForeignKey(
        "inventory.Part", verbose_name=_("part"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0) & Q(unit_price__gte=0) & Q(amount__gte=0),
                name="quote_line_positive",
            )
        ]

    def __str__(self) -> str:
        return self.description


class PartUsage(models.Model):
    """A part fitted into or removed from the device during the work, with its lot or serial;
    the stock movement it posted is the ledger's side of the same fact."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE,
        related_name="part_usages",
    )  # fmt: skip
    part = models.ForeignKey(
        "inventory.Part", verbose_name=_("part"), on_delete=models.PROTECT, related_name="+"
    )
    fitted = models.BooleanField(_("fitted (otherwise removed)"), default=True)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    lot = models.ForeignKey(
        "inventory.PartLot", verbose_name=_("lot or serial"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    lot_text = models.CharField(_("lot or serial"), max_length=100, blank=True)
    unit_cost = models.DecimalField(_("unit cost"), default=0, **MONEY)
    movement = models.ForeignKey(
        "inventory.StockMovement", verbose_name=_("stock movement"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("part used")
        verbose_name_plural = _("parts used")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="part_usage_positive")
        ]

    def __str__(self) -> str:
        return f"{self.part} ×{self.quantity}"


class TimeEntry(AuditedModel):
    """Labour or travel time spent on the work, by whom and on which day."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE,
        related_name="time_entries",
    )  # fmt: skip
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("engineer"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=10, choices=TimeKind.choices)
    day = models.DateField(_("day"))
    hours = models.DecimalField(_("hours"), **HOURS)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        ordering = ["day", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__gt=0) & Q(hours__lte=24), name="time_entry_hours_in_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.hours} h"


class TestResult(AuditedModel):
    """One acceptance-test check as measured (验收测试): the value against the model's
    tolerance, pass or fail, and the reference instrument with its calibration date."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE,
        related_name="test_results",
    )  # fmt: skip
    item = models.ForeignKey(
        "catalog.AcceptanceTestItem", verbose_name=_("check"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    measured_value = models.DecimalField(_("measured value"), null=True, blank=True, **MEASURE)
    passed = models.BooleanField(_("passed"))
    instrument = models.ForeignKey(
        "inventory.Instrument", verbose_name=_("reference instrument"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    # As it stood when measured: the record must show it even after the next calibration.
    instrument_calibrated_on = models.DateField(
        _("instrument calibrated on"), null=True, blank=True
    )
    instrument_calibration_due = models.DateField(
        _("instrument calibration due"), null=True, blank=True
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    # Tell pytest this is not a test class.
    __test__ = False

    class Meta:
        verbose_name = _("acceptance-test result")
        verbose_name_plural = _("acceptance-test results")
        ordering = ["item__position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["work_order", "item"], name="one_result_per_check")
        ]

    def __str__(self) -> str:
        return f"{self.item}: {'✓' if self.passed else '✗'}"


class FileKind(models.TextChoices):
    CONDITION_PHOTO = "condition_photo", _("Condition on receipt")
    CHECK_IN_PHOTO = "check_in_photo", _("Check-in photo")
    EVIDENCE = "evidence", _("Evidence (misuse, damage)")
    QUOTE_PAPER = "quote_paper", _("Signed quote")
    SUPPLIER_REPORT = "supplier_report", _("Supplier's report")
    SIGNED_REPORT = "signed_report", _("Signed paper report")
    OTHER = "other", _("Other")


class WorkOrderFile(models.Model):
    """A photo, scan or PDF kept with a work order: condition on receipt, evidence of misuse,
    a signed paper quote, the supplier's report."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE, related_name="files"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=FileKind.choices)
    file = models.FileField(_("file"), upload_to="work-orders/%Y/%m/")
    content_type = models.CharField(max_length=50, editable=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("work-order file")
        verbose_name_plural = _("work-order files")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file.name}"


class FeeItem(AuditedModel):
    """One charge billed to the customer for the work (服务收费)."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.CASCADE, related_name="fees"
    )
    category = models.CharField(_("category"), max_length=10, choices=ChargeCategory.choices)
    description = models.CharField(_("description"), max_length=200)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        verbose_name = _("fee")
        verbose_name_plural = _("fees")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="fee_not_negative")]

    def __str__(self) -> str:
        return f"{self.description} {self.amount}"


class ServiceReport(AuditedModel, SignableModel, RetainedModel):
    """The service record signed by the customer (售后服务记录表 / 服务报告): the content of the
    work order as completed, frozen when the customer signs; a correction is a new revision."""

    work_order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.PROTECT,
        related_name="reports",
    )  # fmt: skip
    number = models.CharField(_("number"), max_length=40, editable=False)
    language = models.CharField(
        _("language"), max_length=10, choices=ReportLanguage.choices,
        default=ReportLanguage.CHINESE,
    )  # fmt: skip
    # Everything the record must show (REGULATORY.md), as of completion: the PDF is drawn from
    # this, so a signed report prints the same whatever changes later.
    content = models.JSONField(_("content"), default=dict)
    engineer_name = models.CharField(_("engineer"), max_length=100)
    engineer_signed_at = models.DateTimeField(_("engineer signed at"))
    customer_name = models.CharField(_("customer's printed name"), max_length=100, blank=True)
    customer_signed_at = models.DateTimeField(_("customer signed at"), null=True, blank=True)
    customer_signature = models.TextField(
        _("customer's drawn signature"), blank=True,
        help_text=_("The signature drawn on screen, as a PNG data URL."),
    )  # fmt: skip
    sign_method = models.CharField(_("signed how"), max_length=20, blank=True)
    revision_reason = models.CharField(_("revision reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("service report")
        verbose_name_plural = _("service reports")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["number", "revision"], name="report_revision_once")
        ]

    def __str__(self) -> str:
        return f"{self.number} r{self.revision}"

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        return self.work_order.retention_dates() if self.work_order_id else []

    # The customer's mark is the signature itself, not content it signs: both the engineer
    # (at completion) and the customer (afterwards) sign the same report content, so both
    # signatures stay verifiable. The frozen record still refuses any change to these fields.
    SIGNER_FIELDS = frozenset(
        {"customer_name", "customer_signed_at", "customer_signature", "sign_method"}
    )

    def signature_content(self) -> dict[str, Any]:
        content = super().signature_content()
        for name in self.SIGNER_FIELDS:
            content.pop(name, None)
        return content


class SigningLink(models.Model):
    """A one-time, expiring link that lets the customer sign a service report (or approve or
    decline a quote) without signing in. Only the hash of the token is kept."""

    report = models.ForeignKey(
        ServiceReport, verbose_name=_("service report"), null=True, blank=True,
        on_delete=models.CASCADE, related_name="links",
    )  # fmt: skip
    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="links",
    )  # fmt: skip
    token_hash = models.CharField(max_length=64, unique=True)
    sent_to = models.CharField(_("sent to"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing link")
        verbose_name_plural = _("signing links")
        constraints = [
            models.CheckConstraint(
                condition=Q(report__isnull=False) | Q(quote__isnull=False),
                name="signing_link_has_a_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.report or self.quote} → {self.sent_to}"


class Submission(models.Model):
    """A form submitted from a phone, remembered by the key the page gave it: when a dropped
    connection makes the phone send it again, the second copy changes nothing."""

    key = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=50)
    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="submission_once_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.key}"
