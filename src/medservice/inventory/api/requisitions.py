"""The requisitions API: list, read and request parts (with nested lines); each step of the
workflow as POST /api/v1/requisitions/{id}/approve|reject|issue|receive|return|cancel/. The
serializers check shape; the services in inventory/requisitions.py decide."""

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

from medservice.core.api.inputs import action_input
from medservice.inventory.choices import LocationKind
from medservice.inventory.models import Requisition, RequisitionLine
from medservice.inventory.requisitions import (
    requisition_approve,
    requisition_cancel,
    requisition_issue,
    requisition_receive,
    requisition_reject,
    requisition_return,
)
from medservice.inventory.selectors import locations_visible_to, parts_visible_to
from medservice.inventory.workflow import REQUISITION_TRANSITIONS

QUANTITY = {"max_digits": 12, "decimal_places": 3}


class RequisitionLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = RequisitionLine
        fields = [
            "id",
            "part",
            "quantity",
            "quantity_approved",
            "quantity_issued",
            "quantity_returned",
        ]
        read_only_fields = ["id", "quantity_approved", "quantity_issued", "quantity_returned"]


class RequisitionSerializer(serializers.ModelSerializer):
    """A requisition with its lines. To request parts send source, lines [{part, quantity}] and
    optionally destination (default: your own stock), reference, needed_by, reason."""

    lines = RequisitionLineSerializer(many=True)
    scoped_relations: ClassVar[dict[str, Any]] = {
        "source": locations_visible_to,
        "destination": locations_visible_to,
    }

    class Meta:
        model = Requisition
        fields = [
            "id",
            "number",
            "status",
            "requester",
            "source",
            "destination",
            "reference",
            "needed_by",
            "reason",
            "decided_by",
            "decided_at",
            "decision_note",
            "issued_by",
            "issued_at",
            "received_at",
            "lines",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "number",
            "status",
            "requester",
            "decided_by",
            "decided_at",
            "decision_note",
            "issued_by",
            "issued_at",
            "received_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs: ClassVar[dict[str, Any]] = {"destination": {"required": False}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Related records come from the selectors, as in the UI.
            for name, selector in self.scoped_relations.items():
                self.fields[name].queryset = selector(request.user)
            line_fields = self.fields["lines"].child.fields
            line_fields["part"].queryset = parts_visible_to(request.user)

    def validate_lines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not value:
            raise serializers.ValidationError(_("Add at least one part and its quantity."))
        return value


class RequisitionApproveLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="The requisition line's id.")
    quantity = serializers.DecimalField(min_value=0, help_text="Quantity approved.", **QUANTITY)


class RequisitionApproveSerializer(serializers.Serializer):
    lines = RequisitionApproveLineSerializer(
        many=True, required=False, help_text="Lines approved for less than asked (default: all)."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RequisitionReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class RequisitionReturnLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="The requisition line's id.")
    unused = serializers.DecimalField(min_value=0, required=False, default=0, **QUANTITY)
    defective = serializers.DecimalField(min_value=0, required=False, default=0, **QUANTITY)


class RequisitionReturnSerializer(serializers.Serializer):
    lines = RequisitionReturnLineSerializer(many=True)
    quarantine = serializers.PrimaryKeyRelatedField(
        queryset=locations_visible_to(None), required=False, allow_null=True, default=None
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["quarantine"].queryset = locations_visible_to(request.user).filter(
                kind=LocationKind.QUARANTINE
            )


_RESPONSES = {
    200: RequisitionSerializer,
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role (or person) may not take this action."),
    404: OpenApiResponse(description="No such requisition in your scope."),
    409: OpenApiResponse(description="Not possible in the requisition's state, or not enough "
                                     "stock that may be issued."),
}  # fmt: skip


def requisition_create_from_api(
    *, actor: Any, model: type[Requisition] = Requisition, data: dict[str, Any]
) -> Requisition:
    """The generic create (API) of a requisition: its header and nested lines."""
    from medservice.inventory.requisitions import requisition_create

    return requisition_create(
        actor=actor,
        source=data["source"],
        destination=data.get("destination"),
        lines=[(line["part"], line["quantity"]) for line in data.get("lines", [])],
        reference=data.get("reference", ""),
        needed_by=data.get("needed_by"),
        reason=data.get("reason", ""),
    )


def viewset_for(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset

    class RequisitionViewSet(resource_viewset(resource)):  # type: ignore[misc]
        """Requisitions (申领). Filters: status, requester, source, mine. Each step is
        POST .../{id}/{action}/; a refused step answers 409 (wrong state, not enough stock)
        or 400 (bad input) with the reason in the user's language."""

        transitions = REQUISITION_TRANSITIONS

        def get_queryset(self) -> Any:
            return super().get_queryset().prefetch_related("lines")

        def _answer(self, requisition: Requisition) -> Response:
            requisition = self.get_queryset().get(pk=requisition.pk)
            return Response(
                RequisitionSerializer(requisition, context=self.get_serializer_context()).data
            )

        @extend_schema(request=RequisitionApproveSerializer, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def approve(self, request: Request, pk: Any = None) -> Response:
            """Approve, each line for the quantity asked unless a smaller one is given."""
            requisition = self.get_object()
            data = action_input(RequisitionApproveSerializer, request)
            quantities = {item["line"]: item["quantity"] for item in data.get("lines", [])}
            requisition = requisition_approve(
                actor=request.user,
                requisition=requisition,
                quantities=quantities or None,
                note=data["note"],
            )
            return self._answer(requisition)

        @extend_schema(request=RequisitionReasonSerializer, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def reject(self, request: Request, pk: Any = None) -> Response:
            """Reject with a reason (required)."""
            requisition = self.get_object()
            data = action_input(RequisitionReasonSerializer, request)
            return self._answer(
                requisition_reject(
                    actor=request.user, requisition=requisition, reason=data["reason"]
                )
            )

        @extend_schema(request=None, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def issue(self, request: Request, pk: Any = None) -> Response:
            """Issue the approved quantities (first expiry first out; held and expired lots
            never), all or nothing."""
            requisition = self.get_object()
            return self._answer(requisition_issue(actor=request.user, requisition=requisition))

        @extend_schema(request=None, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def receive(self, request: Request, pk: Any = None) -> Response:
            """Confirm the issued parts arrived in the destination stock."""
            requisition = self.get_object()
            return self._answer(requisition_receive(actor=request.user, requisition=requisition))

        @extend_schema(request=RequisitionReturnSerializer, responses=_RESPONSES)
        @action(
            detail=True,
            methods=["post"],
            permission_classes=[IsAuthenticated],
            url_path="return",
            url_name="return",
        )
        def return_parts(self, request: Request, pk: Any = None) -> Response:
            """Return unused parts to the warehouse and defective ones to quarantine."""
            requisition = self.get_object()
            data = action_input(RequisitionReturnSerializer, request)
            requisition = requisition_return(
                actor=request.user,
                requisition=requisition,
                quantities={item["line"]: item["unused"] for item in data["lines"]},
                defective={item["line"]: item["defective"] for item in data["lines"]},
                quarantine=data["quarantine"],
                reason=data["reason"],
            )
            return self._answer(requisition)

        @extend_schema(request=RequisitionReasonSerializer, responses=_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def cancel(self, request: Request, pk: Any = None) -> Response:
            """Withdraw a request not yet issued."""
            requisition = self.get_object()
            data = action_input(RequisitionReasonSerializer, request)
            return self._answer(
                requisition_cancel(
                    actor=request.user, requisition=requisition, reason=data["reason"]
                )
            )

    return RequisitionViewSet


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router."""
    # The resource is declared with the pages (views_requisitions.py), which import the
    # serializers above: imported here, when the router is built, not at module import.
    from medservice.inventory.views_requisitions import requisitions

    router.register("requisitions", viewset_for(requisitions), basename="requisition")
