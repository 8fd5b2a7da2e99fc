"""What the maintenance app does when the work-orders app publishes events (imports point one
way): a completed PM work order advances its plan, a completed installation commissions the
unit, a repair that found a use error suggests re-training; a cancelled PM or installation work
order re-opens what it served."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from medservice.work_orders.events import work_order_cancelled, work_order_completed

logger = logging.getLogger(__name__)


@receiver(work_order_completed, dispatch_uid="maintenance.work_order_completed")
def work_order_completed_received(sender: Any, work_order: Any, **kwargs: Any) -> None:
    from medservice.maintenance.services import pm_visit_complete
    from medservice.maintenance.services_acceptance import installation_commissioned
    from medservice.maintenance.services_training import use_error_suggest
    from medservice.work_orders.choices import WorkOrderKind

    if work_order.kind == WorkOrderKind.PREVENTIVE_MAINTENANCE:
        pm_visit_complete(work_order=work_order)
    elif work_order.kind == WorkOrderKind.INSTALLATION:
        installation_commissioned(work_order=work_order)
    elif work_order.kind == WorkOrderKind.REPAIR:
        use_error_suggest(work_order=work_order)


@receiver(work_order_cancelled, dispatch_uid="maintenance.work_order_cancelled")
def work_order_cancelled_received(sender: Any, work_order: Any, **kwargs: Any) -> None:
    from medservice.maintenance.services import pm_visit_reopen
    from medservice.maintenance.services_acceptance import installation_cancelled
    from medservice.work_orders.choices import WorkOrderKind

    if work_order.kind == WorkOrderKind.PREVENTIVE_MAINTENANCE:
        pm_visit_reopen(work_order_id=work_order.pk)
    elif work_order.kind == WorkOrderKind.INSTALLATION:
        installation_cancelled(work_order=work_order)
