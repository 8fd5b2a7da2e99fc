"""Purchase orders (采购): a draft is written, placed only with a supplier whose licence is
valid, received against in one or more deliveries (lots, serials, expiry) and closed short or
cancelled; every receipt posts the stock ledger, nothing is ever half received, and the reorder
suggestions count what is already on order."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.core.models import AuditEvent
from medservice.core.registry import RESOURCES
from medservice.core.testing import (
    assert_record_is_in_scope,
    assert_record_is_out_of_scope,
    grant_all_permissions,
)
from medservice.inventory.choices import MovementKind, PurchaseOrderStatus
from medservice.inventory.models import PartLot, PurchaseOrder, StockMovement
from medservice.inventory.purchasing import (
    SupplierLockedError,
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_place,
    purchase_order_receive,
    purchase_order_update,
    purchase_orders_from_suggestions,
    reorder_suggestions,
)
from medservice.inventory.services import on_hand
from tests.conftest import Api
from tests.factories import user_with_role
from tests.installed_base.factories import licensed_supplier
from tests.inventory.factories import LotPartFactory, PartFactory, SerialPartFactory, stock_in

TODAY = timezone.localdate()
YEAR = TODAY.year


@pytest.fixture
def supplier(db):
    return licensed_supplier(name="深圳康源医疗配件有限公司")


@pytest.fixture
def battery(db):
    """A battery tracked by lot, with a shelf life of two years."""
    return LotPartFactory(number="BAT-01", name_zh="锂电池", standard_cost=Decimal("80.00"))


@pytest.fixture
def probe(db):
    """A probe tracked by serial number (one unit each)."""
    return SerialPartFactory(number="PRB-01", name_zh="超声探头")


def order_of(keeper, supplier, central, *lines, **header):
    return purchase_order_create(
        actor=keeper,
        supplier=supplier,
        destination=central,
        lines=[
            {"part": part, "quantity": quantity, "unit_price": price}
            for part, quantity, price in lines
        ],
        **header,
    )


def placed(keeper, supplier, central, *lines):
    return purchase_order_place(actor=keeper, order=order_of(keeper, supplier, central, *lines))


def problems_of(call) -> dict[str, list[str]]:
    with pytest.raises(InvalidInputError) as error:
        call()
    return error.value.fields


# --- Writing and placing ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_draft_is_numbered_and_placed_with_a_licensed_supplier(keeper, supplier, central, board):
    order = order_of(
        keeper,
        supplier,
        central,
        (board, 10, Decimal("150.00")),
        expected_on=datetime.date(2099, 5, 1),
        supplier_reference="SO-8812",
    )

    assert order.number == f"PO-{YEAR}-000001"
    assert order.status == PurchaseOrderStatus.DRAFT
    assert order.created_by == keeper
    assert [(line.part, line.quantity, line.unit_price) for line in order.lines.all()] == [
        (board, Decimal("10.000"), Decimal("150.00"))
    ]

    order = purchase_order_place(actor=keeper, order=order)

    assert order.status == PurchaseOrderStatus.ORDERED
    assert order.ordered_on == TODAY


@pytest.mark.django_db
def test_an_order_goes_to_a_warehouse_and_names_each_part_once_with_a_positive_quantity(
    keeper, supplier, quarantine, board
):
    fields = problems_of(
        lambda: order_of(keeper, supplier, quarantine, (board, 0, 1), (board, 2, -1))
    )

    assert set(fields) == {
        "destination",
        "lines.1.quantity",
        "lines.2.part",
        "lines.2.unit_price",
    }
    assert fields["lines.1.quantity"] == ["Line 1: the quantity must be more than zero."]
    assert fields["lines.2.part"] == ["Line 2: MB-100 is already on line 1."]
    assert not PurchaseOrder.objects.exists()


@pytest.mark.django_db
def test_an_order_needs_a_line(keeper, supplier, central):
    fields = problems_of(lambda: order_of(keeper, supplier, central))

    assert fields == {"lines": ["An order needs at least one line."]}


@pytest.mark.django_db
def test_only_a_draft_is_changed_and_its_lines_are_replaced(keeper, supplier, central, board):
    other = PartFactory(number="FAN-02")
    order = order_of(keeper, supplier, central, (board, 10, 150))

    order = purchase_order_update(
        actor=keeper,
        order=order,
        data={"notes": "加急", "lines": [{"part": other, "quantity": 3, "unit_price": 20}]},
    )

    assert order.notes == "加急"
    assert [(line.part.number, line.quantity) for line in order.lines.all()] == [
        ("FAN-02", Decimal("3.000"))
    ]
    purchase_order_place(actor=keeper, order=order)
    with pytest.raises(InvalidTransitionError):
        purchase_order_update(actor=keeper, order=order, data={"notes": "late change"})


@pytest.mark.django_db
def test_placing_with_an_expired_supplier_licence_is_refused(keeper, central, board):
    lapsed = licensed_supplier(name="过期供应商", valid_until=TODAY - datetime.timedelta(days=1))
    order = order_of(keeper, lapsed, central, (board, 5, 100))

    with pytest.raises(SupplierLockedError) as error:
        purchase_order_place(actor=keeper, order=order)

    assert "expired on" in error.value.message
    assert error.value.fields["supplier"] == [error.value.message]
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.DRAFT
    assert order.ordered_on is None


# --- Receiving -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_partial_receipt_then_the_rest_makes_the_order_received(keeper, supplier, central, board):
    order = placed(keeper, supplier, central, (board, 10, Decimal("150.00")))
    line = order.lines.get()

    order = purchase_order_receive(
        actor=keeper, order=order, receipts=[{"line": line, "quantity": 4}], reference="DN-001"
    )

    assert order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    line.refresh_from_db()
    assert (line.quantity_received, line.outstanding) == (Decimal("4.000"), Decimal("6.000"))
    assert on_hand(part=board, location=central) == Decimal(4)
    movement = StockMovement.objects.get(purchase_order_line=line)
    assert (movement.kind, movement.quantity, movement.destination, movement.source) == (
        MovementKind.RECEIPT,
        Decimal("4.000"),
        central,
        None,
    )
    assert (movement.unit_cost, movement.reference, movement.recorded_by) == (
        Decimal("150.00"),
        "DN-001",
        keeper,
    )

    order = purchase_order_receive(
        actor=keeper, order=order, receipts=[{"line": line.pk, "quantity": "6"}]
    )

    assert order.status == PurchaseOrderStatus.RECEIVED
    assert on_hand(part=board, location=central) == Decimal(10)
    # Without a delivery note, the order number finds the receipt.
    assert list(
        StockMovement.objects.filter(purchase_order_line=line)
        .order_by("pk")
        .values_list("quantity", "reference")
    ) == [(Decimal("4.000"), "DN-001"), (Decimal("6.000"), order.number)]
    with pytest.raises(InvalidTransitionError):
        purchase_order_receive(actor=keeper, order=order, receipts=[{"line": line, "quantity": 1}])


@pytest.mark.django_db
def test_receiving_more_than_outstanding_is_refused_and_nothing_is_saved(
    keeper, supplier, central, board, battery
):
    order = placed(keeper, supplier, central, (board, 10, 150), (battery, 5, 80))
    board_line, battery_line = order.lines.order_by("pk")
    purchase_order_receive(
        actor=keeper, order=order, receipts=[{"line": board_line, "quantity": 4}]
    )
    movements_before = StockMovement.objects.count()
    lots_before = PartLot.objects.count()

    fields = problems_of(
        lambda: purchase_order_receive(
            actor=keeper,
            order=order,
            receipts=[
                {
                    "line": battery_line,
                    "quantity": 5,
                    "lot_number": "B2603",
                    "expiry_date": datetime.date(2099, 3, 1),
                },
                {"line": board_line, "quantity": 7},
            ],
        )
    )

    assert fields == {
        "receipts.2.quantity": [
            "Receipt 2: 7 个 of MB-100 is more than the 6 still outstanding on the order."
        ]
    }
    assert StockMovement.objects.count() == movements_before
    assert PartLot.objects.count() == lots_before
    assert on_hand(part=board, location=central) == Decimal(4)
    assert on_hand(part=battery, location=central) == Decimal(0)
    battery_line.refresh_from_db()
    board_line.refresh_from_db()
    assert (board_line.quantity_received, battery_line.quantity_received) == (4, 0)
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED


@pytest.mark.django_db
def test_a_lot_tracked_part_without_its_lot_and_expiry_is_refused(
    keeper, supplier, central, battery
):
    order = placed(keeper, supplier, central, (battery, 20, 80))
    line = order.lines.get()

    fields = problems_of(
        lambda: purchase_order_receive(
            actor=keeper, order=order, receipts=[{"line": line, "quantity": 20}]
        )
    )

    assert fields == {
        "receipts.1.lot_number": ["Receipt 1: BAT-01 is tracked by lot: give the lot number."],
        "receipts.1.expiry_date": [
            "Receipt 1: BAT-01 has a shelf life: give the lot's expiry date."
        ],
    }
    assert not StockMovement.objects.exists()

    purchase_order_receive(
        actor=keeper,
        order=order,
        receipts=[
            {
                "line": line,
                "quantity": 12,
                "lot_number": "B2603",
                "expiry_date": datetime.date(2099, 3, 1),
            },
            {
                "line": line,
                "quantity": 8,
                "lot_number": "B2604",
                "expiry_date": datetime.date(2099, 4, 1),
            },
        ],
    )

    lots = PartLot.objects.filter(part=battery).order_by("lot_number")
    assert [(lot.lot_number, lot.expiry_date, lot.supplier) for lot in lots] == [
        ("B2603", datetime.date(2099, 3, 1), supplier),
        ("B2604", datetime.date(2099, 4, 1), supplier),
    ]
    assert [on_hand(part=battery, location=central, lot=lot) for lot in lots] == [12, 8]
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.RECEIVED


@pytest.mark.django_db
def test_serial_tracked_parts_are_received_one_unit_per_serial(keeper, supplier, central, probe):
    order = placed(keeper, supplier, central, (probe, 3, 5000))
    line = order.lines.get()

    fields = problems_of(
        lambda: purchase_order_receive(
            actor=keeper,
            order=order,
            receipts=[{"line": line, "quantity": 3, "serial_numbers": ["PX-001", "PX-002"]}],
        )
    )
    assert fields == {
        "receipts.1.serial_numbers": [
            "Receipt 1: 2 serial numbers for a quantity of 3: give one serial per unit."
        ]
    }

    order = purchase_order_receive(
        actor=keeper, order=order, receipts=[{"line": line, "serial_numbers": ["PX-001", "PX-002"]}]
    )

    assert order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    line.refresh_from_db()
    assert line.quantity_received == 2
    assert sorted(PartLot.objects.filter(part=probe).values_list("serial_number", flat=True)) == [
        "PX-001",
        "PX-002",
    ]
    assert list(
        StockMovement.objects.filter(purchase_order_line=line).values_list(
            "lot__serial_number", "quantity"
        )
    ) == [("PX-001", Decimal("1.000")), ("PX-002", Decimal("1.000"))]


@pytest.mark.django_db
def test_a_serial_already_on_hand_or_given_twice_is_refused(keeper, supplier, central, probe):
    stock_in(central, probe, 1, serial_number="PX-009")
    order = placed(keeper, supplier, central, (probe, 3, 5000))
    line = order.lines.get()

    fields = problems_of(
        lambda: purchase_order_receive(
            actor=keeper,
            order=order,
            receipts=[
                {"line": line, "serial_numbers": ["PX-009", "PX-010"]},
                {"line": line, "serial_numbers": ["PX-010"]},
            ],
        )
    )

    assert fields == {
        "receipts.1.serial_numbers": ["Receipt 1: PRB-01 serial PX-009 is already in stock."],
        "receipts.2.serial_numbers": ["Receipt 2: serial PX-010 is given twice."],
    }
    assert on_hand(part=probe, location=central) == 1
    line.refresh_from_db()
    assert line.quantity_received == 0


@pytest.mark.django_db
def test_the_supplier_licence_is_checked_again_at_receipt(keeper, supplier, central, board):
    from medservice.catalog.models import SupplierLicence

    order = placed(keeper, supplier, central, (board, 10, 150))
    SupplierLicence.objects.filter(supplier=supplier).update(
        valid_until=TODAY - datetime.timedelta(days=1)
    )

    with pytest.raises(SupplierLockedError):
        purchase_order_receive(
            actor=keeper, order=order, receipts=[{"line": order.lines.get(), "quantity": 10}]
        )

    assert on_hand(part=board, location=central) == 0


# --- Closing and cancelling -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_partially_received_order_is_closed_short_with_a_reason(keeper, supplier, central, board):
    order = placed(keeper, supplier, central, (board, 10, 150))
    with pytest.raises(InvalidTransitionError):
        purchase_order_close(actor=keeper, order=order, reason="supplier discontinued")
    line = order.lines.get()
    purchase_order_receive(actor=keeper, order=order, receipts=[{"line": line, "quantity": 4}])

    fields = problems_of(lambda: purchase_order_close(actor=keeper, order=order, reason="  "))
    assert fields == {"reason": ["Say why the rest will not come."]}

    order = purchase_order_close(actor=keeper, order=order, reason="供应商停产")

    assert order.status == PurchaseOrderStatus.CLOSED
    assert order.closed_reason == "供应商停产"
    event = AuditEvent.objects.filter(
        object_type="inventory.purchaseorder", object_id=str(order.pk), detail="close"
    ).get()
    assert (event.action, event.reason, event.actor) == ("transition", "供应商停产", keeper)


@pytest.mark.django_db
def test_an_order_is_cancelled_with_a_reason_until_goods_arrive(keeper, supplier, central, board):
    order = placed(keeper, supplier, central, (board, 10, 150))

    order = purchase_order_cancel(actor=keeper, order=order, reason="重复下单")

    assert (order.status, order.closed_reason) == (PurchaseOrderStatus.CANCELLED, "重复下单")
    with pytest.raises(InvalidTransitionError):
        purchase_order_place(actor=keeper, order=order)


@pytest.mark.django_db
def test_every_step_writes_audit_events(keeper, supplier, central, board):
    order = placed(keeper, supplier, central, (board, 10, 150))
    line = order.lines.get()
    purchase_order_receive(actor=keeper, order=order, receipts=[{"line": line, "quantity": 4}])
    purchase_order_close(actor=keeper, order=order, reason="no more")

    order_events = list(
        AuditEvent.objects.filter(object_type="inventory.purchaseorder", object_id=str(order.pk))
        .order_by("id")
        .values_list("action", "detail", "actor")
    )
    assert order_events == [
        ("create", "", keeper.pk),
        ("transition", "place", keeper.pk),
        ("transition", "receive", keeper.pk),
        ("transition", "close", keeper.pk),
    ]
    line_events = list(
        AuditEvent.objects.filter(object_type="inventory.purchaseorderline", object_id=str(line.pk))
        .order_by("id")
        .values_list("action", "changes")
    )
    assert [action for action, _changes in line_events] == ["create", "transition"]
    assert line_events[1][1]["quantity_received"] == ["0.000", "4.000"]
    assert (
        AuditEvent.objects.filter(
            object_type="inventory.stockmovement", action="create", actor=keeper
        ).count()
        == 1
    )


# --- Reorder suggestions ---------------------------------------------------------------------


@pytest.mark.django_db
def test_reorder_suggestions_count_open_orders_and_group_by_supplier(keeper, supplier, central):
    low = PartFactory(
        number="A-LOW", reorder_point=10, reorder_quantity=20, preferred_supplier=supplier
    )
    PartFactory(number="B-EMPTY", reorder_point=10, reorder_quantity=5, preferred_supplier=supplier)
    covered = PartFactory(
        number="C-COVERED", reorder_point=10, reorder_quantity=5, preferred_supplier=supplier
    )
    orphan = PartFactory(number="D-ORPHAN", reorder_point=4, reorder_quantity=4)
    stock_in(central, low, 2)
    stock_in(central, covered, 3)
    # 3 on hand + 8 still to come on an open order: not below the reorder point of 10.
    placed(keeper, supplier, central, (covered, 8, 100))

    groups = reorder_suggestions()

    assert [
        (
            group.supplier,
            [(item.part.number, item.usable, item.on_order, item.quantity) for item in group.lines],
        )
        for group in groups
    ] == [
        (supplier, [("A-LOW", 2, 0, 20), ("B-EMPTY", 0, 0, 10)]),
        (None, [("D-ORPHAN", 0, 0, 4)]),
    ]
    assert orphan.preferred_supplier is None

    orders = purchase_orders_from_suggestions(actor=keeper, destination=central)

    assert len(orders) == 1
    assert (orders[0].supplier, orders[0].status, orders[0].destination) == (
        supplier,
        PurchaseOrderStatus.DRAFT,
        central,
    )
    assert list(
        orders[0]
        .lines.order_by("part__number")
        .values_list("part__number", "quantity", "unit_price")
    ) == [
        ("A-LOW", Decimal("20.000"), Decimal("120.00")),
        ("B-EMPTY", Decimal("10.000"), Decimal("120.00")),
    ]
    # Pressing the button again orders nothing twice: the parts are on the draft.
    assert purchase_orders_from_suggestions(actor=keeper, destination=central) == []


# --- API -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_writes_places_and_receives_an_order(
    api, keeper, supplier, central, board, battery
):
    client = api.as_user(keeper)

    response = client.post(
        "/api/v1/purchase-orders/",
        {
            "supplier": supplier.pk,
            "destination": central.pk,
            "expected_on": "2099-05-01",
            "lines": [
                {"part": board.pk, "quantity": "10", "unit_price": "150.00"},
                {"part": battery.pk, "quantity": "5"},
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["status"]) == (f"PO-{YEAR}-000001", "draft")
    assert [(line["part"], line["quantity"], line["unit_price"]) for line in body["lines"]] == [
        (board.pk, "10.000", "150.00"),
        (battery.pk, "5.000", "80.00"),
    ]
    order_id = body["id"]
    board_line, battery_line = (line["id"] for line in body["lines"])

    response = client.post(f"/api/v1/purchase-orders/{order_id}/place/")
    assert (response.status_code, response.json()["status"]) == (200, "ordered")

    response = client.post(
        f"/api/v1/purchase-orders/{order_id}/receive/",
        {
            "reference": "DN-77",
            "receipts": [
                {"line": board_line, "quantity": "10"},
                {"line": battery_line, "quantity": "5"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["receipts.2.lot_number"] == [
        "Receipt 2: BAT-01 is tracked by lot: give the lot number."
    ]
    assert not StockMovement.objects.exists()

    response = client.post(
        f"/api/v1/purchase-orders/{order_id}/receive/",
        {
            "reference": "DN-77",
            "receipts": [
                {"line": board_line, "quantity": "10"},
                {
                    "line": battery_line,
                    "quantity": "5",
                    "lot_number": "B1",
                    "expiry_date": "2099-01-31",
                },
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "received"
    assert [line["outstanding"] for line in body["lines"]] == ["0.000", "0.000"]

    response = client.post(
        f"/api/v1/purchase-orders/{order_id}/cancel/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


@pytest.mark.django_db
def test_the_api_names_bad_lines_and_a_locked_supplier(api, keeper, central, board):
    client = api.as_user(keeper)
    lapsed = licensed_supplier(name="过期供应商", valid_until=TODAY - datetime.timedelta(days=1))

    response = client.post(
        "/api/v1/purchase-orders/",
        {
            "supplier": lapsed.pk,
            "destination": central.pk,
            "lines": [{"part": board.pk, "quantity": "0"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "lines.1.quantity": ["Line 1: the quantity must be more than zero."]
    }

    order = order_of(keeper, lapsed, central, (board, 1, 1))
    response = client.post(f"/api/v1/purchase-orders/{order.pk}/place/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "supplier_locked"
    assert list(response.json()["error"]["fields"]) == ["supplier"]

    response = client.post(f"/api/v1/purchase-orders/{order.pk}/close/", {}, format="json")
    assert response.status_code == 409


@pytest.mark.django_db
def test_an_engineer_may_not_place_an_order(api, keeper, engineer, supplier, central, board):
    order = order_of(keeper, supplier, central, (board, 1, 1))

    response = api.as_user(engineer).post(f"/api/v1/purchase-orders/{order.pk}/place/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.DRAFT


# --- Scope -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.DISTRIBUTOR_ENGINEER, Role.CUSTOMER_USER])
def test_an_outsider_gets_404_on_an_order_even_with_every_permission(
    client, keeper, supplier, central, board, distributor, hospital_a, role
):
    order = placed(keeper, supplier, central, (board, 10, 150))
    resource = RESOURCES["purchase-orders"]
    outsider = user_with_role(
        role, distributor if role == Role.DISTRIBUTOR_ENGINEER else hospital_a
    )
    grant_all_permissions(outsider, resource)
    client.force_login(outsider)
    api = Api().as_user(outsider)

    assert_record_is_out_of_scope(client, api, resource, order)
    for name in ("place", "receive", "close", "cancel"):
        assert (
            client.post(
                reverse("inventory:purchase-order-action", args=[order.pk, name]), {"reason": "x"}
            ).status_code
            == 404
        )
        assert (
            api.post(f"/api/v1/purchase-orders/{order.pk}/{name}/", {"reason": "x"}).status_code
            == 404
        )
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.ORDERED


@pytest.mark.django_db
def test_the_keeper_reaches_the_order(client, keeper, supplier, central, board):
    order = placed(keeper, supplier, central, (board, 10, 150))
    client.force_login(keeper)

    assert_record_is_in_scope(client, Api().as_user(keeper), RESOURCES["purchase-orders"], order)


# --- Pages -----------------------------------------------------------------------------------


def _management(prefix: str, total: int) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(total),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


@pytest.mark.django_db
def test_the_keeper_writes_an_order_on_its_page(client, keeper, supplier, central, board):
    client.force_login(keeper)
    page = client.get(reverse("inventory:purchase-orders-create"))
    assert page.status_code == 200
    assert 'name="lines-0-part"' in page.content.decode()

    response = client.post(
        reverse("inventory:purchase-orders-create"),
        {
            "supplier": supplier.pk,
            "destination": central.pk,
            "expected_on": "2099-05-01",
            "supplier_reference": "",
            "notes": "",
            **_management("lines", 3),
            "lines-0-part": board.pk,
            "lines-0-quantity": "0",
            "lines-1-part": "",
            "lines-2-part": "",
        },
    )
    assert response.status_code == 400
    assert "Line 1: the quantity must be more than zero." in response.content.decode()

    response = client.post(
        reverse("inventory:purchase-orders-create"),
        {
            "supplier": supplier.pk,
            "destination": central.pk,
            **_management("lines", 3),
            "lines-0-part": board.pk,
            "lines-0-quantity": "10",
            "lines-0-unit_price": "150",
        },
    )
    order = PurchaseOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:purchase-orders-detail", args=[order.pk])
    assert [(line.part, line.quantity) for line in order.lines.all()] == [(board, 10)]


@pytest.mark.django_db
def test_the_keeper_places_and_receives_on_the_order_page(
    client, keeper, supplier, central, board, probe
):
    order = order_of(keeper, supplier, central, (board, 10, 150), (probe, 2, 5000))
    board_line, probe_line = order.lines.order_by("pk")
    client.force_login(keeper)

    page = client.get(reverse("inventory:purchase-orders-detail", args=[order.pk])).content.decode()
    assert 'data-action="place"' in page and 'data-action="cancel"' in page
    assert 'data-action="receive"' not in page

    response = client.post(reverse("inventory:purchase-order-action", args=[order.pk, "place"]))
    assert response.status_code == 302
    page = client.get(reverse("inventory:purchase-orders-detail", args=[order.pk])).content.decode()
    assert 'data-action="receive"' in page and 'name="receipts-1-serial_numbers"' in page

    rows = {
        **_management("receipts", 2),
        "reference": "DN-5",
        "receipts-0-line": board_line.pk,
        "receipts-0-quantity": "4",
        "receipts-1-line": probe_line.pk,
        "receipts-1-serial_numbers": "PX-1\nPX-1",
    }
    response = client.post(
        reverse("inventory:purchase-order-action", args=[order.pk, "receive"]), rows
    )
    assert response.status_code == 400
    assert "Receipt 2: serial PX-1 is given twice." in response.content.decode()
    assert not StockMovement.objects.exists()

    rows["receipts-1-serial_numbers"] = "PX-1\nPX-2\n"
    response = client.post(
        reverse("inventory:purchase-order-action", args=[order.pk, "receive"]), rows
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    page = client.get(reverse("inventory:purchase-orders-detail", args=[order.pk])).content.decode()
    assert page.count('class="order-receipt"') == 3
    assert "SN PX-2" in page and "DN-5" in page

    response = client.post(
        reverse("inventory:purchase-order-action", args=[order.pk, "close"]), {"reason": ""}
    )
    assert response.status_code == 400
    response = client.post(
        reverse("inventory:purchase-order-action", args=[order.pk, "close"]), {"reason": "停产"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.CLOSED


@pytest.mark.django_db
def test_the_keeper_writes_drafts_from_the_reorder_suggestions_page(
    client, keeper, supplier, central
):
    PartFactory(number="A-LOW", reorder_point=10, reorder_quantity=20, preferred_supplier=supplier)
    client.force_login(keeper)

    page = client.get(reverse("inventory:purchase-orders-reorder"))
    assert page.status_code == 200
    assert 'data-part="A-LOW"' in page.content.decode()
    home = client.get("/").content.decode()
    assert 'id="warehouse-reorder-link"' in home
    assert "A-LOW" in home

    response = client.post(
        reverse("inventory:purchase-orders-reorder"), {"destination": central.pk}
    )

    assert response.status_code == 302
    order = PurchaseOrder.objects.get()
    assert (order.supplier, order.status) == (supplier, PurchaseOrderStatus.DRAFT)
    assert list(order.lines.values_list("part__number", "quantity")) == [
        ("A-LOW", Decimal("20.000"))
    ]
