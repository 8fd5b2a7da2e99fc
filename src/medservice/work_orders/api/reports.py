"""The work-order API actions of the reports area (a mixin of the work-order viewset): the
customer's signature, the report and its PDF, and the fees."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.api.inputs import action_input
from medservice.core.models import Signature
from medservice.work_orders.api.actions import RESPONSES
from medservice.work_orders.api.serializers import FeeItemSerializer, ServiceReportSerializer
from medservice.work_orders.choices import ChargeCategory, PaymentMethod
from medservice.work_orders.reports import (
    SignMethod,
    fee_add,
    fee_dispute,
    fee_dispute_settle,
    payment_record,
    report_current,
    report_filename,
    report_pdf,
    report_sign,
)
from medservice.work_orders.selectors import is_customer

MONEY = {"max_digits": 12, "decimal_places": 2}


class PDFRenderer(BaseRenderer):
    """Lets a client ask for application/pdf; the action answers the bytes itself."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, bytes):
            return data
        # An error body (404, 403) when the client asked for a PDF.
        return JSONRenderer().render(data)


class SignInput(serializers.Serializer):
    printed_name = serializers.CharField(max_length=100, help_text="The signer's name in full.")
    signature_image = serializers.CharField(
        help_text="The signature drawn on screen: a PNG data URL "
        "(data:image/png;base64,...), under 500 KB."
    )


class SignatureOutput(serializers.ModelSerializer):
    class Meta:
        model = Signature
        fields = ["signer_kind", "printed_name", "meaning", "signed_at", "revision", "content_hash"]
        read_only_fields = fields


class ReportOutput(ServiceReportSerializer):
    """The current revision of the service report with its signatures and content."""

    signatures = serializers.SerializerMethodField()
    content = serializers.JSONField(read_only=True)
    supersedes = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(ServiceReportSerializer.Meta):
        fields = [*ServiceReportSerializer.Meta.fields, "supersedes", "content", "signatures"]
        read_only_fields = fields

    @extend_schema_field(SignatureOutput(many=True))
    def get_signatures(self, report: Any) -> list[dict[str, Any]]:
        from medservice.core.signatures import signatures_of

        return SignatureOutput(signatures_of(report), many=True).data


class FeeInput(serializers.Serializer):
    category = serializers.ChoiceField(choices=ChargeCategory.choices)
    description = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(min_value=0, **MONEY)


class PaymentInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    paid_on = serializers.DateField()
    invoice_number = serializers.CharField(max_length=50)


class DisputeInput(serializers.Serializer):
    reason = serializers.CharField()


class SettleInput(serializers.Serializer):
    resolution = serializers.CharField()
    waive = serializers.BooleanField(required=False, default=False)


def _current(work_order: Any) -> Any:
    report = report_current(work_order)
    if report is None:
        raise NotFound("This work order has no service report yet.")
    return report


# The permission of each fee action, as its service checks it (reports.py): the work-order
# viewset refuses a role without it as soon as the work order is found, before the input is
# read, so a role that may not bill learns nothing from the validation (403, not 400).
FEE_ACTION_PERMISSIONS = {
    "add-fee": "work_orders.record_fees",
    "record-payment": "work_orders.record_fees",
    "dispute-fee": "work_orders.respond_workorder",
    "settle-dispute": "work_orders.settle_dispute",
}


class ReportsActions:
    """Mixed into the work-order viewset."""

    def _answer(self, work_order: Any) -> Response:  # pragma: no cover - replaced in viewset
        raise NotImplementedError

    @extend_schema(request=SignInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def sign(self, request: Request, pk: Any = None) -> Response:
        """The customer signs the current service report (drawn signature + printed name): the
        report is frozen and the work order closes. A customer user signs in the portal; staff
        record a signature drawn on their device."""
        work_order = self.get_object()
        data = action_input(SignInput, request)
        report_sign(
            actor=request.user,
            report=_current(work_order),
            method=SignMethod.PORTAL if is_customer(request.user) else SignMethod.ON_SITE,
            **data,
        )
        return self._answer(work_order)

    @extend_schema(
        responses={
            (200, "application/json"): ReportOutput,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such work order in your scope, or no report."),
        }
    )
    @action(detail=True, methods=["get"], url_path="report", url_name="report",
            permission_classes=[IsAuthenticated],
            renderer_classes=[JSONRenderer, PDFRenderer])  # fmt: skip
    def report(self, request: Request, pk: Any = None, **kwargs: Any) -> Any:
        """The current revision of the service report, its content and signatures; as a PDF
        (the customer's language) at .../report.pdf or with Accept: application/pdf."""
        # The router's format suffix turns .../report.pdf into this action with format "pdf":
        # a separate "report.pdf" route would never be reached.
        work_order = self.get_object()
        report = _current(work_order)
        if request.accepted_renderer.format != "pdf":
            return Response(ReportOutput(report).data)
        response = HttpResponse(report_pdf(report), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{report_filename(report)}"'
        return response

    @extend_schema(request=FeeInput, responses={**RESPONSES, 200: FeeItemSerializer})
    @action(detail=True, methods=["post"], url_path="add-fee", url_name="add-fee",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def add_fee(self, request: Request, pk: Any = None) -> Response:
        """Bill a charge for the work (finance); refused once paid."""
        work_order = self.get_object()
        data = action_input(FeeInput, request)
        fee = fee_add(actor=request.user, work_order=work_order, **data)
        return Response(FeeItemSerializer(fee).data)

    @extend_schema(request=PaymentInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="record-payment", url_name="record-payment",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def record_payment(self, request: Request, pk: Any = None) -> Response:
        """Record the customer's payment with the method and the invoice number (finance)."""
        work_order = self.get_object()
        data = action_input(PaymentInput, request)
        return self._answer(payment_record(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=DisputeInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="dispute-fee", url_name="dispute-fee",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def dispute_fee(self, request: Request, pk: Any = None) -> Response:
        """The customer disputes the unpaid fees: the service managers are told."""
        work_order = self.get_object()
        data = action_input(DisputeInput, request)
        return self._answer(fee_dispute(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=SettleInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="settle-dispute", url_name="settle-dispute",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def settle_dispute(self, request: Request, pk: Any = None) -> Response:
        """The service manager settles a disputed fee: due again, or waived."""
        work_order = self.get_object()
        data = action_input(SettleInput, request)
        return self._answer(fee_dispute_settle(actor=request.user, work_order=work_order, **data))
