"""Import spec for device models (see core.imports), and the cell fields the catalogue and
installed-base imports share: dates as people type them, yes/no flags, choices by alias.

A row is the record: an empty cell empties the field, except for fields that cannot be empty
(flags, product type, tracking, warranty months), where it means the default for a new model
and no change for an existing one. The catalogue's own rules (certificate number against the
risk class, one model per UDI-DI) are checked by `device_model_problems` while the file is
checked, and again by `device_model_create` / `device_model_update` when it is applied.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from medservice.catalog.choices import ProductType, RiskClass, Tracking
from medservice.catalog.models import DeviceModel, Manufacturer, ProductLine
from medservice.catalog.selectors import manufacturers_visible_to, product_lines_visible_to
from medservice.catalog.services import (
    device_model_create,
    device_model_problems,
    device_model_update,
)
from medservice.catalog.validators import normalize_registration_number, validate_udi_di
from medservice.core.imports import (
    ImportColumn,
    ImportSpec,
    LabelChoiceField,
    import_changes,
    import_spec_register,
)

# 2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日; a time after the day (as a date cell saved
# as text may carry) is ignored. Real Excel date cells reach the form as ISO text already.
DATE_TEXT = re.compile(
    r"^(?P<year>\d{4})\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)

TRUE_WORDS = frozenset({"是", "yes", "y", "true", "1"})
FALSE_WORDS = frozenset({"否", "no", "n", "false", "0"})


class ImportDateField(forms.Field):
    """A date written 2026-03-01, 2026/3/1 or 2026年3月1日, or a real Excel date."""

    default_error_messages = {
        "invalid": _l("%(value)s is not a date; write it as 2026-03-01, 2026/3/1 or 2026年3月1日.")
    }

    def to_python(self, value: Any) -> datetime.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        text = str(value).strip()
        if not text:
            return None
        match = DATE_TEXT.match(text)
        try:
            if match is None:
                raise ValueError(text)
            return datetime.date(int(match["year"]), int(match["month"]), int(match["day"]))
        except ValueError:
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": text}
            ) from None


class ImportBooleanField(forms.Field):
    """是/否, yes/no, true/false, 1/0 (an Excel TRUE/FALSE cell too); empty is None."""

    default_error_messages = {
        "invalid": _l("%(value)s is not yes or no; write 是 or 否 (yes/no, true/false, 1/0).")
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if not text:
            return None
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise forms.ValidationError(
            self.error_messages["invalid"], code="invalid", params={"value": str(value).strip()}
        )

    def validate(self, value: Any) -> None:
        if value is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class AliasChoiceField(LabelChoiceField):
    """A choice by its code, its label in either language, or one of the usual short names."""

    def __init__(self, *, choices: Any, aliases: dict[str, str], **kwargs: Any) -> None:
        super().__init__(choices=choices, **kwargs)
        self.aliases.update({alias.strip().lower(): value for alias, value in aliases.items()})


def changed(instance: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The items of `data` that differ from the record (columns missing from the file are left
    alone, see core.imports.import_changes)."""
    return import_changes(instance, data)


def add_problems(form: forms.Form, problems: dict[str, list[str]]) -> None:
    """Put a service's problems on the form's fields (each becomes row, column, message)."""
    for name, messages in problems.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


RISK_CLASS_ALIASES = {
    "Ⅰ": RiskClass.CLASS_I,
    "Ⅱ": RiskClass.CLASS_II,
    "Ⅲ": RiskClass.CLASS_III,
    "1": RiskClass.CLASS_I,
    "2": RiskClass.CLASS_II,
    "3": RiskClass.CLASS_III,
    "一类": RiskClass.CLASS_I,
    "二类": RiskClass.CLASS_II,
    "三类": RiskClass.CLASS_III,
    "I类": RiskClass.CLASS_I,
    "II类": RiskClass.CLASS_II,
    "III类": RiskClass.CLASS_III,
    "Ⅰ类": RiskClass.CLASS_I,
    "Ⅱ类": RiskClass.CLASS_II,
    "Ⅲ类": RiskClass.CLASS_III,
}
PRODUCT_TYPE_ALIASES = {
    "有源": ProductType.ACTIVE,
    "无源": ProductType.NON_ACTIVE,
    "IVD": ProductType.IVD,
    "体外诊断": ProductType.IVD,
    "active": ProductType.ACTIVE,
    "non-active": ProductType.NON_ACTIVE,
}
TRACKING_ALIASES = {
    "序列号": Tracking.SERIAL,
    "按序列号": Tracking.SERIAL,
    "批号": Tracking.BATCH,
    "按批号": Tracking.BATCH,
    "serial number": Tracking.SERIAL,
    "by serial number": Tracking.SERIAL,
    "by batch": Tracking.BATCH,
}

# Not nullable, with a model default: an empty cell keeps the default / the stored value.
DEFAULTED_FIELDS = (
    "product_type",
    "tracking",
    "warranty_months",
    "life_support",
    "implantable",
    "single_use",
)
DEVICE_MODEL_FIELDS = (
    "name",
    "model_spec",
    "manufacturer",
    "registration_number",
    "registration_valid_until",
    "risk_class",
    "product_type",
    "product_line",
    "udi_di",
    "warranty_months",
    "pm_interval_days",
    "service_life_years",
    "life_support",
    "implantable",
    "single_use",
    "tracking",
)


class DeviceModelRowForm(forms.Form):
    name = forms.CharField(max_length=200)
    model_spec = forms.CharField(max_length=200)
    manufacturer = forms.CharField(max_length=200)
    registration_number = forms.CharField(max_length=100, required=False)
    registration_valid_until = ImportDateField(required=False)
    risk_class = AliasChoiceField(choices=RiskClass.choices, aliases=RISK_CLASS_ALIASES)
    product_type = AliasChoiceField(
        choices=[("", "—"), *ProductType.choices], aliases=PRODUCT_TYPE_ALIASES, required=False
    )
    product_line = forms.CharField(max_length=100, required=False)
    udi_di = forms.CharField(max_length=50, required=False, validators=[validate_udi_di])
    warranty_months = forms.IntegerField(min_value=0, max_value=32767, required=False)
    pm_interval_days = forms.IntegerField(min_value=1, max_value=36500, required=False)
    service_life_years = forms.IntegerField(min_value=0, max_value=32767, required=False)
    life_support = ImportBooleanField()
    implantable = ImportBooleanField()
    single_use = ImportBooleanField()
    tracking = AliasChoiceField(
        choices=[("", "—"), *Tracking.choices], aliases=TRACKING_ALIASES, required=False
    )

    def __init__(
        self, *args: Any, user: Any = None, seen: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # Shared by the rows of one file (core.imports builds the form kwargs once per check).
        self.seen = seen if seen is not None else {}

    def clean_manufacturer(self) -> Manufacturer:
        text = self.cleaned_data["manufacturer"].strip()
        found = manufacturers_visible_to(self.user).filter(name=text).first()
        if found is None:
            raise forms.ValidationError(
                _("No manufacturer named %(name)s in the catalogue; add it there first.")
                % {"name": text}
            )
        return found

    def clean_product_line(self) -> ProductLine | None:
        text = self.cleaned_data["product_line"].strip()
        if not text:
            return None
        found = product_lines_visible_to(self.user).filter(name=text).first()
        if found is None:
            raise forms.ValidationError(
                _("No product line named %(name)s in the catalogue; add it there first.")
                % {"name": text}
            )
        return found

    def clean_registration_number(self) -> str:
        return normalize_registration_number(self.cleaned_data["registration_number"])

    def clean_udi_di(self) -> str:
        return self.cleaned_data["udi_di"].strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        manufacturer, spec = cleaned.get("manufacturer"), cleaned.get("model_spec")
        existing = (
            DeviceModel.objects.filter(manufacturer=manufacturer, model_spec=spec).first()
            if manufacturer is not None and spec
            else None
        )
        problems = device_model_problems(
            {
                "registration_number": cleaned.get("registration_number", ""),
                "registration_valid_until": cleaned.get("registration_valid_until"),
                "risk_class": cleaned.get("risk_class", ""),
                "udi_di": cleaned.get("udi_di", ""),
            },
            instance=existing,
        )
        if "risk_class" not in cleaned:
            # The certificate is judged against the class: not without a valid class.
            problems.pop("registration_number", None)
        if manufacturer is None or not spec:
            # Which model the row is remains unknown: its UDI-DI may well be its own.
            problems.pop("udi_di", None)
        add_problems(self, problems)
        udi_di = cleaned.get("udi_di")
        if udi_di and manufacturer is not None and spec:
            owner = self.seen.setdefault("udi_di", {}).setdefault(udi_di, (manufacturer.pk, spec))
            if owner != (manufacturer.pk, spec):
                self.add_error(
                    "udi_di",
                    _("Another row of this file gives the UDI-DI %(udi_di)s to another model.")
                    % {"udi_di": udi_di},
                )
        return cleaned


def _device_model_data(row: dict[str, Any]) -> dict[str, Any]:
    return {
        name: row[name]
        for name in DEVICE_MODEL_FIELDS
        if not (name in DEFAULTED_FIELDS and row[name] in (None, ""))
    }


def _apply_device_model(row: dict[str, Any], actor: Any) -> str:
    data = _device_model_data(row)
    existing = DeviceModel.objects.filter(
        manufacturer=row["manufacturer"], model_spec=row["model_spec"]
    ).first()
    if existing is None:
        device_model_create(actor=actor, data=data)
        return "created"
    changes = changed(existing, data)
    if not changes:
        return "unchanged"
    device_model_update(actor=actor, instance=existing, data=changes)
    return "updated"


import_spec_register(
    ImportSpec(
        kind="device-models",
        label=_l("device models"),
        permission="catalog.add_devicemodel",
        columns=[
            ImportColumn("name", ("名称", "name"), required=True),
            ImportColumn("model_spec", ("型号规格", "model spec", "model/spec"), required=True),
            ImportColumn("manufacturer", ("生产企业", "manufacturer"), required=True),
            ImportColumn(
                "registration_number",
                ("注册证号", "registration number", "注册证编号", "备案编号"),
            ),
            ImportColumn(
                "registration_valid_until", ("注册证有效期至", "registration valid until")
            ),
            ImportColumn("risk_class", ("管理类别", "risk class"), required=True),
            ImportColumn("product_type", ("产品类型", "product type")),
            ImportColumn("product_line", ("产品线", "product line")),
            ImportColumn("udi_di", ("UDI-DI", "UDI DI")),
            ImportColumn("warranty_months", ("保修月数", "warranty months")),
            ImportColumn(
                "pm_interval_days",
                ("保养周期(天)", "保养周期（天）", "PM interval days", "PM interval (days)"),
            ),
            ImportColumn(
                "service_life_years",
                ("使用年限", "service life years", "service life (years)"),
            ),
            ImportColumn("life_support", ("生命支持", "life support")),
            ImportColumn("implantable", ("植入", "implantable")),
            ImportColumn("single_use", ("一次性", "single use")),
            ImportColumn("tracking", ("追溯方式", "tracking")),
        ],
        form_class=DeviceModelRowForm,
        natural_key=lambda row: (row["manufacturer"].pk, row["model_spec"]),
        apply_row=_apply_device_model,
        form_kwargs=lambda actor: {"user": actor, "seen": {}},
    )
)
