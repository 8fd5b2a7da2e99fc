"""The purchase orders API: list, read, create a draft with its lines in one request, change a
draft (lines replaced when given), and the workflow actions
POST /api/v1/purchase-orders/{id}/place|receive|close|cancel/. A refused action answers 409
(wrong state, locked supplier) or 400 (bad input, fields named like "receipts.1.lot_number")."""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.catalog.selectors import suppliers_visible_to
from medservice.core.api.viewsets import resource_viewset
from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.core.workflow import allowed
from medservice.inventory.api.serializers import TIMESTAMPS, ScopedSerializer
from medservice.inventory.models import PurchaseOrder, PurchaseOrderLine
from medservice.inventory.purchasing import (
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_place,
    purchase_order_receive,
    purchase_order_update,
)
from medservice.inventory.selectors import locations_visible_to, parts_visible_to
from medservice.inventory.workflow import PURCHASE_ORDER_TRANSITIONS


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    outstanding = serializers.DecimalField(max_digits=12, decimal_places=3, read_only=True)

    class Meta:
        model = PurchaseOrderLine
        fields = ["id", "part", "quantity", "unit_price", "quantity_received", "outstanding"]
        read_only_fields = ["id", "quantity_received", "outstanding"]
        extra_kwargs = {
            "unit_price": {"required": False, "help_text": "Default: the part's standard cost."}
        }

    def get_fields(self) -> dict[str, Any]:
        # Built lazily, once nested in the order, so the request (and the user's scope) is known.
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["part"].queryset = parts_visible_to(request.user)
        return fields


class PurchaseOrderSerializer(ScopedSerializer):
    """A purchase order with its lines. Created as a draft in one request; every line problem
    is reported at once, keyed `lines.<n>.<field>` with lines counted from 1."""

    lines = PurchaseOrderLineSerializer(many=True)
    scoped_relations: ClassVar[dict[str, Any]] = {
        "supplier": suppliers_visible_to,
        "destination": locations_visible_to,
    }

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "number",
            "supplier",
            "destination",
            "status",
            "ordered_on",
            "expected_on",
            "supplier_reference",
            "notes",
            "created_by",
            "closed_reason",
            "lines",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "number",
            "status",
            "ordered_on",
            "created_by",
            "closed_reason",
            *TIMESTAMPS,
        ]


class PurchaseOrderReceiptSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Id of the order line received against.")
    quantity = serializers.DecimalField(
        max_digits=12,
        decimal_places=3,
        required=False,
        allow_null=True,
        help_text="For a serial-tracked part: the number of serials (may be left out).",
    )
    lot_number = serializers.CharField(required=False, allow_blank=True, default="")
    serial_numbers = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        default=list,
        help_text="One per unit, for a serial-tracked part.",
    )
    expiry_date = serializers.DateField(required=False, allow_null=True, default=None)
    production_date = serializers.DateField(required=False, allow_null=True, default=None)


class PurchaseOrderReceiveSerializer(serializers.Serializer):
    reference = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100,
        help_text="The supplier's delivery note number.",
    )  # fmt: skip
    receipts = PurchaseOrderReceiptSerializer(many=True, allow_empty=False)


class PurchaseOrderReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the order is closed short or cancelled.")


# The nested list fields, whose items are named in messages by their number (from 1).
_ITEM_LISTS = ("lines", "receipts")


def _item_problem(name: str, number: int, problem: str) -> str:
    if name == "lines":
        return _("Line %(number)s: %(problem)s") % {"number": number, "problem": problem}
    return _("Receipt %(number)s: %(problem)s") % {"number": number, "problem": problem}


def _invalid(errors: Any, message: str) -> InvalidInputError:
    """Serializer errors as one error body; nested items keyed `<list>.<n>.<field>`."""
    fields: dict[str, list[str]] = {}
    for name, problems in errors.items():
        per_item = _per_item(problems) if name in _ITEM_LISTS else None
        if per_item is None:
            if isinstance(problems, dict):
                for key, texts in problems.items():
                    fields[f"{name}.{key}"] = [str(text) for text in texts]
            else:
                fields[name] = [str(text) for text in problems]
            continue
        for number, item in per_item:
            by_field = item if isinstance(item, dict) else {"non_field_errors": item}
            for key, texts in by_field.items():
                target = (
                    f"{name}.{number}" if key == "non_field_errors" else f"{name}.{number}.{key}"
                )
                texts = texts if isinstance(texts, list) else [texts]
                fields[target] = [_item_problem(name, number, str(text)) for text in texts]
    return InvalidInputError(message, fields=fields)


def _per_item(problems: Any) -> list[tuple[int, Any]] | None:
    """A list field's errors per item, numbered from 1 (DRF gives a list with an entry per item,
    or a dict keyed by the bad items' 0-based index)."""
    if isinstance(problems, dict) and problems and all(isinstance(key, int) for key in problems):
        return [(index + 1, item) for index, item in sorted(problems.items())]
    if isinstance(problems, list) and any(isinstance(item, dict) for item in problems):
        return [(index + 1, item) for index, item in enumerate(problems) if item]
    return None


def _state_allows(order: PurchaseOrder, name: str) -> None:
    """A wrong-state action answers 409 whatever its input (the state is checked again, under
    lock, by the service)."""
    refusal = allowed(PURCHASE_ORDER_TRANSITIONS, name, order, None, "status")
    if refusal:
        raise InvalidTransitionError(refusal)


def _input(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    if not hasattr(request.data, "get"):
        message = _("Send the action's inputs as one JSON object.")
        raise InvalidInputError(message, fields={"non_field_errors": [message]})
    serializer = serializer_class(data=request.data)
    if not serializer.is_valid():
        raise _invalid(serializer.errors, _("Nothing was saved: correct the fields named."))
    return dict(serializer.validated_data)


_RESPONSES = {
    200: PurchaseOrderSerializer,
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not take this action."),
    404: OpenApiResponse(description="No such order in your scope."),
    409: OpenApiResponse(description="Not possible in the order's state, or supplier locked."),
}


def viewset_for(resource: Any) -> type:
    """The purchase orders viewset over the registered resource (views_purchasing)."""

    class PurchaseOrderViewSet(resource_viewset(resource)):  # type: ignore[misc]
        """Purchase orders (采购). Filters: status, supplier, destination, expected_before.
        POST creates a draft with its lines; PATCH changes a draft (lines replaced when given);
        the workflow actions are POST .../{id}/place|receive|close|cancel/."""

        transitions = PURCHASE_ORDER_TRANSITIONS

        def get_queryset(self) -> Any:
            return super().get_queryset().prefetch_related("lines")

        def _answer(self, order: PurchaseOrder, status: int = 200) -> Response:
            # Answer from the user's own scope, as every read does.
            order = self.get_queryset().get(pk=order.pk)
            return Response(self.get_serializer(order).data, status=status)

        @extend_schema(request=PurchaseOrderSerializer, responses={201: PurchaseOrderSerializer})
        def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            serializer = self.get_serializer(data=request.data)
            if not serializer.is_valid():
                raise _invalid(serializer.errors, _("Nothing was saved: correct the fields named."))
            data = dict(serializer.validated_data)
            data.pop("version", None)
            data["lines"] = [dict(line) for line in data.get("lines", [])]
            order = purchase_order_create(actor=request.user, **data)
            return self._answer(order, status=201)

        def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
            order = self.get_object()
            serializer = self.get_serializer(
                order, data=request.data, partial=kwargs.get("partial", False)
            )
            if not serializer.is_valid():
                raise _invalid(serializer.errors, _("Nothing was saved: correct the fields named."))
            data = dict(serializer.validated_data)
            expected = data.pop("version", None)
            if "lines" in data:
                data["lines"] = [dict(line) for line in data["lines"]]
            order = purchase_order_update(
                actor=request.user, order=order, data=data, expected_version=expected
            )
            return self._answer(order)

        @extend_schema(request=None, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def place(self, request: Request, pk: Any = None) -> Response:
            """Place the order with the supplier (from draft); refused (409) while the
            supplier's licence is not valid."""
            order = purchase_order_place(actor=request.user, order=self.get_object())
            return self._answer(order)

        @extend_schema(request=PurchaseOrderReceiveSerializer, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def receive(self, request: Request, pk: Any = None) -> Response:
            """Receive goods (all or part of what is outstanding) with lots, serials and expiry
            dates; all or nothing."""
            order = self.get_object()
            _state_allows(order, "receive")
            data = _input(PurchaseOrderReceiveSerializer, request)
            order = purchase_order_receive(
                actor=request.user,
                order=order,
                receipts=[dict(item) for item in data["receipts"]],
                reference=data.get("reference", ""),
            )
            return self._answer(order)

        @extend_schema(request=PurchaseOrderReasonSerializer, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def close(self, request: Request, pk: Any = None) -> Response:
            """Close a partially received order short, with the reason."""
            order = self.get_object()
            _state_allows(order, "close")
            data = _input(PurchaseOrderReasonSerializer, request)
            order = purchase_order_close(actor=request.user, order=order, reason=data["reason"])
            return self._answer(order)

        @extend_schema(request=PurchaseOrderReasonSerializer, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def cancel(self, request: Request, pk: Any = None) -> Response:
            """Cancel a draft or an order of which nothing has arrived, with the reason."""
            order = self.get_object()
            _state_allows(order, "cancel")
            data = _input(PurchaseOrderReasonSerializer, request)
            order = purchase_order_cancel(actor=request.user, order=order, reason=data["reason"])
            return self._answer(order)

    return PurchaseOrderViewSet


def register(router: DefaultRouter) -> None:
    """Register the purchase orders viewset on the API router."""
    # The resource lives with the pages (views_purchasing), which import the serializers above.
    from medservice.inventory.views_purchasing import purchase_orders

    router.register("purchase-orders", viewset_for(purchase_orders), basename="purchase-order")
