"""Follow-ups, customer visits and their opinions, surveys, survey questions and low-score
tasks as UI and API resources, and their tabs on the pages of a service request, a device and
an organisation."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.core.registry import Related, Resource, register, related_register
from medservice.core.services import record_create, record_update
from medservice.feedback import views_followups, views_surveys
from medservice.feedback.api.followups import (
    CustomerVisitSerializer,
    FollowUpSerializer,
    VisitOpinionSerializer,
)
from medservice.feedback.api.surveys import (
    SurveyEscalationSerializer,
    SurveyQuestionSerializer,
    SurveySerializer,
)
from medservice.feedback.forms_followups import (
    CustomerVisitFilter,
    CustomerVisitForm,
    FollowUpFilter,
    FollowUpForm,
    SurveyEscalationFilter,
    SurveyFilter,
    SurveyQuestionFilter,
    SurveyQuestionForm,
    VisitOpinionFilter,
)
from medservice.feedback.models import (
    CustomerVisit,
    FollowUp,
    Survey,
    SurveyEscalation,
    SurveyQuestion,
    VisitOpinion,
)
from medservice.feedback.selectors_followups import (
    customer_visits_visible_to,
    follow_ups_visible_to,
    survey_escalations_visible_to,
    survey_questions_visible_to,
    surveys_visible_to,
    visit_opinions_visible_to,
)
from medservice.feedback.services_followups import visit_create, visit_update


def follow_up_update(
    *, actor: Any, instance: FollowUp, data: dict[str, Any], expected_version: Any = None
) -> FollowUp:
    """Only the assignee and the due date change by hand; the rest follows the calls."""
    allowed = {key: value for key, value in data.items() if key in ("assignee", "due_on")}
    return record_update(
        actor=actor, instance=instance, data=allowed, expected_version=expected_version
    )


follow_ups = register(
    Resource(
        name="follow-ups",
        model=FollowUp,
        selector=follow_ups_visible_to,
        namespace="feedback",
        list_columns=["number", "kind", "status", "organization", "assignee", "due_on",
                      "attempts", "outcome"],
        detail_fields=["number", "kind", "status", "ticket", "work_order", "organization",
                       "device", "contact", "assignee", "due_on", "attempts", "outcome",
                       "outcome_note", "completed_at", "completed_by", "resulting_ticket"],
        export_fields=["id", "number", "kind", "status", "organization", "ticket",
                       "work_order", "assignee", "due_on", "attempts", "outcome",
                       "completed_at"],
        form_class=FollowUpForm,
        filterset_class=FollowUpFilter,
        serializer_class=FollowUpSerializer,
        search_fields=["number", "ticket__number", "work_order__number"],
        ordering_fields=["due_on", "number", "status"],
        default_ordering=["due_on", "pk"],
        select_related=["organization", "assignee", "contact"],
        create=None,
        update=follow_up_update,
        delete=None,
        api_basename="follow-up",
        detail_view=views_followups.FollowUpDetailView,
    )
)  # fmt: skip

customer_visits = register(
    Resource(
        name="customer-visits",
        model=CustomerVisit,
        selector=customer_visits_visible_to,
        namespace="feedback",
        list_columns=["number", "kind", "status", "organization", "visitor", "planned_on",
                      "visited_on", "purpose"],
        detail_fields=["number", "kind", "status", "organization", "department", "visitor",
                       "planned_on", "visited_on", "purpose", "people_met", "summary"],
        form_class=CustomerVisitForm,
        filterset_class=CustomerVisitFilter,
        serializer_class=CustomerVisitSerializer,
        search_fields=["number", "organization__name", "purpose"],
        ordering_fields=["planned_on", "visited_on", "number"],
        default_ordering=["-planned_on", "-pk"],
        select_related=["organization", "visitor"],
        prefetch_related=["opinions"],
        create=visit_create,
        update=visit_update,
        delete=None,
        api_basename="customer-visit",
        detail_view=views_followups.CustomerVisitDetailView,
    )
)  # fmt: skip

visit_opinions = register(
    Resource(
        name="visit-opinions",
        model=VisitOpinion,
        selector=visit_opinions_visible_to,
        namespace="feedback",
        list_columns=["visit", "organization", "concerned", "routed_to", "status", "due_on",
                      "answered_at"],
        detail_fields=["visit", "organization", "text", "given_by", "concerned", "routed_to",
                       "status", "due_on", "answer", "answered_at", "answered_by"],
        filterset_class=VisitOpinionFilter,
        serializer_class=VisitOpinionSerializer,
        search_fields=["text", "visit__number"],
        ordering_fields=["due_on", "status"],
        default_ordering=["status", "due_on", "pk"],
        select_related=["visit", "organization", "routed_to"],
        create=None,
        update=None,
        delete=None,
        api_basename="visit-opinion",
    )
)  # fmt: skip

surveys = register(
    Resource(
        name="surveys",
        model=Survey,
        selector=surveys_visible_to,
        namespace="feedback",
        list_columns=["id", "subject", "status", "organization", "ticket", "work_order",
                      "channel", "sent_at", "answered_at", "low_score"],
        detail_fields=["subject", "status", "ticket", "work_order", "campaign", "organization",
                       "contact", "language", "engineer", "team", "region", "device_model",
                       "channel", "sent_at", "link_expires_at", "answered_at", "low_score"],
        export_fields=["id", "subject", "status", "organization", "ticket", "work_order",
                       "engineer", "team", "region", "device_model", "channel", "sent_at",
                       "answered_at", "low_score"],
        filterset_class=SurveyFilter,
        serializer_class=SurveySerializer,
        search_fields=["ticket__number", "work_order__number", "organization__name"],
        ordering_fields=["sent_at", "answered_at", "status"],
        default_ordering=["-created_at", "-pk"],
        select_related=["organization", "ticket", "work_order"],
        create=None,
        update=None,
        delete=None,
        api_basename="survey",
        detail_view=views_surveys.SurveyDetailView,
    )
)  # fmt: skip

survey_questions = register(
    Resource(
        name="survey-questions",
        model=SurveyQuestion,
        selector=survey_questions_visible_to,
        namespace="feedback",
        list_columns=["order", "code", "kind", "text_zh", "text_en", "active", "required"],
        detail_fields=["code", "kind", "text_zh", "text_en", "active", "order", "required"],
        form_class=SurveyQuestionForm,
        filterset_class=SurveyQuestionFilter,
        serializer_class=SurveyQuestionSerializer,
        search_fields=["code", "text_zh", "text_en"],
        ordering_fields=["order", "code"],
        default_ordering=["order", "pk"],
        create=record_create,
        update=record_update,
        # Answers point to their question: a question is made inactive, never deleted.
        delete=None,
        api_basename="survey-question",
        organization_scoped=False,
    )
)  # fmt: skip

survey_escalations = register(
    Resource(
        name="survey-escalations",
        model=SurveyEscalation,
        selector=survey_escalations_visible_to,
        namespace="feedback",
        list_columns=["survey", "organization", "assignee", "status", "due_at", "reason",
                      "answered_at"],
        detail_fields=["survey", "organization", "assignee", "reason", "status", "due_at",
                       "action_taken", "answered_at", "answered_by", "reminded_at",
                       "customer_told_at"],
        filterset_class=SurveyEscalationFilter,
        serializer_class=SurveyEscalationSerializer,
        ordering_fields=["due_at", "status"],
        default_ordering=["status", "due_at", "pk"],
        select_related=["survey__ticket", "survey__work_order", "survey__campaign",
                        "organization", "assignee"],
        create=None,
        update=None,
        delete=None,
        api_basename="survey-escalation",
        detail_view=views_surveys.SurveyEscalationDetailView,
    )
)  # fmt: skip

# The action pages taking a record's id scope through their resource (the scoping tests).
views_followups.follow_up_outcome.resource = follow_ups  # type: ignore[attr-defined]
views_followups.visit_opinion_add.resource = customer_visits  # type: ignore[attr-defined]
views_followups.visit_opinion_answer.resource = visit_opinions  # type: ignore[attr-defined]
views_surveys.survey_send_view.resource = surveys  # type: ignore[attr-defined]
views_surveys.escalation_answer_view.resource = survey_escalations  # type: ignore[attr-defined]
views_surveys.portal_survey_open.resource = surveys  # type: ignore[attr-defined]


def _follow_ups_of_ticket(ticket: Any, user: Any) -> QuerySet[FollowUp]:
    return follow_ups_visible_to(user).filter(ticket=ticket).order_by("-pk")


def _follow_ups_of_device(device: Any, user: Any) -> QuerySet[FollowUp]:
    return follow_ups_visible_to(user).filter(device=device).order_by("-pk")


def _visits_of_organization(organization: Any, user: Any) -> QuerySet[CustomerVisit]:
    return customer_visits_visible_to(user).filter(organization=organization).order_by("-pk")


def _surveys_of_organization(organization: Any, user: Any) -> QuerySet[Survey]:
    return surveys_visible_to(user).filter(organization=organization).order_by("-pk")


related_register(
    "tickets",
    Related(_("Follow-ups"), _follow_ups_of_ticket,
            ["number", "kind", "status", "due_on", "outcome"], "feedback:follow-ups-detail"),
)  # fmt: skip
related_register(
    "devices",
    Related(_("Follow-ups"), _follow_ups_of_device,
            ["number", "kind", "status", "due_on", "outcome"], "feedback:follow-ups-detail"),
)  # fmt: skip
related_register(
    "organizations",
    Related(_("Customer visits"), _visits_of_organization,
            ["number", "kind", "status", "planned_on", "visited_on"],
            "feedback:customer-visits-detail"),
)  # fmt: skip
related_register(
    "organizations",
    Related(_("Satisfaction surveys"), _surveys_of_organization,
            ["id", "subject", "status", "sent_at", "answered_at", "low_score"],
            "feedback:surveys-detail"),
)  # fmt: skip
