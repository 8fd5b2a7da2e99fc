"""The default targets of docs/kpis.md, ensured after every migrate (and after a test flush).
A default is only created when the KPI has no company-wide row at all, so a manager's edit,
deactivation or replacement is never undone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.apps import apps as global_apps
from django.db.models import QuerySet

from medservice.analytics.choices import Direction

AT_MOST, AT_LEAST = Direction.AT_MOST, Direction.AT_LEAST

# code: (value, direction, amber band, proposed, note)
DEFAULT_TARGETS: dict[str, tuple[str, str, str, bool, str]] = {
    "first_response_time": ("24", AT_MOST, "6", False, "SOP-1: p90 ≤ 24 h"),
    "plan_time": ("48", AT_MOST, "12", False, "SOP-1: p90 ≤ 48 h"),
    "resolution_time": ("72", AT_MOST, "12", False, "SOP-1: p90 ≤ 72 h"),
    "sla_compliance": ("95", AT_LEAST, "5", True, ""),
    "on_time_arrival": ("95", AT_LEAST, "5", True, ""),
    "first_time_fix": ("80", AT_LEAST, "5", True, ""),
    "mttr": ("72", AT_MOST, "12", True, ""),
    "repeat_failure_30d": ("5", AT_MOST, "2", True, ""),
    "uptime": ("98", AT_LEAST, "1", True, ""),
    "pm_completion": ("95", AT_LEAST, "5", True, "life-support and class III: 100 %"),
    "overdue_work_orders": ("0", AT_MOST, "2", True, ""),
    "tickets_open_over_14d": ("0", AT_MOST, "3", True, ""),
    "service_cost_ratio": ("7", AT_MOST, "1", False, "REGULATORY.md field practice: 3–7 %"),
    "return_rate": ("1", AT_MOST, "0.5", True, ""),
    "recall_completion": ("100", AT_LEAST, "0", False, "CN-RC-1"),
    "csat": ("90", AT_LEAST, "5", True, ""),
    "nps": ("30", AT_LEAST, "10", True, ""),
    "follow_up_completion": ("100", AT_LEAST, "5", False, "SOP-4"),
    "awareness_to_decision": ("120", AT_MOST, "24", True, "90 % within 5 days"),
}


def default_targets_ensure(sender: Any = None, **kwargs: Any) -> None:
    """post_migrate receiver: create the default target of each KPI that has none."""
    # migrate passes its model state; flush passes none, and then the live models apply.
    state_apps = kwargs.get("apps") or global_apps
    try:
        target_model = state_apps.get_model("analytics", "KpiTarget")
    except LookupError:  # migrated back before the table existed
        return
    using = kwargs.get("using", "default")
    present = set(
        target_model.objects.using(using)
        .filter(organization__isnull=True, device_model__isnull=True, team__isnull=True, region="")
        .values_list("kpi", flat=True)
    )
    # A plain queryset: restoring the system's own defaults is not a user action, so it writes
    # no audit event (an audited bulk_create would, after every flush).
    QuerySet(model=target_model, using=using).bulk_create(
        target_model(
            kpi=code, value=Decimal(value), direction=direction, amber_band=Decimal(band),
            proposed=proposed, note=note, active=True,
        )
        for code, (value, direction, band, proposed, note) in DEFAULT_TARGETS.items()
        if code not in present
    )  # fmt: skip
