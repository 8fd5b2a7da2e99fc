"""API for quality accidents (`quality-accidents`): list, read, record, and the workflow
actions investigate, grade, submit-report and close (signed with the password)."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.catalog.selectors import device_models_visible_to
from medservice.core.api.inputs import action_input
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.selectors import devices_visible_to
from medservice.quality.accidents import (
    accident_close,
    accident_grade,
    accident_investigate,
    accident_submit_report,
)
from medservice.quality.choices import AccidentSeverity
from medservice.quality.models import QualityAccident
from medservice.quality.selectors import cases_visible_to

MONEY = {"max_digits": 14, "decimal_places": 2}


class QualityAccidentSerializer(serializers.ModelSerializer):
    """A quality accident. To record one send title, severity (major_serious, major, general),
    discovered_at (when the company discovered it; default now — the report deadline counts
    from it) and what is known: occurred_at, place, organization, device or device_model with
    batch_number / serial_number, losses, persons_affected, quality_case."""

    scoped_relations: ClassVar[dict[str, Any]] = {
        "organization": organizations_visible_to,
        "device": devices_visible_to,
        "device_model": device_models_visible_to,
        "quality_case": cases_visible_to,
    }
    discovered_at = serializers.DateTimeField(required=False)
    report_overdue = serializers.BooleanField(read_only=True)
    report_late = serializers.BooleanField(read_only=True)

    class Meta:
        model = QualityAccident
        fields = [
            "id", "number", "status", "quality_case", "title", "description", "occurred_at",
            "discovered_at", "place", "organization", "device", "device_model", "batch_number",
            "serial_number", "product_reported", "severity", "loss_amount", "loss_description",
            "persons_affected", "investigation", "causes", "handling", "responsible_persons",
            "owner", "report_due_at", "report_overdue", "report_submitted_at",
            "report_submitted_to", "report_reference", "report_submitted_by", "report_late",
            "closing_note", "closed_at", "closed_by", "signed_at", "retain_until", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "status", "investigation", "causes", "handling",
            "responsible_persons", "owner", "report_due_at", "report_submitted_at",
            "report_submitted_to", "report_reference", "report_submitted_by", "closing_note",
            "closed_at", "closed_by", "signed_at", "retain_until", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs: ClassVar[dict[str, Any]] = {"loss_amount": {"min_value": 0}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            for name, selector in self.scoped_relations.items():
                self.fields[name].queryset = selector(request.user)

    def to_representation(self, instance: QualityAccident) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not request.user.has_perm("quality.unmask_qualityaccident"):
            data["persons_affected"] = "***" if data.get("persons_affected") else ""
        return data


class AccidentInvestigateInput(serializers.Serializer):
    investigation = serializers.CharField(required=False, default="", allow_blank=True)
    causes = serializers.CharField(required=False, default="", allow_blank=True)
    handling = serializers.CharField(required=False, default="", allow_blank=True)
    responsible_persons = serializers.CharField(required=False, default="", allow_blank=True)
    loss_amount = serializers.DecimalField(required=False, allow_null=True, default=None,
                                           min_value=0, **MONEY)  # fmt: skip
    loss_description = serializers.CharField(required=False, default="", allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    place = serializers.CharField(required=False, default="", allow_blank=True, max_length=300)
    persons_affected = serializers.CharField(required=False, default="", allow_blank=True)


class GradeInput(serializers.Serializer):
    severity = serializers.ChoiceField(choices=AccidentSeverity.choices)
    reason = serializers.CharField()


class SubmitReportInput(serializers.Serializer):
    submitted_to = serializers.CharField(max_length=200)
    reference = serializers.CharField(required=False, default="", allow_blank=True,
                                      max_length=100)  # fmt: skip
    submitted_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class AccidentCloseInput(serializers.Serializer):
    conclusion = serializers.CharField()
    password = serializers.CharField(help_text="The quality manager's password: the signature.")


RESPONSES = {
    200: QualityAccidentSerializer,
    400: OpenApiResponse(description="Bad input (or a wrong password): the fields are named."),
    403: OpenApiResponse(description="Your role may not take this action."),
    404: OpenApiResponse(description="No such quality accident in your scope."),
    409: OpenApiResponse(description="Not possible in the accident's state."),
}


def viewset_for(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.quality.accidents import TRANSITIONS as ACCIDENT_TRANSITIONS

    base = resource_viewset(resource)

    class QualityAccidentViewSet(base):  # type: ignore[misc, valid-type]
        """Quality accidents (质量事故). Filters: status, severity, organization, device_model,
        batch_number, report_overdue. Each step is POST .../{id}/{action}/; a refused step
        answers 403 (role), 409 (state) or 400 (input) with the reason."""

        transitions = ACCIDENT_TRANSITIONS

        def _answer(self, accident: QualityAccident) -> Response:
            accident = self.get_queryset().get(pk=accident.pk)
            return Response(
                QualityAccidentSerializer(accident, context=self.get_serializer_context()).data
            )

        @extend_schema(request=AccidentInvestigateInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def investigate(self, request: Request, pk: Any = None) -> Response:
            """Record findings: investigation, causes, handling, responsible persons, losses.
            Empty fields keep what is recorded."""
            accident = self.get_object()
            data = action_input(AccidentInvestigateInput, request)
            return self._answer(
                accident_investigate(actor=request.user, accident=accident, data=data)
            )

        @extend_schema(request=GradeInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def grade(self, request: Request, pk: Any = None) -> Response:
            """Grade or regrade, with the reason: the report deadline follows the grade."""
            accident = self.get_object()
            data = action_input(GradeInput, request)
            return self._answer(accident_grade(actor=request.user, accident=accident, **data))

        @extend_schema(request=SubmitReportInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], url_path="submit-report",
                url_name="submit-report", permission_classes=[IsAuthenticated])  # fmt: skip
        def submit_report(self, request: Request, pk: Any = None) -> Response:
            """Record the report to the authority: to whom, when (default now), reference."""
            accident = self.get_object()
            data = action_input(SubmitReportInput, request)
            return self._answer(
                accident_submit_report(actor=request.user, accident=accident, **data)
            )

        @extend_schema(request=AccidentCloseInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def close(self, request: Request, pk: Any = None) -> Response:
            """Close and sign (quality manager; password re-entered)."""
            accident = self.get_object()
            data = action_input(AccidentCloseInput, request)
            return self._answer(accident_close(actor=request.user, accident=accident, **data))

    QualityAccidentViewSet.__doc__ = base.__doc__
    return QualityAccidentViewSet


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router."""
    from medservice.quality.views_accidents import accidents

    router.register("quality-accidents", viewset_for(accidents), basename="quality-accident")
