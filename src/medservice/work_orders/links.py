"""One-time, expiring links for customers without a login: sign a service report or answer a
quote. The token is shown once (in the message sent); only its hash is stored."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.errors import DomainError
from medservice.work_orders.models import SigningLink


class LinkError(DomainError):
    """The link is unknown, used or expired: the page says which, never more."""

    code = "link_invalid"
    status = 404


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_days() -> int:
    return int(getattr(settings, "WORK_ORDER_LINK_DAYS", 7))


def link_create(*, report: Any = None, quote: Any = None, sent_to: str = "") -> str:
    """A new link to `report` or `quote`; returns the token (kept nowhere else)."""
    token = secrets.token_urlsafe(32)
    SigningLink.objects.create(
        report=report,
        quote=quote,
        token_hash=_hash(token),
        sent_to=sent_to[:200],
        expires_at=timezone.now() + datetime.timedelta(days=link_days()),
    )
    return token


def link_resolve(token: str, *, lock: bool = False) -> SigningLink:
    """The live link for `token`, or LinkError saying it is unknown, used or expired."""
    queryset = SigningLink.objects.select_related("report__work_order", "quote__work_order")
    if lock:
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("link_resolve(lock=True) must run inside transaction.atomic()")
        queryset = queryset.select_for_update(of=("self",))
    link = queryset.filter(token_hash=_hash(token or "")).first()
    if link is None:
        raise LinkError(_("This link is not valid. Ask for a new one."))
    if link.used_at is not None:
        raise LinkError(_("This link has already been used."))
    if link.expires_at <= timezone.now():
        raise LinkError(_("This link has expired. Ask for a new one."))
    return link


def link_use(link: SigningLink) -> None:
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
