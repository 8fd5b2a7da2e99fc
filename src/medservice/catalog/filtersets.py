"""List filters of the catalogue, on indexed columns (foreign keys, risk class, life support,
validity dates). Choice lists come from the selectors, so they show what the user may see."""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
from medservice.catalog.services import expiry_warning_days


def _visible(selector: Any) -> Any:
    """A choice queryset for django-filter, scoped to the requesting user."""

    def queryset(request: Any) -> QuerySet:
        return selector(getattr(request, "user", None))

    return queryset


class CatalogFilterSet(django_filters.FilterSet):
    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)
        for item in self.filters.values():
            widget = item.field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")


class DateOnOrBeforeFilter(django_filters.DateFilter):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("lookup_expr", "lte")
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)


EXPIRY_CHOICES = [
    ("expired", _("Expired")),
    ("expiring", _("Expiring within the warning period")),
    ("valid", _("Valid beyond the warning period")),
]


def filter_by_expiry(queryset: QuerySet, field: str, value: str) -> QuerySet:
    """Expired / expiring within the longest warning threshold / valid beyond it; a record
    without a date never expires."""
    today = timezone.localdate()
    horizon = today + datetime.timedelta(days=max(expiry_warning_days()))
    if value == "expired":
        return queryset.filter(**{f"{field}__lt": today})
    if value == "expiring":
        return queryset.filter(**{f"{field}__gte": today, f"{field}__lte": horizon})
    if value == "valid":
        return queryset.exclude(**{f"{field}__lte": horizon})
    return queryset


class ManufacturerFilter(CatalogFilterSet):
    class Meta:
        model = Manufacturer
        fields = ["country"]


class SupplierFilter(CatalogFilterSet):
    manufacturer = django_filters.ModelChoiceFilter(queryset=_visible(manufacturers_visible_to))
    licence_expires_before = DateOnOrBeforeFilter(
        field_name="licences__valid_until",
        label=_("A licence expires on or before"),
        distinct=True,
    )

    class Meta:
        model = Supplier
        fields = ["manufacturer", "repairs_under_agreement"]


class SupplierLicenceFilter(CatalogFilterSet):
    supplier = django_filters.ModelChoiceFilter(queryset=_visible(suppliers_visible_to))
    expiry = django_filters.ChoiceFilter(
        choices=EXPIRY_CHOICES, method="filter_expiry", label=_("Validity")
    )
    valid_until_before = DateOnOrBeforeFilter(
        field_name="valid_until", label=_("Valid until (on or before)")
    )

    class Meta:
        model = SupplierLicence
        fields = ["supplier", "kind"]

    def filter_expiry(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return filter_by_expiry(queryset, "valid_until", value)


class ProductLineFilter(CatalogFilterSet):
    class Meta:
        model = ProductLine
        fields = ["category"]


class DeviceModelFilter(CatalogFilterSet):
    manufacturer = django_filters.ModelChoiceFilter(queryset=_visible(manufacturers_visible_to))
    product_line = django_filters.ModelChoiceFilter(queryset=_visible(product_lines_visible_to))
    registration = django_filters.ChoiceFilter(
        choices=EXPIRY_CHOICES, method="filter_registration", label=_("Certificate validity")
    )
    registration_valid_until_before = DateOnOrBeforeFilter(
        field_name="registration_valid_until", label=_("Certificate valid until (on or before)")
    )

    class Meta:
        model = DeviceModel
        fields = [
            "risk_class",
            "product_type",
            "manufacturer",
            "product_line",
            "life_support",
            "implantable",
            "tracking",
        ]

    def filter_registration(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return filter_by_expiry(queryset, "registration_valid_until", value)


class FaultCodeFilter(CatalogFilterSet):
    product_line = django_filters.ModelChoiceFilter(queryset=_visible(product_lines_visible_to))
    parent = django_filters.ModelChoiceFilter(queryset=_visible(fault_codes_visible_to))
    top_level = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", label=_("Top-level codes only")
    )

    class Meta:
        model = FaultCode
        fields = ["product_line", "parent"]


class AcceptanceTestItemFilter(CatalogFilterSet):
    device_model = django_filters.ModelChoiceFilter(queryset=_visible(device_models_visible_to))

    class Meta:
        model = AcceptanceTestItem
        fields = ["device_model"]
