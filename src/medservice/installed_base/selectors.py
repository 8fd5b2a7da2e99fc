"""Reads and scoping of the installed base: who sees which devices, deliveries, contracts and
holds, and the trace from a batch to every unit and delivery line that carries it.

Every list, detail, search, export and API endpoint of this app starts from one of the
`*_visible_to(user)` functions below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from medservice.customers.selectors import scope_by_organization, user_scope
from medservice.installed_base.models import Delivery, DeliveryLine, Device, Hold, ServiceContract


def devices_visible_to(user: Any) -> QuerySet[Device]:
    """Units owned by the organisations the user may see."""
    return scope_by_organization(Device.objects.all(), user)


def deliveries_visible_to(user: Any) -> QuerySet[Delivery]:
    """Deliveries to the organisations the user may see."""
    return scope_by_organization(Delivery.objects.all(), user)


def delivery_lines_visible_to(user: Any) -> QuerySet[DeliveryLine]:
    """Lines of the deliveries the user may see (a line has no owner of its own)."""
    return scope_by_organization(DeliveryLine.objects.all(), user, field="delivery__organization")


def contracts_visible_to(user: Any) -> QuerySet[ServiceContract]:
    """Service contracts of the organisations the user may see."""
    return scope_by_organization(ServiceContract.objects.all(), user)


def holds_visible_to(user: Any) -> QuerySet[Hold]:
    """Holds are the company's internal quality decisions: customers and distributors never see
    them, even when the held unit is theirs (the views also require the view permission)."""
    if user_scope(user) != "internal":
        return Hold.objects.none()
    return Hold.objects.all()


def holds_active_matching(
    *,
    device_model: Any = None,
    batch_number: str = "",
    serial_number: str = "",
    device: Device | None = None,
) -> QuerySet[Hold]:
    """Active holds that cover what is described: the batch of a model, the serial of a model,
    or one device (which is also covered by holds on its own batch and serial).

    One indexed query; `services.hold_active_for` is the one public question built on it."""
    if device is not None:
        device_model = device_model or device.device_model_id
        batch_number = batch_number or device.batch_number
        serial_number = serial_number or device.serial_number
    model_id = getattr(device_model, "pk", device_model)
    condition = Q(pk__in=[])
    if model_id is not None and batch_number:
        condition |= Q(scope="batch", device_model_id=model_id, batch_number=batch_number)
    if model_id is not None and serial_number:
        condition |= Q(scope="serial", device_model_id=model_id, serial_number=serial_number)
        # A device hold placed on the unit that carries this serial holds the serial too.
        condition |= Q(
            scope="device", device__device_model_id=model_id, device__serial_number=serial_number
        )
    if device is not None and device.pk is not None:
        condition |= Q(scope="device", device_id=device.pk)
    return Hold.objects.filter(condition, released_at__isnull=True).order_by("placed_at", "pk")


@dataclass(frozen=True)
class Trace:
    """Everything that carries one batch (or serial) of one model, with its owner."""

    devices: list[Device]
    delivery_lines: list[DeliveryLine]
    holds: list[Hold]


def trace_batch(
    device_model: Any, batch_number: str = "", *, serial_number: str = "", user: Any = None
) -> Trace:
    """All units and delivery lines of `device_model` with this batch (or serial), in three
    queries whatever their number, each on the (device_model, batch_number) or serial index.

    With `user`, only what that user may see; without, everything (quality staff's recall
    work runs as internal users anyway)."""
    model_id = getattr(device_model, "pk", device_model)
    if not batch_number and not serial_number:
        return Trace([], [], [])
    devices = Device.objects.all() if user is None else devices_visible_to(user)
    lines = DeliveryLine.objects.all() if user is None else delivery_lines_visible_to(user)
    if user is not None and not user.has_perm("installed_base.view_deliveryline"):
        lines = lines.none()  # the role may see units, not sales records
    identity: dict[str, Any] = {"device_model_id": model_id}
    if batch_number:
        identity["batch_number"] = batch_number
    if serial_number:
        identity["serial_number"] = serial_number
    found_devices = list(
        devices.filter(**identity)
        .select_related("organization", "department", "device_model", "delivery_line__delivery")
        .order_by("serial_number", "pk")
    )
    found_lines = list(
        lines.filter(**identity)
        .select_related("delivery__organization", "device_model", "supplier")
        .order_by("delivery__delivered_on", "pk")
    )
    holds: list[Hold] = []
    if user is None or (
        user_scope(user) == "internal" and user.has_perm("installed_base.view_hold")
    ):
        holds = list(
            holds_active_matching(
                device_model=model_id, batch_number=batch_number, serial_number=serial_number
            )
        )
    return Trace(found_devices, found_lines, holds)


def contracts_of_device(device: Device, *, on: Any = None) -> QuerySet[ServiceContract]:
    """The device's contracts, or only those in force on `on`."""
    contracts = ServiceContract.objects.filter(devices=device)
    if on is not None:
        contracts = contracts.filter(starts_on__lte=on, ends_on__gte=on)
    return contracts.order_by("-ends_on", "pk")


@dataclass(frozen=True)
class UdiMatch:
    """What a scanned UDI names: its parsed parts, the catalogue model and the units it finds."""

    udi: Any
    device_model: Any
    devices: list[Device]


def udi_lookup(user: Any, code: str) -> UdiMatch:
    """Parse a scanned UDI (raises InvalidInputError) and find the model and the units it names
    within the user's scope: the unit by serial, or the units of the batch."""
    from medservice.catalog.selectors import device_model_by_udi_di
    from medservice.catalog.udi import udi_parse

    udi = udi_parse(code)
    model = device_model_by_udi_di(user, udi.udi_di)
    devices: list[Device] = []
    if model is not None and (udi.serial_number or udi.batch_number):
        found = devices_visible_to(user).filter(device_model=model).select_related("organization")
        if udi.serial_number:
            found = found.filter(serial_number=udi.serial_number)
        else:
            found = found.filter(batch_number=udi.batch_number)
        devices = list(found.order_by("pk")[:200])
    return UdiMatch(udi=udi, device_model=model, devices=devices)


def devices_matching(user: Any, text: str) -> QuerySet[Device]:
    """The visible devices whose serial, batch, asset number or UDI-PI starts with `text` (or
    whose owner's name contains it), for pickers: at most a page, on indexed columns first."""
    from django.db.models import Q

    text = (text or "").strip()
    devices = devices_visible_to(user).select_related("device_model", "organization")
    if not text:
        return devices.order_by("-pk")
    return devices.filter(
        Q(serial_number__istartswith=text)
        | Q(batch_number__istartswith=text)
        | Q(asset_number__istartswith=text)
        | Q(udi_pi__istartswith=text)
        | Q(organization__name__icontains=text)
    ).order_by("serial_number", "pk")
