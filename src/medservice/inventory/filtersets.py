"""List filters of parts, locations, lots, stock and the ledger, on indexed columns."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.catalog.selectors import device_models_visible_to, suppliers_visible_to
from medservice.inventory.choices import (
    Condition,
    LocationKind,
    MovementKind,
    PartTracking,
)
from medservice.inventory.forms import lot_autocomplete, part_autocomplete
from medservice.inventory.models import Part, PartLot, StockBalance, StockLocation, StockMovement
from medservice.inventory.selectors import (
    locations_visible_to,
    lots_visible_to,
    parts_visible_to,
)


def _visible(selector: Any) -> Any:
    def queryset(request: Any) -> QuerySet:
        return selector(getattr(request, "user", None))

    return queryset


class PartFilter(django_filters.FilterSet):
    tracking = django_filters.ChoiceFilter(label=_("Tracking"), choices=PartTracking.choices)
    preferred_supplier = django_filters.ModelChoiceFilter(
        label=_("Preferred supplier"), queryset=_visible(suppliers_visible_to)
    )
    compatible_models = django_filters.ModelChoiceFilter(
        label=_("Fits device model"), queryset=_visible(device_models_visible_to)
    )
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Part
        fields = ["tracking", "preferred_supplier", "compatible_models", "active"]


class LocationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=LocationKind.choices)
    active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = StockLocation
        fields = ["kind", "active"]


class LotFilter(django_filters.FilterSet):
    part = django_filters.ModelChoiceFilter(
        label=_("Part"), queryset=_visible(parts_visible_to), widget=part_autocomplete()
    )
    on_hold = django_filters.BooleanFilter(label=_("On hold"))
    expires_before = django_filters.DateFilter(
        label=_("Expires before"), field_name="expiry_date", lookup_expr="lt"
    )

    class Meta:
        model = PartLot
        fields = ["part", "on_hold", "expires_before"]


class StockFilter(django_filters.FilterSet):
    location = django_filters.ModelChoiceFilter(
        label=_("Location"), queryset=_visible(locations_visible_to)
    )
    part = django_filters.ModelChoiceFilter(
        label=_("Part"), queryset=_visible(parts_visible_to), widget=part_autocomplete()
    )
    lot = django_filters.ModelChoiceFilter(
        label=_("Lot"), queryset=_visible(lots_visible_to), widget=lot_autocomplete()
    )
    condition = django_filters.ChoiceFilter(label=_("Condition"), choices=Condition.choices)
    location_kind = django_filters.ChoiceFilter(
        label=_("Location kind"), field_name="location__kind", choices=LocationKind.choices
    )

    class Meta:
        model = StockBalance
        fields = ["location", "part", "lot", "condition", "location_kind"]


class MovementFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=MovementKind.choices)
    part = django_filters.ModelChoiceFilter(
        label=_("Part"), queryset=_visible(parts_visible_to), widget=part_autocomplete()
    )
    lot = django_filters.ModelChoiceFilter(
        label=_("Lot"), queryset=_visible(lots_visible_to), widget=lot_autocomplete()
    )
    location = django_filters.ModelChoiceFilter(
        label=_("Location (from or to)"),
        queryset=_visible(locations_visible_to),
        method="filter_location",
    )
    device = django_filters.NumberFilter(label=_("Device"), field_name="device_id")
    reference = django_filters.CharFilter(label=_("Reference"))
    occurred_after = django_filters.IsoDateTimeFilter(
        label=_("From"), field_name="occurred_at", lookup_expr="gte"
    )
    occurred_before = django_filters.IsoDateTimeFilter(
        label=_("Until"), field_name="occurred_at", lookup_expr="lt"
    )

    class Meta:
        model = StockMovement
        fields = ["kind", "part", "lot", "location", "device", "reference"]

    def filter_location(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if value is None:
            return queryset
        from django.db.models import Q

        return queryset.filter(Q(source=value) | Q(destination=value))
