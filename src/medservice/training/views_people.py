"""Performance reviews and violations pages: both registers (list, detail, new, edit), the
review's finalise button and the violation's handle form posting to their action views."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from medservice.core.errors import DomainError
from medservice.core.forms import ResourceForm
from medservice.core.registry import Resource, register
from medservice.core.views import ResourceDetailView, resource_urlpatterns
from medservice.training.choices import ViolationStatus
from medservice.training.models import PerformanceReview, Violation
from medservice.training.people import (
    review_create,
    review_finalise,
    review_update,
    violation_handle,
    violation_record,
    violation_update,
)
from medservice.training.selectors import reviews_visible_to, violations_visible_to

DATE_WIDGET = {"attrs": {"type": "date", "class": "form-control"}, "format": "%Y-%m-%d"}


def staff_choices() -> QuerySet:
    """Whom a review or violation may concern: active staff of the company and distributors'
    engineers (service staff under the procedures), never a customer user."""
    from medservice.accounts.models import User

    return User.objects.filter(
        is_active=True, organization__kind__in=["company", "distributor"]
    ).order_by("username")


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        # Two staff may share a name: the user name tells them apart.
        name = obj.get_full_name()
        return f"{name} ({obj.username})" if name else obj.username


class ReviewFilter(django_filters.FilterSet):
    period_from = django_filters.DateFilter(
        field_name="period_end",
        lookup_expr="gte",
        label=gettext_lazy("Period ends on or after"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    final = django_filters.BooleanFilter(
        field_name="finalised_at", lookup_expr="isnull", exclude=True, label=gettext_lazy("Final")
    )

    class Meta:
        model = PerformanceReview
        fields = ["period_from", "final"]


class ViolationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("Status"), choices=ViolationStatus.choices
    )

    class Meta:
        model = Violation
        fields = ["status"]


class ReviewForm(ResourceForm):
    person = PersonChoiceField(label=gettext_lazy("Person"), queryset=None)

    class Meta:
        model = PerformanceReview
        fields = ["person", "period_start", "period_end", "figures", "score", "comments"]
        widgets = {
            "period_start": forms.DateInput(**DATE_WIDGET),
            "period_end": forms.DateInput(**DATE_WIDGET),
            "figures": forms.Textarea(attrs={"rows": 4}),
            "comments": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "figures": gettext_lazy(
                'Names and numbers, for example {"visits": 42, "first-time fix rate": 0.93}.'
            ),
            "score": gettext_lazy("0 to 100."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = staff_choices()
        self.fields["person"].widget.attrs.setdefault("class", "form-select")


class ViolationForm(ResourceForm):
    person = PersonChoiceField(label=gettext_lazy("Person"), queryset=None)

    class Meta:
        model = Violation
        fields = ["person", "occurred_on", "description", "procedure_reference"]
        widgets = {
            "occurred_on": forms.DateInput(**DATE_WIDGET),
            "description": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = staff_choices()
        self.fields["person"].widget.attrs.setdefault("class", "form-select")


class ViolationHandleForm(forms.Form):
    handling = forms.CharField(
        label=gettext_lazy("How it was handled"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class ReviewDetailView(ResourceDetailView):
    extra_template = "training/review_panel.html"

    def extra_context_for(self, obj: PerformanceReview) -> dict[str, Any]:
        user = self.request.user
        return {
            "review": obj,
            "figures": sorted((obj.figures or {}).items()),
            "may_finalise": obj.finalised_at is None
            and user.has_perm("training.change_performancereview"),
            "finalise_error": getattr(self, "action_error", ""),
        }


class ViolationDetailView(ResourceDetailView):
    extra_template = "training/violation_panel.html"

    def extra_context_for(self, obj: Violation) -> dict[str, Any]:
        bound = getattr(self, "bound_forms", {})
        may_handle = obj.status == ViolationStatus.OPEN and self.request.user.has_perm(
            "training.change_violation"
        )
        return {
            "violation": obj,
            "handle_form": bound.get("handle") or ViolationHandleForm() if may_handle else None,
            "open_form": next(iter(bound), ""),
        }


performance_reviews = register(
    Resource(
        name="performance-reviews",
        model=PerformanceReview,
        selector=reviews_visible_to,
        namespace="training",
        list_columns=["person", "period_start", "period_end", "score", "reviewer", "finalised_at"],
        detail_fields=[
            "person",
            "period_start",
            "period_end",
            "score",
            "comments",
            "reviewer",
            "finalised_at",
        ],
        export_fields=[
            "id",
            "person",
            "period_start",
            "period_end",
            "figures",
            "score",
            "comments",
            "reviewer",
            "finalised_at",
        ],
        form_class=ReviewForm,
        filterset_class=ReviewFilter,
        search_fields=["person__username", "person__first_name", "person__last_name"],
        ordering_fields=["period_start", "period_end", "score"],
        default_ordering=["-period_end", "-pk"],
        select_related=["person", "reviewer"],
        create=review_create,
        update=review_update,
        delete=None,
        organization_scoped=False,
        detail_view=ReviewDetailView,
    )
)

violations = register(
    Resource(
        name="violations",
        model=Violation,
        selector=violations_visible_to,
        namespace="training",
        list_columns=["person", "occurred_on", "procedure_reference", "status", "handled_by"],
        detail_fields=[
            "person",
            "occurred_on",
            "description",
            "procedure_reference",
            "status",
            "handling",
            "handled_by",
            "handled_at",
            "reported_by",
        ],
        export_fields=[
            "id",
            "person",
            "occurred_on",
            "description",
            "procedure_reference",
            "status",
            "handling",
            "handled_by",
            "handled_at",
            "reported_by",
        ],
        form_class=ViolationForm,
        filterset_class=ViolationFilter,
        search_fields=["description", "procedure_reference", "person__username"],
        ordering_fields=["occurred_on", "status"],
        default_ordering=["-occurred_on", "-pk"],
        select_related=["person", "handled_by", "reported_by"],
        create=violation_record,
        update=violation_update,
        delete=None,
        organization_scoped=False,
        detail_view=ViolationDetailView,
    )
)


# --- Actions --------------------------------------------------------------------------------


def _page_again(
    request: HttpRequest,
    view_class: type[ResourceDetailView],
    resource: Resource,
    pk: int,
    status: int,
    **state: Any,
) -> HttpResponse:
    view = view_class()
    view.resource = resource
    view.request = request
    view.kwargs = {"pk": pk}
    for name, value in state.items():
        setattr(view, name, value)
    response = view.get(request, pk=pk)
    response.status_code = status
    return response


@login_required
@require_POST
def review_finalise_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("training.view_performancereview"):
        raise Http404
    review = get_object_or_404(reviews_visible_to(request.user), pk=pk)
    try:
        review_finalise(actor=request.user, review=review)
    except DomainError as error:
        return _page_again(
            request,
            ReviewDetailView,
            performance_reviews,
            pk,
            error.status,
            action_error=error.message,
        )
    messages.success(request, gettext("The review is final."))
    return redirect("training:performance-reviews-detail", pk=review.pk)


review_finalise_view.resource = performance_reviews  # type: ignore[attr-defined]


@login_required
@require_POST
def violation_handle_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("training.view_violation"):
        raise Http404
    violation = get_object_or_404(violations_visible_to(request.user), pk=pk)
    form = ViolationHandleForm(request.POST)
    if not form.is_valid():
        return _page_again(
            request, ViolationDetailView, violations, pk, 400, bound_forms={"handle": form}
        )
    try:
        violation_handle(
            actor=request.user, violation=violation, handling=form.cleaned_data["handling"]
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return _page_again(
            request,
            ViolationDetailView,
            violations,
            pk,
            error.status,
            bound_forms={"handle": form},
        )
    messages.success(request, gettext("The violation is handled."))
    return redirect("training:violations-detail", pk=violation.pk)


violation_handle_view.resource = violations  # type: ignore[attr-defined]


urlpatterns = [
    *resource_urlpatterns(performance_reviews),
    *resource_urlpatterns(violations),
    path("performance-reviews/<int:pk>/finalise/", review_finalise_view,
         name="performance-review-finalise"),
    path("violations/<int:pk>/handle/", violation_handle_view, name="violation-handle"),
]  # fmt: skip
