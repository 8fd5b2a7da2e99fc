"""The quality-case viewset: list, read and record (the resource's generic views) plus the
actions contact and move-awareness."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.api.inputs import action_input
from medservice.quality.api.serializers import AwarenessInput, ContactInput, QualityCaseSerializer
from medservice.quality.services import case_move_awareness, case_record_contact

RESPONSES = {
    200: QualityCaseSerializer,
    400: OpenApiResponse(description="Bad input: the fields are named."),
    403: OpenApiResponse(description="Your role may not take this action."),
    404: OpenApiResponse(description="No such case in your scope."),
    409: OpenApiResponse(description="Not possible in the case's state."),
}


def viewset_for(resource: Any) -> type:
    from medservice.core.api.viewsets import resource_viewset
    from medservice.quality.api.decisions import CASE_ACTION_PERMISSIONS, CaseDecisionActions
    from medservice.quality.decisions import CASE_TRANSITIONS

    base = resource_viewset(resource)

    class QualityCaseViewSet(CaseDecisionActions, base):  # type: ignore[misc, valid-type]
        """Quality cases (质量投诉). Filters: status, source, organization, device_model,
        batch_number, contact_overdue. Personal data is masked unless your role may unmask."""

        # Refused by role before the input is read (403, not 400): investigate and decide by
        # the case table, the other actions by the permission their service checks.
        transitions = CASE_TRANSITIONS
        action_permissions: ClassVar[dict[str, str]] = {
            **CASE_ACTION_PERMISSIONS,
            "contact": "quality.contact_qualitycase",
            "move-awareness": "quality.move_awareness_qualitycase",
        }

        def _answer(self, case: Any) -> Response:
            return Response(QualityCaseSerializer(case, context=self.get_serializer_context()).data)

        @extend_schema(request=ContactInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
        def contact(self, request: Request, pk: Any = None) -> Response:
            """Record the contact with the complainant (SOP-3): stops the contact clock."""
            case = self.get_object()
            data = action_input(ContactInput, request)
            return self._answer(
                case_record_contact(actor=request.user, case=case, note=data["note"], at=data["at"])
            )

        @extend_schema(request=AwarenessInput, responses=RESPONSES)
        @action(detail=True, methods=["post"], url_path="move-awareness",
                url_name="move-awareness", permission_classes=[IsAuthenticated])  # fmt: skip
        def move_awareness(self, request: Request, pk: Any = None) -> Response:
            """Move the awareness time earlier, with the reason (never later)."""
            case = self.get_object()
            data = action_input(AwarenessInput, request)
            return self._answer(case_move_awareness(actor=request.user, case=case, **data))

    QualityCaseViewSet.__doc__ = base.__doc__
    return QualityCaseViewSet
