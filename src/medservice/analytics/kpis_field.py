"""KPIs of docs/kpis.md, area: field. Each is registered with @kpi in medservice.analytics.kpis.

Field work (work orders, visits, PM visits, units in service) and, in the group "parts", the two
internal-only money figures (parts consumption, cost of service). Every function builds its
population once — scoped through `kpis.scoped`, then filtered — and computes the figure from
that same queryset, so the drill-down is exactly what was counted.

Data-model gaps (docs/kpis.md, "Gaps in the data model") and the fallbacks used here:
1. a work order has no team: the team filter reads `ticket.team` (none without a ticket);
2. `Visit.late_alerts` does not exist: a visit rescheduled after its window started is judged
   on its new window;
3. `WorkOrder.device_down` does not exist: every repair's `down_since` counts as down;
4. `Device.out_of_service_on` does not exist: returned and scrapped units drop out of every
   period;
5. `FaultCode.is_failure` does not exist: only coverage exclusions are not failures.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from medservice.analytics import kpis
from medservice.analytics.choices import Direction, Unit
from medservice.analytics.kpis import (
    HUNDRED,
    BreakdownRow,
    Column,
    KpiFilter,
    KpiResult,
    by_pk,
    distribution,
    hours_between,
    kpi,
    local_midnight,
    percent,
    rate,
    round1,
    round2,
    scoped,
)

# Cancelled and declined work orders count in no work-order KPI (docs/kpis.md, "Common
# exclusions"), as work_orders.selectors.downtime_intervals already does.
EXCLUDED_WORK_ORDER_STATUSES = ("cancelled", "declined")
# Units out of use by their status (the set work_orders.selectors.model_uptime uses); without
# an out-of-service date (gap 4) they drop out of every period.
NOT_IN_USE_STATUSES = ("in_stock", "returned", "scrapped")
REPEAT_WINDOW = datetime.timedelta(days=30)
# The on-time variant of PM completion: done within this many days after the due date.
PM_ON_TIME_DAYS = 7
# Open work orders without a promised date older than this are shown beside the overdue count.
NO_PROMISE_AGE_DAYS = 14
TOP_PARTS = 10

UNIT_FILTERS = ("region", "organization", "device_model")


def _local(moment: datetime.datetime | None) -> str | None:
    """A stored time as the drill-down shows it: local, to the minute."""
    if moment is None:
        return None
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _work_orders(kpi_filter: KpiFilter, *, engineer: bool = True, team: bool = True) -> QuerySet:
    """The work orders a user may see, with the filters mapped as docs/kpis.md says: the
    device's model; the team through the request (gap 1: a work order has no team)."""
    from medservice.work_orders.models import WorkOrder

    return scoped(
        WorkOrder.objects.exclude(status__in=EXCLUDED_WORK_ORDER_STATUSES),
        kpi_filter,
        device_model="device__device_model",
        engineer="engineer" if engineer else None,
        team="ticket__team" if team else None,
    )


def _units(kpi_filter: KpiFilter) -> QuerySet:
    """The units in use of serial-tracked models in the user's scope (docs/kpis.md, `mtbf`
    and `uptime`; batch-tracked items have no uptime or MTBF), in service by the period's end
    (or now). `in_service_from`: installation, else acceptance, else delivery, else the
    day it was recorded (the rule of quality.trends._unit_starts)."""
    from medservice.catalog.choices import Tracking
    from medservice.installed_base.models import Device

    last_day = timezone.localdate(kpi_filter.upto - datetime.timedelta(microseconds=1))
    return (
        scoped(
            Device.objects.filter(device_model__tracking=Tracking.SERIAL).exclude(
                status__in=NOT_IN_USE_STATUSES
            ),
            kpi_filter,
            device_model="device_model",
        )
        .annotate(
            in_service_from=Coalesce(
                "installed_on",
                "accepted_on",
                "delivery_line__delivery__delivered_on",
                TruncDate("created_at"),
                output_field=DateField(),
            )
        )
        .filter(in_service_from__lte=last_day)
        .select_related("delivery_line__delivery", "organization", "device_model")
    )


def _unit_spans(
    kpi_filter: KpiFilter, units: QuerySet
) -> dict[int, tuple[datetime.datetime, datetime.datetime]]:
    """Per unit, the span of the period it was in service: from the later of the period's
    start and its in-service date to the period's end (or now)."""
    start, end = kpi_filter.start_at, kpi_filter.upto
    return {
        unit_id: (max(start, local_midnight(day)), end)
        for unit_id, day in units.values_list("pk", "in_service_from")
    }


def _down_seconds(
    units: QuerySet,
    spans: dict[int, tuple[datetime.datetime, datetime.datetime]],
    start: datetime.datetime,
    end: datetime.datetime,
) -> datetime.timedelta:
    """The merged time out of service of these units within their spans, from
    work_orders.selectors.downtime_intervals (overlapping repairs merged)."""
    from medservice.work_orders.selectors import downtime_intervals

    intervals = downtime_intervals(units.order_by().values("pk"), start, end)
    total = datetime.timedelta()
    for device_id, pieces in intervals.items():
        low, high = spans[device_id]
        for since, back in pieces:
            since, back = max(since, low), min(back, high)
            if back > since:
                total += back - since
    return total


def _hours(delta: datetime.timedelta) -> Decimal:
    return round2(Decimal(delta.total_seconds()) / kpis.SECONDS_PER_HOUR)


# --- Visits -------------------------------------------------------------------------------------


def _grace() -> datetime.timedelta:
    return datetime.timedelta(minutes=int(getattr(settings, "WORK_ORDER_LATE_GRACE_MINUTES", 15)))


def _minutes_late(visit: Any) -> int | None:
    if visit.checked_in_at is None:
        return None
    return max(0, int((visit.checked_in_at - visit.window_start).total_seconds() // 60))


@kpi(
    "on_time_arrival", name=_("On-time arrival"), unit=Unit.PERCENT, group="field", order=30,
    statistic=_("share of appointments"), measure_label=_("On time"),
    columns=(
        Column(_("Work order"), lambda visit: visit.work_order.number),
        Column(_("Engineer"), lambda visit: visit.engineer.get_full_name() or visit.engineer),
        Column(_("Appointment from"), lambda visit: _local(visit.window_start)),
        Column(_("Appointment until"), lambda visit: _local(visit.window_end)),
        Column(_("Checked in at"), lambda visit: _local(visit.checked_in_at)),
        Column(_("Minutes late"), _minutes_late),
    ),
    select_related=("work_order", "engineer"),
)  # fmt: skip
def kpi_on_time_arrival(kpi_filter: KpiFilter) -> KpiResult:
    """Appointments checked in no later than the window's start plus the late-arrival grace,
    among those checked in and the no-shows (still scheduled after the window ended)."""
    from medservice.work_orders.choices import VisitStatus
    from medservice.work_orders.models import Visit

    visits = scoped(
        Visit.objects.exclude(status=VisitStatus.CANCELLED).exclude(
            work_order__status__in=EXCLUDED_WORK_ORDER_STATUSES
        ),
        kpi_filter,
        organization="work_order__organization",
        region="work_order__organization__region",
        device_model="work_order__device__device_model",
        engineer="engineer",
        team="work_order__ticket__team",
    )
    records = (
        visits.filter(kpi_filter.in_period("window_start"))
        .filter(
            Q(status__in=(VisitStatus.ON_SITE, VisitStatus.DONE))
            | Q(status=VisitStatus.SCHEDULED, window_end__lt=kpi_filter.now)
        )
        .select_related("work_order", "engineer")
        .order_by("window_start", "pk")
    )
    grace = _grace()

    def on_time(visit: Any) -> bool:
        return visit.checked_in_at is not None and (
            visit.checked_in_at <= visit.window_start + grace
        )

    return rate("on_time_arrival", records, by_pk(records, on_time))


# --- Repairs ------------------------------------------------------------------------------------


@kpi(
    "first_time_fix", name=_("First-time fix"), unit=Unit.PERCENT, group="field", order=31,
    statistic=_("share of on-site repairs"), measure_label=_("Fixed first time"),
    columns=(
        Column(_("Work order"), lambda work_order: work_order.number),
        Column(_("Engineer"), lambda work_order: work_order.engineer),
        Column(_("Completed at"), lambda work_order: _local(work_order.completed_at)),
        Column(_("Visits"), lambda work_order: work_order.visits_checked_in),
        Column(_("Result"), lambda work_order: work_order.get_result_display()),
    ),
    select_related=("engineer",),
)  # fmt: skip
def kpi_first_time_fix(kpi_filter: KpiFilter) -> KpiResult:
    """On-site repairs completed in the period that needed exactly one visit (with a check-in)
    and returned the device to service."""
    from medservice.work_orders.choices import (
        FINISHED_STATUSES,
        Route,
        ServiceResult,
        WorkOrderKind,
    )

    records = (
        _work_orders(kpi_filter)
        .filter(kind=WorkOrderKind.REPAIR, route=Route.ON_SITE, status__in=FINISHED_STATUSES)
        .filter(kpi_filter.in_period("completed_at"))
        .annotate(visits_checked_in=Count("visits", filter=Q(visits__checked_in_at__isnull=False)))
        .select_related("engineer")
        .order_by("completed_at", "pk")
    )
    return rate(
        "first_time_fix",
        records,
        by_pk(
            records,
            lambda work_order: (
                work_order.visits_checked_in == 1
                and work_order.result == ServiceResult.RETURNED_TO_SERVICE
            ),
        ),
    )


def _repairs_returned(kpi_filter: KpiFilter) -> QuerySet:
    """Repairs whose device returned to service in the period (`mttr`, `repeat_failure_30d`);
    those completed as "not to be used" have no return to service and are left out."""
    from medservice.work_orders.choices import ServiceResult, WorkOrderKind

    return (
        _work_orders(kpi_filter)
        .filter(kind=WorkOrderKind.REPAIR, back_in_service_at__isnull=False)
        .exclude(result=ServiceResult.NOT_TO_BE_USED)
        .filter(kpi_filter.in_period("back_in_service_at"))
    )


def _not_to_be_used(kpi_filter: KpiFilter) -> int:
    from medservice.work_orders.choices import ServiceResult, WorkOrderKind

    return (
        _work_orders(kpi_filter)
        .filter(kind=WorkOrderKind.REPAIR, result=ServiceResult.NOT_TO_BE_USED)
        .filter(kpi_filter.in_period("completed_at"))
        .count()
    )


@kpi(
    "mttr", name=_("Mean time to repair"), unit=Unit.HOURS, direction=Direction.AT_MOST,
    group="field", order=32, statistic=_("mean"), measure_label=_("Hours down"),
    columns=(
        Column(_("Work order"), lambda work_order: work_order.number),
        Column(_("Device"), lambda work_order: work_order.device),
        Column(_("Down since"), lambda work_order: _local(work_order.down_since)),
        Column(_("Back in service at"), lambda work_order: _local(work_order.back_in_service_at)),
        Column(_("Engineer"), lambda work_order: work_order.engineer),
    ),
    select_related=("device", "engineer"),
)  # fmt: skip
def kpi_mttr(kpi_filter: KpiFilter) -> KpiResult:
    """Mean (and median) hours from the report of the fault to the return to service, over
    the repairs back in service in the period (work_orders.selectors.downtime_hours)."""
    from medservice.work_orders.choices import TimeKind
    from medservice.work_orders.models import TimeEntry
    from medservice.work_orders.selectors import downtime_hours

    records = (
        _repairs_returned(kpi_filter)
        .filter(down_since__isnull=False)
        .select_related("device", "engineer")
        .order_by("back_in_service_at", "pk")
    )
    result = distribution("mttr", records, by_pk(records, downtime_hours))
    result.value = result.mean
    if result.denominator:
        labour = TimeEntry.objects.filter(
            work_order__in=records.order_by(), kind=TimeKind.LABOUR
        ).values_list("hours", flat=True)
        per_repair = round1(sum(labour, Decimal(0)) / result.denominator)
        result.notes.append(
            gettext("Hands-on labour: %(hours)s h per repair.") % {"hours": per_repair}
        )
    unusable = _not_to_be_used(kpi_filter)
    if unusable:
        result.notes.append(
            gettext("%(count)s repairs completed as not to be used are not counted.")
            % {"count": unusable}
        )
    return result


@kpi(
    "mtbf", name=_("Mean time between failures"), unit=Unit.HOURS, group="field", order=33,
    filters=UNIT_FILTERS, statistic=_("operating hours per failure"),
    measure_label=_("Failure"),
    columns=(
        Column(_("Work order"), lambda work_order: work_order.number),
        Column(_("Device"), lambda work_order: work_order.device),
        Column(_("Down since"), lambda work_order: _local(work_order.down_since)),
        Column(_("Fault code"), lambda work_order: work_order.fault_code),
    ),
    select_related=("device", "fault_code"),
)  # fmt: skip
def kpi_mtbf(kpi_filter: KpiFilter) -> KpiResult:
    """For one model: (unit-hours in service − unit-hours down) / failures, failures being
    its units' repairs reported in the period, less coverage exclusions (misuse, force
    majeure, unauthorised repair)."""
    from medservice.catalog.choices import Tracking
    from medservice.catalog.models import DeviceModel
    from medservice.work_orders.choices import WorkOrderKind
    from medservice.work_orders.models import WorkOrder

    if not kpi_filter.device_model_id:
        return KpiResult(
            code="mtbf", value=None, records=WorkOrder.objects.none(),
            notes=[gettext("Choose a device model: MTBF is computed per model.")],
        )  # fmt: skip
    device_model = DeviceModel.objects.get(pk=kpi_filter.device_model_id)
    if device_model.tracking != Tracking.SERIAL:
        return KpiResult(
            code="mtbf", value=None, records=WorkOrder.objects.none(),
            notes=[gettext("Batch-tracked models (single-use items) have no MTBF.")],
        )  # fmt: skip
    units = _units(kpi_filter)
    spans = _unit_spans(kpi_filter, units)
    unit_hours = _hours(sum((high - low for low, high in spans.values()), datetime.timedelta()))
    down_hours = _hours(_down_seconds(units, spans, kpi_filter.start_at, kpi_filter.upto))
    operating = unit_hours - down_hours
    records = (
        _work_orders(kpi_filter, engineer=False, team=False)
        .filter(kind=WorkOrderKind.REPAIR, device__in=units.order_by().values("pk"))
        .filter(kpi_filter.in_period("down_since"))
        .filter(exclusion="")
        .select_related("device", "fault_code")
        .order_by("down_since", "pk")
    )
    measures = by_pk(records, lambda work_order: True)
    failures = len(measures)
    result = KpiResult(
        code="mtbf", value=round2(operating / failures) if failures else None, records=records,
        measures=measures, numerator=operating, denominator=Decimal(failures),
        breakdown=[
            BreakdownRow("units", _("Units counted"), None, None, Decimal(len(spans))),
            BreakdownRow("unit_hours", _("Unit-hours in service"), None, None, unit_hours),
            BreakdownRow("down_hours", _("Unit-hours down"), None, None, down_hours),
        ],
    )  # fmt: skip
    if result.value is not None:
        result.notes.append(
            gettext("%(days)s days between failures.") % {"days": round1(result.value / 24)}
        )
    if not failures:
        result.notes.append(
            gettext("No failure in the period: MTBF > %(hours)s h.") % {"hours": round1(operating)}
        )
    elif failures < 3:
        result.notes.append(gettext("Low confidence: fewer than 3 failures in the period."))
    return result


def _days_between(work_order: Any) -> Decimal | None:
    if work_order.repeat_down_since is None:
        return None
    return round1(hours_between(work_order.back_in_service_at, work_order.repeat_down_since) / 24)


@kpi(
    "repeat_failure_30d", name=_("Repeat failure within 30 days"), unit=Unit.PERCENT,
    direction=Direction.AT_MOST, group="field", order=34,
    statistic=_("share of completed repairs"), measure_label=_("Repeated"),
    columns=(
        Column(_("Work order"), lambda work_order: work_order.number),
        Column(_("Device"), lambda work_order: work_order.device),
        Column(_("Back in service at"), lambda work_order: _local(work_order.back_in_service_at)),
        Column(_("Fault code"), lambda work_order: work_order.fault_code),
        Column(_("Repeat work order"), lambda work_order: work_order.repeat_number),
        Column(_("Days between"), _days_between),
        Column(_("Repeat fault code"), lambda work_order: work_order.repeat_fault_code),
    ),
    select_related=("device", "fault_code"),
)  # fmt: skip
def kpi_repeat_failure_30d(kpi_filter: KpiFilter) -> KpiResult:
    """Repairs back in service in the period followed by another repair of the same device
    reported within 30 days; provisional until 30 days after the period ends."""
    from medservice.work_orders.choices import WorkOrderKind
    from medservice.work_orders.models import WorkOrder

    window_end = ExpressionWrapper(
        OuterRef("back_in_service_at") + REPEAT_WINDOW, output_field=DateTimeField()
    )
    repeats = (
        WorkOrder.objects.filter(
            kind=WorkOrderKind.REPAIR,
            device=OuterRef("device"),
            down_since__gt=OuterRef("back_in_service_at"),
            down_since__lte=window_end,
        )
        .exclude(status__in=EXCLUDED_WORK_ORDER_STATUSES)
        .exclude(pk=OuterRef("pk"))
        .order_by("down_since", "pk")
    )
    records = (
        _repairs_returned(kpi_filter)
        .annotate(
            repeat_number=Subquery(repeats.values("number")[:1]),
            repeat_down_since=Subquery(repeats.values("down_since")[:1]),
            repeat_fault_code=Subquery(repeats.values("fault_code__code")[:1]),
        )
        .select_related("device", "fault_code")
        .order_by("back_in_service_at", "pk")
    )
    return rate(
        "repeat_failure_30d",
        records,
        by_pk(records, lambda work_order: work_order.repeat_number is not None),
        provisional_until=kpi_filter.end + REPEAT_WINDOW,
    )


# --- Units in service ---------------------------------------------------------------------------


@kpi(
    "uptime", name=_("Uptime"), unit=Unit.PERCENT, group="field", order=35,
    filters=UNIT_FILTERS, statistic=_("share of unit-hours in service"),
    measure_label=_("Hours down in the period"),
    columns=(
        Column(_("Work order"), lambda work_order: work_order.number),
        Column(_("Device"), lambda work_order: work_order.device),
        Column(_("Down since"), lambda work_order: _local(work_order.down_since)),
        Column(_("Back in service at"), lambda work_order: _local(work_order.back_in_service_at)),
    ),
    select_related=("device",),
)  # fmt: skip
def kpi_uptime(kpi_filter: KpiFilter) -> KpiResult:
    """(unit-hours − down unit-hours) / unit-hours over the units in scope, each counted from
    its in-service date; the drill-down lists the repairs with downtime in the period and the
    hours each contributed (overlapping repairs of one unit are merged in the figure)."""
    from medservice.work_orders.models import WorkOrder
    from medservice.work_orders.selectors import Uptime

    units = _units(kpi_filter)
    spans = _unit_spans(kpi_filter, units)
    start, end = kpi_filter.start_at, kpi_filter.upto
    unit_hours = _hours(sum((high - low for low, high in spans.values()), datetime.timedelta()))
    down = _down_seconds(units, spans, start, end)
    uptime = Uptime(period_hours=unit_hours, down_hours=_hours(down))
    # The same rows downtime_intervals reads, for the units counted.
    records = (
        WorkOrder.objects.filter(device__in=units.order_by().values("pk"))
        .filter(down_since__isnull=False)
        .filter(down_since__lt=end)
        .filter(Q(back_in_service_at__isnull=True) | Q(back_in_service_at__gt=start))
        .exclude(status__in=EXCLUDED_WORK_ORDER_STATUSES)
        .select_related("device")
        .order_by("down_since", "pk")
    )

    def contributed(work_order: Any) -> Decimal:
        low, high = spans[work_order.device_id]
        since = max(work_order.down_since, low)
        back = min(work_order.back_in_service_at or high, high)
        return _hours(max(back - since, datetime.timedelta()))

    up_hours = uptime.period_hours - uptime.down_hours
    return KpiResult(
        code="uptime", value=percent(up_hours, uptime.period_hours), records=records,
        measures=by_pk(records, contributed), numerator=up_hours,
        denominator=uptime.period_hours,
        breakdown=[BreakdownRow("units", _("Units counted"), None, None, Decimal(len(spans)))],
    )  # fmt: skip


# --- Preventive maintenance ---------------------------------------------------------------------


@kpi(
    "pm_completion", name=_("PM completion"), unit=Unit.PERCENT, group="field", order=36,
    statistic=_("share of PM due"), measure_label=_("Done"),
    columns=(
        Column(_("Device"), lambda visit: visit.device),
        Column(_("Organisation"), lambda visit: visit.organization),
        Column(_("Due on"), lambda visit: visit.due_on),
        Column(_("Done on"), lambda visit: visit.done_on),
        Column(_("Work order"), lambda visit: visit.work_order.number if visit.work_order else ""),
        Column(_("Life support"), lambda visit: visit.device.device_model.life_support),
    ),
    select_related=("device__device_model", "organization", "work_order"),
)  # fmt: skip
def kpi_pm_completion(kpi_filter: KpiFilter) -> KpiResult:
    """PM visits due in the period (up to today) that were done, done late included, through
    maintenance.services.pm_completion_rate; life-support devices apart. Open visits of
    deactivated plans, which no one will do, are left out."""
    from medservice.maintenance.choices import PmVisitStatus
    from medservice.maintenance.models import PmVisit
    from medservice.maintenance.services import pm_completion_rate

    population = scoped(
        PmVisit.objects.exclude(Q(plan__active=False) & ~Q(status=PmVisitStatus.DONE)),
        kpi_filter,
        device_model="device__device_model",
        engineer="work_order__engineer",
        team="work_order__ticket__team",
    )
    last = min(kpi_filter.end, timezone.localdate(kpi_filter.now))
    records = (
        population.filter(due_on__gte=kpi_filter.start, due_on__lte=last)
        .select_related("device__device_model", "organization", "work_order")
        .order_by("due_on", "pk")
    )
    flags = by_pk(records, lambda visit: visit.status == PmVisitStatus.DONE)
    result = rate("pm_completion", records, flags)
    if last < kpi_filter.start:
        return result
    completion = pm_completion_rate(population, start=kpi_filter.start, end=last)
    others_due = completion.due - completion.life_support_due
    others_done = completion.done - completion.life_support_done
    done_in_time = sum(
        1 for visit in records
        if visit.done_on is not None
        and visit.done_on <= visit.due_on + datetime.timedelta(days=PM_ON_TIME_DAYS)
    )  # fmt: skip
    result.breakdown = [
        BreakdownRow("life_support", _("Life-support devices"),
                     Decimal(completion.life_support_done), Decimal(completion.life_support_due),
                     percent(completion.life_support_done, completion.life_support_due)),
        BreakdownRow("others", _("Other devices"), Decimal(others_done), Decimal(others_due),
                     percent(others_done, others_due)),
        BreakdownRow("on_time", _("Done within 7 days of the due date"), Decimal(done_in_time),
                     Decimal(completion.due), percent(done_in_time, completion.due)),
    ]  # fmt: skip
    if completion.life_support_flagged:
        result.notes.append(
            gettext("%(count)s PM visits of life-support devices due were not done.")
            % {"count": completion.life_support_due - completion.life_support_done}
        )
    return result


# --- Stock: overdue work orders -----------------------------------------------------------------


def _days_overdue(work_order: Any, today: datetime.date) -> int:
    return (today - work_order.promised_by).days


@kpi(
    "overdue_work_orders", name=_("Overdue work orders"), unit=Unit.COUNT,
    direction=Direction.AT_MOST, group="field", order=37, statistic=_("count now"),
    measure_label=_("Days overdue"),
    columns=(
        Column(_("Work order"), lambda work_order: work_order.number),
        Column(_("Status"), lambda work_order: work_order.get_status_display()),
        Column(_("Promised by"), lambda work_order: work_order.promised_by),
        Column(_("Engineer"), lambda work_order: work_order.engineer),
        Column(_("Organisation"), lambda work_order: work_order.organization),
    ),
    select_related=("engineer", "organization"),
)  # fmt: skip
def kpi_overdue_work_orders(kpi_filter: KpiFilter) -> KpiResult:
    """Open work orders past the completion date promised to the customer, at `as_of` (a
    stock: the period does not apply). Open ones without a promised date older than 14 days
    are shown beside, so that they cannot hide."""
    from medservice.work_orders.choices import OPEN_STATUSES

    today = timezone.localdate(kpi_filter.now)
    open_orders = _work_orders(kpi_filter).filter(status__in=OPEN_STATUSES)
    records = (
        open_orders.filter(promised_by__lt=today)
        .select_related("engineer", "organization")
        .order_by("promised_by", "pk")
    )
    measures = by_pk(records, lambda work_order: _days_overdue(work_order, today))
    no_promise = open_orders.filter(
        promised_by__isnull=True,
        created_at__lte=kpi_filter.now - datetime.timedelta(days=NO_PROMISE_AGE_DAYS),
    ).count()
    result = KpiResult(
        code="overdue_work_orders", value=Decimal(len(measures)), records=records,
        measures=measures, denominator=Decimal(len(measures)), as_of=kpi_filter.now,
        breakdown=[BreakdownRow("no_promise", _("Open, no promised date, older than 14 days"),
                                None, None, Decimal(no_promise))],
    )  # fmt: skip
    return result


# --- Parts and money (internal only) ------------------------------------------------------------


def _movement_cost(movement: Any) -> Decimal:
    return round2(movement.quantity * movement.unit_cost)


@kpi(
    "parts_consumption", name=_("Parts consumption and cost"), unit=Unit.YUAN,
    direction=Direction.AT_MOST, group="parts", order=50, internal_only=True,
    statistic=_("total cost"), measure_label=_("Cost (¥)"),
    columns=(
        Column(_("Time"), lambda movement: _local(movement.occurred_at)),
        Column(_("Part"), lambda movement: movement.part),
        Column(_("Quantity"), lambda movement: movement.quantity),
        Column(_("Lot"), lambda movement: movement.lot),
        Column(_("Device"), lambda movement: movement.device),
        Column(_("Reference"), lambda movement: movement.reference),
    ),
    select_related=("part", "lot", "device"),
)  # fmt: skip
def kpi_parts_consumption(kpi_filter: KpiFilter) -> KpiResult:
    """Spare parts fitted into customers' devices in the period: the value is their cost
    (quantity × unit cost at posting), the numerator the quantity; per part, the ten
    costliest. Removals and unused returns are not netted; exchange units are shown apart."""
    from medservice.inventory.choices import MovementKind
    from medservice.inventory.models import StockMovement
    from medservice.work_orders.models import PartUsage

    movements = StockMovement.objects.all()
    if not kpi_filter.internal:
        # Costs are the company's: no figure for anyone outside it.
        movements = StockMovement.objects.none()
    movements = scoped(
        movements,
        kpi_filter,
        organization="device__organization",
        region="device__organization__region",
        device_model="device__device_model",
        engineer="source__engineer",
    )
    if kpi_filter.team_id:
        movements = movements.filter(
            pk__in=PartUsage.objects.filter(work_order__ticket__team=kpi_filter.team_id)
            .exclude(movement__isnull=True)
            .values("movement_id")
        )
    in_period = movements.filter(kpi_filter.in_period("occurred_at"))
    records = (
        in_period.filter(kind=MovementKind.CONSUMPTION)
        .select_related("part", "lot", "device")
        .order_by("occurred_at", "pk")
    )
    quantity = Decimal(0)
    by_part: dict[int, list[Any]] = defaultdict(lambda: [None, Decimal(0), Decimal(0)])
    measures: dict[int, Decimal] = {}
    for movement in records:
        cost = _movement_cost(movement)
        measures[movement.pk] = cost
        quantity += movement.quantity
        row = by_part[movement.part_id]
        row[0] = movement.part
        row[1] += movement.quantity
        row[2] += cost
    total = sum(measures.values(), Decimal(0))
    top = sorted(by_part.values(), key=lambda row: (-row[2], row[0].number))[:TOP_PARTS]
    result = KpiResult(
        code="parts_consumption", value=total if measures else None, records=records,
        measures=measures, numerator=quantity, denominator=Decimal(len(measures)),
        breakdown=[BreakdownRow(part.number, str(part), part_quantity, None, cost)
                   for part, part_quantity, cost in top],
    )  # fmt: skip
    exchanges = in_period.filter(kind=MovementKind.EXCHANGE_SHIPMENT).values_list(
        "quantity", flat=True
    )
    exchanged = sum(exchanges, Decimal(0))
    if exchanged:
        result.notes.append(
            gettext("Shown apart: %(quantity)s whole units shipped as exchanges.")
            % {"quantity": exchanged.normalize()}
        )
    return result


def _hourly_cost() -> Decimal:
    return Decimal(str(getattr(settings, "ANALYTICS_HOURLY_COST", Decimal("0"))))


@kpi(
    "service_cost_ratio", name=_("Service cost ratio"), unit=Unit.PERCENT,
    direction=Direction.AT_MOST, group="parts", order=51, internal_only=True,
    filters=UNIT_FILTERS, statistic=_("per cent of delivered value a year"),
    measure_label=_("Cost (¥)"),
    columns=(
        Column(_("Device"), lambda device: device),
        Column(_("Organisation"), lambda device: device.organization),
        Column(_("Delivered value (¥)"), lambda device: device.delivery_line.unit_price),
        Column(_("In service from"), lambda device: device.in_service_from),
    ),
    select_related=("delivery_line__delivery", "organization", "device_model"),
)  # fmt: skip
def kpi_service_cost_ratio(kpi_filter: KpiFilter) -> KpiResult:
    """Parts fitted and hours worked on the units in service with a known price, against the
    price they were sold for, annualised: cost / value × 365 / days × 100. The drill-down
    lists those units with the cost each had in the period."""
    from medservice.installed_base.models import Device
    from medservice.inventory.choices import MovementKind
    from medservice.inventory.models import StockMovement
    from medservice.work_orders.models import FeeItem, PartUsage, TimeEntry

    units = _units(kpi_filter) if kpi_filter.internal else Device.objects.none()
    unit_count = units.count()
    records = units.filter(delivery_line__isnull=False, delivery_line__unit_price__gt=0)
    records = records.order_by("pk")
    priced = {device.pk: device.delivery_line.unit_price for device in records}
    priced_ids = records.order_by().values("pk")
    last = min(kpi_filter.end, timezone.localdate(kpi_filter.now))
    days = (last - kpi_filter.start).days + 1
    cancelled_usage = PartUsage.objects.filter(
        work_order__status__in=EXCLUDED_WORK_ORDER_STATUSES, movement__isnull=False
    ).values("movement_id")
    parts = (
        StockMovement.objects.filter(kind=MovementKind.CONSUMPTION, device__in=priced_ids)
        .filter(kpi_filter.in_period("occurred_at"))
        .exclude(pk__in=cancelled_usage)
        .values_list("device_id", "quantity", "unit_cost")
    )
    hours = (
        TimeEntry.objects.filter(work_order__device__in=priced_ids)
        .exclude(work_order__status__in=EXCLUDED_WORK_ORDER_STATUSES)
        .filter(kpi_filter.dates_in_period("day"))
        .values_list("work_order__device_id", "hours")
    )
    hourly_cost = _hourly_cost()
    cost: dict[int, Decimal] = dict.fromkeys(priced, Decimal(0))
    for device_id, quantity, unit_cost in parts:
        cost[device_id] += round2(quantity * unit_cost)
    for device_id, worked in hours:
        cost[device_id] += round2(worked * hourly_cost)
    total_cost = sum(cost.values(), Decimal(0))
    value = sum(priced.values(), Decimal(0))
    figure = None
    if value and days > 0:
        figure = round1(total_cost / value * Decimal(365) / Decimal(days) * HUNDRED)
    recovered = sum(
        FeeItem.objects.filter(work_order__device__in=priced_ids)
        .exclude(work_order__status__in=EXCLUDED_WORK_ORDER_STATUSES)
        .filter(kpi_filter.in_period("created_at"))
        .values_list("amount", flat=True),
        Decimal(0),
    )
    notes = [
        gettext("Parts and time only: travel expenses and supplier repair costs are not "
                "recorded as costs."),
        gettext("Value known for %(known)s of %(units)s units.")
        % {"known": len(priced), "units": unit_count},
        gettext("Cost recovered (fees billed, not subtracted): ¥%(amount)s.")
        % {"amount": recovered},
    ]  # fmt: skip
    if not hourly_cost:
        notes.append(gettext("No internal hourly cost is set (ANALYTICS_HOURLY_COST): time "
                             "counts as ¥0."))  # fmt: skip
    return KpiResult(
        code="service_cost_ratio", value=figure, records=records, measures=cost,
        numerator=total_cost, denominator=value, notes=notes,
    )  # fmt: skip
