"""Chart specifications for Plotly.js (decision 0013, point 5): plain dictionaries of traces and
layout, put in the page with `json_script` and drawn by `core/static/core/charts.js`. A point's
`customdata`, when it is a URL, is where a click on it leads (the records behind it).

- `kpi_trend`: a KPI's figure month by month over the last 12 months, with its target;
- `fault_pareto`: fault codes of the repairs completed in the period, most frequent first, with
  the cumulative share;
- `sla_over_time`: service promises kept on time and breached, month by month.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from medservice.analytics.kpis import KPIS, KpiFilter, percent, scoped
from medservice.analytics.snapshots import (
    SERIES,
    SERIES_PREFIX,
    KpiPending,
    audience_key,
    filter_key,
    kpi_computation_request,
    kpi_figures_or_pending,
)

MONTHS = 12
# The colours of the app (Bootstrap's primary, danger, success, secondary).
PRIMARY, DANGER, SUCCESS, SECONDARY = "#0d6efd", "#dc3545", "#198754", "#6c757d"


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_add(month: datetime.date, months: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def months_ending(end: datetime.date, count: int = MONTHS) -> list[datetime.date]:
    """The first days of the `count` months up to and including `end`'s month, oldest first."""
    last = month_start(end)
    return [month_add(last, offset) for offset in range(1 - count, 1)]


def _number(value: Decimal | None) -> float | None:
    # JSON has no decimals; Plotly draws a gap for None.
    return None if value is None else float(value)


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 15}},
        "margin": {"l": 50, "r": 50, "t": 40, "b": 60},
        "height": 340,
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.2},
        **extra,
    }


def _query(kpi_filter: KpiFilter, start: datetime.date, end: datetime.date) -> str:
    query: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat()}
    for name in ("region", "organization_id", "device_model_id", "engineer_id", "team_id"):
        value = getattr(kpi_filter, name)
        if value:
            query[name.removesuffix("_id")] = value
    return urlencode(query)


# --- stored series -----------------------------------------------------------------------------


def _series_key(name: str, kpi_filter: KpiFilter, language: str) -> str:
    return (f"analytics:chart:{name}:{audience_key(kpi_filter.user)}:"
            f"{filter_key(kpi_filter, language)}")  # fmt: skip


def series_store(name: str, kpi_filter: KpiFilter, compute: Callable[[], Any]) -> Any:
    """Compute a chart's series and keep it in the cache (the task, and the pages where
    figures are not stored in the background)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    series = compute()
    cache.set(
        _series_key(name, kpi_filter, language),
        {"series": series, "computed_at": timezone.now()},
        max(settings.ANALYTICS_SNAPSHOT_MAX_AGE, 1),
    )
    return series


def stored_series(
    name: str, kpi_filter: KpiFilter, compute: Callable[[], Any]
) -> tuple[Any, datetime.datetime | None] | KpiPending:
    """A chart's series, kept in the cache for the users who see the same records (like the
    stored KPI figures: snapshots.audience_key), for ANALYTICS_SNAPSHOT_MAX_AGE: twelve months
    of promise clocks take seconds to count at a million requests. Returns the series and when
    it was computed (None: just now), or `KpiPending` after asking the background task to
    compute it (`name` must be in snapshots.SERIES). A filter at a past moment, or stored
    figures turned off, is computed in the request."""
    max_age = settings.ANALYTICS_SNAPSHOT_MAX_AGE
    if max_age <= 0 or kpi_filter.as_of is not None:
        return compute(), None
    language = translation.get_language() or settings.LANGUAGE_CODE
    stored = cache.get(_series_key(name, kpi_filter, language))
    now = timezone.now()
    # The age is checked here too, not only by the cache's expiry: Redis expires keys by its
    # own clock, and a series must never be shown older than the promise on the page.
    if stored is not None and (now - stored["computed_at"]).total_seconds() <= max_age:
        return stored["series"], stored["computed_at"]
    return kpi_computation_request(
        [SERIES_PREFIX + name], kpi_filter, audience=audience_key(kpi_filter.user),
        key=filter_key(kpi_filter, language), language=language, now=now,
    )  # fmt: skip


# --- KPI trend ----------------------------------------------------------------------------------


def kpi_trend(
    code: str, kpi_filter: KpiFilter, *, months: int = MONTHS
) -> dict[str, Any] | KpiPending:
    """The KPI's figure for each of the `months` months ending with the filter's last month
    (one figure per month, stored ones: snapshots.kpi_figures_or_pending; a month still
    running counts up to `as_of`), and its target as a dashed line. Each point leads to that
    month's records. `KpiPending` while a month's figure is being computed (every missing
    month is asked for at once)."""
    definition = KPIS[code]
    figures = []
    pending: KpiPending | None = None
    for first in months_ending(kpi_filter.end, months):
        last = month_add(first, 1) - datetime.timedelta(days=1)
        found = kpi_figures_or_pending([code], replace(kpi_filter, start=first, end=last))
        if isinstance(found, KpiPending):
            pending = pending or found
        else:
            figures.append((first, last, found[0]))
    if pending is not None:
        return pending
    labels: list[str] = []
    values: list[float | None] = []
    targets: list[float | None] = []
    links: list[str] = []
    base = reverse("analytics:kpi-records", args=[code])
    stored_at: list[datetime.datetime] = []
    for first, last, result in figures:
        if result.stored_at is not None:
            stored_at.append(result.stored_at)
        labels.append(first.strftime("%Y-%m"))
        values.append(_number(result.value))
        targets.append(_number(result.target.value) if result.target is not None else None)
        links.append(f"{base}?{_query(kpi_filter, first, last)}")
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": str(definition.name), "x": labels,
         "y": values, "customdata": links, "line": {"color": PRIMARY}},
    ]  # fmt: skip
    if any(target is not None for target in targets):
        data.append(
            {"type": "scatter", "mode": "lines", "name": pgettext("kpi", "Target"), "x": labels, "y": targets,
             "line": {"color": SECONDARY, "dash": "dash"}, "hoverinfo": "skip"}
        )  # fmt: skip
    return {
        "stored_at": min(stored_at) if stored_at else None,
        "data": data,
        "layout": _layout(
            _("%(kpi)s, last %(months)d months") % {"kpi": definition.name, "months": months},
            xaxis={"type": "category"},
            yaxis={"title": {"text": str(definition.unit)}},
        ),
    }


# --- Pareto of fault codes ----------------------------------------------------------------------


def _work_order_list_url(fault_code_id: int) -> str | None:
    """The work-order list filtered by a fault code, if the list has that filter."""
    from medservice.work_orders.filtersets import WorkOrderFilter

    if "fault_code" not in WorkOrderFilter.base_filters:
        return None
    query = urlencode({"fault_code": fault_code_id, "kind": "repair"})
    return f"{reverse('work_orders:work-orders-list')}?{query}"


def fault_counts(kpi_filter: KpiFilter) -> list[dict[str, Any]]:
    """Repairs completed in the period per fault code, most frequent first (then by code),
    each with its cumulative share in percent (to 0.1). Repairs without a fault code are left
    out: they cannot point at a cause."""
    from medservice.work_orders.choices import WorkOrderKind
    from medservice.work_orders.models import WorkOrder

    repairs = scoped(
        WorkOrder.objects.filter(
            kpi_filter.in_period("completed_at"), kind=WorkOrderKind.REPAIR,
            fault_code__isnull=False,
        ),
        kpi_filter, device_model="device__device_model", engineer="engineer",
    )  # fmt: skip
    rows = list(
        repairs.order_by()
        .values_list("fault_code_id", "fault_code__code", "fault_code__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "fault_code__code", "fault_code_id")
    )
    total = sum(row[3] for row in rows)
    cumulative = 0
    counts = []
    for fault_code_id, code, name, count in rows:
        cumulative += count
        counts.append({
            "fault_code_id": fault_code_id, "code": code, "name": name, "count": count,
            "cumulative_percent": percent(cumulative, total),
        })  # fmt: skip
    return counts


def fault_pareto(kpi_filter: KpiFilter) -> dict[str, Any] | KpiPending:
    """Bars: completed repairs per fault code, most frequent first; line (right axis): the
    cumulative share. A bar leads to the work orders with that code."""
    found = stored_series("fault_counts", kpi_filter, lambda: fault_counts(kpi_filter))
    if isinstance(found, KpiPending):
        return found
    counts, stored_at = found
    labels = [row["code"] for row in counts]
    return {
        "stored_at": stored_at,
        "data": [
            {
                "type": "bar",
                "name": _("Repairs"),
                "x": labels,
                "y": [row["count"] for row in counts],
                "text": [row["name"] for row in counts],
                "customdata": [_work_order_list_url(row["fault_code_id"]) for row in counts],
                "marker": {"color": PRIMARY},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("Cumulative %"),
                "x": labels,
                "y": [_number(row["cumulative_percent"]) for row in counts],
                "yaxis": "y2",
                "line": {"color": DANGER},
            },
        ],
        "layout": _layout(
            _("Fault codes of completed repairs, %(start)s to %(end)s")
            % {"start": kpi_filter.start.isoformat(), "end": kpi_filter.end.isoformat()},
            xaxis={"type": "category"},
            yaxis={"title": {"text": _("Repairs")}, "rangemode": "tozero"},
            yaxis2={"title": {"text": "%"}, "overlaying": "y", "side": "right", "range": [0, 105]},
        ),
    }


# --- SLA compliance over time -------------------------------------------------------------------


def sla_months(kpi_filter: KpiFilter, *, months: int = MONTHS) -> list[dict[str, Any]]:
    """Per month (the `months` months ending with the filter's last), the service promises
    kept on time (met, never breached: by `met_at`) and breached (by `breached_at`, including
    those met late), of requests not cancelled, and the share kept (docs/kpis.md,
    sla_compliance). Two queries."""
    from medservice.tickets.choices import Status
    from medservice.tickets.models import TicketClock

    firsts = months_ending(kpi_filter.end, months)
    start_at = timezone.make_aware(datetime.datetime.combine(firsts[0], datetime.time()))
    end_at = min(kpi_filter.end_at, kpi_filter.now)
    clocks = scoped(
        TicketClock.objects.exclude(ticket__status=Status.CANCELLED),
        kpi_filter, organization="ticket__organization", region="ticket__organization__region",
        device_model=("ticket__device__device_model", "ticket__device_model"),
        engineer="ticket__owner", team="ticket__team",
    )  # fmt: skip
    zone = timezone.get_current_timezone()

    def per_month(field_name: str, condition: Q) -> dict[datetime.date, int]:
        rows = (
            clocks.filter(condition)
            .filter(**{f"{field_name}__gte": start_at, f"{field_name}__lt": end_at})
            .annotate(month=TruncMonth(field_name, tzinfo=zone))
            .order_by()
            .values_list("month")
            .annotate(count=Count("pk"))
            .values_list("month", "count")
        )
        found: dict[datetime.date, int] = {}
        for month, count in rows:
            day = month.date() if isinstance(month, datetime.datetime) else month
            found[day] = found.get(day, 0) + count
        return found

    met = per_month("met_at", Q(met_at__isnull=False, breached_at__isnull=True))
    breached = per_month("breached_at", Q(breached_at__isnull=False))
    return [
        {"month": first, "met": met.get(first, 0), "breached": breached.get(first, 0),
         "percent": percent(met.get(first, 0), met.get(first, 0) + breached.get(first, 0))}
        for first in firsts
    ]  # fmt: skip


def sla_over_time(kpi_filter: KpiFilter, *, months: int = MONTHS) -> dict[str, Any] | KpiPending:
    """Stacked bars of promises kept and breached per month; line (right axis): the share
    kept."""
    found = stored_series(
        f"sla_months:{months}", kpi_filter, lambda: sla_months(kpi_filter, months=months)
    )
    if isinstance(found, KpiPending):
        return found
    rows, stored_at = found
    labels = [row["month"].strftime("%Y-%m") for row in rows]
    return {
        "stored_at": stored_at,
        "data": [
            {
                "type": "bar",
                "name": _("Kept on time"),
                "x": labels,
                "y": [row["met"] for row in rows],
                "marker": {"color": SUCCESS},
            },
            {
                "type": "bar",
                "name": _("Breached"),
                "x": labels,
                "y": [row["breached"] for row in rows],
                "marker": {"color": DANGER},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("Kept %"),
                "x": labels,
                "y": [_number(row["percent"]) for row in rows],
                "yaxis": "y2",
                "line": {"color": PRIMARY},
            },
        ],
        "layout": _layout(
            _("Service promises kept, last %(months)d months") % {"months": months},
            barmode="stack",
            xaxis={"type": "category"},
            yaxis={"title": {"text": _("Promises")}, "rangemode": "tozero"},
            yaxis2={"title": {"text": "%"}, "overlaying": "y", "side": "right", "range": [0, 105]},
        ),
    }


# What the background task computes for a chart whose series is missing (snapshots.SERIES).
SERIES["fault_counts"] = lambda kpi_filter: series_store(
    "fault_counts", kpi_filter, lambda: fault_counts(kpi_filter)
)
SERIES[f"sla_months:{MONTHS}"] = lambda kpi_filter: series_store(
    f"sla_months:{MONTHS}", kpi_filter, lambda: sla_months(kpi_filter, months=MONTHS)
)
