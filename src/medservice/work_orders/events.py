"""Domain events the work-orders app publishes for later apps (quality subscribes)."""

from django.dispatch import Signal

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
