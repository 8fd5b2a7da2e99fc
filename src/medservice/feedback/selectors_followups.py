"""Who sees which follow-ups, visits and surveys, and the survey results.

Internal staff see all; a distributor those of the organisations it serves; a customer user
its own organisation's. Permissions decide which kinds a role sees at all: customers get only
their surveys (to answer them in the portal); follow-up calls, visits and low-score tasks are
the company's internal work.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from medservice.customers.selectors import organization_ids_visible_to, user_scope
from medservice.feedback.choices import (
    EscalationStatus,
    FollowUpStatus,
    QuestionKind,
    SurveyStatus,
)
from medservice.feedback.models import (
    CustomerVisit,
    FollowUp,
    Survey,
    SurveyAnswer,
    SurveyEscalation,
    SurveyQuestion,
    VisitOpinion,
)


def _scoped(queryset: QuerySet, user: Any) -> QuerySet:
    ids = organization_ids_visible_to(user)
    if ids is None:
        return queryset
    return queryset.filter(organization__in=ids)


def follow_ups_visible_to(user: Any) -> QuerySet[FollowUp]:
    return _scoped(FollowUp.objects.all(), user)


def follow_ups_overdue(user: Any, *, today: datetime.date | None = None) -> QuerySet[FollowUp]:
    today = today or timezone.localdate()
    return follow_ups_visible_to(user).filter(status=FollowUpStatus.OPEN, due_on__lt=today)


def customer_visits_visible_to(user: Any) -> QuerySet[CustomerVisit]:
    return _scoped(CustomerVisit.objects.all(), user)


def visit_opinions_visible_to(user: Any) -> QuerySet[VisitOpinion]:
    return _scoped(VisitOpinion.objects.all(), user)


def surveys_visible_to(user: Any) -> QuerySet[Survey]:
    return _scoped(Survey.objects.all(), user)


def surveys_open_for_customer(user: Any) -> QuerySet[Survey]:
    """The surveys a customer may still answer in the portal."""
    return (
        surveys_visible_to(user)
        .filter(status__in=[SurveyStatus.PENDING, SurveyStatus.SENT])
        .select_related("ticket", "work_order", "campaign")
        .order_by("-created_at", "-pk")
    )


def survey_escalations_visible_to(user: Any) -> QuerySet[SurveyEscalation]:
    return _scoped(SurveyEscalation.objects.all(), user)


def survey_escalations_overdue(user: Any) -> QuerySet[SurveyEscalation]:
    return survey_escalations_visible_to(user).filter(
        status=EscalationStatus.OPEN, due_at__lt=timezone.now()
    )


def survey_questions_visible_to(user: Any) -> QuerySet[SurveyQuestion]:
    # Company configuration: read by staff, not by customers or distributors.
    if user_scope(user) != "internal":
        return SurveyQuestion.objects.none()
    return SurveyQuestion.objects.all()


def answers_of(survey: Survey) -> QuerySet[SurveyAnswer]:
    return survey.answers.select_related("question").order_by("question__order", "pk")


# --- results ----------------------------------------------------------------------------------

GROUPINGS = {
    "engineer": ("survey__engineer_id", "survey__engineer__username"),
    "team": ("survey__team_id", "survey__team__name"),
    "region": ("survey__region", "survey__region"),
    "device_model": ("survey__device_model_id", "survey__device_model__name"),
}


@dataclass
class ResultRow:
    key: Any
    label: str
    surveys: int = 0
    averages: dict[str, float | None] = field(default_factory=dict)
    promoters: int = 0
    detractors: int = 0
    recommendations: int = 0

    @property
    def nps(self) -> float | None:
        """Net promoter score: % of 9–10 minus % of 0–6 among the recommendations."""
        if not self.recommendations:
            return None
        return round(100 * (self.promoters - self.detractors) / self.recommendations, 1)


def survey_results(
    user: Any, *, by: str, date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> tuple[list[SurveyQuestion], list[ResultRow]]:  # fmt: skip
    """Answered surveys in the user's scope, grouped by engineer, team, region or model: per
    group the number of surveys, the average of each score question and the NPS. Three
    queries whatever the number of groups."""
    key_field, label_field = GROUPINGS[by]
    surveys = surveys_visible_to(user).filter(status=SurveyStatus.ANSWERED)
    if date_from:
        surveys = surveys.filter(answered_at__date__gte=date_from)
    if date_to:
        surveys = surveys.filter(answered_at__date__lte=date_to)
    answers = SurveyAnswer.objects.filter(survey__in=surveys.values("pk"), score__isnull=False)
    questions = list(SurveyQuestion.objects.exclude(kind=QuestionKind.TEXT).order_by("order", "pk"))
    rows: dict[Any, ResultRow] = {}
    grouped = (
        answers.values(key_field, label_field, "question__code", "question__kind")
        .annotate(
            average=Avg("score"), answered=Count("survey", distinct=True),
            promoters=Count("pk", filter=Q(score__gte=9)),
            detractors=Count("pk", filter=Q(score__lte=6)), total=Count("pk"),
        )
        .order_by(label_field)
    )  # fmt: skip
    for item in grouped:
        key = item[key_field]
        row = rows.setdefault(key, ResultRow(key=key, label=str(item[label_field] or "—")))
        row.averages[item["question__code"]] = round(float(item["average"]), 2)
        if item["question__kind"] == QuestionKind.RECOMMENDATION:
            row.promoters += item["promoters"]
            row.detractors += item["detractors"]
            row.recommendations += item["total"]
    counts = surveys.values(key_field.removeprefix("survey__")).annotate(count=Count("pk"))
    for item in counts:
        key = item[key_field.removeprefix("survey__")]
        if key in rows:
            rows[key].surveys = item["count"]
    return questions, sorted(rows.values(), key=lambda row: row.label)
