"""API of the spot checks: samples with their items (`/api/v1/spot-checks/`, read only), the
items with the review action (`/api/v1/spot-check-items/{id}/review/`), and the plans and
checklist points as resources. Internal users only: anyone else gets 404."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.analytics.choices import SpotCheckAnswer, SpotCheckSeverity
from medservice.analytics.models import (
    SpotCheckChecklistItem,
    SpotCheckItem,
    SpotCheckPlan,
    SpotCheckSample,
)
from medservice.analytics.selectors_spot_checks import (
    spot_check_items_visible_to,
    spot_check_samples_visible_to,
)
from medservice.core.api.inputs import action_input
from medservice.customers.selectors import user_scope


class SpotCheckPlanSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = SpotCheckPlan
        fields = ["id", "name", "record_kind", "stratum", "size_per_stratum", "active",
                  "default_reviewer", "version"]  # fmt: skip
        read_only_fields = ["id"]

    def validate_size_per_stratum(self, value: int) -> int:
        from django.utils.translation import gettext as _

        if value < 1:
            raise serializers.ValidationError(_("Draw at least one record per engineer or team."))
        return value


class SpotCheckChecklistItemSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = SpotCheckChecklistItem
        fields = ["id", "plan", "code", "text_zh", "text_en", "order", "version"]
        read_only_fields = ["id"]


class SpotCheckItemSerializer(serializers.ModelSerializer):
    """A drawn record: `record_type` is `app_label.model` ("tickets.ticket" or
    "work_orders.workorder"), `record` its id, `record_label` its number."""

    record_type = serializers.SerializerMethodField()
    record = serializers.IntegerField(source="object_id", read_only=True)
    record_label = serializers.SerializerMethodField()

    class Meta:
        model = SpotCheckItem
        fields = ["id", "sample", "record_type", "record", "record_label", "stratum_id",
                  "stratum_label", "engineer", "rank", "reviewer", "answers", "severity", "note",
                  "reviewed_at"]  # fmt: skip
        read_only_fields = fields

    def get_record_type(self, item: SpotCheckItem) -> str:
        return f"{item.content_type.app_label}.{item.content_type.model}"

    def get_record_label(self, item: SpotCheckItem) -> str:
        return str(item.record) if item.record is not None else ""


class SpotCheckSampleSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()

    class Meta:
        model = SpotCheckSample
        fields = ["id", "plan", "period_start", "period_end", "seed", "algorithm",
                  "population_size", "created_at", "items"]  # fmt: skip
        read_only_fields = fields

    def get_items(self, sample: SpotCheckSample) -> list[dict[str, Any]]:
        # Only the items the caller may see (an engineer: the findings on their records).
        visible = self.context["visible_items"]
        rows = [item for item in sample.items.all() if item.pk in visible]
        return SpotCheckItemSerializer(rows, many=True).data


class SpotCheckReviewInput(serializers.Serializer):
    answers = serializers.DictField(child=serializers.ChoiceField(choices=SpotCheckAnswer.choices))
    severity = serializers.ChoiceField(choices=SpotCheckSeverity.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


RESPONSES = {
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="Not yours to review (your own work, or not your role)."),
    404: OpenApiResponse(description="Not in your scope."),
    409: OpenApiResponse(description="Already reviewed."),
}


class InternalOnly:
    """Spot checks are the company's own: outside users are answered 404, even on lists."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if user_scope(request.user) != "internal":
            raise Http404


class SpotCheckSampleViewSet(InternalOnly, viewsets.ReadOnlyModelViewSet):
    """Spot-check samples: each period's draw of a plan with its seed, and its items."""

    scoping_exempt = "reads through spot_check_samples_visible_to (internal users only)"
    serializer_class = SpotCheckSampleSerializer
    permission_classes = [IsAuthenticated]
    queryset = SpotCheckSample.objects.none()
    filterset_fields = ["plan", "period_start"]
    ordering_fields = ["period_start"]

    def get_queryset(self) -> Any:
        return (
            spot_check_samples_visible_to(self.request.user)
            .prefetch_related("items__content_type", "items__record")
            .order_by("-period_start", "pk")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["visible_items"] = set(
            spot_check_items_visible_to(self.request.user).values_list("pk", flat=True)
        )
        return context


class SpotCheckItemViewSet(InternalOnly, viewsets.ReadOnlyModelViewSet):
    """Records drawn for review; POST .../{id}/review/ records the review."""

    scoping_exempt = "reads through spot_check_items_visible_to (internal users only)"
    serializer_class = SpotCheckItemSerializer
    permission_classes = [IsAuthenticated]
    queryset = SpotCheckItem.objects.none()
    filterset_fields = ["sample", "severity", "reviewer", "engineer"]
    ordering_fields = ["reviewed_at", "rank"]

    def get_queryset(self) -> Any:
        return (
            spot_check_items_visible_to(self.request.user)
            .select_related("content_type")
            .prefetch_related("record")
            .order_by("sample", "stratum_label", "rank")
        )

    @extend_schema(request=SpotCheckReviewInput,
                   responses={200: SpotCheckItemSerializer, **RESPONSES})  # fmt: skip
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: Any = None) -> Response:
        """Record the review: `answers` {checklist code: yes | no | not_applicable},
        `severity` none | minor | major, `note` (required for a finding). A major finding
        opens an improvement CAPA. The record's own engineer may not review it."""
        from medservice.analytics.spot_checks import spot_check_review

        item = self.get_object()
        data = action_input(SpotCheckReviewInput, request)
        saved = spot_check_review(item=item, actor=request.user, **data)
        return Response(SpotCheckItemSerializer(saved).data)
