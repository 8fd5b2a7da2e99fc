"""The default business calendar "CN" (mainland China, Asia/Shanghai, 08:30-17:30 with a lunch
break 12:00-13:00, Monday to Friday), seeded with every year the installed chinesecalendar
knows. Later years are seeded by the daily job `core.calendar-years` (core/calendars.py) once
the library knows them; this migration stays self-contained so it runs the same forever."""

import datetime
import uuid

from django.db import migrations
from django.utils import timezone


def create_default_calendar(apps, schema_editor):
    import chinese_calendar

    alias = schema_editor.connection.alias
    BusinessCalendar = apps.get_model("core", "BusinessCalendar")
    CalendarDay = apps.get_model("core", "CalendarDay")
    CalendarYear = apps.get_model("core", "CalendarYear")
    calendar, created = BusinessCalendar.objects.using(alias).get_or_create(
        code="CN",
        defaults={
            "name": "中国大陆工作日历",
            "time_zone": "Asia/Shanghai",
            "source": "chinesecalendar",
            "country": "CN",
            "work_starts_at": datetime.time(8, 30),
            "work_ends_at": datetime.time(17, 30),
            "lunch_starts_at": datetime.time(12, 0),
            "lunch_ends_at": datetime.time(13, 0),
            "working_weekdays": "12345",
            "fallback_holidays": "01-01,05-01,05-02,10-01,10-02,10-03",
            "data_stamp": uuid.uuid4().hex,
        },
    )
    if not created:
        return
    chinese = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}
    rows = [
        CalendarDay(
            calendar=calendar,
            date=day,
            kind="holiday",
            name=chinese.get(name, name),
            source="seeded",
        )
        for day, name in chinese_calendar.holidays.items()
    ] + [
        CalendarDay(
            calendar=calendar,
            date=day,
            kind="workday",
            name=chinese.get(name, name),
            source="seeded",
        )
        for day, name in chinese_calendar.workdays.items()
    ]
    CalendarDay.objects.using(alias).bulk_create(sorted(rows, key=lambda row: row.date))
    first = min(chinese_calendar.holidays).year
    last = max(chinese_calendar.holidays).year
    now = timezone.now()
    CalendarYear.objects.using(alias).bulk_create(
        CalendarYear(calendar=calendar, year=year, status="confirmed", confirmed_at=now)
        for year in range(first, last + 1)
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0005_business_calendars")]
    operations = [migrations.RunPython(create_default_calendar, migrations.RunPython.noop)]
