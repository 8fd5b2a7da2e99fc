"""Forms of the parts catalogue, locations and lots: shape only. The services decide (tracking
rules, holds) and their refusals come back on the named fields.

The forms of purchasing, requisitions, counts and instruments live beside their views
(views_<area>.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from medservice.catalog.selectors import device_models_visible_to, suppliers_visible_to
from medservice.core.forms import ResourceForm
from medservice.inventory.models import Part, PartLot, StockLocation


class PartForm(ResourceForm):
    class Meta:
        model = Part
        fields = [
            "number",
            "name_zh",
            "name_en",
            "unit",
            "tracking",
            "shelf_life_days",
            "standard_cost",
            "price",
            "reorder_point",
            "reorder_quantity",
            "preferred_supplier",
            "compatible_models",
            "device_model",
            "active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["preferred_supplier"].queryset = suppliers_visible_to(self.user)
        self.fields["compatible_models"].queryset = device_models_visible_to(self.user)
        self.fields["device_model"].queryset = device_models_visible_to(self.user)


class LocationForm(ResourceForm):
    class Meta:
        model = StockLocation
        fields = ["code", "name", "kind", "engineer", "region", "address", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from medservice.accounts.models import User

        self.fields["engineer"].queryset = User.objects.filter(
            is_active=True, groups__name__in=["field_engineer", "distributor_engineer"]
        ).distinct()


class LotForm(ResourceForm):
    """Only a lot's dates change by hand; lots are made by receipts."""

    class Meta:
        model = PartLot
        fields = ["production_date", "expiry_date"]
        widgets = {
            "production_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "expiry_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


class LotHoldForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )
    source = forms.CharField(
        label=_("Source (e.g. the quality case number)"),
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
