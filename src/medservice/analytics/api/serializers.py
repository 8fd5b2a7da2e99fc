"""Serializers of the analytics API: targets, and the shape of a KPI figure."""

from __future__ import annotations

from rest_framework import serializers

from medservice.analytics.kpis import KPIS
from medservice.analytics.models import KpiTarget


class KpiTargetSerializer(serializers.ModelSerializer):
    kpi = serializers.ChoiceField(choices=sorted(KPIS))
    version = serializers.IntegerField(required=False, min_value=1)

    class Meta:
        model = KpiTarget
        fields = ["id", "kpi", "organization", "device_model", "region", "team", "value",
                  "direction", "amber_band", "valid_from", "active", "proposed", "note",
                  "version"]  # fmt: skip
        read_only_fields = ["id"]

    def validate_amber_band(self, value):
        from django.utils.translation import gettext as _

        if value < 0:
            raise serializers.ValidationError(_("The amber band cannot be negative."))
        return value
