"""Models of this app (see the docstring of each)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from medservice.core.crypto import EncryptedTextField, blind_index, mask_phone, mask_text
from medservice.core.models import AuditedModel, RetainedModel
from medservice.core.retention import add_years
from medservice.feedback.choices import (
    ConcernedDepartment,
    EscalationStatus,
    FollowUpKind,
    FollowUpOutcome,
    FollowUpStatus,
    LetterDirection,
    LetterKind,
    OpinionCategory,
    OpinionStatus,
    QuestionKind,
    ShortageStatus,
    SurveyChannel,
    SurveyStatus,
    SurveySubject,
    VisitKind,
    VisitStatus,
)

# --- stores, shortages, correspondence ---

# GSP (R-DIST): the store's books are complaint and sales records, kept at least five years.
STORE_RECORD_YEARS = 5


class StoreProfile(AuditedModel):
    """What a store (or a chain's head office) publishes on its wall (SOP: 各连锁门店必须在营业
    场所公布…): the local regulator's supervision phone (监督电话) and the store's and head office's
    complaint phones; when it closes (the opinion book is reviewed by then) and who answers for
    the book."""

    store = models.OneToOneField(
        "customers.Organization", verbose_name=_("store"), on_delete=models.PROTECT,
        related_name="store_profile",
    )  # fmt: skip
    regulator_name = models.CharField(
        _("regulator"), max_length=200, help_text=_("e.g. 上海市静安区市场监督管理局")
    )
    supervision_phone = models.CharField(_("supervision phone"), max_length=40)
    store_complaint_phone = models.CharField(_("store complaint phone"), max_length=40)
    head_office_complaint_phone = models.CharField(
        _("head office complaint phone"), max_length=40, blank=True
    )
    closes_at = models.TimeField(
        _("closing time"), null=True, blank=True,
        help_text=_("The opinion book must be reviewed by then; empty: the company's default."),
    )  # fmt: skip
    keeps_opinion_book = models.BooleanField(_("keeps an opinion book"), default=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("store manager"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    quality_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("quality person"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("store profile")
        verbose_name_plural = _("store profiles")
        permissions = [("view_every_store", _("Can see the books of every store"))]

    def __str__(self) -> str:
        return str(self.store)


class OpinionEntry(AuditedModel, RetainedModel):
    """One entry of a store's customer opinion book (顾客意见簿): the day, who wrote it (name and
    phone encrypted), what they wrote and about what, and the store's answer. A quality-safety
    entry is a quality complaint and is linked to the quality case it raised."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    store = models.ForeignKey(
        "customers.Organization", verbose_name=_("store"), on_delete=models.PROTECT,
        related_name="opinion_entries",
    )  # fmt: skip
    entry_date = models.DateField(_("date"), db_index=True)
    customer_name = EncryptedTextField(_("customer name"), blank=True)
    customer_phone = EncryptedTextField(_("customer phone"), blank=True)
    customer_phone_index = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False
    )
    category = models.CharField(
        _("category"), max_length=20, choices=OpinionCategory.choices, db_index=True
    )
    content = models.TextField(_("what the customer wrote"))
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    batch_number = models.CharField(_("batch number"), max_length=50, blank=True)
    product_text = models.CharField(_("product as written"), max_length=200, blank=True)
    answer = models.TextField(_("handling and answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("answered by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    quality_case = models.ForeignKey(
        "quality.QualityCase", verbose_name=_("quality case"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="opinion_entries",
    )  # fmt: skip
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip

    audit_exclude = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"customer_phone_index"}
    audit_personal = frozenset({"customer_name", "customer_phone"})

    class Meta:
        verbose_name = _("opinion-book entry")
        verbose_name_plural = _("opinion-book entries")
        permissions = [
            ("unmask_opinionentry", _("Can see opinion-book customers' phone numbers")),
            ("escalate_opinionentry", _("Can open a quality case from an opinion-book entry")),
        ]
        indexes = [
            models.Index(fields=["store", "-entry_date", "-id"], name="opinion_store_date"),
            models.Index(fields=["category", "-entry_date"], name="opinion_category_date"),
        ]

    def __str__(self) -> str:
        return self.number or str(_("new opinion-book entry"))

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        # The look-up hash follows the encrypted value whoever writes it (a derived column).
        self.customer_phone_index = blind_index(self.customer_phone) if self.customer_phone else ""
        super().save(*args, **kwargs)

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        if self.entry_date is None:
            return []
        return [("R-DIST", add_years(self.entry_date, STORE_RECORD_YEARS))]

    @property
    def customer_phone_masked(self) -> str:
        return mask_phone(self.customer_phone) if self.customer_phone else ""

    customer_phone_masked.fget.short_description = _("customer phone")  # type: ignore[attr-defined]

    @property
    def customer_name_masked(self) -> str:
        return mask_text(self.customer_name)

    customer_name_masked.fget.short_description = _("customer name")  # type: ignore[attr-defined]


class OpinionBookReview(AuditedModel):
    """The daily check of a store's opinion book (每天都要查看顾客意见簿): who looked, when, and
    what they found. One per store and day (the store's day, in the company's time zone)."""

    store = models.ForeignKey(
        "customers.Organization", verbose_name=_("store"), on_delete=models.PROTECT,
        related_name="opinion_reviews",
    )  # fmt: skip
    day = models.DateField(_("day"), db_index=True)
    reviewed_at = models.DateTimeField(_("reviewed at"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    findings = models.TextField(_("findings"))
    quality_safety_found = models.BooleanField(_("quality or safety problem found"), default=False)

    class Meta:
        verbose_name = _("opinion-book review")
        verbose_name_plural = _("opinion-book reviews")
        constraints = [
            models.UniqueConstraint(fields=["store", "day"], name="one_opinion_review_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.store} {self.day:%Y-%m-%d}"


class MissedReview(AuditedModel):
    """A day a store's opinion book was not reviewed by its closing time, found by the daily
    check; recorded once, with the people who were told."""

    store = models.ForeignKey(
        "customers.Organization", verbose_name=_("store"), on_delete=models.PROTECT,
        related_name="missed_reviews",
    )  # fmt: skip
    day = models.DateField(_("day"), db_index=True)
    deadline = models.DateTimeField(_("deadline"))
    recorded_at = models.DateTimeField(_("recorded at"))
    notified = models.CharField(_("people told"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("missed opinion-book review")
        verbose_name_plural = _("missed opinion-book reviews")
        constraints = [
            models.UniqueConstraint(fields=["store", "day"], name="one_missed_review_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.store} {self.day:%Y-%m-%d}"


class ShortageEntry(AuditedModel, RetainedModel):
    """A line of the out-of-stock register (所缺医疗器械产品登记簿): a customer asked a store for
    a product that was not in stock; how to reach them (encrypted), and when they were told it
    had arrived."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    store = models.ForeignKey(
        "customers.Organization", verbose_name=_("store"), on_delete=models.PROTECT,
        related_name="shortage_entries",
    )  # fmt: skip
    requested_on = models.DateField(_("asked on"), db_index=True)
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    part = models.ForeignKey(
        "inventory.Part", verbose_name=_("part"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    product_text = models.CharField(_("product as asked for"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    customer_name = EncryptedTextField(_("customer name"), blank=True)
    customer_phone = EncryptedTextField(_("customer phone"), blank=True)
    customer_phone_index = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False
    )
    customer_email = EncryptedTextField(_("customer e-mail"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ShortageStatus.choices, default=ShortageStatus.OPEN,
        db_index=True,
    )  # fmt: skip
    notified_at = models.DateTimeField(_("customer told at"), null=True, blank=True)
    notified_by = models.CharField(_("told by"), max_length=50, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    close_note = models.TextField(_("closing note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip

    audit_exclude = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"customer_phone_index"}
    audit_personal = frozenset({"customer_name", "customer_phone", "customer_email"})

    class Meta:
        verbose_name = _("out-of-stock register entry")
        verbose_name_plural = _("out-of-stock register")
        permissions = [
            ("close_shortageentry", _("Can close out-of-stock register entries")),
            ("unmask_shortageentry", _("Can see out-of-stock customers' contact details")),
        ]
        indexes = [
            models.Index(fields=["store", "-requested_on", "-id"], name="shortage_store_date"),
            models.Index(
                fields=["part"], name="shortage_open_part",
                condition=Q(status="open", notified_at__isnull=True),
            ),
            models.Index(
                fields=["device_model"], name="shortage_open_model",
                condition=Q(status="open", notified_at__isnull=True),
            ),
        ]  # fmt: skip
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="shortage_quantity_positive"),
        ]

    def __str__(self) -> str:
        return self.number or str(_("new out-of-stock entry"))

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.customer_phone_index = blind_index(self.customer_phone) if self.customer_phone else ""
        super().save(*args, **kwargs)

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        if self.requested_on is None:
            return []
        return [("R-DIST", add_years(self.requested_on, STORE_RECORD_YEARS))]

    @property
    def product_label(self) -> str:
        if self.part_id:
            return str(self.part)
        if self.device_model_id:
            return f"{self.device_model.name} {self.device_model.model_spec}"
        return self.product_text

    product_label.fget.short_description = _("product")  # type: ignore[attr-defined]

    @property
    def customer_phone_masked(self) -> str:
        return mask_phone(self.customer_phone) if self.customer_phone else ""

    customer_phone_masked.fget.short_description = _("customer phone")  # type: ignore[attr-defined]

    @property
    def customer_name_masked(self) -> str:
        return mask_text(self.customer_name)

    customer_name_masked.fget.short_description = _("customer name")  # type: ignore[attr-defined]


class Letter(AuditedModel, RetainedModel):
    """A letter, fax or e-mail exchanged with a customer (来往函件), numbered in one sequence
    and filed under the organisation and, when it is about one, the product; it may concern a
    service request or a quality case."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=LetterKind.choices)
    direction = models.CharField(_("direction"), max_length=5, choices=LetterDirection.choices)
    letter_date = models.DateField(_("date"), db_index=True)
    subject = models.CharField(_("subject"), max_length=300)
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="letters",
    )  # fmt: skip
    counterpart = models.CharField(
        _("from / to"), max_length=300, blank=True,
        help_text=_("The sender of a received letter, the addressee of a sent one."),
    )  # fmt: skip
    their_reference = models.CharField(_("their reference"), max_length=100, blank=True)
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="letters",
    )  # fmt: skip
    summary = models.TextField(pgettext_lazy("letter", "summary"), blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("service request"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="letters",
    )  # fmt: skip
    quality_case = models.ForeignKey(
        "quality.QualityCase", verbose_name=_("quality case"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="letters",
    )  # fmt: skip
    email_message_id = models.CharField(
        _("e-mail message id"), max_length=300, blank=True, editable=False
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip

    class Meta:
        verbose_name = _("correspondence")
        verbose_name_plural = _("correspondence")
        indexes = [
            models.Index(fields=["organization", "-letter_date", "-id"], name="letter_org_date"),
            models.Index(fields=["device_model", "-letter_date"], name="letter_model_date"),
        ]
        constraints = [
            # The same e-mail is filed once, however often it is uploaded.
            models.UniqueConstraint(
                fields=["email_message_id"], condition=~Q(email_message_id=""),
                name="one_letter_per_email_message",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number or str(_("new correspondence"))

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        if self.letter_date is None:
            return []
        return [("R-DIST", add_years(self.letter_date, STORE_RECORD_YEARS))]


def letter_file_path(instance: LetterFile, filename: str) -> str:
    return f"correspondence/{instance.letter_id}/{filename}"


class LetterFile(AuditedModel):
    """A file kept with a piece of correspondence: the scan of a letter or fax, the original
    e-mail (.eml) and what was attached to it."""

    letter = models.ForeignKey(
        Letter, verbose_name=_("correspondence"), on_delete=models.CASCADE, related_name="files"
    )
    file = models.FileField(_("file"), upload_to=letter_file_path)
    content_type = models.CharField(_("content type"), max_length=100, editable=False)
    original_name = models.CharField(_("file name"), max_length=255, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True,
        on_delete=models.PROTECT, related_name="+", editable=False,
    )  # fmt: skip

    class Meta:
        verbose_name = _("correspondence file")
        verbose_name_plural = _("correspondence files")

    def __str__(self) -> str:
        return self.original_name


# --- follow-ups and surveys ---


class FollowUp(AuditedModel):
    """A follow-up task (回访): a call to the customer after a service request closed (SOP-4,
    within a month), or a check that the device is used normally after a repair. It has one
    source, an assignee and a due date; each call try is an attempt; the coded outcome closes
    it, and a bad outcome reopens the request or opens a new one."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=FollowUpKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=FollowUpStatus.choices,
        default=FollowUpStatus.OPEN, db_index=True,
    )  # fmt: skip
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("service request"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="follow_ups",
    )  # fmt: skip
    work_order = models.ForeignKey(
        "work_orders.WorkOrder", verbose_name=_("work order"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="follow_ups",
    )  # fmt: skip
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="follow_ups",
    )  # fmt: skip
    device = models.ForeignKey(
        "installed_base.Device", verbose_name=_("device"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="follow_ups",
    )  # fmt: skip
    contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("contact"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="follow_ups",
    )  # fmt: skip
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="follow_ups",
    )  # fmt: skip
    due_on = models.DateField(_("due on"), db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=FollowUpOutcome.choices, blank=True
    )
    outcome_note = models.TextField(_("what the customer said"), blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("completed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    # The request a bad outcome reopened or opened.
    resulting_ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("resulting service request"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="follow_ups_resulting",
    )  # fmt: skip

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["due_on", "pk"]
        permissions = [("record_followup", _("Can record follow-up outcomes"))]
        indexes = [models.Index(fields=["status", "due_on"], name="feedback_followup_due")]
        constraints = [
            # One task per source: a request's call, a work order's use check.
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(kind=FollowUpKind.CALL),
                name="feedback_one_call_per_ticket",
            ),
            models.UniqueConstraint(
                fields=["work_order"], condition=Q(kind=FollowUpKind.USE_CHECK),
                name="feedback_one_check_per_work_order",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.number


class FollowUpAttempt(models.Model):
    """One try to reach the customer for a follow-up: when, by whom, the outcome and notes."""

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(_("at"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    outcome = models.CharField(_("outcome"), max_length=20, choices=FollowUpOutcome.choices)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("follow-up attempt")
        verbose_name_plural = _("follow-up attempts")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.follow_up_id} {self.at:%Y-%m-%d %H:%M} {self.outcome}"


class CustomerVisit(AuditedModel):
    """A visit to a customer (走访), planned or not: who went, when, whom they met and what the
    customer said; the customer's written opinions are recorded one by one and routed."""

    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=VisitKind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=VisitStatus.choices, default=VisitStatus.PLANNED,
        db_index=True,
    )  # fmt: skip
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="customer_visits",
    )  # fmt: skip
    department = models.ForeignKey(
        "customers.Department", verbose_name=_("department"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("visitor"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="customer_visits",
    )  # fmt: skip
    planned_on = models.DateField(_("planned on"), null=True, blank=True, db_index=True)
    visited_on = models.DateField(_("visited on"), null=True, blank=True)
    purpose = models.CharField(_("purpose"), max_length=300)
    people_met = models.CharField(_("people met"), max_length=300, blank=True)
    summary = models.TextField(pgettext_lazy("customer visit", "summary"), blank=True)

    class Meta:
        verbose_name = _("customer visit")
        verbose_name_plural = _("customer visits")
        ordering = ["-planned_on", "-pk"]

    def __str__(self) -> str:
        return self.number


class VisitOpinion(AuditedModel):
    """A customer's written opinion taken on a visit (书面意见), routed to the department
    concerned: who is told, who must answer, the answer and when it was given."""

    visit = models.ForeignKey(
        CustomerVisit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="opinions"
    )
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    text = models.TextField(_("opinion"))
    given_by = models.CharField(_("given by"), max_length=100, blank=True)
    concerned = models.CharField(
        _("department concerned"), max_length=20, choices=ConcernedDepartment.choices
    )
    routed_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("answered by (responsible)"),
        on_delete=models.PROTECT, related_name="visit_opinions",
    )  # fmt: skip
    status = models.CharField(
        _("status"), max_length=20, choices=OpinionStatus.choices, default=OpinionStatus.OPEN,
        db_index=True,
    )  # fmt: skip
    due_on = models.DateField(_("answer due on"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("answered by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("visit opinion")
        verbose_name_plural = _("visit opinions")
        ordering = ["pk"]
        permissions = [("answer_visitopinion", _("Can answer any routed opinion"))]

    def __str__(self) -> str:
        return f"{self.visit} · {self.get_concerned_display()}"


class SurveyQuestion(AuditedModel):
    """A question of the satisfaction survey, in Chinese and English: a 1–5 score, a 0–10
    recommendation (NPS) or free text; inactive questions are no longer asked."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=QuestionKind.choices)
    text_zh = models.CharField(_("text (Chinese)"), max_length=300)
    text_en = models.CharField(_("text (English)"), max_length=300)
    active = models.BooleanField(_("active"), default=True, db_index=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    required = models.BooleanField(_("answer required"), default=True)

    class Meta:
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.code

    def text_in(self, language: str) -> str:
        return self.text_en if (language or "").startswith("en") else self.text_zh


class SurveyCampaign(AuditedModel):
    """A periodic customer evaluation questionnaire (定期客户满意度调查): one survey to every
    active customer organisation's contact, once per period."""

    period_start = models.DateField(_("period starts"), unique=True)
    period_end = models.DateField(_("period ends"))
    title = models.CharField(_("title"), max_length=200)

    class Meta:
        verbose_name = _("survey campaign")
        verbose_name_plural = _("survey campaigns")
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return self.title


class Survey(AuditedModel):
    """A satisfaction survey (满意度调查) of one closed case — a service request or a work
    order — or of a periodic campaign, sent by e-mail, SMS or the portal through a one-time
    link that expires. Only the token's hash is stored. The engineer, team, region and model
    are copied at creation so results count the case as it was."""

    subject = models.CharField(_("subject"), max_length=20, choices=SurveySubject.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=SurveyStatus.choices, default=SurveyStatus.PENDING,
        db_index=True,
    )  # fmt: skip
    ticket = models.OneToOneField(
        "tickets.Ticket", verbose_name=_("service request"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="survey",
    )  # fmt: skip
    work_order = models.OneToOneField(
        "work_orders.WorkOrder", verbose_name=_("work order"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="survey",
    )  # fmt: skip
    campaign = models.ForeignKey(
        SurveyCampaign, verbose_name=_("campaign"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="surveys",
    )  # fmt: skip
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="surveys",
    )  # fmt: skip
    contact = models.ForeignKey(
        "customers.Contact", verbose_name=_("contact"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="surveys",
    )  # fmt: skip
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("engineer"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    team = models.ForeignKey(
        "tickets.Team", verbose_name=_("team"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    device_model = models.ForeignKey(
        "catalog.DeviceModel", verbose_name=_("device model"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    channel = models.CharField(
        _("sent by"), max_length=20, choices=SurveyChannel.choices, blank=True
    )
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    link_expires_at = models.DateTimeField(_("link expires at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    low_score = models.BooleanField(_("low score"), default=False)

    audit_exclude = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"token_hash"}

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("send_survey", _("Can send satisfaction surveys")),
            ("view_survey_results", _("Can see survey results")),
        ]
        constraints = [
            # One survey per case: the case it surveys, exactly one source.
            models.CheckConstraint(
                condition=(
                    Q(subject=SurveySubject.TICKET, ticket__isnull=False,
                      work_order__isnull=True, campaign__isnull=True)
                    | Q(subject=SurveySubject.WORK_ORDER, ticket__isnull=True,
                        work_order__isnull=False, campaign__isnull=True)
                    | Q(subject=SurveySubject.PERIODIC, ticket__isnull=True,
                        work_order__isnull=True, campaign__isnull=False)
                ),
                name="feedback_survey_one_source",
            ),
            models.UniqueConstraint(
                fields=["campaign", "organization"], condition=Q(campaign__isnull=False),
                name="feedback_one_survey_per_campaign_organization",
            ),
        ]  # fmt: skip
        indexes = [models.Index(fields=["organization", "status"], name="feedback_survey_org")]

    def __str__(self) -> str:
        case = self.ticket or self.work_order or self.campaign
        return f"{_('Survey')} {case}"


class SurveyAnswer(models.Model):
    """One answer of a survey: a score (1–5 or 0–10) or a text, for one question."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(SurveyQuestion, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        ordering = ["question__order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "question"], name="feedback_one_answer_per_question"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__lte=10),
                name="feedback_answer_score_0_to_10",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.score if self.score is not None else self.text[:40]}"


class SurveyEscalation(AuditedModel):
    """The service manager's task after a low survey score: say what was done; the customer is
    told. Reminded once when overdue."""

    survey = models.OneToOneField(
        Survey, verbose_name=_("survey"), on_delete=models.PROTECT, related_name="escalation"
    )
    organization = models.ForeignKey(
        "customers.Organization", verbose_name=_("organisation"), on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assignee"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="survey_escalations",
    )  # fmt: skip
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(
        _("status"), max_length=20, choices=EscalationStatus.choices,
        default=EscalationStatus.OPEN, db_index=True,
    )  # fmt: skip
    due_at = models.DateTimeField(_("answer due"), db_index=True)
    action_taken = models.TextField(_("what was done"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("answered by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    customer_told_at = models.DateTimeField(_("customer told at"), null=True, blank=True)

    class Meta:
        verbose_name = _("low-score follow-up")
        verbose_name_plural = _("low-score follow-ups")
        ordering = ["due_at", "pk"]
        permissions = [("answer_surveyescalation", _("Can answer low-score follow-ups"))]

    def __str__(self) -> str:
        return f"{self.survey} · {self.get_status_display()}"
