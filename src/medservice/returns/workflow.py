"""The return workflow: one table that the services, the API actions and the buttons on the
return's page all read.

requested →(evaluate) evaluated →(approve-repair / approve-exchange / approve-refund) approved,
with an RMA number, or →(reject, with the reason) rejected. A rejected or ineligible request
may still go on as a repair. Approved exchange or refund →(receive) received into quarantine
→(ship-exchange) exchange shipped, or →(refund, once or in parts) refunded. A repair lives on
in its work order. Close when the decision is carried out.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from medservice.core.workflow import Transition
from medservice.returns.choices import Decision
from medservice.returns.choices import ReturnStatus as S


def _decision_is(*decisions: str) -> Any:
    def guard(request: Any, user: Any) -> str:
        if request.decision not in decisions:
            return gettext("This return was decided as: %(decision)s.") % {
                "decision": request.get_decision_display() or gettext("not decided")
            }
        return ""

    return guard


def _refund_outstanding(request: Any, user: Any) -> str:
    refusal = _decision_is(Decision.REFUND)(request, user)
    if refusal:
        return refusal
    from medservice.returns.selectors import refund_outstanding

    if refund_outstanding(request) <= 0:
        return gettext("The approved refund has been paid in full.")
    return ""


def _carried_out(request: Any, user: Any) -> str:
    from medservice.returns.selectors import close_refusal

    return close_refusal(request)


TRANSITIONS: dict[str, Transition] = {
    "evaluate": Transition(
        sources=frozenset({S.REQUESTED, S.EVALUATED}), target=S.EVALUATED,
        permission="returns.evaluate_returnrequest", label=_("Evaluate"), style="primary",
    ),
    "approve-repair": Transition(
        sources=frozenset({S.EVALUATED, S.REJECTED}), target=S.APPROVED,
        permission="returns.approve_returnrequest", label=_("Approve a repair"),
    ),
    "approve-exchange": Transition(
        sources=frozenset({S.EVALUATED}), target=S.APPROVED,
        permission="returns.approve_returnrequest", label=_("Approve an exchange"),
        style="success",
    ),
    "approve-refund": Transition(
        sources=frozenset({S.EVALUATED}), target=S.APPROVED,
        permission="returns.approve_returnrequest", label=_("Approve a refund"),
        style="success",
    ),
    "reject": Transition(
        sources=frozenset({S.REQUESTED, S.EVALUATED}), target=S.REJECTED,
        permission="returns.approve_returnrequest", label=_("Reject"), style="danger",
    ),
    "receive": Transition(
        sources=frozenset({S.APPROVED}), target=S.RECEIVED,
        guard=_decision_is(Decision.EXCHANGE, Decision.REFUND),
        permission="returns.receive_returnrequest", label=_("Receive into quarantine"),
        style="primary",
    ),
    "ship-exchange": Transition(
        sources=frozenset({S.RECEIVED}), target=S.EXCHANGE_SHIPPED,
        guard=_decision_is(Decision.EXCHANGE),
        permission="returns.ship_returnrequest", label=_("Ship the exchange unit"),
        style="primary",
    ),
    "refund": Transition(
        sources=frozenset({S.RECEIVED, S.REFUNDED}), target=S.REFUNDED,
        guard=_refund_outstanding,
        permission="returns.refund_returnrequest", label=_("Record a refund"), style="primary",
    ),
    "close": Transition(
        sources=frozenset({S.APPROVED, S.REJECTED, S.EXCHANGE_SHIPPED, S.REFUNDED}),
        target=S.CLOSED, guard=_carried_out,
        permission="returns.close_returnrequest", label=_("Close"), style="secondary",
    ),
}  # fmt: skip
