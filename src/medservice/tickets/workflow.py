"""The ticket workflow: one table that the services, the API actions and the UI buttons read.

new →(acknowledge) acknowledged →(investigate) investigating →(propose-solution) solution
proposed →(agree-solution) solution agreed →(start) in progress →(resolve) resolved →(confirm)
closed; wait/resume, escalate-onsite, record-arrival, assign, screen, cancel, reject-resolution
and reopen around it.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.core.workflow import Transition
from medservice.tickets.choices import OPEN_STATUSES, Status, TicketKind

S = Status
WORKING = frozenset(
    {S.ACKNOWLEDGED, S.INVESTIGATING, S.SOLUTION_PROPOSED, S.SOLUTION_AGREED, S.IN_PROGRESS}
)
COMPLAINT_KINDS = frozenset({TicketKind.COMPLAINT, TicketKind.QUALITY_COMPLAINT})


def reopen_window_days() -> int:
    return int(getattr(settings, "MEDSERVICE_TICKET_REOPEN_DAYS", 30))


def _screened_before_resolving(ticket: Any, user: Any) -> str:
    if ticket.kind in COMPLAINT_KINDS and ticket.screened_at is None:
        return _(
            "A complaint is screened before it is resolved: record whether it is a complaint, "
            "whether it may be reportable and whether it needs investigation."
        )
    return ""


def _within_reopen_window(ticket: Any, user: Any) -> str:
    ended = ticket.closed_at or ticket.resolved_at
    limit = reopen_window_days()
    if ended is not None and timezone.now() - ended > datetime.timedelta(days=limit):
        return _(
            "This request ended more than %(days)s days ago and can no longer be reopened; "
            "register a new one."
        ) % {"days": limit}
    return ""


def _onsite_not_running(ticket: Any, user: Any) -> str:
    if (
        ticket.onsite_requested_at is not None
        and ticket.clocks.filter(
            target="onsite", met_at__isnull=True, stopped_at__isnull=True
        ).exists()
    ):
        return _("An engineer is already on the way: the on-site clock is running.")
    return ""


def _onsite_running(ticket: Any, user: Any) -> str:
    if not ticket.clocks.filter(
        target="onsite", met_at__isnull=True, stopped_at__isnull=True
    ).exists():
        return _("No on-site visit was requested for this request (escalate to on site first).")
    return ""


def _not_rated(ticket: Any, user: Any) -> str:
    if ticket.rated_at is not None:
        return _("This request has already been rated; a case is rated once.")
    return ""


TRANSITIONS: dict[str, Transition] = {
    "acknowledge": Transition(
        sources=frozenset({S.NEW}), target=S.ACKNOWLEDGED,
        permission="tickets.acknowledge_ticket", label=gettext_lazy("Acknowledge"),
        style="primary",
    ),
    "investigate": Transition(
        sources=frozenset({S.ACKNOWLEDGED}), target=S.INVESTIGATING,
        permission="tickets.work_ticket", label=gettext_lazy("Investigate"),
    ),
    "assign": Transition(
        sources=frozenset(OPEN_STATUSES), target=None,
        permission="tickets.assign_ticket", label=gettext_lazy("Assign"),
    ),
    "propose-solution": Transition(
        sources=frozenset({S.ACKNOWLEDGED, S.INVESTIGATING}), target=S.SOLUTION_PROPOSED,
        permission="tickets.work_ticket", label=gettext_lazy("Propose a solution"),
        style="primary",
    ),
    "agree-solution": Transition(
        sources=frozenset({S.SOLUTION_PROPOSED}), target=S.SOLUTION_AGREED,
        permission="tickets.respond_ticket", label=gettext_lazy("Record the agreed solution"),
        style="primary",
    ),
    "start": Transition(
        sources=frozenset({S.SOLUTION_AGREED}), target=S.IN_PROGRESS,
        permission="tickets.work_ticket", label=gettext_lazy("Start work"), style="primary",
    ),
    "wait": Transition(
        sources=WORKING, target=None,  # waiting for the customer or for parts
        permission="tickets.work_ticket", label=gettext_lazy("Wait"),
    ),
    "resume": Transition(
        sources=frozenset({S.WAITING_CUSTOMER, S.WAITING_PARTS}), target=None,
        permission="tickets.work_ticket", label=gettext_lazy("Resume"), style="primary",
    ),
    "escalate-onsite": Transition(
        sources=WORKING, target=None, guard=_onsite_not_running,
        permission="tickets.work_ticket", label=gettext_lazy("Escalate to on site"),
    ),
    "record-arrival": Transition(
        sources=WORKING | {S.WAITING_PARTS}, target=None, guard=_onsite_running,
        permission="tickets.work_ticket", label=gettext_lazy("Record arrival on site"),
    ),
    "resolve": Transition(
        sources=frozenset({S.SOLUTION_AGREED, S.IN_PROGRESS}), target=S.RESOLVED,
        guard=_screened_before_resolving,
        permission="tickets.work_ticket", label=gettext_lazy("Resolve"), style="success",
    ),
    "confirm": Transition(
        sources=frozenset({S.RESOLVED}), target=S.CLOSED,
        permission="tickets.respond_ticket", label=gettext_lazy("Confirm the resolution"),
        style="success",
    ),
    "reject-resolution": Transition(
        sources=frozenset({S.RESOLVED}), target=S.IN_PROGRESS,
        permission="tickets.respond_ticket", label=gettext_lazy("Reject the resolution"),
        style="warning",
    ),
    "reopen": Transition(
        sources=frozenset({S.RESOLVED, S.CLOSED}), target=S.IN_PROGRESS,
        guard=_within_reopen_window,
        permission="tickets.respond_ticket", label=gettext_lazy("Reopen"), style="warning",
    ),
    "cancel": Transition(
        sources=frozenset(OPEN_STATUSES), target=S.CANCELLED,
        permission="tickets.cancel_ticket", label=gettext_lazy("Cancel"), style="danger",
    ),
    "screen": Transition(
        sources=frozenset(set(Status) - {S.CANCELLED}), target=None,
        permission="tickets.screen_ticket", label=gettext_lazy("Screen the complaint"),
    ),
    "rate": Transition(
        sources=frozenset({S.RESOLVED, S.CLOSED}), target=None, guard=_not_rated,
        permission="tickets.respond_ticket", label=gettext_lazy("Rate"),
    ),
}  # fmt: skip
