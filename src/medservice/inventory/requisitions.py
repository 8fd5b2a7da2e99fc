"""Requisitions (申领): an engineer asks a warehouse for parts, someone else approves (perhaps
fewer), the warehouse issues them into transit, the engineer confirms receipt into their own
stock, and later returns what was not used (unused parts back to the warehouse, defective ones
to quarantine).

Every state change goes through the workflow table (`REQUISITION_TRANSITIONS`) and every stock
change through `movements_post`, so a requisition can never issue more than is on hand, nor
return more than it issued.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.workflow import Transition, actions_allowed
from medservice.core.workflow import transition as workflow_transition
from medservice.inventory.choices import (
    USABLE_LOCATION_KINDS,
    WAREHOUSE_KINDS,
    Condition,
    LocationKind,
    MovementKind,
    PartTracking,
)
from medservice.inventory.models import (
    Part,
    PartLot,
    Requisition,
    RequisitionLine,
    StockLocation,
    StockMovement,
)
from medservice.inventory.services import (
    Move,
    Problems,
    engineer_location_for,
    movements_post,
    quantity_text,
    require_permission,
    transit_location,
    warehouse_keepers,
)
from medservice.inventory.workflow import ISSUE_PERMISSION, REQUISITION_TRANSITIONS

NUMBER_PREFIX = "RQ"
# --- Who may take which action ----------------------------------------------------------------
# The person rules (nobody approves their own request; only the requester or the warehouse
# confirms receipt or returns; only the requester or an approver cancels) live in the workflow
# table, so the page's buttons, the API and these services all read them there.


def requisition_actions_allowed(
    requisition: Requisition, user: Any
) -> list[tuple[str, Transition]]:
    """The actions `user` may take now (state, permission and person rules)."""
    return actions_allowed(REQUISITION_TRANSITIONS, requisition, user)


def _transition(
    requisition: Requisition,
    name: str,
    *,
    actor: Any,
    reason: str = "",
    changes: dict[str, Any] | None = None,
) -> Requisition:
    """Lock and move the requisition through the workflow (a wrong state answers 409, a
    missing permission or a person rule 403)."""
    return workflow_transition(
        requisition,
        name,
        transitions=REQUISITION_TRANSITIONS,
        actor=actor,
        reason=reason,
        changes=changes,
    )


# --- Helpers ------------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _whole_unit_problem(part: Part, quantity: Decimal) -> str:
    if part.tracking == PartTracking.SERIAL and quantity != quantity.to_integral():
        return _("%(part)s is tracked by serial number: whole units only.") % {"part": part.number}
    return ""


def _link(requisition: Requisition) -> str:
    return reverse("inventory:requisitions-detail", kwargs={"pk": requisition.pk})


def _notify(
    recipients: Iterable[Any], template: str, requisition: Requisition, **extra: Any
) -> None:
    lines = list(requisition.lines.select_related("part").order_by("pk"))
    notify(
        recipients=recipients,
        template=template,
        context={"requisition": requisition, "lines": lines, **extra},
        link=_link(requisition),
    )


def _lines(requisition: Requisition) -> list[RequisitionLine]:
    return list(
        RequisitionLine.objects.select_for_update()
        .filter(requisition=requisition)
        .select_related("part")
        .order_by("pk")
    )


def _quantities_by_line(
    values: Mapping[Any, Any] | None, lines: list[RequisitionLine], field: str, problems: Problems
) -> dict[int, Decimal]:
    """The quantities given per line id, checked: known lines, numbers, not negative."""
    known = {line.pk: line for line in lines}
    result: dict[int, Decimal] = {}
    for key, raw in (values or {}).items():
        try:
            line_id = int(key)
        except (TypeError, ValueError):
            line_id = -1
        if line_id not in known:
            problems.add(field, _("Line %(line)s is not on this requisition.") % {"line": key})
            continue
        quantity = _decimal(raw)
        if quantity is None or quantity < 0:
            problems.add(
                f"{field}.{line_id}", _("Give a quantity of zero or more for %(part)s.")
                % {"part": known[line_id].part.number}
            )  # fmt: skip
            continue
        problem = _whole_unit_problem(known[line_id].part, quantity)
        if problem:
            problems.add(f"{field}.{line_id}", problem)
            continue
        result[line_id] = quantity
    return result


# --- Request ----------------------------------------------------------------------------------


def requisition_create(
    *,
    actor: Any,
    source: StockLocation,
    destination: StockLocation | None = None,
    lines: Iterable[tuple[Part, Decimal | int | str]],
    reference: str = "",
    needed_by: datetime.date | None = None,
    reason: str = "",
) -> Requisition:
    """Ask a warehouse for parts, into the requester's own stock unless another destination is
    named. The warehouse keepers are told."""
    require_permission(actor, "inventory.add_requisition", _("You may not request parts."))
    problems = Problems()
    if source.kind not in WAREHOUSE_KINDS:
        problems.add("source", _("Parts are requested from a central or regional warehouse."))
    elif not source.active:
        problems.add("source", _("%(location)s is no longer in use.") % {"location": source})
    if destination is not None:
        if destination.kind not in USABLE_LOCATION_KINDS or destination.pk == source.pk:
            problems.add(
                "destination",
                _("Parts are requested into an engineer's stock or another warehouse."),
            )
        elif (
            destination.kind == LocationKind.ENGINEER
            and destination.engineer_id != getattr(actor, "pk", None)
            and not (actor is None or actor.has_perm(ISSUE_PERMISSION))
        ):
            problems.add("destination", _("You may request parts only into your own stock."))
    if needed_by is not None and needed_by < timezone.localdate():
        problems.add("needed_by", _("The date the parts are needed by has passed."))
    checked: list[tuple[Part, Decimal]] = []
    seen: dict[int, int] = {}
    for position, (part, raw) in enumerate(lines, start=1):
        quantity = _decimal(raw)
        prefix = f"lines.{position}"
        if quantity is None or quantity <= 0:
            problems.add(f"{prefix}.quantity", _("The quantity must be more than zero."))
            continue
        problem = _whole_unit_problem(part, quantity)
        if problem:
            problems.add(f"{prefix}.quantity", problem)
        if not part.active:
            problems.add(f"{prefix}.part", _("%(part)s is no longer stocked.") % {"part": part})
        if part.pk in seen:
            problems.add(
                f"{prefix}.part",
                _("%(part)s is already on line %(line)s: put the whole quantity there.")
                % {"part": part.number, "line": seen[part.pk]},
            )
        seen.setdefault(part.pk, position)
        checked.append((part, quantity))
    if not checked and not problems:
        problems.add("lines", _("Add at least one part and its quantity."))
    problems.raise_if_any(_("The requisition was not saved."))
    if destination is None:
        # Opened outside the request's transaction: a failed request may keep the empty stock.
        destination = engineer_location_for(actor)
    with transaction.atomic(), audit_context(actor=actor, reason=reason.strip() or None):
        requisition = Requisition.objects.create(
            number=number_next(prefix=NUMBER_PREFIX),
            requester=actor,
            source=source,
            destination=destination,
            reference=reference.strip(),
            needed_by=needed_by,
            reason=reason.strip(),
        )
        for part, quantity in checked:
            RequisitionLine.objects.create(requisition=requisition, part=part, quantity=quantity)
        _notify(warehouse_keepers(), "requisition_requested", requisition)
    return requisition


# --- Decide -----------------------------------------------------------------------------------


def requisition_approve(
    *,
    actor: Any,
    requisition: Requisition,
    quantities: Mapping[int, Decimal] | None = None,
    note: str = "",
) -> Requisition:
    """Approve the request, each line for the quantity asked unless a smaller one is given
    (zero leaves a line out). The approver is never the requester. The requester is told."""
    with transaction.atomic():
        locked = _transition(
            requisition,
            "approve",
            actor=actor,
            reason=note.strip(),
            changes={
                "decided_by": actor,
                "decided_at": timezone.now(),
                "decision_note": note.strip(),
            },
        )
        lines = _lines(locked)
        problems = Problems()
        given = _quantities_by_line(quantities, lines, "quantities", problems)
        for line in lines:
            approved = given.get(line.pk, line.quantity)
            if approved > line.quantity:
                problems.add(
                    f"quantities.{line.pk}",
                    _("%(part)s: at most the %(asked)s asked for may be approved.")
                    % {"part": line.part.number, "asked": quantity_text(line.quantity)},
                )
            line.quantity_approved = approved
        if not problems and all(line.quantity_approved == 0 for line in lines):
            problems.add("quantities", _("Nothing would be approved: reject the request instead."))
        problems.raise_if_any(_("The requisition was not approved."))
        with audit_context(actor=actor, action="approve", reason=note.strip() or None):
            for line in lines:
                line.save()
        _notify([locked.requester], "requisition_approved", locked, note=note.strip())
    return locked


def requisition_reject(*, actor: Any, requisition: Requisition, reason: str) -> Requisition:
    """Refuse the request with the reason, which the requester is told."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError(
            _("Say why the request is rejected."),
            fields={"reason": [_("A reason is required to reject a requisition.")]},
        )
    with transaction.atomic():
        locked = _transition(
            requisition,
            "reject",
            actor=actor,
            reason=reason,
            changes={"decided_by": actor, "decided_at": timezone.now(), "decision_note": reason},
        )
        _notify([locked.requester], "requisition_rejected", locked, reason=reason)
    return locked


def requisition_cancel(*, actor: Any, requisition: Requisition, reason: str = "") -> Requisition:
    """Withdraw a request not yet issued (by the requester, or an approver)."""
    with transaction.atomic():
        return _transition(requisition, "cancel", actor=actor, reason=(reason or "").strip())


# --- Issue and receive ------------------------------------------------------------------------


def requisition_issue(*, actor: Any, requisition: Requisition) -> Requisition:
    """Take the approved quantities out of the warehouse into transit, first expiry first out
    over the lots that may be issued (held and expired lots are never issued). All or nothing:
    when any line is short, nothing moves. The requester is told."""
    # Created (once) outside the issue's transaction, so a refused issue never undoes it.
    transit = transit_location()
    with transaction.atomic():
        locked = _transition(
            requisition,
            "issue",
            actor=actor,
            changes={"issued_by": actor, "issued_at": timezone.now()},
        )
        lines = [line for line in _lines(locked) if (line.quantity_approved or 0) > 0]
        movements_post(
            actor=actor,
            kind=MovementKind.ISSUE,
            source=locked.source,
            destination=transit,
            moves=[
                Move(
                    part=line.part,
                    quantity=line.quantity_approved,
                    requisition_line=line,
                    issuable_only=True,
                )
                for line in lines
            ],
            reference=locked.number,
            approved_by=locked.decided_by,
        )
        with audit_context(actor=actor, action="issue"):
            for line in lines:
                line.quantity_issued = line.quantity_approved
                line.save()
        _notify([locked.requester], "requisition_issued", locked)
    return locked


def _issued_lots(lines: list[RequisitionLine]) -> dict[int, list[tuple[PartLot | None, Decimal]]]:
    """Per line, the lots the issue took and how many of each (one query)."""
    rows = (
        StockMovement.objects.filter(requisition_line__in=lines, kind=MovementKind.ISSUE)
        .values("requisition_line", "lot")
        .annotate(total=Sum("quantity"))
        .order_by("requisition_line", "lot")
    )
    lots = PartLot.objects.in_bulk({row["lot"] for row in rows if row["lot"] is not None})
    issued: dict[int, list[tuple[PartLot | None, Decimal]]] = defaultdict(list)
    for row in rows:
        lot = lots.get(row["lot"]) if row["lot"] is not None else None
        issued[row["requisition_line"]].append((lot, row["total"]))
    return issued


def requisition_receive(*, actor: Any, requisition: Requisition) -> Requisition:
    """The engineer (or the warehouse for them) confirms the parts arrived: exactly the lots
    issued on each line move from transit into the requisition's destination."""
    transit = transit_location()
    with transaction.atomic():
        locked = _transition(
            requisition, "receive", actor=actor, changes={"received_at": timezone.now()}
        )
        lines = _lines(locked)
        issued = _issued_lots(lines)
        moves = [
            Move(part=line.part, quantity=quantity, lot=lot, requisition_line=line)
            for line in lines
            for lot, quantity in issued.get(line.pk, [])
        ]
        if moves:
            movements_post(
                actor=actor,
                kind=MovementKind.REQUISITION_RECEIPT,
                source=transit,
                destination=locked.destination,
                moves=moves,
                reference=locked.number,
            )
    return locked


# --- Return -----------------------------------------------------------------------------------


def _returnable_lots(
    line: RequisitionLine, location: StockLocation
) -> list[tuple[PartLot | None, Decimal]]:
    """The lots of this line that may still come back, and how many of each: what the line
    brought in less what it already returned, never more than is still on hand at the
    engineer's stock (fitted parts are gone)."""
    received = dict(
        StockMovement.objects.filter(requisition_line=line, kind=MovementKind.REQUISITION_RECEIPT)
        .values_list("lot")
        .annotate(total=Sum("quantity"))
        .values_list("lot", "total")
    )
    returned = dict(
        StockMovement.objects.filter(
            requisition_line=line,
            kind__in=[MovementKind.RETURN_UNUSED, MovementKind.RETURN_DEFECTIVE],
        )
        .values_list("lot")
        .annotate(total=Sum("quantity"))
        .values_list("lot", "total")
    )
    from medservice.inventory.models import StockBalance

    on_hand = dict(
        StockBalance.objects.filter(
            location=location, part=line.part, condition=Condition.GOOD, quantity__gt=0
        ).values_list("lot", "quantity")
    )
    lots = PartLot.objects.in_bulk([lot for lot in received if lot is not None])
    result = []
    for lot_id, total in received.items():
        left = min(total - returned.get(lot_id, Decimal(0)), on_hand.get(lot_id, Decimal(0)))
        if left > 0:
            result.append((lots.get(lot_id) if lot_id is not None else None, left))
    # The latest-expiring units come back first: the engineer keeps the ones to use soonest.
    result.sort(
        key=lambda item: (
            -(item[0].expiry_date.toordinal() if item[0] and item[0].expiry_date else 10**7),
            getattr(item[0], "pk", 0),
        )
    )
    return result


def _take(
    available: list[tuple[PartLot | None, Decimal]], quantity: Decimal
) -> list[tuple[PartLot | None, Decimal]]:
    """Take `quantity` from the front of `available` (changed in place)."""
    taken = []
    while quantity > 0 and available:
        lot, have = available[0]
        step = min(have, quantity)
        taken.append((lot, step))
        quantity -= step
        if step == have:
            available.pop(0)
        else:
            available[0] = (lot, have - step)
    return taken


def requisition_return(
    *,
    actor: Any,
    requisition: Requisition,
    quantities: Mapping[int, Decimal] | None,
    defective: Mapping[int, Decimal] | None = None,
    quarantine: StockLocation | None = None,
    reason: str = "",
) -> Requisition:
    """Give back parts of a received requisition from the destination stock: unused ones to
    the warehouse they came from (as good stock), defective ones to quarantine. Never more per
    line than was issued less what already came back."""
    with transaction.atomic():
        locked = _transition(requisition, "return", actor=actor, reason=(reason or "").strip())
        lines = _lines(locked)
        problems = Problems()
        unused = _quantities_by_line(quantities, lines, "quantities", problems)
        broken = _quantities_by_line(defective, lines, "defective", problems)
        if any(broken.values()):
            if quarantine is None:
                problems.add("quarantine", _("Choose the quarantine the defective parts go to."))
            elif quarantine.kind != LocationKind.QUARANTINE or not quarantine.active:
                problems.add("quarantine", _("Defective parts go to a quarantine location."))
        if not problems and not any(unused.values()) and not any(broken.values()):
            problems.add("quantities", _("Give the quantity of at least one part to return."))
        plans: list[tuple[RequisitionLine, list, list]] = []
        for line in lines:
            back, bad = unused.get(line.pk, Decimal(0)), broken.get(line.pk, Decimal(0))
            if back + bad == 0:
                continue
            outstanding = line.quantity_issued - line.quantity_returned
            if back + bad > outstanding:
                problems.add(
                    f"quantities.{line.pk}",
                    _("%(part)s: %(outstanding)s may still be returned, not %(asked)s.")
                    % {
                        "part": line.part.number,
                        "outstanding": quantity_text(outstanding),
                        "asked": quantity_text(back + bad),
                    },
                )
                continue
            available = _returnable_lots(line, locked.destination)
            if sum((item[1] for item in available), Decimal(0)) < back + bad:
                problems.add(
                    f"quantities.{line.pk}",
                    _("%(part)s: only %(have)s of this requisition is still in %(location)s.")
                    % {
                        "part": line.part.number,
                        "have": quantity_text(sum((item[1] for item in available), Decimal(0))),
                        "location": locked.destination,
                    },
                )
                continue
            plans.append((line, _take(available, back), _take(available, bad)))
        problems.raise_if_any(_("Nothing was returned."))
        unused_moves = [
            Move(part=line.part, quantity=quantity, lot=lot, requisition_line=line)
            for line, back_lots, _bad in plans
            for lot, quantity in back_lots
        ]
        defective_moves = [
            Move(
                part=line.part,
                quantity=quantity,
                lot=lot,
                requisition_line=line,
                destination_condition=Condition.DEFECTIVE,
            )
            for line, _back, bad_lots in plans
            for lot, quantity in bad_lots
        ]
        if unused_moves:
            movements_post(
                actor=actor,
                kind=MovementKind.RETURN_UNUSED,
                source=locked.destination,
                destination=locked.source,
                moves=unused_moves,
                reference=locked.number,
                reason=reason,
            )
        if defective_moves:
            movements_post(
                actor=actor,
                kind=MovementKind.RETURN_DEFECTIVE,
                source=locked.destination,
                destination=quarantine,
                moves=defective_moves,
                reference=locked.number,
                reason=reason,
            )
        with audit_context(actor=actor, action="return", reason=(reason or "").strip() or None):
            for line, back_lots, bad_lots in plans:
                line.quantity_returned += sum(
                    (quantity for _lot, quantity in [*back_lots, *bad_lots]), Decimal(0)
                )
                line.save()
    return locked
