"""Reads and scoping of spare parts: who sees which parts, locations, stock, movements, orders,
requisitions, counts and instruments; stock alerts; and the trace between part lots and devices.

Inventory is the company's own: internal staff see all of it (their permissions decide what
they may do); a distributor's engineer sees the stock held in their own name and what moved in
or out of it; customers see none of it. Every list, detail, export and API endpoint of this app
starts from one of the `*_visible_to(user)` functions below.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from medservice.customers.selectors import user_scope
from medservice.inventory.choices import (
    OPEN_PURCHASE_ORDER_STATUSES,
    USABLE_LOCATION_KINDS,
    WAREHOUSE_KINDS,
    Condition,
    MovementKind,
)
from medservice.inventory.models import (
    Instrument,
    Part,
    PartLot,
    PurchaseOrder,
    PurchaseOrderLine,
    Requisition,
    StockBalance,
    StockCount,
    StockLocation,
    StockMovement,
)


def parts_visible_to(user: Any) -> QuerySet[Part]:
    """The parts catalogue: every internal user and distributor engineer may read it."""
    if user_scope(user) in {"internal", "distributor"}:
        return Part.objects.all()
    return Part.objects.none()


def parts_matching(user: Any, text: str) -> QuerySet[Part]:
    """Active visible parts whose number starts with `text` or whose name contains it: what a
    person picking a part types (numbers first)."""
    queryset = parts_visible_to(user).filter(active=True)
    text = text.strip()
    if text:
        queryset = queryset.filter(
            Q(number__istartswith=text) | Q(name_zh__icontains=text) | Q(name_en__icontains=text)
        )
    return queryset.order_by("number", "pk")


def lots_matching(user: Any, text: str, *, part_id: int | None = None) -> QuerySet[PartLot]:
    """Visible lots and serial units whose number starts with `text`, of one part if given."""
    queryset = lots_visible_to(user).select_related("part")
    if part_id is not None:
        queryset = queryset.filter(part_id=part_id)
    text = text.strip()
    if text:
        queryset = queryset.filter(
            Q(lot_number__istartswith=text) | Q(serial_number__istartswith=text)
        )
    return queryset.order_by("part__number", "expiry_date", "pk")


def locations_visible_to(user: Any) -> QuerySet[StockLocation]:
    scope = user_scope(user)
    if scope == "internal":
        return StockLocation.objects.all()
    if scope == "distributor":
        # Their own stock, and the warehouses they may request parts from.
        return StockLocation.objects.filter(
            Q(engineer=user) | Q(active=True, kind__in=WAREHOUSE_KINDS)
        )
    return StockLocation.objects.none()


def balances_visible_to(user: Any) -> QuerySet[StockBalance]:
    scope = user_scope(user)
    if scope == "internal":
        return StockBalance.objects.all()
    if scope == "distributor":
        return StockBalance.objects.filter(location__engineer=user)
    return StockBalance.objects.none()


def movements_visible_to(user: Any) -> QuerySet[StockMovement]:
    scope = user_scope(user)
    if scope == "internal":
        return StockMovement.objects.all()
    if scope == "distributor":
        return StockMovement.objects.filter(
            Q(source__engineer=user) | Q(destination__engineer=user)
        )
    return StockMovement.objects.none()


def lots_visible_to(user: Any) -> QuerySet[PartLot]:
    scope = user_scope(user)
    if scope == "internal":
        return PartLot.objects.all()
    if scope == "distributor":
        held = StockBalance.objects.filter(lot=OuterRef("pk"), location__engineer=user)
        return PartLot.objects.filter(Exists(held))
    return PartLot.objects.none()


def purchase_orders_visible_to(user: Any) -> QuerySet[PurchaseOrder]:
    """Purchasing is internal: nobody outside the company sees the orders."""
    if user_scope(user) == "internal":
        return PurchaseOrder.objects.all()
    return PurchaseOrder.objects.none()


def requisitions_visible_to(user: Any) -> QuerySet[Requisition]:
    scope = user_scope(user)
    if scope == "internal":
        return Requisition.objects.all()
    if scope == "distributor":
        return Requisition.objects.filter(requester=user)
    return Requisition.objects.none()


def counts_visible_to(user: Any) -> QuerySet[StockCount]:
    if user_scope(user) == "internal":
        return StockCount.objects.all()
    return StockCount.objects.none()


def instruments_visible_to(user: Any) -> QuerySet[Instrument]:
    scope = user_scope(user)
    if scope == "internal":
        return Instrument.objects.all()
    if scope == "distributor":
        return Instrument.objects.filter(holder=user)
    return Instrument.objects.none()


# --- Alerts ----------------------------------------------------------------------------------

_QUANTITY = DecimalField(max_digits=14, decimal_places=3)


def parts_with_stock_position() -> QuerySet[Part]:
    """Parts annotated with good stock in usable locations (`usable`) and what is still to
    come on open purchase orders (`on_order`): two correlated sums, one query."""
    usable = (
        StockBalance.objects.filter(
            part=OuterRef("pk"),
            condition=Condition.GOOD,
            location__kind__in=USABLE_LOCATION_KINDS,
        )
        .values("part")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    on_order = (
        PurchaseOrderLine.objects.filter(
            part=OuterRef("pk"), order__status__in=OPEN_PURCHASE_ORDER_STATUSES
        )
        .values("part")
        .annotate(total=Sum(F("quantity") - F("quantity_received")))
        .values("total")
    )
    zero = Value(Decimal(0), output_field=_QUANTITY)
    return Part.objects.annotate(
        usable=Coalesce(Subquery(usable, output_field=_QUANTITY), zero),
        on_order=Coalesce(Subquery(on_order, output_field=_QUANTITY), zero),
    )


def parts_below_reorder_point() -> QuerySet[Part]:
    """Active parts whose usable stock plus what is on order is below their reorder point."""
    return (
        parts_with_stock_position()
        .filter(active=True, reorder_point__gt=0)
        .filter(usable__lt=F("reorder_point") - F("on_order"))
        .order_by("number")
    )


def lots_expiring(*, within_days: int, on: datetime.date | None = None) -> QuerySet[PartLot]:
    """Lots with stock on hand that expire within the window (not yet expired)."""
    day = on or timezone.localdate()
    in_stock = StockBalance.objects.filter(lot=OuterRef("pk"), quantity__gt=0)
    return (
        PartLot.objects.filter(
            expiry_date__gte=day, expiry_date__lte=day + datetime.timedelta(days=within_days)
        )
        .filter(Exists(in_stock))
        .select_related("part")
        .order_by("expiry_date", "pk")
    )


def lots_expired(*, on: datetime.date | None = None) -> QuerySet[PartLot]:
    """Expired lots still in stock: locked (never issued or fitted) until scrapped or returned."""
    day = on or timezone.localdate()
    in_stock = StockBalance.objects.filter(lot=OuterRef("pk"), quantity__gt=0)
    return (
        PartLot.objects.filter(expiry_date__lt=day)
        .filter(Exists(in_stock))
        .select_related("part")
        .order_by("expiry_date", "pk")
    )


def instruments_calibration_due(
    *, within_days: int, on: datetime.date | None = None
) -> QuerySet[Instrument]:
    """Instruments in use whose calibration falls due within the window or is overdue."""
    day = on or timezone.localdate()
    return (
        Instrument.objects.exclude(status="retired")
        .filter(calibration_due_on__lte=day + datetime.timedelta(days=within_days))
        .order_by("calibration_due_on", "pk")
    )


# --- Trace -----------------------------------------------------------------------------------


@dataclass
class Fitting:
    """A part that went into, or came out of, a device."""

    movement_id: int
    occurred_at: datetime.datetime
    kind: str
    part_id: int
    part_number: str
    part_name: str
    lot_id: int | None
    lot_number: str
    serial_number: str
    quantity: Decimal
    device_id: int
    device_serial: str
    device_model: str
    organization_id: int
    organization: str
    reference: str


_FITTING_KINDS = (MovementKind.CONSUMPTION, MovementKind.REMOVAL)


def _fittings(movements: QuerySet[StockMovement]) -> list[Fitting]:
    rows = movements.filter(kind__in=_FITTING_KINDS, device__isnull=False).values_list(
        "pk",
        "occurred_at",
        "kind",
        "part_id",
        "part__number",
        "part__name_zh",
        "lot_id",
        "lot__lot_number",
        "lot__serial_number",
        "quantity",
        "device_id",
        "device__serial_number",
        "device__device_model__name",
        "device__organization_id",
        "device__organization__name",
        "reference",
    )
    fittings = []
    for row in rows.order_by("-occurred_at", "-pk"):
        values = list(row)
        # A part tracked by quantity only has no lot: its numbers read as blank.
        values[7], values[8] = values[7] or "", values[8] or ""
        fittings.append(Fitting(*values))
    return fittings


def trace_lot(lot: PartLot, user: Any) -> list[Fitting]:
    """Every device the part lot (or serial unit) went into or came out of, with its owner.
    One query on the (lot, device) index."""
    return _fittings(movements_visible_to(user).filter(lot=lot))


def trace_device(device: Any, user: Any) -> list[Fitting]:
    """Every part fitted into or removed from the device, newest first."""
    return _fittings(movements_visible_to(user).filter(device=device))
