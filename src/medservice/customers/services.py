"""Customer records: contacts with protected personal data, departments, portal invitations."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.accounts.choices import Role
from medservice.accounts.models import User
from medservice.core.audit import audit_record
from medservice.core.choices import AuditAction
from medservice.core.context import audit_context
from medservice.core.errors import ConflictError, InvalidInputError
from medservice.core.models import PersonKey
from medservice.core.services import record_update
from medservice.customers.models import Contact, Organization

PERSONAL_FIELDS = ("phone", "mobile", "wechat_id", "email", "name")


def contact_create(*, actor: Any, model: type[Contact] = Contact, data: dict[str, Any]) -> Contact:
    with transaction.atomic(), audit_context(actor=actor):
        contact = Contact(**data)
        contact.full_clean()
        contact.refresh_indexes()
        contact.save()
    return contact


def contact_update(
    *, actor: Any, instance: Contact, data: dict[str, Any], expected_version: int | None = None
) -> Contact:
    if instance.anonymised_at is not None:
        raise ConflictError(
            _("%(contact)s was anonymised and cannot be changed.") % {"contact": instance}
        )
    contact = record_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )
    indexes = (contact.phone_index, contact.mobile_index)
    contact.refresh_indexes()
    if (contact.phone_index, contact.mobile_index) != indexes:
        Contact.objects.filter(pk=contact.pk).update(
            phone_index=contact.phone_index, mobile_index=contact.mobile_index
        )
    return contact


def contact_unmask(*, actor: Any, contact: Contact, field: str) -> str:
    """Show one personal value in full to a role that needs it; every showing is audited."""
    if field not in PERSONAL_FIELDS:
        raise InvalidInputError(
            _("Unknown personal field: %(field)s.") % {"field": field},
            fields={"field": [_("Unknown field.")]},
        )
    if not actor.has_perm("customers.unmask_contact"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    with transaction.atomic(), audit_context(actor=actor):
        audit_record(contact, AuditAction.UNMASK, before={}, after={}, detail=field)
    return getattr(contact, field) or ""


def contact_invite(*, actor: Any, contact: Contact, consent_text: str, consent_given: bool) -> User:
    """Give a contact a portal login; the invitation records the person's consent (PIPL)."""
    if not consent_given or not consent_text.strip():
        raise InvalidInputError(
            _("The contact's consent to the processing of their personal data must be recorded."),
            fields={"consent_given": [_("Consent is required to invite a contact.")]},
        )
    if not contact.email:
        raise InvalidInputError(
            _("%(contact)s has no e-mail address to send the invitation to.")
            % {"contact": contact},
            fields={"email": [_("Required for an invitation.")]},
        )
    if contact.portal_user_id:
        raise ConflictError(_("%(contact)s is already invited.") % {"contact": contact})
    with transaction.atomic(), audit_context(actor=actor):
        username = f"c{contact.pk}-{contact.email.split('@')[0]}"[:150]
        user = User(
            username=username,
            email=contact.email,
            first_name=contact.name,
            organization=contact.organization,
            language=contact.language,
        )
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=str(Role.CUSTOMER_USER)))
        contact.portal_user = user
        contact.consent_given_at = timezone.now()
        contact.consent_text = consent_text.strip()
        contact.save()
        _send_invitation(user)
    return user


def _send_invitation(user: User) -> None:
    """Inbox and e-mail with a one-time link to set the password (Django's reset token)."""
    from django.conf import settings
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from medservice.core.notifications import notify

    path = reverse(
        "accounts:password-set",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    company = Organization.objects.filter(kind="company", parent__isnull=True).first()
    notify(
        recipients=[user],
        template="portal_invitation",
        context={
            "name": user.get_full_name() or user.get_username(),
            "username": user.get_username(),
            "company": company.name if company else "MedService",
            "link": f"{settings.MEDSERVICE_PUBLIC_URL.rstrip('/')}{path}",
        },
    )


def contact_anonymise(*, actor: Any, contact: Contact, reason: str) -> Contact:
    """Erase a person once every retention clock has run out (PIPL art. 47): personal fields are
    blanked and the person's audit key destroyed, so the history keeps its shape, not the data."""
    if not reason.strip():
        raise InvalidInputError(
            _("Anonymising needs a reason."), fields={"reason": [_("Required.")]}
        )
    with transaction.atomic(), audit_context(actor=actor, reason=reason):
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        contact.name = _("Anonymised contact")
        contact.phone = contact.mobile = contact.wechat_id = contact.email = ""
        contact.notes = ""
        contact.anonymised_at = timezone.now()
        contact.refresh_indexes()
        contact.save()
        PersonKey.objects.filter(subject=contact.audit_subject()).update(
            key="", destroyed_at=timezone.now()
        )
        if contact.portal_user_id:
            User.objects.filter(pk=contact.portal_user_id).update(is_active=False)
    return contact


def organization_of(record: Any) -> Organization | None:
    return getattr(record, "organization", None)
