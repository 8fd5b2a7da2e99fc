"""List filters of the maintenance records (UI and API alike), on indexed columns; organisation
and department choices limited to what the user may see."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.maintenance.models import (
    AcceptanceRecord,
    Installation,
    OperatorTraining,
    PmPlan,
    PmVisit,
    RetrainingSuggestion,
    TrainingAttendee,
)


class PmPlanFilter(ScopedFilterSet):
    next_due_on = django_filters.DateFromToRangeFilter(label=_("next PM due between"))
    device = django_filters.NumberFilter(label=_("device"))
    serial_number = django_filters.CharFilter(
        field_name="device__serial_number", label=_("serial number")
    )
    life_support = django_filters.BooleanFilter(
        field_name="device__device_model__life_support", label=_("life support")
    )

    class Meta:
        model = PmPlan
        fields = ["organization", "active", "interval_source", "next_due_on"]


class PmVisitFilter(ScopedFilterSet):
    due_on = django_filters.DateFromToRangeFilter(label=_("due between"))
    device = django_filters.NumberFilter(label=_("device"))
    plan = django_filters.NumberFilter(label=_("PM plan"))

    class Meta:
        model = PmVisit
        fields = ["organization", "status", "due_on"]


class InstallationFilter(ScopedFilterSet):
    device = django_filters.NumberFilter(label=_("device"))

    class Meta:
        model = Installation
        fields = ["organization", "status"]


class AcceptanceFilter(ScopedFilterSet):
    accepted_on = django_filters.DateFromToRangeFilter(label=_("accepted between"))
    device = django_filters.NumberFilter(label=_("device"))
    signed = django_filters.BooleanFilter(
        field_name="signed_at", lookup_expr="isnull", exclude=True, label=_("signed")
    )

    class Meta:
        model = AcceptanceRecord
        fields = ["organization", "accepted_on"]


class OperatorTrainingFilter(ScopedFilterSet):
    held_on = django_filters.DateFromToRangeFilter(label=_("held between"))
    device = django_filters.NumberFilter(field_name="devices", label=_("device"), distinct=True)

    class Meta:
        model = OperatorTraining
        fields = ["organization", "department", "held_on", "device_models"]


class TrainingAttendeeFilter(ScopedFilterSet):
    training = django_filters.NumberFilter(label=_("operator training"))

    class Meta:
        model = TrainingAttendee
        fields = ["organization", "department"]


class RetrainingSuggestionFilter(ScopedFilterSet):
    class Meta:
        model = RetrainingSuggestion
        fields = ["organization", "status"]
