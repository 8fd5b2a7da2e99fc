"""The maintenance viewsets: the generic list, read and create of each resource, plus the
actions (overdue plans, completion rate, the customer's signature, files, the sign-in sheet,
re-training decisions). Each calls the same service as the page."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.api.inputs import action_input, errors_by_field
from medservice.core.api.schema import PDF, file_responses
from medservice.core.api.viewsets import resource_viewset
from medservice.core.errors import InvalidInputError
from medservice.maintenance.api.serializers import (
    AcceptanceAttachInput,
    AcceptanceFileSerializer,
    AcceptanceRecordSerializer,
    AcceptanceSignInput,
    CompletionRateInput,
    CompletionRateSerializer,
    OperatorTrainingSerializer,
    PmPlanSerializer,
    RetrainingSuggestionSerializer,
    SuggestionDismissInput,
    SuggestionScheduleInput,
    TrainingAttachInput,
    TrainingFileSerializer,
)

ERRORS = {
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not take this action."),
    404: OpenApiResponse(description="No such record in your scope."),
    409: OpenApiResponse(description="Not possible in the record's state."),
}


def _require(request: Request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied()


def pm_plan_viewset(resource: Any) -> type:
    base = resource_viewset(resource)

    class PmPlanViewSet(base):  # type: ignore[misc, valid-type]
        @extend_schema(responses={200: PmPlanSerializer(many=True)})
        @action(detail=False, methods=["get"], permission_classes=[IsAuthenticated])
        def overdue(self, request: Request) -> Response:
            """Active plans past their due date, the most overdue first (paginated)."""
            from medservice.maintenance.services import pm_plans_overdue

            _require(request, "maintenance.view_pmplan")
            plans = pm_plans_overdue(self.filter_queryset(self.get_queryset()))
            page = self.paginate_queryset(plans)
            return self.get_paginated_response(self.get_serializer(page, many=True).data)

        @extend_schema(
            parameters=[
                OpenApiParameter("start", OpenApiTypes.DATE, required=True),
                OpenApiParameter("end", OpenApiTypes.DATE, required=True),
            ],
            responses={200: CompletionRateSerializer, 400: ERRORS[400]},
        )
        @action(detail=False, methods=["get"], url_path="completion-rate",
                url_name="completion-rate", permission_classes=[IsAuthenticated])  # fmt: skip
        def completion_rate(self, request: Request) -> Response:
            """PM visits due between start and end (both included) and how many were done;
            life_support_flagged when a life-support device's PM was not done."""
            from medservice.maintenance.selectors import pm_visits_visible_to
            from medservice.maintenance.services import pm_completion_rate

            _require(request, "maintenance.view_pmvisit")
            serializer = CompletionRateInput(data=request.query_params)
            if not serializer.is_valid():
                fields = errors_by_field(serializer.errors)
                raise InvalidInputError(
                    _("The input is not valid: %(fields)s.") % {"fields": ", ".join(fields)},
                    fields=fields,
                )
            visits = pm_visits_visible_to(request.user)
            organization = request.query_params.get("organization", "")
            if organization.isdigit():
                visits = visits.filter(organization_id=int(organization))
            result = pm_completion_rate(visits, **serializer.validated_data)
            return Response(result.as_dict())

    PmPlanViewSet.__doc__ = base.__doc__
    return PmPlanViewSet


def acceptance_viewset(resource: Any) -> type:
    base = resource_viewset(resource)

    class AcceptanceViewSet(base):  # type: ignore[misc, valid-type]
        parser_classes = [JSONParser, MultiPartParser, FormParser]

        def _answer(self, record: Any) -> Response:
            record = self.get_queryset().get(pk=record.pk)
            return Response(self.get_serializer(record).data)

        @extend_schema(request=AcceptanceSignInput,
                       responses={200: AcceptanceRecordSerializer, **ERRORS})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def sign(self, request: Request, pk: Any = None) -> Response:
            """Record the customer's signature (printed name): sets the device's acceptance
            date and so its warranty; the certificate is then frozen."""
            from medservice.maintenance.services_acceptance import acceptance_sign

            record = self.get_object()
            data = action_input(AcceptanceSignInput, request)
            return self._answer(acceptance_sign(actor=request.user, acceptance=record, **data))

        @extend_schema(request=AcceptanceAttachInput,
                       responses={200: AcceptanceFileSerializer, **ERRORS})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def attach(self, request: Request, pk: Any = None) -> Response:
            """Attach the signed certificate's scan (multipart: kind, file)."""
            from medservice.maintenance.services_acceptance import acceptance_file_attach

            record = self.get_object()
            data = action_input(AcceptanceAttachInput, request)
            attached = acceptance_file_attach(
                actor=request.user, acceptance=record, kind=data["kind"], upload=data["file"]
            )
            return Response(AcceptanceFileSerializer(attached).data)

    AcceptanceViewSet.__doc__ = base.__doc__
    return AcceptanceViewSet


def operator_training_viewset(resource: Any) -> type:
    base = resource_viewset(resource)

    class OperatorTrainingViewSet(base):  # type: ignore[misc, valid-type]
        parser_classes = [JSONParser, MultiPartParser, FormParser]

        @extend_schema(
            parameters=[OpenApiParameter("language", str, enum=["zh-hans", "en"])],
            responses={**file_responses(PDF), 404: ERRORS[404]},
        )
        @action(detail=True, methods=["get"], url_path="sign-in-sheet",
                url_name="sign-in-sheet")  # fmt: skip
        def sign_in_sheet(self, request: Request, pk: Any = None) -> HttpResponse:
            """The printable sign-in sheet (PDF)."""
            from medservice.maintenance.services_training import sign_in_sheet_pdf

            training = self.get_object()
            language = request.query_params.get("language") or "zh-hans"
            if language not in ("zh-hans", "en"):
                message = _("Choose zh-hans or en.")
                raise InvalidInputError(message, fields={"language": [message]})
            response = HttpResponse(
                sign_in_sheet_pdf(training, language=language), content_type="application/pdf"
            )
            response["Content-Disposition"] = (
                f'attachment; filename="{training.number}-sign-in.pdf"'
            )
            return response

        @extend_schema(request=TrainingAttachInput,
                       responses={200: TrainingFileSerializer, **ERRORS})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def attach(self, request: Request, pk: Any = None) -> Response:
            """Attach the signed sign-in sheet or a material (multipart: kind, file)."""
            from medservice.maintenance.services_training import training_file_attach

            training = self.get_object()
            data = action_input(TrainingAttachInput, request)
            attached = training_file_attach(
                actor=request.user, training=training, kind=data["kind"], upload=data["file"]
            )
            return Response(TrainingFileSerializer(attached).data)

    OperatorTrainingViewSet.__doc__ = base.__doc__
    return OperatorTrainingViewSet


def suggestion_viewset(resource: Any) -> type:
    base = resource_viewset(resource)

    class SuggestionViewSet(base):  # type: ignore[misc, valid-type]
        @extend_schema(request=SuggestionDismissInput,
                       responses={200: RetrainingSuggestionSerializer, **ERRORS})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def dismiss(self, request: Request, pk: Any = None) -> Response:
            """No re-training needed: the reason is required."""
            from medservice.maintenance.services_training import suggestion_dismiss

            suggestion = self.get_object()
            data = action_input(SuggestionDismissInput, request)
            done = suggestion_dismiss(actor=request.user, suggestion=suggestion, **data)
            return Response(self.get_serializer(done).data)

        @extend_schema(request=SuggestionScheduleInput,
                       responses={201: OperatorTrainingSerializer, **ERRORS})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def schedule(self, request: Request, pk: Any = None) -> Response:
            """Turn the suggestion into a training session of its department about its device
            (held_on, trainer, content, location, attendees)."""
            from medservice.maintenance.services_training import suggestion_schedule

            suggestion = self.get_object()
            data = action_input(SuggestionScheduleInput, request)
            training = suggestion_schedule(actor=request.user, suggestion=suggestion, data=data)
            return Response(
                OperatorTrainingSerializer(training, context=self.get_serializer_context()).data,
                status=201,
            )

    SuggestionViewSet.__doc__ = base.__doc__
    return SuggestionViewSet
