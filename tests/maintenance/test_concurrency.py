"""Two schedulers running the PM job at the same moment (two machines, or a rerun after a
crash overlapping the first): one visit per plan and due date, one PM work order.

PostgreSQL only: SQLite serialises every writer on one database lock, so it cannot show two
transactions racing for the same rows."""

from __future__ import annotations

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from medservice.maintenance.models import PmVisit
from medservice.maintenance.services import pm_work_orders_create
from medservice.work_orders.models import WorkOrder
from tests.maintenance.factories import PmPlanFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent writers need real row locks on separate connections (PostgreSQL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_jobs_at_once_open_one_pm_work_order_per_plan(ventilator, monitor):
    PmPlanFactory(device=ventilator, next_due_on=datetime.date(2026, 9, 6))
    PmPlanFactory(device=monitor, next_due_on=datetime.date(2026, 9, 1))
    runs = 4
    barrier = threading.Barrier(runs)

    def run(_index: int) -> int:
        try:
            barrier.wait()
            return pm_work_orders_create(today=datetime.date(2026, 8, 23))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=runs) as pool:
        opened = list(pool.map(run, range(runs)))
    assert sum(opened) == 2
    assert PmVisit.objects.count() == 2
    assert WorkOrder.objects.filter(kind="preventive_maintenance").count() == 2
    assert set(PmVisit.objects.values_list("status", flat=True)) == {"ordered"}
