"""Who sees which work orders, and the reads the pages and KPIs need: the signatures of a
work order's report revisions, downtime and uptime."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from medservice.customers.selectors import organization_ids_visible_to, user_scope
from medservice.work_orders.models import (
    Quote,
    RateCard,
    ServiceReport,
    Visit,
    WorkOrder,
)


def work_orders_visible_to(user: Any) -> QuerySet[WorkOrder]:
    """Internal staff see every work order; a distributor those of the customers it serves; a
    customer user those of its own organisation."""
    ids = organization_ids_visible_to(user)
    if ids is None:
        return WorkOrder.objects.all()
    return WorkOrder.objects.filter(organization__in=ids)


def visits_visible_to(user: Any) -> QuerySet[Visit]:
    return Visit.objects.filter(work_order__in=work_orders_visible_to(user))


def quotes_visible_to(user: Any) -> QuerySet[Quote]:
    return Quote.objects.filter(work_order__in=work_orders_visible_to(user))


def reports_visible_to(user: Any) -> QuerySet[ServiceReport]:
    return ServiceReport.objects.filter(work_order__in=work_orders_visible_to(user))


def rate_cards_visible_to(user: Any) -> QuerySet[RateCard]:
    # Prices are the company's: customers and distributors see none.
    if user_scope(user) in ("customer", "distributor"):
        return RateCard.objects.none()
    return RateCard.objects.all()


def is_customer(user: Any) -> bool:
    return user_scope(user) == "customer"


# --- Report signatures --------------------------------------------------------------------------


def report_signatures_for(reports: list[ServiceReport]) -> dict[int, dict[str, Any]]:
    """What `reports.report_signatures` gives for each of a work order's report revisions (by
    report id: the engineer's signature, from the first revision; whoever corrected the
    revision; the customer's), in one query however many revisions there are. A revision whose
    first revision is not among `reports` is looked up on its own."""
    from django.contrib.contenttypes.models import ContentType

    from medservice.core.choices import SignerKind
    from medservice.core.models import Signature
    from medservice.work_orders.reports import report_signatures

    if not reports:
        return {}
    by_id = {report.pk: report for report in reports}
    own: dict[str, list[Signature]] = {str(pk): [] for pk in by_id}
    for signature in Signature.objects.filter(
        content_type=ContentType.objects.get_for_model(ServiceReport, for_concrete_model=True),
        object_id__in=list(own),
    ).order_by("signed_at", "pk"):
        own[signature.object_id].append(signature)

    def first_of(report: ServiceReport) -> ServiceReport | None:
        while report.supersedes_id is not None:
            if report.supersedes_id not in by_id:
                return None
            report = by_id[report.supersedes_id]
        return report

    def first_of_kind(items: list[Signature], kind: str) -> Signature | None:
        return next((item for item in items if item.signer_kind == kind), None)

    answers: dict[int, dict[str, Any]] = {}
    for report in reports:
        first = first_of(report)
        if first is None:
            answers[report.pk] = report_signatures(report)
            continue
        signatures = own[str(report.pk)]
        answers[report.pk] = {
            "engineer": first_of_kind(own[str(first.pk)], SignerKind.INTERNAL),
            "corrected": first_of_kind(signatures, SignerKind.INTERNAL)
            if report.revision > 1
            else None,
            "customer": first_of_kind(signatures, SignerKind.CUSTOMER),
        }
    return answers


# --- Downtime and uptime ------------------------------------------------------------------------


@dataclass(frozen=True)
class Uptime:
    """A device's (or a model's devices') time out of service within a period."""

    period_hours: Decimal
    down_hours: Decimal

    @property
    def uptime_percent(self) -> Decimal:
        if not self.period_hours:
            return Decimal(100)
        share = (self.period_hours - self.down_hours) / self.period_hours * 100
        return share.quantize(Decimal("0.01"))


def _hours(delta: datetime.timedelta) -> Decimal:
    return (Decimal(delta.total_seconds()) / 3600).quantize(Decimal("0.01"))


def downtime_intervals(
    devices: QuerySet | list[Any], start: datetime.datetime, end: datetime.datetime
) -> dict[int, list[tuple[datetime.datetime, datetime.datetime]]]:
    """Per device id, the merged intervals it was out of service within [start, end): from the
    report of each fault to its return to service (still down: until `end`)."""
    rows = (
        WorkOrder.objects.filter(device__in=devices, down_since__isnull=False, down_since__lt=end)
        .filter(Q(back_in_service_at__isnull=True) | Q(back_in_service_at__gt=start))
        .exclude(status__in=("cancelled", "declined"))
        .values_list("device_id", "down_since", "back_in_service_at")
        .order_by("device_id", "down_since")
    )
    merged: dict[int, list[tuple[datetime.datetime, datetime.datetime]]] = {}
    for device_id, since, back in rows:
        low, high = max(since, start), min(back or end, end)
        if high <= low:
            continue
        intervals = merged.setdefault(device_id, [])
        if intervals and low <= intervals[-1][1]:
            intervals[-1] = (intervals[-1][0], max(intervals[-1][1], high))
        else:
            intervals.append((low, high))
    return merged


def device_uptime(device: Any, start: datetime.datetime, end: datetime.datetime) -> Uptime:
    intervals = downtime_intervals([device], start, end).get(device.pk, [])
    down = sum((b - a for a, b in intervals), datetime.timedelta())
    return Uptime(period_hours=_hours(end - start), down_hours=_hours(down))


def model_uptime(device_model: Any, start: datetime.datetime, end: datetime.datetime) -> Uptime:
    """Over every installed unit of the model: total unit-hours against unit-hours down."""
    from medservice.installed_base.models import Device

    devices = Device.objects.filter(device_model=device_model).exclude(
        status__in=("in_stock", "returned", "scrapped")
    )
    count = devices.count()
    intervals = downtime_intervals(devices, start, end)
    down = sum((b - a for spans in intervals.values() for a, b in spans), datetime.timedelta())
    return Uptime(period_hours=_hours((end - start) * count), down_hours=_hours(down))


def downtime_hours(work_order: WorkOrder, *, now: datetime.datetime | None = None) -> Decimal:
    """How long this work order's device has been (or was) out of service."""
    if work_order.down_since is None:
        return Decimal(0)
    end = work_order.back_in_service_at or now or timezone.now()
    return _hours(max(end - work_order.down_since, datetime.timedelta()))
