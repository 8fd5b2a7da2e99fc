"""Domain events the work-orders app publishes for later apps (quality subscribes)."""

from typing import Any

from django.dispatch import Signal

from medservice.integrations.choices import EventType
from medservice.integrations.services import event_publish, isoformat

# The screening of a service record found a complaint or a possibly reportable event: the
# quality app opens a case as for a quality-flagged ticket. Sent after commit with
# `work_order`.
work_order_quality_flagged = Signal()

# A work order was completed (device back in service or not): the maintenance and feedback
# apps subscribe (PM plan, follow-up call). Sent after commit with `work_order`.
work_order_completed = Signal()

# A work order was cancelled: the maintenance app re-opens the PM visit or installation it
# served. Sent after commit with `work_order`.
work_order_cancelled = Signal()


# --- Outbound webhooks (issue 12) ---------------------------------------------------------------


def work_order_webhook_data(work_order: Any) -> dict[str, Any]:
    """The `work_order` object of the webhook payloads (docs/api.md, "Webhooks"): ids, numbers,
    states and times — not the problem text, the site address or the contact."""
    return {
        "id": work_order.pk,
        "number": work_order.number,
        "kind": work_order.kind,
        "status": work_order.status,
        "ticket": work_order.ticket_id,
        "device": work_order.device_id,
        "organization": work_order.organization_id,
        "engineer": work_order.engineer_id,
        "result": work_order.result,
        "completed_at": isoformat(work_order.completed_at),
        "back_in_service_at": isoformat(work_order.back_in_service_at),
    }


def work_order_completed_publish(work_order: Any) -> None:
    event_publish(
        EventType.WORK_ORDER_COMPLETED,
        {"work_order": work_order_webhook_data(work_order)},
        organization=work_order.organization,
    )
