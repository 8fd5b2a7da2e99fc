"""API shape of returns and return rules, and the inputs of the return actions. Related records
are given and returned by id; choices of devices, delivery lines and organisations are scoped
to the caller."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from rest_framework import serializers

from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.models import DeliveryLine, Device
from medservice.installed_base.selectors import devices_visible_to
from medservice.returns.choices import (
    Cause,
    FileKind,
    InspectionResult,
    ItemCondition,
    RefundKind,
    RefundMethod,
    Responsibility,
    ReturnChannel,
    WarrantyMode,
)
from medservice.returns.models import (
    ExchangeUnit,
    Refund,
    ReturnFile,
    ReturnLine,
    ReturnReceipt,
    ReturnRequest,
    ReturnRule,
)

MONEY = {"max_digits": 12, "decimal_places": 2}


def _scoped_delivery_lines(user: Any) -> Any:
    from medservice.returns.forms import delivery_lines_visible_to

    return delivery_lines_visible_to(user)


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id chosen among the records the caller may see. Read when validating, from the
    request in the context (a nested serializer has no context when it is built)."""

    def __init__(self, selector: Any, **kwargs: Any) -> None:
        self.selector = selector
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        if request is None:
            return self.queryset.none()
        return self.selector(request.user)


class ReturnLineSerializer(serializers.ModelSerializer):
    """One product: `device` (a unit), or `delivery_line` with `quantity`; and `condition`."""

    device = ScopedPrimaryKeyField(
        devices_visible_to, queryset=Device.objects.none(), required=False, allow_null=True
    )
    delivery_line = ScopedPrimaryKeyField(
        _scoped_delivery_lines, queryset=DeliveryLine.objects.none(), required=False,
        allow_null=True,
    )  # fmt: skip
    condition = serializers.ChoiceField(choices=ItemCondition.choices)
    quantity = serializers.IntegerField(min_value=1, required=False, default=1)

    class Meta:
        model = ReturnLine
        fields = [
            "id", "device", "delivery_line", "device_model", "batch_number", "serial_number",
            "quantity", "condition", "work_order",
        ]  # fmt: skip
        read_only_fields = ["id", "device_model", "batch_number", "serial_number", "work_order"]


class ReturnFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReturnFile
        fields = ["id", "kind", "original_name", "content_type", "uploaded_by", "created_at"]
        read_only_fields = fields


class ReturnReceiptSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReturnReceipt
        fields = [
            "received_at", "received_by", "location", "inspection_result", "inspection_note",
        ]  # fmt: skip
        read_only_fields = fields


class ExchangeUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExchangeUnit
        fields = [
            "id", "line", "part", "lot", "quantity", "location", "old_device", "new_device",
            "warranty_mode", "warranty_ends_on", "shipped_at", "shipped_by", "shipment_reference",
        ]  # fmt: skip
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = [
            "id", "line", "delivery_line", "amount", "method", "paid_on", "reference",
            "recorded_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ReturnRequestSerializer(serializers.ModelSerializer):
    """A return (退换货). To request one send organization (customers: their own, the default),
    reason, fault_description, delivery_reference and lines: [{device} or {delivery_line,
    quantity}, each with condition]. Proof files are added with POST .../{id}/attach/. The
    number (RMA-YYYY-NNNNNN) is issued when the return is approved; eligibility lists each rule
    the request fails and why."""

    scoped_relations: ClassVar[dict[str, Any]] = {"organization": organizations_visible_to}
    organization = serializers.PrimaryKeyRelatedField(
        queryset=organizations_visible_to(None), required=False
    )
    lines = ReturnLineSerializer(many=True)
    device = serializers.SerializerMethodField(help_text="The first unit returned, if any.")
    files = ReturnFileSerializer(many=True, read_only=True)
    receipt = serializers.SerializerMethodField()
    exchange_units = ExchangeUnitSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)
    channel = serializers.ChoiceField(choices=ReturnChannel.choices, required=False)

    class Meta:
        model = ReturnRequest
        fields = [
            "id", "number", "status", "organization", "requested_by", "channel", "requested_on",
            "device", "reason", "fault_description", "delivery_reference", "eligible",
            "eligibility", "cause", "responsibility", "evaluation", "evaluated_by",
            "evaluated_at", "quality_case", "decision", "decision_reason", "decided_by",
            "decided_at", "refund_kind", "refund_approved", "warranty_mode", "customer_told_at",
            "closed_at", "lines", "files", "receipt", "exchange_units", "refunds", "retain_until",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "number", "status", "requested_by", "eligible", "eligibility", "cause",
            "responsibility", "evaluation", "evaluated_by", "evaluated_at", "quality_case",
            "decision", "decision_reason", "decided_by", "decided_at", "refund_kind",
            "refund_approved", "warranty_mode", "customer_told_at", "closed_at", "retain_until",
            "created_at", "updated_at",
        ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            for name, selector in self.scoped_relations.items():
                self.fields[name].queryset = selector(request.user)

    def get_device(self, instance: ReturnRequest) -> int | None:
        for line in instance.lines.all():
            if line.device_id:
                return line.device_id
        return None

    def get_receipt(self, instance: ReturnRequest) -> dict[str, Any] | None:
        receipt = getattr(instance, "receipt", None)
        return ReturnReceiptSerializer(receipt).data if receipt is not None else None


class ReturnRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReturnRule
        fields = [
            "id", "name", "device_model", "product_line", "product_type", "single_use_only",
            "window_days", "window_start", "condition_required", "non_returnable_once_opened",
            "exchange_warranty", "active", "notes", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs: ClassVar[dict[str, Any]] = {"version": {"required": False}}


# --- Action inputs ------------------------------------------------------------------------------


class EvaluateInput(serializers.Serializer):
    cause = serializers.ChoiceField(choices=Cause.choices)
    responsibility = serializers.ChoiceField(
        choices=Responsibility.choices, required=False, default="", allow_blank=True
    )
    evaluation = serializers.CharField()


class ReturnReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", allow_blank=True)


class RepairInput(ReturnReasonInput):
    route = serializers.ChoiceField(
        choices=[("workshop", "workshop"), ("on_site", "on_site"), ("remote", "remote"),
                 ("supplier", "supplier")],
        required=False, default="workshop",
    )  # fmt: skip


class ExchangeInput(ReturnReasonInput):
    warranty_mode = serializers.ChoiceField(
        choices=WarrantyMode.choices, required=False, default="", allow_blank=True
    )


class RefundApprovalInput(ReturnReasonInput):
    refund_kind = serializers.ChoiceField(choices=RefundKind.choices)
    amount = serializers.DecimalField(required=False, allow_null=True, default=None,
                                      min_value=Decimal("0.01"), **MONEY)  # fmt: skip


class ReceiveInput(serializers.Serializer):
    location = serializers.IntegerField(help_text="A quarantine stock location.")
    inspection_result = serializers.ChoiceField(choices=InspectionResult.choices)
    inspection_note = serializers.CharField(required=False, default="", allow_blank=True)
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ExchangeUnitInput(serializers.Serializer):
    line = serializers.IntegerField(help_text="The return line (a unit) being replaced.")
    lot = serializers.IntegerField(help_text="The serial-numbered part lot sent in its place.")


class ShipExchangeInput(serializers.Serializer):
    location = serializers.IntegerField(help_text="The warehouse the exchange units come from.")
    units = ExchangeUnitInput(many=True, required=False, default=list)
    shipment_reference = serializers.CharField(required=False, default="", allow_blank=True,
                                               max_length=100)  # fmt: skip


class RefundInput(serializers.Serializer):
    line = serializers.IntegerField(required=False, allow_null=True, default=None)
    amount = serializers.DecimalField(min_value=Decimal("0.01"), **MONEY)
    method = serializers.ChoiceField(choices=RefundMethod.choices)
    paid_on = serializers.DateField()
    reference = serializers.CharField(max_length=100)


class ReturnCloseInput(serializers.Serializer):
    note = serializers.CharField(required=False, default="", allow_blank=True)


class ReturnAttachInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FileKind.choices)
    file = serializers.FileField()
