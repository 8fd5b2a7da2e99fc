"""What follow-ups and surveys do when earlier apps announce a closed case (imports point one
way: tickets and work orders publish, feedback subscribes). Sent after the case's commit."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from medservice.tickets.events import ticket_closed
from medservice.work_orders.events import work_order_completed


@receiver(ticket_closed, dispatch_uid="feedback.ticket_closed")
def ticket_closed_follow_up(sender: Any, ticket: Any, **kwargs: Any) -> None:
    from medservice.feedback.services_followups import follow_up_schedule_for_ticket
    from medservice.feedback.services_surveys import survey_create_for_ticket

    follow_up_schedule_for_ticket(ticket=ticket)
    survey_create_for_ticket(ticket=ticket)


@receiver(work_order_completed, dispatch_uid="feedback.work_order_completed")
def work_order_completed_follow_up(sender: Any, work_order: Any, **kwargs: Any) -> None:
    from medservice.feedback.services_followups import follow_up_schedule_for_work_order
    from medservice.feedback.services_surveys import survey_create_for_work_order

    follow_up_schedule_for_work_order(work_order=work_order)
    survey_create_for_work_order(work_order=work_order)
