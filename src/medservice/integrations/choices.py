"""The webhook events MedService sends and the states of one delivery."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """Stable machine names: subscribers match on them, so they never change once published."""

    TICKET_CREATED = "ticket.created", _("Service request registered")
    TICKET_STATE_CHANGED = "ticket.state_changed", _("Service request state changed")
    TICKET_SLA_BREACHED = "ticket.sla_breached", _("Service promise breached")
    WORK_ORDER_COMPLETED = "work_order.completed", _("Work order completed")
    ADVERSE_EVENT_REPORT_DUE = "adverse_event_report.due", _("Adverse-event report falling due")
    RECALL_PROGRESS = "recall.progress", _("Recall progress")
    # Sent only by "Send test event"; not subscribable, always delivered to the one subscription.
    PING = "ping", _("Test event")


SUBSCRIBABLE_EVENTS = [choice for choice in EventType if choice != EventType.PING]


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
