"""List filters (UI and API alike), on indexed columns. Organisation choices are limited to what
the user may see, so a filter never lists another customer's name, and are searched through the
autocomplete rather than rendered whole (20,000 of them made a 1 MB page)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.customers.filtersets import scope_customer_filters
from medservice.installed_base.models import Delivery, Device, Hold, ServiceContract


class ScopedFilterSet(django_filters.FilterSet):
    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)
        scope_customer_filters(self.filters, getattr(request, "user", None))
        for item in self.filters.values():
            widget = item.field.widget
            if isinstance(widget, django_filters.widgets.RangeWidget):
                for inner in widget.widgets:
                    inner.attrs.setdefault("class", "form-control form-control-sm")
                    inner.input_type = "date"
            else:
                if isinstance(widget, forms.DateInput):
                    widget.input_type = "date"
                css = "form-control" if widget.input_type in ("text", "date") else "form-select"
                widget.attrs.setdefault("class", f"{css} {css}-sm")


class DeviceFilter(ScopedFilterSet):
    """Also the warranty register: filter by warranty end, sort by it (?sort=warranty_ends_on)."""

    batch_number = django_filters.CharFilter(label=_("batch number"))
    serial_number = django_filters.CharFilter(label=_("serial number"))
    warranty_ends_on = django_filters.DateFromToRangeFilter(label=_("warranty ends between"))
    under_warranty = django_filters.BooleanFilter(
        method="filter_under_warranty", label=_("under warranty today")
    )

    class Meta:
        model = Device
        fields = ["device_model", "organization", "status", "batch_number", "serial_number"]

    def filter_under_warranty(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        today = timezone.localdate()
        if value:
            return queryset.filter(warranty_ends_on__gte=today)
        return queryset.exclude(warranty_ends_on__gte=today)


class DeliveryFilter(ScopedFilterSet):
    delivered_on = django_filters.DateFromToRangeFilter(label=_("delivered between"))
    invoice_number = django_filters.CharFilter(label=_("invoice number"))

    class Meta:
        model = Delivery
        fields = ["organization", "delivered_on", "invoice_number"]


class ContractFilter(ScopedFilterSet):
    ends_on = django_filters.DateFromToRangeFilter(label=_("ends between"))
    active_on = django_filters.DateFilter(method="filter_active_on", label=_("in force on"))
    serial_number = django_filters.CharFilter(
        method="filter_serial_number", label=_("covers serial number")
    )

    class Meta:
        model = ServiceContract
        fields = ["kind", "organization", "sla_tier", "ends_on"]

    def filter_serial_number(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(devices__serial_number=value).distinct()

    def filter_active_on(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(starts_on__lte=value, ends_on__gte=value)


class HoldFilter(ScopedFilterSet):
    active = django_filters.BooleanFilter(
        field_name="released_at", lookup_expr="isnull", label=_("active")
    )
    batch_number = django_filters.CharFilter(label=_("batch number"))
    serial_number = django_filters.CharFilter(label=_("serial number"))

    class Meta:
        model = Hold
        fields = ["scope", "kind", "device_model", "batch_number", "serial_number", "active"]
