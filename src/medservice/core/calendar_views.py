"""Pages of the business calendars beyond the generic ones: the calendar's page shows which
years are confirmed and the coming working days, and offers "Refresh from the source"."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from medservice.core.calendar_models import BusinessCalendar
from medservice.core.calendars import calendar_load, calendar_seed
from medservice.core.choices import CalendarSource, CalendarYearStatus
from medservice.core.views import ResourceDetailView, ResourceMixin

PREVIEW_DAYS = 14


def year_ranges(years: list[int]) -> str:
    """[2004, 2005, 2006, 2010] -> "2004–2006, 2010"."""
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and runs[-1][1] == year - 1:
            runs[-1][1] = year
        else:
            runs.append([year, year])
    return ", ".join(str(first) if first == last else f"{first}–{last}" for first, last in runs)


class BusinessCalendarDetailView(ResourceDetailView):
    extra_template = "core/business_calendar_extra.html"

    def extra_context_for(self, obj: BusinessCalendar) -> dict[str, Any]:
        calendar = calendar_load(obj)
        statuses = dict(obj.years.values_list("year", "status"))
        today = timezone.localdate()
        preview = []
        for offset in range(PREVIEW_DAYS):
            day = today + datetime.timedelta(days=offset)
            preview.append(
                {
                    "date": day,
                    "working": calendar.is_working_day(day),
                    "confirmed": calendar.is_confirmed(day.year),
                }
            )
        daily = sum(
            (
                datetime.datetime.combine(today, end) - datetime.datetime.combine(today, start)
                for start, end in calendar.working_periods
            ),
            datetime.timedelta(0),
        )
        user = self.request.user
        return {
            "confirmed_years": year_ranges(
                [year for year, status in statuses.items() if status != CalendarYearStatus.FALLBACK]
            ),
            "fallback_years": year_ranges(
                [year for year, status in statuses.items() if status == CalendarYearStatus.FALLBACK]
            ),
            "all_years_confirmed": calendar.all_years_confirmed,
            "hours_per_day": daily.total_seconds() / 3600,
            "preview": preview,
            "can_refresh": obj.source != CalendarSource.NONE
            and user.has_perm("core.change_businesscalendar"),
            "refresh_url": reverse("core:business-calendars-refresh", kwargs={"pk": obj.pk}),
        }


class BusinessCalendarRefreshView(ResourceMixin, View):
    """POST: seed the calendar from its source (administrators)."""

    action = "change"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        calendar = self.get_object()
        result = calendar_seed(calendar=calendar, actor=request.user)
        messages.success(
            request,
            _(
                "Refreshed from the source: %(created)s days added, %(updated)s changed, "
                "%(deleted)s removed; %(kept)s days entered by hand kept."
            )
            % {
                "created": result.created,
                "updated": result.updated,
                "deleted": result.deleted,
                "kept": result.kept_manual,
            },
        )
        return redirect(self.resource.url_name("detail"), pk=calendar.pk)
