"""Electronic signatures (21 CFR Part 11 style): printed name, time, meaning and the hash of
the signed content; internal signers re-enter their password; the record is then frozen."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.audit import audit_record
from medservice.core.choices import AuditAction, SignerKind
from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, SignatureError
from medservice.core.models import SignableModel, Signature


def content_hash(record: SignableModel) -> str:
    payload = json.dumps(record.signature_content(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def signature_sign(
    *,
    actor: Any,
    record: SignableModel,
    meaning: str,
    password: str | None = None,
    printed_name: str | None = None,
    signer_kind: str = SignerKind.INTERNAL,
) -> Signature:
    """Sign `record`; an internal signer proves identity by re-entering the password."""
    if not meaning.strip():
        raise InvalidInputError(
            _("Say what the signature means."), fields={"meaning": [_("Required.")]}
        )
    if signer_kind == SignerKind.INTERNAL:
        if actor is None or not password or not actor.check_password(password):
            raise SignatureError(
                _("The password is not correct; the record was not signed."),
                fields={"password": [_("The password is not correct.")]},
            )
        printed_name = printed_name or actor.get_full_name() or actor.get_username()
    elif not (printed_name or "").strip():
        raise InvalidInputError(
            _("The signer's printed name is required."),
            fields={"printed_name": [_("Required.")]},
        )
    with transaction.atomic(), audit_context(actor=actor):
        locked = type(record)._base_manager.select_for_update().get(pk=record.pk)
        if locked.signed_at is not None:
            raise SignatureError(_("%(record)s is already signed.") % {"record": locked})
        now = timezone.now()
        signature = Signature.objects.create(
            content_type=ContentType.objects.get_for_model(record, for_concrete_model=True),
            object_id=str(record.pk),
            signer=actor if signer_kind == SignerKind.INTERNAL else None,
            signer_kind=signer_kind,
            printed_name=printed_name.strip(),
            meaning=meaning.strip(),
            signed_at=now,
            content_hash=content_hash(locked),
            revision=locked.revision,
        )
        locked.signed_at = now
        locked.save(update_fields=["signed_at"])
        audit_record(
            locked,
            AuditAction.SIGN,
            before={},
            after={"signature": signature.pk},
            detail=signature.meaning[:100],
        )
        record.refresh_from_db()
    return signature


def signatures_of(record: SignableModel) -> list[Signature]:
    return list(
        Signature.objects.filter(
            content_type=ContentType.objects.get_for_model(record, for_concrete_model=True),
            object_id=str(record.pk),
        ).order_by("signed_at")
    )


def signature_is_intact(signature: Signature, record: SignableModel) -> bool:
    """True while the record still holds exactly the content that was signed."""
    return signature.content_hash == content_hash(record)


def record_revise(
    *, actor: Any, record: SignableModel, reason: str, changes: dict[str, Any]
) -> SignableModel:
    """Correct a signed record: a new, unsigned revision that supersedes it."""
    if not reason.strip():
        raise InvalidInputError(
            _("A revision needs a reason."), fields={"reason": [_("Required.")]}
        )
    with transaction.atomic(), audit_context(actor=actor, reason=reason):
        original = type(record)._base_manager.select_for_update().get(pk=record.pk)
        if (
            hasattr(original, "superseded_by")
            and type(record)._base_manager.filter(supersedes=original).exists()
        ):
            raise SignatureError(
                _("%(record)s already has a newer revision.") % {"record": original}
            )
        revision = type(record)._base_manager.get(pk=record.pk)
        revision.pk = None
        revision.id = None
        revision._state.adding = True
        revision.signed_at = None
        revision.revision = original.revision + 1
        revision.supersedes = original
        revision.version = 1
        for name, value in changes.items():
            setattr(revision, name, value)
        revision.save()
    return revision
