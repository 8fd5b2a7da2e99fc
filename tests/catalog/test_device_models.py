"""Device models: kept by quality staff through the UI and the API, read by everyone with the
view permission (customers included), refused to everyone else; certificate numbers and
UDI-DIs checked and refused by field name; lists in fixed queries; exports."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time
from openpyxl import load_workbook

from medservice.accounts.choices import Role
from medservice.catalog.models import DeviceModel
from medservice.core.models import AuditEvent
from tests.catalog.factories import (
    DeviceModelFactory,
    ManufacturerFactory,
    ProductLineFactory,
    udi_di,
)
from tests.factories import UserFactory, user_with_role


@pytest.fixture
def company_maker(db):
    return ManufacturerFactory(name="康达医疗器械有限公司")


@pytest.fixture
def monitors(db):
    return ProductLineFactory(name="病人监护仪")


def model_form(manufacturer, line, **changes):
    form = {
        "name": "多参数病人监护仪",
        "model_spec": "KD-M8000",
        "manufacturer": manufacturer.pk,
        "product_line": line.pk,
        "risk_class": "II",
        "product_type": "active",
        "registration_number": "沪械注准20212070345",
        "registration_valid_until": "2031-05-31",
        "udi_di": "06951234500016",
        "tracking": "serial",
        "service_life_years": "8",
        "warranty_months": "24",
        "pm_interval_days": "180",
    }
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


# --- quality staff keep device models --------------------------------------------------------


@pytest.mark.django_db
def test_quality_staff_register_a_device_model_through_the_ui(
    as_quality, quality_staff, company_maker, monitors
):
    response = as_quality.post("/catalog/device-models/new/", model_form(company_maker, monitors))

    assert response.status_code == 302
    model = DeviceModel.objects.get(model_spec="KD-M8000")
    assert response["Location"] == f"/catalog/device-models/{model.pk}/"
    assert (
        model.name,
        model.risk_class,
        model.registration_number,
        model.registration_valid_until,
        model.udi_di,
        model.warranty_months,
        model.pm_interval_days,
        model.life_support,
    ) == (
        "多参数病人监护仪",
        "II",
        "沪械注准20212070345",
        datetime.date(2031, 5, 31),
        "06951234500016",
        24,
        180,
        False,
    )
    event = AuditEvent.objects.get(object_type="catalog.devicemodel", object_id=str(model.pk))
    assert (event.action, event.actor_id) == ("create", quality_staff.pk)


@pytest.mark.django_db
def test_quality_staff_edit_a_device_model_through_the_ui_and_the_change_is_audited(
    as_quality, quality_staff
):
    model = DeviceModelFactory(model_spec="KD-M8000", pm_interval_days=180)
    form = model_form(
        model.manufacturer,
        model.product_line,
        registration_number=model.registration_number,
        udi_di=model.udi_di,
        pm_interval_days="90",
        life_support="on",
        version=model.version,
    )

    response = as_quality.post(f"/catalog/device-models/{model.pk}/edit/", form)

    assert response.status_code == 302
    model.refresh_from_db()
    assert (model.pm_interval_days, model.life_support, model.version) == (90, True, 2)
    event = AuditEvent.objects.get(
        object_type="catalog.devicemodel", object_id=str(model.pk), action="update"
    )
    assert event.changes["pm_interval_days"] == [180, 90]
    assert event.changes["life_support"] == [False, True]
    assert event.actor_id == quality_staff.pk


@pytest.mark.django_db
def test_quality_staff_delete_an_unused_device_model_with_a_reason(as_quality):
    model = DeviceModelFactory(model_spec="KD-OLD")

    response = as_quality.post(f"/catalog/device-models/{model.pk}/delete/", {"reason": "录入错误"})

    assert response.status_code == 302
    assert not DeviceModel.objects.filter(pk=model.pk).exists()
    event = AuditEvent.objects.get(
        object_type="catalog.devicemodel", object_id=str(model.pk), action="delete"
    )
    assert event.reason == "录入错误"


@pytest.mark.django_db
def test_quality_staff_create_read_update_and_delete_through_the_api(
    api, quality_staff, company_maker, monitors
):
    client = api.as_user(quality_staff)
    payload = {
        "name": "呼吸机",
        "model_spec": "HK-V900",
        "registration_number": "国械注准20203080421",
        "registration_valid_until": "2029-02-28",
        "risk_class": "III",
        "manufacturer": company_maker.pk,
        "product_line": monitors.pk,
        "udi_di": "06934567800022",
        "warranty_months": 24,
        "pm_interval_days": 90,
        "life_support": True,
    }

    with freeze_time("2026-11-27"):
        created = client.post("/api/v1/device-models/", payload, format="json")

    assert created.status_code == 201
    body = created.json()
    pk = body["id"]
    assert {key: body[key] for key in [*payload, "registration_status", "version"]} == {
        **payload,
        "registration_status": "valid",
        "version": 1,
    }
    assert client.get(f"/api/v1/device-models/{pk}/").json()["model_spec"] == "HK-V900"

    changed = client.patch(
        f"/api/v1/device-models/{pk}/", {"pm_interval_days": 60, "version": 1}, format="json"
    )
    assert (changed.status_code, changed.json()["pm_interval_days"]) == (200, 60)
    assert changed.json()["version"] == 2

    gone = client.delete(f"/api/v1/device-models/{pk}/?reason=重复录入")
    assert gone.status_code == 204
    assert not DeviceModel.objects.filter(pk=pk).exists()


@pytest.mark.django_db
def test_the_quality_manager_and_the_administrator_may_also_change_device_models(
    api, quality_manager, administrator
):
    model = DeviceModelFactory(warranty_months=12)
    for person, months in ((quality_manager, 18), (administrator, 24)):
        response = api.as_user(person).patch(
            f"/api/v1/device-models/{model.pk}/", {"warranty_months": months}, format="json"
        )
        assert response.status_code == 200
    model.refresh_from_db()
    assert model.warranty_months == 24


# --- everyone else reads -------------------------------------------------------------------


@pytest.fixture(params=[Role.SERVICE_AGENT, Role.FIELD_ENGINEER, Role.CUSTOMER_USER])
def reader(request, company, hospital_a):
    organization = hospital_a if request.param == Role.CUSTOMER_USER else company
    return user_with_role(request.param, organization)


@pytest.mark.django_db
def test_other_roles_get_404_on_the_change_pages(client, reader):
    model = DeviceModelFactory()
    client.force_login(reader)

    assert client.get(f"/catalog/device-models/{model.pk}/").status_code == 200
    assert client.get("/catalog/device-models/new/").status_code == 404
    assert client.post("/catalog/device-models/new/", {"name": "x"}).status_code == 404
    assert client.get(f"/catalog/device-models/{model.pk}/edit/").status_code == 404
    assert client.post(f"/catalog/device-models/{model.pk}/edit/", {}).status_code == 404
    assert (
        client.post(f"/catalog/device-models/{model.pk}/delete/", {"reason": "x"}).status_code
        == 404
    )
    model.refresh_from_db()
    assert model.version == 1


@pytest.mark.django_db
def test_other_roles_get_403_on_api_writes(api, reader, company_maker):
    model = DeviceModelFactory()
    client = api.as_user(reader)

    created = client.post(
        "/api/v1/device-models/",
        {"name": "x", "model_spec": "y", "risk_class": "I", "manufacturer": company_maker.pk},
        format="json",
    )
    changed = client.patch(f"/api/v1/device-models/{model.pk}/", {"name": "z"}, format="json")
    deleted = client.delete(f"/api/v1/device-models/{model.pk}/?reason=x")

    assert [created.status_code, changed.status_code, deleted.status_code] == [403, 403, 403]
    assert created.json()["error"]["code"] == "permission_denied"
    assert DeviceModel.objects.count() == 1
    model.refresh_from_db()
    assert model.name == "多参数病人监护仪"


@pytest.mark.django_db
def test_a_customer_reads_device_models_but_not_suppliers_or_manufacturers(api, client, customer_a):
    model = DeviceModelFactory(model_spec="KD-M8000")
    reader = api.as_user(customer_a)

    listed = reader.get("/api/v1/device-models/")
    assert listed.status_code == 200
    assert [row["model_spec"] for row in listed.json()["results"]] == ["KD-M8000"]
    assert reader.get(f"/api/v1/device-models/{model.pk}/").status_code == 200
    assert reader.get("/api/v1/suppliers/").status_code == 403
    assert reader.get("/api/v1/manufacturers/").status_code == 403
    assert reader.get("/api/v1/supplier-licences/").status_code == 403
    client.force_login(customer_a)
    assert client.get("/catalog/device-models/").status_code == 200
    assert client.get("/catalog/suppliers/").status_code == 404


@pytest.mark.django_db
def test_a_user_without_an_organisation_sees_no_device_models(api):
    DeviceModelFactory()
    loner = UserFactory(organization=None, role=Role.CUSTOMER_USER)

    assert api.as_user(loner).get("/api/v1/device-models/").json()["count"] == 0


# --- version conflicts ------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_quality_staff_editing_one_model_do_not_lose_either_change(
    client, quality_staff, quality_manager
):
    model = DeviceModelFactory(model_spec="KD-M8000", warranty_months=12)
    second = type(client)(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(quality_staff)
    second.force_login(quality_manager)
    form = model_form(
        model.manufacturer,
        model.product_line,
        registration_number=model.registration_number,
        udi_di=model.udi_di,
        warranty_months="24",
        version=1,
    )
    assert client.post(f"/catalog/device-models/{model.pk}/edit/", form).status_code == 302

    stale = second.post(
        f"/catalog/device-models/{model.pk}/edit/", {**form, "warranty_months": "36"}
    )

    assert stale.status_code == 409
    assert "was changed by someone else after you opened it" in stale.content.decode()
    model.refresh_from_db()
    assert (model.warranty_months, model.version) == (24, 2)


@pytest.mark.django_db
def test_the_api_refuses_a_stale_version_with_409(api, quality_staff):
    model = DeviceModelFactory(warranty_months=12)
    client = api.as_user(quality_staff)
    url = f"/api/v1/device-models/{model.pk}/"
    assert (
        client.patch(url, {"warranty_months": 18, "version": 1}, format="json").status_code == 200
    )

    stale = client.patch(url, {"warranty_months": 36, "version": 1}, format="json")

    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    model.refresh_from_db()
    assert model.warranty_months == 18


# --- certificate numbers and UDI-DIs ------------------------------------------------------------


@pytest.mark.django_db
def test_a_class_iii_model_with_a_filing_number_is_refused_on_that_field_in_the_api(
    api, quality_staff, company_maker
):
    response = api.as_user(quality_staff).post(
        "/api/v1/device-models/",
        {
            "name": "输液泵",
            "model_spec": "KD-IP300",
            "risk_class": "III",
            "registration_number": "沪械备20200012号",
            "manufacturer": company_maker.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {
        "registration_number": [
            "沪械备20200012号 is a filing number (备案), which only class I models have; a class "
            "II or III model has a registration certificate such as 国械注准20213070123."
        ]
    }
    assert not DeviceModel.objects.exists()


@pytest.mark.django_db
def test_a_class_ii_model_without_a_certificate_is_refused_on_that_field_in_the_ui(
    as_quality, company_maker, monitors
):
    response = as_quality.post(
        "/catalog/device-models/new/",
        model_form(company_maker, monitors, registration_number=""),
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["registration_number"] == [
        "A class II or III device model needs its registration certificate number (注册证编号)."
    ]
    assert not DeviceModel.objects.exists()


@pytest.mark.django_db
def test_a_certificate_of_another_class_is_refused_when_editing_through_the_api(api, quality_staff):
    model = DeviceModelFactory(risk_class="II", registration_number="沪械注准20212070345")

    response = api.as_user(quality_staff).patch(
        f"/api/v1/device-models/{model.pk}/", {"risk_class": "III"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "registration_number": [
            "沪械注准20212070345 is the certificate of a class II device (the digit after the "
            "year), but this model is class III."
        ]
    }
    model.refresh_from_db()
    assert (model.risk_class, model.version) == ("II", 1)


@pytest.mark.django_db
def test_a_class_i_model_may_be_filed_and_spaces_in_numbers_are_dropped(
    api, quality_staff, company_maker
):
    response = api.as_user(quality_staff).post(
        "/api/v1/device-models/",
        {
            "name": "医用输液架",
            "model_spec": "KD-IVS01",
            "risk_class": "I",
            "product_type": "non_active",
            "registration_number": "沪械备 2020 0012号",
            "manufacturer": company_maker.pk,
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["registration_number"] == "沪械备20200012号"


@pytest.mark.django_db
def test_a_udi_di_with_a_wrong_check_digit_is_refused_on_that_field(
    api, as_quality, quality_staff, company_maker, monitors
):
    ui = as_quality.post(
        "/catalog/device-models/new/",
        model_form(company_maker, monitors, udi_di="06951234500017"),
    )
    through_api = api.as_user(quality_staff).post(
        "/api/v1/device-models/",
        {
            "name": "多参数病人监护仪",
            "model_spec": "KD-M8000",
            "risk_class": "II",
            "registration_number": "沪械注准20212070345",
            "manufacturer": company_maker.pk,
            "udi_di": "06951234500017",
        },
        format="json",
    )

    message = "The check digit of this UDI-DI is wrong (the last digit should be 6)."
    assert ui.status_code == 400
    assert ui.context["form"].errors["udi_di"] == [message]
    assert through_api.status_code == 400
    assert through_api.json()["error"]["fields"] == {"udi_di": [message]}
    assert not DeviceModel.objects.exists()


@pytest.mark.django_db
def test_a_udi_di_already_used_by_another_model_is_refused_on_that_field(
    api, as_quality, quality_staff, company_maker, monitors
):
    DeviceModelFactory(udi_di="06951234500016")

    ui = as_quality.post("/catalog/device-models/new/", model_form(company_maker, monitors))
    through_api = api.as_user(quality_staff).post(
        "/api/v1/device-models/",
        {
            "name": "多参数病人监护仪",
            "model_spec": "KD-M8000",
            "risk_class": "II",
            "registration_number": "沪械注准20212070345",
            "manufacturer": company_maker.pk,
            "udi_di": "06951234500016",
        },
        format="json",
    )

    message = "Another device model already has this UDI-DI."
    assert ui.status_code == 400
    assert ui.context["form"].errors["udi_di"] == [message]
    assert through_api.status_code == 400
    assert through_api.json()["error"]["fields"] == {"udi_di": [message]}
    assert DeviceModel.objects.count() == 1


@pytest.mark.django_db
def test_models_without_a_udi_di_do_not_clash(api, quality_staff, company_maker):
    DeviceModelFactory(udi_di="")
    response = api.as_user(quality_staff).post(
        "/api/v1/device-models/",
        {
            "name": "医用输液架",
            "model_spec": "KD-IVS01",
            "risk_class": "I",
            "manufacturer": company_maker.pk,
            "udi_di": "",
        },
        format="json",
    )
    assert response.status_code == 201


# --- lists, filters and exports -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_page_runs_in_the_same_number_of_queries_however_long(as_quality):
    DeviceModelFactory.create_batch(3)
    with CaptureQueriesContext(connection) as small:
        as_quality.get("/catalog/device-models/")
    DeviceModelFactory.create_batch(20)
    with CaptureQueriesContext(connection) as large:
        page = as_quality.get("/catalog/device-models/")
    assert page.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.django_db
def test_the_api_list_runs_in_the_same_number_of_queries_however_long(api, quality_staff):
    client = api.as_user(quality_staff)
    DeviceModelFactory.create_batch(3)
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/device-models/")
    DeviceModelFactory.create_batch(20)
    with CaptureQueriesContext(connection) as large:
        response = client.get("/api/v1/device-models/")
    assert response.json()["count"] == 23
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.django_db
def test_the_list_filters_by_risk_class_life_support_and_certificate_expiry(
    as_quality, django_assert_max_num_queries
):
    DeviceModelFactory(model_spec="KD-M8000", risk_class="II")
    DeviceModelFactory(
        name="呼吸机",
        model_spec="HK-V900",
        risk_class="III",
        registration_number="国械注准20203080421",
        life_support=True,
        registration_valid_until=datetime.date(2027, 1, 10),
    )
    DeviceModelFactory(
        name="便携式病人监护仪",
        model_spec="KD-M5",
        registration_valid_until=datetime.date(2026, 11, 1),
    )

    def specs(**query):
        with freeze_time("2026-11-27"), django_assert_max_num_queries(12):
            page = as_quality.get("/catalog/device-models/", query)
        return sorted(row["object"].model_spec for row in page.context["rows"])

    assert specs(risk_class="III") == ["HK-V900"]
    assert specs(life_support="true") == ["HK-V900"]
    assert specs(registration="expiring") == ["HK-V900"]
    assert specs(registration="expired") == ["KD-M5"]
    assert specs(registration="valid") == ["KD-M8000"]
    assert specs(registration_valid_until_before="2026-12-31") == ["KD-M5"]
    assert specs(q="国械注准2020308") == ["HK-V900"]


@pytest.mark.django_db
def test_the_api_filters_by_manufacturer_and_product_line(api, quality_staff):
    ventilators = ProductLineFactory(name="呼吸机")
    wanted = DeviceModelFactory(model_spec="HK-V900", product_line=ventilators)
    DeviceModelFactory(model_spec="KD-M8000")
    client = api.as_user(quality_staff)

    by_line = client.get("/api/v1/device-models/", {"product_line": ventilators.pk}).json()
    by_maker = client.get("/api/v1/device-models/", {"manufacturer": wanted.manufacturer_id}).json()

    assert [row["model_spec"] for row in by_line["results"]] == ["HK-V900"]
    assert [row["model_spec"] for row in by_maker["results"]] == ["HK-V900"]


@pytest.fixture
def ventilator(db):
    return DeviceModelFactory(
        name="呼吸机",
        model_spec="HK-V900",
        manufacturer=ManufacturerFactory(name="深圳华康生物医疗电子有限公司"),
        product_line=ProductLineFactory(name="呼吸机"),
        risk_class="III",
        registration_number="国械注准20203080421",
        registration_valid_until=datetime.date(2029, 2, 28),
        udi_di="06934567800022",
        life_support=True,
        warranty_months=24,
        pm_interval_days=90,
        service_life_years=10,
    )


@pytest.mark.django_db
def test_device_models_export_to_csv_with_a_byte_order_mark(as_quality, ventilator):
    DeviceModelFactory(model_spec="KD-M8000", risk_class="II")

    response = as_quality.get("/catalog/device-models/", {"export": "csv", "risk_class": "III"})

    content = b"".join(response.streaming_content)
    assert response["Content-Disposition"] == 'attachment; filename="device-models.csv"'
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["ID", "name", "model/spec", "manufacturer", "product line", "risk class"]
    assert rows[1:] == [
        [
            str(ventilator.pk),
            "呼吸机",
            "HK-V900",
            "深圳华康生物医疗电子有限公司",
            "呼吸机",
            "Class III",
            "Active device",
            "国械注准20203080421",
            "2029-02-28",
            "06934567800022",
            "No",
            "Yes",
            "No",
            "By serial number (one unit each)",
            "10",
            "24",
            "90",
        ]
    ]


@pytest.mark.django_db
def test_device_models_export_to_xlsx_that_reads_back(as_quality, ventilator):
    DeviceModelFactory(model_spec="KD-M8000")

    response = as_quality.get("/catalog/device-models/", {"export": "xlsx", "q": "HK-V"})

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(rows) == 2
    assert rows[1][1:6] == [
        "呼吸机",
        "HK-V900",
        "深圳华康生物医疗电子有限公司",
        "呼吸机",
        "Class III",
    ]
    assert rows[1][7] == "国械注准20203080421"


@pytest.mark.django_db
def test_a_customer_exports_device_models_too(client, customer_a, ventilator):
    client.force_login(customer_a)
    response = client.get("/catalog/device-models/", {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row[2] for row in rows[1:]] == ["HK-V900"]


def test_the_test_factory_makes_valid_udi_dis():
    from medservice.catalog.validators import validate_udi_di

    for n in (0, 7, 123456):
        validate_udi_di(udi_di(n))


@pytest.mark.django_db
def test_a_scanned_udi_di_finds_its_model_for_those_who_may_see_it(customer_a):
    from medservice.catalog.selectors import device_model_by_udi_di

    model = DeviceModelFactory(udi_di="06951234500016")
    loner = UserFactory(organization=None, role=Role.CUSTOMER_USER)

    assert device_model_by_udi_di(customer_a, " 06951234500016 ") == model
    assert device_model_by_udi_di(customer_a, "06951234500023") is None
    assert device_model_by_udi_di(loner, "06951234500016") is None
