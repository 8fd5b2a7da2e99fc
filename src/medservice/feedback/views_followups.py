"""Staff pages of follow-ups and customer visits: the follow-up page with the outcome form,
the visit page with its written opinions (add, answer). Lists, edit forms and exports are the
generic resource views (resources_followups.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.core.views import ResourceDetailView
from medservice.feedback import forms_followups as feedback_forms
from medservice.feedback.choices import FollowUpStatus, OpinionStatus

# --- shared by the area's pages -----------------------------------------------------------------


def errors_onto(form: forms.Form, error: DomainError) -> None:
    """A service's refusal on the fields it names (else above the form)."""
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        for problem in problems:
            if name in form.fields and problem not in form.errors.get(name, []):
                form.add_error(name, problem)


def detail_again(
    view_class: type[ResourceDetailView], resource: Any, request: HttpRequest, pk: int,
    status: int, **state: Any,
) -> HttpResponse:  # fmt: skip
    view = view_class()
    view.resource, view.request, view.kwargs = resource, request, {"pk": pk}
    for key, value in state.items():
        setattr(view, key, value)
    response = view.get(request, pk=pk)
    response.status_code = status
    return response


def action_view(
    *, resource_name: str, view_class: type[ResourceDetailView], form_class: type[forms.Form], permission: str,
    run: Callable[[Any, Any, dict[str, Any]], Any], done: Any, state_name: str = "bound_form",
    record_of: Callable[[HttpRequest, int], Any] | None = None,
) -> Callable[..., HttpResponse]:  # fmt: skip
    """A POST-only page running one service from its small form; a refusal shows the record's
    page again with what was typed (400 on the fields, 403/409 above)."""

    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        from medservice.core.registry import RESOURCES

        resource = RESOURCES[resource_name]
        if not request.user.has_perm(resource.permission("view")):
            raise Http404
        record = get_object_or_404(resource.queryset_for(request.user), pk=pk)
        if permission and not request.user.has_perm(permission):
            messages.error(request, _("You may not do this."))
            return detail_again(view_class, resource, request, pk, 403)
        form = form_class(request.POST)
        if not form.is_valid():
            return detail_again(view_class, resource, request, pk, 400, **{state_name: form})
        try:
            run(request.user, record, dict(form.cleaned_data))
        except DomainError as error:
            errors_onto(form, error)
            if error.status != 400:
                messages.error(request, error.message)
            return detail_again(
                view_class, resource, request, pk, error.status, **{state_name: form}
            )
        messages.success(request, str(done))
        return redirect(resource.url_name("detail"), pk=pk)

    return view


# --- follow-ups ---------------------------------------------------------------------------------


class FollowUpDetailView(ResourceDetailView):
    """A follow-up: its source, the contact (phone masked unless the role may see it), the
    tries so far, and the outcome form while it is open."""

    extra_template = "feedback/followups/follow_up_panel.html"
    bound_form: forms.Form | None = None

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        user = self.request.user
        contact = obj.contact
        phone = ""
        if contact is not None:
            raw = contact.mobile or contact.phone or ""
            phone = (
                raw
                if user.has_perm("customers.unmask_contact")
                else (contact.mobile_masked or contact.phone_masked)
            )
        return {
            "follow_up": obj,
            "contact_phone": phone,
            "tries": list(obj.tries.select_related("by")),
            "can_record": obj.status == FollowUpStatus.OPEN
            and user.has_perm("feedback.record_followup"),
            "outcome_form": self.bound_form or feedback_forms.FollowUpOutcomeForm(),
        }


def _record(user: Any, record: Any, data: dict[str, Any]) -> Any:
    from medservice.feedback.services_followups import follow_up_record

    return follow_up_record(actor=user, follow_up=record, **data)


follow_up_outcome = action_view(
    resource_name="follow-ups", view_class=FollowUpDetailView,
    form_class=feedback_forms.FollowUpOutcomeForm, permission="feedback.record_followup",
    run=_record, done=_("The outcome was recorded."),
)  # fmt: skip


# --- visits -------------------------------------------------------------------------------------


class CustomerVisitDetailView(ResourceDetailView):
    """A visit: the written opinions with who must answer and whether they have, a form to add
    one, and the answer form for the person it was routed to."""

    extra_template = "feedback/followups/visit_panel.html"
    bound_form: forms.Form | None = None
    bound_answer: forms.Form | None = None

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        user = self.request.user
        opinions = list(obj.opinions.select_related("routed_to", "answered_by").order_by("pk"))
        may_answer_any = user.has_perm("feedback.answer_visitopinion")
        return {
            "visit": obj,
            "opinions": [
                {
                    "opinion": opinion,
                    "can_answer": opinion.status == OpinionStatus.OPEN
                    and (opinion.routed_to_id == user.pk or may_answer_any),
                }
                for opinion in opinions
            ],
            "can_add_opinion": user.has_perm("feedback.add_visitopinion"),
            "opinion_form": self.bound_form or feedback_forms.OpinionForm(),
            "answer_form": self.bound_answer or feedback_forms.AnswerForm(),
        }


def _add_opinion(user: Any, record: Any, data: dict[str, Any]) -> Any:
    from medservice.feedback.services_followups import opinion_add

    return opinion_add(actor=user, visit=record, **data)


visit_opinion_add = action_view(
    resource_name="customer-visits", view_class=CustomerVisitDetailView,
    form_class=feedback_forms.OpinionForm, permission="feedback.add_visitopinion",
    run=_add_opinion, done=_("The opinion was recorded and routed."),
)  # fmt: skip


@login_required
@require_POST
def visit_opinion_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer one routed opinion (from the visit's page)."""
    from medservice.feedback.resources_followups import customer_visits, visit_opinions
    from medservice.feedback.services_followups import opinion_answer

    if not request.user.has_perm("feedback.view_visitopinion"):
        raise Http404
    opinion = get_object_or_404(visit_opinions.queryset_for(request.user), pk=pk)
    form = feedback_forms.AnswerForm(request.POST)
    if form.is_valid():
        try:
            opinion_answer(actor=request.user, opinion=opinion, **form.cleaned_data)
        except DomainError as error:
            errors_onto(form, error)
            if error.status != 400:
                messages.error(request, error.message)
            return detail_again(CustomerVisitDetailView, customer_visits, request,
                                opinion.visit_id, error.status, bound_answer=form)  # fmt: skip
        messages.success(request, _("The answer was recorded."))
        return redirect("feedback:customer-visits-detail", pk=opinion.visit_id)
    return detail_again(CustomerVisitDetailView, customer_visits, request, opinion.visit_id, 400,
                        bound_answer=form)  # fmt: skip


urlpatterns = [
    path("follow-ups/<int:pk>/outcome/", follow_up_outcome, name="follow-up-outcome"),
    path("customer-visits/<int:pk>/opinions/", visit_opinion_add, name="visit-opinion-add"),
    path("visit-opinions/<int:pk>/answer/", visit_opinion_answer, name="visit-opinion-answer"),
]
