"""Deep pages (core.pagination): a page read through its ids first — from the other end of the
list when it lies in the second half, sorted after filtering when the filtered list is small —
holds exactly the rows that OFFSET would give, in the same order, in one query."""

from __future__ import annotations

import datetime

import pytest
from django.core.paginator import Paginator
from django.db.models import Q

from medservice.core.pagination import (
    SORT_AFTER_FILTER_MAX,
    DeferredJoinPaginator,
    page_rows,
    sorts_after_filter,
    total_ordering,
)
from medservice.installed_base.models import Device
from tests.factories import OrganizationFactory
from tests.installed_base.factories import DeviceFactory, DeviceModelFactory

pytestmark = pytest.mark.django_db

STATUSES = ["in_service", "installed", "under_repair", "scrapped"]


@pytest.fixture
def units():
    """Nineteen units: serials U-00..U-18, four statuses, every third not yet accepted."""
    model = DeviceModelFactory()
    owner = OrganizationFactory()
    return [
        DeviceFactory(
            device_model=model,
            organization=owner,
            serial_number=f"U-{n:02d}",
            status=STATUSES[n % 4],
            installed_on=datetime.date(2026, 1, 1),
            accepted_on=None if n % 3 == 0 else datetime.date(2026, 1, 1 + n % 5),
        )
        for n in range(19)
    ]


def ids_of(rows) -> list[int]:
    return [row.pk for row in rows]


@pytest.mark.parametrize(
    "ordering",
    [
        ["-id"],
        ["serial_number"],
        ["status"],
        ["accepted_on", "-pk"],
        ["-accepted_on", "-pk"],
        ["-status", "accepted_on"],
    ],
)
@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("orphans", [0, 2])
def test_every_page_holds_the_rows_offset_would_give_in_the_same_order(
    units, ordering, filtered, orphans
):
    # Given the units in some order, filtered or not (a filter sorts after filtering)
    queryset = Device.objects.order_by(*ordering)
    if filtered:
        queryset = queryset.filter(~Q(status="scrapped"))
    reference = Paginator(queryset.order_by(*total_ordering(queryset)), 4, orphans=orphans)
    # When every page is read through its ids
    deferred = DeferredJoinPaginator(queryset, 4, orphans=orphans)
    # Then each page has the same rows in the same order as OFFSET gives
    assert deferred.num_pages == reference.num_pages
    for number in deferred.page_range:
        assert ids_of(deferred.page(number)) == ids_of(reference.page(number)), number
    walked = [pk for number in deferred.page_range for pk in ids_of(deferred.page(number))]
    assert sorted(walked) == sorted(queryset.values_list("pk", flat=True))
    assert len(walked) == len(set(walked))


def test_a_page_in_the_second_half_is_counted_from_the_end(units):
    # Given 19 units newest first, five per page
    paginator = DeferredJoinPaginator(Device.objects.order_by("-id"), 5)
    # When the last page (4 units) and the third are read
    last, third = paginator.page(4), paginator.page(3)
    sql = str(last.object_list.query)
    # Then they hold the oldest units, newest first
    assert [row.serial_number for row in last] == ["U-03", "U-02", "U-01", "U-00"]
    assert [row.serial_number for row in third] == ["U-08", "U-07", "U-06", "U-05", "U-04"]
    # And the SQL asks for the last page's ids in the reversed order, from the start
    assert 'ORDER BY U0."id" ASC LIMIT 4' in sql
    assert "OFFSET" not in sql


def test_a_page_reads_its_rows_and_their_related_records_in_one_query(
    units, django_assert_num_queries
):
    # Given the units with their model and owner joined, 19 of them
    queryset = Device.objects.select_related("device_model", "organization").order_by("-id")
    paginator = DeferredJoinPaginator(queryset, 5)
    paginator.count  # noqa: B018 (counted first, as the list page does)
    # When a deep page is shown with the related names
    with django_assert_num_queries(1):
        names = [(str(row.device_model), row.organization.name) for row in paginator.page(3)]
    # Then one query read the five rows and their joins
    assert len(names) == 5


def test_a_small_filtered_list_is_sorted_after_filtering(units):
    # Given the units that are not scrapped (14 of 19)
    queryset = Device.objects.filter(~Q(status="scrapped")).order_by("-id")
    # When its first page is read
    page = DeferredJoinPaginator(queryset, 5).page(1)
    sql = str(page.object_list.query)
    # Then the ids are sorted by an expression no index delivers, the rows by the list's order
    assert 'ORDER BY COALESCE(U0."id", U0."id") DESC' in sql
    assert sql.endswith('ORDER BY "installed_base_device"."id" DESC')
    assert [row.serial_number for row in page] == ["U-18", "U-17", "U-16", "U-14", "U-13"]


def test_only_a_filtered_list_up_to_the_limit_sorts_after_filtering(units):
    everything = Device.objects.order_by("-id")
    filtered = everything.filter(status="installed")
    assert sorts_after_filter(filtered, 5) is True
    assert sorts_after_filter(filtered, SORT_AFTER_FILTER_MAX) is True
    assert sorts_after_filter(filtered, SORT_AFTER_FILTER_MAX + 1) is False
    assert sorts_after_filter(everything, 19) is False


def test_a_list_the_deferred_join_does_not_fit_is_sliced_as_it_is(units):
    distinct = Device.objects.order_by("-id").distinct()
    assert ids_of(page_rows(distinct, 5, 10, 19)) == ids_of(distinct[5:10])
    values = Device.objects.order_by("-id").values_list("serial_number", flat=True)
    assert list(page_rows(values, 0, 3, 19)) == ["U-18", "U-17", "U-16"]
    assert list(page_rows(Device.objects.order_by("-id"), 3, 3, 19)) == []
