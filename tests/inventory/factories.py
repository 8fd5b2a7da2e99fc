"""Factories for spare parts: valid records made directly. Stock itself is never made by a
factory: tests receive it through the ledger (`stock_in`), as the warehouse would."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.db import transaction

from medservice.inventory.choices import LocationKind, MovementKind, PartTracking
from medservice.inventory.models import Instrument, Part, StockLocation
from medservice.inventory.services import Move, lot_for_receipt, movements_post


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Part
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"P-{n:05d}")
    name_zh = factory.Sequence(lambda n: f"主板{n}")
    name_en = factory.Sequence(lambda n: f"Main board {n}")
    unit = "个"
    standard_cost = Decimal("120.00")
    price = Decimal("200.00")
    tracking = PartTracking.NONE


class LotPartFactory(PartFactory):
    name_zh = factory.Sequence(lambda n: f"电池{n}")
    name_en = factory.Sequence(lambda n: f"Battery {n}")
    tracking = PartTracking.LOT
    shelf_life_days = 730


class SerialPartFactory(PartFactory):
    name_zh = factory.Sequence(lambda n: f"探头{n}")
    name_en = factory.Sequence(lambda n: f"Probe {n}")
    tracking = PartTracking.SERIAL


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLocation

    code = factory.Sequence(lambda n: f"WH-{n:03d}")
    name = factory.Sequence(lambda n: f"仓库{n}")
    kind = LocationKind.CENTRAL


class QuarantineFactory(LocationFactory):
    code = factory.Sequence(lambda n: f"QA-{n:03d}")
    name = factory.Sequence(lambda n: f"隔离区{n}")
    kind = LocationKind.QUARANTINE


class EngineerStockFactory(LocationFactory):
    code = factory.Sequence(lambda n: f"ENG-X{n:03d}")
    name = factory.Sequence(lambda n: f"工程师库存{n}")
    kind = LocationKind.ENGINEER
    engineer = None  # pass the engineer


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument

    number = factory.Sequence(lambda n: f"T-{n:04d}")
    name = "数字万用表"


def stock_in(
    location: StockLocation,
    part: Part,
    quantity: Decimal | int = 10,
    *,
    lot_number: str = "",
    serial_number: str = "",
    expiry_date: datetime.date | None = None,
    actor=None,
):
    """Put stock on hand the way the ledger does (a receipt), returning the lot or None."""
    if part.tracking == PartTracking.LOT and not lot_number:
        lot_number = "L-DEFAULT"
    if part.tracking == PartTracking.SERIAL and not serial_number:
        raise ValueError("a serial-tracked part needs serial_number")
    if part.shelf_life_days and expiry_date is None:
        expiry_date = datetime.date(2099, 1, 1)
    with transaction.atomic():
        lot = lot_for_receipt(
            part=part, lot_number=lot_number, serial_number=serial_number, expiry_date=expiry_date
        )
        movements_post(
            actor=actor,
            kind=MovementKind.RECEIPT,
            destination=location,
            moves=[Move(part=part, quantity=Decimal(quantity), lot=lot)],
            reference="test stock",
        )
    return lot
