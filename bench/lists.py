"""Benchmark: the organisations list (UI page, filtered page, CSV export, API) on a large table.

Run: `.venv/bin/python bench/lists.py [rows]` (embedded SQLite in a temporary folder), or with
DATABASE_URL=postgres://... for PostgreSQL. Reports the median time and the query count of each
request; the query count must not depend on the number of rows.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    os.environ.setdefault("MEDSERVICE_VAR_DIR", tempfile.mkdtemp(prefix="medservice-bench-"))
    os.environ.setdefault("MEDSERVICE_DEMO", "1")
    os.environ.setdefault("SECURE_HTTPS", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medservice.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from medservice.accounts.models import User
    from medservice.customers.models import Organization

    call_command("migrate", verbosity=0)
    if connection.vendor != "sqlite":
        call_command("collectstatic", interactive=False, verbosity=0)  # manifest storage
    call_command("seed_demo", verbosity=0)
    if Organization.objects.count() < rows:
        regions = ["上海", "杭州", "南京", "湖州", "苏州"]
        Organization.objects.bulk_create(
            [
                Organization(kind="hospital", name=f"第{n}人民医院", region=regions[n % 5])
                for n in range(rows)
            ],
            batch_size=1000,
        )
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username="manager"))
    from rest_framework.authtoken.models import Token

    token = Token.objects.get_or_create(user=User.objects.get(username="manager"))[0].key
    cases = {
        "list page 1": ("/customers/organizations/", {}),
        "list page 100, sorted": ("/customers/organizations/", {"page": 100, "sort": "-name"}),
        "list filtered + search": ("/customers/organizations/", {"region": "湖州", "q": "9"}),
        "API list": ("/api/v1/organizations/", {"page": 50}),
    }
    print(f"{Organization.objects.count()} organisations on {connection.vendor}")
    print(f"{'request':28} {'median ms':>10} {'queries':>8}")
    for name, (url, params) in cases.items():
        timings = []
        for _ in range(15):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url, params, HTTP_AUTHORIZATION=f"Token {token}")
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{name:28} {statistics.median(timings):10.1f} {len(queries.captured_queries):8d}")
    started = time.perf_counter()
    response = client.get("/customers/organizations/", {"export": "csv"})
    size = sum(len(chunk) for chunk in response.streaming_content)
    print(
        f"{'CSV export (all rows)':28} {(time.perf_counter() - started) * 1000:10.1f} {'-':>8}  {size} bytes"
    )


if __name__ == "__main__":
    main()
