"""Core reads: audit history of a record."""

from __future__ import annotations

from django.db import models

from medservice.core.models import AuditEvent


def audit_events_for_record(record: models.Model) -> models.QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(object_type=record._meta.label_lower, object_id=str(record.pk))
        .select_related("actor")
        .order_by("-id")
    )
