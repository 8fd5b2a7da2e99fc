"""Import specs for organisations and contacts (see core.imports)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from medservice.core.imports import (
    ImportColumn,
    ImportSpec,
    LabelChoiceField,
    import_changes,
    import_spec_register,
)
from medservice.core.services import record_create, record_update
from medservice.customers.choices import HospitalGrade, OrganizationKind
from medservice.customers.models import Contact, Department, Organization
from medservice.customers.services import contact_create, contact_update
from medservice.customers.validators import validate_credit_code, validate_phone


def _changed(instance: Any, data: dict[str, Any]) -> dict[str, Any]:
    return import_changes(instance, data)


class OrganizationRowForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = LabelChoiceField(choices=OrganizationKind.choices)
    credit_code = forms.CharField(max_length=18, required=False, validators=[validate_credit_code])
    hospital_grade = LabelChoiceField(choices=[("", "—"), *HospitalGrade.choices], required=False)
    province = forms.CharField(max_length=50, required=False)
    city = forms.CharField(max_length=50, required=False)
    district = forms.CharField(max_length=50, required=False)
    address = forms.CharField(max_length=300, required=False)
    phone = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False)
    notes = forms.CharField(required=False)

    def clean_credit_code(self) -> str:
        return self.cleaned_data["credit_code"].strip().upper()


def _apply_organization(row: dict[str, Any], actor: Any) -> str:
    existing = (
        Organization.objects.filter(credit_code=row["credit_code"]).first()
        if row["credit_code"]
        else Organization.objects.filter(name=row["name"]).first()
    )
    if existing is None:
        record_create(actor=actor, model=Organization, data=dict(row))
        return "created"
    changes = _changed(existing, row)
    if not changes:
        return "unchanged"
    record_update(actor=actor, instance=existing, data=changes)
    return "updated"


import_spec_register(
    ImportSpec(
        kind="organizations",
        label=_l("organisations"),
        permission="customers.add_organization",
        columns=[
            ImportColumn("name", ("名称", "name"), required=True),
            ImportColumn("kind", ("类型", "kind"), required=True),
            ImportColumn("credit_code", ("统一社会信用代码", "credit code")),
            ImportColumn("hospital_grade", ("医院等级", "hospital grade")),
            ImportColumn("province", ("省份", "省", "province")),
            ImportColumn("city", ("城市", "市", "city")),
            ImportColumn("district", ("区县", "district")),
            ImportColumn("address", ("地址", "address")),
            ImportColumn("phone", ("电话", "phone")),
            ImportColumn("region", ("区域", "region")),
            ImportColumn("notes", ("备注", "notes")),
        ],
        form_class=OrganizationRowForm,
        natural_key=lambda row: (
            ("code", row["credit_code"]) if row["credit_code"] else ("name", row["name"])
        ),
        apply_row=_apply_organization,
    )
)


class ContactRowForm(forms.Form):
    organization = forms.CharField(max_length=200)
    department = forms.CharField(max_length=100, required=False)
    name = forms.CharField(max_length=100)
    role = forms.CharField(max_length=100, required=False)
    phone = forms.CharField(max_length=50, required=False, validators=[validate_phone])
    mobile = forms.CharField(max_length=50, required=False, validators=[validate_phone])
    email = forms.EmailField(required=False)
    wechat_id = forms.CharField(max_length=100, required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_organization(self) -> Organization:
        from medservice.customers.selectors import organizations_visible_to

        text = self.cleaned_data["organization"].strip()
        found = list(
            organizations_visible_to(self.user).filter(Q(name=text) | Q(credit_code=text.upper()))[
                :2
            ]
        )
        if len(found) != 1:
            raise forms.ValidationError(
                _("No organisation named %(name)s (or with that credit code) that you may see.")
                % {"name": text}
                if not found
                else _("Several organisations are named %(name)s; use the credit code.")
                % {"name": text}
            )
        return found[0]


def _apply_contact(row: dict[str, Any], actor: Any) -> str:
    organization: Organization = row["organization"]
    data = {key: value for key, value in row.items() if key != "department"}
    if row["department"]:
        data["department"], _created = Department.objects.get_or_create(
            organization=organization, name=row["department"]
        )
    else:
        data["department"] = None
    existing = Contact.objects.filter(
        organization=organization, name=row["name"], anonymised_at__isnull=True
    ).first()
    if existing is None:
        contact_create(actor=actor, data=data)
        return "created"
    changes = _changed(existing, data)
    if not changes:
        return "unchanged"
    contact_update(actor=actor, instance=existing, data=changes)
    return "updated"


import_spec_register(
    ImportSpec(
        kind="contacts",
        label=_l("contacts"),
        permission="customers.add_contact",
        columns=[
            ImportColumn(
                "organization", ("客户单位", "organisation", "organization"), required=True
            ),
            ImportColumn("department", ("科室", "department")),
            ImportColumn("name", ("姓名", "name"), required=True),
            ImportColumn("role", ("职务", "role")),
            ImportColumn("phone", ("电话", "phone")),
            ImportColumn("mobile", ("手机", "mobile")),
            ImportColumn("email", ("邮箱", "e-mail", "email")),
            ImportColumn("wechat_id", ("微信", "wechat")),
        ],
        form_class=ContactRowForm,
        natural_key=lambda row: (row["organization"].pk, row["name"]),
        apply_row=_apply_contact,
        form_kwargs=lambda actor: {"user": actor},
    )
)
