"""Catalogue API shapes. Related records are given and returned by id; `version` guards an
update against a concurrent change (409 when stale); statuses are read-only and computed."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers

from medservice.catalog.choices import ValidityStatus
from medservice.catalog.models import (
    AcceptanceTestItem,
    DeviceModel,
    FaultCode,
    Manufacturer,
    ProductLine,
    Supplier,
    SupplierLicence,
)
from medservice.catalog.selectors import (
    device_models_visible_to,
    fault_codes_visible_to,
    manufacturers_visible_to,
    product_lines_visible_to,
    suppliers_visible_to,
)
from medservice.catalog.validators import validate_udi_di

VERSION_HELP = "Send the version you read: an update is refused (409) if it changed since."
TIMESTAMPS = ["created_at", "updated_at"]
# Plain strings rather than an enum: three fields share the choice set and "status" is taken by
# other apps' enums, which drf-spectacular would report as naming collisions.
STATUS_VALUES = "One of " + ", ".join(ValidityStatus.values)


class CatalogSerializer(serializers.ModelSerializer):
    """Related-record choices come from the selectors, as in the UI."""

    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)
    scoped_relations: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            for name, selector in self.scoped_relations.items():
                self.fields[name].queryset = selector(request.user)


class ManufacturerSerializer(CatalogSerializer):
    class Meta:
        model = Manufacturer
        fields = [
            "id",
            "name",
            "country",
            "credit_code",
            "production_permit",
            "contact",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]


class SupplierSerializer(CatalogSerializer):
    licence_status = serializers.CharField(
        read_only=True,
        help_text=f"{STATUS_VALUES}: an expired or missing licence locks new deliveries and "
        "purchase orders.",
    )
    scoped_relations: ClassVar[dict[str, Any]] = {"manufacturer": manufacturers_visible_to}

    class Meta:
        model = Supplier
        fields = [
            "id",
            "name",
            "credit_code",
            "manufacturer",
            "quality_agreement_reference",
            "repairs_under_agreement",
            "repair_clause",
            "contact",
            "phone",
            "email",
            "licence_status",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]


class SupplierLicenceSerializer(CatalogSerializer):
    status = serializers.CharField(read_only=True, help_text=STATUS_VALUES)
    scoped_relations: ClassVar[dict[str, Any]] = {"supplier": suppliers_visible_to}

    def validate_file(self, value: Any) -> Any:
        """A licence scan is checked like any upload (issue 12 security)."""
        from medservice.core.attachments import attachment_check
        from medservice.core.errors import InvalidInputError

        if value:
            try:
                attachment_check(value)
            except InvalidInputError as error:
                raise serializers.ValidationError(error.message) from error
        return value

    class Meta:
        model = SupplierLicence
        fields = [
            "id",
            "supplier",
            "kind",
            "number",
            "valid_from",
            "valid_until",
            "file",
            "status",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]


class ProductLineSerializer(CatalogSerializer):
    class Meta:
        model = ProductLine
        fields = ["id", "name", "category", "version", *TIMESTAMPS]
        read_only_fields = ["id", *TIMESTAMPS]


class DeviceModelSerializer(CatalogSerializer):
    registration_status = serializers.CharField(
        read_only=True,
        help_text=f"{STATUS_VALUES}: an expired or missing certificate locks new deliveries of "
        "the model.",
    )
    scoped_relations: ClassVar[dict[str, Any]] = {
        "manufacturer": manufacturers_visible_to,
        "product_line": product_lines_visible_to,
    }

    class Meta:
        model = DeviceModel
        fields = [
            "id",
            "name",
            "model_spec",
            "registration_number",
            "registration_valid_until",
            "registration_status",
            "risk_class",
            "product_type",
            "manufacturer",
            "product_line",
            "udi_di",
            "warranty_months",
            "pm_interval_days",
            "service_life_years",
            "life_support",
            "implantable",
            "single_use",
            "tracking",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]
        # Uniqueness is the service's to decide and word, so it reads the same in UI and API.
        extra_kwargs = {"udi_di": {"validators": [validate_udi_di]}}


class FaultCodeSerializer(CatalogSerializer):
    scoped_relations: ClassVar[dict[str, Any]] = {
        "product_line": product_lines_visible_to,
        "parent": fault_codes_visible_to,
    }

    class Meta:
        model = FaultCode
        fields = ["id", "product_line", "parent", "code", "name", "version", *TIMESTAMPS]
        read_only_fields = ["id", *TIMESTAMPS]


class AcceptanceTestItemSerializer(CatalogSerializer):
    scoped_relations: ClassVar[dict[str, Any]] = {"device_model": device_models_visible_to}

    class Meta:
        model = AcceptanceTestItem
        fields = [
            "id",
            "device_model",
            "position",
            "name",
            "expected_value",
            "tolerance",
            "unit",
            "pass_fail_only",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]
