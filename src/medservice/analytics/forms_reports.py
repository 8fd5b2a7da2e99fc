"""Forms of the evaluation reports: generate a period's report, open an improvement action."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from medservice.analytics.models import EvaluationReport, ReportKind


class GenerateReportForm(forms.Form):
    """Which report to (re)generate: the kind and the month it starts (a quarter's first
    month for a quarterly report)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=ReportKind.choices)
    period_start = forms.DateField(
        label=_("Period (first month)"), input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        error_messages={"invalid": _("Give the month as YYYY-MM.")},
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", f"{css} form-control-sm")


class ImprovementActionForm(forms.Form):
    """An improvement action raised by a report: which KPI, the problem, owner, due date."""

    kpi = forms.ChoiceField(label=_("KPI"), required=False)
    problem = forms.CharField(label=_("Problem"), widget=forms.Textarea(attrs={"rows": 3}))
    owner = forms.ModelChoiceField(label=_("Responsible person"), queryset=None)
    due_on = forms.DateField(label=_("Target date"),
                             widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip

    def __init__(self, *args: Any, report: EvaluationReport, **kwargs: Any) -> None:
        from medservice.quality.capa import staff_members

        super().__init__(*args, **kwargs)
        self.fields["kpi"].choices = [
            ("", _("The report as a whole")),
            *[(figure["code"], figure["name"]) for figure in report.figures],
        ]
        self.fields["owner"].queryset = staff_members()
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", f"{css} form-control-sm")


class EvaluationReportFilter(django_filters.FilterSet):
    class Meta:
        model = EvaluationReport
        fields = ["kind", "period_start"]
