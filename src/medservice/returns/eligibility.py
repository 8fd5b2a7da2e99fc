"""Whether a return may be accepted as a return (exchange or refund): every active return rule
that matches each product is checked, with the holds and the proof of purchase, and each
failure says which rule and why, in the reader's language. An ineligible request can still go
on as a repair.

The window runs from the start date (delivery, or acceptance when the rule says so) to the
start date plus the rule's days, both included, measured to the day the customer asked.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from medservice.returns.choices import (
    PROOF_KINDS,
    ConditionRequired,
    ItemCondition,
    WindowStart,
)
from medservice.returns.models import ReturnLine, ReturnRequest, ReturnRule

# Built-in checks, named like rules in the answer.
HOLD = "hold"
PROOF = "proof"


@dataclass(frozen=True)
class Failure:
    """One rule a return does not meet: the check (window, condition, opened, hold, proof), the
    rule's name, the product it concerns (empty: the whole request) and why."""

    code: str
    rule: str
    line: str
    why: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _day(value: datetime.date) -> str:
    return date_format(value, "Y-m-d")


def rules_active() -> list[ReturnRule]:
    return list(
        ReturnRule.objects.filter(active=True)
        .select_related("device_model", "product_line")
        .order_by("name", "pk")
    )


def line_label(line: ReturnLine) -> str:
    identity = line.serial_number or line.batch_number
    return f"{line.device_model.name} {line.device_model.model_spec} {identity}".strip()


def window_start(line: ReturnLine, rule: ReturnRule) -> tuple[datetime.date | None, str]:
    """The day the rule's window opens for this product, and what that day is."""
    delivered_on = None
    delivery_line = line.delivery_line or (line.device.delivery_line if line.device_id else None)
    if delivery_line is not None:
        delivered_on = delivery_line.delivery.delivered_on
    if rule.window_start == WindowStart.ACCEPTANCE:
        accepted_on = line.device.accepted_on if line.device_id else None
        if accepted_on is not None:
            return accepted_on, _("acceptance")
        # Consumables are never formally accepted: their window runs from the delivery.
    return delivered_on, _("delivery")


def _rule_failures(
    line: ReturnLine, rule: ReturnRule, requested_on: datetime.date
) -> list[Failure]:
    failures = []
    label = line_label(line)
    if rule.window_days is not None:
        start, start_name = window_start(line, rule)
        if start is None:
            failures.append(Failure("window", rule.name, label, _(
                "The delivery date is not known, so the %(days)s-day window of this rule cannot "
                "be checked: link the product to its delivery."
            ) % {"days": rule.window_days}))  # fmt: skip
        else:
            last_day = start + datetime.timedelta(days=rule.window_days)
            if requested_on > last_day:
                failures.append(Failure("window", rule.name, label, _(
                    "The return window of %(days)s days from %(start_name)s on %(start)s ended "
                    "on %(last)s; the request was made on %(requested)s."
                ) % {
                    "days": rule.window_days, "start_name": start_name, "start": _day(start),
                    "last": _day(last_day), "requested": _day(requested_on),
                }))  # fmt: skip
    if rule.condition_required == ConditionRequired.UNOPENED and (
        line.condition != ItemCondition.UNOPENED
    ):
        failures.append(Failure("condition", rule.name, label, _(
            "Only unopened products in their original packaging are taken back; this one is: "
            "%(condition)s."
        ) % {"condition": line.get_condition_display()}))  # fmt: skip
    elif rule.condition_required == ConditionRequired.COMPLETE and (
        line.condition == ItemCondition.DAMAGED
    ):
        failures.append(Failure("condition", rule.name, label, _(
            "Only complete, undamaged products are taken back; this one is: %(condition)s."
        ) % {"condition": line.get_condition_display()}))  # fmt: skip
    if rule.non_returnable_once_opened and line.condition != ItemCondition.UNOPENED:
        failures.append(Failure("opened", rule.name, label, _(
            "%(product)s cannot be returned once opened (for example sterile single-use "
            "products): its sterility and integrity can no longer be guaranteed."
        ) % {"product": line.device_model.name}))  # fmt: skip
    return failures


def line_hold(line: ReturnLine) -> Any:
    """The active hold on this product (batch, serial or unit), or None: the one question every
    app asks installed_base before acting."""
    from medservice.installed_base.services import hold_active_for

    if line.device_id:
        return hold_active_for(device=line.device)
    return hold_active_for(
        device_model=line.device_model_id,
        batch_number=line.batch_number,
        serial_number=line.serial_number,
    )


def hold_failure(line: ReturnLine) -> Failure | None:
    hold = line_hold(line)
    if hold is None:
        return None
    return Failure(HOLD, str(hold.get_kind_display()), line_label(line), _(
        "%(product)s is on hold (%(reason)s): it may not be returned or exchanged until the "
        "hold is released."
    ) % {"product": line_label(line), "reason": hold.reason})  # fmt: skip


def proof_failure(request: ReturnRequest, lines: list[ReturnLine]) -> Failure | None:
    """A return needs proof of purchase: an invoice or receipt, or a delivery or invoice number
    that matches the products' deliveries."""
    has_file = request.files.filter(kind__in=PROOF_KINDS).exists() if request.pk else False
    if has_file:
        return None
    reference = (request.delivery_reference or "").strip()
    if not reference:
        return Failure(PROOF, _("Proof of purchase"), "", _(
            "No proof of purchase: attach the invoice or receipt, or give the delivery or "
            "invoice number."
        ))  # fmt: skip
    known = set()
    for line in lines:
        delivery_line = line.delivery_line or (
            line.device.delivery_line if line.device_id else None
        )
        if delivery_line is not None:
            known |= {delivery_line.delivery.number, delivery_line.delivery.invoice_number}
    known.discard("")
    if known and reference not in known:
        return Failure(PROOF, _("Proof of purchase"), "", _(
            "The number %(reference)s matches none of the deliveries of these products "
            "(%(known)s): attach the invoice or receipt."
        ) % {"reference": reference, "known": ", ".join(sorted(known))})  # fmt: skip
    return None


def eligibility_check(
    request: ReturnRequest, *, lines: list[ReturnLine] | None = None
) -> list[Failure]:
    """Every rule the request fails, with why; an empty list: it may be accepted as a return."""
    if lines is None:
        lines = list(
            request.lines.select_related(
                "device__delivery_line__delivery", "delivery_line__delivery", "device_model"
            ).order_by("pk")
        )
    rules = rules_active()
    failures: list[Failure] = []
    proof = proof_failure(request, lines)
    if proof is not None:
        failures.append(proof)
    for line in lines:
        for rule in rules:
            if rule.matches(line.device_model):
                failures.extend(_rule_failures(line, rule, request.requested_on))
        held = hold_failure(line)
        if held is not None:
            failures.append(held)
    return failures
