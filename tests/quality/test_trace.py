"""Trace (追溯): from a model and batch, a serial range or a UDI to exactly the affected devices
and delivery lines with owners and contacts (none of another batch or model), in a fixed number
of queries; exported and read back; the part-lot trace; who may run it."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from medservice.core.errors import InvalidInputError
from medservice.quality.trace import trace_run, trace_scope
from tests.quality.factories_recalls import batch_2303, quality_staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(hospital_a, hospital_b):
    return batch_2303(hospital_a, hospital_b)


@pytest.fixture
def quality_staff(company):
    return quality_staff_user(company)


def serials(devices):
    return sorted(device.serial_number for device in devices)


def line_serials(lines):
    return sorted(line.serial_number for line in lines)


def test_a_batch_traces_to_exactly_its_devices_and_delivery_lines(batch):
    # Given batch 2303 of KD-M8000 at two hospitals, and look-alikes of another batch and model
    # When it is traced
    result = trace_run(trace_scope(device_model=batch.monitor, batch_number="2303"))
    # Then exactly its four units and three lines come back, none of batch 2304, of KD-P300
    # (same serial KM-0001, same batch) or of the strips (same batch number)
    assert serials(result.devices) == ["KM-0001", "KM-0002", "KM-0003", "KM-0004"]
    assert {device.device_model_id for device in result.devices} == {batch.monitor.pk}
    assert line_serials(result.delivery_lines) == ["KM-0001", "KM-0002", "KM-0003"]
    assert {line.device_model_id for line in result.delivery_lines} == {batch.monitor.pk}
    # With owners, departments, contacts, quantities and delivery dates
    owner = {device.serial_number: device.organization.name for device in result.devices}
    assert owner == {"KM-0001": "市第一人民医院", "KM-0002": "市第一人民医院",
                     "KM-0003": "县中医院", "KM-0004": "县中医院"}  # fmt: skip
    departments = {device.serial_number: device.department for device in result.devices}
    assert departments["KM-0001"].name == "心内科" and departments["KM-0003"] is None
    recipients = [
        (item.organization.name, item.contact.name, item.quantity_delivered, len(item.devices),
         item.last_delivered_on.isoformat())
        for item in result.recipients
    ]  # fmt: skip
    # 县中医院 holds KM-0003 (delivered) and KM-0004 (installed base without a line): two units.
    assert recipients == [
        ("县中医院", "李科长", 2, 2, "2026-01-15"),
        ("市第一人民医院", "王主任", 2, 2, "2026-01-10"),
    ]
    assert result.quantity_delivered == 4


def test_a_batch_of_consumables_traces_to_its_lines_and_quantities(batch):
    result = trace_run(trace_scope(device_model=batch.strips, batch_number="2303"))
    assert result.devices == []
    assert [(line.delivery.organization.name, line.quantity) for line in result.delivery_lines] == [
        ("县中医院", 50)
    ]
    assert [item.quantity_delivered for item in result.recipients] == [50]


def test_a_serial_range_traces_only_the_serials_between_its_bounds(batch):
    # KM-00025 sorts between KM-0002 and KM-0003 but is not of the range's form: excluded.
    result = trace_run(
        trace_scope(device_model=batch.monitor, serial_from="KM-0002", serial_to="KM-0003")
    )
    assert serials(result.devices) == ["KM-0002", "KM-0003"]
    assert line_serials(result.delivery_lines) == ["KM-0002", "KM-0003"]
    assert [(item.organization.name, item.quantity_delivered) for item in result.recipients] == [
        ("县中医院", 1), ("市第一人民医院", 1),
    ]  # fmt: skip


def test_a_udi_with_a_batch_or_a_serial_traces_like_the_model_and_batch(batch):
    by_batch = trace_run(trace_scope(udi=f"(01){batch.monitor.udi_di}(10)2303"))
    assert serials(by_batch.devices) == ["KM-0001", "KM-0002", "KM-0003", "KM-0004"]
    assert line_serials(by_batch.delivery_lines) == ["KM-0001", "KM-0002", "KM-0003"]
    # A scanner's raw string with a serial names one unit.
    by_serial = trace_run(trace_scope(udi=f"]d201{batch.monitor.udi_di}21KM-0003"))
    assert serials(by_serial.devices) == ["KM-0003"]
    assert line_serials(by_serial.delivery_lines) == ["KM-0003"]
    assert by_serial.devices[0].device_model_id == batch.monitor.pk


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ({"batch_number": "2303"}, "device_model"),
        ({"device_model": 999999, "batch_number": "2303"}, "device_model"),
        ({"device_model": "monitor"}, "batch_number"),
        ({"device_model": "monitor", "serial_from": "KM-0001"}, "serial_to"),
        ({"device_model": "monitor", "serial_from": "KM-0001", "serial_to": "KM-01"}, "serial_to"),
        ({"device_model": "monitor", "serial_from": "KM-0009", "serial_to": "KM-0001"},
         "serial_to"),
        ({"udi": "not a udi"}, "udi"),
        ({"udi": "(01)00000000000000(10)1"}, "udi"),
    ],
)  # fmt: skip
def test_a_bad_trace_question_names_its_field(batch, question, field):
    if question.get("device_model") == "monitor":
        question = {**question, "device_model": batch.monitor}
    with pytest.raises(InvalidInputError) as refused:
        trace_scope(**question)
    assert field in refused.value.fields


def test_the_trace_takes_four_queries_whatever_the_batch_size(
    batch, django_assert_num_queries, hospital_a
):
    from tests.installed_base.factories import DeviceFactory

    scope = trace_scope(device_model=batch.monitor, batch_number="2303")
    with django_assert_num_queries(4):  # devices, lines, contacts, holds
        small = trace_run(scope)
        [(d.organization.name, d.department, d.delivery_line) for d in small.devices]
    for number in range(30):
        DeviceFactory(device_model=batch.monitor, serial_number=f"KM-9{number:03d}",
                      batch_number="2303", organization=hospital_a)  # fmt: skip
    with django_assert_num_queries(4):
        large = trace_run(scope)
        [(d.organization.name, d.department, d.delivery_line) for d in large.devices]
        [
            (line.delivery.organization.name, line.delivery.delivered_on)
            for line in large.delivery_lines
        ]
    assert len(large.devices) == 34


def test_the_api_traces_for_quality_staff_with_contacts_and_recipients(api, batch, quality_staff):
    # When quality staff ask the trace endpoint for the batch
    response = api.as_user(quality_staff).get(
        "/api/v1/trace/", {"device_model": batch.monitor.pk, "batch_number": "2303"}
    )
    # Then the devices, lines and recipients come with owner, department, contact and dates
    assert response.status_code == 200
    body = response.json()
    assert sorted(row["serial_number"] for row in body["devices"]) == [
        "KM-0001", "KM-0002", "KM-0003", "KM-0004",
    ]  # fmt: skip
    device = next(row for row in body["devices"] if row["serial_number"] == "KM-0001")
    assert (device["organization"]["name"], device["department"], device["delivered_on"],
            device["delivery"]) == ("市第一人民医院", "心内科", "2026-01-10", "DL-2026-000101")  # fmt: skip
    assert sorted(row["serial_number"] for row in body["delivery_lines"]) == [
        "KM-0001", "KM-0002", "KM-0003",
    ]  # fmt: skip
    recipients = {row["organization"]["name"]: row for row in body["recipients"]}
    assert recipients["市第一人民医院"]["contact"] == {
        "id": batch.contact_a.pk, "name": "王主任", "email": "wang@hospital-a.example",
        "phone": "13800001111",  # quality staff may unmask contacts
    }  # fmt: skip
    assert (recipients["县中医院"]["quantity_delivered"], body["quantity_delivered"]) == (2, 4)
    # A serial range and a UDI through the same endpoint
    ranged = (
        api.as_user(quality_staff)
        .get(
            "/api/v1/trace/",
            {"device_model": batch.monitor.pk, "serial_from": "KM-0002", "serial_to": "KM-0003"},
        )
        .json()
    )
    assert sorted(row["serial_number"] for row in ranged["devices"]) == ["KM-0002", "KM-0003"]
    scanned = (
        api.as_user(quality_staff)
        .get("/api/v1/trace/", {"udi": f"(01){batch.monitor.udi_di}(21)KM-0001"})
        .json()
    )
    assert [row["serial_number"] for row in scanned["devices"]] == ["KM-0001"]
    assert scanned["device_model"] == batch.monitor.pk
    bad = api.as_user(quality_staff).get(
        "/api/v1/trace/", {"device_model": batch.monitor.pk, "serial_from": "KM-1"}
    )
    assert bad.status_code == 400
    assert "serial_to" in bad.json()["error"]["fields"]


def test_the_trace_exports_as_csv_with_a_byte_order_mark_and_reads_back(api, batch, quality_staff):
    response = api.as_user(quality_staff).get(
        "/api/v1/trace/",
        {"device_model": batch.monitor.pk, "batch_number": "2303", "export": "csv"},
    )
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Record", "Organisation", "Department", "Contact"]
    data = rows[1:]
    assert len(data) == 7  # four devices, three delivery lines
    devices = sorted((row[7], row[1], row[2], row[3]) for row in data if row[0] == "Device")
    assert devices == [
        ("KM-0001", "市第一人民医院", "心内科", "王主任"),
        ("KM-0002", "市第一人民医院", "", "王主任"),
        ("KM-0003", "县中医院", "", "李科长"),
        ("KM-0004", "县中医院", "", "李科长"),
    ]
    lines = sorted((row[7], row[8], row[9], row[10]) for row in data if row[0] == "Delivery line")
    assert lines == [
        ("KM-0001", "1", "2026-01-10", "DL-2026-000101"),
        ("KM-0002", "1", "2026-01-10", "DL-2026-000101"),
        ("KM-0003", "1", "2026-01-15", "DL-2026-000102"),
    ]


def test_the_trace_page_shows_and_exports_the_trace_as_xlsx(client, batch, quality_staff):
    client.force_login(quality_staff)
    query = {"device_model": batch.monitor.pk, "batch_number": "2303"}
    page = client.get("/quality/trace/", query)
    assert page.status_code == 200
    html = page.content.decode()
    devices_table = html.split('id="trace-devices"')[1].split("</table>")[0]
    assert devices_table.count("<tr><td>") == 4
    assert all(serial in devices_table for serial in ("KM-0001", "KM-0002", "KM-0003", "KM-0004"))
    assert "KM-0101" not in html and "KM-00025" not in html
    assert "4 devices, 3 delivery lines, 2 organisations, 4 units delivered" in html
    export = client.get("/quality/trace/", {**query, "export": "xlsx"})
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 8
    assert sorted(row[7] for row in rows[1:] if row[0] == "Device") == [
        "KM-0001", "KM-0002", "KM-0003", "KM-0004",
    ]  # fmt: skip
    refused = client.get("/quality/trace/", {"device_model": batch.monitor.pk})
    assert refused.status_code == 400
    assert "Give a batch number, a serial range or a UDI." in refused.content.decode()


def test_a_part_lot_traces_to_the_devices_and_work_orders_it_went_into(
    api, client, batch, quality_staff
):
    from medservice.inventory.services import Fitted, parts_consume
    from tests.inventory.factories import LocationFactory, LotPartFactory, stock_in

    # Given a battery lot fitted into KM-0001 under a work order
    battery = LotPartFactory(number="BAT-01")
    warehouse = LocationFactory()
    lot = stock_in(warehouse, battery, 5, lot_number="L2407")
    parts_consume(
        actor=None, device=batch.devices["KM-0001"], location=warehouse,
        fitted=[Fitted(part=battery, quantity=Decimal(1), lot=lot)], reference="WO-2026-000077",
    )  # fmt: skip
    # When quality staff trace the lot
    body = api.as_user(quality_staff).get("/api/v1/trace/", {"part_lot": lot.pk}).json()
    # Then the device, its owner and the work order come back
    assert [
        (row["device_serial"], row["organization"]["name"], row["work_order"], row["quantity"])
        for row in body["part_lot_fittings"]
    ] == [("KM-0001", "市第一人民医院", "WO-2026-000077", "1")]
    client.force_login(quality_staff)
    page = client.get("/quality/trace/", {"part_lot": "L2407"}).content.decode()
    assert "WO-2026-000077" in page and "KM-0001" in page


def test_customers_keep_their_own_scoped_trace_and_never_see_the_quality_trace(
    api, client, batch, customer_a, agent
):
    # The installed base's trace answers a customer with its own units only, no contacts.
    body = (
        api.as_user(customer_a)
        .get("/api/v1/trace/", {"device_model": batch.monitor.pk, "batch_number": "2303"})
        .json()
    )
    assert sorted(row["serial_number"] for row in body["devices"]) == ["KM-0001", "KM-0002"]
    assert "recipients" not in body
    # The quality trace page does not exist for them, nor for a service agent.
    for outsider in (customer_a, agent):
        client.force_login(outsider)
        assert client.get("/quality/trace/", {"device_model": batch.monitor.pk,
                                               "batch_number": "2303"}).status_code == 404  # fmt: skip
