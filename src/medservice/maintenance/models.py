"""Preventive maintenance plans and their visits, installations with the customer's signed
acceptance, and the training of the customer's operators (see the docstring of each)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from medservice.core.models import AuditedModel, RetainedModel, SignableModel
from medservice.core.retention import add_years
from medservice.maintenance.choices import (
    AcceptanceFileKind,
    InstallationStatus,
    PmIntervalSource,
    PmVisitStatus,
    SuggestionStatus,
    TrainingFileKind,
)

# Maintenance records of a device are kept as the device's own (R-USE); without a service life
# on record they are kept this many years from the record's date.
RECORD_MINIMUM_YEARS = 5


def _file_path(folder: str) -> str:
    return f"maintenance/{folder}/%Y/%m/"


class PmPlan(AuditedModel):
    """The preventive-maintenance schedule of one device (定期维护保养计划): how often it is
    maintained (the model's PM interval, the service contract's or set by hand) and when the next
    maintenance is due. The device's own "next PM due" date follows it."""

    device = models.OneToOneField(
        "installed_base.Device", verbose_name=_("device"), on_delete=models.PROTECT,
        related_name="pm_plan",
    )  # fmt: skip
    # Denormalised from the device so that lists scope and filter on one table.
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="pm_plans",
    )  # fmt: skip
    interval_source = models.CharField(
        _("interval from"), max_length=10, choices=PmIntervalSource.choices,
        default=PmIntervalSource.MODEL,
    )  # fmt: skip
    contract = models.ForeignKey(
        "installed_base.ServiceContract", verbose_name=_("service contract"), null=True,
        blank=True, on_delete=models.PROTECT, related_name="pm_plans",
    )  # fmt: skip
    interval_days = models.PositiveIntegerField(_("interval (days)"))
    next_due_on = models.DateField(_("next PM due"), db_index=True)
    last_done_on = models.DateField(_("last PM done on"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True, db_index=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("PM plan")
        verbose_name_plural = _("PM plans")
        ordering = ["next_due_on", "id"]
        indexes = [
            models.Index(fields=["active", "next_due_on"], name="pm_plan_due"),
            models.Index(fields=["organization", "next_due_on"], name="pm_plan_organization"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(interval_days__gte=1), name="pm_interval_positive"),
            models.CheckConstraint(
                condition=~Q(interval_source="contract") | Q(contract__isnull=False),
                name="pm_contract_interval_names_the_contract",
            ),
        ]

    def __str__(self) -> str:
        return f"PM {self.device}"


class PmVisit(AuditedModel):
    """One due preventive maintenance of a plan (保养任务): the due date, the PM work order opened
    for it ahead of time, and when it was done. One per plan and due date, whatever runs the
    job twice."""

    plan = models.ForeignKey(
        PmPlan, verbose_name=_("PM plan"), on_delete=models.PROTECT, related_name="visits"
    )
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), on_delete=models.PROTECT,
        related_name="pm_visits",
    )  # fmt: skip
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="pm_visits",
    )  # fmt: skip
    due_on = models.DateField(_("due on"), db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PmVisitStatus.choices, default=PmVisitStatus.OPEN,
        db_index=True,
    )  # fmt: skip
    work_order = models.ForeignKey(
        "work_orders.WorkOrder", verbose_name=_("work order"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="pm_visits",
    )  # fmt: skip
    done_on = models.DateField(_("done on"), null=True, blank=True)
    # How often a cancelled work order re-opened the visit (each time the job opens a new one).
    reopened_count = models.PositiveSmallIntegerField(_("re-opened"), default=0)

    class Meta:
        verbose_name = _("PM visit")
        verbose_name_plural = _("PM visits")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="pm_visit_status_due"),
            models.Index(fields=["organization", "due_on"], name="pm_visit_organization"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["plan", "due_on"], name="one_pm_visit_per_due_date"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(done_on__isnull=False),
                name="pm_visit_done_has_a_date",
            ),
        ]

    def __str__(self) -> str:
        return f"PM {self.device} {self.due_on:%Y-%m-%d}"


class Installation(AuditedModel):
    """The installation and commissioning (安装调试) of one delivered unit: the installation
    work order whose checklist is the model's acceptance test, then the customer's acceptance."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    device = models.OneToOneField(
        "installed_base.Device", verbose_name=_("device"), on_delete=models.PROTECT,
        related_name="installation",
    )  # fmt: skip
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="installations",
    )  # fmt: skip
    delivery = models.ForeignKey(
        "installed_base.Delivery", verbose_name=_("delivery"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="installations",
    )  # fmt: skip
    work_order = models.ForeignKey(
        "work_orders.WorkOrder", verbose_name=_("installation work order"), null=True,
        blank=True, on_delete=models.PROTECT, related_name="installations",
    )  # fmt: skip
    status = models.CharField(
        _("status"), max_length=20, choices=InstallationStatus.choices,
        default=InstallationStatus.ORDERED, db_index=True,
    )  # fmt: skip
    commissioned_on = models.DateField(_("commissioned on"), null=True, blank=True)

    class Meta:
        verbose_name = _("installation")
        verbose_name_plural = _("installations")
        ordering = ["-id"]
        indexes = [models.Index(fields=["organization", "-id"], name="installation_organization")]

    def __str__(self) -> str:
        return self.number


class AcceptanceRecord(AuditedModel, SignableModel, RetainedModel):
    """The customer's signed acceptance of an installed device (验收证明 / 验收报告): who
    accepted it and when, the documents handed over with it (certificate of conformity,
    registration certificate), and the signed certificate's scan. Signing sets the device's
    acceptance date, from which its warranty runs."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), on_delete=models.PROTECT,
        related_name="acceptance_records",
    )  # fmt: skip
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="acceptance_records",
    )  # fmt: skip
    installation = models.ForeignKey(
        Installation, verbose_name=_("installation"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="acceptances",
    )  # fmt: skip
    accepted_on = models.DateField(_("accepted on"))
    customer_name = models.CharField(_("accepted by (printed name)"), max_length=100)
    customer_title = models.CharField(_("position or department"), max_length=100, blank=True)
    conformity_certificate_handed = models.BooleanField(
        _("certificate of conformity handed over"), default=False
    )
    # The certificate as it stood when handed over: the catalogue may renew it later.
    registration_number = models.CharField(
        _("registration certificate handed over"), max_length=100, blank=True
    )
    registration_certificate_handed = models.BooleanField(
        _("registration certificate copy handed over"), default=False
    )
    other_documents = models.CharField(
        _("other documents handed over"), max_length=300, blank=True,
        help_text=_("e.g. the user manual, the warranty card"),
    )  # fmt: skip
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip
    # The warranty as it stood right after acceptance (installed_base computes it).
    warranty_starts_on = models.DateField(_("warranty starts on"), null=True, blank=True)
    warranty_ends_on = models.DateField(_("warranty ends on"), null=True, blank=True)

    # The scan of the signed certificate arrives after signing.
    mutable_after_signing = frozenset({"updated_at", "version"})

    class Meta:
        verbose_name = _("acceptance record")
        verbose_name_plural = _("acceptance records")
        ordering = ["-id"]
        permissions = [("sign_acceptancerecord", _("Can record the customer's acceptance"))]
        indexes = [models.Index(fields=["organization", "-id"], name="acceptance_organization")]
        constraints = [
            # One signed acceptance of a device per revision chain: a correction supersedes.
            models.UniqueConstraint(
                fields=["device"], condition=Q(signed_at__isnull=False, supersedes__isnull=True),
                name="one_signed_acceptance_per_device",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        if self.device_id:
            dates = self.device.retention_dates()
            if dates:
                return dates
        return [("R-USE", add_years(self.accepted_on, RECORD_MINIMUM_YEARS))]


class AcceptanceFile(AuditedModel):
    """A scan kept with an acceptance: the certificate as the customer signed it on paper."""

    acceptance = models.ForeignKey(
        AcceptanceRecord, verbose_name=_("acceptance record"), on_delete=models.CASCADE,
        related_name="files",
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=20, choices=AcceptanceFileKind.choices)
    file = models.FileField(_("file"), upload_to=_file_path("acceptances"))
    content_type = models.CharField(_("content type"), max_length=100, editable=False)
    original_name = models.CharField(_("file name"), max_length=255, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip

    class Meta:
        verbose_name = _("acceptance file")
        verbose_name_plural = _("acceptance files")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name


class OperatorTraining(AuditedModel, RetainedModel):
    """A training session for the customer's operators (使用培训): which devices or models, what
    was taught, by whom, to whom; the sign-in sheet printed for it and its signed copy."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="operator_trainings",
    )  # fmt: skip
    department = models.ForeignKey(
        "customers.Department", verbose_name=_("department"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="operator_trainings",
    )  # fmt: skip
    devices = models.ManyToManyField(
        "installed_base.Device", verbose_name=_("devices"), blank=True,
        related_name="operator_trainings",
    )  # fmt: skip
    device_models = models.ManyToManyField(
        "catalog.DeviceModel", verbose_name=_("device models"), blank=True,
        related_name="operator_trainings",
    )  # fmt: skip
    held_on = models.DateField(_("held on"), db_index=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    content = models.TextField(_("content"))
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("trainer"), on_delete=models.PROTECT,
        related_name="operator_trainings",
    )  # fmt: skip
    materials = models.TextField(_("materials"), blank=True)
    # The re-training suggestion it answers, if any.
    suggestion = models.ForeignKey(
        "RetrainingSuggestion", verbose_name=_("answers the suggestion"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("operator training")
        verbose_name_plural = _("operator trainings")
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["organization", "-held_on"], name="training_organization")]

    def __str__(self) -> str:
        return self.number

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        return [("R-USE", add_years(self.held_on, RECORD_MINIMUM_YEARS))]


class TrainingAttendee(AuditedModel):
    """One person of the customer who attended an operator training (签到)."""

    training = models.ForeignKey(
        OperatorTraining, verbose_name=_("operator training"), on_delete=models.CASCADE,
        related_name="attendees",
    )  # fmt: skip
    # Denormalised from the training so that the attendee list scopes on one table.
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        "customers.Department", verbose_name=_("department"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    position = models.CharField(_("position"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("training attendee")
        verbose_name_plural = _("training attendees")
        ordering = ["training", "id"]
        indexes = [models.Index(fields=["organization", "-id"], name="attendee_organization")]

    def __str__(self) -> str:
        return self.name


class TrainingFile(AuditedModel):
    """A file kept with an operator training: the signed sign-in sheet or a training material."""

    training = models.ForeignKey(
        OperatorTraining, verbose_name=_("operator training"), on_delete=models.CASCADE,
        related_name="files",
    )  # fmt: skip
    kind = models.CharField(_("kind"), max_length=20, choices=TrainingFileKind.choices)
    file = models.FileField(_("file"), upload_to=_file_path("trainings"))
    content_type = models.CharField(_("content type"), max_length=100, editable=False)
    original_name = models.CharField(_("file name"), max_length=255, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip

    class Meta:
        verbose_name = _("training file")
        verbose_name_plural = _("training files")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name


class RetrainingSuggestion(AuditedModel):
    """A suggestion to train a department's operators again, raised when a repair found a use
    error (误操作): the service manager turns it into a training session or dismisses it with a
    reason."""

    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="retraining_suggestions",
    )  # fmt: skip
    department = models.ForeignKey(
        "customers.Department", verbose_name=_("department"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    work_order = models.OneToOneField(
        "work_orders.WorkOrder", verbose_name=_("found by work order"), on_delete=models.PROTECT,
        related_name="retraining_suggestion",
    )  # fmt: skip
    reason = models.TextField(_("use error found"))
    status = models.CharField(
        _("status"), max_length=10, choices=SuggestionStatus.choices,
        default=SuggestionStatus.OPEN, db_index=True,
    )  # fmt: skip
    training = models.ForeignKey(
        OperatorTraining, verbose_name=_("operator training"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    dismissed_reason = models.TextField(_("why dismissed"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("re-training suggestion")
        verbose_name_plural = _("re-training suggestions")
        ordering = ["-id"]
        permissions = [("decide_retrainingsuggestion", _("Can schedule or dismiss re-training"))]
        indexes = [models.Index(fields=["organization", "-id"], name="suggestion_organization")]

    def __str__(self) -> str:
        return f"RS-{self.pk}"
