"""Survey pages: the staff survey page (answers, send again), the low-score task page (say
what was done), the results page, the customer's open surveys in the portal, and the public
survey page (/survey/<token>/, no sign-in, mobile-first, rate-limited, in the customer's
language)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from medservice.core.errors import DomainError
from medservice.core.views import ResourceDetailView
from medservice.feedback import forms_followups as feedback_forms
from medservice.feedback.choices import EscalationStatus, QuestionKind, SurveyStatus
from medservice.feedback.views_followups import action_view

STATUS_BADGE = {"pending": "secondary", "sent": "info", "answered": "success"}


class SurveyDetailView(ResourceDetailView):
    """A survey: its answers, the low-score task if any, and a form to send it again."""

    extra_template = "feedback/surveys/survey_panel.html"
    bound_form: forms.Form | None = None

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        from medservice.feedback.selectors_followups import answers_of

        user = self.request.user
        return {
            "survey": obj,
            "badge": STATUS_BADGE.get(obj.status, "secondary"),
            "answers": list(answers_of(obj)),
            "escalation": getattr(obj, "escalation", None),
            "can_send": obj.status != SurveyStatus.ANSWERED
            and user.has_perm("feedback.send_survey"),
            "send_form": self.bound_form or feedback_forms.SurveySendForm(),
        }


def _send(user: Any, record: Any, data: dict[str, Any]) -> Any:
    from medservice.feedback.services_surveys import survey_send

    return survey_send(actor=user, survey=record, **data)


survey_send_view = action_view(
    resource_name="surveys", view_class=SurveyDetailView,
    form_class=feedback_forms.SurveySendForm, permission="feedback.send_survey",
    run=_send, done=_("The survey was sent."),
)  # fmt: skip


class SurveyEscalationDetailView(ResourceDetailView):
    """A low score to act on: the answers that were low, and the form saying what was done."""

    extra_template = "feedback/surveys/escalation_panel.html"
    bound_form: forms.Form | None = None

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        from medservice.feedback.selectors_followups import answers_of

        return {
            "escalation": obj,
            "answers": list(answers_of(obj.survey)),
            "can_answer": obj.status == EscalationStatus.OPEN
            and self.request.user.has_perm("feedback.answer_surveyescalation"),
            "answer_form": self.bound_form or feedback_forms.EscalationAnswerForm(),
        }


def _answer(user: Any, record: Any, data: dict[str, Any]) -> Any:
    from medservice.feedback.services_surveys import escalation_answer

    return escalation_answer(actor=user, escalation=record, **data)


escalation_answer_view = action_view(
    resource_name="survey-escalations", view_class=SurveyEscalationDetailView,
    form_class=feedback_forms.EscalationAnswerForm,
    permission="feedback.answer_surveyescalation",
    run=_answer, done=_("The answer was recorded and the customer told."),
)  # fmt: skip


@login_required
def results(request: HttpRequest) -> HttpResponse:
    """Averages, counts and NPS per engineer, team, region or model, in the user's scope."""
    from medservice.feedback.selectors_followups import survey_results

    if not request.user.has_perm("feedback.view_survey_results"):
        raise Http404
    form = feedback_forms.ResultsForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    by = data.get("by") or "engineer"
    questions, rows = survey_results(
        request.user, by=by, date_from=data.get("date_from"), date_to=data.get("date_to")
    )
    language = translation.get_language() or "zh-hans"
    return render(
        request,
        "feedback/surveys/results.html",
        {
            "form": form,
            "questions": [(item.code, item.text_in(language)) for item in questions],
            "rows": [
                {"row": row, "cells": [row.averages.get(item.code) for item in questions]}
                for row in rows
            ],
        },
        status=400 if form.is_bound and form.errors else 200,
    )


# --- the customer's portal ------------------------------------------------------------------------


@login_required
def portal_surveys(request: HttpRequest) -> HttpResponse:
    """The customer's surveys still to answer, each opened by a fresh one-time link."""
    from medservice.feedback.selectors_followups import surveys_open_for_customer

    if not request.user.has_perm("feedback.view_survey"):
        raise Http404
    surveys = list(surveys_open_for_customer(request.user)[:50])
    return render(request, "feedback/surveys/portal.html", {"surveys": surveys, "tab": "surveys"})


portal_surveys.scoping_exempt = "lists only the user's own scope (surveys_visible_to)"  # type: ignore[attr-defined]


@login_required
@require_POST
def portal_survey_open(request: HttpRequest, pk: int) -> HttpResponse:
    from medservice.feedback.selectors_followups import surveys_open_for_customer
    from medservice.feedback.services_surveys import survey_link_for_portal

    if not request.user.has_perm("feedback.view_survey"):
        raise Http404
    survey = get_object_or_404(surveys_open_for_customer(request.user), pk=pk)
    try:
        token = survey_link_for_portal(actor=request.user, survey=survey)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("feedback:portal-surveys")
    return redirect("survey-answer", token=token)


# --- the public page ------------------------------------------------------------------------------


def _question_rows(questions: list[Any], language: str, data: Any, errors: dict) -> list[dict]:
    rows = []
    for question in questions:
        if question.kind == QuestionKind.SCORE:
            choices = list(range(1, 6))
        elif question.kind == QuestionKind.RECOMMENDATION:
            choices = list(range(0, 11))
        else:
            choices = []
        rows.append({
            "question": question, "text": question.text_in(language), "choices": choices,
            "value": str(data.get(question.code, "")) if data else "",
            "errors": errors.get(question.code, []),
        })  # fmt: skip
    return rows


@require_http_methods(["GET", "POST"])
def survey_public(request: HttpRequest, token: str) -> HttpResponse:
    """The survey a customer opens from the link: no sign-in. Used, expired or unknown links
    are refused with a clear page; a bad answer comes back with each question's problem."""
    from medservice.feedback.services_surveys import (
        questions_active,
        refusal_message,
        survey_answer,
        survey_for_token,
    )
    from medservice.feedback.throttle_surveys import survey_throttled

    if survey_throttled(request):
        return render(request, "feedback/surveys/public_refused.html",
                      {"message": _("Too many requests from your network. Please try again "
                                    "later.")}, status=429)  # fmt: skip
    check = survey_for_token(token)
    language = (check.survey.language if check.survey else "") or translation.get_language()
    with translation.override(language):
        if check.refusal:
            status = 404 if check.refusal == "unknown" else 410
            return render(request, "feedback/surveys/public_refused.html",
                          {"message": refusal_message(check.refusal),
                           "refusal": check.refusal}, status=status)  # fmt: skip
        questions = questions_active()
        errors: dict[str, list[str]] = {}
        message = ""
        if request.method == "POST":
            submitted = {item.code: request.POST.get(item.code, "") for item in questions}
            try:
                survey_answer(token=token, answers=submitted)
            except DomainError as error:
                errors, message = error.fields, error.message
                if error.status == 409:  # answered meanwhile (another tab), or just expired
                    return render(request, "feedback/surveys/public_refused.html",
                                  {"message": error.message}, status=410)  # fmt: skip
            else:
                return render(request, "feedback/surveys/public_done.html", {})
        return render(
            request,
            "feedback/surveys/public.html",
            {
                "survey": check.survey,
                "rows": _question_rows(
                    questions,
                    language,
                    request.POST if request.method == "POST" else None,
                    errors,
                ),
                "message": message,
                "language": language,
            },
            status=400 if errors else 200,
        )


survey_public.scoping_exempt = (  # type: ignore[attr-defined]
    "public by design: the one-time link's random token is the access; shows no personal data"
)


urlpatterns = [
    path("surveys/<int:pk>/send/", survey_send_view, name="survey-send"),
    path(
        "survey-escalations/<int:pk>/answer/",
        escalation_answer_view,
        name="survey-escalation-answer",
    ),
    path("survey-results/", results, name="survey-results"),
    path("portal/surveys/", portal_surveys, name="portal-surveys"),
    path("portal/surveys/<int:pk>/open/", portal_survey_open, name="portal-survey-open"),
]
