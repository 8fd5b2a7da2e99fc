"""The analytics app's records in the generic views and API: KPI targets."""

from __future__ import annotations

from medservice.analytics.api.serializers import KpiTargetSerializer
from medservice.analytics.forms import KpiTargetFilter, KpiTargetForm
from medservice.analytics.models import KpiTarget
from medservice.analytics.selectors import kpi_targets_visible_to
from medservice.core.registry import Resource, register

# --- KPIs and dashboards ---

kpi_targets = register(
    Resource(
        name="kpi-targets",
        model=KpiTarget,
        selector=kpi_targets_visible_to,
        namespace="analytics",
        list_columns=["kpi", "organization", "device_model", "region", "team", "direction",
                      "value", "amber_band", "valid_from", "active", "proposed"],
        detail_fields=["kpi", "organization", "device_model", "region", "team", "direction",
                       "value", "amber_band", "valid_from", "active", "proposed", "note"],
        form_class=KpiTargetForm,
        filterset_class=KpiTargetFilter,
        serializer_class=KpiTargetSerializer,
        search_fields=["kpi", "region", "note"],
        ordering_fields=["kpi", "valid_from"],
        default_ordering=["kpi", "pk"],
        # A target is deactivated or replaced, never deleted: its history is the audit trail.
        delete=None,
        api_basename="kpi-target",
        organization_scoped=False,
        select_related=["organization", "device_model", "team"],
    )
)  # fmt: skip

# --- spot checks ---

# --- evaluation reports ---
