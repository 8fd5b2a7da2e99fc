"""What the tickets app does when core announces a change: a corrected business calendar, or
a year's holidays published, moves the due times of the running clocks that count on it."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from medservice.core.calendars import calendar_changed, calendar_year_confirmed


@receiver(calendar_changed)
@receiver(calendar_year_confirmed)
def _calendar_corrected(sender: Any, calendar_code: str, **kwargs: Any) -> None:
    # Many tickets may count on the calendar: recompute in the background, not in the request
    # that saved the calendar (the signal is sent after that request's commit).
    from medservice.tickets.tasks import recompute_for_calendar

    recompute_for_calendar.enqueue(calendar_code)
