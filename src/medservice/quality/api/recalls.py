"""API for trace, stop-use notices and recalls.

- `GET /api/v1/trace/?device_model=&batch_number=` (or `serial_from`/`serial_to`, or `udi`;
  `part_lot` for the part-lot trace; `export=csv|xlsx` for a file): for quality roles, every
  device and delivery line of the scope with owner, department, contact, quantity and delivery
  date, and the recipients per organisation. Other roles keep the installed base's scoped trace.
- `/api/v1/recalls/`: list, read, prepare (POST) and the workflow actions decide, cancel,
  send-notice, acknowledge, dispose, record-filing, check-effectiveness, record-summary, close;
  the affected
  list under recipients/ and devices/; reports under report/?kind=progress|summary&export=pdf|xlsx.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.core.api.inputs import action_input
from medservice.core.api.permissions import ModelPermissions
from medservice.core.api.schema import CSV, XLSX, file_responses
from medservice.core.errors import InvalidInputError
from medservice.customers.selectors import user_scope
from medservice.installed_base.api.serializers import (
    TraceDeviceSerializer,
    TraceHoldSerializer,
    TraceLineSerializer,
    TraceSerializer,
)
from medservice.quality.choices import Disposition, RecallNoticeChannel
from medservice.quality.models import Recall, RecallDevice, RecallNotice, RecallRecipient
from medservice.quality.recalls import (
    REPORT_KINDS,
    recall_acknowledge,
    recall_actions_allowed,
    recall_cancel,
    recall_check_effectiveness,
    recall_close,
    recall_decide,
    recall_device_dispose,
    recall_notice_send,
    recall_progress,
    recall_record_filing,
    recall_record_summary,
    recall_report_pdf,
    recall_report_xlsx,
    trace_allowed,
)
from medservice.quality.selectors import cases_visible_to
from medservice.quality.trace import trace_run

RESPONSES = {
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="Your role may not take this action."),
    404: OpenApiResponse(description="No such recall in your scope."),
    409: OpenApiResponse(description="Not possible in the recall's state."),
}


class InternalOnly(ModelPermissions):
    """Recalls are internal quality records: outside the company they do not exist (404)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is not None and user.is_authenticated and user_scope(user) != "internal":
            raise exceptions.NotFound()
        return super().has_permission(request, view)


# --- Serializers ----------------------------------------------------------------------------------


class RecallSerializer(serializers.ModelSerializer):
    """A stop-use notice or recall. To prepare one send kind (stop_use, recall), recall_class
    (I, II, III), device_model with batch_number or serial_from/serial_to (or udi alone),
    reason, instructions, handling, responsible_phone, optionally quality_case (its model and
    batch are the default scope). The due times are set when it is decided."""

    progress = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Recall
        fields = [
            "id", "number", "kind", "status", "quality_case", "device_model", "batch_number",
            "serial_from", "serial_to", "udi", "recall_class", "reason", "instructions",
            "handling", "responsible", "responsible_phone", "decided_at", "decided_by",
            "notify_due_at", "filing_due_at", "filing_due_unconfirmed", "filed_at",
            "filing_reference", "effectiveness_checked_at", "effectiveness_effective",
            "effectiveness_note", "ended_at", "summary_due_at", "summary_due_unconfirmed",
            "summary_submitted_at", "summary_reference", "closed_at", "cancel_reason",
            "retain_until", "progress", "actions", "created_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "status", "responsible", "decided_at", "decided_by",
            "notify_due_at", "filing_due_at", "filing_due_unconfirmed", "filed_at",
            "filing_reference", "effectiveness_checked_at", "effectiveness_effective",
            "effectiveness_note", "ended_at", "summary_due_at", "summary_due_unconfirmed",
            "summary_submitted_at", "summary_reference", "closed_at", "cancel_reason",
            "retain_until", "created_at",
        ]  # fmt: skip
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "device_model": {"required": False, "allow_null": True},
            "reason": {"required": False, "allow_blank": True},
            "instructions": {"required": False, "allow_blank": True},
            "responsible_phone": {"required": False, "allow_blank": True},
            "kind": {"required": False},
            "recall_class": {"required": False},
            "handling": {"required": False},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "quality_case" in self.fields:
            self.fields["quality_case"].queryset = cases_visible_to(request.user)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The service checks the business rules and names every field; only shape here.
        return attrs

    def get_progress(self, recall: Recall) -> dict[str, Any] | None:
        view = self.context.get("view")
        # Two queries per recall: on a record's own answer, not in lists (fixed query count).
        if recall.status == "draft" or getattr(view, "action", "") == "list":
            return None
        progress = recall_progress(recall)
        return {
            "percent": str(progress.percent),
            "devices_total": progress.devices_total,
            "devices_done": progress.devices_done,
            "by_disposition": progress.by_disposition,
            "recipients_total": progress.recipients_total,
            "recipients_notified": progress.recipients_notified,
            "recipients_acknowledged": progress.recipients_acknowledged,
        }

    def get_actions(self, recall: Recall) -> list[str]:
        request = self.context.get("request")
        return recall_actions_allowed(recall, request.user) if request is not None else []


class _Named(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RecallNoticeSerializer(serializers.ModelSerializer):
    """A notice sent; `letter` is an absolute URL (format uri) when the view passes its request
    in the context, as every view here does."""

    class Meta:
        model = RecallNotice
        fields = ["id", "channel", "sent_at", "sent_by", "message_id", "subject", "letter"]


class RecallRecipientSerializer(serializers.ModelSerializer):
    organization = _Named()
    contact = _Named(allow_null=True)
    notices = RecallNoticeSerializer(many=True)

    class Meta:
        model = RecallRecipient
        fields = [
            "id", "organization", "contact", "quantity_delivered", "devices_count",
            "notified_at", "acknowledged_at", "acknowledged_by_name", "quantity_held",
            "quantity_returned", "quantity_corrected", "acknowledgement_note", "notices",
        ]  # fmt: skip


class RecallDeviceSerializer(serializers.ModelSerializer):
    serial_number = serializers.CharField(source="device.serial_number")
    batch_number = serializers.CharField(source="device.batch_number")
    organization = _Named(source="device.organization")
    work_order = serializers.CharField(source="work_order.number", allow_null=True)

    class Meta:
        model = RecallDevice
        fields = [
            "id", "device", "serial_number", "batch_number", "organization", "recipient",
            "disposition", "disposition_at", "disposition_note", "work_order",
        ]  # fmt: skip


class RecallDecideInput(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False)
    decided_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class CancelInput(serializers.Serializer):
    reason = serializers.CharField()


class NoticeInput(serializers.Serializer):
    recipient = serializers.IntegerField(min_value=1)
    channel = serializers.ChoiceField(choices=RecallNoticeChannel.choices)
    sent_to = serializers.CharField(required=False, allow_blank=True, default="")


class AcknowledgeInput(serializers.Serializer):
    recipient = serializers.IntegerField(min_value=1)
    acknowledged_by_name = serializers.CharField(max_length=100)
    acknowledged_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    quantity_held = serializers.IntegerField(min_value=0, default=0)
    quantity_returned = serializers.IntegerField(min_value=0, default=0)
    quantity_corrected = serializers.IntegerField(min_value=0, default=0)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DisposeInput(serializers.Serializer):
    device = serializers.IntegerField(min_value=1, help_text="The recalled-device entry's id.")
    disposition = serializers.ChoiceField(choices=Disposition.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class FilingInput(serializers.Serializer):
    reference = serializers.CharField(max_length=100)
    filed_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class EffectivenessInput(serializers.Serializer):
    effective = serializers.BooleanField()
    note = serializers.CharField()


class SummaryInput(serializers.Serializer):
    reference = serializers.CharField(max_length=100)
    submitted_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class RecallCloseInput(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False)
    note = serializers.CharField(required=False, allow_blank=True, default="")


# --- Viewsets ---------------------------------------------------------------------------------------


def _row(queryset: Any, pk: int, field: str) -> Any:
    row = queryset.filter(pk=pk).first()
    if row is None:
        message = _("This recall has no such entry.")
        raise InvalidInputError(message, fields={field: [message]})
    return row


def recall_viewset(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.quality.recalls import RECALL_TRANSITIONS

    base = resource_viewset(resource)

    class RecallViewSet(base):  # type: ignore[misc, valid-type]
        permission_classes: ClassVar[list[Any]] = [InternalOnly]
        transitions = RECALL_TRANSITIONS

        def _answer(self, recall: Recall) -> Response:
            recall.refresh_from_db()
            return Response(RecallSerializer(recall, context=self.get_serializer_context()).data)

        @extend_schema(request=RecallDecideInput, responses={200: RecallSerializer, **RESPONSES})
        @action(detail=True, methods=["post"])
        def decide(self, request: Request, pk: Any = None) -> Response:
            """The quality manager decides and signs (password): the clocks start, the affected
            list is frozen from the trace."""
            recall = self.get_object()
            data = action_input(RecallDecideInput, request)
            return self._answer(recall_decide(actor=request.user, recall=recall, **data))

        @extend_schema(request=CancelInput, responses={200: RecallSerializer, **RESPONSES})
        @action(detail=True, methods=["post"])
        def cancel(self, request: Request, pk: Any = None) -> Response:
            """Cancel a draft, with the reason."""
            recall = self.get_object()
            data = action_input(CancelInput, request)
            return self._answer(recall_cancel(actor=request.user, recall=recall, **data))

        @extend_schema(request=NoticeInput, responses={201: RecallNoticeSerializer, **RESPONSES})
        @action(detail=True, methods=["post"], url_path="send-notice", url_name="send-notice")
        def send_notice(self, request: Request, pk: Any = None) -> Response:
            """Send the notice to one recipient by e-mail, SMS or printed letter."""
            recall = self.get_object()
            data = action_input(NoticeInput, request)
            recipient = _row(recall.recipients.all(), data.pop("recipient"), "recipient")
            notice = recall_notice_send(actor=request.user, recipient=recipient, **data)
            return Response(
                RecallNoticeSerializer(notice, context=self.get_serializer_context()).data,
                status=201,
            )

        @extend_schema(request=AcknowledgeInput,
                       responses={200: RecallRecipientSerializer, **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"])
        def acknowledge(self, request: Request, pk: Any = None) -> Response:
            """A recipient's acknowledgement with the quantities held, returned, corrected."""
            recall = self.get_object()
            data = action_input(AcknowledgeInput, request)
            recipient = _row(recall.recipients.all(), data.pop("recipient"), "recipient")
            recipient = recall_acknowledge(actor=request.user, recipient=recipient, **data)
            return Response(
                RecallRecipientSerializer(recipient, context=self.get_serializer_context()).data
            )

        @extend_schema(request=DisposeInput, responses={200: RecallDeviceSerializer, **RESPONSES})
        @action(detail=True, methods=["post"])
        def dispose(self, request: Request, pk: Any = None) -> Response:
            """What became of one affected device (corrected on site opens a work order)."""
            recall = self.get_object()
            data = action_input(DisposeInput, request)
            entry = _row(recall.devices.all(), data.pop("device"), "device")
            entry = recall_device_dispose(actor=request.user, entry=entry, **data)
            return Response(RecallDeviceSerializer(entry).data)

        @extend_schema(request=FilingInput, responses={200: RecallSerializer, **RESPONSES})
        @action(detail=True, methods=["post"], url_path="record-filing", url_name="record-filing")
        def record_filing(self, request: Request, pk: Any = None) -> Response:
            """The filing with the regulator (CN-RC-2): time and reference."""
            recall = self.get_object()
            data = action_input(FilingInput, request)
            return self._answer(recall_record_filing(actor=request.user, recall=recall, **data))

        @extend_schema(request=EffectivenessInput, responses={200: RecallSerializer, **RESPONSES})
        @action(detail=True, methods=["post"], url_path="check-effectiveness",
                url_name="check-effectiveness")  # fmt: skip
        def check_effectiveness(self, request: Request, pk: Any = None) -> Response:
            """The quality manager's effectiveness check."""
            recall = self.get_object()
            data = action_input(EffectivenessInput, request)
            return self._answer(
                recall_check_effectiveness(actor=request.user, recall=recall, **data)
            )

        @extend_schema(request=SummaryInput, responses={200: RecallSerializer, **RESPONSES})
        @action(detail=True, methods=["post"], url_path="record-summary",
                url_name="record-summary")  # fmt: skip
        def record_summary(self, request: Request, pk: Any = None) -> Response:
            """The summary evaluation report to the regulator (CN-RC-3): time and reference;
            once the recall has ended (its effectiveness check)."""
            recall = self.get_object()
            data = action_input(SummaryInput, request)
            return self._answer(recall_record_summary(actor=request.user, recall=recall, **data))

        @extend_schema(request=RecallCloseInput, responses={200: RecallSerializer, **RESPONSES})
        @action(detail=True, methods=["post"])
        def close(self, request: Request, pk: Any = None) -> Response:
            """The quality manager closes and signs (password), once filed, checked and the
            summary report submitted."""
            recall = self.get_object()
            data = action_input(RecallCloseInput, request)
            return self._answer(recall_close(actor=request.user, recall=recall, **data))

        @extend_schema(responses={200: RecallRecipientSerializer(many=True)})
        @action(detail=True, methods=["get"])
        def recipients(self, request: Request, pk: Any = None) -> Response:
            """The affected organisations with their notices and acknowledgements."""
            recall = self.get_object()
            rows = (
                recall.recipients.select_related("organization", "contact")
                .prefetch_related("notices")
                .order_by("organization__name", "pk")
            )
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(
                RecallRecipientSerializer(
                    page, many=True, context=self.get_serializer_context()
                ).data
            )

        @extend_schema(responses={200: RecallDeviceSerializer(many=True)})
        @action(detail=True, methods=["get"])
        def devices(self, request: Request, pk: Any = None) -> Response:
            """The affected devices with their dispositions."""
            recall = self.get_object()
            rows = recall.devices.select_related("device__organization", "work_order").order_by(
                "device__organization__name", "device__serial_number", "pk"
            )
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(RecallDeviceSerializer(page, many=True).data)

        @extend_schema(
            parameters=[
                OpenApiParameter("kind", enum=list(REPORT_KINDS)),
                OpenApiParameter("export", enum=["pdf", "xlsx"]),
            ],
            responses={(200, "application/pdf"): bytes},
        )
        @action(detail=True, methods=["get"])
        def report(self, request: Request, pk: Any = None) -> HttpResponse:
            """The progress or summary report as PDF or XLSX."""
            recall = self.get_object()
            return report_response(
                recall, request.query_params.get("kind", "progress"),
                request.query_params.get("export", "pdf"),
            )  # fmt: skip

    RecallViewSet.__doc__ = base.__doc__
    return RecallViewSet


def report_response(recall: Recall, kind: str, export: str) -> HttpResponse:
    problems = {}
    if kind not in REPORT_KINDS:
        problems["kind"] = [_("Choose the progress or the summary report.")]
    if export not in ("pdf", "xlsx"):
        problems["export"] = [_("Choose PDF or XLSX.")]
    if problems:
        raise InvalidInputError(_("The report was not made."), fields=problems)
    filename = f"{recall.number}-{kind}"
    if export == "pdf":
        response = HttpResponse(recall_report_pdf(recall, kind), content_type="application/pdf")
    else:
        response = HttpResponse(
            recall_report_xlsx(recall, kind),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}.{export}"'
    return response


# --- The trace ------------------------------------------------------------------------------------


class TraceRecipientSerializer(serializers.Serializer):
    organization = _Named()
    contact = serializers.SerializerMethodField()
    quantity_delivered = serializers.IntegerField()
    devices = serializers.SerializerMethodField()
    last_delivered_on = serializers.DateField(allow_null=True)

    def get_contact(self, recipient: Any) -> dict[str, Any] | None:
        contact = recipient.contact
        if contact is None:
            return None
        may_unmask = self.context.get("may_unmask", False)
        phone = (contact.mobile or contact.phone) if may_unmask else (
            contact.mobile_masked or contact.phone_masked
        )  # fmt: skip
        return {"id": contact.pk, "name": contact.name, "email": contact.email, "phone": phone}

    def get_devices(self, recipient: Any) -> int:
        return len(recipient.devices)


class QualityTraceDeviceSerializer(TraceDeviceSerializer):
    department = serializers.CharField(source="department.name", allow_null=True, default=None)
    delivered_on = serializers.SerializerMethodField()

    class Meta(TraceDeviceSerializer.Meta):
        fields = [*TraceDeviceSerializer.Meta.fields, "delivered_on"]

    def get_delivered_on(self, device: Any) -> str | None:
        line = device.delivery_line
        return line.delivery.delivered_on.isoformat() if line is not None else None


class QualityTraceQuery(serializers.Serializer):
    device_model = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    batch_number = serializers.CharField(required=False, allow_blank=True, max_length=50)
    serial_number = serializers.CharField(required=False, allow_blank=True, max_length=50)
    serial_from = serializers.CharField(required=False, allow_blank=True, max_length=50)
    serial_to = serializers.CharField(required=False, allow_blank=True, max_length=50)
    udi = serializers.CharField(required=False, allow_blank=True, max_length=200)
    part_lot = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    export = serializers.ChoiceField(choices=["csv", "xlsx"], required=False)


class QualityTraceAnswer(serializers.Serializer):
    """The quality trace's answer (documentation of its shape). Asked with part_lot only (no
    device_model or udi) it holds just part_lot and part_lot_fittings, so every other field
    is optional here; part_lot only then."""

    part_lot = serializers.IntegerField(required=False)
    device_model = serializers.IntegerField(required=False)
    batch_number = serializers.CharField(allow_blank=True, required=False)
    serial_number = serializers.CharField(allow_blank=True, required=False)
    serial_from = serializers.CharField(allow_blank=True, required=False)
    serial_to = serializers.CharField(allow_blank=True, required=False)
    udi = serializers.CharField(allow_blank=True, required=False)
    quantity_delivered = serializers.IntegerField(required=False)
    devices = QualityTraceDeviceSerializer(many=True, required=False)
    delivery_lines = TraceLineSerializer(many=True, required=False)
    holds = TraceHoldSerializer(many=True, required=False)
    recipients = TraceRecipientSerializer(many=True, required=False)
    part_lot_fittings = serializers.ListField(child=serializers.DictField())


def trace_viewset() -> type:
    from medservice.installed_base.api.viewsets import TraceViewSet

    class QualityTraceViewSet(TraceViewSet):
        """Trace (追溯). Quality roles: every device and delivery line of a model's batch, serial
        range (serial_from, serial_to) or UDI with owner, department, contact, quantity and
        delivery date, the recipients per organisation, active holds, and with part_lot the
        devices and work orders the part lot went into; export=csv|xlsx for a file. Other roles
        with the device permission: the units and lines of their own scope."""

        @extend_schema(
            parameters=[QualityTraceQuery],
            responses={
                # export=csv|xlsx answers the file; without it, JSON: the quality trace for
                # quality roles, the installed base's scoped trace for the others.
                (200, "application/json"): PolymorphicProxySerializer(
                    component_name="TraceAnswer",
                    serializers=[QualityTraceAnswer, TraceSerializer],
                    resource_type_field_name=None,
                ),
                **file_responses(CSV, XLSX, description="export=csv|xlsx: the trace as a file."),
            },
        )
        def list(self, request: Request) -> Response:
            if not trace_allowed(request.user):
                return super().list(request)
            return quality_trace_answer(request)

    return QualityTraceViewSet


def quality_trace_answer(request: Request) -> Any:
    from medservice.quality.trace import (
        trace_export_headers,
        trace_export_rows,
        trace_part_lot,
        trace_scope,
    )

    query = action_input_query(request)
    serial = query.get("serial_number", "")
    part_lot = query.get("part_lot")
    fittings: list[Any] = []
    if part_lot is not None:
        from medservice.inventory.selectors import lots_visible_to

        lot = lots_visible_to(request.user).filter(pk=part_lot).first()
        if lot is None:
            message = _("This part lot does not exist.")
            raise InvalidInputError(message, fields={"part_lot": [message]})
        fittings = trace_part_lot(lot, request.user)
        if not any(query.get(name) for name in ("device_model", "udi")):
            return Response({"part_lot": part_lot, "part_lot_fittings": [
                _fitting(item) for item in fittings
            ]})  # fmt: skip
    scope = trace_scope(
        device_model=query.get("device_model"),
        batch_number=query.get("batch_number", ""),
        serial_from=query.get("serial_from") or serial,
        serial_to=query.get("serial_to") or serial,
        udi=query.get("udi", ""),
    )
    result = trace_run(scope)
    may_unmask = request.user.has_perm("customers.unmask_contact")
    export = query.get("export")
    if export:
        from medservice.core.exports import export_csv, export_xlsx

        filename = f"trace-{scope.device_model.pk}-{scope.batch_number or scope.serial_from}"
        rows = trace_export_rows(result, may_unmask=may_unmask)
        make = export_csv if export == "csv" else export_xlsx
        return make(filename, trace_export_headers(), rows)
    return Response(
        {
            "device_model": scope.device_model.pk,
            "batch_number": scope.batch_number,
            "serial_number": serial,
            "serial_from": scope.serial_from,
            "serial_to": scope.serial_to,
            "udi": scope.udi,
            "quantity_delivered": result.quantity_delivered,
            "devices": QualityTraceDeviceSerializer(result.devices, many=True).data,
            "delivery_lines": TraceLineSerializer(result.delivery_lines, many=True).data,
            "holds": TraceHoldSerializer(result.holds, many=True).data,
            "recipients": TraceRecipientSerializer(
                result.recipients, many=True, context={"may_unmask": may_unmask}
            ).data,
            "part_lot_fittings": [_fitting(item) for item in fittings],
        }
    )


def action_input_query(request: Request) -> dict[str, Any]:
    query = QualityTraceQuery(data=request.query_params)
    if not query.is_valid():
        from medservice.core.api.inputs import errors_by_field

        fields = errors_by_field(query.errors)
        raise InvalidInputError(
            _("The input is not valid: %(fields)s.") % {"fields": ", ".join(fields)},
            fields=fields,
        )
    return dict(query.validated_data)


def _fitting(item: Any) -> dict[str, Any]:
    from medservice.inventory.services import quantity_text

    return {
        "kind": item.kind,
        "occurred_at": item.occurred_at.isoformat(),
        "part_number": item.part_number,
        "lot_number": item.lot_number,
        "serial_number": item.serial_number,
        "quantity": quantity_text(item.quantity),
        "device": item.device_id,
        "device_serial": item.device_serial,
        "device_model": item.device_model,
        "organization": {"id": item.organization_id, "name": item.organization},
        "work_order": item.reference,
    }


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router. The trace at /api/v1/trace/ (DESIGN's
    API map) is the installed base's, extended here for quality roles: the installed base
    registers it first (config/api_urls.py), so this replaces that registration with its
    subclass, which keeps the installed base's answer for every other role."""
    from medservice.quality.views_recalls import recalls

    router.registry[:] = [entry for entry in router.registry if entry[0] != "trace"]
    router.register("trace", trace_viewset(), basename="trace")
    router.register("recalls", recall_viewset(recalls), basename="recall")
