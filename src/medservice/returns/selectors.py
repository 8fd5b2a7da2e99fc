"""Who sees which returns, and the reads the pages, the workflow's guards and the reports need:
what has been refunded, what is still owed, what else is already coming back of a delivery
line, and the returns counted by model, reason, cause, responsibility and period."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from medservice.customers.selectors import organization_ids_visible_to, user_scope
from medservice.returns.choices import Decision, ReturnStatus
from medservice.returns.models import (
    ExchangeUnit,
    Refund,
    ReturnFile,
    ReturnLine,
    ReturnRequest,
    ReturnRule,
)

ZERO = Decimal("0.00")
# A repair work order in one of these states no longer keeps its return open.
REPAIR_ENDED = frozenset({"completed", "closed", "cancelled", "declined"})
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


def returns_visible_to(user: Any) -> QuerySet[ReturnRequest]:
    """Internal staff see every return; a distributor those of the customers it serves; a
    customer user those of its own organisation (and its departments)."""
    ids = organization_ids_visible_to(user)
    if ids is None:
        return ReturnRequest.objects.all()
    return ReturnRequest.objects.filter(organization__in=ids)


def return_rules_visible_to(user: Any) -> QuerySet[ReturnRule]:
    # The company's own policy settings: customers and distributors read the outcome on their
    # requests (which rule failed and why), not the rule table.
    if user_scope(user) in ("customer", "distributor", "none"):
        return ReturnRule.objects.none()
    return ReturnRule.objects.all()


def lines_of(request: ReturnRequest) -> QuerySet[ReturnLine]:
    return request.lines.select_related(
        "device__device_model", "delivery_line__delivery", "device_model", "work_order"
    ).order_by("pk")


def files_of(request: ReturnRequest) -> QuerySet[ReturnFile]:
    return request.files.select_related("uploaded_by").order_by("pk")


def refunds_of(request: ReturnRequest) -> QuerySet[Refund]:
    return request.refunds.select_related("line__device_model", "recorded_by").order_by("pk")


def exchanges_of(request: ReturnRequest) -> QuerySet[ExchangeUnit]:
    return request.exchange_units.select_related(
        "part", "lot", "location", "old_device", "new_device"
    ).order_by("pk")


def refunded_total(request: ReturnRequest) -> Decimal:
    return Refund.objects.filter(request=request).aggregate(
        total=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY_FIELD)
    )["total"]


def refund_outstanding(request: ReturnRequest) -> Decimal:
    """What of the approved refund is still to be paid."""
    if request.refund_approved is None:
        return ZERO
    return request.refund_approved - refunded_total(request)


def refunded_on_line(line: ReturnLine) -> Decimal:
    return Refund.objects.filter(line=line).aggregate(
        total=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY_FIELD)
    )["total"]


def refunded_on_delivery_line(delivery_line_id: int) -> Decimal:
    """Every refund of the delivery line, across all its returns."""
    return Refund.objects.filter(delivery_line_id=delivery_line_id).aggregate(
        total=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY_FIELD)
    )["total"]


def quantity_returning(delivery_line_id: int, *, exclude_request: Any = None) -> int:
    """How much of a delivery line other returns already take back (rejected ones do not)."""
    lines = ReturnLine.objects.filter(delivery_line_id=delivery_line_id, device__isnull=True)
    lines = lines.exclude(request__status=ReturnStatus.REJECTED)
    if exclude_request is not None:
        lines = lines.exclude(request=exclude_request)
    return lines.aggregate(total=Coalesce(Sum("quantity"), 0))["total"]


def close_refusal(request: ReturnRequest) -> str:
    """Why the return cannot be closed yet ("" when it can): its decision is not carried out."""
    if request.status == ReturnStatus.APPROVED and request.decision != Decision.REPAIR:
        return _("The products have not been received yet.")
    if request.decision == Decision.REPAIR and request.status == ReturnStatus.APPROVED:
        open_orders = [
            line.work_order.number
            for line in request.lines.select_related("work_order")
            if line.work_order_id and line.work_order.status not in REPAIR_ENDED
        ]
        if open_orders:
            return _("The repair is still open: %(numbers)s.") % {"numbers": ", ".join(open_orders)}
    if request.status == ReturnStatus.REFUNDED and refund_outstanding(request) > 0:
        return _("%(amount)s of the approved refund is still to be paid.") % {
            "amount": refund_outstanding(request)
        }
    return ""


# --- Reports ------------------------------------------------------------------------------------

REPORT_GROUPS = {
    # group: (the line's field it counts by, the label source)
    "device_model": "device_model",
    "reason": "request__reason",
    "cause": "request__cause",
    "responsibility": "request__responsibility",
    "decision": "request__decision",
    "month": "month",
}


@dataclass
class ReportRow:
    key: Any
    label: str
    requests: int
    quantity: int
    refunded: Decimal


def returns_report(
    user: Any,
    *,
    group: str,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    device_model: Any = None,
) -> list[ReportRow]:
    """Returns counted by one dimension over a period (by the day the customer asked): how many
    requests, how many products, how much refunded. One query for the counts, one for money."""
    from django.db.models.functions import TruncMonth

    from medservice.returns.choices import Cause, Responsibility, ReturnReason
    from medservice.returns.choices import Decision as DecisionChoice

    requests = returns_visible_to(user)
    if date_from is not None:
        requests = requests.filter(requested_on__gte=date_from)
    if date_to is not None:
        requests = requests.filter(requested_on__lte=date_to)
    lines = ReturnLine.objects.filter(request__in=requests)
    if device_model is not None:
        lines = lines.filter(device_model=device_model)
    refunds = Refund.objects.filter(line__in=lines)
    if group == "month":
        lines = lines.annotate(month=TruncMonth("request__requested_on"))
        refunds = refunds.annotate(month=TruncMonth("request__requested_on"))
        field, refund_field = "month", "month"
    else:
        field = REPORT_GROUPS[group]
        refund_field = "line__device_model" if group == "device_model" else field
    counted = list(
        lines.values(field)
        .annotate(requests=Count("request", distinct=True), quantity=Sum("quantity"))
        .order_by(field)
    )
    money = {
        row[refund_field]: row["total"]
        for row in refunds.values(refund_field).annotate(total=Sum("amount")).order_by()
    }
    labels = {
        "reason": dict(ReturnReason.choices),
        "cause": dict(Cause.choices),
        "responsibility": dict(Responsibility.choices),
        "decision": dict(DecisionChoice.choices),
    }.get(group, {})
    if group == "device_model":
        from medservice.catalog.models import DeviceModel

        ids = [row[field] for row in counted]
        labels = {
            model.pk: f"{model.name} {model.model_spec}"
            for model in DeviceModel.objects.filter(pk__in=ids)
        }
    rows = []
    for row in counted:
        key = row[field]
        if group == "month":
            label = key.strftime("%Y-%m") if key else "—"
        else:
            label = str(labels.get(key, key)) if key else _("Not yet decided")
        rows.append(
            ReportRow(
                key=key,
                label=label,
                requests=row["requests"],
                quantity=row["quantity"] or 0,
                refunded=money.get(key) or ZERO,
            )
        )
    return rows
