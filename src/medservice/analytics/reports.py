"""Periodic evaluation reports (定期评估) and the improvement actions they raise.

A report freezes, for one month or quarter, every KPI of the registry against its target and
the previous period, the top problems (fault codes of completed repairs, returns by reason),
spot-check findings, survey results by team and the improvement actions, and renders them as
a PDF (WeasyPrint, CJK fonts) and an XLSX (openpyxl, numbers stored as numbers). The figures
are computed by `kpi_compute` exactly as the dashboard computes them, as the company sees
them (every organisation), so the workbook reads back the dashboard's numbers for the same
period and `as_of`. A report never changes: generating the period again makes a new revision.

Improvement actions are CAPAs of kind "improvement" in quality's tracker, opened through
`quality.capa.capa_open` with the report as their source (ADR 0013, point 8).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from medservice.analytics.choices import Direction
from medservice.analytics.kpis import KpiFilter, KpiResult, kpi_compute, kpis_for
from medservice.analytics.models import EvaluationReport, ReportImprovementAction, ReportKind
from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, PermissionDeniedError, Problems

logger = logging.getLogger(__name__)

JOB_NAME = "analytics.evaluation-reports"
# Top problems list this many fault codes (the Pareto's head).
TOP_FAULT_CODES = 10


# --- periods ------------------------------------------------------------------------------------


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def period_months(kind: str) -> int:
    return 3 if kind == ReportKind.QUARTERLY else 1


def period_end_of(kind: str, period_start: datetime.date) -> datetime.date:
    """The last day of the month or quarter starting on `period_start`."""
    return _add_months(period_start, period_months(kind)) - datetime.timedelta(days=1)


def last_complete_period(kind: str, today: datetime.date) -> datetime.date:
    """The first day of the last month (quarter) that ended before `today`."""
    this_month = today.replace(day=1)
    if kind == ReportKind.QUARTERLY:
        this_quarter = this_month.replace(month=(today.month - 1) // 3 * 3 + 1)
        return _add_months(this_quarter, -3)
    return _add_months(this_month, -1)


def _check_period(problems: Problems, kind: str, period_start: Any) -> None:
    if kind not in ReportKind.values:
        problems.add("kind", _("Choose monthly or quarterly."))
        return
    if not isinstance(period_start, datetime.date):
        problems.add("period_start", _("Give the first day of the period."))
        return
    if period_start.day != 1 or (
        kind == ReportKind.QUARTERLY and period_start.month not in (1, 4, 7, 10)
    ):
        problems.add(
            "period_start",
            _("A quarter starts on 1 January, April, July or October.")
            if kind == ReportKind.QUARTERLY
            else _("A month starts on its first day."),
        )
    elif period_end_of(kind, period_start) >= timezone.localdate():
        problems.add("period_start", _("The period has not ended yet."))


# --- figures ------------------------------------------------------------------------------------


def report_reader() -> Any:
    """Who the report's figures are computed for: the company itself (every organisation,
    every KPI), whoever pressed the button or if a job made it. An unsaved superuser that
    never signs in; it exists only to scope the reads."""
    from medservice.accounts.models import User

    return User(username="evaluation-report", is_superuser=True, is_active=True)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _figure(result: KpiResult, previous: KpiResult) -> dict[str, Any]:
    definition = result.definition
    target = result.target
    return {
        "code": definition.code,
        "name": str(definition.name),
        "unit": definition.unit,
        "statistic": str(definition.statistic),
        "value": _text(result.value),
        "numerator": _text(result.numerator),
        "denominator": _text(result.denominator),
        "median": _text(result.median),
        "p90": _text(result.p90),
        "target": None if target is None else {
            "value": _text(target.value), "direction": target.direction,
            "amber_band": _text(target.amber_band), "proposed": target.proposed,
        },
        "verdict": result.verdict,
        "previous": {
            "value": _text(previous.value), "numerator": _text(previous.numerator),
            "denominator": _text(previous.denominator),
        },
        "provisional_until": _text(result.provisional_until),
        "notes": [str(note) for note in result.notes],
    }  # fmt: skip


def report_figures(kpi_filter: KpiFilter) -> list[dict[str, Any]]:
    """Every KPI the filter's user may see, for the period and the period before, each as one
    JSON-ready row (decimals as exact strings), in the dashboard's order."""
    return _computed(kpi_filter)[0]


# A drill-down row: the record's id, its label and what it contributed to the figure.
DrillDown = list[tuple[int, str, Any]]


def _computed(kpi_filter: KpiFilter) -> tuple[list[dict[str, Any]], dict[str, DrillDown]]:
    """The figures, and per KPI the records counted in it (for the workbook's drill-down
    sheets), from one computation each."""
    previous = kpi_filter.previous()
    figures, drilldowns = [], {}
    for definition in kpis_for(kpi_filter.user):
        result = kpi_compute(definition.code, kpi_filter)
        figures.append(_figure(result, kpi_compute(definition.code, previous)))
        drilldowns[definition.code] = [
            (record.pk, str(record), result.measures.get(record.pk)) for record in result.listing()
        ]
    return figures, drilldowns


def top_fault_codes(kpi_filter: KpiFilter, limit: int = TOP_FAULT_CODES) -> list[dict[str, Any]]:
    """The Pareto of fault codes of the repairs completed in the period: count, share and
    cumulative share of the coded repairs."""
    from medservice.work_orders.choices import WorkOrderKind
    from medservice.work_orders.selectors import work_orders_visible_to

    rows = list(
        work_orders_visible_to(kpi_filter.user)
        .filter(kpi_filter.in_period("completed_at"), kind=WorkOrderKind.REPAIR,
                fault_code__isnull=False)
        .values("fault_code__code", "fault_code__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "fault_code__code")
    )  # fmt: skip
    total = sum(row["count"] for row in rows)
    cumulative = 0
    pareto = []
    for row in rows[:limit]:
        cumulative += row["count"]
        pareto.append({
            "code": row["fault_code__code"], "name": row["fault_code__name"],
            "count": row["count"], "share": _text(_percent(row["count"], total)),
            "cumulative": _text(_percent(cumulative, total)),
        })  # fmt: skip
    return pareto


def _percent(part: int, whole: int) -> Decimal | None:
    from medservice.analytics.kpis import percent

    return percent(part, whole)


def returns_by_reason(kpi_filter: KpiFilter) -> list[dict[str, Any]]:
    """Returns asked for in the period, by reason (returns.selectors.returns_report)."""
    from medservice.returns.selectors import returns_report

    rows = returns_report(kpi_filter.user, group="reason", date_from=kpi_filter.start,
                          date_to=kpi_filter.end)  # fmt: skip
    rows.sort(key=lambda row: (-row.requests, row.label))
    return [
        {"reason": row.label, "requests": row.requests, "quantity": row.quantity,
         "refunded": _text(row.refunded)}
        for row in rows
    ]  # fmt: skip


def survey_results_by_team(kpi_filter: KpiFilter) -> dict[str, Any]:
    """Answered surveys of the period by team: surveys, the average of each score question,
    NPS (feedback.selectors_followups.survey_results)."""
    from medservice.feedback.selectors_followups import survey_results

    questions, rows = survey_results(kpi_filter.user, by="team", date_from=kpi_filter.start,
                                     date_to=kpi_filter.end)  # fmt: skip
    language = translation.get_language() or ""
    return {
        "questions": [{"code": q.code, "text": q.text_in(language)} for q in questions],
        "rows": [
            {"team": row.label, "surveys": row.surveys,
             "averages": {q.code: row.averages.get(q.code) for q in questions},
             "nps": row.nps}
            for row in rows
        ],
    }  # fmt: skip


def spot_check_findings(kpi_filter: KpiFilter) -> list[dict[str, Any]]:
    """Spot-check findings (minor and major) reviewed in the period, major first, each named by
    the record it is about (the request's or work order's number) and whose work it was."""
    from django.db.models import Case, IntegerField, Value, When

    from medservice.analytics.choices import SpotCheckSeverity
    from medservice.analytics.models import SpotCheckItem

    items = (
        SpotCheckItem.objects.filter(
            kpi_filter.in_period("reviewed_at"),
            severity__in=[SpotCheckSeverity.MINOR, SpotCheckSeverity.MAJOR],
        )
        .annotate(
            weight=Case(
                When(severity=SpotCheckSeverity.MAJOR, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .select_related("content_type")
        .prefetch_related("record")
        .order_by("weight", "reviewed_at", "pk")
    )
    return [
        {"record": getattr(item.record, "number", None) or str(item.record or item),
         "stratum": item.stratum_label, "severity": item.get_severity_display(),
         "note": item.note, "reviewed_at": timezone.localtime(item.reviewed_at).isoformat()}
        for item in items
    ]  # fmt: skip


def improvement_actions_in(kpi_filter: KpiFilter) -> QuerySet[Any]:
    """CAPAs of kind improvement opened in the period or still open during it."""
    from medservice.quality.choices import CapaKind
    from medservice.quality.models import Capa

    start, end = kpi_filter.start_at, kpi_filter.upto
    return (
        Capa.objects.filter(kind=CapaKind.IMPROVEMENT, created_at__lt=end)
        .filter(
            Q(closed_at__isnull=True, cancelled_at__isnull=True)
            | Q(closed_at__gte=start)
            | Q(cancelled_at__gte=start)
        )
        .select_related("owner")
        .order_by("created_at", "pk")
    )


def _capa_row(capa: Any) -> dict[str, Any]:
    return {
        "number": capa.number,
        "problem": capa.problem,
        "source": capa.source_label,
        "owner": (capa.owner.get_full_name() or capa.owner.username) if capa.owner else "",
        "due_on": _text(capa.due_on),
        "status": str(capa.get_status_display()),
        "effectiveness": str(capa.get_verification_result_display() or ""),
    }


def report_sections(kpi_filter: KpiFilter) -> dict[str, Any]:
    return {
        "fault_codes": top_fault_codes(kpi_filter),
        "returns": returns_by_reason(kpi_filter),
        "spot_checks": spot_check_findings(kpi_filter),
        "surveys": survey_results_by_team(kpi_filter),
        "improvement_actions": [_capa_row(capa) for capa in improvement_actions_in(kpi_filter)],
    }


# --- files --------------------------------------------------------------------------------------


def _number(text: str | None) -> Decimal | int | None:
    """A stored figure back as a number for the workbook (whole numbers as integers)."""
    if text is None:
        return None
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else value


def target_text(figure: dict[str, Any]) -> str:
    target = figure.get("target")
    if not target:
        return "—"
    sign = "≤" if target["direction"] == Direction.AT_MOST else "≥"
    return f"{sign} {target['value']}"


def _context(report: EvaluationReport) -> dict[str, Any]:
    rows = []
    for figure in report.figures:
        rows.append({**figure, "target_text": target_text(figure)})
    return {"report": report, "figures": rows, "sections": report.sections}


def evaluation_report_pdf(report: EvaluationReport) -> bytes:
    """The report as printed (A4, CJK fonts), in the report's language."""
    from weasyprint import HTML

    with translation.override(report.language or None):
        html = render_to_string("analytics/evaluation_report_pdf.html", _context(report))
    return HTML(string=html).write_pdf()


KPI_SHEET = "KPIs"


def evaluation_report_xlsx(
    report: EvaluationReport, drilldowns: dict[str, DrillDown] | None = None
) -> bytes:
    """The report as a workbook: sheet "KPIs" (code, name, numerator, denominator, value,
    target, previous, then the details) with numbers stored as numbers, one sheet per section
    and, when given, one per KPI listing the records counted (named by the KPI's code)."""
    from openpyxl import Workbook

    with translation.override(report.language or None):
        workbook = Workbook()
        facts = workbook.active
        facts.title = _("Report")[:31]
        for label, value in [
            (_("Kind"), str(report.get_kind_display())),
            (_("Period"), report.period_label),
            (_("From"), report.period_start),
            (_("To"), report.period_end),
            (_("Revision"), report.revision),
            (_("Figures as of"), timezone.localtime(report.as_of).strftime("%Y-%m-%d %H:%M")),
        ]:
            facts.append([str(label), value])
        # The sheet's name is fixed (not translated): programs reading the workbook find it.
        sheet = workbook.create_sheet(KPI_SHEET)
        sheet.append([str(label) for label in (
            _("Code"), _("KPI"), _("Numerator"), _("Denominator"), _("Value"), pgettext("kpi", "Target"),
            _("Previous period"), _("Unit"), _("Median"), _("p90"), _("Against target"),
            _("Target direction"), _("Provisional until"),
        )])  # fmt: skip
        for figure in report.figures:
            target = figure.get("target") or {}
            sheet.append([
                figure["code"], figure["name"], _number(figure["numerator"]),
                _number(figure["denominator"]), _number(figure["value"]),
                _number(target.get("value")), _number(figure["previous"]["value"]),
                figure["unit"], _number(figure["median"]), _number(figure["p90"]),
                figure["verdict"] or "", target.get("direction", ""),
                figure["provisional_until"] or "",
            ])  # fmt: skip
        sections = report.sections
        problems = workbook.create_sheet(_("Top problems")[:31])
        problems.append([_("Fault code"), _("Name"), _("Repairs"), _("Share %"),
                         _("Cumulative %")])  # fmt: skip
        for row in sections.get("fault_codes", []):
            problems.append([row["code"], row["name"], row["count"], _number(row["share"]),
                             _number(row["cumulative"])])  # fmt: skip
        problems.append([])
        problems.append([_("Return reason"), _("Requests"), _("Quantity"), _("Refunded")])
        for row in sections.get("returns", []):
            problems.append([row["reason"], row["requests"], row["quantity"],
                             _number(row["refunded"])])  # fmt: skip
        spot = workbook.create_sheet(_("Spot checks")[:31])
        spot.append([_("Record"), _("Severity"), _("Note"), _("Reviewed at")])
        for row in sections.get("spot_checks", []):
            spot.append([row["record"], row["severity"], row["note"], row["reviewed_at"]])
        surveys = sections.get("surveys", {"questions": [], "rows": []})
        survey_sheet = workbook.create_sheet(_("Surveys")[:31])
        survey_sheet.append([_("Team"), _("Surveys"),
                             *[q["text"] for q in surveys["questions"]], "NPS"])  # fmt: skip
        for row in surveys["rows"]:
            survey_sheet.append([row["team"], row["surveys"],
                                 *[row["averages"].get(q["code"]) for q in surveys["questions"]],
                                 row["nps"]])  # fmt: skip
        actions = workbook.create_sheet(_("Improvement actions")[:31])
        actions.append([_("Number"), _("Problem"), _("Source"), _("Responsible person"),
                        _("Target date"), _("Status"), _("Effectiveness")])  # fmt: skip
        for row in sections.get("improvement_actions", []):
            actions.append([row["number"], row["problem"], row["source"], row["owner"],
                            row["due_on"] or "", row["status"], row["effectiveness"]])  # fmt: skip
        names = {figure["code"]: figure["name"] for figure in report.figures}
        for code, rows in (drilldowns or {}).items():
            drill = workbook.create_sheet(code[:31])
            drill.append([_("Id"), names.get(code, code), _("Counted")])
            for pk, label, measure in rows:
                drill.append([pk, label, _measure(measure)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _measure(value: Any) -> Any:
    """What a record contributed, as a spreadsheet value: 1/0 for in the numerator or not,
    hours as numbers."""
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, int | float | Decimal):
        return value
    return str(value)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --- services -----------------------------------------------------------------------------------


def evaluation_report_generate(
    *, kind: str, period_start: datetime.date, actor: Any = None
) -> EvaluationReport:
    """Compute, freeze and render the report of one month or quarter (an ended period). The
    first time it is revision 1; again, the next revision (the earlier ones are kept as they
    were). `actor` None: the daily job."""
    if actor is not None and not actor.has_perm("analytics.generate_evaluationreport"):
        raise PermissionDeniedError(_("You may not generate evaluation reports."))
    problems = Problems()
    _check_period(problems, kind, period_start)
    problems.raise_if_any(_("The report was not generated."))
    period_end = period_end_of(kind, period_start)
    as_of = timezone.now()
    kpi_filter = KpiFilter(user=report_reader(), start=period_start, end=period_end, as_of=as_of)
    figures, drilldowns = _computed(kpi_filter)
    sections = report_sections(kpi_filter)
    language = translation.get_language() or ""
    for attempt in range(3):
        try:
            return _report_save(
                kind=kind, period_start=period_start, period_end=period_end, as_of=as_of,
                language=language, figures=figures, sections=sections, actor=actor,
                drilldowns=drilldowns,
            )  # fmt: skip
        except IntegrityError:
            # Someone generated the same period at the same moment: take the next revision.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _report_save(
    *, actor: Any, drilldowns: dict[str, DrillDown], **fields: Any
) -> EvaluationReport:
    with transaction.atomic(), audit_context(actor=actor, job=None if actor else JOB_NAME):
        latest = EvaluationReport.objects.filter(
            kind=fields["kind"], period_start=fields["period_start"]
        ).aggregate(latest=Max("revision"))["latest"]
        report = EvaluationReport(**fields, revision=(latest or 0) + 1, generated_by=actor)
        pdf = evaluation_report_pdf(report)
        xlsx = evaluation_report_xlsx(report, drilldowns)
        report.pdf.save(f"{report.file_stem}.pdf", ContentFile(pdf), save=False)
        report.xlsx.save(f"{report.file_stem}.xlsx", ContentFile(xlsx), save=False)
        report.pdf_sha256, report.xlsx_sha256 = _sha256(pdf), _sha256(xlsx)
        report.save()
    return report


def evaluation_reports_due(*, today: datetime.date | None = None) -> list[EvaluationReport]:
    """The daily job's work: last month's report, and in a quarter's first month the last
    quarter's, each made once (a period that has any revision is left alone)."""
    today = today or timezone.localdate()
    due = [(ReportKind.MONTHLY, last_complete_period(ReportKind.MONTHLY, today))]
    if today.month in (1, 4, 7, 10):
        due.append((ReportKind.QUARTERLY, last_complete_period(ReportKind.QUARTERLY, today)))
    made = []
    for kind, start in due:
        if EvaluationReport.objects.filter(kind=kind, period_start=start).exists():
            continue
        made.append(evaluation_report_generate(kind=kind, period_start=start))
    return made


def improvement_label(report: EvaluationReport, figure: dict[str, Any] | None) -> str:
    """The CAPA's source label: "2026-03 Monthly evaluation: First response time 31 (≤ 24)"."""
    title = _("%(period)s %(kind)s evaluation") % {
        "period": report.period_label, "kind": report.get_kind_display(),
    }  # fmt: skip
    if figure is None:
        return title
    return _("%(title)s: %(kpi)s %(value)s (target %(target)s)") % {
        "title": title, "kpi": figure["name"], "value": figure["value"] or "—",
        "target": target_text(figure),
    }  # fmt: skip


def improvement_action_open(
    *,
    actor: Any,
    report: EvaluationReport,
    kpi_code: str,
    problem: str,
    owner: Any,
    due_on: datetime.date | None,
) -> Any:
    """Open an improvement action (a CAPA of kind "improvement") raised by this report about
    one of its KPIs (or the report as a whole when `kpi_code` is blank), with its owner and
    due date; the CAPA's own verification records the effect. Returns the Capa."""
    from medservice.quality.capa import capa_open

    if actor is not None and not actor.has_perm("analytics.view_evaluationreport"):
        raise PermissionDeniedError(_("You may not read evaluation reports."))
    figure = None
    if kpi_code:
        figure = next((row for row in report.figures if row["code"] == kpi_code), None)
        if figure is None:
            message = _("This report has no such KPI.")
            raise InvalidInputError(message, fields={"kpi": [message]})
    with transaction.atomic():
        capa = capa_open(
            actor=actor, kind="improvement", problem=problem, source=report,
            source_label=improvement_label(report, figure), owner=owner, due_on=due_on,
            permission="analytics.add_reportimprovementaction",
        )  # fmt: skip
        with audit_context(actor=actor):
            ReportImprovementAction(report=report, capa=capa, kpi=kpi_code or "").save()
    return capa


def improvement_actions_of(report: EvaluationReport) -> list[dict[str, Any]]:
    """The improvement actions raised by any revision of this report's period, live (their
    status as it is now), with the KPI each is about."""
    from django.contrib.contenttypes.models import ContentType

    from medservice.quality.models import Capa

    revisions = EvaluationReport.objects.filter(
        kind=report.kind, period_start=report.period_start
    ).values_list("pk", flat=True)
    ids = [str(pk) for pk in revisions]
    # quality.capa.capas_of_source(report), for every revision of the period in one query.
    capas = list(
        Capa.objects.filter(
            source_type=ContentType.objects.get_for_model(EvaluationReport), source_id__in=ids
        )
        .select_related("owner")
        .order_by("pk")
    )
    links = dict(
        ReportImprovementAction.objects.filter(capa__in=capas).values_list("capa_id", "kpi")
    )
    names = {figure["code"]: figure["name"] for figure in report.figures}
    return [
        {"capa": capa, "kpi": links.get(capa.pk, ""),
         "kpi_name": names.get(links.get(capa.pk, ""), "")}
        for capa in capas
    ]  # fmt: skip
