"""Pages for CAPA and trend signals: the CAPA list and record page (with one small form per
action allowed now, and the actions' own "done" forms), opening a CAPA (also "from here" on a
quality case's page), and the trend signals waiting for a decision with their one-click CAPA.

Forms check shape only; the services in capa.py and trends.py decide, and their refusals come
back on the named fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from medservice.core.registry import Related, Resource, register, related_register
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.quality import resources as case_resources
from medservice.quality.api.capa import CapaSerializer, TrendSignalSerializer
from medservice.quality.capa import (
    TRANSITIONS,
    capa_actions_allowed,
    capa_add_action,
    capa_cancel,
    capa_close,
    capa_complete_action,
    capa_is_action_owner,
    capa_open,
    capa_record_root_cause,
    capa_submit_verification,
    capa_verify,
    capas_of_source,
    capas_visible_to,
    staff_members,
)
from medservice.quality.choices import (
    CapaKind,
    RootCauseMethod,
    SignalStatus,
    TrendDimension,
    VerificationResult,
)
from medservice.quality.models import Capa, CapaAction, QualityCase, TrendSignal
from medservice.quality.selectors import cases_visible_to
from medservice.quality.trends import (
    SIGNAL_CAPA_KINDS,
    SIGNAL_TRANSITIONS,
    signal_actions_allowed,
    trend_signal_acknowledge,
    trend_signal_dismiss,
    trend_signal_open_capa,
    trend_signals_visible_to,
)

DATE = {"type": "date"}
PAGE_SIZE = 25


def bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")
    return form


def errors_onto(form: forms.Form, error: DomainError) -> None:
    """A service's refusal on the fields it names (else above the form)."""
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        for problem in problems:
            if name in form.fields:
                form.add_error(name, problem)
            elif problem != error.message:
                form.add_error(None, problem)


# --- Filters ------------------------------------------------------------------------------------


class CapaFilterSet(ScopedFilterSet):
    due_on = django_filters.DateFromToRangeFilter(label=gettext_lazy("target date between"))

    class Meta:
        model = Capa
        fields = ["status", "kind"]


class TrendSignalFilterSet(ScopedFilterSet):
    class Meta:
        model = TrendSignal
        fields = ["status", "dimension"]


# --- Forms --------------------------------------------------------------------------------------


class OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class CapaOpenForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CapaKind.choices)
    problem = forms.CharField(
        label=gettext_lazy("Problem"), widget=forms.Textarea(attrs={"rows": 4})
    )
    source_label = forms.CharField(
        label=gettext_lazy("Source"), max_length=200, required=False,
        help_text=gettext_lazy("Where the problem came from: an audit, a management review, an "
                               "evaluation... (filled in from the quality case)."),
    )  # fmt: skip
    owner = OwnerField(label=gettext_lazy("Responsible person"), queryset=None, required=False)
    due_on = forms.DateField(
        label=gettext_lazy("Target date"), required=False, widget=forms.DateInput(attrs=DATE)
    )
    # Carried from the quality case the page was opened from, never picked from a list.
    case = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_members()
        self.fields["case"].queryset = cases_visible_to(user)
        bootstrap(self)


class ActionForm(forms.Form):
    def __init__(self, data: Any = None, files: Any = None, *, capa: Capa, user: Any) -> None:
        super().__init__(data, files)
        self.capa = capa
        self.user = user
        bootstrap(self)


class RootCauseForm(ActionForm):
    method = forms.ChoiceField(
        label=gettext_lazy("Method"), choices=[("", "—"), *RootCauseMethod.choices]
    )
    root_cause = forms.CharField(
        label=gettext_lazy("Root cause"), widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].initial = self.capa.root_cause_method
        self.fields["root_cause"].initial = self.capa.root_cause


class AddActionForm(ActionForm):
    description = forms.CharField(
        label=gettext_lazy("Action"), widget=forms.Textarea(attrs={"rows": 2})
    )
    owner = OwnerField(label=gettext_lazy("Owner"), queryset=None)
    due_on = forms.DateField(label=gettext_lazy("Due on"), widget=forms.DateInput(attrs=DATE))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_members()


class NoInputForm(ActionForm):
    pass


class VerifyForm(ActionForm):
    result = forms.ChoiceField(
        label=gettext_lazy("Were the actions effective?"),
        choices=[("", "—"), *VerificationResult.choices],
    )
    evidence = forms.CharField(
        label=gettext_lazy("Evidence"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("E.g. no complaint of this kind in the three months since."),
    )  # fmt: skip
    evidence_file = forms.FileField(label=gettext_lazy("Attachment"), required=False)


class CloseForm(ActionForm):
    note = forms.CharField(label=gettext_lazy("Closing note"), required=False, max_length=300)
    password = forms.CharField(
        label=gettext_lazy("Your password (your signature on the closure)"),
        widget=forms.PasswordInput,
    )


class CancelForm(ActionForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class CompleteActionForm(forms.Form):
    evidence_note = forms.CharField(
        label=gettext_lazy("Evidence"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    evidence_file = forms.FileField(label=gettext_lazy("Attachment"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


@dataclass
class ActionSpec:
    form_class: type[ActionForm]
    run: Callable[[Any, Capa, dict[str, Any]], Any]


ACTION_FORMS: dict[str, ActionSpec] = {
    "record-root-cause": ActionSpec(RootCauseForm, lambda user, capa, data: capa_record_root_cause(
        actor=user, capa=capa, method=data["method"], root_cause=data["root_cause"])),
    "add-action": ActionSpec(AddActionForm, lambda user, capa, data: capa_add_action(
        actor=user, capa=capa, description=data["description"], owner=data["owner"],
        due_on=data["due_on"])),
    "submit-verification": ActionSpec(NoInputForm, lambda user, capa, data: (
        capa_submit_verification(actor=user, capa=capa))),
    "verify": ActionSpec(VerifyForm, lambda user, capa, data: capa_verify(
        actor=user, capa=capa, result=data["result"], evidence=data["evidence"],
        evidence_file=data["evidence_file"])),
    "close": ActionSpec(CloseForm, lambda user, capa, data: capa_close(
        actor=user, capa=capa, password=data["password"], note=data["note"])),
    "cancel": ActionSpec(CancelForm, lambda user, capa, data: capa_cancel(
        actor=user, capa=capa, reason=data["reason"])),
}  # fmt: skip


def actions_for(capa: Capa, user: Any, bound: dict[str, ActionForm] | None = None) -> list[dict]:
    """The workflow actions `user` may take now, each with its (bound) form."""
    bound = bound or {}
    return [
        {
            "name": name,
            "transition": item,
            "form": bound.get(name) or ACTION_FORMS[name].form_class(capa=capa, user=user),
            "open": name in bound,
        }
        for name, item in capa_actions_allowed(capa, user)
        if name in ACTION_FORMS
    ]


# --- CAPA pages ---------------------------------------------------------------------------------


class CapaDetailView(ResourceDetailView):
    """The CAPA's page: its source, the root cause, the actions (each completable by its owner),
    the verification, the closure signature and the actions allowed now."""

    extra_template = "quality/capa_panel.html"
    bound_forms: dict[str, Any] | None = None

    def has_permission(self) -> bool:
        # An action's owner (an engineer, a salesperson) reads the CAPA to do their part.
        return super().has_permission() or capa_is_action_owner(
            self.kwargs.get("pk"), self.request.user
        )

    def extra_context_for(self, obj: Capa) -> dict[str, Any]:
        from medservice.core.signatures import signatures_of

        user = self.request.user
        bound = self.bound_forms or {}
        may_complete = obj.status in TRANSITIONS["complete-action"].sources
        actions = []
        for action in obj.actions.select_related("owner", "done_by"):
            can_complete = (
                may_complete
                and action.done_at is None
                and (action.owner_id == user.pk or user.has_perm("quality.change_capa"))
            )
            actions.append({
                "object": action,
                "form": bound.get(f"action-{action.pk}") or CompleteActionForm()
                if can_complete else None,
                "open": f"action-{action.pk}" in bound,
            })  # fmt: skip
        return {
            "capa_actions": actions,
            "capa_workflow": actions_for(obj, user, bound),
            "source_url": _source_url(obj, user),
            "signatures": signatures_of(obj),
        }


def _source_url(capa: Capa, user: Any) -> str:
    """A link to the record that raised the CAPA, when it has a page the user may open."""
    from django.urls import NoReverseMatch, reverse

    from medservice.core.registry import resource_for_model

    if capa.source_type_id is None:
        return ""
    model = capa.source_type.model_class()
    resource = resource_for_model(model) if model is not None else None
    if resource is None or not user.has_perm(resource.permission("view")):
        return ""
    try:
        return reverse(resource.url_name("detail"), args=[capa.source_id])
    except NoReverseMatch:
        return ""


def capa_create_from_api(*, actor: Any, model: type[Capa] = Capa, data: dict[str, Any]) -> Capa:
    case = data.pop("quality_case", None)
    return capa_open(actor=actor, source=case, **data)


capas = register(
    Resource(
        name="capas",
        model=Capa,
        selector=capas_visible_to,
        namespace="quality",
        list_columns=["number", "kind", "status", "source_label", "owner", "due_on",
                      "created_at", "closed_at"],
        detail_fields=[
            "number", "kind", "status", "source_label", "problem", "owner", "due_on",
            "opened_by", "created_at", "root_cause_method", "root_cause", "root_cause_by",
            "root_cause_at", "verification_result", "verification_evidence",
            "verification_file", "verified_by", "verified_at", "closed_by", "closed_at",
            "cancel_reason", "cancelled_at", "retain_until",
        ],
        export_fields=["number", "kind", "status", "source_label", "problem", "owner", "due_on",
                       "root_cause_method", "root_cause", "verification_result", "created_at",
                       "closed_at"],
        filterset_class=CapaFilterSet,
        serializer_class=CapaSerializer,
        search_fields=["number", "source_label", "problem"],
        ordering_fields=["number", "due_on", "created_at", "closed_at"],
        default_ordering=["-id"],
        select_related=["owner"],
        create=capa_create_from_api,
        update=None,
        delete=None,
        organization_scoped=False,
        detail_view=CapaDetailView,
        create_url_name="quality:capa-open",
    )
)  # fmt: skip


def scoped_capa(request: HttpRequest, pk: int) -> Capa:
    if not request.user.has_perm("quality.view_capa") and not capa_is_action_owner(
        pk, request.user
    ):
        raise Http404
    return get_object_or_404(capas_visible_to(request.user), pk=pk)


def detail_again(request: HttpRequest, capa: Capa, status: int, **bound: Any) -> HttpResponse:
    view = CapaDetailView()
    view.resource = capas
    view.request = request
    view.kwargs = {"pk": capa.pk}
    view.bound_forms = bound
    response = view.get(request, pk=capa.pk)
    response.status_code = status
    return response


@login_required
def capa_open_view(request: HttpRequest) -> HttpResponse:
    """Open a CAPA by hand, or from a quality case (?case=<pk>: the case is its source)."""
    if not request.user.has_perm("quality.add_capa"):
        raise Http404
    case = None
    case_id = request.POST.get("case") or request.GET.get("case")
    if case_id:
        if not str(case_id).isdigit():
            raise Http404
        case = get_object_or_404(cases_visible_to(request.user), pk=case_id)
    initial = {"case": case.pk, "source_label": case.number} if case is not None else {}
    form = CapaOpenForm(request.POST or None, user=request.user, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                capa = capa_open(
                    actor=request.user, kind=data["kind"], problem=data["problem"],
                    source=data["case"], source_label=data["source_label"],
                    owner=data["owner"], due_on=data["due_on"],
                )  # fmt: skip
            except DomainError as error:
                errors_onto(form, error)
                status = error.status
            else:
                messages.success(request, _("%(number)s is open.") % {"number": capa.number})
                return redirect("quality:capas-detail", pk=capa.pk)
        else:
            status = 400
    return render(request, "quality/capa_open.html", {"form": form, "case": case}, status=status)


@login_required
@require_POST
def capa_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one workflow action from its small form; a refusal is shown on the same page with
    what was typed kept."""
    capa = scoped_capa(request, pk)
    spec = ACTION_FORMS.get(name)
    if spec is None:
        raise Http404
    form = spec.form_class(request.POST, request.FILES, capa=capa, user=request.user)
    if not form.is_valid():
        return detail_again(request, capa, 400, **{name: form})
    try:
        spec.run(request.user, capa, form.cleaned_data)
    except (PermissionDeniedError, InvalidTransitionError) as error:
        messages.error(request, error.message)
        return detail_again(request, capa, error.status)
    except DomainError as error:
        errors_onto(form, error)
        return detail_again(request, capa, error.status, **{name: form})
    messages.success(request, _("%(action)s: done.") % {"action": TRANSITIONS[name].label})
    return redirect("quality:capas-detail", pk=pk)


@login_required
@require_POST
def capa_action_complete(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    """The owner (or quality staff) records an action as done, with its evidence."""
    capa = scoped_capa(request, pk)
    action = get_object_or_404(CapaAction, pk=action_pk, capa=capa)
    form = CompleteActionForm(request.POST, request.FILES)
    key = f"action-{action.pk}"
    if not form.is_valid():
        return detail_again(request, capa, 400, **{key: form})
    try:
        capa_complete_action(actor=request.user, action=action, **form.cleaned_data)
    except (PermissionDeniedError, InvalidTransitionError) as error:
        messages.error(request, error.message)
        return detail_again(request, capa, error.status)
    except DomainError as error:
        errors_onto(form, error)
        return detail_again(request, capa, error.status, **{key: form})
    messages.success(request, _("The action is recorded as done."))
    return redirect("quality:capas-detail", pk=pk)


# --- Trend signals ------------------------------------------------------------------------------


class TrendSignalDetailView(ResourceDetailView):
    """A signal's page: the numbers behind it and the decision buttons."""

    extra_template = "quality/capa_signal_panel.html"

    def extra_context_for(self, obj: TrendSignal) -> dict[str, Any]:
        allowed = dict(signal_actions_allowed(obj, self.request.user))
        return {
            "can_open_capa": "open-capa" in allowed
            and self.request.user.has_perm("quality.review_trendsignal"),
            "can_review": "dismiss" in allowed,
            "capa_kinds": [(kind, CapaKind(kind).label) for kind in SIGNAL_CAPA_KINDS],
        }


signals = register(
    Resource(
        name="trend-signals",
        model=TrendSignal,
        selector=trend_signals_visible_to,
        namespace="quality",
        list_columns=["label", "dimension", "month", "observed", "expected", "exposure",
                      "p_value", "status", "capa"],
        detail_fields=[
            "label", "dimension", "month", "observed", "expected", "exposure", "baseline_count",
            "baseline_exposure", "p_value", "status", "reviewed_by", "reviewed_at",
            "dismiss_reason", "capa",
        ],
        filterset_class=TrendSignalFilterSet,
        serializer_class=TrendSignalSerializer,
        search_fields=["label", "batch_number"],
        ordering_fields=["month", "p_value", "observed"],
        default_ordering=["-month", "p_value", "-id"],
        select_related=["capa", "device_model", "fault_code"],
        create=None,
        update=None,
        delete=None,
        organization_scoped=False,
        detail_view=TrendSignalDetailView,
    )
)  # fmt: skip


class DismissForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why no action is needed"), max_length=300)


@login_required
def trend_signals_open(request: HttpRequest) -> HttpResponse:
    """The signals waiting for a decision, most recent month and most significant first, each
    with its one-click CAPA."""
    if not request.user.has_perm("quality.view_trendsignal"):
        raise Http404
    queryset = (
        trend_signals_visible_to(request.user)
        .filter(status__in=[SignalStatus.NEW, SignalStatus.ACKNOWLEDGED])
        .select_related("device_model", "fault_code")
        .order_by("-month", "p_value", "-id")
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    user = request.user
    return render(request, "quality/capa_signals_open.html", {
        "page": page,
        "can_open_capa": user.has_perm("quality.add_capa")
        and user.has_perm("quality.review_trendsignal"),
        "can_review": user.has_perm("quality.review_trendsignal"),
        "capa_kinds": [(kind, CapaKind(kind).label) for kind in SIGNAL_CAPA_KINDS],
        "dimensions": TrendDimension,
    })  # fmt: skip


@login_required
@require_POST
def trend_signal_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Acknowledge, dismiss (with a reason) or open a CAPA (kind from the button pressed)."""
    if name not in SIGNAL_TRANSITIONS or not request.user.has_perm("quality.view_trendsignal"):
        raise Http404
    signal = get_object_or_404(trend_signals_visible_to(request.user), pk=pk)
    back = request.POST.get("back") == "open"
    try:
        if name == "acknowledge":
            trend_signal_acknowledge(actor=request.user, signal=signal)
            messages.success(request, _("The signal is acknowledged."))
        elif name == "dismiss":
            form = DismissForm(request.POST)
            reason = form.data.get("reason", "")
            trend_signal_dismiss(actor=request.user, signal=signal, reason=reason)
            messages.success(request, _("The signal is dismissed."))
        else:
            signal = trend_signal_open_capa(
                actor=request.user, signal=signal, kind=request.POST.get("kind", "")
            )
            messages.success(
                request, _("%(number)s is open for this signal.") % {"number": signal.capa.number}
            )
            return redirect("quality:capas-detail", pk=signal.capa_id)
    except DomainError as error:
        messages.error(request, error.message)
        target = redirect("quality:trend-signals-open" if back else "quality:trend-signals-detail",
                          *([] if back else [pk]))  # fmt: skip
        target.status_code = 303
        return target
    return redirect("quality:trend-signals-open" if back else "quality:trend-signals-detail",
                    *([] if back else [pk]))  # fmt: skip


for view in (capa_action, capa_action_complete):
    view.resource = capas  # type: ignore[attr-defined]
trend_signal_action.resource = signals  # type: ignore[attr-defined]

urlpatterns = [
    path("capas/new/", capa_open_view, name="capa-open"),
    *resource_urlpatterns(capas),
    path("capas/<int:pk>/do/<str:name>/", capa_action, name="capa-action"),
    path("capas/<int:pk>/actions/<int:action_pk>/complete/", capa_action_complete,
         name="capa-action-complete"),
    path("trend-signals/open/", trend_signals_open, name="trend-signals-open"),
    *resource_urlpatterns(signals),
    path("trend-signals/<int:pk>/do/<str:name>/", trend_signal_action,
         name="trend-signal-action"),
]  # fmt: skip


# --- The CAPA tab on a quality case -------------------------------------------------------------


def _of_case(case: QualityCase, user: Any) -> QuerySet[Capa]:
    return capas_of_source(case).filter(pk__in=capas_visible_to(user).values("pk")).order_by("-pk")


related_register(
    case_resources.cases.name,
    Related(
        gettext_lazy("CAPA"),
        _of_case,
        ["number", "kind", "status", "owner", "due_on"],
        "quality:capas-detail",
        new_url_name="quality:capa-open",
        new_query="case",
        new_label=gettext_lazy("Open a CAPA from this case"),
        new_permission="quality.add_capa",
    ),
)
