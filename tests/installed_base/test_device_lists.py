"""Long device lists: API pages by cursor (keyset) and by number, the UI's deep pages, and the
search by part of a serial that the trigram indexes serve on PostgreSQL."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.installed_base.models import Delivery, Device
from tests.installed_base.factories import DeliveryFactory, DeviceFactory

pytestmark = pytest.mark.django_db

DETAIL = re.compile(r'<a href="/installed-base/devices/(\d+)/">')


@pytest.fixture
def units(hospital_a, hospital_b, monitor):
    """Twelve units at hospital A and three at hospital B, interleaved: serials KM8-00..KM8-14."""
    return [
        DeviceFactory(
            device_model=monitor,
            organization=hospital_b if n % 4 == 3 else hospital_a,
            serial_number=f"KM8-{n:02d}",
        )
        for n in range(15)
    ]


def newest_first(units) -> list[int]:
    return sorted((unit.pk for unit in units), reverse=True)


def relative(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def walk(client, first: str, params: dict, direction: str = "next") -> list[dict]:
    """Every page from the first, following the `next` (or `previous`) links."""
    pages = [client.get(first, params).json()]
    while pages[-1][direction]:
        pages.append(client.get(relative(pages[-1][direction])).json())
    return pages


def ids(pages: list[dict]) -> list[list[int]]:
    return [[row["id"] for row in page["results"]] for page in pages]


def cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- API: cursors -----------------------------------------------------------------------------


def test_following_next_walks_every_unit_once_newest_first_by_cursor(api, agent, units):
    # Given 15 units and a client reading 4 per page
    client = api.as_user(agent)
    expected = newest_first(units)
    # When it follows `next` from the first page to the end
    pages = walk(client, "/api/v1/devices/", {"page_size": 4})
    # Then it saw every unit once, newest first, and the links after page 1 were cursors
    assert ids(pages) == [expected[0:4], expected[4:8], expected[8:12], expected[12:15]]
    assert [page["count"] for page in pages] == [15, 15, 15, 15]
    assert all("cursor=" in page["next"] and "page=" not in page["next"] for page in pages[:-1])
    assert (pages[0]["previous"], pages[-1]["next"]) == (None, None)
    # And following `previous` from the last page gives the same pages back
    back = walk(client, relative(pages[-1]["previous"]), {}, direction="previous")
    assert ids(back) == [expected[8:12], expected[4:8], expected[0:4]]


def test_cursor_pages_keep_the_filter_and_the_search(api, agent, units, hospital_a):
    # Given the 12 units of hospital A among 15
    client = api.as_user(agent)
    at_a = newest_first(unit for unit in units if unit.organization_id == hospital_a.pk)
    # When the client walks hospital A's units matching "km8" by `next`
    pages = walk(
        client,
        "/api/v1/devices/",
        {"organization": hospital_a.pk, "search": "km8", "page_size": 4},
    )
    # Then it got exactly those, once each, in order
    assert ids(pages) == [at_a[0:4], at_a[4:8], at_a[8:12]]
    assert [page["count"] for page in pages] == [12, 12, 12]
    assert "organization=" in pages[1]["next"] and "search=km8" in pages[1]["next"]


@pytest.mark.parametrize("ordering", ["number", "-number"])
def test_deliveries_sorted_by_their_unique_number_are_walked_by_cursor(
    api, manager, hospital_a, ordering
):
    # Given seven deliveries whose numbers do not follow their ids
    numbers = ["DL-2026-000005", "DL-2026-000001", "DL-2026-000007", "DL-2026-000003",
               "DL-2026-000002", "DL-2026-000006", "DL-2026-000004"]  # fmt: skip
    for number in numbers:
        DeliveryFactory(number=number, organization=hospital_a)
    # When the client walks them sorted by number, three per page
    pages = walk(
        api.as_user(manager), "/api/v1/deliveries/", {"ordering": ordering, "page_size": 3}
    )
    # Then every delivery came once, in number order, by cursor
    walked = [[row["number"] for row in page["results"]] for page in pages]
    in_order = sorted(numbers, reverse=ordering.startswith("-"))
    assert walked == [in_order[0:3], in_order[3:6], in_order[6:7]]
    assert "cursor=" in pages[0]["next"]
    assert Delivery.objects.count() == 7


def test_a_sort_by_a_column_that_is_not_unique_pages_by_number(api, agent, units):
    # Given units sorted by serial (not unique across models: no cursor)
    client = api.as_user(agent)
    serials = [f"KM8-{n:02d}" for n in range(15)]
    # When the client follows `next`
    pages = walk(client, "/api/v1/devices/", {"ordering": "serial_number", "page_size": 6})
    # Then the links are page numbers and every unit came once, in serial order
    assert [[row["serial_number"] for row in page["results"]] for page in pages] == [
        serials[0:6],
        serials[6:12],
        serials[12:15],
    ]
    assert parse_qs(urlsplit(pages[0]["next"]).query)["page"] == ["2"]
    # And a cursor with that sort is refused, naming the parameter
    refused = client.get("/api/v1/devices/", {"ordering": "serial_number", "cursor": cursor("p=5")})
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {
        "cursor": [
            "A cursor pages only a list in its default order or ordered by a unique field; "
            "use page numbers for this order."
        ]
    }


@pytest.mark.parametrize(
    "value", ["not-base64!", cursor("p=abc"), cursor("p=1\x00"), cursor("o=x")]
)
def test_a_broken_cursor_is_not_found(api, agent, units, value):
    response = api.as_user(agent).get("/api/v1/devices/", {"cursor": value})
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Invalid cursor", "fields": {}}
    }


def test_an_empty_cursor_is_the_first_page_whatever_the_order(api, agent, units):
    client = api.as_user(agent)
    body = client.get("/api/v1/devices/", {"cursor": "", "ordering": "serial_number"}).json()
    assert [row["serial_number"] for row in body["results"]][:3] == ["KM8-00", "KM8-01", "KM8-02"]


def test_a_cursor_past_the_first_unit_is_an_empty_page(api, agent, units):
    oldest = min(unit.pk for unit in units)
    body = api.as_user(agent).get("/api/v1/devices/", {"cursor": cursor(f"p={oldest}")}).json()
    assert (body["count"], body["next"], body["results"]) == (15, None, [])


# --- API: page numbers ------------------------------------------------------------------------


def test_page_numbers_still_work(api, agent, units):
    client = api.as_user(agent)
    expected = newest_first(units)
    second = client.get("/api/v1/devices/", {"page": 2, "page_size": 4}).json()
    assert ids([second]) == [expected[4:8]]
    assert second["count"] == 15
    previous = client.get(relative(second["previous"])).json()
    assert ids([previous]) == [expected[0:4]]
    nxt = client.get(relative(second["next"])).json()
    assert ids([nxt]) == [expected[8:12]]
    last = client.get("/api/v1/devices/", {"page": "last", "page_size": 4}).json()
    assert (ids([last]), last["next"]) == ([expected[12:15]], None)
    fourth = client.get("/api/v1/devices/", {"page": 4, "page_size": 4}).json()
    assert ids([fourth]) == [expected[12:15]]
    beyond = client.get("/api/v1/devices/", {"page": 5, "page_size": 4})
    assert beyond.status_code == 404
    assert beyond.json()["error"]["message"] == "Invalid page."


def test_the_schema_offers_the_cursor(client, agent):
    client.force_login(agent)
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/devices/"]["get"]["parameters"]
    assert {"page", "page_size", "cursor"} <= {parameter["name"] for parameter in parameters}


# --- UI ---------------------------------------------------------------------------------------


@pytest.fixture
def fleet_of_60(hospital_a, monitor):
    return [
        DeviceFactory(
            device_model=monitor,
            organization=hospital_a,
            serial_number=f"FL-{(n * 37) % 60:02d}",  # serial order differs from id order
            status="in_service" if n % 2 else "installed",
        )
        for n in range(60)
    ]


def listed(response) -> list[int]:
    return [int(pk) for pk in DETAIL.findall(response.content.decode())]


def test_the_ui_deep_pages_show_the_right_units_in_order_in_fixed_queries(
    client, agent, fleet_of_60
):
    # Given 60 units (25 per page: pages of 25, 25 and 10)
    client.force_login(agent)
    expected = newest_first(fleet_of_60)
    client.get("/installed-base/devices/")  # the first request warms caches (permissions, …)
    # When each page is shown
    pages, queries = [], []
    for number in (1, 2, 3):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/installed-base/devices/", {"page": number})
        pages.append(listed(response))
        queries.append(len(captured.captured_queries))
    # Then each shows its units newest first, in the same number of queries
    assert pages == [expected[0:25], expected[25:50], expected[50:60]]
    # (9 today: session, user, permissions, the count, the rows, navigation, inbox badge; the
    # list pages' budget in docs/performance.md is 10)
    assert queries == [queries[0]] * 3 and queries[0] <= 10
    assert "Page 3 of 3" in response.content.decode()


def test_the_ui_deep_page_keeps_the_sort_the_filter_and_the_search(client, agent, fleet_of_60):
    # Given the 30 units in service among 60, their serials FL-xx
    client.force_login(agent)
    in_service = sorted(
        (unit for unit in fleet_of_60 if unit.status == "in_service"),
        key=lambda unit: unit.serial_number,
        reverse=True,
    )
    # When the second page of those matching "fl-" is shown, sorted by serial descending
    response = client.get(
        "/installed-base/devices/",
        {"status": "in_service", "q": "fl-", "sort": "-serial_number", "page": 2},
    )
    # Then it shows the last five of them in that order
    assert listed(response) == [unit.pk for unit in in_service[25:30]]
    assert "30 records" in response.content.decode()


# --- Search by part of a serial ---------------------------------------------------------------


def test_search_finds_a_serial_by_its_middle_whatever_the_case(client, api, agent, monitor):
    wanted = DeviceFactory(device_model=monitor, serial_number="KD-M8000-AB1234")
    DeviceFactory(device_model=monitor, serial_number="KD-M8000-CD5678")
    found = api.as_user(agent).get("/api/v1/devices/", {"search": "m8000-ab12"}).json()
    assert [row["id"] for row in found["results"]] == [wanted.pk]
    client.force_login(agent)
    assert listed(client.get("/installed-base/devices/", {"q": "m8000-AB12"})) == [wanted.pk]


TRIGRAM_INDEXES = {
    "installed_base_device_serial_number_trgm": "serial_number",
    "installed_base_device_batch_number_trgm": "batch_number",
    "installed_base_device_udi_pi_trgm": "udi_pi",
    "installed_base_device_asset_number_trgm": "asset_number",
}

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="pg_trgm indexes exist on PostgreSQL only; on SQLite the migration does nothing",
)


@postgresql_only
def test_the_trigram_indexes_exist_after_migrate():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname LIKE %s",
            ["installed_base_device", "%_trgm"],
        )
        found = dict(cursor.fetchall())
    assert set(found) == set(TRIGRAM_INDEXES)
    for name, column in TRIGRAM_INDEXES.items():
        assert f"USING gin (upper(({column})::text) gin_trgm_ops)" in found[name]


@postgresql_only
def test_the_search_query_the_api_sends_can_use_the_trigram_indexes(api, agent, monitor):
    # Given a unit, and a database told to use an index wherever one fits the query
    wanted = DeviceFactory(device_model=monitor, serial_number="KD-M8000-AB1234")
    # When the API searches by the middle of its serial
    with CaptureQueriesContext(connection) as captured:
        body = api.as_user(agent).get("/api/v1/devices/", {"search": "m8000-ab12"}).json()
    count_sql = next(q["sql"] for q in captured.captured_queries if "COUNT(*)" in q["sql"])
    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN " + count_sql)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    # Then it found the unit, and its condition is answered by the four trigram indexes
    assert [row["id"] for row in body["results"]] == [wanted.pk]
    for name in TRIGRAM_INDEXES:
        assert f"Bitmap Index Scan on {name}" in plan
    assert Device.objects.count() == 1
