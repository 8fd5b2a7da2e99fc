"""Two refunds of the same delivery line recorded at the same moment (finance clicking twice,
or two returns of one line): the delivery line is locked while the cap is checked, so the two
together never exceed what was paid on it.

PostgreSQL only: SQLite serialises every writer on one database lock, so it cannot show two
transactions racing for the same rows."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from medservice.core.errors import DomainError
from medservice.returns.choices import (
    Cause,
    InspectionResult,
    ItemCondition,
    RefundKind,
    ReturnReason,
)
from medservice.returns.models import Refund
from medservice.returns.services import (
    LineInput,
    return_approve_refund,
    return_evaluate,
    return_receive,
    return_refund,
    return_request_create,
)

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent writers need real row locks on separate connections (PostgreSQL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def run_at_once(work, items) -> Counter:
    barrier = threading.Barrier(len(items))

    def attempt(item):
        try:
            barrier.wait()
            work(item)
            return "done"
        except DomainError as error:
            return (type(error).__name__, tuple(sorted(error.fields)))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return Counter(pool.map(attempt, items))


def received_for_refund(agent, manager, keeper, organization, line, quantity):
    request = return_request_create(
        actor=agent, organization=organization, reason=ReturnReason.NOT_NEEDED,
        fault_description="多订了", delivery_reference="FP-001",
        lines=[LineInput(delivery_line=line, quantity=quantity,
                         condition=ItemCondition.UNOPENED)],
    )  # fmt: skip
    request = return_evaluate(actor=agent, request=request, cause=Cause.CUSTOMER_PREFERENCE,
                              evaluation="未拆封")  # fmt: skip
    request = return_approve_refund(actor=manager, request=request, refund_kind=RefundKind.FULL)
    return return_receive(actor=keeper, request=request, location=_quarantine(),
                          inspection_result=InspectionResult.AS_DESCRIBED)  # fmt: skip


def _quarantine():
    from medservice.inventory.models import StockLocation

    return StockLocation.objects.get(code="QUARANTINE")


def pay(finance, request, amount, reference):
    return return_refund(
        actor=finance, request=request, amount=amount, method="bank_transfer",
        paid_on=timezone.localdate(), reference=reference,
    )  # fmt: skip


def test_two_refunds_at_once_on_one_return_line_pay_at_most_the_price(
    agent, manager, keeper, finance, hospital_a, sterile_line, quarantine
):
    # Four boxes at 12.50 = 50.00 approved; finance records 30.00 twice at the same moment.
    request = received_for_refund(agent, manager, keeper, hospital_a, sterile_line, 4)

    outcome = run_at_once(lambda index: pay(finance, request, "30.00", f"BANK-{index}"), [1, 2])

    assert outcome == Counter({"done": 1, ("InvalidInputError", ("amount",)): 1})
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("30.00")]


def test_refunds_at_once_on_two_returns_of_one_delivery_line_stay_within_it(
    agent, manager, keeper, finance, hospital_a, sterile_line, quarantine
):
    # Two returns of the same ten-box line (125.00 paid): 4 + 6 boxes, each refunded in full at
    # the same moment as the other, and a third refund attempted on top by the second return.
    first = received_for_refund(agent, manager, keeper, hospital_a, sterile_line, 4)
    second = received_for_refund(agent, manager, keeper, hospital_a, sterile_line, 6)

    outcome = run_at_once(
        lambda item: pay(finance, item[0], item[1], item[2]),
        [(first, "50.00", "BANK-A"), (second, "75.00", "BANK-B")],
    )

    assert outcome == Counter({"done": 2})
    total = sum(Refund.objects.values_list("amount", flat=True))
    assert total == Decimal("125.00")
    with pytest.raises(DomainError):
        pay(finance, second, "0.01", "BANK-C")
