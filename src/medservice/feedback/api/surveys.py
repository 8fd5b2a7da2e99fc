"""API of satisfaction surveys (/api/v1/surveys/, + send), their questions
(/api/v1/survey-questions/), the low-score tasks (/api/v1/survey-escalations/, + answer), the
results (/api/v1/survey-results/) and the public answer endpoint
(POST /api/v1/survey-answers/ with the link's token, no sign-in, rate-limited; the same checks
as the public page)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from medservice.core.api.inputs import action_input
from medservice.core.errors import InvalidInputError, PermissionDeniedError
from medservice.feedback.api.followups import with_post_actions
from medservice.feedback.choices import SurveyChannel
from medservice.feedback.models import Survey, SurveyAnswer, SurveyEscalation, SurveyQuestion

RESPONSES = {
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not take this action."),
    404: OpenApiResponse(description="Not in your scope."),
    409: OpenApiResponse(description="Not possible in the record's state."),
}


class SurveyAnswerSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="question.code", read_only=True)

    class Meta:
        model = SurveyAnswer
        fields = ["code", "score", "text"]
        read_only_fields = fields


class SurveySerializer(serializers.ModelSerializer):
    """A satisfaction survey of one case (ticket or work_order) or of a periodic campaign.
    Created by the system; sent again with POST .../{id}/send/."""

    answers = SurveyAnswerSerializer(many=True, read_only=True)

    class Meta:
        model = Survey
        fields = [
            "id", "subject", "status", "ticket", "work_order", "campaign", "organization",
            "contact", "language", "engineer", "team", "region", "device_model", "channel",
            "sent_at", "link_expires_at", "answered_at", "low_score", "answers",
        ]  # fmt: skip
        read_only_fields = fields


class SurveySendInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=SurveyChannel.choices)


class SurveyQuestionSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = SurveyQuestion
        fields = ["id", "code", "kind", "text_zh", "text_en", "active", "order", "required",
                  "version"]  # fmt: skip
        read_only_fields = ["id"]


class SurveyEscalationSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurveyEscalation
        fields = [
            "id", "survey", "organization", "assignee", "reason", "status", "due_at",
            "action_taken", "answered_at", "answered_by", "reminded_at", "customer_told_at",
        ]  # fmt: skip
        read_only_fields = fields


class EscalationAnswerInput(serializers.Serializer):
    action_taken = serializers.CharField(max_length=5000)


class PublicSurveyAnswerInput(serializers.Serializer):
    """The link's token and the answers by question code: {"speed": 5, "comments": "..."}."""

    token = serializers.CharField(max_length=200)
    answers = serializers.DictField(child=serializers.CharField(allow_blank=True,
                                                                max_length=5000))  # fmt: skip


class PublicSurveyAnswerResult(serializers.Serializer):
    status = serializers.CharField()
    answered_at = serializers.DateTimeField()


class SurveyResultRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True)
    label = serializers.CharField()
    surveys = serializers.IntegerField()
    averages = serializers.DictField(child=serializers.FloatField(allow_null=True))
    recommendations = serializers.IntegerField()
    nps = serializers.FloatField(allow_null=True)


def _require(request: Request, permission: str) -> None:
    if not request.user.has_perm(permission):
        from django.utils.translation import gettext as _

        raise PermissionDeniedError(_("You may not do this."))


def survey_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.feedback.services_surveys import survey_send

    base = with_post_actions(resource_viewset(resource))

    class SurveyViewSet(base):  # type: ignore[misc, valid-type]
        def get_queryset(self) -> Any:
            return super().get_queryset().prefetch_related("answers__question")

        @extend_schema(request=SurveySendInput, responses={200: SurveySerializer, **RESPONSES})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def send(self, request: Request, pk: Any = None) -> Response:
            """Send the survey (again) by e-mail, SMS or the portal: a new one-time link
            replaces the previous one."""
            survey = self.get_object()
            _require(request, "feedback.send_survey")
            data = action_input(SurveySendInput, request)
            saved = survey_send(actor=request.user, survey=survey, **data)
            saved = self.get_queryset().get(pk=saved.pk)
            return Response(SurveySerializer(saved, context=self.get_serializer_context()).data)

    return SurveyViewSet


def survey_escalation_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.feedback.services_surveys import escalation_answer

    base = with_post_actions(resource_viewset(resource))

    class SurveyEscalationViewSet(base):  # type: ignore[misc, valid-type]
        @extend_schema(request=EscalationAnswerInput,
                       responses={200: SurveyEscalationSerializer, **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def answer(self, request: Request, pk: Any = None) -> Response:
            """Say what was done about the low score; the customer is told."""
            escalation = self.get_object()
            _require(request, "feedback.answer_surveyescalation")
            data = action_input(EscalationAnswerInput, request)
            saved = escalation_answer(actor=request.user, escalation=escalation, **data)
            return Response(SurveyEscalationSerializer(saved).data)

    return SurveyEscalationViewSet


class PublicSurveyAnswerView(APIView):
    """Answer a survey with its link's token, without signing in. A used or expired link is
    refused (409), a bad answer names each question (400); rate-limited per address (429)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(request=PublicSurveyAnswerInput,
                   responses={200: PublicSurveyAnswerResult, **RESPONSES,
                              429: OpenApiResponse(description="Too many answers.")})  # fmt: skip
    def post(self, request: Request) -> Response:
        from django.utils.translation import gettext as _

        from medservice.feedback.services_surveys import survey_answer
        from medservice.feedback.throttle_surveys import survey_throttled

        if survey_throttled(request):
            message = _("Too many answers from your network. Please try again later.")
            return Response({"error": {"code": "throttled", "message": message,
                                       "fields": {}}}, status=429)  # fmt: skip
        data = action_input(PublicSurveyAnswerInput, request)
        survey = survey_answer(token=data["token"], answers=data["answers"])
        return Response({"status": survey.status, "answered_at": survey.answered_at})


class SurveyResultsView(APIView):
    """Survey results in the caller's scope, grouped by engineer, team, region or device model:
    the number of answered surveys, the average per score question and the NPS."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, enum=["engineer", "team", "region", "device_model"]),
            OpenApiParameter("from", str, description="YYYY-MM-DD"),
            OpenApiParameter("to", str, description="YYYY-MM-DD"),
        ],
        responses={200: SurveyResultRowSerializer(many=True), **RESPONSES},
    )
    def get(self, request: Request) -> Response:
        from django.utils.dateparse import parse_date
        from django.utils.translation import gettext as _

        from medservice.feedback.selectors_followups import GROUPINGS, survey_results

        _require(request, "feedback.view_survey_results")
        by = request.query_params.get("by", "engineer")
        problems: dict[str, list[str]] = {}
        if by not in GROUPINGS:
            problems["by"] = [_("Group by engineer, team, region or device_model.")]
        dates = {}
        for name in ("from", "to"):
            raw = request.query_params.get(name, "")
            try:
                dates[name] = parse_date(raw) if raw else None
            except ValueError:
                dates[name] = None
            if raw and dates[name] is None:
                problems[name] = [_("Give a date as YYYY-MM-DD.")]
        if problems:
            raise InvalidInputError(_("The query is not valid."), fields=problems)
        _questions, rows = survey_results(
            request.user, by=by, date_from=dates["from"], date_to=dates["to"]
        )
        return Response(
            [
                {"key": None if row.key is None else str(row.key), "label": row.label,
                 "surveys": row.surveys, "averages": row.averages,
                 "recommendations": row.recommendations, "nps": row.nps}
                for row in rows
            ]
        )  # fmt: skip
