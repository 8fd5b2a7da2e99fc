"""Trace (追溯): every device and delivery line of exactly one model and batch (or serial range,
or UDI), with the owner organisation, department, contact, quantity and delivery date — and the
part-lot trace from the stock ledger (which devices and work orders a part lot went into).

The trace runs in a fixed number of queries whatever the batch size (devices, delivery lines,
contacts, holds); recalls build their affected list from it at decision time.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Length
from django.utils.translation import gettext as _

from medservice.core.errors import InvalidInputError, Problems
from medservice.core.exports import field_value
from medservice.customers.models import Contact
from medservice.installed_base.models import DeliveryLine, Device, Hold

MAX_SERIAL_LENGTH = 50


@dataclass(frozen=True)
class TraceScope:
    """What is traced: one model with a batch, an inclusive serial range, or both (a UDI names
    one of them). Serial ranges compare serials of the bounds' length in character order, so
    KM-0009 … KM-0120 means what it says (KM-010 is not inside it)."""

    device_model: Any
    batch_number: str = ""
    serial_from: str = ""
    serial_to: str = ""
    udi: str = ""

    def device_filter(self, prefix: str = "") -> Q:
        condition = Q(**{f"{prefix}device_model_id": self.device_model.pk})
        if self.batch_number:
            condition &= Q(**{f"{prefix}batch_number": self.batch_number})
        if self.serial_from:
            condition &= Q(
                **{
                    f"{prefix}serial_number__gte": self.serial_from,
                    f"{prefix}serial_number__lte": self.serial_to,
                }
            )
        return condition

    @property
    def by_serial(self) -> bool:
        return bool(self.serial_from)


@dataclass
class Recipient:
    """One organisation the trace reaches: its contact, what it received and holds."""

    organization: Any
    contact: Any
    quantity_delivered: int = 0
    devices: list[Device] = field(default_factory=list)
    delivery_lines: list[DeliveryLine] = field(default_factory=list)
    last_delivered_on: datetime.date | None = None


@dataclass
class TraceResult:
    scope: TraceScope
    devices: list[Device]
    delivery_lines: list[DeliveryLine]
    holds: list[Hold]
    contacts: dict[int, Contact]
    recipients: list[Recipient]

    @property
    def quantity_delivered(self) -> int:
        return sum(recipient.quantity_delivered for recipient in self.recipients)


def trace_scope(
    *,
    device_model: Any = None,
    batch_number: str = "",
    serial_from: str = "",
    serial_to: str = "",
    udi: str = "",
) -> TraceScope:
    """Check a trace question and name every problem by its field: a model with a batch or a
    serial range, or a UDI (whose device identifier names the model, and whose batch or serial
    the rest)."""
    from medservice.catalog.models import DeviceModel

    batch_number = (batch_number or "").strip()
    serial_from = (serial_from or "").strip()
    serial_to = (serial_to or "").strip()
    udi = (udi or "").strip()
    problems = Problems()
    if udi:
        from medservice.catalog.udi import udi_parse

        try:
            parsed = udi_parse(udi)
        except InvalidInputError as error:
            raise InvalidInputError(error.message, fields={"udi": [error.message]}) from error
        named = DeviceModel.objects.filter(udi_di=parsed.udi_di).first()
        if named is None:
            message = _("No device model has the UDI-DI %(di)s.") % {"di": parsed.udi_di}
            raise InvalidInputError(message, fields={"udi": [message]})
        if device_model is not None and getattr(device_model, "pk", device_model) != named.pk:
            problems.add("udi", _("The UDI names %(model)s, not the chosen model.") % {
                "model": named
            })  # fmt: skip
        if not parsed.batch_number and not parsed.serial_number:
            problems.add("udi", _("The UDI carries neither a batch (10) nor a serial (21)."))
        problems.raise_if_any(_("The trace question is not complete."))
        return TraceScope(
            device_model=named,
            batch_number=parsed.batch_number,
            serial_from=parsed.serial_number,
            serial_to=parsed.serial_number,
            udi=udi,
        )
    if device_model is None:
        problems.add("device_model", _("Choose the device model."))
    elif not isinstance(device_model, DeviceModel):
        found = DeviceModel.objects.filter(pk=device_model).first()
        if found is None:
            problems.add("device_model", _("This device model does not exist."))
        device_model = found
    if bool(serial_from) != bool(serial_to):
        missing = "serial_to" if serial_from else "serial_from"
        problems.add(missing, _("Give both ends of the serial range."))
    elif serial_from:
        if len(serial_from) != len(serial_to):
            problems.add(
                "serial_to",
                _("Both ends of a serial range have the same number of characters."),
            )
        elif serial_from > serial_to:
            problems.add("serial_to", _("The range ends before it starts."))
    if not batch_number and not serial_from and not serial_to:
        problems.add("batch_number", _("Give a batch number, a serial range or a UDI."))
    problems.raise_if_any(_("The trace question is not complete."))
    return TraceScope(
        device_model=device_model,
        batch_number=batch_number,
        serial_from=serial_from,
        serial_to=serial_to,
    )


def _devices(scope: TraceScope) -> QuerySet[Device]:
    devices = Device.objects.filter(scope.device_filter())
    if scope.by_serial:
        devices = devices.annotate(serial_length=Length("serial_number")).filter(
            serial_length=len(scope.serial_from)
        )
    return devices


def _lines(scope: TraceScope, devices: QuerySet[Device]) -> QuerySet[DeliveryLine]:
    """The lines that carry the scope, and the lines that delivered any traced device (a unit
    of a serial range can have been delivered on a batch line)."""
    own = scope.device_filter()
    lines = DeliveryLine.objects.all()
    if scope.by_serial:
        lines = lines.annotate(serial_length=Length("serial_number"))
        own &= Q(serial_length=len(scope.serial_from))
    return lines.filter(own | Q(pk__in=devices.filter(delivery_line__isnull=False).values(
        "delivery_line_id"
    )))  # fmt: skip


def trace_run(scope: TraceScope) -> TraceResult:
    """Every device and delivery line of the scope with their owners, and each owner's contact,
    in four queries whatever their number (devices, lines, contacts, active holds). Quality
    records are internal: callers check the user may run a trace (`trace_allowed`)."""
    devices_query = _devices(scope)
    devices = list(
        devices_query.select_related(
            "organization", "department", "device_model", "delivery_line__delivery"
        ).order_by("organization__name", "serial_number", "pk")
    )
    lines = list(
        _lines(scope, devices_query)
        .select_related("delivery__organization", "device_model", "supplier")
        .order_by("delivery__delivered_on", "pk")
    )
    organization_ids = {device.organization_id for device in devices} | {
        line.delivery.organization_id for line in lines
    }
    contacts = contacts_for(organization_ids)
    holds = list(_holds(scope))
    return TraceResult(
        scope=scope,
        devices=devices,
        delivery_lines=lines,
        holds=holds,
        contacts=contacts,
        recipients=_recipients(devices, lines, contacts),
    )


def contacts_for(organization_ids: set[int]) -> dict[int, Contact]:
    """Whom to tell at each organisation, in one query: the first contact with an e-mail
    address, else the first contact (recorded first, so the usual one)."""
    chosen: dict[int, Contact] = {}
    if not organization_ids:
        return chosen
    rows = Contact.objects.filter(
        organization_id__in=organization_ids, anonymised_at__isnull=True
    ).order_by("organization_id", "pk")
    for contact in rows:
        current = chosen.get(contact.organization_id)
        if current is None or (not current.email and contact.email):
            chosen[contact.organization_id] = contact
    return chosen


def _holds(scope: TraceScope) -> QuerySet[Hold]:
    condition = Q(device_model_id=scope.device_model.pk, released_at__isnull=True)
    if scope.batch_number:
        condition &= Q(scope="batch", batch_number=scope.batch_number)
    else:
        condition &= Q(
            scope="serial", serial_number__gte=scope.serial_from,
            serial_number__lte=scope.serial_to,
        )  # fmt: skip
    return Hold.objects.filter(condition).order_by("placed_at", "pk")


def _recipients(
    devices: list[Device], lines: list[DeliveryLine], contacts: dict[int, Contact]
) -> list[Recipient]:
    """Per organisation: the lines delivered to it (their quantities) and its devices; a device
    that came on none of the traced lines (an installed base recorded before deliveries were)
    counts as one unit delivered."""
    by_organization: dict[int, Recipient] = {}

    def recipient_of(organization: Any) -> Recipient:
        found = by_organization.get(organization.pk)
        if found is None:
            found = Recipient(organization=organization, contact=contacts.get(organization.pk))
            by_organization[organization.pk] = found
        return found

    line_ids = set()
    for line in lines:
        recipient = recipient_of(line.delivery.organization)
        recipient.delivery_lines.append(line)
        recipient.quantity_delivered += line.quantity
        line_ids.add(line.pk)
        day = line.delivery.delivered_on
        if recipient.last_delivered_on is None or day > recipient.last_delivered_on:
            recipient.last_delivered_on = day
    for device in devices:
        recipient = recipient_of(device.organization)
        recipient.devices.append(device)
        if device.delivery_line_id not in line_ids:
            recipient.quantity_delivered += 1
    return sorted(
        by_organization.values(), key=lambda item: (item.organization.name, item.organization.pk)
    )


# --- Part lots ------------------------------------------------------------------------------------


def trace_part_lot(lot: Any, user: Any) -> list[Any]:
    """Which devices (and through the movement's reference, which work orders) a part lot went
    into or came out of, with the devices' owners: the inventory's own trace."""
    from medservice.inventory.selectors import trace_lot

    return trace_lot(lot, user)


def part_lots_matching(user: Any, text: str) -> QuerySet[Any]:
    """Part lots whose lot or serial number is `text` (for the trace form)."""
    from medservice.inventory.selectors import lots_visible_to

    text = (text or "").strip()
    return (
        lots_visible_to(user)
        .filter(Q(lot_number=text) | Q(serial_number=text))
        .select_related("part")
        .order_by("part__number", "pk")
    )


# --- Export ---------------------------------------------------------------------------------------


def trace_export_headers() -> list[str]:
    return [
        _("Record"), _("Organisation"), _("Department"), _("Contact"), _("Contact phone"),
        _("Device model"), _("Batch number"), _("Serial number"), _("Quantity"),
        _("Delivered on"), _("Delivery number"), _("Device status"),
    ]  # fmt: skip


def trace_export_rows(result: TraceResult, *, may_unmask: bool = False) -> Iterator[list[Any]]:
    """One row per device, then one per delivery line: what a recall team works from."""
    for device in result.devices:
        contact = result.contacts.get(device.organization_id)
        line = device.delivery_line
        yield [
            _("Device"),
            device.organization.name,
            device.department.name if device.department_id else "",
            contact.name if contact else "",
            _phone(contact, may_unmask),
            str(device.device_model),
            device.batch_number,
            device.serial_number,
            1,
            line.delivery.delivered_on.isoformat() if line is not None else "",
            line.delivery.number if line is not None else "",
            field_value(device, "status"),
        ]
    for line in result.delivery_lines:
        organization = line.delivery.organization
        contact = result.contacts.get(organization.pk)
        yield [
            _("Delivery line"),
            organization.name,
            "",
            contact.name if contact else "",
            _phone(contact, may_unmask),
            str(line.device_model),
            line.batch_number,
            line.serial_number,
            line.quantity,
            line.delivery.delivered_on.isoformat(),
            line.delivery.number,
            "",
        ]


def _phone(contact: Contact | None, may_unmask: bool) -> str:
    if contact is None:
        return ""
    if may_unmask:
        return contact.mobile or contact.phone or ""
    return contact.mobile_masked or contact.phone_masked
