"""Devices: registration rules, search by serial / batch / UDI-PI / asset number, the warranty
register, the trace from a batch to every unit and delivery line, lists in fixed queries."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.core.errors import InvalidInputError
from medservice.installed_base.choices import HoldScope
from medservice.installed_base.models import Device
from medservice.installed_base.selectors import trace_batch
from medservice.installed_base.services import delivery_create, device_create, hold_place
from tests.installed_base.factories import (
    DeliveryLineFactory,
    DeviceFactory,
    DeviceModelFactory,
)

pytestmark = pytest.mark.django_db
D = datetime.date


# --- Registration -----------------------------------------------------------------------------


def test_a_unit_registered_by_hand_gets_its_warranty(agent, hospital_a, monitor):
    device = device_create(
        actor=agent,
        data={
            "device_model": monitor,
            "serial_number": "KM8-2303-00125",
            "organization": hospital_a,
            "installed_on": D(2026, 1, 5),
            "accepted_on": D(2026, 1, 31),
        },
    )
    assert device.warranty_ends_on == D(2027, 1, 30)


def test_registration_names_every_bad_field(agent, hospital_a, monitor):
    DeviceFactory(device_model=monitor, serial_number="DUP")
    with pytest.raises(InvalidInputError) as error:
        device_create(
            actor=agent,
            data={
                "device_model": monitor,
                "serial_number": "DUP",
                "organization": hospital_a,
                "production_date": D(2026, 2, 1),
                "expiry_date": D(2026, 1, 1),
                "installed_on": D(2026, 3, 1),
                "accepted_on": D(2026, 2, 1),
            },
        )
    assert error.value.fields == {
        "serial_number": [f"Serial number DUP of {monitor} is already registered."],
        "expiry_date": ["The expiry date 2026-01-01 is before the production date 2026-02-01."],
        "accepted_on": [
            "The acceptance date 2026-02-01 is before the installation date 2026-03-01."
        ],
    }
    with pytest.raises(InvalidInputError) as error:
        device_create(actor=agent, data={"device_model": monitor, "organization": hospital_a})
    assert set(error.value.fields) == {"serial_number", "batch_number"}


def test_the_device_form_shows_the_named_problems(client, agent, hospital_a, monitor):
    DeviceFactory(device_model=monitor, serial_number="DUP")
    client.force_login(agent)
    response = client.post(
        "/installed-base/devices/new/",
        {
            "device_model": monitor.pk,
            "serial_number": "DUP",
            "organization": hospital_a.pk,
            "status": "installed",
            "production_date": "2026-02-01",
            "expiry_date": "2026-01-01",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert f"Serial number DUP of {monitor} is already registered." in page
    assert "The expiry date 2026-01-01 is before the production date 2026-02-01." in page


def test_the_api_registers_a_unit_and_names_a_duplicate(api, agent, hospital_a, monitor):
    client = api.as_user(agent)
    payload = {
        "device_model": monitor.pk,
        "serial_number": "KM8-1",
        "organization": hospital_a.pk,
        "accepted_on": "2026-01-31",
    }
    created = client.post("/api/v1/devices/", payload, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["warranty_ends_on"] == "2027-01-30"
    duplicate = client.post("/api/v1/devices/", payload, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["fields"] == {
        "serial_number": [f"Serial number KM8-1 of {monitor} is already registered."]
    }


# --- Search, register, lists ------------------------------------------------------------------


@pytest.fixture
def fleet(hospital_a, monitor):
    return {
        "serial": DeviceFactory(device_model=monitor, serial_number="KM8-2303-00125", organization=hospital_a),
        "batch": DeviceFactory(device_model=monitor, serial_number="KM8-9", batch_number="B-7788", organization=hospital_a),
        "udi": DeviceFactory(device_model=monitor, serial_number="KM8-10", udi_pi="(11)260101(10)UDX42", organization=hospital_a),
        "asset": DeviceFactory(device_model=monitor, serial_number="KM8-11", asset_number="ZC-2026-0042", organization=hospital_a),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("term", "key"),
    [("00125", "serial"), ("B-7788", "batch"), ("UDX42", "udi"), ("ZC-2026-0042", "asset")],
)
def test_devices_are_found_by_serial_batch_udi_and_asset_number(
    client, api, agent, fleet, term, key
):
    found = api.as_user(agent).get("/api/v1/devices/", {"search": term}).json()
    assert [row["id"] for row in found["results"]] == [fleet[key].pk]
    client.force_login(agent)
    page = client.get("/installed-base/devices/", {"q": term}).content.decode()
    assert f"/installed-base/devices/{fleet[key].pk}/" in page
    assert "1 record" in page


def test_exact_filters_by_batch_and_serial(api, agent, fleet):
    client = api.as_user(agent)
    assert client.get("/api/v1/devices/", {"batch_number": "B-7788"}).json()["count"] == 1
    assert client.get("/api/v1/devices/", {"serial_number": "KM8-10"}).json()["count"] == 1


def test_the_warranty_register_lists_units_by_warranty_end(client, api, agent, today):
    ends = [today + datetime.timedelta(days=offset) for offset in (200, -5, 30, 400)]
    devices = [DeviceFactory(warranty_ends_on=end) for end in ends]
    client.force_login(agent)
    register = client.get("/installed-base/warranty-register/")
    assert register.status_code == 302
    page = client.get(register["Location"]).content.decode()
    positions = [page.find(f"/installed-base/devices/{device.pk}/") for device in devices]
    assert positions[1] == -1  # already ended: not in the register from today on
    assert positions[2] < positions[0] < positions[3]
    rows = (
        api.as_user(agent)
        .get("/api/v1/devices/", {"ordering": "warranty_ends_on", "under_warranty": "true"})
        .json()["results"]
    )
    assert [row["id"] for row in rows] == [devices[2].pk, devices[0].pk, devices[3].pk]


def test_the_device_list_exports_with_a_byte_order_mark(client, agent, fleet):
    client.force_login(agent)
    response = client.get("/installed-base/devices/", {"export": "csv", "q": "B-7788"})
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 2 and "KM8-9" in rows[1]


def many_units(count: int) -> None:
    for _ in range(count):
        DeviceFactory(organization=DeviceFactory().organization)


def test_the_device_list_and_api_take_a_fixed_number_of_queries(client, api, agent):
    many_units(3)
    client.force_login(agent)
    api_client = api.as_user(agent)
    with CaptureQueriesContext(connection) as small_page:
        assert client.get("/installed-base/devices/").status_code == 200
    with CaptureQueriesContext(connection) as small_api:
        assert api_client.get("/api/v1/devices/").status_code == 200
    many_units(20)
    with CaptureQueriesContext(connection) as large_page:
        client.get("/installed-base/devices/")
    with CaptureQueriesContext(connection) as large_api:
        api_client.get("/api/v1/devices/")
    assert len(large_page.captured_queries) == len(small_page.captured_queries) <= 12
    assert len(large_api.captured_queries) == len(small_api.captured_queries) <= 8


def test_the_delivery_and_contract_lists_take_a_fixed_number_of_queries(
    client, api, manager, hospital_a, monitor, strips
):
    from tests.installed_base.factories import ContractFactory

    def add(count: int) -> None:
        for _number in range(count):
            line = DeliveryLineFactory(delivery__organization=hospital_a)
            DeliveryLineFactory(delivery=line.delivery)
            ContractFactory(organization=hospital_a, devices=[DeviceFactory(), DeviceFactory()])

    add(2)
    client.force_login(manager)
    api_client = api.as_user(manager)
    urls = ["/installed-base/deliveries/", "/installed-base/contracts/"]
    api_urls = ["/api/v1/deliveries/", "/api/v1/contracts/"]
    before = []
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        before.append(len(captured.captured_queries))
    for url in api_urls:
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get(url).status_code == 200
        before.append(len(captured.captured_queries))
    add(10)
    after = []
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        after.append(len(captured.captured_queries))
    for url in api_urls:
        with CaptureQueriesContext(connection) as captured:
            api_client.get(url)
        after.append(len(captured.captured_queries))
    assert after == before


def test_the_customer_archive_lists_its_devices_deliveries_and_contracts(client, agent, hospital_a):
    device = DeviceFactory(organization=hospital_a, serial_number="KM8-ARCHIVE")
    client.force_login(agent)
    page = client.get(f"/customers/organizations/{hospital_a.pk}/").content.decode()
    assert "KM8-ARCHIVE" in page and f"/installed-base/devices/{device.pk}/" in page
    assert "Deliveries" in page and "Contracts" in page


# --- Trace ------------------------------------------------------------------------------------


@pytest.fixture
def batch_2303(warehouse, hospital_a, hospital_b, distributor, monitor, strips):
    """Batch 2303 of the monitor went to A (3 units) and B (2 units); strips batch 260115 to
    both; another model's batch 2303 is not part of it."""
    hospital_a.served_by.add(distributor)
    for organization, serials in ((hospital_a, ("A1", "A2", "A3")), (hospital_b, ("B1", "B2"))):
        delivery_create(
            actor=warehouse,
            organization=organization,
            delivered_on=D(2026, 3, 2),
            lines=[
                *[
                    {"device_model": monitor, "batch_number": "2303", "serial_number": serial}
                    for serial in serials
                ],
                {"device_model": strips, "batch_number": "260115", "quantity": 50},
            ],
        )
    DeviceFactory(device_model=DeviceModelFactory(), batch_number="2303")


def test_trace_finds_every_unit_and_line_of_a_batch_with_owners(batch_2303, monitor, strips):
    trace = trace_batch(monitor, "2303")
    assert sorted(device.serial_number for device in trace.devices) == [
        "A1",
        "A2",
        "A3",
        "B1",
        "B2",
    ]
    assert len(trace.delivery_lines) == 5
    strips_trace = trace_batch(strips, "260115")
    assert strips_trace.devices == []
    assert sorted(line.delivery.organization.name for line in strips_trace.delivery_lines) == [
        "县中医院",
        "市第一人民医院",
    ]


def test_trace_takes_three_queries_whatever_the_batch_size(
    batch_2303, monitor, django_assert_num_queries
):
    with django_assert_num_queries(3):
        trace = trace_batch(monitor, "2303")
        for device in trace.devices:
            str(device.organization), str(device.device_model)
        for line in trace.delivery_lines:
            str(line.delivery.organization)


def test_the_trace_endpoint(api, quality, batch_2303, monitor):
    hold_place(
        actor=quality,
        scope=HoldScope.BATCH,
        device_model=monitor,
        batch_number="2303",
        reason="召回评估",
    )
    response = api.as_user(quality).get(
        "/api/v1/trace/", {"device_model": monitor.pk, "batch_number": "2303"}
    )
    assert response.status_code == 200
    body = response.json()
    assert len(body["devices"]) == 5 and len(body["delivery_lines"]) == 5
    owners = {row["serial_number"]: row["organization"]["name"] for row in body["devices"]}
    assert owners["A1"] == "市第一人民医院" and owners["B1"] == "县中医院"
    assert body["delivery_lines"][0]["delivery"].startswith("DL-")
    assert [hold["reason"] for hold in body["holds"]] == ["召回评估"]
    by_serial = (
        api.as_user(quality)
        .get("/api/v1/trace/", {"device_model": monitor.pk, "serial_number": "B2"})
        .json()
    )
    assert [row["serial_number"] for row in by_serial["devices"]] == ["B2"]


def test_the_trace_endpoint_keeps_to_the_callers_scope(
    api, distributor_engineer, batch_2303, monitor
):
    body = (
        api.as_user(distributor_engineer)
        .get("/api/v1/trace/", {"device_model": monitor.pk, "batch_number": "2303"})
        .json()
    )
    assert sorted(row["serial_number"] for row in body["devices"]) == ["A1", "A2", "A3"]
    assert body["holds"] == []


def test_the_trace_endpoint_names_a_bad_question(api, quality, monitor):
    client = api.as_user(quality)
    missing = client.get("/api/v1/trace/", {"device_model": monitor.pk})
    assert missing.status_code == 400
    assert "batch_number" in missing.json()["error"]["fields"]
    unknown = client.get("/api/v1/trace/", {"device_model": 999999, "batch_number": "1"})
    assert unknown.status_code == 400
    assert "device_model" in unknown.json()["error"]["fields"]
    assert client.get("/api/v1/trace/", {"device_model": "x"}).status_code == 400


def test_the_trace_endpoint_needs_the_device_permission(api, company, monitor):
    from tests.factories import UserFactory

    nobody = UserFactory(organization=company)
    response = api.as_user(nobody).get(
        "/api/v1/trace/", {"device_model": monitor.pk, "batch_number": "1"}
    )
    assert response.status_code == 403


def test_a_trace_without_batch_or_serial_finds_nothing(batch_2303, monitor):
    assert Device.objects.filter(device_model=monitor).count() == 5
    trace = trace_batch(monitor, "")
    assert (trace.devices, trace.delivery_lines, trace.holds) == ([], [], [])
