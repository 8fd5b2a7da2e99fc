"""Load test (issue 12): 50 concurrent users through gunicorn on PostgreSQL with the benchmark
data set, mixing ticket, work-order and dashboard/KPI requests. A locust file, run headless.

Build the data once (bench/tickets.py, then bench/analytics.py: 1,000,000 requests and 300,000
work orders), then `make load-test`, which starts `medservice serve` on that database and runs

    .venv/bin/locust -f bench/load.py --headless -u 50 -r 10 -t 3m \\
        --host http://127.0.0.1:18250 --csv var/load/load --only-summary

Each simulated user is the demo service manager (internal scope: every record), with the API
token fetched once at the start (the token endpoint is throttled) and its own browser session
for the dashboard page. Weights (of 40): ticket list 8, ticket detail 8, ticket create 3 and
acknowledge 3 (create + transition), work-order list 5, work-order detail 5, service dashboard
2, KPI API (the month, from stored figures; 200, or 202 while they are computed in the
background) 3, plus one think time of 0.1–0.5 s between requests. Any status but the expected
one counts as a failure; the run exits non-zero on any.

Environment: LOAD_USER / LOAD_PASSWORD (manager / demo-pass-2026).
"""

from __future__ import annotations

import os
import random
import re
import threading
from typing import Any

from locust import HttpUser, between, events, task

USERNAME = os.environ.get("LOAD_USER", "manager")
PASSWORD = os.environ.get("LOAD_PASSWORD", "demo-pass-2026")
TICKET_LIST_FILTERS = [
    "?open=true&ordering=next_due_at",
    "?status=in_progress&ordering=next_due_at",
    "?status=new",
    "?kind=complaint&ordering=-received_at",
    "?overdue=true",
    "",
]
WORK_ORDER_LIST_FILTERS = ["?open=true", "?kind=repair", "?status=completed", ""]
KPI_MONTHS = [
    ("2026-10-01", "2026-10-31"),
    ("2026-09-01", "2026-09-30"),
    ("2026-08-01", "2026-08-31"),
]

shared: dict[str, Any] = {}
lock = threading.Lock()


def _id_range(client: Any, url: str, headers: dict[str, str]) -> tuple[int, int]:
    """The lowest and highest id of a list (the bench builds contiguous ids)."""
    low = client.get(url + "?ordering=id&page_size=1", headers=headers, name="setup").json()
    high = client.get(url + "?ordering=-id&page_size=1", headers=headers, name="setup").json()
    return low["results"][0]["id"], high["results"][0]["id"]


@events.test_start.add_listener
def _test_start(environment: Any, **kwargs: Any) -> None:
    shared.clear()


@events.quitting.add_listener
def _fail_on_errors(environment: Any, **kwargs: Any) -> None:
    if environment.stats.total.num_failures:
        environment.process_exit_code = 1


def _reason(response) -> str:  # locust's ResponseContextManager
    """What went wrong: the status and the start of the body, or for status 0 (no answer at
    all) the client's exception, which is the only clue to a dropped connection."""
    if response.status_code == 0:
        return f"0: {response.error!r}"
    return f"{response.status_code}: {response.text[:200]}"


class ServiceManager(HttpUser):
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        with lock:
            if "token" not in shared:
                response = self.client.post(
                    "/api/v1/auth/token/",
                    data={"username": USERNAME, "password": PASSWORD},
                    name="setup",
                )
                response.raise_for_status()
                shared["token"] = response.json()["token"]
                headers = {"Authorization": f"Token {shared['token']}"}
                shared["tickets"] = _id_range(self.client, "/api/v1/tickets/", headers)
                shared["work_orders"] = _id_range(self.client, "/api/v1/work-orders/", headers)
        self.headers = {"Authorization": f"Token {shared['token']}"}
        self.created: list[int] = []
        # A browser session for the dashboard page (HTML, session auth).
        page = self.client.get("/accounts/login/", name="setup")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        response = self.client.post(
            "/accounts/login/",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": match.group(1) if match else "",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="setup",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"login failed: {response.status_code}")

    def _get(self, url: str, name: str, expected: tuple[int, ...] = (200,)) -> None:
        with self.client.get(url, headers=self.headers, name=name, catch_response=True) as r:
            if r.status_code not in expected:
                r.failure(_reason(r))

    @task(8)
    def ticket_list(self) -> None:
        self._get("/api/v1/tickets/" + random.choice(TICKET_LIST_FILTERS), "ticket list")

    @task(8)
    def ticket_detail(self) -> None:
        low, high = shared["tickets"]
        self._get(f"/api/v1/tickets/{random.randint(low, high)}/", "ticket detail")

    @task(3)
    def ticket_create(self) -> None:
        body = {
            "kind": random.choice(["repair", "complaint", "question"]),
            "channel": "phone",
            "priority": random.choice(["normal", "high"]),
            "subject": "压力测试 load test",
            "description": "Bench load test: the device shows an error on start-up.",
            "reporter_name": "Load Test",
            "reporter_phone": "13800000000",
        }
        with self.client.post(
            "/api/v1/tickets/", json=body, headers=self.headers, name="ticket create",
            catch_response=True,
        ) as r:  # fmt: skip
            if r.status_code != 201:
                r.failure(_reason(r))
            else:
                self.created.append(r.json()["id"])

    @task(3)
    def ticket_acknowledge(self) -> None:
        if not self.created:
            self.ticket_create()
            return
        pk = self.created.pop()
        with self.client.post(
            f"/api/v1/tickets/{pk}/acknowledge/", json={"note": "Called back, engineer booked."},
            headers=self.headers, name="ticket transition (acknowledge)", catch_response=True,
        ) as r:  # fmt: skip
            if r.status_code != 200:
                r.failure(_reason(r))

    @task(5)
    def work_order_list(self) -> None:
        self._get(
            "/api/v1/work-orders/" + random.choice(WORK_ORDER_LIST_FILTERS), "work-order list"
        )

    @task(5)
    def work_order_detail(self) -> None:
        low, high = shared["work_orders"]
        self._get(f"/api/v1/work-orders/{random.randint(low, high)}/", "work-order detail")

    @task(2)
    def service_dashboard(self) -> None:
        with self.client.get(
            "/analytics/service/", name="service dashboard (page)", catch_response=True,
            allow_redirects=False,
        ) as r:  # fmt: skip
            if r.status_code != 200:
                r.failure(_reason(r))

    @task(3)
    def kpis(self) -> None:
        first, last = random.choice(KPI_MONTHS)
        # 202 (the figures are being computed in the background, ask again) is a correct and
        # fast answer: the request did its job without holding the worker.
        self._get(f"/api/v1/kpis/?from={first}&to={last}", "KPIs (API, one month)", (200, 202))
