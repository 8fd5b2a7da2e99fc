"""The work-order workflow: one table that the services, the API actions and the buttons on the
work order's page all read.

new →(assess) assessed →(plan) ready when covered, planned when charged →(quote) quoted
→(approve-quote) ready / (decline-quote) declined. From ready the route decides: on site
→(dispatch) scheduled →(check-in) in progress; workshop →(receive-unit) in workshop
→(start) in progress; supplier →(send-to-supplier) at supplier →(receive-from-supplier) in
progress; remote →(start) in progress. In progress →(complete) completed →(sign) closed.
Cancel (with a reason) until the work is done.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from medservice.core.workflow import Transition
from medservice.work_orders.choices import Route, VisitStatus
from medservice.work_orders.choices import WorkOrderStatus as S

BEFORE_WORK = frozenset({S.NEW, S.ASSESSED, S.PLANNED, S.QUOTED, S.READY, S.SCHEDULED})
WORKING = frozenset({S.IN_PROGRESS})


def _route_is(*routes: str) -> Any:
    def guard(work_order: Any, user: Any) -> str:
        if work_order.route not in routes:
            return gettext("This work order's route is %(route)s.") % {
                "route": work_order.get_route_display() or gettext("not decided")
            }
        return ""

    return guard


def _charged(work_order: Any, user: Any) -> str:
    if work_order.covered:
        return gettext("The work is covered: there is nothing to quote.")
    return ""


def _no_visit_on_site(work_order: Any, user: Any) -> str:
    if work_order.visits.filter(status=VisitStatus.ON_SITE).exists():
        return gettext("The engineer is on site: check out before completing.")
    return ""


def _visit_on_site(work_order: Any, user: Any) -> str:
    if not work_order.visits.filter(status=VisitStatus.ON_SITE).exists():
        return gettext("Nobody is checked in on this work order.")
    return ""


def _scheduled_visit(work_order: Any, user: Any) -> str:
    if not work_order.visits.filter(status=VisitStatus.SCHEDULED).exists():
        return gettext("There is no scheduled visit to check in to.")
    return ""


def _the_engineer_or_manager(work_order: Any, user: Any) -> str:
    # The visit's engineer checks in and out; the dispatcher may record it for them.
    if work_order.engineer_id != user.pk and not user.has_perm("work_orders.dispatch_workorder"):
        return gettext("Only the engineer sent on this visit may check in or out.")
    return ""


def _unit_received(work_order: Any, user: Any) -> str:
    if work_order.received_at is None:
        return gettext("The unit has not been received in the workshop.")
    if work_order.return_shipped_at is not None:
        return gettext("The unit has already been shipped back.")
    return ""


TRANSITIONS: dict[str, Transition] = {
    "assess": Transition(
        sources=frozenset({S.NEW, S.ASSESSED}), target=S.ASSESSED,
        permission="work_orders.assess_workorder", label=_("Assess"), style="primary",
    ),
    "plan": Transition(
        sources=frozenset({S.ASSESSED}), target=None,  # ready when covered, planned when charged
        permission="work_orders.assess_workorder", label=_("Record the plan"), style="primary",
    ),
    "quote": Transition(
        sources=frozenset({S.PLANNED}), target=S.QUOTED, guard=_charged,
        permission="work_orders.quote_workorder", label=_("Send a quote"), style="primary",
    ),
    "approve-quote": Transition(
        sources=frozenset({S.QUOTED}), target=S.READY,
        permission="work_orders.respond_workorder", label=_("Customer approves the quote"),
        style="success",
    ),
    "decline-quote": Transition(
        sources=frozenset({S.QUOTED}), target=S.DECLINED,
        permission="work_orders.respond_workorder", label=_("Customer declines the quote"),
        style="danger",
    ),
    "dispatch": Transition(
        sources=frozenset({S.READY}), target=S.SCHEDULED, guard=_route_is(Route.ON_SITE),
        permission="work_orders.dispatch_workorder", label=_("Dispatch"), style="primary",
    ),
    "reschedule": Transition(
        sources=frozenset({S.SCHEDULED}), target=None,
        permission="work_orders.dispatch_workorder", label=_("Reschedule"),
    ),
    "check-in": Transition(
        sources=frozenset({S.SCHEDULED, S.IN_PROGRESS}), target=S.IN_PROGRESS,
        guard=_scheduled_visit, person_rule=_the_engineer_or_manager,
        permission="work_orders.work_workorder", label=_("Check in on site"), style="primary",
    ),
    "check-out": Transition(
        sources=frozenset({S.IN_PROGRESS}), target=None,
        guard=_visit_on_site, person_rule=_the_engineer_or_manager,
        permission="work_orders.work_workorder", label=_("Check out from site"),
    ),
    "receive-unit": Transition(
        sources=frozenset({S.READY}), target=S.IN_WORKSHOP, guard=_route_is(Route.WORKSHOP),
        permission="work_orders.work_workorder", label=_("Receive the unit"), style="primary",
    ),
    "send-to-supplier": Transition(
        sources=frozenset({S.READY}), target=S.AT_SUPPLIER, guard=_route_is(Route.SUPPLIER),
        permission="work_orders.work_workorder", label=_("Send to the supplier"),
        style="primary",
    ),
    "receive-from-supplier": Transition(
        sources=frozenset({S.AT_SUPPLIER}), target=S.IN_PROGRESS,
        permission="work_orders.work_workorder", label=_("Receive from the supplier"),
        style="primary",
    ),
    "start": Transition(
        sources=frozenset({S.READY, S.IN_WORKSHOP}), target=S.IN_PROGRESS,
        guard=_route_is(Route.REMOTE, Route.WORKSHOP),
        permission="work_orders.work_workorder", label=_("Start work"), style="primary",
    ),
    "record-remote-session": Transition(
        sources=frozenset({S.IN_PROGRESS}), target=None, guard=_route_is(Route.REMOTE),
        permission="work_orders.work_workorder", label=_("Record a remote session"),
    ),
    "record-diagnosis": Transition(
        sources=WORKING, target=None,
        permission="work_orders.work_workorder", label=_("Diagnosis"),
    ),
    "record-parts": Transition(
        sources=WORKING, target=None,
        permission="work_orders.work_workorder", label=_("Parts used"),
    ),
    "record-time": Transition(
        sources=WORKING | {S.COMPLETED}, target=None,
        permission="work_orders.work_workorder", label=_("Labour and travel"),
    ),
    "record-test": Transition(
        sources=WORKING, target=None,
        permission="work_orders.work_workorder", label=_("Acceptance test"),
    ),
    "override-test": Transition(
        sources=WORKING, target=None,
        permission="work_orders.override_test", label=_("Override the failed test"),
        style="warning",
    ),
    "screen": Transition(
        sources=WORKING | {S.COMPLETED}, target=None,
        permission="work_orders.work_workorder", label=_("Complaint screening"),
    ),
    "complete": Transition(
        sources=WORKING, target=S.COMPLETED, guard=_no_visit_on_site,
        permission="work_orders.complete_workorder", label=_("Complete"), style="success",
    ),
    "sign": Transition(
        sources=frozenset({S.COMPLETED}), target=S.CLOSED,
        permission="work_orders.sign_workorder", label=_("Customer signs the report"),
        style="success",
    ),
    "ship-back": Transition(
        sources=frozenset({S.COMPLETED, S.CLOSED}), target=None, guard=_unit_received,
        permission="work_orders.work_workorder", label=_("Ship the unit back"),
    ),
    "cancel": Transition(
        sources=BEFORE_WORK | {S.IN_WORKSHOP, S.AT_SUPPLIER}, target=S.CANCELLED,
        permission="work_orders.cancel_workorder", label=_("Cancel"), style="danger",
    ),
    "promise": Transition(
        sources=BEFORE_WORK | {S.IN_WORKSHOP, S.AT_SUPPLIER, S.IN_PROGRESS}, target=None,
        permission="work_orders.assess_workorder", label=_("Promised completion date"),
    ),
}  # fmt: skip
