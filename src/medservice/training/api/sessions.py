"""The training API: training plans, staff trainings (sessions, with POST {id}/results/ to
record attendance and scores) and certifications (granted by hand on create; POST
{id}/revoke/; GET check/?person=&device_model=&on= answers whether a person is certified for a
model on a day). The serializers check shape; the services in training/sessions.py decide."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.catalog.selectors import device_models_visible_to, product_lines_visible_to
from medservice.core.api.inputs import action_input
from medservice.core.errors import InvalidInputError
from medservice.training.models import (
    Certification,
    SessionAttendance,
    TrainingPlan,
    TrainingSession,
)
from medservice.training.selectors import certification_for, plans_visible_to
from medservice.training.sessions import (
    RECORD_PERMISSION,
    certification_revoke,
    session_results_record,
    trainees_visible_to,
)

SCORE = {"max_digits": 5, "decimal_places": 1}


class _ScopedSerializer(serializers.ModelSerializer):
    """Related records are chosen among those the user may see, as in the UI."""

    scoped_relations: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:
            return
        for name, selector in self.scoped_relations.items():
            field = self.fields.get(name)
            if field is None or field.read_only:
                continue
            target = getattr(field, "child_relation", field)
            target.queryset = selector(request.user)


class TrainingPlanSerializer(_ScopedSerializer):
    """An annual or quarterly training plan; its topics are listed by id."""

    topics = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    scoped_relations: ClassVar[dict[str, Any]] = {"owner": trainees_visible_to}

    class Meta:
        model = TrainingPlan
        fields = [
            "id",
            "name",
            "year",
            "period",
            "quarter",
            "owner",
            "notes",
            "topics",
            "version",
            "created_at",
        ]
        read_only_fields = ["id", "topics", "created_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"version": {"required": False}}


class AttendanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionAttendance
        fields = [
            "id",
            "person",
            "attended",
            "written_score",
            "practical_passed",
            "passed",
            "feedback_rating",
            "feedback_comment",
        ]
        read_only_fields = fields


class TrainingSessionSerializer(_ScopedSerializer):
    """A training session. To plan one send title, category, starts_at and optionally
    attendees (user ids), device_model or product_line, pass_mark, practical_required,
    certifies, certification_months; record the results with POST .../{id}/results/."""

    attendees = serializers.PrimaryKeyRelatedField(
        many=True,
        write_only=True,
        required=False,
        queryset=trainees_visible_to(None),
        help_text="The people on the session (user ids).",
    )
    attendances = AttendanceSerializer(many=True, read_only=True)
    certifications = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    scoped_relations: ClassVar[dict[str, Any]] = {
        "topic": lambda user: _topics(user),
        "device_model": device_models_visible_to,
        "product_line": product_lines_visible_to,
        "trainer": trainees_visible_to,
        "attendees": trainees_visible_to,
    }

    class Meta:
        model = TrainingSession
        fields = [
            "id",
            "number",
            "topic",
            "title",
            "category",
            "device_model",
            "product_line",
            "trainer",
            "trainer_name",
            "starts_at",
            "ends_at",
            "place",
            "status",
            "pass_mark",
            "practical_required",
            "certifies",
            "certification_months",
            "notes",
            "attendees",
            "attendances",
            "certifications",
            "version",
            "created_at",
        ]
        read_only_fields = ["id", "number", "status", "attendances", "certifications", "created_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"version": {"required": False}}


def _topics(user: Any) -> Any:
    from medservice.training.models import TrainingTopic

    return TrainingTopic.objects.filter(plan__in=plans_visible_to(user))


class CertificationSerializer(_ScopedSerializer):
    """A person's certification for one device model or one product line, valid_from to
    valid_until (both included). Creating one grants it by hand (external training passed):
    send person, device_model or product_line, valid_from, reason and optionally valid_until
    (default: the configured number of months)."""

    reason = serializers.CharField(
        write_only=True, help_text="Why it is granted (e.g. the manufacturer's course passed)."
    )
    scoped_relations: ClassVar[dict[str, Any]] = {
        "person": trainees_visible_to,
        "device_model": device_models_visible_to,
        "product_line": product_lines_visible_to,
    }

    class Meta:
        model = Certification
        fields = [
            "id",
            "person",
            "device_model",
            "product_line",
            "valid_from",
            "valid_until",
            "session",
            "renews",
            "revoked_on",
            "revoked_reason",
            "reason",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "session",
            "renews",
            "revoked_on",
            "revoked_reason",
            "created_at",
        ]
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "valid_until": {"required": False},
            "device_model": {"required": False},
            "product_line": {"required": False},
        }


@extend_schema_field(OpenApiTypes.INT)
class TraineeField(serializers.PrimaryKeyRelatedField):
    """A person the requesting user may train, read when validating (a nested serializer has
    its context only then, through its root)."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return trainees_visible_to(getattr(request, "user", None))


class ResultSerializer(serializers.Serializer):
    person = TraineeField(help_text="The attendee (user id).")
    attended = serializers.BooleanField()
    written_score = serializers.DecimalField(
        required=False, allow_null=True, default=None, min_value=0, max_value=100, **SCORE
    )
    practical_passed = serializers.BooleanField(required=False, allow_null=True, default=None)
    feedback_rating = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=5
    )
    feedback_comment = serializers.CharField(required=False, allow_blank=True, default="")


class ResultsSerializer(serializers.Serializer):
    results = ResultSerializer(many=True)


class RevokeSerializer(serializers.Serializer):
    on = serializers.DateField(
        required=False, default=None, help_text="First day it no longer holds (default today)."
    )
    reason = serializers.CharField()


def session_viewset_for(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset

    class TrainingSessionViewSet(resource_viewset(resource)):  # type: ignore[misc]
        """Staff trainings (培训记录). Record attendance and assessment with
        POST .../{id}/results/; a cancelled session answers 409, bad input 400."""

        action_permissions: ClassVar[dict[str, str]] = {"results": RECORD_PERMISSION}

        def get_queryset(self) -> Any:
            return super().get_queryset().prefetch_related("attendances", "certifications")

        @extend_schema(
            request=ResultsSerializer,
            responses={
                200: TrainingSessionSerializer,
                400: OpenApiResponse(description="Bad input: the fields are named."),
                403: OpenApiResponse(description="The role may not record results."),
                404: OpenApiResponse(description="No such session in your scope."),
                409: OpenApiResponse(description="The session was cancelled."),
            },
        )
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def results(self, request: Request, pk: Any = None) -> Response:
            """Record each attendee's attendance, written score, practical result and
            feedback; who passed is decided here, and passing a certifying session earns the
            certification. Recording again corrects the results without doubling anything."""
            session = self.get_object()
            data = action_input(ResultsSerializer, request)
            session_results_record(actor=request.user, session=session, results=data["results"])
            session = self.get_queryset().get(pk=session.pk)
            return Response(
                TrainingSessionSerializer(session, context=self.get_serializer_context()).data
            )

    return TrainingSessionViewSet


def certification_viewset_for(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset

    class CertificationViewSet(resource_viewset(resource)):  # type: ignore[misc]
        """Certifications (上岗资格). Filters: person, device_model, product_line, valid_on,
        expiring_within. POST .../{id}/revoke/ {on, reason}; GET check/?person=&device_model=
        &on= answers {"certified", "certification"}."""

        action_permissions: ClassVar[dict[str, str]] = {"revoke": "training.change_certification"}

        @extend_schema(
            request=RevokeSerializer,
            responses={
                200: CertificationSerializer,
                400: OpenApiResponse(description="Bad input: the fields are named."),
                404: OpenApiResponse(description="No such certification in your scope."),
                409: OpenApiResponse(description="Already revoked or already ended."),
            },
        )
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def revoke(self, request: Request, pk: Any = None) -> Response:
            """Withdraw the certification from a day (included), with the reason."""
            certification = self.get_object()
            data = action_input(RevokeSerializer, request)
            certification = certification_revoke(
                actor=request.user,
                certification=certification,
                on=data["on"] or timezone.localdate(),
                reason=data["reason"],
            )
            return Response(
                CertificationSerializer(certification, context=self.get_serializer_context()).data
            )

        @extend_schema(
            parameters=[
                OpenApiParameter("person", int, required=True),
                OpenApiParameter("device_model", int, required=True),
                OpenApiParameter("on", datetime.date, description="Default: today."),
            ],
            responses={
                200: OpenApiResponse(description='{"certified": bool, "certification": id|null}'),
                400: OpenApiResponse(description="Bad input: the fields are named."),
                404: OpenApiResponse(description="No such person or model in your scope."),
            },
        )
        @action(detail=False, methods=["get"])
        def check(self, request: Request) -> Response:
            """Is this person certified for this device model on this day? The question
            dispatch asks, answered by the same function."""
            fields: dict[str, list[str]] = {}
            ids = {}
            wanted = {
                "person": _("Give the person's id."),
                "device_model": _("Give the device model's id."),
            }
            for name, problem in wanted.items():
                value = request.query_params.get(name, "").strip()
                # Only an id the database can hold: a lookup does not guard against overflow.
                if not (value.isascii() and value.isdigit()) or len(value) > 18:
                    fields[name] = [problem]
                else:
                    ids[name] = int(value)
            day = timezone.localdate()
            on = request.query_params.get("on", "").strip()
            if on:
                try:
                    day = datetime.date.fromisoformat(on)
                except ValueError:
                    fields["on"] = [_("Give the date as YYYY-MM-DD.")]
            if fields:
                raise InvalidInputError(
                    _("The input is not valid: %(fields)s.") % {"fields": ", ".join(fields)},
                    fields=fields,
                )
            # The person must be one whose certifications the user may read: a distributor's
            # engineer asks about themselves only.
            visible = self.get_queryset().filter(person_id=ids["person"])
            if not (visible.exists() or _may_ask_about(request.user, ids["person"])):
                raise_not_found()
            model = get_object_or_404(
                device_models_visible_to(request.user), pk=ids["device_model"]
            )
            certification = certification_for(ids["person"], model, on=day)
            if certification is not None and not visible.filter(pk=certification.pk).exists():
                certification = None
            return Response(
                {
                    "certified": certification is not None,
                    "certification": certification.pk if certification else None,
                }
            )

    return CertificationViewSet


def _may_ask_about(user: Any, person_id: int) -> bool:
    """Internal staff ask about any of the staff; anyone else only about themselves."""
    if person_id == user.pk:
        return True
    return trainees_visible_to(user).filter(pk=person_id).exists()


def raise_not_found() -> None:
    from django.http import Http404

    raise Http404


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router."""
    # The resources are declared with the pages (views_sessions.py), which import the
    # serializers above: imported here, when the router is built, not at module import.
    from medservice.core.api.viewsets import resource_viewset
    from medservice.training.views_sessions import certifications, staff_trainings, training_plans

    router.register("training-plans", resource_viewset(training_plans), basename="training-plan")
    router.register(
        "staff-trainings", session_viewset_for(staff_trainings), basename="staff-training"
    )
    router.register(
        "certifications", certification_viewset_for(certifications), basename="certification"
    )
