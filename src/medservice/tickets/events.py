"""Domain events the tickets app publishes for later apps (imports point one way: the quality
app subscribes to these; tickets never imports it)."""

from typing import Any

from django.dispatch import Signal

from medservice.integrations.services import event_publish, isoformat

# A quality complaint, or any request with patient involvement or injury, was registered or
# flagged: the quality app opens a case whose clocks start at `ticket.received_at`.
# Sent after commit with `ticket`.
ticket_quality_flagged = Signal()

# A ticket was resolved with a resolution type that needs follow-up work (repair, replacement,
# return/refund): the work-orders and returns apps subscribe. Sent after commit with `ticket`.
ticket_resolution_needs_work = Signal()

# A ticket closed (confirmed or automatically): the feedback app schedules the follow-up call.
ticket_closed = Signal()


# --- Outbound webhooks (issue 12) ---------------------------------------------------------------
# The `ticket` object of the webhook payloads (docs/api.md, "Webhooks"): ids, numbers, states
# and times only — no reporter name, phone, e-mail or description, which stay in MedService.


def ticket_webhook_data(ticket: Any) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "kind": ticket.kind,
        "channel": ticket.channel,
        "status": ticket.status,
        "priority": ticket.priority,
        "organization": ticket.organization_id,
        "device": ticket.device_id,
        "device_model": ticket.device_model_id,
        "received_at": isoformat(ticket.received_at),
        "first_response_due_at": isoformat(ticket.first_response_due_at),
        "plan_due_at": isoformat(ticket.plan_due_at),
        "resolution_due_at": isoformat(ticket.resolution_due_at),
        "onsite_due_at": isoformat(ticket.onsite_due_at),
    }


def ticket_webhook_publish(event_type: str, ticket: Any, **extra: Any) -> None:
    """Publish a ticket event to the webhook subscriptions that may see the ticket (after the
    caller's transaction commits)."""
    event_publish(
        event_type,
        {"ticket": ticket_webhook_data(ticket), **extra},
        organization=ticket.organization,
    )
