"""Service requests (服务请求) by every channel, their timeline, and the service promises (SLA)
that run on each of them."""

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
from medservice.tickets.choices import (
    OPEN_STATUSES,
    Channel,
    ConfirmationMethod,
    Counting,
    Priority,
    ResolutionType,
    Sex,
    SlaTarget,
    Status,
    TicketKind,
    TimelineKind,
    WaitReason,
)

# China GSP: complaint records are kept at least five years (R-DIST).
COMPLAINT_RECORD_MINIMUM_YEARS = 5


class Team(AuditedModel):
    """A service team (服务组) for a region and product lines: tickets are assigned to it and
    to its members by the auto-assignment rule."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    product_lines = models.ManyToManyField(
        "catalog.ProductLine", verbose_name=_("product lines"), blank=True, related_name="+"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="teams"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service team")
        verbose_name_plural = _("service teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(AuditedModel, RetainedModel):
    """A service request (服务请求 / 工单受理): a complaint, repair request, question or other
    request received by any channel, owned until the customer confirms its resolution."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=TicketKind.choices, db_index=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW, db_index=True
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    # Who reported it: a known contact, or a name and phone typed in (or both).
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    reporter_name = EncryptedTextField(_("reporter name"), blank=True)
    reporter_phone = EncryptedTextField(_("reporter phone"), blank=True)
    reporter_phone_index = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False
    )
    reporter_email = models.EmailField(_("reporter e-mail"), blank=True, db_index=True)
    # What it is about: a known unit, or what the reporter said (linkable later).
    device = models.ForeignKey(
        "installed_base.Device",
        verbose_name=_("device"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("device model"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    product_reported = models.CharField(_("product as reported"), max_length=200, blank=True)
    serial_reported = models.CharField(_("serial or batch as reported"), max_length=100, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"))
    patient_involved = models.BooleanField(_("patient involved"), default=False)
    injury = models.BooleanField(_("injury or death"), default=False)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_tickets",
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    sla_tier = models.CharField(_("SLA tier"), max_length=20, blank=True)
    # The stored due times of the current targets (the clocks keep the detail); `next_due_at`
    # is the earliest one still running, so "sorted by the next due time" is one index scan.
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    plan_due_at = models.DateTimeField(_("solution plan due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    onsite_due_at = models.DateTimeField(_("on site due"), null=True, blank=True)
    next_due_at = models.DateTimeField(_("next due"), null=True, blank=True)
    wait_reason = models.CharField(
        _("waiting for"), max_length=20, choices=WaitReason.choices, blank=True
    )
    wait_note = models.CharField(_("waiting because"), max_length=300, blank=True)
    status_before_wait = models.CharField(max_length=20, blank=True, editable=False)
    solution = models.TextField(_("solution"), blank=True)
    solution_agreed_at = models.DateTimeField(_("solution agreed at"), null=True, blank=True)
    solution_agreed_by = models.CharField(_("solution agreed by"), max_length=100, blank=True)
    resolution_type = models.CharField(
        _("resolution type"), max_length=20, choices=ResolutionType.choices, blank=True
    )
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    onsite_requested_at = models.DateTimeField(_("on site requested at"), null=True, blank=True)
    # The customer's confirmation: in the portal, or recorded by an agent on their behalf.
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by_name = models.CharField(_("confirmed by"), max_length=100, blank=True)
    confirmation_method = models.CharField(
        _("confirmed how"), max_length=20, choices=ConfirmationMethod.choices, blank=True
    )
    confirmation_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmation recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolution_reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True)
    reopened_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    # Satisfaction with this case (the survey of the case: never asked twice).
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.TextField(_("rating comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    # Complaint screening (ISO 13485 8.2.2): decided before a complaint closes.
    screened_at = models.DateTimeField(_("screened at"), null=True, blank=True)
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("screened by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_complaint = models.BooleanField(_("is a complaint"), null=True, blank=True)
    may_be_reportable = models.BooleanField(_("may be reportable"), null=True, blank=True)
    needs_investigation = models.BooleanField(_("needs investigation"), null=True, blank=True)
    no_investigation_reason = models.TextField(_("why no investigation"), blank=True)
    # E-mail threading: the Message-ID of the message that opened the ticket.
    email_message_id = models.CharField(max_length=300, blank=True, db_index=True)
    public_token = models.CharField(max_length=40, blank=True, db_index=True, editable=False)

    audit_exclude = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {
        "reporter_phone_index",
        "next_due_at",
        "public_token",
    }
    audit_personal = frozenset({"reporter_name", "reporter_phone", "reporter_email"})

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        ordering = ["-received_at", "-id"]
        permissions = [
            ("acknowledge_ticket", _("Can acknowledge service requests")),
            ("assign_ticket", _("Can assign service requests")),
            ("work_ticket", _("Can work on service requests")),
            ("approve_parts_wait", _("Can approve waiting for parts")),
            ("respond_ticket", _("Can answer for the customer (agree, confirm, reject, rate)")),
            ("screen_ticket", _("Can screen complaints")),
            ("cancel_ticket", _("Can cancel service requests")),
            ("unmask_ticket", _("Can see reporters' phone numbers")),
        ]
        indexes = [
            models.Index(
                fields=["status", "owner", "next_due_at"], name="tickets_status_owner_due"
            ),
            models.Index(fields=["organization", "-received_at"], name="tickets_org_received"),
            models.Index(fields=["device", "-received_at"], name="tickets_device_received"),
            models.Index(fields=["next_due_at", "id"], name="tickets_next_due"),
            # The complaint register: complaints by kind, newest first.
            models.Index(fields=["kind", "-received_at", "-id"], name="tickets_kind_received"),
            # The open requests counted by state (service dashboard, desk): a tenth of all
            # requests, read from the index alone (0.6 s → 20 ms at 1,000,000 requests).
            models.Index(
                fields=["status", "id"],
                name="tickets_open_status",
                condition=Q(status__in=sorted(OPEN_STATUSES)),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="tickets_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("new service request"))

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # The look-up hash follows the encrypted value whoever writes it (a derived column).
        self.reporter_phone_index = blind_index(self.reporter_phone) if self.reporter_phone else ""
        super().save(*args, **kwargs)

    @property
    def reporter_phone_masked(self) -> str:
        return mask_phone(self.reporter_phone)

    @property
    def is_open(self) -> bool:
        return self.status not in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED)

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        received = timezone.localdate(self.received_at) if self.received_at else None
        if received is None:
            return []
        dates = [("R-DIST", add_years(received, COMPLAINT_RECORD_MINIMUM_YEARS))]
        model = self.device.device_model if self.device_id else self.device_model
        if model is not None:
            if model.implantable:
                dates.append(("R-DIST", datetime.date.max))
            elif model.service_life_years:
                # R-ISO: the device's lifetime, at least two years from the record.
                dates.append(("R-ISO", add_years(received, max(model.service_life_years, 2))))
        return dates


class QualityIntake(AuditedModel):
    """What the quality-complaint procedure asks at intake (SOP 4.2): about the complainant, the
    product and its use, and that the caller was told to stop using that batch or serial."""

    ticket = models.OneToOneField(
        Ticket, verbose_name=_("service request"), on_delete=models.CASCADE,
        related_name="quality_intake",
    )  # fmt: skip
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
    manufacturer_reported = models.CharField(_("manufacturer"), max_length=200, blank=True)
    batch_or_serial = models.CharField(_("batch or serial"), max_length=100, blank=True)
    purchased_from = models.CharField(_("bought from"), max_length=200, blank=True)
    purchased_on = models.DateField(_("bought on"), null=True, blank=True)
    stop_use_advised = models.BooleanField(_("told to stop using it"), default=False)
    stop_use_advised_at = models.DateTimeField(_("told at"), null=True, blank=True)

    audit_personal = frozenset(
        {"complainant_sex", "complainant_age", "complainant_address", "complainant_workplace"}
    )

    class Meta:
        verbose_name = _("quality complaint intake")
        verbose_name_plural = _("quality complaint intakes")

    def __str__(self) -> str:
        return f"{self.ticket}"

    def audit_subject(self) -> str:
        return f"tickets.ticket:{self.ticket_id}"


class TimelineEntry(models.Model):
    """One line of a ticket's story: a call, e-mail, note, file, state change, message sent or
    service-promise event. Append-only; customer-visible entries appear in the portal."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("service request"), on_delete=models.CASCADE,
        related_name="timeline",
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=20, choices=TimelineKind.choices)
    customer_visible = models.BooleanField(_("visible to the customer"), default=False)
    text = models.TextField(_("text"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    attachment = models.FileField(_("file"), upload_to="tickets/%Y/%m/", blank=True)
    attachment_name = models.CharField(_("file name"), max_length=200, blank=True)
    attachment_type = models.CharField(_("file type"), max_length=100, blank=True)
    attachment_size = models.PositiveIntegerField(_("file size"), null=True, blank=True)
    email_message_id = models.CharField(max_length=300, blank=True, db_index=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["ticket", "-created_at", "-id"], name="timeline_ticket")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class SlaPolicy(AuditedModel):
    """A service promise (服务承诺): the targets that apply to tickets matching its criteria.
    The most specific matching policy wins; the default policy matches everything."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)
    sla_tier = models.CharField(_("SLA tier"), max_length=20, blank=True)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("device model"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    risk_class = models.CharField(_("risk class"), max_length=5, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, blank=True)
    calendar = models.ForeignKey(
        "core.BusinessCalendar",
        verbose_name=_("business calendar"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For targets counted in business hours."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        # An organisation's own promise beats a model's, a model's a risk class', and so on.
        return (
            (16 if self.organization_id else 0)
            + (8 if self.device_model_id else 0)
            + (4 if self.risk_class else 0)
            + (2 if self.sla_tier else 0)
            + (1 if self.priority else 0)
        )


class SlaPolicyTarget(AuditedModel):
    """One promise of a policy: how many hours, counted how, paused in which states."""

    policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("SLA policy"), on_delete=models.CASCADE, related_name="targets"
    )
    target = models.CharField(_("target"), max_length=20, choices=SlaTarget.choices)
    hours = models.DecimalField(_("hours"), max_digits=7, decimal_places=2)
    counting = models.CharField(
        _("counting"), max_length=10, choices=Counting.choices, default=Counting.CALENDAR
    )
    pause_states = models.JSONField(_("paused in states"), default=list, blank=True)

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.UniqueConstraint(fields=["policy", "target"], name="sla_policy_target_once"),
            models.CheckConstraint(condition=Q(hours__gt=0), name="sla_target_hours_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.get_target_display()} {self.hours} h"


class TicketClock(models.Model):
    """One running promise of one ticket (a first response, plan, resolution or on-site
    target): its stored due time, pauses, warning, and met-at or breached-at for reporting."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("service request"), on_delete=models.CASCADE,
        related_name="clocks",
    )  # fmt: skip
    target = models.CharField(_("target"), max_length=20, choices=SlaTarget.choices)
    # A reopen starts a new resolution target: cycle 2, 3, ...; the old one stays for reports.
    cycle = models.PositiveSmallIntegerField(_("cycle"), default=1)
    policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("SLA policy"), null=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    hours = models.DecimalField(_("hours"), max_digits=7, decimal_places=2)
    extension_hours = models.DecimalField(
        _("approved extension (hours)"), max_digits=7, decimal_places=2, default=0
    )
    counting = models.CharField(_("counting"), max_length=10, choices=Counting.choices)
    calendar_code = models.CharField(max_length=30, blank=True)
    pause_states = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(_("started at"))
    # [[start, end], ...] in ISO format; the open pause has end null.
    pauses = models.JSONField(default=list, blank=True)
    paused = models.BooleanField(_("paused"), default=False)
    due_at = models.DateTimeField(_("due at"))
    warn_at = models.DateTimeField(_("warn at"))
    unconfirmed = models.BooleanField(
        _("depends on an unconfirmed holiday calendar"), default=False
    )
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)

    class Meta:
        verbose_name = _("service promise clock")
        verbose_name_plural = _("service promise clocks")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "target", "cycle"], name="ticket_clock_once_per_cycle"
            )
        ]
        indexes = [
            # The KPIs find the promises met in a period (analytics, docs/kpis.md).
            models.Index(fields=["target", "met_at"], name="clock_target_met"),
            # The requests at risk and breached (desk and service dashboard): the few running
            # clocks already warned or breached, not all clocks ever.
            models.Index(
                fields=["ticket"],
                name="clock_running_flagged",
                condition=Q(met_at__isnull=True, stopped_at__isnull=True)
                & (Q(warned_at__isnull=False) | Q(breached_at__isnull=False)),
            ),
            models.Index(
                fields=["ticket"],
                name="clock_running_breached",
                condition=Q(
                    met_at__isnull=True, stopped_at__isnull=True, breached_at__isnull=False
                ),
            ),
            # The sweep reads only running clocks whose warning or due time has come: its cost
            # grows with the tickets due, not with all tickets.
            models.Index(
                fields=["warn_at"],
                name="clock_running_warn",
                condition=Q(
                    met_at__isnull=True,
                    stopped_at__isnull=True,
                    warned_at__isnull=True,
                    paused=False,
                ),
            ),
            models.Index(
                fields=["due_at"],
                name="clock_running_due",
                condition=Q(
                    met_at__isnull=True,
                    stopped_at__isnull=True,
                    breached_at__isnull=True,
                    paused=False,
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.target} #{self.cycle}"

    @property
    def running(self) -> bool:
        return self.met_at is None and self.stopped_at is None


class SlaException(AuditedModel):
    """An approved extension of one target of one ticket, with reason and approver."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("service request"), on_delete=models.CASCADE,
        related_name="sla_exceptions",
    )  # fmt: skip
    target = models.CharField(_("target"), max_length=20, choices=SlaTarget.choices)
    hours = models.DecimalField(_("extra hours"), max_digits=7, decimal_places=2)
    reason = models.TextField(_("reason"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    approved_at = models.DateTimeField(_("approved at"), default=timezone.now)

    class Meta:
        verbose_name = _("SLA exception")
        verbose_name_plural = _("SLA exceptions")
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0), name="sla_exception_positive")
        ]

    def __str__(self) -> str:
        return f"{self.ticket} +{self.hours} h"


class RegulatorFeedback(AuditedModel):
    """What was reported back to the regulator about a complaint received through its
    supervision phone (药监监督电话): what, when, by whom."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("service request"), on_delete=models.PROTECT,
        related_name="regulator_feedback",
    )  # fmt: skip
    content = models.TextField(_("feedback given"))
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("given by"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    regulator_contact = models.CharField(_("regulator contact"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("feedback to the regulator")
        verbose_name_plural = _("feedback to the regulator")
        ordering = ["-given_at"]

    def __str__(self) -> str:
        return f"{self.ticket} {self.given_at:%Y-%m-%d}"


class IntakeReference(AuditedModel):
    """An outside system's own reference for a request it sent through the inbound intake API
    (a call centre's call id, a WeChat bridge's message id): the same reference from the same
    integration account is the same request, however often it is sent (issue 12 intake)."""

    integration = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("integration account"),
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    external_id = models.CharField(_("external reference"), max_length=200)
    # Empty only inside the transaction that registers the request: the reference is written
    # first so that a second, concurrent delivery of it waits on the unique index.
    ticket = models.OneToOneField(
        Ticket, verbose_name=_("service request"), null=True, blank=True,
        on_delete=models.CASCADE, related_name="intake_reference",
    )  # fmt: skip
    caller_wechat_id = EncryptedTextField(_("caller's WeChat id"), blank=True)

    audit_personal = frozenset({"caller_wechat_id"})

    class Meta:
        verbose_name = _("intake reference")
        verbose_name_plural = _("intake references")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"], name="unique_intake_reference"
            )
        ]
        permissions = [
            (
                "add_ticket_via_integration",
                _("Can register service requests through the inbound intake API"),
            )
        ]

    def __str__(self) -> str:
        return self.external_id

    def audit_subject(self) -> str:
        return f"tickets.ticket:{self.ticket_id}"
