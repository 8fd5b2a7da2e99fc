"""Quality-case list filters on indexed columns."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.quality.models import QualityCase


class QualityCaseFilter(ScopedFilterSet):
    awareness_at = django_filters.DateFromToRangeFilter(label=_("aware between"))
    contact_overdue = django_filters.BooleanFilter(
        method="filter_contact_overdue", label=_("contact overdue")
    )

    class Meta:
        model = QualityCase
        fields = ["status", "source", "organization", "device_model", "batch_number"]

    def filter_contact_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = queryset.filter(contacted_at__isnull=True, contact_due_at__lte=timezone.now())
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))
