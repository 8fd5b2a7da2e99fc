"""Business calendars as stored data: the default "CN" calendar, seeding from chinesecalendar
(idempotent, hand corrections kept), the cached calendar value, the alert when a due time needs
an unpublished year, the daily job that takes over a newly published year, and who may change
calendars in the browser and through the API."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from medservice.accounts.choices import Role
from medservice.core import calendars
from medservice.core.calendars import (
    SourceDay,
    business_calendar_create,
    calendar_changed,
    calendar_day_create,
    calendar_day_update,
    calendar_default_ensure,
    calendar_fallback_alert,
    calendar_load,
    calendar_seed,
    calendar_unconfirmed_used,
    calendar_year_confirmed,
    calendar_year_create,
    calendar_years_refresh,
)
from medservice.core.choices import (
    CalendarDayKind,
    CalendarDaySource,
    CalendarSource,
    CalendarYearStatus,
)
from medservice.core.clock import Basis, add_business_hours, compute_due
from medservice.core.errors import InvalidInputError
from medservice.core.models import (
    AuditEvent,
    BusinessCalendar,
    CalendarDay,
    Notification,
)
from medservice.core.scheduler import JOBS
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def calendar_2026(db) -> BusinessCalendar:
    """A China calendar seeded with 2026 only (quicker than every year since 2004)."""
    calendar = BusinessCalendar.objects.create(code="CN-T", name="测试日历")
    calendar_seed(calendar=calendar, years=[2026])
    return calendar


@pytest.fixture
def announcements():
    """The signals the calendar sends to the apps, as they arrive after commit."""
    heard: list[tuple[str, dict]] = []

    def year_confirmed(sender, **kwargs):
        heard.append(("year_confirmed", kwargs))

    def changed(sender, **kwargs):
        heard.append(("changed", kwargs))

    calendar_year_confirmed.connect(year_confirmed, dispatch_uid="test-year-confirmed")
    calendar_changed.connect(changed, dispatch_uid="test-changed")
    yield heard
    calendar_year_confirmed.disconnect(dispatch_uid="test-year-confirmed")
    calendar_changed.disconnect(dispatch_uid="test-changed")


# --- the default calendar and seeding -----------------------------------------------------------


def test_the_default_calendar_holds_every_year_the_library_knows():
    calendar = calendar_default_ensure()

    assert calendar.code == "CN"
    assert calendar.time_zone == "Asia/Shanghai"
    assert (calendar.work_starts_at, calendar.work_ends_at) == (
        datetime.time(8, 30),
        datetime.time(17, 30),
    )
    confirmed = set(
        calendar.years.filter(status=CalendarYearStatus.CONFIRMED).values_list("year", flat=True)
    )
    assert confirmed >= set(range(2004, 2027))
    national_day = CalendarDay.objects.get(calendar=calendar, date=datetime.date(2026, 10, 1))
    assert (national_day.kind, national_day.name, national_day.source) == (
        CalendarDayKind.HOLIDAY,
        "国庆节",
        CalendarDaySource.SEEDED,
    )
    make_up = CalendarDay.objects.get(calendar=calendar, date=datetime.date(2026, 10, 10))
    assert make_up.kind == CalendarDayKind.WORKDAY


def test_seeding_2026_stores_the_golden_week_and_its_make_up_days(calendar_2026):
    days = dict(
        CalendarDay.objects.filter(
            calendar=calendar_2026,
            date__range=(datetime.date(2026, 9, 19), datetime.date(2026, 10, 11)),
        ).values_list("date", "kind")
    )
    assert days == {
        datetime.date(2026, 9, 20): "workday",
        datetime.date(2026, 9, 25): "holiday",
        datetime.date(2026, 9, 26): "holiday",
        datetime.date(2026, 9, 27): "holiday",
        **{datetime.date(2026, 10, day): "holiday" for day in range(1, 8)},
        datetime.date(2026, 10, 10): "workday",
    }
    assert calendar_2026.years.get().status == CalendarYearStatus.CONFIRMED


def test_seeding_twice_changes_nothing(calendar_2026):
    rows = CalendarDay.objects.filter(calendar=calendar_2026).count()
    events = AuditEvent.objects.count()

    result = calendar_seed(calendar=calendar_2026, years=[2026])

    assert (result.created, result.updated, result.deleted, result.confirmed_years) == (0, 0, 0, [])
    assert CalendarDay.objects.filter(calendar=calendar_2026).count() == rows
    assert AuditEvent.objects.count() == events


def test_a_corrected_day_is_kept_by_the_next_refresh(calendar_2026, company):
    # Given an administrator works on Saturday 10 October no more (an ordinary day instead)
    administrator = user_with_role(Role.ADMINISTRATOR, company)
    day = CalendarDay.objects.get(calendar=calendar_2026, date=datetime.date(2026, 10, 10))
    calendar_day_update(
        actor=administrator,
        instance=day,
        data={"kind": CalendarDayKind.NORMAL, "name": "公司不调休"},
    )

    # When the calendar is refreshed from the library again
    result = calendar_seed(calendar=calendar_2026, years=[2026])

    # Then the hand correction stays, and the clock sees it
    day.refresh_from_db()
    assert (day.kind, day.source) == (CalendarDayKind.NORMAL, CalendarDaySource.MANUAL)
    assert result.kept_manual == 1
    assert not calendar_load(calendar_2026).is_working_day(datetime.date(2026, 10, 10))
    event = AuditEvent.objects.filter(object_type="core.calendarday", object_id=str(day.pk)).first()
    assert event.actor == administrator
    assert event.changes["kind"] == ["workday", "normal"]


def test_a_day_the_source_withdraws_is_removed_but_a_hand_entered_one_stays(
    calendar_2026, company, monkeypatch
):
    administrator = user_with_role(Role.ADMINISTRATOR, company)
    calendar_day_create(
        actor=administrator,
        data={
            "calendar": calendar_2026,
            "date": datetime.date(2026, 12, 31),
            "kind": CalendarDayKind.HOLIDAY,
            "name": "年终盘点",
        },
    )
    # The library corrects 2026 and drops Saturday 10 October as a make-up day
    corrected = [
        entry
        for entry in calendars.chinese_calendar_days(2026)
        if entry.date != datetime.date(2026, 10, 10)
    ]
    monkeypatch.setattr(calendars, "chinese_calendar_days", lambda year: corrected)

    result = calendar_seed(calendar=calendar_2026, years=[2026])

    assert result.deleted == 1
    assert not CalendarDay.objects.filter(calendar=calendar_2026, date="2026-10-10").exists()
    assert CalendarDay.objects.get(calendar=calendar_2026, date="2026-12-31").source == "manual"


def test_a_year_the_library_does_not_know_is_left_alone(calendar_2026):
    result = calendar_seed(calendar=calendar_2026, years=[2031])
    assert result.unknown_years == [2031]
    assert not calendar_2026.years.filter(year=2031).exists()


def test_a_calendar_for_another_market_is_seeded_from_the_holidays_library(company):
    administrator = user_with_role(Role.ADMINISTRATOR, company)
    calendar = business_calendar_create(
        actor=administrator,
        data={
            "code": "US",
            "name": "US office",
            "time_zone": "America/New_York",
            "source": CalendarSource.HOLIDAYS,
            "country": "US",
            "work_starts_at": datetime.time(9),
            "work_ends_at": datetime.time(17),
            "lunch_starts_at": None,
            "lunch_ends_at": None,
            "fallback_holidays": "01-01,07-04,12-25",
        },
    )
    calendar_seed(calendar=calendar, years=[2026])

    value = calendar_load(calendar)
    # Independence Day 2026 falls on a Saturday: the Friday before is observed
    assert not value.is_working_day(datetime.date(2026, 7, 3))
    assert value.is_working_day(datetime.date(2026, 7, 2))
    assert add_business_hours(
        datetime.datetime(2026, 7, 2, 16, tzinfo=ZoneInfo("America/New_York")), 2, value
    ) == datetime.datetime(2026, 7, 6, 10, tzinfo=ZoneInfo("America/New_York"))


# --- the loaded calendar ------------------------------------------------------------------------


def test_the_loaded_calendar_is_cached_until_a_day_changes(
    calendar_2026, company, django_assert_num_queries
):
    first = calendar_load("CN-T")
    with django_assert_num_queries(1):
        assert calendar_load("CN-T") is first

    administrator = user_with_role(Role.ADMINISTRATOR, company)
    calendar_day_create(
        actor=administrator,
        data={
            "calendar": calendar_2026,
            "date": datetime.date(2026, 3, 9),
            "kind": CalendarDayKind.HOLIDAY,
            "name": "公司活动",
        },
    )

    reloaded = calendar_load("CN-T")
    assert reloaded is not first
    assert first.is_working_day(datetime.date(2026, 3, 9))
    assert not reloaded.is_working_day(datetime.date(2026, 3, 9))
    # Friday 16:00 + 3 business hours now skips Monday 9 March as well
    assert add_business_hours(sh(2026, 3, 6, 16), 3, reloaded) == sh(2026, 3, 10, 10)


def test_the_loaded_calendar_marks_later_years_unconfirmed(calendar_2026):
    due = compute_due(
        sh(2026, 12, 31, 16), 8, basis=Basis.BUSINESS, calendar=calendar_load(calendar_2026)
    )
    assert due.at == sh(2027, 1, 4, 16)
    assert due.unconfirmed_years == frozenset({2027})


# --- unpublished years --------------------------------------------------------------------------


def test_the_administrators_hear_once_that_a_year_is_unpublished(calendar_2026, company, manager):
    administrator = user_with_role(Role.ADMINISTRATOR, company, language="en")

    assert calendar_fallback_alert(calendar=calendar_load(calendar_2026), years={2027}) == [2027]
    assert calendar_unconfirmed_used("CN-T", [2027]) == []

    (notice,) = Notification.objects.filter(recipient=administrator)
    assert (
        notice.subject
        == "测试日历: the holidays of 2027 are not published yet — due times are provisional"
    )
    assert "01-01, 05-01, 05-02, 10-01, 10-02, 10-03" in notice.body
    assert notice.link == f"/business-calendars/{calendar_2026.pk}/"
    assert not Notification.objects.filter(recipient=manager).exists()
    year = calendar_2026.years.get(year=2027)
    assert year.status == CalendarYearStatus.FALLBACK
    assert year.alerted_at is not None


def test_an_alert_nobody_could_receive_stays_due(calendar_2026, company):
    assert calendar_fallback_alert(calendar="CN-T", years=[2027]) == []
    user_with_role(Role.ADMINISTRATOR, company)
    assert calendar_fallback_alert(calendar="CN-T", years=[2027]) == [2027]


def test_the_daily_job_takes_over_a_newly_published_year(
    calendar_2026, company, monkeypatch, announcements, django_capture_on_commit_callbacks
):
    user_with_role(Role.ADMINISTRATOR, company)
    # Given a due time needed 2027 while no library knew it
    calendar_fallback_alert(calendar="CN-T", years=[2027])
    before = compute_due(
        sh(2026, 12, 31, 16), 8, basis=Basis.BUSINESS, calendar=calendar_load("CN-T")
    )
    assert before.at == sh(2027, 1, 4, 16)

    # When the library is upgraded and knows 2027 (say 1-4 January off)
    published = [
        SourceDay(datetime.date(2027, 1, day), CalendarDayKind.HOLIDAY, "元旦")
        for day in (1, 2, 3, 4)
    ]
    original = calendars.chinese_calendar_days
    monkeypatch.setattr(calendars, "chinese_calendar_years", lambda: range(2004, 2028))
    monkeypatch.setattr(
        calendars,
        "chinese_calendar_days",
        lambda year: published if year == 2027 else original(year),
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = calendar_years_refresh(today=datetime.date(2026, 12, 1))

    # Then 2027 is seeded and confirmed, the apps are told, and the due time moves
    assert 2027 in report.seeded["CN-T"].confirmed_years
    assert calendar_2026.years.get(year=2027).status == CalendarYearStatus.CONFIRMED
    assert (
        "year_confirmed",
        {
            "calendar_id": calendar_2026.pk,
            "calendar_code": "CN-T",
            "year": 2027,
            "source": "seeded",
        },
    ) in [
        (kind, {k: v for k, v in kwargs.items() if k != "signal"}) for kind, kwargs in announcements
    ]
    after = compute_due(
        sh(2026, 12, 31, 16), 8, basis=Basis.BUSINESS, calendar=calendar_load("CN-T")
    )
    assert after.at == sh(2027, 1, 5, 16)
    assert after.confirmed


def test_the_daily_job_warns_of_a_coming_year_that_is_still_unpublished(calendar_2026, company):
    user_with_role(Role.ADMINISTRATOR, company)

    early = calendar_years_refresh(today=datetime.date(2026, 6, 1))
    late = calendar_years_refresh(today=datetime.date(2026, 11, 27))
    again = calendar_years_refresh(today=datetime.date(2026, 11, 28))

    assert "CN-T" not in early.alerted
    assert late.alerted["CN-T"] == [2027]
    assert "CN-T" not in again.alerted
    assert "core.calendar-years" in JOBS


def test_an_administrator_confirms_a_year_by_hand(
    calendar_2026, company, announcements, django_capture_on_commit_callbacks
):
    administrator = user_with_role(Role.ADMINISTRATOR, company)
    with pytest.raises(InvalidInputError):
        calendar_year_create(
            actor=administrator,
            data={"calendar": calendar_2026, "year": 2027, "status": CalendarYearStatus.CONFIRMED},
        )
    with django_capture_on_commit_callbacks(execute=True):
        year = calendar_year_create(
            actor=administrator,
            data={"calendar": calendar_2026, "year": 2027, "status": CalendarYearStatus.MANUAL},
        )

    assert year.confirmed_at is not None
    assert calendar_load(calendar_2026).is_confirmed(2027)
    assert [kwargs["source"] for kind, kwargs in announcements if kind == "year_confirmed"] == [
        "manual"
    ]


def test_a_corrected_day_is_announced_to_the_apps(
    calendar_2026, company, announcements, django_capture_on_commit_callbacks
):
    administrator = user_with_role(Role.ADMINISTRATOR, company)
    with django_capture_on_commit_callbacks(execute=True):
        calendar_day_create(
            actor=administrator,
            data={
                "calendar": calendar_2026,
                "date": datetime.date(2026, 11, 30),
                "kind": CalendarDayKind.HOLIDAY,
            },
        )
    assert [(kind, kwargs["first_day"], kwargs["last_day"]) for kind, kwargs in announcements] == [
        ("changed", datetime.date(2026, 11, 30), datetime.date(2026, 11, 30))
    ]


# --- who may change calendars -------------------------------------------------------------------


def test_an_administrator_edits_a_day_in_the_browser(client, calendar_2026, company):
    administrator = user_with_role(Role.ADMINISTRATOR, company)
    client.force_login(administrator)
    day = CalendarDay.objects.get(calendar=calendar_2026, date="2026-10-10")

    assert client.get("/business-calendars/").status_code == 200
    page = client.get(f"/business-calendars/{calendar_2026.pk}/").content.decode()
    assert "Refresh from the source" in page
    response = client.post(
        f"/calendar-days/{day.pk}/edit/",
        {
            "calendar": calendar_2026.pk,
            "date": "2026-10-10",
            "kind": "normal",
            "name": "不调休",
            "version": day.version,
        },
    )

    assert response.status_code == 302
    day.refresh_from_db()
    assert (day.kind, day.source) == ("normal", "manual")


def test_an_administrator_refreshes_a_calendar_in_the_browser(client, calendar_2026, company):
    client.force_login(user_with_role(Role.ADMINISTRATOR, company))
    response = client.post(f"/business-calendars/{calendar_2026.pk}/refresh/", follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    # Every year the library knows is taken over (the fixture held 2026 only)
    assert "Refreshed from the source: " in page
    assert "Confirmed: 2004–2026" in page


@pytest.mark.parametrize("role", [Role.SERVICE_MANAGER, Role.QUALITY_MANAGER, Role.AUDITOR])
def test_other_roles_read_calendars_in_the_browser_but_cannot_change_them(
    client, calendar_2026, company, role
):
    client.force_login(user_with_role(role, company))
    day = CalendarDay.objects.get(calendar=calendar_2026, date="2026-10-10")

    assert client.get(f"/business-calendars/{calendar_2026.pk}/").status_code == 200
    assert (
        "Refresh from the source"
        not in client.get(f"/business-calendars/{calendar_2026.pk}/").content.decode()
    )
    # Pages a role may not use answer like records out of its scope (404), and change nothing
    assert client.get(f"/calendar-days/{day.pk}/edit/").status_code == 404
    assert (
        client.post(
            f"/calendar-days/{day.pk}/edit/",
            {"calendar": calendar_2026.pk, "date": "2026-10-10", "kind": "normal"},
        ).status_code
        == 404
    )
    assert client.post("/calendar-days/new/", {}).status_code == 404
    assert client.post(f"/business-calendars/{calendar_2026.pk}/refresh/").status_code == 404
    day.refresh_from_db()
    assert day.kind == "workday"


def test_a_customer_does_not_see_calendars(client, calendar_2026, customer_a, api):
    client.force_login(customer_a)
    assert client.get("/business-calendars/").status_code == 404
    assert api.as_user(customer_a).get("/api/v1/business-calendars/").status_code == 403


def test_the_api_lets_only_administrators_change_calendars(api, calendar_2026, company, manager):
    day = CalendarDay.objects.get(calendar=calendar_2026, date="2026-10-10")
    as_manager = api.as_user(manager)

    listed = as_manager.get("/api/v1/calendar-days/", {"calendar": calendar_2026.pk, "year": 2026})
    assert listed.status_code == 200
    assert listed.json()["count"] == CalendarDay.objects.filter(calendar=calendar_2026).count()
    for response in (
        as_manager.patch(f"/api/v1/calendar-days/{day.pk}/", {"kind": "normal"}, format="json"),
        as_manager.post(
            "/api/v1/calendar-days/",
            {"calendar": calendar_2026.pk, "date": "2026-12-31", "kind": "holiday"},
            format="json",
        ),
        as_manager.delete(f"/api/v1/calendar-days/{day.pk}/"),
        as_manager.patch(
            f"/api/v1/business-calendars/{calendar_2026.pk}/", {"name": "x"}, format="json"
        ),
        as_manager.post(f"/api/v1/business-calendars/{calendar_2026.pk}/refresh/", {}),
    ):
        assert response.status_code == 403
    day.refresh_from_db()
    assert day.kind == "workday"

    administrator = user_with_role(Role.ADMINISTRATOR, company)
    as_admin = api.as_user(administrator)
    changed = as_admin.patch(f"/api/v1/calendar-days/{day.pk}/", {"kind": "normal"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["source"] == "manual"
    refreshed = as_admin.post(
        f"/api/v1/business-calendars/{calendar_2026.pk}/refresh/", {"years": [2026, 2031]}
    )
    assert refreshed.status_code == 200
    assert refreshed.json() == {
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "kept_manual": 1,
        "confirmed_years": [],
        "unknown_years": [2031],
    }


def test_a_seeded_day_is_changed_not_deleted(api, calendar_2026, company):
    as_admin = api.as_user(user_with_role(Role.ADMINISTRATOR, company))
    day = CalendarDay.objects.get(calendar=calendar_2026, date="2026-10-01")
    response = as_admin.delete(f"/api/v1/calendar-days/{day.pk}/?reason=typo")
    assert response.status_code == 409
    assert "Ordinary day" in response.json()["error"]["message"]
    assert CalendarDay.objects.filter(pk=day.pk).exists()


def test_the_api_shows_a_calendar_in_plain_values(api, calendar_2026, manager):
    body = api.as_user(manager).get(f"/api/v1/business-calendars/{calendar_2026.pk}/").json()
    assert body["working_weekdays"] == [1, 2, 3, 4, 5]
    assert body["fallback_holidays"] == ["01-01", "05-01", "05-02", "10-01", "10-02", "10-03"]
    assert (body["work_starts_at"], body["lunch_starts_at"]) == ("08:30:00", "12:00:00")


def test_the_api_refuses_a_lunch_break_outside_working_hours_and_an_unknown_country(api, company):
    as_admin = api.as_user(user_with_role(Role.ADMINISTRATOR, company))
    response = as_admin.post(
        "/api/v1/business-calendars/",
        {
            "code": "X",
            "name": "X",
            "source": "holidays",
            "country": "XX",
            "work_starts_at": "09:00",
            "work_ends_at": "17:00",
            "lunch_starts_at": "18:00",
            "lunch_ends_at": "19:00",
            "working_weekdays": [1, 2, 3, 4, 5, 6],
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"lunch_starts_at", "country"}
    assert not BusinessCalendar.objects.filter(code="X").exists()


def test_an_administrator_creates_a_calendar_in_the_browser(client, company):
    client.force_login(user_with_role(Role.ADMINISTRATOR, company))
    form = client.get("/business-calendars/new/").content.decode()
    assert "Monday" in form
    assert "Sunday" in form

    response = client.post(
        "/business-calendars/new/",
        {
            "code": "SH-STORE",
            "name": "门店（周一至周六）",
            "time_zone": "Asia/Shanghai",
            "source": "none",
            "country": "",
            "work_starts_at": "09:00",
            "work_ends_at": "18:00",
            "working_weekdays": ["1", "2", "3", "4", "5", "6"],
            "fallback_holidays": "",
        },
    )

    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(code="SH-STORE")
    assert calendar.working_weekdays == "123456"
    assert calendar.lunch_starts_at is None
    value = calendar_load("SH-STORE")
    assert value.all_years_confirmed
    # Saturday is worked; nine hours a day without a lunch break
    assert add_business_hours(sh(2031, 5, 2, 17), 2, value) == sh(2031, 5, 3, 10)
    page = client.get(f"/business-calendars/{calendar.pk}/").content.decode()
    assert "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday" in page


def test_the_day_list_costs_the_same_queries_for_one_year_or_six(api, client, manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    calendar = BusinessCalendar.objects.create(code="Q", name="Q")
    calendar_seed(calendar=calendar, years=[2026])
    as_manager = api.as_user(manager)
    client.force_login(manager)

    def cost() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as in_api:
            as_manager.get("/api/v1/calendar-days/", {"calendar": calendar.pk, "page_size": 200})
        with CaptureQueriesContext(connection) as in_ui:
            client.get("/calendar-days/", {"calendar": calendar.pk})
        return len(in_api), len(in_ui)

    few = cost()
    calendar_seed(calendar=calendar, years=range(2021, 2026))
    assert cost() == few


def test_a_time_zone_must_be_a_real_zone(api, company):
    as_admin = api.as_user(user_with_role(Role.ADMINISTRATOR, company))
    for zone in ("Asia", "Mars/Olympus", "../etc"):
        response = as_admin.post(
            "/api/v1/business-calendars/",
            {"code": "Z", "name": "Z", "source": "none", "time_zone": zone},
            format="json",
        )
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["time_zone"]
