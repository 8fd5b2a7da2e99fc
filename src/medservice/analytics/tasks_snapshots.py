"""The jobs computing the stored KPI figures: the periodic refresh, and the figures a reader
asked for. Thin: they call the service."""

from __future__ import annotations

import datetime

from django_tasks import task

from medservice.core.scheduler import periodic_job


@periodic_job("analytics.kpi-snapshots", every=datetime.timedelta(minutes=5))
def kpi_snapshots() -> int:
    """Recompute the figures read in the last day that are over four minutes old."""
    from medservice.analytics.snapshots import snapshots_refresh

    return snapshots_refresh()


@task()
def kpi_figures_compute(computation_id: int, requested_at: str) -> int:
    """Compute and store the figures a reader of the KPI page, the API or the charts asked
    for (snapshots.kpi_figures_or_pending)."""
    from medservice.analytics.snapshots import kpi_computation_run

    return kpi_computation_run(computation_id=computation_id, requested_at=requested_at)
