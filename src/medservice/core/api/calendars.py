"""API of the business calendars: `business-calendars` (with a `refresh` action that seeds
from the source), `calendar-days` and `calendar-years`. Reading needs the view permission;
changing is for administrators (the roles grant add/change to them only)."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from medservice.core.calendar_models import (
    BusinessCalendar,
    CalendarDay,
    CalendarYear,
    parse_month_days,
)
from medservice.core.selectors import business_calendars_visible_to

VERSION_HELP = "Send the version you read: an update is refused (409) if it changed since."
TIMESTAMPS = ["created_at", "updated_at"]


class WeekdaysField(serializers.ListField):
    """ISO weekdays as a list ([1, 2, 3, 4, 5] = Monday to Friday), stored as "12345"."""

    child = serializers.IntegerField(min_value=1, max_value=7)

    def to_representation(self, data: Any) -> list[int]:
        return [int(char) for char in data]

    def to_internal_value(self, data: Any) -> str:
        days = super().to_internal_value(data)
        if len(set(days)) != len(days):
            raise serializers.ValidationError("Name each weekday once.")
        return "".join(str(day) for day in sorted(days))


class MonthDaysField(serializers.ListField):
    """Fixed dates as "MM-DD" strings (["01-01", "10-01"]), stored comma-separated."""

    child = serializers.RegexField(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")

    def to_representation(self, data: Any) -> list[str]:
        return [f"{month:02d}-{day:02d}" for month, day in sorted(parse_month_days(data))]

    def to_internal_value(self, data: Any) -> str:
        return ",".join(sorted(set(super().to_internal_value(data))))


class CalendarSerializer(serializers.ModelSerializer):
    """Related-record choices come from the selectors, as in the UI."""

    version = serializers.IntegerField(required=False, min_value=1, help_text=VERSION_HELP)
    scoped_relations: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            for name, selector in self.scoped_relations.items():
                self.fields[name].queryset = selector(request.user)


class BusinessCalendarSerializer(CalendarSerializer):
    working_weekdays = WeekdaysField(
        required=False, help_text="ISO weekdays worked: 1 = Monday … 7 = Sunday."
    )
    fallback_holidays = MonthDaysField(
        required=False,
        help_text="MM-DD dates that are holidays in a year whose schedule is not published yet.",
    )

    class Meta:
        model = BusinessCalendar
        fields = [
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
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]


class CalendarDaySerializer(CalendarSerializer):
    scoped_relations: ClassVar[dict[str, Any]] = {"calendar": business_calendars_visible_to}

    class Meta:
        model = CalendarDay
        fields = ["id", "calendar", "date", "kind", "name", "source", "version", *TIMESTAMPS]
        read_only_fields = ["id", "source", *TIMESTAMPS]
        extra_kwargs = {
            "source": {"help_text": "seeded (from the source) or manual (kept by refreshes)."}
        }


class CalendarYearSerializer(CalendarSerializer):
    scoped_relations: ClassVar[dict[str, Any]] = {"calendar": business_calendars_visible_to}

    class Meta:
        model = CalendarYear
        fields = [
            "id",
            "calendar",
            "year",
            "status",
            "confirmed_at",
            "alerted_at",
            "version",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", "confirmed_at", "alerted_at", *TIMESTAMPS]


class RefreshInputSerializer(serializers.Serializer):
    years = serializers.ListField(
        child=serializers.IntegerField(min_value=1900, max_value=2200),
        required=False,
        max_length=300,
        help_text="Years to refresh; default: every year the source holds now.",
    )


class RefreshResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    deleted = serializers.IntegerField()
    kept_manual = serializers.IntegerField(help_text="Days entered by hand, left as they are.")
    confirmed_years = serializers.ListField(child=serializers.IntegerField())
    unknown_years = serializers.ListField(
        child=serializers.IntegerField(), help_text="Years the source does not know yet."
    )


def business_calendar_viewset() -> type:
    """The generic resource viewset plus `POST .../{id}/refresh/`."""
    from medservice.core.api.viewsets import resource_viewset
    from medservice.core.calendars import calendar_seed
    from medservice.core.resources import business_calendars

    base = resource_viewset(business_calendars)

    class BusinessCalendarViewSet(base):  # type: ignore[misc, valid-type]
        __doc__ = base.__doc__

        @extend_schema(request=RefreshInputSerializer, responses=RefreshResultSerializer)
        @action(detail=True, methods=["post"])
        def refresh(self, request: Request, pk: Any = None) -> Response:
            """Seed the calendar from its source (idempotent; days entered by hand stay)."""
            calendar = self.get_object()
            if not request.user.has_perm("core.change_businesscalendar"):
                raise PermissionDenied
            given = RefreshInputSerializer(data=request.data)
            given.is_valid(raise_exception=True)
            result = calendar_seed(
                calendar=calendar, years=given.validated_data.get("years"), actor=request.user
            )
            return Response(RefreshResultSerializer(result).data)

    return BusinessCalendarViewSet
