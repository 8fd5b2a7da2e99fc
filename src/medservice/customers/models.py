from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from medservice.core.crypto import EncryptedTextField, blind_index, mask_phone
from medservice.core.models import AuditedModel
from medservice.customers.choices import HospitalGrade, OrganizationKind
from medservice.customers.validators import validate_credit_code, validate_phone


class Organization(AuditedModel):
    """A hospital, clinic, distributor, chain store, store or person the company serves — or
    the company itself and its branches (kind "company")."""

    kind = models.CharField(
        _("kind"), max_length=20, choices=OrganizationKind.choices, db_index=True
    )
    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        db_index=True,
        validators=[validate_credit_code],
    )
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    hospital_grade = models.CharField(
        _("hospital grade"), max_length=20, choices=HospitalGrade.choices, blank=True
    )
    province = models.CharField(_("province"), max_length=50, blank=True, db_index=True)
    city = models.CharField(_("city"), max_length=50, blank=True, db_index=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=100, blank=True)
    salesperson = models.ForeignKey(
        "accounts.User",
        verbose_name=_("salesperson"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text=_("A branch's company, or a store's chain."),
    )
    served_by = models.ManyToManyField(
        "self",
        verbose_name=_("served by distributors"),
        symmetrical=False,
        blank=True,
        related_name="serves",
        limit_choices_to={"kind": OrganizationKind.DISTRIBUTOR},
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        indexes = [models.Index(fields=["name"])]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=~models.Q(credit_code=""),
                name="unique_organization_credit_code",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Department(AuditedModel):
    """A department or site within a customer organisation (科室), e.g. 心内科 or ICU."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="departments",
    )
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_department_name")
        ]

    def __str__(self) -> str:
        return self.name


class Contact(AuditedModel):
    """A person at a customer organisation: who calls, signs and answers surveys. Phones and
    WeChat id are encrypted at rest; the phone's keyed hash finds the person from a call."""

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="contacts",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    name = models.CharField(_("name"), max_length=100, db_index=True)
    role = models.CharField(_("role"), max_length=100, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True, validators=[validate_phone])
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    mobile = EncryptedTextField(_("mobile phone"), blank=True, validators=[validate_phone])
    mobile_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    email = models.EmailField(_("e-mail"), blank=True)
    wechat_id = EncryptedTextField(_("WeChat id"), blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        default="zh-hans",
    )
    portal_user = models.OneToOneField(
        "accounts.User",
        verbose_name=_("portal user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact",
    )
    consent_given_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_text = models.TextField(_("consent text"), blank=True)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    audit_personal = frozenset({"name", "phone", "mobile", "email", "wechat_id"})
    audit_exclude = AuditedModel.AUDIT_EXCLUDE_ALWAYS | {"phone_index", "mobile_index"}

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        permissions = [("unmask_contact", _("Can see contacts' personal data unmasked"))]

    def __str__(self) -> str:
        return self.name

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone) if self.phone else ""

    phone_masked.fget.short_description = _("phone")  # type: ignore[attr-defined]

    @property
    def mobile_masked(self) -> str:
        return mask_phone(self.mobile) if self.mobile else ""

    mobile_masked.fget.short_description = _("mobile phone")  # type: ignore[attr-defined]

    def refresh_indexes(self) -> None:
        self.phone_index = blind_index(self.phone or "")
        self.mobile_index = blind_index(self.mobile or "")
