"""API for investigation, decision, supplier and manufacturer notices, evidence hold and
regulator feedback: the supplier-notices resource with its actions (send, acknowledge, respond)
and the quality-case actions (investigate, decide, release-hold, evidence-hold,
release-evidence-hold, regulator-feedback), mixed into the quality-case viewset."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.accounts.models import User
from medservice.catalog.models import Manufacturer, Supplier
from medservice.core.api.inputs import action_input
from medservice.customers.choices import OrganizationKind
from medservice.quality.choices import (
    DecisionOutcome,
    FeedbackChannel,
    Harm,
    InvestigationKind,
    Market,
    NoticeChannel,
    NoticeReason,
    NoticeRecipient,
)
from medservice.quality.models import (
    CaseDecision,
    CaseRegulatorFeedback,
    DecisionMarket,
    InvestigationEntry,
    SupplierNotice,
)


class SupplierNoticeSerializer(serializers.ModelSerializer):
    """A notice of a quality complaint to the supplier or the manufacturer. To prepare one send
    case, recipient_kind (supplier, manufacturer) and reason; supplier / manufacturer, subject
    and content default to the product's and a summary of the case."""

    repair_clause = serializers.CharField(read_only=True)

    class Meta:
        model = SupplierNotice
        fields = [
            "id", "number", "case", "recipient_kind", "supplier", "manufacturer", "reason",
            "subject", "content", "status", "channel", "sent_to", "sent_at", "sent_by",
            "response_due_on", "acknowledged_at", "acknowledged_by_name", "response",
            "responded_at", "reminder_count", "last_reminded_at", "quality_agreement_reference",
            "repairs_under_agreement", "repair_clause", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "status", "channel", "sent_to", "sent_at", "sent_by",
            "response_due_on", "acknowledged_at", "acknowledged_by_name", "response",
            "responded_at", "reminder_count", "last_reminded_at", "quality_agreement_reference",
            "repairs_under_agreement", "repair_clause", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "subject": {"required": False},
            "content": {"required": False},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "case" in self.fields:
            from medservice.quality.selectors import cases_visible_to

            self.fields["case"].queryset = cases_visible_to(request.user)


class NoticeSendInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=NoticeChannel.choices)
    sent_to = serializers.CharField(required=False, allow_blank=True, default="")
    sent_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    response_due_on = serializers.DateField(required=False, allow_null=True, default=None)
    supplier = serializers.PrimaryKeyRelatedField(
        queryset=Supplier.objects.all(), required=False, allow_null=True, default=None
    )
    manufacturer = serializers.PrimaryKeyRelatedField(
        queryset=Manufacturer.objects.all(), required=False, allow_null=True, default=None
    )


class NoticeAcknowledgeInput(serializers.Serializer):
    acknowledged_by_name = serializers.CharField()
    acknowledged_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class NoticeRespondInput(serializers.Serializer):
    response = serializers.CharField()
    responded_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class InvestigationEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = InvestigationEntry
        fields = ["id", "case", "kind", "performed_on", "performed_by", "activity", "findings",
                  "recorded_by", "created_at"]  # fmt: skip
        read_only_fields = fields


class DecisionMarketSerializer(serializers.ModelSerializer):
    class Meta:
        model = DecisionMarket
        fields = ["market", "reportable", "duty", "rule_ids"]
        read_only_fields = fields


class CaseDecisionSerializer(serializers.ModelSerializer):
    markets = DecisionMarketSerializer(many=True, read_only=True)
    signatures = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = CaseDecision
        fields = ["id", "case", "outcome", "rationale", "advice", "harm", "regulatory_role",
                  "salesperson", "decided_by", "decided_at", "signed_at", "markets",
                  "signatures", "links"]  # fmt: skip
        read_only_fields = fields

    def get_signatures(self, decision: CaseDecision) -> list[dict[str, Any]]:
        from medservice.core.signatures import signatures_of

        return [
            {"printed_name": item.printed_name, "meaning": item.meaning,
             "signed_at": serializers.DateTimeField().to_representation(item.signed_at)}
            for item in signatures_of(decision)
        ]  # fmt: skip

    def get_links(self, decision: CaseDecision) -> list[dict[str, Any]]:
        return [
            {"type": link.content_type.model, "id": link.object_id, "label": link.label}
            for link in decision.links.select_related("content_type")
        ]


class RegulatorFeedbackSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseRegulatorFeedback
        fields = ["id", "case", "given_at", "given_to", "channel", "content", "given_by"]
        read_only_fields = fields


class CaseInvestigateInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=InvestigationKind.choices)
    performed_on = serializers.DateField()
    activity = serializers.CharField()
    findings = serializers.CharField()


class CaseDecideInput(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DecisionOutcome.choices)
    rationale = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)
    markets = serializers.ListField(child=serializers.ChoiceField(choices=Market.choices))
    reportable_markets = serializers.ListField(
        child=serializers.ChoiceField(choices=Market.choices), required=False, default=list
    )
    harm = serializers.ChoiceField(
        choices=Harm.choices, required=False, allow_blank=True, default=""
    )
    advice = serializers.CharField(required=False, allow_blank=True, default="")
    salesperson = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True, organization__kind=OrganizationKind.COMPANY),
        required=False, allow_null=True, default=None,
    )  # fmt: skip


class HoldReasonInput(serializers.Serializer):
    reason = serializers.CharField()


class RegulatorFeedbackInput(serializers.Serializer):
    given_to = serializers.CharField()
    channel = serializers.ChoiceField(choices=FeedbackChannel.choices)
    content = serializers.CharField()
    given_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class CaseNoticeInput(serializers.Serializer):
    recipient_kind = serializers.ChoiceField(choices=NoticeRecipient.choices)
    reason = serializers.ChoiceField(choices=NoticeReason.choices)


ERRORS = {
    400: OpenApiResponse(description="Bad input (or a wrong signature password): fields named."),
    403: OpenApiResponse(description="Your role may not take this action."),
    404: OpenApiResponse(description="No such record in your scope."),
    409: OpenApiResponse(description="Not possible in the record's state."),
}


# The permission each of the decisions area's case actions needs, as its service checks it:
# the quality-case viewset refuses a role without it as soon as the case is found, before the
# input is read (403, not 400). Investigate and decide are rows of CASE_TRANSITIONS instead.
CASE_ACTION_PERMISSIONS = {
    "release-hold": "quality.release_batch_hold",
    "evidence-hold": "installed_base.add_hold",
    "release-evidence-hold": "quality.release_evidence_hold",
    "regulator-feedback": "quality.add_caseregulatorfeedback",
}


class CaseDecisionActions:
    """The decisions area's actions on quality cases (mixed into the quality-case viewset)."""

    def _case_answer(self, case: Any) -> Response:
        from medservice.quality.api.serializers import QualityCaseSerializer

        case.refresh_from_db()
        return Response(QualityCaseSerializer(case, context=self.get_serializer_context()).data)  # type: ignore[attr-defined]

    @extend_schema(
        request=CaseInvestigateInput, responses={201: InvestigationEntrySerializer, **ERRORS}
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def investigate(self, request: Request, pk: Any = None) -> Response:
        """Record an investigation step (test, inspection, visit, records review)."""
        from medservice.quality.decisions import investigation_record

        case = self.get_object()  # type: ignore[attr-defined]
        data = action_input(CaseInvestigateInput, request)
        entry = investigation_record(actor=request.user, case=case, **data)
        return Response(InvestigationEntrySerializer(entry).data, status=201)

    @extend_schema(request=CaseDecideInput, responses={201: CaseDecisionSerializer, **ERRORS})
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def decide(self, request: Request, pk: Any = None) -> Response:
        """The quality manager's signed decision (password re-entered). Outcomes: service_issue,
        no_defect, use_error (advice required), ae_not_reportable, reportable_ae
        (reportable_markets and harm required), quality_accident, product_defect."""
        from medservice.quality.decisions import case_decide

        case = self.get_object()  # type: ignore[attr-defined]
        data = action_input(CaseDecideInput, request)
        decision = case_decide(actor=request.user, case=case, **data)
        return Response(CaseDecisionSerializer(decision).data, status=201)

    @extend_schema(request=HoldReasonInput, responses={200: None, **ERRORS})
    @action(detail=True, methods=["post"], url_path="release-hold", url_name="release-hold",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def release_hold(self, request: Request, pk: Any = None) -> Response:
        """Release the batch hold of a decided case (quality manager)."""
        from medservice.quality.decisions import case_hold_release

        case = self.get_object()  # type: ignore[attr-defined]
        data = action_input(HoldReasonInput, request)
        case_hold_release(actor=request.user, case=case, reason=data["reason"])
        return self._case_answer(case)

    @extend_schema(request=HoldReasonInput, responses={200: None, **ERRORS})
    @action(detail=True, methods=["post"], url_path="evidence-hold", url_name="evidence-hold",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def evidence_hold(self, request: Request, pk: Any = None) -> Response:
        """Keep the case's device as evidence: it may not be altered until released."""
        from medservice.quality.decisions import evidence_hold_place

        case = self.get_object()  # type: ignore[attr-defined]
        data = action_input(HoldReasonInput, request)
        evidence_hold_place(actor=request.user, case=case, reason=data["reason"])
        return self._case_answer(case)

    @extend_schema(request=HoldReasonInput, responses={200: None, **ERRORS})
    @action(detail=True, methods=["post"], url_path="release-evidence-hold",
            url_name="release-evidence-hold", permission_classes=[IsAuthenticated])  # fmt: skip
    def release_evidence_hold(self, request: Request, pk: Any = None) -> Response:
        """Release the evidence hold on the case's device (quality manager only)."""
        from medservice.quality.decisions import evidence_hold_release

        case = self.get_object()  # type: ignore[attr-defined]
        data = action_input(HoldReasonInput, request)
        evidence_hold_release(actor=request.user, case=case, reason=data["reason"])
        return self._case_answer(case)

    @extend_schema(request=RegulatorFeedbackInput,
                   responses={201: RegulatorFeedbackSerializer, **ERRORS})  # fmt: skip
    @action(detail=True, methods=["post"], url_path="regulator-feedback",
            url_name="regulator-feedback", permission_classes=[IsAuthenticated])  # fmt: skip
    def regulator_feedback(self, request: Request, pk: Any = None) -> Response:
        """Record the feedback given to the regulator (when, to whom, how, what)."""
        from medservice.quality.decisions import regulator_feedback_record

        case = self.get_object()  # type: ignore[attr-defined]
        data = action_input(RegulatorFeedbackInput, request)
        feedback = regulator_feedback_record(actor=request.user, case=case, **data)
        return Response(RegulatorFeedbackSerializer(feedback).data, status=201)


def _notice_viewset() -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.quality import decisions
    from medservice.quality.views_decisions import notices

    base = resource_viewset(notices)

    class SupplierNoticeViewSet(base):  # type: ignore[misc, valid-type]
        """Supplier and manufacturer notices (供货者通知). Filters: status, recipient_kind,
        reason, supplier, manufacturer, case, response_due_on_after/_before."""

        # Every action is a row of the notice table: a role without its permission gets 403
        # before the input is read.
        transitions = decisions.NOTICE_TRANSITIONS

        def _answer(self, notice: Any) -> Response:
            return Response(
                SupplierNoticeSerializer(notice, context=self.get_serializer_context()).data
            )

        @extend_schema(request=NoticeSendInput, responses={200: SupplierNoticeSerializer, **ERRORS})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def send(self, request: Request, pk: Any = None) -> Response:
            """Record that the notice was sent: channel, to whom, when, response due."""
            notice = self.get_object()
            data = action_input(NoticeSendInput, request)
            return self._answer(decisions.notice_send(actor=request.user, notice=notice, **data))

        @extend_schema(request=NoticeAcknowledgeInput,
                       responses={200: SupplierNoticeSerializer, **ERRORS})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def acknowledge(self, request: Request, pk: Any = None) -> Response:
            """Record the recipient's acknowledgement: the reminders stop."""
            notice = self.get_object()
            data = action_input(NoticeAcknowledgeInput, request)
            return self._answer(
                decisions.notice_acknowledge(actor=request.user, notice=notice, **data)
            )

        @extend_schema(request=NoticeRespondInput,
                       responses={200: SupplierNoticeSerializer, **ERRORS})  # fmt: skip
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def respond(self, request: Request, pk: Any = None) -> Response:
            """Record the recipient's response."""
            notice = self.get_object()
            data = action_input(NoticeRespondInput, request)
            return self._answer(decisions.notice_respond(actor=request.user, notice=notice, **data))

    SupplierNoticeViewSet.__doc__ = base.__doc__
    return SupplierNoticeViewSet


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router."""
    router.register("supplier-notices", _notice_viewset(), basename="supplier-notice")
