"""Coverage at assessment for each contract kind after the warranty, and the quote's gate: work
that is charged goes nowhere until the customer approves the quote."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from freezegun import freeze_time

from medservice.core.errors import InvalidTransitionError
from medservice.work_orders.choices import Route, WorkOrderKind, WorkOrderStatus
from medservice.work_orders.dispatch import work_order_dispatch
from medservice.work_orders.services import (
    work_order_assess,
    work_order_create,
    work_order_plan,
    work_order_quote,
)
from tests.installed_base.factories import ContractFactory

pytestmark = pytest.mark.django_db
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def _assessed(engineer, device, kind=WorkOrderKind.REPAIR, route=Route.ON_SITE):
    work_order = work_order_create(actor=engineer, kind=kind, device=device, problem="故障")
    return work_order_assess(actor=engineer, work_order=work_order, route=route,
                             assessment="评估")  # fmt: skip


@freeze_time("2027-06-01 10:00:00+08:00")  # the warranty ended on 2027-03-09
@pytest.mark.parametrize(
    ("contract_kind", "work_kind", "covered", "charged"),
    [
        ("full_service", WorkOrderKind.REPAIR, True, []),
        ("warranty_extension", WorkOrderKind.REPAIR, True, []),
        ("parts_only", WorkOrderKind.REPAIR, False, ["labour", "travel"]),
        ("labour_only", WorkOrderKind.REPAIR, False, ["parts"]),
        ("pm_only", WorkOrderKind.REPAIR, False, ["labour", "parts", "travel"]),
        ("pm_only", WorkOrderKind.PREVENTIVE_MAINTENANCE, True, ["labour", "parts", "travel"]),
        ("full_service", WorkOrderKind.PREVENTIVE_MAINTENANCE, True, []),
    ],
)
def test_each_contract_kind_decides_what_is_charged_after_the_warranty(
    engineer, device, contract_kind, work_kind, covered, charged
):
    ContractFactory(kind=contract_kind, organization=device.organization,
                    starts_on=datetime.date(2027, 3, 10), ends_on=datetime.date(2028, 3, 9),
                    devices=[device])  # fmt: skip
    work_order = _assessed(engineer, device, kind=work_kind)
    assert work_order.covered is covered
    assert sorted(
        name for name, answer in work_order.coverage.items()
        if not answer["covered"] and name != "pm"
    ) == charged  # fmt: skip


@freeze_time("2027-06-01 10:00:00+08:00")
def test_no_contract_after_the_warranty_charges_everything(engineer, device):
    work_order = _assessed(engineer, device)
    assert work_order.covered is False
    assert {name: answer["by"] for name, answer in work_order.coverage.items()} == {
        "parts": None, "labour": None, "travel": None, "pm": None,
    }  # fmt: skip


@freeze_time("2027-06-01 10:00:00+08:00")
def test_charged_work_cannot_be_dispatched_before_the_customer_approves(
    engineer, device, service_manager
):
    work_order = _assessed(engineer, device)
    work_order = work_order_plan(actor=engineer, work_order=work_order, plan="更换电源板")
    assert work_order.status == WorkOrderStatus.PLANNED
    window = {
        "window_start": datetime.datetime(2027, 6, 2, 9, tzinfo=SHANGHAI),
        "window_end": datetime.datetime(2027, 6, 2, 11, tzinfo=SHANGHAI),
    }
    with pytest.raises(InvalidTransitionError):
        work_order_dispatch(actor=service_manager, work_order=work_order, engineer=engineer,
                            **window)  # fmt: skip
    work_order_quote(actor=engineer, work_order=work_order, labour_hours=Decimal("1"))
    with pytest.raises(InvalidTransitionError):
        work_order_dispatch(actor=service_manager, work_order=work_order, engineer=engineer,
                            **window)  # fmt: skip
    assert work_order.visits.count() == 0
