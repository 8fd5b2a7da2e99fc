"""Pages of the stores' books beyond the generic list, form and detail: the printable notice,
an entry's quality case and its customer's phone, closing and notifying an out-of-stock entry,
and the store staff's landing panel (today's review). Every page taking an id reaches the
record through its resource's selector (the resources set `view.resource`)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.core.registry import HomePanel, home_panel_register
from medservice.core.views import ResourceDetailView
from medservice.feedback.choices import OpinionCategory, ShortageStatus
from medservice.feedback.forms_stores import ShortageCloseForm
from medservice.feedback.selectors_stores import (
    opinion_entries_visible_to,
    shortage_entries_visible_to,
    store_profiles_visible_to,
)


def _scoped(request: HttpRequest, queryset: Any, pk: int, permission: str) -> Any:
    if not request.user.has_perm(permission):
        raise Http404
    return get_object_or_404(queryset, pk=pk)


class StoreProfileDetailView(ResourceDetailView):
    extra_template = "feedback/stores/profile_panel.html"


class OpinionEntryDetailView(ResourceDetailView):
    extra_template = "feedback/stores/entry_panel.html"

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        user = self.request.user
        return {
            "entry": obj,
            "can_escalate": obj.quality_case_id is None
            and user.has_perm("feedback.escalate_opinionentry"),
            "can_unmask": bool(obj.customer_phone)
            and user.has_perm("feedback.unmask_opinionentry"),
            "is_quality_safety": obj.category == OpinionCategory.QUALITY_SAFETY,
        }


class ShortageEntryDetailView(ResourceDetailView):
    extra_template = "feedback/stores/shortage_panel.html"

    def extra_context_for(self, obj: Any) -> dict[str, Any]:
        user = self.request.user
        is_open = obj.status == ShortageStatus.OPEN
        return {
            "entry": obj,
            "close_form": ShortageCloseForm(),
            "can_close": is_open and user.has_perm("feedback.close_shortageentry"),
            "can_notify": is_open
            and obj.notified_at is None
            and user.has_perm("feedback.change_shortageentry"),
            "can_unmask": user.has_perm("feedback.unmask_shortageentry"),
        }


@login_required
def store_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """The notice to print and hang in the store (PDF)."""
    from medservice.feedback.services_stores import store_notice_pdf

    profile = _scoped(
        request, store_profiles_visible_to(request.user).select_related("store__parent"), pk,
        "feedback.view_storeprofile",
    )  # fmt: skip
    response = HttpResponse(store_notice_pdf(profile), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="notice-{profile.pk}.pdf"'
    return response


@login_required
@require_POST
def opinion_entry_to_case(request: HttpRequest, pk: int) -> HttpResponse:
    from medservice.feedback.services_stores import opinion_entry_to_quality_case

    entry = _scoped(
        request, opinion_entries_visible_to(request.user), pk, "feedback.view_opinionentry"
    )
    try:
        entry = opinion_entry_to_quality_case(actor=request.user, entry=entry)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Quality case %(case)s opened.") % {"case": entry.quality_case})
    return redirect("feedback:opinion-entries-detail", pk=pk)


@login_required
@require_POST
def opinion_entry_unmask_view(request: HttpRequest, pk: int) -> HttpResponse:
    from medservice.feedback.services_stores import opinion_entry_unmask

    entry = _scoped(
        request, opinion_entries_visible_to(request.user), pk, "feedback.view_opinionentry"
    )
    try:
        value = opinion_entry_unmask(actor=request.user, entry=entry)
    except DomainError as error:
        return HttpResponse(error.message, status=error.status)
    return render(request, "feedback/stores/unmasked.html", {"values": [value]})


@login_required
@require_POST
def shortage_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    from medservice.feedback.services_stores import shortage_close

    entry = _scoped(
        request, shortage_entries_visible_to(request.user), pk, "feedback.view_shortageentry"
    )
    form = ShortageCloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose fulfilled or cancelled."))
        return redirect("feedback:shortage-entries-detail", pk=pk)
    try:
        shortage_close(actor=request.user, entry=entry, **form.cleaned_data)
    except DomainError as error:
        problems = [error.message, *[item for items in error.fields.values() for item in items]]
        messages.error(request, " ".join(problems))
    else:
        messages.success(request, _("Closed %(entry)s.") % {"entry": entry})
    return redirect("feedback:shortage-entries-detail", pk=pk)


@login_required
@require_POST
def shortage_notify_view(request: HttpRequest, pk: int) -> HttpResponse:
    from medservice.feedback.services_stores import shortage_notify_by_hand

    entry = _scoped(
        request, shortage_entries_visible_to(request.user), pk, "feedback.view_shortageentry"
    )
    try:
        shortage_notify_by_hand(actor=request.user, entry=entry)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The customer is being told."))
    return redirect("feedback:shortage-entries-detail", pk=pk)


@login_required
@require_POST
def shortage_unmask_view(request: HttpRequest, pk: int) -> HttpResponse:
    from medservice.feedback.services_stores import shortage_entry_unmask

    entry = _scoped(
        request, shortage_entries_visible_to(request.user), pk, "feedback.view_shortageentry"
    )
    try:
        values = shortage_entry_unmask(actor=request.user, entry=entry)
    except DomainError as error:
        return HttpResponse(error.message, status=error.status)
    return render(
        request, "feedback/stores/unmasked.html", {"values": [v for v in values.values() if v]}
    )


def store_home(request: HttpRequest) -> dict[str, Any]:
    """The store staff's landing: each of their stores with today's opinion-book review."""
    from medservice.feedback.services_stores import reviews_today

    return {"stores": reviews_today(request.user)}


home_panel_register(
    HomePanel(
        name="feedback-store-reviews",
        template="feedback/stores/home_panel.html",
        context=store_home,
        permission="feedback.add_opinionbookreview",
        order=15,
    )
)
