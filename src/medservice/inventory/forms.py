"""Forms of the parts catalogue, locations and lots: shape only. The services decide (tracking
rules, holds) and their refusals come back on the named fields.

The forms of purchasing, requisitions, counts and instruments live beside their views
(views_<area>.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from medservice.catalog.selectors import device_models_visible_to, suppliers_visible_to
from medservice.core.forms import ResourceForm
from medservice.core.widgets import AutocompleteSelect
from medservice.inventory.models import Part, PartLot, StockLocation


def part_autocomplete() -> AutocompleteSelect:
    """A part is picked by typing its number or name: the catalogue may hold thousands."""
    return AutocompleteSelect(reverse_lazy("inventory:part-options"))


def lot_autocomplete(*, depends_on: str = "part") -> AutocompleteSelect:
    """A lot or serial unit, of the part chosen in the `depends_on` field when there is one."""
    return AutocompleteSelect(reverse_lazy("inventory:lot-options"), depends_on=depends_on)


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


class _Bootstrap:
    """Bootstrap classes on every widget."""

    def style(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


def _part_by_number(value: str, user: Any) -> Part:
    from medservice.inventory.selectors import parts_visible_to

    part = parts_visible_to(user).filter(number__iexact=(value or "").strip()).first()
    if part is None:
        raise forms.ValidationError(
            _("No spare part has the number %(number)s.") % {"number": value}
        )
    return part


MOVE_KINDS = [
    ("transfer", _("Transfer good stock")),
    ("return_defective", _("Hand defective parts to quarantine")),
    ("to_analysis", _("Send to failure analysis")),
    ("supplier_return", _("Return to the supplier")),
    ("scrap", _("Scrap")),
    ("restock", _("Found good: back into a warehouse")),
]


class StockMoveForm(_Bootstrap, forms.Form):
    """A movement posted by hand; the service decides what is allowed."""

    kind = forms.ChoiceField(label=_("What"), choices=MOVE_KINDS)
    source = forms.ModelChoiceField(label=_("From"), queryset=StockLocation.objects.none())
    destination = forms.ModelChoiceField(
        label=_("To"), queryset=StockLocation.objects.none(), required=False
    )
    part = forms.CharField(label=_("Part number"), max_length=50)
    lot = forms.CharField(label=_("Lot or serial number"), max_length=50, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), min_value=0, max_digits=12, decimal_places=3)
    source_condition = forms.ChoiceField(
        label=_("Condition of the parts taken"),
        choices=[("defective", _("Defective or removed")), ("good", _("Good"))],
        required=False,
        help_text=_("Only for parts handed to quarantine."),
    )
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from medservice.inventory.selectors import locations_visible_to

        self.user = user
        locations = locations_visible_to(user).filter(active=True).order_by("code")
        self.fields["source"].queryset = locations
        self.fields["destination"].queryset = locations
        self.style()

    def clean_part(self) -> Part:
        return _part_by_number(self.cleaned_data["part"], self.user)

    def clean_quantity(self) -> Any:
        quantity = self.cleaned_data["quantity"]
        if quantity is not None and quantity <= 0:
            raise forms.ValidationError(_("The quantity must be more than zero."))
        return quantity


class ConsumeForm(_Bootstrap, forms.Form):
    """Parts fitted into and removed from one device (until work orders record them)."""

    ROWS = 3

    device_serial = forms.CharField(label=_("Device serial number"), max_length=50)
    location = forms.ModelChoiceField(
        label=_("Parts taken from"), queryset=StockLocation.objects.none()
    )
    reference = forms.CharField(label=_("Reference (request or work order)"), max_length=100)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from medservice.inventory.selectors import locations_visible_to

        self.user = user
        self.fields["location"].queryset = (
            locations_visible_to(user)
            .filter(active=True, kind__in=["central", "regional", "engineer"])
            .order_by("code")
        )
        own = locations_visible_to(user).filter(engineer=user).first()
        if own is not None:
            self.fields["location"].initial = own.pk
        for index in range(1, self.ROWS + 1):
            for prefix, label in (("fitted", _("Fitted")), ("removed", _("Removed"))):
                self.fields[f"{prefix}_{index}_part"] = forms.CharField(
                    label=_("%(what)s %(row)s: part number") % {"what": label, "row": index},
                    max_length=50,
                    required=False,
                )
                self.fields[f"{prefix}_{index}_lot"] = forms.CharField(
                    label=_("lot or serial number"), max_length=50, required=False
                )
                self.fields[f"{prefix}_{index}_quantity"] = forms.DecimalField(
                    label=_("quantity"),
                    min_value=0,
                    max_digits=12,
                    decimal_places=3,
                    required=False,
                    initial=1,
                )
        self.style()

    def clean_device_serial(self) -> Any:
        from medservice.installed_base.selectors import devices_visible_to

        serial = self.cleaned_data["device_serial"].strip()
        devices = list(devices_visible_to(self.user).filter(serial_number__iexact=serial)[:2])
        if not devices:
            raise forms.ValidationError(
                _("No device has the serial number %(serial)s.") % {"serial": serial}
            )
        if len(devices) > 1:
            raise forms.ValidationError(
                _(
                    "Several device models have the serial number %(serial)s: use the API with "
                    "the device id."
                )
                % {"serial": serial}
            )
        return devices[0]

    def rows(self, prefix: str) -> list[tuple[int, Part, str, Any]]:
        """The filled rows of one kind: (row, part, lot text, quantity)."""
        chosen = []
        for index in range(1, self.ROWS + 1):
            number = (self.cleaned_data.get(f"{prefix}_{index}_part") or "").strip()
            if not number:
                continue
            try:
                part = _part_by_number(number, self.user)
            except forms.ValidationError as error:
                self.add_error(f"{prefix}_{index}_part", error)
                continue
            quantity = self.cleaned_data.get(f"{prefix}_{index}_quantity") or 1
            chosen.append(
                (index, part, self.cleaned_data.get(f"{prefix}_{index}_lot") or "", quantity)
            )
        return chosen
