"""API shape of quality cases. Personal values come back masked (the phone) or only to roles
that may unmask them; the complainant's address and workplace are never listed."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers

from medservice.catalog.selectors import device_models_visible_to
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.selectors import devices_visible_to
from medservice.quality.models import QualityCase

PERSONAL = ("complainant_address", "complainant_workplace")


class QualityCaseSerializer(serializers.ModelSerializer):
    """A quality case. To record one send description and what is known of the complainant, the
    product (device, or device_model with batch_number/serial_number) and awareness_at (when
    the complaint was received; default now)."""

    scoped_relations: ClassVar[dict[str, Any]] = {
        "organization": organizations_visible_to,
        "device": devices_visible_to,
        "device_model": device_models_visible_to,
    }
    awareness_at = serializers.DateTimeField(required=False)

    class Meta:
        model = QualityCase
        fields = [
            "id", "number", "status", "source", "ticket", "work_order", "organization", "device",
            "device_model", "batch_number", "serial_number", "product_reported",
            "manufacturer_reported", "description", "complainant_name", "complainant_phone",
            "complainant_sex", "complainant_age", "complainant_address", "complainant_workplace",
            "device_used", "symptoms", "purchased_from", "purchased_on", "stop_use_advised",
            "stop_use_advised_at", "patient_involved", "injury", "awareness_at",
            "awareness_reason", "owner", "contact_due_at", "contacted_at", "contact_note",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "status", "source", "ticket", "work_order", "awareness_reason",
            "owner", "contact_due_at", "contacted_at", "contact_note", "created_at", "updated_at",
        ]  # fmt: skip
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "complainant_age": {"min_value": 0, "max_value": 150},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            for name, selector in self.scoped_relations.items():
                self.fields[name].queryset = selector(request.user)

    def to_representation(self, instance: QualityCase) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        may_unmask = request is not None and request.user.has_perm("quality.unmask_qualitycase")
        if not may_unmask:
            data["complainant_phone"] = instance.complainant_phone_masked
            for name in PERSONAL:
                data[name] = "***" if data.get(name) else ""
        return data


class ContactInput(serializers.Serializer):
    note = serializers.CharField()
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class AwarenessInput(serializers.Serializer):
    awareness_at = serializers.DateTimeField()
    reason = serializers.CharField()
