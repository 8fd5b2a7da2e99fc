"""Purchase orders (采购): parts ordered from a supplier into a warehouse, placed only while the
supplier's licence is valid, received in one or more deliveries (each receipt posts the stock
ledger), closed short when no more will come, or cancelled. Also the reorder suggestions: what
to order, per preferred supplier, for the parts below their reorder point.

Every state change goes through the workflow table (workflow.PURCHASE_ORDER_TRANSITIONS), so
the page's buttons, the API's actions and these services agree on what is allowed when.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.catalog.models import Supplier
from medservice.catalog.services import supplier_may_supply
from medservice.core.context import audit_context
from medservice.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from medservice.core.numbering import number_next
from medservice.core.workflow import allowed, transition
from medservice.inventory.choices import (
    WAREHOUSE_KINDS,
    MovementKind,
    PartTracking,
    PurchaseOrderStatus,
)
from medservice.inventory.models import (
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    StockBalance,
    StockLocation,
)
from medservice.inventory.selectors import parts_below_reorder_point
from medservice.inventory.services import (
    Move,
    Problems,
    lot_for_receipt,
    movements_post,
    quantity_text,
    receipt_line_problems,
    require_permission,
)
from medservice.inventory.workflow import PURCHASE_ORDER_TRANSITIONS

PURCHASE_ORDER_NUMBER_PREFIX = "PO"
HEADER_FIELDS = ("supplier", "destination", "expected_on", "supplier_reference", "notes")


class SupplierLockedError(DomainError):
    """The supplier's licence is not valid today: nothing may be bought from it (GSP)."""

    code = "supplier_locked"
    status = 409


# --- Creating and changing drafts -------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _part_of(value: Any) -> Part | None:
    """A line names its part as a record or by id (the API gives ids)."""
    if value is None or value == "" or isinstance(value, Part):
        return value or None
    try:
        return Part.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        return None


def _header_problems(
    problems: Problems, *, supplier: Any, destination: StockLocation | None
) -> None:
    if supplier is None:
        problems.add("supplier", _("Choose the supplier."))
    if destination is None:
        problems.add("destination", _("Choose the warehouse the parts are delivered to."))
    elif destination.kind not in WAREHOUSE_KINDS:
        problems.add(
            "destination",
            _("Parts are ordered into a central or regional warehouse, not into %(kind)s.")
            % {"kind": destination.get_kind_display()},
        )
    elif not destination.active:
        problems.add(
            "destination", _("%(location)s is no longer in use.") % {"location": destination}
        )


def _lines_checked(lines: Sequence[dict[str, Any]], problems: Problems) -> list[dict[str, Any]]:
    """The order lines with parts and numbers resolved; every problem keyed
    `lines.<n>.<field>`, lines counted from 1 as on the printed order."""
    if not lines:
        problems.add("lines", _("An order needs at least one line."))
        return []
    checked: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        prefix = f"lines.{number}."
        part = _part_of(line.get("part"))
        quantity = _decimal(line.get("quantity"))
        unit_price = _decimal(line.get("unit_price"))
        if unit_price is None and line.get("unit_price") in (None, ""):
            # No price given: the part's standard cost is the best estimate.
            unit_price = part.standard_cost if part is not None else Decimal(0)
        if part is None:
            problems.add(f"{prefix}part", _("Line %(line)s: choose the part.") % {"line": number})
        elif not part.active:
            problems.add(
                f"{prefix}part",
                _("Line %(line)s: %(part)s is no longer in use.") % {"line": number, "part": part},
            )
        elif part.pk in seen:
            # One line per part, so a receipt never has to choose between two lines.
            problems.add(
                f"{prefix}part",
                _("Line %(line)s: %(part)s is already on line %(other)s.")
                % {"line": number, "part": part.number, "other": seen[part.pk]},
            )
        else:
            seen[part.pk] = number
        if quantity is None or quantity <= 0:
            problems.add(
                f"{prefix}quantity",
                _("Line %(line)s: the quantity must be more than zero.") % {"line": number},
            )
        elif (
            part is not None and part.tracking == PartTracking.SERIAL and quantity != int(quantity)
        ):
            problems.add(
                f"{prefix}quantity",
                _("Line %(line)s: %(part)s is counted in whole units.")
                % {"line": number, "part": part.number},
            )
        if unit_price is None or unit_price < 0:
            problems.add(
                f"{prefix}unit_price",
                _("Line %(line)s: the unit price must be a number, zero or more.")
                % {"line": number},
            )
        checked.append({"part": part, "quantity": quantity, "unit_price": unit_price})
    return checked


def _raise_problems(problems: Problems, what: str) -> None:
    if not problems:
        return
    bad_lines = sorted({int(key.split(".")[1]) for key in problems.fields if key.count(".") >= 2})
    if bad_lines:
        message = _("%(what)s: correct line(s) %(lines)s.") % {
            "what": what,
            "lines": ", ".join(str(line) for line in bad_lines),
        }
    else:
        message = _("%(what)s: correct the fields named.") % {"what": what}
    problems.raise_if_any(message)


def _lines_create(order: PurchaseOrder, checked: Iterable[dict[str, Any]]) -> None:
    for line in checked:
        PurchaseOrderLine.objects.create(
            order=order,
            part=line["part"],
            quantity=line["quantity"],
            unit_price=line["unit_price"],
        )


def purchase_order_create(
    *,
    actor: Any,
    supplier: Supplier | None,
    destination: StockLocation | None,
    lines: Sequence[dict[str, Any]],
    expected_on: datetime.date | None = None,
    supplier_reference: str = "",
    notes: str = "",
) -> PurchaseOrder:
    """Write a draft purchase order with its lines ({part, quantity, unit_price}). Every
    problem is reported at once and nothing is saved if any line is wrong. A draft may name a
    supplier whose licence has lapsed: placing the order is what the licence must allow."""
    require_permission(actor, "inventory.add_purchaseorder",
                       _("You may not write purchase orders."))  # fmt: skip
    problems = Problems()
    _header_problems(problems, supplier=supplier, destination=destination)
    checked = _lines_checked(list(lines or []), problems)
    _raise_problems(problems, _("The order was not saved"))
    with transaction.atomic(), audit_context(actor=actor):
        order = PurchaseOrder(
            number=number_next(prefix=PURCHASE_ORDER_NUMBER_PREFIX),
            supplier=supplier,
            destination=destination,
            expected_on=expected_on,
            supplier_reference=(supplier_reference or "").strip(),
            notes=notes or "",
            created_by=actor,
        )
        order.save()
        _lines_create(order, checked)
    return order


def purchase_order_update(
    *,
    actor: Any,
    order: PurchaseOrder,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> PurchaseOrder:
    """Change a draft: its header fields given in `data` and, when `data` has "lines", all its
    lines (replaced by the given ones). An order once placed is changed only by its actions."""
    require_permission(actor, "inventory.change_purchaseorder",
                       _("You may not change purchase orders."))  # fmt: skip
    with transaction.atomic(), audit_context(actor=actor):
        current = PurchaseOrder.objects.select_for_update().get(pk=order.pk)
        if current.status != PurchaseOrderStatus.DRAFT:
            raise InvalidTransitionError(
                _("%(order)s is %(status)s: only a draft can be changed.")
                % {"order": current, "status": current.get_status_display()}
            )
        if expected_version is not None and int(expected_version) != current.version:
            raise ConflictError(
                _("%(record)s was changed by someone else after you opened it. "
                  "Reload it, then apply your change again.") % {"record": current}
            )  # fmt: skip
        header = {key: data[key] for key in HEADER_FIELDS if key in data}
        problems = Problems()
        _header_problems(
            problems,
            supplier=header.get("supplier", current.supplier),
            destination=header.get("destination", current.destination),
        )
        checked = _lines_checked(list(data["lines"] or []), problems) if "lines" in data else None
        _raise_problems(problems, _("The order was not saved"))
        for key, value in header.items():
            if key in ("supplier_reference", "notes"):
                value = (value or "").strip() if key == "supplier_reference" else value or ""
            setattr(current, key, value)
        current.save()
        if checked is not None:
            for line in current.lines.all():
                line.delete()
            _lines_create(current, checked)
    return current


# --- Actions ----------------------------------------------------------------------------------


def _locked_for(order: PurchaseOrder, action: str, actor: Any) -> PurchaseOrder:
    """The order locked for this transaction, refused (403/409) before any input is read when
    the action is not allowed now, so a wrong-state answer never depends on the input."""
    locked = PurchaseOrder.objects.select_for_update().select_related("supplier").get(pk=order.pk)
    refusal = allowed(PURCHASE_ORDER_TRANSITIONS, action, locked, actor, "status")
    if refusal:
        rule = PURCHASE_ORDER_TRANSITIONS[action]
        if actor is not None and not actor.has_perm(rule.permission):
            raise PermissionDeniedError(refusal)
        raise InvalidTransitionError(refusal)
    return locked


def _supplier_must_supply(order: PurchaseOrder) -> None:
    # GSP: the supplier's qualification is checked before every purchase, also at receipt.
    may, why = supplier_may_supply(order.supplier)
    if not may:
        raise SupplierLockedError(why, fields={"supplier": [why]})


def purchase_order_place(*, actor: Any, order: PurchaseOrder) -> PurchaseOrder:
    """Send the order to the supplier: only while its licence is valid; dated today."""
    with transaction.atomic():
        locked = _locked_for(order, "place", actor)
        _supplier_must_supply(locked)
        if not locked.lines.exists():
            raise InvalidInputError(
                _("An order needs at least one line."),
                fields={"lines": [_("An order needs at least one line.")]},
            )
        return transition(
            locked,
            "place",
            transitions=PURCHASE_ORDER_TRANSITIONS,
            actor=actor,
            changes={"ordered_on": timezone.localdate()},
        )


def _reason_required(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError(message, fields={"reason": [message]})
    return reason


def purchase_order_close(*, actor: Any, order: PurchaseOrder, reason: str) -> PurchaseOrder:
    """Close a partially received order short: no more will come (the rest is no longer
    counted as on order). The reason is kept on the order."""
    with transaction.atomic():
        locked = _locked_for(order, "close", actor)
        reason = _reason_required(reason, _("Say why the rest will not come."))
        return transition(
            locked,
            "close",
            transitions=PURCHASE_ORDER_TRANSITIONS,
            actor=actor,
            reason=reason,
            changes={"closed_reason": reason},
        )


def purchase_order_cancel(*, actor: Any, order: PurchaseOrder, reason: str) -> PurchaseOrder:
    """Cancel a draft, or an order placed of which nothing has arrived."""
    with transaction.atomic():
        locked = _locked_for(order, "cancel", actor)
        reason = _reason_required(reason, _("Say why the order is cancelled."))
        return transition(
            locked,
            "cancel",
            transitions=PURCHASE_ORDER_TRANSITIONS,
            actor=actor,
            reason=reason,
            changes={"closed_reason": reason},
        )


# --- Receiving goods --------------------------------------------------------------------------


def _serials_of(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    return [str(item).strip() for item in value if str(item).strip()]


@dataclass
class _Receipt:
    """One receipt row, checked: a quantity of one order line, with its lot or serials."""

    number: int
    line: PurchaseOrderLine
    quantity: Decimal
    lot_number: str
    serial_numbers: list[str]
    expiry_date: datetime.date | None
    production_date: datetime.date | None


def _receipts_checked(
    order: PurchaseOrder, receipts: Sequence[dict[str, Any]], problems: Problems
) -> list[_Receipt]:
    lines = {line.pk: line for line in order.lines.select_related("part")}
    if not receipts:
        problems.add("receipts", _("Say what arrived: at least one line."))
        return []
    checked: list[_Receipt] = []
    for number, receipt in enumerate(receipts, start=1):
        prefix = f"receipts.{number}."
        reference = receipt.get("line")
        line_id = getattr(reference, "pk", reference)
        try:
            line = lines.get(int(line_id)) if line_id not in (None, "") else None
        except (TypeError, ValueError):
            line = None
        if line is None:
            problems.add(
                f"{prefix}line",
                _("Receipt %(receipt)s: choose a line of %(order)s.")
                % {"receipt": number, "order": order.number},
            )
            continue
        part = line.part
        serials = _serials_of(receipt.get("serial_numbers"))
        lot_number = (receipt.get("lot_number") or "").strip()
        expiry_date = receipt.get("expiry_date")
        quantity = _decimal(receipt.get("quantity"))
        if part.tracking == PartTracking.SERIAL:
            if quantity is None:
                quantity = Decimal(len(serials))
            if serials and quantity != len(serials):
                problems.add(
                    f"{prefix}serial_numbers",
                    _("Receipt %(receipt)s: %(count)s serial numbers for a quantity of "
                      "%(quantity)s: give one serial per unit.")
                    % {"receipt": number, "count": len(serials),
                       "quantity": quantity_text(quantity)},
                )  # fmt: skip
            # The ledger's rules apply to each unit; the first unit stands for a missing serial.
            units = serials or [""]
            found: dict[str, list[str]] = {}
            for serial in units:
                for key, messages in receipt_line_problems(
                    part,
                    quantity=Decimal(1),
                    lot_number=lot_number,
                    serial_number=serial,
                    expiry_date=expiry_date,
                    prefix=prefix,
                ).items():
                    found.setdefault(key, [])
                    found[key] += [item for item in messages if item not in found[key]]
            if quantity is not None and quantity <= 0:
                found.setdefault(f"{prefix}quantity", []).append(
                    _("The quantity must be more than zero.")
                )
        else:
            if serials:
                problems.add(
                    f"{prefix}serial_numbers",
                    _("Receipt %(receipt)s: %(part)s is not tracked by serial number.")
                    % {"receipt": number, "part": part.number},
                )
            found = receipt_line_problems(
                part,
                quantity=quantity,  # type: ignore[arg-type]
                lot_number=lot_number,
                serial_number="",
                expiry_date=expiry_date,
                prefix=prefix,
            )
        for key, messages in found.items():
            # The API and the form name the serials field in the plural.
            name = f"{prefix}serial_numbers" if key == f"{prefix}serial_number" else key
            for message in messages:
                problems.add(
                    name,
                    _("Receipt %(receipt)s: %(problem)s") % {"receipt": number, "problem": message},
                )
        if quantity is None or quantity <= 0:
            continue
        checked.append(
            _Receipt(
                number=number,
                line=line,
                quantity=quantity,
                lot_number=lot_number,
                serial_numbers=serials,
                expiry_date=expiry_date,
                production_date=receipt.get("production_date"),
            )
        )
    _never_more_than_outstanding(checked, problems)
    _serials_new(checked, problems)
    return checked


def _never_more_than_outstanding(checked: list[_Receipt], problems: Problems) -> None:
    """Receipts of one line (several lots, several rows) together stay within what is still
    outstanding on it."""
    taken: dict[int, Decimal] = {}
    for receipt in checked:
        line = receipt.line
        taken[line.pk] = taken.get(line.pk, Decimal(0)) + receipt.quantity
        if taken[line.pk] > line.outstanding:
            problems.add(
                f"receipts.{receipt.number}.quantity",
                _("Receipt %(receipt)s: %(quantity)s %(unit)s of %(part)s is more than the "
                  "%(outstanding)s still outstanding on the order.")
                % {
                    "receipt": receipt.number,
                    "quantity": quantity_text(taken[line.pk]),
                    "unit": line.part.unit,
                    "part": line.part.number,
                    "outstanding": quantity_text(line.outstanding),
                },
            )  # fmt: skip


def _serials_new(checked: list[_Receipt], problems: Problems) -> None:
    """A serial number names one unit: refused when twice in the receipt or already on hand
    anywhere (one query)."""
    wanted = [
        (receipt, serial)
        for receipt in checked
        if receipt.line.part.tracking == PartTracking.SERIAL
        for serial in receipt.serial_numbers
    ]
    if not wanted:
        return
    on_hand = set(
        StockBalance.objects.filter(
            part__in={receipt.line.part_id for receipt, _serial in wanted},
            lot__serial_number__in={serial for _receipt, serial in wanted},
            quantity__gt=0,
        ).values_list("part_id", "lot__serial_number")
    )
    seen: set[tuple[int, str]] = set()
    for receipt, serial in wanted:
        key = (receipt.line.part_id, serial)
        if key in on_hand:
            problems.add(
                f"receipts.{receipt.number}.serial_numbers",
                _("Receipt %(receipt)s: %(part)s serial %(serial)s is already in stock.")
                % {"receipt": receipt.number, "part": receipt.line.part.number, "serial": serial},
            )
        elif key in seen:
            problems.add(
                f"receipts.{receipt.number}.serial_numbers",
                _("Receipt %(receipt)s: serial %(serial)s is given twice.")
                % {"receipt": receipt.number, "serial": serial},
            )
        seen.add(key)


def purchase_order_receive(
    *,
    actor: Any,
    order: PurchaseOrder,
    receipts: Sequence[dict[str, Any]],
    reference: str = "",
) -> PurchaseOrder:
    """Receive goods against the order (a full or partial delivery): each receipt row is
    {line, quantity, lot_number, serial_numbers, expiry_date, production_date}. Posts the
    receipts into the order's warehouse at the order's prices, counts them on the lines and sets
    the order partially received or received. `reference` is the supplier's delivery note.
    All or nothing: any problem and nothing is received."""
    reference = (reference or "").strip()
    with transaction.atomic():
        locked = _locked_for(order, "receive", actor)
        _supplier_must_supply(locked)
        problems = Problems()
        if not locked.destination.active:
            problems.add(
                "destination",
                _("%(location)s is no longer in use.") % {"location": locked.destination},
            )
        checked = _receipts_checked(locked, list(receipts or []), problems)
        if problems:
            bad = sorted({int(key.split(".")[1]) for key in problems.fields if key.count(".") >= 2})
            message = (
                _("Nothing was received: correct receipt(s) %(receipts)s.")
                % {"receipts": ", ".join(str(item) for item in bad)}
                if bad
                else _("Nothing was received: correct the fields named.")
            )
            problems.raise_if_any(message)
        moves: list[Move] = []
        for receipt in checked:
            part, line = receipt.line.part, receipt.line
            units = (
                [(serial, Decimal(1)) for serial in receipt.serial_numbers]
                if part.tracking == PartTracking.SERIAL
                else [("", receipt.quantity)]
            )
            for serial, quantity in units:
                lot = lot_for_receipt(
                    part=part,
                    lot_number=receipt.lot_number,
                    serial_number=serial,
                    expiry_date=receipt.expiry_date,
                    production_date=receipt.production_date,
                    supplier=locked.supplier,
                )
                moves.append(
                    Move(
                        part=part,
                        quantity=quantity,
                        lot=lot,
                        purchase_order_line=line,
                        unit_cost=line.unit_price,
                    )
                )
        movements_post(
            actor=actor,
            kind=MovementKind.RECEIPT,
            destination=locked.destination,
            moves=moves,
            # The delivery note finds the receipt; without one, the order number does.
            reference=reference or locked.number,
        )
        received: dict[int, Decimal] = {}
        for receipt in checked:
            received[receipt.line.pk] = received.get(receipt.line.pk, Decimal(0)) + receipt.quantity
        with audit_context(actor=actor, action="receive", reason=reference or None):
            for line in locked.lines.select_for_update().order_by("pk"):
                if line.pk in received:
                    line.quantity_received += received[line.pk]
                    line.save()
        complete = not any(line.quantity_received < line.quantity for line in locked.lines.all())
        target = (
            PurchaseOrderStatus.RECEIVED if complete else PurchaseOrderStatus.PARTIALLY_RECEIVED
        )
        return transition(
            locked,
            "receive",
            transitions=PURCHASE_ORDER_TRANSITIONS,
            actor=actor,
            target=target,
            reason=reference,
        )


# --- Reorder suggestions ----------------------------------------------------------------------


@dataclass
class Suggestion:
    """One part to order: where it stands and how much to order."""

    part: Part
    usable: Decimal
    on_order: Decimal
    quantity: Decimal
    unit_price: Decimal
    # The draft order already holding the part, if any: it is not ordered twice.
    draft: PurchaseOrder | None = None


@dataclass
class SupplierSuggestions:
    """The suggestions for one preferred supplier (None: parts with no preferred supplier)."""

    supplier: Supplier | None
    lines: list[Suggestion] = field(default_factory=list)
    # Why the supplier may not be ordered from today ("" when it may).
    refusal: str = ""
    note: str = ""


def reorder_suggestions() -> list[SupplierSuggestions]:
    """For each active part whose usable stock plus what is on open orders is below its reorder
    point: order max(reorder quantity, reorder point - usable - on order), grouped by the part's
    preferred supplier (parts without one last)."""
    parts = list(parts_below_reorder_point().select_related("preferred_supplier"))
    drafts: dict[int, PurchaseOrder] = {}
    for line in (
        PurchaseOrderLine.objects.filter(part__in=parts, order__status=PurchaseOrderStatus.DRAFT)
        .select_related("order")
        .order_by("order_id")
    ):
        drafts.setdefault(line.part_id, line.order)
    groups: dict[int | None, SupplierSuggestions] = {}
    for part in parts:
        shortfall = part.reorder_point - part.usable - part.on_order
        quantity = max(part.reorder_quantity, shortfall)
        supplier = part.preferred_supplier
        key = supplier.pk if supplier is not None else None
        if key not in groups:
            groups[key] = SupplierSuggestions(supplier=supplier)
            if supplier is not None:
                may, why = supplier_may_supply(supplier)
                groups[key].refusal, groups[key].note = ("", why) if may else (why, "")
        groups[key].lines.append(
            Suggestion(
                part=part,
                usable=part.usable,
                on_order=part.on_order,
                quantity=quantity,
                unit_price=part.standard_cost,
                draft=drafts.get(part.pk),
            )
        )
    return sorted(
        groups.values(),
        key=lambda group: (group.supplier is None, str(group.supplier or "")),
    )


def purchase_orders_from_suggestions(
    *, actor: Any, destination: StockLocation
) -> list[PurchaseOrder]:
    """Write one draft order per preferred supplier from the reorder suggestions, into the
    given warehouse. Parts already on a draft are left out (pressing the button twice does not
    order twice), and so are parts without a preferred supplier. The keeper reviews and places
    the drafts."""
    orders: list[PurchaseOrder] = []
    with transaction.atomic():
        for group in reorder_suggestions():
            lines = [
                {"part": item.part, "quantity": item.quantity, "unit_price": item.unit_price}
                for item in group.lines
                if item.draft is None
            ]
            if group.supplier is None or not lines:
                continue
            orders.append(
                purchase_order_create(
                    actor=actor,
                    supplier=group.supplier,
                    destination=destination,
                    lines=lines,
                    notes=_("Written from the reorder suggestions."),
                )
            )
    return orders
