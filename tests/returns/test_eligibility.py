"""Eligibility (退换货条件): every active rule that matches a product is checked and each failure
names the rule and why. The window runs from the start date to start + days, both included,
measured to the day the customer asked."""

from __future__ import annotations

import datetime

import pytest

from medservice.installed_base.choices import HoldKind, HoldScope
from medservice.returns.choices import (
    ConditionRequired,
    ItemCondition,
    ReturnReason,
    WindowStart,
)
from medservice.returns.eligibility import eligibility_check
from medservice.returns.models import ReturnRule
from medservice.returns.services import LineInput, return_request_create
from tests.installed_base.factories import HoldFactory
from tests.returns.conftest import days_ago, invoice, request_monitor

pytestmark = pytest.mark.django_db


@pytest.fixture
def seven_days(monitor_model):
    return ReturnRule.objects.create(
        name="7 天无理由", device_model=monitor_model, window_days=7,
        window_start=WindowStart.DELIVERY,
    )  # fmt: skip


def failures_of(request):
    return [(failure.code, failure.rule) for failure in eligibility_check(request)]


def test_the_day_of_delivery_is_the_window_s_first_day(agent, device, delivery, seven_days):
    request = request_monitor(agent, device, requested_on=delivery.delivered_on)
    assert request.eligible is True
    assert failures_of(request) == []


def test_the_window_s_last_day_is_delivery_plus_its_days(agent, device, delivery, seven_days):
    last_day = delivery.delivered_on + datetime.timedelta(days=7)
    request = request_monitor(agent, device, requested_on=last_day)
    assert request.eligible is True


def test_the_day_after_the_window_fails_with_the_rule_and_why(agent, device, delivery, seven_days):
    day_after = delivery.delivered_on + datetime.timedelta(days=8)
    request = request_monitor(agent, device, requested_on=day_after)

    assert request.eligible is False
    [failure] = eligibility_check(request)
    assert (failure.code, failure.rule) == ("window", "7 天无理由")
    last_day = (delivery.delivered_on + datetime.timedelta(days=7)).isoformat()
    assert f"ended on {last_day}" in failure.why
    assert failure.line.endswith("KM8-OLD-1")
    # The failure is kept with the request as it was checked.
    assert request.eligibility[0]["code"] == "window"


def test_a_window_from_acceptance_counts_from_the_acceptance_date(agent, device, seven_days):
    seven_days.window_start = WindowStart.ACCEPTANCE
    seven_days.save()
    # Accepted 25 days ago: its 7-day window ended 18 days ago.
    on_last_day = request_monitor(agent, device, requested_on=days_ago(18))
    assert on_last_day.eligible is True
    on_last_day.status = "rejected"  # out of the way of the next request on the same unit
    on_last_day.save()
    after = request_monitor(agent, device, requested_on=days_ago(17))
    assert [failure.code for failure in eligibility_check(after)] == ["window"]
    assert "acceptance" in eligibility_check(after)[0].why


def test_an_opened_sterile_single_use_product_cannot_be_returned(agent, hospital_a, sterile_line):
    ReturnRule.objects.create(
        name="无菌一次性用品", single_use_only=True, non_returnable_once_opened=True
    )
    opened = return_request_create(
        actor=agent, organization=hospital_a, reason=ReturnReason.NOT_NEEDED,
        fault_description="多订了", delivery_reference="DL-2026-000101",
        lines=[LineInput(delivery_line=sterile_line, quantity=2, condition=ItemCondition.OPENED)],
    )  # fmt: skip
    [failure] = eligibility_check(opened)
    assert (failure.code, failure.rule) == ("opened", "无菌一次性用品")
    assert "cannot be returned once opened" in failure.why

    unopened = return_request_create(
        actor=agent, organization=hospital_a, reason=ReturnReason.NOT_NEEDED,
        fault_description="多订了", delivery_reference="DL-2026-000101",
        lines=[LineInput(delivery_line=sterile_line, quantity=2,
                         condition=ItemCondition.UNOPENED)],
    )  # fmt: skip
    assert unopened.eligible is True


def test_the_rule_does_not_touch_products_it_does_not_cover(agent, device):
    ReturnRule.objects.create(
        name="无菌一次性用品", single_use_only=True, non_returnable_once_opened=True
    )
    assert request_monitor(agent, device).eligible is True


def test_a_damaged_product_fails_a_rule_asking_for_complete_products(agent, device):
    ReturnRule.objects.create(name="完好", condition_required=ConditionRequired.COMPLETE)
    request = request_monitor(
        agent, device, lines=[LineInput(device=device, condition=ItemCondition.DAMAGED)]
    )
    assert [failure.code for failure in eligibility_check(request)] == ["condition"]


def test_an_inactive_rule_is_not_checked(agent, device, delivery, seven_days):
    seven_days.active = False
    seven_days.save()
    request = request_monitor(
        agent, device, requested_on=delivery.delivered_on + datetime.timedelta(days=20)
    )
    assert request.eligible is True


def test_a_product_of_a_held_batch_is_not_eligible(agent, device, monitor_model):
    HoldFactory(
        scope=HoldScope.BATCH, kind=HoldKind.QUALITY_REVIEW, device_model=monitor_model,
        batch_number="2603", reason="QC-2026-000007 批次复核中",
    )  # fmt: skip
    request = request_monitor(agent, device)
    [failure] = eligibility_check(request)
    assert failure.code == "hold"
    assert "QC-2026-000007" in failure.why


def test_without_proof_of_purchase_the_request_is_not_eligible(agent, device):
    request = request_monitor(agent, device, delivery_reference="")
    assert [failure.code for failure in eligibility_check(request)] == ["proof"]


def test_a_number_matching_none_of_the_deliveries_is_no_proof(agent, device):
    request = request_monitor(agent, device, delivery_reference="FP-999")
    [failure] = eligibility_check(request)
    assert failure.code == "proof"
    assert "DL-2026-000101" in failure.why


def test_an_attached_invoice_is_proof(agent, device):
    from medservice.returns.services import FileInput

    request = request_monitor(
        agent, device, delivery_reference="", files=[FileInput("invoice", invoice())]
    )
    assert request.eligible is True


def test_only_the_companys_staff_may_date_a_request_back(customer_a, agent, device):
    from medservice.core.errors import InvalidInputError
    from medservice.returns.models import ReturnRequest

    # Given a customer whose unit's window has closed
    # When they date their request back into it
    with pytest.raises(InvalidInputError) as refused:
        request_monitor(customer_a, device, requested_on=days_ago(3))
    # Then it is refused on the date, and nothing is registered
    assert refused.value.fields["requested_on"] == [
        "Only the company's staff may date a request earlier than today."
    ]
    assert not ReturnRequest.objects.exists()
    # While an agent recording a letter received three days ago may
    assert request_monitor(agent, device, requested_on=days_ago(3)).requested_on == days_ago(3)
