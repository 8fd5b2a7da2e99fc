"""API viewsets of parts, locations, lots, stock and the ledger; a lot's hold and release and
its trace are actions on the lot."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.api.inputs import action_input
from medservice.core.api.viewsets import resource_viewset
from medservice.core.errors import InvalidInputError
from medservice.inventory.api.serializers import (
    ConsumeSerializer,
    LotHoldSerializer,
    LotSerializer,
    LotTraceSerializer,
    MovementSerializer,
    StockMoveSerializer,
)
from medservice.inventory.resources import locations, lots, movements, parts, stock
from medservice.inventory.selectors import (
    locations_visible_to,
    lots_visible_to,
    parts_visible_to,
    trace_lot,
)
from medservice.inventory.services import (
    Fitted,
    Removed,
    part_lot_hold,
    part_lot_release,
    parts_consume,
    stock_move,
)

PartViewSet = resource_viewset(parts)
LocationViewSet = resource_viewset(locations)
MovementViewSet = resource_viewset(movements)


class StockViewSet(resource_viewset(stock)):  # type: ignore[misc]
    """Stock on hand per location, part, lot and condition (read only: it changes through the
    ledger). POST .../move/ posts a hand movement (transfer, defective parts to quarantine,
    dispositions); POST .../consume/ records parts fitted into and removed from a device."""

    http_method_names = [*resource_viewset(stock).http_method_names, "post"]

    # Not an operation: POST is for the actions only, so the schema leaves it out.

    @extend_schema(exclude=True)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise MethodNotAllowed("POST")

    @extend_schema(request=StockMoveSerializer, responses={201: MovementSerializer(many=True)})
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def move(self, request: Request) -> Response:
        data = action_input(StockMoveSerializer, request)
        moved = stock_move(
            actor=request.user,
            kind=data["kind"],
            source=data["source"],
            destination=data.get("destination"),
            part=data["part"],
            quantity=data["quantity"],
            lot_text=data["lot"],
            source_condition=data["source_condition"],
            reference=data["reference"],
            reason=data["reason"],
        )
        return Response(MovementSerializer(moved, many=True).data, status=201)

    @extend_schema(request=ConsumeSerializer, responses={201: MovementSerializer(many=True)})
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def consume(self, request: Request) -> Response:
        from django.utils.translation import gettext as _

        from medservice.installed_base.selectors import devices_visible_to

        data = action_input(ConsumeSerializer, request)
        problems: dict[str, list[str]] = {}
        device = devices_visible_to(request.user).filter(pk=data["device"]).first()
        location = locations_visible_to(request.user).filter(pk=data["location"]).first()
        if device is None:
            problems["device"] = [_("No such device in your scope.")]
        if location is None:
            problems["location"] = [_("No such stock location in your scope.")]
        parts = parts_visible_to(request.user).in_bulk(
            [row["part"] for row in [*data["fitted"], *data["removed"]]]
        )
        lots = lots_visible_to(request.user).in_bulk(
            [row["lot"] for row in data["fitted"] if row.get("lot")]
        )
        fitted, removed = [], []
        for position, row in enumerate(data["fitted"], start=1):
            part = parts.get(row["part"])
            if part is None:
                problems[f"fitted.{position}.part"] = [_("No such spare part.")]
                continue
            lot = lots.get(row["lot"]) if row.get("lot") else None
            if row.get("lot") and lot is None:
                problems[f"fitted.{position}.lot"] = [_("No such lot in your scope.")]
            fitted.append(Fitted(part=part, quantity=row["quantity"], lot=lot))
        for position, row in enumerate(data["removed"], start=1):
            part = parts.get(row["part"])
            if part is None:
                problems[f"removed.{position}.part"] = [_("No such spare part.")]
                continue
            removed.append(
                Removed(part=part, quantity=row["quantity"], lot_number=row["lot_number"],
                        serial_number=row["serial_number"])
            )  # fmt: skip
        if problems:
            raise InvalidInputError(_("The parts were not recorded."), fields=problems)
        movements = parts_consume(
            actor=request.user,
            device=device,
            location=location,
            fitted=fitted,
            removed=removed,
            reference=data["reference"],
        )
        return Response(MovementSerializer(movements, many=True).data, status=201)


class LotViewSet(resource_viewset(lots)):  # type: ignore[misc]
    """Part lots and serial-numbered units. POST .../{id}/hold/ and .../{id}/release/ with a
    reason; GET .../{id}/trace/ lists every device the lot went into or came out of."""

    # Lots are made by receipts, never posted directly; POST serves the actions only.
    http_method_names = [*resource_viewset(lots).http_method_names, "post"]
    # Holding and releasing change the lot (part_lot_hold/part_lot_release ask for this
    # permission): a role without it gets 403 before its reason is read.
    action_permissions: ClassVar[dict[str, str]] = {
        "hold": "inventory.change_partlot",
        "release": "inventory.change_partlot",
    }

    # Not an operation: POST is for the actions only, so the schema leaves it out.

    @extend_schema(exclude=True)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise MethodNotAllowed("POST")

    @extend_schema(request=LotHoldSerializer, responses={200: LotSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def hold(self, request: Request, pk: Any = None) -> Response:
        lot = self.get_object()
        data = action_input(LotHoldSerializer, request)
        lot = part_lot_hold(actor=request.user, lot=lot, reason=data["reason"],
                            source=data.get("source", ""))  # fmt: skip
        return Response(LotSerializer(lot, context=self.get_serializer_context()).data)

    @extend_schema(request=LotHoldSerializer, responses={200: LotSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def release(self, request: Request, pk: Any = None) -> Response:
        lot = self.get_object()
        data = action_input(LotHoldSerializer, request)
        lot = part_lot_release(actor=request.user, lot=lot, reason=data["reason"])
        return Response(LotSerializer(lot, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: LotTraceSerializer(many=True)})
    # The whole trace in one answer (not paginated), so the schema says a plain array.
    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated],
            pagination_class=None)  # fmt: skip
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
