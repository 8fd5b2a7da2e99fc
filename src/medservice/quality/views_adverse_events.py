"""Pages for adverse-event reports and their reporting rules: the list with its countdown, the
report page (clock, actions, downloads, patient data for those who may see it), opening a
report from a quality case or with a device, and the tab on the quality case's page."""

from __future__ import annotations

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
from medservice.core.views import ResourceCreateView, ResourceDetailView, resource_urlpatterns
from medservice.core.widgets import AutocompleteSelect
from medservice.core.workflow import actions_allowed
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.installed_base.selectors import devices_visible_to
from medservice.quality.adverse_events import (
    TRANSITIONS,
    adverse_event_reports_visible_to,
    report_add_group_case,
    report_chain,
    report_continue,
    report_create,
    report_prefill,
    report_submit,
    report_update,
    reporting_rule_create,
    reporting_rule_update,
    reporting_rules_visible_to,
)
from medservice.quality.adverse_events_exports import report_filename, report_pdf, report_xlsx
from medservice.quality.api.adverse_events import (
    AdverseEventReportSerializer,
    ReportingRuleSerializer,
)
from medservice.quality.choices import EventOutcome, ReportKind, SubmissionChannel
from medservice.quality.models import AdverseEventReport, QualityCase, ReportingRule
from medservice.quality.selectors import cases_visible_to
from medservice.tickets.choices import Sex

DATETIME = {"type": "datetime-local"}
DATE = {"type": "date"}
TEXT = {"rows": 2}

# --- Forms ------------------------------------------------------------------------------------


class ReportCreateForm(ResourceForm):
    """Opening a report: what the clock needs; the rest of the form is completed on the draft."""

    awareness_at = forms.DateTimeField(
        label=gettext_lazy("Aware since"), required=False, widget=forms.DateTimeInput(attrs=DATETIME),
        help_text=gettext_lazy("Empty with a quality case: the case's awareness time."),
    )  # fmt: skip

    class Meta:
        model = AdverseEventReport
        fields = [
            "quality_case", "device", "device_name", "market", "outcome", "group_event",
            "event_abroad", "trigger", "event_date", "harm_description",
        ]  # fmt: skip
        widgets = {"event_date": forms.DateInput(attrs=DATE),
                   "harm_description": forms.Textarea(attrs=TEXT)}  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["quality_case"].queryset = cases_visible_to(self.user)
        self.fields["device"].queryset = devices_visible_to(self.user)
        self.fields["device"].widget = AutocompleteSelect(
            reverse_lazy("installed_base:device-options")
        )
        self.fields["trigger"].required = False
        self.fields["trigger"].help_text = _("Empty: the trigger the facts point to.")
        self.order_fields(["quality_case", "device", "device_name", "market", "outcome",
                           "group_event", "event_abroad", "trigger", "awareness_at"])  # fmt: skip


EDIT_FIELDS = [
    "market", "outcome", "group_event", "event_abroad", "trigger", "awareness_at",
    "reporter_unit", "reporter_address", "reporter_contact", "reporter_phone", "organization",
    "device", "device_model", "device_name", "registration_number", "model_spec", "product_type",
    "origin", "risk_class", "batch_number", "serial_number", "udi", "production_date",
    "expiry_date", "event_date", "harm_description", "patient_name", "patient_age",
    "patient_sex", "patient_record_number", "patient_history", "malfunction_description",
    "intended_use", "place_of_use", "usage_description", "concomitant_products",
    "onsite_investigation", "product_tested", "test_report", "cause_conclusion", "relatedness",
    "risk_evaluation", "control_measures", "no_measures_reason",
]  # fmt: skip
PERSONAL_FIELDS = ("patient_name", "patient_record_number", "patient_history")


class ReportForm(ResourceForm):
    """The whole form of a draft report."""

    class Meta:
        model = AdverseEventReport
        fields = EDIT_FIELDS
        widgets = {
            "awareness_at": forms.DateTimeInput(attrs=DATETIME),
            "production_date": forms.DateInput(attrs=DATE),
            "expiry_date": forms.DateInput(attrs=DATE),
            "event_date": forms.DateInput(attrs=DATE),
            "product_tested": forms.NullBooleanSelect,
            **{name: forms.Textarea(attrs=TEXT) for name in (
                "harm_description", "patient_history", "malfunction_description", "intended_use",
                "usage_description", "concomitant_products", "onsite_investigation",
                "test_report", "cause_conclusion", "risk_evaluation", "control_measures",
                "no_measures_reason",
            )},
        }  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["device"].queryset = devices_visible_to(self.user)
        self.fields["device"].widget = AutocompleteSelect(
            reverse_lazy("installed_base:device-options")
        )
        self.fields["device_model"].queryset = device_models_visible_to(self.user)
        self.fields["trigger"].required = False
        if self.user is None or not self.user.has_perm("quality.unmask_adverseeventreport"):
            for name in PERSONAL_FIELDS:
                self.fields.pop(name)


class SubmitForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Submitted through"),
                                choices=SubmissionChannel.choices)  # fmt: skip
    reference = forms.CharField(label=gettext_lazy("Regulator's reference"), max_length=100,
                                required=False)  # fmt: skip
    submitted_at = forms.DateTimeField(
        label=gettext_lazy("Submitted at"), required=False,
        widget=forms.DateTimeInput(attrs=DATETIME), help_text=gettext_lazy("Empty: now."),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class GroupCaseForm(forms.Form):
    """One patient's case of a group event (CN-AE-4): the patient, the harm and when the
    company learnt of this case; the device and the reporting unit come from the group's
    report. Mirrors the API action `group-case`."""

    outcome = forms.ChoiceField(label=gettext_lazy("Harm"),
                                choices=[("", "---------"), *EventOutcome.choices])  # fmt: skip
    patient_name = forms.CharField(label=gettext_lazy("Patient's name"), max_length=100,
                                   required=False)  # fmt: skip
    patient_age = forms.IntegerField(label=gettext_lazy("Patient's age"), min_value=0,
                                     max_value=150, required=False)  # fmt: skip
    patient_sex = forms.ChoiceField(label=gettext_lazy("Patient's sex"),
                                    choices=[("", "---------"), *Sex.choices], required=False)  # fmt: skip
    harm_description = forms.CharField(label=gettext_lazy("How the harm showed"),
                                       widget=forms.Textarea(attrs=TEXT), required=False)  # fmt: skip
    awareness_at = forms.DateTimeField(
        label=gettext_lazy("Aware since"), required=False,
        widget=forms.DateTimeInput(attrs=DATETIME),
        help_text=gettext_lazy("Empty: the group event's awareness time."),
    )  # fmt: skip

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Who may not see patients' names does not type them either (as on the report's form).
        if user is None or not user.has_perm("quality.unmask_adverseeventreport"):
            self.fields.pop("patient_name")
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


class ReportFilter(ScopedFilterSet):
    awareness_at = django_filters.DateFromToRangeFilter(label=gettext_lazy("aware between"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=gettext_lazy("overdue"))

    class Meta:
        model = AdverseEventReport
        fields = ["status", "kind", "market", "outcome", "trigger", "group_event", "quality_case"]

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        late = queryset.filter(submitted_at__isnull=True, report_due_at__lte=timezone.now())
        return late if value else queryset.exclude(pk__in=late.values("pk"))


class ReportingRuleForm(ResourceForm):
    class Meta:
        model = ReportingRule
        fields = ["code", "market", "trigger", "amount", "unit", "calendar_code", "description",
                  "active"]  # fmt: skip


class ReportingRuleFilter(ScopedFilterSet):
    class Meta:
        model = ReportingRule
        fields = ["market", "unit", "active"]


# --- Resources --------------------------------------------------------------------------------


class ReportDetailView(ResourceDetailView):
    """The report's page: the countdown, the actions allowed now, the chain of reports, the
    downloads, and the patient's data for those who may see it."""

    extra_template = "quality/adverse_events_panel.html"
    bound: dict[str, Any] | None = None

    def extra_context_for(self, obj: AdverseEventReport) -> dict[str, Any]:
        user = self.request.user
        allowed = dict(actions_allowed(TRANSITIONS, obj, user))
        is_group = obj.group_event and obj.kind == ReportKind.INITIAL and obj.group_id is None
        return {
            "is_group": is_group,
            "group_cases": list(
                obj.group_cases.select_related("rule").order_by("report_due_at", "pk")
            )
            if is_group
            else [],
            "can_add_group_case": is_group and user.has_perm("quality.add_adverseeventreport"),
            "group_case_form": (self.bound or {}).get("group_case") or GroupCaseForm(user=user),
            "final_countdown": obj.final_countdown(),
            "countdown": obj.countdown(),
            "submit_form": (self.bound or {}).get("submit") or SubmitForm(),
            "can_submit": "submit" in allowed,
            "can_follow_up": "follow-up" in allowed,
            "can_final": "final" in allowed,
            "may_unmask": user.has_perm("quality.unmask_adverseeventreport"),
            "chain": report_chain(obj),
            "refusal": (self.bound or {}).get("refusal", ""),
        }


def report_create_from_form(
    *, actor: Any, model: type[AdverseEventReport] = AdverseEventReport, data: dict[str, Any]
) -> AdverseEventReport:
    return report_create(actor=actor, data=data)


reports = register(
    Resource(
        name="adverse-event-reports",
        model=AdverseEventReport,
        selector=adverse_event_reports_visible_to,
        namespace="quality",
        list_columns=[
            "number", "kind", "status", "market", "outcome", "trigger", "quality_case",
            "device_name", "awareness_at", "report_due_at", "submitted_at",
        ],
        detail_fields=[
            "number", "kind", "status", "initial", "group", "quality_case", "market", "outcome",
            "group_event", "event_abroad", "trigger", "rule", "awareness_at", "report_due_at",
            "final_rule", "final_due_at", "final_submitted_at", "reporter_unit", "reporter_address", "reporter_contact", "reporter_phone",
            "organization", "device", "device_name", "registration_number", "model_spec",
            "product_type", "origin", "risk_class", "batch_number", "serial_number", "udi",
            "production_date", "expiry_date", "event_date", "harm_description", "patient_age",
            "patient_sex", "malfunction_description", "intended_use", "place_of_use",
            "usage_description", "concomitant_products", "onsite_investigation",
            "product_tested", "test_report", "cause_conclusion", "relatedness",
            "risk_evaluation", "control_measures", "no_measures_reason", "submitted_at",
            "submission_channel", "submission_reference", "submitted_by", "retain_until",
        ],
        export_fields=[
            "id", "number", "kind", "status", "market", "outcome", "trigger", "quality_case__number",
            "device_name", "batch_number", "serial_number", "awareness_at", "report_due_at",
            "submitted_at", "submission_channel", "submission_reference", "final_due_at",
            "final_submitted_at",
        ],
        form_class=ReportForm,
        filterset_class=ReportFilter,
        serializer_class=AdverseEventReportSerializer,
        search_fields=["number", "batch_number", "serial_number", "device_name",
                       "submission_reference"],
        ordering_fields=["report_due_at", "awareness_at", "number", "submitted_at"],
        default_ordering=["report_due_at", "-id"],
        # The initial report carries the chain's evaluation clock shown on every row.
        select_related=["quality_case", "rule", "initial"],
        create=report_create_from_form,
        update=report_update,
        delete=None,
        organization_scoped=False,
        detail_view=ReportDetailView,
        list_rows_template="quality/adverse_events_list_rows.html",
    )
)  # fmt: skip

rules = register(
    Resource(
        name="reporting-rules",
        model=ReportingRule,
        selector=reporting_rules_visible_to,
        namespace="quality",
        list_columns=["code", "market", "trigger", "amount", "unit", "calendar_code", "active"],
        detail_fields=[
            "code",
            "market",
            "trigger",
            "amount",
            "unit",
            "calendar_code",
            "description",
            "active",
        ],
        form_class=ReportingRuleForm,
        filterset_class=ReportingRuleFilter,
        serializer_class=ReportingRuleSerializer,
        search_fields=["code", "description"],
        ordering_fields=["code", "market"],
        default_ordering=["market", "code"],
        create=reporting_rule_create,
        update=reporting_rule_update,
        # Reports name the rule their clock came from: a rule is retired (not in force), never
        # deleted.
        delete=None,
        organization_scoped=False,
    )
)


class ReportCreateView(ResourceCreateView):
    """Opening a report, prefilled from the quality case in ?quality_case= or the device in
    ?device= (the "create from here" button on the case's page)."""

    def form(self, data: Any = None, files: Any = None, instance: Any = None) -> Any:
        initial: dict[str, Any] = {}
        if data is None:
            case = _visible_or_none(cases_visible_to(self.request.user),
                                    self.request.GET.get("quality_case"))  # fmt: skip
            device = _visible_or_none(devices_visible_to(self.request.user),
                                      self.request.GET.get("device"))  # fmt: skip
            if case is not None or device is not None:
                prefill = report_prefill(case=case, device=device)
                initial = {name: value for name, value in prefill.items()
                           if name in ReportCreateForm.Meta.fields or name == "awareness_at"}  # fmt: skip
                if initial.get("awareness_at"):
                    initial["awareness_at"] = timezone.localtime(initial["awareness_at"])
        return ReportCreateForm(
            data=data, files=files, instance=instance, user=self.request.user, initial=initial
        )


def _visible_or_none(queryset: QuerySet, value: str | None) -> Any:
    if not value or not str(value).isdigit():
        return None
    return queryset.filter(pk=int(value)).first()


def _scoped(request: HttpRequest, pk: int) -> AdverseEventReport:
    if not request.user.has_perm("quality.view_adverseeventreport"):
        raise Http404
    return get_object_or_404(adverse_event_reports_visible_to(request.user), pk=pk)


def _again(request: HttpRequest, report: AdverseEventReport, status: int, **bound: Any) -> Any:
    view = ReportDetailView()
    view.resource = reports
    view.request = request
    view.kwargs = {"pk": report.pk}
    view.bound = bound
    response = view.get(request, pk=report.pk)
    response.status_code = status
    return response


@login_required
@require_POST
def report_submit_view(request: HttpRequest, pk: int) -> HttpResponse:
    report = _scoped(request, pk)
    form = SubmitForm(request.POST)
    if not form.is_valid():
        return _again(request, report, 400, submit=form)
    try:
        report_submit(actor=request.user, report=report, **form.cleaned_data)
    except DomainError as error:
        _form_errors(form, error)
        return _again(request, report, error.status, submit=form)
    messages.success(request, _("The submission is recorded; the report is frozen."))
    return redirect("quality:adverse-event-reports-detail", pk=pk)


@login_required
@require_POST
def report_group_case_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Report one patient's case of a group event from the group's page; errors are shown on
    the form's fields and nothing is saved."""
    report = _scoped(request, pk)
    form = GroupCaseForm(request.POST, user=request.user)
    if not form.is_valid():
        return _again(request, report, 400, group_case=form)
    try:
        case_report = report_add_group_case(actor=request.user, report=report,
                                            data=form.cleaned_data)  # fmt: skip
    except DomainError as error:
        _form_errors(form, error)
        # A refusal of the whole action (not a group event's report, a role that may not) is
        # shown on top: the form may not be on the page at all.
        refusal = "" if error.fields else error.message
        return _again(request, report, error.status, group_case=form, refusal=refusal)
    messages.success(request, _("%(number)s is the report of this case, due %(due)s.") % {
        "number": case_report.number,
        "due": timezone.localtime(case_report.report_due_at).strftime("%Y-%m-%d %H:%M"),
    })  # fmt: skip
    return redirect("quality:adverse-event-reports-detail", pk=pk)


def _form_errors(form: forms.Form, error: DomainError) -> None:
    """The service's refusal on the form: the message on top, each problem on its field."""
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        for problem in problems:
            if name in form.fields and problem != error.message:
                form.add_error(name, problem)


def _continue(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    report = _scoped(request, pk)
    try:
        continuation = report_continue(actor=request.user, report=report, kind=kind)
    except DomainError as error:
        return _again(request, report, error.status, refusal=error.message)
    messages.success(request, _("%(number)s is opened as a draft.") % {
        "number": continuation.number})  # fmt: skip
    return redirect("quality:adverse-event-reports-detail", pk=continuation.pk)


@login_required
@require_POST
def report_follow_up_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _continue(request, pk, ReportKind.FOLLOW_UP)


@login_required
@require_POST
def report_final_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _continue(request, pk, ReportKind.FINAL)


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def report_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    report = _scoped(request, pk)
    unmask = request.user.has_perm("quality.unmask_adverseeventreport")
    return _download(report_pdf(report, unmask=unmask), PDF, report_filename(report, "pdf"))


@login_required
def report_xlsx_view(request: HttpRequest, pk: int) -> HttpResponse:
    report = _scoped(request, pk)
    unmask = request.user.has_perm("quality.unmask_adverseeventreport")
    return _download(report_xlsx(report, unmask=unmask), XLSX, report_filename(report, "xlsx"))


for view in (report_submit_view, report_follow_up_view, report_final_view, report_pdf_view,
             report_xlsx_view, report_group_case_view):  # fmt: skip
    view.resource = reports  # type: ignore[attr-defined]

create_view = ReportCreateView.as_view(resource=reports)
create_view.resource = reports  # type: ignore[attr-defined]

urlpatterns = [
    path("adverse-event-reports/new/", create_view, name="adverse-event-reports-create"),
    *[
        pattern for pattern in resource_urlpatterns(reports)
        if pattern.name != "adverse-event-reports-create"
    ],
    *resource_urlpatterns(rules),
    path("adverse-event-reports/<int:pk>/submit/", report_submit_view, name="ae-report-submit"),
    path("adverse-event-reports/<int:pk>/follow-up/", report_follow_up_view,
         name="ae-report-follow-up"),
    path("adverse-event-reports/<int:pk>/final/", report_final_view, name="ae-report-final"),
    path("adverse-event-reports/<int:pk>/group-case/", report_group_case_view,
         name="ae-report-group-case"),
    path("adverse-event-reports/<int:pk>/pdf/", report_pdf_view, name="ae-report-pdf"),
    path("adverse-event-reports/<int:pk>/xlsx/", report_xlsx_view, name="ae-report-xlsx"),
]  # fmt: skip


def _of_case(case: QualityCase, user: Any) -> QuerySet[AdverseEventReport]:
    return adverse_event_reports_visible_to(user).filter(quality_case=case).order_by("pk")


related_register(
    "quality-cases",
    Related(
        gettext_lazy("Adverse-event reports"),
        _of_case,
        ["number", "kind", "status", "market", "outcome", "report_due_at", "submitted_at"],
        "quality:adverse-event-reports-detail",
        new_url_name="quality:adverse-event-reports-create",
        new_query="quality_case",
        new_label=gettext_lazy("Write an adverse-event report"),
        new_permission="quality.add_adverseeventreport",
    ),
)
