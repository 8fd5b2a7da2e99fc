"""API for CAPA and trend signals: `capas` (list, read, open, and the workflow actions) and
`trend-signals` (read only, plus acknowledge, dismiss and open-capa). The actions call the same
services as the pages."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from medservice.accounts.models import User
from medservice.quality.choices import CapaKind, RootCauseMethod, VerificationResult
from medservice.quality.models import Capa, CapaAction, QualityCase, TrendSignal


def _staff() -> Any:
    from medservice.quality.capa import staff_members

    return staff_members()


class CapaActionSerializer(serializers.ModelSerializer):
    """One action of a CAPA."""

    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = CapaAction
        fields = ["id", "description", "owner", "due_on", "done_at", "done_by", "evidence_note",
                  "evidence_file", "overdue"]  # fmt: skip
        read_only_fields = fields


class CapaSerializer(serializers.ModelSerializer):
    """A CAPA. To open one send kind (corrective, preventive, improvement), problem, and either
    quality_case (its id: the case is the source) or source_label (e.g. "internal audit
    2026-03"); optionally owner and due_on. The source of a CAPA opened elsewhere (a trend
    signal, an evaluation) is returned as source_type ("app_label.model") and source_id."""

    quality_case = serializers.PrimaryKeyRelatedField(
        queryset=QualityCase.objects.none(), required=False, allow_null=True, write_only=True
    )
    source_type = serializers.SerializerMethodField()
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(), required=False, allow_null=True
    )
    actions = CapaActionSerializer(many=True, read_only=True)

    class Meta:
        model = Capa
        fields = [
            "id", "number", "kind", "status", "quality_case", "source_type", "source_id",
            "source_label", "problem", "owner", "due_on", "opened_by", "root_cause_method",
            "root_cause", "root_cause_at", "root_cause_by", "actions", "verification_result",
            "verification_evidence", "verification_file", "verified_at", "verified_by",
            "closed_at", "closed_by", "signed_at", "cancelled_at", "cancel_reason",
            "retain_until", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "status", "source_id", "opened_by", "root_cause_method",
            "root_cause", "root_cause_at", "root_cause_by", "verification_result",
            "verification_evidence", "verification_file", "verified_at", "verified_by",
            "closed_at", "closed_by", "signed_at", "cancelled_at", "cancel_reason",
            "retain_until", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs: ClassVar[dict[str, Any]] = {"source_label": {"required": False}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from medservice.quality.selectors import cases_visible_to

        request = self.context.get("request")
        user = getattr(request, "user", None)
        self.fields["quality_case"].queryset = cases_visible_to(user)
        self.fields["owner"].queryset = _staff()

    def get_source_type(self, capa: Capa) -> str:
        if capa.source_type_id is None:
            return ""
        return f"{capa.source_type.app_label}.{capa.source_type.model}"


class TrendSignalSerializer(serializers.ModelSerializer):
    """A trend signal: in `month`, `observed` complaints against `expected` for the units in use
    (`exposure`), with the one-sided Poisson p-value; status new, acknowledged, capa_opened or
    dismissed."""

    class Meta:
        model = TrendSignal
        fields = [
            "id", "dimension", "key", "label", "device_model", "batch_number", "fault_code",
            "month", "observed", "expected", "exposure", "baseline_count", "baseline_exposure",
            "p_value", "status", "reviewed_at", "reviewed_by", "dismiss_reason", "capa",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class RootCauseInput(serializers.Serializer):
    method = serializers.ChoiceField(choices=RootCauseMethod.choices)
    root_cause = serializers.CharField()


class AddActionInput(serializers.Serializer):
    description = serializers.CharField()
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.none())
    due_on = serializers.DateField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _staff()


class CompleteActionInput(serializers.Serializer):
    action = serializers.IntegerField(help_text="The id of the CAPA's action.")
    evidence_note = serializers.CharField(required=False, default="", allow_blank=True)
    evidence_file = serializers.FileField(required=False, allow_null=True, default=None)


class VerifyInput(serializers.Serializer):
    result = serializers.ChoiceField(choices=VerificationResult.choices)
    evidence = serializers.CharField()
    evidence_file = serializers.FileField(required=False, allow_null=True, default=None)


class CapaCloseInput(serializers.Serializer):
    password = serializers.CharField(help_text="The quality manager's password: the signature.")
    note = serializers.CharField(required=False, default="", allow_blank=True)


class CapaReasonInput(serializers.Serializer):
    reason = serializers.CharField()


class OpenCapaInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[(CapaKind.CORRECTIVE, CapaKind.CORRECTIVE.label),
                 (CapaKind.PREVENTIVE, CapaKind.PREVENTIVE.label)],
        default=CapaKind.CORRECTIVE,
    )  # fmt: skip
    problem = serializers.CharField(required=False, default="", allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.none(), required=False, allow_null=True, default=None
    )
    due_on = serializers.DateField(required=False, allow_null=True, default=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _staff()


def _responses(serializer: Any, what: str) -> dict[int, Any]:
    return {
        200: serializer,
        400: OpenApiResponse(description="Bad input: the fields are named."),
        403: OpenApiResponse(description="Your role may not take this action."),
        404: OpenApiResponse(description=f"No such {what} in your scope."),
        409: OpenApiResponse(description=f"Not possible in the {what}'s state."),
    }


CAPA_RESPONSES = _responses(CapaSerializer, "CAPA")
SIGNAL_RESPONSES = _responses(TrendSignalSerializer, "signal")


def capa_viewset() -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.quality import capa as services
    from medservice.quality.views_capa import capas

    base = resource_viewset(capas)

    class CapaViewSet(base):  # type: ignore[misc, valid-type]
        """CAPAs (纠正预防措施): corrective, preventive and improvement actions. Filters:
        status, kind. Actions: record-root-cause, add-action, complete-action,
        submit-verification, verify, close (the quality manager's password), cancel."""

        # An action's owner completes it without any CAPA permission: the service decides
        # complete-action by person, so only the other actions are refused up front.
        transitions = {
            name: rule for name, rule in services.TRANSITIONS.items() if name != "complete-action"
        }

        def get_queryset(self) -> Any:
            return super().get_queryset().prefetch_related("actions").select_related("source_type")

        def _answer(self, capa: Any) -> Response:
            capa = self.get_queryset().get(pk=capa.pk)
            return Response(CapaSerializer(capa, context=self.get_serializer_context()).data)

        @extend_schema(request=RootCauseInput, responses=CAPA_RESPONSES)
        @action(detail=True, methods=["post"], url_path="record-root-cause",
                url_name="record-root-cause", permission_classes=[IsAuthenticated])  # fmt: skip
        def record_root_cause(self, request: Request, pk: Any = None) -> Response:
            """Record the root-cause analysis (method and finding): open → actions."""
            from medservice.core.api.inputs import action_input

            capa = self.get_object()
            data = action_input(RootCauseInput, request)
            return self._answer(services.capa_record_root_cause(actor=request.user, capa=capa,
                                                                **data))  # fmt: skip

        @extend_schema(request=AddActionInput, responses=CAPA_RESPONSES)
        @action(detail=True, methods=["post"], url_path="add-action", url_name="add-action",
                permission_classes=[IsAuthenticated])  # fmt: skip
        def add_action(self, request: Request, pk: Any = None) -> Response:
            """Add an action with its owner and due date."""
            from medservice.core.api.inputs import action_input

            capa = self.get_object()
            data = action_input(AddActionInput, request)
            services.capa_add_action(actor=request.user, capa=capa, **data)
            return self._answer(capa)

        @extend_schema(request=CompleteActionInput, responses=CAPA_RESPONSES)
        @action(detail=True, methods=["post"], url_path="complete-action",
                url_name="complete-action", permission_classes=[IsAuthenticated])  # fmt: skip
        def complete_action(self, request: Request, pk: Any = None) -> Response:
            """Record an action as done, with its evidence (note and/or file)."""
            from medservice.core.api.inputs import action_input
            from medservice.core.errors import InvalidInputError

            capa = self.get_object()
            data = action_input(CompleteActionInput, request)
            item = capa.actions.filter(pk=data.pop("action")).first()
            if item is None:
                message = str(_no_such_action())
                raise InvalidInputError(message, fields={"action": [message]})
            services.capa_complete_action(actor=request.user, action=item, **data)
            return self._answer(capa)

        @extend_schema(request=None, responses=CAPA_RESPONSES)
        @action(detail=True, methods=["post"], url_path="submit-verification",
                url_name="submit-verification", permission_classes=[IsAuthenticated])  # fmt: skip
        def submit_verification(self, request: Request, pk: Any = None) -> Response:
            """Every action is done: actions → verification."""
            capa = self.get_object()
            return self._answer(services.capa_submit_verification(actor=request.user, capa=capa))

        @extend_schema(request=VerifyInput, responses=CAPA_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def verify(self, request: Request, pk: Any = None) -> Response:
            """Record the verification of effectiveness; not effective sends it back to
            actions."""
            from medservice.core.api.inputs import action_input

            capa = self.get_object()
            data = action_input(VerifyInput, request)
            return self._answer(services.capa_verify(actor=request.user, capa=capa, **data))

        @extend_schema(request=CapaCloseInput, responses=CAPA_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def close(self, request: Request, pk: Any = None) -> Response:
            """Close the verified CAPA, signed by the quality manager (password re-entered)."""
            from medservice.core.api.inputs import action_input

            capa = self.get_object()
            data = action_input(CapaCloseInput, request)
            return self._answer(services.capa_close(actor=request.user, capa=capa, **data))

        @extend_schema(request=CapaReasonInput, responses=CAPA_RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def cancel(self, request: Request, pk: Any = None) -> Response:
            """Cancel the CAPA, with the reason."""
            from medservice.core.api.inputs import action_input

            capa = self.get_object()
            data = action_input(CapaReasonInput, request)
            return self._answer(services.capa_cancel(actor=request.user, capa=capa, **data))

    return CapaViewSet


def _no_such_action() -> str:
    from django.utils.translation import gettext

    return gettext("This CAPA has no such action.")


class TrendSignalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):  # fmt: skip
    """Trend signals (趋势预警), read only. Filters: status, dimension. Actions: acknowledge,
    dismiss (reason), open-capa (kind corrective or preventive; problem, owner, due_on
    optional)."""

    serializer_class = TrendSignalSerializer
    queryset = TrendSignal.objects.none()
    ordering_fields: ClassVar[list[str]] = ["month", "p_value", "observed"]
    filterset_fields: ClassVar[list[str]] = ["status", "dimension", "month"]
    search_fields: ClassVar[list[str]] = ["label", "batch_number"]

    def get_queryset(self) -> Any:
        from medservice.quality.trends import trend_signals_visible_to

        return trend_signals_visible_to(self.request.user).order_by("-month", "p_value", "-id")

    def _answer(self, signal: Any) -> Response:
        return Response(TrendSignalSerializer(signal, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=SIGNAL_RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def acknowledge(self, request: Request, pk: Any = None) -> Response:
        """Seen and being looked into: new → acknowledged."""
        from medservice.quality.trends import trend_signal_acknowledge

        signal = self.get_object()
        return self._answer(trend_signal_acknowledge(actor=request.user, signal=signal))

    @extend_schema(request=CapaReasonInput, responses=SIGNAL_RESPONSES)
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def dismiss(self, request: Request, pk: Any = None) -> Response:
        """The rise needs no action, with the reason."""
        from medservice.core.api.inputs import action_input
        from medservice.quality.trends import trend_signal_dismiss

        signal = self.get_object()
        data = action_input(CapaReasonInput, request)
        return self._answer(trend_signal_dismiss(actor=request.user, signal=signal, **data))

    @extend_schema(request=OpenCapaInput, responses=SIGNAL_RESPONSES)
    @action(detail=True, methods=["post"], url_path="open-capa", url_name="open-capa",
            permission_classes=[IsAuthenticated])  # fmt: skip
    def open_capa(self, request: Request, pk: Any = None) -> Response:
        """Open a corrective or preventive CAPA raised by the signal, and link them."""
        from medservice.core.api.inputs import action_input
        from medservice.quality.trends import trend_signal_open_capa

        signal = self.get_object()
        data = action_input(OpenCapaInput, request)
        return self._answer(trend_signal_open_capa(actor=request.user, signal=signal, **data))


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router."""
    from medservice.quality.views_capa import signals

    # The scoping checks find the resource (its selector) behind every route taking an id.
    TrendSignalViewSet.resource = signals  # type: ignore[attr-defined]
    router.register("capas", capa_viewset(), basename="capa")
    router.register("trend-signals", TrendSignalViewSet, basename="trend-signal")
