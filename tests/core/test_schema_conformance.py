"""The API answers what its OpenAPI schema says (issue 12: schemathesis gates CI on the status
code, the content type and the body of every answer). One test per class of gap the fuzzer
found: each fails without its fix."""

from __future__ import annotations

import datetime
import os
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator
from openapi_schema_validator import OAS30Validator

from medservice.accounts.choices import Role
from medservice.core.api.schema import ERROR_SCHEMA
from medservice.core.calendar_models import BusinessCalendar, CalendarDay
from medservice.core.calendars import business_calendar_update, calendar_day_update, calendar_seed
from medservice.core.models import EARLIEST_INSTANT
from tests.factories import user_with_role


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict[str, Any]:
    """The schema as served (generated once: it takes seconds)."""
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def validate(schema: dict[str, Any], component: str, body: Any) -> None:
    """Validate an answer against a response component, the way schemathesis does."""
    document = {"components": schema["components"], "$ref": f"#/components/schemas/{component}"}
    checked(document).validate(body)


def checked(schema: dict[str, Any]) -> OAS30Validator:
    """A validator that checks formats too (date-time, email, uri), as schemathesis does."""
    return OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)


def response_of(schema: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return schema["paths"][path][method]["responses"]


# --- the generated schema ----------------------------------------------------------------------


def test_a_read_only_blank_choice_field_allows_the_blank_value(schema):
    # ReturnRequest.cause: a choice, blank until the return is assessed, read-only in the API
    cause = schema["components"]["schemas"]["ReturnRequest"]["properties"]["cause"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in cause["oneOf"]


def test_a_read_only_field_of_a_nullable_column_is_nullable(schema):
    supersedes = schema["components"]["schemas"]["ReportOutput"]["properties"]["supersedes"]
    assert supersedes["nullable"] is True
    # ...but a reverse relation (a list of files) is a list, never null
    files = schema["components"]["schemas"]["Letter"]["properties"]["files"]
    assert "nullable" not in files


def test_times_are_documented_by_a_pattern_both_renderings_meet(schema):
    starts = schema["components"]["schemas"]["BusinessCalendar"]["properties"]["work_starts_at"]
    assert "format" not in starts
    validator = checked(starts)
    assert validator.is_valid("08:30") and validator.is_valid("08:30:00")
    assert not validator.is_valid("8.30")


def test_a_blank_email_is_allowed_in_an_answer(schema):
    email = checked(schema["components"]["schemas"]["User"]["properties"]["email"])
    assert email.is_valid("") and email.is_valid("a@example.com")
    assert not email.is_valid("not an e-mail")


def test_every_operation_documents_404_414_and_429(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert {"404", "414", "429"} <= set(operation["responses"]), (method, path)
    too_long = response_of(schema, "/api/v1/tickets/")["414"]["content"]
    assert list(too_long) == ["text/html"]  # gunicorn answers it, before Django


def test_downloads_document_their_media_types(schema):
    assert list(
        response_of(schema, "/api/v1/adverse-event-reports/{id}/pdf/")["200"]["content"]
    ) == ["application/pdf"]
    assert list(response_of(schema, "/api/v1/evaluation-reports/{id}/xlsx/")["200"]["content"]) == [
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ]
    trace = response_of(schema, "/api/v1/trace/")["200"]["content"]
    assert {"application/json", "text/csv"} <= set(trace)
    # a stored upload keeps its own type
    assert list(
        response_of(schema, "/api/v1/tickets/{id}/attachments/{entry_id}/")["200"]["content"]
    ) == ["*/*"]
    # and a failed download answers the JSON error
    assert (
        "application/json"
        in response_of(schema, "/api/v1/evaluation-reports/{id}/pdf/")["404"]["content"]
    )


def test_unpaginated_lists_are_documented_as_plain_arrays(schema):
    for path in (
        "/api/v1/evaluation-reports/{id}/improvement-actions/",
        "/api/v1/knowledge-articles/{id}/versions/",
        "/api/v1/part-lots/{id}/trace/",
    ):
        body = response_of(schema, path)["200"]["content"]["application/json"]["schema"]
        assert body["type"] == "array", path


def test_the_trace_documents_one_object_in_either_shape(schema):
    body = response_of(schema, "/api/v1/trace/")["200"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/TraceAnswer"}  # one object, not an array
    # quality roles, asked with part_lot only
    validate(schema, "TraceAnswer", {"part_lot": 3, "part_lot_fittings": []})
    # other roles: the installed base's scoped trace (it fits both shapes when empty: anyOf)
    empty = {"device_model": 1, "batch_number": "B1", "serial_number": "", "devices": []}
    validate(schema, "TraceAnswer", {**empty, "delivery_lines": [], "holds": []})


# --- real answers --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unmatched_api_address_answers_the_json_404(api, auditor, client):
    answer = api.as_user(auditor).get("/api/v1/tickets/not-a-number/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    checked(ERROR_SCHEMA).validate(answer.json())
    assert api.as_user(auditor).get("/api/v1/no-such-thing/").status_code == 404
    # pages outside the API keep the HTML page
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_user_with_a_blank_email_fits_the_user_schema(schema, api, company):
    user = user_with_role(Role.AUDITOR, company)
    user.email = ""
    user.save()
    answer = api.as_user(user).get("/api/v1/users/me/")
    assert answer.status_code == 200
    validate(schema, "User", answer.json())


@pytest.mark.django_db
def test_a_business_calendar_answer_fits_its_schema(schema, api, company):
    calendar = BusinessCalendar.objects.create(code="CN-S", name="日历")
    answer = api.as_user(user_with_role(Role.ADMINISTRATOR, company)).get(
        f"/api/v1/business-calendars/{calendar.pk}/"
    )
    assert answer.status_code == 200
    validate(schema, "BusinessCalendar", answer.json())


@pytest.mark.django_db
def test_an_instant_before_1970_is_refused_with_a_clear_error(api, company):
    # 1900 in Asia/Shanghai would be answered +08:05:43 (local mean time): refused instead
    day = CalendarDay(
        calendar=BusinessCalendar.objects.create(code="CN-E", name="日历"),
        date=datetime.date(2026, 5, 1),
        kind="holiday",
        created_at=datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC),
    )
    with pytest.raises(ValidationError) as refused:
        day.full_clean()
    assert refused.value.message_dict["created_at"] == [
        "Enter a date and time after 1 January 1970."
    ]
    # and on save, which workflow services call without full_clean
    with pytest.raises(ValidationError):
        day.save()
    day.created_at = EARLIEST_INSTANT
    day.full_clean()


# --- the calendar's lock order ------------------------------------------------------------------


@pytest.fixture
def calendar_2026(db) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.create(code="CN-L", name="锁测试")
    calendar_seed(calendar=calendar, years=[2026])
    return calendar


def _locks(queries: list[dict[str, str]]) -> list[str]:
    """The tables of the rows each statement locks or changes, in order."""
    tables = []
    for query in queries:
        sql = query["sql"]
        if "FOR UPDATE" in sql or sql.startswith(("UPDATE", "DELETE")):
            for table in ("core_businesscalendar", "core_calendarday", "core_calendaryear"):
                if f'"{table}"' in sql.split(" WHERE ")[0]:
                    tables.append(table)
                    break
    return tables


# Row locks are PostgreSQL's: SQLite ignores select_for_update (it locks the whole database
# per writer), so there is no lock order to see there.
postgresql_only = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite has no row locks (select_for_update is a no-op); the order matters on PostgreSQL",
)


@postgresql_only
def test_a_day_edit_locks_its_calendar_before_the_day(calendar_2026, company):
    # A source change of the calendar (lock calendar, delete days, reopen years) and a day edit
    # (lock day, ...) deadlocked with two workers: both now take the calendar first.
    administrator = user_with_role(Role.ADMINISTRATOR, company)
    day = CalendarDay.objects.get(calendar=calendar_2026, date=datetime.date(2026, 10, 10))
    with CaptureQueriesContext(connection) as captured:
        calendar_day_update(actor=administrator, instance=day, data={"name": "改"})
    locks = _locks(captured.captured_queries)
    assert locks[0] == "core_businesscalendar"
    assert "core_calendarday" in locks


@postgresql_only
def test_a_source_change_locks_the_calendar_before_its_days(calendar_2026, company):
    administrator = user_with_role(Role.ADMINISTRATOR, company)
    with CaptureQueriesContext(connection) as captured:
        business_calendar_update(
            actor=administrator, instance=calendar_2026, data={"source": "none"}
        )
    locks = _locks(captured.captured_queries)
    assert locks[0] == "core_businesscalendar"
    assert "core_calendarday" in locks[1:]


def test_a_day_deleted_meanwhile_answers_404_not_500(calendar_2026, company):
    from django.http import Http404

    administrator = user_with_role(Role.ADMINISTRATOR, company)
    day = CalendarDay.objects.get(calendar=calendar_2026, date=datetime.date(2026, 10, 10))
    CalendarDay.objects.filter(pk=day.pk).delete()  # a source change removed it meanwhile
    with pytest.raises(Http404):
        calendar_day_update(actor=administrator, instance=day, data={"name": "改"})
