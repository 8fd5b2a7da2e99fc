"""The work-order actions of the core flow: assess, plan, quote, approve-quote, decline-quote,
promise, cancel and complete. Dispatch, on-site and report actions live beside it (dispatch.py,
onsite.py, reports.py) as mixins of the same viewset."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.api.inputs import action_input
from medservice.installed_base.choices import Exclusion
from medservice.inventory.selectors import parts_visible_to
from medservice.work_orders.api.serializers import QuoteSerializer, WorkOrderSerializer
from medservice.work_orders.choices import DecisionMethod, Route, ServiceResult
from medservice.work_orders.services import (
    PlannedPart,
    work_order_approve_quote,
    work_order_assess,
    work_order_cancel,
    work_order_complete,
    work_order_decline_quote,
    work_order_plan,
    work_order_promise,
    work_order_quote,
)

HOURS = {"max_digits": 6, "decimal_places": 2}
RESPONSES = {
    200: WorkOrderSerializer,
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role (or person) may not take this action."),
    404: OpenApiResponse(description="No such work order in your scope."),
    409: OpenApiResponse(description="Not possible in the work order's state."),
}


class AssessInput(serializers.Serializer):
    route = serializers.ChoiceField(choices=Route.choices)
    assessment = serializers.CharField()
    exclusion = serializers.ChoiceField(choices=Exclusion.choices, required=False, default="",
                                        allow_blank=True)  # fmt: skip
    exclusion_evidence = serializers.CharField(required=False, default="", allow_blank=True)


class PlanInput(serializers.Serializer):
    plan = serializers.CharField()
    estimated_hours = serializers.DecimalField(required=False, allow_null=True, default=None,
                                               min_value=0, **HOURS)  # fmt: skip
    promised_by = serializers.DateField(required=False, allow_null=True, default=None)


class QuotePartInput(serializers.Serializer):
    part = serializers.PrimaryKeyRelatedField(queryset=parts_visible_to(None))
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["part"].queryset = parts_visible_to(request.user)


class QuoteInput(serializers.Serializer):
    parts = QuotePartInput(many=True, required=False, default=list)
    labour_hours = serializers.DecimalField(required=False, default=Decimal(0), min_value=0,
                                            **HOURS)  # fmt: skip
    travel_hours = serializers.DecimalField(required=False, default=Decimal(0), min_value=0,
                                            **HOURS)  # fmt: skip
    visits = serializers.IntegerField(required=False, default=1, min_value=0, max_value=50)
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, default="", allow_blank=True)


class DecisionInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=DecisionMethod.choices, required=False,
                                     default=DecisionMethod.PHONE)  # fmt: skip
    decided_by_name = serializers.CharField(required=False, default="", allow_blank=True,
                                            max_length=100)  # fmt: skip
    paper_copy = serializers.FileField(required=False, allow_null=True, default=None)


class DeclineInput(DecisionInput):
    reason = serializers.CharField()


class PromiseInput(serializers.Serializer):
    promised_by = serializers.DateField()
    reason = serializers.CharField(required=False, default="", allow_blank=True)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField()


class CompleteInput(serializers.Serializer):
    result = serializers.ChoiceField(choices=ServiceResult.choices)
    password = serializers.CharField(help_text="The engineer's password: their signature.")
    language = serializers.ChoiceField(choices=[("zh-hans", "zh-hans"), ("en", "en")],
                                       required=False, default="")  # fmt: skip


def _decision_method(request: Request, data: dict[str, Any]) -> str:
    from medservice.work_orders.selectors import is_customer

    # A customer answering for themselves answers in the portal.
    return DecisionMethod.PORTAL if is_customer(request.user) else data["method"]


class CoreActions:
    """Mixed into the work-order viewset: the assessment-to-completion actions."""

    def _answer(self, work_order: Any) -> Response:  # pragma: no cover - replaced in viewset
        raise NotImplementedError

    @extend_schema(request=AssessInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def assess(self, request: Request, pk: Any = None) -> Response:
        """Decide the route and the coverage (per cost category, from the warranty and the
        contracts; an exclusion needs its evidence)."""
        work_order = self.get_object()
        data = action_input(AssessInput, request)
        return self._answer(work_order_assess(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=PlanInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def plan(self, request: Request, pk: Any = None) -> Response:
        """Record the plan: covered work becomes ready, charged work needs a quote."""
        work_order = self.get_object()
        data = action_input(PlanInput, request)
        return self._answer(work_order_plan(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=QuoteInput, responses={**RESPONSES, 200: QuoteSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def quote(self, request: Request, pk: Any = None) -> Response:
        """Send a quote for what is not covered, priced at cost by default."""
        work_order = self.get_object()
        data = action_input(QuoteInput, request)
        quote = work_order_quote(
            actor=request.user,
            work_order=work_order,
            parts=[PlannedPart(item["part"], item["quantity"]) for item in data.pop("parts")],
            **data,
        )
        return Response(QuoteSerializer(quote).data)

    @extend_schema(request=DecisionInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="approve-quote", url_name="approve-quote",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def approve_quote(self, request: Request, pk: Any = None) -> Response:
        """The customer approves the quote (themselves in the portal, or staff recording a
        paper or phone answer)."""
        work_order = self.get_object()
        data = action_input(DecisionInput, request)
        return self._answer(
            work_order_approve_quote(
                actor=request.user,
                work_order=work_order,
                method=_decision_method(request, data),
                decided_by_name=data["decided_by_name"],
                paper_copy=data["paper_copy"],
            )
        )

    @extend_schema(request=DeclineInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], url_path="decline-quote", url_name="decline-quote",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def decline_quote(self, request: Request, pk: Any = None) -> Response:
        """The customer declines: the work order closes with the reason."""
        work_order = self.get_object()
        data = action_input(DeclineInput, request)
        return self._answer(
            work_order_decline_quote(
                actor=request.user,
                work_order=work_order,
                reason=data["reason"],
                method=_decision_method(request, data),
                decided_by_name=data["decided_by_name"],
                paper_copy=data["paper_copy"],
            )
        )

    @extend_schema(request=PromiseInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def promise(self, request: Request, pk: Any = None) -> Response:
        """Agree or move the promised completion date (moving needs the reason; the customer is
        told)."""
        work_order = self.get_object()
        data = action_input(PromiseInput, request)
        return self._answer(work_order_promise(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=ReasonInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        """Cancel with the reason."""
        work_order = self.get_object()
        data = action_input(ReasonInput, request)
        return self._answer(work_order_cancel(actor=request.user, work_order=work_order, **data))

    @extend_schema(request=CompleteInput, responses=RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def complete(self, request: Request, pk: Any = None) -> Response:
        """Complete: refused (409, the reasons by field) while the acceptance test is missing
        or failed without an override, the screening is not decided, or someone is still
        checked in. The password is the engineer's signature on the report."""
        work_order = self.get_object()
        data = action_input(CompleteInput, request)
        return self._answer(work_order_complete(actor=request.user, work_order=work_order, **data))
