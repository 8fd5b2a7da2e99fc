"""Every write to the installed base, and the questions other apps ask of it.

- `hold_active_for` is THE answer to "is this batch / serial / unit on hold?" that deliveries,
  inventory, returns and repairs consult before acting.
- `delivery_create` records a sale (Regulation 739 art. 45) and creates the units it ships.
- `warranty_end` / `coverage` decide what a unit is entitled to on a given day.

Services are keyword-only, atomic and audited (`audit_context(actor=...)`); they validate
completely and raise one `InvalidInputError` naming every bad field, so nothing is half saved.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from medservice.catalog.choices import Tracking
from medservice.catalog.services import device_model_may_supply, supplier_may_supply
from medservice.core.context import audit_context
from medservice.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    InvalidTransitionError,
)
from medservice.core.errors import Problems as _Problems
from medservice.core.numbering import number_next
from medservice.core.services import record_update
from medservice.installed_base.choices import (
    ContractKind,
    CostCategory,
    DeviceStatus,
    Exclusion,
    HoldKind,
    HoldScope,
)
from medservice.installed_base.models import Delivery, DeliveryLine, Device, Hold, ServiceContract
from medservice.installed_base.selectors import contracts_of_device, holds_active_matching

DELIVERY_NUMBER_PREFIX = "DL"
CONTRACT_NUMBER_PREFIX = "SC"


class HeldError(DomainError):
    """The record is under a hold that forbids this action (e.g. an evidence hold)."""

    code = "on_hold"
    status = 409


def _day(value: datetime.date | None) -> str:
    return date_format(value, "Y-m-d") if value else ""


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


# --- Holds ------------------------------------------------------------------------------------


def hold_active_for(
    *,
    device_model: Any = None,
    batch_number: str = "",
    serial_number: str = "",
    device: Device | None = None,
) -> Hold | None:
    """The active hold on what is described, or None. The one question every app asks before
    delivering, issuing, returning or repairing something.

    A batch hold covers the model's batch; a serial hold the model's serial; a device hold the
    unit (and the unit's serial). A unit is also covered by holds on its own batch and serial.
    The oldest active hold answers (its reason is what the user is told)."""
    return holds_active_matching(
        device_model=device_model,
        batch_number=batch_number,
        serial_number=serial_number,
        device=device,
    ).first()


def evidence_hold_for(device: Device) -> Hold | None:
    """The evidence hold (证据保全, EU MDR art. 89) that forbids altering this unit, if any."""
    return (
        holds_active_matching(device=device)
        .filter(kind=HoldKind.EVIDENCE)
        .select_related("device_model")
        .first()
    )


def _refuse_under_evidence_hold(device: Device) -> None:
    hold = evidence_hold_for(device)
    if hold is not None:
        raise HeldError(
            _(
                "%(device)s is under an evidence hold (%(reason)s) and may not be altered "
                "until the hold is released."
            )
            % {"device": device, "reason": hold.reason}
        )


def _require_permission(actor: Any, permission: str) -> None:
    # Jobs (actor None) act for the system; people need the permission.
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDenied


def hold_place(
    *,
    actor: Any,
    scope: str,
    kind: str = HoldKind.QUALITY_REVIEW,
    reason: str,
    device_model: Any = None,
    batch_number: str = "",
    serial_number: str = "",
    device: Device | None = None,
    source: str = "",
) -> Hold:
    """Put a batch, a serial or one unit on hold, saying why (the quality issue calls this
    from its cases with the case number as `source`)."""
    from medservice.catalog.models import DeviceModel

    _require_permission(actor, "installed_base.add_hold")
    problems = _Problems()
    reason = (reason or "").strip()
    batch_number = (batch_number or "").strip()
    serial_number = (serial_number or "").strip()
    if not reason:
        problems.add("reason", _("Say why it is put on hold."))
    if scope not in HoldScope.values:
        problems.add("scope", _("Choose batch, serial number or device."))
    if kind not in HoldKind.values:
        problems.add("kind", _("Choose a kind of hold."))
    if device_model is not None and not isinstance(device_model, DeviceModel):
        device_model = (
            DeviceModel.objects.filter(pk=device_model).first()
            if str(device_model).isdigit()
            else None
        )
        if device_model is None:
            problems.add("device_model", _("This device model does not exist."))
    if scope == HoldScope.DEVICE:
        if device is None and device_model is not None and serial_number:
            device = Device.objects.filter(
                device_model=device_model, serial_number=serial_number
            ).first()
        if device is None:
            problems.add(
                "device",
                _("Name the device: choose it, or give its model and serial number."),
            )
        else:
            # Stored for reading and tracing; matching a device hold goes by the device itself.
            device_model = device.device_model
            serial_number = device.serial_number
            batch_number = device.batch_number
    elif scope == HoldScope.BATCH:
        if device_model is None:
            problems.add("device_model", _("A batch hold needs the device model."))
        if not batch_number:
            problems.add("batch_number", _("A batch hold needs the batch number."))
        serial_number, device = "", None
    elif scope == HoldScope.SERIAL:
        if device_model is None:
            problems.add("device_model", _("A serial-number hold needs the device model."))
        if not serial_number:
            problems.add("serial_number", _("A serial-number hold needs the serial number."))
        batch_number, device = "", None
    problems.raise_if_any(_("The hold was not placed."))
    with transaction.atomic(), audit_context(actor=actor, reason=reason):
        return Hold.objects.create(
            scope=scope,
            kind=kind,
            device_model=device_model,
            batch_number=batch_number,
            serial_number=serial_number,
            device=device,
            reason=reason,
            source=(source or "").strip(),
            placed_by=actor,
            placed_at=timezone.now(),
        )


def hold_release(*, actor: Any, hold: Hold, reason: str) -> Hold:
    """Release a hold with a reason (the review's outcome); it stays on record."""
    _require_permission(actor, "installed_base.change_hold")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError(
            _("Say why the hold is released."),
            fields={"reason": [_("A reason is required to release a hold.")]},
        )
    with transaction.atomic(), audit_context(actor=actor, reason=reason, action="release"):
        current = Hold.objects.select_for_update().get(pk=hold.pk)
        # An evidence hold is the quality manager's to release (a string, not an import: the
        # quality app declares the permission).
        if (
            current.kind == HoldKind.EVIDENCE
            and actor is not None
            and not actor.has_perm("quality.release_evidence_hold")
        ):
            raise PermissionDenied
        if current.released_at is not None:
            raise InvalidTransitionError(
                _("This hold was already released on %(date)s.")
                % {"date": date_format(timezone.localtime(current.released_at), "Y-m-d H:i")}
            )
        current.released_at = timezone.now()
        current.released_by = actor
        current.release_reason = reason
        current.save()
    return current


# --- Warranty ---------------------------------------------------------------------------------


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later, clamped to the end of a shorter month (31 Jan + 1 = 28/29
    Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def warranty_start(device: Device) -> datetime.date | None:
    """Acceptance date (验收日期); failing that the installation date, then the delivery date."""
    if device.accepted_on:
        return device.accepted_on
    if device.installed_on:
        return device.installed_on
    if device.delivery_line_id:
        return device.delivery_line.delivery.delivered_on
    return None


def warranty_end(device: Device) -> datetime.date | None:
    """The last covered day: start + the model's warranty months - 1 day. None when the start
    is unknown or the model has no warranty."""
    start = warranty_start(device)
    months = device.device_model.warranty_months if device.device_model_id else 0
    if start is None or not months:
        return None
    try:
        return add_months(start, months) - datetime.timedelta(days=1)
    except (ValueError, OverflowError):  # beyond year 9999: covered as far as dates go
        return datetime.date.max


# --- Devices ----------------------------------------------------------------------------------

# Fields whose change moves the warranty start or length.
WARRANTY_INPUTS = ("accepted_on", "installed_on", "device_model_id", "delivery_line_id")


def _device_problems(
    device: Device, *, serial_holders: Mapping[tuple[int, str], Device] | None = None
) -> _Problems:
    """Every rule a unit's record must meet, for one unit (`device_create`, `device_update`)
    and for a batch (`device_create_many`, the devices import) alike. `serial_holders` maps
    (model id, serial) to the unit holding it — stored units a batch loaded in one query, and
    the batch's own new units —; without it the database is asked."""
    problems = _Problems()
    device.serial_number = (device.serial_number or "").strip()
    device.batch_number = (device.batch_number or "").strip()
    if not device.serial_number and not device.batch_number:
        message = _("Give a serial number, a batch number or both.")
        problems.add("serial_number", message)
        problems.add("batch_number", message)
    if (
        device.production_date
        and device.expiry_date
        and device.expiry_date < device.production_date
    ):
        problems.add(
            "expiry_date",
            _("The expiry date %(expiry)s is before the production date %(production)s.")
            % {"expiry": _day(device.expiry_date), "production": _day(device.production_date)},
        )
    if device.installed_on and device.accepted_on and device.accepted_on < device.installed_on:
        problems.add(
            "accepted_on",
            _("The acceptance date %(accepted)s is before the installation date %(installed)s.")
            % {"accepted": _day(device.accepted_on), "installed": _day(device.installed_on)},
        )
    if (
        device.department_id
        and device.organization_id
        and device.department.organization_id != device.organization_id
    ):
        problems.add("department", _("This department belongs to another organisation."))
    if device.serial_number and device.device_model_id:
        if serial_holders is None:
            taken = (
                Device.objects.filter(
                    device_model_id=device.device_model_id, serial_number=device.serial_number
                )
                .exclude(pk=device.pk)
                .exists()
            )
        else:
            holder = serial_holders.get((device.device_model_id, device.serial_number))
            taken = (
                holder is not None
                and holder is not device
                and (holder.pk is None or holder.pk != device.pk)
            )
        if taken:
            problems.add("serial_number", _duplicate_serial_message(device))
    return problems


def device_serial_holders(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Device]:
    """The stored units holding these (model id, serial) pairs, by pair, in one query."""
    wanted = {(model, serial) for model, serial in pairs if serial}
    if not wanted:
        return {}
    from medservice.core.imports import values_in

    units = Device.objects.filter(
        device_model_id__in={model for model, _serial in wanted},
        serial_number__in=values_in(
            Device._meta.get_field("serial_number"), {serial for _model, serial in wanted}
        ),
    )
    return {
        (unit.device_model_id, unit.serial_number): unit
        for unit in units
        if (unit.device_model_id, unit.serial_number) in wanted
    }


def _duplicate_serial_message(device: Device | DeliveryLine) -> str:
    return _("Serial number %(serial)s of %(model)s is already registered.") % {
        "serial": device.serial_number,
        "model": device.device_model,
    }


def _save_device(device: Device) -> None:
    """Save, turning the unique-serial race (two writers, one serial) into a named error."""
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError as error:
        if (
            device.serial_number
            and Device.objects.filter(
                device_model_id=device.device_model_id, serial_number=device.serial_number
            )
            .exclude(pk=device.pk)
            .exists()
        ):
            raise InvalidInputError(
                _duplicate_serial_message(device),
                fields={"serial_number": [_duplicate_serial_message(device)]},
            ) from error
        raise


def device_create(*, actor: Any, data: dict[str, Any], model: type[Device] = Device) -> Device:
    """Register a unit outside a delivery (e.g. the installed base taken over from a
    distributor); its warranty is computed from its dates."""
    data = {key: value for key, value in data.items() if key not in ("warranty_ends_on", "version")}
    with transaction.atomic(), audit_context(actor=actor):
        device = Device(**data)
        _device_problems(device).raise_if_any(_("The device was not saved."))
        device.warranty_ends_on = warranty_end(device)
        device.full_clean()
        _save_device(device)
    return device


def device_create_many(
    *,
    actor: Any,
    devices: list[Device],
    serial_holders: Mapping[tuple[int, str], Device] | None = None,
) -> list[Device]:
    """Register many new units at once (an import's new rows, unsaved `Device` records):
    each one checked by the rules of `device_create` and its warranty computed the same way,
    then all written in bulk with one audit event per unit (`audit_bulk_create`). Nothing is
    saved if any unit is refused.

    `serial_holders`: the stored units holding the serials, when the caller has loaded them in
    this transaction already (`device_serial_holders`); otherwise they are loaded here.
    full_clean() is not run: its checks are the form's cell checks (lengths, choices), the
    references the caller resolved, and the constraints `_device_problems` states."""
    from medservice.core.audit import audit_bulk_create

    units = list(devices)
    with transaction.atomic(), audit_context(actor=actor):
        holders = dict(
            serial_holders
            if serial_holders is not None
            else device_serial_holders(
                (unit.device_model_id, (unit.serial_number or "").strip()) for unit in units
            )
        )
        for unit in units:
            problems = _device_problems(unit, serial_holders=holders)
            problems.raise_if_any(_("The device %(device)s was not saved.") % {"device": unit})
            unit.warranty_ends_on = warranty_end(unit)
            if unit.serial_number:
                # A later unit of this batch with the same serial is a duplicate too.
                holders.setdefault((unit.device_model_id, unit.serial_number), unit)
        try:
            with transaction.atomic():
                audit_bulk_create(units)
        except IntegrityError as error:
            # Another writer took a serial since it was checked: name it, as _save_device does.
            taken = device_serial_holders(
                (unit.device_model_id, unit.serial_number) for unit in units
            )
            for unit in units:
                if (unit.device_model_id, unit.serial_number) in taken:
                    message = _duplicate_serial_message(unit)
                    raise InvalidInputError(message, fields={"serial_number": [message]}) from error
            raise
    return units


def device_update(
    *,
    actor: Any,
    instance: Device,
    data: dict[str, Any],
    expected_version: int | None = None,
    reason: str = "",
) -> Device:
    """Change a unit's record. Refused under an evidence hold. When a warranty input changes
    (acceptance, installation, model), the stored warranty end is recomputed in the same
    audited change."""
    data = {key: value for key, value in data.items() if key not in ("warranty_ends_on", "version")}
    with transaction.atomic(), audit_context(actor=actor, reason=reason or None):
        current = Device.objects.select_for_update().get(pk=instance.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise ConflictError(
                _(
                    "%(record)s was changed by someone else after you opened it. "
                    "Reload it, then apply your change again."
                )
                % {"record": current}
            )
        _refuse_under_evidence_hold(current)
        inputs_before = [getattr(current, name) for name in WARRANTY_INPUTS]
        owner_before = current.organization_id
        for key, value in data.items():
            setattr(current, key, value)
        problems = _device_problems(current)
        if current.organization_id != owner_before:
            # A contract covers its customer's units: the unit may change hands only once the
            # previous owner's contracts over it have ended.
            binding = (
                ServiceContract.objects.filter(devices=current, ends_on__gte=timezone.localdate())
                .exclude(organization_id=current.organization_id)
                .order_by("ends_on", "pk")
                .first()
            )
            if binding is not None:
                problems.add(
                    "organization",
                    _(
                        "The unit is covered by contract %(contract)s of its current owner "
                        "until %(end)s; end or change that contract first."
                    )
                    % {"contract": binding.number, "end": _day(binding.ends_on)},
                )
        problems.raise_if_any(_("The device was not saved."))
        if [getattr(current, name) for name in WARRANTY_INPUTS] != inputs_before:
            current.warranty_ends_on = warranty_end(current)
        current.full_clean()
        _save_device(current)
    return current


def device_accept(*, actor: Any, device: Device, accepted_on: datetime.date) -> Device:
    """Record the customer's formal acceptance (验收): the warranty restarts from that day and
    an installed unit goes into service."""
    problems = _Problems()
    if accepted_on is None:
        problems.add("accepted_on", _("Give the acceptance date."))
    elif accepted_on > timezone.localdate():
        problems.add("accepted_on", _("The acceptance date cannot be in the future."))
    with transaction.atomic(), audit_context(actor=actor, action="accept"):
        current = Device.objects.select_for_update().get(pk=device.pk)
        _refuse_under_evidence_hold(current)
        if accepted_on is not None:
            if current.installed_on and accepted_on < current.installed_on:
                problems.add(
                    "accepted_on",
                    _(
                        "The acceptance date %(accepted)s is before the installation date "
                        "%(installed)s."
                    )
                    % {"accepted": _day(accepted_on), "installed": _day(current.installed_on)},
                )
            delivered_on = (
                current.delivery_line.delivery.delivered_on if current.delivery_line_id else None
            )
            if delivered_on and accepted_on < delivered_on:
                problems.add(
                    "accepted_on",
                    _("The acceptance date %(accepted)s is before the delivery date %(delivered)s.")
                    % {"accepted": _day(accepted_on), "delivered": _day(delivered_on)},
                )
        problems.raise_if_any(_("The acceptance was not recorded."))
        current.accepted_on = accepted_on
        current.warranty_ends_on = warranty_end(current)
        if current.status in (DeviceStatus.IN_STOCK, DeviceStatus.INSTALLED):
            current.status = DeviceStatus.IN_SERVICE
        current.save()
    return current


# Statuses that move a unit into custody; anything else alters or uses it.
STATUSES_ALLOWED_UNDER_EVIDENCE_HOLD = frozenset({DeviceStatus.RETURNED, DeviceStatus.RECALLED})


def device_status_change(*, actor: Any, device: Device, status: str, reason: str = "") -> Device:
    """Move a unit to another status (repairs and returns call this). Under an evidence hold
    a unit may only be taken into custody (returned, recalled), never repaired or scrapped."""
    if status not in DeviceStatus.values:
        raise InvalidInputError(
            _("Unknown device status: %(status)s.") % {"status": status},
            fields={"status": [_("Choose a status.")]},
        )
    with transaction.atomic(), audit_context(actor=actor, reason=reason or None, action="status"):
        current = Device.objects.select_for_update().get(pk=device.pk)
        if status not in STATUSES_ALLOWED_UNDER_EVIDENCE_HOLD:
            _refuse_under_evidence_hold(current)
        if current.status != status:
            current.status = status
            current.save()
    return current


def device_delete(*, actor: Any, instance: Device, reason: str = "") -> None:
    """Delete a unit recorded by mistake: refused under an evidence hold, then the core rules
    (reason, retention, records that still point to it) apply."""
    from medservice.core.services import record_delete

    _refuse_under_evidence_hold(instance)
    record_delete(actor=actor, instance=instance, reason=reason)


# --- Deliveries -------------------------------------------------------------------------------


LINE_FIELDS = (
    "device_model",
    "supplier",
    "batch_number",
    "serial_number",
    "udi_pi",
    "quantity",
    "unit_price",
    "production_date",
    "expiry_date",
)


@dataclass
class _Line:
    number: int
    device_model: Any
    supplier: Any
    batch_number: str
    serial_number: str
    udi_pi: str
    quantity: int
    unit_price: Decimal
    production_date: datetime.date | None
    expiry_date: datetime.date | None


def _as_decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except (InvalidOperation, ValueError):
        return None


def _as_int(value: Any) -> int | None:
    try:
        return int(value if value not in (None, "") else 1)
    except (TypeError, ValueError):
        return None


def _lines_checked(
    lines: Iterable[dict[str, Any]], delivered_on: datetime.date | None, problems: _Problems
) -> list[_Line]:
    """Validate every line against every rule; problems are keyed `lines.<n>.<field>`, with
    lines counted from 1 as on the delivery note."""
    from medservice.catalog.models import DeviceModel, Supplier

    raw = [dict(line) for line in lines]
    model_ids = {_pk(line.get("device_model")) for line in raw} - {None, ""}
    supplier_ids = {_pk(line.get("supplier")) for line in raw} - {None, ""}
    models = DeviceModel.objects.in_bulk([pk for pk in model_ids if str(pk).isdigit()])
    suppliers = Supplier.objects.prefetch_related("licences").in_bulk(
        [pk for pk in supplier_ids if str(pk).isdigit()]
    )
    checked: list[_Line] = []
    for number, line in enumerate(raw, start=1):

        def add(field: str, message: str, number: int = number) -> None:
            problems.add(
                f"lines.{number}.{field}",
                _("Line %(line)s: %(problem)s") % {"line": number, "problem": message},
            )

        unknown = set(line) - set(LINE_FIELDS)
        for name in sorted(unknown):
            add(name, _("unknown field."))
        model = (
            models.get(_pk(line.get("device_model")))
            if str(_pk(line.get("device_model")) or "").isdigit()
            else None
        )
        if model is None:
            add("device_model", _("choose an existing device model."))
        supplier = None
        if line.get("supplier") not in (None, ""):
            supplier = (
                suppliers.get(_pk(line["supplier"]))
                if str(_pk(line["supplier"])).isdigit()
                else None
            )
            if supplier is None:
                add("supplier", _("choose an existing supplier."))
        quantity = _as_int(line.get("quantity"))
        price = _as_decimal(line.get("unit_price"))
        entry = _Line(
            number=number,
            device_model=model,
            supplier=supplier,
            batch_number=str(line.get("batch_number") or "").strip(),
            serial_number=str(line.get("serial_number") or "").strip(),
            udi_pi=str(line.get("udi_pi") or "").strip(),
            quantity=quantity or 0,
            unit_price=price if price is not None else Decimal(0),
            production_date=line.get("production_date") or None,
            expiry_date=line.get("expiry_date") or None,
        )
        for name, limit in (("batch_number", 50), ("serial_number", 50), ("udi_pi", 100)):
            if len(getattr(entry, name)) > limit:
                add(name, _("at most %(limit)s characters.") % {"limit": limit})
        if quantity is None or quantity < 1:
            add("quantity", _("the quantity must be a whole number of at least 1."))
        if price is None or price < 0:
            add("unit_price", _("the unit price must be a number of at least 0."))
        if not entry.batch_number and not entry.serial_number:
            field = (
                "serial_number"
                if model is not None and model.tracking == Tracking.SERIAL
                else "batch_number"
            )
            add(field, _("give a batch number, a serial number or both."))
        elif model is not None and model.tracking == Tracking.SERIAL and not entry.serial_number:
            add(
                "serial_number",
                _("%(model)s is tracked by serial number: give each unit's serial number.")
                % {"model": model},
            )
        if entry.serial_number and quantity is not None and quantity != 1:
            add("quantity", _("a line with a serial number is one unit: the quantity must be 1."))
        if (
            entry.production_date
            and entry.expiry_date
            and entry.expiry_date < entry.production_date
        ):
            add(
                "expiry_date",
                _("the expiry date %(expiry)s is before the production date %(production)s.")
                % {"expiry": _day(entry.expiry_date), "production": _day(entry.production_date)},
            )
        if delivered_on and entry.production_date and entry.production_date > delivered_on:
            add(
                "production_date",
                _("the production date %(production)s is after the delivery date %(delivered)s.")
                % {"production": _day(entry.production_date), "delivered": _day(delivered_on)},
            )
        if delivered_on and entry.expiry_date and entry.expiry_date < delivered_on:
            # GSP: an expired device may not be sold.
            add(
                "expiry_date",
                _("the product expired on %(expiry)s, before the delivery date %(delivered)s.")
                % {"expiry": _day(entry.expiry_date), "delivered": _day(delivered_on)},
            )
        if model is not None and (entry.batch_number or entry.serial_number):
            hold = hold_active_for(
                device_model=model,
                batch_number=entry.batch_number,
                serial_number=entry.serial_number,
            )
            if hold is not None:
                field = "batch_number" if hold.scope == HoldScope.BATCH else "serial_number"
                add(
                    field,
                    _("%(target)s is on hold (%(reason)s) and may not be delivered.")
                    % {
                        "target": _("batch %(batch)s") % {"batch": entry.batch_number}
                        if hold.scope == HoldScope.BATCH
                        else _("serial number %(serial)s") % {"serial": entry.serial_number},
                        "reason": hold.reason,
                    },
                )
        # GSP: an expired supplier licence or model certificate locks new deliveries (the
        # catalogue decides; an "expiring soon" note does not refuse).
        if supplier is not None and delivered_on is not None:
            allowed, why = supplier_may_supply(supplier, on=delivered_on)
            if not allowed:
                add("supplier", why)
        if model is not None and delivered_on is not None:
            allowed, why = device_model_may_supply(model, on=delivered_on)
            if not allowed:
                add("device_model", why)
        checked.append(entry)
    # Serials: against the register (one query) and against the other lines of this delivery.
    serial_lines = [entry for entry in checked if entry.serial_number and entry.device_model]
    taken = set(
        Device.objects.filter(
            device_model__in=[entry.device_model for entry in serial_lines],
            serial_number__in=[entry.serial_number for entry in serial_lines],
        ).values_list("device_model_id", "serial_number")
    )
    seen: dict[tuple[int, str], int] = {}
    for entry in serial_lines:
        key = (entry.device_model.pk, entry.serial_number)
        if key in taken:
            problems.add(
                f"lines.{entry.number}.serial_number",
                _("Line %(line)s: %(problem)s")
                % {"line": entry.number, "problem": _duplicate_serial_message(entry)},
            )
        elif key in seen:
            problems.add(
                f"lines.{entry.number}.serial_number",
                _("Line %(line)s: serial number %(serial)s is already on line %(other)s.")
                % {"line": entry.number, "serial": entry.serial_number, "other": seen[key]},
            )
        else:
            seen[key] = entry.number
    return checked


def delivery_create(
    *,
    actor: Any,
    organization: Any,
    delivered_on: datetime.date,
    lines: list[dict[str, Any]],
    invoice_number: str = "",
    salesperson: Any = None,
    number: str | None = None,
    notes: str = "",
) -> Delivery:
    """Record a delivery (销售记录) with its lines. Every line is checked (model, batch and/or
    serial, one unit per serial, serial not yet registered, not on hold, supplier licensed on
    the day, dates in order); if any is wrong nothing is saved and every problem is reported.

    Lines with a serial number create the units they ship (owner: the customer; warranty from
    the delivery date until acceptance restarts it); batch lines stay traceable as lines."""
    problems = _Problems()
    if organization is None:
        problems.add("organization", _("Choose the customer."))
    if delivered_on is None:
        problems.add("delivered_on", _("Give the delivery date."))
    number = (number or "").strip()
    if number and Delivery.objects.filter(number=number).exists():
        problems.add(
            "number", _("Delivery number %(number)s is already used.") % {"number": number}
        )
    lines = list(lines or [])
    if not lines:
        problems.add("lines", _("A delivery needs at least one line."))
    with transaction.atomic(), audit_context(actor=actor):
        checked = _lines_checked(lines, delivered_on, problems)
        if problems:
            bad_lines = sorted(
                {
                    int(key.split(".")[1])
                    for key in problems.fields
                    if key.startswith("lines.") and key.count(".") >= 2
                }
            )
            if bad_lines:
                message = _("Nothing was saved: correct line(s) %(lines)s.") % {
                    "lines": ", ".join(str(line) for line in bad_lines)
                }
            else:
                message = _("Nothing was saved: correct the fields named.")
            problems.raise_if_any(message)
        delivery = Delivery(
            number=number or number_next(prefix=DELIVERY_NUMBER_PREFIX),
            organization=organization,
            delivered_on=delivered_on,
            invoice_number=(invoice_number or "").strip(),
            salesperson=salesperson,
            notes=notes or "",
        )
        delivery.full_clean()
        delivery.save()
        duplicates = _Problems()
        for entry in checked:
            line = DeliveryLine.objects.create(
                delivery=delivery,
                device_model=entry.device_model,
                supplier=entry.supplier,
                batch_number=entry.batch_number,
                serial_number=entry.serial_number,
                quantity=entry.quantity,
                unit_price=entry.unit_price,
                production_date=entry.production_date,
                expiry_date=entry.expiry_date,
            )
            if not entry.serial_number:
                continue
            device = Device(
                device_model=entry.device_model,
                serial_number=entry.serial_number,
                batch_number=entry.batch_number,
                udi_pi=entry.udi_pi,
                production_date=entry.production_date,
                expiry_date=entry.expiry_date,
                organization=organization,
                delivery_line=line,
                supplier=entry.supplier,
                status=DeviceStatus.INSTALLED,
            )
            device.warranty_ends_on = warranty_end(device)
            try:
                _save_device(device)
            except InvalidInputError as error:
                # Another writer registered this serial since the check above.
                duplicates.add(
                    f"lines.{entry.number}.serial_number",
                    _("Line %(line)s: %(problem)s")
                    % {"line": entry.number, "problem": error.message},
                )
        duplicates.raise_if_any(
            _("Nothing was saved: another delivery registered a serial number first.")
        )
        # Retention depends on the lines (expiry dates, implantables): recompute now they exist.
        delivery.save()
    return delivery


DELIVERY_HEADER_FIELDS = ("invoice_number", "salesperson", "notes")


def delivery_update(
    *, actor: Any, instance: Delivery, data: dict[str, Any], expected_version: int | None = None
) -> Delivery:
    """Correct a delivery's paperwork (invoice number, salesperson, notes). Customer, date and
    lines are the sales record itself and are not edited: a wrong delivery is reversed by a
    return, so the trace stays true."""
    locked = [
        name
        for name, value in data.items()
        if name not in DELIVERY_HEADER_FIELDS and getattr(instance, name, value) != value
    ]
    if locked:
        raise InvalidInputError(
            _("Only the invoice number, salesperson and notes of a delivery can be changed."),
            fields={name: [_("This cannot be changed after the delivery.")] for name in locked},
        )
    header = {name: value for name, value in data.items() if name in DELIVERY_HEADER_FIELDS}
    return record_update(
        actor=actor, instance=instance, data=header, expected_version=expected_version
    )


# --- Contracts --------------------------------------------------------------------------------


def _contract_problems(contract: ServiceContract, devices: list[Device]) -> _Problems:
    problems = _Problems()
    if contract.starts_on and contract.ends_on and contract.ends_on < contract.starts_on:
        problems.add(
            "ends_on",
            _("The contract ends on %(end)s, before it starts on %(start)s.")
            % {"end": _day(contract.ends_on), "start": _day(contract.starts_on)},
        )
    for device in devices:
        if contract.organization_id and device.organization_id != contract.organization_id:
            problems.add(
                "devices",
                _("%(device)s belongs to another organisation than the contract's customer.")
                % {"device": device},
            )
    if devices and contract.starts_on and contract.ends_on and contract.kind:
        overlapping = (
            ServiceContract.devices.through.objects.filter(
                device__in=devices,
                servicecontract__kind=contract.kind,
                servicecontract__starts_on__lte=contract.ends_on,
                servicecontract__ends_on__gte=contract.starts_on,
            )
            .exclude(servicecontract_id=contract.pk)
            .select_related("servicecontract", "device__device_model")
            .order_by("device_id", "servicecontract__starts_on")
        )
        for link in overlapping:
            other = link.servicecontract
            problems.add(
                "devices",
                _(
                    "%(device)s is already in contract %(contract)s of the same kind "
                    "(%(start)s to %(end)s), which overlaps this period."
                )
                % {
                    "device": link.device,
                    "contract": other.number,
                    "start": _day(other.starts_on),
                    "end": _day(other.ends_on),
                },
            )
    return problems


def _contract_devices(devices: Iterable[Any]) -> list[Device]:
    # Locked so that two contracts for the same unit are checked one after the other.
    ids = sorted({_pk(device) for device in devices})
    return list(
        Device.objects.select_for_update()
        .filter(pk__in=ids)
        .select_related("device_model")
        .order_by("pk")
    )


def contract_create(
    *, actor: Any, data: dict[str, Any], model: type[ServiceContract] = ServiceContract
) -> ServiceContract:
    """Record a service contract over some of one customer's units."""
    data = dict(data)
    data.pop("version", None)
    devices = data.pop("devices", []) or []
    with transaction.atomic(), audit_context(actor=actor):
        locked = _contract_devices(devices)
        contract = ServiceContract(**data)
        problems = _contract_problems(contract, locked)
        number = (contract.number or "").strip()
        if number and ServiceContract.objects.filter(number=number).exists():
            problems.add(
                "number", _("Contract number %(number)s is already used.") % {"number": number}
            )
        problems.raise_if_any(_("The contract was not saved."))
        contract.number = number or number_next(prefix=CONTRACT_NUMBER_PREFIX)
        contract.full_clean()
        contract.save()
        contract.devices.set(locked)
    return contract


def contract_update(
    *,
    actor: Any,
    instance: ServiceContract,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> ServiceContract:
    """Change a contract: its period, kind, customer and units are checked again."""
    data = dict(data)
    data.pop("version", None)
    new_devices = data.pop("devices", None)
    with transaction.atomic(), audit_context(actor=actor):
        current = ServiceContract.objects.select_for_update().get(pk=instance.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise ConflictError(
                _(
                    "%(record)s was changed by someone else after you opened it. "
                    "Reload it, then apply your change again."
                )
                % {"record": current}
            )
        devices = new_devices if new_devices is not None else list(current.devices.all())
        locked = _contract_devices(devices)
        for key, value in data.items():
            setattr(current, key, value)
        if "number" in data and not (current.number or "").strip():
            current.number = instance.number
        problems = _contract_problems(current, locked)
        if ServiceContract.objects.filter(number=current.number).exclude(pk=current.pk).exists():
            problems.add(
                "number",
                _("Contract number %(number)s is already used.") % {"number": current.number},
            )
        problems.raise_if_any(_("The contract was not saved."))
        current.full_clean()
        current.save()
        if new_devices is not None:
            current.devices.set(locked)
    return current


# --- Coverage ---------------------------------------------------------------------------------

# What the warranty pays for (the procedures): parts, labour and travel; PM is not a warranty
# service and is charged unless a contract includes it.
WARRANTY_COVERS = frozenset({CostCategory.PARTS, CostCategory.LABOUR, CostCategory.TRAVEL})

CONTRACT_COVERS: dict[str, frozenset[str]] = {
    ContractKind.FULL_SERVICE: frozenset(
        {CostCategory.PARTS, CostCategory.LABOUR, CostCategory.TRAVEL, CostCategory.PM}
    ),
    ContractKind.WARRANTY_EXTENSION: frozenset(
        {CostCategory.PARTS, CostCategory.LABOUR, CostCategory.TRAVEL}
    ),
    ContractKind.PARTS_ONLY: frozenset({CostCategory.PARTS}),
    ContractKind.LABOUR_ONLY: frozenset({CostCategory.LABOUR, CostCategory.TRAVEL}),
    ContractKind.PM_ONLY: frozenset({CostCategory.PM}),
}

# An exclusion (misuse, force majeure, unauthorised repair) voids these under any coverage.
EXCLUDABLE = frozenset({CostCategory.PARTS, CostCategory.LABOUR, CostCategory.TRAVEL})

WARRANTY = "warranty"


@dataclass(frozen=True)
class CoverageAnswer:
    """Whether one cost category of work on a unit is free, who pays for it, and why."""

    covered: bool
    by: str | None  # "warranty", a contract number, or None (charged)
    reason: str


def coverage(
    device: Device,
    on: datetime.date | None = None,
    exclusion: Exclusion | str | None = None,
) -> dict[CostCategory, CoverageAnswer]:
    """Per cost category (parts, labour, travel, PM): covered by the warranty, by a contract,
    or charged at cost price (the procedures' 最低成本价), with the reason in words.

    The warranty runs from its start to `warranty_ends_on`, both days included. An exclusion
    voids parts, labour and travel under the warranty and every contract alike; PM, which no
    failure causes, stays as its contract says. One query (the contracts in force)."""
    on = on or timezone.localdate()
    excluded = Exclusion(exclusion) if exclusion else None
    start = warranty_start(device)
    end = device.warranty_ends_on
    in_warranty = start is not None and end is not None and start <= on <= end
    contracts = list(contracts_of_device(device, on=on))
    answers: dict[CostCategory, CoverageAnswer] = {}
    for category in CostCategory:
        if excluded is not None and category in EXCLUDABLE:
            answers[category] = CoverageAnswer(
                False,
                None,
                _(
                    "Not covered (%(exclusion)s): excluded from the warranty and from every "
                    "contract; charged at cost price."
                )
                % {"exclusion": excluded.label},
            )
            continue
        if in_warranty and category in WARRANTY_COVERS:
            answers[category] = CoverageAnswer(
                True, WARRANTY, _("Covered by the warranty until %(end)s.") % {"end": _day(end)}
            )
            continue
        contract = next(
            (item for item in contracts if category in CONTRACT_COVERS.get(item.kind, ())), None
        )
        if contract is not None:
            answers[category] = CoverageAnswer(
                True,
                contract.number,
                _("Covered by contract %(contract)s (%(kind)s) until %(end)s.")
                % {
                    "contract": contract.number,
                    "kind": contract.get_kind_display(),
                    "end": _day(contract.ends_on),
                },
            )
            continue
        answers[category] = CoverageAnswer(
            False, None, _not_covered_reason(category, in_warranty, start, end, on)
        )
    return answers


def _not_covered_reason(
    category: CostCategory,
    in_warranty: bool,
    start: datetime.date | None,
    end: datetime.date | None,
    on: datetime.date,
) -> str:
    if category not in WARRANTY_COVERS:
        return _(
            "Not covered: preventive maintenance is not part of the warranty and no contract "
            "in force includes it; charged at cost price."
        )
    if start is None or end is None:
        return _(
            "Not covered: no warranty on record and no contract in force includes it; "
            "charged at cost price."
        )
    if on < start:
        return _(
            "Not covered: the warranty starts on %(start)s and no contract in force includes "
            "it; charged at cost price."
        ) % {"start": _day(start)}
    return _(
        "Not covered: the warranty ended on %(end)s and no contract in force includes it; "
        "charged at cost price."
    ) % {"end": _day(end)}


# --- Renewal reminders ------------------------------------------------------------------------


def contract_renewal_reminders_send(*, on: datetime.date | None = None) -> int:
    """Remind the service managers (and the customer's salesperson) of each contract that has
    entered its reminder period before the end; once per contract and end date. Returns how
    many contracts were reminded of. Safe to run twice, or on two schedulers at once."""
    from django.db.models import F, Max
    from django.urls import reverse

    from medservice.accounts.choices import Role
    from medservice.accounts.models import User
    from medservice.core.notifications import notify

    day = on or timezone.localdate()
    longest = ServiceContract.objects.aggregate(longest=Max("renewal_reminder_days"))["longest"]
    if longest is None:
        return 0
    managers = list(
        User.objects.filter(is_active=True, groups__name=str(Role.SERVICE_MANAGER))
        .distinct()
        .order_by("pk")
    )
    candidates = (
        ServiceContract.objects.filter(
            ends_on__gte=day, ends_on__lte=day + datetime.timedelta(days=longest)
        )
        .exclude(renewal_reminded_for=F("ends_on"))
        .select_related("organization__salesperson")
        .order_by("ends_on", "pk")
    )
    reminded = 0
    for contract in candidates:
        if contract.ends_on - datetime.timedelta(days=contract.renewal_reminder_days) > day:
            continue
        salesperson = contract.organization.salesperson
        recipients = [*managers]
        if salesperson is not None and salesperson.is_active and salesperson not in recipients:
            recipients.append(salesperson)
        if not recipients:
            # Nobody to tell yet: the reminder stays due for the first manager.
            continue
        with transaction.atomic():
            # The conditional update claims the reminder: a second run finds nothing to claim.
            claimed = (
                ServiceContract.objects.filter(pk=contract.pk)
                .exclude(renewal_reminded_for=F("ends_on"))
                .update(renewal_reminded_for=contract.ends_on)
            )
            if not claimed:
                continue
            notify(
                recipients=recipients,
                template="installed_base_contract_renewal",
                context={
                    "contract": contract,
                    "organization": contract.organization,
                    "days_left": (contract.ends_on - day).days,
                },
                link=reverse("installed_base:contracts-detail", kwargs={"pk": contract.pk}),
            )
        reminded += 1
    return reminded
