"""Forms of the spot checks: plans and their checklist points (generic pages), drawing a
sample by hand, and the review of one drawn record. Forms check shape; services decide."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from medservice.analytics.choices import SpotCheckAnswer, SpotCheckSeverity
from medservice.analytics.models import SpotCheckChecklistItem, SpotCheckItem, SpotCheckPlan
from medservice.core.forms import ResourceForm


def staff_users() -> Any:
    """The company's own active staff: who may review."""
    from medservice.accounts.models import User

    return User.objects.filter(organization__kind="company", is_active=True)


class SpotCheckPlanForm(ResourceForm):
    class Meta:
        model = SpotCheckPlan
        fields = ["name", "record_kind", "stratum", "size_per_stratum", "active",
                  "default_reviewer"]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_reviewer"].queryset = staff_users()

    def clean_size_per_stratum(self) -> int:
        size = self.cleaned_data["size_per_stratum"]
        if size is not None and size < 1:
            raise forms.ValidationError(_("Draw at least one record per engineer or team."))
        return size


class SpotCheckPlanFilter(django_filters.FilterSet):
    class Meta:
        model = SpotCheckPlan
        fields = ["record_kind", "stratum", "active"]


class SpotCheckChecklistItemForm(ResourceForm):
    class Meta:
        model = SpotCheckChecklistItem
        fields = ["plan", "code", "text_zh", "text_en", "order"]


class SpotCheckChecklistItemFilter(django_filters.FilterSet):
    class Meta:
        model = SpotCheckChecklistItem
        fields = ["plan"]


class SampleDrawForm(forms.Form):
    """Draw a plan's sample for a period by hand (the monthly job draws last month's)."""

    plan = forms.ModelChoiceField(label=_("Spot-check plan"), queryset=SpotCheckPlan.objects.none())
    period_start = forms.DateField(
        label=_("Period starts"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_end = forms.DateField(
        label=_("Period ends"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, plans: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans
        for name, field in self.fields.items():
            css = "form-select" if name == "plan" else "form-control"
            field.widget.attrs.setdefault("class", css)


class SpotCheckReviewForm(forms.Form):
    """One answer per checklist point, the finding and a note."""

    severity = forms.ChoiceField(label=_("Finding"), choices=SpotCheckSeverity.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, item: SpotCheckItem, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = get_language() or ""
        self.codes = []
        for point in item.sample.plan.checklist.all():
            name = f"answer_{point.code}"
            self.codes.append((name, point.code))
            self.fields[name] = forms.ChoiceField(
                label=point.text_in(language), choices=SpotCheckAnswer.choices,
                widget=forms.RadioSelect,
            )  # fmt: skip
        # Checklist first, then the finding, as the reviewer works.
        self.order_fields([name for name, _code in self.codes] + ["severity", "note"])
        self.fields["severity"].widget.attrs["class"] = "form-select"
        self.fields["note"].widget.attrs["class"] = "form-control"

    def answers(self) -> dict[str, str]:
        return {code: self.cleaned_data[name] for name, code in self.codes}

    def field_for(self, code: str) -> str:
        return f"answer_{code}"
