"""The ticket record page: the generic detail page plus the header with the actions allowed
now, the SLA clocks, the quality intake and the timeline."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from medservice.core.views import ResourceDetailView
from medservice.core.workflow import actions_allowed
from medservice.customers.selectors import user_scope
from medservice.tickets.forms import ACTION_INPUTS, CommentInput
from medservice.tickets.models import Ticket
from medservice.tickets.selectors import clocks_of, timeline_visible_to
from medservice.tickets.sla import clock_state
from medservice.tickets.workflow import TRANSITIONS
from medservice.training.knowledge import articles_suggested

STATE_BADGE = {
    "met": "success",
    "met_late": "warning",
    "breached": "danger",
    "at_risk": "warning",
    "paused": "secondary",
    "on_track": "info",
    "stopped": "light",
}


def clock_rows(ticket: Ticket) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for clock in clocks_of(ticket):
        state = clock_state(clock, now)
        rows.append(
            {
                "clock": clock,
                "state": state,
                "badge": STATE_BADGE[state],
                "remaining": clock.due_at - now if clock.running and not clock.paused else None,
            }
        )
    return rows


def suggested_articles(ticket: Ticket, user: Any) -> list[Any]:
    """Published articles for the ticket's device model, for the staff working on it (the
    customer reads help articles in the portal). The ticket records no fault code yet: the
    work order's diagnosis will add it."""
    if user_scope(user) not in {"internal", "distributor"} or not user.has_perm(
        "training.view_knowledgearticle"
    ):
        return []
    model = ticket.device.device_model if ticket.device_id else ticket.device_model
    if model is None:
        return []
    return articles_suggested(user, device_model=model)


def _actions(ticket: Ticket, user: Any, bound: dict[str, Any] | None = None) -> list[dict]:
    result = []
    for name, transition in actions_allowed(TRANSITIONS, ticket, user):
        form = (bound or {}).get(name) or ACTION_INPUTS[name](user=user, ticket=ticket)
        result.append(
            {"name": name, "transition": transition, "form": form, "open": name in (bound or {})}
        )
    return result


class TicketDetailView(ResourceDetailView):
    extra_template = "tickets/ticket_panel.html"

    def extra_context_for(self, obj: Ticket) -> dict[str, Any]:
        # The desk's small forms (priority, SLA exception, regulator feedback): register_views.
        from medservice.tickets.register_views import desk_context

        user = self.request.user
        return {
            **desk_context(self, obj, user),
            "ticket": obj,
            "clocks": clock_rows(obj),
            "actions": _actions(obj, user, getattr(self, "bound_forms", None)),
            "timeline": list(timeline_visible_to(obj, user)[:200]),
            "comment_form": getattr(self, "comment_form", None) or CommentInput(user=user),
            "can_comment": user.has_perm("tickets.add_timelineentry"),
            "can_unmask": user.has_perm("tickets.unmask_ticket"),
            "suggested_articles": suggested_articles(obj, user),
            "quality_intake": getattr(obj, "quality_intake", None)
            if user.has_perm("tickets.view_qualityintake")
            else None,
        }
