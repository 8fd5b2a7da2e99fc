"""Return list filters on indexed columns."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.returns.models import ReturnRequest, ReturnRule


class ReturnRequestFilter(ScopedFilterSet):
    requested_on = django_filters.DateFromToRangeFilter(label=_("requested between"))
    device_model = django_filters.NumberFilter(
        field_name="lines__device_model", label=_("device model"), distinct=True
    )
    device = django_filters.NumberFilter(field_name="lines__device", label=_("device"),
                                         distinct=True)  # fmt: skip

    class Meta:
        model = ReturnRequest
        fields = ["status", "decision", "reason", "cause", "responsibility", "organization"]


class ReturnRuleFilter(django_filters.FilterSet):
    class Meta:
        model = ReturnRule
        fields = ["active", "device_model", "product_line", "window_start"]
