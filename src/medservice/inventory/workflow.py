"""The inventory workflows as data: purchase orders, requisitions and stock counts. The services,
the API actions and the buttons on each record's page all read these tables."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from medservice.core.errors import SegregationOfDutiesError
from medservice.core.workflow import Transition
from medservice.inventory.choices import (
    PurchaseOrderStatus as Order,
)
from medservice.inventory.choices import (
    RequisitionStatus as Requisition,
)
from medservice.inventory.choices import (
    StockCountStatus as Count,
)

ISSUE_PERMISSION = "inventory.issue_requisition"
APPROVE_PERMISSION = "inventory.approve_requisition"


# --- Who may, beyond the permission (refused with 403) ----------------------------------------


def not_the_requester(requisition: Any, user: Any) -> str:
    if requisition.requester_id == user.pk:
        return gettext(
            "You requested these parts: someone else must approve or reject the request."
        )
    return ""


def requester_or_warehouse(requisition: Any, user: Any) -> str:
    if requisition.requester_id != user.pk and not user.has_perm(ISSUE_PERMISSION):
        return gettext("Only the engineer who requested the parts or the warehouse may do this.")
    return ""


def requester_or_approver(requisition: Any, user: Any) -> str:
    if requisition.requester_id != user.pk and not user.has_perm(APPROVE_PERMISSION):
        return gettext("Only the engineer who requested the parts or an approver may cancel it.")
    return ""


def not_the_counter(count: Any, user: Any) -> str:
    if count.submitted_by_id == user.pk:
        return gettext("You submitted this count: someone else approves it.")
    return ""


PURCHASE_ORDER_TRANSITIONS: dict[str, Transition] = {
    "place": Transition(
        sources=frozenset({Order.DRAFT}),
        target=Order.ORDERED,
        permission="inventory.change_purchaseorder",
        label=_("Place the order"),
        style="primary",
    ),
    "receive": Transition(
        sources=frozenset({Order.ORDERED, Order.PARTIALLY_RECEIVED}),
        target=None,  # partially received or received, from what has arrived
        permission="inventory.receive_purchaseorder",
        label=_("Receive goods"),
        style="primary",
    ),
    "close": Transition(
        sources=frozenset({Order.PARTIALLY_RECEIVED}),
        target=Order.CLOSED,
        permission="inventory.change_purchaseorder",
        label=_("Close short (no more will come)"),
        confirm=True,
    ),
    "cancel": Transition(
        sources=frozenset({Order.DRAFT, Order.ORDERED}),
        target=Order.CANCELLED,
        permission="inventory.change_purchaseorder",
        label=_("Cancel"),
        style="danger",
        confirm=True,
    ),
}

REQUISITION_TRANSITIONS: dict[str, Transition] = {
    "approve": Transition(
        sources=frozenset({Requisition.REQUESTED}),
        target=Requisition.APPROVED,
        permission=APPROVE_PERMISSION,
        label=_("Approve"),
        style="primary",
        person_rule=not_the_requester,
        person_error=SegregationOfDutiesError,
    ),
    "reject": Transition(
        sources=frozenset({Requisition.REQUESTED}),
        target=Requisition.REJECTED,
        permission=APPROVE_PERMISSION,
        label=_("Reject"),
        style="danger",
        person_rule=not_the_requester,
        person_error=SegregationOfDutiesError,
    ),
    "issue": Transition(
        sources=frozenset({Requisition.APPROVED}),
        target=Requisition.ISSUED,
        permission=ISSUE_PERMISSION,
        label=_("Issue the parts"),
        style="primary",
    ),
    "receive": Transition(
        sources=frozenset({Requisition.ISSUED}),
        target=Requisition.RECEIVED,
        permission="inventory.add_requisition",
        label=_("Confirm receipt"),
        style="primary",
        person_rule=requester_or_warehouse,
    ),
    "return": Transition(
        sources=frozenset({Requisition.RECEIVED}),
        target=None,  # the requisition stays received; its lines count what came back
        permission="inventory.return_parts",
        label=_("Return unused parts"),
        person_rule=requester_or_warehouse,
    ),
    "cancel": Transition(
        sources=frozenset({Requisition.REQUESTED, Requisition.APPROVED}),
        target=Requisition.CANCELLED,
        permission="inventory.add_requisition",
        label=_("Cancel"),
        style="danger",
        confirm=True,
        person_rule=requester_or_approver,
    ),
}

STOCK_COUNT_TRANSITIONS: dict[str, Transition] = {
    "record": Transition(
        sources=frozenset({Count.COUNTING}),
        target=None,
        permission="inventory.change_stockcount",
        label=_("Record counted quantities"),
    ),
    "submit": Transition(
        sources=frozenset({Count.COUNTING}),
        target=Count.SUBMITTED,
        permission="inventory.change_stockcount",
        label=_("Submit for approval"),
        style="primary",
    ),
    "reopen": Transition(
        sources=frozenset({Count.SUBMITTED}),
        target=Count.COUNTING,
        permission="inventory.approve_stockcount",
        label=_("Send back for recount"),
    ),
    "approve": Transition(
        sources=frozenset({Count.SUBMITTED}),
        target=Count.POSTED,
        permission="inventory.approve_stockcount",
        label=_("Approve and post the variances"),
        style="primary",
        confirm=True,
        person_rule=not_the_counter,
        person_error=SegregationOfDutiesError,
    ),
    "cancel": Transition(
        sources=frozenset({Count.COUNTING, Count.SUBMITTED}),
        target=Count.CANCELLED,
        permission="inventory.change_stockcount",
        label=_("Cancel the count"),
        style="danger",
        confirm=True,
    ),
}
