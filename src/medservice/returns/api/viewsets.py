"""The return viewset (/api/v1/returns/): the generic list, read and request of the resource,
plus one POST action per workflow step. Each calls the same service as the page's button; a
refused step answers 409 (wrong state or a hold) or 400 (bad input) with the reason."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.api.inputs import action_input
from medservice.core.errors import InvalidInputError
from medservice.returns.api.serializers import (
    EvaluateInput,
    ExchangeInput,
    ReceiveInput,
    RefundApprovalInput,
    RefundInput,
    RefundSerializer,
    RepairInput,
    ReturnAttachInput,
    ReturnCloseInput,
    ReturnFileSerializer,
    ReturnReasonInput,
    ReturnRequestSerializer,
    ShipExchangeInput,
)
from medservice.returns.services import (
    return_approve_exchange,
    return_approve_refund,
    return_approve_repair,
    return_close,
    return_evaluate,
    return_file_attach,
    return_receive,
    return_refund,
    return_reject,
    return_ship_exchange,
)

RESPONSES = {
    200: ReturnRequestSerializer,
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not take this action."),
    404: OpenApiResponse(description="No such return in your scope."),
    409: OpenApiResponse(description="Not possible in the return's state, or a hold forbids it."),
}


def _location(pk: int, field: str = "location") -> Any:
    from medservice.inventory.models import StockLocation

    location = StockLocation.objects.filter(pk=pk).first()
    if location is None:
        from django.utils.translation import gettext as _

        message = _("There is no such stock location.")
        raise InvalidInputError(message, fields={field: [message]})
    return location


def viewset_for(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.returns.workflow import TRANSITIONS

    base = resource_viewset(resource)

    class ReturnViewSet(base):  # type: ignore[misc, valid-type]
        parser_classes = [JSONParser, MultiPartParser, FormParser]
        transitions = TRANSITIONS

        def get_queryset(self) -> Any:
            return (
                super()
                .get_queryset()
                .select_related("receipt")
                .prefetch_related("lines", "files", "exchange_units", "refunds")
            )

        def _answer(self, record: Any) -> Response:
            record = self.get_queryset().get(pk=record.pk)
            return Response(
                ReturnRequestSerializer(record, context=self.get_serializer_context()).data
            )

        @extend_schema(request=EvaluateInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def evaluate(self, request: Request, pk: Any = None) -> Response:
            """Record cause and responsibility (售后服务评估); a product defect opens or links a
            quality case."""
            record = self.get_object()
            data = action_input(EvaluateInput, request)
            return self._answer(return_evaluate(actor=request.user, request=record, **data))

        @extend_schema(request=RepairInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], url_path="approve-repair",
                url_name="approve-repair", permission_classes=[IsAuthenticated])  # fmt: skip
        def approve_repair(self, request: Request, pk: Any = None) -> Response:
            """Go on as a repair: a repair work order per unit (refused for a unit under an
            evidence hold)."""
            record = self.get_object()
            data = action_input(RepairInput, request)
            return self._answer(return_approve_repair(actor=request.user, request=record, **data))

        @extend_schema(request=ExchangeInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], url_path="approve-exchange",
                url_name="approve-exchange", permission_classes=[IsAuthenticated])  # fmt: skip
        def approve_exchange(self, request: Request, pk: Any = None) -> Response:
            """Approve an exchange (eligible, not on hold, kept in stock); issues the RMA
            number."""
            record = self.get_object()
            data = action_input(ExchangeInput, request)
            return self._answer(return_approve_exchange(actor=request.user, request=record, **data))

        @extend_schema(request=RefundApprovalInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], url_path="approve-refund",
                url_name="approve-refund", permission_classes=[IsAuthenticated])  # fmt: skip
        def approve_refund(self, request: Request, pk: Any = None) -> Response:
            """Approve a full or partial refund (never above what was paid)."""
            record = self.get_object()
            data = action_input(RefundApprovalInput, request)
            return self._answer(return_approve_refund(actor=request.user, request=record, **data))

        @extend_schema(request=ReturnReasonInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def reject(self, request: Request, pk: Any = None) -> Response:
            """Reject, with the reason the customer is told (required)."""
            record = self.get_object()
            data = action_input(ReturnReasonInput, request)
            return self._answer(return_reject(actor=request.user, request=record, **data))

        @extend_schema(request=ReceiveInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def receive(self, request: Request, pk: Any = None) -> Response:
            """Receive into a quarantine location with the inspection's result (body:
            location, inspection_result, inspection_note, received_at)."""
            record = self.get_object()
            data = action_input(ReceiveInput, request)
            data["location"] = _location(data["location"])
            return self._answer(return_receive(actor=request.user, request=record, **data))

        @extend_schema(request=ShipExchangeInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], url_path="ship-exchange",
                url_name="ship-exchange", permission_classes=[IsAuthenticated])  # fmt: skip
        def ship_exchange(self, request: Request, pk: Any = None) -> Response:
            """Issue each exchange unit (units: [{line, lot}]) from a warehouse: the old device
            is marked returned, the new one installed at the customer."""
            record = self.get_object()
            data = action_input(ShipExchangeInput, request)
            return self._answer(
                return_ship_exchange(
                    actor=request.user,
                    request=record,
                    location=_location(data["location"]),
                    lots={item["line"]: item["lot"] for item in data["units"]},
                    shipment_reference=data["shipment_reference"],
                )
            )

        @extend_schema(request=RefundInput, responses={**RESPONSES, 200: RefundSerializer})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def refund(self, request: Request, pk: Any = None) -> Response:
            """Record a refund (finance): amount, method, paid_on, reference; never above what
            was paid on the delivery line, across all its refunds."""
            record = self.get_object()
            data = action_input(RefundInput, request)
            line = None
            line_id = data.pop("line")
            if line_id is not None:
                line = record.lines.filter(pk=line_id).first()
                if line is None:
                    from django.utils.translation import gettext as _

                    message = _("This product is not on this return.")
                    raise InvalidInputError(message, fields={"line": [message]})
            refund = return_refund(actor=request.user, request=record, line=line, **data)
            return Response(RefundSerializer(refund).data)

        @extend_schema(request=ReturnCloseInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def close(self, request: Request, pk: Any = None) -> Response:
            """Close once the decision is carried out."""
            record = self.get_object()
            data = action_input(ReturnCloseInput, request)
            return self._answer(return_close(actor=request.user, request=record, **data))

        @extend_schema(request=ReturnAttachInput, responses={200: ReturnFileSerializer})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def attach(self, request: Request, pk: Any = None) -> Response:
            """Add a proof of purchase or a photo (multipart: kind, file)."""
            record = self.get_object()
            data = action_input(ReturnAttachInput, request)
            attached = return_file_attach(
                actor=request.user, request=record, kind=data["kind"], upload=data["file"]
            )
            return Response(ReturnFileSerializer(attached).data)

    ReturnViewSet.__doc__ = base.__doc__
    return ReturnViewSet
