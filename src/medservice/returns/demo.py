"""Demo returns that tell the 退换货 story: the company's return rules (30 days from delivery for
complete products; sterile single-use items never once opened), a monitor kept in stock as a
whole exchange unit, a hospital's return request waiting for evaluation, and a monitor damaged
in transport that was exchanged — received into quarantine, the new unit installed with the old
one's warranty — and closed.

Idempotent: the rules are keyed by name, the returns by their fault description; a second run
adds nothing. Every step runs through the real services, so the audit trail and the stock
ledger read as in real life."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from medservice.core.demo import demo_seeder

WAITING_FAULT = "便携监护仪血氧读数时有时无，更换探头后仍然如此，申请退换。"
EXCHANGED_FAULT = "到货时监护仪外壳碎裂，屏幕有划痕（物流破损），申请换货。"
UNIT_PART = "KD-M8000-UNIT"
EXCHANGE_SERIAL = "KM8-2605-90001"


@demo_seeder("returns", order=55)
def seed_returns() -> None:
    from medservice.accounts.models import User
    from medservice.catalog.models import DeviceModel
    from medservice.installed_base.models import Device
    from medservice.inventory.choices import MovementKind, PartTracking
    from medservice.inventory.models import Part, StockLocation
    from medservice.inventory.services import Move, lot_for_receipt, movements_post
    from medservice.returns.choices import (
        Cause,
        InspectionResult,
        ItemCondition,
        ReturnChannel,
        ReturnReason,
        WindowStart,
    )
    from medservice.returns.models import ReturnRequest, ReturnRule
    from medservice.returns.services import (
        LineInput,
        return_approve_exchange,
        return_close,
        return_evaluate,
        return_receive,
        return_request_create,
        return_ship_exchange,
    )

    ReturnRule.objects.get_or_create(
        name="退换货通用规则：到货 30 天内",
        defaults={"window_days": 30, "window_start": WindowStart.DELIVERY},
    )
    ReturnRule.objects.get_or_create(
        name="无菌一次性用品：拆封不退",
        defaults={"single_use_only": True, "non_returnable_once_opened": True},
    )
    users = {user.username: user for user in User.objects.filter(is_active=True)}
    agent, manager = users.get("agent"), users.get("manager")
    keeper, customer = users.get("warehouse"), users.get("customer")
    monitor = DeviceModel.objects.filter(model_spec="KD-M8000").first()
    central = StockLocation.objects.filter(code="CW-SH").first()
    quarantine = StockLocation.objects.filter(code="QUARANTINE").first()
    if None in (agent, manager, keeper, monitor, central, quarantine):
        return  # the earlier seeders did not run: nothing to tell a story with

    part, _created = Part.objects.get_or_create(
        number=UNIT_PART,
        defaults={
            "name_zh": "多参数病人监护仪整机（换货备机）",
            "name_en": "Patient monitor, whole unit (exchange stock)",
            "tracking": PartTracking.SERIAL,
            "device_model": monitor,
            "standard_cost": Decimal("9800.00"),
            "price": Decimal("16800.00"),
        },
    )
    if not part.lots.filter(serial_number=EXCHANGE_SERIAL).exists():
        lot = lot_for_receipt(part=part, lot_number="2605", serial_number=EXCHANGE_SERIAL)
        from django.db import transaction

        with transaction.atomic():
            movements_post(
                actor=keeper, kind=MovementKind.RECEIPT, destination=central,
                moves=[Move(part=part, quantity=Decimal(1), lot=lot)],
                reference="DEMO-EXCHANGE-STOCK",
            )  # fmt: skip

    returnable = ("installed", "in_service")
    if (
        customer is not None
        and not ReturnRequest.objects.filter(fault_description=WAITING_FAULT).exists()
    ):
        device = (
            Device.objects.filter(
                organization=customer.organization, status__in=returnable,
                delivery_line__isnull=False,
            )
            .exclude(return_lines__isnull=False)
            .exclude(device_model=monitor)
            .order_by("pk")
            .first()
        )  # fmt: skip
        if device is not None:
            return_request_create(
                actor=customer, organization=device.organization,
                reason=ReturnReason.FAULTY, fault_description=WAITING_FAULT,
                delivery_reference=device.delivery_line.delivery.number,
                lines=[LineInput(device=device, condition=ItemCondition.OPENED)],
            )  # fmt: skip

    if ReturnRequest.objects.filter(fault_description=EXCHANGED_FAULT).exists():
        return
    old = (
        Device.objects.filter(device_model=monitor, status__in=returnable)
        .exclude(return_lines__isnull=False)
        .order_by("pk")
        .first()
    )
    exchange_lot = part.lots.filter(serial_number=EXCHANGE_SERIAL).first()
    if old is None or exchange_lot is None:
        return
    if Device.objects.filter(device_model=monitor, serial_number=EXCHANGE_SERIAL).exists():
        return
    # Asked two days after the delivery (the story happened then), never in the future.
    asked_on = timezone.localdate()
    if old.delivery_line_id:
        asked_on = min(asked_on, old.delivery_line.delivery.delivered_on + datetime.timedelta(2))
    request = return_request_create(
        actor=agent, organization=old.organization, channel=ReturnChannel.PHONE,
        requested_on=asked_on,
        reason=ReturnReason.DAMAGED_ON_ARRIVAL, fault_description=EXCHANGED_FAULT,
        delivery_reference=old.delivery_line.delivery.number if old.delivery_line_id else "",
        lines=[LineInput(device=old, condition=ItemCondition.DAMAGED)],
    )  # fmt: skip
    request = return_evaluate(
        actor=agent, request=request, cause=Cause.TRANSPORT_DAMAGE,
        evaluation="照片与签收单显示外箱受压破损，属承运方责任；整机换新。",
    )  # fmt: skip
    from medservice.core.errors import DomainError

    try:
        request = return_approve_exchange(
            actor=manager, request=request, reason="物流破损，由承运方赔付。"
        )
    except DomainError:
        return  # not eligible in this demo's dates (or on hold): it stays to be decided
    request = return_receive(
        actor=keeper, request=request, location=quarantine,
        inspection_result=InspectionResult.AS_DESCRIBED, inspection_note="外壳碎裂，开机正常。",
    )  # fmt: skip
    request = return_ship_exchange(
        actor=keeper, request=request, location=central,
        lots={request.lines.get().pk: exchange_lot}, shipment_reference="顺丰 SF1234567890",
    )  # fmt: skip
    return_close(actor=manager, request=request, note="换货完成。")
