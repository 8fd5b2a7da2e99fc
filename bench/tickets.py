"""Benchmark: tickets at scale (issue 4) — 1,000,000 service requests, 5,000,000 timeline
entries and 3,000,000 service-promise clocks on PostgreSQL.

Run (PostgreSQL only; create the database first, drop it when done):

    createdb -h 127.0.0.1 -U postgres medservice_bench_tickets
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medservice_bench_tickets SECRET_KEY=... \\
        .venv/bin/python bench/tickets.py                   # --help for the sizes
    dropdb -h 127.0.0.1 -U postgres medservice_bench_tickets

What it does, in order:

1. migrate, seed_demo once (--if-empty: the demo seeder sweeps at the wall-clock time, which
   would breach bench clocks on a later run); 200 bench engineers (ticket owners) in 10 teams,
   --organizations customers with one contact each.
2. Builds the data with set-based SQL (INSERT ... SELECT generate_series, 100,000 tickets per
   statement; each chunk and its progress mark commit together, so the build resumes where it
   stopped): one ticket in ten is open (new, acknowledged, investigating, solution proposed or
   agreed, in progress, waiting for the customer or for parts), the others closed (2 %
   cancelled) over the last three years, with their solution, resolution, the customer's
   confirmation and rating; three clocks per ticket (first response, plan, resolution: met, most
   of them on time, or stopped; running for open tickets, paused while waiting for the
   customer); five timeline entries per ticket. The open tickets' next due times are spread
   evenly from 1 hour before the build's reference time B0 to --window-hours after it
   (golden-ratio sequence, so any prefix of the tickets is spread the same way), and their
   received times follow from the default policy (due = received + 24/48/72 h). The state is
   what the minute sweep leaves: a running clock whose due time is before B0 is already
   breached, one whose 75 % point is before B0 already warned. It bypasses the app (secondary
   indexes dropped and rebuilt after, foreign-key triggers off while loading): no audit
   events, retain_until empty; reporters' names and phones are real ciphertexts (1,000 distinct
   values), so reading them costs what it costs in production.
3. The SLA sweep (tickets.sweep.sla_sweep) run at chosen instants T after B0: nothing due
   (T = B0), the next minute (T = B0 + 1 min) and N = --sweep-due clocks due (T = the N-th due
   time), at two table sizes: after building --small-tickets, then after --tickets. Each run
   commits as in production (one transaction per clock), then its effects are undone (clocks'
   warned/breached times restored; the timeline entries, notifications and queued tasks it
   created deleted), so every run starts from the same state. Time, queries, SQL time, ms per
   event; a cProfile of one run; EXPLAIN ANALYZE of the sweep's selects. Then (step "batched",
   a what-if in this process only, NOT the app) the same sweep with one transaction per batch
   of 500 clocks (sweep_batched below).
4. The API list GET /api/v1/tickets/?status=...&owner=...&ordering=next_due_at through Django's
   test client as the demo service manager (internal scope: every ticket), --list-samples
   requests per case, p50/p95, queries, SQL time, and EXPLAIN ANALYZE of the slowest queries;
   what-ifs: as before the quality intake was joined, and without the nested clocks.
5. The complaint register page (three cases) and its XLSX export of one month's complaints.

Before each block it prints the load average and what a round trip and a one-row commit cost
at that moment: the figures depend on them on a shared machine.

Results and their reading: docs/performance.md, "Tickets at scale".
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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
    timed,
)

CHUNK = 100_000
TIMELINE_PER_TICKET = 5
OPEN_EVERY = 10  # one ticket in ten is open
OWNERS = 200
TEAMS = 10
SECRETS = 1_000
PHI = 0.6180339887498949
CITIES = ["上海", "杭州", "南京", "湖州", "苏州", "无锡", "宁波", "合肥"]
SUBJECTS = [
    "监护仪黑屏",
    "输液泵频繁阻塞报警",
    "呼吸机压力报警",
    "血糖仪读数偏高",
    "超声探头图像有条纹",
    "除颤仪自检失败",
    "心电图机打印不清",
    "麻醉机漏气",
]
# kind: share in 100 (complaint 25, repair 40, question 15, installation 5, maintenance 5,
# training 3, return 4, quality complaint 3) and its number prefix.
KINDS = [
    (25, "complaint", "TS"),
    (65, "repair", "BX"),
    (80, "question", "ZX"),
    (85, "installation", "AZ"),
    (90, "maintenance", "WB"),
    (93, "training", "PX"),
    (97, "return", "TH"),
    (100, "quality_complaint", "ZL"),
]
CHANNELS = [
    (50, "phone"),
    (65, "email"),
    (80, "portal"),
    (85, "qr"),
    (90, "web_form"),
    (93, "letter"),
    (95, "opinion_book"),
    (96, "regulator"),
    (100, "walk_in"),
]
# Open tickets by mod(j, 20): new 20 %, acknowledged 10 %, investigating 10 %, solution proposed
# 10 %, agreed 10 %, in progress 25 %, waiting for the customer 10 %, for parts 5 %.
OPEN_STATES = [
    (4, "new"),
    (6, "acknowledged"),
    (8, "investigating"),
    (10, "solution_proposed"),
    (12, "solution_agreed"),
    (17, "in_progress"),
    (19, "waiting_customer"),
    (20, "waiting_parts"),
]


def case(value: str, table: list[tuple[int, str]]) -> str:
    """CASE WHEN value < bound THEN label ... for a cumulative table."""
    whens = " ".join(f"WHEN {value} < {bound} THEN '{label}'" for bound, label in table[:-1])
    return f"(CASE {whens} ELSE '{table[-1][1]}' END)"


def ts(moment: datetime.datetime) -> str:
    return f"timestamptz '{moment.isoformat()}'"


# --- Build ------------------------------------------------------------------------------------


def meta_get(cursor: Any, key: str, default: str | None = None) -> str | None:
    cursor.execute("SELECT value FROM bench_tickets_meta WHERE key = %s", [key])
    row = cursor.fetchone()
    return row[0] if row else default


def meta_set(cursor: Any, key: str, value: str) -> None:
    cursor.execute(
        "INSERT INTO bench_tickets_meta (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [key, value],
    )


def reference_time() -> datetime.datetime:
    """B0: the build's "now", fixed at the first run and kept in the database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_tickets_meta (key text PRIMARY KEY, value text)"
        )
        stored = meta_get(cursor, "b0")
        if stored is None:
            b0 = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
            meta_set(cursor, "b0", b0.isoformat())
            return b0
    return datetime.datetime.fromisoformat(stored)


def prepare(organizations: int) -> dict[str, Any]:
    """Customers with a contact each, bench engineers and teams, and the temporary look-up
    tables the build joins: bench_org, bench_owner, bench_secret."""
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from medservice.accounts.choices import Role
    from medservice.accounts.models import User
    from medservice.core.crypto import blind_index, encrypt_text
    from medservice.customers.models import Contact, Organization
    from medservice.tickets.models import Team

    started = time.perf_counter()
    manager = User.objects.get(username="manager")
    company = manager.organization
    with connection.cursor() as cursor:
        have = Organization.objects.filter(name__contains="市第", name__endswith="医院").count()
        missing = max(0, organizations - have)
        if missing:
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
                f"FROM generate_series({have + 1}, {have + missing}) AS g(n)",
            )
        # The 1,000 reporters: real ciphertexts and look-up hashes, chosen by mod(i, 1000).
        cursor.execute("DROP TABLE IF EXISTS bench_secret")
        cursor.execute(
            "CREATE TEMP TABLE bench_secret (n int PRIMARY KEY, name text, phone text, "
            "phone_index text)"
        )
        family = "王李张刘陈杨黄赵吴周"
        given = ["丽华", "建国", "秀英", "志强", "海燕", "伟", "静", "磊", "敏", "军"]
        rows = []
        for n in range(SECRETS):
            phone = f"139{n:04d}{(n * 7919) % 10000:04d}"
            rows.append(
                (
                    n,
                    encrypt_text(family[n % 10] + given[(n // 10) % 10]),
                    encrypt_text(phone),
                    blind_index(phone),
                )
            )
        cursor.executemany("INSERT INTO bench_secret VALUES (%s, %s, %s, %s)", rows)
        # One contact per bench customer (the ticket's contact for half the tickets).
        cursor.execute("SELECT count(*) FROM customers_contact WHERE role = %s", ["设备科（基准）"])
        if cursor.fetchone()[0] == 0:
            insert_select(
                cursor,
                Contact,
                {
                    "created_at": "now()",
                    "updated_at": "now()",
                    "organization_id": "o.id",
                    "name": "'设备科联系人' || o.id",
                    "role": "'设备科（基准）'",
                    "phone": "p.phone",
                    "phone_index": "p.phone_index",
                },
                "FROM customers_organization o JOIN bench_secret p ON p.n = mod(o.id, 1000) "
                "WHERE o.kind IN ('hospital', 'clinic')",
            )
        cursor.execute("DROP TABLE IF EXISTS bench_org")
        cursor.execute(
            "CREATE TEMP TABLE bench_org AS SELECT (row_number() OVER (ORDER BY o.id)) - 1 AS n, "
            "o.id, (SELECT min(c.id) FROM customers_contact c WHERE c.organization_id = o.id) "
            "AS contact_id FROM customers_organization o WHERE o.kind IN ('hospital', 'clinic')"
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_org (n)")
        cursor.execute("SELECT count(*) FROM bench_org")
        n_orgs = cursor.fetchone()[0]
    # Owners and teams (few rows: through the ORM, audited as the app would).
    group = Group.objects.get(name=str(Role.FIELD_ENGINEER))
    teams = list(Team.objects.filter(name__startswith="基准服务组").order_by("pk"))
    with transaction.atomic():
        for k in range(len(teams), TEAMS):
            teams.append(
                Team.objects.create(
                    name=f"基准服务组 {k:02d}", region=CITIES[k % len(CITIES)], manager=manager
                )
            )
        have_owners = User.objects.filter(username__startswith="bench_eng_").count()
        family, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静磊强军洋勇"
        for n in range(have_owners, OWNERS):
            user = User.objects.create(
                username=f"bench_eng_{n:03d}",
                first_name=given[n % 10] + given[(n // 10) % 10],
                last_name=family[(n // 7) % 10],
                email=f"bench_eng_{n:03d}@example.com",
                organization=company,
                language="zh-hans",
            )
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(group)
            teams[n % TEAMS].members.add(user)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_owner")
        cursor.execute(
            "CREATE TEMP TABLE bench_owner (n int PRIMARY KEY, id bigint, team_id bigint)"
        )
        owners = User.objects.filter(username__startswith="bench_eng_").order_by("username")
        cursor.executemany(
            "INSERT INTO bench_owner VALUES (%s, %s, %s)",
            [(n, user.pk, teams[n % TEAMS].pk) for n, user in enumerate(owners)],
        )
    return {
        "customers": n_orgs,
        "organizations_made": missing,
        "seconds": time.perf_counter() - started,
        "manager": manager,
    }


def ticket_source(start: int, end: int, b0: datetime.datetime, window_hours: float, n: dict) -> str:
    """FROM ... for tickets start..end: one row per ticket with the values the columns need."""
    b0_sql = ts(b0)
    window = window_hours * 3600
    open_state = case("mod(i / 10, 20)", OPEN_STATES)
    return f"""
    FROM (
      SELECT z.*,
        CASE WHEN z.st = 'closed'
             THEN z.received + make_interval(hours => 30 + mod(z.i * 13, 45)) END AS resolved,
        CASE WHEN z.st = 'closed'
             THEN z.received + make_interval(hours => 30 + mod(z.i * 13, 45) + 24
                                                     + mod(z.i * 17, 48)) END AS closed,
        CASE WHEN z.st = 'closed' THEN mod(z.i * 3, 20) END AS how
      FROM (
        SELECT y.*,
          CASE WHEN NOT y.is_open
                 THEN {b0_sql} - interval '1041 days' + make_interval(secs => y.i * 90.0)
               WHEN y.st = 'waiting_customer'
                 THEN {b0_sql} - interval '60 hours' - make_interval(secs => y.f * 72000)
               ELSE {b0_sql} - interval '1 hour' + make_interval(secs => y.f * {window})
                    - make_interval(hours => y.next_hours)
          END AS received
        FROM (
          SELECT x.*,
            CASE x.st WHEN 'new' THEN 24 WHEN 'acknowledged' THEN 48 WHEN 'investigating' THEN 48
                      ELSE 72 END AS next_hours
          FROM (
            SELECT i, mod(i, {OPEN_EVERY}) = 0 AS is_open,
              ((i / {OPEN_EVERY})::float8 * {PHI}) - floor((i / {OPEN_EVERY})::float8 * {PHI})
                AS f,
              CASE WHEN mod(i, {OPEN_EVERY}) <> 0
                   THEN CASE WHEN mod(i, 50) = 7 THEN 'cancelled' ELSE 'closed' END
                   ELSE {open_state} END AS st,
              {case("mod(i * 7, 100)", [(b, k) for b, k, _ in KINDS])} AS kind,
              mod(i * 7, 100) AS kind_n
            FROM generate_series({start}, {end}) AS s(i)
          ) x
        ) y
      ) z
    ) t
    JOIN bench_org o ON o.n = mod(t.i::bigint * 7919, {n["orgs"]})
    JOIN bench_owner w ON w.n = mod(hashint4(t.i)::bigint + 2147483648, {OWNERS})
    JOIN bench_secret p ON p.n = mod(t.i, {SECRETS})
    """


def ticket_columns(models: list[int]) -> dict[str, str]:
    model_ids = "ARRAY[" + ",".join(str(pk) for pk in models) + "]::bigint[]"
    prefix = (
        "(CASE "
        + " ".join(f"WHEN t.kind_n < {bound} THEN '{code}'" for bound, _kind, code in KINDS)
        + " END)"
    )
    subjects = "(ARRAY[" + ",".join(f"'{s}'" for s in SUBJECTS) + "])"
    past_plan = (
        "t.st IN ('solution_proposed', 'solution_agreed', 'in_progress', "
        "'waiting_customer', 'waiting_parts', 'closed')"
    )
    agreed = (
        "t.st IN ('solution_agreed', 'in_progress', 'waiting_customer', 'waiting_parts', 'closed')"
    )
    return {
        "created_at": "t.received",
        "updated_at": "coalesce(t.closed, t.received)",
        "number": f"{prefix} || '-' || extract(year FROM t.received AT TIME ZONE "
        "'Asia/Shanghai')::int || '-' || lpad(t.i::text, 7, '0')",
        "kind": "t.kind",
        "channel": case("mod(t.i * 11, 100)", CHANNELS),
        "status": "t.st",
        "priority": "CASE WHEN mod(t.i, 20) = 0 THEN 'urgent' WHEN mod(t.i, 20) < 4 THEN 'high' "
        "WHEN mod(t.i, 20) < 18 THEN 'normal' ELSE 'low' END",
        "organization_id": "o.id",
        "contact_id": "CASE WHEN mod(t.i, 2) = 0 THEN o.contact_id END",
        "reporter_name": "CASE WHEN mod(t.i, 2) = 1 THEN p.name ELSE '' END",
        "reporter_phone": "CASE WHEN mod(t.i, 2) = 1 THEN p.phone ELSE '' END",
        "reporter_phone_index": "CASE WHEN mod(t.i, 2) = 1 THEN p.phone_index ELSE '' END",
        "device_model_id": f"({model_ids})[1 + mod(t.i, {len(models)})]",
        "serial_reported": "CASE WHEN mod(t.i, 3) = 0 THEN 'SN' || lpad(t.i::text, 8, '0') "
        "ELSE '' END",
        "subject": f"{subjects}[1 + mod(t.i, {len(SUBJECTS)})]",
        "description": f"{subjects}[1 + mod(t.i, {len(SUBJECTS)})] || '，客户来电反映，"
        "设备科已初步检查。第 ' || t.i || ' 号。'",
        "received_at": "t.received",
        "received_by_id": "w.id",
        "owner_id": "w.id",
        "team_id": "w.team_id",
        "first_response_due_at": "t.received + interval '24 hours'",
        "plan_due_at": "t.received + interval '48 hours'",
        "resolution_due_at": "t.received + interval '72 hours'",
        "next_due_at": "CASE WHEN NOT t.is_open OR t.st = 'waiting_customer' THEN NULL "
        "ELSE t.received + make_interval(hours => t.next_hours) END",
        "wait_reason": "CASE t.st WHEN 'waiting_customer' THEN 'customer' "
        "WHEN 'waiting_parts' THEN 'parts' ELSE '' END",
        "wait_note": "CASE WHEN t.st LIKE 'waiting%%' THEN '等客户提供故障照片' ELSE '' END",
        "status_before_wait": "CASE WHEN t.st LIKE 'waiting%%' THEN 'in_progress' ELSE '' END",
        "solution": f"CASE WHEN {past_plan} THEN '上门检查并更换故障部件' ELSE '' END",
        "solution_agreed_at": f"CASE WHEN {agreed} THEN t.received + interval '30 hours' END",
        "solution_agreed_by": f"CASE WHEN {agreed} THEN '设备科' ELSE '' END",
        "resolution_type": "CASE WHEN t.st = 'closed' THEN (ARRAY['guidance', 'remote_fix', "
        "'repair', 'replacement', 'no_fault_found'])[1 + mod(t.i, 5)] ELSE '' END",
        "resolution": "CASE WHEN t.st = 'closed' THEN '已处理，设备恢复正常' ELSE '' END",
        "resolved_at": "t.resolved",
        "confirmed_at": "CASE WHEN t.how >= 2 THEN t.closed END",
        "confirmed_by_name": "CASE WHEN t.how >= 2 THEN '设备科联系人' ELSE '' END",
        "confirmation_method": "CASE WHEN t.how < 2 THEN 'automatic' WHEN t.how < 10 THEN "
        "'portal' WHEN t.how < 18 THEN 'phone' WHEN t.how = 18 THEN 'paper' "
        "WHEN t.how = 19 THEN 'email' ELSE '' END",
        "closed_at": "t.closed",
        "cancel_reason": "CASE WHEN t.st = 'cancelled' THEN '客户重复报修' ELSE '' END",
        "rating": "CASE WHEN t.st = 'closed' AND mod(t.i, 5) <> 0 THEN CASE WHEN mod(t.i * 11, "
        "10) < 6 THEN 5 WHEN mod(t.i * 11, 10) < 9 THEN 4 ELSE 3 END END",
        "rated_at": "CASE WHEN t.st = 'closed' AND mod(t.i, 5) <> 0 THEN t.closed END",
        "screened_at": "CASE WHEN t.st = 'closed' AND t.kind IN ('complaint', "
        "'quality_complaint') THEN t.resolved - interval '1 hour' END",
        "is_complaint": "CASE WHEN t.st = 'closed' AND t.kind IN ('complaint', "
        "'quality_complaint') THEN true END",
        "public_token": "'~' || t.i",
    }


def clock_source(lo: int, hi: int, b0: datetime.datetime) -> str:
    """FROM ... for the three clocks of the bench tickets with lo < id <= hi."""
    b0_sql = ts(b0)
    return f"""
    FROM (
      SELECT c.*,
        c.received + make_interval(hours => c.hours) AS due,
        c.received + make_interval(mins => c.hours * 45) AS warn,
        CASE
          WHEN c.st = 'cancelled' THEN CASE WHEN c.target = 'first_response'
               THEN c.received + interval '1 hour' END
          WHEN c.st = 'closed' THEN CASE c.target
               WHEN 'first_response' THEN c.received + make_interval(mins => 30 + mod(c.i * 7, 1500))
               WHEN 'plan' THEN c.received + make_interval(mins => 120 + mod(c.i * 11, 1680))
               ELSE c.resolved END
          WHEN c.target = 'first_response' AND c.st <> 'new'
               THEN c.received + make_interval(mins => 30 + mod(c.i * 7, 1350))
          WHEN c.target = 'plan' AND c.st NOT IN ('new', 'acknowledged', 'investigating')
               THEN c.received + make_interval(mins => 120 + mod(c.i * 11, 1680))
        END AS met,
        c.st = 'cancelled' AND c.target <> 'first_response' AS stopped,
        c.st = 'waiting_customer' AND c.target = 'resolution' AS is_paused,
        {b0_sql} - make_interval(secs => c.f * 36000) AS pause_start
      FROM (
        SELECT t.id, t.status AS st, t.received_at AS received, t.resolved_at AS resolved,
          substr(t.public_token, 2)::int AS i, g.target, g.hours,
          ((substr(t.public_token, 2)::int / {OPEN_EVERY})::float8 * {PHI})
            - floor((substr(t.public_token, 2)::int / {OPEN_EVERY})::float8 * {PHI}) AS f
        FROM tickets_ticket t
        CROSS JOIN (VALUES ('first_response', 24), ('plan', 48), ('resolution', 72))
          AS g(target, hours)
        WHERE t.id > {lo} AND t.id <= {hi} AND t.public_token LIKE '~%%'
      ) c
    ) k
    """


def clock_columns(b0: datetime.datetime, policy_id: int) -> dict[str, str]:
    b0_sql = ts(b0)
    # The moment the clock's state is judged: its met time, its pause start, or B0.
    judged = (
        "coalesce(k.met, CASE WHEN k.is_paused THEN k.pause_start END, "
        f"CASE WHEN k.stopped THEN k.received + interval '5 hours' END, {b0_sql})"
    )
    return {
        "ticket_id": "k.id",
        "target": "k.target",
        "cycle": "1",
        "policy_id": str(policy_id),
        "hours": "k.hours",
        "extension_hours": "0",
        "counting": "'calendar'",
        "calendar_code": "''",
        "pause_states": "CASE WHEN k.target = 'first_response' THEN '[]'::jsonb "
        "ELSE '[\"waiting_customer\"]'::jsonb END",
        "started_at": "k.received",
        "pauses": "CASE WHEN k.is_paused THEN jsonb_build_array(jsonb_build_array("
        "to_char(k.pause_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'), "
        "NULL)) ELSE '[]'::jsonb END",
        "paused": "k.is_paused",
        "due_at": "k.due",
        "warn_at": "k.warn",
        "unconfirmed": "false",
        "warned_at": f"CASE WHEN k.warn <= {judged} THEN k.warn END",
        "met_at": "k.met",
        "breached_at": f"CASE WHEN k.due <= {judged} THEN k.due END",
        "stopped_at": "CASE WHEN k.stopped THEN k.received + interval '5 hours' END",
    }


TIMELINE_TEXT = {
    1: ("call", "受理登记：客户来电反映故障", False),
    2: ("state_change", "已电话联系设备科，确认故障现象", True),
    3: ("message", "我们已收到您的服务请求，将尽快处理。", True),
    4: ("note", "工程师远程指导重启，故障未消除，安排上门", False),
    5: ("sla", "首次响应已按时完成", False),
}


def timeline_source(lo: int, hi: int) -> str:
    kinds = "(ARRAY[" + ",".join(f"'{TIMELINE_TEXT[k][0]}'" for k in range(1, 6)) + "])"
    texts = "(ARRAY[" + ",".join(f"'{TIMELINE_TEXT[k][1]}'" for k in range(1, 6)) + "])"
    visible = "(ARRAY[" + ",".join(str(TIMELINE_TEXT[k][2]).lower() for k in range(1, 6)) + "])"
    return f"""
    FROM (
      SELECT t.id, t.owner_id, t.received_at, g.k, {kinds}[g.k] AS kind, {texts}[g.k] AS text,
        {visible}[g.k] AS visible
      FROM tickets_ticket t CROSS JOIN generate_series(1, {TIMELINE_PER_TICKET}) AS g(k)
      WHERE t.id > {lo} AND t.id <= {hi} AND t.public_token LIKE '~%%'
    ) e
    """


TIMELINE_COLUMNS = {
    "ticket_id": "e.id",
    "kind": "e.kind",
    "customer_visible": "e.visible",
    "text": "e.text",
    "actor_id": "CASE WHEN e.k > 1 THEN e.owner_id END",
    "actor_label": "CASE WHEN e.k > 1 THEN '工程师' ELSE '客服' END",
    "created_at": "e.received_at + make_interval(mins => (e.k - 1) * 97)",
}


BUILD_TABLES = ["tickets_ticket", "tickets_ticketclock", "tickets_timelineentry"]


def indexes_off(cursor: Any) -> int:
    """Drop the three tables' secondary indexes for the bulk load (building an index once is
    far cheaper than updating it row by row), keeping their definitions in the meta table so
    that a stopped run puts them back too. Indexes behind constraints (primary keys, unique
    numbers, one clock per target and cycle) stay."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
        [BUILD_TABLES],
    )
    rows = cursor.fetchall()
    for name, definition in rows:
        meta_set(cursor, f"index:{name}", definition)
        cursor.execute(f'DROP INDEX "{name}"')
    return len(rows)


def indexes_on(cursor: Any) -> int:
    cursor.execute("SELECT key, value FROM bench_tickets_meta WHERE key LIKE 'index:%%'")
    rows = cursor.fetchall()
    cursor.execute("SET maintenance_work_mem = '512MB'")
    for key, definition in rows:
        cursor.execute(definition)
        cursor.execute("DELETE FROM bench_tickets_meta WHERE key = %s", [key])
    cursor.execute("RESET maintenance_work_mem")
    return len(rows)


def build(tickets: int, b0: datetime.datetime, window_hours: float, n: dict) -> dict[str, Any]:
    """Top the bench tickets up to `tickets`, with their clocks and timeline entries.

    While loading, the secondary indexes are dropped (and rebuilt after) and the foreign-key
    triggers are off (`session_replication_role = replica`, per chunk): the generated rows
    point only at rows that exist, and checking six foreign keys per ticket row by row is most
    of a bulk insert's cost. The app never runs like this; the build is not the intake rate."""
    from django.db import connection, transaction

    from medservice.catalog.models import DeviceModel
    from medservice.tickets.models import Ticket, TicketClock, TimelineEntry
    from medservice.tickets.sla import default_policy

    models = list(DeviceModel.objects.order_by("pk").values_list("pk", flat=True))
    policy = default_policy()
    timings: dict[str, Any] = {}
    with connection.cursor() as cursor:
        have = int(meta_get(cursor, "tickets", "0"))
        started = time.perf_counter()
        timings["indexes_dropped"] = indexes_off(cursor) if have < tickets else 0
        timings["drop"] = time.perf_counter() - started
        started = time.perf_counter()
        made = 0
        columns = ticket_columns(models)
        for start in range(have, tickets, CHUNK):
            end = min(tickets, start + CHUNK) - 1
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
                made += insert_select(
                    cursor, Ticket, columns, ticket_source(start, end, b0, window_hours, n)
                )
                meta_set(cursor, "tickets", str(end + 1))
            say(f"  tickets {end + 1:>9,} / {tickets:,}  ({time.perf_counter() - started:6.1f} s)")
        timings["tickets"] = (made, time.perf_counter() - started)

        cursor.execute("SELECT max(id) FROM tickets_ticket WHERE public_token LIKE '~%%'")
        last_id = cursor.fetchone()[0] or 0
        for key, model, source, exprs in (
            ("clocks", TicketClock, clock_source, clock_columns(b0, policy.pk)),
            ("timeline", TimelineEntry, timeline_source, TIMELINE_COLUMNS),
        ):
            done = int(meta_get(cursor, f"{key}_through_id", "0"))
            started = time.perf_counter()
            made = 0
            lo = done
            while lo < last_id:
                hi = min(last_id, lo + CHUNK)
                with transaction.atomic():
                    cursor.execute("SET LOCAL session_replication_role = replica")
                    if key == "clocks":
                        made += insert_select(cursor, model, exprs, source(lo, hi, b0))
                    else:
                        made += insert_select(cursor, model, exprs, source(lo, hi))
                    meta_set(cursor, f"{key}_through_id", str(hi))
                lo = hi
                say(f"  {key} through ticket id {hi:>9,} ({time.perf_counter() - started:6.1f} s)")
            timings[key] = (made, time.perf_counter() - started)
        started = time.perf_counter()
        timings["indexes_built"] = indexes_on(cursor)
        timings["index"] = time.perf_counter() - started
        started = time.perf_counter()
        if any(timings[key][0] for key in ("tickets", "clocks", "timeline")):
            for table in BUILD_TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum"] = time.perf_counter() - started
    return timings


def report_build(timings: dict[str, Any]) -> None:
    from django.db import connection

    say("\n== Bulk build (set-based SQL, NOT the app's intake path: no audit events) ==")
    for name in ("tickets", "clocks", "timeline"):
        rows, seconds = timings[name]
        rate = f"{rows / seconds:10,.0f} rows/s" if rows else "(already there)"
        say(f"  {name:10} {rows:>10,} rows in {seconds:7.1f} s  {rate}")
    say(
        f"  secondary indexes: {timings['indexes_dropped']} dropped before the load, "
        f"{timings['indexes_built']} built after it in {timings['index']:.1f} s; "
        f"VACUUM ANALYZE {timings['vacuum']:.1f} s"
    )
    with connection.cursor() as cursor:
        for table in BUILD_TABLES:
            cursor.execute(
                f"SELECT count(*), pg_size_pretty(pg_total_relation_size('{table}')), "
                f"pg_size_pretty(pg_relation_size('{table}')) FROM {table}"
            )
            count, size, heap = cursor.fetchone()
            say(f"  {table:24} {count:>10,} rows  {size:>8} with indexes ({heap} rows)")
        for index in ("clock_running_due", "clock_running_warn", "tickets_status_owner_due"):
            cursor.execute(f"SELECT pg_size_pretty(pg_relation_size('{index}'))")
            say(f"  index {index:26} {cursor.fetchone()[0]:>8}")
        cursor.execute(
            "SELECT count(*) FILTER (WHERE status NOT IN ('resolved', 'closed', 'cancelled')), "
            "count(*) FROM tickets_ticket"
        )
        open_count, total = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FILTER (WHERE met_at IS NULL AND stopped_at IS NULL), "
            "count(*) FILTER (WHERE met_at IS NULL AND stopped_at IS NULL AND paused), "
            "count(*) FILTER (WHERE met_at IS NULL AND stopped_at IS NULL AND NOT paused "
            "AND breached_at IS NULL), "
            "count(*) FILTER (WHERE met_at IS NULL AND stopped_at IS NULL AND NOT paused "
            "AND warned_at IS NULL) FROM tickets_ticketclock"
        )
        running, paused, due_index, warn_index = cursor.fetchone()
    say(
        f"  {open_count:,} open tickets of {total:,}; {running:,} running clocks ({paused:,} "
        f"paused); rows in the sweep's partial indexes: due {due_index:,}, warn {warn_index:,}"
    )


# --- The sweep --------------------------------------------------------------------------------

DUE = "met_at IS NULL AND stopped_at IS NULL AND breached_at IS NULL AND NOT paused"
WARN = "met_at IS NULL AND stopped_at IS NULL AND warned_at IS NULL AND NOT paused"


def nth_due(n: int) -> datetime.datetime | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT due_at FROM tickets_ticketclock WHERE {DUE} ORDER BY due_at "
            f"OFFSET {n - 1} LIMIT 1"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def steady_state(b0: datetime.datetime) -> dict[str, int]:
    """Put the bench clocks back as the build made them (the minute sweep's state at B0):
    whatever a sweep after B0 recorded on them (a stopped run, or the demo seeder, which sweeps
    at the wall-clock time) is undone, with the timeline entries and notifications it made."""
    from django.db import connection, transaction

    bench = "ticket_id IN (SELECT id FROM tickets_ticket WHERE public_token LIKE '~%%')"
    running = f"met_at IS NULL AND stopped_at IS NULL AND NOT paused AND {bench}"
    done = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE tickets_ticketclock SET breached_at = NULL WHERE {running} "
            "AND breached_at IS NOT NULL AND due_at > %s",
            [b0],
        )
        done["unbreached"] = cursor.rowcount
        cursor.execute(
            f"UPDATE tickets_ticketclock SET warned_at = NULL WHERE {running} "
            "AND warned_at IS NOT NULL AND warn_at > %s",
            [b0],
        )
        done["unwarned"] = cursor.rowcount
        cursor.execute(f"DELETE FROM tickets_timelineentry WHERE {bench} AND data <> '{{}}'")
        done["timeline"] = cursor.rowcount
        cursor.execute(
            "DELETE FROM core_notification WHERE link ~ '^/tickets/[0-9]+/$' AND "
            "substring(link FROM '[0-9]+')::bigint IN "
            "(SELECT id FROM tickets_ticket WHERE public_token LIKE '~%%')"
        )
        done["notifications"] = cursor.rowcount
        cursor.execute("DELETE FROM django_tasks_database_dbtaskresult WHERE status = 'READY'")
        done["queued tasks"] = cursor.rowcount
    return done


class SweepRun:
    """One sla_sweep(now=T) that commits as in production, and the undoing of its effects."""

    def __init__(self, at: datetime.datetime, runner: Callable[..., Any] | None = None) -> None:
        from django.db import connection

        self.at = at
        self.runner = runner
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_snap")
            cursor.execute(
                "CREATE TEMP TABLE bench_snap AS SELECT id, warned_at, breached_at "
                f"FROM tickets_ticketclock WHERE ({DUE} AND due_at <= %s) "
                f"OR ({WARN} AND warn_at <= %s)",
                [at, at],
            )
            cursor.execute(
                f"SELECT count(*) FROM tickets_ticketclock WHERE {DUE} AND due_at <= %s", [at]
            )
            self.due = cursor.fetchone()[0]
            self.marks = {}
            for table in ("tickets_timelineentry", "core_notification", "core_auditevent"):
                cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
                self.marks[table] = cursor.fetchone()[0]
            cursor.execute("SELECT now()")
            self.started_db = cursor.fetchone()[0]

    def run(
        self, profile: cProfile.Profile | None = None
    ) -> tuple[dict[str, int], float, Recorder]:
        from django.db import connection

        from medservice.tickets.sweep import sla_sweep

        runner = self.runner or sla_sweep
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            started = time.perf_counter()
            if profile is not None:
                profile.enable()
            result = runner(now=self.at)
            if profile is not None:
                profile.disable()
            seconds = time.perf_counter() - started
        return result, seconds, recorder

    def undo(self) -> dict[str, int]:
        from django.db import connection

        made = {}
        with connection.cursor() as cursor:
            for table in ("tickets_timelineentry", "core_notification", "core_auditevent"):
                cursor.execute(f"SELECT count(*) FROM {table} WHERE id > %s", [self.marks[table]])
                made[table] = cursor.fetchone()[0]
            cursor.execute(
                "UPDATE tickets_ticketclock c SET warned_at = s.warned_at, "
                "breached_at = s.breached_at FROM bench_snap s WHERE c.id = s.id"
            )
            for table in ("tickets_timelineentry", "core_notification"):
                cursor.execute(f"DELETE FROM {table} WHERE id > %s", [self.marks[table]])
            cursor.execute(
                "DELETE FROM django_tasks_database_dbtaskresult WHERE enqueued_at >= %s",
                [self.started_db],
            )
            made["tasks"] = cursor.rowcount
        return made


def sweep_batched(*, now: datetime.datetime) -> dict[str, int]:
    """What-if, in this process only (NOT the app): the same sweep with the same effects — a
    timeline entry per event, the same notifications to the same people (rendered from the
    same templates in each recipient's language, e-mailed by one queued task per batch), the
    customer's delay message for resolution and on-site warnings — but one transaction per
    batch of 500 clocks instead of one per clock: the batch is read once, claimed by one
    conditional UPDATE ... RETURNING (so overlapping sweeps still record each event once), and
    its timeline entries and notifications are written by two bulk INSERTs."""
    from django.db import connection, transaction
    from django.template.loader import render_to_string
    from django.utils import timezone, translation
    from django.utils.translation import gettext as _

    from medservice.core.context import audit_context
    from medservice.core.models import Notification
    from medservice.core.tasks import send_notification_emails
    from medservice.tickets.choices import SlaTarget, TimelineKind
    from medservice.tickets.models import TicketClock, TimelineEntry
    from medservice.tickets.services import customer_message
    from medservice.tickets.sweep import BATCH, _managers, _recipients

    managers = _managers()
    counts = {"warned": 0, "breached": 0}
    for event in ("breached", "warned"):
        while True:
            with transaction.atomic(), audit_context(job="tickets.sla-sweep"):
                if event == "breached":
                    condition = {"breached_at__isnull": True, "due_at__lte": now}
                    order = "due_at"
                    claim = (
                        "UPDATE tickets_ticketclock SET breached_at = due_at, "
                        "warned_at = coalesce(warned_at, %s) WHERE id = ANY(%s) "
                        "AND breached_at IS NULL RETURNING id"
                    )
                else:
                    condition = {"warned_at__isnull": True, "warn_at__lte": now}
                    order = "warn_at"
                    claim = (
                        "UPDATE tickets_ticketclock SET warned_at = %s WHERE id = ANY(%s) "
                        "AND warned_at IS NULL RETURNING id"
                    )
                batch = list(
                    TicketClock.objects.filter(
                        met_at__isnull=True, stopped_at__isnull=True, paused=False, **condition
                    )
                    .select_related("ticket", "ticket__owner", "ticket__team__manager")
                    .order_by(order)[:BATCH]
                )
                with connection.cursor() as cursor:
                    cursor.execute(claim, [now, [clock.pk for clock in batch]])
                    claimed = {row[0] for row in cursor.fetchall()}
                clocks = [clock for clock in batch if clock.pk in claimed]
                entries, notifications = [], []
                for clock in clocks:
                    ticket = clock.ticket
                    target = SlaTarget(clock.target).label
                    due = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M")
                    if event == "breached":
                        text = _(
                            "%(target)s breached: it was due %(due)s; escalated to the service "
                            "manager."
                        ) % {"target": target, "due": due}
                        template = "ticket_sla_breached"
                    else:
                        text = _("%(target)s at risk: due %(due)s.") % {
                            "target": target,
                            "due": due,
                        }
                        template = "ticket_sla_at_risk"
                    entries.append(
                        TimelineEntry(
                            ticket=ticket,
                            kind=TimelineKind.SLA,
                            text=text,
                            actor_label=_("system"),
                            created_at=timezone.now(),
                            data={
                                "target": clock.target,
                                "event": "breached" if event == "breached" else "at_risk",
                                "cycle": clock.cycle,
                            },
                        )
                    )
                    context = {"ticket": ticket, "target": target, "due_at": clock.due_at}
                    for user in _recipients(clock, managers):
                        with translation.override(user.language or "zh-hans"):
                            subject = render_to_string(
                                f"notifications/{template}_subject.txt", context
                            ).strip()
                            body = render_to_string(
                                f"notifications/{template}_body.txt", context
                            ).strip()
                        notifications.append(
                            Notification(
                                recipient=user,
                                subject=subject[:200],
                                body=body,
                                link=f"/tickets/{ticket.pk}/",
                            )
                        )
                    if event == "warned" and clock.target in (
                        SlaTarget.RESOLUTION,
                        SlaTarget.ONSITE,
                    ):
                        customer_message(ticket, event="delay", extra=str(target))
                TimelineEntry.objects.bulk_create(entries)
                Notification.objects.bulk_create(notifications)
                ids = [item.pk for item in notifications if item.recipient.email]
                if ids:
                    transaction.on_commit(lambda ids=ids: send_notification_emails.enqueue(ids))
                counts[event] += len(clocks)
            if len(batch) < BATCH:
                break
    return counts


def measure_sweep_batched(label: str, b0: datetime.datetime, dues: list[int]) -> None:
    say(
        f"\n== What-if (NOT the app as it is): the sweep batched, one transaction per 500 "
        f"clocks, {label} =="
    )
    say(
        f"  {'case':42} {'breached':>8} {'warned':>7} {'s':>7} {'ms/event':>8} {'queries':>8} "
        f"{'SQL s':>6}  created (timeline, notifications, tasks, audit)"
    )
    cases = [("the next minute (T = B0 + 1 min)", b0 + datetime.timedelta(minutes=1))]
    for n in dues:
        at = nth_due(n)
        if at is not None:
            cases.append((f"{n:,} due (T = the {n:,}th due time)", at))
    for name, at in cases:
        sweep = SweepRun(at, runner=sweep_batched)
        result, seconds, recorder = sweep.run()
        made = sweep.undo()
        events = result["breached"] + result["warned"]
        assert result["breached"] == sweep.due, (result, sweep.due)
        say(
            f"  {name:42} {result['breached']:8,} {result['warned']:7,} {seconds:7.2f} "
            f"{(seconds * 1000 / events) if events else 0:8.2f} {len(recorder.calls):8,} "
            f"{recorder.seconds:6.2f}  {made['tickets_timelineentry']:,}, "
            f"{made['core_notification']:,}, {made['tasks']:,}, {made['core_auditevent']:,}"
        )


def measure_sweep(label: str, b0: datetime.datetime, dues: list[int], profile_n: int) -> None:
    from django.db import connection

    from medservice.tickets.sweep import sla_sweep

    say(f"\n== SLA sweep, {label} ==")
    reset = steady_state(b0)
    # What was due before B0 (the demo's own requests) is swept for good.
    settled = sla_sweep(now=b0)
    say(f"  steady state at B0: {reset}; settled at B0 (kept): {settled}")
    warm = SweepRun(nth_due(20) or b0)
    warm.run()
    warm.undo()
    cases: list[tuple[str, datetime.datetime]] = [
        ("nothing due (T = B0)", b0),
        ("the next minute (T = B0 + 1 min)", b0 + datetime.timedelta(minutes=1)),
    ]
    for n in dues:
        at = nth_due(n)
        if at is not None:
            cases.append((f"{n:,} due (T = the {n:,}th due time)", at))
    say(
        f"  {'case':42} {'breached':>8} {'warned':>7} {'s':>7} {'ms/event':>8} {'queries':>8} "
        f"{'SQL s':>6}  created (timeline, notifications, tasks, audit)"
    )
    for name, at in cases:
        sweep = SweepRun(at)
        result, seconds, recorder = sweep.run()
        made = sweep.undo()
        events = result["breached"] + result["warned"]
        assert result["breached"] == sweep.due, (result, sweep.due)
        say(
            f"  {name:42} {result['breached']:8,} {result['warned']:7,} {seconds:7.2f} "
            f"{(seconds * 1000 / events) if events else 0:8.2f} {len(recorder.calls):8,} "
            f"{recorder.seconds:6.2f}  {made['tickets_timelineentry']:,}, "
            f"{made['core_notification']:,}, {made['tasks']:,}, {made['core_auditevent']:,}"
        )
    # EXPLAIN ANALYZE of the sweep's selects, as they run (captured at 300 due, then undone).
    at = nth_due(300) or b0
    sweep = SweepRun(at)
    queries = captured_sql(lambda: sweep.run())
    sweep.undo()
    seen = set()
    say(f"\n  The sweep's selects of clocks at T = the 300th due time ({len(queries)} queries):")
    for query in queries:
        sql = query["sql"]
        if not sql.startswith("SELECT") or '"tickets_ticketclock"' not in sql.split("FROM")[1]:
            continue
        key = "due" if 'breached_at" IS NULL' in sql else "warn"
        if key in seen:
            continue
        seen.add(key)
        say(f"    [{query['ms']:.1f} ms] {sql[:220]}…")
        explain(sql)
    if profile_n:
        at = nth_due(profile_n)
        if at is not None:
            profile = cProfile.Profile()
            sweep = SweepRun(at)
            _result, seconds, _recorder = sweep.run(profile)
            sweep.undo()
            stream = io.StringIO()
            stats = pstats.Stats(profile, stream=stream).strip_dirs()
            stats.sort_stats("cumulative").print_stats(
                r"sweep.py|services.py|notifications.py|messages.py|loader.py|"
                r"compiler.py.*execute_sql|base.py.*\(commit\)|crypto.py",
                25,
            )
            stats.sort_stats("tottime").print_stats(12)
            say(
                f"\n  cProfile of a sweep over {profile_n:,} due clocks ({seconds:.1f} s profiled):"
            )
            say("\n".join("    " + line for line in stream.getvalue().splitlines() if line.strip()))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM tickets_ticketclock WHERE {DUE} AND due_at <= %s", [b0]
        )
        assert cursor.fetchone()[0] == 0, "the undo left due clocks behind"


# --- The list ---------------------------------------------------------------------------------


@contextlib.contextmanager
def list_without_clocks() -> Iterator[None]:
    """What-if, in this process only: the list's tickets without their nested clocks (the due
    times stay on the ticket), to show what the clocks cost a page."""
    from medservice.core.api.viewsets import ResourceViewSet
    from medservice.tickets.api.serializers import TicketSerializer
    from medservice.tickets.api.viewsets import TicketViewSetBase

    class WithoutClocks(TicketSerializer):
        clocks = None

        class Meta(TicketSerializer.Meta):
            fields = [name for name in TicketSerializer.Meta.fields if name != "clocks"]

    original = TicketViewSetBase.get_queryset, TicketViewSetBase.get_serializer_class

    def queryset(self: Any) -> Any:
        return ResourceViewSet.get_queryset(self).select_related("quality_intake")

    TicketViewSetBase.get_queryset = queryset  # type: ignore[method-assign]
    TicketViewSetBase.get_serializer_class = lambda self: WithoutClocks  # type: ignore[method-assign]
    try:
        yield
    finally:
        TicketViewSetBase.get_queryset, TicketViewSetBase.get_serializer_class = original


@contextlib.contextmanager
def quality_intake_not_joined() -> Iterator[None]:
    """What-if, in this process only: the ticket list as it was before the fix (the quality
    intake joined only on a single ticket, so a page read it once per row)."""
    from medservice.core.api.viewsets import ResourceViewSet
    from medservice.tickets.api.viewsets import TicketViewSetBase

    original = TicketViewSetBase.get_queryset

    def as_before(self: Any) -> Any:
        return ResourceViewSet.get_queryset(self).prefetch_related("clocks")

    TicketViewSetBase.get_queryset = as_before  # type: ignore[method-assign]
    try:
        yield
    finally:
        TicketViewSetBase.get_queryset = original  # type: ignore[method-assign]


def measure_list(client: Any, headers: dict[str, str], samples: int) -> None:
    from medservice.accounts.models import User
    from medservice.tickets.choices import OPEN_STATUSES
    from medservice.tickets.models import Ticket

    owner = User.objects.get(username="bench_eng_000")
    counts = {
        status: Ticket.objects.filter(owner=owner, status=status).count()
        for status in ("new", "in_progress", "waiting_customer", "closed")
    }
    url = "/api/v1/tickets/"
    base = {"owner": owner.pk, "ordering": "next_due_at"}
    cases = {
        f"status=in_progress ({counts['in_progress']:,} rows)": {**base, "status": "in_progress"},
        f"status=new ({counts['new']:,} rows)": {**base, "status": "new"},
        f"status=waiting_customer ({counts['waiting_customer']:,})": {
            **base,
            "status": "waiting_customer",
        },
        f"status=closed ({counts['closed']:,} rows)": {**base, "status": "closed"},
        "open=true (all open of the owner)": {**base, "open": "true"},
    }
    open_pages = (Ticket.objects.filter(owner=owner, status__in=OPEN_STATUSES).count() + 49) // 50
    if open_pages > 1:
        cases[f"open=true, last page ({open_pages})"] = {**base, "open": "true", "page": open_pages}
    say(f"\n== API list GET {url}?owner={owner.pk}&ordering=next_due_at&… ({samples} requests) ==")
    say(
        f"  {'filter':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL p50':>8} "
        f"{'queries':>7} {'rows':>5} {'KiB':>5}"
    )
    slowest: dict[str, list[tuple[float, str]]] = {}
    for name, params in cases.items():

        def call(params: dict[str, Any] = params) -> Any:
            response = client.get(url, params, **headers)
            assert response.status_code == 200, (params, response.status_code)
            return response

        call()  # warm up
        walls, sqls, queries, response = timed(call, samples)
        say(
            f"  {name:40} {statistics.median(walls):8.1f} {percentile(walls, 0.95):8.1f} "
            f"{max(walls):8.1f} {statistics.median(sqls):8.1f} {queries:7d} "
            f"{len(response.json()['results']):5d} {len(response.content) / 1024:5.0f}"
        )
        slowest[name] = sorted(
            ((query["ms"], query["sql"]) for query in captured_sql(call)), reverse=True
        )[:2]
    say(
        "  what-if (NOT the app as it is): as before the fix, without the quality intake joined "
        "(one query per row)"
    )
    with quality_intake_not_joined():
        for name, params in list(cases.items())[:2]:
            client.get(url, params, **headers)
            walls, sqls, queries, response = timed(
                lambda params=params: client.get(url, params, **headers), samples
            )
            say(
                f"  {'  ' + name:40} {statistics.median(walls):8.1f} "
                f"{percentile(walls, 0.95):8.1f} {max(walls):8.1f} {statistics.median(sqls):8.1f} "
                f"{queries:7d} {len(response.json()['results']):5d} "
                f"{len(response.content) / 1024:5.0f}"
            )
    say("  what-if (NOT the app as it is): the same pages without the tickets' nested clocks")
    with list_without_clocks():
        for name, params in list(cases.items())[:2]:
            client.get(url, params, **headers)
            walls, sqls, queries, response = timed(
                lambda params=params: client.get(url, params, **headers), samples
            )
            say(
                f"  {'  ' + name:40} {statistics.median(walls):8.1f} "
                f"{percentile(walls, 0.95):8.1f} {max(walls):8.1f} {statistics.median(sqls):8.1f} "
                f"{queries:7d} {len(response.json()['results']):5d} "
                f"{len(response.content) / 1024:5.0f}"
            )
    profile = cProfile.Profile()
    profile.enable()
    client.get(url, cases[next(iter(cases))], **headers)
    profile.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profile, stream=stream).strip_dirs()
    stats.sort_stats("cumulative").print_stats(
        r"viewsets.py|mixins.py|pagination.py|serializers.py.*\((data|to_representation)\)|"
        r"compiler.py.*execute_sql|crypto.py|query.py.*prefetch_related_objects|base.py.*from_db|"
        r"fields.py.*to_representation|models.py.*from_db",
        25,
    )
    say("\n  cProfile of one request (the first case):")
    say("\n".join("    " + line for line in stream.getvalue().splitlines() if line.strip()))
    say("\n  The two slowest queries of each case, with EXPLAIN ANALYZE:")
    for name, queries in slowest.items():
        say(f"\n  -- {name}")
        for ms, sql in queries:
            say(f"    [{ms:.1f} ms] {sql[:300]}{'…' if len(sql) > 300 else ''}")
            if sql.lstrip().upper().startswith("SELECT"):
                explain(sql)


# --- The complaint register -------------------------------------------------------------------


def measure_register(client: Any, b0: datetime.datetime, samples: int) -> None:
    """The complaint register page (page 1, a filtered page) and the XLSX export of one
    month's complaints, signed in as the demo service manager."""
    from medservice.tickets.models import Ticket

    url = "/tickets/registers/complaints/"
    month_end = (b0 - datetime.timedelta(days=90)).date()
    month_start = month_end - datetime.timedelta(days=30)
    in_month = Ticket.objects.filter(
        kind__in=["complaint", "quality_complaint"],
        received_at__date__gte=month_start,
        received_at__date__lte=month_end,
    ).count()
    cases = {
        "page 1 (all complaints)": {},
        "status=closed, page 100": {"status": "closed", "page": 100},
        "one month, status=closed": {
            "received_at_after": month_start.isoformat(),
            "received_at_before": month_end.isoformat(),
            "status": "closed",
        },
    }
    say(f"\n== Complaint register {url} ({samples} requests; export: {in_month:,} rows) ==")
    say(f"  {'request':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'SQL p50':>8} {'queries':>7}")
    for name, params in cases.items():

        def call(params: dict[str, Any] = params) -> Any:
            response = client.get(url, params)
            assert response.status_code == 200, (params, response.status_code)
            return response

        call()
        walls, sqls, queries, _response = timed(call, samples)
        say(
            f"  {name:40} {statistics.median(walls):8.1f} {percentile(walls, 0.95):8.1f} "
            f"{max(walls):8.1f} {statistics.median(sqls):8.1f} {queries:7d}"
        )
    params = {
        "received_at_after": month_start.isoformat(),
        "received_at_before": month_end.isoformat(),
        "export": "xlsx",
    }
    walls, sqls, queries, response = timed(lambda: client.get(url, params), 3)
    say(
        f"  {'XLSX export, one month (' + format(in_month, ',') + ' rows)':40} "
        f"{statistics.median(walls):8.1f} {max(walls):8.1f} {max(walls):8.1f} "
        f"{statistics.median(sqls):8.1f} {queries:7d}  ({len(response.content) / 1024:,.0f} KiB)"
    )


# --- Main -------------------------------------------------------------------------------------


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
                cursor.execute("UPDATE bench_tickets_meta SET value = value WHERE key = 'b0'")
            commits.append((time.perf_counter() - started) * 1000)
    return (
        f"load average {load()}; SELECT 1 round trip p50 {statistics.median(trips):.2f} ms, "
        f"p95 {percentile(trips, 0.95):.2f} ms; one-row UPDATE + COMMIT p50 "
        f"{statistics.median(commits):.2f} ms, p95 {percentile(commits, 0.95):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument(
        "--small-tickets",
        type=int,
        default=100_000,
        help="the first table size the sweep is measured at (0: only the full size)",
    )
    parser.add_argument("--organizations", type=int, default=5_000)
    parser.add_argument(
        "--window-hours",
        type=float,
        default=8.0,
        help="open tickets' next due times run from B0 - 1 h to B0 + this",
    )
    parser.add_argument("--sweep-due", default="100,1000", help="N due clocks per run")
    parser.add_argument("--profile-due", type=int, default=300, help="0 skips the profile")
    parser.add_argument("--list-samples", type=int, default=50)
    parser.add_argument(
        "--steps",
        default="sweep,batched,list,register",
        help="what to measure after the build: sweep, batched (the what-if), list, register",
    )
    args = parser.parse_args()
    steps = {step.strip() for step in args.steps.split(",") if step.strip()}
    dues = [int(n) for n in args.sweep_due.split(",") if n.strip()]

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
    # Once: the demo seeder sweeps at the wall-clock time, which would breach bench clocks.
    call_command("seed_demo", "--if-empty", verbosity=0)
    if "register" in steps:
        call_command("collectstatic", interactive=False, verbosity=0)  # manifest storage
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        buffers = cursor.fetchone()[0]
    b0 = reference_time()
    say(
        f"PostgreSQL {version} (shared_buffers {buffers}), Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {load()}; setup {time.perf_counter() - began:.1f} s"
    )
    prepared = prepare(args.organizations)
    say(
        f"B0 = {b0.isoformat()}; {prepared['customers']:,} customers "
        f"({prepared['organizations_made']:,} made), {OWNERS} owners in {TEAMS} teams "
        f"({prepared['seconds']:.1f} s)"
    )
    n = {"orgs": prepared["customers"]}
    with connection.cursor() as cursor:
        have = int(meta_get(cursor, "tickets", "0"))
    sizes = [args.tickets]
    if 0 < args.small_tickets < args.tickets:
        if have <= args.small_tickets:
            sizes.insert(0, args.small_tickets)
        else:
            say(
                f"(The database already holds {have:,} bench tickets: the sweep at "
                f"{args.small_tickets:,} cannot be measured again; drop the database for it.)"
            )
    for size in sizes:
        say(f"\nBuilding up to {size:,} tickets (load average {load()}) …")
        timings = build(size, b0, args.window_hours, n)
        report_build(timings)
        if "sweep" in steps:
            say(f"({latency()})")
            measure_sweep(
                f"{size:,} tickets", b0, dues, args.profile_due if size == sizes[-1] else 0
            )
        if "batched" in steps and size == sizes[-1]:
            say(f"({latency()})")
            measure_sweep_batched(f"{size:,} tickets", b0, dues)

    if "list" in steps:
        manager = prepared["manager"]
        client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="127.0.0.1")
        token = Token.objects.get_or_create(user=manager)[0].key
        say(f"({latency()})")
        measure_list(client, {"HTTP_AUTHORIZATION": f"Token {token}"}, args.list_samples)
    if "register" in steps:
        client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="127.0.0.1")
        client.force_login(prepared["manager"])
        say(f"({latency()})")
        measure_register(client, b0, args.list_samples)
    say(f"\nDone in {(time.perf_counter() - began) / 60:.1f} min (load average {load()}).")


if __name__ == "__main__":
    main()
