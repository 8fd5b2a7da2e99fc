"""Core's own records as UI and API resources: the business calendars, their days and years.
Company-wide configuration, so none is scoped by organisation; every internal role that plans
with deadlines may view them, only administrators change them (accounts/roles.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.core.api.calendars import (
    BusinessCalendarSerializer,
    CalendarDaySerializer,
    CalendarYearSerializer,
)
from medservice.core.calendar_forms import (
    BusinessCalendarFilter,
    BusinessCalendarForm,
    CalendarDayFilter,
    CalendarDayForm,
    CalendarYearFilter,
    CalendarYearForm,
)
from medservice.core.calendar_models import BusinessCalendar, CalendarDay, CalendarYear
from medservice.core.calendar_views import BusinessCalendarDetailView
from medservice.core.calendars import (
    business_calendar_create,
    business_calendar_update,
    calendar_day_create,
    calendar_day_delete,
    calendar_day_update,
    calendar_year_create,
    calendar_year_update,
)
from medservice.core.registry import Related, Resource, register
from medservice.core.selectors import (
    business_calendars_visible_to,
    calendar_days_visible_to,
    calendar_years_visible_to,
)

TIMESTAMPS = ["created_at", "updated_at"]


business_calendars = register(
    Resource(
        name="business-calendars",
        model=BusinessCalendar,
        selector=business_calendars_visible_to,
        namespace="core",
        list_columns=["code", "name", "time_zone", "source", "work_starts_at", "work_ends_at"],
        detail_fields=[
            "code",
            "name",
            "time_zone",
            "source",
            "country",
            "subdivision",
            "work_starts_at",
            "work_ends_at",
            "lunch_starts_at",
            "lunch_ends_at",
            "working_weekdays",
            "fallback_holidays",
            *TIMESTAMPS,
        ],
        export_fields=[
            "id",
            "code",
            "name",
            "time_zone",
            "source",
            "country",
            "subdivision",
            "work_starts_at",
            "work_ends_at",
            "lunch_starts_at",
            "lunch_ends_at",
            "working_weekdays",
            "fallback_holidays",
        ],
        form_class=BusinessCalendarForm,
        filterset_class=BusinessCalendarFilter,
        serializer_class=BusinessCalendarSerializer,
        search_fields=["code", "name"],
        ordering_fields=["code", "name"],
        default_ordering=["code", "pk"],
        create=business_calendar_create,
        update=business_calendar_update,
        # A calendar outlives the due times computed on it: it is changed, never deleted.
        delete=None,
        api_basename="business-calendar",
        organization_scoped=False,
        detail_view=BusinessCalendarDetailView,
    )
)

calendar_days = register(
    Resource(
        name="calendar-days",
        model=CalendarDay,
        selector=calendar_days_visible_to,
        namespace="core",
        list_columns=["date", "calendar", "kind", "name", "source"],
        detail_fields=["calendar", "date", "kind", "name", "source", *TIMESTAMPS],
        export_fields=["id", "calendar__code", "date", "kind", "name", "source"],
        form_class=CalendarDayForm,
        filterset_class=CalendarDayFilter,
        serializer_class=CalendarDaySerializer,
        search_fields=["name"],
        ordering_fields=["date", "kind"],
        default_ordering=["-date", "pk"],
        select_related=["calendar"],
        create=calendar_day_create,
        update=calendar_day_update,
        delete=calendar_day_delete,
        api_basename="calendar-day",
        organization_scoped=False,
    )
)

calendar_years = register(
    Resource(
        name="calendar-years",
        model=CalendarYear,
        selector=calendar_years_visible_to,
        namespace="core",
        list_columns=["year", "calendar", "status", "confirmed_at", "alerted_at"],
        detail_fields=["calendar", "year", "status", "confirmed_at", "alerted_at", *TIMESTAMPS],
        export_fields=["id", "calendar__code", "year", "status", "confirmed_at", "alerted_at"],
        form_class=CalendarYearForm,
        filterset_class=CalendarYearFilter,
        serializer_class=CalendarYearSerializer,
        ordering_fields=["year", "status"],
        default_ordering=["-year", "pk"],
        select_related=["calendar"],
        create=calendar_year_create,
        update=calendar_year_update,
        delete=None,
        api_basename="calendar-year",
        organization_scoped=False,
    )
)


def _days_of(calendar: BusinessCalendar, user: Any) -> QuerySet:
    return calendar_days_visible_to(user).filter(calendar=calendar).order_by("-date", "pk")


def _years_of(calendar: BusinessCalendar, user: Any) -> QuerySet:
    return calendar_years_visible_to(user).filter(calendar=calendar).order_by("-year", "pk")


business_calendars.related += [
    Related(
        _("Days"),
        _days_of,
        ["date", "kind", "name", "source"],
        "core:calendar-days-detail",
        limit=100,
    ),
    Related(
        _("Years"),
        _years_of,
        ["year", "status", "confirmed_at", "alerted_at"],
        "core:calendar-years-detail",
        limit=100,
    ),
]
