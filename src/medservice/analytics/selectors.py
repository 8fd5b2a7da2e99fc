"""Reads of the analytics app: which target applies to a figure (and, per area below, the
dashboards' live panels, spot checks and reports visible to a user)."""

from __future__ import annotations

import datetime
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
    candidates = KpiTarget.objects.filter(kpi=code, active=True).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=kpi_filter.end)
    )
    candidates = candidates.filter(
        Q(organization__isnull=True) | Q(organization_id=kpi_filter.organization_id or 0),
        Q(device_model__isnull=True) | Q(device_model_id=kpi_filter.device_model_id or 0),
        Q(team__isnull=True) | Q(team_id=kpi_filter.team_id or 0),
        # (No "impossible value" for an empty region: PostgreSQL refuses a NUL in text.)
        Q(region="") | (Q(region=kpi_filter.region) if kpi_filter.region else Q(region="")),
    )
    rows = list(candidates)
    if not rows:
        return None
    return max(
        rows,
        key=lambda row: (row.specificity, row.valid_from or datetime.date.min, row.pk),
    )
