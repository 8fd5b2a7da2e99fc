"""Moving stock by hand and recording parts used, from the browser forms and the API: the
same services, refusals on the named fields, nothing half posted."""

from __future__ import annotations

from decimal import Decimal

import pytest

from medservice.accounts.choices import Role
from medservice.inventory.models import StockMovement
from medservice.inventory.services import on_hand
from tests.factories import user_with_role
from tests.installed_base.factories import DeviceFactory
from tests.inventory.factories import LotPartFactory, SerialPartFactory, stock_in

pytestmark = pytest.mark.django_db


def test_the_keeper_transfers_stock_to_a_regional_warehouse_from_the_page(
    client, central, regional, board, keeper
):
    stock_in(central, board, 5)
    client.force_login(keeper)

    response = client.post(
        "/inventory/stock/move/",
        {
            "kind": "transfer",
            "source": central.pk,
            "destination": regional.pk,
            "part": "mb-100",
            "quantity": "3",
            "reference": "调拨单 DB-7",
        },
    )

    assert response.status_code == 302
    assert (on_hand(part=board, location=central), on_hand(part=board, location=regional)) == (
        Decimal(2),
        Decimal(3),
    )
    movement = StockMovement.objects.get(kind="transfer")
    assert (movement.reference, movement.recorded_by) == ("调拨单 DB-7", keeper)


def test_a_refused_move_shows_why_on_the_page_and_posts_nothing(
    client, central, regional, board, keeper
):
    stock_in(central, board, 1)
    client.force_login(keeper)

    response = client.post(
        "/inventory/stock/move/",
        {
            "kind": "transfer",
            "source": central.pk,
            "destination": regional.pk,
            "part": "MB-100",
            "quantity": "2",
        },
    )
    unknown = client.post(
        "/inventory/stock/move/",
        {
            "kind": "transfer",
            "source": central.pk,
            "destination": regional.pk,
            "part": "NOPE",
            "quantity": "1",
        },
    )

    assert response.status_code == 200
    assert "1 个 on hand, 2 asked" in response.content.decode()
    assert "No spare part has the number NOPE." in unknown.content.decode()
    assert StockMovement.objects.filter(kind="transfer").count() == 0


def test_a_customer_cannot_open_the_stock_move_page(client, hospital_a):
    client.force_login(user_with_role(Role.CUSTOMER_USER, hospital_a, username="nurse"))

    assert client.get("/inventory/stock/move/").status_code == 403
    assert client.get("/inventory/consume/").status_code == 403


def test_the_engineer_records_a_probe_swapped_on_a_device_from_the_page(
    client, engineer_stock, engineer
):
    probe = SerialPartFactory(number="PRB-1")
    stock_in(engineer_stock, probe, 1, serial_number="PRB-NEW")
    device = DeviceFactory(serial_number="U60-0001")
    client.force_login(engineer)

    response = client.post(
        "/inventory/consume/",
        {
            "device_serial": "u60-0001",
            "location": engineer_stock.pk,
            "reference": "BX-2026-000031",
            "fitted_1_part": "PRB-1",
            "fitted_1_lot": "PRB-NEW",
            "fitted_1_quantity": "1",
            "removed_1_part": "PRB-1",
            "removed_1_lot": "PRB-OLD",
            "removed_1_quantity": "1",
        },
    )

    assert response.status_code == 302
    assert sorted(
        StockMovement.objects.filter(device=device).values_list("kind", "lot__serial_number")
    ) == [("consumption", "PRB-NEW"), ("removal", "PRB-OLD")]
    detail = client.get(f"/installed-base/devices/{device.pk}/").content.decode()
    assert "Parts fitted and removed" in detail


def test_the_api_moves_defective_parts_to_quarantine_and_names_bad_fields(
    api, engineer_stock, quarantine, engineer
):
    battery = LotPartFactory(number="BAT-1")
    device = DeviceFactory()
    client = api.as_user(engineer)
    fitted = client.post(
        "/api/v1/stock/consume/",
        {
            "device": device.pk,
            "location": engineer_stock.pk,
            "reference": "WO-1",
            "removed": [{"part": battery.pk, "lot_number": "OLD-9"}],
        },
        format="json",
    )

    moved = client.post(
        "/api/v1/stock/move/",
        {
            "kind": "return_defective",
            "source": engineer_stock.pk,
            "destination": quarantine.pk,
            "part": battery.pk,
            "lot": "OLD-9",
            "quantity": "1",
        },
        format="json",
    )
    bad = client.post(
        "/api/v1/stock/consume/",
        {
            "device": device.pk,
            "location": engineer_stock.pk,
            "reference": "WO-1",
            "fitted": [{"part": 999999}],
        },
        format="json",
    )

    assert fitted.status_code == 201
    assert moved.status_code == 201
    assert [
        (row["kind"], row["destination"], row["destination_condition"]) for row in moved.json()
    ] == [("return_defective", quarantine.pk, "defective")]
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"fitted.1.part": ["No such spare part."]}


def test_an_engineer_without_the_permission_cannot_scrap(api, quarantine, board, engineer):
    response = api.as_user(engineer).post(
        "/api/v1/stock/move/",
        {
            "kind": "scrap",
            "source": quarantine.pk,
            "destination": quarantine.pk,
            "part": board.pk,
            "quantity": "1",
            "reason": "坏了",
        },
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_removed_part_in_my_stock_links_to_its_hand_over_form(client, engineer_stock, engineer):
    from medservice.inventory.services import Removed, parts_consume

    battery = LotPartFactory(number="BAT-1")
    parts_consume(
        actor=engineer,
        device=DeviceFactory(),
        location=engineer_stock,
        removed=[Removed(part=battery, lot_number="OLD-1")],
        reference="WO-3",
    )
    client.force_login(engineer)

    page = client.get("/inventory/my-stock/").content.decode()
    form = client.get(
        "/inventory/stock/move/",
        {"kind": "return_defective", "source": engineer_stock.pk, "part": "BAT-1", "lot": "OLD-1"},
    ).content.decode()

    assert 'data-hand-over="BAT-1"' in page
    assert 'value="BAT-1"' in form
    assert 'value="OLD-1"' in form
    assert '<option value="return_defective" selected>' in form
