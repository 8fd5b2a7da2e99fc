"""The reports pages of work orders: the customer's signature (on the engineer's phone, in the
portal, through the one-time link), the report and failure-analysis PDFs, revisions, and the
fees (add, payment, dispute, settlement) on the record page and in the portal."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.work_orders.choices import ChargeCategory, PaymentMethod, PaymentStatus
from medservice.work_orders.choices import WorkOrderStatus as S
from medservice.work_orders.models import ServiceReport, WorkOrder
from medservice.work_orders.panels import Panel, panel_register
from medservice.work_orders.reports import (
    SignMethod,
    failure_analysis_pdf,
    failure_analysis_send,
    fee_add,
    fee_dispute,
    fee_dispute_settle,
    fees_total,
    payment_record,
    report_current,
    report_filename,
    report_pdf,
    report_revise,
    report_sign,
    report_sign_by_link,
)
from medservice.work_orders.selectors import (
    is_customer,
    report_signatures_for,
    reports_visible_to,
)
from medservice.work_orders.views import (
    ActionForm,
    ActionSpec,
    VisitSection,
    action_form_register,
    bootstrap,
    detail_again,
    errors_onto,
    scoped_work_order,
    visit_section_register,
)

SIGN_HELP = gettext_lazy("Signing confirms the service result.")


class SignaturePad(forms.Widget):
    """A canvas to sign on with a finger, mouse or pen; signature.js puts the drawing (a PNG
    data URL) into the hidden input this renders."""

    template_name = "work_orders/signing_pad_widget.html"

    def format_value(self, value: Any) -> str:
        return value or ""


class SignatureFields(forms.Form):
    """The printed name and the drawn signature, shared by every place the customer signs."""

    printed_name = forms.CharField(label=gettext_lazy("Customer's name in full"), max_length=100)
    signature_image = forms.CharField(
        label=gettext_lazy("Customer's signature"),
        widget=SignaturePad,
        help_text=SIGN_HELP,
        error_messages={"required": gettext_lazy("Draw the signature.")},
    )


class SignForm(ActionForm, SignatureFields):
    pass


def _sign_current(user: Any, work_order: WorkOrder, data: dict[str, Any]) -> ServiceReport:
    report = report_current(work_order)
    if report is None:
        raise Http404
    return report_sign(
        actor=user, report=report, printed_name=data["printed_name"],
        signature_image=data["signature_image"],
        method=SignMethod.PORTAL if is_customer(user) else SignMethod.ON_SITE,
    )  # fmt: skip


action_form_register("sign", ActionSpec(SignForm, _sign_current, phone=True))


# --- PDFs ---------------------------------------------------------------------------------------


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The current revision of the work order's service report, as a PDF."""
    work_order = scoped_work_order(request, pk)
    report = report_current(work_order)
    if report is None or not request.user.has_perm("work_orders.view_servicereport"):
        raise Http404
    return _pdf_response(report_pdf(report), report_filename(report))


@login_required
def report_revision_download(request: HttpRequest, report_pk: int) -> HttpResponse:
    """Any revision of a report (superseded ones stay readable)."""
    if not request.user.has_perm("work_orders.view_servicereport"):
        raise Http404
    report = get_object_or_404(reports_visible_to(request.user), pk=report_pk)
    return _pdf_response(report_pdf(report), report_filename(report))


@login_required
def failure_analysis_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The failure analysis report (故障分析报告), in ?language= or the user's language."""
    work_order = scoped_work_order(request, pk)
    language = request.GET.get("language") or getattr(request.user, "language", "") or ""
    return _pdf_response(
        failure_analysis_pdf(work_order, language), f"{work_order.number}-failure-analysis.pdf"
    )


# --- Record-page forms: revise, send the failure analysis, fees ---------------------------------


class ReviseForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("What is corrected"), max_length=300)


class FailureAnalysisForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Send to (e-mail)"))


class FeeForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=ChargeCategory.choices)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), min_value=0, max_digits=12, decimal_places=2
    )


class PaymentForm(forms.Form):
    method = forms.ChoiceField(label=gettext_lazy("Payment method"), choices=PaymentMethod.choices)
    paid_on = forms.DateField(
        label=gettext_lazy("Paid on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    invoice_number = forms.CharField(label=gettext_lazy("Invoice number"), max_length=50)


class DisputeForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why the fee is disputed"), widget=forms.Textarea(attrs={"rows": 2})
    )


class SettleForm(forms.Form):
    resolution = forms.CharField(
        label=gettext_lazy("Resolution"), widget=forms.Textarea(attrs={"rows": 2})
    )
    waive = forms.BooleanField(label=gettext_lazy("Waive the fees"), required=False)


FEE_FORMS: dict[str, tuple[type[forms.Form], str]] = {
    # name: (form, permission needed to see it)
    "add": (FeeForm, "work_orders.record_fees"),
    "payment": (PaymentForm, "work_orders.record_fees"),
    "dispute": (DisputeForm, "work_orders.respond_workorder"),
    "settle": (SettleForm, "work_orders.settle_dispute"),
}


def _fee_forms_allowed(work_order: WorkOrder, user: Any) -> list[str]:
    status = work_order.payment_status
    allowed = {
        "add": status not in (PaymentStatus.PAID, PaymentStatus.WAIVED),
        "payment": status == PaymentStatus.UNPAID,
        "dispute": status == PaymentStatus.UNPAID,
        "settle": status == PaymentStatus.DISPUTED,
    }
    return [
        name for name, (_form, permission) in FEE_FORMS.items()
        if allowed[name] and user.has_perm(permission)
    ]  # fmt: skip


def _fee_run(name: str, user: Any, work_order: WorkOrder, data: dict[str, Any]) -> Any:
    if name == "add":
        return fee_add(actor=user, work_order=work_order, **data)
    if name == "payment":
        return payment_record(actor=user, work_order=work_order, **data)
    if name == "dispute":
        return fee_dispute(actor=user, work_order=work_order, **data)
    return fee_dispute_settle(actor=user, work_order=work_order, **data)


FEE_DONE = {
    "add": gettext_lazy("The fee is added."),
    "payment": gettext_lazy("The payment is recorded."),
    "dispute": gettext_lazy("The dispute is with the service manager."),
    "settle": gettext_lazy("The dispute is settled."),
}


def _back(request: HttpRequest, work_order: WorkOrder) -> HttpResponse:
    if is_customer(request.user):
        return redirect("work_orders:portal-work-order", pk=work_order.pk)
    return redirect("work_orders:work-orders-detail", pk=work_order.pk)


def _again(
    request: HttpRequest, work_order: WorkOrder, status: int, bound: dict[str, forms.Form]
) -> HttpResponse:
    """The page the form was on, with what was typed and the errors."""
    # Read by the panels' context functions below.
    request.report_forms = bound  # type: ignore[attr-defined]
    if is_customer(request.user):
        from medservice.work_orders.views import portal_work_order

        request.method = "GET"
        response = portal_work_order(request, work_order.pk)
        response.status_code = status
        return response
    return detail_again(request, work_order, status)


@login_required
@require_POST
def fee_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Add a fee, record the payment, dispute the fees or settle a dispute."""
    work_order = scoped_work_order(request, pk)
    if name not in FEE_FORMS:
        raise Http404
    form = bootstrap(FEE_FORMS[name][0](request.POST))
    if not form.is_valid():
        return _again(request, work_order, 400, {f"fee_{name}": form})
    try:
        _fee_run(name, request.user, work_order, form.cleaned_data)
    except DomainError as error:
        errors_onto(form, error, None)
        return _again(request, work_order, error.status, {f"fee_{name}": form})
    messages.success(request, str(FEE_DONE[name]))
    return _back(request, work_order)


@login_required
@require_POST
def report_revise_view(request: HttpRequest, report_pk: int) -> HttpResponse:
    """Correct a report: a new revision the customer signs again."""
    report = get_object_or_404(reports_visible_to(request.user), pk=report_pk)
    work_order = scoped_work_order(request, report.work_order_id)
    if not request.user.has_perm("work_orders.complete_workorder"):
        raise Http404
    form = bootstrap(ReviseForm(request.POST))
    if not form.is_valid():
        return _again(request, work_order, 400, {"revise": form})
    try:
        revision = report_revise(
            actor=request.user, report=report, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        errors_onto(form, error, None)
        return _again(request, work_order, error.status, {"revise": form})
    messages.success(
        request,
        _("Revision %(revision)s of %(number)s is waiting for the customer's signature.")
        % {"revision": revision.revision, "number": revision.number},
    )
    return redirect("work_orders:work-orders-detail", pk=work_order.pk)


@login_required
@require_POST
def failure_analysis_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    work_order = scoped_work_order(request, pk)
    form = bootstrap(FailureAnalysisForm(request.POST))
    if not form.is_valid():
        return _again(request, work_order, 400, {"failure_analysis": form})
    try:
        failure_analysis_send(actor=request.user, work_order=work_order,
                              email=form.cleaned_data["email"])  # fmt: skip
    except DomainError as error:
        errors_onto(form, error, None)
        return _again(request, work_order, error.status, {"failure_analysis": form})
    messages.success(request, _("The failure analysis report is sent."))
    return redirect("work_orders:work-orders-detail", pk=work_order.pk)


# --- The customer signs in the portal -----------------------------------------------------------


@login_required
@require_POST
def portal_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer user signs the current report in the portal."""
    work_order = scoped_work_order(request, pk)
    report = report_current(work_order)
    if report is None:
        raise Http404
    form = bootstrap(SignatureFields(request.POST))
    if not form.is_valid():
        return _again(request, work_order, 400, {"sign": form})
    try:
        report_sign(
            actor=request.user, report=report, printed_name=form.cleaned_data["printed_name"],
            signature_image=form.cleaned_data["signature_image"],
            method=SignMethod.PORTAL if is_customer(request.user) else SignMethod.ON_SITE,
        )  # fmt: skip
    except DomainError as error:
        errors_onto(form, error, None)
        return _again(request, work_order, error.status, {"sign": form})
    messages.success(request, _("Thank you: the service report is signed."))
    return _back(request, work_order)


# --- The one-time signing link ------------------------------------------------------------------


def public_sign(request: HttpRequest, token: str) -> HttpResponse:
    """The report through the one-time link sent to the customer: read it, sign it without
    signing in. Signing uses the link up."""
    from medservice.work_orders.links import LinkError, link_resolve

    try:
        link = link_resolve(token)
    except LinkError as error:
        return render(request, "work_orders/link_invalid.html", {"message": error.message},
                      status=404)  # fmt: skip
    report = link.report
    if report is None:
        raise Http404
    form = bootstrap(SignatureFields(request.POST or None))
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            try:
                report_sign_by_link(
                    token=token, printed_name=form.cleaned_data["printed_name"],
                    signature_image=form.cleaned_data["signature_image"],
                )  # fmt: skip
            except LinkError as error:
                return render(request, "work_orders/link_invalid.html",
                              {"message": error.message}, status=404)  # fmt: skip
            except DomainError as error:
                errors_onto(form, error, None)
                status = error.status
            else:
                return render(request, "work_orders/link_done.html",
                              {"message": _("Thank you: the service report is signed.")})  # fmt: skip
    return render(
        request,
        "work_orders/signing_page.html",
        {"report": report, "content": report.content, "form": form},
        status=status,
    )


# --- Panels and the phone section ---------------------------------------------------------------


def _bound(request: HttpRequest) -> dict[str, forms.Form]:
    return getattr(request, "report_forms", None) or {}


def _record_panel(request: HttpRequest, work_order: WorkOrder) -> dict[str, Any]:
    user = request.user
    bound = _bound(request)
    reports = list(
        ServiceReport.objects.filter(work_order=work_order)
        .select_related("superseded_by")
        .order_by("-revision")
    )
    # All revisions' signatures in one query (not one walk up the revisions per row).
    signatures = report_signatures_for(reports)
    current = report_current(work_order)
    fee_forms = [
        {"name": name, "form": bound.get(f"fee_{name}") or bootstrap(FEE_FORMS[name][0]()),
         "open": f"fee_{name}" in bound}
        for name in _fee_forms_allowed(work_order, user)
    ]  # fmt: skip
    may_revise = current is not None and user.has_perm("work_orders.complete_workorder")
    return {
        "reports": [{"report": item, "signatures": signatures[item.pk]} for item in reports],
        "current_report": current,
        "revise_form": (bound.get("revise") or bootstrap(ReviseForm())) if may_revise else None,
        "revise_open": "revise" in bound,
        "failure_analysis_form": bound.get("failure_analysis")
        or bootstrap(FailureAnalysisForm(initial={"email": _contact_email(work_order)}))
        if user.has_perm("work_orders.work_workorder")
        else None,
        "fees": list(work_order.fees.order_by("pk")),
        "fees_total": fees_total(work_order),
        "fee_forms": fee_forms,
    }


def _contact_email(work_order: WorkOrder) -> str:
    ticket = work_order.ticket if work_order.ticket_id else None
    if ticket is None:
        return ""
    return (ticket.contact.email if ticket.contact_id else "") or ticket.reporter_email or ""


def _customer_panel(request: HttpRequest, work_order: WorkOrder) -> dict[str, Any]:
    user = request.user
    bound = _bound(request)
    current = report_current(work_order)
    may_sign = (
        current is not None
        and current.signed_at is None
        and user.has_perm("work_orders.sign_workorder")
    )
    return {
        "current_report": current,
        "sign_form": (bound.get("sign") or bootstrap(SignatureFields())) if may_sign else None,
        "fees": list(work_order.fees.order_by("pk")),
        "fees_total": fees_total(work_order),
        "dispute_form": (bound.get("fee_dispute") or bootstrap(DisputeForm()))
        if "dispute" in _fee_forms_allowed(work_order, user)
        else None,
    }


def _visit_section(request: HttpRequest, work_order: WorkOrder) -> dict[str, Any]:
    current = report_current(work_order) if work_order.status in (S.COMPLETED, S.CLOSED) else None
    return {"report": current, "content": current.content if current else {}}


panel_register(
    Panel("reports", "work_orders/_report_panel.html", _record_panel, order=800,
          permission="work_orders.view_servicereport")
)  # fmt: skip
panel_register(
    Panel("reports", "work_orders/_report_customer_panel.html", _customer_panel, order=800,
          permission="work_orders.view_servicereport"),
    customer=True,
)  # fmt: skip
visit_section_register(
    VisitSection("signature", "work_orders/_report_visit_section.html", _visit_section, order=900)
)


def report_pdf_url(work_order: WorkOrder) -> str:
    return reverse("work_orders:report-pdf", kwargs={"pk": work_order.pk})


urlpatterns = [
    path("work-orders/<int:pk>/report.pdf", report_download, name="report-pdf"),
    path(
        "work-orders/reports/<int:report_pk>.pdf",
        report_revision_download,
        name="report-revision-pdf",
    ),
    path(
        "work-orders/<int:pk>/failure-analysis.pdf",
        failure_analysis_download,
        name="failure-analysis-pdf",
    ),
    path(
        "work-orders/<int:pk>/failure-analysis/send/",
        failure_analysis_send_view,
        name="failure-analysis-send",
    ),
    path("work-orders/reports/<int:report_pk>/revise/", report_revise_view, name="report-revise"),
    path("work-orders/<int:pk>/report/sign/", portal_sign, name="report-sign"),
    path("work-orders/<int:pk>/fees/<slug:name>/", fee_action, name="fee-action"),
    path("s/<str:token>/", public_sign, name="report-sign-link"),
]


def _scoped_through_the_resource() -> None:
    from medservice.work_orders.resources import work_orders

    # These pages take a work order's id and scope it through the resource's selector.
    for view in (
        report_download,
        failure_analysis_download,
        failure_analysis_send_view,
        portal_sign,
        fee_action,
    ):
        view.resource = work_orders  # type: ignore[attr-defined]


_scoped_through_the_resource()
