"""等保 2.0: sign-ins, failed sign-ins and lockouts are security log entries kept at least six
months; the daily job prunes only what is older than the retention."""

from __future__ import annotations

import datetime

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.test import override_settings
from django.utils import timezone

from medservice.accounts.checks import check_security_log_retention
from medservice.accounts.security_logs import security_logs_prune
from medservice.core.scheduler import JOBS

NOW = datetime.datetime(2026, 11, 28, 2, 0, tzinfo=datetime.UTC)


def entry(model, *, days_old: int, username: str):
    record = model.objects.create(username=username, ip_address="10.0.0.1", user_agent="pytest")
    model.objects.filter(pk=record.pk).update(attempt_time=NOW - datetime.timedelta(days=days_old))
    return record


@pytest.mark.django_db
def test_a_sign_in_and_a_failed_sign_in_are_written_to_the_security_log(client, agent):
    # given an agent with a known password
    agent.set_password("correct-horse-2026")
    agent.save()

    # when someone fails once and then signs in
    client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    client.post("/accounts/login/", {"username": "agent", "password": "correct-horse-2026"})

    # then both are in the security log
    assert list(AccessFailureLog.objects.values_list("username", flat=True)) == ["agent"]
    assert list(AccessLog.objects.values_list("username", flat=True)) == ["agent"]


@pytest.mark.django_db
@override_settings(SECURITY_LOG_RETENTION_DAYS=190)
def test_the_prune_deletes_only_entries_older_than_the_retention():
    # given entries on both sides of 190 days, in both logs
    entry(AccessLog, days_old=191, username="old-success")
    entry(AccessLog, days_old=189, username="kept-success")
    entry(AccessFailureLog, days_old=400, username="old-failure")
    entry(AccessFailureLog, days_old=10, username="kept-failure")

    # when the prune runs
    deleted = security_logs_prune(now=NOW)

    # then only the old ones are gone
    assert deleted == 2
    assert sorted(AccessLog.objects.values_list("username", flat=True)) == ["kept-success"]
    assert sorted(AccessFailureLog.objects.values_list("username", flat=True)) == ["kept-failure"]


@pytest.mark.django_db
@override_settings(SECURITY_LOG_RETENTION_DAYS=30)
def test_a_retention_below_six_months_never_prunes_younger_entries():
    entry(AccessLog, days_old=100, username="within-six-months")

    assert security_logs_prune(now=NOW) == 0
    assert AccessLog.objects.count() == 1


def test_the_prune_is_a_daily_periodic_job():
    job = JOBS["accounts.security-logs-prune"]

    assert job.every == datetime.timedelta(days=1)


@pytest.mark.django_db
def test_the_job_prunes_through_the_service():
    entry(AccessLog, days_old=1000, username="ancient")
    AccessLog.objects.update(attempt_time=timezone.now() - datetime.timedelta(days=1000))

    JOBS["accounts.security-logs-prune"].function()

    assert AccessLog.objects.count() == 0


@override_settings(SECURITY_LOG_RETENTION_DAYS=179)
def test_a_retention_under_180_days_is_refused_by_a_system_check():
    (error,) = check_security_log_retention()

    assert (error.id, error.level >= 40) == ("medservice.E120", True)
    assert error.msg == (
        "SECURITY_LOG_RETENTION_DAYS is 179; security logs must be kept at least 180 days "
        "(等保 2.0: six months)."
    )


@override_settings(SECURITY_LOG_RETENTION_DAYS=180)
def test_a_retention_of_180_days_passes_the_check():
    assert check_security_log_retention() == []
