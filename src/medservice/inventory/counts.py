"""Stock counts (盘点): freeze a location, snapshot its books, record what is on the shelf, and
post the variances as count adjustments once someone other than the counter approves them.

While a count is open the location's `counting` flag is set and `movements_post` refuses every
movement in or out of it, so the book quantities of the snapshot stay true until the count is
posted or cancelled. The states and who may move between them are STOCK_COUNT_TRANSITIONS
(workflow.py); every state change goes through core.workflow.transition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    SegregationOfDutiesError,  # noqa: F401  (re-exported)
)
from medservice.core.numbering import number_next
from medservice.core.workflow import transition
from medservice.inventory.choices import (
    Condition,
    MovementKind,
    PartTracking,
    StockCountStatus,
)
from medservice.inventory.models import (
    Part,
    StockBalance,
    StockCount,
    StockCountLine,
    StockLocation,
)
from medservice.inventory.services import (
    LocationCountingError,
    Move,
    Problems,
    lot_for_receipt,
    movements_post,
    require_permission,
)
from medservice.inventory.workflow import STOCK_COUNT_TRANSITIONS

OPEN_COUNT_STATUSES = frozenset({StockCountStatus.COUNTING, StockCountStatus.SUBMITTED})


def _quantity(value: Any) -> Decimal | None:
    """A counted quantity as a Decimal, or None when it is not a number."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number.as_tuple().exponent < -3 or abs(number) >= 10**9:
        # The ledger keeps three decimals and nine digits before the point.
        return None
    return number


def _text(value: str | None) -> str:
    return (value or "").strip()


def line_label(line: StockCountLine) -> str:
    """How a count line is named in messages: part, lot or serial, condition."""
    label = str(line.part)
    if line.lot_id is not None:
        label += f" ({line.lot})"
    if line.condition != Condition.GOOD:
        label += f" [{line.get_condition_display()}]"
    return label


def _set_counting(location_id: int, counting: bool, *, actor: Any, action: str) -> None:
    """Freeze or unfreeze the location (audited as part of the count's action)."""
    location = StockLocation.objects.select_for_update().get(pk=location_id)
    if location.counting != counting:
        location.counting = counting
        with audit_context(actor=actor, action=action):
            location.save()


def stock_count_start(*, actor: Any, location: StockLocation, reason: str = "") -> StockCount:
    """Open a count of `location`: freeze it and copy every balance on hand into the count sheet
    as the book quantity. Waits for movements already posting at the location (they hold a
    shared lock on its row), so the snapshot never catches a movement half-way."""
    require_permission(actor, "inventory.add_stockcount", _("You may not start a stock count."))
    reason = _text(reason)
    try:
        with transaction.atomic():
            # Exclusive lock: in-flight postings hold FOR SHARE on this row, so this waits for
            # them, and postings that start after it see `counting` and are refused.
            locked = StockLocation.objects.select_for_update().get(pk=location.pk)
            if not locked.active:
                raise InvalidInputError(
                    _("%(location)s is no longer in use.") % {"location": locked},
                    fields={"location": [_("Choose a location in use.")]},
                )
            if (
                locked.counting
                or StockCount.objects.filter(
                    location=locked, status__in=OPEN_COUNT_STATUSES
                ).exists()
            ):
                raise LocationCountingError(
                    _("A stock count is already open at %(location)s.") % {"location": locked}
                )
            with audit_context(actor=actor, reason=reason or None, action="stock-count-start"):
                count = StockCount.objects.create(
                    number=number_next(prefix="SC"),
                    location=locked,
                    started_by=actor,
                    started_at=timezone.now(),
                )
                locked.counting = True
                locked.save()
                balances = (
                    StockBalance.objects.filter(location=locked, quantity__gt=0)
                    .select_related("part", "lot")
                    .order_by("part__number", "lot__expiry_date", "lot_id", "condition")
                )
                for balance in balances:
                    StockCountLine.objects.create(
                        count=count,
                        part=balance.part,
                        lot=balance.lot,
                        condition=balance.condition,
                        book_quantity=balance.quantity,
                    )
    except IntegrityError as error:
        # The one-open-count constraint caught a count started at the same moment.
        raise LocationCountingError(
            _("A stock count is already open at %(location)s.") % {"location": location}
        ) from error
    return count


def _extra_line(
    count: StockCount, item: Mapping[str, Any], position: int, problems: Problems
) -> StockCountLine | None:
    """A found item not on the books, checked; None (with problems added) when it is wrong."""
    prefix = f"extra_lines.{position}."
    part = item.get("part")
    if part is not None and not isinstance(part, Part):
        part = Part.objects.filter(pk=part).first() if str(part).isdigit() else None
    if part is None:
        problems.add(f"{prefix}part", _("Choose the part found."))
        return None
    quantity = _quantity(item.get("counted_quantity"))
    if quantity is None or quantity <= 0:
        problems.add(f"{prefix}counted_quantity", _("Give the quantity found (more than zero)."))
        return None
    condition = item.get("condition") or Condition.GOOD
    if condition not in Condition.values:
        problems.add(f"{prefix}condition", _("Choose good or defective."))
        return None
    lot_number, serial_number = _text(item.get("lot_number")), _text(item.get("serial_number"))
    if part.tracking == PartTracking.LOT and not lot_number:
        problems.add(f"{prefix}lot_number",
                     _("%(part)s is tracked by lot: give the lot number.")
                     % {"part": part.number})  # fmt: skip
        return None
    if part.tracking == PartTracking.SERIAL:
        if not serial_number:
            problems.add(
                f"{prefix}serial_number",
                _("%(part)s is tracked by serial number: give the serial number.")
                % {"part": part.number},
            )
            return None
        if quantity != 1:
            problems.add(f"{prefix}counted_quantity",
                         _("A serial number is one unit: quantity 1."))  # fmt: skip
            return None
    lot = lot_for_receipt(part=part, lot_number=lot_number, serial_number=serial_number)
    if count.lines.filter(part=part, lot=lot, condition=condition).exists():
        problems.add(
            f"{prefix}part",
            _("%(part)s is already on the count sheet: enter its count on its line.")
            % {"part": part.number},
        )
        return None
    return StockCountLine(
        count=count,
        part=part,
        lot=lot,
        condition=condition,
        book_quantity=Decimal(0),
        counted_quantity=quantity,
        note=_text(item.get("note"))[:200],
    )


def stock_count_record(
    *,
    actor: Any,
    count: StockCount,
    counted: Mapping[int, Any],
    extra_lines: Sequence[Mapping[str, Any]] = (),
    notes: Mapping[int, str] | None = None,
) -> StockCount:
    """Record counted quantities on the sheet (`counted`: line id -> quantity; a blank value
    clears the line) and add items found that are not on the books (`extra_lines`: part,
    lot_number / serial_number, condition, counted_quantity; their book quantity is 0). May be
    called as often as needed while counting; all or nothing."""
    notes = notes or {}
    with transaction.atomic():
        count = transition(count, "record", transitions=STOCK_COUNT_TRANSITIONS, actor=actor)
        lines = {line.pk: line for line in count.lines.select_related("part", "lot")}
        problems = Problems()
        changed: list[StockCountLine] = []
        for key, value in counted.items():
            line = lines.get(int(key)) if str(key).isdigit() else None
            if line is None:
                problems.add(f"counted.{key}", _("This line is not on the count sheet."))
                continue
            quantity = None if value is None or value == "" else _quantity(value)
            if value not in (None, "") and (quantity is None or quantity < 0):
                problems.add(
                    f"counted.{key}",
                    _("%(line)s: give the quantity counted (zero or more).")
                    % {"line": line_label(line)},
                )
                continue
            if (
                quantity is not None
                and line.part.tracking == PartTracking.SERIAL
                and quantity not in (0, 1)
            ):
                problems.add(
                    f"counted.{key}",
                    _("%(line)s is one serial-numbered unit: count 0 or 1.")
                    % {"line": line_label(line)},
                )
                continue
            line.counted_quantity = quantity
            if int(key) in notes or str(key) in notes:
                line.note = _text(notes.get(int(key), notes.get(str(key))))[:200]
            changed.append(line)
        found: list[StockCountLine] = []
        for position, item in enumerate(extra_lines, start=1):
            line = _extra_line(count, item, position, problems)
            if line is None:
                continue
            if any(
                (other.part_id, other.lot_id, other.condition)
                == (line.part_id, line.lot_id, line.condition)
                for other in found
            ):
                problems.add(
                    f"extra_lines.{position}.part",
                    _("%(part)s is named twice: add the quantities up on one line.")
                    % {"part": line.part.number},
                )
                continue
            found.append(line)
        problems.raise_if_any(_("The counts were not recorded."))
        with audit_context(actor=actor, action="stock-count-record"):
            for line in changed:
                line.save()
            for line in found:
                line.save()
    return count


def stock_count_submit(*, actor: Any, count: StockCount) -> StockCount:
    """Hand the finished sheet in for approval: every line must have been counted."""
    with transaction.atomic():
        count = transition(
            count,
            "submit",
            transitions=STOCK_COUNT_TRANSITIONS,
            actor=actor,
            changes={"submitted_by": actor, "submitted_at": timezone.now()},
        )
        missing = [
            line
            for line in count.lines.select_related("part", "lot").order_by("pk")
            if line.counted_quantity is None
        ]
        if missing:
            raise InvalidInputError(
                _("Count every line before submitting; not counted yet: %(lines)s.")
                % {"lines": "; ".join(line_label(line) for line in missing)},
                fields={f"counted.{line.pk}": [_("Not counted yet.")] for line in missing},
            )
    return count


def stock_count_reopen(*, actor: Any, count: StockCount, reason: str) -> StockCount:
    """Send a submitted count back to the counter for a recount, saying what to recount."""
    reason = _text(reason)
    if not reason:
        raise InvalidInputError(
            _("Say what is to be recounted."),
            fields={"reason": [_("A reason is required to send a count back.")]},
        )
    with transaction.atomic():
        count = transition(
            count,
            "reopen",
            transitions=STOCK_COUNT_TRANSITIONS,
            actor=actor,
            reason=reason,
            changes={"submitted_by": None, "submitted_at": None},
        )
    return count


def stock_count_variances(count: StockCount) -> list[StockCountLine]:
    """The lines whose counted quantity differs from the book."""
    return [
        line
        for line in count.lines.select_related("part", "lot").order_by("pk")
        if line.counted_quantity is not None and line.counted_quantity != line.book_quantity
    ]


def stock_count_approve(*, actor: Any, count: StockCount, reason: str = "") -> StockCount:
    """Approve a submitted count: post every variance as a count adjustment (surplus into the
    location, shortage out of it), approved by `actor`, then unfreeze the location. The
    approver may not be the person who submitted the count, and variances need a reason."""
    reason = _text(reason)
    with transaction.atomic():
        count = transition(
            count,
            "approve",
            transitions=STOCK_COUNT_TRANSITIONS,
            actor=actor,
            reason=reason,
            changes={"approved_by": actor, "approved_at": timezone.now(), "reason": reason},
        )
        variances = stock_count_variances(count)
        if variances and not reason:
            raise InvalidInputError(
                _("Say why the counted stock differs from the books."),
                fields={"reason": [_("A reason is required to post variances.")]},
            )
        location = count.location
        surplus = [
            Move(
                part=line.part,
                quantity=line.counted_quantity - line.book_quantity,
                lot=line.lot,
                destination_condition=line.condition,
                count_line=line,
            )
            for line in variances
            if line.counted_quantity > line.book_quantity
        ]
        shortage = [
            Move(
                part=line.part,
                quantity=line.book_quantity - line.counted_quantity,
                lot=line.lot,
                source_condition=line.condition,
                count_line=line,
            )
            for line in variances
            if line.counted_quantity < line.book_quantity
        ]
        common = {
            "actor": actor,
            "kind": MovementKind.ADJUSTMENT,
            "reference": count.number,
            "reason": reason,
            "approved_by": actor,
            # The location is frozen for exactly this count: its own adjustments may post.
            "ignore_counting": True,
        }
        if surplus:
            movements_post(destination=location, moves=surplus, **common)
        if shortage:
            movements_post(source=location, moves=shortage, **common)
        _set_counting(location.pk, False, actor=actor, action="stock-count-approve")
    return count


def stock_count_cancel(*, actor: Any, count: StockCount, reason: str) -> StockCount:
    """Abandon an open count without posting anything; the location moves again."""
    reason = _text(reason)
    if not reason:
        raise InvalidInputError(
            _("Say why the count is cancelled."),
            fields={"reason": [_("A reason is required to cancel a count.")]},
        )
    with transaction.atomic():
        count = transition(
            count, "cancel", transitions=STOCK_COUNT_TRANSITIONS, actor=actor, reason=reason
        )
        _set_counting(count.location_id, False, actor=actor, action="stock-count-cancel")
    return count


def stock_count_summary(count: StockCount) -> dict[str, Any]:
    """Totals for the count's page: lines, counted lines, variance lines."""
    lines = list(count.lines.all())
    return {
        "lines": len(lines),
        "counted": sum(1 for line in lines if line.counted_quantity is not None),
        "variances": sum(
            1
            for line in lines
            if line.counted_quantity is not None and line.counted_quantity != line.book_quantity
        ),
    }


def book_quantities_visible(count: StockCount, user: Any) -> bool:
    """Whether `user` may see the book quantities and variances of `count`. Never while
    counting (a blind count: the counter writes what is on the shelf, not what the books
    expect); after submission, the approvers; once posted or cancelled, anyone who sees it."""
    if count.status == StockCountStatus.COUNTING:
        return False
    if count.status == StockCountStatus.SUBMITTED:
        return user is not None and user.has_perm("inventory.approve_stockcount")
    return True
