"""Benchmark: the installed base at scale (issue 3) — 1,000,000 devices across 20,000
organisations on PostgreSQL.

Run (PostgreSQL only; create the database first, drop it when done):

    createdb -h 127.0.0.1 -U postgres medservice_bench_ib
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medservice_bench_ib SECRET_KEY=... \\
        .venv/bin/python bench/installed_base.py            # --help for the sizes
    dropdb -h 127.0.0.1 -U postgres medservice_bench_ib

What it does, in order:

1. migrate, collectstatic (manifest storage), seed_demo.
2. Builds the data set with set-based SQL (INSERT ... SELECT generate_series, in chunks of
   100,000 rows): organisations up to --organizations, then deliveries and their serial lines
   for 40 % of the batches, then --devices units of the catalogue demo's serial-tracked
   models, 50 units per (model, batch), 5 consecutive units per delivery and customer. The
   build is resumable (it tops up what is missing) and bypasses the app: no audit events,
   retain_until left empty. Its rate is printed as "bulk build" — it is NOT the import rate.
3. Import rate of the real path: a CSV of --import-rows new devices (Chinese headers, as a
   customer's ledger) through core.imports with the "devices" spec: the dry run (read +
   check every row), then the import (checked again, then applied row by row through
   device_create, one audit event per unit) — exactly what the upload page runs, called in
   process instead of through the task queue. Then the queries per row, a cProfile of a
   smaller file, and (rolled back) two floors of a bulk write of the same rows with their
   audit events — bulk_create and COPY —, to show what batching could reach.
4. Trace: installed_base.selectors.trace_batch and GET /api/v1/trace/ over --trace-samples
   random (model, batch) pairs; median, p95, queries; EXPLAIN ANALYZE of its queries.
5. Device list page and API page through Django's test client signed in as the demo service
   manager: --page-samples requests per case, p50/p95, queries, SQL time; a cProfile of the
   list page; EXPLAIN ANALYZE of the two slowest queries of each case.

Lines marked "what-if" patch the app in this process only (no audit snapshot on load; the
organisation filter as a number input) to show what a fix would give; the app is unchanged.
Results and their reading: docs/performance.md, "Installed base at scale".
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import csv
import io
import math
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHUNK = 100_000
DEVICES_PER_BATCH = 50
DEVICES_PER_DELIVERY = 5
DELIVERED_BATCHES = 2  # of every 5: 40 % of the units came through a recorded delivery
SERIAL_PREFIX = "IB"  # bench units: IB0000000 ..; batches L00000 ..; deliveries IBD000000 ..
CITIES = ["上海", "杭州", "南京", "湖州", "苏州", "无锡", "宁波", "合肥"]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 50 values is the 48th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def say(text: str = "") -> None:
    print(text, flush=True)


class Recorder:
    """Every query the connection runs, with the time its execute() took (server + transfer),
    however many: `with connection.execute_wrapper(recorder)`. (CaptureQueriesContext keeps
    only the last 9,000 and is reset by each test-client request.)"""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.calls.append((sql, time.perf_counter() - started))

    @property
    def seconds(self) -> float:
        return sum(seconds for _, seconds in self.calls)


def captured_sql(call: Callable[[], Any]) -> list[dict[str, Any]]:
    """The queries of one call with their parameters inlined (for EXPLAIN) and their time."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()
    recorder = Recorder()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(recorder):
        call()
    queries = captured.captured_queries
    if len(queries) == len(recorder.calls):
        return [
            {"sql": query["sql"], "ms": seconds * 1000}
            for query, (_, seconds) in zip(queries, recorder.calls, strict=True)
        ]
    return [{"sql": query["sql"], "ms": float(query["time"]) * 1000} for query in queries]


# --- Build ------------------------------------------------------------------------------------


def insert_select(cursor: Any, model: Any, exprs: dict[str, str], tail: str) -> int:
    """INSERT INTO model's table SELECT ... tail: the columns in `exprs` from SQL expressions,
    every other column from a default instance of the model (so a new column with a default
    does not break the build). Expressions must not contain a literal % (use mod())."""
    from django.db import connection

    template = model()
    columns, select, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in exprs:
            select.append(exprs[field.column])
            continue
        value = field.get_db_prep_save(getattr(template, field.attname), connection)
        if value is None and not field.null:
            raise ValueError(f"{model.__name__}.{field.name} needs a value in the build")
        select.append("%s")
        params.append(value)
    unknown = set(exprs) - {field.column for field in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__}: no columns {sorted(unknown)}")
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(select)} {tail}",
        params,
    )
    return cursor.rowcount


def build(devices: int, organizations: int) -> dict[str, Any]:
    from django.db import connection

    from medservice.catalog.choices import Tracking
    from medservice.catalog.models import DeviceModel
    from medservice.customers.models import Organization
    from medservice.installed_base.models import Delivery, DeliveryLine, Device

    models = list(
        DeviceModel.objects.filter(tracking=Tracking.SERIAL)
        .order_by("pk")
        .values_list("pk", "warranty_months")
    )
    if not models:
        raise SystemExit("No serial-tracked device models: did seed_demo load the catalogue?")
    model_ids = "ARRAY[" + ",".join(str(pk) for pk, _ in models) + "]::bigint[]"
    warranty = "ARRAY[" + ",".join(str(months or 12) for _, months in models) + "]::int[]"
    n_models = len(models)
    timings: dict[str, Any] = {"models": n_models}
    with connection.cursor() as cursor:
        # Organisations: hospitals and clinics, unique names, spread over eight cities.
        have = Organization.objects.count()
        missing = max(0, organizations - have)
        started = time.perf_counter()
        if missing:
            first = have + 1  # names 第<n>医院 never repeat: n grows with the table
            city = f"(ARRAY{CITIES!r})[1 + mod(n, {len(CITIES)})]".replace('"', "'")
            insert_select(
                cursor,
                Organization,
                {
                    "created_at": "now()",
                    "updated_at": "now()",
                    "kind": "CASE WHEN mod(n, 4) = 0 THEN 'clinic' ELSE 'hospital' END",
                    "name": f"{city} || '市第' || n || '医院'",
                    "region": city,
                    "city": city,
                    "province": "'华东'",
                },
                f"FROM generate_series({first}, {first + missing - 1}) AS g(n)",
            )
        timings["organizations"] = (missing, time.perf_counter() - started)
        # The customers a unit may belong to, numbered 0..n-1 (demo hospitals included).
        cursor.execute("DROP TABLE IF EXISTS bench_org")
        cursor.execute(
            "CREATE TEMP TABLE bench_org AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS n, id "
            "FROM customers_organization WHERE kind IN ('hospital', 'clinic')"
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_org (n)")
        cursor.execute("SELECT count(*) FROM bench_org")
        n_orgs = cursor.fetchone()[0]
        timings["customers"] = n_orgs

        # Unit i: batch b = i / 50 of model models[b mod M]; delivery group g = i / 5, owned
        # by customer mod(g * 7919, n_orgs) (so one batch spreads over ten customers).
        org_of_group = f"mod(g::bigint * 7919, {n_orgs})"
        batch_of = "(g / 10)"  # 10 groups of 5 = one batch of 50
        production = f"(date '2018-01-01' + mod({batch_of} * 37, 1800))"
        delivered = f"mod({batch_of}, 5) < {DELIVERED_BATCHES}"

        # Deliveries: one per delivered group of five units.
        groups = devices // DEVICES_PER_DELIVERY
        cursor.execute(
            "SELECT count(*) FROM installed_base_delivery WHERE number LIKE %s",
            [f"{SERIAL_PREFIX}D%"],
        )
        have_deliveries = cursor.fetchone()[0]
        started = time.perf_counter()
        made_deliveries = 0
        if have_deliveries == 0:
            made_deliveries = insert_select(
                cursor,
                Delivery,
                {
                    "created_at": "now()",
                    "updated_at": "now()",
                    "number": f"'{SERIAL_PREFIX}D' || lpad(g::text, 6, '0')",
                    "delivered_on": f"{production} + 30",
                    "invoice_number": "'FP' || lpad(g::text, 8, '0')",
                    "organization_id": "o.id",
                },
                f"FROM generate_series(0, {groups - 1}) AS s(g) "
                f"JOIN bench_org o ON o.n = {org_of_group} WHERE {delivered}",
            )
        timings["deliveries"] = (made_deliveries, time.perf_counter() - started)

        # Delivery lines: one serial line per delivered unit (quantity 1, with its batch).
        cursor.execute(
            "SELECT count(*) FROM installed_base_deliveryline WHERE serial_number LIKE %s",
            [f"{SERIAL_PREFIX}%"],
        )
        have_lines = cursor.fetchone()[0]
        started = time.perf_counter()
        made_lines = 0
        if have_lines == 0:
            made_lines = insert_select(
                cursor,
                DeliveryLine,
                {
                    "created_at": "now()",
                    "updated_at": "now()",
                    "delivery_id": "d.id",
                    "device_model_id": f"({model_ids})[1 + mod(i / {DEVICES_PER_BATCH}, {n_models})]",
                    "batch_number": f"'L' || lpad((i / {DEVICES_PER_BATCH})::text, 5, '0')",
                    "serial_number": f"'{SERIAL_PREFIX}' || lpad(i::text, 7, '0')",
                    "quantity": "1",
                    "unit_price": "12800.00",
                    "production_date": production.replace("g /", "(i / 5) /"),
                },
                f"FROM generate_series(0, {groups * DEVICES_PER_DELIVERY - 1}) AS s(i) "
                f"JOIN installed_base_delivery d "
                f"ON d.number = '{SERIAL_PREFIX}D' || lpad((i / 5)::text, 6, '0')",
            )
        timings["lines"] = (made_lines, time.perf_counter() - started)
        cursor.execute("DROP TABLE IF EXISTS bench_line")
        cursor.execute(
            "CREATE TEMP TABLE bench_line AS SELECT substr(serial_number, 3)::int AS unit, id "
            "FROM installed_base_deliveryline WHERE serial_number LIKE %s",
            [f"{SERIAL_PREFIX}%"],
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_line (unit)")
        cursor.execute("ANALYZE bench_line")

        # Units, in chunks (each chunk commits: the build resumes where it stopped).
        cursor.execute(
            "SELECT count(*) FROM installed_base_device WHERE serial_number LIKE %s",
            [f"{SERIAL_PREFIX}%"],
        )
        have_devices = cursor.fetchone()[0]
        unit_group = "(i / 5)"
        unit_production = production.replace("g /", f"{unit_group} /")
        installed = f"({unit_production} + 37 + mod(i, 14))"
        accepted = f"CASE WHEN mod(i, 10) < 8 THEN {installed} + 3 END"
        months = f"({warranty})[1 + mod(i / {DEVICES_PER_BATCH}, {n_models})]"
        exprs = {
            "created_at": "now()",
            "updated_at": "now()",
            "device_model_id": f"({model_ids})[1 + mod(i / {DEVICES_PER_BATCH}, {n_models})]",
            "serial_number": f"'{SERIAL_PREFIX}' || lpad(i::text, 7, '0')",
            "batch_number": f"'L' || lpad((i / {DEVICES_PER_BATCH})::text, 5, '0')",
            "production_date": unit_production,
            "organization_id": "o.id",
            "asset_number": "CASE WHEN mod(i, 3) = 0 THEN 'ZC' || lpad(i::text, 7, '0') "
            "ELSE '' END",
            "delivery_line_id": "l.id",
            "installed_on": installed,
            "accepted_on": accepted,
            "warranty_ends_on": f"(coalesce({accepted}, {installed}) "
            f"+ make_interval(months => {months}) - interval '1 day')::date",
            "status": "CASE mod(i, 20) WHEN 0 THEN 'under_repair' WHEN 1 THEN 'scrapped' "
            "WHEN 2 THEN 'installed' ELSE 'in_service' END",
            "location": "''",
        }
        started = time.perf_counter()
        made_devices = 0
        for start in range(have_devices, devices, CHUNK):
            end = min(devices, start + CHUNK) - 1
            made_devices += insert_select(
                cursor,
                Device,
                exprs,
                f"FROM generate_series({start}, {end}) AS s(i) "
                f"JOIN bench_org o ON o.n = mod({unit_group}::bigint * 7919, {n_orgs}) "
                f"LEFT JOIN bench_line l ON l.unit = s.i",
            )
            say(f"  units {end + 1:>9,} / {devices:,}  ({time.perf_counter() - started:6.1f} s)")
        timings["devices"] = (made_devices, time.perf_counter() - started)
        started = time.perf_counter()
        if made_devices or made_lines or made_deliveries or missing:
            for table in (
                "customers_organization",
                "installed_base_delivery",
                "installed_base_deliveryline",
                "installed_base_device",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum"] = time.perf_counter() - started
    timings["batches"] = devices // DEVICES_PER_BATCH
    return timings


def report_build(timings: dict[str, Any]) -> None:
    from django.db import connection

    say("\n== Bulk build (set-based SQL, NOT the app's import path: no audit events) ==")
    for name in ("organizations", "deliveries", "lines", "devices"):
        rows, seconds = timings[name]
        rate = f"{rows / seconds:10,.0f} rows/s" if rows else "(already there)"
        say(f"  {name:14} {rows:>9,} rows in {seconds:7.1f} s  {rate}")
    say(f"  VACUUM ANALYZE {timings['vacuum']:.1f} s")
    with connection.cursor() as cursor:
        for table in (
            "customers_organization",
            "installed_base_device",
            "installed_base_deliveryline",
            "installed_base_delivery",
            "core_auditevent",
        ):
            cursor.execute(
                f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{table}')) FROM {table}"
            )
            count, size = cursor.fetchone()
            say(f"  {table:30} {count:>10,} rows  {size:>8} (with indexes)")
    say(
        f"  {timings['customers']:,} customers (hospitals, clinics), {timings['models']} "
        f"serial-tracked models, {timings['batches']:,} batches of {DEVICES_PER_BATCH} units"
    )


# --- Import -----------------------------------------------------------------------------------


def import_file(rows: int, tag: str) -> bytes:
    """A customer's device ledger as CSV (UTF-8, Chinese headers): new serial-tracked units of
    the catalogue's models at the bench's customers, a third with a department."""
    from medservice.catalog.choices import Tracking
    from medservice.catalog.models import DeviceModel
    from medservice.customers.models import Organization

    specs = list(
        DeviceModel.objects.filter(tracking=Tracking.SERIAL)
        .order_by("pk")
        .values_list("model_spec", flat=True)
    )
    names = list(
        Organization.objects.filter(kind__in=["hospital", "clinic"], name__contains="市第")
        .order_by("pk")
        .values_list("name", flat=True)
    )
    chooser = random.Random(tag)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["客户单位", "科室", "型号规格", "序列号", "批号", "生产日期", "资产编号", "安装日期",
         "验收日期", "状态", "位置"]
    )  # fmt: skip
    for n in range(rows):
        writer.writerow(
            [
                chooser.choice(names),
                "设备科" if n % 3 == 0 else "",
                specs[(n // DEVICES_PER_BATCH) % len(specs)],
                f"IM{tag}{n:06d}",
                f"M{tag}{n // DEVICES_PER_BATCH:04d}",
                "2024-03-01",
                f"ZC-{tag}-{n}" if n % 2 else "",
                f"2024/4/{1 + n % 28}",
                f"2024年4月{1 + n % 28}日",
                "在用",
                "住院部 3 楼",
            ]
        )
    return out.getvalue().encode("utf-8")


def run_job(raw: bytes, name: str, user: Any, *, apply: bool, job: Any = None) -> tuple[Any, float]:
    """core.imports.import_run — the task's body — in process, timed."""
    from django.core.files.base import ContentFile

    from medservice.core.imports import import_run
    from medservice.core.models import ImportJob

    if job is None:
        job = ImportJob.objects.create(
            kind="devices",
            file=ContentFile(raw, name=name),
            original_name=name,
            uploaded_by=user,
            language="en",
            apply=apply,
        )
    else:
        ImportJob.objects.filter(pk=job.pk).update(apply=apply, status=ImportJob.Status.PENDING)
    started = time.perf_counter()
    job = import_run(job.pk)
    return job, time.perf_counter() - started


def query_kind(sql: str) -> str:
    """A short name for a query: its verb and main table (checks on constraints by name)."""
    text = sql.strip()
    verb = text.split(None, 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return "SAVEPOINT / RELEASE"
    if 'AS "_check"' in text:
        return "SELECT 1 WHERE <check> (full_clean: CheckConstraint.validate)"
    table = ""
    for marker in (" FROM ", "INSERT INTO ", "UPDATE "):
        if marker in text:
            table = text.split(marker, 1)[1].split(None, 1)[0].strip('"')
            break
    return f"{verb} {table}".strip()


def measure_import(user: Any, rows: int, profile_rows: int) -> None:
    from django.db import connection

    from medservice.core.imports import SPECS
    from medservice.core.models import AuditEvent
    from medservice.installed_base.models import Device

    say("\n== Import rate: the real path (core.imports, spec 'devices') ==")
    if "devices" not in SPECS:
        say("  no 'devices' import spec is registered: nothing to measure")
        return
    tag = f"{int(time.time()) % 100000:05d}"
    raw = import_file(rows, tag)
    say(
        f"  file: {rows:,} rows, {len(raw) / 1024:,.0f} KiB CSV, {Device.objects.count():,} units stored"
    )
    events_before = AuditEvent.objects.count()
    job, checked = run_job(raw, f"ledger-{tag}.csv", user, apply=False)
    assert job.status == "valid", (job.status, job.errors[:5])
    say(
        f"  dry run (read + check every row):        {checked:7.1f} s  {rows / checked:8,.0f} rows/s"
    )
    job, imported = run_job(raw, "", user, apply=True, job=job)
    assert job.status == "done" and job.created_count == rows, (job.status, job.errors[:5])
    events = AuditEvent.objects.count() - events_before
    say(
        f"  import (check again + apply, 1 txn):     {imported:7.1f} s  {rows / imported:8,.0f} rows/s"
    )
    say(
        f"    of which apply (import - dry run):     {imported - checked:7.1f} s  "
        f"{rows / max(imported - checked, 1e-9):8,.0f} rows/s"
    )
    say(
        f"  upload page flow (dry run + confirm):    {checked + imported:7.1f} s  "
        f"{rows / (checked + imported):8,.0f} rows/s"
    )
    say(
        f"  created {job.created_count:,} units, {events:,} audit events "
        f"({events / rows:.2f} per row)"
    )

    # Where the time goes: queries per row (a small file, captured) and a profile.
    small = min(500, rows)
    raw_small = import_file(small, f"{tag}q")
    check_recorder, all_recorder = Recorder(), Recorder()
    with connection.execute_wrapper(check_recorder):
        job, _ = run_job(raw_small, f"q-{tag}.csv", user, apply=False)
    with connection.execute_wrapper(all_recorder):
        job, all_seconds = run_job(raw_small, "", user, apply=True, job=job)
    assert job.status == "done", job.errors[:3]
    check_kinds = Counter(query_kind(sql) for sql, _ in check_recorder.calls)
    full_kinds = Counter(query_kind(sql) for sql, _ in all_recorder.calls)
    kind_seconds: Counter[str] = Counter()
    for sql, seconds in all_recorder.calls:
        kind_seconds[query_kind(sql)] += seconds
    sql_ms = all_recorder.seconds * 1000
    say(f"\n  queries per row, {small} rows: import (= check + apply) / dry run; SQL ms per row:")
    for kind, count in full_kinds.most_common():
        say(
            f"    {count / small:6.2f} / {check_kinds.get(kind, 0) / small:5.2f}  "
            f"{kind_seconds[kind] * 1000 / small:6.2f} ms  {kind}"
        )
    say(
        f"    {len(all_recorder.calls) / small:6.2f} / {len(check_recorder.calls) / small:5.2f}  "
        f"in all; SQL {sql_ms:,.0f} ms of {all_seconds * 1000:,.0f} ms wall "
        f"({100 * sql_ms / (all_seconds * 1000):.0f} %), the rest is Python"
    )

    if profile_rows:
        raw_profile = import_file(profile_rows, f"{tag}p")
        job, _ = run_job(raw_profile, f"p-{tag}.csv", user, apply=False)
        profiler = cProfile.Profile()
        profiler.enable()
        job, seconds = run_job(raw_profile, "", user, apply=True, job=job)
        profiler.disable()
        assert job.status == "done", job.errors[:3]
        say(
            f"\n  cProfile of an import of {profile_rows:,} rows ({seconds:.1f} s under the "
            f"profiler), top 25 by cumulative time:"
        )
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.strip_dirs().sort_stats("cumulative").print_stats(25)
        say("\n".join("    " + line for line in stream.getvalue().splitlines() if line.strip()))
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats("tottime").print_stats(15)
        say("  top 15 by own time:")
        say("\n".join("    " + line for line in stream.getvalue().splitlines() if line.strip()))

    # The floor batching could reach: the same rows, lookups preloaded (a few queries per
    # file), written in bulk with one audit event each (not the app's path; rolled back).
    say(
        f"\n  what-if floors (NOT the app's path; each rolled back): the same {rows:,} units "
        f"and {rows:,} audit events, lookups preloaded per file"
    )
    for variant in ("bulk_create", "COPY"):
        phases = _bulk_floor(raw, user, variant)
        total = sum(phases.values())
        detail = ", ".join(f"{name} {seconds:.2f}" for name, seconds in phases.items())
        say(f"    {variant:12} {total:6.2f} s  {rows / total:8,.0f} rows/s   ({detail} s)")


def _bulk_floor(raw: bytes, user: Any, variant: str) -> dict[str, float]:
    """The file's units written in bulk, in a transaction that is rolled back: organisations,
    models, departments and taken serials preloaded in four queries; then either
    bulk_create (1,000 rows per INSERT) of units and audit events, or COPY of both (ids
    reserved from the sequence). Returns seconds per phase."""
    import datetime
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    from medservice.catalog.models import DeviceModel
    from medservice.core.audit import audit_value
    from medservice.core.models import AuditEvent
    from medservice.customers.models import Department, Organization
    from medservice.installed_base.models import Device
    from medservice.installed_base.services import warranty_end

    class RollbackError(Exception):
        pass

    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))[1:]
    suffix = "f" if variant == "COPY" else "b"  # serials not yet taken
    phases: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        phases[name] = now - clock[0]
        clock[0] = now

    def changes_of(unit: Device) -> dict[str, Any]:
        values = ((f.attname, audit_value(getattr(unit, f.attname))) for f in unit.audit_fields())
        return {name: [None, value] for name, value in values if value not in (None, "")}

    try:
        with transaction.atomic():
            orgs = {o.name: o for o in Organization.objects.filter(name__in={r[0] for r in rows})}
            models = {
                m.model_spec: m
                for m in DeviceModel.objects.filter(model_spec__in={r[2] for r in rows})
            }
            departments = {
                (d.organization_id, d.name): d
                for d in Department.objects.filter(
                    organization__in=orgs.values(), name__in={r[1] for r in rows if r[1]}
                )
            }
            taken = set(
                Device.objects.filter(serial_number__in=[r[3] + suffix for r in rows]).values_list(
                    "device_model_id", "serial_number"
                )
            )
            lap("lookups")
            units = []
            for r in rows:
                model = models[r[2]]
                assert (model.pk, r[3] + suffix) not in taken
                day = int(r[7].rsplit("/", 1)[1])
                unit = Device(
                    device_model=model,
                    organization=orgs[r[0]],
                    department=departments.get((orgs[r[0]].pk, r[1])) if r[1] else None,
                    serial_number=r[3] + suffix,
                    batch_number=r[4],
                    production_date=datetime.date(2024, 3, 1),
                    asset_number=r[6],
                    installed_on=datetime.date(2024, 4, day),
                    accepted_on=datetime.date(2024, 4, day),
                    status="in_service",
                    location=r[10],
                )
                unit.warranty_ends_on = warranty_end(unit)
                unit.retain_until = unit.compute_retain_until()
                units.append(unit)
            lap("build units")
            label = user.get_full_name() or user.get_username()
            if variant == "bulk_create":
                Device._base_manager.bulk_create(units, batch_size=1000)
                lap("insert units")
                events = [
                    AuditEvent(
                        actor=user,
                        actor_label=label,
                        job="import:devices",
                        action="create",
                        object_type="installed_base.device",
                        object_id=str(unit.pk),
                        object_repr=str(unit)[:200],
                        changes=changes_of(unit),
                    )
                    for unit in units
                ]
                lap("build events")
                AuditEvent.objects.bulk_create(events, batch_size=1000)
                lap("insert events")
            else:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence('installed_base_device', 'id')) "
                        "FROM generate_series(1, %s)",
                        [len(units)],
                    )
                    ids = [pk for (pk,) in cursor.fetchall()]
                    now = timezone.now()
                    fields = Device._meta.concrete_fields
                    columns = ", ".join(f.column for f in fields)
                    raw_cursor = cursor.cursor  # psycopg's own, for COPY
                    with raw_cursor.copy(
                        f"COPY installed_base_device ({columns}) FROM STDIN"
                    ) as copy:
                        for pk, unit in zip(ids, units, strict=True):
                            unit.pk, unit.created_at, unit.updated_at = pk, now, now
                            copy.write_row(
                                [
                                    f.get_db_prep_save(getattr(unit, f.attname), connection)
                                    for f in fields
                                ]
                            )
                    lap("COPY units")
                    event_columns = (
                        "occurred_at, actor_id, actor_label, job, action, detail, object_type, "
                        "object_id, object_repr, changes, reason, request_id"
                    )
                    with raw_cursor.copy(
                        f"COPY core_auditevent ({event_columns}) FROM STDIN"
                    ) as copy:
                        for unit in units:
                            row = [now, user.pk, label, "import:devices", "create", ""]
                            row += ["installed_base.device", str(unit.pk), str(unit)[:200]]
                            copy.write_row([*row, json.dumps(changes_of(unit)), "", ""])
                    lap("COPY events")
            raise RollbackError
    except RollbackError:
        pass
    return phases


# --- Reads ------------------------------------------------------------------------------------


def explain(sql: str, indent: str = "      ") -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        for (line,) in cursor.fetchall():
            say(indent + line)


def timed(call: Callable[[], Any], samples: int) -> tuple[list[float], list[float], int, Any]:
    """(wall ms, SQL ms, queries of the last call, last result) of `samples` calls."""
    from django.db import connection

    walls, sqls, queries, result = [], [], 0, None
    for _ in range(samples):
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            started = time.perf_counter()
            result = call()
            walls.append((time.perf_counter() - started) * 1000)
        sqls.append(recorder.seconds * 1000)
        queries = len(recorder.calls)
    return walls, sqls, queries, result


@contextlib.contextmanager
def no_audit_snapshot() -> Iterator[None]:
    """What-if, in this process only: every loaded record skips the audit snapshot that
    AuditedModel.from_db takes (reads only: nothing is saved meanwhile)."""
    from medservice.core.models import AuditedModel

    original = AuditedModel.audit_snapshot_take
    AuditedModel.audit_snapshot_take = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        AuditedModel.audit_snapshot_take = original  # type: ignore[method-assign]


@contextlib.contextmanager
def organisation_filter_as_text() -> Iterator[None]:
    """What-if, in this process only: the device list's organisation filter rendered as a
    number input (as an autocomplete would render it) instead of a <select> of every
    organisation the user may see."""
    from django import forms

    from medservice.installed_base.filtersets import DeviceFilter

    original = DeviceFilter.__init__

    def patched(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        widget = forms.NumberInput(attrs={"class": "form-control form-control-sm"})
        self.filters["organization"].field.widget = widget

    DeviceFilter.__init__ = patched  # type: ignore[method-assign]
    try:
        yield
    finally:
        DeviceFilter.__init__ = original  # type: ignore[method-assign]


def measure_trace(client: Any, headers: dict[str, str], devices: int, samples: int) -> None:
    from django.db import connection

    from medservice.catalog.choices import Tracking
    from medservice.catalog.models import DeviceModel
    from medservice.installed_base.selectors import trace_batch

    say(f"\n== Trace: all units and delivery lines of one model + batch ({samples} batches) ==")
    model_ids = list(
        DeviceModel.objects.filter(tracking=Tracking.SERIAL)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    n_batches = devices // DEVICES_PER_BATCH
    picked = random.Random(3).sample(range(n_batches), min(samples, n_batches))
    pairs = [(model_ids[b % len(model_ids)], f"L{b:05d}") for b in picked]

    def run(label: str, call: Callable[[int, str], Any]) -> None:
        for model, batch in pairs[:5]:  # warm up (the first request builds caches)
            call(model, batch)
        walls, sqls, queries, units, lines = [], [], set(), [], []
        for model, batch in pairs:
            recorder = Recorder()
            with connection.execute_wrapper(recorder):
                started = time.perf_counter()
                result = call(model, batch)
                walls.append((time.perf_counter() - started) * 1000)
            sqls.append(recorder.seconds * 1000)
            queries.add(len(recorder.calls))
            units.append(result[0])
            lines.append(result[1])
        say(
            f"  {label:38} median {statistics.median(walls):6.1f} ms  p95 "
            f"{percentile(walls, 0.95):6.1f} ms  max {max(walls):6.1f} ms  SQL median "
            f"{statistics.median(sqls):5.1f} ms  queries {sorted(queries)}  units/batch "
            f"{statistics.mean(units):.0f}, lines/batch {statistics.mean(lines):.0f}"
        )

    def selector(model: int, batch: str) -> tuple[int, int]:
        trace = trace_batch(model, batch)
        return len(trace.devices), len(trace.delivery_lines)

    def api(model: int, batch: str) -> tuple[int, int]:
        response = client.get(
            "/api/v1/trace/", {"device_model": model, "batch_number": batch}, **headers
        )
        assert response.status_code == 200, response.status_code
        body = response.json()
        return len(body["devices"]), len(body["delivery_lines"])

    run("selectors.trace_batch (no scope)", selector)
    run("GET /api/v1/trace/ (service manager)", api)
    say("  what-if (NOT the app as it is): AuditedModel.from_db without its audit snapshot")
    with no_audit_snapshot():
        run("  selectors.trace_batch", selector)
        run("  GET /api/v1/trace/", api)

    delivered = next(
        ((m, b) for m, b in pairs if int(b[1:]) % 5 < DELIVERED_BATCHES),
        (model_ids[0], "L00000"),  # batch 0 was delivered
    )
    say(f"\n  EXPLAIN ANALYZE of trace_batch({delivered[0]}, {delivered[1]!r}):")
    for query in captured_sql(lambda: trace_batch(*delivered)):
        say(f"    {query['sql'][:160]}{'…' if len(query['sql']) > 160 else ''}")
        explain(query["sql"])


@contextlib.contextmanager
def as_before_deep_pages_and_search() -> Iterator[None]:
    """What-if, in this process only: the pages as they were before docs/decisions/0006 —
    numbered pages sliced by OFFSET (no deferred join, no sorting after filtering) and no
    trigram indexes (dropped inside a transaction that is rolled back afterwards)."""
    from django.db import connection, transaction

    from medservice.core import pagination

    original = pagination.page_rows
    pagination.page_rows = lambda queryset, start, stop, total: queryset[start:stop]
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'installed_base_device' "
                    "AND indexname LIKE '%%\\_trgm'"
                )
                for (name,) in cursor.fetchall():
                    cursor.execute(f'DROP INDEX "{name}"')
            yield
            transaction.set_rollback(True)
    finally:
        pagination.page_rows = original


def measure_pages(
    client: Any, headers: dict[str, str], devices: int, samples: int, steps: set[str]
) -> None:
    from django.utils import timezone

    from medservice.catalog.choices import Tracking
    from medservice.catalog.models import DeviceModel
    from medservice.installed_base.models import Device

    model = DeviceModel.objects.filter(tracking=Tracking.SERIAL).order_by("pk").first()
    owner = (
        Device.objects.filter(serial_number__startswith=SERIAL_PREFIX)
        .order_by("pk")
        .values_list("organization_id", flat=True)
        .first()
    )
    serial = f"{SERIAL_PREFIX}{devices // 2:07d}"  # a unit in the middle of the table
    assert Device.objects.filter(serial_number=serial).exists(), serial
    total = Device.objects.count()
    last_page_ui = math.ceil(total / 25)  # core.views.PAGE_SIZE
    last_page_api = math.ceil(total / 50)  # REST_FRAMEWORK["PAGE_SIZE"]
    today = timezone.localdate().isoformat()
    ui = "/installed-base/devices/"
    api = "/api/v1/devices/"
    # The keyset cursor a client holds on reaching the last API page by following `next`: the
    # id of the row before it (newest first), as the API's own links encode it.
    before_last = Device.objects.order_by("-id").values_list("id", flat=True)[
        (last_page_api - 1) * 50 - 1
    ]
    last_cursor = base64.b64encode(f"p={before_last}".encode()).decode()
    part = serial[1:-1].lower()  # the middle of the serial, lower case: "b050000"
    cases = {
        "UI list, page 1": (ui, {}),
        f"UI list, last page ({last_page_ui:,})": (ui, {"page": last_page_ui}),
        f"UI list, middle page ({last_page_ui // 2:,})": (ui, {"page": last_page_ui // 2}),
        "UI filtered: model + status": (ui, {"device_model": model.pk, "status": "in_service"}),
        "UI filtered: one customer": (ui, {"organization": owner}),
        "UI search by serial (q=)": (ui, {"q": serial}),
        "UI search, part of a serial": (ui, {"q": part}),
        "UI filter serial_number= (exact)": (ui, {"serial_number": serial}),
        "UI warranty register": (
            ui,
            {"sort": "warranty_ends_on", "warranty_ends_on_after": today},
        ),
        "API list, page 1": (api, {}),
        f"API list, last page ({last_page_api:,})": (api, {"page": last_page_api}),
        "API list, last page by cursor": (api, {"cursor": last_cursor}),
        f"API list, middle page ({last_page_api // 2:,})": (api, {"page": last_page_api // 2}),
        "API filtered: model + status": (api, {"device_model": model.pk, "status": "in_service"}),
        "API search by serial": (api, {"search": serial}),
        "API search, part of a serial": (api, {"search": part}),
    }
    # The second page of a search with a few hundred matches spread over the table, reached
    # by the first page's `next` link (a cursor).
    following = parse_qs(
        urlsplit(client.get(api, {"search": "9999"}, **headers).json()["next"]).query
    )
    cases["API search '9999', page 2 by cursor"] = (api, {k: v[0] for k, v in following.items()})
    say(f"\n== Device list and API pages ({samples} requests each, {total:,} units) ==")

    def run_cases(
        cases: dict[str, tuple[str, dict[str, Any]]], samples: int = samples
    ) -> dict[str, Any]:
        say(
            f"  {'request':36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL p50':>8} "
            f"{'queries':>7} {'KiB':>6}"
        )
        slowest: dict[str, list[tuple[float, str]]] = {}
        for name, (url, params) in cases.items():

            def call(url: str = url, params: dict[str, Any] = params) -> Any:
                response = client.get(url, params, **headers)
                assert response.status_code == 200, (url, params, response.status_code)
                return response

            call()  # warm up (and the first hit of the template cache)
            walls, sqls, queries, response = timed(call, samples)
            say(
                f"  {name:36} {statistics.median(walls):8.1f} {percentile(walls, 0.95):8.1f} "
                f"{max(walls):8.1f} {statistics.median(sqls):8.1f} {queries:7d} "
                f"{len(response.content) / 1024:6.0f}"
            )
            slowest[name] = sorted(
                ((query["ms"], query["sql"]) for query in captured_sql(call)),
                reverse=True,
            )[:2]
        return slowest

    slowest = run_cases(cases)
    if "select-whatif" in steps:
        say(
            "\n  what-if (NOT the app as it is): the UI cases again with the organisation filter "
            "rendered as a number input"
        )
        with organisation_filter_as_text():
            run_cases({name: case for name, case in cases.items() if name.startswith("UI")})
    if "before" in steps:
        before = max(5, samples // 4)
        say(
            f"\n  what-if (NOT the app as it is), {before} requests each: as before decision 0006 "
            "(OFFSET pages, no trigram indexes)"
        )
        with as_before_deep_pages_and_search():
            run_cases(
                {
                    name: case
                    for name, case in cases.items()
                    if any(word in name for word in ("page 1", "last page (", "middle", "search"))
                    and "cursor" not in name
                },
                before,
            )
    url, params = cases["UI list, page 1"]
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(url, params, **headers)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).strip_dirs()
    stats.sort_stats("cumulative").print_stats(
        r"views.py|paginator|widgets|boundfield|filterset|exports|query.py.*\(__iter__\)"
        r"|compiler.py.*execute_sql|select|options",
        25,
    )
    stats.sort_stats("tottime").print_stats(15)
    say("\n  cProfile of one request of the UI list, page 1 (app-level calls by cumulative time,")
    say("  then the top 15 by own time):")
    say("\n".join("    " + line for line in stream.getvalue().splitlines() if line.strip()))
    say("\n  The two slowest queries of each request, with EXPLAIN ANALYZE:")
    for name, queries in slowest.items():
        say(f"\n  -- {name}")
        for ms, sql in queries:
            say(f"    [{ms:.1f} ms] {sql[:300]}{'…' if len(sql) > 300 else ''}")
            if sql.lstrip().upper().startswith("SELECT"):
                explain(sql)


# --- Main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--organizations", type=int, default=20_000)
    parser.add_argument("--import-rows", type=int, default=20_000, help="0 skips the import")
    parser.add_argument("--profile-rows", type=int, default=2_000, help="0 skips the profile")
    parser.add_argument("--trace-samples", type=int, default=200)
    parser.add_argument("--page-samples", type=int, default=50)
    parser.add_argument(
        "--steps",
        default="build,import,trace,pages,select-whatif,before",
        help="which steps to run, comma-separated (build always tops up the data first): "
        "build, import, trace, pages; with pages, select-whatif (the organisation filter as a "
        "number input) and before (OFFSET pages, no trigram indexes)",
    )
    args = parser.parse_args()
    steps = {step.strip() for step in args.steps.split(",") if step.strip()}

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
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from medservice.accounts.models import User

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # manifest storage
    call_command("seed_demo", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    say(
        f"PostgreSQL {version} (shared_buffers {buffers}), Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs; setup {time.perf_counter() - started:.1f} s"
    )
    say(f"Building {args.devices:,} units across {args.organizations:,} organisations …")
    timings = build(args.devices, args.organizations)
    report_build(timings)

    manager = User.objects.get(username="manager")
    if args.import_rows and "import" in steps:
        measure_import(manager, args.import_rows, args.profile_rows)

    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="127.0.0.1")
    client.force_login(manager)
    token = Token.objects.get_or_create(user=manager)[0].key
    headers = {"HTTP_AUTHORIZATION": f"Token {token}", "HTTP_ACCEPT": "application/json"}
    if "trace" in steps:
        measure_trace(client, headers, args.devices, args.trace_samples)
    page_headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    if "pages" in steps:
        measure_pages(client, page_headers, args.devices, args.page_samples, steps)


if __name__ == "__main__":
    main()
