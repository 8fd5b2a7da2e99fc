"""The customer portal (/portal/): what a hospital's or clinic's user sees after signing in.

- home: our devices (model, serial, department, warranty end, coverage in one line) and our
  open requests (number, subject, status in plain words, the next promised time);
- history: our finished requests; a device page with its coverage and its requests;
- report: open a request for one of our devices or in general, with photos, videos and PDFs,
  and, for a quality complaint or a patient involved, the questions the quality procedure asks
  and the advice to stop using the product (the customer confirms having read it);
- help articles: the knowledge base's articles published for customers about our devices'
  models (or no model in particular), searchable, each readable as published;
- a request page: status, promised times, the customer-visible timeline (newest first), add
  information and files, and the customer's actions allowed now by the workflow table (agree to
  the solution, confirm and rate, reject the resolution, reopen, rate).

Only customer users (customers.selectors.user_scope == "customer") use it; anyone else gets 404
like a record outside their scope (staff work on the staff pages). Everything starts from the
tickets and installed-base selectors, so another organisation's records are 404 as well. The
services decide; the forms here only check shape.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.attachments import attachment_check, attachment_max_bytes
from medservice.core.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from medservice.core.workflow import actions_allowed
from medservice.customers.selectors import user_scope
from medservice.installed_base.choices import DeviceStatus
from medservice.installed_base.models import Device, ServiceContract
from medservice.installed_base.resources import devices as devices_resource
from medservice.installed_base.selectors import devices_visible_to
from medservice.installed_base.services import coverage, warranty_start
from medservice.tickets import services
from medservice.tickets.choices import Channel, SlaTarget, Status, TicketKind
from medservice.tickets.forms import ActionForm, QualityIntakeForm
from medservice.tickets.models import Ticket, TicketClock
from medservice.tickets.resources import tickets as tickets_resource
from medservice.tickets.selectors import clocks_of, tickets_visible_to, timeline_visible_to
from medservice.tickets.workflow import TRANSITIONS
from medservice.training.knowledge import (
    article_published_content,
    articles_for_models,
    articles_search,
)
from medservice.training.views_knowledge import knowledge_articles as articles_resource

PAGE_SIZE = 20
FINISHED = (Status.CLOSED, Status.CANCELLED)
GONE_DEVICE_STATUSES = (DeviceStatus.RETURNED, DeviceStatus.SCRAPPED)

# The status of a request as the customer reads it.
STATUS_WORDS = {
    Status.NEW: gettext_lazy("Received: we will contact you soon"),
    Status.ACKNOWLEDGED: gettext_lazy("We are on it"),
    Status.INVESTIGATING: gettext_lazy("We are looking into the cause"),
    Status.SOLUTION_PROPOSED: gettext_lazy("A solution is proposed: please answer"),
    Status.SOLUTION_AGREED: gettext_lazy("Solution agreed: work is being arranged"),
    Status.IN_PROGRESS: gettext_lazy("Work in progress"),
    Status.WAITING_CUSTOMER: gettext_lazy("Waiting for information from you"),
    Status.WAITING_PARTS: gettext_lazy("Waiting for spare parts"),
    Status.RESOLVED: gettext_lazy("Resolved: please confirm"),
    Status.CLOSED: gettext_lazy("Closed"),
    Status.CANCELLED: gettext_lazy("Cancelled"),
}
STATUS_BADGE = {
    Status.SOLUTION_PROPOSED: "warning",
    Status.WAITING_CUSTOMER: "warning",
    Status.RESOLVED: "success",
    Status.CLOSED: "secondary",
    Status.CANCELLED: "secondary",
}
# What each promise means to the customer, and the ticket field that stores its due time.
PROMISE_WORDS = {
    SlaTarget.FIRST_RESPONSE: gettext_lazy("We reply by"),
    SlaTarget.PLAN: gettext_lazy("Solution plan by"),
    SlaTarget.RESOLUTION: gettext_lazy("Resolved by"),
    SlaTarget.ONSITE: gettext_lazy("Engineer on site by"),
}
PROMISE_FIELDS = {
    SlaTarget.FIRST_RESPONSE: "first_response_due_at",
    SlaTarget.PLAN: "plan_due_at",
    SlaTarget.RESOLUTION: "resolution_due_at",
    SlaTarget.ONSITE: "onsite_due_at",
}


def _day(value: datetime.date | None) -> str:
    return date_format(value, "Y-m-d") if value else ""


def _moment(value: datetime.datetime | None) -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i") if value else ""


def status_words(ticket: Ticket) -> str:
    return str(STATUS_WORDS.get(ticket.status, ticket.get_status_display()))


def next_promise(ticket: Ticket) -> tuple[str, datetime.datetime] | None:
    """The earliest promise still running ("We reply by …"), read from the stored due times."""
    if ticket.next_due_at is None or ticket.status in FINISHED:
        return None
    for target, field in PROMISE_FIELDS.items():
        if getattr(ticket, field) == ticket.next_due_at:
            return str(PROMISE_WORDS[target]), ticket.next_due_at
    return None


def coverage_summary(device: Device, today: datetime.date) -> str:
    """The unit's cover today in one line, from the stored warranty end and the contracts in
    force prefetched as `contracts_in_force` (no query per unit; `coverage()` on the device page
    gives the detail per cost category)."""
    start, end = warranty_start(device), device.warranty_ends_on
    parts = []
    if start is not None and end is not None and start <= today <= end:
        parts.append(_("Under warranty until %(end)s") % {"end": _day(end)})
    elif start is not None and end is not None and today < start:
        parts.append(
            _("Warranty from %(start)s until %(end)s") % {"start": _day(start), "end": _day(end)}
        )
    for contract in device.contracts_in_force:
        parts.append(
            _("Contract %(number)s (%(kind)s) until %(end)s")
            % {
                "number": contract.number,
                "kind": contract.get_kind_display(),
                "end": _day(contract.ends_on),
            }
        )
    if parts:
        return "; ".join(parts)
    if end is not None and end < today:
        return _(
            "Not covered: the warranty ended on %(end)s and no service contract is in force."
        ) % {"end": _day(end)}
    return _("Not covered: no warranty or service contract on record.")


# --- access -------------------------------------------------------------------------------------


def customer_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in customer users only: anyone else gets 404 (a portal page is none of theirs)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if user_scope(request.user) != "customer" or not request.user.has_perm(
            "tickets.view_ticket"
        ):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _ticket_for(request: HttpRequest, pk: int) -> Ticket:
    return get_object_or_404(
        tickets_visible_to(request.user).select_related(
            "device__device_model", "device__department", "organization"
        ),
        pk=pk,
    )


def _page(queryset: Any, number: Any) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(number)


def _devices(user: Any, today: datetime.date) -> Any:
    in_force = ServiceContract.objects.filter(starts_on__lte=today, ends_on__gte=today).order_by(
        "-ends_on", "pk"
    )
    return (
        devices_visible_to(user)
        .exclude(status__in=GONE_DEVICE_STATUSES)
        .select_related("device_model", "department", "delivery_line__delivery")
        .prefetch_related(Prefetch("contracts", queryset=in_force, to_attr="contracts_in_force"))
        .order_by("device_model__name", "serial_number", "pk")
    )


def _request_rows(page: Page) -> list[dict[str, Any]]:
    rows = []
    for ticket in page:
        promise = next_promise(ticket)
        rows.append(
            {
                "ticket": ticket,
                "status": status_words(ticket),
                "badge": STATUS_BADGE.get(ticket.status, "primary"),
                "promise": promise,
            }
        )
    return rows


# --- home, history, device ------------------------------------------------------------------------


@customer_only
def home(request: HttpRequest) -> HttpResponse:
    """Our devices and our open requests (those resolved wait for our confirmation)."""
    user = request.user
    today = timezone.localdate()
    devices_page = _page(_devices(user, today), request.GET.get("devices"))
    open_page = _page(
        tickets_visible_to(user).exclude(status__in=FINISHED).order_by("-received_at", "-id"),
        request.GET.get("open"),
    )
    return render(
        request,
        "tickets/portal/home.html",
        {
            "tab": "home",
            "organization": user.organization,
            "devices_page": devices_page,
            "devices": [
                {"device": device, "coverage": coverage_summary(device, today)}
                for device in devices_page
            ],
            "open_page": open_page,
            "open_requests": _request_rows(open_page),
        },
    )


@customer_only
def history(request: HttpRequest) -> HttpResponse:
    """Our service history: the finished requests, newest first."""
    page = _page(
        tickets_visible_to(request.user)
        .filter(status__in=FINISHED)
        .order_by("-received_at", "-id"),
        request.GET.get("page"),
    )
    return render(
        request,
        "tickets/portal/history.html",
        {"tab": "history", "page": page, "requests": _request_rows(page)},
    )


@customer_only
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One of our units: what it is, its cover per cost category today, and its requests."""
    device = get_object_or_404(
        devices_visible_to(request.user).select_related(
            "device_model", "department", "delivery_line__delivery"
        ),
        pk=pk,
    )
    page = _page(
        tickets_visible_to(request.user).filter(device=device).order_by("-received_at", "-id"),
        request.GET.get("page"),
    )
    return render(
        request,
        "tickets/portal/device.html",
        {
            "tab": "device",
            "device": device,
            "coverage_rows": list(coverage(device).items()),
            "page": page,
            "requests": _request_rows(page),
        },
    )


device_detail.resource = devices_resource  # type: ignore[attr-defined]


# --- help articles ------------------------------------------------------------------------------


@customer_only
def help_articles(request: HttpRequest) -> HttpResponse:
    """Help articles (published for customers) about the models of our devices, or about no
    model in particular; `q` searches them (every word must occur)."""
    user = request.user
    text = request.GET.get("q", "").strip()
    our_models = devices_visible_to(user).values("device_model_id")
    articles = articles_for_models(user, our_models)
    if text:
        articles = articles.filter(pk__in=articles_search(user, text).values("pk"))
    page = _page(articles.order_by("-published_at", "-pk"), request.GET.get("page"))
    return render(
        request,
        "tickets/portal/help.html",
        {"tab": "help", "page": page, "search": text},
    )


@customer_only
def help_article(request: HttpRequest, pk: int) -> HttpResponse:
    """One help article as published (never a draft or a staff-only one: the scoping decides)."""
    if not request.user.has_perm("training.view_knowledgearticle"):
        raise Http404
    article = get_object_or_404(articles_resource.selector(request.user), pk=pk)
    content = article_published_content(article)
    if content is None:
        raise Http404
    return render(
        request,
        "tickets/portal/help_article.html",
        {"tab": "help", "article": article, "content": content},
    )


help_article.resource = articles_resource  # type: ignore[attr-defined]


# --- report a fault -------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several photos, videos or PDFs at once; each is checked by its content."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/*,video/*,application/pdf"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        uploads = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleFileField, self).clean(item, initial) for item in uploads]
        for upload in cleaned:
            try:
                attachment_check(upload, field="files")  # refused before anything is saved
            except DomainError as error:
                raise forms.ValidationError(error.message) from None
        return cleaned


class ReportForm(ActionForm):
    """What the customer tells us: kind, which unit (or the product as they call it), what
    happened, whether a patient was involved or hurt, and evidence files."""

    kind = forms.ChoiceField(
        label=gettext_lazy("What do you need?"),
        choices=[
            (kind.value, kind.label)
            for kind in (
                TicketKind.REPAIR,
                TicketKind.QUESTION,
                TicketKind.COMPLAINT,
                TicketKind.QUALITY_COMPLAINT,
                TicketKind.MAINTENANCE,
                TicketKind.INSTALLATION,
                TicketKind.TRAINING,
                TicketKind.RETURN,
            )
        ],
    )
    device = forms.ModelChoiceField(
        label=gettext_lazy("Which of our devices"),
        queryset=Device.objects.none(),
        required=False,
        empty_label=gettext_lazy("General, or a product not in this list"),
    )
    product_reported = forms.CharField(
        label=gettext_lazy("Product (when not in the list)"), required=False, max_length=200
    )
    serial_reported = forms.CharField(
        label=gettext_lazy("Serial or batch number (when not in the list)"),
        required=False,
        max_length=100,
    )
    subject = forms.CharField(
        label=gettext_lazy("Subject in a few words"), required=False, max_length=200
    )
    description = forms.CharField(
        label=gettext_lazy("What happened?"), widget=forms.Textarea(attrs={"rows": 5})
    )
    patient_involved = forms.BooleanField(
        label=gettext_lazy("A patient was involved"), required=False
    )
    injury = forms.BooleanField(
        label=gettext_lazy("Someone was hurt (injury or death)"), required=False
    )
    files = MultipleFileField(label=gettext_lazy("Photos, videos or PDFs"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = (
            devices_visible_to(self.user)
            .exclude(status__in=GONE_DEVICE_STATUSES)
            .select_related("device_model", "department")
            .order_by("device_model__name", "serial_number", "pk")
        )
        self.fields["device"].label_from_instance = _device_label

    @property
    def flagged(self) -> bool:
        """A quality complaint, or a patient involved or hurt: the quality questions apply."""
        data = getattr(self, "cleaned_data", {})
        return data.get("kind") == TicketKind.QUALITY_COMPLAINT or bool(
            data.get("patient_involved") or data.get("injury")
        )


def _device_label(device: Device) -> str:
    label = f"{device.device_model.name} {device.device_model.model_spec} · "
    label += device.serial_number or device.batch_number
    if device.department_id:
        label += f" · {device.department.name}"
    return label


class PortalQualityForm(QualityIntakeForm):
    """The quality procedure's intake questions, answered by the customer; the advice to stop
    using the product is shown and its reading confirmed (recorded as stop_use_advised)."""

    advice_read = forms.BooleanField(label=gettext_lazy("I have read this advice."), required=False)

    class Meta(QualityIntakeForm.Meta):
        fields = [name for name in QualityIntakeForm.Meta.fields if name != "stop_use_advised"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["complainant_age"].widget.attrs.update({"min": 0, "max": 130})

    def check_flagged(self) -> None:
        """Shape of a flagged report: whether the product was used, and the advice read."""
        if self.cleaned_data.get("device_used") is None:
            self.add_error("device_used", _("Say whether the product was used."))
        if not self.cleaned_data.get("advice_read"):
            self.add_error("advice_read", _("Confirm that you have read the advice."))

    def intake(self) -> dict[str, Any]:
        data = {key: value for key, value in self.cleaned_data.items() if key != "advice_read"}
        data = {key: value for key, value in data.items() if value not in (None, "")}
        data["stop_use_advised"] = True
        return data


def _reporter(user: Any, organization: Any) -> dict[str, Any]:
    """The customer's contact record when the user has one (of the request's organisation);
    otherwise their name and how to reach them, typed in as for any reporter."""
    contact = getattr(user, "contact", None)  # Contact.portal_user (none: no contact record)
    if contact is not None and contact.anonymised_at is None:
        if organization is None or contact.organization_id == organization.pk:
            return {"contact": contact}
        return {
            "reporter_name": contact.name,
            "reporter_phone": contact.mobile or contact.phone,
            "reporter_email": contact.email or user.email,
        }
    return {
        "reporter_name": user.get_full_name() or user.get_username(),
        "reporter_email": user.email,
    }


def _add_errors(
    error: DomainError, forms_by_field: list[tuple[forms.Form, dict[str, str]]]
) -> None:
    """Put each of the service's field problems on the form that has the field (renamed where
    the portal's field differs), and the rest above the first form."""
    placed = False
    for field, problems in (error.fields or {}).items():
        for form, renames in forms_by_field:
            name = renames.get(field, field)
            if name in form.fields:
                for problem in problems:
                    form.add_error(name, problem)
                placed = True
                break
        else:
            for problem in problems:
                forms_by_field[0][0].add_error(None, problem)
            placed = True
    if not placed:
        forms_by_field[0][0].add_error(None, error.message)


@customer_only
def report(request: HttpRequest) -> HttpResponse:
    """Open a request: for one of our devices (?device=<id> preselects it) or in general."""
    user = request.user
    if not user.has_perm("tickets.add_ticket"):
        raise Http404
    initial = {"kind": TicketKind.REPAIR}
    chosen = request.GET.get("device", "")
    if chosen.isdigit() and devices_visible_to(user).filter(pk=int(chosen)).exists():
        initial["device"] = int(chosen)
    bound = request.method == "POST"
    form = ReportForm(
        request.POST if bound else None,
        request.FILES if bound else None,
        user=user,
        initial=initial,
    )
    quality_form = PortalQualityForm(request.POST if bound else None, user=user)
    status = 200
    if bound:
        if form.is_valid() and quality_form.is_valid():
            if form.flagged:
                quality_form.check_flagged()
            if not quality_form.errors:
                ticket = _register(user, form, quality_form)
                if ticket is not None:
                    messages.success(
                        request,
                        _("Thank you. Your request %(number)s is registered.")
                        % {"number": ticket.number},
                    )
                    return redirect("portal:request", pk=ticket.pk)
        status = 400
    return render(
        request,
        "tickets/portal/report.html",
        {
            "tab": "report",
            "max_mb": attachment_max_bytes() // 1024 // 1024,
            "form": form,
            "quality_form": quality_form,
            "quality_open": bound and (form.flagged or bool(quality_form.errors)),
        },
        status=status,
    )


def _register(user: Any, form: ReportForm, quality_form: PortalQualityForm) -> Ticket | None:
    data = form.cleaned_data
    device = data.get("device")
    organization = device.organization if device is not None else user.organization
    values: dict[str, Any] = {
        "kind": data["kind"],
        "channel": Channel.PORTAL,
        "organization": organization,
        "device": device,
        "product_reported": data.get("product_reported", ""),
        "serial_reported": data.get("serial_reported", ""),
        "subject": data.get("subject") or data["description"].strip()[:80],
        "description": data["description"],
        "patient_involved": data.get("patient_involved", False),
        "injury": data.get("injury", False),
        **_reporter(user, organization),
    }
    quality = None
    if form.flagged:
        quality = quality_form.intake()
        if device is not None and not quality.get("batch_or_serial"):
            quality["batch_or_serial"] = device.serial_number or device.batch_number
    try:
        return services.ticket_register(
            actor=user, data=values, quality=quality, attachments=data.get("files") or []
        )
    except DomainError as error:
        _add_errors(
            error,
            [
                (form, {"file": "files"}),
                (quality_form, {"stop_use_advised": "advice_read"}),
            ],
        )
        return None


# --- the request page -----------------------------------------------------------------------------


def _rating_field(*, required: bool) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=gettext_lazy("How satisfied are you? (1 = not at all, 5 = very)"),
        choices=[(value, str(value)) for value in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=required,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
    )


class AgreeInput(ActionForm):
    pass


class ConfirmInput(ActionForm):
    rating = _rating_field(required=False)
    comment = forms.CharField(
        label=gettext_lazy("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.ticket is not None and self.ticket.rated_at is not None:
            # Rated already (a case is rated once): the confirmation alone.
            del self.fields["rating"], self.fields["comment"]


class RateInput(ActionForm):
    rating = _rating_field(required=True)
    comment = forms.CharField(
        label=gettext_lazy("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RejectInput(ActionForm):
    reason = forms.CharField(
        label=gettext_lazy("What is still wrong?"), widget=forms.Textarea(attrs={"rows": 3})
    )


class ReopenInput(ActionForm):
    reason = forms.CharField(
        label=gettext_lazy("Why do you reopen it?"), widget=forms.Textarea(attrs={"rows": 3})
    )


class NoteInput(ActionForm):
    text = forms.CharField(
        label=gettext_lazy("Add information"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    file = forms.FileField(
        label=gettext_lazy("Photo, video or PDF"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,video/*,application/pdf"}),
    )


class PortalAction:
    """A customer action of the workflow table as the portal offers it."""

    def __init__(
        self,
        form: type[ActionForm],
        run: Callable[[Ticket, Any, dict[str, Any]], Any],
        label: Any,
        help_text: Any,
        style: str,
    ) -> None:
        self.form, self.run, self.label, self.help_text, self.style = (
            form,
            run,
            label,
            help_text,
            style,
        )


PORTAL_ACTIONS: dict[str, PortalAction] = {
    "agree-solution": PortalAction(
        AgreeInput,
        lambda ticket, user, data: services.ticket_agree_solution(ticket=ticket, actor=user),
        gettext_lazy("I agree to this solution"),
        gettext_lazy("We will start the work once you agree."),
        "primary",
    ),
    "confirm": PortalAction(
        ConfirmInput,
        lambda ticket, user, data: services.ticket_confirm(
            ticket=ticket, actor=user, rating=data.get("rating"), comment=data.get("comment") or ""
        ),
        gettext_lazy("Confirm: the problem is solved"),
        gettext_lazy("Closes the request. You may rate our service at the same time."),
        "success",
    ),
    "reject-resolution": PortalAction(
        RejectInput,
        lambda ticket, user, data: services.ticket_reject_resolution(
            ticket=ticket, actor=user, reason=data["reason"]
        ),
        gettext_lazy("It is not solved"),
        gettext_lazy("We continue working on it, with a new resolution time."),
        "warning",
    ),
    "reopen": PortalAction(
        ReopenInput,
        lambda ticket, user, data: services.ticket_reopen(
            ticket=ticket, actor=user, reason=data["reason"]
        ),
        gettext_lazy("Reopen the request"),
        gettext_lazy("The problem came back: we work on it again."),
        "warning",
    ),
    "rate": PortalAction(
        RateInput,
        lambda ticket, user, data: services.ticket_rate(
            ticket=ticket, actor=user, rating=data["rating"], comment=data.get("comment") or ""
        ),
        gettext_lazy("Rate our service"),
        gettext_lazy("Once per request: your rating is the satisfaction survey of this case."),
        "secondary",
    ),
}


def _action_form(name: str, *args: Any, **kwargs: Any) -> ActionForm:
    """The action's form, with ids of its own (several forms share one page)."""
    return PORTAL_ACTIONS[name].form(*args, auto_id=f"id_{name}_%s", **kwargs)


def portal_actions(ticket: Ticket, user: Any) -> list[str]:
    """The customer's actions allowed now by the workflow table. While a resolution awaits the
    answer, "not solved" is the reject action (not reopen) and the rating goes with the
    confirmation."""
    names = [name for name, _rule in actions_allowed(TRANSITIONS, ticket, user)]
    names = [name for name in names if name in PORTAL_ACTIONS]
    if "reject-resolution" in names and "reopen" in names:
        names.remove("reopen")
    if "confirm" in names and "rate" in names:
        names.remove("rate")
    return names


def _promise_rows(ticket: Ticket) -> list[dict[str, Any]]:
    """The latest clock of each target, in the customer's words."""
    now = timezone.now()
    latest: dict[str, TicketClock] = {}
    for clock in clocks_of(ticket):
        latest[clock.target] = clock
    rows = []
    for target in PROMISE_FIELDS:
        clock = latest.get(target)
        if clock is None:
            continue
        if clock.met_at is not None:
            state, badge = _("done %(time)s") % {"time": _moment(clock.met_at)}, "success"
        elif clock.stopped_at is not None:
            state, badge = _("no longer needed"), "secondary"
        elif clock.paused:
            state, badge = _("paused while we wait for you"), "secondary"
        elif clock.breached_at is not None or clock.due_at <= now:
            state, badge = _("late: we are on it"), "danger"
        else:
            state, badge = _("on time"), "info"
        rows.append(
            {
                "label": SlaTarget(target).label,
                "due_at": clock.due_at,
                "state": state,
                "badge": badge,
            }
        )
    return rows


def _timeline_rows(page: Page) -> list[dict[str, Any]]:
    rows = []
    for entry in page:
        headline = entry.get_kind_display()
        if entry.kind == "state_change" and entry.data.get("to") in Status.values:
            headline = STATUS_WORDS[Status(entry.data["to"])]
        rows.append({"entry": entry, "headline": headline})
    return rows


def _request_page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    status: int = 200,
    bound: dict[str, ActionForm] | None = None,
    note_form: NoteInput | None = None,
) -> HttpResponse:
    user = request.user
    bound = bound or {}
    actions = []
    for name in portal_actions(ticket, user):
        action = PORTAL_ACTIONS[name]
        actions.append(
            {
                "name": name,
                "action": action,
                "form": bound.get(name) or _action_form(name, user=user, ticket=ticket),
            }
        )
    timeline_page = _page(timeline_visible_to(ticket, user), request.GET.get("page"))
    return render(
        request,
        "tickets/portal/request.html",
        {
            "tab": "request",
            "ticket": ticket,
            "status_words": status_words(ticket),
            "badge": STATUS_BADGE.get(ticket.status, "primary"),
            "promises": _promise_rows(ticket),
            "actions": actions,
            "note_form": note_form or NoteInput(user=user, ticket=ticket),
            "can_add": user.has_perm("tickets.add_timelineentry")
            and ticket.status != Status.CANCELLED,
            "timeline_page": timeline_page,
            "timeline": _timeline_rows(timeline_page),
        },
        status=status,
    )


@customer_only
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _request_page(request, _ticket_for(request, pk))


request_detail.resource = tickets_resource  # type: ignore[attr-defined]


@customer_only
@require_POST
def request_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one of the customer's actions; a refusal is shown on the page in their language."""
    ticket = _ticket_for(request, pk)
    action = PORTAL_ACTIONS.get(name)
    if action is None:
        raise Http404
    form = _action_form(name, request.POST, user=request.user, ticket=ticket)
    if not form.is_valid():
        if name not in portal_actions(ticket, request.user):
            # The form is not on the page in this state: the refusal says why.
            return _refused(request, ticket, name)
        return _request_page(request, ticket, status=400, bound={name: form})
    try:
        action.run(ticket, request.user, form.cleaned_data)
    except (InvalidTransitionError, PermissionDeniedError) as error:
        messages.error(request, error.message)
        return _request_page(request, _ticket_for(request, pk), status=error.status)
    except DomainError as error:
        _add_errors(error, [(form, {})])
        return _request_page(
            request, _ticket_for(request, pk), status=error.status, bound={name: form}
        )
    messages.success(request, _("Thank you: your answer is recorded."))
    return redirect("portal:request", pk=ticket.pk)


request_action.resource = tickets_resource  # type: ignore[attr-defined]


def _refused(request: HttpRequest, ticket: Ticket, name: str) -> HttpResponse:
    from medservice.core.workflow import allowed

    message = allowed(TRANSITIONS, name, ticket, request.user, "status")
    messages.error(request, message)
    permitted = request.user.has_perm(TRANSITIONS[name].permission)
    return _request_page(request, ticket, status=409 if permitted else 403)


@customer_only
@require_POST
def request_note(request: HttpRequest, pk: int) -> HttpResponse:
    """Add information and a file: seen by our staff at once; it ends a wait for you."""
    ticket = _ticket_for(request, pk)
    if not request.user.has_perm("tickets.add_timelineentry") or ticket.status == Status.CANCELLED:
        raise Http404
    form = NoteInput(request.POST, request.FILES, user=request.user, ticket=ticket)
    if not form.is_valid():
        return _request_page(request, ticket, status=400, note_form=form)
    try:
        services.ticket_comment(
            ticket=ticket,
            actor=request.user,
            text=form.cleaned_data["text"],
            attachment=form.cleaned_data.get("file"),
        )
    except DomainError as error:
        _add_errors(error, [(form, {})])
        return _request_page(request, ticket, status=error.status, note_form=form)
    messages.success(request, _("Thank you: your information is added to the request."))
    return redirect("portal:request", pk=ticket.pk)


request_note.resource = tickets_resource  # type: ignore[attr-defined]


@customer_only
def request_file(request: HttpRequest, pk: int, entry_id: int) -> HttpResponse:
    """A file of the request's customer-visible timeline."""
    ticket = _ticket_for(request, pk)
    entry = get_object_or_404(
        timeline_visible_to(ticket, request.user).exclude(attachment=""), pk=entry_id
    )
    return FileResponse(
        entry.attachment.open("rb"),
        as_attachment=False,
        filename=entry.attachment_name or "file",
        content_type=entry.attachment_type or "application/octet-stream",
    )


request_file.resource = tickets_resource  # type: ignore[attr-defined]


urlpatterns = [
    path("", home, name="home"),
    path("history/", history, name="history"),
    path("report/", report, name="report"),
    path("devices/<int:pk>/", device_detail, name="device"),
    path("help/", help_articles, name="help"),
    path("help/<int:pk>/", help_article, name="help-article"),
    path("requests/<int:pk>/", request_detail, name="request"),
    path("requests/<int:pk>/action/<str:name>/", request_action, name="request-action"),
    path("requests/<int:pk>/note/", request_note, name="request-note"),
    path("requests/<int:pk>/files/<int:entry_id>/", request_file, name="request-file"),
]
