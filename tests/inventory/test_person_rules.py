"""The four-eyes rules live in the workflow table: the buttons, the API and the services all
refuse the requester's own approval and the counter's own approval, with 403."""

from __future__ import annotations

from decimal import Decimal

import pytest

from medservice.accounts.choices import Role
from medservice.core.errors import SegregationOfDutiesError
from medservice.core.workflow import actions_allowed
from medservice.inventory.requisitions import requisition_approve, requisition_create
from medservice.inventory.workflow import REQUISITION_TRANSITIONS
from tests.factories import user_with_role
from tests.inventory.factories import stock_in

pytestmark = pytest.mark.django_db


def test_the_requester_is_offered_no_approval_and_is_refused_it(
    api, central, board, keeper, company
):
    other_keeper = user_with_role(Role.WAREHOUSE_KEEPER, company, username="keeper2")
    stock_in(central, board, 3)
    requisition = requisition_create(actor=keeper, source=central, lines=[(board, Decimal(1))])

    own = [name for name, _rule in actions_allowed(REQUISITION_TRANSITIONS, requisition, keeper)]
    others = [
        name for name, _rule in actions_allowed(REQUISITION_TRANSITIONS, requisition, other_keeper)
    ]
    with pytest.raises(SegregationOfDutiesError):
        requisition_approve(actor=keeper, requisition=requisition)
    response = api.as_user(keeper).post(
        f"/api/v1/requisitions/{requisition.pk}/approve/", {}, format="json"
    )

    assert own == ["cancel"]
    assert others == ["approve", "reject", "cancel"]
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "segregation_of_duties"
