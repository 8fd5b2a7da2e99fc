"""API shapes of work orders and what hangs from them. Related records by id; everything that
changes the state is an action (POST /api/v1/work-orders/{id}/<action>/)."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers

from medservice.installed_base.selectors import devices_visible_to
from medservice.tickets.selectors import tickets_visible_to
from medservice.work_orders.models import (
    FeeItem,
    Quote,
    QuoteLine,
    ServiceReport,
    TestResult,
    Visit,
    WorkOrder,
)


class VisitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Visit
        fields = [
            "id",
            "engineer",
            "status",
            "window_start",
            "window_end",
            "override_reason",
            "reschedule_count",
            "reschedule_reason",
            "checked_in_at",
            "checked_out_at",
        ]
        read_only_fields = fields


class QuoteLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuoteLine
        fields = ["category", "description", "part", "quantity", "unit_price", "amount"]
        read_only_fields = fields


class QuoteSerializer(serializers.ModelSerializer):
    lines = QuoteLineSerializer(many=True, read_only=True)

    class Meta:
        model = Quote
        fields = [
            "id",
            "number",
            "status",
            "total",
            "valid_until",
            "note",
            "decided_at",
            "decided_by_name",
            "decision_method",
            "decline_reason",
            "lines",
        ]
        read_only_fields = fields


class TestResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = TestResult
        fields = [
            "item",
            "measured_value",
            "passed",
            "instrument",
            "instrument_calibrated_on",
            "instrument_calibration_due",
            "note",
            "recorded_at",
        ]
        read_only_fields = fields


class FeeItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = FeeItem
        fields = ["id", "category", "description", "amount"]
        read_only_fields = fields


class ServiceReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceReport
        fields = [
            "id",
            "number",
            "revision",
            "language",
            "engineer_name",
            "engineer_signed_at",
            "customer_name",
            "customer_signed_at",
            "sign_method",
            "signed_at",
            "revision_reason",
        ]
        read_only_fields = fields


class WorkOrderSerializer(serializers.ModelSerializer):
    """A work order. To open one send kind, device and problem (and optionally ticket, route,
    contact_name, contact_phone, site_address); everything else moves through the actions."""

    scoped_relations: ClassVar[dict[str, Any]] = {
        "device": devices_visible_to,
        "ticket": tickets_visible_to,
    }
    visits = VisitSerializer(many=True, read_only=True)
    # Stored encrypted (unbounded text): the limits are the form's.
    contact_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    contact_phone = serializers.CharField(required=False, allow_blank=True, max_length=30)

    class Meta:
        model = WorkOrder
        fields = [
            "id",
            "number",
            "kind",
            "source",
            "status",
            "ticket",
            "device",
            "organization",
            "department",
            "problem",
            "contact_name",
            "contact_phone",
            "site_address",
            "owner",
            "engineer",
            "route",
            "assessment",
            "exclusion",
            "exclusion_evidence",
            "coverage",
            "covered",
            "plan",
            "estimated_hours",
            "quote_total",
            "promised_by",
            "promised_reason",
            "appointment_start",
            "appointment_end",
            "symptom",
            "fault_code",
            "root_cause",
            "actions_taken",
            "guidance",
            "document_version",
            "screened_at",
            "is_complaint",
            "may_be_reportable",
            "result",
            "completed_at",
            "closed_at",
            "cancel_reason",
            "down_since",
            "back_in_service_at",
            "payment_status",
            "payment_method",
            "paid_on",
            "invoice_number",
            "visits",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            name for name in fields
            if name not in ("kind", "ticket", "device", "problem", "contact_name",
                            "contact_phone", "site_address", "route")
        ]  # fmt: skip
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "ticket": {"required": False, "allow_null": True},
            "route": {"required": False},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            for name, selector in self.scoped_relations.items():
                self.fields[name].queryset = selector(request.user)

    def to_representation(self, instance: WorkOrder) -> dict[str, Any]:
        data = super().to_representation(instance)
        # The contact's phone is personal data: shown whole only to the people doing the work
        # (the owner and the engineer, who must call), masked for everyone else.
        request = self.context.get("request")
        user_id = getattr(getattr(request, "user", None), "pk", None)
        if user_id is None or user_id not in (instance.owner_id, instance.engineer_id):
            data["contact_phone"] = instance.contact_phone_masked
        return data
