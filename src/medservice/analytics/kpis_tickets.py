"""KPIs of docs/kpis.md about service requests and complaints: the three SLA times, promise
compliance per target, requests open over 14 days, complaints per 100 units and per batch,
and the time from awareness to the quality manager's decision.

Each function builds its population once — the owning app's visible set, scoped and filtered
by `kpis.scoped` — and computes the figure from exactly those records, so the drill-down is
what was counted. Cancelled requests are excluded everywhere (docs/kpis.md, "Common
exclusions")."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import DateField, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from medservice.analytics.choices import Direction, Unit
from medservice.analytics.kpis import (
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
    round2,
    scoped,
)
from medservice.core.errors import InvalidInputError
from medservice.quality.models import QualityCase
from medservice.quality.selectors import cases_visible_to
from medservice.tickets.choices import OPEN_STATUSES, Priority, SlaTarget, Status, TicketKind
from medservice.tickets.models import Ticket, TicketClock
from medservice.tickets.selectors import tickets_visible_to

SERVICE = "service"
QUALITY = "quality"
HUNDRED = Decimal(100)
# Requests open this many calendar days or more count in tickets_open_over_14d.
OPEN_OVER_DAYS = 14
# awareness_to_decision: the proposed targets, shown as shares beside the p90.
DECISION_WITHIN_HOURS = Decimal(5 * 24)
DECISION_WITHIN_HOURS_HARM = Decimal(2 * 24)
# The row of sla_compliance for the quality department's contact with the complainant (SOP-3).
QUALITY_CONTACT = "quality_contact"
TICKET_PATHS: dict[str, Any] = {
    "device_model": ("device__device_model", "device_model"),
    "engineer": "owner",
    "team": "team",
}


def _tickets(kpi_filter: KpiFilter) -> QuerySet[Ticket]:
    """The user's requests, not cancelled, with the five filters applied."""
    visible = tickets_visible_to(kpi_filter.user).exclude(status=Status.CANCELLED)
    return scoped(visible, kpi_filter, **TICKET_PATHS)


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _moment(text: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(text) if text else None


def net_hours(
    started_at: datetime.datetime, ended_at: datetime.datetime, pauses: list[list[str | None]]
) -> Decimal:
    """Calendar hours from start to end less the parts of the clock's pauses that fall inside
    that span (an open pause runs to the end), to 0.01 h."""
    paused = datetime.timedelta()
    for start_text, end_text in pauses or []:
        start = max(_moment(start_text) or started_at, started_at)
        end = min(_moment(end_text) or ended_at, ended_at)
        if end > start:
            paused += end - start
    return hours_between(started_at, ended_at - paused)


# --- first_response_time, plan_time ---------------------------------------------------------


def _clock_state(record: Any) -> Any:
    if record.clock_met_at is None:
        return pgettext_lazy("promise", "Running")
    return _("Met late") if record.clock_breached_at else pgettext_lazy("promise", "Met")


MET_CLOCK_COLUMNS = (
    Column(_("Received"), lambda record: _local(record.received_at)),
    Column(_("Met at"), lambda record: _local(record.clock_met_at)),
    Column(_("Clock"), _clock_state),
    Column(_("Organisation"), lambda record: record.organization),
    Column(_("Owner"), lambda record: record.owner),
)


def _first_cycle_time(code: str, target: str, kpi_filter: KpiFilter, *, net: bool) -> KpiResult:
    """Hours from receipt to the met time of the target's first clock, over the requests whose
    clock was met in the period (a clock stopped unmet counts nowhere)."""
    records = (
        _tickets(kpi_filter)
        .annotate(
            clock=FilteredRelation("clocks", condition=Q(clocks__target=target, clocks__cycle=1))
        )
        .filter(
            clock__met_at__gte=kpi_filter.start_at,
            clock__met_at__lt=kpi_filter.upto,
        )
        .annotate(
            clock_started_at=F("clock__started_at"),
            clock_met_at=F("clock__met_at"),
            clock_breached_at=F("clock__breached_at"),
            clock_pauses=F("clock__pauses"),
        )
        .select_related("organization", "owner")
        .order_by("clock_met_at", "pk")
    )

    def measure(record: Ticket) -> Decimal:
        if net:
            return net_hours(record.clock_started_at, record.clock_met_at, record.clock_pauses)
        return hours_between(record.clock_started_at, record.clock_met_at)

    return distribution(code, records, by_pk(records, measure))


@kpi(
    "first_response_time",
    name=_("First response time"),
    unit=Unit.HOURS,
    direction=Direction.AT_MOST,
    group=SERVICE,
    order=10,
    statistic=_("p90"),
    measure_label=_("Hours"),
    columns=MET_CLOCK_COLUMNS,
    select_related=("organization", "owner"),
)
def first_response_time(kpi_filter: KpiFilter) -> KpiResult:
    """Receipt to acknowledgement: the first-response clock is never paused, so nothing is
    subtracted."""
    return _first_cycle_time("first_response_time", SlaTarget.FIRST_RESPONSE, kpi_filter, net=False)


@kpi(
    "plan_time",
    name=_("Solution-plan time"),
    unit=Unit.HOURS,
    direction=Direction.AT_MOST,
    group=SERVICE,
    order=11,
    statistic=_("p90"),
    measure_label=_("Hours net of pauses"),
    columns=MET_CLOCK_COLUMNS,
    select_related=("organization", "owner"),
)
def plan_time(kpi_filter: KpiFilter) -> KpiResult:
    """Receipt to the proposed solution, net of the waits for the customer."""
    return _first_cycle_time("plan_time", SlaTarget.PLAN, kpi_filter, net=True)


# --- resolution_time ------------------------------------------------------------------------


@kpi(
    "resolution_time",
    name=_("Resolution time"),
    unit=Unit.HOURS,
    direction=Direction.AT_MOST,
    group=SERVICE,
    order=12,
    statistic=_("p90"),
    measure_label=_("Hours net of pauses, all cycles"),
    columns=(
        Column(_("Received"), lambda record: _local(record.received_at)),
        Column(_("Resolved"), lambda record: _local(record.last_met_at)),
        Column(_("Times reopened"), lambda record: record.reopened_count),
        Column(_("Status"), lambda record: record.get_status_display()),
        Column(_("Organisation"), lambda record: record.organization),
        Column(_("Owner"), lambda record: record.owner),
    ),
    select_related=("organization", "owner"),
)
def resolution_time(kpi_filter: KpiFilter) -> KpiResult:
    """Σ over every met resolution cycle of (met − start − pauses), per request resolved or
    closed whose last cycle was met in the period; beside it the reopen rate."""
    last_cycle = TicketClock.objects.filter(
        ticket=OuterRef("pk"), target=SlaTarget.RESOLUTION
    ).order_by("-cycle")
    # The last cycle was met in the period: one met in it and none met after it (a request
    # now resolved or closed has its last cycle met). Both read the clocks' (target, met_at)
    # index instead of computing the last cycle of every request ever resolved.
    resolution_met = TicketClock.objects.filter(target=SlaTarget.RESOLUTION)
    records = (
        _tickets(kpi_filter)
        .filter(status__in=(Status.RESOLVED, Status.CLOSED))
        .filter(pk__in=resolution_met.filter(kpi_filter.in_period("met_at")).values("ticket_id"))
        .exclude(pk__in=resolution_met.filter(met_at__gte=kpi_filter.upto).values("ticket_id"))
        .annotate(last_met_at=Subquery(last_cycle.values("met_at")[:1]))
        .select_related("organization", "owner")
        .order_by("last_met_at", "pk")
    )
    hours: dict[int, Decimal] = defaultdict(Decimal)
    cycles = TicketClock.objects.filter(
        ticket__in=records.values("pk"), target=SlaTarget.RESOLUTION, met_at__isnull=False
    ).values_list("ticket_id", "started_at", "met_at", "pauses")
    for ticket_id, started_at, met_at, pauses in cycles.order_by():
        hours[ticket_id] += net_hours(started_at, met_at, pauses)
    reopened = 0
    measures: dict[int, Decimal] = {}
    for pk, reopened_count in records.values_list("pk", "reopened_count"):
        measures[pk] = hours[pk]
        reopened += reopened_count > 0
    result = distribution("resolution_time", records, measures)
    if measures:
        result.notes.append(
            gettext_now("Reopen rate: %(reopened)s of %(counted)s requests (%(percent)s %%).")
            % {"reopened": reopened, "counted": len(measures),
               "percent": percent(reopened, len(measures))}
        )  # fmt: skip
    # A request resolved in the period can still be reopened within the window after its
    # resolution (plus the automatic closure's delay when nobody confirms).
    days = int(getattr(settings, "MEDSERVICE_TICKET_REOPEN_DAYS", 30)) + int(
        getattr(settings, "MEDSERVICE_TICKET_AUTO_CLOSE_DAYS", 7)
    )
    settled = kpi_filter.end + datetime.timedelta(days=days)
    if settled >= timezone.localtime(kpi_filter.now).date():
        result.provisional_until = settled
    return result


# --- sla_compliance -------------------------------------------------------------------------


def _target_label(key: str) -> Any:
    if key == QUALITY_CONTACT:
        return _("Quality department's contact with the complainant")
    return SlaTarget(key).label


def _compliance_number(record: Any) -> Any:
    return record.number if isinstance(record, QualityCase) else record.ticket.number


def _compliance_target(record: Any) -> Any:
    if isinstance(record, QualityCase):
        return _target_label(QUALITY_CONTACT)
    return record.get_target_display()


def _compliance_due(record: Any) -> str:
    return _local(record.contact_due_at if isinstance(record, QualityCase) else record.due_at)


def _compliance_outcome_at(record: Any) -> str:
    if isinstance(record, QualityCase):
        return _local(record.contacted_at if _contact_kept(record) else record.contact_due_at)
    return _local(record.met_at if record.breached_at is None else record.breached_at)


def _sla_extra(kpi_filter: KpiFilter) -> tuple[str, str, int | None]:
    """The compliance KPI's own filters: target, priority, SLA policy (refused by name)."""
    target = kpi_filter.extra.get("target", "")
    priority = kpi_filter.extra.get("priority", "")
    policy = kpi_filter.extra.get("policy", "")
    problems: dict[str, list[Any]] = {}
    if target and target not in {*SlaTarget.values, QUALITY_CONTACT}:
        problems["target"] = [_("No such service-promise target.")]
    if priority and priority not in Priority.values:
        problems["priority"] = [_("No such priority.")]
    if policy and not policy.isdigit():
        problems["policy"] = [_("No such SLA policy.")]
    if problems:
        raise InvalidInputError(_("The filter is not valid."), fields=problems)
    return target, priority, int(policy) if policy else None


def _contact_cases(kpi_filter: KpiFilter) -> QuerySet[QualityCase]:
    """Quality cases whose contact promise has an outcome in the period: kept (contacted by
    the due time: the contact's time) or broken (the due time)."""
    kept = Q(contacted_at__isnull=False, contacted_at__lte=F("contact_due_at"),
             contact_breached_at__isnull=True)  # fmt: skip
    in_period = Q(contacted_at__gte=kpi_filter.start_at, contacted_at__lt=kpi_filter.upto)
    due_in_period = kpi_filter.in_period("contact_due_at")
    broken = Q(contact_breached_at__isnull=False) | Q(contacted_at__gt=F("contact_due_at"))
    cases = cases_visible_to(kpi_filter.user).exclude(ticket__status=Status.CANCELLED)
    cases = scoped(
        cases, kpi_filter, device_model=("device__device_model", "device_model"), engineer="owner"
    )
    return cases.filter((kept & in_period) | (broken & due_in_period))


def _contact_kept(case: QualityCase) -> bool:
    return bool(
        case.contacted_at is not None
        and case.contacted_at <= case.contact_due_at
        and case.contact_breached_at is None
    )


@kpi(
    "sla_compliance",
    name=_("Service-promise compliance"),
    unit=Unit.PERCENT,
    direction=Direction.AT_LEAST,
    group=SERVICE,
    order=13,
    statistic=_("kept on time"),
    measure_label=_("Kept on time"),
    columns=(
        Column(_("Request"), _compliance_number),
        Column(_("Target"), _compliance_target),
        Column(_("Cycle"), lambda record: getattr(record, "cycle", "")),
        Column(_("Due"), _compliance_due),
        Column(_("Met or breached at"), _compliance_outcome_at),
        Column(_("SLA policy"), lambda record: getattr(record, "policy", "") or ""),
    ),
    select_related=("ticket", "policy"),
    extra_filters=("target", "priority", "policy"),
)
def sla_compliance(kpi_filter: KpiFilter) -> KpiResult:
    """Kept on time / (kept on time + breached), per target; the value pools the clocks. The
    quality department's contact is a row of its own for internal users (its records are
    cases, not clocks); asked for alone (`target=quality_contact`) it is the figure."""
    target, priority, policy = _sla_extra(kpi_filter)
    # The quality row has no priority, policy or team: with those filters it does not apply.
    quality_applies = kpi_filter.internal and not (priority or policy or kpi_filter.team_id)
    if target == QUALITY_CONTACT:
        if not quality_applies:
            return rate("sla_compliance", QualityCase.objects.none(), {})
        cases = _contact_cases(kpi_filter).order_by("contact_due_at", "pk")
        flags = by_pk(cases, _contact_kept)
        result = rate("sla_compliance", cases, flags)
        result.breakdown = [_row(QUALITY_CONTACT, flags.values())]
        return result
    ticket_paths = {
        "organization": "ticket__organization", "region": "ticket__organization__region",
        "device_model": ("ticket__device__device_model", "ticket__device_model"),
        "engineer": "ticket__owner", "team": "ticket__team",
    }  # fmt: skip
    # The clocks of the user's tickets: `scoped` on the ticket's organisation applies the
    # same rule as tickets_visible_to (organization_ids_visible_to), without a subquery.
    clocks = scoped(TicketClock.objects.all(), kpi_filter, **ticket_paths)
    clocks = clocks.exclude(ticket__status=Status.CANCELLED)
    if target:
        clocks = clocks.filter(target=target)
    if priority:
        clocks = clocks.filter(ticket__priority=priority)
    if policy:
        clocks = clocks.filter(policy=policy)
    kept_in_period = Q(met_at__isnull=False, breached_at__isnull=True) & kpi_filter.in_period(
        "met_at"
    )
    breached_in_period = Q(breached_at__isnull=False) & kpi_filter.in_period("breached_at")
    records = (
        clocks.filter(kept_in_period | breached_in_period)
        .select_related("ticket", "policy")
        .order_by("ticket__received_at", "ticket_id", "target", "cycle")
    )
    flags: dict[int, bool] = {}
    by_target: dict[str, list[bool]] = defaultdict(list)
    for pk, clock_target, breached_at in records.values_list("pk", "target", "breached_at"):
        flags[pk] = breached_at is None
        by_target[clock_target].append(flags[pk])
    result = rate("sla_compliance", records, flags)
    result.breakdown = [_row(key, by_target[key]) for key in SlaTarget.values
                        if not target or key == target]  # fmt: skip
    if quality_applies and not target:
        contact = _contact_cases(kpi_filter)
        result.breakdown.append(_row(QUALITY_CONTACT, by_pk(contact, _contact_kept).values()))
    return result


def _row(key: str, flags: Any) -> BreakdownRow:
    flags = list(flags)
    kept = sum(1 for flag in flags if flag)
    return BreakdownRow(
        key=key, label=_target_label(key), numerator=Decimal(kept),
        denominator=Decimal(len(flags)), value=percent(kept, len(flags)),
    )  # fmt: skip


# --- tickets_open_over_14d ------------------------------------------------------------------


@kpi(
    "tickets_open_over_14d",
    name=_("Requests open over 14 days"),
    unit=Unit.COUNT,
    direction=Direction.AT_MOST,
    group=SERVICE,
    order=14,
    statistic=_("count"),
    measure_label=_("Open 14 days or more"),
    columns=(
        Column(_("Received"), lambda record: _local(record.received_at)),
        Column(
            _("Age (days)"),
            lambda record: (record.as_of_day - timezone.localtime(record.received_at).date()).days,
        ),
        Column(_("Status"), lambda record: record.get_status_display()),
        Column(_("Organisation"), lambda record: record.organization),
        Column(_("Owner"), lambda record: record.owner),
    ),
    select_related=("organization", "owner"),
)
def tickets_open_over_14d(kpi_filter: KpiFilter) -> KpiResult:
    """A stock at `as_of`: the open requests (oldest first), those received on or before the
    local day 14 days before `as_of`'s day flagged; the value is their count."""
    today = timezone.localtime(kpi_filter.now).date()
    cutoff = local_midnight(today - datetime.timedelta(days=OPEN_OVER_DAYS - 1))
    records = (
        _tickets(kpi_filter)
        .filter(status__in=OPEN_STATUSES)
        .annotate(as_of_day=Value(today, output_field=DateField()))
        .select_related("organization", "owner")
        .order_by("received_at", "pk")
    )
    flags = {
        pk: received_at < cutoff for pk, received_at in records.values_list("pk", "received_at")
    }
    result = rate("tickets_open_over_14d", records, flags)
    share = result.value
    result.value = result.numerator
    result.as_of = kpi_filter.now
    if flags:
        result.notes.append(
            gettext_now("%(count)s of %(open)s open requests (%(percent)s %%).")
            % {"count": result.numerator, "open": result.denominator, "percent": share}
        )
    return result


# --- complaints_per_100_units, complaints_per_batch -----------------------------------------


def _complaints(kpi_filter: KpiFilter) -> QuerySet[Ticket]:
    """Requests received in the period that are complaints: screened as one, or not yet
    screened and of a complaint kind; each annotated with its model and batch."""
    case_batch = QualityCase.objects.filter(ticket=OuterRef("pk")).exclude(batch_number="")
    complaint = Q(is_complaint=True) | Q(
        is_complaint__isnull=True, kind__in=(TicketKind.COMPLAINT, TicketKind.QUALITY_COMPLAINT)
    )
    return (
        _tickets(kpi_filter)
        .filter(complaint, kpi_filter.in_period("received_at"))
        .annotate(
            rated_model_id=Coalesce("device__device_model_id", "device_model_id"),
            rated_batch=Coalesce(
                NullIf("device__batch_number", Value("")),
                Subquery(case_batch.values("batch_number")[:1]),
                Value(""),
            ),
        )
        .select_related("organization", "device__device_model", "device_model")
        .order_by("received_at", "pk")
    )


def _unit_organizations(kpi_filter: KpiFilter) -> list[int] | None:
    """The organisations whose units count under the filter (None: all)."""
    from medservice.customers.models import Organization

    if not (kpi_filter.organization_id or kpi_filter.region):
        return None
    organizations = Organization.objects.all()
    if kpi_filter.organization_id:
        organizations = organizations.filter(
            Q(pk=kpi_filter.organization_id) | Q(parent=kpi_filter.organization_id)
        )
    if kpi_filter.region:
        organizations = organizations.filter(region=kpi_filter.region)
    return list(organizations.values_list("pk", flat=True))


def _per_100(complaints: int, units: float) -> Decimal | None:
    if not units:
        return None
    return round2(HUNDRED * Decimal(complaints) / Decimal(str(units)))


COMPLAINT_COLUMNS = (
    Column(_("Received"), lambda record: _local(record.received_at)),
    Column(_("Kind"), lambda record: record.get_kind_display()),
    Column(_("Device model"), lambda record: record.device.device_model if record.device_id
           else record.device_model or ""),
    Column(_("Batch"), lambda record: record.rated_batch),
    Column(_("Organisation"), lambda record: record.organization),
)  # fmt: skip


def _model_names(model_ids: Any) -> dict[int, str]:
    from medservice.catalog.models import DeviceModel

    return {
        model.pk: f"{model.name} {model.model_spec}".strip()
        for model in DeviceModel.objects.filter(pk__in=list(model_ids))
    }


@kpi(
    "complaints_per_100_units",
    name=_("Complaints per 100 units"),
    unit=Unit.PER_100_UNITS,
    direction=Direction.AT_MOST,
    group=QUALITY,
    order=20,
    internal_only=True,
    filters=("region", "organization", "device_model"),
    statistic=_("per 100 units in use"),
    measure_label=_("Rated (has a model)"),
    columns=COMPLAINT_COLUMNS,
    select_related=("organization", "device__device_model", "device_model"),
)
def complaints_per_100_units(kpi_filter: KpiFilter) -> KpiResult:
    """Complaints received in the period per 100 units in use at its end, pooled over the
    models with units in use, and per model; complaints without a model are listed, not
    rated (their flag is False)."""
    records = _complaints(kpi_filter)
    units, _batches = units_in_use_for(kpi_filter)
    flags: dict[int, bool] = {}
    per_model: dict[int, int] = defaultdict(int)
    for pk, model_id in records.values_list("pk", "rated_model_id"):
        flags[pk] = model_id is not None
        if model_id is not None:
            per_model[model_id] += 1
    rated = sum(per_model.values())
    total_units = sum(units.values())
    names = _model_names(set(units) | set(per_model))
    result = KpiResult(
        code="complaints_per_100_units", value=_per_100(rated, total_units), records=records,
        measures=flags, numerator=Decimal(rated), denominator=_units(total_units),
    )  # fmt: skip
    result.breakdown = [
        BreakdownRow(key=str(model_id), label=names.get(model_id, str(model_id)),
                     numerator=Decimal(per_model.get(model_id, 0)),
                     denominator=_units(units.get(model_id, 0)),
                     value=_per_100(per_model.get(model_id, 0), units.get(model_id, 0)))
        for model_id in sorted(set(units) | set(per_model), key=lambda key: names.get(key, ""))
    ]  # fmt: skip
    unrated = len(flags) - rated
    if unrated:
        result.notes.append(
            gettext_now("%(count)s complaints name no device model: listed, not rated.")
            % {"count": unrated}
        )
    return result


def _units(value: float) -> Decimal:
    return Decimal(str(value)).normalize() if value else Decimal(0)


def units_in_use_for(
    kpi_filter: KpiFilter,
) -> tuple[dict[int, float], dict[tuple[int, str], float]]:
    """Units in use at the period's end (the trend rule's count), under the filter's
    organisation, region and model."""
    from medservice.quality.trends import units_in_use

    end = min(kpi_filter.end, timezone.localtime(kpi_filter.now).date())
    by_model, by_batch = units_in_use(end, organization_ids=_unit_organizations(kpi_filter))
    if kpi_filter.device_model_id:
        by_model = {key: value for key, value in by_model.items()
                    if key == kpi_filter.device_model_id}  # fmt: skip
        by_batch = {key: value for key, value in by_batch.items()
                    if key[0] == kpi_filter.device_model_id}  # fmt: skip
    batch = kpi_filter.extra.get("batch", "")
    if batch:
        by_batch = {key: value for key, value in by_batch.items() if key[1] == batch}
    return by_model, by_batch


@kpi(
    "complaints_per_batch",
    name=_("Complaints per batch"),
    unit=Unit.PER_100_UNITS,
    direction=Direction.AT_MOST,
    group=QUALITY,
    order=21,
    internal_only=True,
    filters=("region", "organization", "device_model"),
    statistic=_("per 100 units in use"),
    measure_label=_("Rated (model and batch known)"),
    columns=COMPLAINT_COLUMNS,
    select_related=("organization", "device__device_model", "device_model"),
    extra_filters=("batch",),
)
def complaints_per_batch(kpi_filter: KpiFilter) -> KpiResult:
    """Complaints per 100 units in use of their batch: one breakdown row per batch with
    complaints or units (worst first), pooled over batches with units in use."""
    records = _complaints(kpi_filter)
    batch = kpi_filter.extra.get("batch", "")
    if batch:
        records = records.filter(rated_batch=batch)
    _models, units = units_in_use_for(kpi_filter)
    flags: dict[int, bool] = {}
    per_batch: dict[tuple[int, str], int] = defaultdict(int)
    for pk, model_id, batch_number in records.values_list("pk", "rated_model_id", "rated_batch"):
        flags[pk] = model_id is not None and bool(batch_number)
        if flags[pk]:
            per_batch[(model_id, batch_number)] += 1
    rated = sum(per_batch.values())
    total_units = sum(units.values())
    keys = set(units) | set(per_batch)
    names = _model_names({model_id for model_id, _batch in keys})
    rows = [
        BreakdownRow(
            key=f"{model_id}/{batch_number}",
            label=gettext_now("%(model)s batch %(batch)s")
            % {"model": names.get(model_id, model_id), "batch": batch_number},
            numerator=Decimal(per_batch.get((model_id, batch_number), 0)),
            denominator=_units(units.get((model_id, batch_number), 0)),
            value=_per_100(per_batch.get((model_id, batch_number), 0),
                           units.get((model_id, batch_number), 0)),
        )
        for model_id, batch_number in keys
    ]  # fmt: skip
    rows.sort(key=lambda row: (-(row.value if row.value is not None else Decimal(10**9)),
                               str(row.label)))  # fmt: skip
    result = KpiResult(
        code="complaints_per_batch", value=_per_100(rated, total_units), records=records,
        measures=flags, numerator=Decimal(rated), denominator=_units(total_units),
        breakdown=rows,
    )  # fmt: skip
    unrated = len(flags) - rated
    if unrated:
        result.notes.append(
            gettext_now("%(count)s complaints name no model or batch: listed, not rated.")
            % {"count": unrated}
        )
    return result


# --- awareness_to_decision ------------------------------------------------------------------


def _reportable_markets(case: QualityCase) -> str:
    return ", ".join(row.market for row in case.decision.markets.all() if row.reportable)


@kpi(
    "awareness_to_decision",
    name=_("Awareness to reportability decision"),
    unit=Unit.HOURS,
    direction=Direction.AT_MOST,
    group=QUALITY,
    order=22,
    internal_only=True,
    filters=("region", "organization", "device_model", "engineer"),
    statistic=_("p90"),
    measure_label=_("Hours"),
    columns=(
        Column(_("Aware since"), lambda record: _local(record.awareness_at)),
        Column(_("Decided"), lambda record: _local(record.decision.decided_at)),
        Column(
            _("Days"),
            lambda record: round2(
                Decimal((record.decision.decided_at - record.awareness_at).total_seconds())
                / Decimal(86400)
            ),
        ),
        Column(_("Outcome"), lambda record: record.decision.get_outcome_display()),
        Column(_("Reportable in"), _reportable_markets),
        Column(_("Owner"), lambda record: record.owner),
    ),
    select_related=("decision", "owner"),
)
def awareness_to_decision(kpi_filter: KpiFilter) -> KpiResult:
    """Hours from the stored awareness time to the signed decision, over the cases decided in
    the period; beside it the shares decided within 5 days, and within 2 days where an injury
    or a patient was involved. The engineer filter reads the case's owner."""
    cases = cases_visible_to(kpi_filter.user).exclude(ticket__status=Status.CANCELLED)
    records = (
        scoped(cases, kpi_filter, device_model=("device__device_model", "device_model"),
               engineer="owner")
        .filter(kpi_filter.in_period("decision__decided_at"))
        .select_related("decision", "owner")
        .prefetch_related("decision__markets")
        .order_by("decision__decided_at", "pk")
    )  # fmt: skip
    measures: dict[int, Decimal] = {}
    harm: dict[int, bool] = {}
    for pk, awareness_at, decided_at, injury, patient in records.values_list(
        "pk", "awareness_at", "decision__decided_at", "injury", "patient_involved"
    ):
        measures[pk] = hours_between(awareness_at, decided_at)
        harm[pk] = injury or patient
    result = distribution("awareness_to_decision", records, measures)
    if measures:
        within = sum(1 for hours in measures.values() if hours <= DECISION_WITHIN_HOURS)
        result.notes.append(
            gettext_now("Decided within 5 days: %(within)s of %(count)s (%(percent)s %%).")
            % {"within": within, "count": len(measures),
               "percent": percent(within, len(measures))}
        )  # fmt: skip
        serious = [pk for pk, flagged in harm.items() if flagged]
        if serious:
            fast = sum(1 for pk in serious if measures[pk] <= DECISION_WITHIN_HOURS_HARM)
            result.notes.append(
                gettext_now(
                    "With injury or a patient involved, decided within 2 days: %(within)s of "
                    "%(count)s (%(percent)s %%)."
                )
                % {"within": fast, "count": len(serious),
                   "percent": percent(fast, len(serious))}
            )  # fmt: skip
    return result
