"""The returns procedure end to end through the services: evaluation, the decisions, receipt
into quarantine, the exchange unit (both devices and the stock ledger), refunds never above the
price, rejection only with a reason, holds, and an audit event for every step."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from medservice.core.models import AuditEvent, Notification
from medservice.installed_base.choices import DeviceStatus, HoldKind, HoldScope
from medservice.installed_base.models import Device
from medservice.installed_base.services import HeldError
from medservice.inventory.choices import Condition, MovementKind
from medservice.inventory.models import StockMovement
from medservice.inventory.services import (
    InsufficientStockError,
    on_hand,
    stock_balances_verify,
)
from medservice.returns.choices import (
    Cause,
    Decision,
    InspectionResult,
    ItemCondition,
    RefundKind,
    ReturnReason,
    ReturnStatus,
    WarrantyMode,
)
from medservice.returns.models import ReturnRequest, ReturnRule
from medservice.returns.services import (
    LineInput,
    return_approve_exchange,
    return_approve_refund,
    return_approve_repair,
    return_close,
    return_evaluate,
    return_receive,
    return_refund,
    return_reject,
    return_request_create,
    return_ship_exchange,
)
from tests.installed_base.factories import HoldFactory
from tests.returns.conftest import request_monitor

pytestmark = pytest.mark.django_db


def evaluated(agent, request, cause=Cause.TRANSPORT_DAMAGE):
    return return_evaluate(actor=agent, request=request, cause=cause, evaluation="外壳破裂")


def audit_steps(record) -> list[tuple[str, str]]:
    """(action, business step) of the record's audit events, in order, each step once."""
    events = AuditEvent.objects.filter(
        object_type=record._meta.label_lower, object_id=str(record.pk)
    ).order_by("id")
    return list(dict.fromkeys(events.values_list("action", "detail")))


# --- Exchange ---------------------------------------------------------------------------------


def test_an_exchange_replaces_the_device_and_moves_the_stock(
    customer_a, agent, manager, keeper, device, exchange_lot, monitor_part, central, quarantine
):
    # Given the customer's request for the monitor, evaluated as damaged in transport
    request = request_monitor(customer_a, device)
    request = evaluated(agent, request)
    assert request.responsibility == "carrier"

    # When the manager approves an exchange (the warranty continues by default)
    request = return_approve_exchange(actor=manager, request=request)
    assert request.status == ReturnStatus.APPROVED
    assert request.number.startswith(f"RMA-{timezone.localdate().year}-")
    assert request.warranty_mode == WarrantyMode.CONTINUE

    # And the warehouse receives the old unit into quarantine
    request = return_receive(
        actor=keeper, request=request, location=quarantine,
        inspection_result=InspectionResult.AS_DESCRIBED,
    )  # fmt: skip
    device.refresh_from_db()
    assert device.status == DeviceStatus.RETURNED
    old_lot = monitor_part.lots.get(serial_number="KM8-OLD-1")
    assert on_hand(part=monitor_part, location=quarantine, lot=old_lot,
                   condition=Condition.DEFECTIVE) == 1  # fmt: skip

    # And ships the exchange unit from the central warehouse
    request = return_ship_exchange(
        actor=keeper, request=request, location=central,
        lots={request.lines.get().pk: exchange_lot}, shipment_reference="顺丰 SF123",
    )  # fmt: skip

    # Then the new unit is installed at the customer, with the old unit's warranty end
    assert request.status == ReturnStatus.EXCHANGE_SHIPPED
    new = Device.objects.get(serial_number="KM8-NEW-9")
    assert new.organization == device.organization
    assert new.status == DeviceStatus.INSTALLED
    assert new.batch_number == "2605"
    assert new.installed_on == timezone.localdate()
    assert new.warranty_ends_on == device.warranty_ends_on
    unit = request.exchange_units.get()
    assert (unit.old_device, unit.new_device, unit.lot) == (device, new, exchange_lot)
    # And the stock: nothing left in the warehouse, the old unit in quarantine, ledger consistent
    assert on_hand(part=monitor_part, location=central) == 0
    assert on_hand(part=monitor_part, location=quarantine, condition=Condition.DEFECTIVE) == 1
    kinds = list(
        StockMovement.objects.filter(reference=request.number)
        .order_by("pk")
        .values_list("kind", "quantity", "device")
    )
    assert kinds == [
        (MovementKind.CUSTOMER_RETURN, Decimal("1.000"), device.pk),
        (MovementKind.EXCHANGE_SHIPMENT, Decimal("1.000"), new.pk),
    ]
    assert stock_balances_verify() == []

    # And the return closes
    request = return_close(actor=manager, request=request)
    assert request.status == ReturnStatus.CLOSED

    # Every step is in the audit trail, with who did it
    assert audit_steps(request) == [
        ("create", ""), ("transition", "evaluate"), ("transition", "approve-exchange"),
        ("transition", "receive"), ("transition", "ship-exchange"), ("transition", "close"),
    ]  # fmt: skip
    actors = set(
        AuditEvent.objects.filter(
            object_type="returns.returnrequest", object_id=str(request.pk)
        ).values_list("actor__username", flat=True)
    )
    assert {"customer_a", "agent", "manager", "keeper"} <= actors
    assert AuditEvent.objects.filter(object_type="returns.exchangeunit").count() == 1
    assert AuditEvent.objects.filter(object_type="returns.returnreceipt").count() == 1


def test_a_restarting_warranty_counts_from_the_exchange(
    agent, manager, keeper, device, exchange_lot, central, quarantine
):
    request = evaluated(agent, request_monitor(agent, device))
    request = return_approve_exchange(
        actor=manager, request=request, warranty_mode=WarrantyMode.RESTART
    )
    request = return_receive(actor=keeper, request=request, location=quarantine,
                             inspection_result=InspectionResult.AS_DESCRIBED)  # fmt: skip
    return_ship_exchange(actor=keeper, request=request, location=central,
                         lots={request.lines.get().pk: exchange_lot})  # fmt: skip
    new = Device.objects.get(serial_number="KM8-NEW-9")
    today = timezone.localdate()
    assert new.warranty_ends_on == today.replace(year=today.year + 1) - datetime.timedelta(days=1)


def test_a_rule_may_restart_the_exchange_warranty(agent, manager, device, monitor_part):
    ReturnRule.objects.create(name="整机换新", exchange_warranty=WarrantyMode.RESTART)
    request = evaluated(agent, request_monitor(agent, device))
    request = return_approve_exchange(actor=manager, request=request)
    assert request.warranty_mode == WarrantyMode.RESTART


def test_an_exchange_needs_the_model_kept_in_stock(agent, manager, device):
    request = evaluated(agent, request_monitor(agent, device))
    with pytest.raises(InvalidInputError) as refused:
        return_approve_exchange(actor=manager, request=request)
    assert "not kept in stock" in refused.value.message
    request.refresh_from_db()
    assert (request.status, request.number) == (ReturnStatus.EVALUATED, None)


def test_the_exchange_unit_must_be_in_the_warehouse(
    agent, manager, keeper, device, monitor_part, exchange_lot, central, quarantine
):
    from tests.inventory.factories import LocationFactory

    empty = LocationFactory(code="EAST", name="华东仓", kind="regional")
    request = evaluated(agent, request_monitor(agent, device))
    request = return_approve_exchange(actor=manager, request=request)
    request = return_receive(actor=keeper, request=request, location=quarantine,
                             inspection_result=InspectionResult.AS_DESCRIBED)  # fmt: skip
    with pytest.raises(InsufficientStockError) as refused:
        return_ship_exchange(actor=keeper, request=request, location=empty,
                             lots={request.lines.get().pk: exchange_lot})  # fmt: skip
    assert "Not enough stock" in refused.value.message
    assert not Device.objects.filter(serial_number="KM8-NEW-9").exists()
    request.refresh_from_db()
    assert request.status == ReturnStatus.RECEIVED


def test_receipt_goes_only_into_quarantine(agent, manager, keeper, device, monitor_part, central):
    request = evaluated(agent, request_monitor(agent, device))
    request = return_approve_exchange(actor=manager, request=request)
    with pytest.raises(InvalidInputError) as refused:
        return_receive(actor=keeper, request=request, location=central,
                       inspection_result=InspectionResult.AS_DESCRIBED)  # fmt: skip
    assert "location" in refused.value.fields
    device.refresh_from_db()
    assert device.status == DeviceStatus.IN_SERVICE


# --- Holds ------------------------------------------------------------------------------------


def test_a_held_batch_is_not_exchanged(agent, manager, device, monitor_model, monitor_part):
    request = evaluated(agent, request_monitor(agent, device))
    HoldFactory(
        scope=HoldScope.BATCH, kind=HoldKind.QUALITY_REVIEW, device_model=monitor_model,
        batch_number="2603", reason="批次复核中",
    )  # fmt: skip
    with pytest.raises(HeldError) as refused:
        return_approve_exchange(actor=manager, request=request)
    assert refused.value.status == 409
    assert "批次复核中" in refused.value.message
    request.refresh_from_db()
    assert request.status == ReturnStatus.EVALUATED
    assert request.number is None


def test_a_held_batch_is_not_refunded(agent, manager, device, monitor_model):
    request = evaluated(agent, request_monitor(agent, device))
    HoldFactory(scope=HoldScope.BATCH, device_model=monitor_model, batch_number="2603")
    with pytest.raises(HeldError):
        return_approve_refund(actor=manager, request=request, refund_kind=RefundKind.FULL)


def test_a_unit_under_evidence_hold_is_not_repaired(agent, manager, device):
    request = evaluated(agent, request_monitor(agent, device))
    HoldFactory(
        scope=HoldScope.DEVICE, kind=HoldKind.EVIDENCE, device=device, device_model=None,
        batch_number="", reason="严重伤害事件，证据保全",
    )  # fmt: skip
    with pytest.raises(HeldError) as refused:
        return_approve_repair(actor=manager, request=request)
    assert refused.value.status == 409
    assert "证据保全" in refused.value.message
    request.refresh_from_db()
    assert request.status == ReturnStatus.EVALUATED
    assert not device.work_orders.exists()


def test_a_product_defect_opens_a_quality_case_and_holds_its_batch(agent, manager, device):
    from medservice.installed_base.services import hold_active_for

    request = evaluated(agent, request_monitor(agent, device), cause=Cause.PRODUCT_DEFECT)
    case = request.quality_case
    assert case is not None
    assert case.device == device
    assert case.organization == device.organization
    assert case.source == "return"
    assert case.awareness_at == request.created_at
    assert hold_active_for(device=device).source == case.number
    # Until quality decides, the unit cannot be exchanged; it can be repaired.
    with pytest.raises(HeldError):
        return_approve_exchange(actor=manager, request=request)


def test_a_second_defect_return_of_the_batch_links_the_open_case(
    agent, device, monitor_model, hospital_a
):
    from tests.installed_base.factories import DeviceFactory

    first = evaluated(agent, request_monitor(agent, device), cause=Cause.PRODUCT_DEFECT)
    other = DeviceFactory(device_model=monitor_model, organization=hospital_a,
                          serial_number="KM8-OLD-2", batch_number="2603")  # fmt: skip
    second = evaluated(agent, request_monitor(agent, other), cause=Cause.PRODUCT_DEFECT)
    assert second.quality_case == first.quality_case


# --- Repair, rejection ------------------------------------------------------------------------


def test_an_ineligible_request_goes_on_as_a_repair(agent, manager, device, delivery):
    ReturnRule.objects.create(name="7 天", window_days=7)
    request = request_monitor(
        agent, device, requested_on=delivery.delivered_on + datetime.timedelta(days=8)
    )
    request = evaluated(agent, request)
    assert request.eligible is False
    with pytest.raises(InvalidTransitionError) as refused:
        return_approve_refund(actor=manager, request=request, refund_kind=RefundKind.FULL)
    assert "7 天" in refused.value.message
    assert "repair" in refused.value.message

    request = return_approve_repair(actor=manager, request=request)
    line = request.lines.get()
    assert request.decision == Decision.REPAIR
    assert line.work_order.kind == "repair"
    assert line.work_order.source_reference == request.number
    with pytest.raises(InvalidTransitionError):
        return_close(actor=manager, request=request)


def test_a_rejection_needs_its_reason(agent, manager, device):
    request = evaluated(agent, request_monitor(agent, device))
    with pytest.raises(InvalidInputError) as refused:
        return_reject(actor=manager, request=request, reason="  ")
    assert list(refused.value.fields) == ["reason"]
    request.refresh_from_db()
    assert request.status == ReturnStatus.EVALUATED

    request = return_reject(actor=manager, request=request, reason="超出退货期限")
    assert (request.status, request.decision) == (ReturnStatus.REJECTED, Decision.REJECT)
    assert request.number is None


def test_the_customer_is_told_the_result(customer_a, agent, manager, device):
    request = request_monitor(customer_a, device)
    evaluated(agent, request)
    return_reject(actor=manager, request=request, reason="人为损坏")
    messages = Notification.objects.filter(recipient=customer_a).order_by("pk")
    assert messages.count() == 2
    assert "人为损坏" in messages.last().body
    assert messages.last().link == f"/portal/returns/{request.pk}/"


# --- Refunds ----------------------------------------------------------------------------------


@pytest.fixture
def syringes_received(agent, manager, keeper, hospital_a, sterile_line, quarantine):
    """Four unopened boxes (4 × 12.50 = 50.00) coming back, approved for a full refund and
    received."""
    request = return_request_create(
        actor=agent, organization=hospital_a, reason=ReturnReason.NOT_NEEDED,
        fault_description="多订了", delivery_reference="FP-001",
        lines=[LineInput(delivery_line=sterile_line, quantity=4,
                         condition=ItemCondition.UNOPENED)],
    )  # fmt: skip
    request = evaluated(agent, request, cause=Cause.CUSTOMER_PREFERENCE)
    request = return_approve_refund(actor=manager, request=request, refund_kind=RefundKind.FULL)
    assert request.refund_approved == Decimal("50.00")
    return return_receive(actor=keeper, request=request, location=quarantine,
                          inspection_result=InspectionResult.AS_DESCRIBED)  # fmt: skip


def pay(finance, request, amount, reference="BANK-1"):
    return return_refund(
        actor=finance, request=request, amount=amount, method="bank_transfer",
        paid_on=timezone.localdate(), reference=reference,
    )  # fmt: skip


def test_a_refund_above_the_price_is_refused(finance, syringes_received):
    with pytest.raises(InvalidInputError) as refused:
        pay(finance, syringes_received, "50.01")
    assert list(refused.value.fields) == ["amount"]
    assert "50.00" in refused.value.message
    assert not syringes_received.refunds.exists()


def test_two_partial_refunds_may_not_add_up_to_more_than_the_price(finance, syringes_received):
    pay(finance, syringes_received, "30.00", "BANK-1")
    with pytest.raises(InvalidInputError) as refused:
        pay(finance, syringes_received, "20.01", "BANK-2")
    assert "20.00 may still be refunded" in refused.value.message
    pay(finance, syringes_received, "20.00", "BANK-2")
    request = ReturnRequest.objects.get(pk=syringes_received.pk)
    assert request.status == ReturnStatus.REFUNDED
    assert sum(refund.amount for refund in request.refunds.all()) == Decimal("50.00")


def test_refunds_of_two_returns_of_one_line_stay_within_what_was_paid_on_it(
    agent, manager, keeper, finance, hospital_a, sterile_line, quarantine, syringes_received
):
    # Another return takes the six other boxes: 6 × 12.50 = 75.00; the line's 125.00 in all.
    pay(finance, syringes_received, "50.00")
    other = return_request_create(
        actor=agent, organization=hospital_a, reason=ReturnReason.NOT_NEEDED,
        fault_description="多订了", delivery_reference="FP-001",
        lines=[LineInput(delivery_line=sterile_line, quantity=6,
                         condition=ItemCondition.UNOPENED)],
    )  # fmt: skip
    other = evaluated(agent, other, cause=Cause.CUSTOMER_PREFERENCE)
    other = return_approve_refund(actor=manager, request=other, refund_kind=RefundKind.FULL)
    other = return_receive(actor=keeper, request=other, location=quarantine,
                           inspection_result=InspectionResult.AS_DESCRIBED)  # fmt: skip
    pay(finance, other, "75.00", "BANK-3")
    assert sum(refund.amount for refund in sterile_line.refunds.all()) == Decimal("125.00")


def test_more_than_delivered_cannot_be_returned(agent, hospital_a, sterile_line, syringes_received):
    with pytest.raises(InvalidInputError) as refused:
        return_request_create(
            actor=agent, organization=hospital_a, reason=ReturnReason.NOT_NEEDED,
            fault_description="多订了",
            lines=[LineInput(delivery_line=sterile_line, quantity=7,
                             condition=ItemCondition.UNOPENED)],
        )  # fmt: skip
    assert "4 are already being returned" in refused.value.fields["lines.1.quantity"][0]


def test_a_partial_refund_approval_stays_within_the_price(agent, manager, hospital_a, sterile_line):
    request = return_request_create(
        actor=agent, organization=hospital_a, reason=ReturnReason.DAMAGED_ON_ARRIVAL,
        fault_description="外包装破损", delivery_reference="FP-001",
        lines=[LineInput(delivery_line=sterile_line, quantity=2,
                         condition=ItemCondition.UNOPENED)],
    )  # fmt: skip
    request = evaluated(agent, request)
    with pytest.raises(InvalidInputError) as refused:
        return_approve_refund(actor=manager, request=request, refund_kind=RefundKind.PARTIAL,
                              amount=Decimal("25.01"), reason="折价")  # fmt: skip
    assert list(refused.value.fields) == ["amount"]
    request = return_approve_refund(actor=manager, request=request,
                                    refund_kind=RefundKind.PARTIAL, amount=Decimal("10"),
                                    reason="折价")  # fmt: skip
    assert request.refund_approved == Decimal("10.00")


def test_a_refund_is_recorded_only_after_receipt(finance, agent, manager, hospital_a,
                                                 sterile_line):  # fmt: skip
    request = return_request_create(
        actor=agent, organization=hospital_a, reason=ReturnReason.NOT_NEEDED,
        fault_description="多订了", delivery_reference="FP-001",
        lines=[LineInput(delivery_line=sterile_line, quantity=1,
                         condition=ItemCondition.UNOPENED)],
    )  # fmt: skip
    request = return_approve_refund(
        actor=manager, request=evaluated(agent, request), refund_kind=RefundKind.FULL
    )
    with pytest.raises(InvalidTransitionError):
        pay(finance, request, "12.50")


# --- Permissions ------------------------------------------------------------------------------


def test_each_role_takes_only_its_own_steps(customer_a, agent, keeper, finance, device):
    request = request_monitor(customer_a, device)
    with pytest.raises(PermissionDeniedError):
        return_evaluate(actor=customer_a, request=request, cause=Cause.USE_ERROR,
                        evaluation="x")  # fmt: skip
    request = evaluated(agent, request)
    for actor in (agent, keeper, finance, customer_a):
        with pytest.raises(PermissionDeniedError):
            return_reject(actor=actor, request=request, reason="不予退货")
    request.refresh_from_db()
    assert request.status == ReturnStatus.EVALUATED


def test_a_customer_cannot_return_another_organisation_s_device(device, hospital_b):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    stranger = user_with_role(Role.CUSTOMER_USER, hospital_b, username="customer_b")
    with pytest.raises(InvalidInputError) as refused:
        return_request_create(
            actor=stranger, organization=hospital_b, reason=ReturnReason.FAULTY,
            fault_description="坏了", lines=[LineInput(device=device, condition="opened")],
        )  # fmt: skip
    assert "lines.1.device" in refused.value.fields
    assert not ReturnRequest.objects.exists()
