"""The return forms: the request (an agent's, and the customer's in the portal, with the proof
of purchase), one small form per workflow action, and the rule form. Forms check shape only;
the services decide and their refusals come back on the named fields."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from medservice.core.attachments import attachment_check
from medservice.core.errors import DomainError
from medservice.core.forms import ResourceForm
from medservice.core.widgets import AutocompleteSelect
from medservice.customers.forms import organization_autocomplete
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.models import DeliveryLine, Device
from medservice.installed_base.selectors import devices_visible_to
from medservice.returns.choices import (
    Cause,
    FileKind,
    InspectionResult,
    ItemCondition,
    RefundKind,
    RefundMethod,
    Responsibility,
    ReturnChannel,
    ReturnReason,
    WarrantyMode,
)
from medservice.returns.models import ReturnRequest, ReturnRule
from medservice.returns.services import (
    RETURNABLE_DEVICE_STATUSES,
    FileInput,
    LineInput,
    exchange_part_for,
)

LINE_ROWS = 3
# The portal offers the deliveries of the last years; older products go through an agent.
PORTAL_DELIVERY_YEARS = 3


def bootstrap(form: forms.BaseForm) -> forms.BaseForm:
    """Bootstrap classes on every widget (big enough to tap on a phone)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            continue
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")
    return form


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files at once (a scanned invoice, photos); each checked by its content."""

    def __init__(self, *args: Any, accept: str = "image/*,application/pdf", **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": accept}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        uploads = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned = [super(MultipleFileField, self).clean(item, initial) for item in uploads]
        for upload in cleaned:
            try:
                attachment_check(upload, field=self.label or "file")
            except DomainError as error:
                raise forms.ValidationError(error.message) from None
        return cleaned


def delivery_line_label(line: DeliveryLine) -> str:
    identity = line.serial_number or line.batch_number
    return (
        f"{line.delivery.number} · {line.delivery.delivered_on:%Y-%m-%d} · "
        f"{line.device_model.name} {line.device_model.model_spec} {identity} ×{line.quantity}"
    )


def device_label(device: Device) -> str:
    label = f"{device.device_model.name} {device.device_model.model_spec} · "
    label += device.serial_number or device.batch_number
    if device.department_id:
        label += f" · {device.department.name}"
    return label


def delivery_lines_visible_to(user: Any) -> Any:
    from medservice.customers.selectors import organization_ids_visible_to

    lines = DeliveryLine.objects.select_related("delivery", "device_model")
    ids = organization_ids_visible_to(user)
    if ids is not None:
        lines = lines.filter(delivery__organization__in=ids)
    return lines


class RequestForm(forms.Form):
    """What is returned and why: up to three products (a unit, or a delivered product and how
    many), the reason and the fault, the delivery or invoice number and the proof files."""

    reason = forms.ChoiceField(label=gettext_lazy("Why return it?"), choices=ReturnReason.choices)
    fault_description = forms.CharField(
        label=gettext_lazy("What is wrong with it?"), widget=forms.Textarea(attrs={"rows": 4})
    )
    delivery_reference = forms.CharField(
        label=gettext_lazy("Delivery note or invoice number"), required=False, max_length=100
    )
    proof = MultipleFileField(
        label=gettext_lazy("Invoice or receipt (photo or PDF)"), required=False
    )
    photos = MultipleFileField(
        label=gettext_lazy("Photos of the product"), required=False, accept="image/*,video/*"
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        devices = self.device_queryset()
        delivery_lines = self.delivery_line_queryset()
        for row in range(1, LINE_ROWS + 1):
            self.fields[f"line_{row}_device"] = forms.ModelChoiceField(
                label=_("Device %(row)s") % {"row": row}, queryset=devices, required=False,
                widget=self.device_widget(),
            )  # fmt: skip
            self.fields[f"line_{row}_device"].label_from_instance = device_label
            self.fields[f"line_{row}_delivery_line"] = forms.ModelChoiceField(
                label=_("or delivered product %(row)s") % {"row": row},
                queryset=delivery_lines, required=False, widget=self.delivery_line_widget(),
            )  # fmt: skip
            self.fields[f"line_{row}_delivery_line"].label_from_instance = delivery_line_label
            self.fields[f"line_{row}_quantity"] = forms.IntegerField(
                label=_("Quantity %(row)s") % {"row": row}, required=False, min_value=1,
                initial=1,
            )  # fmt: skip
            self.fields[f"line_{row}_condition"] = forms.ChoiceField(
                label=_("Condition %(row)s") % {"row": row},
                choices=[("", "—"), *ItemCondition.choices], required=False,
            )  # fmt: skip
        bootstrap(self)

    def device_queryset(self) -> Any:
        return (
            devices_visible_to(self.user)
            .filter(status__in=RETURNABLE_DEVICE_STATUSES)
            .select_related("device_model", "department")
            .order_by("device_model__name", "serial_number", "pk")
        )

    def delivery_line_queryset(self) -> Any:
        return delivery_lines_visible_to(self.user).order_by("-delivery__delivered_on", "pk")

    def device_widget(self) -> forms.Widget:
        return AutocompleteSelect(reverse_lazy("installed_base:device-options"))

    def delivery_line_widget(self) -> forms.Widget:
        return AutocompleteSelect(
            reverse_lazy("returns:delivery-line-options"), depends_on="organization"
        )

    def line_rows(self) -> list[dict[str, Any]]:
        """The product rows' bound fields, for the template."""
        return [
            {
                "number": row,
                "device": self[f"line_{row}_device"],
                "delivery_line": self[f"line_{row}_delivery_line"],
                "quantity": self[f"line_{row}_quantity"],
                "condition": self[f"line_{row}_condition"],
            }
            for row in range(1, LINE_ROWS + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        named = 0
        for row in range(1, LINE_ROWS + 1):
            device = data.get(f"line_{row}_device")
            delivery_line = data.get(f"line_{row}_delivery_line")
            if device is None and delivery_line is None:
                continue
            named += 1
            if device is not None and delivery_line is not None:
                self.add_error(
                    f"line_{row}_delivery_line",
                    _("Choose the device or the delivered product, not both."),
                )
            if not data.get(f"line_{row}_condition"):
                self.add_error(f"line_{row}_condition", _("Say in what condition it is."))
        if not named:
            self.add_error("line_1_device", _("Name at least one product to return."))
        return data

    def lines(self) -> list[LineInput]:
        data = self.cleaned_data
        items = []
        for row in range(1, LINE_ROWS + 1):
            device = data.get(f"line_{row}_device")
            delivery_line = data.get(f"line_{row}_delivery_line")
            if device is None and delivery_line is None:
                continue
            items.append(
                LineInput(
                    device=device,
                    delivery_line=delivery_line if device is None else None,
                    quantity=data.get(f"line_{row}_quantity") or 1,
                    condition=data.get(f"line_{row}_condition") or "",
                )
            )
        return items

    def file_inputs(self) -> list[FileInput]:
        data = self.cleaned_data
        return [FileInput(FileKind.INVOICE, upload) for upload in data.get("proof") or []] + [
            FileInput(FileKind.PHOTO, upload) for upload in data.get("photos") or []
        ]

    # Service field names → this form's (lines.2.quantity → line_2_quantity).
    def field_for(self, name: str) -> str:
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "lines":
            return f"line_{parts[1]}_{parts[2]}"
        if len(parts) >= 2 and parts[0] == "files":
            return "proof"
        return name


class StaffRequestForm(RequestForm):
    """An agent records a request received by phone, e-mail, letter or at the counter."""

    organization = forms.ModelChoiceField(
        label=gettext_lazy("Organisation"), queryset=None, widget=organization_autocomplete()
    )
    channel = forms.ChoiceField(
        label=pgettext_lazy("channel", "Received by"), choices=ReturnChannel.choices,
        initial=ReturnChannel.PHONE,
    )  # fmt: skip
    requested_on = forms.DateField(
        label=gettext_lazy("Requested on"), initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["organization"].queryset = organizations_visible_to(user)
        self.order_fields(["organization", "channel", "requested_on"])
        bootstrap(self)


class PortalRequestForm(RequestForm):
    """The customer's own request: the choices are the organisation's devices and its recent
    deliveries, as plain lists (few per customer), easy to pick on a phone."""

    def device_widget(self) -> forms.Widget:
        return forms.Select()

    def delivery_line_widget(self) -> forms.Widget:
        return forms.Select()

    def delivery_line_queryset(self) -> Any:
        since = timezone.localdate() - datetime.timedelta(days=365 * PORTAL_DELIVERY_YEARS)
        return super().delivery_line_queryset().filter(delivery__delivered_on__gte=since)


# --- Action forms -------------------------------------------------------------------------------


class ActionForm(forms.Form):
    """The base of every action form: knows its return and its user."""

    def __init__(
        self, data: Any = None, files: Any = None, *, return_request: ReturnRequest, user: Any
    ) -> None:
        super().__init__(data, files)
        self.return_request = return_request
        self.user = user
        bootstrap(self)


class EvaluateForm(ActionForm):
    cause = forms.ChoiceField(label=gettext_lazy("Cause"), choices=Cause.choices)
    responsibility = forms.ChoiceField(
        label=gettext_lazy("Responsibility"),
        choices=[("", gettext_lazy("As the cause implies")), *Responsibility.choices],
        required=False,
    )
    evaluation = forms.CharField(
        label=gettext_lazy("What the evaluation found"), widget=forms.Textarea(attrs={"rows": 3})
    )


class ReasonForm(ActionForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason (the customer is told)"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip


class RejectForm(ActionForm):
    # Not required here: the service refuses an empty reason with its own message.
    reason = forms.CharField(
        label=gettext_lazy("Why the return is rejected (the customer is told)"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip


class ApproveExchangeForm(ReasonForm):
    warranty_mode = forms.ChoiceField(
        label=gettext_lazy("Warranty of the exchange unit"),
        choices=[("", gettext_lazy("As the rules say")), *WarrantyMode.choices], required=False,
    )  # fmt: skip


class ApproveRefundForm(ReasonForm):
    refund_kind = forms.ChoiceField(label=gettext_lazy("Refund"), choices=RefundKind.choices)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount (partial refund)"), required=False, min_value=0,
        max_digits=12, decimal_places=2,
    )  # fmt: skip


class ReceiveForm(ActionForm):
    location = forms.ModelChoiceField(label=gettext_lazy("Quarantine location"), queryset=None)
    inspection_result = forms.ChoiceField(
        label=gettext_lazy("Inspection result"), choices=InspectionResult.choices
    )
    inspection_note = forms.CharField(
        label=gettext_lazy("Inspection note"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from medservice.inventory.choices import LocationKind
        from medservice.inventory.models import StockLocation

        self.fields["location"].queryset = StockLocation.objects.filter(
            kind=LocationKind.QUARANTINE, active=True
        ).order_by("code")


class ShipExchangeForm(ActionForm):
    location = forms.ModelChoiceField(label=gettext_lazy("Issued from"), queryset=None)
    shipment_reference = forms.CharField(
        label=gettext_lazy("Shipment reference (carrier and tracking number)"), required=False,
        max_length=100,
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from medservice.inventory.choices import WAREHOUSE_KINDS, PartTracking
        from medservice.inventory.models import PartLot, StockBalance, StockLocation

        self.fields["location"].queryset = StockLocation.objects.filter(
            kind__in=WAREHOUSE_KINDS, active=True
        ).order_by("code")
        self.unit_lines = []
        for line in self.return_request.lines.select_related("device_model").order_by("pk"):
            if not line.device_id:
                continue
            part = exchange_part_for(line.device_model)
            lots = PartLot.objects.none()
            if part is not None and part.tracking == PartTracking.SERIAL:
                in_stock = StockBalance.objects.filter(
                    part=part, quantity__gt=0, condition="good", location__kind__in=WAREHOUSE_KINDS
                ).values("lot")
                lots = PartLot.objects.filter(pk__in=in_stock, on_hold=False).order_by(
                    "serial_number"
                )
            name = f"lot_{line.pk}"
            self.fields[name] = forms.ModelChoiceField(
                label=_("Exchange unit for %(serial)s") % {"serial": line.serial_number},
                queryset=lots,
            )
            self.fields[name].label_from_instance = lambda lot: lot.serial_number
            self.unit_lines.append(line)
        bootstrap(self)

    def lots(self) -> dict[int, Any]:
        return {line.pk: self.cleaned_data.get(f"lot_{line.pk}") for line in self.unit_lines}

    def field_for(self, name: str) -> str:
        return name.replace("lots.", "lot_") if name.startswith("lots.") else name


class RefundForm(ActionForm):
    line = forms.ModelChoiceField(label=gettext_lazy("Product"), queryset=None, required=False)
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), min_value=0, max_digits=12, decimal_places=2
    )
    method = forms.ChoiceField(label=gettext_lazy("Method"), choices=RefundMethod.choices)
    paid_on = forms.DateField(
        label=gettext_lazy("Paid on"), initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    reference = forms.CharField(label=gettext_lazy("Payment reference"), max_length=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lines = self.return_request.lines.filter(delivery_line__isnull=False).select_related(
            "device_model"
        )
        self.fields["line"].queryset = lines.order_by("pk")


class CloseForm(ActionForm):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=300)


class AttachForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What is it?"), choices=FileKind.choices)
    file = forms.FileField(label=gettext_lazy("File"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)


class ReturnRuleForm(ResourceForm):
    class Meta:
        model = ReturnRule
        fields = [
            "name", "device_model", "product_line", "product_type", "single_use_only",
            "window_days", "window_start", "condition_required", "non_returnable_once_opened",
            "exchange_warranty", "active", "notes",
        ]  # fmt: skip


class ReportForm(forms.Form):
    group = forms.ChoiceField(
        label=gettext_lazy("Count by"),
        choices=[
            ("device_model", gettext_lazy("Device model")),
            ("reason", gettext_lazy("Reason")),
            ("cause", gettext_lazy("Cause")),
            ("responsibility", gettext_lazy("Responsibility")),
            ("decision", gettext_lazy("Decision")),
            ("month", gettext_lazy("Month")),
        ],
        required=False,
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap(self)
