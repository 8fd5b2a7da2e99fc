from __future__ import annotations

from typing import Any

from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, viewsets

from medservice.core.api.serializers import AuditEventSerializer, CustomerAuditEventSerializer
from medservice.core.models import AuditEvent
from medservice.core.registry import resource_for_label


class AuditEventFilter(filters.FilterSet):
    class Meta:
        model = AuditEvent
        fields = ["object_type", "object_id", "action", "actor"]


@extend_schema(
    parameters=[
        OpenApiParameter("object_type", str, description="e.g. customers.organization"),
        OpenApiParameter("object_id", str),
    ]
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, read only. Staff with audit access see everything; other users see the
    history of one record they can see (object_type and object_id required)."""

    permission_classes = [permissions.IsAuthenticated]
    scoping_exempt = (
        "scoped through the record's own resource; tested in tests/core/test_audit_api.py"
    )
    filterset_class = AuditEventFilter
    ordering_fields = ["id", "occurred_at"]
    search_fields: list[str] = []
    queryset = AuditEvent.objects.none()

    def full_access(self) -> bool:
        return self.request.user.has_perm("core.view_auditevent")

    def get_serializer_class(self) -> Any:
        return AuditEventSerializer if self.full_access() else CustomerAuditEventSerializer

    def get_queryset(self) -> Any:
        events = AuditEvent.objects.select_related("actor").order_by("-id")
        if getattr(self, "swagger_fake_view", False) or self.full_access():
            return events
        object_type = self.request.query_params.get("object_type", "")
        object_id = self.request.query_params.get("object_id", "")
        resource = resource_for_label(object_type)
        if resource is None or not object_id.isdigit():
            raise Http404
        if not resource.queryset_for(self.request.user).filter(pk=object_id).exists():
            raise Http404
        return events.filter(object_type=object_type, object_id=object_id)
