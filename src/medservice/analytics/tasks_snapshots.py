"""The job keeping the stored KPI figures fresh. Thin: it calls the service."""

from __future__ import annotations

import datetime

from medservice.core.scheduler import periodic_job


@periodic_job("analytics.kpi-snapshots", every=datetime.timedelta(minutes=5))
def kpi_snapshots() -> int:
    """Recompute the figures read in the last day that are over four minutes old."""
    from medservice.analytics.snapshots import snapshots_refresh

    return snapshots_refresh()
