"""Quality-case forms: check shape only; services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from medservice.catalog.selectors import device_models_visible_to
from medservice.core.forms import ResourceForm
from medservice.core.widgets import AutocompleteSelect
from medservice.customers.forms import organization_autocomplete
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.selectors import devices_visible_to
from medservice.quality.models import QualityCase

DATETIME = {"type": "datetime-local"}


class QualityCaseForm(ResourceForm):
    """A case recorded by quality staff (a letter, a regulator's call, a store's complaint)."""

    awareness_at = forms.DateTimeField(
        label=_("Complaint received at"),
        required=False,
        widget=forms.DateTimeInput(attrs=DATETIME),
        help_text=_("Empty: now. The legal clocks count from this time."),
    )

    class Meta:
        model = QualityCase
        fields = [
            "description", "organization", "device", "device_model", "batch_number",
            "serial_number", "product_reported", "manufacturer_reported", "complainant_name",
            "complainant_phone", "complainant_sex", "complainant_age", "complainant_address",
            "complainant_workplace", "device_used", "symptoms", "purchased_from", "purchased_on",
            "stop_use_advised", "stop_use_advised_at", "patient_involved", "injury",
        ]  # fmt: skip
        widgets = {
            "purchased_on": forms.DateInput(attrs={"type": "date"}),
            "stop_use_advised_at": forms.DateTimeInput(attrs=DATETIME),
            "description": forms.Textarea(attrs={"rows": 3}),
            "symptoms": forms.Textarea(attrs={"rows": 2}),
            "device_used": forms.NullBooleanSelect,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["organization"].widget = organization_autocomplete()
        self.fields["device"].queryset = devices_visible_to(self.user)
        self.fields["device"].widget = AutocompleteSelect(
            reverse_lazy("installed_base:device-options")
        )
        self.fields["device_model"].queryset = device_models_visible_to(self.user)
        self.order_fields(["awareness_at", *self.Meta.fields])
        for field in self.fields.values():
            if not isinstance(field.widget, forms.CheckboxInput | forms.Select):
                field.widget.attrs.setdefault("class", "form-control")


class ContactForm(forms.Form):
    note = forms.CharField(label=_("What was said"), widget=forms.Textarea(attrs={"rows": 2}))
    at = forms.DateTimeField(
        label=_("When"), required=False, widget=forms.DateTimeInput(attrs=DATETIME),
        help_text=_("Empty: now."),
    )  # fmt: skip


class AwarenessForm(forms.Form):
    awareness_at = forms.DateTimeField(
        label=_("Aware since"), widget=forms.DateTimeInput(attrs=DATETIME)
    )
    reason = forms.CharField(label=_("Why earlier"), max_length=300)
