"""What the work-orders app does when earlier apps publish events."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from medservice.tickets.events import ticket_resolution_needs_work


@receiver(ticket_resolution_needs_work, dispatch_uid="work_orders.repair_from_ticket")
def repair_from_ticket(sender: Any, ticket: Any, **kwargs: Any) -> None:
    """A request resolved as "repair" about a known device gets its repair work order, unless
    work was already opened on it."""
    from medservice.tickets.choices import ResolutionType
    from medservice.work_orders.choices import WorkOrderKind
    from medservice.work_orders.services import work_order_create

    if ticket.resolution_type != ResolutionType.REPAIR or ticket.device_id is None:
        return
    if ticket.work_orders.exists():
        return
    work_order_create(
        actor=None,
        kind=WorkOrderKind.REPAIR,
        device=ticket.device,
        problem=ticket.description,
        ticket=ticket,
        owner=ticket.owner,
    )
