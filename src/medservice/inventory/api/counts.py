"""The stock counts API: POST /api/v1/stock-counts/ starts a count of a location (freezing it);
POST .../{id}/record/, submit/, reopen/, approve/ and cancel/ are the workflow's actions. Book
quantities are left out while the count is open for counting (a blind count)."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.core.api.inputs import action_input
from medservice.inventory.api.serializers import TIMESTAMPS, ScopedSerializer
from medservice.inventory.choices import Condition
from medservice.inventory.counts import (
    book_quantities_visible,
    stock_count_approve,
    stock_count_cancel,
    stock_count_record,
    stock_count_reopen,
    stock_count_submit,
)
from medservice.inventory.models import StockCount, StockCountLine
from medservice.inventory.selectors import locations_visible_to
from medservice.inventory.workflow import STOCK_COUNT_TRANSITIONS

QUANTITY = {"max_digits": 12, "decimal_places": 3}


class StockCountLineSerializer(serializers.ModelSerializer):
    part_number = serializers.CharField(source="part.number", read_only=True)
    lot_number = serializers.CharField(source="lot.lot_number", read_only=True, default="")
    serial_number = serializers.CharField(source="lot.serial_number", read_only=True, default="")
    variance = serializers.DecimalField(read_only=True, allow_null=True, **QUANTITY)

    class Meta:
        model = StockCountLine
        fields = [
            "id",
            "part",
            "part_number",
            "lot",
            "lot_number",
            "serial_number",
            "condition",
            "book_quantity",
            "counted_quantity",
            "variance",
            "note",
        ]
        read_only_fields = fields

    def to_representation(self, instance: StockCountLine) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("show_book", False):
            # A blind count: the counter is not told what the books expect.
            data["book_quantity"] = None
            data["variance"] = None
        return data


class StockCountSerializer(ScopedSerializer):
    """A stock count; on create only `location` (and an optional `note`) is given."""

    scoped_relations: ClassVar[dict[str, Any]] = {"location": locations_visible_to}
    note = serializers.CharField(
        write_only=True, required=False, allow_blank=True, help_text="Why the count is started."
    )

    class Meta:
        model = StockCount
        fields = [
            "id",
            "number",
            "location",
            "status",
            "started_by",
            "started_at",
            "submitted_by",
            "submitted_at",
            "approved_by",
            "approved_at",
            "reason",
            "note",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "number",
            "status",
            "started_by",
            "started_at",
            "submitted_by",
            "submitted_at",
            "approved_by",
            "approved_at",
            "reason",
            *TIMESTAMPS,
        ]
        # The service refuses a second open count with a clear message (409); the serializer
        # checks shape only.
        validators: ClassVar[list[Any]] = []


class StockCountDetailSerializer(StockCountSerializer):
    """A stock count with its count sheet."""

    lines = serializers.SerializerMethodField()

    class Meta(StockCountSerializer.Meta):
        fields = [*StockCountSerializer.Meta.fields, "lines"]

    @extend_schema_field(StockCountLineSerializer(many=True))
    def get_lines(self, count: StockCount) -> list[dict[str, Any]]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        lines = count.lines.select_related("part", "lot").order_by("pk")
        context = {**self.context, "show_book": book_quantities_visible(count, user)}
        return StockCountLineSerializer(lines, many=True, context=context).data


class CountedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="The count line's id.")
    counted_quantity = serializers.DecimalField(
        allow_null=True, min_value=0, help_text="What is on the shelf; null clears it.", **QUANTITY
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CountFoundSerializer(serializers.Serializer):
    part = serializers.IntegerField(help_text="The part's id.")
    lot_number = serializers.CharField(required=False, allow_blank=True, default="")
    serial_number = serializers.CharField(required=False, allow_blank=True, default="")
    condition = serializers.ChoiceField(choices=Condition.choices, default=Condition.GOOD)
    counted_quantity = serializers.DecimalField(min_value=0, **QUANTITY)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class CountRecordSerializer(serializers.Serializer):
    counted = CountedLineSerializer(many=True, required=False, default=list)
    extra_lines = CountFoundSerializer(
        many=True,
        required=False,
        default=list,
        help_text="Items found that are not on the books (their book quantity is 0).",
    )


class CountReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


RESPONSES = {
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not take this action."),
    404: OpenApiResponse(description="No such count in your scope."),
    409: OpenApiResponse(description="Not possible in the count's current state."),
}


def _viewset() -> type:
    """The viewset, built once the resource is registered (views_counts.py)."""
    from medservice.core.api.viewsets import resource_viewset
    from medservice.inventory.views_counts import stock_counts

    class StockCountViewSet(resource_viewset(stock_counts)):  # type: ignore[misc]
        """Stock counts (盘点). POST creates (starts) a count of `location`, freezing it; each
        workflow action is POST .../{id}/{action}/; a refused action answers 409 (wrong state)
        or 400 (bad input). Book quantities are shown only once the count is submitted."""

        transitions = STOCK_COUNT_TRANSITIONS

        def get_serializer_class(self) -> Any:
            if self.action == "list":
                return StockCountSerializer
            return StockCountDetailSerializer

        def get_queryset(self) -> Any:
            return super().get_queryset().select_related("location")

        def _answer(self, count: StockCount) -> Response:
            count = StockCount.objects.get(pk=count.pk)
            return Response(
                StockCountDetailSerializer(count, context=self.get_serializer_context()).data
            )

        @extend_schema(request=CountRecordSerializer, responses={200: StockCountDetailSerializer,
                                                           **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def record(self, request: Request, pk: Any = None) -> Response:
            """Record counted quantities and items found. Allowed while counting."""
            count = self.get_object()
            data = action_input(CountRecordSerializer, request)
            counted = {item["line"]: item["counted_quantity"] for item in data["counted"]}
            notes = {item["line"]: item["note"] for item in data["counted"] if "note" in item}
            count = stock_count_record(
                actor=request.user,
                count=count,
                counted=counted,
                notes=notes,
                extra_lines=data["extra_lines"],
            )
            return self._answer(count)

        @extend_schema(request=None, responses={200: StockCountDetailSerializer, **RESPONSES})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def submit(self, request: Request, pk: Any = None) -> Response:
            """Submit the counted sheet for approval (every line counted)."""
            count = stock_count_submit(actor=request.user, count=self.get_object())
            return self._answer(count)

        @extend_schema(request=CountReasonSerializer, responses={200: StockCountDetailSerializer,
                                                           **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def reopen(self, request: Request, pk: Any = None) -> Response:
            """Send a submitted count back for a recount (reason required)."""
            count = self.get_object()
            data = action_input(CountReasonSerializer, request)
            return self._answer(
                stock_count_reopen(actor=request.user, count=count, reason=data["reason"])
            )

        @extend_schema(request=CountReasonSerializer, responses={200: StockCountDetailSerializer,
                                                           **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def approve(self, request: Request, pk: Any = None) -> Response:
            """Approve and post the variances as adjustments (not by the person who
            submitted; a reason when there are variances)."""
            count = self.get_object()
            data = action_input(CountReasonSerializer, request)
            return self._answer(
                stock_count_approve(actor=request.user, count=count, reason=data["reason"])
            )

        @extend_schema(request=CountReasonSerializer, responses={200: StockCountDetailSerializer,
                                                           **RESPONSES})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def cancel(self, request: Request, pk: Any = None) -> Response:
            """Cancel an open count (reason required); the location moves again."""
            count = self.get_object()
            data = action_input(CountReasonSerializer, request)
            return self._answer(
                stock_count_cancel(actor=request.user, count=count, reason=data["reason"])
            )

    return StockCountViewSet


def register(router: DefaultRouter) -> None:
    """Register the stock counts viewset on the API router."""
    router.register("stock-counts", _viewset(), basename="stock-count")
