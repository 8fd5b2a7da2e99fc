"""The stock ledger: every movement kind, the never-negative rule, holds and expiry, parts
fitted into and removed from devices, defective parts, and the trace both ways."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from medservice.core.errors import InvalidInputError
from medservice.core.models import AuditEvent
from medservice.installed_base.choices import HoldKind, HoldScope
from medservice.installed_base.services import HeldError
from medservice.inventory.choices import Condition, LocationKind, MovementKind
from medservice.inventory.models import StockBalance, StockMovement
from medservice.inventory.selectors import trace_device, trace_lot
from medservice.inventory.services import (
    Fitted,
    InsufficientStockError,
    LocationCountingError,
    LotNotIssuableError,
    Move,
    Removed,
    defective_dispose,
    on_hand,
    part_create,
    part_lot_hold,
    part_lot_release,
    part_update,
    parts_consume,
    parts_return_defective,
    stock_transfer,
)
from tests.installed_base.factories import DeviceFactory, DeviceModelFactory, HoldFactory
from tests.inventory.factories import (
    LocationFactory,
    LotPartFactory,
    SerialPartFactory,
    stock_in,
)

pytestmark = pytest.mark.django_db


def balances(part):
    return {
        (row.location.code, row.lot.lot_number if row.lot else "", row.condition): row.quantity
        for row in StockBalance.objects.filter(part=part, quantity__gt=0).select_related(
            "location", "lot"
        )
    }


def test_a_receipt_puts_stock_on_hand_and_writes_one_ledger_row(central, board, keeper):
    stock_in(central, board, 7, actor=keeper)

    assert on_hand(part=board, location=central) == Decimal(7)
    movement = StockMovement.objects.get(part=board)
    assert (movement.kind, movement.quantity, movement.source, movement.destination) == (
        MovementKind.RECEIPT,
        Decimal(7),
        None,
        central,
    )
    assert movement.recorded_by == keeper
    assert (
        AuditEvent.objects.filter(
            object_type="inventory.stockmovement", object_id=str(movement.pk)
        ).count()
        == 1
    )


def test_a_transfer_moves_stock_and_never_leaves_a_negative_balance(
    central, engineer_stock, board, keeper
):
    stock_in(central, board, 3)

    stock_transfer(
        actor=keeper,
        source=central,
        destination=engineer_stock,
        moves=[Move(part=board, quantity=Decimal(2))],
    )
    with pytest.raises(InsufficientStockError) as refused:
        stock_transfer(
            actor=keeper,
            source=central,
            destination=engineer_stock,
            moves=[Move(part=board, quantity=Decimal(4))],
        )

    assert refused.value.message == (
        "Not enough stock: MB-100 主板 at CENTRAL 中心仓: 1 个 on hand, 4 asked."
    )
    assert balances(board) == {
        ("CENTRAL", "", "good"): Decimal(1),
        ("ENG-1", "", "good"): Decimal(2),
    }
    assert StockMovement.objects.filter(kind=MovementKind.TRANSFER).count() == 1


def test_a_transfer_of_several_parts_is_all_or_nothing(central, engineer_stock, board, keeper):
    battery = LotPartFactory(number="BAT-1")
    stock_in(central, board, 5)
    stock_in(central, battery, 1, lot_number="L1")

    with pytest.raises(InsufficientStockError):
        stock_transfer(
            actor=keeper,
            source=central,
            destination=engineer_stock,
            moves=[Move(part=board, quantity=Decimal(2)), Move(part=battery, quantity=Decimal(3))],
        )

    assert on_hand(part=board, location=central) == 5
    assert on_hand(part=battery, location=central) == 1
    assert not StockMovement.objects.filter(kind=MovementKind.TRANSFER).exists()


def test_taking_a_lot_tracked_part_takes_the_earliest_expiry_first(central, engineer_stock, keeper):
    battery = LotPartFactory(number="BAT-1")
    stock_in(central, battery, 3, lot_number="LATE", expiry_date=datetime.date(2031, 1, 1))
    stock_in(central, battery, 2, lot_number="EARLY", expiry_date=datetime.date(2029, 6, 1))

    moved = stock_transfer(
        actor=keeper,
        source=central,
        destination=engineer_stock,
        moves=[Move(part=battery, quantity=Decimal(4))],
    )

    assert [(item.lot.lot_number, item.quantity) for item in moved] == [
        ("EARLY", Decimal(2)),
        ("LATE", Decimal(2)),
    ]
    assert balances(battery) == {
        ("CENTRAL", "LATE", "good"): Decimal(1),
        ("ENG-1", "EARLY", "good"): Decimal(2),
        ("ENG-1", "LATE", "good"): Decimal(2),
    }


def test_an_expired_lot_is_skipped_when_issuing_and_refused_when_named(
    central, engineer_stock, keeper
):
    battery = LotPartFactory(number="BAT-1")
    old = stock_in(central, battery, 5, lot_number="OLD", expiry_date=datetime.date(2030, 1, 1))
    stock_in(central, battery, 1, lot_number="NEW", expiry_date=datetime.date(2032, 1, 1))
    old.expiry_date = datetime.date(2026, 1, 31)
    old.save()

    with pytest.raises(InsufficientStockError):
        stock_transfer(
            actor=keeper,
            source=central,
            destination=engineer_stock,
            moves=[Move(part=battery, quantity=Decimal(2))],
        )
    with pytest.raises(LotNotIssuableError) as refused:
        stock_transfer(
            actor=keeper,
            source=central,
            destination=engineer_stock,
            moves=[Move(part=battery, quantity=Decimal(1), lot=old)],
        )

    assert "expired on 2026-01-31" in refused.value.message
    assert on_hand(part=battery, location=engineer_stock) == 0


def test_a_lot_on_hold_cannot_be_fitted_until_it_is_released(
    engineer_stock, keeper, engineer, company
):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    quality = user_with_role(Role.QUALITY_STAFF, company, username="quality")
    battery = LotPartFactory(number="BAT-1")
    lot = stock_in(engineer_stock, battery, 2, lot_number="L7")
    device = DeviceFactory()
    part_lot_hold(actor=quality, lot=lot, reason="供应商通知批次异常", source="QC-2026-0001")

    with pytest.raises(LotNotIssuableError) as refused:
        parts_consume(
            actor=engineer,
            device=device,
            location=engineer_stock,
            fitted=[Fitted(part=battery, quantity=Decimal(1), lot=lot)],
            reference="WO-2026-000001",
        )
    assert refused.value.message == "BAT-1 lot L7 is on hold: 供应商通知批次异常"
    assert refused.value.code == "on_hold"

    part_lot_release(actor=quality, lot=lot, reason="检验合格")
    parts_consume(
        actor=engineer,
        device=device,
        location=engineer_stock,
        fitted=[Fitted(part=battery, quantity=Decimal(1), lot=lot)],
        reference="WO-2026-000001",
    )
    assert on_hand(part=battery, location=engineer_stock) == 1


def test_a_device_batch_hold_stops_the_part_lot_registered_as_that_model(
    central, engineer_stock, keeper
):
    probe_model = DeviceModelFactory(name="血氧探头", model_spec="KD-SP1")
    probe = LotPartFactory(number="SPO2-1", device_model=probe_model, shelf_life_days=None)
    stock_in(central, probe, 4, lot_number="2605")
    HoldFactory(
        scope=HoldScope.BATCH,
        kind=HoldKind.QUALITY_REVIEW,
        device_model=probe_model,
        batch_number="2605",
        reason="批次复核",
    )

    with pytest.raises(InsufficientStockError):
        # FEFO finds no lot that may be issued.
        stock_transfer(
            actor=keeper,
            source=central,
            destination=engineer_stock,
            moves=[Move(part=probe, quantity=Decimal(1))],
        )
    assert on_hand(part=probe, location=central) == 4


def test_fitting_and_removing_parts_records_the_trace_both_ways(
    engineer_stock, engineer, quarantine
):
    probe = SerialPartFactory(number="PRB-1")
    fitted_unit = stock_in(engineer_stock, probe, 1, serial_number="PRB-0001")
    device = DeviceFactory(serial_number="KM8-2603-00077")

    parts_consume(
        actor=engineer,
        device=device,
        location=engineer_stock,
        fitted=[Fitted(part=probe, lot=fitted_unit)],
        removed=[Removed(part=probe, serial_number="PRB-OLD-9")],
        reference="WO-2026-000042",
    )

    assert balances(probe) == {("ENG-1", "", "defective"): Decimal(1)}
    fittings = trace_device(device, engineer)
    assert sorted((item.kind, item.serial_number, item.reference) for item in fittings) == [
        ("consumption", "PRB-0001", "WO-2026-000042"),
        ("removal", "PRB-OLD-9", "WO-2026-000042"),
    ]
    into = trace_lot(fitted_unit, engineer)
    assert [(item.device_serial, item.organization_id) for item in into] == [
        ("KM8-2603-00077", device.organization_id)
    ]

    removed_unit = fittings[0].lot_id if fittings[0].kind == "removal" else fittings[1].lot_id
    from medservice.inventory.models import PartLot

    parts_return_defective(
        actor=engineer,
        source=engineer_stock,
        quarantine=quarantine,
        moves=[
            Move(
                part=probe,
                quantity=Decimal(1),
                lot=PartLot.objects.get(pk=removed_unit),
                source_condition=Condition.DEFECTIVE,
            )
        ],
        reference="WO-2026-000042",
    )
    assert balances(probe) == {("QUARANTINE", "", "defective"): Decimal(1)}


def test_a_part_fitted_from_stock_the_engineer_does_not_have_is_refused(
    engineer_stock, engineer, board
):
    device = DeviceFactory()

    with pytest.raises(InsufficientStockError):
        parts_consume(
            actor=engineer,
            device=device,
            location=engineer_stock,
            fitted=[Fitted(part=board, quantity=Decimal(1))],
            reference="WO-1",
        )

    assert not StockMovement.objects.filter(device=device).exists()


def test_no_part_is_fitted_to_a_device_under_evidence_hold(engineer_stock, engineer, board):
    stock_in(engineer_stock, board, 1)
    device = DeviceFactory()
    HoldFactory(
        scope=HoldScope.DEVICE,
        kind=HoldKind.EVIDENCE,
        device=device,
        device_model=device.device_model,
        reason="不良事件证据保全",
    )

    with pytest.raises(HeldError):
        parts_consume(
            actor=engineer,
            device=device,
            location=engineer_stock,
            fitted=[Fitted(part=board)],
            reference="WO-1",
        )
    assert on_hand(part=board, location=engineer_stock) == 1


def test_defective_parts_go_on_from_quarantine_to_analysis_supplier_scrap_or_back(
    central, quarantine, board, manager
):
    analysis = LocationFactory(code="LAB", name="分析室", kind=LocationKind.ANALYSIS)
    scrap = LocationFactory(code="SCRAP", name="报废区", kind=LocationKind.SCRAP)
    with transaction.atomic():
        from medservice.inventory.services import movements_post

        movements_post(
            actor=None,
            kind=MovementKind.RETURN_DEFECTIVE,
            destination=quarantine,
            moves=[Move(part=board, quantity=Decimal(6), destination_condition="defective")],
        )

    defective_dispose(
        actor=manager,
        disposition="analysis",
        source=quarantine,
        destination=analysis,
        moves=[Move(part=board, quantity=Decimal(3))],
        reason="送检",
    )
    defective_dispose(
        actor=manager,
        disposition="supplier",
        source=quarantine,
        moves=[Move(part=board, quantity=Decimal(1))],
        reason="RMA-88",
    )
    defective_dispose(
        actor=manager,
        disposition="scrap",
        source=quarantine,
        destination=scrap,
        moves=[Move(part=board, quantity=Decimal(2))],
        reason="烧毁",
    )
    defective_dispose(
        actor=manager,
        disposition="restock",
        source=analysis,
        destination=central,
        moves=[Move(part=board, quantity=Decimal(1))],
        reason="检测合格",
    )

    assert balances(board) == {
        ("LAB", "", "defective"): Decimal(2),
        ("SCRAP", "", "defective"): Decimal(2),
        ("CENTRAL", "", "good"): Decimal(1),
    }
    assert list(
        StockMovement.objects.filter(part=board).order_by("pk").values_list("kind", flat=True)
    ) == ["return_defective", "to_analysis", "supplier_return", "scrap", "restock"]


def test_a_disposition_without_a_reason_is_refused(quarantine, board, manager):
    with pytest.raises(InvalidInputError) as refused:
        defective_dispose(
            actor=manager,
            disposition="supplier",
            source=quarantine,
            moves=[Move(part=board, quantity=Decimal(1))],
            reason=" ",
        )

    assert refused.value.fields == {
        "reason": ["Say why (the finding, the supplier's RMA, the scrap reason)."]
    }


def test_nothing_moves_at_a_location_being_counted(central, engineer_stock, board, keeper):
    stock_in(central, board, 2)
    central.counting = True
    central.save()

    with pytest.raises(LocationCountingError):
        stock_transfer(
            actor=keeper,
            source=central,
            destination=engineer_stock,
            moves=[Move(part=board, quantity=Decimal(1))],
        )
    assert on_hand(part=board, location=central) == 2


def test_a_ledger_row_is_never_changed_or_deleted(central, board):
    stock_in(central, board, 1)
    movement = StockMovement.objects.get(part=board)

    movement.quantity = Decimal(5)
    with pytest.raises(ValueError):
        movement.save()
    with pytest.raises(ValueError):
        movement.delete()


def test_a_part_with_a_shelf_life_must_be_tracked_by_lot(keeper):
    with pytest.raises(InvalidInputError) as refused:
        part_create(
            actor=keeper,
            data={
                "number": "F-1",
                "name_zh": "过滤器",
                "unit": "个",
                "tracking": "none",
                "shelf_life_days": 365,
            },
        )

    assert list(refused.value.fields) == ["tracking"]


def test_a_part_with_movements_keeps_its_tracking(central, board, keeper):
    stock_in(central, board, 1)

    with pytest.raises(InvalidInputError) as refused:
        part_update(actor=keeper, instance=board, data={"tracking": "lot"})

    assert refused.value.fields == {
        "tracking": ["The part has stock movements: its tracking can no longer change."]
    }


def test_taking_touches_only_the_lots_it_needs(central, engineer_stock, keeper):
    battery = LotPartFactory(number="BAT-1")
    for number, year in (("A", 2029), ("B", 2030), ("C", 2031)):
        stock_in(central, battery, 5, lot_number=number, expiry_date=datetime.date(year, 1, 1))

    stock_transfer(
        actor=keeper,
        source=central,
        destination=engineer_stock,
        moves=[Move(part=battery, quantity=Decimal(3))],
    )

    # No empty balance rows are left at the engineer's for lots B and C.
    assert list(
        StockBalance.objects.filter(location=engineer_stock).values_list(
            "lot__lot_number", "quantity"
        )
    ) == [("A", Decimal(3))]


def test_a_posting_widens_to_every_lot_when_the_ones_it_chose_were_taken(
    central, engineer_stock, keeper, monkeypatch
):
    from medservice.inventory import services

    battery = LotPartFactory(number="BAT-1")
    stock_in(central, battery, 1, lot_number="A", expiry_date=datetime.date(2029, 1, 1))
    stock_in(central, battery, 5, lot_number="B", expiry_date=datetime.date(2030, 1, 1))
    real = services._taking_candidates
    narrow_calls = []

    def stale(move, source, *, narrow):
        # As if lot A had held 5 when read, and someone took 4 before the lock.
        lots = real(move, source, narrow=narrow)
        if narrow:
            narrow_calls.append(True)
            return lots[:1]
        return lots

    monkeypatch.setattr(services, "_taking_candidates", stale)

    moved = stock_transfer(
        actor=keeper,
        source=central,
        destination=engineer_stock,
        moves=[Move(part=battery, quantity=Decimal(3))],
    )

    assert narrow_calls == [True]
    assert [(item.lot.lot_number, item.quantity) for item in moved] == [
        ("A", Decimal(1)),
        ("B", Decimal(2)),
    ]


def test_the_daily_check_finds_a_balance_changed_past_the_ledger(
    central, engineer_stock, board, keeper, company
):
    from medservice.core.models import Notification
    from medservice.inventory.services import (
        stock_balances_check_and_report,
        stock_balances_verify,
    )

    stock_in(central, board, 5)
    stock_transfer(
        actor=keeper,
        source=central,
        destination=engineer_stock,
        moves=[Move(part=board, quantity=Decimal(2))],
    )
    assert stock_balances_verify() == []

    StockBalance.objects.filter(location=central, part=board).update(quantity=Decimal(9))

    mismatches = stock_balances_verify()
    assert [(item.location_id, item.balance, item.ledger) for item in mismatches] == [
        (central.pk, Decimal(9), Decimal(3))
    ]
    assert stock_balances_check_and_report() == 1
    assert Notification.objects.get(recipient=keeper).subject == (
        "1 stock balance differs from the ledger"
    )
