"""Domain events the tickets app publishes for later apps (imports point one way: the quality
app subscribes to these; tickets never imports it)."""

from django.dispatch import Signal

# A quality complaint, or any request with patient involvement or injury, was registered or
# flagged: the quality app opens a case whose clocks start at `ticket.received_at`.
# Sent after commit with `ticket`.
ticket_quality_flagged = Signal()

# A ticket was resolved with a resolution type that needs follow-up work (repair, replacement,
# return/refund): the work-orders and returns apps subscribe. Sent after commit with `ticket`.
ticket_resolution_needs_work = Signal()

# A ticket closed (confirmed or automatically): the feedback app schedules the follow-up call.
ticket_closed = Signal()
