from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from medservice.accounts.choices import Role
from medservice.core.models import AuditedModel


class User(AuditedModel, AbstractUser):
    """A person who signs in: company staff, a distributor's engineer or a customer's contact.

    Every user belongs to one organisation; its kind decides the user's scope (company staff see
    what their permissions allow, distributors what they serve, customers their own records).
    """

    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    organization = models.ForeignKey(
        "customers.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")

    objects = UserManager()

    # The password hash never enters the trail; sign-in times are not business changes.
    audit_exclude = frozenset({"password", "last_login"})

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_full_name(self) -> str:
        # Chinese names are written family name first, without a space.
        if self.last_name and self.first_name and not self.first_name.isascii():
            return f"{self.last_name}{self.first_name}"
        return super().get_full_name()

    @property
    def roles(self) -> set[str]:
        return {group.name for group in self.groups.all()}

    def has_role(self, role: Role | str) -> bool:
        return self.groups.filter(name=str(role)).exists()


class EngineerProfile(AuditedModel):
    """What dispatch and the customer need to know about a field engineer: the region they
    cover, their badge number and photo (shown to the customer who is expecting them) and how
    many visits a day they can take."""

    user = models.OneToOneField(
        User, verbose_name=_("engineer"), on_delete=models.CASCADE, related_name="engineer_profile"
    )
    badge_number = models.CharField(_("badge number"), max_length=30, unique=True)
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    photo = models.FileField(_("photo"), upload_to="engineers/", blank=True)
    daily_capacity = models.PositiveSmallIntegerField(
        _("visits a day"), default=4, help_text=_("Dispatch ranks engineers by their load.")
    )
    active = models.BooleanField(_("takes visits"), default=True)

    class Meta:
        verbose_name = _("engineer profile")
        verbose_name_plural = _("engineer profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.badge_number})"
