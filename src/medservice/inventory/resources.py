"""This app's records as UI and API resources (registered in core.registry): parts, stock
locations, part lots, stock (balances, read only) and the ledger (read only). Purchase orders,
requisitions, counts and instruments register theirs in views_<area>.py."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.core.registry import Related, Resource, register, related_register
from medservice.core.views import ResourceDetailView
from medservice.inventory.api.serializers import (
    LocationSerializer,
    LotSerializer,
    MovementSerializer,
    PartSerializer,
    StockSerializer,
)
from medservice.inventory.filtersets import (
    LocationFilter,
    LotFilter,
    MovementFilter,
    PartFilter,
    StockFilter,
)
from medservice.inventory.forms import LocationForm, LotForm, LotHoldForm, PartForm
from medservice.inventory.models import Part, PartLot, StockBalance, StockLocation, StockMovement
from medservice.inventory.selectors import (
    balances_visible_to,
    locations_visible_to,
    lots_visible_to,
    movements_visible_to,
    parts_visible_to,
    trace_lot,
)
from medservice.inventory.services import lot_refusal, part_create, part_update


class LotDetailView(ResourceDetailView):
    """A lot's page: why it may not be used (hold, expiry), its hold or release form, and the
    devices it went into."""

    extra_template = "inventory/lot_panel.html"

    def extra_context_for(self, obj: PartLot) -> dict[str, Any]:
        return {
            "refusal": lot_refusal(obj),
            "hold_form": LotHoldForm(),
            "trace": trace_lot(obj, self.request.user),
        }


parts = register(
    Resource(
        name="parts",
        model=Part,
        selector=parts_visible_to,
        namespace="inventory",
        list_columns=[
            "number",
            "name_zh",
            "name_en",
            "unit",
            "tracking",
            "reorder_point",
            "preferred_supplier",
            "active",
        ],
        detail_fields=[
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
            "device_model",
            "active",
            "created_at",
            "updated_at",
        ],
        export_fields=[
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
            "active",
        ],
        form_class=PartForm,
        filterset_class=PartFilter,
        serializer_class=PartSerializer,
        search_fields=["number", "name_zh", "name_en"],
        ordering_fields=["number", "name_zh", "reorder_point", "created_at"],
        default_ordering=["number"],
        select_related=["preferred_supplier"],
        create=part_create,
        update=part_update,
        delete=None,
        organization_scoped=False,
    )
)

locations = register(
    Resource(
        name="stock-locations",
        model=StockLocation,
        selector=locations_visible_to,
        namespace="inventory",
        list_columns=["code", "name", "kind", "engineer", "region", "active", "counting"],
        detail_fields=[
            "code",
            "name",
            "kind",
            "engineer",
            "region",
            "address",
            "active",
            "counting",
            "created_at",
        ],
        export_fields=["id", "code", "name", "kind", "engineer", "region", "active"],
        form_class=LocationForm,
        filterset_class=LocationFilter,
        serializer_class=LocationSerializer,
        search_fields=["code", "name"],
        ordering_fields=["code", "name", "kind"],
        default_ordering=["code"],
        select_related=["engineer"],
        delete=None,
        organization_scoped=False,
    )
)

lots = register(
    Resource(
        name="part-lots",
        model=PartLot,
        selector=lots_visible_to,
        namespace="inventory",
        list_columns=[
            "part",
            "lot_number",
            "serial_number",
            "expiry_date",
            "supplier",
            "on_hold",
        ],
        detail_fields=[
            "part",
            "lot_number",
            "serial_number",
            "production_date",
            "expiry_date",
            "supplier",
            "on_hold",
            "hold_reason",
            "hold_source",
            "created_at",
        ],
        export_fields=[
            "id",
            "part",
            "lot_number",
            "serial_number",
            "production_date",
            "expiry_date",
            "supplier",
            "on_hold",
        ],
        form_class=LotForm,
        filterset_class=LotFilter,
        serializer_class=LotSerializer,
        search_fields=["lot_number", "serial_number"],
        ordering_fields=["expiry_date", "lot_number", "created_at"],
        default_ordering=["-id"],
        select_related=["part", "supplier"],
        create=None,
        delete=None,
        organization_scoped=False,
        detail_view=LotDetailView,
    )
)

stock = register(
    Resource(
        name="stock",
        model=StockBalance,
        selector=balances_visible_to,
        namespace="inventory",
        list_columns=["location", "part", "lot", "condition", "quantity", "updated_at"],
        detail_fields=["location", "part", "lot", "condition", "quantity", "updated_at"],
        export_fields=["id", "location", "part", "lot", "condition", "quantity", "updated_at"],
        filterset_class=StockFilter,
        serializer_class=StockSerializer,
        ordering_fields=["quantity", "updated_at"],
        default_ordering=["location_id", "part_id", "id"],
        select_related=["location", "part", "lot__part"],
        create=None,
        update=None,
        delete=None,
        organization_scoped=False,
    )
)

movements = register(
    Resource(
        name="stock-movements",
        model=StockMovement,
        selector=movements_visible_to,
        namespace="inventory",
        list_columns=[
            "occurred_at",
            "kind",
            "part",
            "lot",
            "quantity",
            "source",
            "destination",
            "reference",
            "device",
            "recorded_by",
        ],
        detail_fields=[
            "occurred_at",
            "kind",
            "part",
            "lot",
            "quantity",
            "source",
            "source_condition",
            "destination",
            "destination_condition",
            "unit_cost",
            "reference",
            "reason",
            "device",
            "recorded_by",
            "approved_by",
        ],
        export_fields=[
            "id",
            "occurred_at",
            "kind",
            "part",
            "lot",
            "quantity",
            "source",
            "destination",
            "unit_cost",
            "reference",
            "reason",
            "device",
            "recorded_by",
            "approved_by",
        ],
        filterset_class=MovementFilter,
        serializer_class=MovementSerializer,
        search_fields=["reference"],
        ordering_fields=["occurred_at"],
        default_ordering=["-occurred_at", "-id"],
        select_related=[
            "part",
            "lot__part",
            "source",
            "destination",
            "device__device_model",
            "recorded_by",
        ],
        create=None,
        update=None,
        delete=None,
        organization_scoped=False,
    )
)


def _stock_of_part(part: Part, user: Any) -> QuerySet[StockBalance]:
    return (
        balances_visible_to(user)
        .filter(part=part, quantity__gt=0)
        .select_related("location", "lot")
        .order_by("location__code", "lot__expiry_date", "pk")
    )


def _stock_at(location: StockLocation, user: Any) -> QuerySet[StockBalance]:
    return (
        balances_visible_to(user)
        .filter(location=location, quantity__gt=0)
        .select_related("part", "lot")
        .order_by("part__number", "lot__expiry_date", "pk")
    )


def _movements_of_lot(lot: PartLot, user: Any) -> QuerySet[StockMovement]:
    return (
        movements_visible_to(user)
        .filter(lot=lot)
        .select_related("source", "destination", "device")
        .order_by("-occurred_at", "-pk")
    )


def _stock_of_lot(lot: PartLot, user: Any) -> QuerySet[StockBalance]:
    return balances_visible_to(user).filter(lot=lot, quantity__gt=0).select_related("location")


parts.related += [
    Related(_("Stock"), _stock_of_part, ["location", "lot", "condition", "quantity"]),
    Related(
        _("Lots"),
        lambda part, user: lots_visible_to(user).filter(part=part).order_by("expiry_date", "pk"),
        ["lot_number", "serial_number", "expiry_date", "on_hold"],
        "inventory:part-lots-detail",
    ),
]
locations.related.append(Related(_("Stock"), _stock_at, ["part", "lot", "condition", "quantity"]))
lots.related += [
    Related(_("Stock"), _stock_of_lot, ["location", "condition", "quantity"]),
    Related(
        _("Movements"),
        _movements_of_lot,
        ["occurred_at", "kind", "quantity", "source", "destination", "device", "reference"],
        "inventory:stock-movements-detail",
    ),
]


def _parts_of_device(device: Any, user: Any) -> QuerySet[StockMovement]:
    return (
        movements_visible_to(user)
        .filter(device=device)
        .select_related("part", "lot")
        .order_by("-occurred_at", "-pk")
    )


related_register(
    "devices",
    Related(
        _("Parts fitted and removed"),
        _parts_of_device,
        ["occurred_at", "kind", "part", "lot", "quantity", "reference"],
        "inventory:stock-movements-detail",
    ),
)
