"""In-app inbox and e-mail. Messages are rendered in each recipient's language from templates
`notifications/<name>_subject.txt` and `notifications/<name>_body.txt`, stored in the inbox in
the caller's transaction, and e-mailed by a task after commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from medservice.core.models import Notification


def notify(
    *, recipients: Iterable[Any], template: str, context: dict[str, Any], link: str = ""
) -> list[Notification]:
    created = []
    for user in recipients:
        language = getattr(user, "language", "") or translation.get_language() or "zh-hans"
        with translation.override(language):
            subject = render_to_string(f"notifications/{template}_subject.txt", context).strip()
            body = render_to_string(f"notifications/{template}_body.txt", context).strip()
        created.append(
            Notification.objects.create(recipient=user, subject=subject[:200], body=body, link=link)
        )
    ids = [item.pk for item in created if item.recipient.email]
    if ids:
        from medservice.core.tasks import send_notification_emails

        transaction.on_commit(lambda: send_notification_emails.enqueue(ids))
    return created


def notification_mark_read(*, actor: Any, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
