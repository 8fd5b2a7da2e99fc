"""Reads of the analytics app: which target applies to a figure (and, per area below, the
dashboards' live panels, spot checks and reports visible to a user)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from medservice.analytics.models import KpiTarget
from medservice.customers.selectors import user_scope

# --- KPIs and dashboards ---


def kpi_targets_visible_to(user: Any) -> QuerySet[KpiTarget]:
    """Targets are company policy: internal staff see them all, nobody else any."""
    if user_scope(user) != "internal":
        return KpiTarget.objects.none()
    return KpiTarget.objects.all()


def target_for(code: str, kpi_filter: Any) -> KpiTarget | None:
    """The most specific active target for this KPI and filter: organisation 8, model 4,
    team 2, region 1; among equals the latest `valid_from`, then the newest row. A row for
    another organisation (model, team, region) than the filter's never applies."""
    return targets_for([code], kpi_filter)[code]


def targets_for(codes: Iterable[str], kpi_filter: Any) -> dict[str, KpiTarget | None]:
    """`target_for` for several KPIs at once, in one query (the KPI page shows 23)."""
    codes = list(codes)
    candidates = KpiTarget.objects.filter(kpi__in=codes, active=True).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=kpi_filter.end)
    )
    candidates = candidates.filter(
        Q(organization__isnull=True) | Q(organization_id=kpi_filter.organization_id or 0),
        Q(device_model__isnull=True) | Q(device_model_id=kpi_filter.device_model_id or 0),
        Q(team__isnull=True) | Q(team_id=kpi_filter.team_id or 0),
        # A blank filter region matches company-wide rows only (PostgreSQL refuses a NUL
        # placeholder in text, so the condition is built rather than padded).
        Q(region="") | (Q(region=kpi_filter.region) if kpi_filter.region else Q(pk__in=[])),
    )
    best: dict[str, KpiTarget | None] = dict.fromkeys(codes)
    for row in candidates:
        current = best[row.kpi]
        if current is None or _rank(row) > _rank(current):
            best[row.kpi] = row
    return best


def _rank(row: KpiTarget) -> tuple[int, datetime.date, int]:
    return (row.specificity, row.valid_from or datetime.date.min, row.pk)


# --- evaluation reports ---


def evaluation_reports_visible_to(user: Any) -> QuerySet[Any]:
    """Evaluation reports are the company's own appraisal: internal staff only (their role
    decides whether they may read them at all)."""
    from medservice.analytics.models import EvaluationReport

    if user_scope(user) != "internal":
        return EvaluationReport.objects.none()
    return EvaluationReport.objects.all()
