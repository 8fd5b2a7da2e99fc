"""Benchmark: the devices import on PostgreSQL against a stored installed base.

Run (PostgreSQL only; create the database first, drop it when done):

    createdb -h 127.0.0.1 -U postgres medservice_bench_import
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medservice_bench_import SECRET_KEY=... \\
        .venv/bin/python bench/import_devices.py --devices 200000     # --help for the sizes
    dropdb -h 127.0.0.1 -U postgres medservice_bench_import

It migrates, runs seed_demo and builds --devices units across --organizations organisations
with bench/installed_base.py's set-based build (resumable; no audit events). Then it imports
one CSV of --rows new units (Chinese headers, a third with a department, as a customer's ledger)
through core.imports with the "devices" spec, exactly as the upload page runs it but in
process (import_run, the task's body):

1. dry run: read and check every row, write nothing;
2. import: check again, then apply in one transaction (new units and their audit events);
3. the same file again: every row unchanged, nothing written;
4. the same file with --changed rows altered: those units updated one by one.

It prints rows/s of each (with this process's CPU time and the queries' time: COPY runs on
psycopg's own cursor and is not among the queries), the queries of a dry run and of an import
by kind, the audit events written per unit, and (with --verify) seals the trail and verifies
the whole chain. The machine's load average is printed first: on a shared machine, compare
the CPU time too.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from installed_base import (  # the bench folder is not a package: found on sys.path
    Recorder,
    build,
    import_file,
    query_kind,
    report_build,
    run_job,
    say,
)


def changed_copy(raw: bytes, rows: int) -> bytes:
    """The same ledger with the location of its first `rows` units moved."""
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    location = lines[0].index("位置")
    for line in lines[1 : rows + 1]:
        line[location] = "门诊楼 2 楼"
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    return out.getvalue().encode("utf-8")


def timed_job(raw: bytes, user: Any, *, apply: bool, label: str, rows: int) -> tuple[Any, float]:
    from django.db import connection

    from medservice.core.models import ImportJob

    recorder = Recorder()
    cpu = time.process_time()
    with connection.execute_wrapper(recorder):
        job, seconds = run_job(raw, f"{label}.csv", user, apply=apply)
    cpu = time.process_time() - cpu
    expected = ImportJob.Status.DONE if apply else ImportJob.Status.VALID
    assert job.status == expected, (job.status, job.errors[:5])
    say(
        f"  {label:34} {seconds:7.2f} s  {rows / seconds:8,.0f} rows/s  (Python CPU {cpu:5.2f} s, "
        f"{len(recorder.calls):,} queries {recorder.seconds:5.2f} s)  created "
        f"{job.created_count:,}, updated {job.updated_count:,}, unchanged {job.unchanged_count:,}"
    )
    return job, seconds


def measure(user: Any, rows: int, changed: int, verify: bool) -> None:
    from django.db import connection

    from medservice.core.imports import SPECS
    from medservice.core.models import AuditEvent
    from medservice.customers.models import Department
    from medservice.installed_base.models import Device

    spec = SPECS["devices"]
    batch = getattr(spec, "batch", None)
    chunk = batch.size if batch is not None else 0
    tag = f"{int(time.time()) % 100000:05d}"
    raw = import_file(rows, tag)
    say(
        f"\n== Devices import: {rows:,} new rows ({len(raw) / 1024:,.0f} KiB CSV) into "
        f"{Device.objects.count():,} stored units; chunks of {chunk:,} rows =="
    )
    events_before = AuditEvent.objects.count()
    departments_before = Department.objects.count()
    timed_job(raw, user, apply=False, label="dry run", rows=rows)
    job, _ = timed_job(raw, user, apply=True, label="import (check + apply)", rows=rows)
    assert job.created_count == rows
    events = AuditEvent.objects.count() - events_before
    departments = Department.objects.count() - departments_before
    say(
        f"  audit events: {events:,} for {rows:,} units and {departments:,} departments created "
        f"({(events - departments) / rows:.2f} per unit)"
    )
    events_before = AuditEvent.objects.count()
    timed_job(raw, user, apply=True, label="same file again (all unchanged)", rows=rows)
    assert AuditEvent.objects.count() == events_before, "an unchanged re-import wrote events"
    if changed:
        timed_job(
            changed_copy(raw, changed),
            user,
            apply=True,
            label=f"again, {changed:,} rows changed",
            rows=rows,
        )

    # Where the queries go: a dry run and an import of one more file, by kind.
    small = min(rows, 3 * chunk or 500)
    raw_small = import_file(small, f"{tag}q")
    for apply in (False, True):
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            job, _ = run_job(raw_small, f"q-{tag}.csv", user, apply=apply)
        kinds = Counter(query_kind(sql) for sql, _ in recorder.calls)
        say(
            f"\n  {'import' if apply else 'dry run'} of {small:,} rows: {len(recorder.calls)} "
            f"queries (COPY runs on the raw cursor and is not counted here)"
        )
        for kind, count in kinds.most_common(12):
            say(f"    {count:5}  {kind}")

    if verify:
        from medservice.core.audit import audit_seal_pending, audit_verify_chain

        started = time.perf_counter()
        sealed = audit_seal_pending()
        report = audit_verify_chain()
        say(
            f"\n  sealed {sealed:,} events, verified {report.checked:,} links in "
            f"{time.perf_counter() - started:.1f} s: {'ok' if report.ok else report.problem}"
        )
        assert report.ok, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200_000, help="stored units to build")
    parser.add_argument("--organizations", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the imported file")
    parser.add_argument("--changed", type=int, default=200, help="rows changed on re-import")
    parser.add_argument("--verify", action="store_true", help="seal and verify the audit chain")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL=postgres://... (this benchmark is for PostgreSQL).")
    os.environ.setdefault("MEDSERVICE_VAR_DIR", tempfile.mkdtemp(prefix="medservice-bench-"))
    os.environ.setdefault("MEDSERVICE_DEMO", "1")
    os.environ.setdefault("SECURE_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medservice.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from medservice.accounts.models import User

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    say(
        f"PostgreSQL {version}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
        f"average {os.getloadavg()[0]:.1f}; setup {time.perf_counter() - started:.1f} s"
    )
    say(f"Building {args.devices:,} units across {args.organizations:,} organisations …")
    report_build(build(args.devices, args.organizations))
    measure(User.objects.get(username="manager"), args.rows, args.changed, args.verify)


if __name__ == "__main__":
    main()
