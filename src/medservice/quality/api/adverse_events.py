"""API for adverse-event reports and their reporting rules: `adverse-event-reports` (list,
read, open, change a draft; actions submit, follow-up, final, group-case; downloads pdf and
xlsx) and `reporting-rules` (read; the quality manager corrects them)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.catalog.selectors import device_models_visible_to
from medservice.core.api.schema import PDF, XLSX, file_responses
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.selectors import devices_visible_to
from medservice.quality.choices import EventOutcome, ReportKind, SubmissionChannel
from medservice.quality.models import AdverseEventReport, ReportingRule
from medservice.quality.selectors import cases_visible_to
from medservice.tickets.choices import Sex

PERSONAL = ("patient_name", "patient_record_number", "patient_history")


class AdverseEventReportSerializer(serializers.ModelSerializer):
    """An adverse-event report. To open one send market (CN, US, EU), outcome (death,
    serious_injury, other) and quality_case, or device with awareness_at; trigger is derived
    from the facts unless given. report_due_at is computed from the reporting rule. On a
    China death / serious-injury initial report, final_due_at is when the evaluation result
    (the final report, CN-AE-5) is due, set at its submission; final_submitted_at stops it."""

    scoped_relations: ClassVar[dict[str, Any]] = {
        "quality_case": cases_visible_to,
        "organization": organizations_visible_to,
        "device": devices_visible_to,
        "device_model": device_models_visible_to,
    }
    awareness_at = serializers.DateTimeField(required=False)
    trigger = serializers.CharField(required=False, allow_blank=True)
    rule = serializers.SlugRelatedField(slug_field="code", read_only=True)
    final_rule = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = AdverseEventReport
        fields = [
            "id", "number", "kind", "status", "initial", "group", "quality_case", "market",
            "outcome", "group_event", "event_abroad", "trigger", "rule", "awareness_at",
            "report_due_at", "due_unconfirmed", "final_rule", "final_due_at",
            "final_submitted_at", "reporter_unit", "reporter_address",
            "reporter_contact", "reporter_phone", "organization", "device", "device_model",
            "device_name", "registration_number", "model_spec", "product_type", "origin",
            "risk_class", "batch_number", "serial_number", "udi", "production_date",
            "expiry_date", "event_date", "harm_description", "patient_name", "patient_age",
            "patient_sex", "patient_record_number", "patient_history", "malfunction_description",
            "intended_use", "place_of_use", "usage_description", "concomitant_products",
            "onsite_investigation", "product_tested", "test_report", "cause_conclusion",
            "relatedness", "risk_evaluation", "control_measures", "no_measures_reason",
            "submitted_at", "submission_channel", "submission_reference", "submitted_by",
            "retain_until", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "kind", "status", "initial", "group", "rule", "report_due_at",
            "due_unconfirmed", "final_rule", "final_due_at", "final_submitted_at", "submitted_at", "submission_channel", "submission_reference",
            "submitted_by", "retain_until", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "patient_age": {"min_value": 0, "max_value": 150},
            "version": {"required": False},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            for name, selector in self.scoped_relations.items():
                self.fields[name].queryset = selector(request.user)

    def to_representation(self, instance: AdverseEventReport) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or not request.user.has_perm("quality.unmask_adverseeventreport"):
            for name in PERSONAL:
                data[name] = "***" if data.get(name) else ""
        return data


class ReportingRuleSerializer(serializers.ModelSerializer):
    """A legal reporting deadline: market, trigger, amount and unit (hours, calendar_days,
    working_days on the business calendar calendar_code)."""

    class Meta:
        model = ReportingRule
        fields = ["id", "code", "market", "trigger", "amount", "unit", "calendar_code",
                  "description", "active", "version"]  # fmt: skip
        read_only_fields = ["id"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"version": {"required": False}}


class SubmitInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=SubmissionChannel.choices)
    reference = serializers.CharField(required=False, allow_blank=True, default="")
    submitted_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class GroupCaseInput(serializers.Serializer):
    """One patient of a group event: their data and the harm."""

    outcome = serializers.ChoiceField(choices=EventOutcome.choices)
    patient_name = serializers.CharField(required=False, allow_blank=True, default="")
    patient_age = serializers.IntegerField(required=False, allow_null=True, min_value=0,
                                           max_value=150, default=None)  # fmt: skip
    patient_sex = serializers.ChoiceField(choices=Sex.choices, required=False,
                                          allow_blank=True, default="")  # fmt: skip
    harm_description = serializers.CharField(required=False, allow_blank=True, default="")
    awareness_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


RESPONSES = {
    200: AdverseEventReportSerializer,
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="Your role may not take this action."),
    404: OpenApiResponse(description="No such report in your scope."),
    409: OpenApiResponse(description="Not possible in the report's state (submitted: frozen)."),
}


def report_viewset(resource: Any) -> type:
    from medservice.core.api.inputs import action_input
    from medservice.core.api.viewsets import resource_viewset
    from medservice.quality.adverse_events import TRANSITIONS as REPORT_TRANSITIONS
    from medservice.quality.adverse_events import (
        report_add_group_case,
        report_continue,
        report_submit,
    )
    from medservice.quality.adverse_events_exports import (
        report_filename,
        report_pdf,
        report_xlsx,
    )

    base = resource_viewset(resource)

    class AdverseEventReportViewSet(base):  # type: ignore[misc, valid-type]
        """Adverse-event reports (可疑医疗器械不良事件报告). Filters: status, kind, market,
        outcome, trigger, group_event, quality_case, overdue. Patient data is masked unless
        your role may unmask it. A submitted report is frozen (409 on change)."""

        # Refused by role before the input is read (403, not 400): submit, follow-up and final
        # by the report table, a group event's case by the permission its service checks.
        transitions = REPORT_TRANSITIONS
        action_permissions: ClassVar[dict[str, str]] = {
            "group-case": "quality.add_adverseeventreport",
        }

        def _answer(self, report: Any, status: int = 200) -> Response:
            serializer = AdverseEventReportSerializer(report, context=self.get_serializer_context())
            return Response(serializer.data, status=status)

        @extend_schema(request=SubmitInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def submit(self, request: Request, pk: Any = None) -> Response:
            """Record the submission (time, channel, reference): the report is frozen."""
            report = self.get_object()
            data = action_input(SubmitInput, request)
            return self._answer(report_submit(actor=request.user, report=report, **data))

        @extend_schema(request=None, responses={**RESPONSES, 201: AdverseEventReportSerializer})
        @action(detail=True, methods=["post"], url_path="follow-up", url_name="follow-up",
                permission_classes=[IsAuthenticated])  # fmt: skip
        def follow_up(self, request: Request, pk: Any = None) -> Response:
            """Open a follow-up report (a draft carrying the latest content)."""
            report = self.get_object()
            return self._answer(
                report_continue(actor=request.user, report=report, kind=ReportKind.FOLLOW_UP),
                status=201,
            )

        @extend_schema(request=None, responses={**RESPONSES, 201: AdverseEventReportSerializer})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def final(self, request: Request, pk: Any = None) -> Response:
            """Open the final report of the event (nothing follows it)."""
            report = self.get_object()
            return self._answer(
                report_continue(actor=request.user, report=report, kind=ReportKind.FINAL),
                status=201,
            )

        @extend_schema(
            request=GroupCaseInput, responses={**RESPONSES, 201: AdverseEventReportSerializer}
        )
        @action(detail=True, methods=["post"], url_path="group-case", url_name="group-case",
                permission_classes=[IsAuthenticated])  # fmt: skip
        def group_case(self, request: Request, pk: Any = None) -> Response:
            """Report one case of a group event (CN-AE-4: within 24 hours)."""
            report = self.get_object()
            data = action_input(GroupCaseInput, request)
            return self._answer(
                report_add_group_case(actor=request.user, report=report, data=data), status=201
            )

        @extend_schema(responses={**file_responses(PDF), 404: RESPONSES[404]})
        @action(detail=True, methods=["get"])
        def pdf(self, request: Request, pk: Any = None) -> HttpResponse:
            """The report as the printed national form (PDF)."""
            return self._download(report_pdf, "pdf", "application/pdf")

        @extend_schema(responses={**file_responses(XLSX), 404: RESPONSES[404]})
        @action(detail=True, methods=["get"])
        def xlsx(self, request: Request, pk: Any = None) -> HttpResponse:
            """The report laid out like the form (XLSX)."""
            return self._download(
                report_xlsx, "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )  # fmt: skip

        def _download(self, render: Any, extension: str, content_type: str) -> HttpResponse:
            report = self.get_object()
            unmask = self.request.user.has_perm("quality.unmask_adverseeventreport")
            response = HttpResponse(render(report, unmask=unmask), content_type=content_type)
            filename = report_filename(report, extension)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response

    AdverseEventReportViewSet.__doc__ = base.__doc__
    return AdverseEventReportViewSet


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router."""
    from medservice.core.api.viewsets import resource_viewset
    from medservice.quality.views_adverse_events import reports, rules

    router.register("adverse-event-reports", report_viewset(reports),
                    basename="adverse-event-report")  # fmt: skip
    router.register("reporting-rules", resource_viewset(rules), basename="reporting-rule")
