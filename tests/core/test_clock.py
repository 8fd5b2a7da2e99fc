"""The clock's arithmetic, read like the procedures' promises: 24/48/72 calendar hours, business
hours on China's calendar (weekends, the 2026 National Day golden week, make-up working days),
a year not yet published (fallback, unconfirmed), pauses, and a daylight-saving zone.

No database: the calendar value is built from chinesecalendar the way `calendar_load` does.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from medservice.core.calendar_models import CN_FALLBACK_HOLIDAYS, parse_month_days
from medservice.core.calendars import chinese_calendar_days
from medservice.core.clock import (
    Basis,
    Calendar,
    ClockError,
    DayKind,
    Pause,
    add_business_hours,
    add_calendar_days,
    add_calendar_hours,
    add_working_days,
    business_hours_between,
    compute_due,
    counting_time_between,
    working_days_between,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
UTC = datetime.UTC
H = datetime.timedelta(hours=1)


def cn_calendar(years: range = range(2025, 2027)) -> Calendar:
    """China 08:30-12:00 and 13:00-17:30, Monday to Friday, with 2025-2026 from the library."""
    days: dict[datetime.date, DayKind] = {}
    for year in years:
        for entry in chinese_calendar_days(year) or []:
            days[entry.date] = DayKind(entry.kind)
    return Calendar(
        code="CN",
        time_zone="Asia/Shanghai",
        days=days,
        confirmed_years=frozenset(years),
        fallback_holidays=parse_month_days(CN_FALLBACK_HOLIDAYS),
    )


CN = cn_calendar()


def sh(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


# --- calendar hours -----------------------------------------------------------------------------


def test_72_calendar_hours_from_a_friday_morning_end_on_monday_morning():
    # Given a request received on Friday 6 March 2026 at 10:00 in Shanghai (no DST there)
    received = sh(2026, 3, 6, 10, 0)

    # When the resolution target of 72 calendar hours is computed
    due = add_calendar_hours(received, 72)

    # Then it falls due on Monday at 10:00 local, stored in UTC
    assert due == datetime.datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
    assert due.astimezone(SHANGHAI) == sh(2026, 3, 9, 10, 0)


def test_calendar_hours_are_elapsed_hours_across_a_daylight_saving_change():
    # Given Saturday 7 March 2026 at noon in New York; clocks go forward that night
    start = datetime.datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK)

    # Then 24 calendar hours end at 13:00 on Sunday's wall clock, one calendar day at 12:00
    assert add_calendar_hours(start, 24).astimezone(NEW_YORK) == datetime.datetime(
        2026, 3, 8, 13, 0, tzinfo=NEW_YORK
    )
    one_day = add_calendar_days(start, 1, "America/New_York")
    assert one_day.astimezone(NEW_YORK) == datetime.datetime(2026, 3, 8, 12, 0, tzinfo=NEW_YORK)
    assert one_day - start == 23 * H


def test_naive_times_and_negative_durations_are_refused():
    with pytest.raises(ClockError, match="timezone-aware"):
        add_calendar_hours(datetime.datetime(2026, 3, 6, 10, 0), 1)
    with pytest.raises(ClockError, match="negative"):
        add_business_hours(sh(2026, 3, 6, 10, 0), -1, CN)


# --- business hours -----------------------------------------------------------------------------


def test_business_hours_skip_the_weekend():
    # Given a Friday 16:00 start and a working day ending at 17:30
    start = sh(2026, 3, 6, 16, 0)

    # When 3 business hours are added
    due = add_business_hours(start, 3, CN)

    # Then 1.5 h count on Friday and 1.5 h on Monday morning
    assert due == sh(2026, 3, 9, 10, 0)
    assert business_hours_between(start, due, CN) == 3 * H
    # and a 24-business-hour target (three working days) ends on Wednesday at 16:00
    assert add_business_hours(start, 24, CN) == sh(2026, 3, 11, 16, 0)


def test_the_lunch_break_does_not_count():
    assert add_business_hours(sh(2026, 3, 9, 11, 0), 2, CN) == sh(2026, 3, 9, 14, 0)
    assert business_hours_between(sh(2026, 3, 9, 8, 30), sh(2026, 3, 9, 17, 30), CN) == 8 * H


def test_a_due_time_is_the_end_of_a_period_not_the_start_of_the_next():
    assert add_business_hours(sh(2026, 3, 9, 8, 30), 3.5, CN) == sh(2026, 3, 9, 12, 0)
    assert add_business_hours(sh(2026, 3, 9, 8, 30), 8, CN) == sh(2026, 3, 9, 17, 30)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (sh(2026, 3, 9, 7, 0), sh(2026, 3, 9, 9, 30)),  # before work: counts from 08:30
        (sh(2026, 3, 9, 12, 30), sh(2026, 3, 9, 14, 0)),  # at lunch: counts from 13:00
        (sh(2026, 3, 9, 20, 0), sh(2026, 3, 10, 9, 30)),  # evening: next morning
        (sh(2026, 3, 7, 10, 0), sh(2026, 3, 9, 9, 30)),  # Saturday: Monday morning
    ],
)
def test_a_start_outside_working_hours_counts_from_the_next_working_moment(start, due):
    assert add_business_hours(start, 1, CN) == due


def test_adding_nothing_keeps_the_start_even_outside_working_hours():
    saturday = sh(2026, 3, 7, 10, 0)
    assert add_business_hours(saturday, 0, CN) == saturday


def test_the_2026_national_day_golden_week_does_not_count():
    # Given the library's 2026 schedule: 1-7 October off, Saturday 10 October worked
    assert all(not CN.is_working_day(datetime.date(2026, 10, day)) for day in range(1, 8))
    assert CN.is_working_day(datetime.date(2026, 10, 10))

    # When 8 business hours start on Wednesday 30 September at 16:00
    due = add_business_hours(sh(2026, 9, 30, 16, 0), 8, CN)

    # Then 1.5 h count on 30 September and the other 6.5 h on Thursday 8 October
    assert due == sh(2026, 10, 8, 16, 0)
    assert business_hours_between(sh(2026, 9, 30, 8, 30), sh(2026, 10, 9, 8, 30), CN) == 16 * H
    assert add_working_days(datetime.date(2026, 9, 30), 1, CN) == datetime.date(2026, 10, 8)
    assert working_days_between(datetime.date(2026, 9, 30), datetime.date(2026, 10, 9), CN) == 2


def test_a_make_up_saturday_counts_as_a_working_day():
    # Given Friday 9 October 2026 at 16:00; Saturday 10 October is a make-up working day
    due = add_business_hours(sh(2026, 10, 9, 16, 0), 3, CN)

    # Then the target runs on into Saturday morning
    assert due == sh(2026, 10, 10, 10, 0)
    assert add_working_days(datetime.date(2026, 10, 9), 1, CN) == datetime.date(2026, 10, 10)


def test_a_make_up_sunday_counts_as_a_working_day():
    # Sunday 20 September 2026 is worked (for the Mid-Autumn and National Day holidays)
    assert add_business_hours(sh(2026, 9, 19, 10, 0), 2, CN) == sh(2026, 9, 20, 10, 30)


def test_working_days_count_back_and_forth():
    friday = datetime.date(2026, 3, 6)
    assert add_working_days(friday, 5, CN) == datetime.date(2026, 3, 13)
    # Back five: 5, 4, 3, 2 March, then Saturday 28 February (worked after Spring Festival)
    assert add_working_days(friday, -5, CN) == datetime.date(2026, 2, 28)
    assert add_working_days(friday, 0, CN) == friday


# --- a year not yet published -------------------------------------------------------------------


def test_an_unpublished_year_uses_the_fallback_and_is_marked_unconfirmed():
    # Given 2031, which no library knows: 1-2 May are fixed-date holidays of the fallback
    assert not CN.is_confirmed(2031)

    # When 8 business hours start on Wednesday 30 April 2031 at 16:00
    due = compute_due(sh(2031, 4, 30, 16, 0), 8, basis=Basis.BUSINESS, calendar=CN)

    # Then Thursday 1 and Friday 2 May and the weekend are skipped, and the result says so
    assert due.at == sh(2031, 5, 5, 16, 0)
    assert due.unconfirmed_years == frozenset({2031})
    assert not due.confirmed


def test_a_target_reaching_into_next_year_is_unconfirmed_only_for_that_year():
    # 31 December 2026 (Thursday, known) into 2027 (not published by chinesecalendar 1.11)
    due = compute_due(sh(2026, 12, 31, 16, 0), 8, basis=Basis.BUSINESS, calendar=CN)

    # New Year's Day is a fixed-date holiday; then the weekend; Monday 4 January
    assert due.at == sh(2027, 1, 4, 16, 0)
    assert due.unconfirmed_years == frozenset({2027})


def test_a_target_within_a_published_year_is_confirmed():
    due = compute_due(sh(2026, 3, 6, 16, 0), 3, basis=Basis.BUSINESS, calendar=CN)
    assert due.confirmed
    calendar_due = compute_due(sh(2031, 4, 30, 16, 0), 8, basis=Basis.CALENDAR)
    assert calendar_due.confirmed  # calendar hours need no calendar


def test_an_entered_day_wins_over_the_fallback():
    calendar = Calendar(
        code="CN",
        days={datetime.date(2031, 5, 2): DayKind.WORKDAY},
        fallback_holidays=parse_month_days(CN_FALLBACK_HOLIDAYS),
    )
    assert not calendar.is_working_day(datetime.date(2031, 5, 1))
    assert calendar.is_working_day(datetime.date(2031, 5, 2))


# --- pauses -------------------------------------------------------------------------------------

START = sh(2026, 3, 9, 9, 0)  # Monday


def test_without_a_pause_8_business_hours_end_next_morning():
    assert compute_due(START, 8, basis="business", calendar=CN).at == sh(2026, 3, 10, 9, 0)


def test_a_pause_in_working_time_moves_the_due_time_by_its_length():
    # Given the customer was waited for from 10:00 to 11:30 on Monday
    pauses = [Pause(sh(2026, 3, 9, 10, 0), sh(2026, 3, 9, 11, 30))]

    due = compute_due(START, 8, basis="business", calendar=CN, pauses=pauses)

    # Then the due time is 1.5 business hours later
    assert due.at == sh(2026, 3, 10, 10, 30)
    assert business_hours_between(START, due.at, CN) == 9.5 * H


def test_a_pause_over_lunch_moves_the_due_time_by_the_working_time_it_covers():
    pauses = [Pause(sh(2026, 3, 9, 11, 0), sh(2026, 3, 9, 14, 0))]
    due = compute_due(START, 8, basis="business", calendar=CN, pauses=pauses)
    assert due.at == sh(2026, 3, 10, 11, 0)  # 11-12 and 13-14: two hours


def test_a_pause_outside_working_time_moves_nothing():
    pauses = [Pause(sh(2026, 3, 9, 18, 0), sh(2026, 3, 10, 8, 0))]
    due = compute_due(START, 8, basis="business", calendar=CN, pauses=pauses)
    assert due.at == sh(2026, 3, 10, 9, 0)


def test_a_pause_after_the_due_time_moves_nothing():
    pauses = [Pause(sh(2026, 3, 10, 9, 30), sh(2026, 3, 10, 12, 0))]
    assert compute_due(START, 8, basis="business", calendar=CN, pauses=pauses).at == sh(
        2026, 3, 10, 9, 0
    )


def test_an_open_pause_stops_the_clock_and_says_what_is_left():
    due = compute_due(
        START, 8, basis="business", calendar=CN, pauses=[Pause(sh(2026, 3, 9, 10, 0))]
    )
    assert due.paused
    assert due.at is None
    assert due.remaining == 7 * H


def test_a_resumed_pause_counts_again_from_the_resume():
    # Paused Monday 10:00, resumed Wednesday 9:00: 1 h used, 7 h left from Wednesday 09:00
    pauses = [Pause(sh(2026, 3, 9, 10, 0), sh(2026, 3, 11, 9, 0))]
    due = compute_due(START, 8, basis="business", calendar=CN, pauses=pauses)
    assert due.at == sh(2026, 3, 11, 17, 0)
    used = counting_time_between(
        START, sh(2026, 3, 11, 9, 0), basis="business", calendar=CN, pauses=pauses
    )
    assert used == H


def test_a_calendar_target_pauses_by_the_full_elapsed_time():
    # 24 calendar hours with a 2-hour pause end 26 hours after the start
    pauses = [Pause(sh(2026, 3, 9, 10, 0), sh(2026, 3, 9, 12, 0))]
    assert compute_due(START, 24, pauses=pauses).at == sh(2026, 3, 10, 11, 0)


def test_overlapping_pauses_count_once():
    pauses = [
        Pause(sh(2026, 3, 9, 10, 0), sh(2026, 3, 9, 11, 0)),
        Pause(sh(2026, 3, 9, 10, 30), sh(2026, 3, 9, 11, 30)),
    ]
    due = compute_due(START, 8, basis="business", calendar=CN, pauses=pauses)
    assert due.at == sh(2026, 3, 10, 10, 30)


# --- a zone with daylight saving ----------------------------------------------------------------


def test_business_hours_on_a_new_york_calendar_cross_the_spring_change():
    new_york = Calendar(
        code="US-NY",
        time_zone="America/New_York",
        working_periods=((datetime.time(9), datetime.time(17)),),
    )
    # Friday 6 March 2026 16:00 EST; clocks go forward on Sunday 8 March
    due = add_business_hours(datetime.datetime(2026, 3, 6, 16, 0, tzinfo=NEW_YORK), 2, new_york)
    assert due == datetime.datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)
    assert due == datetime.datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    # Every working day still has 8 hours, on both sides of the change
    assert (
        business_hours_between(
            datetime.datetime(2026, 3, 6, 0, 0, tzinfo=NEW_YORK),
            datetime.datetime(2026, 3, 10, 0, 0, tzinfo=NEW_YORK),
            new_york,
        )
        == 16 * H
    )


def test_a_calendar_without_working_time_is_refused():
    never = Calendar(code="X", working_weekdays=frozenset())
    with pytest.raises(ClockError, match="no working time"):
        add_business_hours(sh(2026, 3, 9, 9, 0), 1, never)


# --- invariants ---------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime.datetime(2025, 1, 1),
    max_value=datetime.datetime(2027, 6, 30),
    timezones=st.just(SHANGHAI),
).map(lambda moment: moment.replace(second=0, microsecond=0))
durations = st.integers(min_value=0, max_value=120 * 60).map(
    lambda minutes: datetime.timedelta(minutes=minutes)
)


@settings(max_examples=200, deadline=None)
@given(start=starts, hours=durations)
def test_a_due_time_is_never_before_its_start_nor_before_the_calendar_due(start, hours):
    due = add_business_hours(start, hours, CN)
    assert due >= start
    assert due >= add_calendar_hours(start, hours)


@settings(max_examples=200, deadline=None)
@given(start=starts, first=durations, second=durations)
def test_more_hours_never_fall_due_earlier(start, first, second):
    shorter, longer = sorted((first, second))
    assert add_business_hours(start, shorter, CN) <= add_business_hours(start, longer, CN)


@settings(max_examples=200, deadline=None)
@given(start=starts, hours=durations)
def test_adding_then_measuring_gives_the_hours_back(start, hours):
    assert business_hours_between(start, add_business_hours(start, hours, CN), CN) == hours


@settings(max_examples=200, deadline=None)
@given(start=starts, first=durations, second=durations)
def test_splitting_a_target_in_two_gives_the_same_due_time(start, first, second):
    in_two = add_business_hours(add_business_hours(start, first, CN), second, CN)
    assert in_two == add_business_hours(start, first + second, CN)


@settings(max_examples=200, deadline=None)
@given(
    start=starts,
    hours=durations,
    pause_offset=st.integers(min_value=-48 * 60, max_value=14 * 24 * 60),
    pause_length=st.integers(min_value=1, max_value=72 * 60),
)
def test_a_pause_moves_the_due_time_by_exactly_the_working_time_it_covers(
    start, hours, pause_offset, pause_length
):
    pause_start = start + datetime.timedelta(minutes=pause_offset)
    pause_end = pause_start + datetime.timedelta(minutes=pause_length)
    assume(hours > datetime.timedelta(0))

    due = compute_due(
        start, hours, basis="business", calendar=CN, pauses=[Pause(pause_start, pause_end)]
    ).at

    begin, end = max(start, pause_start), min(pause_end, due)
    covered = business_hours_between(begin, end, CN) if end > begin else datetime.timedelta(0)
    assert business_hours_between(start, due, CN) == hours + covered
    assert due >= add_business_hours(start, hours, CN)
