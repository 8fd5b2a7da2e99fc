"""API viewsets of parts, locations, lots, stock and the ledger; a lot's hold and release and
its trace are actions on the lot."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.api.viewsets import resource_viewset
from medservice.core.errors import InvalidInputError
from medservice.inventory.api.serializers import LotHoldSerializer, LotSerializer
from medservice.inventory.resources import locations, lots, movements, parts, stock
from medservice.inventory.selectors import trace_lot
from medservice.inventory.services import part_lot_hold, part_lot_release

PartViewSet = resource_viewset(parts)
LocationViewSet = resource_viewset(locations)
StockViewSet = resource_viewset(stock)
MovementViewSet = resource_viewset(movements)


def _hold_input(request: Request) -> dict[str, Any]:
    serializer = LotHoldSerializer(data=request.data if hasattr(request.data, "get") else {})
    if not serializer.is_valid():
        raise InvalidInputError(
            "The input is not valid.",
            fields={key: [str(item) for item in value] for key, value in serializer.errors.items()},
        )
    return dict(serializer.validated_data)


class LotViewSet(resource_viewset(lots)):  # type: ignore[misc]
    """Part lots and serial-numbered units. POST .../{id}/hold/ and .../{id}/release/ with a
    reason; GET .../{id}/trace/ lists every device the lot went into or came out of."""

    # Lots are made by receipts, never posted directly; POST serves the actions only.
    http_method_names = [*resource_viewset(lots).http_method_names, "post"]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise MethodNotAllowed("POST")

    @extend_schema(request=LotHoldSerializer, responses={200: LotSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def hold(self, request: Request, pk: Any = None) -> Response:
        lot = self.get_object()
        data = _hold_input(request)
        lot = part_lot_hold(actor=request.user, lot=lot, reason=data["reason"],
                            source=data.get("source", ""))  # fmt: skip
        return Response(LotSerializer(lot, context=self.get_serializer_context()).data)

    @extend_schema(request=LotHoldSerializer, responses={200: LotSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def release(self, request: Request, pk: Any = None) -> Response:
        lot = self.get_object()
        data = _hold_input(request)
        lot = part_lot_release(actor=request.user, lot=lot, reason=data["reason"])
        return Response(LotSerializer(lot, context=self.get_serializer_context()).data)

    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated])
    def trace(self, request: Request, pk: Any = None) -> Response:
        """Every device this lot went into (consumption) or came out of (removal)."""
        lot = self.get_object()
        return Response(
            [
                {
                    "movement": item.movement_id,
                    "occurred_at": item.occurred_at,
                    "kind": item.kind,
                    "quantity": str(item.quantity),
                    "device": item.device_id,
                    "device_serial": item.device_serial,
                    "device_model": item.device_model,
                    "organization": item.organization_id,
                    "organization_name": item.organization,
                    "reference": item.reference,
                }
                for item in trace_lot(lot, request.user)
            ]
        )
