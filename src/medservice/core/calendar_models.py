"""Business calendars as editable data: working hours and weekdays, dated exceptions (public
holidays, make-up working days 调休) seeded from a source and corrected by hand, and which years
the source has confirmed. Imported at the end of core/models.py; the arithmetic is core/clock.py.
"""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from medservice.core.choices import (
    CalendarDayKind,
    CalendarDaySource,
    CalendarSource,
    CalendarYearStatus,
)
from medservice.core.models import AuditedModel

# Fixed-date public holidays of mainland China (国务院《全国年节及纪念日放假办法》, as amended
# in 2024, in force from 2025): New Year's Day 1 Jan, Labour Day 1-2 May, National Day 1-3 Oct.
# The lunar and solar-term holidays (Spring Festival, Qingming, Dragon Boat, Mid-Autumn) and the
# make-up working days move every year, so a year not yet published cannot include them.
CN_FALLBACK_HOLIDAYS = "01-01,05-01,05-02,10-01,10-02,10-03"


def _new_stamp() -> str:
    return uuid.uuid4().hex


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValidationError(
            _("%(value)s is not a time zone name (for example Asia/Shanghai)."),
            params={"value": value},
            code="time_zone",
        ) from error


def parse_weekdays(value: str) -> frozenset[int]:
    """ "12345" -> {1, 2, 3, 4, 5} (ISO weekdays: 1 = Monday … 7 = Sunday)."""
    return frozenset(int(char) for char in value)


def validate_weekdays(value: str) -> None:
    if not value.isdigit() or not set(value) <= set("1234567") or len(set(value)) != len(value):
        raise ValidationError(
            _(
                "Give the working weekdays as digits 1 (Monday) to 7 (Sunday), each once, e.g. 12345."
            ),
            code="weekdays",
        )


def parse_month_days(value: str) -> frozenset[tuple[int, int]]:
    """ "01-01,10-01" -> {(1, 1), (10, 1)}."""
    days = set()
    for item in value.replace(" ", "").split(","):
        if item:
            month, day = item.split("-")
            days.add((int(month), int(day)))
    return frozenset(days)


def validate_month_days(value: str) -> None:
    try:
        for month, day in parse_month_days(value):
            datetime.date(2000, month, day)  # a leap year, so 02-29 is accepted
    except ValueError as error:
        raise ValidationError(
            _("Give the dates as MM-DD separated by commas, e.g. 01-01,05-01,10-01."),
            code="month_days",
        ) from error


class BusinessCalendar(AuditedModel):
    """A business calendar (工作日历): when a company's service desk works — its time zone,
    working hours with an optional lunch break, working weekdays — and, through its days, the
    public holidays and make-up working days of its market. SLA targets in business hours and
    deadlines in working days are counted on one of these."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Asia/Shanghai",
        validators=[validate_time_zone],
        help_text=_("Working hours are read on this zone's wall clock, e.g. Asia/Shanghai."),
    )
    source = models.CharField(
        _("holiday source"),
        max_length=20,
        choices=CalendarSource.choices,
        default=CalendarSource.CHINESE_CALENDAR,
    )
    country = models.CharField(
        _("country or market"),
        max_length=10,
        blank=True,
        default="CN",
        help_text=_("ISO country code for the holidays library, e.g. US; CN for China."),
    )
    subdivision = models.CharField(
        _("subdivision"),
        max_length=10,
        blank=True,
        help_text=_("A state or province code when its holidays differ, e.g. CA."),
    )
    work_starts_at = models.TimeField(_("work starts at"), default=datetime.time(8, 30))
    work_ends_at = models.TimeField(_("work ends at"), default=datetime.time(17, 30))
    lunch_starts_at = models.TimeField(
        _("lunch break starts at"), null=True, blank=True, default=datetime.time(12, 0)
    )
    lunch_ends_at = models.TimeField(
        _("lunch break ends at"), null=True, blank=True, default=datetime.time(13, 0)
    )
    working_weekdays = models.CharField(
        _("working weekdays"),
        max_length=7,
        default="12345",
        validators=[validate_weekdays],
        help_text=_("Digits 1 (Monday) to 7 (Sunday); 12345 is Monday to Friday."),
    )
    fallback_holidays = models.CharField(
        _("fixed-date holidays for unpublished years"),
        max_length=200,
        blank=True,
        default=CN_FALLBACK_HOLIDAYS,
        validators=[validate_month_days],
        help_text=_(
            "MM-DD, comma-separated. Used, with the weekly pattern, for a year whose holidays "
            "are not published yet; due times in such a year are marked unconfirmed."
        ),
    )
    # Changes whenever the calendar or any of its days or years changes: the loaded calendar
    # is cached per process under this stamp, so every process sees a correction at once.
    data_stamp = models.CharField(max_length=32, default=_new_stamp, editable=False)

    audit_exclude: ClassVar[frozenset[str]] = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"data_stamp"}

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(work_starts_at__lt=models.F("work_ends_at")),
                name="calendar_work_starts_before_it_ends",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.work_starts_at and self.work_ends_at and self.work_starts_at >= self.work_ends_at:
            errors["work_ends_at"] = _("Work must end after it starts.")
        lunch = (self.lunch_starts_at, self.lunch_ends_at)
        if (lunch[0] is None) != (lunch[1] is None):
            errors["lunch_ends_at"] = _("Give both ends of the lunch break, or neither.")
        elif lunch[0] is not None and lunch[1] is not None:
            if lunch[0] >= lunch[1]:
                errors["lunch_ends_at"] = _("The lunch break must end after it starts.")
            elif (
                self.work_starts_at
                and self.work_ends_at
                and not (self.work_starts_at < lunch[0] and lunch[1] < self.work_ends_at)
            ):
                errors["lunch_starts_at"] = _("The lunch break must lie within working hours.")
        if self.source == CalendarSource.HOLIDAYS:
            from medservice.core.calendars import holidays_country_problem

            problem = holidays_country_problem(self.country, self.subdivision)
            if problem:
                errors["country"] = problem
        if errors:
            raise ValidationError(errors)

    def get_working_weekdays_display(self) -> str:
        """ "Monday, Tuesday, …" in the reader's language (lists, pages and exports use it)."""
        return ", ".join(
            str(WEEKDAYS[day - 1]) for day in sorted(parse_weekdays(self.working_weekdays))
        )

    @property
    def working_periods(self) -> tuple[tuple[datetime.time, datetime.time], ...]:
        if self.lunch_starts_at and self.lunch_ends_at:
            return (
                (self.work_starts_at, self.lunch_starts_at),
                (self.lunch_ends_at, self.work_ends_at),
            )
        return ((self.work_starts_at, self.work_ends_at),)


class CalendarDay(AuditedModel):
    """One date on a business calendar that departs from its weekly pattern: a public holiday,
    a make-up working day (调休上班, often a Saturday or Sunday), or an ordinary day that cancels
    a holiday of the source. Seeded from the source; a row entered or changed by hand is kept
    by every later refresh."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        on_delete=models.CASCADE,
        related_name="days",
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=CalendarDayKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    source = models.CharField(
        _("entered by"),
        max_length=10,
        choices=CalendarDaySource.choices,
        default=CalendarDaySource.MANUAL,
        editable=False,
    )

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="unique_calendar_day"),
        ]

    def clean(self) -> None:
        if self.date and not 1900 <= self.date.year <= 2200:
            raise ValidationError({"date": _("Give a date between 1900 and 2200.")})

    def __str__(self) -> str:
        label = f"{self.date:%Y-%m-%d} {self.get_kind_display()}"
        return f"{label} · {self.name}" if self.name else label


class CalendarYear(AuditedModel):
    """Whether one year of a business calendar is known: confirmed by the source (the State
    Council's schedule as published in the library), entered and confirmed by an administrator,
    or still on the fallback rules, in which case due times that reach into it are provisional.
    Also records when administrators were told that a due time needed the fallback."""

    calendar = models.ForeignKey(
        BusinessCalendar,
        verbose_name=_("calendar"),
        on_delete=models.CASCADE,
        related_name="years",
    )
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(1900), MaxValueValidator(2200)]
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CalendarYearStatus.choices,
        default=CalendarYearStatus.FALLBACK,
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True, editable=False)
    alerted_at = models.DateTimeField(
        _("administrators alerted at"), null=True, blank=True, editable=False
    )

    audit_exclude: ClassVar[frozenset[str]] = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"alerted_at"}

    CONFIRMED_STATUSES: ClassVar[frozenset[str]] = frozenset(
        {CalendarYearStatus.CONFIRMED, CalendarYearStatus.MANUAL}
    )

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "year"], name="unique_calendar_year"),
        ]

    def __str__(self) -> str:
        return f"{self.year}: {self.get_status_display()}"

    @property
    def is_confirmed(self) -> bool:
        return self.status in self.CONFIRMED_STATUSES
