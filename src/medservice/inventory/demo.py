"""Demo spare parts: a central warehouse in Shanghai and a regional one in Nanjing, quarantine,
failure analysis and scrap, the demo engineers' own stock; a dozen parts for the demo models
(boards, batteries, SpO2 sensors, probes, filters), stock received through the ledger, two
parts below their reorder point, a battery lot expiring soon, a held sensor lot, a board fitted
into a monitor, and four tools and instruments (one calibration due soon).

Idempotent: locations by code, parts by number, instruments by asset number; stock is received
only into a part that has never moved."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from medservice.core.demo import demo_seeder
from medservice.inventory.choices import (
    InstrumentKind,
    LocationKind,
    MovementKind,
    PartTracking,
)
from medservice.inventory.models import Instrument, Part, PartLot, StockLocation, StockMovement
from medservice.inventory.services import (
    Fitted,
    Move,
    lot_for_receipt,
    movements_post,
    parts_consume,
)

LOCATIONS = [
    # (code, name, kind, region)
    ("CW-SH", "上海中心仓", LocationKind.CENTRAL, "上海"),
    ("RW-NJ", "南京区域仓", LocationKind.REGIONAL, "江苏"),
    ("QUARANTINE", "不合格品隔离区", LocationKind.QUARANTINE, "上海"),
    ("LAB", "失效分析室", LocationKind.ANALYSIS, "上海"),
    ("SCRAP", "报废区", LocationKind.SCRAP, "上海"),
]

# (number, zh, en, tracking, shelf life days, cost, price, reorder point, reorder qty,
#  compatible model specs, stock: [(location, qty, lot, expiry days from today)])
PARTS = [
    ("KD-M8000-MB", "监护仪主板", "Monitor main board", PartTracking.SERIAL, None, "1850", "3200",
     2, 4, ["KD-M8000"], [("CW-SH", 1, "MB24110", None), ("CW-SH", 1, "MB24111", None)]),
    ("KD-M8000-PSU", "监护仪电源板", "Monitor power board", PartTracking.NONE, None, "420",
     "760", 3, 6, ["KD-M8000", "KD-M5"], [("CW-SH", 6, "", None), ("RW-NJ", 2, "", None)]),
    ("KD-BAT-14V", "锂电池 14.8V 4400mAh", "Li-ion battery 14.8 V", PartTracking.LOT, 730, "260",
     "480", 5, 10, ["KD-M8000", "KD-M5"], [("CW-SH", 8, "BT2511", 700), ("RW-NJ", 3, "BT2504", 40)]),
    ("KD-SPO2-AD", "成人指夹式血氧探头", "Adult SpO2 finger sensor", PartTracking.LOT, None, "95",
     "180", 10, 20, ["KD-M8000", "KD-M5", "HK-M12"], [("CW-SH", 25, "SP2509", None),
                                                     ("CW-SH", 6, "SP2502", None)]),
    ("KD-ECG-5L", "五导联心电电缆", "5-lead ECG cable", PartTracking.NONE, None, "140", "260", 6,
     12, ["KD-M8000", "HK-M12"], [("CW-SH", 4, "", None)]),
    ("KD-IP300-DOOR", "输液泵泵门组件", "Infusion pump door assembly", PartTracking.NONE, None,
     "310", "560", 2, 4, ["KD-IP300"], [("CW-SH", 5, "", None)]),
    ("KD-IP300-SENS", "气泡传感器", "Air-in-line sensor", PartTracking.NONE, None, "180", "320", 4,
     8, ["KD-IP300", "KD-SP200"], [("CW-SH", 2, "", None)]),
    ("HK-V900-O2", "氧电池", "Oxygen cell", PartTracking.LOT, 365, "380", "690", 4, 8,
     ["HK-V900", "HK-NV20"], [("CW-SH", 6, "O22509", 300)]),
    ("HK-V900-FLT", "细菌过滤器", "Bacterial filter", PartTracking.LOT, 1095, "22", "45", 40, 100,
     ["HK-V900", "HK-NV20", "Vitalis T300"], [("CW-SH", 120, "F2508", 900)]),
    ("HK-U60-C5", "凸阵探头 C5-2", "Convex probe C5-2", PartTracking.SERIAL, None, "6800",
     "11800", 1, 1, ["HK-U60"], [("CW-SH", 1, "C5-24A0913", None)]),
    ("KD-G100-BAT", "血糖仪纽扣电池 CR2032", "Meter coin cell CR2032", PartTracking.NONE, None,
     "2", "5", 100, 500, ["KD-G100"], [("CW-SH", 300, "", None)]),
    ("KD-FUSE-2A", "保险丝 2A 慢熔", "Fuse 2 A slow-blow", PartTracking.NONE, None, "1", "3", 50,
     200, ["KD-M8000", "KD-IP300", "KD-SP200"], [("CW-SH", 180, "", None)]),
]  # fmt: skip

INSTRUMENTS = [
    # (number, name, kind, model/spec, calibration interval days, due in days)
    ("T-0001", "安规测试仪", InstrumentKind.MEASURING, "Fluke ESA612", 365, 21),
    ("T-0002", "输液设备分析仪", InstrumentKind.MEASURING, "Fluke IDA-5", 365, 160),
    ("T-0003", "生命体征模拟器", InstrumentKind.MEASURING, "Fluke ProSim 8", 365, 240),
    ("T-0004", "防静电维修工具箱", InstrumentKind.TOOL, "", None, None),
]


@demo_seeder("spare parts", order=35)
def seed_spare_parts() -> None:
    from medservice.accounts.models import User
    from medservice.catalog.models import DeviceModel, Supplier

    today = timezone.localdate()
    locations = {}
    for code, name, kind, region in LOCATIONS:
        locations[code], _created = StockLocation.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "region": region}
        )
    for username, code, name in (("engineer", "ENG-ZHANG", "张工随车库存"),
                                 ("dist_engineer", "ENG-ZHAO", "赵工（经销商）库存")):  # fmt: skip
        user = User.objects.filter(username=username).first()
        if user is not None and not StockLocation.objects.filter(engineer=user).exists():
            StockLocation.objects.create(
                code=code, name=name, kind=LocationKind.ENGINEER, engineer=user
            )
    supplier = Supplier.objects.filter(name="上海瑞康医疗器械贸易有限公司").first()
    models_by_spec = {model.model_spec: model for model in DeviceModel.objects.all()}
    keeper = User.objects.filter(username="warehouse").first()
    for row in PARTS:
        (number, zh, en, tracking, shelf_life, cost, price, point, quantity, specs, stock) = row
        part, created = Part.objects.get_or_create(
            number=number,
            defaults={
                "name_zh": zh,
                "name_en": en,
                "tracking": tracking,
                "shelf_life_days": shelf_life,
                "standard_cost": Decimal(cost),
                "price": Decimal(price),
                "reorder_point": Decimal(point),
                "reorder_quantity": Decimal(quantity),
                "preferred_supplier": supplier,
            },
        )
        if created:
            part.compatible_models.set([models_by_spec[spec] for spec in specs
                                        if spec in models_by_spec])  # fmt: skip
        if StockMovement.objects.filter(part=part).exists():
            continue
        for code, amount, lot_number, expiry_in_days in stock:
            with transaction.atomic():
                lot = lot_for_receipt(
                    part=part,
                    lot_number=lot_number if tracking == PartTracking.LOT else "",
                    serial_number=lot_number if tracking == PartTracking.SERIAL else "",
                    expiry_date=(
                        today + datetime.timedelta(days=expiry_in_days) if expiry_in_days else None
                    ),
                    supplier=supplier,
                )
                movements_post(
                    actor=keeper,
                    kind=MovementKind.RECEIPT,
                    destination=locations[code],
                    moves=[Move(part=part, quantity=Decimal(amount), lot=lot)],
                    reference="DEMO-OPENING",
                    reason="期初库存",
                )
    _seed_story(locations=locations, keeper=keeper)
    for number, name, kind, model_spec, interval, due_in in INSTRUMENTS:
        Instrument.objects.get_or_create(
            number=number,
            defaults={
                "name": name,
                "kind": kind,
                "model_spec": model_spec,
                "home_location": locations["CW-SH"],
                "calibration_interval_days": interval,
                "calibration_due_on": today + datetime.timedelta(days=due_in) if due_in else None,
            },
        )


def _seed_story(*, locations: dict[str, StockLocation], keeper: object) -> None:
    """The engineer's van stock, a power board fitted into a demo monitor, a held sensor lot."""
    from medservice.accounts.models import User
    from medservice.installed_base.models import Device

    engineer = User.objects.filter(username="engineer").first()
    van = StockLocation.objects.filter(engineer=engineer).first() if engineer else None
    psu = Part.objects.filter(number="KD-M8000-PSU").first()
    if van is None or psu is None or StockMovement.objects.filter(destination=van).exists():
        return
    with transaction.atomic():
        movements_post(
            actor=keeper,
            kind=MovementKind.TRANSFER,
            source=locations["CW-SH"],
            destination=van,
            moves=[Move(part=psu, quantity=Decimal(2))],
            reference="DEMO-VAN",
        )
    monitor = Device.objects.filter(device_model__model_spec="KD-M8000").order_by("pk").first()
    if monitor is not None:
        parts_consume(
            actor=engineer,
            device=monitor,
            location=van,
            fitted=[Fitted(part=psu, quantity=Decimal(1))],
            reference="DEMO-REPAIR",
        )
    sensor_lot = PartLot.objects.filter(part__number="KD-SPO2-AD", lot_number="SP2502").first()
    if sensor_lot is not None and not sensor_lot.on_hold:
        sensor_lot.on_hold = True
        sensor_lot.hold_reason = "供应商通知：该批次血氧探头读数偏低，待复核"
        sensor_lot.hold_source = "SN-2026-0007"
        sensor_lot.save()
