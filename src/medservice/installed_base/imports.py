"""Import specs for devices and deliveries (see core.imports).

Devices are matched on (model, serial), or (model, batch, organisation) for units without a
serial, and applied through `device_create` / `device_update`, so the warranty is computed and
an evidence hold refuses a change. A serial already registered to another organisation is a
duplicate, not a transfer: a unit changes hands on its own page.

Deliveries come one row per line; the rows with the same delivery number are one delivery,
created by `delivery_create` with all its lines (every delivery rule: holds, licences, expiry,
serials). While the file is checked, each line goes through the same line checks
(`_lines_checked`), so the dry run names the row and column of each refusal. A delivery
number already imported is not edited: rows identical to its lines are unchanged, any other
row is an error.

A row is the record: an empty cell empties the field, except the device status, which an
empty cell leaves at the default for a new unit and unchanged for an existing one.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from medservice.catalog.imports import AliasChoiceField, ImportDateField, add_problems, changed
from medservice.catalog.models import DeviceModel, Supplier
from medservice.catalog.selectors import device_models_visible_to, suppliers_visible_to
from medservice.core.imports import ImportColumn, ImportSpec, import_spec_register
from medservice.customers.models import Department, Organization
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.choices import DeviceStatus
from medservice.installed_base.models import Delivery, DeliveryLine, Device
from medservice.installed_base.services import (
    HeldError,
    _device_problems,
    _duplicate_serial_message,
    _lines_checked,
    _Problems,
    _refuse_under_evidence_hold,
    delivery_create,
    device_create,
    device_update,
)

STATUS_ALIASES = {"在用": DeviceStatus.IN_SERVICE, "装机": DeviceStatus.INSTALLED}


def organization_in_scope(user: Any, text: str) -> Organization:
    """The organisation named by its name or credit code, among those the user may see."""
    text = (text or "").strip()
    found = list(
        organizations_visible_to(user).filter(Q(name=text) | Q(credit_code=text.upper()))[:2]
    )
    if len(found) == 1:
        return found[0]
    raise forms.ValidationError(
        _("No organisation named %(name)s (or with that credit code) that you may see.")
        % {"name": text}
        if not found
        else _("Several organisations are named %(name)s; use the credit code.") % {"name": text}
    )


class ModelReferenceMixin:
    """The device model named by its model/spec or UDI-DI (the 型号规格 column may hold
    either), narrowed by the manufacturer when one is given."""

    # Provided by forms.Form (and the form's __init__: the uploader).
    user: Any
    data: Any
    cleaned_data: dict[str, Any]
    add_error: Any

    def model_column(self) -> str:
        if str(self.data.get("device_model") or "").strip() or "udi_di" not in self.data:
            return "device_model"
        return "udi_di"

    def resolve_model(self) -> DeviceModel | None:
        cleaned = self.cleaned_data
        spec, udi_di = cleaned.get("device_model", ""), cleaned.get("udi_di", "")
        maker = cleaned.get("manufacturer", "")
        if not spec and not udi_di:
            self.add_error(
                self.model_column(), _("Give the model/spec or the UDI-DI of the device model.")
            )
            return None
        models = device_models_visible_to(self.user).select_related("manufacturer")
        if udi_di:
            models = models.filter(udi_di=udi_di)
            if spec:
                models = models.filter(Q(model_spec=spec) | Q(udi_di=spec))
        else:
            models = models.filter(Q(model_spec=spec) | Q(udi_di=spec))
        if maker:
            models = models.filter(manufacturer__name=maker)
        found = list(models.order_by("pk")[:2])
        if len(found) == 1:
            return found[0]
        reference = " / ".join(value for value in (spec, udi_di) if value)
        if not found:
            self.add_error(
                self.model_column(),
                _("No device model with the model/spec or UDI-DI %(model)s in the catalogue.")
                % {"model": reference},
            )
        else:
            self.add_error(
                self.model_column(),
                _(
                    "Several manufacturers make a model %(model)s; give its UDI-DI or the "
                    "manufacturer."
                )
                % {"model": reference},
            )
        return None


# --- Devices ------------------------------------------------------------------------------


DEVICE_FIELDS = (
    "device_model",
    "serial_number",
    "batch_number",
    "production_date",
    "expiry_date",
    "organization",
    "department",
    "asset_number",
    "installed_on",
    "accepted_on",
    "status",
    "location",
)


class DeviceRowForm(ModelReferenceMixin, forms.Form):
    organization = forms.CharField(max_length=200)
    department = forms.CharField(max_length=100, required=False)
    device_model = forms.CharField(max_length=200, required=False)
    udi_di = forms.CharField(max_length=50, required=False)
    manufacturer = forms.CharField(max_length=200, required=False)
    serial_number = forms.CharField(max_length=50, required=False)
    batch_number = forms.CharField(max_length=50, required=False)
    production_date = ImportDateField(required=False)
    expiry_date = ImportDateField(required=False)
    asset_number = forms.CharField(max_length=50, required=False)
    installed_on = ImportDateField(required=False)
    accepted_on = ImportDateField(required=False)
    status = AliasChoiceField(
        choices=[("", "—"), *DeviceStatus.choices], aliases=STATUS_ALIASES, required=False
    )
    location = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_organization(self) -> Organization:
        return organization_in_scope(self.user, self.cleaned_data["organization"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        model = self.resolve_model()
        organization = cleaned.get("organization")
        if model is None or organization is None:
            return cleaned
        cleaned["device_model"] = model
        if "serial_number" not in cleaned or "batch_number" not in cleaned:
            return cleaned  # which unit the row is stays unknown; the cell's error says why
        serial, batch = cleaned["serial_number"], cleaned["batch_number"]
        try:
            existing = device_existing(model, organization, serial, batch)
        except forms.ValidationError as error:
            self.add_error("serial_number" if serial else "batch_number", error)
            return cleaned
        department_name = cleaned.get("department", "")
        department = (
            Department.objects.filter(organization=organization, name=department_name).first()
            if department_name
            else None
        )
        # The unit as the row would leave it, judged by the service's own rules (a cell that
        # failed its own check keeps the stored value here: its error is already reported).
        values = device_values(cleaned, department)
        candidate = copy.copy(existing) if existing is not None else Device()
        for name, value in values.items():
            setattr(candidate, name, value)
        add_problems(self, _device_problems(candidate).fields)
        if self.errors:
            return cleaned
        if existing is not None and (
            changed(existing, values) or (department_name and department is None)
        ):
            try:
                _refuse_under_evidence_hold(existing)
            except HeldError as error:
                self.add_error(None, error.message)
        return cleaned


def device_existing(
    model: DeviceModel, organization: Organization, serial: str, batch: str
) -> Device | None:
    """The stored unit a row describes, if any; a serial registered to another organisation
    (whether the uploader may see it or not) is a duplicate."""
    if serial:
        existing = (
            Device.objects.filter(device_model=model, serial_number=serial)
            .select_related("device_model")
            .first()
        )
        if existing is not None and existing.organization_id != organization.pk:
            raise forms.ValidationError(_duplicate_serial_message(existing))
        return existing
    if not batch:
        return None
    found = list(
        Device.objects.filter(
            device_model=model, batch_number=batch, serial_number="", organization=organization
        ).order_by("pk")[:2]
    )
    if len(found) > 1:
        raise forms.ValidationError(
            _(
                "Several units of %(model)s batch %(batch)s without a serial number are "
                "registered for %(organization)s; this row cannot tell which one it is."
            )
            % {"model": model, "batch": batch, "organization": organization}
        )
    return found[0] if found else None


def device_values(row: dict[str, Any], department: Department | None) -> dict[str, Any]:
    """The unit's fields from a row (an empty status is left out: default or unchanged)."""
    values = {name: row[name] for name in DEVICE_FIELDS if name != "department" and name in row}
    values["department"] = department
    if not values.get("status"):
        values.pop("status", None)
    return values


def _apply_device(row: dict[str, Any], actor: Any) -> str:
    organization = row["organization"]
    department = None
    if row["department"]:
        department, _created = Department.objects.get_or_create(
            organization=organization, name=row["department"]
        )
    data = device_values(row, department)
    existing = device_existing(
        row["device_model"], organization, row["serial_number"], row["batch_number"]
    )
    if existing is None:
        device_create(actor=actor, data=data)
        return "created"
    changes = changed(existing, data)
    if not changes:
        return "unchanged"
    device_update(actor=actor, instance=existing, data=changes)
    return "updated"


import_spec_register(
    ImportSpec(
        kind="devices",
        label=_l("devices"),
        permission="installed_base.add_device",
        columns=[
            ImportColumn(
                "organization", ("客户单位", "organisation", "organization"), required=True
            ),
            ImportColumn("department", ("科室", "department")),
            ImportColumn("device_model", ("型号规格", "model spec", "model/spec")),
            ImportColumn("udi_di", ("UDI-DI", "UDI DI")),
            ImportColumn("manufacturer", ("生产企业", "manufacturer")),
            ImportColumn("serial_number", ("序列号", "serial", "serial number")),
            ImportColumn("batch_number", ("批号", "batch", "batch number")),
            ImportColumn("production_date", ("生产日期", "production date")),
            ImportColumn("expiry_date", ("失效日期", "expiry date")),
            ImportColumn("asset_number", ("资产编号", "asset number")),
            ImportColumn("installed_on", ("安装日期", "installed on")),
            ImportColumn("accepted_on", ("验收日期", "accepted on")),
            ImportColumn("status", ("状态", "status")),
            ImportColumn("location", ("位置", "location")),
        ],
        form_class=DeviceRowForm,
        natural_key=lambda row: (
            ("serial", row["device_model"].pk, row["serial_number"])
            if row["serial_number"]
            else ("batch", row["device_model"].pk, row["batch_number"], row["organization"].pk)
        ),
        apply_row=_apply_device,
        form_kwargs=lambda actor: {"user": actor},
    )
)


# --- Deliveries -------------------------------------------------------------------------------

# The line fields of a row, as `delivery_create` takes them.
LINE_FIELDS = (
    "device_model",
    "supplier",
    "batch_number",
    "serial_number",
    "quantity",
    "unit_price",
    "production_date",
    "expiry_date",
)
LINE_DEFAULTS = {"batch_number": "", "serial_number": "", "quantity": 1, "unit_price": Decimal(0)}
# Compared with the stored line of an imported delivery (the identity fields aside).
LINE_VALUES = ("quantity", "unit_price", "production_date", "expiry_date", "supplier")


@dataclass
class DeliveryGroup:
    """The rows of one delivery number in the file (the first row's header decides)."""

    number: str
    organization: Organization
    delivered_on: datetime.date
    invoice_number: str
    stored: Delivery | None
    lines: list[dict[str, Any]] = field(default_factory=list)
    created: Delivery | None = None
    _stored_lines: list[DeliveryLine] | None = None

    def stored_lines(self) -> list[DeliveryLine]:
        if self._stored_lines is None:
            self._stored_lines = list(self.stored.lines.select_related("supplier"))
        return self._stored_lines


@dataclass
class DeliveryFile:
    """What the rows of one file share while it is checked."""

    groups: dict[str, DeliveryGroup] = field(default_factory=dict)
    serials: dict[tuple[int, str], str] = field(default_factory=dict)


class _LineProblems(_Problems):
    """The delivery service's line problems, as (field, message) of the one line checked."""

    def add(self, key: str, message: str) -> None:
        prefix = _("Line %(line)s: %(problem)s") % {"line": 1, "problem": ""}
        text = str(message)
        if text.startswith(prefix):
            text = text[len(prefix) :]
            text = text[:1].upper() + text[1:]
        super().add(key.rsplit(".", 1)[-1], text)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime.date):
        return date_format(value, "Y-m-d")
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


class DeliveryRowForm(ModelReferenceMixin, forms.Form):
    number = forms.CharField(max_length=50)
    organization = forms.CharField(max_length=200)
    delivered_on = ImportDateField()
    invoice_number = forms.CharField(max_length=50, required=False)
    device_model = forms.CharField(max_length=200, required=False)
    udi_di = forms.CharField(max_length=50, required=False)
    manufacturer = forms.CharField(max_length=200, required=False)
    batch_number = forms.CharField(max_length=50, required=False)
    serial_number = forms.CharField(max_length=50, required=False)
    quantity = forms.IntegerField(min_value=1, max_value=2147483647, required=False)
    unit_price = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, required=False)
    production_date = ImportDateField(required=False)
    expiry_date = ImportDateField(required=False)
    supplier = forms.CharField(max_length=200, required=False)

    def __init__(
        self, *args: Any, user: Any = None, file: DeliveryFile | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # Shared by the rows of one file (core.imports builds the form kwargs once per check).
        self.file = file if file is not None else DeliveryFile()

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip()

    def clean_organization(self) -> Organization:
        return organization_in_scope(self.user, self.cleaned_data["organization"])

    def clean_quantity(self) -> int:
        return self.cleaned_data["quantity"] or 1

    def clean_unit_price(self) -> Decimal:
        value = self.cleaned_data["unit_price"]
        return Decimal("0.00") if value is None else value

    def clean_supplier(self) -> Supplier | None:
        text = self.cleaned_data["supplier"].strip()
        if not text:
            return None
        found = list(
            suppliers_visible_to(self.user).filter(Q(name=text) | Q(credit_code=text.upper()))[:2]
        )
        if len(found) != 1:
            raise forms.ValidationError(
                _("No supplier named %(name)s (or with that credit code) in the catalogue.")
                % {"name": text}
            )
        return found[0]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        model = self.resolve_model()
        if model is not None:
            cleaned["device_model"] = model
        group = self._group(cleaned)
        if model is None or group is None:
            return cleaned
        cleaned["group"] = group
        # A cell that failed its own check counts as empty here; its error is reported already.
        line = {name: cleaned.get(name, LINE_DEFAULTS.get(name)) for name in LINE_FIELDS}
        if group.stored is not None:
            if not self.errors:
                self._compare_with_stored(group, line)
            return cleaned
        problems = _LineProblems()
        _lines_checked([line], cleaned["delivered_on"], problems)
        columns = {"device_model": self.model_column()}
        add_problems(
            self,
            {
                columns.get(name, name): messages
                for name, messages in problems.fields.items()
                if columns.get(name, name) not in self.errors
            },
        )
        serial = cleaned.get("serial_number")
        if serial:
            other = self.file.serials.setdefault((model.pk, serial), group.number)
            if other != group.number:
                self.add_error(
                    "serial_number",
                    _(
                        "Serial number %(serial)s of %(model)s is also on delivery %(number)s "
                        "in this file."
                    )
                    % {"serial": serial, "model": model, "number": other},
                )
        if not self.errors:
            group.lines.append(line)
        return cleaned

    def _group(self, cleaned: dict[str, Any]) -> DeliveryGroup | None:
        """The delivery this row belongs to; its header must be the one its first row gave."""
        header = ("number", "organization", "delivered_on", "invoice_number")
        if any(name not in cleaned for name in header):
            return None
        number = cleaned["number"]
        group = self.file.groups.get(number)
        if group is None:
            stored = Delivery.objects.filter(number=number).first()
            group = self.file.groups[number] = DeliveryGroup(
                number=number,
                organization=cleaned["organization"],
                delivered_on=cleaned["delivered_on"],
                invoice_number=cleaned["invoice_number"],
                stored=stored,
            )
            if stored is not None:
                self._compare_header(stored, cleaned)
            return group
        mismatch = {
            "organization": _(
                "Another row of delivery %(number)s names another customer; the rows of one "
                "delivery give the same customer, date and invoice number."
            ),
            "delivered_on": _(
                "Another row of delivery %(number)s gives another delivery date; the rows of "
                "one delivery give the same customer, date and invoice number."
            ),
            "invoice_number": _(
                "Another row of delivery %(number)s gives another invoice number; the rows of "
                "one delivery give the same customer, date and invoice number."
            ),
        }
        for name, message in mismatch.items():
            if cleaned[name] != getattr(group, name):
                self.add_error(name, message % {"number": number})
        if group.stored is not None:
            self._compare_header(group.stored, cleaned)
        return group

    def _compare_header(self, stored: Delivery, cleaned: dict[str, Any]) -> None:
        if stored.organization_id != cleaned["organization"].pk:
            self.add_error(
                "organization",
                _(
                    "Delivery %(number)s was already imported for another customer; an "
                    "imported delivery is not changed by importing it again."
                )
                % {"number": stored.number},
            )
        for name in ("delivered_on", "invoice_number"):
            if getattr(stored, name) != cleaned[name]:
                self.add_error(name, self._already(stored, getattr(stored, name)))

    def _compare_with_stored(self, group: DeliveryGroup, line: dict[str, Any]) -> None:
        serial, batch = line["serial_number"], line["batch_number"]
        same = [
            stored
            for stored in group.stored_lines()
            if stored.device_model_id == line["device_model"].pk
            and stored.serial_number == serial
            and (serial or stored.batch_number == batch)
        ]
        if not same:
            self.add_error(
                None,
                _(
                    "Delivery %(number)s was already imported without this line; an imported "
                    "delivery is not changed by importing it again (record the line as a new "
                    "delivery)."
                )
                % {"number": group.number},
            )
            return
        stored = same[0]
        for name in ("batch_number", *LINE_VALUES):
            if getattr(stored, name) != line[name]:
                self.add_error(name, self._already(group.stored, getattr(stored, name)))

    @staticmethod
    def _already(delivery: Delivery, value: Any) -> str:
        return _(
            "Delivery %(number)s was already imported with %(value)s here; an imported "
            "delivery is not changed by importing it again."
        ) % {"number": delivery.number, "value": _shown(value)}


def _delivery_key(row: dict[str, Any]) -> tuple[Any, ...]:
    model = row["device_model"].pk
    if row["serial_number"]:
        return (row["number"], model, "serial", row["serial_number"])
    return (row["number"], model, "batch", row["batch_number"])


def _apply_delivery_line(row: dict[str, Any], actor: Any) -> str:
    """The first row of a new delivery creates it with all its lines; its other rows count
    the lines created with it. Rows of a delivery imported before are unchanged (the check
    refused any that differ)."""
    group: DeliveryGroup = row["group"]
    if group.created is not None:
        return "created"
    if Delivery.objects.filter(number=group.number).exists():
        return "unchanged"
    group.created = delivery_create(
        actor=actor,
        organization=group.organization,
        delivered_on=group.delivered_on,
        invoice_number=group.invoice_number,
        number=group.number,
        lines=[dict(line) for line in group.lines],
    )
    return "created"


import_spec_register(
    ImportSpec(
        kind="deliveries",
        label=_l("deliveries"),
        permission="installed_base.add_delivery",
        columns=[
            ImportColumn("number", ("销售单号", "delivery number"), required=True),
            ImportColumn(
                "organization", ("客户单位", "organisation", "organization"), required=True
            ),
            ImportColumn("delivered_on", ("发货日期", "delivered on"), required=True),
            ImportColumn("invoice_number", ("发票号", "invoice number")),
            ImportColumn("device_model", ("型号规格", "model spec", "model/spec")),
            ImportColumn("udi_di", ("UDI-DI", "UDI DI")),
            ImportColumn("manufacturer", ("生产企业", "manufacturer")),
            ImportColumn("batch_number", ("批号", "batch", "batch number")),
            ImportColumn("serial_number", ("序列号", "serial", "serial number")),
            ImportColumn("quantity", ("数量", "quantity")),
            ImportColumn("unit_price", ("单价", "unit price")),
            ImportColumn("production_date", ("生产日期", "production date")),
            ImportColumn("expiry_date", ("失效日期", "expiry date")),
            ImportColumn("supplier", ("供货者", "supplier")),
        ],
        form_class=DeliveryRowForm,
        natural_key=_delivery_key,
        apply_row=_apply_delivery_line,
        form_kwargs=lambda actor: {"user": actor, "file": DeliveryFile()},
    )
)
