"""Import specs for devices and deliveries (see core.imports).

Devices are matched on (model, serial), or (model, batch, organisation) for units without a
serial. They are checked and applied a chunk of rows at a time (core.imports.ImportBatch):
a chunk's organisations, models, departments and stored units are looked up in a handful of
queries, each row is judged by the service's own rules (`_device_problems`), new units are
registered in bulk by `device_create_many` (warranty computed as `device_create` does, one
audit event per unit) and changed ones updated by `device_update`, so an evidence hold
refuses a change. A serial already registered to another organisation is a duplicate, not a
transfer: a unit changes hands on its own page.

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
from collections import Counter
from collections.abc import Callable, Iterable
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
from medservice.core.audit import audit_bulk_create
from medservice.core.imports import (
    ImportBatch,
    ImportColumn,
    ImportRow,
    ImportSpec,
    import_spec_register,
    values_in,
)
from medservice.customers.models import Department, Organization
from medservice.customers.selectors import organizations_visible_to
from medservice.installed_base.choices import DeviceStatus, HoldKind
from medservice.installed_base.models import Delivery, DeliveryLine, Device, Hold
from medservice.installed_base.services import (
    HeldError,
    _device_problems,
    _duplicate_serial_message,
    _lines_checked,
    _Problems,
    _refuse_under_evidence_hold,
    delivery_create,
    device_create_many,
    device_serial_holders,
    device_update,
)

STATUS_ALIASES = {"在用": DeviceStatus.IN_SERVICE, "装机": DeviceStatus.INSTALLED}


def organizations_in_scope(
    user: Any, texts: Iterable[str]
) -> dict[str, Organization | forms.ValidationError]:
    """Each text's organisation, named by its name or credit code among those the user may
    see, in one query for all; a text naming none or several maps to the error its row
    reports."""
    wanted = {(text or "").strip() for text in texts}
    matches: dict[str, dict[int, Organization]] = {text: {} for text in wanted}
    by_code: dict[str, list[str]] = {}  # a credit code is written in either case
    for text in wanted:
        by_code.setdefault(text.upper(), []).append(text)
    if wanted:
        # Only what naming and matching need: a chunk loads a thousand organisations. By name
        # and by code in a UNION, so each side can use its own index (an OR of the two
        # look-ups in one WHERE could not).
        visible = organizations_visible_to(user).only("pk", "name", "credit_code")
        named = visible.filter(name__in=values_in(Organization._meta.get_field("name"), wanted))
        coded = visible.filter(
            credit_code__in=values_in(Organization._meta.get_field("credit_code"), by_code)
        )
        for organization in named.union(coded):
            by_name = [organization.name] if organization.name in matches else []
            for text in [*by_name, *by_code.get(organization.credit_code, ())]:
                matches[text][organization.pk] = organization
    found: dict[str, Organization | forms.ValidationError] = {}
    for text, organizations in matches.items():
        if len(organizations) == 1:
            found[text] = next(iter(organizations.values()))
        elif not organizations:
            found[text] = forms.ValidationError(
                _("No organisation named %(name)s (or with that credit code) that you may see.")
                % {"name": text}
            )
        else:
            found[text] = forms.ValidationError(
                _("Several organisations are named %(name)s; use the credit code.") % {"name": text}
            )
    return found


def organization_in_scope(user: Any, text: str) -> Organization:
    """The organisation named by its name or credit code, among those the user may see."""
    found = organizations_in_scope(user, [text])[(text or "").strip()]
    if isinstance(found, forms.ValidationError):
        raise found
    return found


def _organizations_resolve(texts: set[str], user: Any) -> dict[str, Any]:
    """The organisation column of a chunk (core.imports.ImportBatch.resolvers)."""
    found = organizations_in_scope(user, texts)
    return {text: found[(text or "").strip()] for text in texts}


@dataclass
class DeviceModelIndex:
    """The catalogue's models that rows may name, by model/spec and by UDI-DI (one query)."""

    by_spec: dict[str, list[DeviceModel]]
    by_udi_di: dict[str, list[DeviceModel]]

    @classmethod
    def load(cls, user: Any, references: Iterable[tuple[str, str]]) -> DeviceModelIndex:
        """`references`: the (model/spec, UDI-DI) cells of the rows."""
        specs, codes = set(), set()
        for spec, udi_di in references:
            if spec:
                specs.add(spec)
                codes.add(spec)  # the model/spec column may hold the UDI-DI
            if udi_di:
                codes.add(udi_di)
        index = cls(by_spec={}, by_udi_di={})
        if specs or codes:
            models = device_models_visible_to(user).select_related("manufacturer")
            for model in models.filter(Q(model_spec__in=specs) | Q(udi_di__in=codes)):
                index.by_spec.setdefault(model.model_spec, []).append(model)
                if model.udi_di:
                    index.by_udi_di.setdefault(model.udi_di, []).append(model)
        return index

    def candidates(self, spec: str, udi_di: str) -> list[DeviceModel]:
        found = [
            *self.by_spec.get(spec, ()),
            *self.by_udi_di.get(spec, ()),
            *self.by_udi_di.get(udi_di, ()),
        ]
        return list({model.pk: model for model in found}.values())


def model_column(data: Any) -> str:
    """The column a row's model problem is reported in: the model/spec, unless the file
    names models by their UDI-DI alone."""
    if str(data.get("device_model") or "").strip() or "udi_di" not in data:
        return "device_model"
    return "udi_di"


def device_model_resolved(
    cleaned: dict[str, Any],
    data: Any,
    candidates: Callable[[str, str], Iterable[DeviceModel]],
    add_error: Callable[[str, str], None],
) -> DeviceModel | None:
    """The device model a row names by its model/spec or UDI-DI (the 型号规格 column may hold
    either), narrowed by the manufacturer when one is given; None (its problem added) when it
    names none or several. `candidates(spec, udi_di)`: the models that may match (a look-up
    per row, or a chunk's `DeviceModelIndex`); the choice among them is made here."""
    spec, udi_di = cleaned.get("device_model", ""), cleaned.get("udi_di", "")
    maker = cleaned.get("manufacturer", "")
    if not spec and not udi_di:
        add_error(model_column(data), _("Give the model/spec or the UDI-DI of the device model."))
        return None
    found = sorted(
        (
            model
            for model in candidates(spec, udi_di)
            if (not udi_di or model.udi_di == udi_di)
            and (not spec or spec in (model.model_spec, model.udi_di))
            and (not maker or model.manufacturer.name == maker)
        ),
        key=lambda model: model.pk,
    )
    if len(found) == 1:
        return found[0]
    reference = " / ".join(value for value in (spec, udi_di) if value)
    if not found:
        add_error(
            model_column(data),
            _("No device model with the model/spec or UDI-DI %(model)s in the catalogue.")
            % {"model": reference},
        )
    else:
        add_error(
            model_column(data),
            _("Several manufacturers make a model %(model)s; give its UDI-DI or the manufacturer.")
            % {"model": reference},
        )
    return None


class ModelReferenceMixin:
    """A row form's device model, named by its model/spec or UDI-DI (`device_model_resolved`,
    with a look-up per row)."""

    # Provided by forms.Form (and the form's __init__: the uploader).
    user: Any
    data: Any
    cleaned_data: dict[str, Any]
    add_error: Any

    def model_column(self) -> str:
        return model_column(self.data)

    def resolve_model(self) -> DeviceModel | None:
        def candidates(spec: str, udi_di: str) -> list[DeviceModel]:
            return DeviceModelIndex.load(self.user, [(spec, udi_di)]).candidates(spec, udi_di)

        return device_model_resolved(self.cleaned_data, self.data, candidates, self.add_error)


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


class DeviceRowForm(forms.Form):
    """The cells of a device row, each checked on its own. What they name (organisation,
    model, department, the stored unit) and the unit's rules are checked a chunk of rows at a
    time by `_devices_check` (the spec is batched: see core.imports.ImportBatch)."""

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


@dataclass
class StoredUnits:
    """The stored units that rows describe, loaded in two queries whatever their number: by
    (model, serial), whatever their owner (a serial is unique per model), and, for units
    without a serial, by (model, batch, organisation)."""

    by_serial: dict[tuple[int, str], Device]
    by_batch: dict[tuple[int, str, int], list[Device]]

    @classmethod
    def load(
        cls, rows: Iterable[dict[str, Any]], departments: dict[tuple[int, str], Department]
    ) -> StoredUnits:
        """`rows`: cleaned rows with their model and organisation resolved. The units come
        with their model, owner and department attached (from the rows and `departments`),
        so comparing them with rows asks the database nothing."""
        rows = list(rows)
        stored = cls(
            by_serial=device_serial_holders(
                (row["device_model"].pk, row["serial_number"])
                for row in rows
                if row["serial_number"]
            ),
            by_batch={},
        )
        wanted = {
            (row["device_model"].pk, row["batch_number"], row["organization"].pk)
            for row in rows
            if not row["serial_number"] and row["batch_number"]
        }
        if wanted:
            units = Device.objects.filter(
                serial_number="",
                device_model_id__in={model for model, _batch, _owner in wanted},
                batch_number__in=values_in(
                    Device._meta.get_field("batch_number"), {batch for _m, batch, _o in wanted}
                ),
                organization_id__in=values_in(
                    Device._meta.get_field("organization"), {owner for _m, _b, owner in wanted}
                ),
            ).order_by("pk")
            for unit in units:
                key = (unit.device_model_id, unit.batch_number, unit.organization_id)
                if key in wanted:
                    stored.by_batch.setdefault(key, []).append(unit)
        stored._attach(rows, departments)
        return stored

    def units(self) -> list[Device]:
        return [
            *self.by_serial.values(),
            *(unit for units in self.by_batch.values() for unit in units),
        ]

    def _attach(
        self, rows: list[dict[str, Any]], departments: dict[tuple[int, str], Department]
    ) -> None:
        # A row is compared only with a unit of its own model and owner; a unit's department
        # may be one no row names, so those are loaded (one query, when there are any).
        units = self.units()
        departments_by_pk = {department.pk: department for department in departments.values()}
        missing = {unit.department_id for unit in units} - set(departments_by_pk) - {None}
        if missing:
            departments_by_pk.update(Department.objects.in_bulk(missing))
        known = {
            "device_model": {row["device_model"].pk: row["device_model"] for row in rows},
            "organization": {row["organization"].pk: row["organization"] for row in rows},
            "department": departments_by_pk,
        }
        for name, by_pk in known.items():
            relation = Device._meta.get_field(name)
            for unit in units:
                pk = getattr(unit, relation.attname)
                if pk in by_pk:
                    relation.set_cached_value(unit, by_pk[pk])


def device_existing(
    model: DeviceModel, organization: Organization, serial: str, batch: str, stored: StoredUnits
) -> Device | None:
    """The stored unit a row describes, if any; a serial registered to another organisation
    (whether the uploader may see it or not) is a duplicate."""
    if serial:
        existing = stored.by_serial.get((model.pk, serial))
        if existing is not None and existing.organization_id != organization.pk:
            raise forms.ValidationError(_duplicate_serial_message(existing))
        return existing
    if not batch:
        return None
    found = stored.by_batch.get((model.pk, batch, organization.pk), [])
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


def departments_named(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Department]:
    """The stored departments with these (organisation id, name) pairs, in one query."""
    wanted = set(pairs)
    if not wanted:
        return {}
    found = Department.objects.filter(
        organization_id__in=values_in(
            Department._meta.get_field("organization"), {owner for owner, _name in wanted}
        ),
        name__in={name for _owner, name in wanted},
    )
    return {
        (department.organization_id, department.name): department
        for department in found
        if (department.organization_id, department.name) in wanted
    }


def _devices_check(rows: list[ImportRow], user: Any) -> None:
    """The rules of one chunk of device rows (core.imports.ImportBatch.check): the models,
    departments and stored units its rows name are looked up in four queries, then each row
    is judged by the service's own rules (`_device_problems`) on the unit as the row would
    leave it; a unit under an evidence hold may not be changed. A new unit's record, as
    checked, stays in its row (`unit`): the apply that follows in the same run registers it."""
    index = DeviceModelIndex.load(
        user,
        ((row.cleaned.get("device_model", ""), row.cleaned.get("udi_di", "")) for row in rows),
    )
    described = []  # the rows that name one unit: model, owner, serial and batch all clean
    for row in rows:
        model = device_model_resolved(row.cleaned, row.data, index.candidates, row.add_error)
        if model is None or row.cleaned.get("organization") is None:
            continue
        row.cleaned["device_model"] = model
        if "serial_number" in row.cleaned and "batch_number" in row.cleaned:
            described.append(row)
    departments = departments_named(
        (row.cleaned["organization"].pk, row.cleaned["department"])
        for row in described
        if row.cleaned.get("department")
    )
    stored = StoredUnits.load((row.cleaned for row in described), departments)
    altered: list[tuple[ImportRow, Device]] = []
    for row in described:
        cleaned = row.cleaned
        organization, model = cleaned["organization"], cleaned["device_model"]
        serial, batch = cleaned["serial_number"], cleaned["batch_number"]
        try:
            existing = device_existing(model, organization, serial, batch, stored)
        except forms.ValidationError as error:
            row.add_error("serial_number" if serial else "batch_number", error)
            continue
        department_name = cleaned.get("department", "")
        department = departments.get((organization.pk, department_name))
        values = device_values(cleaned, department)
        # The unit as the import would leave it (a column the file lacks keeps the stored
        # value), judged by the service's rules; a cell that failed its own check keeps the
        # stored value here, its error being reported already.
        if existing is None:
            changes = values
            candidate = cleaned["unit"] = Device(**values)  # kept for the apply
        else:
            changes = changed(existing, values)
            candidate = copy.copy(existing) if changes else existing  # no change, no copy
            for name, value in changes.items():
                setattr(candidate, name, value)
        problems = _device_problems(candidate, serial_holders=stored.by_serial)
        _add_device_problems(row, problems)
        if row.errors:
            continue
        if existing is not None and (changes or (department_name and department is None)):
            altered.append((row, existing))
    _refuse_altering_held_units(altered)


def _add_device_problems(row: ImportRow, problems: _Problems) -> None:
    """A service's problems on the row's columns (a field without a column: the whole row)."""
    for name, messages in problems.fields.items():
        for message in messages:
            row.add_error(name if name in DeviceRowForm.base_fields else None, message)


def _refuse_altering_held_units(altered: list[tuple[ImportRow, Device]]) -> None:
    """Rows that would change a unit under an evidence hold are refused. One query asks
    whether any of their models has an active evidence hold at all (almost never); only then
    is each such unit asked the one question every app asks (`evidence_hold_for`)."""
    if not altered:
        return
    models = {unit.device_model_id for _row, unit in altered}
    held_models = set(
        Hold.objects.filter(
            Q(device_model_id__in=models) | Q(device__device_model_id__in=models),
            kind=HoldKind.EVIDENCE,
            released_at__isnull=True,
        ).values_list("device_model_id", "device__device_model_id")
    )
    held = {model for pair in held_models for model in pair if model is not None}
    for row, unit in altered:
        if unit.device_model_id not in held:
            continue
        try:
            _refuse_under_evidence_hold(unit)
        except HeldError as error:
            row.add_error(None, error.message)


def _devices_apply(rows: list[dict[str, Any]], actor: Any) -> Counter[str]:
    """Apply one chunk of clean device rows (core.imports.ImportBatch.apply), in the import's
    transaction: departments named for the first time are created, and new units registered,
    in bulk with one audit event each; a changed unit is updated through `device_update`
    (one by one: the evidence hold, contract and warranty rules of a change); an unchanged
    one is left alone."""
    wanted = {(row["organization"].pk, row["department"]) for row in rows if row["department"]}
    departments = departments_named(wanted)
    owners = {row["organization"].pk: row["organization"] for row in rows}
    new_departments = [
        Department(organization=owners[owner], name=name)
        for owner, name in sorted(wanted - set(departments))
    ]
    audit_bulk_create(new_departments)
    departments.update(
        {
            (department.organization_id, department.name): department
            for department in new_departments
        }
    )
    # Looked up again inside the transaction: the check ran before it began.
    stored = StoredUnits.load(rows, departments)
    counts: Counter[str] = Counter()
    new_units = []
    for row in rows:
        department = departments.get((row["organization"].pk, row["department"]))
        data = device_values(row, department)
        existing = device_existing(
            row["device_model"],
            row["organization"],
            row["serial_number"],
            row["batch_number"],
            stored,
        )
        if existing is None:
            unit = row.get("unit") or Device(**data)
            if row["department"]:
                unit.department = department  # perhaps created just now
            new_units.append(unit)
            counts["created"] += 1
        elif changes := changed(existing, data):
            device_update(actor=actor, instance=existing, data=changes)
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    device_create_many(actor=actor, devices=new_units, serial_holders=stored.by_serial)
    return counts


def _device_key(row: dict[str, Any]) -> tuple[Any, ...]:
    if row["serial_number"]:
        return ("serial", row["device_model"].pk, row["serial_number"])
    return ("batch", row["device_model"].pk, row["batch_number"], row["organization"].pk)


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
        natural_key=_device_key,
        batch=ImportBatch(
            check=_devices_check,
            apply=_devices_apply,
            resolvers={"organization": _organizations_resolve},
        ),
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
