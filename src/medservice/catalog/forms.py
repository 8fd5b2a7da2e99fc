"""Catalogue forms: shape only. The services decide (certificate numbers, fault-code trees,
acceptance checks) and their refusals come back on the named fields."""

from __future__ import annotations

from typing import Any

from django import forms

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
from medservice.catalog.services import licence_date_problems
from medservice.core.forms import ResourceForm


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ManufacturerForm(ResourceForm):
    class Meta:
        model = Manufacturer
        fields = ["name", "country", "credit_code", "production_permit", "contact"]


class SupplierForm(ResourceForm):
    class Meta:
        model = Supplier
        fields = [
            "name",
            "credit_code",
            "manufacturer",
            "quality_agreement_reference",
            "repairs_under_agreement",
            "repair_clause",
            "contact",
            "phone",
            "email",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["manufacturer"].queryset = manufacturers_visible_to(self.user)


class SupplierLicenceForm(ResourceForm):
    class Meta:
        model = SupplierLicence
        fields = ["supplier", "kind", "number", "valid_from", "valid_until", "file"]
        widgets = {"valid_from": date_input(), "valid_until": date_input()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers_visible_to(self.user)

    def clean_file(self) -> Any:
        """A licence scan is checked like any upload (issue 12 security)."""
        from medservice.core.attachments import attachment_check
        from medservice.core.errors import InvalidInputError

        upload = self.cleaned_data.get("file")
        if upload and hasattr(upload, "read") and not getattr(upload, "_committed", False):
            try:
                attachment_check(upload)
            except InvalidInputError as error:
                raise forms.ValidationError(error.message) from error
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # Named on the field here, before the model's date constraint reports it unnamed.
        for name, problems in licence_date_problems(
            cleaned.get("valid_from"), cleaned.get("valid_until")
        ).items():
            for problem in problems:
                self.add_error(name, problem)
        return cleaned


class ProductLineForm(ResourceForm):
    class Meta:
        model = ProductLine
        fields = ["name", "category"]


class DeviceModelForm(ResourceForm):
    class Meta:
        model = DeviceModel
        fields = [
            "name",
            "model_spec",
            "manufacturer",
            "product_line",
            "risk_class",
            "product_type",
            "registration_number",
            "registration_valid_until",
            "udi_di",
            "implantable",
            "life_support",
            "single_use",
            "tracking",
            "service_life_years",
            "warranty_months",
            "pm_interval_days",
        ]
        widgets = {"registration_valid_until": date_input()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["manufacturer"].queryset = manufacturers_visible_to(self.user)
        self.fields["product_line"].queryset = product_lines_visible_to(self.user)


class FaultCodeForm(ResourceForm):
    class Meta:
        model = FaultCode
        fields = ["product_line", "parent", "code", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product_line"].queryset = product_lines_visible_to(self.user)
        self.fields["parent"].queryset = fault_codes_visible_to(self.user)


class AcceptanceTestItemForm(ResourceForm):
    class Meta:
        model = AcceptanceTestItem
        fields = [
            "device_model",
            "position",
            "name",
            "expected_value",
            "tolerance",
            "unit",
            "pass_fail_only",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device_model"].queryset = device_models_visible_to(self.user)
