"""Periodic jobs: declared in code with their interval, run by `medservice scheduler`.

Each job has one lease row. A scheduler claims a due job with a single conditional UPDATE
(due, and not leased by a live scheduler), so two schedulers — on one machine or two — never
run the same job at the same time, and a crashed scheduler's lease expires. Jobs must be
idempotent: the lease prevents overlap, not a rerun after a crash.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from medservice.core.context import audit_context
from medservice.core.models import JobLease

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: datetime.timedelta
    function: Callable[[], object]
    lease: datetime.timedelta


JOBS: dict[str, PeriodicJob] = {}


def periodic_job(
    name: str, *, every: datetime.timedelta, lease: datetime.timedelta | None = None
) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register a function as a periodic job (later apps use this in their tasks.py)."""

    def register(function: Callable[[], object]) -> Callable[[], object]:
        JOBS[name] = PeriodicJob(
            name, every, function, lease or max(every, datetime.timedelta(minutes=10))
        )
        return function

    return register


def scheduler_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def job_claim(job: PeriodicJob, *, owner: str, now: datetime.datetime) -> bool:
    """Take the job's lease if it is due and free; True when this scheduler may run it.

    The claim names the slot (the `next_run_at` it found) in its UPDATE, so it wins only if no
    other scheduler took that slot since; each won claim is logged with its slot, the run
    record that shows no slot ran twice (scripts/scale_smoke.py reads it)."""
    lease, _ = JobLease.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
    slot = lease.next_run_at
    if slot > now:
        return False
    claimed = (
        JobLease.objects.filter(name=job.name, next_run_at=slot)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(
            locked_by=owner,
            locked_until=now + job.lease,
            next_run_at=now + job.every,
            last_started_at=now,
        )
    )
    if claimed == 1:
        logger.info("periodic job %s: slot %s claimed by %s", job.name, slot.isoformat(), owner)
    return claimed == 1


def job_run(job: PeriodicJob, *, owner: str) -> str:
    status, error = "ok", ""
    try:
        with audit_context(job=job.name):
            job.function()
    except Exception:  # a failing job must not stop the scheduler; it is recorded instead
        status, error = "failed", traceback.format_exc()[-4000:]
        logger.exception("periodic job %s failed", job.name)
    finally:
        finished = timezone.now()
        with transaction.atomic():
            lease = JobLease.objects.select_for_update().get(name=job.name)
            lease.last_finished_at = finished
            lease.last_status = status
            lease.last_error = error
            lease.run_count += 1
            if lease.locked_by == owner:
                lease.locked_by = ""
                lease.locked_until = None
            lease.save()
    return status


def scheduler_tick(*, owner: str, now: datetime.datetime | None = None) -> list[str]:
    """Run every due job this scheduler can claim; returns the names it ran."""
    ran = []
    for job in list(JOBS.values()):
        if job_claim(job, owner=owner, now=now or timezone.now()):
            job_run(job, owner=owner)
            ran.append(job.name)
    return ran
