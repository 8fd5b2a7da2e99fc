"""Factories and helpers for the decisions area: a product with its supplier (and the supplier's
repair clause) and manufacturer, units of one batch at two hospitals, and cases recorded by
quality staff through the service."""

from __future__ import annotations

from typing import Any

from medservice.quality.services import case_create
from tests.catalog.factories import DeviceModelFactory, ManufacturerFactory, SupplierFactory
from tests.installed_base.factories import DeviceFactory

REPAIR_CLAUSE = "保修期内供货方负责免费维修或更换，48小时内响应。"


def product(**fields: Any) -> dict[str, Any]:
    """A monitor model with its manufacturer and a supplier bound by a quality agreement."""
    manufacturer = ManufacturerFactory(name="深圳康美医疗电子有限公司", contact="张工 0755-1234567")
    supplier = SupplierFactory(
        name="华东医疗器械供应有限公司", quality_agreement_reference="QA-2025-017",
        repairs_under_agreement=True, repair_clause=REPAIR_CLAUSE,
        email="quality@supplier.example.cn", phone="021-55550000", contact="李经理",
    )  # fmt: skip
    model = DeviceModelFactory(manufacturer=manufacturer, name="多参数病人监护仪")
    return {"manufacturer": manufacturer, "supplier": supplier, "model": model, **fields}


def unit(setup: dict[str, Any], organization: Any, **fields: Any) -> Any:
    fields.setdefault("batch_number", "B2603")
    return DeviceFactory(
        device_model=setup["model"], supplier=setup["supplier"], organization=organization,
        **fields,
    )  # fmt: skip


def case_of(actor: Any, device: Any, **data: Any) -> Any:
    data.setdefault("description", "监护仪血氧读数异常跳变")
    data.setdefault("complainant_phone", "13812345678")
    data.setdefault("complainant_name", "王护士")
    return case_create(actor=actor, data={"device": device, **data})
