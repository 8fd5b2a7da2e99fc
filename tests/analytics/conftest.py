"""Shared fixtures of the analytics tests: a March 2026 period seen on 15 April, and a way to
build a KPI filter for any user."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from medservice.analytics.kpis import KpiFilter

MARCH_START = datetime.date(2026, 3, 1)
MARCH_END = datetime.date(2026, 3, 31)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    """An aware datetime in the site's zone (Asia/Shanghai)."""
    return timezone.make_aware(datetime.datetime(year, month, day, hour, minute))


AS_OF = local(2026, 4, 15, 12)


@pytest.fixture
def make_filter(manager):
    """`make_filter(user=..., start=..., end=..., as_of=..., organization_id=..., ...)`: a
    filter over March 2026 as of 15 April noon, for the service manager unless told."""

    def make(user=None, start=MARCH_START, end=MARCH_END, as_of=AS_OF, **filters) -> KpiFilter:
        return KpiFilter(user=user or manager, start=start, end=end, as_of=as_of, **filters)

    return make
