"""Periodic jobs of the maintenance app (thin: each calls a service; both are idempotent)."""

from __future__ import annotations

import datetime

from medservice.core.scheduler import periodic_job


@periodic_job("maintenance.pm-work-orders", every=datetime.timedelta(days=1))
def pm_work_orders() -> int:
    """Open the PM work orders due within MAINTENANCE_PM_LEAD_DAYS, each once."""
    from medservice.maintenance.services import pm_work_orders_create

    return pm_work_orders_create()


@periodic_job("maintenance.installations", every=datetime.timedelta(hours=1))
def installations() -> int:
    """Open the installation work orders of recent deliveries, each unit once."""
    from medservice.maintenance.services_acceptance import installations_open_recent

    return installations_open_recent()
