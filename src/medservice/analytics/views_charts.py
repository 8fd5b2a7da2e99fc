"""The charts page: a KPI's 12-month trend, the Pareto of fault codes of completed repairs and
service-promise compliance over time, for the KPI filter's scope and period. The specs are
rendered with `json_script` and drawn by `core/charts.js` (no inline script, CSP
`script-src 'self'`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from medservice.analytics.charts import fault_pareto, kpi_trend, sla_over_time
from medservice.analytics.forms import KpiFilterForm
from medservice.analytics.kpis import kpis_for
from medservice.analytics.snapshots import KpiPending
from medservice.analytics.views import computing_page
from medservice.customers.selectors import user_scope


@login_required
def charts_page(request: HttpRequest) -> HttpResponse:
    """The three charts for the filter's period (the trend and SLA charts: the 12 months
    ending with it). `?code=` chooses the KPI of the trend."""
    definitions = kpis_for(request.user)
    if not request.user.has_perm("analytics.view_kpis") or user_scope(request.user) == "none":
        raise Http404
    form = KpiFilterForm(request.GET or {}, user=request.user)
    context: dict[str, Any] = {"form": form, "definitions": definitions, "charts": []}
    if not form.is_valid():
        return render(request, "analytics/charts.html", context, status=400)
    kpi_filter = form.kpi_filter()
    codes = [definition.code for definition in definitions]
    code = request.GET.get("code") or (codes[0] if codes else "")
    if code and code not in codes:
        raise Http404
    charts: list[dict[str, Any]] = []
    if code:
        charts.append({"id": "chart-kpi-trend", "spec": kpi_trend(code, kpi_filter)})
    charts.append({"id": "chart-fault-pareto", "spec": fault_pareto(kpi_filter)})
    if user_scope(request.user) == "internal" or any(
        definition.code == "sla_compliance" for definition in definitions
    ):
        charts.append({"id": "chart-sla", "spec": sla_over_time(kpi_filter)})
    # Every chart asks for what it misses before the page says it is waiting, so one reload
    # after the task has run shows them all.
    pending = [chart["spec"] for chart in charts if isinstance(chart["spec"], KpiPending)]
    if pending:
        return computing_page(
            request, "analytics/charts.html", {**context, "code": code}, pending[0]
        )
    now = timezone.now()
    for chart in charts:
        chart["spec_id"] = f"{chart['id']}-spec"
        # When a stored series was computed: shown under the chart, not given to Plotly.
        chart["stored_at"] = chart["spec"].pop("stored_at", None)
        if chart["stored_at"] is not None:
            chart["age_minutes"] = int((now - chart["stored_at"]).total_seconds()) // 60
    context.update({"charts": charts, "code": code})
    return render(request, "analytics/charts.html", context)


charts_page.scoping_exempt = "every figure is computed over the user's scope (kpis.scoped)"  # type: ignore[attr-defined]

urlpatterns = [path("charts/", charts_page, name="charts")]
