"""Bulk import: a dry run lists every bad row and imports nothing; clean files import once;
the same file again changes nothing; GBK CSV and real XLSX files are read."""

from __future__ import annotations

import io

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from medservice.core.audit import audit_bulk_create
from medservice.core.imports import (
    SPECS,
    ImportBatch,
    ImportColumn,
    ImportRow,
    ImportSpec,
    import_confirm,
    import_start,
)
from medservice.core.models import AuditEvent, ImportJob
from medservice.customers.models import Contact, Organization
from medservice.customers.validators import credit_code_check_character

CODE = "91310000100000001"
VALID_CODE = CODE + credit_code_check_character(CODE)


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def run(actor, kind: str, name: str, content: bytes, *, apply: bool, capture) -> ImportJob:
    with capture(execute=True):
        job = import_start(actor=actor, kind=kind, upload=upload(name, content), apply=apply)
    job.refresh_from_db()
    return job


GOOD_ROWS = [
    ["名称", "类型", "统一社会信用代码", "医院等级", "省份", "城市"],
    ["市第二人民医院", "医院", VALID_CODE, "三级甲等", "上海市", "上海市"],
    ["滨江诊所", "clinic", "", "", "浙江省", "杭州市"],
]


@pytest.fixture
def importer(db, company):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    return user_with_role(Role.SERVICE_AGENT, company, username="importer")


@pytest.mark.django_db
def test_a_dry_run_lists_every_bad_row_and_imports_nothing(
    importer, django_capture_on_commit_callbacks
):
    bad = xlsx(
        [
            GOOD_ROWS[0],
            ["好医院", "医院", VALID_CODE, "", "", ""],
            ["", "医院", "", "", "", ""],
            ["坏医院", "spaceship", "123", "", "", ""],
        ]
    )
    job = run(
        importer,
        "organizations",
        "orgs.xlsx",
        bad,
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert job.status == ImportJob.Status.INVALID
    assert job.errors == [
        {"row": 3, "column": "名称", "message": "This field is required."},
        {
            "row": 4,
            "column": "类型",
            "message": "Select a valid choice. spaceship is not one of the available choices.",
        },
        {
            "row": 4,
            "column": "统一社会信用代码",
            "message": "A unified social credit code has 18 characters (digits and capital letters, no I, O, S, V, Z).",
        },
    ]
    assert not Organization.objects.filter(name="好医院").exists()


@pytest.mark.django_db
def test_errors_come_in_the_uploaders_language(importer, django_capture_on_commit_callbacks):
    importer.language = "zh-hans"
    importer.save()
    job = run(
        importer,
        "organizations",
        "o.xlsx",
        xlsx([GOOD_ROWS[0], ["", "医院"]]),
        apply=False,
        capture=django_capture_on_commit_callbacks,
    )
    assert job.errors == [{"row": 2, "column": "名称", "message": "该字段是必填项。"}]


@pytest.mark.django_db
def test_a_clean_file_imports_and_the_same_file_again_changes_nothing(
    importer, django_capture_on_commit_callbacks
):
    content = xlsx(GOOD_ROWS)
    first = run(
        importer,
        "organizations",
        "orgs.xlsx",
        content,
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert (first.status, first.created_count, first.updated_count) == (ImportJob.Status.DONE, 2, 0)
    hospital = Organization.objects.get(credit_code=VALID_CODE)
    assert (hospital.name, hospital.kind, hospital.hospital_grade, hospital.city) == (
        "市第二人民医院",
        "hospital",
        "3A",
        "上海市",
    )
    events = AuditEvent.objects.count()

    again = run(
        importer,
        "organizations",
        "orgs.xlsx",
        content,
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert (again.status, again.created_count, again.updated_count, again.unchanged_count) == (
        ImportJob.Status.DONE,
        0,
        0,
        2,
    )
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_gbk_csv_is_read(importer, django_capture_on_commit_callbacks):
    text = "名称,类型,省份\n县人民医院,医院,湖南省\n"
    job = run(
        importer,
        "organizations",
        "orgs.csv",
        text.encode("gbk"),
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert (job.status, job.created_count) == (ImportJob.Status.DONE, 1)
    assert Organization.objects.get(name="县人民医院").province == "湖南省"


@pytest.mark.django_db
def test_a_row_twice_in_one_file_is_an_error(importer, django_capture_on_commit_callbacks):
    content = "名称,类型\n甲医院,医院\n甲医院,医院\n".encode()
    job = run(
        importer,
        "organizations",
        "o.csv",
        content,
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert job.errors == [
        {"row": 3, "column": "", "message": "The same record appears already in row 2."}
    ]


@pytest.mark.django_db
def test_a_missing_required_column_names_it(importer, django_capture_on_commit_callbacks):
    job = run(
        importer,
        "organizations",
        "o.csv",
        "名称\n甲医院\n".encode(),
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert job.errors == [
        {"row": 1, "column": "", "message": "Required columns are missing: 类型."}
    ]


@pytest.mark.django_db
def test_a_clean_dry_run_imports_only_when_confirmed(importer, django_capture_on_commit_callbacks):
    job = run(
        importer,
        "organizations",
        "orgs.xlsx",
        xlsx(GOOD_ROWS),
        apply=False,
        capture=django_capture_on_commit_callbacks,
    )
    assert (job.status, Organization.objects.filter(name="滨江诊所").exists()) == (
        ImportJob.Status.VALID,
        False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_confirm(actor=importer, job=job)
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.Status.DONE, 2)


@pytest.mark.django_db
def test_contacts_import_with_phones_encrypted_and_found_by_phone(
    importer, hospital_a, django_capture_on_commit_callbacks
):
    content = xlsx(
        [
            ["客户单位", "科室", "姓名", "手机", "邮箱"],
            ["市第一人民医院", "设备科", "周建国", 13801760231, "zhou@example.cn"],
        ]
    )
    job = run(
        importer,
        "contacts",
        "c.xlsx",
        content,
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert (job.status, job.created_count) == (ImportJob.Status.DONE, 1)
    contact = Contact.objects.get(name="周建国")
    assert (contact.mobile, contact.department.name) == ("13801760231", "设备科")
    from medservice.customers.selectors import contacts_find_by_phone

    assert list(contacts_find_by_phone(importer, "138 0176 0231")) == [contact]


@pytest.mark.django_db
def test_contacts_of_an_organisation_outside_scope_are_refused(
    hospital_b, django_capture_on_commit_callbacks
):
    from medservice.accounts.choices import Role
    from tests.factories import OrganizationFactory, user_with_role

    distributor = OrganizationFactory(kind="distributor")
    engineer = user_with_role(Role.SERVICE_AGENT, distributor)
    content = xlsx([["客户单位", "姓名"], ["县中医院", "某人"]])
    job = run(
        engineer,
        "contacts",
        "c.xlsx",
        content,
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert job.errors == [
        {
            "row": 2,
            "column": "客户单位",
            "message": "No organisation named 县中医院 (or with that credit code) that you may see.",
        }
    ]


@pytest.mark.django_db
def test_the_upload_page_and_the_result_page(client, importer, django_capture_on_commit_callbacks):
    client.force_login(importer)
    assert "名称*" in client.get("/imports/new/organizations/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/imports/new/organizations/", {"file": upload("o.csv", "名称,类型\n,医院\n".encode())}
        )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "1 error — nothing was imported." in page and "This field is required." in page


@pytest.mark.django_db
def test_nobody_sees_anothers_import(client, importer, company, django_capture_on_commit_callbacks):
    from tests.factories import UserFactory

    job = run(
        importer,
        "organizations",
        "o.csv",
        "名称,类型\n甲,医院\n".encode(),
        apply=False,
        capture=django_capture_on_commit_callbacks,
    )
    client.force_login(UserFactory(organization=company))
    assert client.get(f"/imports/{job.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_role_without_the_permission_cannot_import(client, customer_a):
    client.force_login(customer_a)
    assert client.get("/imports/new/organizations/").status_code == 404


@pytest.mark.django_db
def test_a_file_of_another_type_is_refused(client, importer):
    client.force_login(importer)
    response = client.post("/imports/new/organizations/", {"file": upload("o.pdf", b"%PDF")})
    assert response.status_code == 400
    assert "Upload a .xlsx or .csv file." in response.content.decode()


@pytest.mark.django_db
def test_columns_left_out_of_a_file_leave_existing_values_alone(
    importer, django_capture_on_commit_callbacks
):
    run(
        importer,
        "organizations",
        "full.xlsx",
        xlsx(GOOD_ROWS),
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    short = xlsx([["名称", "类型", "统一社会信用代码"], ["市第二人民医院", "医院", VALID_CODE]])
    job = run(
        importer,
        "organizations",
        "short.xlsx",
        short,
        apply=True,
        capture=django_capture_on_commit_callbacks,
    )
    assert (job.status, job.updated_count, job.unchanged_count) == (ImportJob.Status.DONE, 0, 1)
    hospital = Organization.objects.get(credit_code=VALID_CODE)
    assert (hospital.hospital_grade, hospital.province, hospital.city) == ("3A", "上海市", "上海市")


class CityRowForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.CharField(max_length=20)
    city = forms.CharField(max_length=50, required=False)


@pytest.fixture
def batched_spec(monkeypatch):
    """A spec checked and applied two rows at a time: its resolver turns a kind's text into
    the kind (once per chunk), its check refuses a city, its apply writes in bulk."""
    calls: dict[str, list] = {"resolved": [], "applied": []}

    def resolve_kind(texts: set[str], user) -> dict:
        calls["resolved"].append(sorted(texts))
        kinds = {"医院": "hospital", "诊所": "clinic"}
        return {
            text: kinds[text] if text in kinds else ValidationError(f"{text} is no kind.")
            for text in texts
        }

    def check(rows: list[ImportRow], user) -> None:
        for row in rows:
            if row.cleaned.get("city") == "火星":
                row.add_error("city", "Not a city on Earth.")
                row.add_error(None, "This row was refused.")

    def apply(rows: list[dict], user) -> dict[str, int]:
        calls["applied"].append([row["name"] for row in rows])
        audit_bulk_create(
            [Organization(name=row["name"], kind=row["kind"], city=row["city"]) for row in rows]
        )
        return {"created": len(rows)}

    spec = ImportSpec(
        kind="cities",
        label="cities",
        permission="customers.add_organization",
        columns=[
            ImportColumn("name", ("名称",), required=True),
            ImportColumn("kind", ("类型",), required=True),
            ImportColumn("city", ("城市",)),
        ],
        form_class=CityRowForm,
        natural_key=lambda row: (row["name"],),
        batch=ImportBatch(check=check, apply=apply, resolvers={"kind": resolve_kind}, size=2),
    )
    monkeypatch.setitem(SPECS, "cities", spec)
    return calls


@pytest.mark.django_db
def test_a_batched_spec_reports_each_row_as_a_form_would(
    importer, batched_spec, django_capture_on_commit_callbacks
):
    content = (
        "名称,类型,城市\n甲医院,医院,上海市\n,飞船,\n乙诊所,诊所,火星\n甲医院,医院,\n".encode()
    )

    job = run(
        importer, "cities", "c.csv", content, apply=True, capture=django_capture_on_commit_callbacks
    )

    # Fields in their declared order (the resolved column in its own place), then the check's.
    assert job.errors == [
        {"row": 3, "column": "名称", "message": "This field is required."},
        {"row": 3, "column": "类型", "message": "飞船 is no kind."},
        {"row": 4, "column": "城市", "message": "Not a city on Earth."},
        {"row": 4, "column": "", "message": "This row was refused."},
        {"row": 5, "column": "", "message": "The same record appears already in row 2."},
    ]
    assert batched_spec == {"resolved": [["医院", "飞船"], ["医院", "诊所"]], "applied": []}
    assert not Organization.objects.filter(name="甲医院").exists()


@pytest.mark.django_db
def test_a_batched_spec_applies_its_clean_rows_a_chunk_at_a_time(
    importer, batched_spec, django_capture_on_commit_callbacks
):
    content = "名称,类型,城市\n甲医院,医院,上海市\n乙诊所,诊所,\n丙医院,医院,杭州市\n".encode()

    job = run(
        importer, "cities", "c.csv", content, apply=True, capture=django_capture_on_commit_callbacks
    )

    assert (job.status, job.created_count, job.processed_rows) == (ImportJob.Status.DONE, 3, 3)
    assert batched_spec["applied"] == [["甲医院", "乙诊所"], ["丙医院"]]
    created = Organization.objects.filter(name__in=["甲医院", "乙诊所", "丙医院"]).order_by("pk")
    assert [(org.name, org.kind, org.city) for org in created] == [
        ("甲医院", "hospital", "上海市"),
        ("乙诊所", "clinic", ""),
        ("丙医院", "hospital", "杭州市"),
    ]
    events = AuditEvent.objects.filter(
        object_type="customers.organization", object_id__in=[str(org.pk) for org in created]
    ).order_by("id")
    assert [
        (event.action, event.job, event.actor_id, event.changes["name"]) for event in events
    ] == [
        ("create", "import:cities", importer.pk, [None, "甲医院"]),
        ("create", "import:cities", importer.pk, [None, "乙诊所"]),
        ("create", "import:cities", importer.pk, [None, "丙医院"]),
    ]
