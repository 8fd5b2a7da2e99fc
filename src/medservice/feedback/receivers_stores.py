"""Stock arriving (a receipt, a transfer, a release back to stock, a customer return, a count
adjustment) sets off the out-of-stock register's check for that part after commit: the
customers waiting for it hear at once rather than at the next hourly run. Only a task is
scheduled here; the service decides."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

ARRIVING_KINDS = frozenset({"receipt", "restock", "customer_return", "adjustment", "transfer"})


@receiver(post_save, sender="inventory.StockMovement", dispatch_uid="feedback.stock_arrived")
def stock_arrived(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created or instance.kind not in ARRIVING_KINDS or instance.destination_id is None:
        return
    from medservice.feedback.tasks_stores import shortages_check_part

    part_id = instance.part_id
    transaction.on_commit(lambda: shortages_check_part.enqueue(part_id))
