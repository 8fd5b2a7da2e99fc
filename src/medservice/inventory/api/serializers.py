"""API shapes of parts, locations, lots, stock and the ledger. Related records by id; stock and
movements are read only (they change only through the business actions)."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers

from medservice.catalog.selectors import device_models_visible_to, suppliers_visible_to
from medservice.inventory.models import Part, PartLot, StockBalance, StockLocation, StockMovement

VERSION_HELP = "Send the version you read: an update is refused (409) if it changed since."
TIMESTAMPS = ["created_at", "updated_at"]


class ScopedSerializer(serializers.ModelSerializer):
    """Related-record choices come from the selectors, as in the UI."""

    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)
    scoped_relations: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            for name, selector in self.scoped_relations.items():
                field = self.fields[name]
                target = getattr(field, "child_relation", field)
                target.queryset = selector(request.user)


class PartSerializer(ScopedSerializer):
    scoped_relations: ClassVar[dict[str, Any]] = {
        "preferred_supplier": suppliers_visible_to,
        "compatible_models": device_models_visible_to,
        "device_model": device_models_visible_to,
    }

    class Meta:
        model = Part
        fields = [
            "id",
            "number",
            "name_zh",
            "name_en",
            "unit",
            "tracking",
            "shelf_life_days",
            "standard_cost",
            "price",
            "reorder_point",
            "reorder_quantity",
            "preferred_supplier",
            "compatible_models",
            "device_model",
            "active",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]


class LocationSerializer(ScopedSerializer):
    class Meta:
        model = StockLocation
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "engineer",
            "region",
            "address",
            "active",
            "counting",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "counting", *TIMESTAMPS]


class LotSerializer(ScopedSerializer):
    class Meta:
        model = PartLot
        fields = [
            "id",
            "part",
            "lot_number",
            "serial_number",
            "production_date",
            "expiry_date",
            "supplier",
            "on_hold",
            "hold_reason",
            "hold_source",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = [
            "id",
            "part",
            "lot_number",
            "serial_number",
            "supplier",
            "on_hold",
            "hold_reason",
            "hold_source",
            *TIMESTAMPS,
        ]


class LotHoldSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the lot is held or released.")
    source = serializers.CharField(required=False, allow_blank=True, default="")


class StockSerializer(serializers.ModelSerializer):
    lot_number = serializers.CharField(source="lot.lot_number", read_only=True, default="")
    serial_number = serializers.CharField(source="lot.serial_number", read_only=True, default="")
    expiry_date = serializers.DateField(source="lot.expiry_date", read_only=True, default=None)

    class Meta:
        model = StockBalance
        fields = [
            "id",
            "location",
            "part",
            "lot",
            "lot_number",
            "serial_number",
            "expiry_date",
            "condition",
            "quantity",
            "updated_at",
        ]
        read_only_fields = fields


class MovementSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockMovement
        fields = [
            "id",
            "kind",
            "part",
            "lot",
            "quantity",
            "source",
            "source_condition",
            "destination",
            "destination_condition",
            "occurred_at",
            "recorded_by",
            "approved_by",
            "unit_cost",
            "reference",
            "reason",
            "device",
            "purchase_order_line",
            "requisition_line",
            "count_line",
        ]
        read_only_fields = fields


class StockMoveSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["transfer", "return_defective", "to_analysis", "supplier_return", "scrap",
                 "restock"],
        help_text="transfer (good stock between warehouses and engineers), return_defective "
        "(to quarantine), to_analysis, supplier_return, scrap, restock (found good).",
    )  # fmt: skip
    source = serializers.PrimaryKeyRelatedField(queryset=StockLocation.objects.none())
    destination = serializers.PrimaryKeyRelatedField(
        queryset=StockLocation.objects.none(), required=False, allow_null=True
    )
    part = serializers.PrimaryKeyRelatedField(queryset=Part.objects.none())
    lot = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Lot or serial number."
    )
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=0)
    source_condition = serializers.ChoiceField(
        choices=["good", "defective"], required=False, default="defective",
        help_text="return_defective only: the condition of the parts taken.",
    )  # fmt: skip
    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            from medservice.inventory.selectors import locations_visible_to, parts_visible_to

            self.fields["source"].queryset = locations_visible_to(request.user)
            self.fields["destination"].queryset = locations_visible_to(request.user)
            self.fields["part"].queryset = parts_visible_to(request.user)


class FittedSerializer(serializers.Serializer):
    part = serializers.IntegerField()
    lot = serializers.IntegerField(required=False, allow_null=True, default=None)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, default=1)


class RemovedSerializer(serializers.Serializer):
    part = serializers.IntegerField()
    lot_number = serializers.CharField(required=False, allow_blank=True, default="")
    serial_number = serializers.CharField(required=False, allow_blank=True, default="")
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, default=1)


class ConsumeSerializer(serializers.Serializer):
    device = serializers.IntegerField(help_text="The device's id.")
    location = serializers.IntegerField(help_text="The stock the fitted parts are taken from.")
    reference = serializers.CharField(max_length=100)
    fitted = FittedSerializer(many=True, required=False, default=list)
    removed = RemovedSerializer(many=True, required=False, default=list)


class LotTraceSerializer(serializers.Serializer):
    """One row of `GET part-lots/{id}/trace/`: a device the lot went into or came out of
    (documents the answer, which the view builds from `selectors.Fitting`)."""

    movement = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    kind = serializers.CharField()
    quantity = serializers.CharField(help_text='A decimal number as text, e.g. "2.000".')
    device = serializers.IntegerField()
    device_serial = serializers.CharField()
    device_model = serializers.CharField()
    organization = serializers.IntegerField()
    organization_name = serializers.CharField()
    reference = serializers.CharField()
