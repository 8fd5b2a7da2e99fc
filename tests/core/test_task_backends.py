"""The task backends: the database backend by default, RQ on Redis by a setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"


def medservice(*arguments: str, env: dict[str, str]) -> str:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "MEDSERVICE_", "DJANGO_", "TASK_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "medservice", *arguments],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_rq_backend_runs_a_task_through_redis(tmp_path):
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    env = {
        "TASK_BACKEND": "rq",
        "REDIS_URL": REDIS_URL,
        "MEDSERVICE_VAR_DIR": str(tmp_path),
        "MEDSERVICE_DEMO": "1",
    }
    task_id = medservice(
        "shell",
        "-c",
        "from medservice.core.tasks import health_probe; print(health_probe.enqueue().id)",
        env=env,
    ).splitlines()[-1]
    medservice(
        "rqworker", "default", "--burst", "--job-class", "django_tasks_rq.backend.Job", env=env
    )
    outcome = medservice(
        "shell",
        "-c",
        f"from medservice.core.tasks import health_probe; r = health_probe.get_result({task_id!r}); print(r.status, r.return_value)",
        env=env,
    )
    assert outcome.splitlines()[-1] == "SUCCESSFUL ok"
    connection.flushdb()


@pytest.mark.django_db(transaction=True)
def test_the_database_backend_stores_a_task_for_the_worker():
    from django.core.management import call_command
    from django.test import override_settings

    from medservice.core.tasks import health_probe

    database = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    with override_settings(TASKS=database):  # django_tasks resets its backends on this signal
        result = health_probe.enqueue()
        assert result.status == "READY"
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.1", verbosity=0)
        result.refresh()
        assert (result.status, result.return_value) == ("SUCCESSFUL", "ok")
