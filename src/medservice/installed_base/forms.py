"""Forms of the installed base: they check shape and offer only what the user may see; the
services decide."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.core.forms import ResourceForm
from medservice.customers.forms import department_autocomplete, organization_autocomplete
from medservice.customers.selectors import departments_visible_to, organizations_visible_to
from medservice.installed_base.models import Delivery, Device, Hold, ServiceContract
from medservice.installed_base.selectors import devices_visible_to


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _internal_users() -> Any:
    from medservice.accounts.models import User

    return User.objects.filter(is_active=True, organization__kind="company").order_by("username")


class ServiceCheckedForm(ResourceForm):
    """A form whose record rules (dates in order, unique serials, what a hold names) are
    checked by the service, which names the field; the database constraints behind them only
    have generic messages, so the form does not check them first."""

    def _post_clean(self) -> None:
        self.instance.validate_constraints = lambda *args, **kwargs: None
        try:
            super()._post_clean()
        finally:
            del self.instance.validate_constraints

    def validate_unique(self) -> None:
        return None


class DeviceForm(ServiceCheckedForm):
    class Meta:
        model = Device
        fields = [
            "device_model",
            "serial_number",
            "batch_number",
            "udi_pi",
            "production_date",
            "expiry_date",
            "organization",
            "department",
            "asset_number",
            "supplier",
            "installed_on",
            "accepted_on",
            "status",
            "location",
        ]
        widgets = {
            **{
                name: DateInput()
                for name in ("production_date", "expiry_date", "installed_on", "accepted_on")
            },
            "organization": organization_autocomplete(),
            "department": department_autocomplete(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["department"].queryset = departments_visible_to(self.user)
        self.fields["device_model"].queryset = self.fields["device_model"].queryset.select_related(
            "manufacturer"
        )


# One line of pasted text per delivery line: model, batch, serial, quantity, unit price,
# production date, expiry date (cells separated by tabs, as pasted from a spreadsheet, or commas).
LINE_COLUMNS = (
    "device_model",
    "batch_number",
    "serial_number",
    "quantity",
    "unit_price",
    "production_date",
    "expiry_date",
)


def parse_delivery_lines(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Turn pasted rows into line dicts for `delivery_create`; returns (lines, problems)."""
    from medservice.catalog.models import DeviceModel

    rows = [row for row in (text or "").splitlines() if row.strip()]
    cells = [[cell.strip() for cell in re.split(r"\t|,|，", row)] for row in rows]
    references = {row[0] for row in cells if row and row[0]}
    models: dict[str, list[Any]] = {}
    for model in DeviceModel.objects.filter(model_spec__in=references) | DeviceModel.objects.filter(
        udi_di__in=references
    ):
        for key in {model.model_spec, model.udi_di} & references:
            models.setdefault(key, []).append(model)
    lines: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, row in enumerate(cells, start=1):
        values = dict(zip(LINE_COLUMNS, row + [""] * (len(LINE_COLUMNS) - len(row)), strict=False))
        if len(row) > len(LINE_COLUMNS):
            problems.append(
                _("Line %(line)s: more than %(count)s columns.")
                % {"line": number, "count": len(LINE_COLUMNS)}
            )
            continue
        found = models.get(values["device_model"], [])
        if len(found) != 1:
            problems.append(
                _("Line %(line)s: no single device model has the model/spec or UDI-DI “%(ref)s”.")
                % {"line": number, "ref": values["device_model"]}
            )
            continue
        line: dict[str, Any] = {
            "device_model": found[0],
            "batch_number": values["batch_number"],
            "serial_number": values["serial_number"],
            "quantity": values["quantity"] or 1,
            "unit_price": values["unit_price"] or 0,
        }
        try:
            line["unit_price"] = Decimal(str(line["unit_price"]))
            line["quantity"] = int(line["quantity"])
        except (InvalidOperation, ValueError):
            problems.append(
                _("Line %(line)s: the quantity and the unit price must be numbers.")
                % {"line": number}
            )
            continue
        for name in ("production_date", "expiry_date"):
            if not values[name]:
                line[name] = None
                continue
            try:
                line[name] = datetime.date.fromisoformat(values[name])
            except ValueError:
                problems.append(
                    _("Line %(line)s: “%(value)s” is not a date (YYYY-MM-DD).")
                    % {"line": number, "value": values[name]}
                )
        lines.append(line)
    return lines, problems


class DeliveryForm(ServiceCheckedForm):
    """A new delivery with its lines pasted as rows; an existing one edits its paperwork only."""

    number = forms.CharField(
        label=gettext_lazy("delivery number"),
        required=False,
        max_length=50,
        help_text=gettext_lazy("Leave empty to number the delivery automatically."),
    )
    lines = forms.CharField(
        label=gettext_lazy("lines"),
        widget=forms.Textarea(attrs={"rows": 8, "class": "form-control font-monospace"}),
        help_text=gettext_lazy(
            "One line per row: model/spec or UDI-DI, batch, serial, quantity, unit price, "
            "production date, expiry date (YYYY-MM-DD), separated by tabs or commas."
        ),
    )

    class Meta:
        model = Delivery
        fields = [
            "number",
            "organization",
            "delivered_on",
            "invoice_number",
            "salesperson",
            "notes",
        ]
        widgets = {"delivered_on": DateInput(), "organization": organization_autocomplete()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("number", "organization", "delivered_on", "lines"):
                self.fields.pop(name)
        else:
            self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["salesperson"].queryset = _internal_users()

    def clean_lines(self) -> list[dict[str, Any]]:
        lines, problems = parse_delivery_lines(self.cleaned_data.get("lines", ""))
        if problems:
            raise forms.ValidationError(problems)
        return lines


class SerialNumbersField(forms.Field):
    """Units named by their serial numbers, one per line (or separated by commas or spaces):
    a customer may have thousands of units, so the form never lists them all."""

    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple) or hasattr(value, "all"):
            units = value.all() if hasattr(value, "all") else value
            return "\n".join(
                unit.serial_number if hasattr(unit, "serial_number") else str(unit)
                for unit in units
            )
        return value

    def to_python(self, value: Any) -> list[str]:
        text = " ".join(value) if isinstance(value, list | tuple) else (value or "")
        serials: list[str] = []
        for serial in re.split(r"[\s,，;；]+", str(text)):
            if serial and serial not in serials:
                serials.append(serial)
        return serials

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class ContractForm(ServiceCheckedForm):
    devices = SerialNumbersField(
        label=gettext_lazy("covered units"),
        help_text=gettext_lazy("Serial numbers of the customer's units, one per line."),
    )

    class Meta:
        model = ServiceContract
        fields = [
            "number",
            "kind",
            "organization",
            "devices",
            "starts_on",
            "ends_on",
            "sla_tier",
            "price",
            "renewal_reminder_days",
            "notes",
        ]
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
            "organization": organization_autocomplete(),
        }
        help_texts = {"number": gettext_lazy("Leave empty to number the contract automatically.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["number"].required = False
        self.fields["organization"].queryset = organizations_visible_to(self.user)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        serials = cleaned.get("devices")
        organization = cleaned.get("organization")
        if not serials or organization is None:
            return cleaned
        found: dict[str, list[Device]] = {}
        for unit in (
            devices_visible_to(self.user)
            .filter(organization=organization, serial_number__in=serials)
            .select_related("device_model")
        ):
            found.setdefault(unit.serial_number, []).append(unit)
        unknown = [serial for serial in serials if serial not in found]
        twice = [serial for serial in serials if len(found.get(serial, [])) > 1]
        if unknown:
            self.add_error(
                "devices",
                _("%(organization)s has no unit with the serial number %(serials)s.")
                % {"organization": organization, "serials": ", ".join(unknown)},
            )
        if twice:
            self.add_error(
                "devices",
                _(
                    "%(serials)s: more than one of %(organization)s's units has this serial "
                    "number (different models); record this contract through the API by unit."
                )
                % {"organization": organization, "serials": ", ".join(twice)},
            )
        if not unknown and not twice:
            cleaned["devices"] = [found[serial][0] for serial in serials]
        return cleaned


class HoldForm(ServiceCheckedForm):
    class Meta:
        model = Hold
        fields = [
            "scope",
            "kind",
            "device_model",
            "batch_number",
            "serial_number",
            "reason",
            "source",
        ]
        help_texts = {
            "serial_number": gettext_lazy(
                "For a serial-number or device hold: the unit's serial number."
            )
        }


class HoldReleaseForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("reason"),
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
