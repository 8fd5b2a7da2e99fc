"""Staff training and certification, performance reviews and violations, the knowledge base and
the controlled service documents: what makes a person fit to work on a product, and the
current, approved documents they work from."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from medservice.core.models import AuditedModel, SignableModel
from medservice.training.choices import (
    ArticleKind,
    ArticleStatus,
    DocumentKind,
    DocumentVersionStatus,
    PlanPeriod,
    SessionStatus,
    TopicCategory,
    ViolationStatus,
    Visibility,
)

SCORE = {"max_digits": 5, "decimal_places": 1}


class TrainingPlan(AuditedModel):
    """A training plan for a year or a quarter (年度/季度培训计划) and its topics."""

    name = models.CharField(_("name"), max_length=200)
    year = models.PositiveSmallIntegerField(_("year"), db_index=True)
    period = models.CharField(
        _("period"), max_length=10, choices=PlanPeriod.choices, default=PlanPeriod.ANNUAL
    )
    quarter = models.PositiveSmallIntegerField(_("quarter"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("training plan")
        verbose_name_plural = _("training plans")
        constraints = [
            models.CheckConstraint(
                condition=(Q(period="annual") & Q(quarter__isnull=True))
                | (Q(period="quarterly") & Q(quarter__gte=1) & Q(quarter__lte=4)),
                name="training_plan_quarter_fits_period",
                violation_error_message=_(
                    "A quarterly plan names its quarter (1–4); an annual plan names none."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name


class TrainingTopic(AuditedModel):
    """One subject of a plan: product knowledge of a model or line, the service process, customer
    communication, complaint handling, regulations or safety."""

    plan = models.ForeignKey(
        TrainingPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="topics"
    )
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=TopicCategory.choices)
    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("device model"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    product_line = models.ForeignKey(
        "catalog.ProductLine",
        verbose_name=_("product line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    planned_on = models.DateField(_("planned for"), null=True, blank=True)
    audience = models.CharField(_("audience"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("training topic")
        verbose_name_plural = _("training topics")
        ordering = ["plan", "planned_on", "pk"]

    def __str__(self) -> str:
        return self.title


class TrainingSession(AuditedModel):
    """A training session held (培训记录): trainer, attendees, materials, attendance and the
    assessment against a pass mark. Passing a session that certifies earns the certification."""

    number = models.CharField(_("session number"), max_length=30, unique=True, editable=False)
    topic = models.ForeignKey(
        TrainingTopic,
        verbose_name=_("plan topic"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sessions",
    )
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=TopicCategory.choices)
    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("device model"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    product_line = models.ForeignKey(
        "catalog.ProductLine",
        verbose_name=_("product line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("trainer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    trainer_name = models.CharField(_("trainer (outside the company)"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    materials = models.FileField(_("materials"), upload_to="training/%Y/", blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=SessionStatus.choices,
        default=SessionStatus.PLANNED,
        db_index=True,
    )
    pass_mark = models.DecimalField(_("pass mark (written)"), default=60, **SCORE)
    practical_required = models.BooleanField(_("practical assessment required"), default=False)
    certifies = models.BooleanField(
        _("passing certifies"),
        default=False,
        help_text=_("Passing earns the certification for the session's model or product line."),
    )
    certification_months = models.PositiveSmallIntegerField(
        _("certification valid for (months)"), null=True, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        permissions = [("record_trainingsession", "Can record attendance and assessment results")]
        constraints = [
            models.CheckConstraint(
                condition=Q(certifies=False)
                | Q(device_model__isnull=False)
                | Q(product_line__isnull=False),
                name="certifying_session_names_what",
                violation_error_message=_(
                    "A session that certifies names the device model or product line."
                ),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=F("starts_at")),
                name="session_ends_after_start",
                violation_error_message=_("A session cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class SessionAttendance(AuditedModel):
    """One person on a session: attended or not, the written score and practical result, pass
    or fail, and their feedback on the training (effectiveness)."""

    session = models.ForeignKey(
        TrainingSession,
        verbose_name=_("session"),
        on_delete=models.CASCADE,
        related_name="attendances",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="training_attendances",
    )
    attended = models.BooleanField(_("attended"), default=False)
    written_score = models.DecimalField(_("written score"), null=True, blank=True, **SCORE)
    practical_passed = models.BooleanField(_("practical passed"), null=True, blank=True)
    passed = models.BooleanField(_("passed"), null=True, blank=True, editable=False)
    feedback_rating = models.PositiveSmallIntegerField(_("feedback (1–5)"), null=True, blank=True)
    feedback_comment = models.TextField(_("feedback"), blank=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        constraints = [
            models.UniqueConstraint(fields=["session", "person"], name="one_attendance_per_person"),
            models.CheckConstraint(
                condition=Q(written_score__isnull=True)
                | (Q(written_score__gte=0) & Q(written_score__lte=100)),
                name="written_score_0_to_100",
            ),
            models.CheckConstraint(
                condition=Q(feedback_rating__isnull=True)
                | (Q(feedback_rating__gte=1) & Q(feedback_rating__lte=5)),
                name="feedback_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session.number} {self.person}"


class Certification(AuditedModel):
    """A person's certification (上岗资格) for a device model or a whole product line, valid from
    one day until another (both included); earned by passing, renewable, revocable."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="certifications",
    )
    device_model = models.ForeignKey(
        "catalog.DeviceModel",
        verbose_name=_("device model"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certifications",
    )
    product_line = models.ForeignKey(
        "catalog.ProductLine",
        verbose_name=_("product line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certifications",
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), db_index=True)
    session = models.ForeignKey(
        TrainingSession,
        verbose_name=_("earned on session"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certifications",
    )
    renews = models.ForeignKey(
        "self",
        verbose_name=_("renews"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewals",
    )
    revoked_on = models.DateField(_("revoked on"), null=True, blank=True)
    revoked_reason = models.TextField(_("why revoked"), blank=True)
    # The end date the expiry reminder was sent for: a renewed certification is reminded again.
    reminded_for = models.DateField(null=True, blank=True, editable=False)

    audit_exclude = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"reminded_for"}

    class Meta:
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        indexes = [
            models.Index(
                fields=["person", "device_model", "valid_until"], name="cert_person_model"
            ),
            models.Index(fields=["person", "product_line", "valid_until"], name="cert_person_line"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(device_model__isnull=False) & Q(product_line__isnull=True))
                | (Q(device_model__isnull=True) & Q(product_line__isnull=False)),
                name="certification_for_model_or_line",
                violation_error_message=_(
                    "A certification is for one device model or one product line."
                ),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")),
                name="certification_dates_in_order",
                violation_error_message=_("A certification cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.device_model or self.product_line}"

    def is_valid_on(self, day: datetime.date) -> bool:
        revoked = self.revoked_on is not None and self.revoked_on <= day
        return self.valid_from <= day <= self.valid_until and not revoked


class PerformanceReview(AuditedModel):
    """A person's review (考核) for a period: the figures, the manager's scores and comments."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="performance_reviews",
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    score = models.DecimalField(_("score"), null=True, blank=True, **SCORE)
    comments = models.TextField(_("manager's comments"), blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    finalised_at = models.DateTimeField(_("finalised at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("performance review")
        verbose_name_plural = _("performance reviews")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="review_period_in_order",
                violation_error_message=_("The period cannot end before it starts."),
            ),
            models.UniqueConstraint(
                fields=["person", "period_start", "period_end"],
                name="one_review_per_person_and_period",
                violation_error_message=_("This person already has a review for this period."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.period_start}–{self.period_end}"


class Violation(AuditedModel):
    """A breach of the service procedures (违规) by a person, and how it was handled."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="violations",
    )
    occurred_on = models.DateField(_("occurred on"), db_index=True)
    description = models.TextField(_("what happened"))
    procedure_reference = models.CharField(_("procedure breached"), max_length=200, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ViolationStatus.choices,
        default=ViolationStatus.OPEN,
        db_index=True,
    )
    handling = models.TextField(_("handling"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True, editable=False)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("violation")
        verbose_name_plural = _("violations")

    def __str__(self) -> str:
        return f"{self.person} {self.occurred_on}"


class KnowledgeArticle(AuditedModel):
    """A solution or service bulletin (知识库 / 服务通告) for models and fault codes; every
    published change is kept as a numbered version."""

    number = models.CharField(_("article number"), max_length=30, unique=True, editable=False)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ArticleKind.choices, default=ArticleKind.SOLUTION
    )
    title = models.CharField(_("title"), max_length=300)
    symptom = models.TextField(_("symptom or subject"), blank=True)
    body = models.TextField(_("solution or content"))
    device_models = models.ManyToManyField(
        "catalog.DeviceModel", verbose_name=_("device models"), blank=True, related_name="articles"
    )
    fault_codes = models.ManyToManyField(
        "catalog.FaultCode", verbose_name=_("fault codes"), blank=True, related_name="articles"
    )
    visibility = models.CharField(
        _("visible to"), max_length=10, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ArticleStatus.choices,
        default=ArticleStatus.DRAFT,
        db_index=True,
    )
    revision = models.PositiveIntegerField(_("version"), default=1, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")
        permissions = [("publish_knowledgearticle", "Can publish and withdraw knowledge articles")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class KnowledgeArticleVersion(models.Model):
    """A published version of an article, kept as it was: what a reader saw at the time."""

    article = models.ForeignKey(
        KnowledgeArticle,
        verbose_name=_("article"),
        on_delete=models.CASCADE,
        related_name="versions",
    )
    revision = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=300)
    symptom = models.TextField(_("symptom or subject"), blank=True)
    body = models.TextField(_("solution or content"))
    visibility = models.CharField(_("visible to"), max_length=10, choices=Visibility.choices)
    change_note = models.CharField(_("what changed"), max_length=300, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"))

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["article", "revision"], name="unique_article_version")
        ]

    def __str__(self) -> str:
        return f"{self.article.number} v{self.revision}"


class ControlledDocument(AuditedModel):
    """A controlled service document (受控文件): a service manual, procedure, checklist or form,
    identified by its code; its versions carry the content and the approval."""

    code = models.CharField(_("document code"), max_length=50, unique=True)
    title = models.CharField(_("title"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    device_models = models.ManyToManyField(
        "catalog.DeviceModel", verbose_name=_("device models"), blank=True, related_name="documents"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("controlled document")
        verbose_name_plural = _("controlled documents")

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class DocumentVersion(AuditedModel, SignableModel):
    """One version of a controlled document: its file and change summary, approved by a signed
    approval, effective from a date; approving a newer one supersedes it (kept, never deleted)."""

    document = models.ForeignKey(
        ControlledDocument,
        verbose_name=_("document"),
        on_delete=models.PROTECT,
        related_name="versions",
    )
    version_label = models.CharField(_("version"), max_length=20)
    file = models.FileField(_("file"), upload_to="documents/%Y/")
    change_summary = models.TextField(_("what changed"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=DocumentVersionStatus.choices,
        default=DocumentVersionStatus.DRAFT,
        db_index=True,
    )
    effective_on = models.DateField(_("effective from"), null=True, blank=True, db_index=True)
    superseded_on = models.DateField(_("superseded on"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    # Once signed, only the life-cycle moves on; the content is frozen.
    mutable_after_signing = frozenset({"status", "superseded_on", "updated_at", "version"})

    class Meta:
        verbose_name = _("document version")
        verbose_name_plural = _("document versions")
        permissions = [("approve_documentversion", "Can approve controlled document versions")]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "version_label"],
                name="unique_document_version_label",
                violation_error_message=_("This document already has a version with this label."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.document.code} {self.version_label}"
