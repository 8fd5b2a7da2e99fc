"""Periodic jobs: two schedulers never run the same job twice; leases expire; failures recorded."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone
from freezegun import freeze_time

from medservice.core.models import JobLease
from medservice.core.scheduler import JOBS, PeriodicJob, job_claim, scheduler_tick

NOW = datetime.datetime(2026, 11, 27, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def counting_job():
    runs: list[str] = []
    job = PeriodicJob(
        "test.count",
        datetime.timedelta(minutes=5),
        lambda: runs.append("run"),
        datetime.timedelta(minutes=10),
    )
    saved = dict(JOBS)
    JOBS.clear()
    JOBS[job.name] = job
    yield job, runs
    JOBS.clear()
    JOBS.update(saved)


@pytest.mark.django_db
def test_a_due_job_runs_once_and_again_only_after_its_interval(counting_job):
    _job, runs = counting_job
    assert scheduler_tick(owner="a", now=NOW) == ["test.count"]
    assert scheduler_tick(owner="b", now=NOW + datetime.timedelta(minutes=4)) == []
    assert scheduler_tick(owner="b", now=NOW + datetime.timedelta(minutes=5)) == ["test.count"]
    lease = JobLease.objects.get(name="test.count")
    assert (runs, lease.run_count, lease.last_status, lease.locked_by) == (
        ["run", "run"],
        2,
        "ok",
        "",
    )


@pytest.mark.django_db
def test_a_second_scheduler_cannot_claim_a_job_the_first_holds(counting_job):
    job, _runs = counting_job
    assert job_claim(job, owner="a", now=NOW) is True
    assert job_claim(job, owner="b", now=NOW + datetime.timedelta(minutes=6)) is False
    # The holder crashed: its lease expires and another scheduler takes over.
    assert job_claim(job, owner="b", now=NOW + datetime.timedelta(minutes=11)) is True


@pytest.mark.django_db
def test_a_claim_names_its_slot_so_a_slot_taken_meanwhile_is_not_run_again(
    counting_job, monkeypatch, caplog
):
    job, _runs = counting_job
    caplog.set_level("INFO", logger="medservice.core.scheduler")
    assert job_claim(job, owner="a", now=NOW) is True
    JobLease.objects.filter(name=job.name).update(locked_until=None)
    slot = NOW + datetime.timedelta(minutes=5)
    # b reads the lease (slot 08:05); before its UPDATE, a takes that slot and finishes.
    stale = JobLease.objects.get(name=job.name)

    def get_or_create_then_lose_the_race(**kwargs):
        monkeypatch.undo()
        job_claim(job, owner="a", now=slot)
        JobLease.objects.filter(name=job.name).update(locked_until=None)
        return stale, False

    monkeypatch.setattr(JobLease.objects, "get_or_create", get_or_create_then_lose_the_race)
    late = slot + datetime.timedelta(minutes=6)  # past a's next slot too (08:10)
    assert job_claim(job, owner="b", now=late) is False
    # The run record: one line per won claim, each slot once.
    assert [record.getMessage() for record in caplog.records] == [
        f"periodic job test.count: slot {NOW.isoformat()} claimed by a",
        f"periodic job test.count: slot {slot.isoformat()} claimed by a",
    ]


@pytest.mark.django_db
def test_a_failing_job_is_recorded_and_does_not_stop_the_others(counting_job):
    _job, runs = counting_job

    def broken() -> None:
        raise ValueError("mailbox unreachable")

    JOBS["test.broken"] = PeriodicJob(
        "test.broken", datetime.timedelta(minutes=1), broken, datetime.timedelta(minutes=2)
    )
    assert sorted(scheduler_tick(owner="a", now=NOW)) == ["test.broken", "test.count"]
    lease = JobLease.objects.get(name="test.broken")
    assert lease.last_status == "failed"
    assert "ValueError: mailbox unreachable" in lease.last_error
    assert runs == ["run"]


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_racing_run_the_job_once(counting_job):
    _job, runs = counting_job
    barrier = threading.Barrier(2)
    ran: list[list[str]] = []

    def scheduler(owner: str) -> None:
        try:
            barrier.wait()
            ran.append(scheduler_tick(owner=owner, now=timezone.now()))
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs == ["run"]
    assert sorted(len(names) for names in ran) == [0, 1]


@pytest.mark.django_db
def test_the_core_jobs_are_registered():
    from medservice.core import jobs  # noqa: F401

    assert {"core.audit-seal", "core.prune-task-results"} <= set(JOBS)


@pytest.mark.django_db
def test_the_scheduler_command_runs_due_jobs_once(capsys):
    from django.core.management import call_command

    # Given the clock stands still: the first pass runs every job (the evaluation reports alone
    # take ~15 s), longer than the audit seal's 15-second interval, which would make the seal
    # due again on a real clock.
    with freeze_time(NOW):
        # When the scheduler passes twice
        call_command("scheduler", "--once")
        first = capsys.readouterr().out
        call_command("scheduler", "--once")
        second = capsys.readouterr().out
    # Then the second pass finds nothing due
    assert "core.audit-seal" in first
    assert second.strip() == "ran: nothing due"
