"""The devices import checks and applies its rows a chunk at a time: a chunk's look-ups take
a fixed number of queries, new units are written in bulk with one audit event each (the
event a single save writes), the service's rules are reported by row and column, and the
chunk boundaries neither lose nor double a row."""

from __future__ import annotations

import dataclasses
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from medservice.core import audit
from medservice.core.audit import audit_seal_pending, audit_verify_chain
from medservice.core.errors import InvalidInputError
from medservice.core.imports import SPECS, import_start
from medservice.core.models import AuditEvent, ImportJob
from medservice.customers.models import Department
from medservice.installed_base.choices import DeviceStatus, HoldKind, HoldScope
from medservice.installed_base.models import Device
from medservice.installed_base.services import device_create_many
from tests.installed_base.factories import DeviceFactory, DeviceModelFactory, HoldFactory

D = datetime.date
HEADER = [
    "客户单位",
    "科室",
    "型号规格",
    "序列号",
    "批号",
    "生产日期",
    "失效日期",
    "安装日期",
    "验收日期",
]


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(actor, content: bytes, *, capture, apply: bool = True, name: str = "d.xlsx"):
    with capture(execute=True):
        job = import_start(
            actor=actor, kind="devices", upload=SimpleUploadedFile(name, content), apply=apply
        )
    job.refresh_from_db()
    return job


def counts(job: ImportJob) -> tuple:
    return (job.status, job.errors, job.created_count, job.updated_count, job.unchanged_count)


@pytest.fixture
def chunks_of(monkeypatch):
    """Set the devices import's chunk size for one test."""
    spec = SPECS["devices"]

    def set_size(size: int) -> None:
        monkeypatch.setattr(spec, "batch", dataclasses.replace(spec.batch, size=size))

    return set_size


@pytest.fixture
def copy_from_two_rows(monkeypatch):
    """On PostgreSQL the bulk path writes with COPY from this many rows: let tests' few rows
    take it too (SQLite always writes with multi-row INSERTs)."""
    monkeypatch.setattr(audit, "COPY_MIN_ROWS", 2)


@pytest.fixture
def ventilator(db):
    """A serial-tracked model with a 24-month warranty and an 8-year service life."""
    return DeviceModelFactory(
        name="呼吸机", model_spec="KD-V300", warranty_months=24, service_life_years=8
    )


@pytest.mark.django_db
def test_each_new_unit_gets_one_audit_event_with_its_values(
    warehouse, hospital_a, ventilator, copy_from_two_rows, django_capture_on_commit_callbacks
):
    content = xlsx(
        [
            HEADER,
            ["市第一人民医院", "重症医学科", "KD-V300", "V3-0001", "2601", "2026-01-05", "", "2026-03-02", "2026-03-06"],
            ["市第一人民医院", "", "KD-V300", "V3-0002", "", "", "", "2026-03-03", ""],
        ]
    )  # fmt: skip
    before = AuditEvent.objects.order_by("id").values_list("id", flat=True).last() or 0

    job = run(warehouse, content, capture=django_capture_on_commit_callbacks)

    assert counts(job) == (ImportJob.Status.DONE, [], 2, 0, 0)
    department = Department.objects.get(organization=hospital_a, name="重症医学科")
    first = Device.objects.get(serial_number="V3-0001")
    second = Device.objects.get(serial_number="V3-0002")
    # The warranty and the retention date as device_create and save() compute them.
    assert (first.warranty_ends_on, first.retain_until, first.status, first.version) == (
        D(2028, 3, 5),
        D(2039, 3, 6),  # accepted + 8 years of service life + 5
        DeviceStatus.INSTALLED,
        1,
    )
    assert (second.warranty_ends_on, second.retain_until) == (D(2028, 3, 2), D(2039, 3, 3))
    events = list(AuditEvent.objects.filter(pk__gt=before).order_by("id"))
    assert [(event.object_type, event.object_id) for event in events] == [
        ("customers.department", str(department.pk)),
        ("installed_base.device", str(first.pk)),
        ("installed_base.device", str(second.pk)),
    ]
    assert {
        (event.action, event.actor_id, event.actor_label, event.job, event.reason)
        for event in events
    } == {("create", warehouse.pk, "王小明", "import:devices", "")}
    unit_event = events[1]
    assert unit_event.object_repr == "呼吸机 KD-V300 V3-0001"
    assert unit_event.changes == {
        "device_model_id": [None, ventilator.pk],
        "serial_number": [None, "V3-0001"],
        "batch_number": [None, "2601"],
        "production_date": [None, "2026-01-05"],
        "organization_id": [None, hospital_a.pk],
        "department_id": [None, department.pk],
        "installed_on": [None, "2026-03-02"],
        "accepted_on": [None, "2026-03-06"],
        "warranty_ends_on": [None, "2028-03-05"],
        "status": [None, "installed"],
        "retain_until": [None, "2039-03-06"],
    }
    assert events[0].changes == {
        "organization_id": [None, hospital_a.pk],
        "name": [None, "重症医学科"],
    }


@pytest.mark.django_db
def test_the_audit_chain_verifies_after_a_bulk_import(
    warehouse, hospital_a, ventilator, copy_from_two_rows, django_capture_on_commit_callbacks
):
    rows = [
        ["市第一人民医院", "设备科" if n % 2 else "", "KD-V300", f"V3-C{n:03d}", "", "", "", "", ""]
        for n in range(30)
    ]
    job = run(warehouse, xlsx([HEADER, *rows]), capture=django_capture_on_commit_callbacks)
    assert counts(job) == (ImportJob.Status.DONE, [], 30, 0, 0)

    sealed = audit_seal_pending()

    report = audit_verify_chain()
    assert (report.ok, report.checked, report.pending) == (True, sealed, 0)
    assert AuditEvent.objects.filter(object_type="installed_base.device").count() == 30


@pytest.mark.django_db
def test_duplicate_serials_in_the_file_and_in_the_database_are_reported_by_row(
    warehouse, hospital_a, hospital_b, ventilator, chunks_of, django_capture_on_commit_callbacks
):
    chunks_of(2)  # the file's duplicates sit in other chunks than their first rows
    DeviceFactory(device_model=ventilator, serial_number="V3-TAKEN", organization=hospital_b)
    content = xlsx(
        [
            HEADER,
            ["市第一人民医院", "", "KD-V300", "V3-A", "", "", "", "", ""],
            ["市第一人民医院", "", "KD-V300", "V3-TAKEN", "", "", "", "", ""],
            ["县中医院", "", "KD-V300", "V3-A", "", "", "", "", ""],
            ["市第一人民医院", "", "KD-V300", "V3-B", "", "", "", "", ""],
            ["市第一人民医院", "", "KD-V300", " V3-B ", "", "", "", "", ""],
        ]
    )

    job = run(warehouse, content, capture=django_capture_on_commit_callbacks, apply=False)

    assert job.errors == [
        {
            "row": 3,
            "column": "序列号",
            "message": "Serial number V3-TAKEN of 呼吸机 KD-V300 is already registered.",
        },
        {"row": 4, "column": "", "message": "The same record appears already in row 2."},
        {"row": 6, "column": "", "message": "The same record appears already in row 5."},
    ]
    assert Device.objects.count() == 1


@pytest.mark.django_db
def test_the_services_rules_are_reported_by_row_and_column(
    warehouse, hospital_a, ventilator, django_capture_on_commit_callbacks
):
    content = xlsx(
        [
            HEADER,
            ["市第一人民医院", "", "KD-V300", "V3-R1", "", "2026-03-01", "2026-02-01", "", ""],
            ["市第一人民医院", "", "KD-V300", "V3-R2", "", "", "", "2026-03-05", "2026-03-01"],
            ["市第一人民医院", "", "KD-V300", "", "", "", "", "", ""],
            ["市第一人民医院", "", "KD-V300", "V3-R3", "", "", "", "", ""],
        ]
    )

    job = run(warehouse, content, capture=django_capture_on_commit_callbacks, apply=False)

    assert job.errors == [
        {
            "row": 2,
            "column": "失效日期",
            "message": "The expiry date 2026-02-01 is before the production date 2026-03-01.",
        },
        {
            "row": 3,
            "column": "验收日期",
            "message": "The acceptance date 2026-03-01 is before the installation date 2026-03-05.",
        },
        {"row": 4, "column": "序列号", "message": "Give a serial number, a batch number or both."},
        {"row": 4, "column": "批号", "message": "Give a serial number, a batch number or both."},
    ]
    assert job.status == ImportJob.Status.INVALID


@pytest.mark.django_db
def test_a_unit_of_a_batch_under_an_evidence_hold_is_not_changed(
    warehouse, hospital_a, ventilator, chunks_of, django_capture_on_commit_callbacks
):
    chunks_of(2)
    held = DeviceFactory(
        device_model=ventilator, serial_number="V3-H1", batch_number="2601", organization=hospital_a
    )
    free = DeviceFactory(
        device_model=ventilator, serial_number="V3-H2", batch_number="2602", organization=hospital_a
    )
    HoldFactory(
        scope=HoldScope.BATCH,
        kind=HoldKind.EVIDENCE,
        device_model=ventilator,
        batch_number="2601",
        reason="不良事件调查",
    )
    header = ["客户单位", "型号规格", "序列号", "批号", "位置"]
    unchanged = xlsx([header, ["市第一人民医院", "KD-V300", "V3-H1", "2601", ""]])
    moved = xlsx(
        [
            header,
            ["市第一人民医院", "KD-V300", "V3-H2", "2602", "库房"],
            ["市第一人民医院", "KD-V300", "V3-NEW", "2601", "库房"],
            ["市第一人民医院", "KD-V300", "V3-H1", "2601", "库房"],
        ]
    )

    same = run(warehouse, unchanged, capture=django_capture_on_commit_callbacks)
    job = run(warehouse, moved, capture=django_capture_on_commit_callbacks)

    # Reading a held unit is fine; changing it is not (and a new unit is no change).
    assert counts(same) == (ImportJob.Status.DONE, [], 0, 0, 1)
    assert job.errors == [
        {
            "row": 4,
            "column": "",
            "message": "呼吸机 KD-V300 V3-H1 is under an evidence hold (不良事件调查) and may not be "
            "altered until the hold is released.",
        }
    ]
    held.refresh_from_db()
    free.refresh_from_db()
    assert (held.location, free.location, Device.objects.count()) == ("", "", 2)


@pytest.mark.django_db
def test_chunk_boundaries_neither_lose_nor_double_a_row(
    warehouse, hospital_a, hospital_b, ventilator, chunks_of, django_capture_on_commit_callbacks
):
    chunks_of(2)
    DeviceFactory(
        device_model=ventilator, serial_number="V3-K3", organization=hospital_a, location="一楼"
    )
    rows = [
        ["市第一人民医院", "设备科", "KD-V300", "V3-K1", "", "", "", "", ""],
        ["县中医院", "设备科", "KD-V300", "V3-K2", "", "", "", "", ""],
        ["市第一人民医院", "设备科", "KD-V300", "V3-K3", "", "", "", "", ""],
        ["市第一人民医院", "", "KD-V300", "", "B-1", "", "", "", ""],
        ["县中医院", "", "KD-V300", "", "B-1", "", "", "", ""],
    ]
    content = xlsx([HEADER, *rows])

    job = run(warehouse, content, capture=django_capture_on_commit_callbacks)
    again = run(warehouse, content, capture=django_capture_on_commit_callbacks)

    # V3-K3 is stored: its department and its emptied cells are a change; the others are new.
    assert counts(job) == (ImportJob.Status.DONE, [], 4, 1, 0)
    assert (job.processed_rows, job.total_rows) == (5, 5)
    assert counts(again) == (ImportJob.Status.DONE, [], 0, 0, 5)
    assert sorted(
        Device.objects.values_list("serial_number", "batch_number", "organization__name")
    ) == [
        ("", "B-1", "县中医院"),
        ("", "B-1", "市第一人民医院"),
        ("V3-K1", "", "市第一人民医院"),
        ("V3-K2", "", "县中医院"),
        ("V3-K3", "", "市第一人民医院"),
    ]
    # One department per organisation, though its rows were in two chunks.
    assert sorted(Department.objects.values_list("organization__name", "name")) == [
        ("县中医院", "设备科"),
        ("市第一人民医院", "设备科"),
    ]
    stored = Device.objects.get(serial_number="V3-K3")
    assert (stored.department.name, stored.location) == ("设备科", "一楼")  # no 位置 column


@pytest.mark.django_db
def test_a_dry_run_takes_a_fixed_number_of_queries_per_chunk(
    warehouse, hospital_a, hospital_b, ventilator, chunks_of, django_capture_on_commit_callbacks
):
    chunks_of(10)

    def queries(rows: int) -> int:
        content = xlsx(
            [
                HEADER,
                *(
                    [
                        ("市第一人民医院", "县中医院")[n % 2],
                        "设备科" if n % 3 else "",
                        "KD-V300",
                        f"V3-Q{n:04d}" if n % 4 else "",
                        f"B-{n}",
                        "2026-01-05",
                        "",
                        "2026/3/2",
                        "2026年3月6日",
                    ]
                    for n in range(rows)
                ),
            ]
        )
        with CaptureQueriesContext(connection) as captured:
            job = run(warehouse, content, capture=django_capture_on_commit_callbacks, apply=False)
        assert job.status == ImportJob.Status.VALID, job.errors
        return len(captured.captured_queries)

    queries(10)  # the first run also loads the uploader's permissions
    one_chunk, two_chunks, three_chunks = queries(10), queries(20), queries(30)

    # Same count for 5 or 10 rows of a chunk; each further chunk adds the same few queries
    # (organisations, models, departments, units by serial, units by batch, progress).
    assert queries(5) == one_chunk
    assert two_chunks - one_chunk == three_chunks - two_chunks == 6


@pytest.mark.django_db
def test_columns_left_out_are_neither_emptied_nor_checked_as_empty(
    warehouse, hospital_a, ventilator, django_capture_on_commit_callbacks
):
    unit = DeviceFactory(
        device_model=ventilator,
        serial_number="V3-L1",
        organization=hospital_a,
        installed_on=D(2026, 3, 5),
        accepted_on=D(2026, 3, 10),
        location="ICU 2床",
    )
    # Without an installation column the stored installation date still counts.
    early = xlsx([["客户单位", "型号规格", "序列号", "验收日期"], ["市第一人民医院", "KD-V300", "V3-L1", "2026-03-01"]])  # fmt: skip
    later = xlsx([["客户单位", "型号规格", "序列号", "验收日期"], ["市第一人民医院", "KD-V300", "V3-L1", "2026-04-01"]])  # fmt: skip

    refused = run(warehouse, early, capture=django_capture_on_commit_callbacks)
    job = run(warehouse, later, capture=django_capture_on_commit_callbacks)

    assert refused.errors == [
        {
            "row": 2,
            "column": "验收日期",
            "message": "The acceptance date 2026-03-01 is before the installation date 2026-03-05.",
        }
    ]
    assert counts(job) == (ImportJob.Status.DONE, [], 0, 1, 0)
    unit.refresh_from_db()
    assert (unit.installed_on, unit.accepted_on, unit.warranty_ends_on, unit.location) == (
        D(2026, 3, 5),
        D(2026, 4, 1),
        D(2028, 3, 31),
        "ICU 2床",
    )


@pytest.mark.django_db
def test_the_bulk_service_refuses_a_serial_already_registered(
    warehouse, hospital_a, ventilator, copy_from_two_rows
):
    DeviceFactory(device_model=ventilator, serial_number="V3-S1", organization=hospital_a)
    before = AuditEvent.objects.count()

    with pytest.raises(InvalidInputError) as refused:
        device_create_many(
            actor=warehouse,
            devices=[
                Device(device_model=ventilator, organization=hospital_a, serial_number="V3-S2"),
                Device(device_model=ventilator, organization=hospital_a, serial_number="V3-S1"),
            ],
        )

    assert refused.value.fields == {
        "serial_number": ["Serial number V3-S1 of 呼吸机 KD-V300 is already registered."]
    }
    assert (Device.objects.count(), AuditEvent.objects.count()) == (1, before)


@pytest.mark.django_db
def test_the_bulk_service_refuses_the_same_serial_twice(warehouse, hospital_a, ventilator):
    with pytest.raises(InvalidInputError) as refused:
        device_create_many(
            actor=warehouse,
            devices=[
                Device(device_model=ventilator, organization=hospital_a, serial_number="V3-S3"),
                Device(device_model=ventilator, organization=hospital_a, serial_number="V3-S3"),
            ],
        )

    assert refused.value.message == "The device 呼吸机 KD-V300 V3-S3 was not saved."
    assert not Device.objects.exists()
