"""Core's own periodic jobs."""

from __future__ import annotations

import datetime

from django.core.management import call_command

from medservice.core.audit import audit_seal_pending
from medservice.core.scheduler import periodic_job


@periodic_job("core.audit-seal", every=datetime.timedelta(seconds=15))
def seal_audit_events() -> int:
    return audit_seal_pending()


@periodic_job("core.prune-task-results", every=datetime.timedelta(hours=6))
def prune_task_results() -> None:
    from django.conf import settings

    if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        call_command("prune_db_task_results", "--min-age-days", "7", verbosity=0)


@periodic_job("core.calendar-years", every=datetime.timedelta(days=1))
def refresh_calendar_years() -> None:
    """Seed the years the holiday sources newly know (State Council schedules arrive with a
    library update), announce them as confirmed so apps recompute, and warn the administrators
    of a coming year that is still unpublished. Daily, because the day a source learns a year
    is not known in advance; a run that finds nothing new costs a few queries."""
    from medservice.core.calendars import calendar_years_refresh

    calendar_years_refresh()


@periodic_job("core.anonymise", every=datetime.timedelta(days=7), lease=datetime.timedelta(hours=6))
def anonymise_past_retention() -> dict[str, int]:
    """Weekly: anonymise the personal data of records whose retention has run out (R-PI)."""
    from medservice.core.anonymisation import anonymise_due

    return anonymise_due().summary()


@periodic_job("core.backup", every=datetime.timedelta(days=1), lease=datetime.timedelta(hours=6))
def scheduled_backup() -> str | None:
    """Daily while BACKUP_SCHEDULE is on: one archive into BACKUP_DIR, then retention
    (BACKUP_KEEP_DAILY / WEEKLY / MONTHLY)."""
    from medservice.core.backup import backup_scheduled

    result = backup_scheduled()
    return str(result.path) if result is not None else None
