"""`/api/v1/evaluation-reports/`: the frozen periodic reports (list, read), their PDF and XLSX,
`generate` (POST) and the improvement actions a report raised. Internal readers only: anyone
else gets 404, as for a record outside their scope."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.analytics.models import EvaluationReport, ReportKind
from medservice.core.api.schema import PDF, XLSX, file_responses
from medservice.customers.selectors import user_scope


class EvaluationReportSerializer(serializers.ModelSerializer):
    """A report: kind (monthly, quarterly), period, revision, as_of and the frozen figures
    (per KPI: code, name, unit, value, numerator, denominator, median, p90, target, verdict,
    previous, provisional_until; decimals as strings) and sections; the files' SHA-256."""

    class Meta:
        model = EvaluationReport
        fields = ["id", "kind", "period_start", "period_end", "revision", "as_of", "language",
                  "figures", "sections", "pdf_sha256", "xlsx_sha256", "generated_by",
                  "created_at"]  # fmt: skip
        read_only_fields = fields


class GenerateInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    period_start = serializers.DateField(help_text="The first day of the month or quarter.")


@extend_schema_field(OpenApiTypes.INT)
class StaffMemberField(serializers.PrimaryKeyRelatedField):
    """A user id among the company's active staff (who may own a CAPA)."""

    def get_queryset(self) -> Any:
        from medservice.quality.capa import staff_members

        return staff_members()


class ImprovementActionInput(serializers.Serializer):
    kpi = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="A KPI code of the report; blank: the whole report.",
    )
    problem = serializers.CharField()
    owner = StaffMemberField()
    due_on = serializers.DateField()


class ImprovementActionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="capa.pk")
    number = serializers.CharField(source="capa.number")
    kind = serializers.CharField(source="capa.kind")
    status = serializers.CharField(source="capa.status")
    problem = serializers.CharField(source="capa.problem")
    source_label = serializers.CharField(source="capa.source_label")
    owner = serializers.IntegerField(source="capa.owner_id", allow_null=True)
    due_on = serializers.DateField(source="capa.due_on", allow_null=True)
    verification_result = serializers.CharField(source="capa.verification_result")
    kpi = serializers.CharField()


class ReportReaders(BasePermission):
    """Internal users whose role reads the reports; 404 for everyone else signed in."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if user_scope(user) != "internal" or not user.has_perm("analytics.view_evaluationreport"):
            raise NotFound
        return True


CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def evaluation_report_viewset(resource: Any) -> type:
    from medservice.analytics.reports import (
        evaluation_report_generate,
        improvement_action_open,
        improvement_actions_of,
    )
    from medservice.core.api.inputs import action_input
    from medservice.core.api.viewsets import resource_viewset

    base = resource_viewset(resource)

    class EvaluationReportViewSet(base):  # type: ignore[misc, valid-type]
        """Evaluation reports (定期评估报告), frozen: filters kind, period_start."""

        permission_classes = [ReportReaders]
        serializer_class = EvaluationReportSerializer
        # POST only for the actions (generate, improvement-actions): a report is never
        # created, changed or deleted by hand.
        http_method_names = ["get", "post", "head", "options"]

        # Not an operation: POST is for the actions only, so the schema leaves it out.

        @extend_schema(exclude=True)
        def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            raise MethodNotAllowed("POST")

        def _download(self, extension: str) -> HttpResponse:
            report = self.get_object()
            stored = report.pdf if extension == "pdf" else report.xlsx
            if not stored:
                raise Http404
            return FileResponse(
                stored.open("rb"), content_type=CONTENT_TYPES[extension], as_attachment=True,
                filename=f"{report.file_stem}.{extension}",
            )  # fmt: skip

        @extend_schema(responses=file_responses(PDF))
        @action(detail=True, methods=["get"])
        def pdf(self, request: Request, pk: Any = None) -> HttpResponse:
            """The report's PDF, exactly as generated (its SHA-256 is pdf_sha256)."""
            return self._download("pdf")

        @extend_schema(responses=file_responses(XLSX))
        @action(detail=True, methods=["get"])
        def xlsx(self, request: Request, pk: Any = None) -> HttpResponse:
            """The report's workbook (sheet "KPIs": code, name, numerator, denominator, value,
            target, previous, ...; numbers as numbers)."""
            return self._download("xlsx")

        @extend_schema(
            request=GenerateInput,
            responses={201: EvaluationReportSerializer,
                       400: OpenApiResponse(description="Bad period: the fields are named."),
                       403: OpenApiResponse(description="Your role may not generate.")},
        )  # fmt: skip
        @action(detail=False, methods=["post"])
        def generate(self, request: Request) -> Response:
            """Generate a month's or quarter's report now (an ended period); again: the next
            revision, the earlier kept."""
            data = action_input(GenerateInput, request)
            report = evaluation_report_generate(actor=request.user, **data)
            return Response(
                EvaluationReportSerializer(report, context=self.get_serializer_context()).data,
                status=201,
            )

        @extend_schema(
            methods=["GET"], request=None,
            responses={200: ImprovementActionSerializer(many=True)},
        )  # fmt: skip
        @extend_schema(
            methods=["POST"], request=ImprovementActionInput,
            responses={201: ImprovementActionSerializer,
                       400: OpenApiResponse(description="Bad input: the fields are named."),
                       403: OpenApiResponse(description="Your role may not open CAPAs.")},
        )  # fmt: skip
        # The list is answered whole (a report raises a handful): no pagination, and so the
        # schema documents a plain array, as answered.
        @action(detail=True, methods=["get", "post"], url_path="improvement-actions",
                url_name="improvement-actions", pagination_class=None)  # fmt: skip
        def improvement_actions(self, request: Request, pk: Any = None) -> Response:
            """GET: the improvement actions (CAPAs of kind improvement) this report's period
            raised, with their status now and KPI. POST: open one (kpi, problem, owner,
            due_on)."""
            report = self.get_object()
            if request.method == "POST":
                data = action_input(ImprovementActionInput, request)
                capa = improvement_action_open(
                    actor=request.user, report=report, kpi_code=data["kpi"],
                    problem=data["problem"], owner=data["owner"], due_on=data["due_on"],
                )  # fmt: skip
                return Response(
                    ImprovementActionSerializer({"capa": capa, "kpi": data["kpi"]}).data,
                    status=201,
                )
            rows = improvement_actions_of(report)
            return Response(ImprovementActionSerializer(rows, many=True).data)

    EvaluationReportViewSet.__doc__ = base.__doc__
    return EvaluationReportViewSet
