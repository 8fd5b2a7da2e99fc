"""Pages for trace, stop-use notices and recalls: the trace page (quality staff, with export),
the recall list, the recall page (its clocks, the signed decision and closure, recipients with
their notices and acknowledgements, devices with their dispositions, downloads), preparing a
recall (also from a quality case), and the quality case's "Trace" and "Recalls" tabs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.catalog.selectors import device_models_visible_to
from medservice.core.errors import DomainError
from medservice.core.registry import Related, Resource, register, related_register
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.installed_base.models import Device
from medservice.quality.api.recalls import RecallSerializer, report_response
from medservice.quality.choices import (
    Disposition,
    RecallClass,
    RecallHandling,
    RecallKind,
    RecallNoticeChannel,
)
from medservice.quality.models import QualityCase, Recall, RecallNotice
from medservice.quality.recalls import (
    RECALL_TRANSITIONS,
    recall_acknowledge,
    recall_actions_allowed,
    recall_cancel,
    recall_check_effectiveness,
    recall_close,
    recall_create,
    recall_decide,
    recall_device_dispose,
    recall_letter_pdf,
    recall_notice_send,
    recall_progress,
    recall_record_filing,
    recall_record_summary,
    recalls_visible_to,
    trace_allowed,
)
from medservice.quality.selectors import cases_visible_to
from medservice.quality.trace import (
    part_lots_matching,
    trace_export_headers,
    trace_export_rows,
    trace_part_lot,
    trace_run,
    trace_scope,
)

DATETIME = {"type": "datetime-local"}
DEVICES_PER_PAGE = 50


def _bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")
    return form


# --- Forms (shape only; the services decide) ------------------------------------------------------


class RecallForm(forms.Form):
    """Prepare a stop-use notice or recall: the scope is a model with a batch or a serial
    range, or a UDI alone."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=RecallKind.choices)
    recall_class = forms.ChoiceField(
        label=gettext_lazy("Recall class"), choices=RecallClass.choices,
        help_text=gettext_lazy("Class I: notices within 1 day; II: 3 days; III: 7 days."),
    )  # fmt: skip
    quality_case = forms.ModelChoiceField(
        label=gettext_lazy("Quality case"), queryset=QualityCase.objects.none(), required=False
    )
    device_model = forms.ModelChoiceField(
        label=gettext_lazy("Device model"), queryset=None, required=False
    )
    batch_number = forms.CharField(label=gettext_lazy("Batch number"), max_length=50,
                                   required=False)  # fmt: skip
    serial_from = forms.CharField(label=gettext_lazy("Serial numbers from"), max_length=50,
                                  required=False)  # fmt: skip
    serial_to = forms.CharField(label=gettext_lazy("Serial numbers to"), max_length=50,
                                required=False)  # fmt: skip
    udi = forms.CharField(label=gettext_lazy("UDI"), max_length=200, required=False,
                          help_text=gettext_lazy("Scan a label instead of model and batch."))  # fmt: skip
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    instructions = forms.CharField(
        label=gettext_lazy("What recipients must do"), widget=forms.Textarea(attrs={"rows": 3}),
        initial=gettext_lazy(
            "Stop selling and using the devices at once, pass this notice on to whoever "
            "received them from you, and acknowledge it with the quantities you hold."
        ),
    )  # fmt: skip
    handling = forms.ChoiceField(
        label=gettext_lazy("How the devices are handled"), choices=RecallHandling.choices
    )
    responsible_phone = forms.CharField(label=gettext_lazy("Responsible person's phone"),
                                        max_length=50)  # fmt: skip

    def __init__(self, *args: Any, user: Any, case: QualityCase | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["quality_case"].queryset = cases_visible_to(user)
        self.fields["device_model"].queryset = device_models_visible_to(user)
        if case is not None:
            self.fields["quality_case"].initial = case.pk
            self.fields["device_model"].initial = case.device_model_id
            self.fields["batch_number"].initial = case.batch_number
            if not case.batch_number and case.serial_number:
                self.fields["serial_from"].initial = case.serial_number
                self.fields["serial_to"].initial = case.serial_number
        _bootstrap(self)


class DecideForm(forms.Form):
    decided_at = forms.DateTimeField(
        label=gettext_lazy("Decided at"), required=False, widget=forms.DateTimeInput(attrs=DATETIME),
        help_text=gettext_lazy("Empty: now. The notice and filing clocks count from here."),
    )  # fmt: skip
    password = forms.CharField(label=gettext_lazy("Your password (signature)"),
                               widget=forms.PasswordInput, strip=False)  # fmt: skip


class CancelForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why cancelled"), max_length=500)


class NoticeForm(forms.Form):
    recipient = forms.IntegerField(widget=forms.HiddenInput)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=RecallNoticeChannel.choices)
    sent_to = forms.CharField(
        label=gettext_lazy("E-mail or mobile"), required=False, max_length=200,
        help_text=gettext_lazy("Empty: the contact's."),
    )  # fmt: skip


class AcknowledgeForm(forms.Form):
    recipient = forms.IntegerField(widget=forms.HiddenInput)
    acknowledged_by_name = forms.CharField(label=gettext_lazy("Acknowledged by"), max_length=100)
    acknowledged_at = forms.DateTimeField(
        label=gettext_lazy("Acknowledged at"), required=False,
        widget=forms.DateTimeInput(attrs=DATETIME), help_text=gettext_lazy("Empty: now."),
    )  # fmt: skip
    quantity_held = forms.IntegerField(label=gettext_lazy("Quantity held"), min_value=0, initial=0)
    quantity_returned = forms.IntegerField(label=gettext_lazy("Quantity returned"), min_value=0,
                                           initial=0)  # fmt: skip
    quantity_corrected = forms.IntegerField(label=gettext_lazy("Quantity corrected"), min_value=0,
                                            initial=0)  # fmt: skip
    note = forms.CharField(label=gettext_lazy("Note"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip


class DisposeForm(forms.Form):
    device = forms.IntegerField(widget=forms.HiddenInput)
    disposition = forms.ChoiceField(label=gettext_lazy("Disposition"), choices=Disposition.choices)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=500)


class FilingForm(forms.Form):
    reference = forms.CharField(label=gettext_lazy("Filing reference"), max_length=100)
    filed_at = forms.DateTimeField(
        label=gettext_lazy("Filed at"), required=False, widget=forms.DateTimeInput(attrs=DATETIME),
        help_text=gettext_lazy("Empty: now."),
    )  # fmt: skip


class EffectivenessForm(forms.Form):
    effective = forms.TypedChoiceField(
        label=gettext_lazy("Recall effective"),
        choices=[("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))],
        coerce=lambda value: value == "yes",
    )
    note = forms.CharField(label=gettext_lazy("How effectiveness was checked"),
                           widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip


class SummaryForm(forms.Form):
    """The summary evaluation report's submission to the regulator (CN-RC-3)."""

    reference = forms.CharField(label=gettext_lazy("Summary report reference"), max_length=100)
    submitted_at = forms.DateTimeField(
        label=gettext_lazy("Submitted at"), required=False,
        widget=forms.DateTimeInput(attrs=DATETIME), help_text=gettext_lazy("Empty: now."),
    )  # fmt: skip


class CloseForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Closing note"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip
    password = forms.CharField(label=gettext_lazy("Your password (signature)"),
                               widget=forms.PasswordInput, strip=False)  # fmt: skip


class TraceForm(forms.Form):
    device_model = forms.ModelChoiceField(label=gettext_lazy("Device model"), queryset=None,
                                          required=False)  # fmt: skip
    batch_number = forms.CharField(label=gettext_lazy("Batch number"), max_length=50,
                                   required=False)  # fmt: skip
    serial_from = forms.CharField(label=gettext_lazy("Serial numbers from"), max_length=50,
                                  required=False)  # fmt: skip
    serial_to = forms.CharField(label=gettext_lazy("Serial numbers to"), max_length=50,
                                required=False)  # fmt: skip
    udi = forms.CharField(label=gettext_lazy("UDI"), max_length=200, required=False)
    part_lot = forms.CharField(label=gettext_lazy("Part lot or serial number"), max_length=50,
                               required=False)  # fmt: skip

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device_model"].queryset = device_models_visible_to(user)
        _bootstrap(self)


# --- The recall page ------------------------------------------------------------------------------


@dataclass
class RecallAction:
    form_class: type[forms.Form]
    run: Any  # (user, recall, cleaned data) -> result


def _recipient(recall: Recall, pk: int) -> Any:
    return get_object_or_404(recall.recipients.all(), pk=pk)


def _entry(recall: Recall, pk: int) -> Any:
    return get_object_or_404(recall.devices.all(), pk=pk)


def _without(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in names}


RECALL_ACTIONS: dict[str, RecallAction] = {
    "decide": RecallAction(
        DecideForm, lambda user, recall, data: recall_decide(actor=user, recall=recall, **data)
    ),
    "cancel": RecallAction(
        CancelForm, lambda user, recall, data: recall_cancel(actor=user, recall=recall, **data)
    ),
    "send-notice": RecallAction(
        NoticeForm,
        lambda user, recall, data: recall_notice_send(
            actor=user,
            recipient=_recipient(recall, data["recipient"]),
            **_without(data, "recipient"),
        ),
    ),
    "acknowledge": RecallAction(
        AcknowledgeForm,
        lambda user, recall, data: recall_acknowledge(
            actor=user,
            recipient=_recipient(recall, data["recipient"]),
            **_without(data, "recipient"),
        ),
    ),
    "dispose": RecallAction(
        DisposeForm,
        lambda user, recall, data: recall_device_dispose(
            actor=user, entry=_entry(recall, data["device"]), **_without(data, "device")
        ),
    ),
    "record-filing": RecallAction(
        FilingForm,
        lambda user, recall, data: recall_record_filing(actor=user, recall=recall, **data),
    ),
    "check-effectiveness": RecallAction(
        EffectivenessForm,
        lambda user, recall, data: recall_check_effectiveness(actor=user, recall=recall, **data),
    ),
    "record-summary": RecallAction(
        SummaryForm,
        lambda user, recall, data: recall_record_summary(actor=user, recall=recall, **data),
    ),
    "close": RecallAction(
        CloseForm, lambda user, recall, data: recall_close(actor=user, recall=recall, **data)
    ),
}
assert set(RECALL_ACTIONS) == set(RECALL_TRANSITIONS)  # one table: every action has a form


# The recall's own actions, each a form on the page (row actions sit in their tables).
PAGE_FORMS = (
    "decide", "cancel", "record-filing", "check-effectiveness", "record-summary", "close",
)  # fmt: skip


class RecallDetailView(ResourceDetailView):
    """The recall page: clocks and progress, the actions allowed now, recipients, devices."""

    extra_template = "quality/recalls_panel.html"
    bound: dict[str, Any] | None = None

    def extra_context_for(self, obj: Recall) -> dict[str, Any]:
        from medservice.core.signatures import signatures_of

        user = self.request.user
        bound = self.bound or {}
        allowed = recall_actions_allowed(obj, user)
        recipients = list(
            obj.recipients.select_related("organization", "contact")
            .prefetch_related("notices")
            .order_by("organization__name", "pk")
        )
        entries = obj.devices.select_related(
            "device__organization", "device__department", "work_order"
        ).order_by("device__organization__name", "device__serial_number", "pk")
        page = Paginator(entries, DEVICES_PER_PAGE).get_page(self.request.GET.get("devices_page"))
        return {
            "allowed": allowed,
            "forms": {
                name: bound.get(name) or RECALL_ACTIONS[name].form_class() for name in PAGE_FORMS
            },
            "bound": bound,
            "progress": recall_progress(obj) if obj.status != "draft" else None,
            "recipients": recipients,
            "device_page": page,
            "channels": RecallNoticeChannel.choices,
            "dispositions": Disposition.choices,
            "signoffs": [
                {"signoff": signoff, "signatures": signatures_of(signoff)}
                for signoff in obj.signoffs.order_by("pk")
            ],
        }


def recall_create_from_form(
    *, actor: Any, model: type[Recall] = Recall, data: dict[str, Any]
) -> Recall:
    return recall_create(actor=actor, data=data)


class RecallFilter(ScopedFilterSet):
    decided_at = django_filters.DateFromToRangeFilter(label=gettext_lazy("decided between"))

    class Meta:
        model = Recall
        fields = ["status", "kind", "recall_class", "device_model", "batch_number"]


recalls = register(
    Resource(
        name="recalls",
        model=Recall,
        selector=recalls_visible_to,
        namespace="quality",
        list_columns=[
            "number", "kind", "status", "recall_class", "device_model", "batch_number",
            "decided_at", "notify_due_at", "filing_due_at", "filed_at", "summary_due_at",
        ],
        detail_fields=[
            "number", "kind", "status", "recall_class", "quality_case", "device_model",
            "scope_text", "reason", "instructions", "handling", "responsible",
            "responsible_phone", "decided_at", "decided_by", "notify_due_at", "filing_due_at",
            "filed_at", "filing_reference", "effectiveness_checked_at",
            "effectiveness_effective", "effectiveness_note", "ended_at", "summary_due_at",
            "summary_submitted_at", "summary_reference", "closed_at", "cancel_reason",
            "retain_until",
        ],
        export_fields=[
            "id", "number", "kind", "status", "recall_class", "device_model", "batch_number",
            "serial_from", "serial_to", "decided_at", "notify_due_at", "filing_due_at",
            "filed_at", "filing_reference", "ended_at", "summary_due_at", "summary_submitted_at",
            "summary_reference", "closed_at",
        ],
        form_class=None,
        filterset_class=RecallFilter,
        serializer_class=RecallSerializer,
        search_fields=["number", "batch_number", "serial_from"],
        ordering_fields=["decided_at", "notify_due_at", "filing_due_at", "summary_due_at",
                         "number"],
        default_ordering=["-created_at", "-id"],
        select_related=["device_model", "quality_case", "responsible", "decided_by"],
        create=recall_create_from_form,
        update=None,
        delete=None,
        organization_scoped=False,
        detail_view=RecallDetailView,
        create_url_name="quality:recall-new",
    )
)  # fmt: skip


def _scoped(request: HttpRequest, pk: int) -> Recall:
    if not request.user.has_perm("quality.view_recall"):
        raise Http404
    return get_object_or_404(recalls_visible_to(request.user), pk=pk)


def _again(request: HttpRequest, recall: Recall, status: int, **bound: Any) -> HttpResponse:
    view = RecallDetailView()
    view.resource = recalls
    view.request = request
    view.kwargs = {"pk": recall.pk}
    view.bound = bound
    response = view.get(request, pk=recall.pk)
    response.status_code = status
    return response


def _errors_onto(form: forms.Form, error: DomainError) -> None:
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        for problem in problems:
            if name in form.fields and problem != error.message:
                form.add_error(name, problem)


@login_required
@require_POST
def recall_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Every button on the recall page posts here: the action's form, then its service."""
    recall = _scoped(request, pk)
    spec = RECALL_ACTIONS.get(name)
    if spec is None:
        raise Http404
    form = _bootstrap(spec.form_class(request.POST))
    if not form.is_valid():
        return _again(request, recall, 400, **{name: form})
    try:
        spec.run(request.user, recall, dict(form.cleaned_data))
    except DomainError as error:
        _errors_onto(form, error)
        return _again(request, recall, error.status, **{name: form})
    messages.success(request, _("%(action)s: done.") % {"action": RECALL_TRANSITIONS[name].label})
    return redirect("quality:recalls-detail", pk=pk)


@login_required
def recall_new(request: HttpRequest) -> HttpResponse:
    """Prepare a recall, by hand or from a quality case (?quality_case=<id>)."""
    user = request.user
    if not user.has_perm("quality.add_recall"):
        raise Http404
    case = None
    case_id = request.GET.get("quality_case") or ""
    if case_id.isdigit():
        case = cases_visible_to(user).filter(pk=int(case_id)).first()
    form = RecallForm(request.POST or None, user=user, case=case)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                recall = recall_create(actor=user, data=dict(form.cleaned_data))
            except DomainError as error:
                _errors_onto(form, error)
                status = error.status
            else:
                messages.success(
                    request, _("Recall %(number)s is prepared.") % {"number": recall.number}
                )
                return redirect("quality:recalls-detail", pk=recall.pk)
        else:
            status = 400
    return render(request, "quality/recalls_new.html", {"form": form, "case": case},
                  status=status)  # fmt: skip


@login_required
def recall_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress or summary report (?kind=progress|summary&export=pdf|xlsx)."""
    recall = _scoped(request, pk)
    try:
        return report_response(
            recall, request.GET.get("kind", "progress"), request.GET.get("export", "pdf")
        )
    except DomainError as error:
        return HttpResponse(error.message, status=error.status, content_type="text/plain")


@login_required
def recall_letter(request: HttpRequest, pk: int, recipient_pk: int) -> HttpResponse:
    """The notice letter to one recipient as it would print now (a preview before sending)."""
    recall = _scoped(request, pk)
    recipient = _recipient(recall, recipient_pk)
    response = HttpResponse(recall_letter_pdf(recipient), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{recall.number}-{recipient.pk}.pdf"'
    return response


@login_required
def recall_notice_letter(request: HttpRequest, pk: int, notice_pk: int) -> HttpResponse:
    """The letter exactly as it was sent or printed (the proof kept with the notice)."""
    recall = _scoped(request, pk)
    notice = get_object_or_404(
        RecallNotice.objects.filter(recipient__recall=recall).exclude(letter=""), pk=notice_pk
    )
    return FileResponse(
        notice.letter.open("rb"), content_type="application/pdf",
        filename=f"{recall.number}-{notice.pk}.pdf",
    )  # fmt: skip


# --- The trace page -------------------------------------------------------------------------------


@login_required
def trace_page(request: HttpRequest) -> HttpResponse:
    """Quality staff's trace: a model and batch, serial range or UDI to every device and
    delivery line with owners and contacts; or a part lot to the devices and work orders it went
    into. ?export=csv|xlsx downloads the device and delivery rows."""
    user = request.user
    if not trace_allowed(user):
        raise Http404
    asked = any(request.GET.get(name) for name in TraceForm.base_fields)
    form = TraceForm(request.GET if asked else None, user=user)
    context: dict[str, Any] = {"form": form, "result": None, "fittings": None, "lots": []}
    status = 200
    if asked and form.is_valid():
        data = form.cleaned_data
        if data["part_lot"]:
            lots = list(part_lots_matching(user, data["part_lot"]))
            context["lots"] = [(lot, trace_part_lot(lot, user)) for lot in lots]
            if not lots:
                form.add_error("part_lot", _("No part lot has this number."))
                status = 400
        if data["device_model"] or data["udi"] or data["batch_number"] or data["serial_from"]:
            try:
                scope = trace_scope(
                    device_model=data["device_model"], batch_number=data["batch_number"],
                    serial_from=data["serial_from"], serial_to=data["serial_to"], udi=data["udi"],
                )  # fmt: skip
            except DomainError as error:
                _errors_onto(form, error)
                return render(request, "quality/recalls_trace.html", context, status=error.status)
            result = trace_run(scope)
            may_unmask = user.has_perm("customers.unmask_contact")
            export = request.GET.get("export")
            if export in ("csv", "xlsx"):
                from medservice.core.exports import export_csv, export_xlsx

                make = export_csv if export == "csv" else export_xlsx
                filename = f"trace-{scope.batch_number or scope.serial_from}"
                return make(filename, trace_export_headers(),
                            trace_export_rows(result, may_unmask=may_unmask))  # fmt: skip
            query = request.GET.copy()
            query.pop("export", None)
            context.update(
                result=result,
                may_unmask=may_unmask,
                export_query=query.urlencode(),
                can_recall=user.has_perm("quality.add_recall"),
            )
    elif asked:
        status = 400
    return render(request, "quality/recalls_trace.html", context, status=status)


def trace_url(**query: Any) -> str:
    return f"{reverse('quality:trace')}?{urlencode({k: v for k, v in query.items() if v})}"


@login_required
def case_trace(request: HttpRequest, pk: int) -> HttpResponse:
    """From a quality case to the trace of its model and batch (or serial)."""
    if not trace_allowed(request.user):
        raise Http404
    case = get_object_or_404(cases_visible_to(request.user), pk=pk)
    if case.batch_number:
        return redirect(
            trace_url(device_model=case.device_model_id, batch_number=case.batch_number)
        )
    return redirect(
        trace_url(device_model=case.device_model_id, serial_from=case.serial_number,
                  serial_to=case.serial_number)
    )  # fmt: skip


for view in (recall_action, recall_report, recall_letter, recall_notice_letter):
    view.resource = recalls  # type: ignore[attr-defined]


def _cases_resource() -> Any:
    from medservice.quality.resources import cases

    return cases


case_trace.resource = _cases_resource()  # type: ignore[attr-defined]

urlpatterns = [
    *resource_urlpatterns(recalls),
    path("trace/", trace_page, name="trace"),
    path("recalls/new/", recall_new, name="recall-new"),
    path("recalls/<int:pk>/act/<slug:name>/", recall_action, name="recall-action"),
    path("recalls/<int:pk>/report/", recall_report, name="recall-report"),
    path("recalls/<int:pk>/recipients/<int:recipient_pk>/letter/", recall_letter,
         name="recall-letter"),
    path("recalls/<int:pk>/notices/<int:notice_pk>/letter/", recall_notice_letter,
         name="recall-notice-letter"),
    path("quality-cases/<int:pk>/trace/", case_trace, name="case-trace"),
]  # fmt: skip


# --- Tabs on the quality case's page ------------------------------------------------------------


def _recalls_of_case(case: Any, user: Any) -> QuerySet[Recall]:
    return recalls_visible_to(user).filter(quality_case=case).order_by("-pk")


def _trace_of_case(case: Any, user: Any) -> QuerySet[Device]:
    """The devices of the case's model and batch (or its serial), for the case's Trace tab;
    the full trace with delivery lines and contacts is one click away."""
    if not trace_allowed(user) or case.device_model_id is None:
        return Device.objects.none()
    devices = Device.objects.filter(device_model_id=case.device_model_id)
    if case.batch_number:
        devices = devices.filter(batch_number=case.batch_number)
    elif case.serial_number:
        devices = devices.filter(serial_number=case.serial_number)
    else:
        return Device.objects.none()
    return devices.select_related("organization", "department").order_by(
        "organization__name", "serial_number", "pk"
    )


related_register(
    "quality-cases",
    Related(
        gettext_lazy("Trace of the batch"),
        _trace_of_case,
        ["serial_number", "batch_number", "organization", "department", "status"],
        "installed_base:devices-detail",
        more_url_name="quality:case-trace",
    ),
)
related_register(
    "quality-cases",
    Related(
        gettext_lazy("Recalls"),
        _recalls_of_case,
        ["number", "kind", "status", "recall_class", "decided_at", "notify_due_at"],
        "quality:recalls-detail",
        new_url_name="quality:recall-new",
        new_query="quality_case",
        new_label=gettext_lazy("Prepare a recall from this case"),
        new_permission="quality.add_recall",
    ),
)
