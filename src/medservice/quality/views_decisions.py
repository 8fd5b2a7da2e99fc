"""Pages for investigation, decision, supplier and manufacturer notices, evidence hold and
regulator feedback: the supplier-notice resource (list, page, its three actions) and the case
page's sections and actions (forms check shape; the services in quality.decisions decide)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.accounts.models import User
from medservice.catalog.models import Manufacturer, Supplier
from medservice.core.errors import DomainError
from medservice.core.forms import ResourceForm
from medservice.core.registry import Related, Resource, register, related_register
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.core.workflow import actions_allowed
from medservice.customers.choices import OrganizationKind
from medservice.installed_base.filtersets import ScopedFilterSet
from medservice.quality import decisions as services
from medservice.quality.api.decisions import SupplierNoticeSerializer
from medservice.quality.choices import (
    DecisionOutcome,
    FeedbackChannel,
    Harm,
    InvestigationKind,
    Market,
    NoticeChannel,
    NoticeReason,
    NoticeRecipient,
)
from medservice.quality.models import QualityCase, SupplierNotice
from medservice.quality.selectors import cases_visible_to

DATETIME = {"type": "datetime-local"}
DATE = {"type": "date"}


def _styled(form: forms.Form) -> forms.Form:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
            continue
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs.setdefault("class", css)
    return form


# --- forms ---------------------------------------------------------------------------------------


class InvestigationForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=InvestigationKind.choices)
    performed_on = forms.DateField(label=gettext_lazy("Performed on"), widget=forms.DateInput(DATE))
    activity = forms.CharField(
        label=gettext_lazy("What was done"), widget=forms.Textarea(attrs={"rows": 2})
    )
    findings = forms.CharField(
        label=gettext_lazy("Findings"), widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"), choices=[("", "—"), *DecisionOutcome.choices]
    )
    rationale = forms.CharField(
        label=gettext_lazy("Rationale"), widget=forms.Textarea(attrs={"rows": 3})
    )
    advice = forms.CharField(
        label=gettext_lazy("Advice given"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Required for a use error or individual difference."),
    )  # fmt: skip
    harm = forms.ChoiceField(
        label=gettext_lazy("Harm (adverse events)"), required=False,
        choices=[("", "—"), *Harm.choices],
    )  # fmt: skip
    markets = forms.MultipleChoiceField(
        label=gettext_lazy("Markets where the product is sold"), choices=Market.choices,
        widget=forms.CheckboxSelectMultiple, initial=[Market.CN],
    )  # fmt: skip
    reportable_markets = forms.MultipleChoiceField(
        label=gettext_lazy("Reportable in"), choices=Market.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    salesperson = forms.ModelChoiceField(
        label=gettext_lazy("Salesperson (service issue)"), required=False,
        queryset=User.objects.none(),
        help_text=gettext_lazy("Empty: the salesperson of the unit's delivery."),
    )  # fmt: skip
    password = forms.CharField(
        label=gettext_lazy("Your password (signature)"), widget=forms.PasswordInput,
        strip=False,
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["salesperson"].queryset = User.objects.filter(
            is_active=True, organization__kind=OrganizationKind.COMPANY
        ).order_by("last_name", "first_name", "username")


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


class RegulatorFeedbackForm(forms.Form):
    given_at = forms.DateTimeField(
        label=gettext_lazy("Given at"), required=False, widget=forms.DateTimeInput(DATETIME),
        help_text=gettext_lazy("Empty: now."),
    )  # fmt: skip
    given_to = forms.CharField(label=gettext_lazy("Given to"), max_length=200)
    channel = forms.ChoiceField(label=gettext_lazy("How"), choices=FeedbackChannel.choices)
    content = forms.CharField(
        label=gettext_lazy("Feedback given"), widget=forms.Textarea(attrs={"rows": 2})
    )


class CaseNoticeForm(forms.Form):
    recipient_kind = forms.ChoiceField(label=gettext_lazy("To"), choices=NoticeRecipient.choices)
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=NoticeReason.choices)


class NoticeForm(ResourceForm):
    """A notice prepared by hand (e.g. to the manufacturer when the case needs it)."""

    class Meta:
        model = SupplierNotice
        fields = ["case", "recipient_kind", "supplier", "manufacturer", "reason", "subject",
                  "content"]  # fmt: skip
        widgets = {"content": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["case"].queryset = cases_visible_to(self.user)
        self.fields["subject"].required = False
        self.fields["content"].required = False
        self.fields["subject"].help_text = _("Empty: a summary of the case.")


class NoticeSendForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Sent by"), choices=NoticeChannel.choices)
    sent_to = forms.CharField(
        label=gettext_lazy("Sent to"), required=False, max_length=200,
        help_text=gettext_lazy("Empty: the recipient's e-mail, phone or contact on file."),
    )  # fmt: skip
    sent_at = forms.DateTimeField(
        label=gettext_lazy("Sent at"), required=False, widget=forms.DateTimeInput(DATETIME),
        help_text=gettext_lazy("Empty: now."),
    )  # fmt: skip
    response_due_on = forms.DateField(
        label=gettext_lazy("Response due on"), required=False, widget=forms.DateInput(DATE),
        help_text=gettext_lazy("Empty: the default number of days after sending."),
    )  # fmt: skip
    supplier = forms.ModelChoiceField(
        label=gettext_lazy("Supplier"), required=False, queryset=Supplier.objects.none(),
        help_text=gettext_lazy("Only when the product's supplier is not known."),
    )  # fmt: skip
    manufacturer = forms.ModelChoiceField(
        label=gettext_lazy("Manufacturer"), required=False,
        queryset=Manufacturer.objects.none(),
        help_text=gettext_lazy("Only when the product's manufacturer is not known."),
    )  # fmt: skip

    def __init__(self, *args: Any, notice: SupplierNotice | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = Supplier.objects.order_by("name")
        self.fields["manufacturer"].queryset = Manufacturer.objects.order_by("name")
        if notice is not None:
            # Ask for the recipient only when the notice has none.
            if notice.recipient_kind != NoticeRecipient.SUPPLIER or notice.supplier_id:
                del self.fields["supplier"]
            if notice.recipient_kind != NoticeRecipient.MANUFACTURER or notice.manufacturer_id:
                del self.fields["manufacturer"]


class NoticeAcknowledgeForm(forms.Form):
    acknowledged_by_name = forms.CharField(label=gettext_lazy("Acknowledged by"), max_length=200)
    acknowledged_at = forms.DateTimeField(
        label=gettext_lazy("Acknowledged at"), required=False,
        widget=forms.DateTimeInput(DATETIME), help_text=gettext_lazy("Empty: now."),
    )  # fmt: skip


class NoticeRespondForm(forms.Form):
    response = forms.CharField(
        label=gettext_lazy("Response"), widget=forms.Textarea(attrs={"rows": 3})
    )
    responded_at = forms.DateTimeField(
        label=gettext_lazy("Responded at"), required=False,
        widget=forms.DateTimeInput(DATETIME), help_text=gettext_lazy("Empty: now."),
    )  # fmt: skip


class SupplierNoticeFilter(ScopedFilterSet):
    response_due_on = django_filters.DateFromToRangeFilter(label=gettext_lazy("response due"))

    class Meta:
        model = SupplierNotice
        fields = ["status", "recipient_kind", "reason", "supplier", "manufacturer", "case"]


# --- the supplier-notice resource -------------------------------------------------------------

NOTICE_FORMS: dict[str, type[forms.Form]] = {
    "send": NoticeSendForm,
    "acknowledge": NoticeAcknowledgeForm,
    "respond": NoticeRespondForm,
}


def _notice_form(name: str, data: Any = None, notice: SupplierNotice | None = None) -> forms.Form:
    form_class = NOTICE_FORMS[name]
    if form_class is NoticeSendForm:
        return _styled(NoticeSendForm(data, notice=notice))
    return _styled(form_class(data))


class NoticeDetailView(ResourceDetailView):
    """The notice's page: recipient, repair clause, reminders, and the actions allowed now."""

    extra_template = "quality/decisions_notice_panel.html"
    bound: dict[str, forms.Form] | None = None

    def extra_context_for(self, obj: SupplierNotice) -> dict[str, Any]:
        bound = self.bound or {}
        allowed = actions_allowed(services.NOTICE_TRANSITIONS, obj, self.request.user)
        return {
            "notice_actions": [
                {
                    "name": name,
                    "label": rule.label,
                    "style": rule.style,
                    "form": bound.get(name) or _notice_form(name, notice=obj),
                }
                for name, rule in allowed
            ],
        }


def notice_create_from_form(
    *, actor: Any, model: type[SupplierNotice] = SupplierNotice, data: dict[str, Any]
) -> SupplierNotice:
    return services.notice_create(
        actor=actor, case=data["case"], recipient_kind=data["recipient_kind"],
        reason=data["reason"], supplier=data.get("supplier"),
        manufacturer=data.get("manufacturer"), subject=data.get("subject") or "",
        content=data.get("content") or "",
    )  # fmt: skip


notices = register(
    Resource(
        name="supplier-notices",
        model=SupplierNotice,
        selector=services.supplier_notices_visible_to,
        namespace="quality",
        list_columns=[
            "number", "case", "recipient_kind", "supplier", "manufacturer", "reason", "status",
            "sent_at", "response_due_on", "reminder_count",
        ],
        detail_fields=[
            "number", "case", "recipient_kind", "supplier", "manufacturer", "reason", "status",
            "subject", "content", "channel", "sent_to", "sent_at", "sent_by", "response_due_on",
            "acknowledged_at", "acknowledged_by_name", "reminder_count", "last_reminded_at",
            "response", "responded_at",
        ],
        export_fields=[
            "id", "number", "case", "recipient_kind", "supplier", "manufacturer", "reason",
            "status", "channel", "sent_to", "sent_at", "response_due_on", "acknowledged_at",
            "responded_at", "reminder_count",
        ],
        form_class=NoticeForm,
        filterset_class=SupplierNoticeFilter,
        serializer_class=SupplierNoticeSerializer,
        search_fields=["number", "case__number", "supplier__name", "manufacturer__name"],
        ordering_fields=["created_at", "sent_at", "response_due_on", "number"],
        default_ordering=["-created_at", "-id"],
        select_related=["case", "supplier", "manufacturer", "sent_by"],
        create=notice_create_from_form,
        update=None,
        delete=None,
        organization_scoped=False,
        detail_view=NoticeDetailView,
    )
)  # fmt: skip


def _scoped_notice(request: HttpRequest, pk: int) -> SupplierNotice:
    if not request.user.has_perm("quality.view_suppliernotice"):
        raise Http404
    return get_object_or_404(services.supplier_notices_visible_to(request.user), pk=pk)


def _notice_again(
    request: HttpRequest, notice: SupplierNotice, status: int, **bound: forms.Form
) -> HttpResponse:
    view = NoticeDetailView()
    view.resource = notices
    view.request = request
    view.kwargs = {"pk": notice.pk}
    view.bound = bound
    response = view.get(request, pk=notice.pk)
    response.status_code = status
    return response


def _errors_onto(form: forms.Form, error: DomainError) -> None:
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        for problem in problems:
            if name in form.fields and problem != error.message:
                form.add_error(name, problem)


NOTICE_SERVICES: dict[str, Callable[..., Any]] = {
    "send": services.notice_send,
    "acknowledge": services.notice_acknowledge,
    "respond": services.notice_respond,
}


@login_required
@require_POST
def notice_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    notice = _scoped_notice(request, pk)
    if name not in NOTICE_FORMS:
        raise Http404
    if not request.user.has_perm("quality.change_suppliernotice"):
        raise PermissionDenied
    form = _notice_form(name, request.POST, notice=notice)
    if not form.is_valid():
        return _notice_again(request, notice, 400, **{name: form})
    data = {key: value for key, value in form.cleaned_data.items() if value not in (None, "")}
    try:
        NOTICE_SERVICES[name](actor=request.user, notice=notice, **data)
    except DomainError as error:
        _errors_onto(form, error)
        return _notice_again(request, notice, error.status, **{name: form})
    messages.success(request, _("Supplier notice %(number)s updated.") % {"number": notice.number})
    return redirect("quality:supplier-notices-detail", pk=pk)


notice_action.resource = notices  # type: ignore[attr-defined]


# --- the case page -----------------------------------------------------------------------------

CASE_FORMS: dict[str, Callable[[], forms.Form]] = {
    "investigate": InvestigationForm,
    "decide": DecisionForm,
    "release_hold": ReasonForm,
    "evidence_hold": ReasonForm,
    "evidence_release": ReasonForm,
    "regulator_feedback": RegulatorFeedbackForm,
    "notice": CaseNoticeForm,
}


# Who may use each form (the services check again; this refuses before reading the input).
CASE_PERMISSIONS = {
    "investigate": "quality.add_investigationentry",
    "decide": "quality.add_casedecision",
    "release_hold": "quality.release_batch_hold",
    "evidence_hold": "installed_base.add_hold",
    "evidence_release": "quality.release_evidence_hold",
    "regulator_feedback": "quality.add_caseregulatorfeedback",
    "notice": "quality.add_suppliernotice",
}


def case_page_context(case: QualityCase, user: Any, bound: dict[str, Any]) -> dict[str, Any]:
    """What the case page shows of investigation, notices, decision, holds and feedback, and
    which forms the user may use now (a fixed number of queries)."""
    from medservice.core.signatures import signatures_of

    def form(name: str) -> forms.Form:
        # Several forms share field names (reason, note) on one page: ids must stay unique.
        return bound.get(name) or _styled(CASE_FORMS[name](auto_id=f"id_{name}_%s"))

    is_open = case.status in ("open", "investigating")
    decision = getattr(case, "decision", None)
    evidence = list(services.case_evidence_holds(case)[:5])
    active_evidence = next((hold for hold in evidence if hold.released_at is None), None)
    batch_holds = list(services.case_batch_holds(case))
    context = {
        "entries": list(case.investigation_entries.select_related("performed_by")),
        "case_notices": list(
            case.supplier_notices.select_related("supplier", "manufacturer").order_by("pk")
        ),
        "decision": decision,
        "decision_markets": list(decision.markets.all()) if decision else [],
        "decision_links": list(decision.links.all()) if decision else [],
        "decision_signatures": signatures_of(decision) if decision else [],
        "batch_holds": batch_holds,
        "evidence_hold": active_evidence,
        "evidence_released": [hold for hold in evidence if hold.released_at is not None],
        "feedback": list(case.regulator_feedback.select_related("given_by")),
        "feedback_due": services.regulator_feedback_due(case),
        "resume_messages": list(case.customer_messages.select_related("organization")[:50]),
        "regulatory_role": services.regulatory_role(),
        "can_investigate": is_open and user.has_perm("quality.add_investigationentry"),
        "can_decide": is_open and user.has_perm("quality.add_casedecision"),
        "can_release_hold": not is_open and bool(batch_holds)
        and user.has_perm("quality.release_batch_hold"),
        "can_place_evidence": active_evidence is None and case.device_id is not None
        and user.has_perm("installed_base.add_hold"),
        "can_release_evidence": active_evidence is not None
        and user.has_perm("quality.release_evidence_hold"),
        "can_feedback": user.has_perm("quality.add_caseregulatorfeedback"),
        "can_notice": user.has_perm("quality.add_suppliernotice"),
    }  # fmt: skip
    for name in CASE_FORMS:
        context[f"{name}_form"] = form(name)
    return context


def _scoped_case(request: HttpRequest, pk: int) -> QualityCase:
    if not request.user.has_perm("quality.view_qualitycase"):
        raise Http404
    return get_object_or_404(cases_visible_to(request.user), pk=pk)


def _case_again(request: HttpRequest, case: QualityCase, status: int, **bound: Any) -> HttpResponse:
    from medservice.quality.resources import _again

    return _again(request, case, status, **bound)


def _case_action(
    name: str, perform: Callable[[Any, QualityCase, dict[str, Any]], Any], done: Any
) -> Callable[[HttpRequest, int], HttpResponse]:
    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        case = _scoped_case(request, pk)
        if not request.user.has_perm(CASE_PERMISSIONS[name]):
            raise PermissionDenied
        form = _styled(CASE_FORMS[name](request.POST, auto_id=f"id_{name}_%s"))
        if not form.is_valid():
            return _case_again(request, case, 400, **{name: form})
        try:
            perform(request.user, case, form.cleaned_data)
        except DomainError as error:
            _errors_onto(form, error)
            return _case_again(request, case, error.status, **{name: form})
        messages.success(request, str(done))
        return redirect("quality:quality-cases-detail", pk=pk)

    view.__name__ = f"case_{name}"
    return view


def _investigate(actor: Any, case: QualityCase, data: dict[str, Any]) -> Any:
    return services.investigation_record(actor=actor, case=case, **data)


def _decide(actor: Any, case: QualityCase, data: dict[str, Any]) -> Any:
    return services.case_decide(actor=actor, case=case, **data)


def _release_hold(actor: Any, case: QualityCase, data: dict[str, Any]) -> Any:
    return services.case_hold_release(actor=actor, case=case, reason=data["reason"])


def _evidence_hold(actor: Any, case: QualityCase, data: dict[str, Any]) -> Any:
    return services.evidence_hold_place(actor=actor, case=case, reason=data["reason"])


def _evidence_release(actor: Any, case: QualityCase, data: dict[str, Any]) -> Any:
    return services.evidence_hold_release(actor=actor, case=case, reason=data["reason"])


def _feedback(actor: Any, case: QualityCase, data: dict[str, Any]) -> Any:
    return services.regulator_feedback_record(actor=actor, case=case, **data)


def _notice(actor: Any, case: QualityCase, data: dict[str, Any]) -> Any:
    return services.notice_create(actor=actor, case=case, **data)


case_views = {
    "investigate": _case_action(
        "investigate", _investigate, gettext_lazy("The investigation step is recorded.")
    ),
    "decide": _case_action("decide", _decide, gettext_lazy("The decision is signed.")),
    "release_hold": _case_action(
        "release_hold", _release_hold, gettext_lazy("The batch hold is released.")
    ),
    "evidence_hold": _case_action(
        "evidence_hold", _evidence_hold, gettext_lazy("The device is kept as evidence.")
    ),
    "evidence_release": _case_action(
        "evidence_release", _evidence_release, gettext_lazy("The evidence hold is released.")
    ),
    "regulator_feedback": _case_action(
        "regulator_feedback", _feedback, gettext_lazy("The feedback to the regulator is recorded.")
    ),
    "notice": _case_action("notice", _notice, gettext_lazy("The notice is prepared.")),
}


def _bind_resources() -> None:
    from medservice.quality.resources import cases

    for view in case_views.values():
        view.resource = cases  # type: ignore[attr-defined]


_bind_resources()

urlpatterns = [
    *resource_urlpatterns(notices),
    path("supplier-notices/<int:pk>/<slug:name>/", notice_action, name="supplier-notice-action"),
    *[
        path(
            f"quality-cases/<int:pk>/{name.replace('_', '-')}/",
            view,
            name=f"case-{name.replace('_', '-')}",
        )
        for name, view in case_views.items()
    ],
]


def _notices_of_case(case: QualityCase, user: Any) -> QuerySet[SupplierNotice]:
    return services.supplier_notices_visible_to(user).filter(case=case).order_by("pk")


related_register(
    "quality-cases",
    Related(
        gettext_lazy("Supplier notices"),
        _notices_of_case,
        ["number", "recipient_kind", "reason", "status", "sent_at", "response_due_on"],
        "quality:supplier-notices-detail",
    ),
)
