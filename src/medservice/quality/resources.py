"""Quality cases as a UI and API resource, with their record page (contact clock, the two
actions) and their tab on the service request's page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.core.registry import Related, Resource, register, related_register
from medservice.core.views import ResourceDetailView
from medservice.quality.api.serializers import QualityCaseSerializer
from medservice.quality.filtersets import QualityCaseFilter
from medservice.quality.forms import AwarenessForm, ContactForm, QualityCaseForm
from medservice.quality.models import QualityCase
from medservice.quality.selectors import cases_visible_to
from medservice.quality.services import case_create, case_move_awareness, case_record_contact


def case_create_from_form(
    *, actor: Any, model: type[QualityCase] = QualityCase, data: dict[str, Any]
) -> QualityCase:
    return case_create(actor=actor, data=data)


class CaseDetailView(ResourceDetailView):
    """The case's page: the contact clock and the actions allowed to the user."""

    extra_template = "quality/case_panel.html"
    bound: dict[str, Any] | None = None

    def extra_context_for(self, obj: QualityCase) -> dict[str, Any]:
        from medservice.quality.views_decisions import case_page_context

        user = self.request.user
        bound = self.bound or {}
        return {
            **case_page_context(obj, user, bound),
            "contact_form": bound.get("contact") or ContactForm(),
            "awareness_form": bound.get("awareness") or AwarenessForm(),
            "can_contact": user.has_perm("quality.contact_qualitycase")
            and obj.status in ("open", "investigating"),
            "can_move_awareness": user.has_perm("quality.move_awareness_qualitycase"),
            "may_unmask": user.has_perm("quality.unmask_qualitycase"),
        }


cases = register(
    Resource(
        name="quality-cases",
        model=QualityCase,
        selector=cases_visible_to,
        namespace="quality",
        list_columns=[
            "number", "status", "source", "organization", "device_model", "batch_number",
            "awareness_at", "contact_due_at", "contacted_at",
        ],
        detail_fields=[
            "number", "status", "source", "ticket", "work_order", "organization", "device",
            "device_model", "batch_number", "serial_number", "product_reported",
            "manufacturer_reported", "description", "complainant_sex", "complainant_age",
            "device_used", "symptoms", "purchased_from", "purchased_on", "stop_use_advised",
            "stop_use_advised_at", "patient_involved", "injury", "awareness_at",
            "awareness_reason", "owner", "contact_due_at", "contacted_at", "contact_note",
        ],
        export_fields=[
            "id", "number", "status", "source", "organization", "device_model", "batch_number",
            "serial_number", "awareness_at", "contact_due_at", "contacted_at",
        ],
        form_class=QualityCaseForm,
        filterset_class=QualityCaseFilter,
        serializer_class=QualityCaseSerializer,
        search_fields=["number", "batch_number", "serial_number"],
        ordering_fields=["awareness_at", "contact_due_at", "number"],
        default_ordering=["-awareness_at", "-id"],
        select_related=["organization", "device_model", "owner"],
        create=case_create_from_form,
        update=None,
        delete=None,
        organization_scoped=False,
        detail_view=CaseDetailView,
    )
)  # fmt: skip


def _scoped(request: HttpRequest, pk: int) -> QualityCase:
    if not request.user.has_perm("quality.view_qualitycase"):
        raise Http404
    return get_object_or_404(cases_visible_to(request.user), pk=pk)


def _again(request: HttpRequest, case: QualityCase, status: int, **bound: Any) -> HttpResponse:
    view = CaseDetailView()
    view.resource = cases
    view.request = request
    view.kwargs = {"pk": case.pk}
    view.bound = bound
    response = view.get(request, pk=case.pk)
    response.status_code = status
    return response


def _errors_onto(form: Any, error: DomainError) -> None:
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        for problem in problems:
            if name in form.fields and problem != error.message:
                form.add_error(name, problem)


@login_required
@require_POST
def case_contact(request: HttpRequest, pk: int) -> HttpResponse:
    case = _scoped(request, pk)
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _again(request, case, 400, contact=form)
    try:
        case_record_contact(actor=request.user, case=case, **form.cleaned_data)
    except DomainError as error:
        _errors_onto(form, error)
        return _again(request, case, error.status, contact=form)
    messages.success(request, _("The contact is recorded."))
    return redirect("quality:quality-cases-detail", pk=pk)


@login_required
@require_POST
def case_awareness(request: HttpRequest, pk: int) -> HttpResponse:
    case = _scoped(request, pk)
    form = AwarenessForm(request.POST)
    if not form.is_valid():
        return _again(request, case, 400, awareness=form)
    try:
        case_move_awareness(actor=request.user, case=case, **form.cleaned_data)
    except DomainError as error:
        _errors_onto(form, error)
        return _again(request, case, error.status, awareness=form)
    messages.success(request, _("The awareness time is moved."))
    return redirect("quality:quality-cases-detail", pk=pk)


for view in (case_contact, case_awareness):
    view.resource = cases  # type: ignore[attr-defined]

urlpatterns = [
    path("quality-cases/<int:pk>/contact/", case_contact, name="case-contact"),
    path("quality-cases/<int:pk>/awareness/", case_awareness, name="case-awareness"),
]


def _of_ticket(ticket: Any, user: Any) -> QuerySet[QualityCase]:
    return cases_visible_to(user).filter(ticket=ticket).order_by("-pk")


related_register(
    "tickets",
    Related(
        gettext_lazy("Quality cases"),
        _of_ticket,
        ["number", "status", "awareness_at", "contact_due_at", "contacted_at"],
        "quality:quality-cases-detail",
    ),
)
