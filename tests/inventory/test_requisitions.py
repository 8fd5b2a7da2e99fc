"""Requisitions (申领) as the procedure runs them: an engineer requests parts, someone else
approves (perhaps fewer), the warehouse issues them (first expiry first out, never a held or
expired lot, all or nothing), the engineer confirms receipt and returns what was not used, the
defective ones to quarantine. Services, API and pages; every step audited."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from medservice.accounts.choices import Role
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from medservice.core.models import AuditEvent, Notification
from medservice.inventory.choices import Condition, MovementKind, RequisitionStatus
from medservice.inventory.models import Requisition, StockMovement
from medservice.inventory.requisitions import (
    requisition_approve,
    requisition_cancel,
    requisition_create,
    requisition_issue,
    requisition_receive,
    requisition_reject,
    requisition_return,
)
from medservice.inventory.services import (
    InsufficientStockError,
    on_hand,
    part_lot_hold,
    transit_location,
)
from tests.factories import user_with_role
from tests.inventory.factories import LotPartFactory, stock_in

pytestmark = pytest.mark.django_db


def number(sequence: int) -> str:
    return f"RQ-{timezone.localdate().year}-{sequence:06d}"


def audit_trail(record) -> list[tuple[str, str, int | None]]:
    """(action, detail, actor id) of the record's audit events, oldest first."""
    return list(
        AuditEvent.objects.filter(object_type=record._meta.label_lower, object_id=str(record.pk))
        .order_by("id")
        .values_list("action", "detail", "actor_id")
    )


@pytest.fixture
def other_engineer(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="engineer2")


@pytest.fixture
def battery(db):
    """A battery tracked by lot with a shelf life."""
    return LotPartFactory(number="BAT-12", name_zh="电池", name_en="Battery")


def request_boards(engineer, central, board, quantity=3, **extra):
    return requisition_create(
        actor=engineer, source=central, lines=[(board, Decimal(quantity))], **extra
    )


def approved(requisition, approver, quantities=None):
    return requisition_approve(actor=approver, requisition=requisition, quantities=quantities)


def issued(requisition, approver, keeper):
    return requisition_issue(actor=keeper, requisition=approved(requisition, approver))


# --- Request ----------------------------------------------------------------------------------


def test_an_engineer_requests_parts_into_their_own_stock_and_the_keeper_is_told(
    engineer, keeper, central, engineer_stock, board
):
    # Given a board in the catalogue and the engineer's own stock
    # When the engineer asks the central warehouse for 3 boards for a work order
    requisition = request_boards(
        engineer,
        central,
        board,
        reference="WO-2026-000007",
        needed_by=timezone.localdate() + datetime.timedelta(days=2),
        reason="更换主板",
    )
    # Then the request is numbered, waits for approval and names the engineer's stock
    assert (requisition.number, requisition.status, requisition.requester) == (
        number(1),
        RequisitionStatus.REQUESTED,
        engineer,
    )
    assert (requisition.source, requisition.destination) == (central, engineer_stock)
    line = requisition.lines.get()
    assert (line.part, line.quantity, line.quantity_approved, line.quantity_issued) == (
        board,
        Decimal("3.000"),
        None,
        Decimal("0.000"),
    )
    # And the warehouse keeper has it in the inbox, with a link to the record
    note = Notification.objects.get(recipient=keeper)
    assert note.subject == f"{engineer} requests parts: {number(1)}"
    assert "MB-100 主板 × 3 个" in note.body
    assert note.link == f"/inventory/requisitions/{requisition.pk}/"
    # And the request and its line are in the audit trail, by the engineer
    assert audit_trail(requisition) == [("create", "", engineer.pk)]
    assert audit_trail(line) == [("create", "", engineer.pk)]


def test_the_engineers_own_stock_is_opened_on_the_first_request(engineer, central, board):
    requisition = request_boards(engineer, central, board)
    destination = requisition.destination
    assert (destination.kind, destination.engineer, destination.code) == (
        "engineer",
        engineer,
        f"ENG-{engineer.pk}",
    )


def test_a_request_from_a_non_warehouse_or_without_quantities_is_refused_naming_the_fields(
    engineer, quarantine, central, board
):
    with pytest.raises(InvalidInputError) as refused:
        requisition_create(actor=engineer, source=quarantine, lines=[(board, Decimal(0))])
    assert refused.value.fields == {
        "source": ["Parts are requested from a central or regional warehouse."],
        "lines.1.quantity": ["The quantity must be more than zero."],
    }
    with pytest.raises(InvalidInputError) as refused:
        requisition_create(actor=engineer, source=central, lines=[])
    assert refused.value.fields == {"lines": ["Add at least one part and its quantity."]}
    with pytest.raises(InvalidInputError) as refused:
        requisition_create(actor=engineer, source=central, lines=[(board, 1), (board, 2)])
    assert refused.value.fields == {
        "lines.2.part": ["MB-100 is already on line 1: put the whole quantity there."]
    }
    assert Requisition.objects.count() == 0


def test_a_customer_may_not_request_parts(customer_a, central, board):
    with pytest.raises(PermissionDeniedError):
        requisition_create(actor=customer_a, source=central, lines=[(board, 1)])


# --- Approve and reject -----------------------------------------------------------------------


def test_the_manager_approves_fewer_than_asked_and_the_engineer_is_told(
    engineer, manager, central, engineer_stock, board
):
    requisition = request_boards(engineer, central, board, quantity=3)
    line = requisition.lines.get()
    # When the service manager approves 2 of the 3 boards
    requisition = requisition_approve(
        actor=manager, requisition=requisition, quantities={line.pk: Decimal(2)}, note="先领两块"
    )
    # Then the requisition is approved for 2, by the manager
    line.refresh_from_db()
    assert (requisition.status, requisition.decided_by, requisition.decision_note) == (
        RequisitionStatus.APPROVED,
        manager,
        "先领两块",
    )
    assert (line.quantity, line.quantity_approved) == (Decimal("3.000"), Decimal("2.000"))
    # And the engineer is told what will be issued
    note = Notification.objects.get(recipient=engineer)
    assert note.subject == f"{number(1)} is approved"
    assert "MB-100 主板 × 2 个 (3 asked)" in note.body
    # And the approval is audited as the "approve" step, with the note as reason
    assert audit_trail(requisition)[-1] == ("transition", "approve", manager.pk)
    assert (
        AuditEvent.objects.filter(
            object_type="inventory.requisition", object_id=str(requisition.pk), detail="approve"
        )
        .get()
        .reason
        == "先领两块"
    )
    assert audit_trail(line)[-1] == ("transition", "approve", manager.pk)


def test_a_requester_may_not_approve_their_own_request(keeper, central, board):
    # Given a warehouse keeper who requests parts for themselves
    requisition = request_boards(keeper, central, board)
    # When they try to approve it
    with pytest.raises(PermissionDeniedError) as refused:
        requisition_approve(actor=keeper, requisition=requisition)
    # Then it is refused, and nothing changed
    assert str(refused.value) == (
        "You requested these parts: someone else must approve or reject the request."
    )
    requisition.refresh_from_db()
    assert (requisition.status, requisition.decided_by) == (RequisitionStatus.REQUESTED, None)
    assert requisition.lines.get().quantity_approved is None


def test_an_engineer_may_not_approve(engineer, other_engineer, central, board):
    requisition = request_boards(engineer, central, board)
    with pytest.raises(PermissionDeniedError):
        requisition_approve(actor=other_engineer, requisition=requisition)


def test_approving_more_than_asked_or_nothing_at_all_is_refused(engineer, manager, central, board):
    requisition = request_boards(engineer, central, board, quantity=3)
    line = requisition.lines.get()
    with pytest.raises(InvalidInputError) as refused:
        requisition_approve(actor=manager, requisition=requisition, quantities={line.pk: 4})
    assert refused.value.fields == {
        f"quantities.{line.pk}": ["MB-100: at most the 3 asked for may be approved."]
    }
    with pytest.raises(InvalidInputError) as refused:
        requisition_approve(actor=manager, requisition=requisition, quantities={line.pk: 0})
    assert refused.value.fields == {
        "quantities": ["Nothing would be approved: reject the request instead."]
    }
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.REQUESTED


def test_a_rejection_needs_a_reason_and_tells_the_engineer(engineer, manager, central, board):
    requisition = request_boards(engineer, central, board)
    with pytest.raises(InvalidInputError) as refused:
        requisition_reject(actor=manager, requisition=requisition, reason="  ")
    assert refused.value.fields == {"reason": ["A reason is required to reject a requisition."]}
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.REQUESTED

    requisition = requisition_reject(actor=manager, requisition=requisition, reason="库存紧张")
    assert (requisition.status, requisition.decision_note) == (
        RequisitionStatus.REJECTED,
        "库存紧张",
    )
    note = Notification.objects.get(recipient=engineer)
    assert (note.subject, note.body.splitlines()[-1]) == (
        f"{number(1)} is rejected",
        "Reason: 库存紧张",
    )
    assert audit_trail(requisition)[-1] == ("transition", "reject", manager.pk)


def test_the_requester_cancels_before_issue_and_a_cancelled_request_cannot_be_issued(
    engineer, keeper, central, board
):
    requisition = request_boards(engineer, central, board)
    requisition = requisition_cancel(actor=engineer, requisition=requisition, reason="不需要了")
    assert requisition.status == RequisitionStatus.CANCELLED
    assert audit_trail(requisition)[-1] == ("transition", "cancel", engineer.pk)
    with pytest.raises(InvalidTransitionError):
        requisition_issue(actor=keeper, requisition=requisition)


# --- Issue, receive, return -------------------------------------------------------------------


def test_issue_receive_and_return_move_exactly_the_parts_of_the_requisition(
    engineer, manager, keeper, central, quarantine, engineer_stock, board
):
    # Given 10 boards in the central warehouse and a request for 3, approved
    stock_in(central, board, 10)
    requisition = approved(request_boards(engineer, central, board, quantity=3), manager)
    line = requisition.lines.get()

    # When the keeper issues them
    requisition = requisition_issue(actor=keeper, requisition=requisition)
    # Then 3 left the warehouse into transit, on the requisition's line
    transit = transit_location()
    line.refresh_from_db()
    assert (requisition.status, requisition.issued_by, line.quantity_issued) == (
        RequisitionStatus.ISSUED,
        keeper,
        Decimal("3.000"),
    )
    assert (on_hand(part=board, location=central), on_hand(part=board, location=transit)) == (
        Decimal(7),
        Decimal(3),
    )
    issue = StockMovement.objects.get(kind=MovementKind.ISSUE)
    assert (issue.quantity, issue.requisition_line, issue.reference, issue.approved_by) == (
        Decimal("3.000"),
        line,
        number(1),
        manager,
    )
    assert Notification.objects.filter(recipient=engineer).first().subject == (
        f"The parts of {number(1)} are issued"
    )

    # When the engineer confirms receipt
    requisition = requisition_receive(actor=engineer, requisition=requisition)
    # Then the boards are in the engineer's stock and nothing is left in transit
    assert requisition.status == RequisitionStatus.RECEIVED
    assert (
        on_hand(part=board, location=transit),
        on_hand(part=board, location=engineer_stock),
    ) == (Decimal(0), Decimal(3))

    # When the engineer returns 1 unused and 1 defective board
    requisition_return(
        actor=engineer,
        requisition=requisition,
        quantities={line.pk: Decimal(1)},
        defective={line.pk: Decimal(1)},
        quarantine=quarantine,
        reason="维修完成",
    )
    # Then one is back in the warehouse, one in quarantine as defective, one still with them
    line.refresh_from_db()
    assert line.quantity_returned == Decimal("2.000")
    assert (
        on_hand(part=board, location=central),
        on_hand(part=board, location=engineer_stock),
        on_hand(part=board, location=quarantine, condition=Condition.DEFECTIVE),
    ) == (Decimal(8), Decimal(1), Decimal(1))
    kinds = list(
        StockMovement.objects.filter(requisition_line=line)
        .order_by("pk")
        .values_list("kind", "quantity", "source__code", "destination__code")
    )
    assert kinds == [
        ("issue", Decimal("3.000"), "CENTRAL", "TRANSIT"),
        ("requisition_receipt", Decimal("3.000"), "TRANSIT", "ENG-1"),
        ("return_unused", Decimal("1.000"), "ENG-1", "CENTRAL"),
        ("return_defective", Decimal("1.000"), "ENG-1", "QUARANTINE"),
    ]
    # And every step is audited, by whoever took it
    assert audit_trail(requisition) == [
        ("create", "", engineer.pk),
        ("transition", "approve", manager.pk),
        ("transition", "issue", keeper.pk),
        ("transition", "receive", engineer.pk),
    ]
    assert [item[1] for item in audit_trail(line)] == ["", "approve", "issue", "return"]
    assert audit_trail(line)[-1] == ("transition", "return", engineer.pk)
    # And each ledger row of the requisition is recorded as created by the one who moved it
    ledger = {
        movement.pk: movement.kind
        for movement in StockMovement.objects.filter(requisition_line=line)
    }
    created = AuditEvent.objects.filter(
        object_type="inventory.stockmovement",
        object_id__in=[str(pk) for pk in ledger],
        action="create",
    ).order_by("id")
    assert [(ledger[int(event.object_id)], event.actor_id) for event in created] == [
        ("issue", keeper.pk),
        ("requisition_receipt", engineer.pk),
        ("return_unused", engineer.pk),
        ("return_defective", engineer.pk),
    ]


def test_returning_more_than_issued_is_refused_and_nothing_moves(
    engineer, manager, keeper, central, engineer_stock, board
):
    stock_in(central, board, 10)
    requisition = requisition_receive(
        actor=engineer,
        requisition=issued(request_boards(engineer, central, board, quantity=2), manager, keeper),
    )
    line = requisition.lines.get()
    requisition_return(actor=engineer, requisition=requisition, quantities={line.pk: 1})
    with pytest.raises(InvalidInputError) as refused:
        requisition_return(actor=engineer, requisition=requisition, quantities={line.pk: 2})
    assert refused.value.fields == {
        f"quantities.{line.pk}": ["MB-100: 1 may still be returned, not 2."]
    }
    line.refresh_from_db()
    assert line.quantity_returned == Decimal("1.000")
    assert on_hand(part=board, location=engineer_stock) == Decimal(1)


def test_defective_parts_need_a_quarantine(engineer, manager, keeper, central, board, regional):
    stock_in(central, board, 10)
    requisition = requisition_receive(
        actor=engineer,
        requisition=issued(request_boards(engineer, central, board), manager, keeper),
    )
    line = requisition.lines.get()
    with pytest.raises(InvalidInputError) as refused:
        requisition_return(
            actor=engineer, requisition=requisition, quantities={}, defective={line.pk: 1}
        )
    assert refused.value.fields == {
        "quarantine": ["Choose the quarantine the defective parts go to."]
    }
    with pytest.raises(InvalidInputError) as refused:
        requisition_return(
            actor=engineer,
            requisition=requisition,
            quantities={},
            defective={line.pk: 1},
            quarantine=regional,
        )
    assert refused.value.fields == {"quarantine": ["Defective parts go to a quarantine location."]}


def test_only_the_requester_or_the_warehouse_confirms_receipt(
    engineer, other_engineer, manager, keeper, central, board
):
    stock_in(central, board, 10)
    requisition = issued(request_boards(engineer, central, board), manager, keeper)
    with pytest.raises(PermissionDeniedError):
        requisition_receive(actor=other_engineer, requisition=requisition)
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.ISSUED
    assert requisition_receive(actor=keeper, requisition=requisition).status == "received"


def test_issuing_before_approval_is_a_wrong_state(engineer, keeper, central, board):
    stock_in(central, board, 10)
    requisition = request_boards(engineer, central, board)
    with pytest.raises(InvalidTransitionError) as refused:
        requisition_issue(actor=keeper, requisition=requisition)
    assert str(refused.value) == "“Issue the parts” is not possible while the record is Requested."


def test_issue_is_all_or_nothing_when_a_line_is_short(
    engineer, manager, keeper, central, board, battery
):
    # Given 10 boards but only 1 battery
    stock_in(central, board, 10)
    stock_in(central, battery, 1, lot_number="B1", expiry_date=datetime.date(2030, 1, 1))
    requisition = approved(
        requisition_create(actor=engineer, source=central, lines=[(board, 2), (battery, 2)]),
        manager,
    )
    # When the keeper issues, the battery line is short
    with pytest.raises(InsufficientStockError) as refused:
        requisition_issue(actor=keeper, requisition=requisition)
    # Then nothing moved, not even the boards, and the requisition is still approved
    assert "BAT-12 电池 at CENTRAL 中心仓: 1 个 on hand, 2 asked." in str(refused.value)
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.APPROVED
    assert on_hand(part=board, location=central) == Decimal(10)
    assert StockMovement.objects.filter(kind=MovementKind.ISSUE).count() == 0


def test_issue_takes_the_first_expiring_lot_and_receipt_moves_exactly_those_lots(
    engineer, manager, keeper, central, engineer_stock, battery
):
    later = stock_in(
        central, battery, 5, lot_number="L-LATE", expiry_date=datetime.date(2031, 1, 1)
    )
    sooner = stock_in(
        central, battery, 5, lot_number="L-SOON", expiry_date=datetime.date(2030, 1, 1)
    )
    requisition = issued(
        requisition_create(actor=engineer, source=central, lines=[(battery, 6)]), manager, keeper
    )
    issues = list(
        StockMovement.objects.filter(kind=MovementKind.ISSUE)
        .order_by("lot__expiry_date")
        .values_list("lot__lot_number", "quantity")
    )
    assert issues == [("L-SOON", Decimal("5.000")), ("L-LATE", Decimal("1.000"))]
    requisition_receive(actor=engineer, requisition=requisition)
    assert (
        on_hand(part=battery, location=engineer_stock, lot=sooner),
        on_hand(part=battery, location=engineer_stock, lot=later),
        on_hand(part=battery, location=central, lot=later),
    ) == (Decimal(5), Decimal(1), Decimal(4))


def test_a_held_lot_is_never_issued(engineer, manager, keeper, central, battery):
    # Given the only battery lot is on hold for a quality review
    held = stock_in(central, battery, 5, lot_number="L-HELD", expiry_date=datetime.date(2030, 1, 1))
    part_lot_hold(actor=keeper, lot=held, reason="质量评审")
    requisition = approved(
        requisition_create(actor=engineer, source=central, lines=[(battery, 2)]), manager
    )
    # When the keeper issues, it is refused and nothing moves
    with pytest.raises(InsufficientStockError):
        requisition_issue(actor=keeper, requisition=requisition)
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.APPROVED
    assert on_hand(part=battery, location=central) == Decimal(5)
    # And when a good lot arrives, the issue takes it and leaves the held one
    good = stock_in(central, battery, 3, lot_number="L-GOOD", expiry_date=datetime.date(2031, 1, 1))
    requisition_issue(actor=keeper, requisition=requisition)
    assert (
        on_hand(part=battery, location=central, lot=held),
        on_hand(part=battery, location=central, lot=good),
    ) == (Decimal(5), Decimal(1))


def test_an_expired_lot_is_skipped_and_alone_it_is_refused(
    engineer, manager, keeper, central, battery
):
    expired = stock_in(
        central, battery, 5, lot_number="L-OLD", expiry_date=datetime.date(2020, 1, 1)
    )
    requisition = approved(
        requisition_create(actor=engineer, source=central, lines=[(battery, 2)]), manager
    )
    with pytest.raises(InsufficientStockError):
        requisition_issue(actor=keeper, requisition=requisition)
    fresh = stock_in(central, battery, 2, lot_number="L-NEW", expiry_date=datetime.date(2031, 1, 1))
    requisition_issue(actor=keeper, requisition=requisition)
    assert (
        on_hand(part=battery, location=central, lot=expired),
        on_hand(part=battery, location=central, lot=fresh),
    ) == (Decimal(5), Decimal(0))


# --- API --------------------------------------------------------------------------------------


def test_the_api_requests_parts_with_nested_lines(api, engineer, central, engineer_stock, board):
    response = api.as_user(engineer).post(
        "/api/v1/requisitions/",
        {
            "source": central.pk,
            "reference": "WO-1",
            "lines": [{"part": board.pk, "quantity": "2"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["status"], body["destination"], body["requester"]) == (
        number(1),
        "requested",
        engineer_stock.pk,
        engineer.pk,
    )
    assert [(line["part"], line["quantity"]) for line in body["lines"]] == [(board.pk, "2.000")]


def test_the_api_names_the_fields_of_a_bad_request(api, engineer, central, board):
    response = api.as_user(engineer).post(
        "/api/v1/requisitions/",
        {"source": central.pk, "lines": [{"part": board.pk, "quantity": "0"}]},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == (
        "invalid",
        {"lines.1.quantity": ["The quantity must be more than zero."]},
    )
    response = api.as_user(engineer).post(
        "/api/v1/requisitions/", {"source": central.pk, "lines": []}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "lines": ["Add at least one part and its quantity."]
    }


def test_the_api_runs_the_whole_workflow(
    api, engineer, manager, keeper, central, quarantine, engineer_stock, board
):
    stock_in(central, board, 5)
    requisition = request_boards(engineer, central, board, quantity=3)
    line = requisition.lines.get()
    url = f"/api/v1/requisitions/{requisition.pk}"

    response = api.as_user(manager).post(
        f"{url}/approve/", {"lines": [{"line": line.pk, "quantity": "2"}]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["lines"][0]["quantity_approved"]) == (
        "approved",
        "2.000",
    )
    assert api.as_user(keeper).post(f"{url}/issue/").json()["status"] == "issued"
    assert api.as_user(engineer).post(f"{url}/receive/").json()["status"] == "received"
    response = api.as_user(engineer).post(
        f"{url}/return/",
        {
            "lines": [{"line": line.pk, "unused": "1", "defective": "1"}],
            "quarantine": quarantine.pk,
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["lines"][0]["quantity_returned"] == "2.000"
    assert (
        on_hand(part=board, location=central),
        on_hand(part=board, location=engineer_stock),
        on_hand(part=board, location=quarantine, condition=Condition.DEFECTIVE),
    ) == (Decimal(4), Decimal(0), Decimal(1))


def test_the_api_refuses_a_wrong_state_with_409_and_bad_input_with_400(
    api, engineer, manager, keeper, central, board
):
    requisition = request_boards(engineer, central, board)
    url = f"/api/v1/requisitions/{requisition.pk}"
    response = api.as_user(keeper).post(f"{url}/issue/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    response = api.as_user(manager).post(f"{url}/reject/", {"reason": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "reason": ["A reason is required to reject a requisition."]
    }
    response = api.as_user(engineer).post(f"{url}/approve/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.REQUESTED


def test_a_keeper_approving_their_own_request_through_the_api_is_refused(
    api, keeper, central, board
):
    requisition = request_boards(keeper, central, board)
    response = api.as_user(keeper).post(f"/api/v1/requisitions/{requisition.pk}/approve/")
    assert response.status_code == 403
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.REQUESTED


def test_issuing_without_enough_stock_answers_409(api, engineer, manager, keeper, central, board):
    stock_in(central, board, 1)
    requisition = approved(request_boards(engineer, central, board, quantity=3), manager)
    response = api.as_user(keeper).post(f"/api/v1/requisitions/{requisition.pk}/issue/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"


# --- Scope ------------------------------------------------------------------------------------


def test_another_engineers_requisition_is_out_of_scope_for_a_distributor_engineer(
    client, api, engineer, distributor_engineer, central, board
):
    from medservice.core.testing import assert_record_is_out_of_scope, grant_all_permissions
    from medservice.inventory.views_requisitions import requisitions

    # Given a requisition of an internal engineer, and a distributor's engineer holding every
    # requisition permission (so only the scope can refuse)
    requisition = request_boards(engineer, central, board)
    grant_all_permissions(distributor_engineer, requisitions)
    client.force_login(distributor_engineer)
    # Then every page, export, API read and action answers 404 and nothing changes
    assert_record_is_out_of_scope(
        client, api.as_user(distributor_engineer), requisitions, requisition
    )
    for action in ("approve", "cancel", "receive"):
        url = reverse("inventory:requisition-action", args=[requisition.pk, action])
        assert client.post(url, {"reason": "x"}).status_code == 404
        response = api.as_user(distributor_engineer).post(
            f"/api/v1/requisitions/{requisition.pk}/{action}/", {}, format="json"
        )
        assert response.status_code == 404
    requisition.refresh_from_db()
    assert requisition.status == RequisitionStatus.REQUESTED


def test_a_distributor_engineer_sees_their_own_requisition(
    client, api, distributor_engineer, central, board
):
    from medservice.core.testing import assert_record_is_in_scope
    from medservice.inventory.views_requisitions import requisitions

    requisition = request_boards(distributor_engineer, central, board)
    client.force_login(distributor_engineer)
    assert_record_is_in_scope(client, api.as_user(distributor_engineer), requisitions, requisition)


def test_every_requisition_route_with_an_id_is_scoped():
    from medservice.core.testing import unregistered_record_routes

    assert [route for route in unregistered_record_routes() if "requisition" in route] == []


# --- Pages ------------------------------------------------------------------------------------


def test_the_engineer_requests_parts_from_the_phone_form(
    client, engineer, keeper, central, engineer_stock, board
):
    client.force_login(engineer)
    url = reverse("inventory:requisition-request")
    assert client.get(url).status_code == 200
    form = {
        "source": central.pk,
        "reference": "WO-9",
        "needed_by": "",
        "reason": "",
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-part": board.pk,
        "lines-0-quantity": "2",
    }
    response = client.post(url, form)
    requisition = Requisition.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:requisitions-detail", args=[requisition.pk])
    assert (requisition.reference, requisition.lines.get().quantity) == ("WO-9", Decimal(2))
    # A row with a part but no quantity is refused on that row, and nothing is saved
    response = client.post(url, {**form, "lines-0-quantity": ""})
    assert response.status_code == 400
    assert "Give the quantity." in response.content.decode()
    assert Requisition.objects.count() == 1


def test_the_record_page_shows_the_lines_and_only_the_actions_allowed_now(
    client, engineer, keeper, manager, central, board
):
    requisition = request_boards(engineer, central, board, quantity=3)
    url = reverse("inventory:requisitions-detail", args=[requisition.pk])
    client.force_login(engineer)
    page = client.get(url).content.decode()
    assert 'data-action="cancel"' in page
    assert 'data-action="approve"' not in page
    client.force_login(manager)
    page = client.get(url).content.decode()
    assert 'data-action="approve"' in page and 'data-action="reject"' in page
    assert 'id="requisition-lines"' in page and "MB-100 主板" in page


def test_approve_and_reject_from_the_page(client, engineer, manager, central, board):
    requisition = request_boards(engineer, central, board, quantity=3)
    line = requisition.lines.get()
    client.force_login(manager)
    action = reverse("inventory:requisition-action", args=[requisition.pk, "reject"])
    response = client.post(action, {"reason": ""})
    assert response.status_code == 400
    action = reverse("inventory:requisition-action", args=[requisition.pk, "approve"])
    response = client.post(action, {f"approved_{line.pk}": "5", "note": ""})
    assert response.status_code == 400
    assert "MB-100: at most the 3 asked for may be approved." in response.content.decode()
    response = client.post(action, {f"approved_{line.pk}": "1", "note": "够用"})
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.quantity_approved == Decimal(1)
    # The same step again is a wrong state, said above the page
    response = client.post(action, {f"approved_{line.pk}": "1"})
    assert response.status_code == 409


def test_my_stock_lists_the_engineers_parts_with_a_return_link(
    client, engineer, manager, keeper, central, engineer_stock, board
):
    stock_in(central, board, 5)
    requisition = requisition_receive(
        actor=engineer,
        requisition=issued(request_boards(engineer, central, board, quantity=2), manager, keeper),
    )
    client.force_login(engineer)
    page = client.get(reverse("inventory:my-stock"))
    assert page.status_code == 200
    content = page.content.decode()
    assert "MB-100 主板" in content
    assert f'href="/inventory/requisitions/{requisition.pk}/#requisition-actions"' in content
    # And the return form on the record takes it back
    line = requisition.lines.get()
    action = reverse("inventory:requisition-action", args=[requisition.pk, "return"])
    response = client.post(action, {f"unused_{line.pk}": "1", f"defective_{line.pk}": ""})
    assert response.status_code == 302
    assert on_hand(part=board, location=engineer_stock) == Decimal(1)
