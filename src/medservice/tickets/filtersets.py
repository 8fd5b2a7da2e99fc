"""Ticket list filters (UI and API alike) on indexed columns."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.tickets.choices import OPEN_STATUSES
from medservice.tickets.models import Ticket


class TicketFilter(ScopedFilterSet):
    received_at = django_filters.DateFromToRangeFilter(label=_("received between"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=_("overdue"))
    open = django_filters.BooleanFilter(method="filter_open", label=_("open"))
    mine = django_filters.BooleanFilter(method="filter_mine", label=_("mine"))
    # The service dashboard's "open requests nobody owns" card leads here.
    unowned = django_filters.BooleanFilter(method="filter_unowned", label=_("nobody owns"))
    # By id: a customer may have thousands of units, never rendered as a list.
    device = django_filters.NumberFilter(field_name="device_id", label=_("device (id)"))

    class Meta:
        model = Ticket
        fields = ["status", "kind", "channel", "priority", "organization", "device", "owner"]

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = queryset.filter(next_due_at__lte=timezone.now())
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.exclude(status__in=OPEN_STATUSES)

    def filter_unowned(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(owner__isnull=value)

    def filter_mine(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return queryset
        return queryset.filter(owner=user)
