"""Forms and list filters of the business calendars: shape only; core/calendars.py decides."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from medservice.core.calendar_models import BusinessCalendar, CalendarDay, CalendarYear
from medservice.core.forms import ResourceForm
from medservice.core.selectors import business_calendars_visible_to

# ISO weekday digits ("1" = Monday) with Django's translated day names (0 = Monday there).
WEEKDAY_CHOICES = [(str(number + 1), name) for number, name in WEEKDAYS.items()]


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class WeekdayCheckboxes(forms.CheckboxSelectMultiple):
    """Seven ticks in a row: Bootstrap's check style on the boxes, not on their container."""

    def __init__(self) -> None:
        super().__init__(attrs={"class": "d-flex flex-wrap gap-3"})

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        option["attrs"] = {**option["attrs"], "class": "form-check-input me-1"}
        return option


class WeekdaysField(forms.MultipleChoiceField):
    """Ticks for Monday … Sunday, stored as the digits of the ticked days ("12345")."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", WEEKDAY_CHOICES)
        kwargs.setdefault("widget", WeekdayCheckboxes())
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return list(value) if isinstance(value, str) else value

    def clean(self, value: Any) -> str:
        return "".join(sorted(super().clean(value)))


class BusinessCalendarForm(ResourceForm):
    working_weekdays = WeekdaysField(label=_("working weekdays"), required=False, initial="12345")

    class Meta:
        model = BusinessCalendar
        fields = [
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
        ]
        widgets = {
            "work_starts_at": _time_input(),
            "work_ends_at": _time_input(),
            "lunch_starts_at": _time_input(),
            "lunch_ends_at": _time_input(),
        }


class CalendarDayForm(ResourceForm):
    class Meta:
        model = CalendarDay
        fields = ["calendar", "date", "kind", "name"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["calendar"].queryset = business_calendars_visible_to(self.user)


class CalendarYearForm(ResourceForm):
    class Meta:
        model = CalendarYear
        fields = ["calendar", "year", "status"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["calendar"].queryset = business_calendars_visible_to(self.user)
        if self.instance.pk:
            # A year is confirmed or put back on the fallback; it is never moved.
            self.fields["calendar"].disabled = True
            self.fields["year"].disabled = True


# --- list filters -------------------------------------------------------------------------------


def _visible_calendars(request: Any) -> QuerySet:
    return business_calendars_visible_to(getattr(request, "user", None))


class CalendarFilterSet(django_filters.FilterSet):
    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, request=request, **kwargs)
        for item in self.filters.values():
            widget = item.field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")


class YearFilter(django_filters.Filter):
    field_class = forms.IntegerField

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1900)
        kwargs.setdefault("max_value", 2200)
        super().__init__(**kwargs)


class BusinessCalendarFilter(CalendarFilterSet):
    class Meta:
        model = BusinessCalendar
        fields = ["source"]


class CalendarDayFilter(CalendarFilterSet):
    calendar = django_filters.ModelChoiceFilter(queryset=_visible_calendars)
    year = YearFilter(field_name="date", lookup_expr="year", label=_("year"))
    date_from = django_filters.DateFilter(
        field_name="date",
        lookup_expr="gte",
        label=_("from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        field_name="date",
        lookup_expr="lte",
        label=_("to"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = CalendarDay
        fields = ["calendar", "kind", "source"]


class CalendarYearFilter(CalendarFilterSet):
    calendar = django_filters.ModelChoiceFilter(queryset=_visible_calendars)

    class Meta:
        model = CalendarYear
        fields = ["calendar", "status"]
