"""Template helpers of the service desk: status and priority badges, and the service-promise
countdown that turns amber at 75 % and red when breached."""

from __future__ import annotations

import datetime
from typing import Any

from django import template

from medservice.tickets.selectors import sla_states

register = template.Library()

STATUS_BADGE = {
    "new": "text-bg-primary",
    "acknowledged": "text-bg-info",
    "investigating": "text-bg-info",
    "solution_proposed": "text-bg-info",
    "solution_agreed": "text-bg-info",
    "in_progress": "text-bg-primary",
    "waiting_customer": "text-bg-secondary",
    "waiting_parts": "text-bg-secondary",
    "resolved": "text-bg-success",
    "closed": "text-bg-dark",
    "cancelled": "text-bg-light",
}
PRIORITY_BADGE = {
    "urgent": "text-bg-danger",
    "high": "text-bg-warning",
    "normal": "text-bg-light",
    "low": "text-bg-light",
}
SLA_BADGE = {
    "breached": "text-bg-danger",
    "at_risk": "text-bg-warning",
    "paused": "text-bg-secondary",
}


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGE.get(status, "text-bg-light")


@register.filter
def priority_badge(priority: str) -> str:
    return PRIORITY_BADGE.get(priority, "text-bg-light")


@register.filter
def sla_badge(state: str) -> str:
    return SLA_BADGE.get(state, "")


@register.filter
def pair(first: Any, second: Any) -> list[tuple[Any, Any]]:
    """Walk two lists side by side: `{% for column, cell in columns|pair:row.cells %}`."""
    return list(zip(first, second, strict=False))


@register.filter
def absolute(value: Any) -> Any:
    if isinstance(value, datetime.timedelta):
        return abs(value)
    return value


@register.simple_tag
def ticket_sla_states(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The promise state of every listed request (rows of the generic list), one query."""
    return sla_states([row["object"] for row in rows])


@register.filter
def state_of(states: dict[int, Any], ticket: Any) -> Any:
    return states.get(ticket.pk, {})
