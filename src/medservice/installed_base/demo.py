"""Demo installed base: deliveries to the demo hospitals, clinic and stores with about 300
serial units (monitors, infusion and syringe pumps, infusion stands, ventilators, ultrasound,
glucose meters; several sharing a batch) and batch lines of strips and single-use syringes;
acceptances, some expired warranties, three contracts and one batch hold.

Idempotent: deliveries are keyed by their invoice number, contracts by customer and kind, the
hold by model and batch. Works whether or not the catalogue demo ran first: device models are
found by model/spec, and only missing ones are created (minimal, same natural key).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from medservice.catalog.choices import ProductType, RiskClass, Tracking
from medservice.catalog.models import DeviceModel, Manufacturer, Supplier
from medservice.core.demo import demo_seeder
from medservice.customers.models import Organization
from medservice.installed_base.choices import ContractKind, HoldKind, HoldScope, SlaTier
from medservice.installed_base.models import Delivery, Device, Hold, ServiceContract

# The catalogue demo's manufacturers and suppliers (catalog/demo.py), by name.
COMPANY = "康达医疗器械有限公司"
HUAKANG = "深圳华康生物医疗电子有限公司"
HENGTAI = "江苏恒泰医疗用品有限公司"
VITALIS = "Vitalis Medizintechnik GmbH"
KANGBO = "南京康博医疗用品供应链有限公司"


@dataclass(frozen=True)
class DemoModel:
    """A catalogue model the demo delivers: found by model/spec; created minimally (same
    natural key as the catalogue demo) only when the catalogue demo has not run."""

    manufacturer: str
    model_spec: str
    name: str
    risk_class: str
    registration_number: str
    supplier: str = ""
    tracking: str = Tracking.SERIAL
    product_type: str = ProductType.ACTIVE
    warranty_months: int = 12
    life_support: bool = False
    single_use: bool = False


MODELS = {
    "monitor": DemoModel(
        COMPANY, "KD-M8000", "多参数病人监护仪", RiskClass.CLASS_II, "沪械注准20212070345",
        warranty_months=24,
    ),
    "pump": DemoModel(
        COMPANY, "KD-IP300", "输液泵", RiskClass.CLASS_III, "国械注准20213140367"
    ),
    "ventilator": DemoModel(
        HUAKANG, "HK-V900", "呼吸机", RiskClass.CLASS_III, "国械注准20203080421",
        supplier=HUAKANG, warranty_months=24, life_support=True,
    ),
    "ultrasound": DemoModel(
        HUAKANG, "HK-U60", "彩色多普勒超声诊断系统", RiskClass.CLASS_II, "粤械注准20202060189",
        supplier=HUAKANG, warranty_months=36,
    ),
    "portable_monitor": DemoModel(
        COMPANY, "KD-M5", "便携式病人监护仪", RiskClass.CLASS_II, "沪械注准20222070412",
        warranty_months=24,
    ),
    "huakang_monitor": DemoModel(
        HUAKANG, "HK-M12", "多参数病人监护仪", RiskClass.CLASS_II, "粤械注准20202070156",
        supplier=HUAKANG, warranty_months=18,
    ),
    "syringe_pump": DemoModel(
        COMPANY, "KD-SP200", "注射泵", RiskClass.CLASS_III, "国械注准20223140218"
    ),
    "infusion_stand": DemoModel(
        COMPANY, "KD-IVS01", "医用输液架", RiskClass.CLASS_I, "沪械备20200012号",
        product_type=ProductType.NON_ACTIVE,
    ),
    "transport_ventilator": DemoModel(
        VITALIS, "Vitalis T300", "转运呼吸机", RiskClass.CLASS_III, "国械注进20193080112",
        warranty_months=24, life_support=True,
    ),
    "noninvasive_ventilator": DemoModel(
        HUAKANG, "HK-NV20", "无创呼吸机", RiskClass.CLASS_II, "粤械注准20212080233",
        supplier=HUAKANG, warranty_months=24,
    ),
    "portable_ultrasound": DemoModel(
        HUAKANG, "HK-U30", "便携式彩色多普勒超声诊断系统", RiskClass.CLASS_II,
        "粤械注准20222060077", supplier=HUAKANG, warranty_months=36,
    ),
    "meter": DemoModel(
        COMPANY, "KD-G100", "血糖仪", RiskClass.CLASS_II, "沪械注准20202220311",
        warranty_months=24,
    ),
    "strips": DemoModel(
        COMPANY, "KD-GS100 50片/盒", "血糖试纸（葡萄糖氧化酶法）", RiskClass.CLASS_II,
        "沪械注准20202400288", tracking=Tracking.BATCH, product_type=ProductType.IVD,
        warranty_months=0, single_use=True,
    ),
    "syringe": DemoModel(
        HENGTAI, "5ml 0.7×32mm", "一次性使用无菌注射器 带针", RiskClass.CLASS_III,
        "国械注准20203140555", supplier=KANGBO, tracking=Tracking.BATCH,
        product_type=ProductType.NON_ACTIVE, warranty_months=0, single_use=True,
    ),
}  # fmt: skip

# Serial prefixes as printed on the units: PM8-2303-00125 = model, batch (year-month), number.
SERIAL_PREFIX = {
    "monitor": "KM8",
    "pump": "IP3",
    "ventilator": "HV9",
    "ultrasound": "HU60",
    "meter": "KG1",
    "portable_monitor": "KM5",
    "huakang_monitor": "HM12",
    "syringe_pump": "SP2",
    "infusion_stand": "IVS1",
    "transport_ventilator": "VT3",
    "noninvasive_ventilator": "HNV2",
    "portable_ultrasound": "HU30",
}
PRICES = {
    "monitor": Decimal("38600"),
    "pump": Decimal("12800"),
    "ventilator": Decimal("268000"),
    "ultrasound": Decimal("455000"),
    "meter": Decimal("298"),
    "portable_monitor": Decimal("16800"),
    "huakang_monitor": Decimal("42500"),
    "syringe_pump": Decimal("9600"),
    "infusion_stand": Decimal("680"),
    "transport_ventilator": Decimal("186000"),
    "noninvasive_ventilator": Decimal("58000"),
    "portable_ultrasound": Decimal("238000"),
    "strips": Decimal("65"),
    "syringe": Decimal("0.45"),
}


@dataclass(frozen=True)
class Units:
    """`count` serial units of a model from one batch, numbered from `first`."""

    model: str
    batch: str
    first: int
    count: int


@dataclass(frozen=True)
class Lot:
    """A batch line of a consumable."""

    model: str
    batch: str
    quantity: int


# (invoice number, customer name, days ago, lines, accepted after how many days or None).
# Serial ranges never overlap within a model and batch; batches 2303, 2401, 2402, 2403, 2406,
# 2409, 2310 and 2311 are each spread over two or three customers, as real batches are.
FIRST, COUNTY, MATERNITY = "市第一人民医院", "县中医院", "妇幼保健院"
CLINIC, STORE, OWN_STORE = (
    "阳光社区卫生服务中心",
    "百姓健康大药房 人民路店",
    "康达医疗 南京路体验店",
)
DELIVERIES: list[tuple[str, str, int, list[Units | Lot], int | None]] = [
    ("44031001", FIRST, 1010, [Units("monitor", "2303", 101, 40)], 12),
    ("44031002", FIRST, 720, [Units("pump", "2305", 41, 30)], 7),
    ("44031003", FIRST, 480, [Units("ventilator", "2401", 11, 8)], 14),
    ("44031004", FIRST, 200, [Units("ultrasound", "2403", 7, 3)], 10),
    ("44031005", COUNTY, 950, [Units("monitor", "2303", 141, 20)], 9),
    ("44031006", COUNTY, 300, [Units("pump", "2402", 61, 15), Units("ultrasound", "2403", 10, 2)], 6),
    ("44031007", MATERNITY, 150, [Units("monitor", "2406", 301, 25), Units("pump", "2402", 76, 12)], 10),
    ("44031008", MATERNITY, 90, [Units("ventilator", "2401", 19, 4)], 12),
    ("44031009", CLINIC, 60, [Units("monitor", "2406", 326, 6), Units("meter", "2409", 1001, 4)], 5),
    (
        "44031010",
        STORE,
        45,
        [
            Units("meter", "2409", 1011, 10),
            Lot("strips", "250801", 200),
            Lot("strips", "250915", 150),
            Lot("syringe", "20250612", 500),
        ],
        None,
    ),
    ("44031011", COUNTY, 30, [Lot("syringe", "20250612", 2000), Lot("strips", "250915", 300)], None),
    ("44031012", OWN_STORE, 20, [Units("meter", "2409", 1031, 10), Lot("strips", "250801", 100)], None),
    ("44031013", FIRST, 400, [Units("syringe_pump", "2311", 201, 30)], 8),
    ("44031014", FIRST, 260, [Units("huakang_monitor", "2405", 51, 12)], 11),
    (
        "44031015",
        COUNTY,
        600,
        [Units("syringe_pump", "2311", 231, 10), Units("noninvasive_ventilator", "2309", 21, 4)],
        9,
    ),
    (
        "44031016",
        MATERNITY,
        380,
        [Units("portable_monitor", "2310", 11, 12), Units("portable_ultrasound", "2312", 5, 2)],
        7,
    ),
    (
        "44031017",
        FIRST,
        35,
        [Units("transport_ventilator", "2407", 3, 2), Units("infusion_stand", "2404", 101, 20)],
        6,
    ),
    ("44031018", CLINIC, 25, [Units("portable_monitor", "2310", 23, 4)], 4),
    # Delivered a fortnight ago, not yet installed: warranty will start at acceptance.
    ("44031019", COUNTY, 15, [Units("pump", "2409", 101, 10)], None),
]  # fmt: skip

# (customer name, kind, model key, batch of the covered units, starts days ago, months, tier)
CONTRACTS = [
    ("市第一人民医院", ContractKind.FULL_SERVICE, "ventilator", "2401", 100, 36, SlaTier.PREMIUM),
    ("市第一人民医院", ContractKind.PM_ONLY, "monitor", "2303", 300, 12, SlaTier.STANDARD),
    ("县中医院", ContractKind.WARRANTY_EXTENSION, "monitor", "2303", 200, 24, SlaTier.PRIORITY),
]

HOLD = (
    "strips",
    "250915",
    "用户反馈该批次试纸测量值偏高，质量部复核中，暂停销售与发放。",
    "QC-2026-0007",
)


def _device_model(key: str) -> DeviceModel:
    spec = MODELS[key]
    found = DeviceModel.objects.filter(model_spec=spec.model_spec).order_by("pk").first()
    if found is not None:
        return found
    manufacturer, _created = Manufacturer.objects.get_or_create(name=spec.manufacturer)
    model, _created = DeviceModel.objects.get_or_create(
        manufacturer=manufacturer,
        model_spec=spec.model_spec,
        defaults={
            "name": spec.name,
            "risk_class": spec.risk_class,
            "registration_number": spec.registration_number,
            "product_type": spec.product_type,
            "tracking": spec.tracking,
            "warranty_months": spec.warranty_months,
            "life_support": spec.life_support,
            "single_use": spec.single_use,
        },
    )
    return model


def _supplier(key: str) -> Supplier | None:
    # Without the catalogue demo there are no suppliers (and no licences to check): none.
    name = MODELS[key].supplier
    return Supplier.objects.filter(name=name).first() if name else None


def _lines(items: list[Units | Lot], delivered_on: datetime.date) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for item in items:
        model, supplier = _device_model(item.model), _supplier(item.model)
        if isinstance(item, Units):
            # Batch 2303 was made in March 2023 (or shortly before the delivery, if later).
            produced = min(
                datetime.date(2000 + int(item.batch[:2]), int(item.batch[2:]), 15),
                delivered_on - datetime.timedelta(days=40),
            )
            for number in range(item.first, item.first + item.count):
                serial = f"{SERIAL_PREFIX[item.model]}-{item.batch}-{number:05d}"
                lines.append(
                    {
                        "device_model": model,
                        "supplier": supplier,
                        "batch_number": item.batch,
                        "serial_number": serial,
                        "udi_pi": f"(11){produced:%y%m%d}(10){item.batch}(21){serial}",
                        "quantity": 1,
                        "unit_price": PRICES[item.model],
                        "production_date": produced,
                    }
                )
        else:
            # Consumable batches carry their production date: 250801 (YYMMDD), 20250612.
            digits = item.batch if len(item.batch) == 8 else f"20{item.batch}"
            produced = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
            produced = min(produced, delivered_on - datetime.timedelta(days=15))
            lines.append(
                {
                    "device_model": model,
                    "supplier": supplier,
                    "batch_number": item.batch,
                    "quantity": item.quantity,
                    "unit_price": PRICES[item.model],
                    "production_date": produced,
                    "expiry_date": produced + datetime.timedelta(days=730),
                }
            )
    return lines


@demo_seeder("installed base", order=30)
def seed_installed_base() -> None:
    from medservice.accounts.models import User
    from medservice.installed_base.services import (
        add_months,
        contract_create,
        delivery_create,
        device_update,
        hold_place,
    )

    today = timezone.localdate()
    organizations = {organization.name: organization for organization in Organization.objects.all()}
    salesperson = User.objects.filter(username="manager").first()
    for invoice, customer, days_ago, items, accepted_after in DELIVERIES:
        organization = organizations.get(customer)
        if organization is None or Delivery.objects.filter(invoice_number=invoice).exists():
            continue
        delivered_on = today - datetime.timedelta(days=days_ago)
        delivery = delivery_create(
            actor=None,
            organization=organization,
            delivered_on=delivered_on,
            lines=_lines(items, delivered_on),
            invoice_number=invoice,
            salesperson=salesperson,
        )
        if accepted_after is None:
            continue
        for device in Device.objects.filter(delivery_line__delivery=delivery).order_by("pk"):
            # Installed a few days after delivery, accepted later: the warranty starts then.
            device_update(
                actor=None,
                instance=device,
                data={
                    "installed_on": delivered_on + datetime.timedelta(days=3),
                    "accepted_on": delivered_on + datetime.timedelta(days=accepted_after),
                    "status": "in_service",
                    "asset_number": f"ZC-{delivered_on:%Y}-{device.pk:05d}",
                },
            )
    for customer, kind, model_key, batch, starts_ago, months, tier in CONTRACTS:
        organization = organizations.get(customer)
        if organization is None:
            continue
        if ServiceContract.objects.filter(organization=organization, kind=kind).exists():
            continue
        units = list(
            Device.objects.filter(
                organization=organization,
                device_model=_device_model(model_key),
                batch_number=batch,
            )
        )
        if not units:
            continue
        starts_on = today - datetime.timedelta(days=starts_ago)
        contract_create(
            actor=None,
            data={
                "kind": kind,
                "organization": organization,
                "devices": units,
                "starts_on": starts_on,
                "ends_on": add_months(starts_on, months) - datetime.timedelta(days=1),
                "sla_tier": tier,
                "price": Decimal("1800") * len(units) * months / 12,
            },
        )
    model_key, batch, reason, source = HOLD
    held_model = _device_model(model_key)
    if not Hold.objects.filter(
        scope=HoldScope.BATCH, device_model=held_model, batch_number=batch
    ).exists():
        hold_place(
            actor=User.objects.filter(username="quality").first(),
            scope=HoldScope.BATCH,
            kind=HoldKind.QUALITY_REVIEW,
            device_model=held_model,
            batch_number=batch,
            reason=reason,
            source=source,
        )
