from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from medservice.core.models import AuditedModel
from medservice.customers.choices import OrganizationKind
from medservice.customers.validators import validate_credit_code


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
