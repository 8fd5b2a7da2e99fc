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
from django.utils.translation import gettext_lazy as _  # noqa: E402

from medservice.analytics.api.spot_checks import (  # noqa: E402
    SpotCheckChecklistItemSerializer,
    SpotCheckPlanSerializer,
)
from medservice.analytics.forms_spot_checks import (  # noqa: E402
    SpotCheckChecklistItemFilter,
    SpotCheckChecklistItemForm,
    SpotCheckPlanFilter,
    SpotCheckPlanForm,
)
from medservice.analytics.models import SpotCheckChecklistItem, SpotCheckPlan  # noqa: E402
from medservice.analytics.selectors_spot_checks import (  # noqa: E402
    spot_check_checklist_items_visible_to,
    spot_check_plans_visible_to,
)
from medservice.core.registry import Related  # noqa: E402

spot_check_plans = register(
    Resource(
        name="spot-check-plans",
        model=SpotCheckPlan,
        selector=spot_check_plans_visible_to,
        namespace="analytics",
        list_columns=["name", "record_kind", "stratum", "size_per_stratum", "active",
                      "default_reviewer"],
        detail_fields=["name", "record_kind", "stratum", "size_per_stratum", "active",
                       "default_reviewer", "created_at", "updated_at"],
        form_class=SpotCheckPlanForm,
        filterset_class=SpotCheckPlanFilter,
        serializer_class=SpotCheckPlanSerializer,
        search_fields=["name"],
        ordering_fields=["name"],
        default_ordering=["name", "pk"],
        # A plan with samples is deactivated, not deleted: its samples name it.
        delete=None,
        api_basename="spot-check-plan",
        organization_scoped=False,
        select_related=["default_reviewer"],
        related=[
            Related(
                _("Checklist"),
                lambda plan, user: spot_check_checklist_items_visible_to(user).filter(plan=plan),
                ["order", "code", "text_zh", "text_en"],
                "analytics:spot-check-checklist-items-detail",
                new_url_name="analytics:spot-check-checklist-items-create",
                new_label=_("Add a checklist point"),
                new_permission="analytics.add_spotcheckchecklistitem",
            ),
        ],
    )
)  # fmt: skip

spot_check_checklist_items = register(
    Resource(
        name="spot-check-checklist-items",
        model=SpotCheckChecklistItem,
        selector=spot_check_checklist_items_visible_to,
        namespace="analytics",
        list_columns=["plan", "order", "code", "text_zh", "text_en"],
        detail_fields=["plan", "order", "code", "text_zh", "text_en"],
        form_class=SpotCheckChecklistItemForm,
        filterset_class=SpotCheckChecklistItemFilter,
        serializer_class=SpotCheckChecklistItemSerializer,
        search_fields=["code", "text_zh", "text_en"],
        ordering_fields=["plan", "order"],
        default_ordering=["plan", "order", "pk"],
        api_basename="spot-check-checklist-item",
        organization_scoped=False,
        select_related=["plan"],
    )
)  # fmt: skip

# --- evaluation reports ---

from medservice.analytics.forms_reports import EvaluationReportFilter  # noqa: E402
from medservice.analytics.models import EvaluationReport  # noqa: E402
from medservice.analytics.selectors import evaluation_reports_visible_to  # noqa: E402

evaluation_reports = register(
    Resource(
        name="evaluation-reports",
        model=EvaluationReport,
        selector=evaluation_reports_visible_to,
        namespace="analytics",
        list_columns=["kind", "period_start", "period_end", "revision", "as_of", "generated_by"],
        detail_fields=["kind", "period_start", "period_end", "revision", "as_of", "pdf_sha256",
                       "xlsx_sha256", "generated_by"],
        filterset_class=EvaluationReportFilter,
        serializer_class=None,  # set by analytics.api.reports (its own serializer)
        ordering_fields=["period_start", "as_of"],
        default_ordering=["-period_start", "kind", "-revision"],
        # Generated by a service and frozen: never created, edited or deleted by hand.
        create=None,
        update=None,
        delete=None,
        api_basename="evaluation-report",
        organization_scoped=False,
        select_related=["generated_by"],
    )
)  # fmt: skip
