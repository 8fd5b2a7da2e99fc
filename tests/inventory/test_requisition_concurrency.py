"""The never-negative rule under concurrent requests (issue 5): 50 warehouse clerks issuing at
once, or 50 transfers out of one shelf at once, with 10 on hand, end with exactly 10 moved, 0
on hand and no negative balance anywhere.

PostgreSQL only: SQLite serialises every writer on one database lock, so it cannot show two
transactions racing for the same balance row."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from medservice.inventory.choices import MovementKind, RequisitionStatus
from medservice.inventory.models import Requisition, StockBalance, StockMovement
from medservice.inventory.requisitions import (
    requisition_approve,
    requisition_create,
    requisition_issue,
)
from medservice.inventory.services import (
    InsufficientStockError,
    Move,
    on_hand,
    stock_transfer,
    transit_location,
)
from tests.inventory.factories import stock_in

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent writers need real row locks on separate connections (PostgreSQL); "
        "SQLite serialises every write on one database lock",
    ),
    pytest.mark.django_db(transaction=True),
]

ATTEMPTS = 50
ON_HAND = 10


def run_at_once(work, items) -> Counter:
    """Run `work(item)` for every item on its own thread and connection, all released at the
    same moment; count how each ended ("done" or the refusal's class name)."""
    barrier = threading.Barrier(len(items))

    def attempt(item) -> str:
        try:
            barrier.wait()
            work(item)
            return "done"
        except InsufficientStockError:
            return "short"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return Counter(pool.map(attempt, items))


def test_fifty_concurrent_issues_of_ten_on_hand_issue_exactly_ten(
    engineer, manager, keeper, central, board
):
    # Given 10 boards on hand and 50 approved requisitions for one board each
    stock_in(central, board, ON_HAND)
    transit = transit_location()
    requisitions = [
        requisition_approve(
            actor=manager,
            requisition=requisition_create(actor=engineer, source=central, lines=[(board, 1)]),
        )
        for _ in range(ATTEMPTS)
    ]

    # When the warehouse issues all 50 at the same moment
    outcome = run_at_once(
        lambda requisition: requisition_issue(actor=keeper, requisition=requisition),
        requisitions,
    )

    # Then exactly 10 were issued, 40 refused as short, and nothing went negative
    assert outcome == Counter({"done": ON_HAND, "short": ATTEMPTS - ON_HAND})
    assert Requisition.objects.filter(status=RequisitionStatus.ISSUED).count() == ON_HAND
    assert Requisition.objects.filter(status=RequisitionStatus.APPROVED).count() == 40
    assert (on_hand(part=board, location=central), on_hand(part=board, location=transit)) == (
        Decimal(0),
        Decimal(ON_HAND),
    )
    issued = StockMovement.objects.filter(kind=MovementKind.ISSUE)
    assert issued.aggregate(total=Sum("quantity"))["total"] == Decimal(ON_HAND)
    assert issued.count() == ON_HAND
    assert StockBalance.objects.filter(quantity__lt=0).count() == 0


def test_fifty_concurrent_transfers_out_of_one_location_move_exactly_ten(
    keeper, central, regional, engineer_stock, board
):
    # Given 10 boards in the central warehouse
    stock_in(central, board, ON_HAND)
    destinations = [regional, engineer_stock] * (ATTEMPTS // 2)

    # When 50 transfers of one board each leave it at the same moment
    outcome = run_at_once(
        lambda destination: stock_transfer(
            actor=keeper,
            source=central,
            destination=destination,
            moves=[Move(part=board, quantity=Decimal(1))],
        ),
        destinations,
    )

    # Then exactly 10 moved, the shelf is empty and no balance is negative
    assert outcome == Counter({"done": ON_HAND, "short": ATTEMPTS - ON_HAND})
    assert on_hand(part=board, location=central) == Decimal(0)
    assert on_hand(part=board, location=regional) + on_hand(
        part=board, location=engineer_stock
    ) == Decimal(ON_HAND)
    transfers = StockMovement.objects.filter(kind=MovementKind.TRANSFER)
    assert transfers.aggregate(total=Sum("quantity"))["total"] == Decimal(ON_HAND)
    assert StockBalance.objects.filter(quantity__lt=0).count() == 0
