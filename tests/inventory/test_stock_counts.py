"""Stock counts (盘点): the location is frozen and its books snapshotted; the counter records what
is on the shelf (blind); someone else approves, and the variances are posted as count
adjustments with the approver and the reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.urls import reverse

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.core.models import AuditEvent
from medservice.inventory.choices import Condition, MovementKind, StockCountStatus
from medservice.inventory.counts import (
    SegregationOfDutiesError,
    stock_count_approve,
    stock_count_cancel,
    stock_count_record,
    stock_count_reopen,
    stock_count_start,
    stock_count_submit,
)
from medservice.inventory.models import PartLot, StockMovement
from medservice.inventory.services import (
    LocationCountingError,
    Move,
    movements_post,
    on_hand,
    stock_transfer,
)
from tests.factories import user_with_role
from tests.inventory.factories import LotPartFactory, PartFactory, stock_in


def D(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def battery(db):
    return LotPartFactory(number="BAT-1", name_zh="电池", name_en="Battery")


@pytest.fixture
def books(central, regional, board, battery, keeper):
    """Central holds 10 boards, 5 batteries of lot L1 and 2 defective boards; the regional
    warehouse holds boards too (not part of a count of central)."""
    stock_in(central, board, 10)
    lot = stock_in(central, battery, 5, lot_number="L1")
    stock_in(regional, board, 4)
    with transaction.atomic():
        movements_post(
            actor=None,
            kind=MovementKind.REMOVAL,
            destination=central,
            moves=[Move(part=board, quantity=D(2), destination_condition=Condition.DEFECTIVE)],
            reference="test defective",
        )
    return {"lot": lot}


@pytest.fixture
def chief_keeper(company):
    """A senior keeper who may also approve counts (to test segregation of duties)."""
    user = user_with_role(Role.WAREHOUSE_KEEPER, company, username="chief")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="inventory", codename="approve_stockcount")
    )
    return type(user).objects.get(pk=user.pk)


def _lines(count):
    return {
        (line.part.number, line.lot.lot_number if line.lot else "", line.condition): line
        for line in count.lines.select_related("part", "lot")
    }


def _count_everything(count, actor, quantities):
    lines = _lines(count)
    stock_count_record(
        actor=actor,
        count=count,
        counted={lines[key].pk: value for key, value in quantities.items()},
    )


def test_starting_a_count_freezes_the_location_and_snapshots_its_books(
    keeper, central, books, board, battery
):
    count = stock_count_start(actor=keeper, location=central, reason="月度盘点")

    central.refresh_from_db()
    assert central.counting is True
    assert count.status == StockCountStatus.COUNTING
    assert count.number.startswith("SC-")
    assert count.started_by == keeper
    assert {key: line.book_quantity for key, line in _lines(count).items()} == {
        ("MB-100", "", Condition.GOOD): D(10),
        ("MB-100", "", Condition.DEFECTIVE): D(2),
        ("BAT-1", "L1", Condition.GOOD): D(5),
    }
    assert all(line.counted_quantity is None for line in count.lines.all())


def test_no_stock_moves_in_or_out_while_the_location_is_counted(
    keeper, central, regional, books, board
):
    stock_count_start(actor=keeper, location=central)

    with pytest.raises(LocationCountingError):
        stock_in(central, board, 1)
    with pytest.raises(LocationCountingError):
        stock_transfer(
            actor=keeper, source=central, destination=regional, moves=[Move(part=board, quantity=1)]
        )
    # Other locations carry on.
    stock_in(regional, board, 1)
    assert on_hand(part=board, location=central) == D(10)
    assert on_hand(part=board, location=regional) == D(5)


def test_a_second_count_of_the_same_location_is_refused(keeper, central, books):
    stock_count_start(actor=keeper, location=central)
    with pytest.raises(LocationCountingError):
        stock_count_start(actor=keeper, location=central)


def test_variances_are_posted_as_approved_adjustments(
    keeper, manager, central, books, board, battery
):
    count = stock_count_start(actor=keeper, location=central)
    _count_everything(
        count,
        keeper,
        {
            ("MB-100", "", Condition.GOOD): "8",  # two boards missing
            ("MB-100", "", Condition.DEFECTIVE): "2",
            ("BAT-1", "L1", Condition.GOOD): "6",  # one battery more than the books
        },
    )
    # Found on the shelf, not on the books: three batteries of a lot never booked here.
    stock_count_record(
        actor=keeper,
        count=count,
        counted={},
        extra_lines=[
            {"part": battery, "lot_number": "L9", "condition": "good", "counted_quantity": "3"}
        ],
    )
    stock_count_submit(actor=keeper, count=count)
    count = stock_count_approve(actor=manager, count=count, reason="破损未登记；L9 入库漏记")

    assert count.status == StockCountStatus.POSTED
    assert count.approved_by == manager
    assert count.submitted_by == keeper
    central.refresh_from_db()
    assert central.counting is False

    adjustments = StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).order_by("pk")
    rows = {
        (
            movement.part.number,
            movement.lot.lot_number if movement.lot else "",
            movement.source_id,
            movement.destination_id,
            movement.quantity,
        )
        for movement in adjustments
    }
    assert rows == {
        ("MB-100", "", central.pk, None, D(2)),
        ("BAT-1", "L1", None, central.pk, D(1)),
        ("BAT-1", "L9", None, central.pk, D(3)),
    }
    for movement in adjustments:
        assert movement.approved_by == manager
        assert movement.recorded_by == manager
        assert movement.reason == "破损未登记；L9 入库漏记"
        assert movement.reference == count.number
        assert movement.count_line.count_id == count.pk

    lot_l9 = PartLot.objects.get(part=battery, lot_number="L9")
    assert on_hand(part=board, location=central) == D(8)
    assert on_hand(part=board, location=central, condition=Condition.DEFECTIVE) == D(2)
    assert on_hand(part=battery, location=central, lot=books["lot"]) == D(6)
    assert on_hand(part=battery, location=central, lot=lot_l9) == D(3)
    # The location moves again.
    stock_in(central, board, 1)
    assert on_hand(part=board, location=central) == D(9)


def test_a_defective_shortage_is_taken_from_the_defective_stock(
    keeper, manager, central, books, board
):
    count = stock_count_start(actor=keeper, location=central)
    _count_everything(
        count,
        keeper,
        {
            ("MB-100", "", Condition.GOOD): "10",
            ("MB-100", "", Condition.DEFECTIVE): "0",
            ("BAT-1", "L1", Condition.GOOD): "5",
        },
    )
    stock_count_submit(actor=keeper, count=count)
    stock_count_approve(actor=manager, count=count, reason="已报废未登记")

    movement = StockMovement.objects.get(kind=MovementKind.ADJUSTMENT)
    assert movement.source_condition == Condition.DEFECTIVE
    assert on_hand(part=board, location=central, condition=Condition.DEFECTIVE) == D(0)
    assert on_hand(part=board, location=central) == D(10)


def test_the_person_who_submitted_may_not_approve(chief_keeper, manager, central, books):
    count = stock_count_start(actor=chief_keeper, location=central)
    _count_everything(
        count,
        chief_keeper,
        {
            ("MB-100", "", Condition.GOOD): "9",
            ("MB-100", "", Condition.DEFECTIVE): "2",
            ("BAT-1", "L1", Condition.GOOD): "5",
        },
    )
    stock_count_submit(actor=chief_keeper, count=count)

    with pytest.raises(SegregationOfDutiesError):
        stock_count_approve(actor=chief_keeper, count=count, reason="少一块")

    count.refresh_from_db()
    assert count.status == StockCountStatus.SUBMITTED
    assert not StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).exists()
    central.refresh_from_db()
    assert central.counting is True
    # Someone else may.
    stock_count_approve(actor=manager, count=count, reason="少一块")


def test_a_keeper_without_the_approval_permission_may_not_approve(keeper, central, books):
    count = stock_count_start(actor=keeper, location=central)
    _count_everything(
        count,
        keeper,
        {
            ("MB-100", "", Condition.GOOD): "10",
            ("MB-100", "", Condition.DEFECTIVE): "2",
            ("BAT-1", "L1", Condition.GOOD): "5",
        },
    )
    stock_count_submit(actor=keeper, count=count)
    from medservice.core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        stock_count_approve(actor=keeper, count=count)


def test_variances_need_a_reason_a_clean_count_does_not(keeper, manager, central, books):
    count = stock_count_start(actor=keeper, location=central)
    _count_everything(
        count,
        keeper,
        {
            ("MB-100", "", Condition.GOOD): "11",
            ("MB-100", "", Condition.DEFECTIVE): "2",
            ("BAT-1", "L1", Condition.GOOD): "5",
        },
    )
    stock_count_submit(actor=keeper, count=count)
    with pytest.raises(InvalidInputError) as refused:
        stock_count_approve(actor=manager, count=count, reason="  ")
    assert "reason" in refused.value.fields
    count.refresh_from_db()
    assert count.status == StockCountStatus.SUBMITTED

    # Sent back, recounted: it matches the books, so no reason and no adjustment.
    stock_count_reopen(actor=manager, count=count, reason="复盘主板")
    _count_everything(count, keeper, {("MB-100", "", Condition.GOOD): "10"})
    stock_count_submit(actor=keeper, count=count)
    count = stock_count_approve(actor=manager, count=count)
    assert count.status == StockCountStatus.POSTED
    assert not StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).exists()


def test_submitting_names_the_lines_not_counted(keeper, central, books):
    count = stock_count_start(actor=keeper, location=central)
    _count_everything(count, keeper, {("MB-100", "", Condition.GOOD): "10"})

    with pytest.raises(InvalidInputError) as refused:
        stock_count_submit(actor=keeper, count=count)

    assert "BAT-1" in refused.value.message
    assert "L1" in refused.value.message
    count.refresh_from_db()
    assert count.status == StockCountStatus.COUNTING


def test_bad_counts_are_refused_with_the_line_named(keeper, central, books, board):
    count = stock_count_start(actor=keeper, location=central)
    line = _lines(count)[("MB-100", "", Condition.GOOD)]
    with pytest.raises(InvalidInputError) as refused:
        stock_count_record(actor=keeper, count=count, counted={line.pk: "-1"})
    assert f"counted.{line.pk}" in refused.value.fields
    with pytest.raises(InvalidInputError) as refused:
        stock_count_record(
            actor=keeper,
            count=count,
            counted={},
            extra_lines=[{"part": board, "condition": "good", "counted_quantity": "1"}],
        )
    assert "extra_lines.1.part" in refused.value.fields  # already a line: count it there
    line.refresh_from_db()
    assert line.counted_quantity is None


def test_cancelling_unfreezes_the_location_and_posts_nothing(keeper, central, books, board):
    count = stock_count_start(actor=keeper, location=central)
    with pytest.raises(InvalidInputError):
        stock_count_cancel(actor=keeper, count=count, reason="")

    count = stock_count_cancel(actor=keeper, count=count, reason="盘点人员临时调走")

    assert count.status == StockCountStatus.CANCELLED
    central.refresh_from_db()
    assert central.counting is False
    assert not StockMovement.objects.filter(kind=MovementKind.ADJUSTMENT).exists()
    stock_in(central, board, 1)
    assert on_hand(part=board, location=central) == D(11)
    # A new count may start.
    stock_count_start(actor=keeper, location=central)
    with pytest.raises(InvalidTransitionError):
        stock_count_cancel(actor=keeper, count=count, reason="again")


def test_every_step_is_audited(keeper, manager, central, books):
    count = stock_count_start(actor=keeper, location=central, reason="季度盘点")
    _count_everything(
        count,
        keeper,
        {
            ("MB-100", "", Condition.GOOD): "9",
            ("MB-100", "", Condition.DEFECTIVE): "2",
            ("BAT-1", "L1", Condition.GOOD): "5",
        },
    )
    stock_count_submit(actor=keeper, count=count)
    stock_count_approve(actor=manager, count=count, reason="丢失一块")

    events = AuditEvent.objects.filter(object_type="inventory.stockcount", object_id=str(count.pk))
    assert events.filter(action="create", actor=keeper, reason="季度盘点").exists()
    assert events.filter(action="transition", detail="submit", actor=keeper).exists()
    assert events.filter(
        action="transition", detail="approve", actor=manager, reason="丢失一块"
    ).exists()
    location_events = AuditEvent.objects.filter(
        object_type="inventory.stocklocation", object_id=str(central.pk)
    )
    assert location_events.filter(actor=keeper, changes__has_key="counting").exists()
    assert location_events.filter(actor=manager, detail="stock-count-approve").exists()
    line = count.lines.get(part__number="MB-100", condition=Condition.GOOD)
    assert AuditEvent.objects.filter(
        object_type="inventory.stockcountline", object_id=str(line.pk), actor=keeper
    ).exists()
    movement = StockMovement.objects.get(kind=MovementKind.ADJUSTMENT)
    assert AuditEvent.objects.filter(
        object_type="inventory.stockmovement", object_id=str(movement.pk), action="create"
    ).exists()


# --- Pages ------------------------------------------------------------------------------------


def test_the_count_sheet_is_blind_while_counting(client, keeper, manager, central, books):
    count = stock_count_start(actor=keeper, location=central)
    line = _lines(count)[("MB-100", "", Condition.GOOD)]
    client.force_login(keeper)

    page = client.get(reverse("inventory:stock-count-sheet", args=[count.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'name="counted_{line.pk}"' in html
    assert "Book quantity" not in html
    detail = client.get(reverse("inventory:stock-counts-detail", args=[count.pk]))
    assert detail.status_code == 200
    assert "Book quantity" not in detail.content.decode()

    lines = _lines(count)
    answer = client.post(
        reverse("inventory:stock-count-record", args=[count.pk]),
        {
            f"counted_{lines[('MB-100', '', Condition.GOOD)].pk}": "10",
            f"counted_{lines[('MB-100', '', Condition.DEFECTIVE)].pk}": "2",
            f"counted_{lines[('BAT-1', 'L1', Condition.GOOD)].pk}": "4",
            "found-1-part": "MB-100",
            "found-1-condition": "good",
            "found-1-counted_quantity": "",
            "found-2-part": "NO-SUCH",
            "found-2-counted_quantity": "1",
        },
    )
    assert answer.status_code == 400
    assert "No part numbered" in answer.content.decode()
    line.refresh_from_db()
    assert line.counted_quantity is None

    answer = client.post(
        reverse("inventory:stock-count-record", args=[count.pk]),
        {
            f"counted_{lines[('MB-100', '', Condition.GOOD)].pk}": "10",
            f"counted_{lines[('MB-100', '', Condition.DEFECTIVE)].pk}": "2",
            f"counted_{lines[('BAT-1', 'L1', Condition.GOOD)].pk}": "4",
        },
    )
    assert answer.status_code == 302
    line.refresh_from_db()
    assert line.counted_quantity == D(10)

    answer = client.post(reverse("inventory:stock-count-action", args=[count.pk, "submit"]))
    assert answer.status_code == 302
    count.refresh_from_db()
    assert count.status == StockCountStatus.SUBMITTED

    client.force_login(manager)
    detail = client.get(reverse("inventory:stock-counts-detail", args=[count.pk]))
    assert "Book quantity" in detail.content.decode()
    refused = client.post(reverse("inventory:stock-count-action", args=[count.pk, "approve"]))
    assert refused.status_code == 400  # a variance needs a reason
    answer = client.post(
        reverse("inventory:stock-count-action", args=[count.pk, "approve"]),
        {"approve-reason": "一块电池用于急修未登记"},
    )
    assert answer.status_code == 302
    count.refresh_from_db()
    assert count.status == StockCountStatus.POSTED


def test_starting_a_count_from_the_list_page(client, keeper, central, books):
    client.force_login(keeper)
    answer = client.post(reverse("inventory:stock-counts-create"), {"location": central.pk})
    assert answer.status_code == 302
    central.refresh_from_db()
    assert central.counting is True
    again = client.post(reverse("inventory:stock-counts-create"), {"location": central.pk})
    assert again.status_code == 409


# --- API --------------------------------------------------------------------------------------


def test_the_count_through_the_api(api, keeper, manager, central, books, battery):
    as_keeper = api.as_user(keeper)
    created = as_keeper.post("/api/v1/stock-counts/", {"location": central.pk}, format="json")
    assert created.status_code == 201, created.json()
    count_id = created.json()["id"]
    count = as_keeper.get(f"/api/v1/stock-counts/{count_id}/").json()
    assert count["status"] == "counting"
    assert all(line["book_quantity"] is None for line in count["lines"])  # blind

    again = as_keeper.post("/api/v1/stock-counts/", {"location": central.pk}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "stock_count_open"

    early = api.as_user(manager).post(
        f"/api/v1/stock-counts/{count_id}/approve/", {"reason": "x"}, format="json"
    )
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "invalid_transition"

    bad = as_keeper.post(
        f"/api/v1/stock-counts/{count_id}/record/",
        {"counted": [{"line": count["lines"][0]["id"], "counted_quantity": "-2"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]

    recorded = as_keeper.post(
        f"/api/v1/stock-counts/{count_id}/record/",
        {
            "counted": [
                {
                    "line": line["id"],
                    "counted_quantity": {
                        ("MB-100", "good"): "10",
                        ("MB-100", "defective"): "2",
                        ("BAT-1", "good"): "1",
                    }[(line["part_number"], line["condition"])],
                }
                for line in count["lines"]
            ],
            "extra_lines": [
                {"part": battery.pk, "lot_number": "L7", "counted_quantity": "2"},
            ],
        },
        format="json",
    )
    assert recorded.status_code == 200, recorded.json()
    assert len(recorded.json()["lines"]) == 4

    submitted = as_keeper.post(f"/api/v1/stock-counts/{count_id}/submit/", {}, format="json")
    assert submitted.status_code == 200
    own = as_keeper.post(
        f"/api/v1/stock-counts/{count_id}/approve/", {"reason": "x"}, format="json"
    )
    assert own.status_code == 403

    as_manager = api.as_user(manager)
    shown = as_manager.get(f"/api/v1/stock-counts/{count_id}/").json()
    assert {line["book_quantity"] for line in shown["lines"]} == {
        "10.000",
        "2.000",
        "5.000",
        "0.000",
    }
    no_reason = as_manager.post(f"/api/v1/stock-counts/{count_id}/approve/", {}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["error"]["fields"]
    approved = as_manager.post(
        f"/api/v1/stock-counts/{count_id}/approve/", {"reason": "电池借出未登记"}, format="json"
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "posted"
    assert on_hand(part=battery, location=central, lot=books["lot"]) == D(1)
    assert on_hand(part=battery, location=central) == D(3)


def test_counts_are_out_of_scope_for_customers(api, client, keeper, customer_a, central, books):
    from medservice.core.testing import grant_all_permissions
    from medservice.inventory.views_counts import stock_counts

    count = stock_count_start(actor=keeper, location=central)
    # Even with every permission of the record kind, scoping alone refuses (404).
    grant_all_permissions(customer_a, stock_counts)
    as_customer = api.as_user(customer_a)
    assert as_customer.get(f"/api/v1/stock-counts/{count.pk}/").status_code == 404
    assert (
        as_customer.post(f"/api/v1/stock-counts/{count.pk}/cancel/", {"reason": "x"}).status_code
        == 404
    )
    client.force_login(customer_a)
    assert client.get(reverse("inventory:stock-count-sheet", args=[count.pk])).status_code == 404
    assert (
        client.post(
            reverse("inventory:stock-count-action", args=[count.pk, "cancel"]), {"reason": "x"}
        ).status_code
        == 404
    )
    count.refresh_from_db()
    assert count.status == StockCountStatus.COUNTING


def test_an_empty_location_can_be_counted_and_found_stock_booked(keeper, manager, regional):
    part = PartFactory(number="FLT-1")
    count = stock_count_start(actor=keeper, location=regional)
    assert count.lines.count() == 0
    stock_count_record(
        actor=keeper,
        count=count,
        counted={},
        extra_lines=[{"part": part.pk, "counted_quantity": "4"}],
    )
    stock_count_submit(actor=keeper, count=count)
    stock_count_approve(actor=manager, count=count, reason="上次调拨未入账")
    assert on_hand(part=part, location=regional) == D(4)


def test_the_count_list_and_start_pages_render(client, keeper, manager, central, books):
    count = stock_count_start(actor=keeper, location=central)
    client.force_login(keeper)
    listed = client.get(reverse("inventory:stock-counts-list"), {"status": "counting"})
    assert listed.status_code == 200
    assert count.number in listed.content.decode()
    assert client.get(reverse("inventory:stock-counts-create")).status_code == 200
    export = client.get(reverse("inventory:stock-counts-list"), {"export": "csv"})
    assert export.status_code == 200
    client.force_login(manager)
    detail = client.get(reverse("inventory:stock-counts-detail", args=[count.pk]))
    assert detail.status_code == 200


# --- Concurrency (PostgreSQL) -----------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent writers need real row locks on separate connections (PostgreSQL)",
)
@pytest.mark.django_db(transaction=True)
def test_a_count_started_among_concurrent_receipts_snapshots_exactly_what_was_posted(
    keeper, central, board
):
    """Receipts racing a count start either post before the snapshot (and are in the book
    quantity) or are refused; none slips in between. Two starts at once open one count."""
    import threading
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    from medservice.inventory.models import StockCount

    stock_in(central, board, 10)
    work = ["count", "count"] + ["receipt"] * 20
    barrier = threading.Barrier(len(work))

    def attempt(item: str) -> str:
        try:
            barrier.wait()
            if item == "count":
                stock_count_start(actor=keeper, location=central)
                return "count started"
            stock_in(central, board, 1)
            return "received"
        except LocationCountingError:
            return f"{item} refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        outcomes = Counter(pool.map(attempt, work))

    assert outcomes["count started"] == 1
    assert outcomes["count refused"] == 1
    assert outcomes["received"] + outcomes["receipt refused"] == 20
    count = StockCount.objects.get()
    line = count.lines.get(part=board)
    assert line.book_quantity == D(10 + outcomes["received"])
    assert on_hand(part=board, location=central) == line.book_quantity
