"""The service desk (受理台): the register-a-call form an agent fills during the call (the caller
found from a phone or serial as they type), the small desk forms of the ticket page (priority,
SLA exception, feedback to the regulator) and the contact log of an organisation.

Forms check shape; the services decide (ticket_register, ticket_change_priority,
sla_exception_approve, regulator_feedback_record). A refusal is shown on the fields it names,
with what was typed kept, and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError, PermissionDeniedError
from medservice.core.registry import RESOURCES
from medservice.customers.selectors import organizations_visible_to
from medservice.tickets.choices import Channel, SlaTarget, TicketKind
from medservice.tickets.forms import (
    ActionForm,
    PriorityInput,
    QualityIntakeForm,
    RegulatorFeedbackInput,
    SlaExceptionInput,
    TicketForm,
)
from medservice.tickets.models import Ticket
from medservice.tickets.resources import tickets
from medservice.tickets.selectors import caller_lookup, contact_log_of
from medservice.tickets.services import (
    regulator_feedback_record,
    sla_exception_approve,
    ticket_change_priority,
    ticket_register,
)
from medservice.tickets.views import _detail_again, _scoped_ticket

LOOKUP_MIN_LENGTH = 3
# The names the look-up reads its text from: its own box, or the phone and serial fields that
# ask it as the agent types.
LOOKUP_FIELDS = ("q", "reporter_phone", "serial_reported")
# Where the service's field names land on the page (attachment_check names its field "file").
EVIDENCE_FIELDS = frozenset({"file", "files", "attachments"})
CONTACT_LOG_PAGE_SIZE = 25


# --- register a call ------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (photos from the phone's camera or gallery, a scanned
    letter); their content is checked by the service (core/attachments.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class EvidenceForm(forms.Form):
    files = MultipleFileField(
        label=gettext_lazy("Evidence (photos, videos, PDFs)"),
        required=False,
        help_text=gettext_lazy("Several files may be chosen; each is checked by its content."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["files"].widget.attrs.update(
            {"class": "form-control", "accept": "image/*,video/*,application/pdf"}
        )


def _flagged(data: Any) -> bool:
    """Whether the quality questions are asked: a quality complaint, or a patient involved or
    injured (read from what was submitted, so a refused form shows them again)."""
    return bool(
        data
        and (
            data.get("kind") == TicketKind.QUALITY_COMPLAINT
            or data.get("patient_involved")
            or data.get("injury")
        )
    )


def _lookup_text(data: Any) -> str:
    for name in LOOKUP_FIELDS:
        text = (data.get(name) or "").strip()
        if text:
            return text
    return ""


def _lookup(user: Any, text: str) -> dict[str, Any]:
    found = caller_lookup(user, text)
    return {
        **found,
        "lookup_text": text,
        "looked_up": len(text) >= LOOKUP_MIN_LENGTH,
        "found_any": any(found.values()),
        "today": timezone.localdate(),
    }


def _ticket_form(user: Any, **kwargs: Any) -> TicketForm:
    form = TicketForm(user=user, **kwargs)
    lookup_url = reverse("tickets:register-lookup")
    for name in ("reporter_phone", "serial_reported"):
        # As the agent types, the matching contacts, devices and open requests appear below.
        form.fields[name].widget.attrs.update(
            {
                "hx-get": lookup_url,
                "hx-trigger": "input changed delay:300ms, lookup",
                "hx-target": "#caller-results",
                "hx-sync": "this:replace",
                "autocomplete": "off",
                "data-lookup": "",
            }
        )
    form.fields["serial_reported"].widget.attrs.setdefault("autocapitalize", "characters")
    return form


def _chosen(form: forms.Form, name: str) -> Any:
    """The record a hidden choice (contact, device) names, if the user may choose it."""
    value = form[name].value()
    if value in (None, "") or not str(value).isdigit():
        return None
    return form.fields[name].queryset.filter(pk=value).first()


def _register_page(
    request: HttpRequest,
    *,
    ticket_form: TicketForm,
    quality_form: QualityIntakeForm,
    evidence_form: EvidenceForm,
    refused: bool = False,
    lookup_text: str = "",
    status: int = 200,
) -> HttpResponse:
    data = ticket_form.data if ticket_form.is_bound else ticket_form.initial
    flagged = _flagged(data)
    context = {
        "form": ticket_form,
        "quality_form": quality_form,
        "evidence_form": evidence_form,
        "refused": refused,
        "flagged": flagged,
        "chosen_contact": _chosen(ticket_form, "contact"),
        "chosen_device": _chosen(ticket_form, "device"),
        "files_dropped": refused and bool(request.FILES),
        **_lookup(request.user, lookup_text),
    }
    return render(request, "tickets/register_call.html", context, status=status)


def _initial(request: HttpRequest) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "channel": Channel.PHONE,
        # The call is received now; the agent corrects it for a letter or a late entry.
        "received_at": timezone.localtime().replace(second=0, microsecond=0),
    }
    for name in ("organization", "contact", "device", "kind", "channel"):
        value = request.GET.get(name, "")
        if value:
            initial[name] = value
    return initial


def _picked(request: HttpRequest) -> QueryDict:
    """What was typed, with a look-up result chosen without the script (a plain submit of one
    of the result buttons): the contact or device and its organisation."""
    from medservice.customers.selectors import contacts_visible_to
    from medservice.installed_base.selectors import devices_visible_to

    data = request.POST.copy()
    contacts, devices = contacts_visible_to(request.user), devices_visible_to(request.user)

    def owner_of(queryset: Any, pk: str) -> int | None:
        if not pk.isdigit():
            return None
        return queryset.filter(pk=pk).values_list("organization_id", flat=True).first()

    if "pick_contact" in data:
        contact = (
            contacts.filter(pk=data["pick_contact"]).first()
            if data["pick_contact"].isdigit()
            else None
        )
        data["contact"] = str(contact.pk) if contact else ""
        if contact is not None:
            data["organization"] = str(contact.organization_id)
            data.pop("organization_search", None)
            # A contact and a device belong to one organisation: a choice from another one
            # removes the other choice (the service would refuse the pair).
            if owner_of(devices, data.get("device", "")) not in (None, contact.organization_id):
                data["device"] = ""
    if "pick_device" in data:
        device = (
            devices.filter(pk=data["pick_device"]).first()
            if data["pick_device"].isdigit()
            else None
        )
        data["device"] = str(device.pk) if device else ""
        if device is not None:
            data["organization"] = str(device.organization_id)
            data.pop("organization_search", None)
            if owner_of(contacts, data.get("contact", "")) not in (None, device.organization_id):
                data["contact"] = ""
            if not data.get("serial_reported"):
                data["serial_reported"] = device.serial_number or device.batch_number
    return data


def _place_errors(error: DomainError | ValidationError, forms_in_order: list[forms.Form]) -> None:
    """Put each problem on the field it names (the ticket, the quality questions or the
    files); what names no field goes above the form."""
    if isinstance(error, ValidationError):
        problems = (
            error.message_dict if hasattr(error, "error_dict") else {None: list(error.messages)}
        )
        message = ""
    else:
        problems = dict(error.fields)
        message = error.message
    main = forms_in_order[0]
    for name, texts in problems.items():
        target, field = main, None
        if name in EVIDENCE_FIELDS:
            target, field = forms_in_order[-1], "files"
        else:
            for form in forms_in_order:
                if name in form.fields:
                    target, field = form, name
                    break
        for text in texts:
            target.add_error(field, text)
    if not problems and message:
        main.add_error(None, message)


def _clean_data(cleaned: dict[str, Any]) -> dict[str, Any]:
    # Left empty, the service fills them (received now, subject from the description).
    return {key: value for key, value in cleaned.items() if value is not None and value != ""}


@login_required
def register_call(request: HttpRequest) -> HttpResponse:
    """Register a call (or a letter, a walk-in...): the service agent's key screen."""
    user = request.user
    if not user.has_perm("tickets.add_ticket"):
        raise Http404
    if request.method != "POST":
        return _register_page(
            request,
            ticket_form=_ticket_form(user, initial=_initial(request)),
            quality_form=QualityIntakeForm(user=user),
            evidence_form=EvidenceForm(),
        )
    if any(name in request.POST for name in ("find", "pick_contact", "pick_device")):
        # A look-up without the script: the page comes back with what was typed, the results
        # and the choice made; nothing is registered.
        data = _picked(request)
        return _register_page(
            request,
            ticket_form=_ticket_form(user, data=data),
            quality_form=QualityIntakeForm(data=data, user=user),
            evidence_form=EvidenceForm(),
            lookup_text=_lookup_text(data),
        )
    ticket_form = _ticket_form(user, data=request.POST)
    quality_form = QualityIntakeForm(data=request.POST, user=user)
    evidence_form = EvidenceForm(request.POST, request.FILES)
    flagged = _flagged(request.POST)
    valid = ticket_form.is_valid()
    valid = evidence_form.is_valid() and valid
    valid = (quality_form.is_valid() or not flagged) and valid
    page = {
        "ticket_form": ticket_form,
        "quality_form": quality_form,
        "evidence_form": evidence_form,
        "refused": True,
        "lookup_text": _lookup_text(request.POST),
    }
    if not valid:
        return _register_page(request, status=400, **page)
    try:
        ticket = ticket_register(
            actor=user,
            data=_clean_data(ticket_form.cleaned_data),
            quality=dict(quality_form.cleaned_data) if flagged else None,
            attachments=evidence_form.cleaned_data["files"],
        )
    except DomainError as error:
        _place_errors(error, [ticket_form, quality_form, evidence_form])
        return _register_page(request, status=error.status, **page)
    except ValidationError as error:
        _place_errors(error, [ticket_form, quality_form, evidence_form])
        return _register_page(request, status=400, **page)
    messages.success(
        request,
        _("Registered %(number)s: tell the caller this number.") % {"number": ticket.number},
    )
    return redirect("tickets:tickets-detail", pk=ticket.pk)


@login_required
def register_lookup(request: HttpRequest) -> HttpResponse:
    """The look-up as the agent types a phone or a serial/asset number (an HTML fragment):
    contacts with their organisation and masked phone, devices with owner and warranty, and
    the open requests of them; all within what the user may see."""
    if not request.user.has_perm("tickets.add_ticket"):
        raise Http404
    return render(
        request, "tickets/register_lookup.html", _lookup(request.user, _lookup_text(request.GET))
    )


# --- the ticket page's desk forms: priority, SLA exception, feedback to the regulator ---------


@dataclass(frozen=True)
class DeskAction:
    label: Any
    form: type[ActionForm]
    run: Callable[..., Any]
    done: Callable[[Any], str]
    offered: Callable[[Ticket, Any], bool]
    # Checked here when the service leaves the question to the caller; None: the service
    # decides (and explains) itself.
    permission: str | None = None


def _priority(ticket: Ticket, actor: Any, data: dict[str, Any]) -> Any:
    return ticket_change_priority(
        ticket=ticket, actor=actor, priority=data["priority"], reason=data["reason"]
    )


def _sla_exception(ticket: Ticket, actor: Any, data: dict[str, Any]) -> Any:
    return sla_exception_approve(
        ticket=ticket,
        actor=actor,
        target=data["target"],
        hours=data["hours"],
        reason=data["reason"],
    )


def _regulator_feedback(ticket: Ticket, actor: Any, data: dict[str, Any]) -> Any:
    return regulator_feedback_record(
        ticket=ticket,
        actor=actor,
        content=data["content"],
        given_at=data.get("given_at"),
        regulator_contact=data.get("regulator_contact") or "",
    )


DESK_ACTIONS: dict[str, DeskAction] = {
    "priority": DeskAction(
        label=gettext_lazy("Change the priority"),
        form=PriorityInput,
        run=_priority,
        done=lambda ticket: (
            _("Priority is now %(priority)s.") % {"priority": ticket.get_priority_display()}
        ),
        offered=lambda ticket, user: ticket.is_open and user.has_perm("tickets.change_ticket"),
        permission="tickets.change_ticket",
    ),
    "sla-exception": DeskAction(
        label=gettext_lazy("Approve an SLA exception"),
        form=SlaExceptionInput,
        run=_sla_exception,
        done=lambda exception: (
            _("%(target)s extended by %(hours)s h.")
            % {"target": SlaTarget(exception.target).label, "hours": exception.hours}
        ),
        offered=lambda ticket, user: ticket.is_open and user.has_perm("tickets.add_slaexception"),
    ),
    "regulator-feedback": DeskAction(
        label=gettext_lazy("Record feedback to the regulator"),
        form=RegulatorFeedbackInput,
        run=_regulator_feedback,
        done=lambda feedback: _("Feedback to the regulator recorded."),
        offered=lambda ticket, user: (
            ticket.channel == Channel.REGULATOR and user.has_perm("tickets.add_regulatorfeedback")
        ),
        permission="tickets.add_regulatorfeedback",
    ),
}


def desk_context(view: Any, ticket: Ticket, user: Any) -> dict[str, Any]:
    """What the ticket page shows of the desk: the desk forms offered now (a refused one comes
    back bound and open), the approved exceptions and the feedback given to the regulator."""
    bound = getattr(view, "desk_forms", None) or {}
    items = []
    for name, action in DESK_ACTIONS.items():
        if not action.offered(ticket, user):
            continue
        initial = {"priority": ticket.priority} if name == "priority" else None
        items.append(
            {
                "name": name,
                "label": action.label,
                "form": bound.get(name) or action.form(user=user, ticket=ticket, initial=initial),
                "open": name in bound,
                "url": reverse(f"tickets:ticket-{name}", args=[ticket.pk]),
            }
        )
    return {
        "desk_actions": items,
        "sla_exceptions": list(ticket.sla_exceptions.select_related("approved_by"))
        if user.has_perm("tickets.view_slaexception")
        else [],
        "regulator_feedback": list(ticket.regulator_feedback.select_related("given_by"))
        if ticket.channel == Channel.REGULATOR and user.has_perm("tickets.view_regulatorfeedback")
        else [],
    }


def _desk_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    ticket = _scoped_ticket(request, pk)
    action = DESK_ACTIONS[name]
    user = request.user
    if action.permission and not user.has_perm(action.permission):
        messages.error(
            request,
            _("Your role may not do this: %(action)s.") % {"action": action.label},
        )
        return _detail_again(request, ticket, 403)
    form = action.form(request.POST, user=user, ticket=ticket)
    if not form.is_valid():
        return _detail_again(request, ticket, 400, desk_forms={name: form})
    try:
        result = action.run(ticket, user, form.cleaned_data)
    except PermissionDeniedError as error:
        messages.error(request, error.message)
        return _detail_again(request, ticket, error.status)
    except DomainError as error:
        if not action.offered(ticket, user) or not error.fields:
            # The form is not on the page (or the problem names no field): say it above.
            messages.error(request, error.message)
        for field, problems in error.fields.items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        return _detail_again(request, ticket, error.status, desk_forms={name: form})
    messages.success(request, action.done(result))
    return redirect("tickets:tickets-detail", pk=ticket.pk)


@login_required
@require_POST
def ticket_priority(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the priority with a reason (the due times follow the priority's promise)."""
    return _desk_action(request, pk, "priority")


@login_required
@require_POST
def ticket_sla_exception(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve an exception that extends one target (service managers)."""
    return _desk_action(request, pk, "sla-exception")


@login_required
@require_POST
def ticket_regulator_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """Record what was reported back to the regulator (supervision-phone requests)."""
    return _desk_action(request, pk, "regulator-feedback")


for _view in (ticket_priority, ticket_sla_exception, ticket_regulator_feedback):
    _view.resource = tickets  # type: ignore[attr-defined]


# --- contact log ------------------------------------------------------------------------------


@login_required
def organization_contact_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Every call, visit and e-mail with an organisation (the procedures' contact log), newest
    first, from the requests the user may see."""
    user = request.user
    if not (user.has_perm("tickets.view_timelineentry") and user.has_perm("tickets.view_ticket")):
        raise Http404
    organization = get_object_or_404(organizations_visible_to(user), pk=pk)
    page = Paginator(contact_log_of(organization, user), CONTACT_LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "tickets/contact_log.html",
        {"organization": organization, "page": page, "query": ""},
    )


organization_contact_log.resource = RESOURCES["organizations"]  # type: ignore[attr-defined]


urlpatterns = [
    path("register/", register_call, name="register-call"),
    path("register/lookup/", register_lookup, name="register-lookup"),
    path("tickets/<int:pk>/priority/", ticket_priority, name="ticket-priority"),
    path("tickets/<int:pk>/sla-exception/", ticket_sla_exception, name="ticket-sla-exception"),
    path(
        "tickets/<int:pk>/regulator-feedback/",
        ticket_regulator_feedback,
        name="ticket-regulator-feedback",
    ),
    path(
        "organizations/<int:pk>/contact-log/",
        organization_contact_log,
        name="organization-contact-log",
    ),
]
