"""The one clock module: calendar hours, business hours and working days on a business calendar,
and due times that pauses push back. Pure functions over an immutable `Calendar` value; no
database here (`core.calendars.calendar_load` builds the value from the stored calendar).

Rules every function keeps:

- Datetimes are aware; results come back in UTC (store them as they are). Naive input is
  refused, so a local wall time is never silently taken for UTC.
- Calendar time is elapsed time: 24 calendar hours are 24 real hours, also across a daylight
  saving change (the wall clock then shows 23:00 or 01:00 the next day).
- Business time is the elapsed time inside the calendar's working periods, read on the wall
  clock of the calendar's own time zone, on its working days: the weekly pattern, minus
  holidays, plus make-up working days (调休). A year the source has not published yet uses the
  fallback (weekly pattern minus the fixed-date holidays), and every result that depends on such
  a year says so (`unconfirmed_years`).
- Durations are `datetime.timedelta` (exact to the microsecond); functions that take "hours"
  also accept a number of hours.
- A due time is the earliest instant at which the duration has been counted: adding business
  hours that end exactly at 12:00 gives 12:00, not the 13:00 the afternoon starts at.
"""

from __future__ import annotations

import datetime
import enum
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

UTC = datetime.UTC
ZERO = datetime.timedelta(0)
ONE_DAY = datetime.timedelta(days=1)
# A calendar with no working time in this many days in a row is misconfigured, not busy.
MAX_IDLE_DAYS = 3 * 366

Hours = datetime.timedelta | int | float | Decimal


class ClockError(ValueError):
    """The question cannot be answered: naive time, negative duration, no working time."""


class DayKind(enum.StrEnum):
    """How a dated entry of a calendar changes the weekly pattern."""

    HOLIDAY = "holiday"  # no work, whatever the weekday
    WORKDAY = "workday"  # a make-up working day (调休上班): worked, whatever the weekday
    NORMAL = "normal"  # the weekly pattern applies (cancels a holiday of the source)


class Basis(enum.StrEnum):
    """What a target counts: all elapsed time, or working time on a business calendar."""

    CALENDAR = "calendar"
    BUSINESS = "business"


@dataclass(frozen=True)
class Calendar:
    """A business calendar as plain data: working periods (local wall times), the working
    weekdays (ISO: 1 = Monday … 7 = Sunday), the dated entries, which years are confirmed by the
    source, and the fixed-date holidays (month, day) a year not yet confirmed falls back to."""

    code: str
    time_zone: str = "Asia/Shanghai"
    working_periods: tuple[tuple[datetime.time, datetime.time], ...] = (
        (datetime.time(8, 30), datetime.time(12, 0)),
        (datetime.time(13, 0), datetime.time(17, 30)),
    )
    working_weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    days: Mapping[datetime.date, DayKind] = field(default_factory=dict, hash=False)
    confirmed_years: frozenset[int] = frozenset()
    fallback_holidays: frozenset[tuple[int, int]] = frozenset()
    # True for a calendar with no outside source: its data is complete as entered.
    all_years_confirmed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "days", MappingProxyType(dict(self.days)))
        object.__setattr__(self, "working_weekdays", frozenset(self.working_weekdays))
        object.__setattr__(self, "confirmed_years", frozenset(self.confirmed_years))
        object.__setattr__(self, "fallback_holidays", frozenset(self.fallback_holidays))
        periods = tuple(sorted(self.working_periods))
        for start, end in periods:
            if not start < end:
                raise ClockError(f"working period {start}-{end} ends before it starts")
        for (_start, end), (next_start, _end) in itertools.pairwise(periods):
            if next_start < end:
                raise ClockError("working periods overlap")
        object.__setattr__(self, "working_periods", periods)
        if not set(self.working_weekdays) <= set(range(1, 8)):
            raise ClockError("working weekdays are ISO weekdays 1 (Monday) to 7 (Sunday)")
        # Fails here, once, for an unknown zone name.
        object.__setattr__(self, "_zone", ZoneInfo(self.time_zone))

    @property
    def zone(self) -> ZoneInfo:
        return self._zone  # type: ignore[attr-defined]

    def is_confirmed(self, year: int) -> bool:
        return self.all_years_confirmed or year in self.confirmed_years

    def is_working_day(self, day: datetime.date) -> bool:
        kind = self.days.get(day)
        if kind == DayKind.HOLIDAY:
            return False
        if kind == DayKind.WORKDAY:
            return True
        if (
            kind is None
            and not self.is_confirmed(day.year)
            and (day.month, day.day) in self.fallback_holidays
        ):
            return False
        return day.isoweekday() in self.working_weekdays

    def working_intervals_of(
        self, day: datetime.date
    ) -> list[tuple[datetime.datetime, datetime.datetime]]:
        """The working periods of one local date as UTC instants (none on a day off)."""
        if not self.is_working_day(day):
            return []
        intervals = []
        for start, end in self.working_periods:
            begin = datetime.datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC)
            finish = datetime.datetime.combine(day, end, tzinfo=self.zone).astimezone(UTC)
            if finish > begin:
                intervals.append((begin, finish))
        return intervals

    def local_date(self, moment: datetime.datetime) -> datetime.date:
        return moment.astimezone(self.zone).date()

    def unconfirmed_years_between(
        self, start: datetime.datetime, end: datetime.datetime
    ) -> frozenset[int]:
        """The years of the local dates from `start` to `end` the source has not confirmed."""
        first, last = sorted((self.local_date(start), self.local_date(end)))
        return frozenset(
            year for year in range(first.year, last.year + 1) if not self.is_confirmed(year)
        )


@dataclass(frozen=True)
class Pause:
    """A stretch in which a target's clock stands still (waiting for the customer); an open
    pause (`end` None) has not been resumed yet."""

    start: datetime.datetime
    end: datetime.datetime | None = None


@dataclass(frozen=True)
class Due:
    """A computed due time. `at` is None while an open pause stops the clock; `remaining` is
    then the counting time still left when the clock stopped. `unconfirmed_years` names the
    years whose holidays were not published when computed: such a due time is provisional."""

    at: datetime.datetime | None
    unconfirmed_years: frozenset[int] = frozenset()
    remaining: datetime.timedelta | None = None

    @property
    def confirmed(self) -> bool:
        return not self.unconfirmed_years

    @property
    def paused(self) -> bool:
        return self.at is None


# --- helpers ----------------------------------------------------------------------------------


def as_duration(hours: Hours) -> datetime.timedelta:
    """A duration from a timedelta or a number of hours; negative durations are refused."""
    if isinstance(hours, datetime.timedelta):
        duration = hours
    elif isinstance(hours, Decimal):
        duration = datetime.timedelta(microseconds=int(hours * 3_600_000_000))
    else:
        duration = datetime.timedelta(hours=hours)
    if duration < ZERO:
        raise ClockError("a duration cannot be negative")
    return duration


def _aware(moment: datetime.datetime, name: str = "time") -> datetime.datetime:
    if not isinstance(moment, datetime.datetime):
        raise ClockError(f"{name} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ClockError(f"{name} must be timezone-aware (got a naive datetime)")
    return moment.astimezone(UTC)


def working_intervals(
    calendar: Calendar, start: datetime.datetime
) -> Iterator[tuple[datetime.datetime, datetime.datetime]]:
    """Working time from `start` on, as consecutive (begin, end) UTC pairs, the first clipped
    to start at `start`. Endless; raises ClockError when the calendar has no working time."""
    start = _aware(start, "start")
    day = calendar.local_date(start) - ONE_DAY  # a period may straddle UTC midnight
    idle = 0
    while True:
        found = False
        for begin, end in calendar.working_intervals_of(day):
            if end <= start:
                continue
            found = True
            yield (max(begin, start), end)
        idle = 0 if found else idle + 1
        if idle > MAX_IDLE_DAYS:
            raise ClockError(f"calendar {calendar.code} has no working time after {day}")
        day += ONE_DAY


def _merged_pauses(
    pauses: Iterable[Pause], start: datetime.datetime
) -> list[tuple[datetime.datetime, datetime.datetime | None]]:
    """Pauses clipped to after `start`, sorted and merged; an open pause swallows the rest."""
    spans: list[tuple[datetime.datetime, datetime.datetime | None]] = []
    for pause in pauses:
        begin = max(_aware(pause.start, "pause start"), start)
        end = None if pause.end is None else _aware(pause.end, "pause end")
        if end is not None and end <= begin:
            continue
        spans.append((begin, end))
    spans.sort(key=lambda span: span[0])
    merged: list[tuple[datetime.datetime, datetime.datetime | None]] = []
    for begin, end in spans:
        if merged:
            last_begin, last_end = merged[-1]
            if last_end is None:
                break
            if begin <= last_end:
                merged[-1] = (last_begin, None if end is None else max(end, last_end))
                continue
        merged.append((begin, end))
    return merged


def _counting_segments(
    start: datetime.datetime,
    *,
    basis: Basis,
    calendar: Calendar | None,
    pauses: Iterable[Pause],
) -> Iterator[tuple[datetime.datetime, datetime.datetime | None]]:
    """Counting time from `start`: working time (or all time) minus the pauses, in order. A
    segment whose end is None runs forever; after an open pause nothing more is yielded."""
    start = _aware(start, "start")
    if basis == Basis.BUSINESS:
        if calendar is None:
            raise ClockError("business time needs a calendar")
        base: Iterator[tuple[datetime.datetime, datetime.datetime | None]] = working_intervals(
            calendar, start
        )
    else:
        base = iter([(start, None)])
    spans = _merged_pauses(pauses, start)
    index = 0
    for begin, end in base:
        cursor = begin
        while True:
            index = _first_pause_not_over(spans, index, cursor)
            if index == len(spans):
                yield (cursor, end)
                break
            pause_begin, pause_end = spans[index]
            if end is not None and pause_begin >= end:
                yield (cursor, end)
                break
            if pause_begin > cursor:
                yield (cursor, pause_begin)
            if pause_end is None:
                return  # the clock stands still until the pause is resumed
            cursor = max(cursor, pause_end)
            if end is not None and cursor >= end:
                break


# --- calendar time ------------------------------------------------------------------------------


def add_calendar_hours(start: datetime.datetime, hours: Hours) -> datetime.datetime:
    """`hours` of elapsed time after `start`, in UTC (24 h is 24 real hours across DST)."""
    return _aware(start, "start") + as_duration(hours)


def add_calendar_days(
    start: datetime.datetime, days: int, time_zone: str = "Asia/Shanghai"
) -> datetime.datetime:
    """The same wall-clock time `days` dates later in `time_zone` (a daylight saving change in
    between makes the elapsed time 23 or 25 hours), in UTC."""
    zone = ZoneInfo(time_zone)
    local = _aware(start, "start").astimezone(zone)
    moved = datetime.datetime.combine(local.date() + datetime.timedelta(days=days), local.timetz())
    return moved.replace(tzinfo=zone).astimezone(UTC)


# --- business time ------------------------------------------------------------------------------


def add_business_hours(
    start: datetime.datetime, hours: Hours, calendar: Calendar
) -> datetime.datetime:
    """The earliest instant at which `hours` of working time have passed since `start`."""
    due = compute_due(start, hours, basis=Basis.BUSINESS, calendar=calendar)
    assert due.at is not None  # no pauses, so the clock never stops
    return due.at


def business_hours_between(
    start: datetime.datetime, end: datetime.datetime, calendar: Calendar
) -> datetime.timedelta:
    """Working time from `start` to `end` (negative when `end` is before `start`)."""
    return counting_time_between(start, end, basis=Basis.BUSINESS, calendar=calendar)


def add_working_days(day: datetime.date, n: int, calendar: Calendar) -> datetime.date:
    """The `n`-th working day after `day` (before it when `n` is negative); `day` itself for 0.
    Counting starts on the next date, so "within 5 working days of Friday" ends next Friday."""
    step = ONE_DAY if n >= 0 else -ONE_DAY
    remaining = abs(n)
    idle = 0
    while remaining:
        day += step
        if calendar.is_working_day(day):
            remaining -= 1
            idle = 0
        else:
            idle += 1
            if idle > MAX_IDLE_DAYS:
                raise ClockError(f"calendar {calendar.code} has no working days around {day}")
    return day


def working_days_between(start: datetime.date, end: datetime.date, calendar: Calendar) -> int:
    """Working days after `start` up to and including `end` (negative when `end` is before)."""
    if end < start:
        return -working_days_between(end, start, calendar)
    count, day = 0, start
    while day < end:
        day += ONE_DAY
        count += calendar.is_working_day(day)
    return count


# --- targets with pauses --------------------------------------------------------------------------


def compute_due(
    start: datetime.datetime,
    duration: Hours,
    *,
    basis: Basis | str = Basis.CALENDAR,
    calendar: Calendar | None = None,
    pauses: Iterable[Pause] = (),
) -> Due:
    """When a target of `duration` counted from `start` falls due.

    Business targets count working time on `calendar`; calendar targets count all time. Time
    inside a pause does not count, so a pause moves the due time later by exactly the counting
    time it covers (a pause over a night or a weekend moves a business target by nothing). While
    a pause is open the due time is unknown: `at` is None and `remaining` says what is left.
    """
    basis = Basis(basis)
    start = _aware(start, "start")
    left = as_duration(duration)
    pause_list = list(pauses)
    if not left:
        return Due(at=start)
    for begin, end in _counting_segments(start, basis=basis, calendar=calendar, pauses=pause_list):
        if end is None or end - begin >= left:
            at = begin + left
            return Due(at=at, unconfirmed_years=_unconfirmed(basis, calendar, start, at))
        left -= end - begin
    # The segments ran out: an open pause stopped the clock.
    stopped = _stop_of(pause_list, start)
    return Due(
        at=None,
        unconfirmed_years=_unconfirmed(basis, calendar, start, stopped),
        remaining=left,
    )


def counting_time_between(
    start: datetime.datetime,
    end: datetime.datetime,
    *,
    basis: Basis | str = Basis.CALENDAR,
    calendar: Calendar | None = None,
    pauses: Iterable[Pause] = (),
) -> datetime.timedelta:
    """Counting time from `start` to `end`: what a target has used up by `end` (negative when
    `end` is before `start`). With `compute_due`, remaining = duration - counting time."""
    basis = Basis(basis)
    start, end = _aware(start, "start"), _aware(end, "end")
    if end < start:
        return -counting_time_between(end, start, basis=basis, calendar=calendar, pauses=pauses)
    total = ZERO
    for begin, finish in _counting_segments(start, basis=basis, calendar=calendar, pauses=pauses):
        if begin >= end:
            break
        total += min(end, finish or end) - begin
        if finish is None or finish >= end:
            break
    return total


def _first_pause_not_over(
    spans: list[tuple[datetime.datetime, datetime.datetime | None]],
    index: int,
    cursor: datetime.datetime,
) -> int:
    """The index of the first pause that has not ended by `cursor`."""
    while index < len(spans):
        end = spans[index][1]
        if end is None or end > cursor:
            break
        index += 1
    return index


def _stop_of(pauses: list[Pause], start: datetime.datetime) -> datetime.datetime:
    """Where the open pause (merged with any pause overlapping it) begins."""
    for begin, end in _merged_pauses(pauses, start):
        if end is None:
            return begin
    return start


def _unconfirmed(
    basis: Basis, calendar: Calendar | None, start: datetime.datetime, end: datetime.datetime
) -> frozenset[int]:
    if basis != Basis.BUSINESS or calendar is None:
        return frozenset()
    return calendar.unconfirmed_years_between(start, end)
