"""Business calendars: seeding from the sources, corrections by hand, the loaded calendar value
the clock computes on (cached per process), the daily check for newly published years, and the
alert when a due time needed a year that is not published yet.

Sources: `chinesecalendar` for China (the State Council's holidays and make-up working days,
known only for the years already published — 1.11.0 knows up to 2026) and `holidays` for other
markets (rule-based, so any year). A year the source does not know falls back to the weekly
pattern minus the calendar's fixed-date holidays; due times that reach into it are marked
unconfirmed and recomputed, by the apps that own them, when `calendar_year_confirmed` fires.

Apps subscribe to two signals (sent after commit):
- `calendar_year_confirmed(calendar_id, calendar_code, year, source)`: a year moved from the
  fallback to published data ("seeded" by the source or "manual" by an administrator);
- `calendar_changed(calendar_id, calendar_code, first_day, last_day)`: working time on those
  local dates may have changed (a correction); both None when the whole calendar changed
  (working hours, weekdays, time zone).
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core import clock
from medservice.core.calendar_models import (
    BusinessCalendar,
    CalendarDay,
    CalendarYear,
    parse_month_days,
    parse_weekdays,
)
from medservice.core.choices import (
    CalendarDayKind,
    CalendarDaySource,
    CalendarSource,
    CalendarYearStatus,
)
from medservice.core.context import audit_context
from medservice.core.errors import ConflictError, InvalidInputError
from medservice.core.notifications import notify
from medservice.core.services import record_create, record_delete, record_update

DEFAULT_CALENDAR_CODE = "CN"
# Rule-based sources (holidays) are seeded this many years ahead of the current one.
YEARS_AHEAD = 2
# Administrators are told this long before a year starts that it is still unpublished.
LOOKAHEAD = datetime.timedelta(days=45)
# Fields whose change moves working time on every date of the calendar.
ARITHMETIC_FIELDS = (
    "time_zone",
    "work_starts_at",
    "work_ends_at",
    "lunch_starts_at",
    "lunch_ends_at",
    "working_weekdays",
    "fallback_holidays",
)
SOURCE_FIELDS = ("source", "country", "subdivision")

calendar_year_confirmed = Signal()
calendar_changed = Signal()


# --- sources ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceDay:
    date: datetime.date
    kind: str
    name: str


def chinese_calendar_years() -> range:
    """The years the installed chinesecalendar knows (published by the State Council)."""
    import chinese_calendar

    known = chinese_calendar.holidays.keys()
    return range(min(known).year, max(known).year + 1)


def chinese_calendar_days(year: int) -> list[SourceDay] | None:
    """China's holidays and make-up working days of `year`; None if not published yet."""
    import chinese_calendar

    if year not in chinese_calendar_years():
        return None
    chinese_names = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}
    days = [
        SourceDay(day, CalendarDayKind.HOLIDAY, chinese_names.get(name, name))
        for day, name in chinese_calendar.holidays.items()
        if day.year == year
    ]
    days += [
        SourceDay(day, CalendarDayKind.WORKDAY, chinese_names.get(name, name))
        for day, name in chinese_calendar.workdays.items()
        if day.year == year
    ]
    return sorted(days, key=lambda item: item.date)


def holidays_country_problem(country: str, subdivision: str = "") -> str:
    """Why the holidays library cannot serve this country (and subdivision); "" when it can."""
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        return _("The holidays library does not know the country code %(code)s.") % {
            "code": country or "—"
        }
    if subdivision and subdivision not in supported[country]:
        return _("The holidays library does not know the subdivision %(code)s of %(country)s.") % {
            "code": subdivision,
            "country": country,
        }
    return ""


def holidays_days(country: str, subdivision: str, year: int) -> list[SourceDay]:
    import holidays

    calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    return [
        SourceDay(day, CalendarDayKind.HOLIDAY, str(name)[:100])
        for day, name in sorted(calendar.items())
        if day.year == year
    ]


def source_days(calendar: BusinessCalendar, year: int) -> list[SourceDay] | None:
    """The source's days of `year` for `calendar`; None when the source does not know it."""
    if calendar.source == CalendarSource.CHINESE_CALENDAR:
        return chinese_calendar_days(year)
    if calendar.source == CalendarSource.HOLIDAYS:
        return holidays_days(calendar.country, calendar.subdivision, year)
    return None


def source_years(calendar: BusinessCalendar, today: datetime.date) -> list[int]:
    """The years to hold from the source: every published year of chinesecalendar; for a
    rule-based source, last year to YEARS_AHEAD years ahead."""
    if calendar.source == CalendarSource.CHINESE_CALENDAR:
        return list(chinese_calendar_years())
    if calendar.source == CalendarSource.HOLIDAYS:
        return list(range(today.year - 1, today.year + YEARS_AHEAD + 1))
    return []


# --- seeding ------------------------------------------------------------------------------------


@dataclass
class SeedResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    kept_manual: int = 0
    confirmed_years: list[int] = field(default_factory=list)
    unknown_years: list[int] = field(default_factory=list)


def calendar_seed(
    *, calendar: BusinessCalendar, years: Iterable[int] | None = None, actor: Any = None
) -> SeedResult:
    """Bring the seeded days of `years` (default: what the source holds now) in line with the
    source, and mark those years confirmed. Idempotent; a day entered or changed by hand is
    never touched; years the source does not know are left alone and listed as unknown."""
    result = SeedResult()
    now = timezone.now()
    changed_dates: list[datetime.date] = []
    with (
        transaction.atomic(),
        audit_context(actor=actor, reason=_("Calendar refreshed from its source")),
    ):
        # One refresh at a time per calendar (the scheduler and an administrator may meet).
        calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        wanted = sorted(set(years)) if years is not None else source_years(calendar, now.date())
        statuses = dict(calendar.years.values_list("year", "status"))
        for year in wanted:
            entries = source_days(calendar, year)
            if entries is None:
                result.unknown_years.append(year)
                continue
            was_confirmed = statuses.get(year) in CalendarYear.CONFIRMED_STATUSES
            dates = _seed_year(calendar, year, entries, result)
            if was_confirmed:
                changed_dates += dates
            year_row, created = CalendarYear.objects.get_or_create(
                calendar=calendar,
                year=year,
                defaults={"status": CalendarYearStatus.CONFIRMED, "confirmed_at": now},
            )
            if not created and year_row.status != CalendarYearStatus.CONFIRMED:
                year_row.status = CalendarYearStatus.CONFIRMED
                year_row.confirmed_at = now
                year_row.save()
            if not was_confirmed:
                result.confirmed_years.append(year)
        calendar_touch(calendar.pk)
        _announce(calendar, dates=changed_dates)
        for year in result.confirmed_years:
            _announce_confirmed(calendar, year, source="seeded")
    return result


def _seed_year(
    calendar: BusinessCalendar, year: int, entries: list[SourceDay], result: SeedResult
) -> list[datetime.date]:
    """Apply one year's source days; returns the dates whose working time changed."""
    existing = {
        day.date: day
        for day in CalendarDay.objects.filter(
            calendar=calendar,
            date__gte=datetime.date(year, 1, 1),
            date__lte=datetime.date(year, 12, 31),
        )
    }
    changed: list[datetime.date] = []
    to_create = []
    for entry in entries:
        row = existing.pop(entry.date, None)
        if row is None:
            to_create.append(
                CalendarDay(
                    calendar=calendar,
                    date=entry.date,
                    kind=entry.kind,
                    name=entry.name,
                    source=CalendarDaySource.SEEDED,
                )
            )
            changed.append(entry.date)
        elif row.source == CalendarDaySource.MANUAL:
            result.kept_manual += 1
        elif row.kind != entry.kind or row.name != entry.name:
            if row.kind != entry.kind:
                changed.append(entry.date)
            row.kind, row.name = entry.kind, entry.name
            row.save()
            result.updated += 1
    for row in existing.values():
        if row.source == CalendarDaySource.SEEDED:
            # The source withdrew the day (a corrected schedule).
            row.delete()
            changed.append(row.date)
            result.deleted += 1
        else:
            result.kept_manual += 1
    if to_create:
        CalendarDay.objects.bulk_create(to_create)
        result.created += len(to_create)
    return changed


def calendar_default_ensure(*, actor: Any = None) -> BusinessCalendar:
    """The default calendar (China, Asia/Shanghai, 08:30-17:30 with a 12:00-13:00 lunch break,
    Monday to Friday), created and seeded when missing. The initial migration does the same."""
    calendar, created = BusinessCalendar.objects.get_or_create(
        code=DEFAULT_CALENDAR_CODE,
        defaults={"name": "中国大陆工作日历", "source": CalendarSource.CHINESE_CALENDAR},
    )
    if created or not calendar.years.exists():
        calendar_seed(calendar=calendar, actor=actor)
    return calendar


# --- changes by hand (the resources' services) ------------------------------------------------


def business_calendar_create(
    *, actor: Any, model: type[BusinessCalendar] = BusinessCalendar, data: dict[str, Any]
) -> BusinessCalendar:
    """A new calendar, seeded from its source straight away."""
    with transaction.atomic():
        calendar = record_create(actor=actor, model=BusinessCalendar, data=data)
        if calendar.source != CalendarSource.NONE:
            calendar_seed(calendar=calendar, actor=actor)
    return calendar


def business_calendar_update(
    *,
    actor: Any,
    instance: BusinessCalendar,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> BusinessCalendar:
    """Change a calendar; a change of working time is announced for every date, and a change of
    source replaces the seeded days with the new source's (days entered by hand stay)."""
    with transaction.atomic():
        lock_calendars([instance.pk])
        before = BusinessCalendar.objects.get(pk=instance.pk)
        calendar = record_update(
            actor=actor, instance=instance, data=data, expected_version=expected_version
        )
        if any(getattr(before, name) != getattr(calendar, name) for name in SOURCE_FIELDS):
            _forget_source(calendar, actor=actor)
            if calendar.source != CalendarSource.NONE:
                calendar_seed(calendar=calendar, actor=actor)
            _announce(calendar, everything=True)
        elif any(getattr(before, name) != getattr(calendar, name) for name in ARITHMETIC_FIELDS):
            _announce(calendar, everything=True)
    return calendar


def _forget_source(calendar: BusinessCalendar, *, actor: Any) -> None:
    # The caller holds the calendar's lock (lock_calendars), so a day or year edit of this
    # calendar waits for it instead of holding a row this loop needs (a deadlock otherwise).
    with audit_context(actor=actor, reason=_("The calendar's holiday source changed")):
        for day in CalendarDay.objects.filter(
            calendar=calendar, source=CalendarDaySource.SEEDED
        ).order_by("date"):
            day.delete()
        for year in CalendarYear.objects.filter(
            calendar=calendar, status=CalendarYearStatus.CONFIRMED
        ):
            year.status = CalendarYearStatus.FALLBACK
            year.confirmed_at = None
            year.save()


def calendar_day_create(
    *, actor: Any, model: type[CalendarDay] = CalendarDay, data: dict[str, Any]
) -> CalendarDay:
    """A day entered by hand: kept by every later refresh from the source."""
    with transaction.atomic():
        lock_calendars([_calendar_id(data.get("calendar"))])
        day = record_create(
            actor=actor,
            model=CalendarDay,
            data={**data, "source": CalendarDaySource.MANUAL},
        )
        _announce(day.calendar, dates=[day.date])
    return day


def calendar_day_update(
    *,
    actor: Any,
    instance: CalendarDay,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> CalendarDay:
    """Correct a day; it becomes the administrator's, so a refresh no longer overwrites it."""
    with transaction.atomic():
        lock_calendars([instance.calendar_id, _calendar_id(data.get("calendar"))])
        before = _still_there(CalendarDay, instance)
        day = record_update(
            actor=actor,
            instance=instance,
            data={**data, "source": CalendarDaySource.MANUAL},
            expected_version=expected_version,
        )
        if day.calendar_id != before.calendar_id:
            _announce(before.calendar, dates=[before.date])
            _announce(day.calendar, dates=[day.date])
        else:
            _announce(day.calendar, dates=[before.date, day.date])
    return day


def calendar_day_delete(*, actor: Any, instance: CalendarDay, reason: str = "") -> None:
    """Delete a day entered by hand (the source's day, if any, comes back at the next refresh).
    A seeded day is not deleted: it would come back; it is changed to an ordinary day."""
    if instance.source == CalendarDaySource.SEEDED:
        raise ConflictError(
            _(
                "%(day)s comes from the calendar's source and would come back at the next "
                "refresh. Edit it and choose “Ordinary day” instead."
            )
            % {"day": instance}
        )
    calendar, date = instance.calendar, instance.date
    with transaction.atomic():
        lock_calendars([instance.calendar_id])
        record_delete(actor=actor, instance=instance, reason=reason)
        _announce(calendar, dates=[date])


def calendar_year_create(
    *, actor: Any, model: type[CalendarYear] = CalendarYear, data: dict[str, Any]
) -> CalendarYear:
    """Record a year by hand: "manual" confirms it (its days have been entered)."""
    _refuse_source_status(data.get("status"))
    confirmed = data.get("status") in CalendarYear.CONFIRMED_STATUSES
    with transaction.atomic():
        lock_calendars([_calendar_id(data.get("calendar"))])
        year = record_create(
            actor=actor,
            model=CalendarYear,
            data={**data, "confirmed_at": timezone.now() if confirmed else None},
        )
        if confirmed:
            _announce_confirmed(year.calendar, year.year, source="manual")
    return year


def calendar_year_update(
    *,
    actor: Any,
    instance: CalendarYear,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> CalendarYear:
    """Confirm a year by hand (status "manual"), or put it back on the fallback rules."""
    before = _still_there(CalendarYear, instance)
    for name in ("calendar", "year"):
        if name in data and data[name] != getattr(before, name):
            raise InvalidInputError(
                _("A calendar year cannot be moved; record the other year instead."),
                fields={name: [_("This cannot be changed.")]},
            )
    status = data.get("status", before.status)
    if status != before.status:
        _refuse_source_status(status)
    confirming = status in CalendarYear.CONFIRMED_STATUSES and not before.is_confirmed
    withdrawing = before.is_confirmed and status not in CalendarYear.CONFIRMED_STATUSES
    changes = dict(data)
    if confirming:
        changes["confirmed_at"] = timezone.now()
    elif withdrawing:
        changes["confirmed_at"] = None
    with transaction.atomic():
        lock_calendars([instance.calendar_id])
        year = record_update(
            actor=actor, instance=instance, data=changes, expected_version=expected_version
        )
        if confirming:
            _announce_confirmed(year.calendar, year.year, source="manual")
        elif withdrawing:
            _announce(
                year.calendar,
                dates=[datetime.date(year.year, 1, 1), datetime.date(year.year, 12, 31)],
            )
    return year


def lock_calendars(calendar_ids: Iterable[int | None]) -> None:
    """Lock calendar rows (in id order) before any of their days or years.

    Every write of a calendar, its days or its years takes its calendar's lock first: a source
    change deletes days and reopens years while holding the calendar, and a day or year edit
    that locked its own row first and the calendar second deadlocked with it (a 500 that
    schemathesis found with two workers). One order everywhere: calendar, then days/years."""
    ids = sorted({calendar_id for calendar_id in calendar_ids if calendar_id is not None})
    if ids:
        list(BusinessCalendar.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def _still_there(model: type[models.Model], instance: models.Model) -> Any:
    """The record as stored now; a 404 when a concurrent change (a source change deletes the
    seeded days) removed it after the view read it, instead of DoesNotExist as a 500."""
    current = model._base_manager.filter(pk=instance.pk).first()
    if current is None:
        raise Http404(_("%(record)s no longer exists.") % {"record": instance})
    return current


def _calendar_id(value: Any) -> int | None:
    """The id of a calendar given as an instance or an id (serializer data holds instances)."""
    if value is None or isinstance(value, int):
        return value
    return getattr(value, "pk", None)


def _refuse_source_status(status: str | None) -> None:
    if status == CalendarYearStatus.CONFIRMED:
        raise InvalidInputError(
            _(
                "Only the source confirms a year. Enter the year's days, then choose "
                "“Entered and confirmed by an administrator”."
            ),
            fields={"status": [_("Choose “Entered and confirmed by an administrator”.")]},
        )


# --- announcements ------------------------------------------------------------------------------


def _announce(
    calendar: BusinessCalendar,
    *,
    dates: Iterable[datetime.date] = (),
    everything: bool = False,
) -> None:
    """Tell the apps, after commit, that working time changed on these dates (or on all)."""
    dates = sorted(set(dates))
    if not everything and not dates:
        return
    first, last = (None, None) if everything else (dates[0], dates[-1])
    calendar_id, code = calendar.pk, calendar.code
    transaction.on_commit(
        lambda: calendar_changed.send(
            sender=BusinessCalendar,
            calendar_id=calendar_id,
            calendar_code=code,
            first_day=first,
            last_day=last,
        )
    )


def _announce_confirmed(calendar: BusinessCalendar, year: int, *, source: str) -> None:
    calendar_id, code = calendar.pk, calendar.code
    transaction.on_commit(
        lambda: calendar_year_confirmed.send(
            sender=BusinessCalendar,
            calendar_id=calendar_id,
            calendar_code=code,
            year=year,
            source=source,
        )
    )


# --- the loaded calendar ------------------------------------------------------------------------

_cache: dict[int, tuple[str, clock.Calendar]] = {}
_cache_lock = threading.Lock()


def calendar_value(
    calendar: BusinessCalendar,
    *,
    days: Iterable[tuple[datetime.date, str]],
    confirmed_years: Iterable[int],
) -> clock.Calendar:
    """The clock's immutable calendar from the stored one (no database access)."""
    return clock.Calendar(
        code=calendar.code,
        time_zone=calendar.time_zone,
        working_periods=calendar.working_periods,
        working_weekdays=parse_weekdays(calendar.working_weekdays),
        days={date: clock.DayKind(kind) for date, kind in days},
        confirmed_years=frozenset(confirmed_years),
        fallback_holidays=parse_month_days(calendar.fallback_holidays),
        all_years_confirmed=calendar.source == CalendarSource.NONE,
    )


def calendar_load(calendar: str | int | BusinessCalendar) -> clock.Calendar:
    """The calendar (by code, id or record) as the clock's value, from the process cache while
    nothing in it has changed: one small query per call, three after a change."""
    if isinstance(calendar, BusinessCalendar):
        lookup: dict[str, Any] = {"pk": calendar.pk}
    elif isinstance(calendar, int):
        lookup = {"pk": calendar}
    else:
        lookup = {"code": calendar}
    row = BusinessCalendar.objects.get(**lookup)
    cached = _cache.get(row.pk)
    if cached is not None and cached[0] == row.data_stamp:
        return cached[1]
    value = calendar_value(
        row,
        days=CalendarDay.objects.filter(calendar=row).values_list("date", "kind"),
        confirmed_years=CalendarYear.objects.filter(
            calendar=row, status__in=CalendarYear.CONFIRMED_STATUSES
        ).values_list("year", flat=True),
    )
    with _cache_lock:
        _cache[row.pk] = (row.data_stamp, value)
    return value


def calendar_touch(calendar_id: int | None) -> None:
    """Give the calendar a new data stamp: every process reloads it at its next use."""
    if calendar_id is None:
        return
    BusinessCalendar._base_manager.filter(pk=calendar_id).update(data_stamp=uuid.uuid4().hex)
    with _cache_lock:
        _cache.pop(calendar_id, None)


def calendar_cache_clear() -> None:
    with _cache_lock:
        _cache.clear()


@receiver(post_save, sender=BusinessCalendar, dispatch_uid="calendar-touch-calendar")
@receiver(post_delete, sender=BusinessCalendar, dispatch_uid="calendar-touch-calendar-del")
def _calendar_saved(sender: type, instance: BusinessCalendar, **kwargs: Any) -> None:
    calendar_touch(instance.pk)


@receiver(post_save, sender=CalendarDay, dispatch_uid="calendar-touch-day")
@receiver(post_delete, sender=CalendarDay, dispatch_uid="calendar-touch-day-del")
@receiver(post_save, sender=CalendarYear, dispatch_uid="calendar-touch-year")
@receiver(post_delete, sender=CalendarYear, dispatch_uid="calendar-touch-year-del")
def _calendar_part_saved(sender: type, instance: models.Model, **kwargs: Any) -> None:
    calendar_touch(instance.calendar_id)  # type: ignore[attr-defined]


# --- unpublished years --------------------------------------------------------------------------


def calendar_administrators() -> list[Any]:
    """Who may change calendars (administrators): they hear about unpublished years."""
    permission = Permission.objects.filter(
        content_type__app_label="core", codename="change_businesscalendar"
    ).first()
    condition = Q(is_superuser=True)
    if permission is not None:
        condition |= Q(groups__permissions=permission) | Q(user_permissions=permission)
    return list(
        get_user_model().objects.filter(condition, is_active=True).distinct().order_by("pk")
    )


def calendar_fallback_alert(
    *, calendar: clock.Calendar | BusinessCalendar | str, years: Iterable[int]
) -> list[int]:
    """Tell the administrators, once per calendar and year, that due times were computed on the
    fallback rules because the year's holidays are not published. Apps call this with a
    `Due`'s `unconfirmed_years`. Returns the years alerted now; a year nobody could be told of
    stays due for the first administrator."""
    code = calendar if isinstance(calendar, str) else calendar.code
    row = BusinessCalendar.objects.get(code=code)
    wanted = sorted(set(years))
    if not wanted:
        return []
    recipients = calendar_administrators()
    alerted = []
    for year in wanted:
        year_row, _created = CalendarYear.objects.get_or_create(
            calendar=row, year=year, defaults={"status": CalendarYearStatus.FALLBACK}
        )
        if year_row.is_confirmed or year_row.alerted_at is not None or not recipients:
            continue
        with transaction.atomic():
            # The conditional update claims the alert: a second caller finds nothing to claim.
            claimed = CalendarYear._base_manager.filter(
                pk=year_row.pk, alerted_at__isnull=True
            ).update(alerted_at=timezone.now())
            if not claimed:
                continue
            notify(
                recipients=recipients,
                template="core_calendar_unconfirmed",
                context={
                    "calendar": row,
                    "year": year,
                    "fallback_holidays": row.fallback_holidays.replace(",", ", "),
                },
                link=_calendar_link(row),
            )
        alerted.append(year)
    return alerted


def _calendar_link(calendar: BusinessCalendar) -> str:
    try:
        return reverse("core:business-calendars-detail", kwargs={"pk": calendar.pk})
    except NoReverseMatch:  # pragma: no cover - URLs not loaded (a bare script)
        return ""


@dataclass
class RefreshReport:
    seeded: dict[str, SeedResult] = field(default_factory=dict)
    alerted: dict[str, list[int]] = field(default_factory=dict)


def calendar_years_refresh(*, today: datetime.date | None = None) -> RefreshReport:
    """The daily check: seed every year a source now knows that is not confirmed from it yet
    (a library upgrade that brings next year's schedule, a year that was on the fallback), and
    alert the administrators when a year starting within LOOKAHEAD is still unpublished."""
    today = today or timezone.localdate()
    report = RefreshReport()
    for calendar in BusinessCalendar.objects.exclude(source=CalendarSource.NONE).order_by("pk"):
        statuses = dict(calendar.years.values_list("year", "status"))
        wanted = set(source_years(calendar, today))
        if calendar.source == CalendarSource.HOLIDAYS:
            # Rule-based: any year is known, including those a due time already needed.
            wanted |= {
                year for year, status in statuses.items() if status == CalendarYearStatus.FALLBACK
            }
        pending = sorted(
            year for year in wanted if statuses.get(year) != CalendarYearStatus.CONFIRMED
        )
        if pending:
            report.seeded[calendar.code] = calendar_seed(calendar=calendar, years=pending)
        coming = (today + LOOKAHEAD).year
        if not calendar_load(calendar).is_confirmed(coming):
            alerted = calendar_fallback_alert(calendar=calendar, years=[coming])
            if alerted:
                report.alerted[calendar.code] = alerted
    return report


def calendar_unconfirmed_used(calendar_code: str, years: Iterable[int]) -> list[int]:
    """For apps: a due time on `calendar_code` needed these unpublished years (a `Due`'s
    `unconfirmed_years`). Alerts the administrators once per calendar and year."""
    return calendar_fallback_alert(calendar=calendar_code, years=years)
