"""Work-order list filters (UI and API alike) on indexed columns."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.work_orders.choices import OPEN_STATUSES
from medservice.work_orders.models import WorkOrder


class WorkOrderFilter(ScopedFilterSet):
    open = django_filters.BooleanFilter(method="filter_open", label=_("open"))
    mine = django_filters.BooleanFilter(method="filter_mine", label=_("mine"))
    # By id: a customer may have thousands of units or requests, never rendered as a list.
    device = django_filters.NumberFilter(field_name="device_id", label=_("device (id)"))
    ticket = django_filters.NumberFilter(field_name="ticket_id", label=_("service request (id)"))
    engineer = django_filters.NumberFilter(field_name="engineer_id", label=_("engineer (id)"))
    # By id: the Pareto chart of fault codes links each bar to its work orders.
    fault_code = django_filters.NumberFilter(field_name="fault_code_id", label=_("fault code (id)"))
    appointment = django_filters.DateFromToRangeFilter(
        field_name="appointment_start", label=_("appointment between")
    )

    class Meta:
        model = WorkOrder
        fields = ["status", "kind", "route", "organization", "payment_status"]

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.exclude(status__in=OPEN_STATUSES)

    def filter_mine(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return queryset
        return queryset.filter(engineer=user) | queryset.filter(owner=user)
