"""The maintenance pages beyond the generic resource views: the overdue PM list and the
completion rate, the acceptance's signing (phone-sized) and its files, the training's
attendees, sign-in sheet and files, re-training decisions, and installations from a delivery.
Every page taking an id scopes through its resource (set in resources.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.core.pagination import DeferredJoinPaginator
from medservice.core.views import ResourceDetailView
from medservice.maintenance import forms as maintenance_forms
from medservice.maintenance.selectors import (
    acceptances_visible_to,
    operator_trainings_visible_to,
    pm_plans_visible_to,
    pm_visits_visible_to,
    retraining_suggestions_visible_to,
)
from medservice.maintenance.services import pm_completion_rate, pm_plans_overdue
from medservice.maintenance.services_acceptance import (
    acceptance_file_attach,
    acceptance_sign,
    installations_open_for_delivery,
)
from medservice.maintenance.services_training import (
    sign_in_sheet_pdf,
    suggestion_dismiss,
    suggestion_schedule,
    training_attendee_create,
    training_file_attach,
)

PAGE_SIZE = 25


def _need(request: HttpRequest, permission: str) -> None:
    # A page the role may not use answers like a record outside its scope.
    if not request.user.has_perm(permission):
        raise Http404


def _refusal(request: HttpRequest, error: DomainError) -> None:
    messages.error(request, error.message)
    for name, problems in error.fields.items():
        for problem in problems:
            if problem != error.message:
                messages.error(request, f"{name}: {problem}")


# --- PM -----------------------------------------------------------------------------------------


class PmPlanDetailView(ResourceDetailView):
    """A plan's page lists its visits (due, ordered, done) with their work orders."""

    extra_template = "maintenance/pm_plan_panel.html"

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        visits = (
            pm_visits_visible_to(self.request.user)
            .filter(plan=obj)
            .select_related("work_order")
            .order_by("-due_on")[:50]
        )
        return {
            "visits": list(visits),
            "overdue": obj.active and obj.next_due_on < timezone.localdate(),
        }


@login_required
def pm_overdue(request: HttpRequest) -> HttpResponse:
    """Active plans past their due date, the most overdue first (phone-friendly cards)."""
    _need(request, "maintenance.view_pmplan")
    plans = pm_plans_overdue(pm_plans_visible_to(request.user)).select_related(
        "device__device_model", "organization"
    )
    page = DeferredJoinPaginator(plans, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "maintenance/pm_overdue.html", {"page": page, "today": timezone.localdate()}
    )


@login_required
def pm_completion(request: HttpRequest) -> HttpResponse:
    """Completion rate of the PM due in a period; life-support devices flagged below 100%."""
    _need(request, "maintenance.view_pmvisit")
    today = timezone.localdate()
    initial = {"start": today.replace(day=1), "end": today}
    form = maintenance_forms.CompletionRateForm(request.GET or initial)
    result = None
    status = 200
    if form.is_valid():
        result = pm_completion_rate(
            pm_visits_visible_to(request.user),
            start=form.cleaned_data["start"],
            end=form.cleaned_data["end"],
        )
    else:
        status = 400
    return render(
        request, "maintenance/pm_completion.html", {"form": form, "result": result}, status=status
    )


# --- Acceptance ---------------------------------------------------------------------------------


def scoped_acceptance(request: HttpRequest, pk: int) -> Any:
    _need(request, "maintenance.view_acceptancerecord")
    return get_object_or_404(
        acceptances_visible_to(request.user).select_related("device__device_model"), pk=pk
    )


class AcceptanceDetailView(ResourceDetailView):
    """The certificate: the customer signs it on the engineer's phone; the signed scan follows."""

    extra_template = "maintenance/acceptance_panel.html"

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        from medservice.core.signatures import signatures_of

        user = self.request.user
        return {
            "files": list(obj.files.order_by("pk")),
            "signatures": signatures_of(obj),
            "can_sign": obj.signed_at is None
            and user.has_perm("maintenance.sign_acceptancerecord"),
            "can_attach": user.has_perm("maintenance.add_acceptancefile"),
            "sign_form": maintenance_forms.AcceptanceSignForm(
                initial={"printed_name": obj.customer_name}
            ),
            "file_form": maintenance_forms.acceptance_file_form(),
        }


@login_required
@require_POST
def acceptance_sign_view(request: HttpRequest, pk: int) -> HttpResponse:
    record = scoped_acceptance(request, pk)
    _need(request, "maintenance.sign_acceptancerecord")
    form = maintenance_forms.AcceptanceSignForm(request.POST)
    if not form.is_valid():
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, problem)
        return redirect("maintenance:acceptances-detail", pk=record.pk)
    try:
        acceptance_sign(
            actor=request.user, acceptance=record, printed_name=form.cleaned_data["printed_name"]
        )
    except DomainError as error:
        _refusal(request, error)
    else:
        messages.success(request, _("Accepted: the warranty now runs from the acceptance date."))
    return redirect("maintenance:acceptances-detail", pk=record.pk)


@login_required
@require_POST
def acceptance_attach_view(request: HttpRequest, pk: int) -> HttpResponse:
    record = scoped_acceptance(request, pk)
    form = maintenance_forms.acceptance_file_form(request.POST, request.FILES)
    if form.is_valid():
        try:
            acceptance_file_attach(
                actor=request.user, acceptance=record, kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
            )  # fmt: skip
        except DomainError as error:
            _refusal(request, error)
        else:
            messages.success(request, _("The file is attached."))
    else:
        messages.error(request, _("Choose the file and say what it is."))
    return redirect("maintenance:acceptances-detail", pk=record.pk)


@login_required
def acceptance_file(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    record = scoped_acceptance(request, pk)
    item = get_object_or_404(record.files, pk=file_id)
    return FileResponse(item.file.open("rb"), filename=item.original_name,
                        content_type=item.content_type)  # fmt: skip


# --- Installations ------------------------------------------------------------------------------


@login_required
def installations_from_delivery(request: HttpRequest) -> HttpResponse:
    """Open the installation work orders of a delivery's units (offered on the delivery page)."""
    from medservice.installed_base.selectors import deliveries_visible_to

    _need(request, "maintenance.add_installation")
    raw = request.GET.get("delivery") or request.POST.get("delivery") or ""
    if not raw.isdigit() or len(raw) > 18:
        raise Http404
    delivery = get_object_or_404(deliveries_visible_to(request.user), pk=int(raw))
    if request.method == "POST":
        opened = installations_open_for_delivery(actor=request.user, delivery=delivery)
        messages.success(
            request,
            _("%(count)s installation work orders opened.") % {"count": len(opened)},
        )
        return redirect("installed_base:deliveries-detail", pk=delivery.pk)
    return render(request, "maintenance/installations_from_delivery.html", {"delivery": delivery})


# --- Operator training --------------------------------------------------------------------------


def scoped_training(request: HttpRequest, pk: int) -> Any:
    _need(request, "maintenance.view_operatortraining")
    return get_object_or_404(
        operator_trainings_visible_to(request.user).select_related("organization", "trainer"),
        pk=pk,
    )


class OperatorTrainingDetailView(ResourceDetailView):
    """The session: attendees (added as they sign in), the sign-in sheet, files."""

    extra_template = "maintenance/training_panel.html"

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        user = self.request.user
        return {
            "attendees": list(obj.attendees.select_related("department").order_by("pk")),
            "files": list(obj.files.order_by("pk")),
            "can_add_attendee": user.has_perm("maintenance.add_trainingattendee"),
            "can_attach": user.has_perm("maintenance.add_trainingfile"),
            "attendee_form": maintenance_forms.AttendeeForm(training=obj),
            "file_form": maintenance_forms.training_file_form(),
        }


@login_required
def training_sign_in_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    training = scoped_training(request, pk)
    language = request.GET.get("language") or "zh-hans"
    if language not in ("zh-hans", "en"):
        language = "zh-hans"
    response = HttpResponse(sign_in_sheet_pdf(training, language=language),
                            content_type="application/pdf")  # fmt: skip
    response["Content-Disposition"] = f'attachment; filename="{training.number}-sign-in.pdf"'
    return response


@login_required
@require_POST
def training_attendee_add(request: HttpRequest, pk: int) -> HttpResponse:
    training = scoped_training(request, pk)
    form = maintenance_forms.AttendeeForm(request.POST, training=training)
    if form.is_valid():
        try:
            training_attendee_create(
                actor=request.user, data={"training": training, **form.cleaned_data}
            )
        except DomainError as error:
            _refusal(request, error)
        else:
            messages.success(request, _("Attendee added."))
    else:
        messages.error(request, _("Give the attendee's name."))
    return redirect("maintenance:operator-trainings-detail", pk=training.pk)


@login_required
@require_POST
def training_attach(request: HttpRequest, pk: int) -> HttpResponse:
    training = scoped_training(request, pk)
    form = maintenance_forms.training_file_form(request.POST, request.FILES)
    if form.is_valid():
        try:
            training_file_attach(
                actor=request.user, training=training, kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
            )  # fmt: skip
        except DomainError as error:
            _refusal(request, error)
        else:
            messages.success(request, _("The file is attached."))
    else:
        messages.error(request, _("Choose the file and say what it is."))
    return redirect("maintenance:operator-trainings-detail", pk=training.pk)


@login_required
def training_file(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    training = scoped_training(request, pk)
    item = get_object_or_404(training.files, pk=file_id)
    return FileResponse(item.file.open("rb"), filename=item.original_name,
                        content_type=item.content_type)  # fmt: skip


# --- Re-training suggestions --------------------------------------------------------------------


def scoped_suggestion(request: HttpRequest, pk: int) -> Any:
    _need(request, "maintenance.view_retrainingsuggestion")
    return get_object_or_404(
        retraining_suggestions_visible_to(request.user).select_related(
            "organization", "department", "device", "work_order"
        ),
        pk=pk,
    )


class SuggestionDetailView(ResourceDetailView):
    extra_template = "maintenance/suggestion_panel.html"

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        return {
            "can_decide": obj.status == "open"
            and self.request.user.has_perm("maintenance.decide_retrainingsuggestion"),
            "dismiss_form": maintenance_forms.SuggestionDismissForm(),
        }


@login_required
@require_POST
def suggestion_dismiss_view(request: HttpRequest, pk: int) -> HttpResponse:
    suggestion = scoped_suggestion(request, pk)
    form = maintenance_forms.SuggestionDismissForm(request.POST)
    try:
        suggestion_dismiss(
            actor=request.user, suggestion=suggestion,
            reason=form.data.get("reason", ""),
        )  # fmt: skip
    except DomainError as error:
        _refusal(request, error)
    else:
        messages.success(request, _("Suggestion dismissed."))
    return redirect("maintenance:retraining-suggestions-detail", pk=suggestion.pk)


@login_required
def suggestion_schedule_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn a suggestion into a training session: the session form, filled in from it."""
    suggestion = scoped_suggestion(request, pk)
    _need(request, "maintenance.decide_retrainingsuggestion")
    initial = {
        "organization": suggestion.organization,
        "department": suggestion.department,
        "devices": suggestion.device.serial_number,
        "held_on": timezone.localdate() + datetime.timedelta(days=7),
        "content": _("Re-training after a use error: %(reason)s") % {"reason": suggestion.reason},
        "suggestion": suggestion.pk,
    }
    bound = request.method == "POST"
    form = maintenance_forms.OperatorTrainingForm(
        request.POST if bound else None, initial=initial, user=request.user
    )
    status = 200
    if bound:
        if form.is_valid():
            data = dict(form.cleaned_data)
            data.pop("suggestion", None)
            try:
                training = suggestion_schedule(actor=request.user, suggestion=suggestion, data=data)
            except DomainError as error:
                form.add_error(None, error.message)
                for name, problems in error.fields.items():
                    for problem in problems:
                        form.add_error(name if name in form.fields else None, problem)
                status = error.status
            else:
                messages.success(
                    request, _("Training %(number)s scheduled.") % {"number": training.number}
                )
                return redirect("maintenance:operator-trainings-detail", pk=training.pk)
        else:
            status = 400
    return render(
        request, "maintenance/suggestion_schedule.html",
        {"form": form, "suggestion": suggestion}, status=status,
    )  # fmt: skip
