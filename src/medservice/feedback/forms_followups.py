"""Forms of follow-ups, visits and surveys. They check shape; the services decide, and their
refusals come back on the named fields. Choices of organisations and departments are scoped to
the signed-in user; people who answer are the company's staff."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.utils.translation import gettext_lazy

from medservice.core.forms import ResourceForm
from medservice.customers.selectors import departments_visible_to, organizations_visible_to
from medservice.feedback.choices import (
    ConcernedDepartment,
    FollowUpOutcome,
    SurveyChannel,
)
from medservice.feedback.models import (
    CustomerVisit,
    FollowUp,
    Survey,
    SurveyEscalation,
    SurveyQuestion,
    VisitOpinion,
)
from medservice.installed_base.filtersets import ScopedFilterSet


def staff_choices() -> Any:
    from medservice.accounts.models import User

    return User.objects.filter(organization__kind="company", is_active=True).order_by("username")


def _bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select | forms.RadioSelect):
            if not isinstance(widget, forms.RadioSelect):
                widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")
    return form


class FollowUpForm(ResourceForm):
    """Give a follow-up to someone and move its due date."""

    class Meta:
        model = FollowUp
        fields = ["assignee", "due_on"]
        widgets = {"due_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_choices()


class FollowUpOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"), choices=FollowUpOutcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=gettext_lazy("What the customer said"), required=False, max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class CustomerVisitForm(ResourceForm):
    class Meta:
        model = CustomerVisit
        fields = [
            "kind", "organization", "department", "visitor", "planned_on", "visited_on",
            "purpose", "people_met", "summary",
        ]  # fmt: skip
        widgets = {
            "planned_on": forms.DateInput(attrs={"type": "date"}),
            "visited_on": forms.DateInput(attrs={"type": "date"}),
            "summary": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["department"].queryset = departments_visible_to(self.user)
        self.fields["visitor"].queryset = staff_choices()


class OpinionForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Opinion"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    given_by = forms.CharField(label=gettext_lazy("Given by"), max_length=100, required=False)
    concerned = forms.ChoiceField(
        label=gettext_lazy("Department concerned"), choices=ConcernedDepartment.choices
    )
    routed_to = forms.ModelChoiceField(
        label=gettext_lazy("Who answers"), queryset=staff_choices().none()
    )
    due_on = forms.DateField(
        label=gettext_lazy("Answer due on"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["routed_to"].queryset = staff_choices()
        _bootstrap(self)


class AnswerForm(forms.Form):
    answer = forms.CharField(
        label=gettext_lazy("Answer"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class EscalationAnswerForm(forms.Form):
    action_taken = forms.CharField(
        label=gettext_lazy("What was done"), max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("The customer receives this text."),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class SurveySendForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Send by"), choices=SurveyChannel.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class SurveyQuestionForm(ResourceForm):
    class Meta:
        model = SurveyQuestion
        fields = ["code", "kind", "text_zh", "text_en", "active", "order", "required"]


class ResultsForm(forms.Form):
    by = forms.ChoiceField(
        label=gettext_lazy("Group by"),
        choices=[
            ("engineer", gettext_lazy("Engineer")), ("team", gettext_lazy("Team")),
            ("region", gettext_lazy("Region")), ("device_model", gettext_lazy("Device model")),
        ],
        required=False,
    )  # fmt: skip
    date_from = forms.DateField(
        label=gettext_lazy("Answered from"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    date_to = forms.DateField(
        label=gettext_lazy("Answered until"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


# --- list filters ---------------------------------------------------------------------------


class FollowUpFilter(ScopedFilterSet):
    due_on = django_filters.DateFromToRangeFilter(label=gettext_lazy("due between"))
    overdue = django_filters.BooleanFilter(method="filter_overdue", label=gettext_lazy("overdue"))

    class Meta:
        model = FollowUp
        fields = ["status", "kind", "outcome", "assignee", "organization"]

    def filter_overdue(self, queryset: Any, name: str, value: Any) -> Any:
        from django.utils import timezone

        if value is None:
            return queryset
        today = timezone.localdate()
        overdue = queryset.filter(status="open", due_on__lt=today)
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))


class CustomerVisitFilter(ScopedFilterSet):
    planned_on = django_filters.DateFromToRangeFilter(label=gettext_lazy("planned between"))

    class Meta:
        model = CustomerVisit
        fields = ["kind", "status", "organization", "visitor"]


class VisitOpinionFilter(ScopedFilterSet):
    class Meta:
        model = VisitOpinion
        fields = ["status", "concerned", "routed_to", "organization"]


class SurveyFilter(ScopedFilterSet):
    class Meta:
        model = Survey
        fields = ["status", "subject", "channel", "low_score", "organization"]


class SurveyEscalationFilter(ScopedFilterSet):
    class Meta:
        model = SurveyEscalation
        fields = ["status", "assignee"]


class SurveyQuestionFilter(django_filters.FilterSet):
    class Meta:
        model = SurveyQuestion
        fields = ["kind", "active"]
