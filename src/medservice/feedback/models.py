"""Models of this app (see the docstring of each), one section per area."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from medservice.core.models import AuditedModel

# --- follow-ups and surveys ---
from medservice.feedback.choices import (
    ConcernedDepartment,
    EscalationStatus,
    FollowUpKind,
    FollowUpOutcome,
    FollowUpStatus,
    OpinionStatus,
    QuestionKind,
    SurveyChannel,
    SurveyStatus,
    SurveySubject,
    VisitKind,
    VisitStatus,
)


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
    summary = models.TextField(_("summary"), blank=True)

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


# --- stores, shortages, correspondence ---
