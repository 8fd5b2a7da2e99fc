from rest_framework import serializers

from medservice.core.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor",
            "actor_label",
            "job",
            "action",
            "detail",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "reason",
            "request_id",
            "client_address",
        ]
        read_only_fields = fields


class CustomerAuditEventSerializer(serializers.ModelSerializer):
    """What a customer may see of its own records' history: no internal identifiers."""

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor_label",
            "action",
            "detail",
            "object_type",
            "object_id",
            "changes",
        ]
        read_only_fields = fields
