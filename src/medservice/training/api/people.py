"""The performance reviews and violations API: `performance-reviews` (list, read, create,
update until final) with `POST performance-reviews/{id}/finalise/`; `violations` (list, read,
record, correct while open) with `POST violations/{id}/handle/` and its `handling`."""

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

from medservice.core.errors import InvalidInputError
from medservice.training.models import PerformanceReview, Violation
from medservice.training.people import review_finalise, violation_handle

VERSION_HELP = "Send the version you read: an update is refused (409) if it changed since."
TIMESTAMPS = ["created_at", "updated_at"]


class _StaffSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from medservice.training.views_people import staff_choices

        self.fields["person"].queryset = staff_choices()


class PerformanceReviewSerializer(_StaffSerializer):
    # Checked by the service (numbers only), which names the figure that is not one.
    figures = serializers.JSONField(required=False)

    class Meta:
        model = PerformanceReview
        fields = [
            "id",
            "person",
            "period_start",
            "period_end",
            "figures",
            "score",
            "comments",
            "reviewer",
            "finalised_at",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "reviewer", "finalised_at", *TIMESTAMPS]
        # The service names a clash of person and period; the serializer checks shape only.
        validators: list[Any] = []


class ViolationSerializer(_StaffSerializer):
    class Meta:
        model = Violation
        fields = [
            "id",
            "person",
            "occurred_on",
            "description",
            "procedure_reference",
            "status",
            "handling",
            "handled_by",
            "handled_at",
            "reported_by",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "status",
            "handling",
            "handled_by",
            "handled_at",
            "reported_by",
            *TIMESTAMPS,
        ]


class ViolationHandleSerializer(serializers.Serializer):
    handling = serializers.CharField(help_text="How the violation was handled.")


RESPONSES = {
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="The role may not take this action."),
    404: OpenApiResponse(description="No such record in your scope."),
    409: OpenApiResponse(description="Not possible in the record's current state."),
}


def _review_viewset() -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.training.views_people import performance_reviews

    class PerformanceReviewViewSet(resource_viewset(performance_reviews)):  # type: ignore[misc]
        """Performance reviews (考核): figures, score (0–100), comments; frozen once final."""

        action_permissions: ClassVar[dict[str, str]] = {
            "finalise": "training.change_performancereview"
        }

        serializer_class = PerformanceReviewSerializer

        @extend_schema(request=None, responses={200: PerformanceReviewSerializer, **RESPONSES})
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def finalise(self, request: Request, pk: Any = None) -> Response:
            """Make the review final (it needs its score)."""
            review = review_finalise(actor=request.user, review=self.get_object())
            return Response(
                PerformanceReviewSerializer(review, context=self.get_serializer_context()).data
            )

    return PerformanceReviewViewSet


def _violation_viewset() -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.training.views_people import violations

    class ViolationViewSet(resource_viewset(violations)):  # type: ignore[misc]
        """Violations of the service procedures (违规) and how they were handled."""

        action_permissions: ClassVar[dict[str, str]] = {"handle": "training.change_violation"}

        serializer_class = ViolationSerializer

        @extend_schema(
            request=ViolationHandleSerializer, responses={200: ViolationSerializer, **RESPONSES}
        )
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def handle(self, request: Request, pk: Any = None) -> Response:
            """Close the violation with how it was handled (required)."""
            violation = self.get_object()
            if not hasattr(request.data, "get"):
                message = _("Send the action's inputs as one JSON object.")
                raise InvalidInputError(message, fields={"non_field_errors": [message]})
            violation = violation_handle(
                actor=request.user,
                violation=violation,
                handling=str(request.data.get("handling") or ""),
            )
            return Response(
                ViolationSerializer(violation, context=self.get_serializer_context()).data
            )

    return ViolationViewSet


def register(router: DefaultRouter) -> None:
    """Register the performance reviews and violations viewsets on the API router."""
    router.register("performance-reviews", _review_viewset(), basename="performance-review")
    router.register("violations", _violation_viewset(), basename="violation")
