"""Bulk import of device models: the catalogue's own rules (certificate number against the
risk class, one model per UDI-DI) hold as in the UI; a dry run lists every bad row; a real XLSX
and a GBK CSV import once and the same file again changes nothing."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from medservice.catalog.choices import ProductType, RiskClass, Tracking
from medservice.catalog.models import DeviceModel
from medservice.core.imports import import_start
from medservice.core.models import AuditEvent, ImportJob
from tests.catalog.factories import (
    DeviceModelFactory,
    ManufacturerFactory,
    ProductLineFactory,
    udi_di,
)

HEADER = [
    "名称",
    "型号规格",
    "生产企业",
    "注册证号",
    "注册证有效期至",
    "管理类别",
    "产品类型",
    "产品线",
    "UDI-DI",
    "保修月数",
    "保养周期(天)",
    "使用年限",
    "生命支持",
    "植入",
    "一次性",
    "追溯方式",
]


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(actor, name: str, content: bytes, *, capture, apply: bool = True) -> ImportJob:
    with capture(execute=True):
        job = import_start(
            actor=actor,
            kind="device-models",
            upload=SimpleUploadedFile(name, content),
            apply=apply,
        )
    job.refresh_from_db()
    return job


@pytest.fixture
def maker(db):
    return ManufacturerFactory(name="康达医疗器械有限公司")


@pytest.fixture
def monitors(db):
    return ProductLineFactory(name="病人监护")


def good_rows() -> list[list[object]]:
    return [
        HEADER,
        [
            "多参数病人监护仪",
            "KD-M9000",
            "康达医疗器械有限公司",
            "国械注准 2021 3070123",  # spaces as copied from a PDF
            datetime.date(2031, 5, 20),  # a real Excel date cell
            "Ⅲ",
            "有源",
            "病人监护",
            udi_di(901),
            12,
            180,
            8,
            "是",
            "否",
            "否",
            "序列号",
        ],
        [
            "血糖试纸",
            "KD-GS200",
            "康达医疗器械有限公司",
            "沪械注准20202400345",
            "2030/3/1",
            "二类",
            "体外诊断",
            "",
            udi_di(902),
            0,
            "",
            2,
            "no",
            "false",
            "yes",
            "批号",
        ],
        [
            "医用棉签",
            "KD-MQ01",
            "康达医疗器械有限公司",
            "沪械备20200012号",
            "",
            "I",
            "无源",
            "",
            "",
            "",
            "",
            "",
            0,
            0,
            1,
            "batch",
        ],
    ]


@pytest.mark.django_db
def test_a_clean_xlsx_imports_and_the_same_file_again_changes_nothing(
    quality_staff, maker, monitors, django_capture_on_commit_callbacks
):
    content = xlsx(good_rows())
    job = run(quality_staff, "models.xlsx", content, capture=django_capture_on_commit_callbacks)
    assert (job.status, job.errors, job.created_count, job.updated_count) == (
        ImportJob.Status.DONE,
        [],
        3,
        0,
    )
    monitor = DeviceModel.objects.get(model_spec="KD-M9000")
    assert (
        monitor.manufacturer,
        monitor.registration_number,
        monitor.registration_valid_until,
        monitor.risk_class,
        monitor.product_type,
        monitor.product_line,
        monitor.warranty_months,
        monitor.pm_interval_days,
        monitor.service_life_years,
        monitor.life_support,
        monitor.implantable,
        monitor.tracking,
    ) == (
        maker,
        "国械注准20213070123",
        datetime.date(2031, 5, 20),
        RiskClass.CLASS_III,
        ProductType.ACTIVE,
        monitors,
        12,
        180,
        8,
        True,
        False,
        Tracking.SERIAL,
    )
    strips = DeviceModel.objects.get(model_spec="KD-GS200")
    assert (
        strips.risk_class,
        strips.product_type,
        strips.registration_valid_until,
        strips.warranty_months,
        strips.single_use,
        strips.tracking,
    ) == (RiskClass.CLASS_II, ProductType.IVD, datetime.date(2030, 3, 1), 0, True, Tracking.BATCH)
    swabs = DeviceModel.objects.get(model_spec="KD-MQ01")
    # Empty cells of fields that cannot be empty take the model's defaults.
    assert (swabs.risk_class, swabs.warranty_months, swabs.single_use, swabs.tracking) == (
        RiskClass.CLASS_I,
        12,
        True,
        Tracking.BATCH,
    )
    events = AuditEvent.objects.count()

    again = run(quality_staff, "models.xlsx", content, capture=django_capture_on_commit_callbacks)
    assert (again.status, again.created_count, again.updated_count, again.unchanged_count) == (
        ImportJob.Status.DONE,
        0,
        0,
        3,
    )
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_gbk_csv_with_english_headers_imports_once(
    quality_staff, maker, django_capture_on_commit_callbacks
):
    text = (
        "name,model spec,manufacturer,registration number,registration valid until,risk class,"
        "life support,warranty months\n"
        "呼吸机,KD-V300,康达医疗器械有限公司,国械注准20193080456,2029年3月1日,三类,true,18\n"
        "输液泵,KD-P20,康达医疗器械有限公司,沪械注准20202140789,2029/12/31,Class II,否,12\n"
    )
    content = text.encode("gbk")
    job = run(quality_staff, "models.csv", content, capture=django_capture_on_commit_callbacks)
    assert (job.status, job.errors, job.created_count) == (ImportJob.Status.DONE, [], 2)
    ventilator = DeviceModel.objects.get(model_spec="KD-V300")
    assert (
        ventilator.name,
        ventilator.risk_class,
        ventilator.registration_valid_until,
        ventilator.life_support,
        ventilator.warranty_months,
    ) == ("呼吸机", RiskClass.CLASS_III, datetime.date(2029, 3, 1), True, 18)
    events = AuditEvent.objects.count()

    again = run(quality_staff, "models.csv", content, capture=django_capture_on_commit_callbacks)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 2)
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_dry_run_reports_every_bad_row_and_imports_nothing(
    quality_staff, maker, django_capture_on_commit_callbacks
):
    taken = DeviceModelFactory(model_spec="KD-OLD", udi_di=udi_di(950))
    row = ["监护仪", "KD-A1", "康达医疗器械有限公司", "国械注准20213070123", "", "III"]
    content = xlsx(
        [
            [*HEADER[:6], "UDI-DI", "生命支持", "保修月数"],
            [*row, "", "", ""],  # fine, and still not imported
            ["监护仪", "KD-A2", "无名公司", "国械注准20213070123", "", "III", "", "", ""],
            ["监护仪", "KD-A3", "康达医疗器械有限公司", "", "", "IV", "", "", ""],
            [
                "监护仪",
                "KD-A4",
                "康达医疗器械有限公司",
                "国械注准20213070123",
                "",
                "II",
                "",
                "",
                "",
            ],
            ["监护仪", "KD-A5", "康达医疗器械有限公司", "", "", "二类", "", "", ""],
            [*row[:1], "KD-A6", *row[2:], "06959990000019", "maybe", "-1"],
            [*row[:1], "KD-A7", *row[2:4], "2026-02-30", "III", taken.udi_di, "", ""],
        ]
    )
    job = run(
        quality_staff, "bad.xlsx", content, capture=django_capture_on_commit_callbacks, apply=True
    )
    assert job.status == ImportJob.Status.INVALID
    assert job.errors == [
        {
            "row": 3,
            "column": "生产企业",
            "message": "No manufacturer named 无名公司 in the catalogue; add it there first.",
        },
        {
            "row": 4,
            "column": "管理类别",
            "message": "Select a valid choice. IV is not one of the available choices.",
        },
        {
            "row": 5,
            "column": "注册证号",
            "message": "国械注准20213070123 is the certificate of a class III device (the digit "
            "after the year), but this model is class II.",
        },
        {
            "row": 6,
            "column": "注册证号",
            "message": "A class II or III device model needs its registration certificate "
            "number (注册证编号).",
        },
        {
            "row": 7,
            "column": "UDI-DI",
            "message": "The check digit of this UDI-DI is wrong (the last digit should be 6).",
        },
        {
            "row": 7,
            "column": "保修月数",
            "message": "Ensure this value is greater than or equal to 0.",
        },
        {
            "row": 7,
            "column": "生命支持",
            "message": "maybe is not yes or no; write 是 or 否 (yes/no, true/false, 1/0).",
        },
        {
            "row": 8,
            "column": "注册证有效期至",
            "message": "2026-02-30 is not a date; write it as 2026-03-01, 2026/3/1 or 2026年3月1日.",
        },
        {
            "row": 8,
            "column": "UDI-DI",
            "message": "Another device model already has this UDI-DI.",
        },
    ]
    assert not DeviceModel.objects.filter(model_spec__startswith="KD-A").exists()


@pytest.mark.django_db
def test_one_udi_di_on_two_models_of_one_file_is_refused(
    quality_staff, maker, django_capture_on_commit_callbacks
):
    rows = [
        ["名称", "型号规格", "生产企业", "注册证号", "管理类别", "UDI-DI"],
        ["监护仪", "KD-B1", "康达医疗器械有限公司", "国械注准20213070123", "III", udi_di(960)],
        ["监护仪", "KD-B2", "康达医疗器械有限公司", "国械注准20213070124", "III", udi_di(960)],
    ]
    job = run(quality_staff, "m.xlsx", xlsx(rows), capture=django_capture_on_commit_callbacks)
    assert job.errors == [
        {
            "row": 3,
            "column": "UDI-DI",
            "message": f"Another row of this file gives the UDI-DI {udi_di(960)} to another model.",
        }
    ]
    assert not DeviceModel.objects.filter(model_spec__startswith="KD-B").exists()


@pytest.mark.django_db
def test_a_changed_row_updates_the_model_through_the_catalogue_service(
    quality_staff, maker, monitors, django_capture_on_commit_callbacks
):
    run(quality_staff, "m.xlsx", xlsx(good_rows()), capture=django_capture_on_commit_callbacks)
    rows = good_rows()
    rows[1][9] = 24  # warranty months
    rows[1][12] = "否"  # no longer life support
    events = AuditEvent.objects.count()
    job = run(quality_staff, "m.xlsx", xlsx(rows), capture=django_capture_on_commit_callbacks)
    assert (job.status, job.created_count, job.updated_count, job.unchanged_count) == (
        ImportJob.Status.DONE,
        0,
        1,
        2,
    )
    monitor = DeviceModel.objects.get(model_spec="KD-M9000")
    assert (monitor.warranty_months, monitor.life_support, monitor.version) == (24, False, 2)
    assert AuditEvent.objects.count() == events + 1


@pytest.mark.django_db
def test_an_empty_flag_or_warranty_leaves_a_stored_model_alone(
    quality_staff, maker, django_capture_on_commit_callbacks
):
    model = DeviceModelFactory(
        manufacturer=maker,
        model_spec="KD-C1",
        registration_number="国械注准20213070123",
        risk_class=RiskClass.CLASS_III,
        product_line=None,
        udi_di="",
        warranty_months=36,
        life_support=True,
    )
    rows = [
        ["名称", "型号规格", "生产企业", "注册证号", "管理类别", "保修月数", "生命支持"],
        [model.name, "KD-C1", maker.name, "国械注准20213070123", "III", "", ""],
    ]
    job = run(quality_staff, "m.xlsx", xlsx(rows), capture=django_capture_on_commit_callbacks)
    assert (job.status, job.unchanged_count) == (ImportJob.Status.DONE, 1)
    model.refresh_from_db()
    assert (model.warranty_months, model.life_support) == (36, True)


@pytest.mark.django_db
def test_only_catalogue_keepers_import_device_models(agent, maker):
    with pytest.raises(PermissionDenied):
        import_start(
            actor=agent,
            kind="device-models",
            upload=SimpleUploadedFile("m.xlsx", xlsx(good_rows())),
            apply=True,
        )


@pytest.mark.django_db
def test_the_device_model_list_offers_the_import(client, quality_staff, agent):
    client.force_login(quality_staff)
    assert "/imports/new/device-models/" in client.get("/catalog/device-models/").content.decode()
    assert "生产企业*" in client.get("/imports/new/device-models/").content.decode()
    client.force_login(agent)
    assert (
        "/imports/new/device-models/" not in client.get("/catalog/device-models/").content.decode()
    )
