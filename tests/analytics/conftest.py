"""Shared fixtures of the analytics tests: a March 2026 period seen on 15 April, and a way to
build a KPI filter for any user."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from medservice.analytics import kpis
from medservice.analytics.choices import Direction
from medservice.analytics.kpis import KpiFilter
from medservice.tickets.models import Ticket

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


@pytest.fixture
def counted_tickets(monkeypatch):
    """A KPI registered for the test: the share of March's requests marked urgent."""

    def compute(kpi_filter):
        records = kpis.scoped(
            Ticket.objects.filter(kpi_filter.in_period("received_at")), kpi_filter,
            device_model=("device__device_model", "device_model"), engineer="owner", team="team",
        )  # fmt: skip
        return kpis.rate("urgent_share", records,
                         kpis.by_pk(records, lambda ticket: ticket.priority == "urgent"))  # fmt: skip

    monkeypatch.setitem(
        kpis.KPIS, "urgent_share",
        kpis.KpiDefinition(code="urgent_share", name="Urgent share", unit="percent",
                           compute=compute, direction=Direction.AT_MOST, group="service",
                           order=1),
    )  # fmt: skip
    return compute
