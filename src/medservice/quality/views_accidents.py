"""Pages for quality accidents: the list (filter, sort, export), recording one (also from a
quality case), the record page with the report clock and one small form per action allowed
now, and the "Quality accidents" tab on a quality case's page. Forms check shape; the services
in quality/accidents.py decide."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.catalog.selectors import device_models_visible_to
from medservice.core.errors import DomainError
from medservice.core.forms import ResourceForm
from medservice.core.registry import Related, Resource, register, related_register
from medservice.core.views import (
    ResourceCreateView,
    ResourceDetailView,
    resource_urlpatterns,
)
from medservice.core.widgets import AutocompleteSelect
from medservice.customers.forms import organization_autocomplete
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.installed_base.selectors import devices_visible_to
from medservice.quality.accidents import (
    TRANSITIONS,
    accident_actions_allowed,
    accident_close,
    accident_grade,
    accident_investigate,
    accident_record,
    accident_submit_report,
)
from medservice.quality.api.accidents import QualityAccidentSerializer
from medservice.quality.choices import AccidentSeverity
from medservice.quality.models import QualityAccident
from medservice.quality.resources import cases
from medservice.quality.selectors import cases_visible_to
from medservice.quality.selectors_accidents import accidents_visible_to

DATETIME = {"type": "datetime-local"}


def _styled(form: forms.BaseForm) -> forms.BaseForm:
    for item in form.fields.values():
        widget = item.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")
    return form


class QualityAccidentForm(ResourceForm):
    """Recording an accident: what, when, where, which product, the grade, what was lost."""

    discovered_at = forms.DateTimeField(
        label=gettext_lazy("Discovered at"),
        required=False,
        widget=forms.DateTimeInput(attrs=DATETIME),
        help_text=gettext_lazy("Empty: now. The report deadline counts from this time."),
    )

    class Meta:
        model = QualityAccident
        fields = [
            "quality_case", "title", "severity", "occurred_at", "place", "organization",
            "device", "device_model", "batch_number", "serial_number", "product_reported",
            "description", "loss_amount", "loss_description", "persons_affected",
        ]  # fmt: skip
        widgets = {
            "occurred_at": forms.DateTimeInput(attrs=DATETIME),
            "description": forms.Textarea(attrs={"rows": 3}),
            "loss_description": forms.Textarea(attrs={"rows": 2}),
            "persons_affected": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quality_case"].queryset = cases_visible_to(self.user)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["organization"].widget = organization_autocomplete()
        self.fields["device"].queryset = devices_visible_to(self.user)
        self.fields["device"].widget = AutocompleteSelect(
            reverse_lazy("installed_base:device-options")
        )
        self.fields["device_model"].queryset = device_models_visible_to(self.user)
        self.order_fields(["quality_case", "title", "severity", "discovered_at"])
        _styled(self)


class QualityAccidentFilter(ScopedFilterSet):
    discovered_at = django_filters.DateFromToRangeFilter(label=gettext_lazy("discovered between"))
    report_overdue = django_filters.BooleanFilter(
        method="filter_report_overdue", label=gettext_lazy("report overdue")
    )

    class Meta:
        model = QualityAccident
        fields = ["status", "severity", "organization", "device_model", "batch_number"]

    def filter_report_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = queryset.filter(
            report_submitted_at__isnull=True, report_due_at__lte=timezone.now()
        )
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))


# --- Action forms -------------------------------------------------------------------------------


class InvestigateForm(forms.Form):
    investigation = forms.CharField(
        label=gettext_lazy("Investigation"), required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    causes = forms.CharField(
        label=gettext_lazy("Causes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    handling = forms.CharField(
        label=gettext_lazy("Handling"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    responsible_persons = forms.CharField(
        label=gettext_lazy("Responsible persons"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    loss_amount = forms.DecimalField(
        label=gettext_lazy("Losses (yuan)"), required=False, min_value=0, max_digits=14,
        decimal_places=2,
    )  # fmt: skip
    loss_description = forms.CharField(label=gettext_lazy("Losses"), required=False)
    occurred_at = forms.DateTimeField(
        label=gettext_lazy("Happened at"), required=False,
        widget=forms.DateTimeInput(attrs=DATETIME),
    )  # fmt: skip


class GradeForm(forms.Form):
    severity = forms.ChoiceField(label=gettext_lazy("Grade"), choices=AccidentSeverity.choices)
    reason = forms.CharField(label=gettext_lazy("Why this grade"), max_length=300)


class SubmitReportForm(forms.Form):
    submitted_to = forms.CharField(label=gettext_lazy("Reported to"), max_length=200)
    reference = forms.CharField(
        label=gettext_lazy("Report reference"), required=False, max_length=100
    )
    submitted_at = forms.DateTimeField(
        label=gettext_lazy("Reported at"), required=False,
        widget=forms.DateTimeInput(attrs=DATETIME), help_text=gettext_lazy("Empty: now."),
    )  # fmt: skip


class CloseForm(forms.Form):
    conclusion = forms.CharField(
        label=gettext_lazy("Conclusion"), widget=forms.Textarea(attrs={"rows": 2})
    )
    password = forms.CharField(
        label=gettext_lazy("Your password (your signature)"), widget=forms.PasswordInput
    )


@dataclass(frozen=True)
class ActionSpec:
    form_class: type[forms.Form]
    run: Callable[[Any, QualityAccident, dict[str, Any]], QualityAccident]


ACTION_FORMS: dict[str, ActionSpec] = {
    "investigate": ActionSpec(
        InvestigateForm,
        lambda user, accident, data: accident_investigate(actor=user, accident=accident, data=data),
    ),
    "grade": ActionSpec(
        GradeForm,
        lambda user, accident, data: accident_grade(actor=user, accident=accident, **data),
    ),
    "submit-report": ActionSpec(
        SubmitReportForm,
        lambda user, accident, data: accident_submit_report(actor=user, accident=accident, **data),
    ),
    "close": ActionSpec(
        CloseForm,
        lambda user, accident, data: accident_close(actor=user, accident=accident, **data),
    ),
}
assert set(ACTION_FORMS) == set(TRANSITIONS), "every accident action has its form"


class AccidentDetailView(ResourceDetailView):
    """The accident's page: the report clock and the actions allowed to the user now."""

    extra_template = "quality/accidents_panel.html"
    bound: dict[str, forms.Form] | None = None

    def extra_context_for(self, obj: QualityAccident) -> dict[str, Any]:
        bound = self.bound or {}
        return {
            "accident_actions": [
                {
                    "name": name,
                    "label": rule.label,
                    "style": rule.style,
                    "form": _styled(bound.get(name) or ACTION_FORMS[name].form_class()),
                    "open": name in bound,
                }
                for name, rule in accident_actions_allowed(obj, self.request.user)
            ],
            "may_unmask": self.request.user.has_perm("quality.unmask_qualityaccident"),
        }


class AccidentCreateView(ResourceCreateView):
    """Recording an accident; `?quality_case=<id>` preselects the case it comes from."""

    def form(self, data: Any = None, files: Any = None, instance: Any = None) -> Any:
        form = super().form(data, files, instance)
        case_id = self.request.GET.get("quality_case", "")
        if data is None and case_id.isdigit():
            case = cases_visible_to(self.request.user).filter(pk=case_id).first()
            if case is not None:
                form.initial.update(
                    quality_case=case.pk,
                    organization=case.organization_id,
                    device=case.device_id,
                    device_model=case.device_model_id,
                    batch_number=case.batch_number,
                    serial_number=case.serial_number,
                    product_reported=case.product_reported,
                    discovered_at=timezone.localtime(case.awareness_at).strftime("%Y-%m-%dT%H:%M"),
                )
        return form


def accident_create_from_form(
    *, actor: Any, model: type[QualityAccident] = QualityAccident, data: dict[str, Any]
) -> QualityAccident:
    return accident_record(actor=actor, data=data)


accidents = register(
    Resource(
        name="quality-accidents",
        model=QualityAccident,
        selector=accidents_visible_to,
        namespace="quality",
        list_columns=[
            "number", "status", "severity", "title", "organization", "device_model",
            "batch_number", "discovered_at", "report_due_at", "report_submitted_at",
        ],
        detail_fields=[
            "number", "status", "severity", "quality_case", "title", "description",
            "occurred_at", "discovered_at", "place", "organization", "device", "device_model",
            "batch_number", "serial_number", "product_reported", "loss_amount",
            "loss_description", "investigation", "causes", "handling", "responsible_persons",
            "owner", "report_due_at", "report_submitted_at", "report_submitted_to",
            "report_reference", "report_submitted_by", "closing_note", "closed_at", "closed_by",
            "signed_at", "retain_until",
        ],
        export_fields=[
            "id", "number", "status", "severity", "title", "organization", "device_model",
            "batch_number", "serial_number", "occurred_at", "discovered_at", "loss_amount",
            "report_due_at", "report_submitted_at", "report_submitted_to", "report_reference",
            "closed_at",
        ],
        form_class=QualityAccidentForm,
        filterset_class=QualityAccidentFilter,
        serializer_class=QualityAccidentSerializer,
        search_fields=["number", "title", "batch_number", "serial_number"],
        ordering_fields=["discovered_at", "report_due_at", "number"],
        default_ordering=["-discovered_at", "-id"],
        select_related=["organization", "device_model", "owner"],
        create=accident_create_from_form,
        update=None,
        delete=None,
        organization_scoped=False,
        detail_view=AccidentDetailView,
        create_url_name="quality:accident-record",
    )
)  # fmt: skip


def _scoped(request: HttpRequest, pk: int) -> QualityAccident:
    if not request.user.has_perm("quality.view_qualityaccident"):
        raise Http404
    return get_object_or_404(accidents_visible_to(request.user), pk=pk)


def _again(
    request: HttpRequest, accident: QualityAccident, status: int, **bound: forms.Form
) -> HttpResponse:
    view = AccidentDetailView()
    view.resource = accidents
    view.request = request
    view.kwargs = {"pk": accident.pk}
    view.bound = bound
    response = view.get(request, pk=accident.pk)
    response.status_code = status
    return response


@login_required
@require_POST
def accident_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one action from its small form on the accident's page; a refusal comes back on the
    page with the reason on the named fields."""
    accident = _scoped(request, pk)
    spec = ACTION_FORMS.get(name)
    if spec is None:
        raise Http404
    form = _styled(spec.form_class(request.POST))
    if not form.is_valid():
        return _again(request, accident, 400, **{name: form})
    try:
        spec.run(request.user, accident, dict(form.cleaned_data))
    except DomainError as error:
        form.add_error(None, error.message)
        for field_name, problems in error.fields.items():
            for problem in problems:
                if field_name in form.fields and problem != error.message:
                    form.add_error(field_name, problem)
        return _again(request, accident, error.status, **{name: form})
    messages.success(request, _("%(action)s: done.") % {"action": TRANSITIONS[name].label})
    return redirect("quality:quality-accidents-detail", pk=pk)


accident_action.resource = accidents  # type: ignore[attr-defined]
_record_view = AccidentCreateView.as_view(resource=accidents)
_record_view.resource = accidents  # type: ignore[attr-defined]

urlpatterns = [
    path("quality-accidents/record/", _record_view, name="accident-record"),
    *resource_urlpatterns(accidents),
    path("quality-accidents/<int:pk>/act/<slug:name>/", accident_action, name="accident-action"),
]


def _of_case(case: Any, user: Any) -> QuerySet[QualityAccident]:
    return accidents_visible_to(user).filter(quality_case=case).order_by("-pk")


related_register(
    cases.name,
    Related(
        gettext_lazy("Quality accidents"),
        _of_case,
        ["number", "status", "severity", "report_due_at", "report_submitted_at"],
        "quality:quality-accidents-detail",
        new_url_name="quality:accident-record",
        new_query="quality_case",
        new_label=gettext_lazy("Record a quality accident"),
        new_permission="quality.add_qualityaccident",
    ),
)
