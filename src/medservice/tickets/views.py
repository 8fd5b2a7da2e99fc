"""Ticket pages: the record page (header with the actions allowed now, SLA clocks, timeline),
one small form per action, notes and files, the audited unmasking of the reporter's phone."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError, InvalidTransitionError, PermissionDeniedError
from medservice.tickets.actions import action_run
from medservice.tickets.detail import TicketDetailView
from medservice.tickets.forms import ACTION_INPUTS, CommentInput
from medservice.tickets.models import Ticket
from medservice.tickets.resources import tickets
from medservice.tickets.selectors import tickets_visible_to, timeline_visible_to
from medservice.tickets.services import ticket_comment, ticket_unmask
from medservice.tickets.workflow import TRANSITIONS


def _scoped_ticket(request: HttpRequest, pk: int) -> Ticket:
    if not request.user.has_perm("tickets.view_ticket"):
        raise Http404
    return get_object_or_404(tickets_visible_to(request.user), pk=pk)


def _detail_again(request: HttpRequest, ticket: Ticket, status: int, **state: Any) -> HttpResponse:
    view = TicketDetailView()
    view.resource = tickets
    view.request = request
    view.kwargs = {"pk": ticket.pk}
    for key, value in state.items():
        setattr(view, key, value)
    response = view.get(request, pk=ticket.pk)
    response.status_code = status
    return response


@login_required
@require_POST
def ticket_action(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run one workflow action from its small form; a refusal is shown on the page, in the
    user's language, with what was typed kept."""
    ticket = _scoped_ticket(request, pk)
    if name not in ACTION_INPUTS:
        raise Http404
    form = ACTION_INPUTS[name](request.POST, user=request.user, ticket=ticket)
    if not form.is_valid():
        return _detail_again(request, ticket, 400, bound_forms={name: form})
    try:
        action_run(name, ticket=ticket, actor=request.user, data=form.cleaned_data)
    except PermissionDeniedError as error:
        messages.error(request, error.message)
        return _detail_again(request, ticket, 403)
    except InvalidTransitionError as error:
        # The action is not offered in this state, so its form is not on the page: say it above.
        messages.error(request, error.message)
        return _detail_again(request, ticket, error.status)
    except DomainError as error:
        form.add_error(None, error.message)
        for field, problems in error.fields.items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        return _detail_again(request, ticket, error.status, bound_forms={name: form})
    messages.success(request, _("%(action)s: done.") % {"action": TRANSITIONS[name].label})
    return redirect("tickets:tickets-detail", pk=ticket.pk)


ticket_action.resource = tickets  # type: ignore[attr-defined]


@login_required
@require_POST
def ticket_comment_view(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _scoped_ticket(request, pk)
    if not request.user.has_perm("tickets.add_timelineentry"):
        raise Http404
    form = CommentInput(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        return _detail_again(request, ticket, 400, comment_form=form)
    try:
        ticket_comment(
            ticket=ticket,
            actor=request.user,
            text=form.cleaned_data["text"],
            customer_visible=form.cleaned_data["customer_visible"],
            attachment=form.cleaned_data.get("file"),
        )
    except DomainError as error:
        for field, problems in (error.fields or {None: [error.message]}).items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        return _detail_again(request, ticket, error.status, comment_form=form)
    messages.success(request, _("Added to the timeline."))
    return redirect("tickets:tickets-detail", pk=ticket.pk)


ticket_comment_view.resource = tickets  # type: ignore[attr-defined]


@login_required
def ticket_attachment(request: HttpRequest, pk: int, entry_id: int) -> HttpResponse:
    from django.http import FileResponse

    ticket = _scoped_ticket(request, pk)
    entry = get_object_or_404(
        timeline_visible_to(ticket, request.user).exclude(attachment=""), pk=entry_id
    )
    return FileResponse(
        entry.attachment.open("rb"),
        as_attachment=False,
        filename=entry.attachment_name or "file",
        content_type=entry.attachment_type or "application/octet-stream",
    )


ticket_attachment.resource = tickets  # type: ignore[attr-defined]


@login_required
@require_POST
def ticket_unmask_view(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _scoped_ticket(request, pk)
    try:
        value = ticket_unmask(
            actor=request.user, ticket=ticket, field=request.POST.get("field", "")
        )
    except PermissionDeniedError:
        raise Http404 from None
    except DomainError as error:
        return HttpResponse(error.message, status=error.status)
    return render(request, "tickets/unmasked.html", {"value": value})


ticket_unmask_view.resource = tickets  # type: ignore[attr-defined]
