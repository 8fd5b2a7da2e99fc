"""Stock alerts (reorder point counting open orders, expiring and expired lots) and the API of
parts, lots, stock and the ledger: read-only where the ledger decides, scoped to the user."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from medservice.accounts.choices import Role
from medservice.core.models import Notification
from medservice.inventory.choices import PurchaseOrderStatus
from medservice.inventory.models import PurchaseOrder, PurchaseOrderLine
from medservice.inventory.selectors import parts_below_reorder_point
from medservice.inventory.services import Fitted, parts_consume, stock_alerts_send
from tests.factories import user_with_role
from tests.installed_base.factories import DeviceFactory, SupplierFactory
from tests.inventory.factories import LotPartFactory, PartFactory, stock_in

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 27)


def open_order(part, quantity, destination, *, received=0):
    order = PurchaseOrder.objects.create(
        number=f"PO-T-{part.pk}-{quantity}",
        supplier=SupplierFactory(),
        destination=destination,
        status=PurchaseOrderStatus.ORDERED,
    )
    PurchaseOrderLine.objects.create(
        order=order, part=part, quantity=Decimal(quantity), quantity_received=Decimal(received)
    )
    return order


def test_a_part_is_below_its_reorder_point_only_counting_what_is_on_order(central):
    short = PartFactory(number="A-1", reorder_point=Decimal(10))
    covered = PartFactory(number="A-2", reorder_point=Decimal(10))
    enough = PartFactory(number="A-3", reorder_point=Decimal(10))
    stock_in(central, short, 4)
    stock_in(central, covered, 4)
    open_order(covered, 8, central, received=2)  # 6 still to come: 4 + 6 = 10, not below
    stock_in(central, enough, 10)

    assert [part.number for part in parts_below_reorder_point()] == ["A-1"]
    row = parts_below_reorder_point().get()
    assert (row.usable, row.on_order) == (Decimal(4), Decimal(0))


def test_the_warehouse_is_told_of_a_shortage_once_and_again_after_it_recovers(
    central, keeper, engineer_stock, engineer
):
    part = PartFactory(number="A-1", reorder_point=Decimal(3))
    stock_in(central, part, 2)

    assert stock_alerts_send(on=TODAY)["reorder"] == 1
    assert stock_alerts_send(on=TODAY)["reorder"] == 0
    message = Notification.objects.get(recipient=keeper)
    assert message.subject == "1 spare part is below its reorder point"
    assert "A-1" in message.body

    stock_in(central, part, 5)
    stock_alerts_send(on=TODAY)
    part.refresh_from_db()
    assert part.reorder_alerted_at is None
    stock_in(engineer_stock, part, 1)
    parts_consume(
        actor=engineer,
        device=DeviceFactory(),
        location=central,
        fitted=[Fitted(part=part, quantity=Decimal(6))],
        reference="WO-9",
    )
    assert stock_alerts_send(on=TODAY)["reorder"] == 1


def test_expiring_and_expired_lots_are_announced_once_each(central, keeper):
    battery = LotPartFactory(number="BAT-1")
    soon = stock_in(
        central, battery, 2, lot_number="SOON", expiry_date=TODAY + datetime.timedelta(days=20)
    )
    gone = stock_in(
        central, battery, 1, lot_number="GONE", expiry_date=TODAY + datetime.timedelta(days=400)
    )
    gone.expiry_date = TODAY - datetime.timedelta(days=1)
    gone.save()
    stock_in(
        central, battery, 1, lot_number="FAR", expiry_date=TODAY + datetime.timedelta(days=300)
    )

    first = stock_alerts_send(on=TODAY)
    second = stock_alerts_send(on=TODAY)

    assert (first["expiring"], first["expired"]) == (1, 1)
    assert (second["expiring"], second["expired"]) == (0, 0)
    subjects = sorted(
        Notification.objects.filter(recipient=keeper).values_list("subject", flat=True)
    )
    assert subjects == [
        "BAT-1 lot GONE has expired and is locked",
        f"BAT-1 lot SOON expires on {soon.expiry_date.isoformat()}",
    ]


def test_stock_and_movements_are_read_only_in_the_api(api, central, board, keeper):
    stock_in(central, board, 3)
    client = api.as_user(keeper)

    stock = client.get("/api/v1/stock/", {"part": board.pk}).json()
    movements = client.get("/api/v1/stock-movements/", {"part": board.pk}).json()

    assert [(row["location"], row["quantity"], row["condition"]) for row in stock["results"]] == [
        (central.pk, "3.000", "good")
    ]
    assert [(row["kind"], row["quantity"]) for row in movements["results"]] == [
        ("receipt", "3.000")
    ]
    # Nobody holds an add or delete permission on derived stock or the ledger.
    assert client.post("/api/v1/stock/", {"part": board.pk}, format="json").status_code == 403
    movement_id = movements["results"][0]["id"]
    assert client.delete(f"/api/v1/stock-movements/{movement_id}/").status_code == 403
    assert client.post("/api/v1/part-lots/", {"part": board.pk}, format="json").status_code in {
        403,
        405,
    }


def test_a_lot_is_held_and_traced_through_the_api(api, engineer_stock, engineer, company):
    quality = user_with_role(Role.QUALITY_STAFF, company, username="quality")
    battery = LotPartFactory(number="BAT-1")
    lot = stock_in(engineer_stock, battery, 2, lot_number="L9")
    device = DeviceFactory(serial_number="KM8-1")
    parts_consume(
        actor=engineer,
        device=device,
        location=engineer_stock,
        fitted=[Fitted(part=battery, lot=lot)],
        reference="WO-5",
    )

    held = api.as_user(quality).post(
        f"/api/v1/part-lots/{lot.pk}/hold/", {"reason": "复核"}, format="json"
    )
    refused = api.as_user(engineer).post(
        f"/api/v1/part-lots/{lot.pk}/release/", {"reason": "x"}, format="json"
    )
    trace = api.as_user(quality).get(f"/api/v1/part-lots/{lot.pk}/trace/").json()

    assert (held.status_code, held.json()["on_hold"], held.json()["hold_reason"]) == (
        200,
        True,
        "复核",
    )
    assert refused.status_code == 403
    assert [(row["kind"], row["device_serial"], row["reference"]) for row in trace] == [
        ("consumption", "KM8-1", "WO-5")
    ]


def test_a_hold_without_a_reason_is_refused_with_the_field_named(api, central, company):
    quality = user_with_role(Role.QUALITY_STAFF, company, username="quality")
    lot = stock_in(central, LotPartFactory(), 1, lot_number="L1")

    response = api.as_user(quality).post(
        f"/api/v1/part-lots/{lot.pk}/hold/", {"reason": ""}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]


def test_a_distributor_engineer_sees_only_the_stock_in_their_own_name(
    api, central, board, distributor
):
    from tests.inventory.factories import EngineerStockFactory

    outsider = user_with_role(Role.DISTRIBUTOR_ENGINEER, distributor, username="dist")
    own = EngineerStockFactory(code="ENG-D", engineer=outsider)
    stock_in(central, board, 5)
    stock_in(own, board, 1)
    client = api.as_user(outsider)

    stock = client.get("/api/v1/stock/").json()["results"]
    locations = client.get("/api/v1/stock-locations/").json()["results"]

    assert [(row["location"], row["quantity"]) for row in stock] == [(own.pk, "1.000")]
    # The warehouses are listed (to request parts from), their stock is not.
    assert [row["code"] for row in locations] == ["CENTRAL", "ENG-D"]
    assert client.get(f"/api/v1/stock/?location={central.pk}").json()["results"] == []


def test_a_customer_sees_no_inventory_at_all(api, central, board, hospital_a, client):
    customer = user_with_role(Role.CUSTOMER_USER, hospital_a, username="nurse")
    stock_in(central, board, 5)

    for path in ("/api/v1/parts/", "/api/v1/stock/", "/api/v1/stock-movements/"):
        response = api.as_user(customer).get(path)
        assert response.status_code in {200, 403}
        if response.status_code == 200:
            assert response.json()["results"] == []
    assert api.as_user(customer).get(f"/api/v1/parts/{board.pk}/").status_code in {403, 404}


def test_the_stock_page_lists_balances_by_location(client, central, board, keeper):
    stock_in(central, board, 4)
    client.force_login(keeper)

    page = client.get("/inventory/stock/", {"part": board.pk})

    assert page.status_code == 200
    text = page.content.decode()
    assert "CENTRAL 中心仓" in text
    assert "MB-100 主板" in text


def test_the_keeper_lands_on_requisitions_to_handle_and_stock_alerts(
    client, central, keeper, engineer, django_assert_max_num_queries
):
    from medservice.inventory.requisitions import requisition_create

    low = PartFactory(number="LOW-1", reorder_point=Decimal(5))
    stock_in(central, low, 1)
    battery = LotPartFactory(number="BAT-9")
    stock_in(
        central, battery, 1, lot_number="SOON", expiry_date=TODAY + datetime.timedelta(days=10)
    )
    requisition = requisition_create(actor=engineer, source=central, lines=[(low, Decimal(1))])
    client.force_login(keeper)

    with django_assert_max_num_queries(40):
        page = client.get("/").content.decode()

    assert requisition.number in page
    assert "LOW-1" in page
    assert "BAT-9 lot SOON" in page
    assert 'id="warehouse-reorder-link"' in page


@pytest.mark.parametrize(
    "path",
    [
        "/inventory/stock/",
        "/inventory/stock-movements/",
        "/inventory/part-lots/",
        "/api/v1/stock/",
        "/api/v1/stock-movements/",
        "/api/v1/part-lots/",
    ],
)
def test_inventory_lists_take_the_same_queries_whatever_their_length(
    path, client, api, central, keeper
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            if path.startswith("/api/"):
                assert api.as_user(keeper).get(path).status_code == 200
            else:
                assert client.get(path).status_code == 200
        return len(captured)

    client.force_login(keeper)
    battery = LotPartFactory(number="BAT-Q")
    for number in range(2):
        stock_in(central, battery, 1, lot_number=f"Q{number}")
    queries()  # the first request signs in (session, token) and warms the caches
    few = queries()
    for number in range(2, 22):
        stock_in(central, battery, 1, lot_number=f"Q{number}")

    assert queries() == few


def test_parts_and_lots_are_picked_by_typing_never_listed_whole(
    client, central, keeper, hospital_a
):
    board = PartFactory(number="MB-200", name_zh="主板", name_en="Main board")
    PartFactory(number="PSU-1", name_zh="电源板", name_en="Power board")
    battery = LotPartFactory(number="BAT-7")
    stock_in(central, battery, 1, lot_number="L2605", expiry_date=datetime.date(2028, 5, 1))
    client.force_login(keeper)

    parts = client.get("/inventory/parts/options/", {"q": "mb-2"}).json()
    by_name = client.get("/inventory/parts/options/", {"q": "电源"}).json()
    lots = client.get("/inventory/part-lots/options/", {"q": "l26", "part": battery.pk}).json()
    other_part = client.get("/inventory/part-lots/options/", {"q": "l26", "part": board.pk}).json()
    page = client.get("/inventory/stock/").content.decode()

    assert parts == {
        "results": [{"id": board.pk, "label": "MB-200 主板", "detail": "Main board"}],
        "more": False,
    }
    assert [row["label"] for row in by_name["results"]] == ["PSU-1 电源板"]
    assert [(row["label"], row["detail"]) for row in lots["results"]] == [
        ("BAT-7 lot L2605", "2028-05-01")
    ]
    assert other_part["results"] == []
    assert "PSU-1" not in page  # the filter does not list the catalogue
    client.force_login(user_with_role(Role.CUSTOMER_USER, hospital_a, username="nurse"))
    assert client.get("/inventory/parts/options/", {"q": "MB"}).status_code == 404
