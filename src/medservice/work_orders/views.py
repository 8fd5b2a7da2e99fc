"""The work-order pages: the record page with one small form per action allowed now, the
engineer's phone page for one visit (sections contributed by each area), opening a work order
(from a service request or by hand), the customer's view in the portal and the one-time quote
link.

Each area registers its action forms with `action_form_register` and its phone sections with
`visit_section_register` (views_dispatch.py, views_onsite.py, views_reports.py); forms check
shape only, the services decide, and their refusals come back on the named fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from medservice.core.views import ResourceDetailView
from medservice.core.widgets import AutocompleteSelect
from medservice.installed_base.choices import Exclusion
from medservice.installed_base.selectors import devices_visible_to
from medservice.inventory.selectors import parts_visible_to
from medservice.tickets.selectors import tickets_visible_to
from medservice.work_orders.choices import (
    DecisionMethod,
    Route,
    ServiceResult,
    WorkOrderKind,
)
from medservice.work_orders.models import Quote, WorkOrder
from medservice.work_orders.selectors import work_orders_visible_to
from medservice.work_orders.services import (
    PlannedPart,
    completion_refusals,
    coverage_lines,
    work_order_actions_allowed,
    work_order_approve_quote,
    work_order_assess,
    work_order_cancel,
    work_order_complete,
    work_order_create,
    work_order_decline_quote,
    work_order_plan,
    work_order_promise,
    work_order_quote,
)
from medservice.work_orders.workflow import TRANSITIONS


def bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    """Bootstrap classes on every widget (big enough to tap on a phone)."""
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


class ActionForm(forms.Form):
    """The base of every action form: knows its work order and user, and carries the key the
    phone page gives each submission (a resend after a dropped connection does nothing)."""

    submission_key = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    def __init__(
        self, data: Any = None, files: Any = None, *, work_order: WorkOrder, user: Any
    ) -> None:
        super().__init__(data, files)
        self.work_order = work_order
        self.user = user
        bootstrap(self)


@dataclass
class ActionSpec:
    """How the page runs one action: its form and the call into the service."""

    form_class: type[ActionForm]
    run: Callable[[Any, WorkOrder, dict[str, Any]], Any]  # (user, work order, cleaned data)
    # Shown on the engineer's phone page too.
    phone: bool = False
    # Where a service's field names differ from the form's: {"service field": "form field"}.
    field_map: dict[str, str] | None = None


ACTION_FORMS: dict[str, ActionSpec] = {}


def action_form_register(name: str, spec: ActionSpec) -> None:
    if name not in TRANSITIONS:
        raise KeyError(f"No work-order action named {name!r}")
    ACTION_FORMS[name] = spec


@dataclass
class VisitSection:
    """A part of the engineer's phone page for one work order (diagnosis, parts, tests...)."""

    name: str
    template: str
    context: Callable[[HttpRequest, WorkOrder], dict[str, Any]]
    order: int = 100


VISIT_SECTIONS: dict[str, VisitSection] = {}


def visit_section_register(section: VisitSection) -> None:
    VISIT_SECTIONS[section.name] = section


# --- Core action forms --------------------------------------------------------------------------


class AssessForm(ActionForm):
    route = forms.ChoiceField(label=gettext_lazy("Where is the work done?"), choices=Route.choices)
    assessment = forms.CharField(
        label=gettext_lazy("Assessment"), widget=forms.Textarea(attrs={"rows": 3})
    )
    exclusion = forms.ChoiceField(
        label=gettext_lazy("Not covered because (exclusion)"),
        choices=[("", "—"), *Exclusion.choices],
        required=False,
    )
    exclusion_evidence = forms.CharField(
        label=gettext_lazy("Evidence of the exclusion"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.work_order.route:
            self.fields["route"].initial = self.work_order.route
        if self.work_order.kind == WorkOrderKind.REMOTE_SUPPORT:
            self.fields["route"].choices = [(Route.REMOTE, Route.REMOTE.label)]


class PlanForm(ActionForm):
    plan = forms.CharField(label=gettext_lazy("Plan"), widget=forms.Textarea(attrs={"rows": 3}))
    estimated_hours = forms.DecimalField(
        label=gettext_lazy("Estimated labour hours"), required=False, min_value=0,
        max_digits=6, decimal_places=2,
    )  # fmt: skip
    promised_by = forms.DateField(
        label=gettext_lazy("Promised completion date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class QuoteForm(ActionForm):
    """Parts (up to five rows), labour and travel hours; priced from the rate card."""

    labour_hours = forms.DecimalField(
        label=gettext_lazy("Labour hours"), required=False, min_value=0, max_digits=6,
        decimal_places=2,
    )  # fmt: skip
    travel_hours = forms.DecimalField(
        label=gettext_lazy("Travel hours"), required=False, min_value=0, max_digits=6,
        decimal_places=2,
    )  # fmt: skip
    valid_until = forms.DateField(
        label=gettext_lazy("Valid until"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    note = forms.CharField(label=gettext_lazy("Note"), required=False)

    ROWS = 5

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from medservice.inventory.forms import part_autocomplete

        parts = parts_visible_to(self.user).filter(active=True)
        for row in range(1, self.ROWS + 1):
            self.fields[f"part_{row}"] = forms.ModelChoiceField(
                label=_("Part %(row)s") % {"row": row},
                queryset=parts,
                required=False,
                widget=part_autocomplete(),
            )
            self.fields[f"quantity_{row}"] = forms.DecimalField(
                label=_("Quantity %(row)s") % {"row": row}, required=False,
                min_value=0, max_digits=12, decimal_places=3,
            )  # fmt: skip
        self.order_fields(
            [name for row in range(1, self.ROWS + 1) for name in (f"part_{row}", f"quantity_{row}")]
        )
        bootstrap(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for row in range(1, self.ROWS + 1):
            part, quantity = data.get(f"part_{row}"), data.get(f"quantity_{row}")
            if part is not None and not quantity:
                self.add_error(f"quantity_{row}", _("Give the quantity."))
            if part is None and quantity:
                self.add_error(f"part_{row}", _("Choose the part."))
        return data

    def planned_parts(self) -> list[PlannedPart]:
        data = self.cleaned_data
        return [
            PlannedPart(data[f"part_{row}"], data[f"quantity_{row}"])
            for row in range(1, self.ROWS + 1)
            if data.get(f"part_{row}") is not None
        ]


class DecisionForm(ActionForm):
    method = forms.ChoiceField(
        label=gettext_lazy("How did the customer answer?"),
        choices=[(DecisionMethod.PAPER, DecisionMethod.PAPER.label),
                 (DecisionMethod.PHONE, DecisionMethod.PHONE.label)],
    )  # fmt: skip
    decided_by_name = forms.CharField(label=gettext_lazy("Customer's name"), max_length=100)
    paper_copy = forms.FileField(label=gettext_lazy("Signed paper copy"), required=False)


class DeclineForm(DecisionForm):
    reason = forms.CharField(
        label=gettext_lazy("Why declined"), widget=forms.Textarea(attrs={"rows": 2})
    )


class PromiseForm(ActionForm):
    promised_by = forms.DateField(
        label=gettext_lazy("Promised completion date"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason (when the date moves)"), required=False, max_length=300
    )


class CancelForm(ActionForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class CompleteForm(ActionForm):
    result = forms.ChoiceField(label=gettext_lazy("Result"), choices=ServiceResult.choices)
    password = forms.CharField(
        label=gettext_lazy("Your password (your signature on the report)"),
        widget=forms.PasswordInput,
    )


def _customer_decision(method: str) -> str:
    return method


action_form_register("assess", ActionSpec(
    AssessForm,
    lambda user, work_order, data: work_order_assess(
        actor=user, work_order=work_order, route=data["route"], assessment=data["assessment"],
        exclusion=data["exclusion"], exclusion_evidence=data["exclusion_evidence"]),
))  # fmt: skip
action_form_register("plan", ActionSpec(
    PlanForm,
    lambda user, work_order, data: work_order_plan(
        actor=user, work_order=work_order, plan=data["plan"],
        estimated_hours=data["estimated_hours"], promised_by=data["promised_by"]),
))  # fmt: skip
action_form_register("quote", ActionSpec(
    QuoteForm,
    lambda user, work_order, data: work_order_quote(
        actor=user, work_order=work_order, parts=data["_form"].planned_parts(),
        labour_hours=data["labour_hours"] or 0, travel_hours=data["travel_hours"] or 0,
        valid_until=data["valid_until"], note=data["note"]),
))  # fmt: skip
action_form_register("approve-quote", ActionSpec(
    DecisionForm,
    lambda user, work_order, data: work_order_approve_quote(
        actor=user, work_order=work_order, method=data["method"],
        decided_by_name=data["decided_by_name"], paper_copy=data["paper_copy"]),
))  # fmt: skip
action_form_register("decline-quote", ActionSpec(
    DeclineForm,
    lambda user, work_order, data: work_order_decline_quote(
        actor=user, work_order=work_order, reason=data["reason"], method=data["method"],
        decided_by_name=data["decided_by_name"], paper_copy=data["paper_copy"]),
))  # fmt: skip
action_form_register("promise", ActionSpec(
    PromiseForm,
    lambda user, work_order, data: work_order_promise(
        actor=user, work_order=work_order, promised_by=data["promised_by"],
        reason=data["reason"]),
))  # fmt: skip
action_form_register("cancel", ActionSpec(
    CancelForm,
    lambda user, work_order, data: work_order_cancel(
        actor=user, work_order=work_order, reason=data["reason"]),
))  # fmt: skip
action_form_register("complete", ActionSpec(
    CompleteForm,
    lambda user, work_order, data: work_order_complete(
        actor=user, work_order=work_order, result=data["result"], password=data["password"]),
    phone=True,
))  # fmt: skip


# --- The record page ----------------------------------------------------------------------------


def action_form(
    name: str, work_order: WorkOrder, user: Any, data: Any = None, files: Any = None
) -> ActionForm:
    return ACTION_FORMS[name].form_class(data, files, work_order=work_order, user=user)


def actions_for(
    work_order: WorkOrder, user: Any, bound: dict[str, ActionForm] | None = None,
    *, phone: bool = False,
) -> list[dict[str, Any]]:  # fmt: skip
    """The actions `user` may take now that have a form, each with its (bound) form."""
    bound = bound or {}
    return [
        {
            "name": name,
            "transition": item,
            "form": bound.get(name) or action_form(name, work_order, user),
            "open": name in bound,
        }
        for name, item in work_order_actions_allowed(work_order, user)
        if name in ACTION_FORMS and (not phone or ACTION_FORMS[name].phone)
    ]


class WorkOrderDetailView(ResourceDetailView):
    """The work order's page: coverage, quotes, what still blocks completion, the actions
    allowed now (each a small form), and the panels the areas add (visits, parts, tests,
    reports)."""

    extra_template = "work_orders/work_order_panel.html"
    bound_forms: dict[str, ActionForm] | None = None

    def extra_context_for(self, obj: WorkOrder) -> dict[str, Any]:
        from medservice.work_orders.panels import panels_for

        return {
            "coverage_lines": coverage_lines(obj),
            "quotes": list(obj.quotes.prefetch_related("lines").order_by("-pk")),
            "completion_refusals": completion_refusals(obj) if obj.status == "in_progress" else {},
            "work_order_actions": actions_for(obj, self.request.user, self.bound_forms),
            "work_order_panels": panels_for(self.request, obj),
        }


def scoped_work_order(request: HttpRequest, pk: int) -> WorkOrder:
    if not request.user.has_perm("work_orders.view_workorder"):
        raise Http404
    return get_object_or_404(
        work_orders_visible_to(request.user).select_related(
            "device__device_model", "organization", "ticket", "engineer"
        ),
        pk=pk,
    )


def detail_again(
    request: HttpRequest, work_order: WorkOrder, status: int, **state: Any
) -> HttpResponse:
    from medservice.work_orders.resources import work_orders

    view = WorkOrderDetailView()
    view.resource = work_orders
    view.request = request
    view.kwargs = {"pk": work_order.pk}
    for key, value in state.items():
        setattr(view, key, value)
    response = view.get(request, pk=work_order.pk)
    response.status_code = status
    return response


def errors_onto(form: forms.Form, error: DomainError, field_map: dict[str, str] | None) -> None:
    """A service's refusal on the fields it names (else above the form)."""
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        target = (field_map or {}).get(name, name)
        for problem in problems:
            if target in form.fields and problem not in form.errors.get(target, []):
                form.add_error(target, problem)
            elif target not in form.fields and problem != error.message:
                form.add_error(None, problem)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@login_required
@require_POST
def work_order_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one action from its small form (on the record page or the phone page); a refusal is
    shown on the same page with what was typed kept."""
    work_order = scoped_work_order(request, pk)
    spec = ACTION_FORMS.get(name)
    if spec is None:
        raise Http404
    form = spec.form_class(request.POST, request.FILES, work_order=work_order, user=request.user)
    on_phone = request.POST.get("origin") == "visit"

    def again(status: int, bound: dict[str, ActionForm] | None = None) -> HttpResponse:
        if on_phone:
            return visit_page(request, work_order.pk, bound=bound, status=status)
        return detail_again(request, work_order, status, bound_forms=bound)

    if not form.is_valid():
        return again(400, {name: form})
    data = {**form.cleaned_data, "_form": form}
    try:
        spec.run(request.user, work_order, data)
    except (PermissionDeniedError, InvalidTransitionError) as error:
        messages.error(request, error.message)
        return again(error.status)
    except DomainError as error:
        errors_onto(form, error, spec.field_map)
        return again(error.status, {name: form})
    messages.success(request, _("%(action)s: done.") % {"action": TRANSITIONS[name].label})
    return redirect(_safe_next(request) or reverse("work_orders:work-orders-detail", args=[pk]))


work_order_action.resource = None  # type: ignore[attr-defined]  # set in resources.py


# --- The engineer's phone page for one work order -----------------------------------------------


@login_required
def visit_page(
    request: HttpRequest, pk: int, *, bound: dict[str, ActionForm] | None = None,
    status: int = 200,
) -> HttpResponse:  # fmt: skip
    """Everything the engineer needs on site, one column, big targets: the customer and the
    device with its history, then each area's section (check-in, diagnosis, parts, tests,
    signature), then the actions allowed now."""
    work_order = scoped_work_order(request, pk)
    sections = [
        {"name": section.name, "template": section.template,
         **section.context(request, work_order)}
        for section in sorted(VISIT_SECTIONS.values(), key=lambda item: (item.order, item.name))
    ]  # fmt: skip
    history = (
        work_orders_visible_to(request.user)
        .filter(device=work_order.device_id)
        .exclude(pk=work_order.pk)
        .select_related("fault_code")
        .order_by("-pk")[:10]
    )
    return render(
        request,
        "work_orders/visit.html",
        {
            "work_order": work_order,
            "sections": sections,
            "bound": bound or {},
            "history": history,
            "actions": actions_for(work_order, request.user, bound, phone=True),
            "completion_refusals": completion_refusals(work_order)
            if work_order.status == "in_progress"
            else {},
        },
        status=status,
    )


# --- Opening a work order -----------------------------------------------------------------------


class OpenForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=WorkOrderKind.choices)
    device = forms.ModelChoiceField(
        label=gettext_lazy("Device"),
        queryset=None,
        widget=AutocompleteSelect(reverse_lazy("installed_base:device-options")),
        help_text=gettext_lazy("Type the serial number, asset number or the customer's name."),
    )
    # Carried from the service request the page was opened from, never picked from a list.
    ticket = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    problem = forms.CharField(
        label=gettext_lazy("Problem or work to do"), widget=forms.Textarea(attrs={"rows": 3})
    )
    contact_name = forms.CharField(label=gettext_lazy("Customer contact"), required=False,
                                   max_length=100)  # fmt: skip
    contact_phone = forms.CharField(label=gettext_lazy("Contact phone"), required=False,
                                    max_length=30)  # fmt: skip

    def __init__(self, *args: Any, user: Any, ticket: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        devices = devices_visible_to(user).select_related("device_model")
        if ticket is not None and ticket.device_id:
            devices = devices.filter(pk=ticket.device_id)
        self.fields["device"].queryset = devices
        self.fields["ticket"].queryset = tickets_visible_to(user)
        if ticket is not None:
            self.fields["ticket"].initial = ticket.pk
            self.fields["problem"].initial = ticket.description
            if ticket.device_id:
                self.fields["device"].initial = ticket.device_id
        bootstrap(self)


@login_required
def work_order_open(request: HttpRequest) -> HttpResponse:
    """Open a work order: from a service request (?ticket=<id>) or by hand."""
    user = request.user
    if not user.has_perm("work_orders.add_workorder"):
        raise Http404
    ticket = None
    ticket_id = request.GET.get("ticket") or request.POST.get("ticket")
    if ticket_id and str(ticket_id).isdigit():
        ticket = tickets_visible_to(user).filter(pk=int(ticket_id)).first()
    form = OpenForm(request.POST or None, user=user, ticket=ticket)
    device_id = request.GET.get("device")
    if ticket is None and device_id and device_id.isdigit():
        form.fields["device"].initial = int(device_id)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                work_order = work_order_create(
                    actor=user, kind=data["kind"], device=data["device"],
                    problem=data["problem"], ticket=data["ticket"],
                    contact_name=data["contact_name"], contact_phone=data["contact_phone"],
                )  # fmt: skip
            except DomainError as error:
                errors_onto(form, error, None)
                status = error.status
            else:
                messages.success(
                    request, _("Work order %(number)s is open.") % {"number": work_order.number}
                )
                return redirect("work_orders:work-orders-detail", pk=work_order.pk)
        else:
            status = 400
    return render(request, "work_orders/open.html", {"form": form, "ticket": ticket},
                  status=status)  # fmt: skip


# --- The customer's side ------------------------------------------------------------------------


@login_required
def portal_work_order(request: HttpRequest, pk: int) -> HttpResponse:
    """What the customer sees of a work order: progress, the quote to answer, the report."""
    work_order = scoped_work_order(request, pk)
    quote = work_order.quotes.filter(status="sent").prefetch_related("lines").first()
    can_answer = quote is not None and request.user.has_perm("work_orders.respond_workorder")
    status = 200
    if request.method == "POST" and can_answer:
        answer = request.POST.get("answer")
        try:
            if answer == "approve":
                work_order_approve_quote(actor=request.user, work_order=work_order,
                                         method=DecisionMethod.PORTAL)  # fmt: skip
            elif answer == "decline":
                work_order_decline_quote(actor=request.user, work_order=work_order,
                                         method=DecisionMethod.PORTAL,
                                         reason=request.POST.get("reason", ""))  # fmt: skip
            else:
                raise Http404
        except DomainError as error:
            messages.error(request, error.message)
            status = error.status
        else:
            messages.success(request, _("Thank you: your answer is recorded."))
            return redirect("work_orders:portal-work-order", pk=pk)
    from medservice.work_orders.panels import customer_panels_for

    return render(
        request,
        "work_orders/portal_work_order.html",
        {"work_order": work_order, "quote": quote, "can_answer": can_answer,
         "panels": customer_panels_for(request, work_order)},
        status=status,
    )  # fmt: skip


def public_quote(request: HttpRequest, token: str) -> HttpResponse:
    """The quote through the one-time link sent to the customer: approve or decline without
    signing in. The link is used up by the answer."""
    from medservice.work_orders.links import LinkError, link_resolve, link_use

    try:
        link = link_resolve(token)
    except LinkError as error:
        return render(request, "work_orders/link_invalid.html", {"message": error.message},
                      status=404)  # fmt: skip
    quote: Quote | None = link.quote
    if quote is None:
        raise Http404
    status = 200
    error_message = ""
    if request.method == "POST":
        answer = request.POST.get("answer")
        name = request.POST.get("name", "").strip()
        try:
            with transaction.atomic():
                link = link_resolve(token, lock=True)
                if not name:
                    from medservice.core.errors import InvalidInputError

                    raise InvalidInputError(_("Give your name."), fields={"name": [_("Required.")]})
                if answer == "approve":
                    work_order_approve_quote(actor=None, work_order=quote.work_order,
                                             method=DecisionMethod.PORTAL, decided_by_name=name)  # fmt: skip
                elif answer == "decline":
                    work_order_decline_quote(actor=None, work_order=quote.work_order,
                                             method=DecisionMethod.PORTAL, decided_by_name=name,
                                             reason=request.POST.get("reason", ""))  # fmt: skip
                else:
                    raise Http404
                link_use(link)
        except LinkError as error:
            return render(request, "work_orders/link_invalid.html", {"message": error.message},
                          status=404)  # fmt: skip
        except DomainError as error:
            error_message = error.message
            status = error.status
        else:
            return render(request, "work_orders/link_done.html",
                          {"message": _("Thank you: your answer is recorded.")})  # fmt: skip
    return render(
        request,
        "work_orders/public_quote.html",
        {"quote": quote, "work_order": quote.work_order, "lines": quote.lines.order_by("pk"),
         "error_message": error_message},
        status=status,
    )  # fmt: skip


urlpatterns = [
    path("work-orders/new/", work_order_open, name="work-order-open"),
    path("work-orders/<int:pk>/act/<slug:name>/", work_order_action, name="work-order-action"),
    path("work-orders/<int:pk>/visit/", visit_page, name="visit"),
    path("portal/work-orders/<int:pk>/", portal_work_order, name="portal-work-order"),
    path("q/<str:token>/", public_quote, name="public-quote"),
]
