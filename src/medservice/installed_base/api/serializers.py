"""API shapes of the installed base. They check shape and limit related choices to what the
user may see; the services decide (uniqueness, holds, dates, overlaps)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from medservice.installed_base.choices import CostCategory, Exclusion
from medservice.installed_base.models import Delivery, DeliveryLine, Device, Hold, ServiceContract

VERSION_HELP = "Send the version you read: an update is refused (409) if it changed since."


def _user_of(serializer: serializers.Serializer) -> Any:
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class DeviceSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    class Meta:
        model = Device
        fields = [
            "id",
            "device_model",
            "serial_number",
            "batch_number",
            "udi_pi",
            "production_date",
            "expiry_date",
            "organization",
            "department",
            "asset_number",
            "supplier",
            "delivery_line",
            "installed_on",
            "accepted_on",
            "warranty_ends_on",
            "status",
            "location",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "delivery_line", "warranty_ends_on", "created_at", "updated_at"]
        # Serial uniqueness and date order are the service's, with named messages.
        validators: list[Any] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = _user_of(self)
        if user is not None:
            from medservice.customers.selectors import (
                departments_visible_to,
                organizations_visible_to,
            )

            self.fields["organization"].queryset = organizations_visible_to(user)
            self.fields["department"].queryset = departments_visible_to(user)


class DeliveryLineSerializer(serializers.ModelSerializer):
    udi_pi = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        write_only=True,
        help_text="UDI production identifier of a serial line's unit (stored on the device).",
    )

    class Meta:
        model = DeliveryLine
        fields = [
            "id",
            "device_model",
            "supplier",
            "batch_number",
            "serial_number",
            "udi_pi",
            "quantity",
            "unit_price",
            "production_date",
            "expiry_date",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {"quantity": {"min_value": 1}, "unit_price": {"min_value": 0}}


class DeliverySerializer(serializers.ModelSerializer):
    """A delivery with its lines. Created in one request; every line problem is reported at
    once, keyed `lines.<n>.<field>` with lines counted from 1 as on the delivery note."""

    lines = DeliveryLineSerializer(many=True, allow_empty=False)
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "number",
            "organization",
            "delivered_on",
            "invoice_number",
            "salesperson",
            "notes",
            "lines",
            "retain_until",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "retain_until", "created_at", "updated_at"]
        extra_kwargs = {
            "number": {
                "required": False,
                "allow_blank": True,
                "validators": [],
                "help_text": "Leave out to number the delivery automatically (DL-YYYY-NNNNNN).",
            }
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = _user_of(self)
        if user is not None:
            from medservice.accounts.models import User
            from medservice.customers.selectors import organizations_visible_to

            self.fields["organization"].queryset = organizations_visible_to(user)
            self.fields["salesperson"].queryset = User.objects.filter(organization__kind="company")


class DeliveryUpdateSerializer(DeliverySerializer):
    """Only a delivery's paperwork changes after the fact (see services.delivery_update)."""

    lines = DeliveryLineSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        read_only_fields = [
            "id",
            "number",
            "organization",
            "delivered_on",
            "retain_until",
            "created_at",
            "updated_at",
        ]
        extra_kwargs: dict[str, Any] = {}


class ContractSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)

    class Meta:
        model = ServiceContract
        fields = [
            "id",
            "number",
            "kind",
            "organization",
            "devices",
            "starts_on",
            "ends_on",
            "sla_tier",
            "price",
            "renewal_reminder_days",
            "notes",
            "retain_until",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "retain_until", "created_at", "updated_at"]
        extra_kwargs = {
            "number": {
                "required": False,
                "allow_blank": True,
                "validators": [],
                "help_text": "Leave out to number the contract automatically (SC-YYYY-NNNNNN).",
            },
            "price": {"min_value": 0},
        }
        validators: list[Any] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = _user_of(self)
        if user is not None:
            from medservice.customers.selectors import organizations_visible_to
            from medservice.installed_base.selectors import devices_visible_to

            self.fields["organization"].queryset = organizations_visible_to(user)
            self.fields["devices"].child_relation.queryset = devices_visible_to(user)


class HoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = Hold
        fields = [
            "id",
            "scope",
            "kind",
            "device_model",
            "batch_number",
            "serial_number",
            "device",
            "reason",
            "source",
            "placed_by",
            "placed_at",
            "released_at",
            "released_by",
            "release_reason",
            "version",
        ]
        read_only_fields = [
            "id",
            "placed_by",
            "placed_at",
            "released_at",
            "released_by",
            "release_reason",
            "version",
        ]
        validators: list[Any] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = _user_of(self)
        if user is not None:
            from medservice.installed_base.selectors import devices_visible_to

            self.fields["device"].queryset = devices_visible_to(user)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why (recorded in the audit trail).")


class AcceptSerializer(serializers.Serializer):
    accepted_on = serializers.DateField(help_text="The customer's acceptance date (验收日期).")


class CoverageQuerySerializer(serializers.Serializer):
    on = serializers.DateField(required=False, help_text="The day asked about; default today.")
    exclusion = serializers.ChoiceField(
        choices=Exclusion.choices,
        required=False,
        help_text="The failure's cause when it is excluded from coverage.",
    )


class CoverageAnswerSerializer(serializers.Serializer):
    covered = serializers.BooleanField()
    by = serializers.CharField(allow_null=True, help_text='"warranty", a contract number or null')
    reason = serializers.CharField()


class CoverageSerializer(serializers.Serializer):
    device = serializers.IntegerField()
    on = serializers.DateField()
    warranty_starts_on = serializers.DateField(allow_null=True)
    warranty_ends_on = serializers.DateField(allow_null=True)
    coverage = serializers.DictField(
        child=CoverageAnswerSerializer(),
        help_text="One answer per cost category: " + ", ".join(CostCategory.values),
    )


class TraceQuerySerializer(serializers.Serializer):
    device_model = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    batch_number = serializers.CharField(required=False, allow_blank=True, max_length=50)
    serial_number = serializers.CharField(required=False, allow_blank=True, max_length=50)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("batch_number") and not attrs.get("serial_number"):
            raise serializers.ValidationError(
                {"batch_number": [_("Give a batch number or a serial number.")]}
            )
        return attrs


class _Owner(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TraceDeviceSerializer(serializers.ModelSerializer):
    organization = _Owner()
    delivery = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "id",
            "serial_number",
            "batch_number",
            "udi_pi",
            "status",
            "organization",
            "department",
            "location",
            "delivery",
        ]

    def get_delivery(self, device: Device) -> str | None:
        return device.delivery_line.delivery.number if device.delivery_line_id else None


class TraceLineSerializer(serializers.ModelSerializer):
    delivery = serializers.CharField(source="delivery.number")
    delivered_on = serializers.DateField(source="delivery.delivered_on")
    organization = _Owner(source="delivery.organization")

    class Meta:
        model = DeliveryLine
        fields = [
            "id",
            "delivery",
            "delivered_on",
            "organization",
            "batch_number",
            "serial_number",
            "quantity",
            "supplier",
            "expiry_date",
        ]


class TraceHoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = Hold
        fields = ["id", "scope", "kind", "reason", "source", "placed_at"]


@extend_schema_serializer(many=False)  # one answer, although served by a list route
class TraceSerializer(serializers.Serializer):
    device_model = serializers.IntegerField()
    batch_number = serializers.CharField(allow_blank=True)
    serial_number = serializers.CharField(allow_blank=True)
    devices = TraceDeviceSerializer(many=True)
    delivery_lines = TraceLineSerializer(many=True)
    holds = TraceHoldSerializer(many=True)
