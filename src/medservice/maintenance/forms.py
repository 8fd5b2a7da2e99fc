"""Forms of the maintenance pages: they check shape and offer only what the user may see; the
services decide and name the field at fault."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from medservice.catalog.selectors import device_models_visible_to
from medservice.core.widgets import AutocompleteSelect
from medservice.customers.forms import department_autocomplete, organization_autocomplete
from medservice.customers.selectors import departments_visible_to, organizations_visible_to
from medservice.installed_base.forms import DateInput, SerialNumbersField, ServiceCheckedForm
from medservice.installed_base.selectors import contracts_visible_to, devices_visible_to
from medservice.maintenance.choices import AcceptanceFileKind, TrainingFileKind
from medservice.maintenance.models import AcceptanceRecord, OperatorTraining, PmPlan
from medservice.maintenance.selectors import (
    retraining_suggestions_visible_to,
    trainers_visible_to,
)


def device_autocomplete() -> AutocompleteSelect:
    return AutocompleteSelect(reverse_lazy("installed_base:device-options"))


class PmPlanForm(ServiceCheckedForm):
    class Meta:
        model = PmPlan
        fields = [
            "device", "interval_source", "contract", "interval_days", "next_due_on", "active",
            "notes",
        ]  # fmt: skip
        widgets = {"device": device_autocomplete(), "next_due_on": DateInput()}
        help_texts = {
            "interval_days": gettext_lazy(
                "Needed for a contract's or a hand-set interval; the model's is read from the "
                "catalogue."
            ),
            "next_due_on": gettext_lazy("Leave empty: one interval after the last service."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = devices_visible_to(self.user)
        self.fields["contract"].queryset = contracts_visible_to(self.user).order_by("number")
        self.fields["interval_days"].required = False
        self.fields["next_due_on"].required = False
        if self.instance.pk:
            self.fields["device"].disabled = True


class AcceptanceForm(ServiceCheckedForm):
    class Meta:
        model = AcceptanceRecord
        fields = [
            "device", "accepted_on", "customer_name", "customer_title",
            "conformity_certificate_handed", "registration_certificate_handed",
            "other_documents", "notes",
        ]  # fmt: skip
        widgets = {"device": device_autocomplete(), "accepted_on": DateInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device"].queryset = devices_visible_to(self.user)


class AcceptanceSignForm(forms.Form):
    printed_name = forms.CharField(
        label=gettext_lazy("Customer's printed name"), max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control form-control-lg",
                                      "autocomplete": "off"}),
    )  # fmt: skip
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "The customer confirms the device is installed, commissioned and accepted."
        ),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class FileForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=(),
                             widget=forms.Select(attrs={"class": "form-select"}))  # fmt: skip
    file = forms.FileField(
        label=gettext_lazy("file"),
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": "image/*,application/pdf",
                   "capture": "environment"}
        ),
    )  # fmt: skip

    def __init__(self, *args: Any, choices: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = choices or []


def acceptance_file_form(*args: Any) -> FileForm:
    return FileForm(*args, choices=AcceptanceFileKind.choices)


def training_file_form(*args: Any) -> FileForm:
    return FileForm(*args, choices=TrainingFileKind.choices)


class AttendeesField(forms.CharField):
    """One attendee per line: name, department, position (department and position optional;
    separated by commas)."""

    widget = forms.Textarea(attrs={"rows": 6})

    def to_python(self, value: Any) -> list[dict[str, str]]:
        rows = []
        for line in (value or "").splitlines():
            line = line.replace("，", ",").strip()
            if not line:
                continue
            parts = [part.strip() for part in line.split(",")]
            rows.append(
                {
                    "name": parts[0],
                    "department": parts[1] if len(parts) > 1 else "",
                    "position": ",".join(parts[2:]).strip() if len(parts) > 2 else "",
                }
            )
        return rows

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class OperatorTrainingForm(ServiceCheckedForm):
    devices = SerialNumbersField(
        label=gettext_lazy("devices trained on"), required=False,
        help_text=gettext_lazy("Serial numbers of the customer's units, one per line."),
    )  # fmt: skip
    attendees = AttendeesField(
        label=gettext_lazy("attendees"), required=False,
        help_text=gettext_lazy(
            "One per line: name, department, position. The department must be one of the "
            "customer's."
        ),
    )  # fmt: skip

    class Meta:
        model = OperatorTraining
        fields = [
            "organization", "department", "devices", "device_models", "held_on", "location",
            "content", "trainer", "materials", "suggestion",
        ]  # fmt: skip
        widgets = {
            "organization": organization_autocomplete(),
            "department": department_autocomplete(),
            "held_on": DateInput(),
            "suggestion": forms.HiddenInput(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(self.user)
        self.fields["department"].queryset = departments_visible_to(self.user)
        self.fields["device_models"].queryset = device_models_visible_to(self.user).order_by("name")
        self.fields["device_models"].required = False
        self.fields["trainer"].queryset = trainers_visible_to(self.user).order_by("username")
        self.fields["suggestion"].queryset = retraining_suggestions_visible_to(self.user)
        self.fields["suggestion"].required = False
        if self.instance.pk:
            self.fields["organization"].disabled = True
            self.initial["devices"] = "\n".join(
                device.serial_number for device in self.instance.devices.all()
            )
            self.initial["attendees"] = "\n".join(
                ", ".join(filter(None, [item.name, item.department.name if item.department else "",
                                        item.position]))
                for item in self.instance.attendees.select_related("department")
            )  # fmt: skip
        else:
            self.fields["trainer"].initial = getattr(self.user, "pk", None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        organization = cleaned.get("organization") or (
            self.instance.organization if self.instance.pk else None
        )
        serials = cleaned.get("devices") or []
        if organization is not None and serials:
            found = {
                unit.serial_number: unit
                for unit in devices_visible_to(self.user).filter(
                    organization=organization, serial_number__in=serials
                )
            }
            unknown = [serial for serial in serials if serial not in found]
            if unknown:
                self.add_error(
                    "devices",
                    _("%(organization)s has no unit with the serial number %(serials)s.")
                    % {"organization": organization, "serials": ", ".join(unknown)},
                )
            else:
                cleaned["devices"] = [found[serial] for serial in serials]
        elif not serials:
            cleaned["devices"] = []
        rows = cleaned.get("attendees") or []
        if organization is not None:
            departments = {
                item.name: item for item in departments_visible_to(self.user).filter(
                    organization=organization
                )
            }  # fmt: skip
            unknown = sorted(
                {row["department"] for row in rows if row["department"]} - set(departments)
            )
            if unknown:
                self.add_error(
                    "attendees",
                    _("%(organization)s has no department %(names)s.")
                    % {"organization": organization, "names": ", ".join(unknown)},
                )
            for row in rows:
                row["department"] = departments.get(row["department"])
        return cleaned


class AttendeeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=100,
                           widget=forms.TextInput(attrs={"class": "form-control"}))  # fmt: skip
    department = forms.ModelChoiceField(
        label=gettext_lazy("department"), queryset=None, required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )  # fmt: skip
    position = forms.CharField(label=gettext_lazy("position"), max_length=100, required=False,
                               widget=forms.TextInput(attrs={"class": "form-control"}))  # fmt: skip

    def __init__(self, *args: Any, training: OperatorTraining, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = training.organization.departments.order_by("name")


class SuggestionDismissForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why no re-training is needed"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


class CompletionRateForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("from"), widget=DateInput(attrs={"class": "form-control"})
    )
    end = forms.DateField(
        label=gettext_lazy("to"), widget=DateInput(attrs={"class": "form-control"})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] < cleaned["start"]:
            self.add_error("end", _("The period ends before it starts."))
        return cleaned
