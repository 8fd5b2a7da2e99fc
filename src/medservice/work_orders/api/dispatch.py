"""The work-order API actions of the dispatch area (a mixin of the work-order viewset):
candidates, dispatch, reschedule, check-in and check-out; and the engineer's schedule
(/api/v1/engineers/{id}/schedule/)."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.core.api.inputs import action_input
from medservice.core.errors import InvalidInputError
from medservice.work_orders.api.actions import RESPONSES
from medservice.work_orders.api.serializers import VisitSerializer
from medservice.work_orders.dispatch import (
    dispatch_candidates,
    engineer_schedule,
    visit_check_in,
    visit_check_out,
    visit_reschedule,
    work_order_dispatch,
)

# The longest schedule one request may ask for.
SCHEDULE_MAX_DAYS = 62


def _engineers() -> Any:
    from medservice.accounts.models import User

    return User.objects.filter(is_active=True)


class DispatchInput(serializers.Serializer):
    engineer = serializers.PrimaryKeyRelatedField(queryset=_engineers())
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    override_reason = serializers.CharField(
        required=False, default="", allow_blank=True,
        help_text="Needed (with the override permission) when the engineer is not a candidate.",
    )  # fmt: skip


class RescheduleInput(serializers.Serializer):
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    reason = serializers.CharField(max_length=300)
    engineer = serializers.PrimaryKeyRelatedField(
        queryset=_engineers(), required=False, allow_null=True, default=None
    )
    override_reason = serializers.CharField(required=False, default="", allow_blank=True)


class PositionInput(serializers.Serializer):
    latitude = serializers.DecimalField(
        max_digits=12, decimal_places=8, required=False, allow_null=True, default=None,
        min_value=-90, max_value=90,
    )  # fmt: skip
    longitude = serializers.DecimalField(
        max_digits=12, decimal_places=8, required=False, allow_null=True, default=None,
        min_value=-180, max_value=180,
    )  # fmt: skip
    at = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="When it happened (default now); not in the future.",
    )  # fmt: skip
    submission_key = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=64,
        help_text="Sent again with the same key (or Idempotency-Key header), nothing happens "
        "twice.",
    )  # fmt: skip


class CheckInInput(PositionInput):
    photo = serializers.ImageField(required=False, allow_null=True, default=None)


class CandidateSerializer(serializers.Serializer):
    engineer = serializers.IntegerField(source="user.pk")
    name = serializers.CharField()
    badge_number = serializers.CharField(source="profile.badge_number")
    region = serializers.CharField(source="profile.region")
    region_match = serializers.BooleanField()
    load = serializers.IntegerField(help_text="Visits already booked that day.")
    daily_capacity = serializers.IntegerField(source="capacity")
    certified_until = serializers.DateField(allow_null=True)


class WindowQuery(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["end"] <= data["start"]:
            raise serializers.ValidationError({"end": _("The window must end after it starts.")})
        return data


class ScheduleQuery(serializers.Serializer):
    start_day = serializers.DateField(required=False, allow_null=True, default=None)
    end_day = serializers.DateField(required=False, allow_null=True, default=None)


def _query(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    from medservice.core.api.inputs import errors_by_field

    query = serializer_class(data=data)
    if not query.is_valid():
        fields = errors_by_field(query.errors)
        raise InvalidInputError(
            _("The input is not valid: %(fields)s.") % {"fields": ", ".join(fields)},
            fields=fields,
        )
    return dict(query.validated_data)


def _submission_key(request: Request, data: dict[str, Any]) -> str:
    return data.get("submission_key") or request.headers.get("Idempotency-Key", "")


class DispatchActions:
    """Mixed into the work-order viewset: dispatch and visits."""

    def _answer(self, work_order: Any) -> Response:  # pragma: no cover - replaced in viewset
        raise NotImplementedError

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "start",
                datetime.datetime,
                required=True,
                description="The proposed window's start (ISO 8601).",
            ),
            OpenApiParameter(
                "end",
                datetime.datetime,
                required=True,
                description="The proposed window's end (ISO 8601).",
            ),
        ],
        responses={200: CandidateSerializer(many=True), 400: RESPONSES[400], 404: RESPONSES[404]},
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def candidates(self, request: Request, pk: Any = None) -> Response:
        """The engineers who may be sent in the window: certified for the model on the day and
        free; same region first, then the least loaded."""
        work_order = self.get_object()
        query = _query(WindowQuery, request.query_params)
        candidates = dispatch_candidates(work_order, start=query["start"], end=query["end"])
        return Response(CandidateSerializer(candidates, many=True).data)

    @extend_schema(request=DispatchInput, responses=RESPONSES)
    # Not named `dispatch`: that is the view's own request entry point.
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def dispatch_engineer(self, request: Request, pk: Any = None) -> Response:
        """Send an engineer in the agreed window. Someone who is not a candidate needs the
        override permission and `override_reason` (403 / 400 otherwise)."""
        work_order = self.get_object()
        data = action_input(DispatchInput, request)
        return self._answer(work_order_dispatch(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=RescheduleInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def reschedule(self, request: Request, pk: Any = None) -> Response:
        """Move the visit (and optionally change the engineer) with the reason; the customer is
        told."""
        work_order = self.get_object()
        data = action_input(RescheduleInput, request)
        return self._answer(visit_reschedule(actor=request.user, work_order=work_order, **data))

    @extend_schema(request={"multipart/form-data": CheckInInput, "application/json": CheckInInput},
                   responses=RESPONSES)  # fmt: skip
    @action(detail=True, methods=["post"], url_path="check-in", url_name="check-in",
            permission_classes=[IsAuthenticated],
            parser_classes=[JSONParser, MultiPartParser, FormParser])  # fmt: skip
    def check_in(self, request: Request, pk: Any = None) -> Response:
        """The engineer is on site (time, position and photo where given); meets the service
        request's on-site target. Idempotent by `submission_key` / Idempotency-Key."""
        work_order = self.get_object()
        data = action_input(CheckInInput, request)
        return self._answer(
            visit_check_in(
                actor=request.user,
                work_order=work_order,
                at=data["at"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                photo=data["photo"],
                submission_key=_submission_key(request, data),
            )
        )

    @extend_schema(request=PositionInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="check-out", url_name="check-out",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def check_out(self, request: Request, pk: Any = None) -> Response:
        """The engineer leaves the site. Idempotent by `submission_key` / Idempotency-Key."""
        work_order = self.get_object()
        data = action_input(PositionInput, request)
        return self._answer(
            visit_check_out(
                actor=request.user,
                work_order=work_order,
                at=data["at"],
                latitude=data["latitude"],
                longitude=data["longitude"],
                submission_key=_submission_key(request, data),
            )
        )


class EngineersViewSet(viewsets.GenericViewSet):
    """Field engineers' schedules. A dispatcher reads anyone's; an engineer only their own;
    anyone else gets 404."""

    permission_classes = [IsAuthenticated]
    serializer_class = VisitSerializer
    # Scoped by person, not by organisation: the engineer themselves or a dispatcher.
    scoping_exempt = "an engineer's own schedule, or any for a dispatcher (tested)"
    pagination_class = None

    def get_queryset(self) -> Any:
        from medservice.accounts.models import User

        user = self.request.user
        engineers = User.objects.filter(engineer_profile__isnull=False)
        if not user.has_perm("work_orders.view_visit"):
            return engineers.none()
        if user.has_perm("work_orders.dispatch_workorder"):
            return engineers
        return engineers.filter(pk=user.pk)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", datetime.date, description="First day (default today)."),
            OpenApiParameter(
                "to", datetime.date, description="Last day, included (default seven days on)."
            ),
        ],
        responses={200: VisitSerializer(many=True), 400: RESPONSES[400], 404: RESPONSES[404]},
    )
    @action(detail=True, methods=["get"])
    def schedule(self, request: Request, pk: Any = None) -> Response:
        """The engineer's visits from one day to another (local days, both included)."""
        from medservice.work_orders.selectors import visits_visible_to

        engineer = self.get_object()
        query = _query(
            ScheduleQuery,
            {"start_day": request.query_params.get("from"),
             "end_day": request.query_params.get("to")},
        )  # fmt: skip
        start_day = query["start_day"] or timezone.localdate()
        end_day = query["end_day"] or start_day + datetime.timedelta(days=6)
        if end_day < start_day or (end_day - start_day).days > SCHEDULE_MAX_DAYS:
            message = _("Ask for at most %(days)s days, the last not before the first.") % {
                "days": SCHEDULE_MAX_DAYS
            }
            raise InvalidInputError(message, fields={"to": [message]})
        visits = engineer_schedule(
            engineer, start_day=start_day, end_day=end_day,
            among=visits_visible_to(request.user),
        )  # fmt: skip
        return Response(VisitSerializer(visits, many=True).data)

    def get_object(self) -> Any:
        pk = str(self.kwargs.get("pk", ""))
        engineer = self.get_queryset().filter(pk=pk).first() if pk.isdigit() else None
        if engineer is None:
            raise Http404
        return engineer


def register(router: DefaultRouter) -> None:
    router.register("engineers", EngineersViewSet, basename="engineer")
