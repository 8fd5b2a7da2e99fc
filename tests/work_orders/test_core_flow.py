"""The work order from opening to a quote: coverage per category, the cost-price quote and the
customer's answer (the procedures' 评估与确认 → 维修方案 → 报价)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.work_orders.choices import Route, WorkOrderKind, WorkOrderStatus
from medservice.work_orders.models import RateCard
from medservice.work_orders.services import (
    PlannedPart,
    work_order_approve_quote,
    work_order_assess,
    work_order_create,
    work_order_decline_quote,
    work_order_plan,
    work_order_quote,
)
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(engineer, device):
    return work_order_create(
        actor=engineer, kind=WorkOrderKind.REPAIR, device=device, problem="无法开机"
    )


@freeze_time("2026-11-27 10:00:00+08:00")
def test_a_unit_in_warranty_is_covered_and_goes_straight_to_ready(engineer, opened):
    work_order = work_order_assess(
        actor=engineer, work_order=opened, route=Route.ON_SITE, assessment="电源板故障"
    )
    assert work_order.covered is True
    assert work_order.coverage["parts"]["by"] == "warranty"
    work_order = work_order_plan(actor=engineer, work_order=work_order, plan="更换电源板")
    assert work_order.status == WorkOrderStatus.READY


@freeze_time("2026-11-27 10:00:00+08:00")
def test_misuse_makes_it_a_cost_price_quote_that_the_customer_approves(
    engineer, opened, power_board, hospital_a
):
    RateCard.objects.create(name="标准", labour_rate=Decimal("150"), travel_flat=Decimal("80"))
    work_order = work_order_assess(
        actor=engineer, work_order=opened, route=Route.ON_SITE, assessment="进液",
        exclusion="misuse", exclusion_evidence="主板有液体痕迹",
    )  # fmt: skip
    assert work_order.covered is False
    work_order = work_order_plan(actor=engineer, work_order=work_order, plan="更换电源板")
    assert work_order.status == WorkOrderStatus.PLANNED
    quote = work_order_quote(
        actor=engineer, work_order=work_order, parts=[PlannedPart(power_board, Decimal(1))],
        labour_hours=Decimal("1.5"),
    )  # fmt: skip
    # Part at cost 320 + 1.5 h × 150 + one visit's travel fee 80.
    assert [line.amount for line in quote.lines.order_by("pk")] == [
        Decimal("320.00"), Decimal("225.00"), Decimal("80.00"),
    ]  # fmt: skip
    assert quote.total == Decimal("625.00")
    customer = user_with_role(Role.CUSTOMER_USER, hospital_a, username="nurse")
    work_order = work_order_approve_quote(actor=customer, work_order=work_order)
    assert work_order.status == WorkOrderStatus.READY
    quote.refresh_from_db()
    assert (quote.status, quote.decided_by_name) == ("approved", customer.get_full_name())


def test_an_exclusion_without_evidence_is_refused(engineer, opened):
    with pytest.raises(InvalidInputError) as refused:
        work_order_assess(actor=engineer, work_order=opened, route=Route.ON_SITE,
                          assessment="进液", exclusion="misuse")  # fmt: skip
    assert "exclusion_evidence" in refused.value.fields


@freeze_time("2026-11-27 10:00:00+08:00")
def test_a_declined_quote_closes_the_work_order_and_needs_a_reason(
    engineer, agent, opened, power_board, device
):
    work_order = work_order_assess(
        actor=engineer, work_order=opened, route=Route.ON_SITE, assessment="进液",
        exclusion="misuse", exclusion_evidence="液体痕迹",
    )  # fmt: skip
    work_order = work_order_plan(actor=engineer, work_order=work_order, plan="更换电源板")
    work_order_quote(actor=engineer, work_order=work_order,
                     parts=[PlannedPart(power_board, Decimal(1))])  # fmt: skip
    with pytest.raises(InvalidInputError):
        work_order_decline_quote(actor=agent, work_order=work_order, reason="",
                                 decided_by_name="李主任", method="phone")  # fmt: skip
    work_order = work_order_decline_quote(
        actor=agent, work_order=work_order, reason="太贵", decided_by_name="李主任",
        method="phone",
    )  # fmt: skip
    assert work_order.status == WorkOrderStatus.DECLINED
    device.refresh_from_db()
    assert device.status == "installed"
    with pytest.raises(InvalidTransitionError):
        work_order_approve_quote(actor=agent, work_order=work_order,
                                 decided_by_name="李主任", method="phone")  # fmt: skip


@freeze_time("2027-04-01 10:00:00+08:00")
def test_an_expired_warranty_is_charged(engineer, opened):
    work_order = work_order_assess(actor=engineer, work_order=opened, route=Route.ON_SITE,
                                   assessment="电源板")  # fmt: skip
    assert work_order.covered is False
    assert "2027-03-09" in work_order.coverage["parts"]["reason"]
    assert datetime.date(2027, 3, 9) == opened.device.warranty_ends_on
