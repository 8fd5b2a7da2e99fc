"""Benchmark: KPIs and dashboards at scale (issue 11) — 1,000,000 service requests (with their
3,000,000 clocks) and 300,000 work orders on PostgreSQL.

Run (PostgreSQL only; create the database first, drop it when done):

    createdb -h 127.0.0.1 -U postgres medservice_bench_analytics
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medservice_bench_analytics SECRET_KEY=... \\
        .venv/bin/python bench/tickets.py --small-tickets 0 --steps ""     # the tickets
    DATABASE_URL=... SECRET_KEY=... .venv/bin/python bench/analytics.py     # --help
    dropdb -h 127.0.0.1 -U postgres medservice_bench_analytics

What it does, in order:

1. Expects the tickets of bench/tickets.py (1,000,000 requests over three years before its
   reference time B0, 90 % closed, three clocks each) and adds, with set-based SQL and without
   the app (no audit events): --devices units (ten per bench customer, the demo's models) and
   --work-orders work orders over the same three years — 70 % repairs (70 % on site with one
   visit, one in ten with two; 20 % in the workshop; 10 % remote), 20 % preventive
   maintenance, 10 % installations; one in twenty still open (a third of those past their
   promised date), one in 97 cancelled; repairs linked to a bench request, down from creation
   and back in service 4–143 h later, with a fault code; check-ins spread from 10 minutes
   early to 30 minutes late.
2. Times, as the demo service manager (internal scope: every record), over the last whole
   month before B0 and as of B0:
   - every registered KPI through `analytics.kpis.kpi_compute` (--samples calls each): p50,
     p95, queries, SQL time; beside the KPIs that have one, the hand-written SQL of the same
     figure (HAND_SQL below) and the ratio;
   - the pages, each first request apart (a cold process; the KPI page then computes and
     stores its figures) from the next ones: the service dashboard, the quality dashboard,
     the KPI page (every KPI) and `GET /api/v1/kpis/` for the month from stored figures, the
     KPI page computed live (`fresh=1`), and a 12-month chart;
   - one run of the job refreshing the stored figures;
   - EXPLAIN ANALYZE of the slowest KPI's slowest query.

Results and their reading: docs/performance.md, "KPIs and dashboards at scale".
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from installed_base import captured_sql, explain, insert_select, percentile, say, timed
from tickets import load, meta_get, meta_set, prepare, reference_time, ts

CHUNK = 100_000
DEVICES_PER_CUSTOMER = 10


def month_before(b0: datetime.datetime) -> tuple[datetime.date, datetime.date]:
    """The last whole local month before B0."""
    from django.utils import timezone

    first_of_this = timezone.localtime(b0).date().replace(day=1)
    last = first_of_this - datetime.timedelta(days=1)
    return last.replace(day=1), last


def build_devices(devices_per_customer: int) -> int:
    from django.db import connection, transaction

    from medservice.catalog.models import DeviceModel
    from medservice.installed_base.models import Device

    models = list(
        DeviceModel.objects.filter(tracking="serial").order_by("pk").values_list("pk", flat=True)
    )
    model_ids = "ARRAY[" + ",".join(str(pk) for pk in models) + "]::bigint[]"
    with connection.cursor() as cursor:
        if meta_get(cursor, "analytics_devices") == "done":
            return 0
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
            made = insert_select(
                cursor, Device,
                {
                    "created_at": "now() - interval '1200 days'",
                    "updated_at": "now() - interval '1200 days'",
                    "serial_number": "'BENCH-' || o.n || '-' || g.k",
                    "status": "'in_service'",
                    "installed_on": "(now() - interval '1200 days')::date",
                    "accepted_on": "(now() - interval '1200 days')::date",
                    "device_model_id": f"({model_ids})[1 + mod(o.n + g.k, {len(models)})]",
                    "organization_id": "o.id",
                },
                f"FROM bench_org o CROSS JOIN generate_series(0, {devices_per_customer - 1}) "
                "AS g(k)",
            )  # fmt: skip
            meta_set(cursor, "analytics_devices", "done")
    return made


def bench_device_table() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_device")
        cursor.execute(
            "CREATE TEMP TABLE bench_device AS SELECT (row_number() OVER (ORDER BY id)) - 1 AS n, "
            "id, organization_id FROM installed_base_device WHERE serial_number LIKE 'BENCH-%%'"
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_device (n)")
        cursor.execute("SELECT count(*) FROM bench_device")
        return cursor.fetchone()[0]


def work_order_source(start: int, end: int, total: int, b0: datetime.datetime, n: dict) -> str:
    span = 1041 * 86400 / total
    return f"""
    FROM (
      SELECT x.*,
        CASE WHEN x.st = 'closed' AND x.kind = 'repair' AND mod(x.i, 53) <> 0
             THEN x.created + make_interval(hours => 4 + mod(x.i * 13, 140)) END AS back,
        x.created + make_interval(hours => 4 + mod(x.i * 13, 140)) AS done
      FROM (
        SELECT i,
          {ts(b0)} - interval '1041 days' + make_interval(secs => i * {span}) AS created,
          CASE WHEN mod(i, 10) < 7 THEN 'repair' WHEN mod(i, 10) < 9
               THEN 'preventive_maintenance' ELSE 'installation' END AS kind,
          CASE WHEN mod(i, 97) = 5 THEN 'cancelled'
               WHEN mod(i, 20) = 0 THEN 'in_progress' ELSE 'closed' END AS st,
          CASE WHEN mod(i, 10) >= 7 OR mod(i * 3, 10) < 7 THEN 'on_site'
               WHEN mod(i * 3, 10) < 9 THEN 'workshop' ELSE 'remote' END AS route
        FROM generate_series({start}, {end}) AS s(i)
      ) x
    ) w
    JOIN bench_device d ON d.n = mod(w.i::bigint * 7919, {n["devices"]})
    JOIN bench_owner e ON e.n = mod(hashint4(w.i)::bigint + 2147483648, 200)
    """


def work_order_columns(n: dict) -> dict[str, str]:
    faults = "ARRAY[" + ",".join(str(pk) for pk in n["faults"]) + "]::bigint[]"
    return {
        "created_at": "w.created",
        "updated_at": "coalesce(w.done, w.created)",
        "number": "'BW-' || lpad(w.i::text, 8, '0')",
        "kind": "w.kind",
        "source": "CASE WHEN w.kind = 'repair' THEN 'ticket' ELSE 'manual' END",
        "status": "w.st",
        "route": "w.route",
        "problem": "'设备报警，需检查'",
        "promised_by": "(w.created AT TIME ZONE 'Asia/Shanghai')::date + 5",
        "result": "CASE WHEN w.st = 'closed' THEN CASE WHEN w.kind = 'repair' AND "
        "mod(w.i, 53) = 0 THEN 'not_to_be_used' ELSE 'returned_to_service' END ELSE '' END",
        "completed_at": "CASE WHEN w.st = 'closed' THEN w.done END",
        "closed_at": "CASE WHEN w.st = 'closed' THEN w.done + interval '1 day' END",
        "cancel_reason": "CASE WHEN w.st = 'cancelled' THEN '客户取消' ELSE '' END",
        "down_since": "CASE WHEN w.kind = 'repair' THEN w.created END",
        "back_in_service_at": "w.back",
        "device_id": "d.id",
        "organization_id": "d.organization_id",
        "engineer_id": "e.id",
        "owner_id": "e.id",
        "fault_code_id": f"CASE WHEN w.kind = 'repair' THEN ({faults})[1 + mod(w.i, "
        f"{len(n['faults'])})] END",
        "ticket_id": f"CASE WHEN w.kind = 'repair' THEN {n['ticket_base']} + "
        f"mod(w.i::bigint * 37, {n['tickets']}) END",
    }


def visit_source(lo: int, hi: int) -> str:
    return f"""
    FROM (
      SELECT o.id, o.engineer_id, o.created_at, o.status, v.k,
        substr(o.number, 4)::int AS i
      FROM work_orders_workorder o
      CROSS JOIN generate_series(1, 2) AS v(k)
      WHERE o.id > {lo} AND o.id <= {hi} AND o.number LIKE 'BW-%%' AND o.route = 'on_site'
        AND o.status <> 'cancelled' AND (v.k = 1 OR mod(substr(o.number, 4)::int, 10) = 3)
    ) q
    """


VISIT_COLUMNS = {
    "created_at": "q.created_at",
    "updated_at": "q.created_at",
    "status": "CASE WHEN q.status = 'in_progress' AND q.k = 1 THEN 'scheduled' ELSE 'done' END",
    "window_start": "q.created_at + make_interval(hours => 20 + 24 * (q.k - 1))",
    "window_end": "q.created_at + make_interval(hours => 22 + 24 * (q.k - 1))",
    "checked_in_at": "CASE WHEN q.status = 'in_progress' AND q.k = 1 THEN NULL ELSE "
    "q.created_at + make_interval(hours => 20 + 24 * (q.k - 1), mins => mod(q.i * 7, 40) - 10) "
    "END",
    "checked_out_at": "CASE WHEN q.status = 'in_progress' AND q.k = 1 THEN NULL ELSE "
    "q.created_at + make_interval(hours => 23 + 24 * (q.k - 1)) END",
    "engineer_id": "q.engineer_id",
    "work_order_id": "q.id",
}


def build_work_orders(total: int, b0: datetime.datetime, n: dict) -> dict[str, Any]:
    from django.db import connection, transaction

    from medservice.work_orders.models import Visit, WorkOrder

    timings: dict[str, Any] = {}
    with connection.cursor() as cursor:
        have = int(meta_get(cursor, "analytics_work_orders", "0"))
        started = time.perf_counter()
        made = 0
        columns = work_order_columns(n)
        for start in range(have, total, CHUNK):
            end = min(total, start + CHUNK) - 1
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
                made += insert_select(
                    cursor, WorkOrder, columns, work_order_source(start, end, total, b0, n)
                )
                meta_set(cursor, "analytics_work_orders", str(end + 1))
            say(f"  work orders {end + 1:>9,} / {total:,} ({time.perf_counter() - started:6.1f} s)")
        timings["work_orders"] = (made, time.perf_counter() - started)
        cursor.execute("SELECT max(id) FROM work_orders_workorder WHERE number LIKE 'BW-%%'")
        last_id = cursor.fetchone()[0] or 0
        done = int(meta_get(cursor, "analytics_visits_through_id", "0"))
        started = time.perf_counter()
        made = 0
        lo = done
        while lo < last_id:
            hi = min(last_id, lo + CHUNK)
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
                made += insert_select(cursor, Visit, VISIT_COLUMNS, visit_source(lo, hi))
                meta_set(cursor, "analytics_visits_through_id", str(hi))
            lo = hi
        timings["visits"] = (made, time.perf_counter() - started)
        if timings["work_orders"][0] or made:
            started = time.perf_counter()
            for table in ("work_orders_workorder", "work_orders_visit", "installed_base_device"):
                cursor.execute(f"VACUUM ANALYZE {table}")
            timings["vacuum"] = time.perf_counter() - started
    return timings


# The same figure as the KPI function, written by hand in SQL (%(start)s, %(end)s: the period's
# bounds as aware datetimes; %(as_of)s). Percentiles are percentile_disc (nearest rank).
HAND_SQL: dict[str, str] = {
    "first_response_time": """
        SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY c.met_at - c.started_at),
               count(*)
        FROM tickets_ticketclock c JOIN tickets_ticket t ON t.id = c.ticket_id
        WHERE c.target = 'first_response' AND c.met_at >= %(start)s AND c.met_at < %(end)s
          AND t.status <> 'cancelled'""",
    "sla_compliance": """
        SELECT c.target, count(*) FILTER (WHERE c.breached_at IS NULL), count(*)
        FROM tickets_ticketclock c JOIN tickets_ticket t ON t.id = c.ticket_id
        WHERE t.status <> 'cancelled' AND (
          (c.breached_at IS NULL AND c.met_at >= %(start)s AND c.met_at < %(end)s)
          OR (c.breached_at >= %(start)s AND c.breached_at < %(end)s))
        GROUP BY c.target""",
    "tickets_open_over_14d": """
        SELECT count(*) FROM tickets_ticket
        WHERE status NOT IN ('resolved', 'closed', 'cancelled')
          AND received_at < %(as_of)s - interval '13 days'""",
    "first_time_fix": """
        SELECT count(*) FILTER (WHERE v.n = 1 AND o.result = 'returned_to_service'), count(*)
        FROM work_orders_workorder o
        LEFT JOIN LATERAL (SELECT count(*) AS n FROM work_orders_visit v
                           WHERE v.work_order_id = o.id AND v.checked_in_at IS NOT NULL) v
          ON true
        WHERE o.kind = 'repair' AND o.route = 'on_site' AND o.status IN ('completed', 'closed')
          AND o.completed_at >= %(start)s AND o.completed_at < %(end)s""",
    "mttr": """
        SELECT avg(back_in_service_at - down_since), count(*) FROM work_orders_workorder
        WHERE kind = 'repair' AND status NOT IN ('cancelled', 'declined')
          AND back_in_service_at >= %(start)s AND back_in_service_at < %(end)s""",
    "overdue_work_orders": """
        SELECT count(*) FROM work_orders_workorder
        WHERE status NOT IN ('completed', 'closed', 'declined', 'cancelled')
          AND promised_by < (%(as_of)s AT TIME ZONE 'Asia/Shanghai')::date""",
    "on_time_arrival": """
        SELECT count(*) FILTER (WHERE v.checked_in_at <= v.window_start + interval '15 minutes'),
               count(*)
        FROM work_orders_visit v JOIN work_orders_workorder o ON o.id = v.work_order_id
        WHERE v.status <> 'cancelled' AND o.status NOT IN ('cancelled', 'declined')
          AND v.window_start >= %(start)s AND v.window_start < %(end)s
          AND (v.checked_in_at IS NOT NULL OR v.window_end < %(as_of)s)""",
}


def measure_kpis(user: Any, b0: datetime.datetime, samples: int) -> list[dict[str, Any]]:
    from django.db import connection

    from medservice.analytics.kpis import KpiFilter, kpi_compute, kpis_for, local_midnight

    start, end = month_before(b0)
    kpi_filter = KpiFilter(user=user, start=start, end=end, as_of=b0)
    bounds = {
        "start": local_midnight(start),
        "end": local_midnight(end + datetime.timedelta(days=1)),
        "as_of": b0,
    }
    say(f"\nKPIs over {start} … {end} as of {b0.isoformat()} ({samples} calls each; load {load()})")
    say(f"  {'KPI':<26} {'value':>10} {'counted':>9} {'p50 ms':>8} {'p95 ms':>8} {'queries':>7} "
        f"{'SQL ms':>7} {'hand SQL ms':>11} {'ratio':>6}")  # fmt: skip
    rows = []
    for definition in kpis_for(user):
        walls, sqls, queries, result = timed(
            lambda code=definition.code: kpi_compute(code, kpi_filter), samples
        )
        hand = ""
        ratio = ""
        if definition.code in HAND_SQL:
            hand_walls = []
            for _ in range(samples):
                with connection.cursor() as cursor:
                    began = time.perf_counter()
                    cursor.execute(HAND_SQL[definition.code], bounds)
                    cursor.fetchall()
                    hand_walls.append((time.perf_counter() - began) * 1000)
            hand_p50 = statistics.median(hand_walls)
            hand = f"{hand_p50:.1f}"
            ratio = f"{statistics.median(walls) / hand_p50:.1f}×"
        counted = result.denominator if result.denominator is not None else ""
        say(f"  {definition.code:<26} {result.value!s:>10} {counted!s:>9} "
            f"{statistics.median(walls):8.1f} {percentile(walls, 0.95):8.1f} {queries:7d} "
            f"{statistics.median(sqls):7.1f} {hand:>11} {ratio:>6}")  # fmt: skip
        rows.append({"code": definition.code, "p95": percentile(walls, 0.95), "call": (
            lambda code=definition.code: kpi_compute(code, kpi_filter))})  # fmt: skip
    return rows


def measure_pages(
    client: Any,
    quality_client: Any,
    headers: dict[str, str],
    b0: datetime.datetime,
    samples: int,
) -> None:
    """Each page's first request (a cold process; for the KPI page, the figures computed and
    stored), then `samples` more: p50, p95, queries and SQL time of those."""
    from django.core.cache import cache

    from medservice.analytics.models import KpiSnapshot

    # Cold: no figure or chart series stored by an earlier run.
    KpiSnapshot.objects.all().delete()
    cache.clear()
    start, end = month_before(b0)
    period = f"from={start.isoformat()}&to={end.isoformat()}"
    say(f"\nPages (first request, then {samples} more; load {load()})")
    say(f"  {'page':<52} {'status':>6} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'queries':>7} {'SQL ms':>7}")  # fmt: skip
    for label, url, extra, who, count in (
        ("service dashboard", "/analytics/service/", {}, client, samples),
        ("quality dashboard", "/analytics/quality/", {}, quality_client, samples),
        ("KPI page, last month (stored figures)", f"/analytics/kpis/?{period}", {}, client,
         samples),
        ("GET /api/v1/kpis/, last month (stored figures)", f"/api/v1/kpis/?{period}", headers,
         client, samples),
        ("KPI page, last month, fresh=1 (computed live)", f"/analytics/kpis/?{period}&fresh=1",
         {}, client, 3),
        ("charts, first response time (12 months)",
         f"/analytics/charts/?{period}&code=first_response_time", {}, client, samples),
    ):  # fmt: skip
        statuses = []

        def call(
            url: str = url, extra: dict = extra, statuses: list = statuses, who: Any = who
        ) -> Any:
            response = who.get(url, **extra)
            statuses.append(response.status_code)
            return response

        first, _sql, _queries, _result = timed(call, 1)
        walls, sqls, queries, _result = timed(call, count)
        say(f"  {label:<52} {statuses[-1]:>6} {first[0]:9.1f} {statistics.median(walls):8.1f} "
            f"{percentile(walls, 0.95):8.1f} {queries:7d} {statistics.median(sqls):7.1f}")  # fmt: skip


def measure_refresh() -> None:
    """The job keeping the stored figures fresh: one run recomputing what the pages read."""
    from django.utils import timezone

    from medservice.analytics.models import KpiSnapshot
    from medservice.analytics.snapshots import snapshots_refresh

    stored = KpiSnapshot.objects.count()
    began = time.perf_counter()
    computed = snapshots_refresh(now=timezone.now() + datetime.timedelta(minutes=5), budget=600)
    seconds = time.perf_counter() - began
    say(f"\nJob analytics.kpi-snapshots: {computed} of {stored} stored figures recomputed in "
        f"{seconds:.1f} s (load {load()})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-orders", type=int, default=300_000)
    parser.add_argument("--devices-per-customer", type=int, default=DEVICES_PER_CUSTOMER)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--organizations", type=int, default=5_000)
    parser.add_argument(
        "--pages-only",
        action="store_true",
        help="skip the per-KPI timings: only the pages and the refresh job",
    )
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
    from django.test import Client
    from rest_framework.authtoken.models import Token

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # manifest storage
    with connection.cursor() as cursor:
        tickets = int(meta_get(cursor, "tickets", "0"))
    if not tickets:
        raise SystemExit("Build the tickets first: bench/tickets.py --small-tickets 0 --steps ''")
    b0 = reference_time()
    prepared = prepare(args.organizations)
    devices_made = build_devices(args.devices_per_customer)
    devices = bench_device_table()
    from medservice.catalog.models import FaultCode

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM tickets_ticket WHERE public_token LIKE '~%%'")
        ticket_base = cursor.fetchone()[0]
    n = {
        "devices": devices,
        "faults": list(FaultCode.objects.order_by("pk").values_list("pk", flat=True)),
        "ticket_base": ticket_base,
        "tickets": tickets,
    }
    say(f"B0 = {b0.isoformat()}; {tickets:,} bench tickets; {devices:,} bench devices "
        f"({devices_made:,} made); load {load()}")  # fmt: skip
    timings = build_work_orders(args.work_orders, b0, n)
    for key, value in timings.items():
        if isinstance(value, tuple):
            made, seconds = value
            say(f"  {key}: {made:,} rows in {seconds:.1f} s")
    with connection.cursor() as cursor:
        for table in ("tickets_ticket", "tickets_ticketclock", "work_orders_workorder",
                      "work_orders_visit", "installed_base_device"):  # fmt: skip
            cursor.execute(f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{table}')) "
                           f"FROM {table}")  # fmt: skip
            count, size = cursor.fetchone()
            say(f"  {table:<26} {count:>10,} rows {size:>10}")

    from medservice.accounts.models import User

    manager = prepared["manager"]
    rows = [] if args.pages_only else measure_kpis(manager, b0, args.samples)
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="127.0.0.1")
    client.force_login(manager)
    # The quality dashboard is the quality manager's (the demo's qa_manager).
    quality_client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="127.0.0.1")
    quality_client.force_login(User.objects.get(username="qa_manager"))
    token = Token.objects.get_or_create(user=manager)[0].key
    measure_pages(
        client, quality_client, {"HTTP_AUTHORIZATION": f"Token {token}"}, b0, args.samples
    )  # fmt: skip
    measure_refresh()
    if rows:
        slowest = max(rows, key=lambda row: row["p95"])
        queries = captured_sql(slowest["call"])
        if queries:
            worst = max(queries, key=lambda query: query["ms"])
            say(f"\nSlowest KPI {slowest['code']}: its slowest query ({worst['ms']:.1f} ms)")
            explain(worst["sql"])
    say(f"\nDone in {(time.perf_counter() - began) / 60:.1f} min (load average {load()}).")


if __name__ == "__main__":
    main()
