"""The return pages: the staff list (the resource's), the record page with one small form per
action allowed now, an agent's request form, the proof files, the report by model, reason,
cause, responsibility and period (page, CSV, XLSX), and the customer's side in the portal (our
returns, request a return with the proof of purchase, a return's progress).

Forms check shape only; the services decide, and their refusals come back on the named fields
with what was typed kept."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from medservice.core.exports import export_csv, export_xlsx
from medservice.core.views import ResourceDetailView
from medservice.customers.selectors import user_scope
from medservice.returns import forms as return_forms
from medservice.returns.choices import ReturnChannel, ReturnStatus
from medservice.returns.eligibility import Failure, eligibility_check
from medservice.returns.models import ReturnRequest
from medservice.returns.selectors import (
    exchanges_of,
    files_of,
    lines_of,
    refund_outstanding,
    refunded_total,
    refunds_of,
    returns_report,
    returns_visible_to,
)
from medservice.returns.services import (
    return_actions_allowed,
    return_approve_exchange,
    return_approve_refund,
    return_approve_repair,
    return_close,
    return_evaluate,
    return_file_attach,
    return_receive,
    return_refund,
    return_reject,
    return_request_create,
    return_ship_exchange,
)
from medservice.returns.workflow import TRANSITIONS

PAGE_SIZE = 20

# The status of a return as the customer reads it.
STATUS_WORDS = {
    ReturnStatus.REQUESTED: gettext_lazy("Received: we will evaluate it"),
    ReturnStatus.EVALUATED: gettext_lazy("Evaluated: a decision follows"),
    ReturnStatus.APPROVED: gettext_lazy("Approved: send the products with the RMA number"),
    ReturnStatus.REJECTED: gettext_lazy("Not accepted as a return"),
    ReturnStatus.RECEIVED: gettext_lazy("Received by us and being processed"),
    ReturnStatus.EXCHANGE_SHIPPED: gettext_lazy("Exchange unit on its way"),
    ReturnStatus.REFUNDED: gettext_lazy("Refund paid"),
    ReturnStatus.CLOSED: pgettext_lazy("return status", "Completed"),
}
STATUS_BADGE = {
    ReturnStatus.REQUESTED: "primary",
    ReturnStatus.EVALUATED: "info",
    ReturnStatus.APPROVED: "success",
    ReturnStatus.REJECTED: "danger",
    ReturnStatus.RECEIVED: "warning",
    ReturnStatus.EXCHANGE_SHIPPED: "success",
    ReturnStatus.REFUNDED: "success",
    ReturnStatus.CLOSED: "secondary",
}


def status_words(record: ReturnRequest) -> str:
    return str(STATUS_WORDS.get(record.status, record.get_status_display()))


# --- Actions ------------------------------------------------------------------------------------


@dataclass
class ActionSpec:
    """How the page runs one action: its form and the call into the service."""

    form_class: type[return_forms.ActionForm]
    run: Callable[[Any, ReturnRequest, dict[str, Any]], Any]  # (user, return, cleaned data)


def _ship(user: Any, record: ReturnRequest, data: dict[str, Any]) -> Any:
    return return_ship_exchange(
        actor=user, request=record, location=data["location"], lots=data["_form"].lots(),
        shipment_reference=data["shipment_reference"],
    )  # fmt: skip


ACTION_FORMS: dict[str, ActionSpec] = {
    "evaluate": ActionSpec(
        return_forms.EvaluateForm,
        lambda user, record, data: return_evaluate(
            actor=user, request=record, cause=data["cause"],
            responsibility=data["responsibility"], evaluation=data["evaluation"]),
    ),
    "approve-repair": ActionSpec(
        return_forms.ReasonForm,
        lambda user, record, data: return_approve_repair(
            actor=user, request=record, reason=data["reason"]),
    ),
    "approve-exchange": ActionSpec(
        return_forms.ApproveExchangeForm,
        lambda user, record, data: return_approve_exchange(
            actor=user, request=record, warranty_mode=data["warranty_mode"],
            reason=data["reason"]),
    ),
    "approve-refund": ActionSpec(
        return_forms.ApproveRefundForm,
        lambda user, record, data: return_approve_refund(
            actor=user, request=record, refund_kind=data["refund_kind"], amount=data["amount"],
            reason=data["reason"]),
    ),
    "reject": ActionSpec(
        return_forms.RejectForm,
        lambda user, record, data: return_reject(
            actor=user, request=record, reason=data["reason"]),
    ),
    "receive": ActionSpec(
        return_forms.ReceiveForm,
        lambda user, record, data: return_receive(
            actor=user, request=record, location=data["location"],
            inspection_result=data["inspection_result"],
            inspection_note=data["inspection_note"]),
    ),
    "ship-exchange": ActionSpec(return_forms.ShipExchangeForm, _ship),
    "refund": ActionSpec(
        return_forms.RefundForm,
        lambda user, record, data: return_refund(
            actor=user, request=record, line=data["line"], amount=data["amount"],
            method=data["method"], paid_on=data["paid_on"], reference=data["reference"]),
    ),
    "close": ActionSpec(
        return_forms.CloseForm,
        lambda user, record, data: return_close(actor=user, request=record, note=data["note"]),
    ),
}  # fmt: skip
if set(ACTION_FORMS) != set(TRANSITIONS):  # pragma: no cover - a programming error
    raise KeyError("Every return action needs its form, and every form its action.")


def actions_for(
    record: ReturnRequest, user: Any, bound: dict[str, forms.Form] | None = None
) -> list[dict[str, Any]]:
    """The actions `user` may take now, each with its (bound) form."""
    bound = bound or {}
    return [
        {
            "name": name,
            "transition": item,
            "form": bound.get(name)
            or ACTION_FORMS[name].form_class(return_request=record, user=user),
            "open": name in bound,
        }
        for name, item in return_actions_allowed(record, user)
    ]


def eligibility_now(record: ReturnRequest) -> list[Failure]:
    """Live for a request still to decide (rules, holds and proof may have changed); the
    stored check otherwise (what the decision was based on)."""
    if record.status in (ReturnStatus.REQUESTED, ReturnStatus.EVALUATED):
        return eligibility_check(record)
    return [Failure(**item) for item in record.eligibility]


class ReturnDetailView(ResourceDetailView):
    """The return's page: status, eligibility (each failed rule and why), the products, the
    proof files, receipt, exchange units and refunds, then the actions allowed now."""

    extra_template = "returns/return_panel.html"
    bound_forms: dict[str, forms.Form] | None = None
    attach_form: forms.Form | None = None

    def extra_context_for(self, obj: ReturnRequest) -> dict[str, Any]:
        user = self.request.user
        return {
            "return_request": obj,
            "badge": STATUS_BADGE.get(obj.status, "secondary"),
            "failures": eligibility_now(obj),
            "lines": list(lines_of(obj)),
            "files": list(files_of(obj)),
            "receipt": getattr(obj, "receipt", None),
            "exchanges": list(exchanges_of(obj)),
            "refunds": list(refunds_of(obj)),
            "refunded": refunded_total(obj),
            "outstanding": refund_outstanding(obj),
            "return_actions": actions_for(obj, user, self.bound_forms),
            "attach_form": self.attach_form or return_forms.AttachForm(),
            "can_attach": user.has_perm("returns.add_returnfile")
            and obj.status != ReturnStatus.CLOSED,
        }


def scoped_return(request: HttpRequest, pk: int) -> ReturnRequest:
    if not request.user.has_perm("returns.view_returnrequest"):
        raise Http404
    return get_object_or_404(
        returns_visible_to(request.user).select_related("organization", "quality_case"), pk=pk
    )


def detail_again(
    request: HttpRequest, record: ReturnRequest, status: int, **state: Any
) -> HttpResponse:
    from medservice.returns.resources import returns

    view = ReturnDetailView()
    view.resource = returns
    view.request = request
    view.kwargs = {"pk": record.pk}
    for key, value in state.items():
        setattr(view, key, value)
    response = view.get(request, pk=record.pk)
    response.status_code = status
    return response


def errors_onto(form: forms.Form, error: DomainError) -> None:
    """A service's refusal on the fields it names (else above the form)."""
    form.add_error(None, error.message)
    rename = getattr(form, "field_for", lambda name: name)
    for name, problems in error.fields.items():
        target = rename(name)
        for problem in problems:
            if target in form.fields and problem not in form.errors.get(target, []):
                form.add_error(target, problem)


@login_required
@require_POST
def return_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one action from its small form; a refusal is shown on the same page with what was
    typed kept (403/409 above the forms, 400 on the fields)."""
    record = scoped_return(request, pk)
    spec = ACTION_FORMS.get(name)
    if spec is None:
        raise Http404
    form = spec.form_class(request.POST, request.FILES, return_request=record, user=request.user)
    if not form.is_valid():
        return detail_again(request, record, 400, bound_forms={name: form})
    data = {**form.cleaned_data, "_form": form}
    try:
        spec.run(request.user, record, data)
    except (PermissionDeniedError, InvalidTransitionError) as error:
        messages.error(request, error.message)
        return detail_again(request, record, error.status)
    except DomainError as error:
        errors_onto(form, error)
        if error.status == 409:
            messages.error(request, error.message)
        return detail_again(request, record, error.status, bound_forms={name: form})
    messages.success(request, _("%(action)s: done.") % {"action": TRANSITIONS[name].label})
    return redirect("returns:returns-detail", pk=pk)


@login_required
@require_POST
def return_attach(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a proof of purchase or a photo (staff page or portal)."""
    record = scoped_return(request, pk)
    form = return_forms.AttachForm(request.POST, request.FILES)
    portal = request.POST.get("origin") == "portal"
    if form.is_valid():
        try:
            return_file_attach(
                actor=request.user, request=record, kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
            )  # fmt: skip
        except DomainError as error:
            errors_onto(form, error)
        else:
            messages.success(request, _("The file is added."))
            return redirect("returns:portal-return" if portal else "returns:returns-detail", pk=pk)
    if portal:
        return portal_return(request, pk, attach_form=form, status=400)
    return detail_again(request, record, 400, attach_form=form)


@login_required
def return_file(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    """A file of a return in the user's scope."""
    record = scoped_return(request, pk)
    item = get_object_or_404(record.files, pk=file_id)
    return FileResponse(item.file.open("rb"), filename=item.original_name,
                        content_type=item.content_type)  # fmt: skip


# --- An agent's request -------------------------------------------------------------------------


@login_required
def return_new(request: HttpRequest) -> HttpResponse:
    """Record a return request received by phone, e-mail, letter or at the counter."""
    user = request.user
    if not user.has_perm("returns.add_returnrequest") or user_scope(user) == "customer":
        raise Http404
    bound = request.method == "POST"
    form = return_forms.StaffRequestForm(
        request.POST if bound else None, request.FILES if bound else None, user=user
    )
    status = 200
    if bound:
        if form.is_valid():
            data = form.cleaned_data
            try:
                record = return_request_create(
                    actor=user, organization=data["organization"], channel=data["channel"],
                    requested_on=data["requested_on"], reason=data["reason"],
                    fault_description=data["fault_description"],
                    delivery_reference=data["delivery_reference"], lines=form.lines(),
                    files=form.file_inputs(),
                )  # fmt: skip
            except DomainError as error:
                errors_onto(form, error)
                status = error.status
            else:
                messages.success(request, _("The return request is registered."))
                return redirect("returns:returns-detail", pk=record.pk)
        else:
            status = 400
    return render(request, "returns/new.html", {"form": form}, status=status)


@login_required
def delivery_line_options(request: HttpRequest) -> HttpResponse:
    """The visible delivery lines matching `q` (delivery or invoice number, batch, serial,
    model), of the organisation chosen in the form when there is one."""
    from medservice.core.widgets import autocomplete_response

    if not request.user.has_perm("installed_base.view_deliveryline"):
        raise Http404
    lines = return_forms.delivery_lines_visible_to(request.user)
    organization = request.GET.get("organization", "")
    if organization.isdigit():
        lines = lines.filter(delivery__organization_id=int(organization))
    text = request.GET.get("q", "").strip()
    if text:
        lines = lines.filter(
            Q(delivery__number__icontains=text)
            | Q(delivery__invoice_number__icontains=text)
            | Q(batch_number__icontains=text)
            | Q(serial_number__icontains=text)
            | Q(device_model__name__icontains=text)
        )
    return autocomplete_response(
        lines.order_by("-delivery__delivered_on", "pk"), label=return_forms.delivery_line_label
    )


@login_required
def returns_home(request: HttpRequest) -> HttpResponse:
    """The navigation's "Returns": customers go to their portal page, staff to the list."""
    if user_scope(request.user) == "customer":
        return redirect("returns:portal-returns")
    return redirect("returns:returns-list")


# --- Report -------------------------------------------------------------------------------------


@login_required
def report(request: HttpRequest) -> HttpResponse:
    """Returns by model, reason, cause, responsibility, decision or month over a period: how
    many requests, products and how much refunded; exported as CSV or XLSX."""
    if not request.user.has_perm("returns.evaluate_returnrequest") and not request.user.has_perm(
        "returns.approve_returnrequest"
    ):
        raise Http404
    form = return_forms.ReportForm(request.GET or None)
    group, date_from, date_to = "device_model", None, None
    if form.is_valid():
        group = form.cleaned_data["group"] or group
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    rows = returns_report(request.user, group=group, date_from=date_from, date_to=date_to)
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        headers = [
            str(dict(form.fields["group"].choices)[group]),
            _("Requests"),
            _("Quantity"),
            _("Refunded"),
        ]
        data = [[row.label, row.requests, row.quantity, row.refunded] for row in rows]
        filename = f"returns-by-{group}"
        if export == "csv":
            return export_csv(filename, headers, data)
        return export_xlsx(filename, headers, data)
    query = request.GET.copy()
    query.pop("export", None)
    return render(
        request,
        "returns/report.html",
        {
            "form": form,
            "rows": rows,
            "group_label": dict(form.fields["group"].choices)[group],
            "totals": {
                "requests": sum(row.requests for row in rows),
                "quantity": sum(row.quantity for row in rows),
                "refunded": sum((row.refunded for row in rows), 0),
            },
            "query": query.urlencode(),
        },
    )


# --- The customer's side ------------------------------------------------------------------------


def customer_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in customer users only: anyone else gets 404 (staff use the staff pages)."""
    from functools import wraps

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if user_scope(request.user) != "customer" or not request.user.has_perm(
            "returns.view_returnrequest"
        ):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@customer_only
def portal_returns(request: HttpRequest) -> HttpResponse:
    """Our returns, newest first, with their status in plain words."""
    page = Paginator(
        returns_visible_to(request.user).order_by("-requested_on", "-id"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = [
        {"record": record, "status": status_words(record),
         "badge": STATUS_BADGE.get(record.status, "secondary")}
        for record in page
    ]  # fmt: skip
    return render(
        request, "returns/portal/list.html", {"tab": "returns", "page": page, "rows": rows}
    )


@customer_only
def portal_return_new(request: HttpRequest) -> HttpResponse:
    """Ask to return products: which of our devices or delivered products, why, in what
    condition, with the invoice or receipt."""
    from medservice.core.attachments import attachment_max_bytes

    user = request.user
    if not user.has_perm("returns.add_returnrequest"):
        raise Http404
    bound = request.method == "POST"
    form = return_forms.PortalRequestForm(
        request.POST if bound else None, request.FILES if bound else None, user=user
    )
    chosen = request.GET.get("device", "")
    if not bound and chosen.isdigit():
        form.fields["line_1_device"].initial = int(chosen)
    status = 200
    if bound:
        if form.is_valid():
            data = form.cleaned_data
            lines = form.lines()
            first = lines[0]
            organization = (
                first.device.organization if first.device is not None
                else first.delivery_line.delivery.organization
            )  # fmt: skip
            try:
                record = return_request_create(
                    actor=user, organization=organization, channel=ReturnChannel.PORTAL,
                    reason=data["reason"], fault_description=data["fault_description"],
                    delivery_reference=data["delivery_reference"], lines=lines,
                    files=form.file_inputs(),
                )  # fmt: skip
            except DomainError as error:
                errors_onto(form, error)
                status = error.status
            else:
                messages.success(
                    request,
                    _("Thank you. Your return request is registered; we will evaluate it."),
                )
                return redirect("returns:portal-return", pk=record.pk)
        else:
            status = 400
    return render(
        request,
        "returns/portal/new.html",
        {"tab": "returns", "form": form, "rows": range(1, return_forms.LINE_ROWS + 1),
         "max_mb": attachment_max_bytes() // 1024 // 1024},
        status=status,
    )  # fmt: skip


@customer_only
def portal_return(
    request: HttpRequest, pk: int, *, attach_form: forms.Form | None = None, status: int = 200
) -> HttpResponse:
    """A return's progress as the customer follows it: status, RMA number, the decision and
    its reason, eligibility, the products, what was shipped or refunded; add a proof file."""
    record = scoped_return(request, pk)
    return render(
        request,
        "returns/portal/detail.html",
        {
            "tab": "returns",
            "return_request": record,
            "status_words": status_words(record),
            "badge": STATUS_BADGE.get(record.status, "secondary"),
            "failures": eligibility_now(record),
            "lines": list(lines_of(record)),
            "files": list(files_of(record)),
            "exchanges": list(exchanges_of(record)),
            "refunds": list(refunds_of(record)),
            "attach_form": attach_form or return_forms.AttachForm(),
            "can_attach": request.user.has_perm("returns.add_returnfile")
            and record.status != ReturnStatus.CLOSED,
        },
        status=status,
    )


urlpatterns = [
    path("returns/home/", returns_home, name="home"),
    path("returns/new/", return_new, name="return-new"),
    path("returns/report/", report, name="report"),
    path("returns/delivery-lines/", delivery_line_options, name="delivery-line-options"),
    path("returns/<int:pk>/act/<slug:name>/", return_action, name="return-action"),
    path("returns/<int:pk>/attach/", return_attach, name="return-attach"),
    path("returns/<int:pk>/files/<int:file_id>/", return_file, name="return-file"),
    path("portal/returns/", portal_returns, name="portal-returns"),
    path("portal/returns/new/", portal_return_new, name="portal-return-new"),
    path("portal/returns/<int:pk>/", portal_return, name="portal-return"),
]
