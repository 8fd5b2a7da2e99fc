"""The quality app opens a case when earlier apps flag a complaint (imports point one way)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from medservice.core.calendars import calendar_changed, calendar_year_confirmed
from medservice.tickets.events import ticket_quality_flagged
from medservice.work_orders.events import work_order_quality_flagged


@receiver(ticket_quality_flagged, dispatch_uid="quality.case_from_ticket")
def case_from_ticket(sender: Any, ticket: Any, **kwargs: Any) -> None:
    from medservice.quality.services import case_open_from_ticket

    case_open_from_ticket(ticket=ticket)


@receiver(work_order_quality_flagged, dispatch_uid="quality.case_from_work_order")
def case_from_work_order(sender: Any, work_order: Any, **kwargs: Any) -> None:
    from medservice.quality.services import case_open_from_work_order

    case_open_from_work_order(work_order=work_order)


@receiver(calendar_changed, dispatch_uid="quality.ae_calendar_changed")
@receiver(calendar_year_confirmed, dispatch_uid="quality.ae_calendar_year_confirmed")
def adverse_event_calendar_corrected(sender: Any, calendar_code: str, **kwargs: Any) -> None:
    # Few reports are open at a time: recomputed here, after the calendar's commit.
    from medservice.quality.adverse_events import reports_recompute_for_calendar

    reports_recompute_for_calendar(calendar_code=calendar_code)
