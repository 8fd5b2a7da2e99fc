"""Pages of the evaluation reports: the list (with "generate now" for managers), a report with
its frozen figures, downloads and improvement actions, and the form opening one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from medservice.analytics.forms_reports import GenerateReportForm, ImprovementActionForm
from medservice.analytics.models import EvaluationReport, ReportKind
from medservice.analytics.reports import (
    evaluation_report_generate,
    improvement_action_open,
    improvement_actions_of,
    target_text,
)
from medservice.analytics.resources import evaluation_reports
from medservice.core.errors import DomainError

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _visible(request: HttpRequest) -> QuerySet[EvaluationReport]:
    """The reports this user may read; a role that may not read them gets 404, as for a
    record outside its scope."""
    if not request.user.has_perm("analytics.view_evaluationreport"):
        raise Http404
    return evaluation_reports.queryset_for(request.user)


def _errors_onto(form: forms.Form, error: DomainError) -> None:
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem)


def _list(request: HttpRequest, form: GenerateReportForm | None, status: int = 200) -> HttpResponse:
    reports = _visible(request).order_by("-period_start", "kind", "-revision")
    kind = request.GET.get("kind", "")
    if kind in ReportKind.values:
        reports = reports.filter(kind=kind)
    page = Paginator(reports, 25).get_page(request.GET.get("page"))
    may_generate = request.user.has_perm("analytics.generate_evaluationreport")
    if may_generate and form is None:
        form = GenerateReportForm()
    return render(
        request, "analytics/evaluation_reports.html",
        {"page": page, "form": form if may_generate else None, "kind": kind,
         "kinds": ReportKind.choices},
        status=status,
    )  # fmt: skip


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    """Every report, newest period first, and for managers the form making one now."""
    return _list(request, None)


@login_required
@require_POST
def report_generate(request: HttpRequest) -> HttpResponse:
    """Generate (or regenerate, as the next revision) a month's or quarter's report now."""
    _visible(request)
    form = GenerateReportForm(request.POST)
    if not form.is_valid():
        return _list(request, form, status=400)
    try:
        report = evaluation_report_generate(
            actor=request.user, kind=form.cleaned_data["kind"],
            period_start=form.cleaned_data["period_start"],
        )  # fmt: skip
    except DomainError as error:
        _errors_onto(form, error)
        return _list(request, form, status=error.status)
    messages.success(request, _("Generated %(report)s.") % {"report": report})
    return redirect("analytics:evaluation-reports-detail", pk=report.pk)


def _detail(
    request: HttpRequest, report: EvaluationReport, form: ImprovementActionForm | None,
    status: int = 200,
) -> HttpResponse:  # fmt: skip
    may_open = request.user.has_perm("analytics.add_reportimprovementaction")
    if may_open and form is None:
        form = ImprovementActionForm(report=report)
    revisions = EvaluationReport.objects.filter(
        kind=report.kind, period_start=report.period_start
    ).order_by("revision")
    figures = [{**figure, "target_text": target_text(figure)} for figure in report.figures]
    return render(
        request, "analytics/evaluation_report.html",
        {"report": report, "figures": figures, "sections": report.sections,
         "actions": improvement_actions_of(report), "form": form if may_open else None,
         "revisions": revisions},
        status=status,
    )  # fmt: skip


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One report: its figures against target and the previous period, the sections, the
    downloads and the improvement actions it raised (their status now)."""
    return _detail(request, get_object_or_404(_visible(request), pk=pk), None)


@login_required
def report_download(request: HttpRequest, pk: int, extension: str) -> HttpResponse:
    """The stored PDF or XLSX, exactly as generated."""
    report = get_object_or_404(_visible(request), pk=pk)
    stored = report.pdf if extension == "pdf" else report.xlsx
    if not stored:
        raise Http404
    return FileResponse(
        stored.open("rb"), content_type=CONTENT_TYPES[extension], as_attachment=True,
        filename=f"{report.file_stem}.{extension}",
    )  # fmt: skip


@login_required
@require_POST
def report_improvement_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Open an improvement action (a CAPA of kind improvement) raised by this report."""
    report = get_object_or_404(_visible(request), pk=pk)
    form = ImprovementActionForm(request.POST, report=report)
    if not form.is_valid():
        return _detail(request, report, form, status=400)
    data = form.cleaned_data
    try:
        capa = improvement_action_open(
            actor=request.user, report=report, kpi_code=data["kpi"], problem=data["problem"],
            owner=data["owner"], due_on=data["due_on"],
        )  # fmt: skip
    except DomainError as error:
        _errors_onto(form, error)
        return _detail(request, report, form, status=error.status)
    messages.success(request, _("Opened improvement action %(number)s.") % {"number": capa})
    return redirect("analytics:evaluation-reports-detail", pk=report.pk)


def _of_resource(view: Any) -> Any:
    # Every page reads through the resource's selector (see tests/test_scoping.py).
    view.resource = evaluation_reports
    return view


urlpatterns = [
    path("evaluation-reports/", _of_resource(report_list), name="evaluation-reports-list"),
    path("evaluation-reports/generate/", _of_resource(report_generate),
         name="evaluation-reports-generate"),
    path("evaluation-reports/<int:pk>/", _of_resource(report_detail),
         name="evaluation-reports-detail"),
    path("evaluation-reports/<int:pk>/pdf/", _of_resource(report_download),
         {"extension": "pdf"}, name="evaluation-reports-pdf"),
    path("evaluation-reports/<int:pk>/xlsx/", _of_resource(report_download),
         {"extension": "xlsx"}, name="evaluation-reports-xlsx"),
    path("evaluation-reports/<int:pk>/improvement-actions/",
         _of_resource(report_improvement_action), name="evaluation-reports-improvement-action"),
]  # fmt: skip
