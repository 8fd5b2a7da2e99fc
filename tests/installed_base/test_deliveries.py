"""Deliveries (销售记录): every line checked, every problem reported at once with its line
number, nothing half saved; serial lines create the units they ship."""

from __future__ import annotations

import datetime
import os
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import translation

from medservice.core.errors import InvalidInputError
from medservice.core.models import AuditEvent
from medservice.installed_base.choices import DeviceStatus, HoldScope
from medservice.installed_base.models import Delivery, DeliveryLine, Device
from medservice.installed_base.services import delivery_create, hold_place, hold_release
from tests.installed_base.factories import DeviceFactory, DeviceModelFactory, licensed_supplier

D = datetime.date
DELIVERED = D(2026, 3, 2)


def deliver(actor, organization, *lines, **header):
    return delivery_create(
        actor=actor,
        organization=organization,
        delivered_on=header.pop("delivered_on", DELIVERED),
        lines=list(lines),
        **header,
    )


def problems_of(call) -> dict[str, list[str]]:
    with pytest.raises(InvalidInputError) as error:
        call()
    return error.value.fields


def nothing_saved() -> bool:
    return not (
        Delivery.objects.exists() or DeliveryLine.objects.exists() or Device.objects.exists()
    )


@pytest.mark.django_db
def test_serial_lines_create_units_and_batch_lines_stay_traceable(
    warehouse, hospital_a, monitor, strips
):
    supplier = licensed_supplier()
    delivery = deliver(
        warehouse,
        hospital_a,
        {
            "device_model": monitor,
            "batch_number": "2512",
            "serial_number": "KM8-2512-00001",
            "udi_pi": "(11)251201(10)2512(21)KM8-2512-00001",
            "unit_price": Decimal("38600"),
            "production_date": D(2025, 12, 1),
            "supplier": supplier,
        },
        {"device_model": monitor.pk, "serial_number": "KM8-2512-00002"},
        {
            "device_model": strips,
            "batch_number": "260115",
            "quantity": 200,
            "unit_price": "65.00",
            "production_date": D(2026, 1, 15),
            "expiry_date": D(2027, 7, 14),
        },
        invoice_number="44031001",
        salesperson=warehouse,
    )
    assert delivery.number == f"DL-{datetime.date.today().year}-000001"
    assert delivery.lines.count() == 3
    first, second = Device.objects.filter(delivery_line__delivery=delivery).order_by(
        "serial_number"
    )
    assert (first.organization, first.status, first.supplier) == (
        hospital_a,
        DeviceStatus.INSTALLED,
        supplier,
    )
    assert (first.batch_number, first.udi_pi, first.production_date) == (
        "2512",
        "(11)251201(10)2512(21)KM8-2512-00001",
        D(2025, 12, 1),
    )
    assert first.delivery_line.unit_price == Decimal("38600")
    # Until installation and acceptance, the warranty runs from the delivery date.
    assert first.warranty_ends_on == D(2027, 3, 1)
    assert second.serial_number == "KM8-2512-00002"
    strip_line = delivery.lines.get(device_model=strips)
    assert (strip_line.quantity, strip_line.devices.count()) == (200, 0)
    # R-DIST: kept until the latest expiry + 2 years, at least 5 years from the delivery.
    assert delivery.retain_until == D(2031, 3, 2)
    actors = set(
        AuditEvent.objects.filter(object_type__startswith="installed_base.").values_list(
            "actor", flat=True
        )
    )
    assert actors == {warehouse.pk}


@pytest.mark.django_db
def test_retention_follows_the_latest_expiry(warehouse, hospital_a, strips):
    delivery = deliver(
        warehouse,
        hospital_a,
        {"device_model": strips, "batch_number": "A", "quantity": 5, "expiry_date": D(2030, 6, 1)},
    )
    assert delivery.retain_until == D(2032, 6, 1)


@pytest.mark.django_db
def test_a_line_needs_a_batch_or_a_serial(warehouse, hospital_a, monitor, strips):
    problems = problems_of(
        lambda: deliver(
            warehouse,
            hospital_a,
            {"device_model": strips, "quantity": 10},
            {"device_model": monitor},
        )
    )
    assert problems == {
        "lines.1.batch_number": ["Line 1: give a batch number, a serial number or both."],
        "lines.2.serial_number": ["Line 2: give a batch number, a serial number or both."],
    }
    assert nothing_saved()


@pytest.mark.django_db
def test_a_serial_tracked_model_needs_each_units_serial(warehouse, hospital_a, monitor):
    problems = problems_of(
        lambda: deliver(
            warehouse, hospital_a, {"device_model": monitor, "batch_number": "2512", "quantity": 3}
        )
    )
    assert problems["lines.1.serial_number"] == [
        f"Line 1: {monitor} is tracked by serial number: give each unit's serial number."
    ]


@pytest.mark.django_db
def test_a_serial_line_is_one_unit(warehouse, hospital_a, monitor):
    problems = problems_of(
        lambda: deliver(
            warehouse, hospital_a, {"device_model": monitor, "serial_number": "S1", "quantity": 2}
        )
    )
    assert problems == {
        "lines.1.quantity": [
            "Line 1: a line with a serial number is one unit: the quantity must be 1."
        ]
    }


@pytest.mark.django_db
def test_a_serial_already_registered_for_the_model_is_refused_by_name(
    warehouse, hospital_a, hospital_b, monitor
):
    DeviceFactory(device_model=monitor, serial_number="KM8-2512-00001", organization=hospital_b)
    problems = problems_of(
        lambda: deliver(
            warehouse, hospital_a, {"device_model": monitor, "serial_number": "KM8-2512-00001"}
        )
    )
    assert problems == {
        "lines.1.serial_number": [
            f"Line 1: Serial number KM8-2512-00001 of {monitor} is already registered."
        ]
    }
    # The same serial on another model is another unit.
    other_model = DeviceModelFactory()
    deliver(warehouse, hospital_a, {"device_model": other_model, "serial_number": "KM8-2512-00001"})


@pytest.mark.django_db
def test_the_same_serial_twice_in_one_delivery_is_refused(warehouse, hospital_a, monitor):
    problems = problems_of(
        lambda: deliver(
            warehouse,
            hospital_a,
            {"device_model": monitor, "serial_number": "S-7"},
            {"device_model": monitor, "serial_number": "S-8"},
            {"device_model": monitor, "serial_number": "S-7"},
        )
    )
    assert problems == {
        "lines.3.serial_number": ["Line 3: serial number S-7 is already on line 1."]
    }
    assert nothing_saved()


@pytest.mark.django_db
def test_dates_in_the_wrong_order_are_refused(warehouse, hospital_a, strips):
    problems = problems_of(
        lambda: deliver(
            warehouse,
            hospital_a,
            {
                "device_model": strips,
                "batch_number": "B1",
                "production_date": D(2026, 2, 1),
                "expiry_date": D(2026, 1, 1),
            },
            {"device_model": strips, "batch_number": "B2", "production_date": D(2026, 4, 1)},
            {"device_model": strips, "batch_number": "B3", "expiry_date": D(2026, 3, 1)},
        )
    )
    assert problems == {
        "lines.1.expiry_date": [
            "Line 1: the expiry date 2026-01-01 is before the production date 2026-02-01.",
            "Line 1: the product expired on 2026-01-01, before the delivery date 2026-03-02.",
        ],
        "lines.2.production_date": [
            "Line 2: the production date 2026-04-01 is after the delivery date 2026-03-02."
        ],
        "lines.3.expiry_date": [
            "Line 3: the product expired on 2026-03-01, before the delivery date 2026-03-02."
        ],
    }


@pytest.mark.django_db
def test_a_held_batch_cannot_be_delivered_and_the_hold_reason_is_named(
    warehouse, quality, hospital_a, strips, monitor
):
    hold = hold_place(
        actor=quality,
        scope=HoldScope.BATCH,
        device_model=strips,
        batch_number="260115",
        reason="测量值偏高，复核中",
    )
    held_serial = hold_place(
        actor=quality,
        scope=HoldScope.SERIAL,
        device_model=monitor,
        serial_number="KM8-9",
        reason="运输中跌落",
    )
    problems = problems_of(
        lambda: deliver(
            warehouse,
            hospital_a,
            {"device_model": strips, "batch_number": "260115", "quantity": 10},
            {"device_model": strips, "batch_number": "260116", "quantity": 10},
            {"device_model": monitor, "serial_number": "KM8-9"},
        )
    )
    assert problems == {
        "lines.1.batch_number": [
            "Line 1: batch 260115 is on hold (测量值偏高，复核中) and may not be delivered."
        ],
        "lines.3.serial_number": [
            "Line 3: serial number KM8-9 is on hold (运输中跌落) and may not be delivered."
        ],
    }
    assert nothing_saved()
    # The same batch of another model is not held; a released hold no longer blocks.
    deliver(
        warehouse,
        hospital_a,
        {"device_model": DeviceModelFactory(), "serial_number": "X", "batch_number": "260115"},
    )
    hold_release(actor=quality, hold=hold, reason="复核合格")
    hold_release(actor=quality, hold=held_serial, reason="检测合格")
    deliver(
        warehouse,
        hospital_a,
        {"device_model": strips, "batch_number": "260115", "quantity": 10},
        {"device_model": monitor, "serial_number": "KM8-9"},
    )


@pytest.mark.django_db
def test_an_expired_supplier_licence_locks_deliveries(warehouse, hospital_a, strips):
    supplier = licensed_supplier(name="上海瑞康医疗器械贸易有限公司", valid_until=D(2026, 2, 28))
    line = {"device_model": strips, "batch_number": "B1", "supplier": supplier}
    problems = problems_of(lambda: deliver(warehouse, hospital_a, line))
    assert list(problems) == ["lines.1.supplier"]
    (message,) = problems["lines.1.supplier"]
    assert message.startswith("Line 1: 上海瑞康医疗器械贸易有限公司 is locked:")
    assert "expired on 2026-02-28" in message
    assert nothing_saved()
    # On a day the licence was still valid the same supplier may supply.
    deliver(warehouse, hospital_a, line, delivered_on=D(2026, 2, 28))


@pytest.mark.django_db
def test_a_model_whose_certificate_expired_cannot_be_delivered(warehouse, hospital_a):
    model = DeviceModelFactory(registration_valid_until=D(2026, 1, 31))
    problems = problems_of(
        lambda: deliver(warehouse, hospital_a, {"device_model": model, "serial_number": "S"})
    )
    assert "expired on 2026-01-31" in problems["lines.1.device_model"][0]


@pytest.mark.django_db
def test_every_problem_of_every_line_is_reported_at_once(warehouse, hospital_a, monitor, strips):
    DeviceFactory(device_model=monitor, serial_number="DUP")
    with pytest.raises(InvalidInputError) as error:
        deliver(
            warehouse,
            hospital_a,
            {"device_model": monitor, "serial_number": "OK-1"},
            {"device_model": monitor, "serial_number": "DUP"},
            {"device_model": strips, "quantity": 0},
            {"device_model": 999999, "serial_number": "Z"},
        )
    assert error.value.message == "Nothing was saved: correct line(s) 2, 3, 4."
    assert set(error.value.fields) == {
        "lines.2.serial_number",
        "lines.3.batch_number",
        "lines.3.quantity",
        "lines.4.device_model",
    }
    assert not Delivery.objects.exists() and Device.objects.count() == 1


@pytest.mark.django_db
def test_a_delivery_needs_a_customer_a_date_and_a_line(warehouse):
    problems = problems_of(
        lambda: delivery_create(actor=warehouse, organization=None, delivered_on=None, lines=[])
    )
    assert set(problems) == {"organization", "delivered_on", "lines"}


@pytest.mark.django_db
def test_a_given_number_must_be_new(warehouse, hospital_a, strips):
    line = {"device_model": strips, "batch_number": "B"}
    deliver(warehouse, hospital_a, line, number="DL-2026-KD-01")
    problems = problems_of(lambda: deliver(warehouse, hospital_a, line, number="DL-2026-KD-01"))
    assert problems == {"number": ["Delivery number DL-2026-KD-01 is already used."]}


# --- API --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_creates_a_delivery_with_nested_lines(api, warehouse, hospital_a, monitor, strips):
    response = api.as_user(warehouse).post(
        "/api/v1/deliveries/",
        {
            "organization": hospital_a.pk,
            "delivered_on": "2026-03-02",
            "invoice_number": "44031001",
            "lines": [
                {
                    "device_model": monitor.pk,
                    "batch_number": "2512",
                    "serial_number": "KM8-2512-00001",
                    "unit_price": "38600.00",
                },
                {"device_model": strips.pk, "batch_number": "260115", "quantity": 100},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("DL-")
    assert [(line["serial_number"], line["quantity"]) for line in body["lines"]] == [
        ("KM8-2512-00001", 1),
        ("", 100),
    ]
    device = Device.objects.get(serial_number="KM8-2512-00001")
    assert device.organization == hospital_a
    listed = api.as_user(warehouse).get("/api/v1/deliveries/").json()
    assert listed["count"] == 1 and len(listed["results"][0]["lines"]) == 2


@pytest.mark.django_db
def test_the_api_reports_every_line_problem_at_once(
    api, warehouse, quality, hospital_a, monitor, strips
):
    hold_place(
        actor=quality,
        scope=HoldScope.BATCH,
        device_model=strips,
        batch_number="H1",
        reason="复核中",
    )
    DeviceFactory(device_model=monitor, serial_number="DUP")
    response = api.as_user(warehouse).post(
        "/api/v1/deliveries/",
        {
            "organization": hospital_a.pk,
            "delivered_on": "2026-03-02",
            "lines": [
                {"device_model": monitor.pk, "serial_number": "NEW-1"},
                {"device_model": monitor.pk, "serial_number": "DUP"},
                {"device_model": strips.pk, "batch_number": "H1", "quantity": 5},
                {"device_model": strips.pk, "quantity": 5},
                {"device_model": monitor.pk, "serial_number": "NEW-2", "quantity": 3},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "Nothing was saved: correct line(s) 2, 3, 4, 5."
    assert error["fields"] == {
        "lines.2.serial_number": [f"Line 2: Serial number DUP of {monitor} is already registered."],
        "lines.3.batch_number": ["Line 3: batch H1 is on hold (复核中) and may not be delivered."],
        "lines.4.batch_number": ["Line 4: give a batch number, a serial number or both."],
        "lines.5.quantity": [
            "Line 5: a line with a serial number is one unit: the quantity must be 1."
        ],
    }
    assert not Delivery.objects.exists()
    assert Device.objects.count() == 1


@pytest.mark.django_db
def test_the_api_names_malformed_lines_by_number(api, warehouse, hospital_a, monitor):
    response = api.as_user(warehouse).post(
        "/api/v1/deliveries/",
        {
            "organization": hospital_a.pk,
            "delivered_on": "2026-03-02",
            "lines": [
                {"device_model": monitor.pk, "serial_number": "A"},
                {"device_model": 999999, "serial_number": "B", "unit_price": "abc"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"lines.2.device_model", "lines.2.unit_price"}
    assert fields["lines.2.device_model"][0].startswith("Line 2: ")
    empty = api.as_user(warehouse).post(
        "/api/v1/deliveries/",
        {"organization": hospital_a.pk, "delivered_on": "2026-03-02", "lines": []},
        format="json",
    )
    assert empty.status_code == 400 and "lines" in empty.json()["error"]["fields"]


@pytest.mark.django_db
def test_a_delivery_to_an_organisation_out_of_scope_is_refused(
    api, distributor_engineer, hospital_b, monitor
):
    # A distributor cannot even name a customer it does not serve (and may not add deliveries).
    response = api.as_user(distributor_engineer).post(
        "/api/v1/deliveries/",
        {
            "organization": hospital_b.pk,
            "delivered_on": "2026-03-02",
            "lines": [{"device_model": monitor.pk, "serial_number": "A"}],
        },
        format="json",
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_only_the_paperwork_of_a_delivery_changes_afterwards(
    api, manager, warehouse, hospital_a, hospital_b, strips
):
    delivery = deliver(warehouse, hospital_a, {"device_model": strips, "batch_number": "B"})
    client = api.as_user(manager)
    response = client.patch(
        f"/api/v1/deliveries/{delivery.pk}/",
        {"invoice_number": "44039999", "organization": hospital_b.pk, "delivered_on": "2020-01-01"},
        format="json",
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert (delivery.invoice_number, delivery.organization, delivery.delivered_on) == (
        "44039999",
        hospital_a,
        DELIVERED,
    )


@pytest.mark.django_db
def test_a_delivery_is_kept_for_its_retention_period(api, manager, warehouse, hospital_a, strips):
    from django.contrib.auth.models import Permission

    delivery = deliver(warehouse, hospital_a, {"device_model": strips, "batch_number": "B"})
    client = api.as_user(manager)
    assert client.delete(f"/api/v1/deliveries/{delivery.pk}/?reason=录入错误").status_code == 403
    manager.user_permissions.add(Permission.objects.get(codename="delete_delivery"))
    response = client.delete(f"/api/v1/deliveries/{delivery.pk}/?reason=录入错误")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "retention"
    assert "must be kept until 2031-03-02" in response.json()["error"]["message"]
    assert Delivery.objects.filter(pk=delivery.pk).exists()


# --- UI ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_ui_creates_a_delivery_from_pasted_rows(client, warehouse, hospital_a, monitor, strips):
    client.force_login(warehouse)
    response = client.post(
        "/installed-base/deliveries/new/",
        {
            "organization": hospital_a.pk,
            "delivered_on": "2026-03-02",
            "invoice_number": "44031001",
            "lines": (
                f"{monitor.model_spec}\t2512\tKM8-2512-00001\t1\t38600\t2025-12-01\n"
                f"{strips.udi_di},260115,,200,65,2026-01-15,2027-07-14\n"
            ),
        },
    )
    assert response.status_code == 302, response.content.decode()
    delivery = Delivery.objects.get()
    assert delivery.lines.count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "KM8-2512-00001" in page and "260115" in page


@pytest.mark.django_db
def test_the_ui_shows_every_line_problem(client, warehouse, hospital_a, monitor, strips):
    client.force_login(warehouse)
    response = client.post(
        "/installed-base/deliveries/new/",
        {
            "organization": hospital_a.pk,
            "delivered_on": "2026-03-02",
            "lines": f"{monitor.model_spec},2512,S1,2\n{strips.model_spec},,,5\nNOPE,1\n",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 3: no single device model has the model/spec or UDI-DI “NOPE”." in page
    response = client.post(
        "/installed-base/deliveries/new/",
        {
            "organization": hospital_a.pk,
            "delivered_on": "2026-03-02",
            "lines": f"{monitor.model_spec},2512,S1,2\n{strips.model_spec},,,5\n",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Line 1: a line with a serial number is one unit" in page
    assert "Line 2: give a batch number, a serial number or both." in page
    assert not Delivery.objects.exists()


# --- Concurrency ------------------------------------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite serialises writers; the race needs a server database",
)
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_racing_for_one_serial_save_it_once(company, hospital_a, monitor):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    actor = user_with_role(Role.WAREHOUSE_KEEPER, company)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(invoice: str) -> None:
        try:
            barrier.wait()
            with translation.override("en"):
                deliver(
                    actor,
                    hospital_a,
                    {"device_model": monitor, "serial_number": "RACE-1"},
                    invoice_number=invoice,
                )
            outcomes.append("saved")
        except InvalidInputError as error:
            outcomes.append(
                " ".join(message for problems in error.fields.values() for message in problems)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(invoice,)) for invoice in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [outcome for outcome in outcomes if outcome != "saved"]
    assert outcomes.count("saved") == 1 and len(refused) == 1
    assert "Line 1: Serial number RACE-1" in refused[0]
    assert "is already registered" in refused[0]
    assert Device.objects.filter(serial_number="RACE-1").count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("lines", [[None], [1, {"device_model": "x"}], "abc", [[]]])
def test_nonsense_lines_are_a_named_400(api, warehouse, hospital_a, lines):
    response = api.as_user(warehouse).post(
        "/api/v1/deliveries/",
        {"organization": hospital_a.pk, "delivered_on": "2026-03-02", "lines": lines},
        format="json",
    )
    assert response.status_code == 400
    assert all(key.startswith("lines") for key in response.json()["error"]["fields"])
