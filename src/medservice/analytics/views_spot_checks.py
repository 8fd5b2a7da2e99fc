"""Pages of the spot checks: the samples (with a form to draw one by hand), one sample with
its drawn records, and the review form of one record. Plans and checklist points use the
generic resource pages. Internal users only: anyone else gets 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from medservice.analytics.choices import SpotCheckAnswer
from medservice.analytics.forms_spot_checks import SampleDrawForm, SpotCheckReviewForm
from medservice.analytics.selectors_spot_checks import (
    spot_check_items_visible_to,
    spot_check_plans_visible_to,
    spot_check_samples_visible_to,
)
from medservice.core.errors import DomainError
from medservice.core.registry import resource_for_model
from medservice.customers.selectors import user_scope


def _internal(request: HttpRequest) -> None:
    """Spot checks are internal records, for the roles that take part in them."""
    if user_scope(request.user) != "internal":
        raise Http404
    if not request.user.has_perm("analytics.view_spotchecksample"):
        raise Http404


def _errors_onto(form: Any, error: DomainError) -> None:
    """A service's refusal on the fields it names (else above the form)."""
    form.add_error(None, error.message)
    for name, problems in error.fields.items():
        field = name.replace("answers.", "answer_")
        for problem in problems:
            if field in form.fields:
                form.add_error(field, problem)


def record_url(record: Any) -> str:
    """The drawn record's own page, when its app declares one."""
    resource = resource_for_model(type(record)) if record is not None else None
    if resource is None:
        return ""
    try:
        return reverse(resource.url_name("detail"), kwargs={"pk": record.pk})
    except NoReverseMatch:
        return ""


@login_required
def sample_list(request: HttpRequest) -> HttpResponse:
    """Every sample the user may see, newest period first, with how far its review is."""
    _internal(request)
    draw_form = None
    can_draw = request.user.has_perm("analytics.add_spotchecksample")
    if can_draw:
        draw_form = SampleDrawForm(
            request.POST or None, plans=spot_check_plans_visible_to(request.user)
        )
        if request.method == "POST" and draw_form.is_valid():
            from medservice.analytics.spot_checks import spot_check_sample_create

            try:
                sample = spot_check_sample_create(actor=request.user, **draw_form.cleaned_data)
            except DomainError as error:
                _errors_onto(draw_form, error)
            else:
                messages.success(request, _("The sample was drawn."))
                return redirect("analytics:spot-check-detail", pk=sample.pk)
    elif request.method == "POST":
        raise Http404
    samples = (
        spot_check_samples_visible_to(request.user)
        .select_related("plan")
        .annotate(
            item_count=Count("items"),
            reviewed_count=Count("items", filter=Q(items__reviewed_at__isnull=False)),
            major_count=Count("items", filter=Q(items__severity="major")),
        )
        .order_by("-period_start", "plan__name", "pk")
    )
    page = Paginator(samples, 50).get_page(request.GET.get("page"))
    status = 400 if request.method == "POST" else 200
    return render(
        request, "analytics/spot_checks.html",
        {"page": page, "draw_form": draw_form}, status=status,
    )  # fmt: skip


@login_required
def sample_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One sample: its seed and population, whether the draw verifies, and its records."""
    from medservice.analytics.spot_checks import sample_verify

    _internal(request)
    sample = get_object_or_404(
        spot_check_samples_visible_to(request.user).select_related("plan"), pk=pk
    )
    items = list(
        spot_check_items_visible_to(request.user)
        .filter(sample=sample)
        .select_related("content_type", "reviewer", "engineer")
        .prefetch_related("record")
        .order_by("stratum_label", "rank")
    )
    rows = [{"item": item, "url": record_url(item.record)} for item in items]
    oversees = request.user.has_perm("analytics.view_every_spotcheckitem")
    return render(
        request, "analytics/spot_check_detail.html",
        {"sample": sample, "rows": rows,
         "verified": sample_verify(sample) if oversees else None,
         "can_review": request.user.has_perm("analytics.review_spotcheckitem")},
    )  # fmt: skip


sample_detail.scoping_exempt = "reads through spot_check_samples_visible_to (internal only)"  # type: ignore[attr-defined]


@login_required
def item_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Review one drawn record against the plan's checklist."""
    from medservice.analytics.spot_checks import spot_check_review

    _internal(request)
    item = get_object_or_404(
        spot_check_items_visible_to(request.user).select_related("sample__plan", "content_type"),
        pk=pk,
    )
    form = SpotCheckReviewForm(request.POST or None, item=item)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                spot_check_review(
                    item=item, actor=request.user, answers=form.answers(),
                    severity=form.cleaned_data["severity"], note=form.cleaned_data["note"],
                )  # fmt: skip
            except DomainError as error:
                _errors_onto(form, error)
                status = error.status
            else:
                messages.success(request, _("The review was recorded."))
                return redirect("analytics:spot-check-detail", pk=item.sample_id)
    from medservice.quality.capa import capas_of_source

    language = get_language() or ""
    labels = dict(SpotCheckAnswer.choices)
    answers = [
        (point.text_in(language), labels.get(item.answers.get(point.code), "—"))
        for point in item.sample.plan.checklist.all()
    ]
    return render(
        request, "analytics/spot_check_review.html",
        {"item": item, "form": form, "record_url": record_url(item.record), "answers": answers,
         "capas": list(capas_of_source(item)),
         "can_review": request.user.has_perm("analytics.review_spotcheckitem")
         and item.reviewed_at is None},
        status=status,
    )  # fmt: skip


item_review.scoping_exempt = "reads through spot_check_items_visible_to (internal only)"  # type: ignore[attr-defined]


urlpatterns = [
    path("spot-checks/", sample_list, name="spot-checks"),
    path("spot-checks/<int:pk>/", sample_detail, name="spot-check-detail"),
    path("spot-check-items/<int:pk>/", item_review, name="spot-check-item"),
]
