"""Benchmark: spare parts at scale (issue 5) — 10,000,000 stock ledger rows on PostgreSQL: the
balance look-up (goal < 5 ms) and the trace of a part lot (goal < 50 ms).

Run (PostgreSQL only; create the database first, drop it when done):

    createdb -h 127.0.0.1 -U postgres medservice_bench_inventory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medservice_bench_inventory SECRET_KEY=... \\
        .venv/bin/python bench/inventory.py                 # --help for the sizes
    dropdb -h 127.0.0.1 -U postgres medservice_bench_inventory

A quick run: --movements 200000 --lots 4000 --parts 400 --locations 200 --devices 5000.

What it does, in order:

1. migrate, seed_demo once (--if-empty); --devices units of the demo's serial-tracked models
   across --organizations customers, built set-based by bench/installed_base.py's build().
2. The inventory master data: --parts parts (a third tracked by lot, one in twelve by serial
   number, the rest by quantity), --locations locations (2 central and 30 regional warehouses,
   a quarantine per region, 2 failure-analysis and 2 scrap locations, the transit location and
   engineers' own stock — one engineer user each — for the rest), --lots lots: one unit per
   serial number of the serial flows below, the others lots (批号) of the lot-tracked parts.
3. The ledger, built with set-based SQL (INSERT ... SELECT generate_series, 100,000 rows per
   statement; each chunk commits with its progress mark, so the build resumes where it
   stopped) as --movements / 20 "flows" of 20 rows each, one flow per delivery of one part
   (and lot), spread evenly over three years:
   - a flow of a lot-tracked (67.5 % of the flows) or quantity-only part (30 %): receipt of 10
     into a central warehouse; transfer of 6 to a regional one; two issues of 2 to transit and
     their receipt by two engineers; each engineer fits one into a device (consumption) and one
     engineer takes the old part out of that device (removal, defective, a lot of the same part
     received earlier) and returns it to quarantine, from where it goes to analysis and scrap;
     an unused part returned, a hand-over between engineers, a transfer and a second receipt
     into a second regional warehouse, an issue from there to a third engineer, a count
     adjustment. What stays: 1 at the central, 3 + 4 at the regional warehouses, 3 with the
     engineers, 1 scrapped;
   - a flow of a serial-tracked part (2.5 %): four units, each received, transferred, issued
     and received by an engineer; three fitted into devices, one returned unused.
   So 3 rows in 20 (15 %) are consumption or removal rows carrying a device. The first flows
   of the lot-tracked parts take one lot each (every lot is received once); the remaining
   flows pick lots with a skew (lot = L·u², u evenly spread), so a few lots are received
   hundreds of times: the largest lots are fitted into well over a thousand devices, the
   typical lot into about 3–12.
   While loading, the ledger's secondary indexes are dropped (and rebuilt after) and the
   foreign-key triggers are off (session_replication_role = replica, per chunk): the rows point
   only at rows that exist. The build bypasses the app: no audit events are written for the
   bench rows (the app writes one per movement), and it is NOT the posting rate.
4. The balance table, recomputed from the whole ledger (the demo's rows included) by one
   INSERT ... SELECT ... GROUP BY (location, part, lot, condition); its CHECK constraint
   (never negative) checks the flows' arithmetic. Then a sample of balances is checked
   against the ledger sums.
5. Measured with the app's own functions, --samples calls each over different keys (after a
   warm-up on others), p50/p95/max, SQL time, queries, and EXPLAIN ANALYZE:
   services.on_hand for (part, location, lot), (part, location), (part) across locations —
   and (step "whatif", in a transaction rolled back, NOT the app) the same again with the
   index on (part, location) made covering: INCLUDE (condition, quantity);
   selectors.trace_lot for typical lots, serial units and the largest lots; trace_device;
   through Django's test client as the demo warehouse keeper (role warehouse_keeper, token
   authentication): GET /api/v1/part-lots/<id>/trace/, /api/v1/stock-movements/?lot=<id> and
   /api/v1/stock/?part=<id>.
6. movements_post throughput against the big tables: --posts single-line transfers in
   sequence from regional warehouses to an engineer of the region (named lot, serial unit,
   quantity-only part, lot chosen first-expiry-first-out), each in its own transaction as the
   app commits them (with its audit event): ms per posting, queries, the queries of one.

Before each block it prints the load average and what a round trip and a one-row commit cost
at that moment (the machine is shared). Results and their reading: docs/performance.md,
"Spare parts at scale".
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from installed_base import (
    Recorder,
    captured_sql,
    explain,
    insert_select,
    percentile,
    say,
)
from installed_base import build as build_devices

CHUNK = 100_000  # ledger rows per statement
ROWS_PER_FLOW = 20
PHI = 0.6180339887498949
META = "bench_inventory_meta"
# Flows by mod(f, 40): 0..11 quantity-only part, 12..38 lot-tracked, 39 serial-tracked.
QTY_FLOWS, SERIAL_FLOW = 12, 39
# Non-engineer locations: (kind, how many, code prefix).
FIXED_LOCATIONS = [
    ("central", 2, "BW-C"),
    ("regional", 30, "BW-R"),
    ("quarantine", 30, "BQ"),
    ("analysis", 2, "BA"),
    ("scrap", 2, "BX"),
]
REGIONS = 30
CITIES = ["上海", "杭州", "南京", "湖州", "苏州", "无锡", "宁波", "合肥"]

# One flow: (k, kind, source, destination, quantity, source condition, destination condition,
# device slot, lot: 0 the flow's lot / 1 an older lot of the same part, actor, reference).
# Roles: C central, R and R2 regional, T transit, E1..E3 engineers, Q quarantine, A analysis,
# S scrap; actor K the warehouse keeper.
FLOW = [
    (0, "receipt", "", "C", 10, "", "good", 0, 0, "K", "PO"),
    (1, "transfer", "C", "R", 6, "good", "good", 0, 0, "K", ""),
    (2, "issue", "R", "T", 2, "good", "good", 0, 0, "K", "RQ"),
    (3, "requisition_receipt", "T", "E1", 2, "good", "good", 0, 0, "E1", "RQ"),
    (4, "issue", "R", "T", 2, "good", "good", 0, 0, "K", "RQ"),
    (5, "requisition_receipt", "T", "E2", 2, "good", "good", 0, 0, "E2", "RQ"),
    (6, "consumption", "E1", "", 1, "good", "", 1, 0, "E1", "WO"),
    (7, "consumption", "E2", "", 1, "good", "", 2, 0, "E2", "WO"),
    (8, "return_unused", "E1", "R", 1, "good", "good", 0, 0, "E1", "RQ"),
    (9, "transfer", "E2", "E1", 1, "good", "good", 0, 0, "E2", ""),
    (10, "removal", "", "E1", 1, "", "defective", 1, 1, "E1", "WO"),
    (11, "return_defective", "E1", "Q", 1, "defective", "defective", 0, 1, "E1", ""),
    (12, "to_analysis", "Q", "A", 1, "defective", "defective", 0, 1, "K", ""),
    (13, "scrap", "A", "S", 1, "defective", "defective", 0, 1, "K", ""),
    (14, "transfer", "C", "R2", 2, "good", "good", 0, 0, "K", ""),
    (15, "issue", "R2", "T", 1, "good", "good", 0, 0, "K", "RQ"),
    (16, "requisition_receipt", "T", "E3", 1, "good", "good", 0, 0, "E3", "RQ"),
    (17, "adjustment", "C", "", 1, "good", "", 0, 0, "K", "CNT"),
    (18, "receipt", "", "R2", 4, "", "good", 0, 0, "K", "PO"),
    (19, "transfer", "R2", "E3", 1, "good", "good", 0, 0, "K", ""),
]


def serial_flow() -> list[tuple[Any, ...]]:
    """Four serial units (lot slots 10..13): received, transferred, issued, received by an
    engineer; three fitted into devices 1..3, the fourth returned unused."""
    rows = []
    for unit in range(4):
        engineer = "E1" if unit % 2 == 0 else "E2"
        k = unit * 5
        lot = 10 + unit
        rows += [
            (k, "receipt", "", "C", 1, "", "good", 0, lot, "K", "PO"),
            (k + 1, "transfer", "C", "R", 1, "good", "good", 0, lot, "K", ""),
            (k + 2, "issue", "R", "T", 1, "good", "good", 0, lot, "K", "RQ"),
            (k + 3, "requisition_receipt", "T", engineer, 1, "good", "good", 0, lot, engineer,
             "RQ"),
        ]  # fmt: skip
        if unit < 3:
            rows.append((k + 4, "consumption", engineer, "", 1, "good", "", unit + 1, lot,
                         engineer, "WO"))  # fmt: skip
        else:
            rows.append((k + 4, "return_unused", engineer, "R", 1, "good", "good", 0, lot,
                         engineer, "RQ"))  # fmt: skip
    return rows


def template_sql() -> str:
    """The two flow templates as a VALUES list: (ft, k, kind, src, dst, qty, scond, dcond, dev,
    lot, actor, ref), ft 'F' for lot-tracked and quantity-only flows, 'S' for serial ones."""

    def literal(value: Any) -> str:
        return str(value) if isinstance(value, int) else f"'{value}'"

    rows = [("F", *row) for row in FLOW] + [("S", *row) for row in serial_flow()]
    assert len(rows) == 2 * ROWS_PER_FLOW
    values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
    return f"(VALUES {values}) AS t(ft, k, kind, src, dst, qty, scond, dcond, dev, lot, actor, ref)"


def ints(values: Sequence[int]) -> str:
    """A bigint[] literal (parsed once per statement, subscripted in O(1))."""
    return "('{" + ",".join(str(value) for value in values) + "}'::bigint[])"


def frac(expr: str) -> str:
    """The fractional part of expr × φ: an evenly spread sequence in [0, 1)."""
    return f"(({expr})::float8 * {PHI} - floor(({expr})::float8 * {PHI}))"


def spread(expr: str, salt: int) -> str:
    """A well-mixed non-negative integer from expr (PostgreSQL's hashint4)."""
    return f"(hashint4(({expr}) * 31 + {salt})::bigint + 2147483648)"


# --- Meta -------------------------------------------------------------------------------------


def meta_get(cursor: Any, key: str, default: str | None = None) -> str | None:
    cursor.execute(f"SELECT value FROM {META} WHERE key = %s", [key])
    row = cursor.fetchone()
    return row[0] if row else default


def meta_set(cursor: Any, key: str, value: str) -> None:
    cursor.execute(
        f"INSERT INTO {META} (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [key, value],
    )


def load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def latency() -> str:
    """What one round trip and one committed write cost right now (the machine is shared)."""
    from django.db import connection, transaction

    trips, commits = [], []
    with connection.cursor() as cursor:
        for _ in range(200):
            started = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            trips.append((time.perf_counter() - started) * 1000)
        for _ in range(50):
            started = time.perf_counter()
            with transaction.atomic():
                cursor.execute(f"UPDATE {META} SET value = value WHERE key = 'b0'")
            commits.append((time.perf_counter() - started) * 1000)
    return (
        f"load average {load()}; SELECT 1 round trip p50 {statistics.median(trips):.2f} ms, "
        f"p95 {percentile(trips, 0.95):.2f} ms; one-row UPDATE + COMMIT p50 "
        f"{statistics.median(commits):.2f} ms, p95 {percentile(commits, 0.95):.2f} ms"
    )


# --- Build ------------------------------------------------------------------------------------


class Plan:
    """The sizes of the data set, derived from the arguments and fixed at the first run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.flows = args.movements // ROWS_PER_FLOW
        self.movements = self.flows * ROWS_PER_FLOW
        self.serial_flows = self.flows // 40
        self.serial_units = 4 * self.serial_flows
        whole, rest = divmod(self.flows, 40)
        self.batch_flows = whole * (SERIAL_FLOW - QTY_FLOWS) + max(
            0, min(rest, SERIAL_FLOW) - QTY_FLOWS
        )
        self.batch_lots = max(1, min(args.lots - self.serial_units, self.batch_flows))
        self.lots = self.batch_lots + self.serial_units
        self.parts = args.parts
        self.engineers = args.locations - sum(n for _, n, _ in FIXED_LOCATIONS) - 1
        self.per_region = self.engineers // REGIONS
        if self.per_region < 3:
            raise SystemExit(f"--locations must be at least {3 * REGIONS + 67}")
        self.devices = args.devices
        self.organizations = args.organizations

    def key(self) -> str:
        return json.dumps(
            {
                "movements": self.movements,
                "lots": self.lots,
                "parts": self.parts,
                "engineers": self.engineers,
                "devices": self.devices,
            },
            sort_keys=True,
        )


def prepare(plan: Plan) -> dict[str, Any]:
    """Devices (installed_base's bench build), engineers, locations, parts and lots; returns the
    id arrays the ledger build subscripts."""
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from medservice.accounts.choices import Role
    from medservice.accounts.models import User
    from medservice.inventory.choices import LocationKind, PartTracking
    from medservice.inventory.models import Part, PartLot, StockLocation
    from medservice.inventory.services import transit_location

    timings: dict[str, Any] = {}
    started = time.perf_counter()
    say(f"Devices: {plan.devices:,} units across {plan.organizations:,} organisations …")
    build_devices(plan.devices, plan.organizations)
    timings["devices"] = time.perf_counter() - started

    started = time.perf_counter()
    keeper = User.objects.get(username="warehouse")
    keeper_group = Group.objects.get(name=str(Role.WAREHOUSE_KEEPER))
    keeper.groups.add(keeper_group)  # the demo's warehouse keeper has it; make sure
    company = keeper.organization
    engineer_group = Group.objects.get(name=str(Role.FIELD_ENGINEER))
    with transaction.atomic():
        have = set(
            User.objects.filter(username__startswith="bench_inv_eng_").values_list(
                "username", flat=True
            )
        )
        family, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静磊强军洋勇"
        new_users = [
            User(
                username=f"bench_inv_eng_{n:04d}",
                first_name=given[n % 10] + given[(n // 10) % 10],
                last_name=family[(n // 7) % 10],
                organization=company,
                password="!",
            )
            for n in range(plan.engineers)
            if f"bench_inv_eng_{n:04d}" not in have
        ]
        User.objects.bulk_create(new_users, batch_size=1000)
        engineers = dict(
            User.objects.filter(username__startswith="bench_inv_eng_").values_list("username", "pk")
        )
        through = User.groups.through
        grouped = set(
            through.objects.filter(
                group=engineer_group, user_id__in=engineers.values()
            ).values_list("user_id", flat=True)
        )
        through.objects.bulk_create(
            [
                through(user_id=pk, group_id=engineer_group.pk)
                for pk in engineers.values()
                if pk not in grouped
            ]
        )
        codes = set(
            StockLocation.objects.filter(code__startswith="B").values_list("code", flat=True)
        )
        locations = []
        for kind, count, prefix in FIXED_LOCATIONS:
            for n in range(count):
                code = f"{prefix}-{n:02d}"
                if code not in codes:
                    city = CITIES[n % len(CITIES)]
                    locations.append(
                        StockLocation(
                            code=code,
                            name=f"{city}{kind} {n:02d}",
                            kind=kind,
                            region=f"{city}-{n:02d}",
                        )
                    )
        for n in range(plan.engineers):
            code = f"BE-{n:04d}"
            if code not in codes:
                locations.append(
                    StockLocation(
                        code=code,
                        name=f"工程师 {n:04d} 随车库存",
                        kind=LocationKind.ENGINEER,
                        engineer_id=engineers[f"bench_inv_eng_{n:04d}"],
                        region=f"{CITIES[(n % REGIONS) % len(CITIES)]}-{n % REGIONS:02d}",
                    )
                )
        StockLocation.objects.bulk_create(locations, batch_size=1000)
    transit = transit_location()
    by_code = dict(StockLocation.objects.filter(code__startswith="B").values_list("code", "pk"))
    ids: dict[str, Any] = {
        kind: [by_code[f"{prefix}-{n:02d}"] for n in range(count)]
        for kind, count, prefix in FIXED_LOCATIONS
    }
    ids["engineer"] = [by_code[f"BE-{n:04d}"] for n in range(plan.engineers)]
    ids["engineer_user"] = [engineers[f"bench_inv_eng_{n:04d}"] for n in range(plan.engineers)]
    ids["transit"] = transit.pk
    ids["keeper"] = keeper.pk
    timings["locations"] = (len(new_users), len(locations), time.perf_counter() - started)

    # Parts: by n mod 12, 0..3 lot-tracked, 4 serial-tracked, the rest by quantity.
    started = time.perf_counter()
    with transaction.atomic():
        numbers = set(
            Part.objects.filter(number__startswith="BP-").values_list("number", flat=True)
        )
        parts = []
        for n in range(plan.parts):
            if f"BP-{n:05d}" in numbers:
                continue
            tracking = (
                PartTracking.LOT
                if n % 12 < 4
                else PartTracking.SERIAL
                if n % 12 == 4
                else PartTracking.NONE
            )
            cost = Decimal(5 + (n * 37) % 2000)
            parts.append(
                Part(
                    number=f"BP-{n:05d}",
                    name_zh=f"基准备件 {n:05d}",
                    name_en=f"Bench part {n:05d}",
                    tracking=tracking,
                    standard_cost=cost,
                    price=cost * Decimal("1.8"),
                    reorder_point=Decimal(n % 7),
                    reorder_quantity=Decimal(10),
                )
            )
        Part.objects.bulk_create(parts, batch_size=1000)
    rows = Part.objects.filter(number__startswith="BP-").order_by("number")
    by_tracking: dict[str, list[int]] = {"lot": [], "serial": [], "none": []}
    costs: dict[str, list[int]] = {"lot": [], "serial": [], "none": []}
    for pk, tracking, cost in rows.values_list("pk", "tracking", "standard_cost"):
        by_tracking[tracking].append(pk)
        costs[tracking].append(int(cost))
    ids["parts"] = by_tracking
    ids["costs"] = costs
    timings["parts"] = (len(parts), time.perf_counter() - started)

    # Lots: batch lots BL-0000000.. (lot n of lot-part n mod #lot parts), serial units
    # BS-0000000.. (unit n of serial part n mod #serial parts).
    started = time.perf_counter()
    made_lots = 0
    with connection.cursor() as cursor:
        today = "current_date"
        for label, count, prefix, column, part_ids in (
            ("batch", plan.batch_lots, "BL", "lot_number", by_tracking["lot"]),
            ("serial", plan.serial_units, "BS", "serial_number", by_tracking["serial"]),
        ):
            cursor.execute(
                f"SELECT count(*) FROM inventory_partlot WHERE {column} LIKE '{prefix}-%%'", []
            )
            have_lots = cursor.fetchone()[0]
            if have_lots >= count or not part_ids:
                continue
            production = f"({today} - 1200 + mod(n * 7, 1100))"
            exprs = {
                "created_at": "now()",
                "updated_at": "now()",
                "part_id": f"{ints(part_ids)}[1 + mod(n, {len(part_ids)})]",
                column: f"'{prefix}-' || lpad(n::text, 7, '0')",
                "production_date": production,
            }
            if label == "batch":
                exprs["expiry_date"] = f"CASE WHEN mod(n, 2) = 0 THEN {production} + 1825 END"
            made_lots += insert_select(
                cursor,
                PartLot,
                exprs,
                f"FROM generate_series({have_lots}, {count - 1}) AS s(n)",
            )
        cursor.execute("DROP TABLE IF EXISTS bench_lot")
        cursor.execute(
            "CREATE TEMP TABLE bench_lot AS SELECT CASE WHEN l.lot_number LIKE 'BL-%%' "
            "THEN substr(l.lot_number, 4)::int "
            f"ELSE {plan.batch_lots} + substr(l.serial_number, 4)::int END AS n, "
            "l.id, l.part_id, p.standard_cost AS cost "
            "FROM inventory_partlot l JOIN inventory_part p ON p.id = l.part_id "
            "WHERE p.number LIKE 'BP-%%' AND (l.lot_number LIKE 'BL-%%' "
            "OR l.serial_number LIKE 'BS-%%')",
            [],
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_lot (n)")
        cursor.execute("ANALYZE bench_lot")
        cursor.execute("SELECT count(*) FROM bench_lot")
        assert cursor.fetchone()[0] == plan.lots, "lots: drop the database and start again"
        cursor.execute(
            "SELECT substr(serial_number, 3)::int AS n, id FROM installed_base_device "
            "WHERE serial_number LIKE 'IB%%' ORDER BY 1",
            [],
        )
        devices = [pk for n, pk in cursor.fetchall() if n < plan.devices]
    ids["devices"] = devices
    timings["lots"] = (made_lots, time.perf_counter() - started)
    return {"ids": ids, "timings": timings}


def flow_source(start: int, end: int, plan: Plan, ids: dict[str, Any], b0: str, step: float) -> str:
    """FROM ... for the ledger rows of flows start..end: one row per (flow, template row)."""
    parts = ids["parts"]
    n_lot_parts = max(1, len(parts["lot"]))
    bl = plan.batch_lots
    m = plan.per_region
    qty_parts = parts["none"]
    return f"""
    FROM (
      SELECT y.*,
        CASE WHEN y.lot_n >= {n_lot_parts} THEN y.lot_n - {n_lot_parts}
             WHEN y.lot_n + {n_lot_parts} < {bl} THEN y.lot_n + {n_lot_parts}
             ELSE y.lot_n END AS alt_n
      FROM (
        SELECT x.*,
          CASE WHEN x.ft = 'B' THEN
                 CASE WHEN x.b < {bl} THEN x.b
                      ELSE least({bl} - 1, floor({bl} * power({frac("x.b")}, 2))::int) END
          END AS lot_n
        FROM (
          SELECT f,
            CASE WHEN mod(f, 40) = {SERIAL_FLOW} THEN 'S' WHEN mod(f, 40) < {QTY_FLOWS} THEN 'N'
                 ELSE 'B' END AS ft,
            (f / 40) * {SERIAL_FLOW - QTY_FLOWS} + mod(f, 40) - {QTY_FLOWS} AS b,
            f / 40 AS s,
            mod({spread("f", 1)}, {REGIONS})::int AS r,
            mod({spread("f", 2)}, {m})::int AS m,
            1 + mod({spread("f", 3)}, {len(ids["devices"])})::int AS d1,
            1 + mod({spread("f", 4)}, {len(ids["devices"])})::int AS d2,
            1 + mod({spread("f", 5)}, {len(ids["devices"])})::int AS d3,
            1 + least({len(qty_parts) - 1},
                      floor({len(qty_parts)} * power({frac("f")}, 2))::int) AS qp,
            {b0} + make_interval(secs => f * {step}) AS at
          FROM generate_series({start}, {end}) AS g(f)
        ) x
      ) y
    ) x
    JOIN {template_sql()} ON t.ft = CASE WHEN x.ft = 'S' THEN 'S' ELSE 'F' END
    LEFT JOIN bench_lot l ON l.n = CASE
        WHEN x.ft = 'B' THEN CASE WHEN t.lot = 1 THEN x.alt_n ELSE x.lot_n END
        WHEN x.ft = 'S' THEN {bl} + x.s * 4 + t.lot - 10 END
    """


def flow_columns(plan: Plan, ids: dict[str, Any]) -> dict[str, str]:
    regions, per_region = REGIONS, plan.per_region
    central, regional = ints(ids["central"]), ints(ids["regional"])
    engineers, users = ints(ids["engineer"]), ints(ids["engineer_user"])

    def engineer(shift: int, array: str) -> str:
        return f"{array}[1 + x.r + {regions} * mod(x.m + {shift}, {per_region})]"

    roles = {
        "C": f"{central}[1 + mod(x.f, {len(ids['central'])})]",
        "R": f"{regional}[1 + x.r]",
        "R2": f"{regional}[1 + mod(x.r + 1, {regions})]",
        "T": str(ids["transit"]),
        "Q": f"{ints(ids['quarantine'])}[1 + mod(x.r, {len(ids['quarantine'])})]",
        "A": f"{ints(ids['analysis'])}[1 + mod(x.f, {len(ids['analysis'])})]",
        "S": f"{ints(ids['scrap'])}[1 + mod(x.f, {len(ids['scrap'])})]",
        "E1": engineer(0, engineers),
        "E2": engineer(1, engineers),
        "E3": engineer(2, engineers),
    }

    def location(column: str) -> str:
        whens = " ".join(f"WHEN '{role}' THEN {expr}" for role, expr in roles.items())
        return f"(CASE {column} {whens} END)"

    actor = (
        f"(CASE t.actor WHEN 'K' THEN {ids['keeper']} "
        f"WHEN 'E1' THEN {engineer(0, users)} WHEN 'E2' THEN {engineer(1, users)} "
        f"WHEN 'E3' THEN {engineer(2, users)} END)"
    )
    devices = ints(ids["devices"])
    at = "x.at + make_interval(hours => t.k * 6)"
    return {
        "created_at": at,
        "updated_at": at,
        "kind": "t.kind",
        "part_id": f"coalesce(l.part_id, {ints(ids['parts']['none'])}[x.qp])",
        "lot_id": "l.id",
        "quantity": "t.qty",
        "source_id": location("t.src"),
        "source_condition": "t.scond",
        "destination_id": location("t.dst"),
        "destination_condition": "t.dcond",
        "occurred_at": at,
        "recorded_by_id": actor,
        "unit_cost": f"coalesce(l.cost, {ints(ids['costs']['none'])}[x.qp])",
        "reference": "(CASE t.ref WHEN 'PO' THEN 'PO-' || (x.f / 10) "
        "WHEN 'RQ' THEN 'RQ-' || x.f WHEN 'WO' THEN 'WO-' || x.f "
        "WHEN 'CNT' THEN 'CNT-' || (x.f / 100) ELSE '' END)",
        "device_id": f"(CASE t.dev WHEN 1 THEN {devices}[x.d1] WHEN 2 THEN {devices}[x.d2] "
        f"WHEN 3 THEN {devices}[x.d3] END)",
    }


def indexes_off(cursor: Any, table: str) -> int:
    """Drop the table's secondary indexes for the bulk load (building an index once is far
    cheaper than updating it row by row), keeping their definitions in the meta table so that
    a stopped run puts them back too. The primary key stays."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [table],
    )
    rows = cursor.fetchall()
    for name, definition in rows:
        meta_set(cursor, f"index:{name}", definition)
        cursor.execute(f'DROP INDEX "{name}"')
    return len(rows)


def indexes_on(cursor: Any) -> tuple[int, list[tuple[str, float]]]:
    cursor.execute(f"SELECT key, value FROM {META} WHERE key LIKE 'index:%%'", [])
    rows = cursor.fetchall()
    cursor.execute("SET maintenance_work_mem = '512MB'")
    built = []
    for key, definition in rows:
        started = time.perf_counter()
        cursor.execute(definition)
        cursor.execute(f"DELETE FROM {META} WHERE key = %s", [key])
        built.append((key.split(":", 1)[1], time.perf_counter() - started))
    cursor.execute("RESET maintenance_work_mem")
    return len(rows), built


def build_ledger(plan: Plan, ids: dict[str, Any]) -> dict[str, Any]:
    """Top the bench ledger up to plan.flows flows, then recompute the balance table."""
    from django.db import connection, transaction

    from medservice.inventory.models import StockMovement

    timings: dict[str, Any] = {}
    with connection.cursor() as cursor:
        b0 = meta_get(cursor, "b0")
        step = float(meta_get(cursor, "flow_seconds") or 0)
        if not step:
            step = (1095 - 6) * 86400 / plan.flows
            meta_set(cursor, "flow_seconds", str(step))
        start_at = f"(timestamptz '{b0}' - interval '1095 days')"
        have = int(meta_get(cursor, "flows", "0") or 0)
        started = time.perf_counter()
        timings["indexes_dropped"] = (
            indexes_off(cursor, "inventory_stockmovement") if have < plan.flows else 0
        )
        made = 0
        columns = flow_columns(plan, ids)
        per_chunk = CHUNK // ROWS_PER_FLOW
        for start in range(have, plan.flows, per_chunk):
            end = min(plan.flows, start + per_chunk) - 1
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
                made += insert_select(
                    cursor,
                    StockMovement,
                    columns,
                    flow_source(start, end, plan, ids, start_at, step),
                )
                meta_set(cursor, "flows", str(end + 1))
            done = (end + 1) * ROWS_PER_FLOW
            if (end + 1) % (per_chunk * 10) == 0 or end + 1 == plan.flows:
                say(
                    f"  movements {done:>11,} / {plan.movements:,}  "
                    f"({time.perf_counter() - started:6.1f} s, load {load()})"
                )
        timings["movements"] = (made, time.perf_counter() - started)
        started = time.perf_counter()
        timings["indexes_built"], timings["index_list"] = indexes_on(cursor)
        timings["index"] = time.perf_counter() - started

        # The balance table from the whole ledger (the demo's rows included).
        started = time.perf_counter()
        balanced = int(meta_get(cursor, "balances_flows", "0") or 0)
        timings["balances"] = (0, 0.0)
        if balanced != plan.flows:
            with transaction.atomic():
                dropped = indexes_off(cursor, "inventory_stockbalance")
                cursor.execute("SET LOCAL work_mem = '1GB'")
                cursor.execute("DELETE FROM inventory_stockbalance")
                cursor.execute(
                    "INSERT INTO inventory_stockbalance "
                    "(location_id, part_id, lot_id, condition, quantity, updated_at) "
                    "SELECT location_id, part_id, lot_id, condition, sum(q), max(at) FROM ("
                    "  SELECT destination_id AS location_id, part_id, lot_id, "
                    "    destination_condition AS condition, quantity AS q, occurred_at AS at "
                    "  FROM inventory_stockmovement WHERE destination_id IS NOT NULL "
                    "  UNION ALL "
                    "  SELECT source_id, part_id, lot_id, source_condition, -quantity, "
                    "    occurred_at FROM inventory_stockmovement WHERE source_id IS NOT NULL"
                    ") AS m GROUP BY 1, 2, 3, 4"
                )
                timings["balances"] = (cursor.rowcount, time.perf_counter() - started)
                meta_set(cursor, "balances_flows", str(plan.flows))
            started_index = time.perf_counter()
            _count, listed = indexes_on(cursor)
            timings["index_list"] += listed
            timings["balance_index"] = (dropped, time.perf_counter() - started_index)
        started = time.perf_counter()
        if made or timings["balances"][0]:
            for table in (
                "inventory_stockmovement",
                "inventory_stockbalance",
                "inventory_partlot",
                "inventory_part",
                "inventory_stocklocation",
                "accounts_user",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum"] = time.perf_counter() - started
    return timings


def report_build(prepared: dict[str, Any], timings: dict[str, Any], plan: Plan) -> None:
    from django.db import connection

    pre = prepared["timings"]
    say("\n== Bulk build (set-based SQL, NOT the app's posting path: no audit events) ==")
    users, locations, seconds = pre["locations"]
    say(
        f"  devices (installed_base build) {pre['devices']:.1f} s; {users:,} engineer users and "
        f"{locations:,} locations {seconds:.1f} s; parts {pre['parts'][0]:,} in "
        f"{pre['parts'][1]:.1f} s; lots {pre['lots'][0]:,} in {pre['lots'][1]:.1f} s"
    )
    rows, seconds = timings["movements"]
    rate = f"{rows / seconds:10,.0f} rows/s" if rows else "(already there)"
    say(f"  movements {rows:>11,} rows in {seconds:7.1f} s  {rate}")
    say(
        f"  secondary indexes of the ledger: {timings['indexes_dropped']} dropped before the "
        f"load, {timings['indexes_built']} built after it in {timings['index']:.1f} s"
    )
    rows, seconds = timings["balances"]
    if rows:
        dropped, index_seconds = timings["balance_index"]
        say(
            f"  balances  {rows:>11,} rows in {seconds:7.1f} s (one INSERT ... GROUP BY over the "
            f"ledger); {dropped} indexes rebuilt in {index_seconds:.1f} s"
        )
    for name, seconds in timings["index_list"]:
        say(f"    index {name:44} {seconds:6.1f} s")
    say(f"  VACUUM ANALYZE {timings['vacuum']:.1f} s")
    with connection.cursor() as cursor:
        for table in (
            "inventory_stockmovement",
            "inventory_stockbalance",
            "inventory_partlot",
            "inventory_part",
            "inventory_stocklocation",
            "installed_base_device",
        ):
            cursor.execute(
                f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{table}')), "
                f"pg_size_pretty(pg_relation_size('{table}')) FROM {table}"
            )
            count, size, heap = cursor.fetchone()
            say(f"  {table:26} {count:>11,} rows  {size:>8} with indexes ({heap} rows)")
        for index in (
            "movement_lot_device",
            "movement_part_time",
            "stock_balance_part_location",
            "unique_balance_per_lot",
            "unique_balance_without_lot",
        ):
            cursor.execute(f"SELECT pg_size_pretty(pg_relation_size('{index}'))")
            say(f"  index {index:28} {cursor.fetchone()[0]:>8}")
        cursor.execute(
            "SELECT kind, count(*) FROM inventory_stockmovement GROUP BY kind ORDER BY 2 DESC"
        )
        kinds = cursor.fetchall()
        total = sum(count for _, count in kinds)
        say("  kinds: " + ", ".join(f"{kind} {100 * count / total:.1f} %" for kind, count in kinds))
        cursor.execute(
            "SELECT count(*) FILTER (WHERE quantity > 0), count(*) FILTER (WHERE lot_id IS NULL), "
            "count(DISTINCT part_id) FROM inventory_stockbalance"
        )
        positive, without_lot, parts = cursor.fetchone()
        say(f"  balances: {positive:,} with stock, {without_lot:,} without a lot, {parts:,} parts")
    say(
        f"  plan: {plan.flows:,} flows ({plan.serial_flows:,} serial, {plan.batch_flows:,} of "
        f"lot-tracked parts), {plan.batch_lots:,} lots + {plan.serial_units:,} serial units, "
        f"{plan.engineers:,} engineers ({plan.per_region} per region)"
    )


def check_balances(samples: int) -> None:
    """A sample of balances with a lot against the ledger's sums (the lot index finds them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT location_id, part_id, lot_id, condition, quantity FROM inventory_stockbalance "
            "TABLESAMPLE SYSTEM (1) REPEATABLE (7) WHERE lot_id IS NOT NULL LIMIT %s",
            [samples],
        )
        rows = cursor.fetchall()
        for location, part, lot, condition, quantity in rows:
            cursor.execute(
                "SELECT coalesce(sum(CASE WHEN destination_id = %s AND destination_condition = %s "
                "THEN quantity ELSE 0 END) - sum(CASE WHEN source_id = %s AND source_condition = "
                "%s THEN quantity ELSE 0 END), 0) FROM inventory_stockmovement "
                "WHERE lot_id = %s AND part_id = %s",
                [location, condition, location, condition, lot, part],
            )
            ledger = cursor.fetchone()[0]
            assert ledger == quantity, (location, part, lot, condition, quantity, ledger)
    say(f"  {len(rows)} sampled balances equal their ledger sums")


# --- Measure ------------------------------------------------------------------------------------


def run_case(
    label: str,
    keys: list[Any],
    call: Callable[[Any], Any],
    warm: int = 5,
    size: Callable[[Any], int] | None = None,
) -> dict[str, Any]:
    """Time call(key) once per key (after warming up on the first `warm` keys, not counted)."""
    from django.db import connection

    for key in keys[:warm]:
        call(key)
    walls, sqls, queries, sizes = [], [], Counter(), []
    for key in keys[warm:]:
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            started = time.perf_counter()
            result = call(key)
            walls.append((time.perf_counter() - started) * 1000)
        sqls.append(recorder.seconds * 1000)
        queries[len(recorder.calls)] += 1
        if size is not None:
            sizes.append(size(result))
    rows = f"  rows p50 {statistics.median(sizes):,.0f} max {max(sizes):,}" if sizes else ""
    say(
        f"  {label:46} {len(walls):4d} × p50 {statistics.median(walls):7.2f} ms  p95 "
        f"{percentile(walls, 0.95):7.2f}  max {max(walls):7.2f}  SQL p50 "
        f"{statistics.median(sqls):6.2f}  queries {sorted(queries)}{rows}"
    )
    return {"walls": walls, "sqls": sqls}


def explain_call(label: str, call: Callable[[], Any], tables: tuple[str, ...]) -> None:
    say(f"\n  EXPLAIN ANALYZE, {label}:")
    for query in captured_sql(call):
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT") or not any(t in sql for t in tables):
            continue
        say(f"    [{query['ms']:.2f} ms] {sql[:240]}{'…' if len(sql) > 240 else ''}")
        explain(sql)


def pick(cursor: Any, sql: str, n: int, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cursor.execute(sql, [*params, n])
    return cursor.fetchall()


def measure_on_hand(samples: int, whatif: bool) -> None:
    from django.db import connection, transaction

    from medservice.inventory.models import Part, PartLot, StockLocation
    from medservice.inventory.services import on_hand

    say(f"\n== Balance look-up: services.on_hand ({samples} keys per case; {latency()}) ==")
    n = samples + 5
    with connection.cursor() as cursor:
        with_lot = pick(
            cursor,
            "SELECT part_id, location_id, lot_id FROM inventory_stockbalance "
            "WHERE lot_id IS NOT NULL AND condition = 'good' AND quantity > 0 "
            "ORDER BY random() LIMIT %s",
            n,
        )
        part_location = pick(
            cursor,
            "SELECT part_id, location_id, NULL FROM inventory_stockbalance "
            "WHERE condition = 'good' AND quantity > 0 ORDER BY random() LIMIT %s",
            n,
        )
        parts = pick(
            cursor,
            "SELECT id, NULL, NULL FROM inventory_part WHERE number LIKE 'BP-%%' "
            "ORDER BY random() LIMIT %s",
            n,
        )
        cursor.execute(
            "SELECT part_id, count(*) FROM inventory_stockbalance WHERE condition = 'good' "
            "GROUP BY part_id ORDER BY 2 DESC LIMIT 5"
        )
        biggest = cursor.fetchall()
    part_ids = {row[0] for rows in (with_lot, part_location, parts) for row in rows}
    part_ids |= {row[0] for row in biggest}
    parts_by_id = Part.objects.in_bulk(part_ids)
    locations = StockLocation.objects.in_bulk(
        {row[1] for rows in (with_lot, part_location) for row in rows}
    )
    lots = PartLot.objects.in_bulk({row[2] for row in with_lot})

    def call(key: tuple[Any, ...]) -> Decimal:
        part, location, lot = key
        return on_hand(
            part=parts_by_id[part],
            location=locations[location] if location else None,
            lot=lots[lot] if lot else None,
        )

    run_case("(part, location, lot)", with_lot, call)
    run_case("(part, location)", part_location, call)
    run_case("(part) across locations, random parts", parts, call)
    heavy = [(part, None, None) for part, _count in biggest] * (samples // 5 + 1)
    run_case(f"(part) with the most balance rows ({biggest[0][1]:,})", heavy[: samples + 5], call)
    tables = ("inventory_stockbalance",)
    explain_call("on_hand(part, location, lot)", lambda: call(with_lot[0]), tables)
    explain_call("on_hand(part, location)", lambda: call(part_location[0]), tables)
    explain_call(
        f"on_hand(part) with {biggest[0][1]:,} balance rows",
        lambda: call((biggest[0][0], None, None)),
        tables,
    )
    if not whatif:
        return
    say(
        "\n  what-if (NOT the app as it is; in a transaction that is rolled back): the index "
        "stock_balance_part_location (part, location) made covering, INCLUDE (condition, "
        "quantity), so a part's total is an index-only scan"
    )
    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX stock_balance_part_location")
            cursor.execute(
                "CREATE INDEX stock_balance_part_location ON inventory_stockbalance "
                "(part_id, location_id) INCLUDE (condition, quantity)"
            )
            cursor.execute("SELECT pg_size_pretty(pg_relation_size('stock_balance_part_location'))")
            size = cursor.fetchone()[0]
        say(f"  rebuilt in {time.perf_counter() - started:.1f} s: {size}")
        run_case("  (part, location, lot)", with_lot, call)
        run_case("  (part, location)", part_location, call)
        run_case("  (part) across locations, random parts", parts, call)
        run_case(
            f"  (part) with the most balance rows ({biggest[0][1]:,})", heavy[: samples + 5], call
        )
        explain_call(
            f"what-if on_hand(part) with {biggest[0][1]:,} balance rows",
            lambda: call((biggest[0][0], None, None)),
            tables,
        )
        transaction.set_rollback(True)


def fitting_counts() -> tuple[dict[int, int], list[int]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lot_id, count(*) FROM inventory_stockmovement WHERE device_id IS NOT NULL "
            "AND kind IN ('consumption', 'removal') AND lot_id IS NOT NULL GROUP BY lot_id"
        )
        counts = dict(cursor.fetchall())
    return counts, sorted(counts.values())


def measure_trace(samples: int, keeper: Any) -> dict[str, Any]:
    from django.db import connection

    from medservice.installed_base.models import Device
    from medservice.inventory.models import PartLot
    from medservice.inventory.selectors import trace_device, trace_lot

    counts, ordered = fitting_counts()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM inventory_partlot l JOIN inventory_part p ON p.id = l.part_id "
            "WHERE p.number LIKE 'BP-%%'",
            [],
        )
        bench_lots = cursor.fetchone()[0]
    say(
        f"\n== Trace ({samples} keys per case; {latency()}) ==\n"
        f"  fittings (consumption + removal rows with a device) per lot: {len(ordered):,} of "
        f"{bench_lots:,} bench lots fitted; p50 {statistics.median(ordered):.0f}, mean "
        f"{statistics.mean(ordered):.1f}, p90 {percentile(ordered, 0.9)}, p99 "
        f"{percentile(ordered, 0.99)}, max {ordered[-1]:,}"
    )
    rng = random.Random(5)
    serial_ids = set(
        PartLot.objects.filter(serial_number__startswith="BS-").values_list("pk", flat=True)
    )
    batch = [pk for pk in counts if pk not in serial_ids]
    serial = [pk for pk in counts if pk in serial_ids]
    typical = rng.sample(batch, min(len(batch), samples + 5))
    units = rng.sample(serial, min(len(serial), samples + 5))
    largest = sorted(batch, key=lambda pk: counts[pk], reverse=True)[:5]
    lots = PartLot.objects.in_bulk([*typical, *units, *largest])
    user = keeper

    def lot_call(pk: int) -> list[Any]:
        return trace_lot(lots[pk], user)

    result = {
        "typical": run_case("trace_lot, random fitted lots", typical, lot_call, size=len),
        "serial": run_case("trace_lot, serial units", units, lot_call, size=len),
    }
    heavy = (largest * (samples // len(largest) + 2))[: samples + 5]
    result["largest"] = run_case(
        f"trace_lot, the 5 largest lots ({counts[largest[-1]]:,}–{counts[largest[0]]:,})",
        heavy,
        lot_call,
        size=len,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT device_id FROM inventory_stockmovement WHERE device_id IS NOT NULL "
            "ORDER BY random() LIMIT %s",
            [samples + 5],
        )
        device_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT device_id, count(*) FROM inventory_stockmovement WHERE device_id IS NOT NULL "
            "GROUP BY device_id ORDER BY 2 DESC LIMIT 1"
        )
        busiest, busiest_count = cursor.fetchone()
    devices = Device.objects.in_bulk([*device_ids, busiest])
    run_case(
        "trace_device, random fitted devices",
        device_ids,
        lambda pk: trace_device(devices[pk], user),
        size=len,
    )
    run_case(
        f"trace_device, the busiest device ({busiest_count})",
        [busiest] * (samples + 5),
        lambda pk: trace_device(devices[pk], user),
        size=len,
    )
    median_lot = min(typical, key=lambda pk: abs(counts[pk] - statistics.median(ordered)))
    tables = ("inventory_stockmovement",)
    explain_call(
        f"trace_lot, a typical lot ({counts[median_lot]} fittings)",
        lambda: lot_call(median_lot),
        tables,
    )
    explain_call(
        f"trace_lot, the largest lot ({counts[largest[0]]:,} fittings)",
        lambda: lot_call(largest[0]),
        tables,
    )
    explain_call(
        f"trace_device, a device ({len(trace_device(devices[device_ids[0]], user))} fittings)",
        lambda: trace_device(devices[device_ids[0]], user),
        tables,
    )
    return {"counts": counts, "typical": typical, "largest": largest, "units": units}


def measure_api(samples: int, keeper: Any, traced: dict[str, Any]) -> None:
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    token = Token.objects.get_or_create(user=keeper)[0].key
    headers = {"HTTP_AUTHORIZATION": f"Token {token}", "HTTP_ACCEPT": "application/json"}
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="127.0.0.1")
    say(f"\n== API as the warehouse keeper ({samples} requests per case; {latency()}) ==")
    typical, largest = traced["typical"], traced["largest"]

    def get(url: str, params: dict[str, Any] | None = None) -> Any:
        response = client.get(url, params or {}, **headers)
        assert response.status_code == 200, (url, params, response.status_code)
        return response.json()

    def listed(body: Any) -> int:
        return body["count"] if isinstance(body, dict) else len(body)

    heavy = (largest * (samples // len(largest) + 2))[: samples + 5]
    slow: dict[str, Callable[[], Any]] = {}
    for label, keys in (("random fitted lots", typical[: samples + 5]), ("the 5 largest", heavy)):
        run_case(
            f"GET part-lots/<id>/trace/, {label}",
            keys,
            lambda pk: get(f"/api/v1/part-lots/{pk}/trace/"),
            size=listed,
        )
        run_case(
            f"GET stock-movements/?lot=, {label}",
            keys,
            lambda pk: get("/api/v1/stock-movements/", {"lot": pk}),
            size=listed,
        )
        slow[f"stock-movements/?lot= ({label})"] = lambda pk=keys[0]: get(
            "/api/v1/stock-movements/", {"lot": pk}
        )
    with connection.cursor() as cursor:
        parts = pick(
            cursor,
            "SELECT id FROM inventory_part WHERE number LIKE 'BP-%%' ORDER BY random() LIMIT %s",
            samples + 5,
        )
        cursor.execute(
            "SELECT part_id, count(*) FROM inventory_stockbalance WHERE quantity > 0 "
            "GROUP BY part_id ORDER BY 2 DESC LIMIT 5"
        )
        biggest = cursor.fetchall()
    run_case(
        "GET stock/?part=, random parts",
        [row[0] for row in parts],
        lambda pk: get("/api/v1/stock/", {"part": pk}),
        size=listed,
    )
    heavy_parts = ([row[0] for row in biggest] * (samples // 5 + 2))[: samples + 5]
    run_case(
        f"GET stock/?part=, the 5 with most stock rows ({biggest[0][1]:,})",
        heavy_parts,
        lambda pk: get("/api/v1/stock/", {"part": pk}),
        size=listed,
    )
    slow["stock/?part= (the most rows)"] = lambda: get("/api/v1/stock/", {"part": biggest[0][0]})
    say("\n  The two slowest queries of one request of each, with EXPLAIN ANALYZE:")
    for name, call in slow.items():
        queries = sorted(captured_sql(call), key=lambda query: query["ms"], reverse=True)
        say(f"\n  -- {name} ({len(queries)} queries)")
        for query in queries[:2]:
            sql = query["sql"]
            say(f"    [{query['ms']:.2f} ms] {sql[:300]}{'…' if len(sql) > 300 else ''}")
            if sql.lstrip().upper().startswith("SELECT"):
                explain(sql)


def measure_post(posts: int, keeper: Any, plan: Plan) -> None:
    """Single-line transfers from regional warehouses to an engineer of the same region, one
    transaction each, in sequence: named lots, serial units, quantity-only parts and lots
    chosen first-expiry-first-out (Move without a lot)."""
    from django.db import connection, transaction

    from medservice.inventory.choices import MovementKind
    from medservice.inventory.models import Part, PartLot, StockLocation
    from medservice.inventory.services import Move, movements_post

    regional = list(
        StockLocation.objects.filter(code__startswith="BW-R-")
        .order_by("code")
        .values_list("pk", flat=True)
    )
    engineers = list(
        StockLocation.objects.filter(code__startswith="BE-")
        .order_by("code")
        .values_list("pk", flat=True)
    )
    region_of = {pk: n for n, pk in enumerate(regional)}
    shares = {"named lot": 0.4, "serial unit": 0.1, "quantity-only part": 0.3, "FEFO": 0.2}
    wanted = {name: max(5, int(posts * share)) for name, share in shares.items()}
    wanted["named lot"] += 1  # the last one is posted again with its queries captured
    filters = {
        "named lot": "b.lot_id IS NOT NULL AND p.tracking = 'lot'",
        "serial unit": "b.lot_id IS NOT NULL AND p.tracking = 'serial'",
        "quantity-only part": "b.lot_id IS NULL AND p.tracking = 'none'",
        "FEFO": "b.lot_id IS NOT NULL AND p.tracking = 'lot'",
    }
    chosen: dict[str, list[tuple[int, int, int | None]]] = {}
    taken: set[tuple[int, int]] = set()
    with connection.cursor() as cursor:
        for name, condition in filters.items():
            cursor.execute(
                "SELECT b.location_id, b.part_id, b.lot_id FROM inventory_stockbalance b "
                "JOIN inventory_part p ON p.id = b.part_id "
                f"WHERE b.location_id = ANY(%s) AND b.condition = 'good' AND b.quantity >= 1 "
                f"AND {condition} ORDER BY random() LIMIT %s",
                [regional, 3 * wanted[name]],
            )
            rows = []
            for location, part, lot in cursor.fetchall():
                # One posting per (location, part): FEFO must not find a lot taken earlier.
                if (location, part) in taken:
                    continue
                taken.add((location, part))
                rows.append((location, part, None if name == "FEFO" else lot))
                if len(rows) == wanted[name]:
                    break
            chosen[name] = rows
    spare = chosen["named lot"].pop()
    everything = [spare, *(row for rows in chosen.values() for row in rows)]
    parts = Part.objects.in_bulk({row[1] for row in everything})
    lots = PartLot.objects.in_bulk({row[2] for row in everything if row[2]})
    locations = StockLocation.objects.in_bulk({row[0] for row in everything} | set(engineers))
    total = sum(len(rows) for rows in chosen.values())
    say(
        f"\n== movements_post: {total:,} single-line transfers in sequence, one transaction "
        f"each ({latency()}) =="
    )

    def post(key: tuple[int, int, int | None], index: int) -> list[Any]:
        location, part, lot = key
        region = region_of[location]
        engineer = engineers[region + REGIONS * (index % plan.per_region)]
        with transaction.atomic():
            return movements_post(
                actor=keeper,
                kind=MovementKind.TRANSFER,
                source=locations[location],
                destination=locations[engineer],
                moves=[Move(part=parts[part], quantity=Decimal(1), lot=lots[lot] if lot else None)],
                reference="BENCH-POST",
            )

    counter = iter(range(10**9))
    everything_walls: list[float] = []
    started_all = time.perf_counter()
    for name, rows in chosen.items():
        result = run_case(
            f"transfer, {name}", rows, lambda key: post(key, next(counter)), warm=0, size=len
        )
        everything_walls += result["walls"]
    seconds = time.perf_counter() - started_all
    say(
        f"  {'all':46} {len(everything_walls):4d} × p50 {statistics.median(everything_walls):7.2f}"
        f" ms  p95 {percentile(everything_walls, 0.95):7.2f}  mean "
        f"{statistics.mean(everything_walls):7.2f}; {len(everything_walls) / seconds:,.0f} "
        f"postings/s in sequence"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM inventory_stockbalance WHERE quantity < 0"
        )  # the CHECK makes this 0; a cheap assertion that nothing slipped
        assert cursor.fetchone()[0] == 0
    # The queries of one posting (a named lot), with their times.
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        post(spare, next(counter))
    say(f"\n  The {len(recorder.calls)} queries of one posting (a named lot), with their times:")
    for sql, seconds in recorder.calls:
        sql = " ".join(sql.split())
        say(f"    {seconds * 1000:6.2f} ms  {sql[:150]}{'…' if len(sql) > 150 else ''}")


# --- Main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--movements", type=int, default=10_000_000)
    parser.add_argument("--lots", type=int, default=200_000)
    parser.add_argument("--parts", type=int, default=2_000)
    parser.add_argument("--locations", type=int, default=1_000)
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--organizations", type=int, default=2_000)
    parser.add_argument("--samples", type=int, default=200, help="keys per function case")
    parser.add_argument("--api-samples", type=int, default=50, help="requests per API case")
    parser.add_argument("--posts", type=int, default=1_000, help="transfers posted in sequence")
    parser.add_argument(
        "--steps",
        default="check,on_hand,whatif,trace,api,post",
        help="what to measure after the build: check, on_hand (with whatif: the part-location "
        "index made covering, rolled back), trace, api, post",
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

    from medservice.accounts.models import User

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--if-empty", verbosity=0)
    plan = Plan(args)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META} (key text PRIMARY KEY, value text)")
        stored = meta_get(cursor, "plan")
        if stored is None:
            meta_set(cursor, "plan", plan.key())
            now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
            meta_set(cursor, "b0", now.isoformat())
        elif stored != plan.key():
            raise SystemExit(
                f"The database was built for {stored}; drop it or pass the same sizes."
            )
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
    say(
        f"PostgreSQL {version} (shared_buffers {buffers}, work_mem {work_mem}), Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load()}; setup "
        f"{time.perf_counter() - began:.1f} s"
    )
    prepared = prepare(plan)
    say(f"Building the ledger: {plan.movements:,} rows (load average {load()}) …")
    timings = build_ledger(plan, prepared["ids"])
    report_build(prepared, timings, plan)
    keeper = User.objects.get(username="warehouse")
    if "check" in steps:
        check_balances(50)
    if "on_hand" in steps:
        measure_on_hand(args.samples, "whatif" in steps)
    traced = None
    if "trace" in steps or "api" in steps:
        traced = measure_trace(args.samples, keeper)
    if "api" in steps and traced is not None:
        measure_api(args.api_samples, keeper, traced)
    if "post" in steps:
        measure_post(args.posts, keeper, plan)
    say(f"\nDone in {(time.perf_counter() - began) / 60:.1f} min (load average {load()}).")


if __name__ == "__main__":
    main()
