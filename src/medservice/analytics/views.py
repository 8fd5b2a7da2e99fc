"""Pages of the analytics app: the KPI table with its filters and targets, and the records
behind each figure. (Dashboards, spot checks, reports and charts have their own modules.)"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import ngettext

from medservice.analytics.forms import KpiFilterForm
from medservice.analytics.kpis import KPIS, kpi_compute, kpis_for
from medservice.analytics.snapshots import KpiPending, kpi_figures_or_pending, stored_age
from medservice.core.errors import InvalidInputError

# --- KPIs and dashboards ---


def _refused(form: KpiFilterForm, error: InvalidInputError) -> None:
    """Show a KPI's own refusal of a query parameter (an unknown `target`) on the form."""
    for name, messages in (error.fields or {}).items():
        for message in messages:
            form.add_error(None, f"{name}: {message}")
    if not error.fields:
        form.add_error(None, error.message)


def fresh_asked(parameters: Any) -> bool:
    """`fresh=1` (or true): compute the figures now rather than show stored ones."""
    return str(parameters.get("fresh", "")).lower() in {"1", "true", "yes"}


def computing_page(
    request: HttpRequest, template: str, context: dict[str, Any], pending: KpiPending
) -> HttpResponse:
    """202: the figures are being computed in the background; the page reloads itself (without
    `fresh`, which the computation already honours) until they are stored."""
    seconds = pending.retry_after
    notice = ngettext(
        "The figures are being computed; this page reloads itself in %(seconds)d second.",
        "The figures are being computed; this page reloads itself in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}
    response = render(request, template, {**context, "computing": notice}, status=202)
    response["Refresh"] = str(seconds)
    if "fresh" in request.GET:
        # Reloading with `fresh` could ask again for figures the task has just computed.
        query = request.GET.copy()
        query.pop("fresh")
        response["Refresh"] = f"{seconds}; url={request.path}?{query.urlencode()}"
    return response


def _form(request: HttpRequest) -> KpiFilterForm:
    return KpiFilterForm(request.GET or None, user=request.user)


@login_required
def kpi_table(request: HttpRequest) -> HttpResponse:
    """Every KPI the user may see, against its target, for the chosen period and filters."""
    definitions = kpis_for(request.user)
    if not definitions:
        raise Http404
    form = _form(request)
    if form.is_bound and not form.is_valid():
        return render(request, "analytics/kpis.html", {"form": form, "rows": []}, status=400)
    if not form.is_bound:
        form = KpiFilterForm({}, user=request.user)
        form.is_valid()
    kpi_filter = form.kpi_filter()
    try:
        results = kpi_figures_or_pending([item.code for item in definitions], kpi_filter,
                                         fresh=fresh_asked(request.GET))  # fmt: skip
    except InvalidInputError as error:
        _refused(form, error)
        return render(request, "analytics/kpis.html", {"form": form, "rows": []}, status=400)
    if isinstance(results, KpiPending):
        return computing_page(request, "analytics/kpis.html", {"form": form, "rows": []}, results)
    rows = []
    for definition, result in zip(definitions, results, strict=True):
        age = stored_age(result)
        rows.append({"result": result, "definition": definition, "age": age,
                     "age_minutes": None if age is None else age // 60})  # fmt: skip
    query = request.GET.copy()
    query.pop("fresh", None)
    max_age = settings.ANALYTICS_SNAPSHOT_MAX_AGE
    return render(
        request, "analytics/kpis.html",
        {"form": form, "rows": rows, "query": query.urlencode(), "filter": kpi_filter,
         "stored": max_age > 0, "max_age_minutes": max_age // 60},
    )  # fmt: skip


kpi_table.scoping_exempt = "every figure is computed over the user's scope (kpis.scoped)"  # type: ignore[attr-defined]


@login_required
def kpi_records(request: HttpRequest, code: str) -> HttpResponse:
    """The records counted in one figure, with what each contributed."""
    definition = KPIS.get(code)
    if definition is None or not definition.available_to(request.user):
        raise Http404
    form = _form(request)
    if not form.is_bound:
        form = KpiFilterForm({}, user=request.user)
    if not form.is_valid():
        return render(
            request, "analytics/kpi_records.html",
            {"form": form, "definition": definition, "page": None}, status=400,
        )  # fmt: skip
    try:
        result = kpi_compute(code, form.kpi_filter())
    except InvalidInputError as error:
        _refused(form, error)
        return render(
            request, "analytics/kpi_records.html",
            {"form": form, "definition": definition, "page": None}, status=400,
        )  # fmt: skip
    page = Paginator(result.listing(), 50).get_page(request.GET.get("page"))
    rows: list[dict[str, Any]] = [
        {"record": record, "measure": result.measures.get(record.pk),
         "cells": [column.read(record) for column in definition.columns]}
        for record in page
    ]  # fmt: skip
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "analytics/kpi_records.html",
        {"form": form, "definition": definition, "result": result, "page": page, "rows": rows,
         "query": query.urlencode()},
    )  # fmt: skip


kpi_records.scoping_exempt = "lists only records in the user's scope (kpis.scoped)"  # type: ignore[attr-defined]

urlpatterns = [
    path("kpis/", kpi_table, name="kpis"),
    path("kpis/<slug:code>/", kpi_records, name="kpi-records"),
]
