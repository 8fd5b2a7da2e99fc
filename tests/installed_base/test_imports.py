"""Bulk import of devices and deliveries: the installed base's services apply every row (warranty
computed, holds respected, every delivery rule), a dry run reports each refusal by row and
column and imports nothing, the uploader's scope holds, and the same file again changes
nothing."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from medservice.accounts.choices import Role
from medservice.core.imports import import_confirm, import_start
from medservice.core.models import AuditEvent, ImportJob
from medservice.customers.models import Department
from medservice.installed_base.choices import DeviceStatus, HoldKind, HoldScope
from medservice.installed_base.models import Delivery, DeliveryLine, Device
from tests.factories import DistributorFactory, user_with_role
from tests.installed_base.factories import (
    DeviceFactory,
    DeviceModelFactory,
    HoldFactory,
    licensed_supplier,
)

D = datetime.date


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(actor, kind: str, name: str, content: bytes, *, capture, apply: bool = True):
    with capture(execute=True):
        job = import_start(
            actor=actor, kind=kind, upload=SimpleUploadedFile(name, content), apply=apply
        )
    job.refresh_from_db()
    return job


def counts(job: ImportJob) -> tuple:
    return (job.status, job.errors, job.created_count, job.updated_count, job.unchanged_count)


# --- Devices ----------------------------------------------------------------------------------

DEVICE_HEADER = [
    "客户单位",
    "科室",
    "型号规格",
    "序列号",
    "批号",
    "生产日期",
    "失效日期",
    "资产编号",
    "安装日期",
    "验收日期",
    "状态",
    "位置",
]


def device_rows(monitor, strips) -> list[list[object]]:
    return [
        DEVICE_HEADER,
        [
            "市第一人民医院",
            "重症医学科",
            "KD-M8000",
            "KM8-2603-00001",
            "2603",
            D(2026, 2, 1),  # a real Excel date cell
            "",
            "ZC-0001",
            "2026/3/5",
            "2026年3月10日",
            "使用中",
            "ICU 3床",
        ],
        [
            "市第一人民医院",
            "重症医学科",
            monitor.udi_di,  # the model column may name the model by its UDI-DI
            "KM8-2603-00002",
            "2603",
            "",
            "",
            "",
            "2026-03-05",
            "",
            "",
            "",
        ],
        [
            "县中医院",
            "",
            "KD-GS100",
            "",
            "260115",
            "2026-01-15",
            "2027-07-14",
            "",
            "",
            "",
            "in stock",
            "库房",
        ],
    ]


@pytest.mark.django_db
def test_devices_from_a_real_xlsx_import_once_with_their_warranty(
    warehouse, hospital_a, hospital_b, monitor, strips, django_capture_on_commit_callbacks
):
    content = xlsx(device_rows(monitor, strips))
    job = run(
        warehouse, "devices", "devices.xlsx", content, capture=django_capture_on_commit_callbacks
    )
    assert counts(job) == (ImportJob.Status.DONE, [], 3, 0, 0)
    first = Device.objects.get(serial_number="KM8-2603-00001")
    assert (
        first.organization,
        first.department.name,
        first.production_date,
        first.installed_on,
        first.accepted_on,
        first.status,
        first.asset_number,
        first.location,
        # Warranty from acceptance, for the model's 12 months.
        first.warranty_ends_on,
    ) == (
        hospital_a,
        "重症医学科",
        D(2026, 2, 1),
        D(2026, 3, 5),
        D(2026, 3, 10),
        DeviceStatus.IN_SERVICE,
        "ZC-0001",
        "ICU 3床",
        D(2027, 3, 9),
    )
    second = Device.objects.get(serial_number="KM8-2603-00002")
    assert (second.device_model, second.status, second.warranty_ends_on) == (
        monitor,
        DeviceStatus.INSTALLED,  # an empty status: the default for a new unit
        D(2027, 3, 4),
    )
    assert second.department == first.department
    batch_unit = Device.objects.get(device_model=strips)
    assert (batch_unit.organization, batch_unit.batch_number, batch_unit.status) == (
        hospital_b,
        "260115",
        DeviceStatus.IN_STOCK,
    )
    events = AuditEvent.objects.count()

    again = run(
        warehouse, "devices", "devices.xlsx", content, capture=django_capture_on_commit_callbacks
    )
    assert counts(again) == (ImportJob.Status.DONE, [], 0, 0, 3)
    assert AuditEvent.objects.count() == events
    assert Device.objects.count() == 3 and Department.objects.count() == 1


@pytest.mark.django_db
def test_devices_from_a_gbk_csv_import_once(
    agent, hospital_b, monitor, django_capture_on_commit_callbacks
):
    text = (
        "organisation,department,model spec,serial,installed on,accepted on,status\n"
        "县中医院,放射科,KD-M8000,KM8-CSV-1,2026/3/1,2026年3月2日,在用\n"
    )
    content = text.encode("gbk")
    job = run(agent, "devices", "d.csv", content, capture=django_capture_on_commit_callbacks)
    assert counts(job) == (ImportJob.Status.DONE, [], 1, 0, 0)
    device = Device.objects.get(serial_number="KM8-CSV-1")
    assert (device.department.name, device.status, device.warranty_ends_on) == (
        "放射科",
        DeviceStatus.IN_SERVICE,
        D(2027, 3, 1),
    )
    events = AuditEvent.objects.count()
    again = run(agent, "devices", "d.csv", content, capture=django_capture_on_commit_callbacks)
    assert counts(again) == (ImportJob.Status.DONE, [], 0, 0, 1)
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_device_dry_run_reports_every_bad_row_and_imports_nothing(
    warehouse, hospital_a, monitor, django_capture_on_commit_callbacks
):
    def row(**cells: object) -> list[object]:
        values = {
            "客户单位": "市第一人民医院",
            "型号规格": "KD-M8000",
            "序列号": "KM8-OK",
            "批号": "",
            "安装日期": "",
            "验收日期": "",
            "状态": "",
        }
        values.update(cells)
        return list(values.values())

    header = ["客户单位", "型号规格", "序列号", "批号", "安装日期", "验收日期", "状态"]
    content = xlsx(
        [
            header,
            row(),  # fine, and still not imported
            row(客户单位="无名医院", 序列号="KM8-1"),
            row(型号规格="XX-1", 序列号="KM8-2"),
            row(序列号="KM8-3", 安装日期="2026-03-05", 验收日期="2026-03-01"),
            row(序列号=""),
            row(序列号="KM8-4", 状态="坏了", 安装日期="2026-02-30"),
            row(),
        ]
    )
    job = run(
        warehouse,
        "devices",
        "bad.xlsx",
        content,
        capture=django_capture_on_commit_callbacks,
        apply=False,
    )
    assert job.status == ImportJob.Status.INVALID
    assert job.errors == [
        {
            "row": 3,
            "column": "客户单位",
            "message": "No organisation named 无名医院 (or with that credit code) that you may see.",
        },
        {
            "row": 4,
            "column": "型号规格",
            "message": "No device model with the model/spec or UDI-DI XX-1 in the catalogue.",
        },
        {
            "row": 5,
            "column": "验收日期",
            "message": "The acceptance date 2026-03-01 is before the installation date 2026-03-05.",
        },
        {
            "row": 6,
            "column": "序列号",
            "message": "Give a serial number, a batch number or both.",
        },
        {"row": 6, "column": "批号", "message": "Give a serial number, a batch number or both."},
        {
            "row": 7,
            "column": "安装日期",
            "message": "2026-02-30 is not a date; write it as 2026-03-01, 2026/3/1 or 2026年3月1日.",
        },
        {
            "row": 7,
            "column": "状态",
            "message": "Select a valid choice. 坏了 is not one of the available choices.",
        },
        {"row": 8, "column": "", "message": "The same record appears already in row 2."},
    ]
    assert not Device.objects.exists()


@pytest.mark.django_db
def test_a_distributor_cannot_import_devices_for_an_organisation_it_does_not_serve(
    hospital_a, hospital_b, monitor, django_capture_on_commit_callbacks
):
    distributor = DistributorFactory(name="华信医疗设备经销有限公司")
    hospital_a.served_by.add(distributor)
    # A distributor's staff with the right to register units (e.g. its service desk).
    importer = user_with_role(Role.SERVICE_AGENT, distributor, username="dist_desk")
    content = xlsx(
        [
            ["客户单位", "型号规格", "序列号"],
            ["市第一人民医院", "KD-M8000", "KM8-D1"],
            ["县中医院", "KD-M8000", "KM8-D2"],
        ]
    )
    job = run(importer, "devices", "d.xlsx", content, capture=django_capture_on_commit_callbacks)
    assert job.errors == [
        {
            "row": 3,
            "column": "客户单位",
            "message": "No organisation named 县中医院 (or with that credit code) that you may see.",
        }
    ]
    assert not Device.objects.exists()
    served_only = xlsx(
        [["客户单位", "型号规格", "序列号"], ["市第一人民医院", "KD-M8000", "KM8-D1"]]
    )
    job = run(
        importer, "devices", "d.xlsx", served_only, capture=django_capture_on_commit_callbacks
    )
    assert counts(job) == (ImportJob.Status.DONE, [], 1, 0, 0)


@pytest.mark.django_db
def test_a_serial_registered_to_another_organisation_is_a_duplicate(
    warehouse, hospital_a, hospital_b, monitor, django_capture_on_commit_callbacks
):
    DeviceFactory(device_model=monitor, serial_number="KM8-DUP", organization=hospital_b)
    content = xlsx(
        [
            ["客户单位", "型号规格", "序列号"],
            ["市第一人民医院", "KD-M8000", "KM8-DUP"],
            ["市第一人民医院", "KD-M8000", "KM8-NEW"],
            ["市第一人民医院", "KD-M8000", "KM8-NEW"],
        ]
    )
    job = run(warehouse, "devices", "d.xlsx", content, capture=django_capture_on_commit_callbacks)
    assert job.errors == [
        {
            "row": 2,
            "column": "序列号",
            "message": "Serial number KM8-DUP of 多参数病人监护仪 KD-M8000 is already registered.",
        },
        {"row": 4, "column": "", "message": "The same record appears already in row 3."},
    ]
    assert Device.objects.count() == 1


@pytest.mark.django_db
def test_a_changed_row_updates_the_unit_and_recomputes_its_warranty(
    warehouse, hospital_a, monitor, django_capture_on_commit_callbacks
):
    unit = DeviceFactory(
        device_model=monitor,
        serial_number="KM8-UPD",
        organization=hospital_a,
        installed_on=D(2026, 3, 5),
        accepted_on=D(2026, 3, 10),
        warranty_ends_on=D(2027, 3, 9),
        batch_number="",
    )
    header = ["客户单位", "型号规格", "序列号", "安装日期", "验收日期", "状态"]
    same = ["市第一人民医院", "KD-M8000", "KM8-UPD", "2026-03-05", "2026-03-10", "已装机"]
    job = run(
        warehouse,
        "devices",
        "d.xlsx",
        xlsx([header, same]),
        capture=django_capture_on_commit_callbacks,
    )
    assert counts(job) == (ImportJob.Status.DONE, [], 0, 0, 1)
    later = [*same[:4], "2026-04-01", ""]
    job = run(
        warehouse,
        "devices",
        "d.xlsx",
        xlsx([header, later]),
        capture=django_capture_on_commit_callbacks,
    )
    assert counts(job) == (ImportJob.Status.DONE, [], 0, 1, 0)
    unit.refresh_from_db()
    # An empty status leaves the stored one; the warranty restarts from the new acceptance.
    assert (unit.accepted_on, unit.warranty_ends_on, unit.status) == (
        D(2026, 4, 1),
        D(2027, 3, 31),
        DeviceStatus.INSTALLED,
    )


@pytest.mark.django_db
def test_a_unit_under_an_evidence_hold_is_not_changed_by_import(
    warehouse, quality, hospital_a, monitor, django_capture_on_commit_callbacks
):
    unit = DeviceFactory(device_model=monitor, serial_number="KM8-EV", organization=hospital_a)
    HoldFactory(
        scope=HoldScope.DEVICE,
        kind=HoldKind.EVIDENCE,
        device=unit,
        device_model=monitor,
        serial_number="KM8-EV",
        batch_number="",
        reason="不良事件调查",
    )
    content = xlsx(
        [
            ["客户单位", "型号规格", "序列号", "批号", "安装日期", "验收日期", "位置"],
            ["市第一人民医院", "KD-M8000", "KM8-EV", "2603", "2026-03-05", "2026-03-10", "库房"],
        ]
    )
    job = run(warehouse, "devices", "d.xlsx", content, capture=django_capture_on_commit_callbacks)
    assert job.errors == [
        {
            "row": 2,
            "column": "",
            "message": "多参数病人监护仪 KD-M8000 KM8-EV is under an evidence hold (不良事件调查) "
            "and may not be altered until the hold is released.",
        }
    ]
    unit.refresh_from_db()
    assert unit.location == ""


# --- Deliveries -------------------------------------------------------------------------------

DELIVERY_HEADER = [
    "销售单号",
    "客户单位",
    "发货日期",
    "发票号",
    "型号规格",
    "批号",
    "序列号",
    "数量",
    "单价",
    "生产日期",
    "失效日期",
    "供货者",
]


@pytest.fixture
def supplier(db):
    return licensed_supplier(name="上海康达供应链有限公司")


def delivery_rows() -> list[list[object]]:
    return [
        DELIVERY_HEADER,
        [
            "DL-IMP-001",
            "市第一人民医院",
            D(2026, 3, 2),
            "44031001",
            "KD-M8000",
            "2512",
            "KM8-2512-00001",
            1,
            38600,
            "2025/12/1",
            "",
            "上海康达供应链有限公司",
        ],
        [
            "DL-IMP-002",
            "县中医院",
            "2026年3月3日",
            "",
            "KD-GS100",
            "260115",
            "",
            200,
            "65.00",
            "2026-01-15",
            D(2027, 7, 14),
            "",
        ],
        [
            "DL-IMP-001",
            "市第一人民医院",
            "2026-03-02",
            "44031001",
            "KD-M8000",
            "2512",
            "KM8-2512-00002",
            "",
            "38600.00",
            "2025-12-01",
            "",
            "上海康达供应链有限公司",
        ],
    ]


@pytest.mark.django_db
def test_deliveries_from_a_real_xlsx_import_once(
    warehouse,
    hospital_a,
    hospital_b,
    monitor,
    strips,
    supplier,
    django_capture_on_commit_callbacks,
):
    content = xlsx(delivery_rows())
    job = run(
        warehouse, "deliveries", "d.xlsx", content, capture=django_capture_on_commit_callbacks
    )
    assert counts(job) == (ImportJob.Status.DONE, [], 3, 0, 0)
    first = Delivery.objects.get(number="DL-IMP-001")
    assert (first.organization, first.delivered_on, first.invoice_number) == (
        hospital_a,
        D(2026, 3, 2),
        "44031001",
    )
    # The rows with one delivery number are one delivery, even when not next to each other.
    assert sorted(first.lines.values_list("serial_number", "unit_price", "supplier")) == [
        ("KM8-2512-00001", Decimal("38600.00"), supplier.pk),
        ("KM8-2512-00002", Decimal("38600.00"), supplier.pk),
    ]
    # Serial lines create their units, with the warranty from the delivery date.
    units = Device.objects.filter(delivery_line__delivery=first).order_by("serial_number")
    assert [(unit.organization, unit.warranty_ends_on) for unit in units] == [
        (hospital_a, D(2027, 3, 1)),
        (hospital_a, D(2027, 3, 1)),
    ]
    strips_line = DeliveryLine.objects.get(delivery__number="DL-IMP-002")
    assert (
        strips_line.delivery.organization,
        strips_line.delivery.delivered_on,
        strips_line.batch_number,
        strips_line.quantity,
        strips_line.unit_price,
        strips_line.expiry_date,
    ) == (hospital_b, D(2026, 3, 3), "260115", 200, Decimal("65.00"), D(2027, 7, 14))
    events = AuditEvent.objects.count()

    again = run(
        warehouse, "deliveries", "d.xlsx", content, capture=django_capture_on_commit_callbacks
    )
    assert counts(again) == (ImportJob.Status.DONE, [], 0, 0, 3)
    assert AuditEvent.objects.count() == events
    assert (Delivery.objects.count(), DeliveryLine.objects.count(), Device.objects.count()) == (
        2,
        3,
        2,
    )


@pytest.mark.django_db
def test_deliveries_from_a_gbk_csv_import_once(
    warehouse, hospital_b, strips, django_capture_on_commit_callbacks
):
    text = (
        "delivery number,organisation,delivered on,model spec,batch,quantity,unit price,"
        "expiry date\n"
        "DL-CSV-1,县中医院,2026/3/4,KD-GS100,260201,50,64.5,2027/8/1\n"
        "DL-CSV-1,县中医院,2026/3/4,KD-GS100,260202,20,64.5,2027/8/15\n"
    )
    content = text.encode("gbk")
    job = run(
        warehouse,
        "deliveries",
        "d.csv",
        content,
        capture=django_capture_on_commit_callbacks,
        apply=False,
    )
    assert (job.status, Delivery.objects.exists()) == (ImportJob.Status.VALID, False)
    # Confirming checks the file again (each check groups the rows afresh), then imports it.
    with django_capture_on_commit_callbacks(execute=True):
        import_confirm(actor=warehouse, job=job)
    job.refresh_from_db()
    assert counts(job) == (ImportJob.Status.DONE, [], 2, 0, 0)
    delivery = Delivery.objects.get(number="DL-CSV-1")
    assert sorted(delivery.lines.values_list("batch_number", "quantity")) == [
        ("260201", 50),
        ("260202", 20),
    ]
    events = AuditEvent.objects.count()
    again = run(
        warehouse, "deliveries", "d.csv", content, capture=django_capture_on_commit_callbacks
    )
    assert counts(again) == (ImportJob.Status.DONE, [], 0, 0, 2)
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_held_batch_is_refused_in_a_delivery_import(
    warehouse, hospital_b, strips, django_capture_on_commit_callbacks
):
    HoldFactory(device_model=strips, batch_number="260115", reason="批次复核中")
    content = xlsx(
        [
            ["销售单号", "客户单位", "发货日期", "型号规格", "批号", "数量"],
            ["DL-H-1", "县中医院", "2026-03-02", "KD-GS100", "260115", 10],
            ["DL-H-1", "县中医院", "2026-03-02", "KD-GS100", "260116", 10],
        ]
    )
    job = run(
        warehouse, "deliveries", "d.xlsx", content, capture=django_capture_on_commit_callbacks
    )
    assert job.errors == [
        {
            "row": 2,
            "column": "批号",
            "message": "Batch 260115 is on hold (批次复核中) and may not be delivered.",
        }
    ]
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_refusals_come_in_the_uploaders_language(
    warehouse, hospital_b, monitor, strips, django_capture_on_commit_callbacks
):
    warehouse.language = "zh-hans"
    warehouse.save()
    HoldFactory(device_model=strips, batch_number="260115", reason="批次复核中")
    deliveries = xlsx(
        [
            ["销售单号", "客户单位", "发货日期", "型号规格", "批号", "数量"],
            ["DL-H-1", "县中医院", "2026-03-02", "KD-GS100", "260115", 10],
        ]
    )
    job = run(
        warehouse, "deliveries", "d.xlsx", deliveries, capture=django_capture_on_commit_callbacks
    )
    # The service's line problem, without its "line 1" (the row names the place).
    assert job.errors == [
        {
            "row": 2,
            "column": "批号",
            "message": "批号 260115 已被冻结（批次复核中），不得销售发货。",
        }
    ]
    devices = xlsx([["客户单位", "型号规格", "序列号", "批号"], ["县中医院", "KD-M8000", "", ""]])
    job = run(warehouse, "devices", "d.xlsx", devices, capture=django_capture_on_commit_callbacks)
    assert job.errors == [
        {"row": 2, "column": "序列号", "message": "请填写序列号或批号（或两者都填）。"},
        {"row": 2, "column": "批号", "message": "请填写序列号或批号（或两者都填）。"},
    ]


@pytest.mark.django_db
def test_a_serial_already_registered_is_refused_in_a_delivery_import(
    warehouse, hospital_a, hospital_b, monitor, django_capture_on_commit_callbacks
):
    DeviceFactory(device_model=monitor, serial_number="KM8-2512-00001", organization=hospital_b)
    content = xlsx(
        [
            ["销售单号", "客户单位", "发货日期", "型号规格", "序列号"],
            ["DL-S-1", "市第一人民医院", "2026-03-02", "KD-M8000", "KM8-2512-00001"],
            ["DL-S-2", "市第一人民医院", "2026-03-02", "KD-M8000", "KM8-2512-00009"],
            ["DL-S-3", "市第一人民医院", "2026-03-02", "KD-M8000", "KM8-2512-00009"],
        ]
    )
    job = run(
        warehouse, "deliveries", "d.xlsx", content, capture=django_capture_on_commit_callbacks
    )
    assert job.errors == [
        {
            "row": 2,
            "column": "序列号",
            "message": "Serial number KM8-2512-00001 of 多参数病人监护仪 KD-M8000 is already "
            "registered.",
        },
        {
            "row": 4,
            "column": "序列号",
            "message": "Serial number KM8-2512-00009 of 多参数病人监护仪 KD-M8000 is also on "
            "delivery DL-S-2 in this file.",
        },
    ]
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_a_delivery_dry_run_reports_every_bad_row_and_imports_nothing(
    warehouse, hospital_a, hospital_b, monitor, strips, django_capture_on_commit_callbacks
):
    expired_supplier = licensed_supplier(name="过期供货者", valid_until=D(2026, 1, 31))
    content = xlsx(
        [
            [
                "销售单号",
                "客户单位",
                "发货日期",
                "型号规格",
                "批号",
                "序列号",
                "数量",
                "单价",
                "失效日期",
                "供货者",
            ],
            ["DL-B-1", "市第一人民医院", "2026-03-02", "KD-GS100", "2601", "", 5, 60, "", ""],
            ["DL-B-1", "县中医院", "2026-03-02", "KD-GS100", "2602", "", 5, 60, "", ""],
            ["DL-B-2", "县中医院", "2026-03-02", "KD-GS100", "2603", "", 5, 60, "2026-03-01", ""],
            ["DL-B-3", "县中医院", "2026-03-02", "KD-M8000", "2512", "", 1, 38600, "", ""],
            ["DL-B-4", "县中医院", "2026-03-02", "KD-M8000", "", "KM8-Q", 2, "¥1", "", ""],
            ["DL-B-5", "县中医院", "2026-03-02", "KD-GS100", "2604", "", 5, 60, "", "过期供货者"],
            ["DL-B-6", "县中医院", "", "KD-GS100", "2605", "", 0, 60, "", "无名供货者"],
        ]
    )
    job = run(
        warehouse,
        "deliveries",
        "bad.xlsx",
        content,
        capture=django_capture_on_commit_callbacks,
        apply=False,
    )
    assert job.status == ImportJob.Status.INVALID
    assert expired_supplier.name == "过期供货者"
    assert job.errors == [
        {
            "row": 3,
            "column": "客户单位",
            "message": "Another row of delivery DL-B-1 names another customer; the rows of one "
            "delivery give the same customer, date and invoice number.",
        },
        {
            "row": 4,
            "column": "失效日期",
            "message": "The product expired on 2026-03-01, before the delivery date 2026-03-02.",
        },
        {
            "row": 5,
            "column": "序列号",
            "message": "多参数病人监护仪 KD-M8000 is tracked by serial number: give each unit's "
            "serial number.",
        },
        {"row": 6, "column": "单价", "message": "Enter a number."},
        {
            "row": 6,
            "column": "数量",
            "message": "A line with a serial number is one unit: the quantity must be 1.",
        },
        {
            "row": 7,
            "column": "供货者",
            "message": "过期供货者 is locked: its Medical device operation permit (经营许可证) "
            f"{expired_supplier.licences.get().number} expired on 2026-01-31.",
        },
        {"row": 8, "column": "发货日期", "message": "This field is required."},
        {"row": 8, "column": "数量", "message": "Ensure this value is greater than or equal to 1."},
        {
            "row": 8,
            "column": "供货者",
            "message": "No supplier named 无名供货者 (or with that credit code) in the catalogue.",
        },
    ]
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_an_imported_delivery_is_not_changed_by_a_file_with_other_lines(
    warehouse,
    hospital_a,
    hospital_b,
    monitor,
    strips,
    supplier,
    django_capture_on_commit_callbacks,
):
    run(
        warehouse,
        "deliveries",
        "d.xlsx",
        xlsx(delivery_rows()),
        capture=django_capture_on_commit_callbacks,
    )
    rows = delivery_rows()
    rows[2][8] = "70.00"  # another unit price for the strips of DL-IMP-002
    rows.append([*rows[1][:6], "KM8-2512-00003", *rows[1][7:]])  # a third monitor on DL-IMP-001
    events = AuditEvent.objects.count()
    job = run(
        warehouse, "deliveries", "d.xlsx", xlsx(rows), capture=django_capture_on_commit_callbacks
    )
    assert job.errors == [
        {
            "row": 3,
            "column": "单价",
            "message": "Delivery DL-IMP-002 was already imported with 65.00 here; an imported "
            "delivery is not changed by importing it again.",
        },
        {
            "row": 5,
            "column": "",
            "message": "Delivery DL-IMP-001 was already imported without this line; an imported "
            "delivery is not changed by importing it again (record the line as a new delivery).",
        },
    ]
    assert AuditEvent.objects.count() == events
    assert DeliveryLine.objects.count() == 3


@pytest.mark.django_db
def test_only_those_who_record_deliveries_import_them(agent, hospital_a):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_start(
            actor=agent,
            kind="deliveries",
            upload=SimpleUploadedFile("d.xlsx", xlsx(delivery_rows())),
            apply=True,
        )


@pytest.mark.django_db
def test_the_lists_offer_the_imports(client, warehouse):
    client.force_login(warehouse)
    assert "/imports/new/devices/" in client.get("/installed-base/devices/").content.decode()
    assert "/imports/new/deliveries/" in client.get("/installed-base/deliveries/").content.decode()


@pytest.mark.django_db
def test_a_model_spec_two_manufacturers_share_needs_the_udi_di_or_the_manufacturer(
    warehouse, hospital_a, monitor, django_capture_on_commit_callbacks
):
    twin = DeviceModelFactory(model_spec="KD-M8000")
    header = ["客户单位", "型号规格", "生产企业", "序列号"]
    job = run(
        warehouse,
        "devices",
        "d.xlsx",
        xlsx([header, ["市第一人民医院", "KD-M8000", "", "KM8-T1"]]),
        capture=django_capture_on_commit_callbacks,
    )
    assert job.errors == [
        {
            "row": 2,
            "column": "型号规格",
            "message": "Several manufacturers make a model KD-M8000; give its UDI-DI or the "
            "manufacturer.",
        }
    ]
    job = run(
        warehouse,
        "devices",
        "d.xlsx",
        xlsx([header, ["市第一人民医院", "KD-M8000", twin.manufacturer.name, "KM8-T1"]]),
        capture=django_capture_on_commit_callbacks,
    )
    assert counts(job) == (ImportJob.Status.DONE, [], 1, 0, 0)
    assert Device.objects.get(serial_number="KM8-T1").device_model == twin
