"""What the work-orders app does when earlier apps publish events."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from medservice.core.errors import DomainError
from medservice.tickets.events import ticket_resolution_needs_work

logger = logging.getLogger(__name__)


@receiver(ticket_resolution_needs_work, dispatch_uid="work_orders.repair_from_ticket")
def repair_from_ticket(sender: Any, ticket: Any, **kwargs: Any) -> None:
    """A request resolved as "repair" about a known device gets its repair work order, unless
    work was already opened on it."""
    from medservice.tickets.choices import ResolutionType
    from medservice.work_orders.choices import WorkOrderKind
    from medservice.work_orders.services import work_order_create

    if ticket.resolution_type != ResolutionType.REPAIR or ticket.device_id is None:
        return
    if ticket.status in ("closed", "cancelled") or ticket.work_orders.exists():
        return
    try:
        work_order_create(
            actor=None,
            kind=WorkOrderKind.REPAIR,
            device=ticket.device,
            problem=ticket.description,
            ticket=ticket,
            owner=ticket.owner,
        )
    except DomainError as error:
        # The request's resolution stands; the owner opens the work by hand (e.g. the device
        # is kept as evidence).
        logger.warning("No repair work order for %s: %s", ticket.number, error.message)
