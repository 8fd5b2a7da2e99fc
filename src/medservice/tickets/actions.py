"""One dispatcher from a workflow action's name and its validated inputs to its service, shared
by the API's POST /tickets/{id}/{action}/ and the ticket page's action forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medservice.tickets import services
from medservice.tickets.models import Ticket

ACTION_SERVICES: dict[str, Callable[..., Any]] = {
    "acknowledge": services.ticket_acknowledge,
    "investigate": services.ticket_investigate,
    "assign": services.ticket_assign,
    "propose-solution": services.ticket_propose_solution,
    "agree-solution": services.ticket_agree_solution,
    "start": services.ticket_start,
    "wait": services.ticket_wait,
    "resume": services.ticket_resume,
    "escalate-onsite": services.ticket_escalate_onsite,
    "record-arrival": services.ticket_record_arrival,
    "resolve": services.ticket_resolve,
    "confirm": services.ticket_confirm,
    "reject-resolution": services.ticket_reject_resolution,
    "reopen": services.ticket_reopen,
    "cancel": services.ticket_cancel,
    "screen": services.ticket_screen,
    "rate": services.ticket_rate,
}


def action_run(name: str, *, ticket: Ticket, actor: Any, data: dict[str, Any]) -> Ticket:
    """Call the action's service with the form's cleaned data (empty values left out, so the
    service's defaults apply)."""
    arguments = {key: value for key, value in data.items() if value is not None and value != ""}
    result = ACTION_SERVICES[name](ticket=ticket, actor=actor, **arguments)
    return result if isinstance(result, Ticket) else Ticket.objects.get(pk=ticket.pk)
